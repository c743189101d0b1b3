package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/spec"
)

type validateOptions struct {
	sets     []string
	maxCases int
	cases    bool
}

func newValidateCommand(d *deps) *cobra.Command {
	var opts validateOptions
	cmd := &cobra.Command{
		Use:   "validate SPEC...",
		Short: "Check benchmark specs without running them",
		Long: `Parse and validate each spec and print how many cases its matrix has (and how many its
exclude removes), how many trials each gets and its warmups; --cases lists every case. Every
problem is reported as file:line: field: reason, and the exit code is 2 when any spec is
invalid.`,
		Example: `  benchrig validate benchmarks/grep-impl.yaml
  benchrig validate --cases --set impl=gnu spec.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runValidate(d, opts, args)
		}),
	}
	cmd.Flags().StringArrayVar(&opts.sets, "set", nil, "override or narrow a param: `key=v1,v2` (repeatable)")
	cmd.Flags().BoolVar(&opts.cases, "cases", false, "list every case of the matrix, one a line")
	cmd.Flags().IntVar(&opts.maxCases, "max-cases", spec.DefaultMaxCases, "refuse a matrix of more than `N` cases")
	return cmd
}

func runValidate(d *deps, opts validateOptions, files []string) error {
	bad := 0
	for _, f := range files {
		s, err := spec.Load(f)
		var notes []string
		if err == nil {
			notes, err = spec.ApplySet(s, opts.sets)
		}
		if err != nil {
			bad++
			fmt.Fprintln(d.stderr, err)
			continue
		}
		if err := spec.CheckCases(s, opts.maxCases); err != nil {
			bad++
			fmt.Fprintln(d.stderr, err)
			continue
		}
		cases := benchrig.CountCases(s.Params, s.Exclude)
		excluded := ""
		if n := benchrig.CaseCount(s.Params) - cases; n > 0 {
			excluded = fmt.Sprintf(" (%d excluded)", n)
		}
		fmt.Fprintf(d.stdout, "%s: ok: spec %q, %d case(s)%s, %s trials each, %d warmup%s\n", f, s.Name, cases, excluded, repeatText(s.Repeat), s.Warmup, collectText(s.Collect)+profileText(s.Profile))
		for _, n := range notes {
			fmt.Fprintf(d.stdout, "%s: note: %s\n", f, n)
		}
		if opts.cases {
			for c := range benchrig.EachCase(s.Params, s.Exclude) {
				fmt.Fprintf(d.stdout, "  %s\n", c.ID)
			}
		}
	}
	if bad > 0 {
		return benchrig.Errorf(benchrig.EInvalid, "%d of %d spec(s) invalid", bad, len(files))
	}
	return nil
}

// collectText is the collection setting of a spec that has a collect
// block; the default (every 1s) goes unsaid, as it is for every spec.
func collectText(c benchrig.Collect) string {
	switch {
	case c.Disabled:
		return ", collector off"
	case c.Interval > 0:
		return ", collector every " + benchrig.FormatDuration(c.Interval)
	}
	return ""
}

// profileText says how a valid spec's trials are profiled, "" when not.
func profileText(p benchrig.Profiling) string {
	switch {
	case !p.Enabled:
		return ""
	case p.InMeasured:
		return fmt.Sprintf(", measured trials profiled (perf %s at %d Hz)", p.EventName(), p.Hz())
	}
	return fmt.Sprintf(", %d extra profiled trial(s) per case (perf %s at %d Hz)", p.ExtraTrials(), p.EventName(), p.Hz())
}
