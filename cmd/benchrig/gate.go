package main

import (
	"fmt"
	"maps"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/gate"
	"github.com/benchrig/benchrig/reports"
)

// exitCodesHelp is the exit codes of run and submit, as the root help,
// their help and the README list them.
const exitCodesHelp = `Exit codes:
  0    passed: every trial succeeded and the gate (if asked for) passed
  1    a regression confirmed by the gate, or trials failed
  2    bad input: an invalid spec, flag or path, or a token the server refused
  3    could not run: the server or a node could not be reached, or no node can take the spec
  130  cancelled (Ctrl-C, SIGTERM)`

// gateHelp is the gate's part of run's and submit's help.
const gateHelp = `The regression gate: --baseline compares the run, case by case, with a baseline run of the
same spec when it ends: 'last' (the latest finished run), a run ID, or label:k=v[,k=v] (the
latest run with those labels, e.g. label:branch=main). A case regresses when it is slower than
its threshold (--max-regression, default 5%) and significantly so: the 95% distribution-free
(Hodges-Lehmann) confidence interval of the time ratio lies wholly above 1+threshold. A
suspected regression is re-run once, interleaved, on another node of the same class where the
pool has one (--no-confirm skips that), and fails the build only when it holds on the pooled
evidence. Failed trials fail it. Too few trials, or a baseline noisier than --max-baseline-cv
(unless the interval clears the threshold all the same), make a case inconclusive: said
loudly, and a pass unless --strict. --max-regression, --max-baseline-cv,
--no-confirm and --strict need --baseline (they are a usage error without it).

The run is labelled with where it came from, read from the CI's variables (Jenkins, GitHub
Actions, GitLab): commit, branch, build_url, job, ci; --label k=v sets or overrides them.
--junit writes one JUnit test case per benchmark case (a regression or failed trials is a
failure whose message has the numbers), with or without a gate; --md writes the summary for a
pull-request comment or a CI step summary.`

// gateOptions are the gate's flags, the same on run and submit.
type gateOptions struct {
	baseline      string
	maxRegression []string
	maxBaselineCV string
	noConfirm     bool
	strict        bool
	junit         string
}

func (g *gateOptions) flags(f *pflag.FlagSet) {
	f.StringVar(&g.baseline, "baseline", "", "judge the run against a baseline: `last`, a run ID, or label:k=v[,k=v]")
	f.StringArrayVar(&g.maxRegression, "max-regression", nil, "largest slowdown that passes: `5%` for every case, or k=v[,k=v]:10% for the cases with those params (repeatable; default 5%)")
	f.StringVar(&g.maxBaselineCV, "max-baseline-cv", "", "baseline cases noisier than this robust CV are inconclusive: `10%` (the default)")
	f.BoolVar(&g.noConfirm, "no-confirm", false, "fail on the first evidence, without re-running a suspected regression")
	f.BoolVar(&g.strict, "strict", false, "an inconclusive case fails the gate")
	f.StringVar(&g.junit, "junit", "", "write the run as JUnit XML to `FILE`: a test case per benchmark case")
}

// request is the gate the flags ask for, nil without --baseline. A gate
// flag without --baseline, or a bad value, is a usage error naming the
// flag; the app checks the request itself (a bad baseline, a baseline run
// that does not exist: EInvalid naming the field) before anything runs.
func (g gateOptions) request() (*benchrig.GateRequest, error) {
	if g.baseline == "" {
		for _, f := range []struct {
			name string
			set  bool
		}{{"--max-regression", len(g.maxRegression) > 0}, {"--max-baseline-cv", g.maxBaselineCV != ""}, {"--no-confirm", g.noConfirm}, {"--strict", g.strict}} {
			if f.set {
				return nil, usageError{fmt.Errorf("%s needs --baseline (last, a run ID, or label:k=v): it says how the run is judged against one", f.name)}
			}
		}
		return nil, nil
	}
	req := &benchrig.GateRequest{Baseline: g.baseline, NoConfirm: g.noConfirm, Strict: g.strict}
	if len(g.maxRegression) > 0 {
		def, cases, err := gate.ParseMaxRegression(g.maxRegression)
		if err != nil {
			return nil, usageError{fmt.Errorf("--max-regression: %w", err)}
		}
		req.MaxRegression, req.Cases = def, cases
	}
	if g.maxBaselineCV != "" {
		v, err := parseFraction(g.maxBaselineCV)
		if err != nil {
			return nil, usageError{fmt.Errorf("--max-baseline-cv %q: %w", g.maxBaselineCV, err)}
		}
		req.MaxBaselineCV = v
	}
	return req, nil
}

// parseFraction reads "10%" or "0.1".
func parseFraction(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("want a percentage (10%%) or a fraction (0.1)")
	}
	if pct {
		v /= 100
	}
	return v, nil
}

// runLabels are a run's labels: the CI's (gate.CILabels: commit, branch,
// build URL, job), under the user's --label flags, which win.
func runLabels(d *deps, flags []string) (map[string]string, error) {
	user, err := parseLabels(flags)
	if err != nil {
		return nil, err
	}
	out := gate.CILabels(d.getenv)
	if out == nil && user == nil {
		return nil, nil
	}
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, user)
	return out, nil
}

// gateError is the exit of a run that asked for a gate: nil when it
// passed, ERegression when it did not (exit 1), and an error when it was
// never judged, which is never a silent pass.
func gateError(runID string, asked bool, g *benchrig.GateResult) error {
	switch {
	case !asked:
		return nil
	case g == nil:
		return &benchrig.Error{Code: benchrig.EInternal, Msg: fmt.Sprintf("run %s: the gate did not judge the run (see the warnings above)", runID)}
	case !g.Passed:
		return &benchrig.Error{Code: benchrig.ERegression, Msg: fmt.Sprintf("run %s: gate failed: %s", runID, g.Summary)}
	}
	return nil
}

// writeGateFiles writes --junit and --md of a run, each atomically.
func writeGateFiles(run *benchrig.Run, store, junit, md string) error {
	return writeExportFiles(store,
		export{junit, func(f *os.File) error { return reports.WriteJUnit(f, run, run.Gate) }},
		export{md, func(f *os.File) error { return reports.WriteSummaryMarkdown(f, run) }})
}
