package web

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/gate"
	"github.com/benchrig/benchrig/reports"
)

// gateView is the run page's "Regression gate" section: the run judged
// against its baseline (benchrig.GateResult), ready to show.
type gateView struct {
	Verdict, Class  string // the run's verdict and its class (bad, warn, good, muted)
	Outcome         string // "passed" or "failed": what the exit code said
	Summary         string
	Baseline        string // as asked for: "last", "label:branch=main", a run
	BaselineRun     string
	BaselineURL     string
	BaselineStarted string
	BaselineLabels  string
	Test            string
	Confirmation    string // the confirmation run's ID
	ConfirmationURL string
	ConfirmTime     string
	Judged          string
	Cases           []gateCaseRow
}

type gateCaseRow struct {
	Case, Verdict, Class string
	Change, CI           string // "+9.8%", "+7.9%..+11.6%"
	Threshold            string // "5%"
	N                    string // "10/10" (baseline/candidate), with failed trials
	Medians              string // "101 ms → 111 ms"
	CV                   string // the baseline's robust CV
	Reason               string
	Confirmation         *gateConfirmRow
}

// gateConfirmRow is how a suspected case was re-run and what the pooled
// evidence said.
type gateConfirmRow struct {
	RunID, RunURL, Where string
	N                    int
	Change, CI           string // the re-run's alone
	PooledN              int
	PooledChange         string
	PooledCI             string
	Held                 bool
}

// gateClass is a verdict's class: the colour comes with the word, never
// alone.
func gateClass(v benchrig.GateVerdict) string {
	switch v {
	case benchrig.VerdictRegression, benchrig.VerdictTrialsFailed:
		return "bad"
	case benchrig.VerdictInconclusive:
		return "warn"
	case benchrig.VerdictPass, benchrig.VerdictImproved:
		return "good"
	}
	return "muted"
}

func runURL(id string) string { return "/runs/" + url.PathEscape(id) }

// gateViewOf shows g, naming cases by lbl.
func gateViewOf(g *benchrig.GateResult, lbl func(string) string) *gateView {
	v := &gateView{Verdict: string(g.Verdict), Class: gateClass(g.Verdict), Outcome: "failed", Summary: g.Summary,
		Baseline: g.Baseline, BaselineRun: g.BaselineRun, Test: g.Test}
	if g.Passed {
		v.Outcome = "passed"
	}
	if g.BaselineRun != "" {
		v.BaselineURL = runURL(g.BaselineRun)
	}
	if !g.BaselineStarted.IsZero() {
		v.BaselineStarted = g.BaselineStarted.UTC().Format("2006-01-02 15:04 UTC")
	}
	var kv []string
	for _, k := range benchrig.SortedKeys(g.BaselineLabels) {
		kv = append(kv, k+"="+g.BaselineLabels[k])
	}
	v.BaselineLabels = strings.Join(kv, ", ")
	if g.ConfirmationRun != "" {
		v.Confirmation, v.ConfirmationURL = g.ConfirmationRun, runURL(g.ConfirmationRun)
		if g.ConfirmTime > 0 {
			v.ConfirmTime = reports.FormatDuration(g.ConfirmTime)
		}
	}
	if !g.Judged.IsZero() {
		v.Judged = g.Judged.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	for _, c := range g.Cases {
		row := gateCaseRow{Case: lbl(c.Case), Verdict: string(c.Verdict), Class: gateClass(c.Verdict),
			Change: gate.FormatChange(c.Ratio), CI: gate.FormatCI(c.CILow, c.CIHigh), Threshold: gate.FormatPercent(c.MaxRegression),
			N: fmt.Sprintf("%d/%d", c.BaselineN, c.CandidateN), Medians: "-", CV: "-", Reason: c.Reason}
		if c.Failed > 0 {
			row.N += fmt.Sprintf(" (%d failed)", c.Failed)
		}
		if c.BaselineMedian > 0 && c.CandidateMedian > 0 {
			row.Medians = reports.FormatSeconds(c.BaselineMedian) + " → " + reports.FormatSeconds(c.CandidateMedian)
		}
		if c.BaselineCV > 0 {
			row.CV = gate.FormatPercent(c.BaselineCV)
		}
		if cf := c.Confirmation; cf != nil {
			row.Confirmation = &gateConfirmRow{RunID: cf.Run, RunURL: runURL(cf.Run), Where: cf.Where, N: cf.N,
				Change: gate.FormatChange(cf.Ratio), CI: gate.FormatCI(cf.CILow, cf.CIHigh), PooledN: cf.PooledN,
				PooledChange: gate.FormatChange(cf.PooledRatio), PooledCI: gate.FormatCI(cf.PooledCILow, cf.PooledCIHigh), Held: cf.Held}
			if cf.Where == "" {
				row.Confirmation.Where = cf.Node
			}
		}
		v.Cases = append(v.Cases, row)
	}
	return v
}
