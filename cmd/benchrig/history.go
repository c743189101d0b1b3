package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/reports"
	"github.com/benchrig/benchrig/spec"
	"github.com/benchrig/benchrig/stats"
)

type historyOptions struct {
	store      string
	caseID     string
	json       bool
	minSegment int
	pValue     float64
	limit      int
}

// newHistoryCommand is `benchrig runs history`; its store flag is the
// runs command's persistent --store.
func newHistoryCommand(d *deps, store *string) *cobra.Command {
	var opts historyOptions
	cmd := &cobra.Command{
		Use:   "history SPEC",
		Short: "Show each case's median over a spec's runs, with the steps in it",
		Long: `For each case of the spec (its latest run's cases), print the median of every run,
oldest first, and the change points: the runs at which the level stepped up or down, with
the step's size and confidence.

Change points are found by E-divisive means (Matteson and James 2014, as in MongoDB's and
Apache Otava's performance CI): the series is split where the two sides' distributions
differ most (the energy statistic), and a split is kept when a permutation test says it
is not noise (p <= --p-value, 199 shuffles with a fixed seed); the search repeats in each
part. A level must last --min-segment runs to count, so a single slow run is not a step.

SPEC is a spec name or a spec file (its name is read). Confirmation runs (which re-ran a
suspected regression's cases) and runs still running are not points of the history.

--json prints {"spec", "change_points": {method, min_segment, p_value, permutations, seed},
"cases": [{"case", "label", "points": [{run, started, status, node, median_s, n, failed}],
"change_points": [{point, run, started, before_s, after_s, magnitude, p, confidence}]}]}:
points oldest first; a change point's point is the index in points of the first run at the
new level, and its magnitude after_s/before_s-1 (0.12: 12% slower).`,
		Example: `  benchrig runs history grep-impl
  benchrig runs history benchmarks/grep-impl.yaml --case impl=gnu --limit 100
  benchrig runs history grep-impl --json | jq '.cases[].change_points'`,
		Args: cobra.ExactArgs(1),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			opts.store = *store
			return runHistory(cmd.Context(), d, opts, args[0])
		}),
	}
	f := cmd.Flags()
	f.StringVar(&opts.caseID, "case", "", "only case `C` (its ID, or its label as the report prints it: level=9)")
	f.BoolVar(&opts.json, "json", false, "print the history as JSON (structure above)")
	f.IntVar(&opts.minSegment, "min-segment", stats.DefaultMinSegment, "the fewest runs a level must last to count as one (at least 2)")
	f.Float64Var(&opts.pValue, "p-value", stats.DefaultChangePValue, "a step is kept when its permutation test's p is at most `P` (0 < P < 1)")
	f.IntVar(&opts.limit, "limit", reports.DefaultHistoryLimit, "look at the latest `N` runs of the spec")
	return cmd
}

func (o historyOptions) check() error {
	switch {
	case o.minSegment < 2:
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "--min-segment", Msg: fmt.Sprintf("want at least 2 runs, got %d", o.minSegment)}
	case !(o.pValue > 0 && o.pValue < 1):
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "--p-value", Msg: fmt.Sprintf("want a p-value between 0 and 1, got %v", o.pValue)}
	case o.limit < 2:
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "--limit", Msg: fmt.Sprintf("want at least 2 runs, got %d", o.limit)}
	}
	return nil
}

// specName is arg as a spec name: the name inside it when it is a spec
// file, else arg itself.
func specName(d *deps, arg string) (string, error) {
	path := arg
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.cwd, path)
	}
	st, err := os.Stat(path)
	looksLikeFile := strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") || strings.ContainsRune(arg, filepath.Separator)
	switch {
	case err == nil && st.Mode().IsRegular():
		s, err := spec.Load(path)
		if err != nil {
			return "", err
		}
		return s.Name, nil
	case looksLikeFile && errors.Is(err, fs.ErrNotExist):
		return "", &benchrig.Error{Code: benchrig.EInvalid, File: arg, Msg: "no such spec file (SPEC is a spec name or a spec file)"}
	}
	return arg, nil
}

func runHistory(ctx context.Context, d *deps, opts historyOptions, arg string) error {
	if err := opts.check(); err != nil {
		return err
	}
	name, err := specName(d, arg)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, d, opts.store)
	if err != nil {
		return err
	}
	defer db.Close()
	h, err := reports.LoadHistory(ctx, db, name, reports.HistoryOptions{Case: opts.caseID, Limit: opts.limit,
		Changes: stats.ChangePointOptions{MinSegment: opts.minSegment, PValue: opts.pValue}})
	if err != nil {
		return err
	}
	if opts.json {
		return printJSON(d.stdout, h)
	}
	return printHistory(d, h)
}

// printHistory prints each case's series, a step marked at its first run,
// then the steps in words.
func printHistory(d *deps, h *reports.History) error {
	s := h.ChangePoints
	fmt.Fprintf(d.stdout, "history of %s: change points by E-divisive means, p <= %s, levels of %d+ runs\n", h.Spec, reports.FormatP(s.PValue), s.MinSegment)
	for _, c := range h.Cases {
		fmt.Fprintf(d.stdout, "\ncase %s: %d run(s), %s\n", c.Label, len(c.Points), stepCount(len(c.Changes)))
		var buf bytes.Buffer
		tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tSTARTED\tMEDIAN\tN\tSTEP")
		for _, p := range c.Points {
			med := "-"
			if p.N > 0 {
				med = reports.FormatSeconds(p.MedianS)
			}
			n := fmt.Sprint(p.N)
			if p.Failed > 0 {
				n = fmt.Sprintf("%d (%d failed)", p.N, p.Failed)
			}
			step := ""
			if p.Change >= 0 {
				step = "<- " + c.Changes[p.Change].Percent()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Run, p.Started.Local().Format("2006-01-02 15:04"), med, n, step)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, line := range strings.SplitAfter(buf.String(), "\n") {
			// The STEP column is mostly empty: no padding at line ends.
			if trimmed := strings.TrimRight(line, " \n"); trimmed != "" {
				fmt.Fprintln(d.stdout, trimmed)
			}
		}
		for _, ch := range c.Changes {
			fmt.Fprintf(d.stdout, "step at run %s (%s): %s, confidence %.1f%%\n", ch.Run, ch.Started.Local().Format("2006-01-02 15:04"), ch.Words(), ch.Confidence*100)
		}
	}
	if h.More > 0 {
		fmt.Fprintf(d.stdout, "\nand %d more case(s)\n", h.More)
	}
	return nil
}

func stepCount(n int) string {
	switch n {
	case 0:
		return "no step"
	case 1:
		return "1 step"
	}
	return fmt.Sprintf("%d steps", n)
}
