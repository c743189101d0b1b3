package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/profiling"
	"github.com/benchrig/benchrig/reports"
)

type profileOptions struct {
	store  string
	caseID string
	svg    string
	pprof  string
	folded string
	diff   bool
}

// newProfileCommand is `benchrig runs profile`; its store flag is the
// runs command's persistent --store.
func newProfileCommand(d *deps, store *string) *cobra.Command {
	var opts profileOptions
	cmd := &cobra.Command{
		Use:   "profile RUN [--case C] [--svg F | --pprof F | --folded F] | profile RUN --diff CASE_A CASE_B --svg F",
		Short: "Show where a profiled run's time went, per process, and write its flame graphs",
		Long: `Read the call stacks perf sampled during a profiled run (run --profile cpu, or a profile
block in the spec) and print, for each case, the breakdown of its samples per process: in a
pipeline or under xargs -P, the process with the largest share is the stage that limits it.
A case's profile is its profiled trials' stacks merged.

--svg writes an interactive flame graph (hover for counts, click to zoom), --pprof a pprof
protobuf (go tool pprof -http=: F), --folded the folded stacks (one "frame;frame count" line
per stack, as flamegraph.pl reads them). With several profiled cases, name one with --case
(its ID, or its label as the report prints it: impl=gnu).

--diff CASE_A CASE_B --svg F writes a differential flame graph: the shape is CASE_B's, each
frame coloured by how its share of all samples changed from CASE_A (red grew, blue shrank),
both normalised by their total samples, so cases of different lengths compare.

RUN is a run ID, a unique part of one, latest or latest~N. A run that was not profiled, or
a case that was not, is an error (exit 2).`,
		Example: `  benchrig run benchmarks/grep-impl.yaml --profile cpu
  benchrig runs profile latest
  benchrig runs profile latest --case impl=busybox --svg busybox.svg
  benchrig runs profile latest --case impl=gnu --pprof gnu.pb.gz && go tool pprof -top gnu.pb.gz
  benchrig runs profile latest --diff impl=gnu impl=busybox --svg diff.svg`,
		Args: cobra.RangeArgs(1, 3),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			opts.store = *store
			return runProfile(cmd.Context(), d, opts, args)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&opts.caseID, "case", "", "only case `C` (its ID, or its label as the report prints it)")
	f.StringVar(&opts.svg, "svg", "", "write the flame graph (or, with --diff, the differential one) to `FILE`")
	f.StringVar(&opts.pprof, "pprof", "", "write the profile as pprof protobuf to `FILE`")
	f.StringVar(&opts.folded, "folded", "", "write the folded stacks to `FILE`")
	f.BoolVar(&opts.diff, "diff", false, "compare two cases: RUN --diff CASE_A CASE_B --svg FILE")
	return cmd
}

func (o profileOptions) check(args []string) error {
	switch {
	case o.diff && len(args) != 3:
		return usageError{fmt.Errorf("--diff takes two cases: benchrig runs profile RUN --diff CASE_A CASE_B --svg FILE")}
	case o.diff && o.svg == "":
		return usageError{fmt.Errorf("--diff writes a flame graph: add --svg FILE")}
	case o.diff && (o.pprof != "" || o.folded != "" || o.caseID != ""):
		return usageError{fmt.Errorf("--diff writes only --svg; --case, --pprof and --folded are for one case")}
	case !o.diff && len(args) != 1:
		return usageError{fmt.Errorf("one run, got %d arguments (two cases are compared with --diff)", len(args))}
	}
	return nil
}

// caseProfile is one case's profiles merged.
type caseProfile = reports.CaseProfile

func runProfile(ctx context.Context, d *deps, opts profileOptions, args []string) error {
	if err := opts.check(args); err != nil {
		return err
	}
	db, err := openStore(ctx, d, opts.store)
	if err != nil {
		return err
	}
	defer db.Close()
	run, err := db.GetRun(ctx, args[0])
	if err != nil {
		return err
	}
	ps, err := db.Profiles(ctx, run.ID)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		msg := fmt.Sprintf("run %s was not profiled (run its spec with --profile cpu, or add a profile block; when it asked for profiling, benchrig runs show %s says why it could not)", run.ID, run.ID)
		if run.Profiling != nil {
			msg = fmt.Sprintf("run %s was profiled but kept no profile (its warnings say why: benchrig runs show %s)", run.ID, run.ID)
		}
		return &benchrig.Error{Code: benchrig.EInvalid, Msg: msg}
	}
	cases := mergeProfiles(run, ps)
	pick := func(sel string) (*caseProfile, error) {
		if c := reports.FindCaseProfile(cases, sel); c != nil {
			return c, nil
		}
		return nil, &benchrig.Error{Code: benchrig.ENotFound, Field: "case",
			Msg: fmt.Sprintf("run %s has no profile of case %q (profiled cases: %s)", run.ID, sel, reports.CaseProfileLabels(cases))}
	}
	if opts.diff {
		a, err := pick(args[1])
		if err != nil {
			return err
		}
		b, err := pick(args[2])
		if err != nil {
			return err
		}
		o := profiling.SVGOptions{
			Title:    fmt.Sprintf("%s: %s against %s", run.SpecName, b.Label, a.Label),
			Subtitle: fmt.Sprintf("run %s, %s at %d Hz, %d and %d samples, normalised by total samples", run.ID, b.Event, b.Freq, a.Stacks.Total(), b.Stacks.Total()),
		}
		if err := writeOut(d, opts.svg, db.Path(), func(f *os.File) error { return profiling.WriteDiffSVG(f, a.Stacks, b.Stacks, o) }); err != nil {
			return err
		}
		printBreakdown(d, run, []caseProfile{*a, *b})
		fmt.Fprintf(d.stdout, "wrote %s: differential flame graph of %s against %s\n", opts.svg, b.Label, a.Label)
		return nil
	}
	shown := cases
	if opts.caseID != "" {
		c, err := pick(opts.caseID)
		if err != nil {
			return err
		}
		shown = []caseProfile{*c}
	}
	if (opts.svg != "" || opts.pprof != "" || opts.folded != "") && len(shown) > 1 {
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "case",
			Msg: fmt.Sprintf("run %s profiled %d cases: name one with --case (%s)", run.ID, len(shown), reports.CaseProfileLabels(cases))}
	}
	printBreakdown(d, run, shown)
	c := shown[0]
	if opts.svg != "" {
		o := profiling.SVGOptions{
			Title:    fmt.Sprintf("%s: %s", run.SpecName, c.Label),
			Subtitle: fmt.Sprintf("run %s, %s at %d Hz, %d samples over %d trial(s)", run.ID, c.Event, c.Freq, c.Stacks.Total(), c.Trials),
		}
		if err := writeOut(d, opts.svg, db.Path(), func(f *os.File) error { return profiling.WriteFlameSVG(f, c.Stacks, o) }); err != nil {
			return err
		}
		fmt.Fprintf(d.stdout, "wrote %s: flame graph of %s\n", opts.svg, c.Label)
	}
	if opts.pprof != "" {
		if err := writeOut(d, opts.pprof, db.Path(), func(f *os.File) error { return profiling.ToPprof(&c.Profile).Write(f) }); err != nil {
			return err
		}
		fmt.Fprintf(d.stdout, "wrote %s: pprof profile of %s\n", opts.pprof, c.Label)
	}
	if opts.folded != "" {
		if err := writeOut(d, opts.folded, db.Path(), func(f *os.File) error { return profiling.WriteFolded(f, c.Stacks) }); err != nil {
			return err
		}
		fmt.Fprintf(d.stdout, "wrote %s: folded stacks of %s\n", opts.folded, c.Label)
	}
	return nil
}

// writeOut writes an export to path (relative to the working directory)
// as run's exports are written: never over the store, never half.
func writeOut(d *deps, path, store string, write func(*os.File) error) error {
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.cwd, path)
	}
	target, err := exportTarget(path, store)
	if err != nil {
		return err
	}
	return writeFile(target, write)
}

// mergeProfiles merges each case's trial profiles, in the run's case order
// (reports.MergeProfiles, which the web's flame graphs use too).
func mergeProfiles(run *benchrig.Run, ps []benchrig.TrialProfile) []caseProfile {
	labels := caseLabels(run.Cases)
	return reports.MergeProfiles(run, ps, func(id string) string { return labels[id] })
}

// printBreakdown prints each case's samples per process, largest first.
func printBreakdown(d *deps, run *benchrig.Run, cases []caseProfile) {
	for i, c := range cases {
		if i > 0 {
			fmt.Fprintln(d.stdout)
		}
		total := c.Stacks.Total()
		fmt.Fprintf(d.stdout, "case %s: %d samples over %d profiled trial(s), %s at %d Hz, %s", c.Label, total, c.Trials, c.Event, c.Freq, reports.FormatDuration(c.Duration))
		if c.Lost > 0 {
			fmt.Fprintf(d.stdout, ", %d lost", c.Lost)
		}
		fmt.Fprintln(d.stdout)
		var buf bytes.Buffer
		tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PROCESS\tSAMPLES\tSHARE")
		for _, s := range profiling.Breakdown(c.Stacks) {
			fmt.Fprintf(tw, "%s\t%d\t%.1f%%\n", s.Process, s.Samples, s.Share*100)
		}
		_ = tw.Flush()
		d.stdout.Write(buf.Bytes())
	}
}
