package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/app"
	"github.com/benchrig/benchrig/reports"
	"github.com/benchrig/benchrig/sqlite"
)

type runsOptions struct {
	store string
	// list
	limit  int
	spec   string
	status []string
	node   string
	arch   string
	labels []string
	since  string
	until  string
	cursor string
	// show, resume (compare takes json, md and bench)
	exportOptions
	// events
	jsonLines bool
	// resume
	force bool
	quiet bool
	es    esOptions
}

func newRunsCommand(d *deps) *cobra.Command {
	var opts runsOptions
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List, show, compare, follow and resume recorded runs",
		Long: `Runs are kept in the SQLite store (--store, $BENCHRIG_STORE, or
~/.local/share/benchrig/benchrig.db). A RUN is a full ID, any unique part of one
(its start, or the four hex digits at its end), "latest", or "latest~N" for the Nth
run before the latest.

A run whose process died (kill -9, power loss) shows as interrupted once its
heartbeat is 10 s old; 'runs resume' runs its missing trials.`,
	}
	cmd.PersistentFlags().StringVar(&opts.store, "store", "", "SQLite store `PATH`")

	list := &cobra.Command{
		Use:   "list",
		Short: "List recorded runs, newest first",
		Example: `  benchrig runs list --limit 5
  benchrig runs list --spec grep-impl --status finished --arch arm64
  benchrig runs list --label branch=main --since 2026-12-01`,
		Args: cobra.NoArgs,
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runRunsList(cmd.Context(), d, opts)
		}),
	}
	lf := list.Flags()
	lf.IntVar(&opts.limit, "limit", 20, "show at most `N` runs (a page; --cursor shows the next)")
	lf.StringVar(&opts.spec, "spec", "", "only runs of spec `NAME`")
	lf.StringArrayVar(&opts.status, "status", nil, "only runs with this `STATUS` (running, finished, failed, cancelled, interrupted; repeatable)")
	lf.StringVar(&opts.node, "node", "", "only runs that used node `NAME`")
	lf.StringVar(&opts.arch, "arch", "", "only runs on architecture `ARCH` (amd64, arm64, ...)")
	lf.StringArrayVar(&opts.labels, "label", nil, "only runs labelled `key=value` (repeatable: all must match)")
	lf.StringVar(&opts.since, "since", "", "only runs started at or after `TIME` (2026-12-01, 2026-12-01T15:04, or a duration ago: 24h)")
	lf.StringVar(&opts.until, "until", "", "only runs started before `TIME`")
	lf.StringVar(&opts.cursor, "cursor", "", "the page after the one that printed this `CURSOR`")

	show := &cobra.Command{
		Use:   "show RUN",
		Short: "Show a run's statistics, comparisons and warnings",
		Example: `  benchrig runs show latest
  benchrig runs show 20261123-2315 --json run.json`,
		Args: cobra.ExactArgs(1),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runRunsShow(cmd.Context(), d, opts, args[0])
		}),
	}
	opts.exportOptions.flags(show.Flags())

	compare := &cobra.Command{
		Use:   "compare RUN_A RUN_B",
		Short: "Compare two runs case by case (B against A)",
		Long: `Match the cases of two runs by their params and compare each case of RUN_B against the
same case of RUN_A: ratio of medians with its 95% CI, Mann-Whitney p-value, the smallest change
the comparison could have detected and a verdict; then the geometric mean of the ratios.

--benchstat writes both runs' trials to one file in Go benchmark format, each run's under
a config line "run: ID" (A's first), for benchstat itself: benchstat -col run FILE.`,
		Example: `  benchrig runs compare latest~1 latest
  benchrig runs compare fab6 c0de --json compare.json --md compare.md
  benchrig runs compare latest~1 latest --benchstat both.txt && benchstat -col run both.txt`,
		Args: cobra.ExactArgs(2),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runRunsCompare(cmd.Context(), d, opts, args[0], args[1])
		}),
	}
	compare.Flags().StringVar(&opts.json, "json", "", "also write the comparison as JSON to `FILE`")
	compare.Flags().StringVar(&opts.md, "md", "", "also write the comparison as Markdown to `FILE`")
	compare.Flags().StringVar(&opts.bench, "benchstat", "", "also write both runs' trials in Go benchmark format to `FILE`, each under \"run: ID\" (benchstat -col run FILE)")

	events := &cobra.Command{
		Use:   "events RUN",
		Short: "Print a run's event log",
		Long: `Print what happened in a run, in order: run started and finished, each trial planned,
started and finished (with its node, outcome and duration), nodes that joined, were lost or
left their pool, notes and warnings. --json prints one JSON object per line.`,
		Example: `  benchrig runs events latest
  benchrig runs events latest --json | jq 'select(.kind == "trial-finished")'`,
		Args: cobra.ExactArgs(1),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runRunsEvents(cmd.Context(), d, opts, args[0])
		}),
	}
	events.Flags().BoolVar(&opts.jsonLines, "json", false, "one JSON object per event and line")

	resume := &cobra.Command{
		Use:   "resume RUN",
		Short: "Run the missing trials of an interrupted or cancelled run",
		Long: `Run only the trials an interrupted (its process died) or cancelled run is missing, on the
same spec, overrides, pools and settings, under the same run ID. The run then ends as if it
had never stopped. Refused (exit 2) when the spec file changed since the run started, unless
--force, which goes on with the spec recorded with the run.`,
		Example: "  benchrig runs resume latest",
		Args:    cobra.ExactArgs(1),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runRunsResume(cmd.Context(), d, opts, args[0])
		}),
	}
	resume.Flags().BoolVar(&opts.force, "force", false, "resume even if the spec file changed since (the recorded spec is used)")
	resume.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "no progress output")
	opts.exportOptions.flags(resume.Flags())
	opts.es.addFlags(resume.Flags())
	cmd.AddCommand(list, show, compare, events, resume, newHistoryCommand(d, &opts.store), newProfileCommand(d, &opts.store))
	return cmd
}

// store is what the commands use of a run store: the application's
// interface (read and record), nothing of its adapter.
type store interface {
	app.Store
	benchrig.ProfileStore
	Path() string
	Close() error
	CheckWritable() error
}

var _ store = (*sqlite.DB)(nil)

// openStore opens an existing store; reading commands never create one.
func openStore(ctx context.Context, d *deps, flag string) (store, error) {
	path := storePath(d, flag)
	if _, err := os.Stat(path); err != nil {
		return nil, &benchrig.Error{Code: benchrig.ENotFound, File: path, Msg: "no store here yet (run 'benchrig run SPEC' first, or pass --store)"}
	}
	return sqlite.Open(ctx, path)
}

// filter turns the list flags into a store filter.
func (o runsOptions) filter(now time.Time) (benchrig.RunFilter, error) {
	f := benchrig.RunFilter{Spec: o.spec, Node: o.node, Arch: o.arch, Limit: o.limit, Cursor: o.cursor}
	if o.limit < 1 {
		return f, usageError{fmt.Errorf("--limit must be at least 1, got %d", o.limit)}
	}
	for _, s := range o.status {
		st := benchrig.RunStatus(s)
		if !containsStatus(st) {
			return f, usageError{fmt.Errorf("--status %q: want one of running, finished, failed, cancelled, interrupted", s)}
		}
		f.Status = append(f.Status, st)
	}
	labels, err := parseLabels(o.labels)
	if err != nil {
		return f, err
	}
	f.Labels = labels
	if f.Since, err = parseWhen("--since", o.since, now); err != nil {
		return f, err
	}
	if f.Until, err = parseWhen("--until", o.until, now); err != nil {
		return f, err
	}
	return f, nil
}

func containsStatus(s benchrig.RunStatus) bool {
	for _, x := range benchrig.RunStatuses {
		if x == s {
			return true
		}
	}
	return false
}

// parseWhen reads a time: a date, a date and time (local), RFC 3339, or a
// duration meaning that long ago.
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageError{fmt.Errorf("%s %q: want a date (2006-01-02), a date and time (2006-01-02T15:04) or a duration ago (24h)", flag, s)}
}

func runRunsList(ctx context.Context, d *deps, opts runsOptions) error {
	f, err := opts.filter(time.Now())
	if err != nil {
		return err
	}
	db, err := openStore(ctx, d, opts.store)
	if err != nil {
		return err
	}
	defer db.Close()
	sweep(ctx, d, d.newApp(db))
	page, err := db.ListRuns(ctx, f)
	if err != nil {
		return err
	}
	if len(page.Runs) == 0 {
		fmt.Fprintln(d.stdout, "no runs recorded")
		return nil
	}
	tw := tabwriter.NewWriter(d.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSPEC\tSTATUS\tSTARTED\tDURATION\tCASES\tMEASURED\tWARMUP\tFAILED")
	for _, r := range page.Runs {
		dur := "-"
		switch {
		case r.Fingerprint.Imported():
			dur = "imported" // measured by go test, at a time not known
		case !r.Finished.IsZero():
			dur = reports.FormatDuration(r.Finished.Sub(r.Started))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", r.ID, r.SpecName, r.Status,
			r.Started.Local().Format("2006-01-02 15:04:05"), dur, len(r.Cases), r.TrialCount-r.WarmupCount, r.WarmupCount, r.FailedCount)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != "" {
		fmt.Fprintf(d.stdout, "\nmore: benchrig runs list --cursor %s (with the same filters)\n", page.Next)
	}
	return nil
}

func runRunsShow(ctx context.Context, d *deps, opts runsOptions, ref string) error {
	db, err := openStore(ctx, d, opts.store)
	if err != nil {
		return err
	}
	defer db.Close()
	sweep(ctx, d, d.newApp(db))
	run, err := db.GetRun(ctx, ref)
	if err != nil {
		return err
	}
	if err := checkWritable(db.Path(), opts.paths()...); err != nil {
		return err
	}
	rep := reports.Build(run)
	if line := statusLine(run); line != "" {
		fmt.Fprintf(d.stdout, "run %s: %s\n", run.ID, line)
	}
	if len(run.Overrides) > 0 {
		fmt.Fprintf(d.stdout, "overrides: %s\n", strings.Join(run.Overrides, " "))
	}
	if len(run.Labels) > 0 {
		var kv []string
		for _, k := range benchrig.SortedKeys(run.Labels) {
			kv = append(kv, k+"="+run.Labels[k])
		}
		fmt.Fprintf(d.stdout, "labels: %s\n", strings.Join(kv, " "))
	}
	if err := reports.WriteText(d.stdout, rep); err != nil {
		return err
	}
	printFailures(d, run)
	for _, w := range run.Warnings {
		fmt.Fprintf(d.stderr, "warning: %s\n", w)
	}
	return writeExports(rep, db.Path(), opts.exportOptions)
}

// statusLine says where a run that did not end stands, and what to do
// about it.
func statusLine(run *benchrig.Run) string {
	switch run.Status {
	case benchrig.RunInterrupted:
		return fmt.Sprintf("interrupted (its process stopped at %s): %d trial(s) kept; benchrig runs resume %s runs the rest",
			run.Heartbeat.Local().Format("2006-01-02 15:04:05"), len(run.Trials), run.ID)
	case benchrig.RunRunning:
		return fmt.Sprintf("running: %d trial(s) so far", len(run.Trials))
	case benchrig.RunCancelled:
		return fmt.Sprintf("cancelled: %d trial(s) kept; benchrig runs resume %s runs the rest", len(run.Trials), run.ID)
	}
	return "" // finished or failed: the report says so
}

func runRunsCompare(ctx context.Context, d *deps, opts runsOptions, refA, refB string) error {
	db, err := openStore(ctx, d, opts.store)
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := db.GetRun(ctx, refA)
	if err != nil {
		return err
	}
	b, err := db.GetRun(ctx, refB)
	if err != nil {
		return err
	}
	if a.SpecName != b.SpecName {
		return &benchrig.Error{Code: benchrig.EInvalid, Msg: fmt.Sprintf("runs %s and %s are of different specs (%s and %s): runs compare matches the cases of one spec; compare each with a run of its own spec", a.ID, b.ID, a.SpecName, b.SpecName)}
	}
	if err := checkWritable(db.Path(), opts.json, opts.md, opts.bench); err != nil {
		return err
	}
	ra, rb := reports.Build(a), reports.Build(b)
	rc := reports.CompareRuns(ra, rb)
	if len(rc.Cases) == 0 {
		return &benchrig.Error{Code: benchrig.EInvalid, Msg: fmt.Sprintf("runs %s and %s have no case in common: only in A: %s; only in B: %s", a.ID, b.ID, reports.CaseList(rc.OnlyA), reports.CaseList(rc.OnlyB))}
	}
	if err := reports.WriteRunComparison(d.stdout, rc); err != nil {
		return err
	}
	return writeExportFiles(db.Path(),
		export{opts.json, func(f *os.File) error { return reports.WriteRunComparisonJSON(f, rc) }},
		export{opts.md, func(f *os.File) error { return reports.WriteRunComparisonMarkdown(f, rc) }},
		export{opts.bench, func(f *os.File) error { return reports.WriteBenchstatRuns(f, ra, rb) }})
}

func runRunsEvents(ctx context.Context, d *deps, opts runsOptions, ref string) error {
	db, err := openStore(ctx, d, opts.store)
	if err != nil {
		return err
	}
	defer db.Close()
	run, err := db.GetRun(ctx, ref)
	if err != nil {
		return err
	}
	events, err := db.Events(ctx, run.ID, 0)
	if err != nil {
		return err
	}
	if opts.jsonLines {
		enc := json.NewEncoder(d.stdout)
		for _, e := range events {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	if len(events) == 0 {
		fmt.Fprintf(d.stdout, "run %s has no events (it was recorded by an older benchrig)\n", run.ID)
		return nil
	}
	for _, e := range events {
		fmt.Fprintln(d.stdout, e.String())
	}
	return nil
}

func runRunsResume(ctx context.Context, d *deps, opts runsOptions, ref string) error {
	if err := checkWritable(storePath(d, opts.store), opts.paths()...); err != nil {
		return err
	}
	db, err := openStore(ctx, d, opts.store)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CheckWritable(); err != nil {
		return err
	}
	a := d.newApp(db)
	if err := opts.es.attach(ctx, d, a); err != nil {
		return err
	}
	started := false
	defer closeUnused(ctx, a, &started)
	prog := newProgress(d.stderr, d.tty, opts.quiet)
	pending, err := a.PrepareResume(ctx, ref, app.ResumeOptions{Force: opts.force}, prog.subscriber())
	if err != nil {
		return err
	}
	prog.setCases(pending.Run().Cases)
	old := pending.Run()
	fmt.Fprintf(d.stderr, "resuming run %s (%s)\n", old.ID, old.SpecName)
	started = true // from here the run closes the result sink
	h, err := a.Start(ctx, pending)
	if err != nil {
		return err
	}
	run, err := h.Wait()
	prog.finish()
	return printRun(d, run, err, db.Path(), opts.exportOptions)
}
