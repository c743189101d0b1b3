package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/reports"
	"github.com/benchrig/benchrig/sqlite"
)

type runsOptions struct {
	store string
	limit int
	json  string
	csv   string
	md    string
}

func newRunsCommand(d *deps) *cobra.Command {
	var opts runsOptions
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List, show and compare recorded runs",
		Long: `Runs are kept in the SQLite store (--store, $BENCHRIG_STORE, or
~/.local/share/benchrig/benchrig.db). A RUN is a full ID, a unique prefix of one,
"latest", or "latest~N" for the Nth run before the latest.`,
	}
	cmd.PersistentFlags().StringVar(&opts.store, "store", "", "SQLite store `PATH`")

	list := &cobra.Command{
		Use:     "list",
		Short:   "List recorded runs, newest first",
		Example: "  benchrig runs list --limit 5",
		Args:    cobra.NoArgs,
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runRunsList(cmd.Context(), d, opts)
		}),
	}
	list.Flags().IntVar(&opts.limit, "limit", 20, "show at most `N` runs")

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
	show.Flags().StringVar(&opts.json, "json", "", "also write the results as JSON to `FILE`")
	show.Flags().StringVar(&opts.csv, "csv", "", "also write one row per trial as CSV to `FILE`")
	show.Flags().StringVar(&opts.md, "md", "", "also write the summary as Markdown to `FILE`")

	compare := &cobra.Command{
		Use:   "compare RUN_A RUN_B",
		Short: "Compare two runs case by case (B against A)",
		Long: `Match the cases of two runs by their params and compare each case of RUN_B against the
same case of RUN_A: ratio of medians with its 95% CI, Mann-Whitney p-value and a verdict.`,
		Example: "  benchrig runs compare latest~1 latest",
		Args:    cobra.ExactArgs(2),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runRunsCompare(cmd.Context(), d, opts, args[0], args[1])
		}),
	}
	cmd.AddCommand(list, show, compare)
	return cmd
}

// openStore opens an existing store; reading commands never create one.
func openStore(ctx context.Context, d *deps, flag string) (*sqlite.DB, error) {
	path := storePath(d, flag)
	if _, err := os.Stat(path); err != nil {
		return nil, &benchrig.Error{Code: benchrig.ENotFound, File: path, Msg: "no store here yet (run 'benchrig run SPEC' first, or pass --store)"}
	}
	return sqlite.Open(ctx, path)
}

func runRunsList(ctx context.Context, d *deps, opts runsOptions) error {
	db, err := openStore(ctx, d, opts.store)
	if err != nil {
		return err
	}
	defer db.Close()
	page, err := db.ListRuns(ctx, benchrig.RunFilter{Limit: opts.limit})
	if err != nil {
		return err
	}
	runs := page.Runs
	if len(runs) == 0 {
		fmt.Fprintln(d.stdout, "no runs recorded")
		return nil
	}
	tw := tabwriter.NewWriter(d.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSPEC\tSTATUS\tSTARTED\tDURATION\tCASES\tTRIALS\tFAILED")
	for _, r := range runs {
		dur := "-"
		if !r.Finished.IsZero() {
			dur = r.Finished.Sub(r.Started).Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", r.ID, r.SpecName, r.Status,
			r.Started.Local().Format("2006-01-02 15:04:05"), dur, len(r.Cases), r.TrialCount-r.WarmupCount, r.FailedCount)
	}
	return tw.Flush()
}

func runRunsShow(ctx context.Context, d *deps, opts runsOptions, ref string) error {
	db, err := openStore(ctx, d, opts.store)
	if err != nil {
		return err
	}
	defer db.Close()
	run, err := db.GetRun(ctx, ref)
	if err != nil {
		return err
	}
	if err := checkWritable(opts.json, opts.csv, opts.md); err != nil {
		return err
	}
	rep := reports.Build(run)
	if len(run.Overrides) > 0 {
		fmt.Fprintf(d.stdout, "overrides: %s\n", strings.Join(run.Overrides, " "))
	}
	if err := reports.WriteText(d.stdout, rep); err != nil {
		return err
	}
	printFailures(d, run)
	return writeExports(rep, opts.json, opts.csv, opts.md)
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
		fmt.Fprintf(d.stderr, "warning: comparing runs of different specs (%s and %s)\n", a.SpecName, b.SpecName)
	}
	fmt.Fprintf(d.stdout, "A: run %s  %s  %s\nB: run %s  %s  %s\n\n", a.ID, a.SpecName, a.Fingerprint, b.ID, b.SpecName, b.Fingerprint)
	return reports.WriteRunComparison(d.stdout, reports.CompareRuns(reports.Build(a), reports.Build(b)))
}
