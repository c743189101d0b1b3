package gate

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// wiggle is a fixed pattern of relative noise, about ±1.5%, so that the
// hand-made runs below have a spread without randomness.
var wiggle = []float64{0, 0.010, -0.010, 0.015, -0.015, 0.005, -0.005, 0.012, -0.012, 0.002, -0.002, 0.008}

// times is n trial times (seconds) around median*factor, with the
// relative noise pattern scaled by spread (1: wiggle as is), starting at
// offset in the pattern.
func times(n int, median, factor, spread float64, offset int) []float64 {
	ts := make([]float64, n)
	for i := range ts {
		ts[i] = median * factor * (1 + spread*wiggle[(i+offset)%len(wiggle)])
	}
	return ts
}

// tcase is one case of a synthetic run: its params, its successful
// measured times, and how many failed measured trials follow them.
type tcase struct {
	params []benchrig.KV
	times  []float64
	failed int
}

// mkRun builds a run of cases, each with a warmup trial of 100 s (which
// must never count) before its measured trials, interleaved as the runner
// records them.
func mkRun(id string, cases ...tcase) *benchrig.Run {
	run := &benchrig.Run{ID: id, SpecName: "sorts", Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Status: benchrig.RunFinished}
	seq := 0
	for i, c := range cases {
		bc := benchrig.Case{ID: benchrig.CaseID(c.params), Index: i, Params: c.params}
		run.Cases = append(run.Cases, bc)
		add := func(tr benchrig.Trial) {
			tr.RunID, tr.CaseID, tr.Seq, tr.Node = id, bc.ID, seq, "local"
			seq++
			run.Trials = append(run.Trials, tr)
		}
		add(benchrig.Trial{Warmup: true, Index: 0, Measurement: benchrig.Measurement{Wall: 100 * time.Second}})
		for j, s := range c.times {
			add(benchrig.Trial{Index: j + 1, Measurement: benchrig.Measurement{Wall: time.Duration(s * float64(time.Second))}})
		}
		for j := range c.failed {
			add(benchrig.Trial{Index: len(c.times) + j + 1, Measurement: benchrig.Measurement{Wall: 90 * time.Second, ExitCode: 1}})
		}
	}
	return run
}

func kv(pairs ...string) []benchrig.KV {
	var kvs []benchrig.KV
	for i := 0; i+1 < len(pairs); i += 2 {
		kvs = append(kvs, benchrig.KV{Name: pairs[i], Value: pairs[i+1]})
	}
	return kvs
}

var (
	gnu     = kv("impl", "gnu")
	busybox = kv("impl", "busybox")
)

func TestJudge(t *testing.T) {
	base := mkRun("base1", tcase{params: gnu, times: times(10, 0.1, 1, 1, 0)}, tcase{params: busybox, times: times(10, 1.4, 1, 1, 3)})
	for _, tc := range []struct {
		name      string
		baseline  *benchrig.Run
		candidate *benchrig.Run
		req       benchrig.GateRequest
		verdicts  []benchrig.GateVerdict // per case
		suspected []bool
		reasons   []string // substrings of each case's reason
		verdict   benchrig.GateVerdict
		passed    bool
		summary   string // substring of the summary
	}{
		{
			name:      "same times again pass",
			baseline:  base,
			candidate: mkRun("cand", tcase{params: gnu, times: times(10, 0.1, 1, 1, 5)}, tcase{params: busybox, times: times(10, 1.4, 1, 1, 7)}),
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictPass, benchrig.VerdictPass},
			reasons:   []string{"within 5%: +0.0% (95% CI -", "median 1.40 s -> 1.40 s, n=10/10"},
			verdict:   benchrig.VerdictPass, passed: true,
			summary: "pass: 2 cases within 5% of run base1",
		},
		{
			name:      "10% slower is a suspect",
			baseline:  base,
			candidate: mkRun("cand", tcase{params: gnu, times: times(10, 0.1, 1.10, 1, 5)}, tcase{params: busybox, times: times(10, 1.4, 1, 1, 7)}),
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictRegression, benchrig.VerdictPass},
			suspected: []bool{true, false},
			reasons:   []string{"suspected: slower beyond 5%, significantly, on the first evidence; a re-run is to confirm it: +10.0% (95% CI +", ""},
			verdict:   benchrig.VerdictRegression, passed: false,
			summary: "suspected regression: 1 of 2 cases slower beyond 5% than run base1 (suspected, to be confirmed by a re-run); pass: 1",
		},
		{
			name:      "10% slower without confirmation",
			baseline:  base,
			candidate: mkRun("cand", tcase{params: gnu, times: times(10, 0.1, 1.10, 1, 5)}, tcase{params: busybox, times: times(10, 1.4, 1, 1, 7)}),
			req:       benchrig.GateRequest{NoConfirm: true},
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictRegression, benchrig.VerdictPass},
			suspected: []bool{false, false},
			reasons:   []string{"slower beyond 5%, significantly: +10.0% (95% CI +", ""},
			verdict:   benchrig.VerdictRegression, passed: false,
			summary: "regression: 1 of 2 cases slower beyond 5% than run base1 (not re-run: no confirmation asked); pass: 1",
		},
		{
			name:      "a per-case threshold lets busybox be 10% slower",
			baseline:  base,
			candidate: mkRun("cand", tcase{params: gnu, times: times(10, 0.1, 1.10, 1, 5)}, tcase{params: busybox, times: times(10, 1.4, 1.10, 1, 7)}),
			req:       benchrig.GateRequest{NoConfirm: true, MaxRegression: 0.03, Cases: []benchrig.CaseThreshold{{Match: map[string]string{"impl": "busybox"}, MaxRegression: 0.15}}},
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictRegression, benchrig.VerdictPass},
			reasons:   []string{"beyond 3%", "within 15%: +10.0%"},
			verdict:   benchrig.VerdictRegression, passed: false,
		},
		{
			name:      "significantly faster is improved",
			baseline:  base,
			candidate: mkRun("cand", tcase{params: gnu, times: times(10, 0.1, 0.8, 1, 5)}, tcase{params: busybox, times: times(10, 1.4, 0.98, 1, 7)}),
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictImproved, benchrig.VerdictPass},
			reasons:   []string{"faster, significantly: -20.0% (95% CI -", "within 5%: -2.0%"},
			verdict:   benchrig.VerdictPass, passed: true,
			summary: "pass: 2 cases within 5% of run base1; 1 of them improved",
		},
		{
			name:      "all improved",
			baseline:  base,
			candidate: mkRun("cand", tcase{params: gnu, times: times(10, 0.1, 0.8, 1, 5)}, tcase{params: busybox, times: times(10, 1.4, 0.8, 1, 7)}),
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictImproved, benchrig.VerdictImproved},
			verdict:   benchrig.VerdictImproved, passed: true,
			summary: "improved: 2 cases significantly faster than run base1",
		},
		{
			name:      "failed trials come first",
			baseline:  base,
			candidate: mkRun("cand", tcase{params: gnu, times: times(8, 0.1, 1.3, 1, 5), failed: 2}, tcase{params: busybox, times: times(10, 1.4, 1, 1, 7)}),
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictTrialsFailed, benchrig.VerdictPass},
			reasons:   []string{"2 of 10 trials failed: exit status 1", ""},
			verdict:   benchrig.VerdictTrialsFailed, passed: false,
			summary: "trials failed: 1 of 2 cases had failed trials; pass: 1",
		},
		{
			name:      "no baseline run",
			candidate: mkRun("cand", tcase{params: gnu, times: times(10, 0.1, 1.5, 1, 5)}),
			req:       benchrig.GateRequest{Baseline: "label:branch=main"},
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictNoBaseline},
			reasons:   []string{`nothing to compare with: no run found for baseline "label:branch=main"; this case passes unjudged (median 150 ms, n=10)`},
			verdict:   benchrig.VerdictNoBaseline, passed: true,
			summary: `no baseline: no run found for "label:branch=main"; 1 case passed unjudged`,
		},
		{
			name:      "a case the baseline lacks",
			baseline:  base,
			candidate: mkRun("cand", tcase{params: gnu, times: times(10, 0.1, 1, 1, 5)}, tcase{params: kv("impl", "toybox"), times: times(10, 1, 1, 1, 0)}),
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictPass, benchrig.VerdictNoBaseline},
			reasons:   []string{"", "nothing to compare with: baseline run base1 has no case impl=toybox; this case passes unjudged"},
			verdict:   benchrig.VerdictPass, passed: true,
			summary: "pass: 1 case within 5% of run base1; no baseline: 1",
		},
		{
			name:      "too few trials",
			baseline:  mkRun("base2", tcase{params: gnu, times: times(3, 0.1, 1, 1, 0)}),
			candidate: mkRun("cand", tcase{params: gnu, times: times(3, 0.1, 1.5, 1, 5)}),
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictInconclusive},
			reasons:   []string{"too few trials: 3 baseline, 3 candidate; need 4 each for a 95% interval (median 100 ms -> 151 ms, n=3/3)"},
			verdict:   benchrig.VerdictInconclusive, passed: true,
			summary: "inconclusive: 1 of 1 cases against run base2 (impl=gnu: too few trials); passes (not strict)",
		},
		{
			name:      "too few trials fail under strict",
			baseline:  mkRun("base2", tcase{params: gnu, times: times(3, 0.1, 1, 1, 0)}),
			candidate: mkRun("cand", tcase{params: gnu, times: times(3, 0.1, 1.5, 1, 5)}),
			req:       benchrig.GateRequest{Strict: true},
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictInconclusive},
			verdict:   benchrig.VerdictInconclusive, passed: false,
			summary: "fails under --strict",
		},
		{
			name: "a noisy baseline",
			// The pattern times 12 spreads about ±15%: a robust CV near 12%.
			baseline:  mkRun("base3", tcase{params: gnu, times: times(12, 0.1, 1, 12, 0)}),
			candidate: mkRun("cand", tcase{params: gnu, times: times(12, 0.1, 1.0, 1, 5)}),
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictInconclusive},
			reasons:   []string{"baseline too noisy: CV 1"},
			verdict:   benchrig.VerdictInconclusive, passed: true,
		},
		{
			name: "a noisy baseline does not hide a slowdown whose interval clears the threshold",
			// +30% against the ±15% baseline: the interval is about +17%..+40%.
			baseline:  mkRun("base3", tcase{params: gnu, times: times(12, 0.1, 1, 12, 0)}),
			candidate: mkRun("cand", tcase{params: gnu, times: times(12, 0.1, 1.3, 1, 5)}),
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictRegression},
			suspected: []bool{true},
			reasons:   []string{"the baseline is noisy, CV 1"},
			verdict:   benchrig.VerdictRegression, passed: false,
		},
		{
			name:      "a noisy baseline under a looser bound",
			baseline:  mkRun("base3", tcase{params: gnu, times: times(12, 0.1, 1, 12, 0)}),
			candidate: mkRun("cand", tcase{params: gnu, times: times(12, 0.1, 1.0, 1, 5)}),
			req:       benchrig.GateRequest{MaxBaselineCV: 0.5},
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictPass},
			verdict:   benchrig.VerdictPass, passed: true,
		},
		{
			name: "above the threshold but not significantly",
			// ±15% of spread on both sides: a 7% change is not resolved.
			baseline:  mkRun("base4", tcase{params: gnu, times: times(10, 0.1, 1, 10, 0)}),
			candidate: mkRun("cand", tcase{params: gnu, times: times(10, 0.1, 1.07, 10, 5)}),
			req:       benchrig.GateRequest{MaxBaselineCV: 0.5},
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictInconclusive},
			suspected: []bool{false},
			reasons:   []string{"slower by 7.0% (95% CI -"},
			verdict:   benchrig.VerdictInconclusive, passed: true,
		},
		{
			name: "significantly slower, above the threshold, interval reaching below it",
			// 7% slower with ±3% of spread: the interval is about 4%..10%.
			baseline:  mkRun("base5", tcase{params: gnu, times: times(10, 0.1, 1, 2, 0)}),
			candidate: mkRun("cand", tcase{params: gnu, times: times(10, 0.1, 1.07, 2, 5)}),
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictInconclusive},
			suspected: []bool{true},
			reasons:   []string{"suspected: slower by 7.0% (95% CI +"},
			verdict:   benchrig.VerdictInconclusive, passed: false,
			summary: "to be settled by a re-run",
		},
		{
			name:      "the same without confirmation",
			baseline:  mkRun("base5", tcase{params: gnu, times: times(10, 0.1, 1, 2, 0)}),
			candidate: mkRun("cand", tcase{params: gnu, times: times(10, 0.1, 1.07, 2, 5)}),
			req:       benchrig.GateRequest{NoConfirm: true},
			verdicts:  []benchrig.GateVerdict{benchrig.VerdictInconclusive},
			suspected: []bool{false},
			reasons:   []string{": above 5% but not significantly; median 100 ms -> 107 ms, n=10/10"},
			verdict:   benchrig.VerdictInconclusive, passed: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Judge(tc.baseline, tc.candidate, tc.req)
			if len(res.Cases) != len(tc.verdicts) {
				t.Fatalf("%d cases, want %d: %+v", len(res.Cases), len(tc.verdicts), res.Cases)
			}
			for i, c := range res.Cases {
				if c.Case != tc.candidate.Cases[i].ID {
					t.Errorf("case %d is %s, want %s", i, c.Case, tc.candidate.Cases[i].ID)
				}
				if c.Verdict != tc.verdicts[i] {
					t.Errorf("%s: verdict %q, want %q (%s)", c.Case, c.Verdict, tc.verdicts[i], c.Reason)
				}
				if tc.suspected != nil && c.Suspected != tc.suspected[i] {
					t.Errorf("%s: suspected %v, want %v (%s)", c.Case, c.Suspected, tc.suspected[i], c.Reason)
				}
				if tc.reasons != nil && !strings.Contains(c.Reason, tc.reasons[i]) {
					t.Errorf("%s: reason %q, want it to contain %q", c.Case, c.Reason, tc.reasons[i])
				}
				t.Logf("%s: %s: %s", c.Case, c.Verdict, c.Reason)
			}
			if res.Verdict != tc.verdict || res.Passed != tc.passed {
				t.Errorf("run verdict %q passed %v, want %q %v (%s)", res.Verdict, res.Passed, tc.verdict, tc.passed, res.Summary)
			}
			if !strings.Contains(res.Summary, tc.summary) {
				t.Errorf("summary %q, want it to contain %q", res.Summary, tc.summary)
			}
			if res.Run != "cand" || res.Test == "" || res.Judged.IsZero() {
				t.Errorf("result %+v", res)
			}
			if tc.baseline != nil && (res.BaselineRun != tc.baseline.ID || !res.BaselineStarted.Equal(tc.baseline.Started)) {
				t.Errorf("baseline %q %v", res.BaselineRun, res.BaselineStarted)
			}
			for _, c := range res.Cases {
				if c.CandidateMedian > 50 || c.BaselineMedian > 50 {
					t.Errorf("%s: a warmup or failed trial counted: medians %v, %v", c.Case, c.BaselineMedian, c.CandidateMedian)
				}
			}
		})
	}
}

// TestJudgeNumbers checks a case's figures against the statistics: the
// ratio is exactly the factor between two copies of the same pattern,
// counts exclude warmups and failures.
func TestJudgeNumbers(t *testing.T) {
	base := mkRun("b", tcase{params: gnu, times: times(10, 0.1, 1, 1, 0)})
	cand := mkRun("c", tcase{params: gnu, times: times(10, 0.1, 1.2, 1, 0), failed: 0})
	c := Judge(base, cand, benchrig.GateRequest{}).Cases[0]
	if math.Abs(c.Ratio-1.2) > 1e-9 || !(c.CILow < 1.2 && c.CIHigh > 1.2) || c.BaselineN != 10 || c.CandidateN != 10 ||
		math.Abs(c.BaselineMedian-0.1) > 0.002 || c.MaxRegression != benchrig.DefaultMaxRegression || c.BaselineCV <= 0 || c.BaselineCV > 0.02 {
		t.Errorf("%+v", c)
	}
}

// TestJudgeAA runs 200 A/A pairs of 6 cases each, both sides drawn from
// the same lognormal distribution (3% spread), through the gate at 5%:
// none may fail, with or without confirmation.
func TestJudgeAA(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	draw := func(n int, m float64) []float64 {
		ts := make([]float64, n)
		for i := range ts {
			ts[i] = m * math.Exp(0.03*rng.NormFloat64())
		}
		return ts
	}
	suspects := 0
	for range 200 {
		var bc, cc []tcase
		for k := range 6 {
			p := kv("k", string(rune('a'+k)))
			m := 0.01 * float64(k+1)
			bc = append(bc, tcase{params: p, times: draw(10, m)})
			cc = append(cc, tcase{params: p, times: draw(10, m)})
		}
		for _, req := range []benchrig.GateRequest{{}, {NoConfirm: true}} {
			res := Judge(mkRun("b", bc...), mkRun("c", cc...), req)
			if len(Suspects(res)) > 0 {
				suspects++
				// A re-run from the same distribution.
				var rc []tcase
				for k := range 6 {
					rc = append(rc, tcase{params: kv("k", string(rune('a'+k))), times: draw(10, 0.01*float64(k+1))})
				}
				Confirm(res, mkRun("b", bc...), mkRun("c", cc...), mkRun("r", rc...), req)
			}
			if !res.Passed || res.Verdict == benchrig.VerdictRegression {
				t.Fatalf("A/A failed: %s", res.Summary)
			}
		}
	}
	t.Logf("%d of 200 A/A pairs had a suspect (re-run, then passed)", suspects)
}

func TestConfirm(t *testing.T) {
	base := mkRun("base", tcase{params: gnu, times: times(10, 0.1, 1, 1, 0)}, tcase{params: busybox, times: times(10, 1.4, 1, 1, 3)})
	cand := mkRun("cand", tcase{params: gnu, times: times(10, 0.1, 1.10, 1, 5)}, tcase{params: busybox, times: times(10, 1.4, 1, 1, 7)})
	for _, tc := range []struct {
		name    string
		rerun   *benchrig.Run
		verdict benchrig.GateVerdict
		held    bool
		reason  string
		summary string
		passed  bool
	}{
		{
			name:    "held",
			rerun:   mkRun("conf", tcase{params: gnu, times: times(10, 0.1, 1.10, 1, 2)}),
			verdict: benchrig.VerdictRegression, held: true,
			reason:  "confirmed: held on pooled evidence (n=20): +10.0% (95% CI +",
			summary: "regression: 1 of 2 cases slower beyond 5% than run base (confirmed by a re-run); pass: 1",
		},
		{
			name:    "not held: the re-run is as fast as the baseline",
			rerun:   mkRun("conf", tcase{params: gnu, times: times(10, 0.1, 1.0, 1, 2)}),
			verdict: benchrig.VerdictInconclusive,
			reason:  "not confirmed: the re-run (run conf, n=10) gave +0.0% (95% CI",
			summary: "inconclusive: 1 of 2 cases against run base",
			passed:  true,
		},
		{
			name:    "not held: a long re-run shows the baseline's speed",
			rerun:   mkRun("conf", tcase{params: gnu, times: times(30, 0.1, 1.0, 1, 2)}),
			verdict: benchrig.VerdictPass,
			reason:  "on the pooled evidence (n=40): within 5%",
			summary: "pass: 2 cases within 5% of run base",
			passed:  true,
		},
		{
			name:    "the re-run's trials failed",
			rerun:   mkRun("conf", tcase{params: gnu, times: times(7, 0.1, 1.10, 1, 2), failed: 3}),
			verdict: benchrig.VerdictTrialsFailed,
			reason:  "the confirmation run conf: 3 of 10 trials failed: exit status 1",
			summary: "trials failed: 1 of 2 cases had failed trials",
		},
		{
			name:    "no re-run could be made",
			verdict: benchrig.VerdictRegression, held: true,
			reason:  "not re-run (the confirmation run could not be made), judged on the first evidence alone: slower beyond 5%, significantly: +10.0%",
			summary: "(not confirmed by a re-run: on the first evidence alone)",
		},
		{
			name:    "the re-run has no trials of the case",
			rerun:   mkRun("conf", tcase{params: busybox, times: times(10, 1.4, 1, 1, 2)}),
			verdict: benchrig.VerdictRegression, held: true,
			reason:  "not re-run (the confirmation run conf has no trials of this case), judged on the first evidence alone: slower beyond 5%",
			summary: "(not confirmed by a re-run: on the first evidence alone)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Judge(base, cand, benchrig.GateRequest{})
			if s := Suspects(res); len(s) != 1 || s[0] != "impl=gnu" {
				t.Fatalf("suspects %v", s)
			}
			Confirm(res, base, cand, tc.rerun, benchrig.GateRequest{})
			c := res.Cases[0]
			t.Logf("%s: %s", c.Verdict, c.Reason)
			if c.Verdict != tc.verdict || c.Confirmation == nil || c.Confirmation.Held != tc.held || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("%q held=%v: %s, want %q held=%v %q", c.Verdict, c.Confirmation != nil && c.Confirmation.Held, c.Reason, tc.verdict, tc.held, tc.reason)
			}
			if res.Cases[1].Confirmation != nil || res.Cases[1].Verdict != benchrig.VerdictPass {
				t.Errorf("the unsuspected case changed: %+v", res.Cases[1])
			}
			if res.Passed != tc.passed || !strings.Contains(res.Summary, tc.summary) {
				t.Errorf("passed %v %q, want %v %q", res.Passed, res.Summary, tc.passed, tc.summary)
			}
			if len(Suspects(res)) != 0 {
				t.Errorf("still suspects after Confirm: %v", Suspects(res))
			}
			conf := c.Confirmation
			if tc.rerun != nil {
				if res.ConfirmationRun != "conf" || conf.Run != "conf" || conf.PooledN != 10+conf.N {
					t.Errorf("confirmation %+v, run %q", conf, res.ConfirmationRun)
				}
			} else if res.ConfirmationRun != "" || conf.PooledN != 10 || conf.Where == "" {
				t.Errorf("confirmation %+v, run %q", conf, res.ConfirmationRun)
			}
		})
	}
}

func TestCILabels(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{"outside CI", map[string]string{"HOME": "/root", "GIT_COMMIT": "abc"}, nil},
		{"jenkins", map[string]string{"JENKINS_URL": "https://ci/", "GIT_COMMIT": "abc123", "GIT_BRANCH": "origin/main", "BUILD_URL": "https://ci/job/x/7/", "JOB_NAME": "x"},
			map[string]string{"ci": "jenkins", "commit": "abc123", "branch": "main", "build_url": "https://ci/job/x/7/", "job": "x"}},
		{"jenkins multibranch", map[string]string{"JENKINS_URL": "https://ci/", "BRANCH_NAME": "feature/y"},
			map[string]string{"ci": "jenkins", "branch": "feature/y"}},
		{"github pull request", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SHA": "def", "GITHUB_HEAD_REF": "fix-1", "GITHUB_REF_NAME": "12/merge",
			"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "99", "GITHUB_WORKFLOW": "bench", "GITHUB_JOB": "gate"},
			map[string]string{"ci": "github", "commit": "def", "branch": "fix-1", "build_url": "https://github.com/o/r/actions/runs/99", "job": "bench/gate"}},
		{"github push", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SHA": "def", "GITHUB_HEAD_REF": "", "GITHUB_REF_NAME": "main"},
			map[string]string{"ci": "github", "commit": "def", "branch": "main"}},
		{"gitlab", map[string]string{"GITLAB_CI": "true", "CI_COMMIT_SHA": "0f0", "CI_COMMIT_REF_NAME": "main", "CI_JOB_URL": "https://gl/j/5", "CI_JOB_NAME": "bench"},
			map[string]string{"ci": "gitlab", "commit": "0f0", "branch": "main", "build_url": "https://gl/j/5", "job": "bench"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CILabels(func(k string) string { return tc.env[k] })
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

func TestParseMaxRegression(t *testing.T) {
	def, cases, err := ParseMaxRegression([]string{"10%", "impl=busybox,n=4:20%", "0.05", "impl=busybox: 7.5 %"})
	if err != nil || def != 0.05 || len(cases) != 2 || cases[0].MaxRegression != 0.2 || cases[0].Match["impl"] != "busybox" || cases[0].Match["n"] != "4" ||
		len(cases[1].Match) != 1 || math.Abs(cases[1].MaxRegression-0.075) > 1e-12 {
		t.Errorf("got %v %+v %v", def, cases, err)
	}
	if def, cases, err := ParseMaxRegression(nil); def != 0 || cases != nil || err != nil {
		t.Errorf("nil: %v %v %v", def, cases, err)
	}
	for _, bad := range []struct{ value, msg string }{
		{"5", `"5": ambiguous: write 5% for a percentage`},
		{"1", "ambiguous"},
		{"0%", "must be above 0% and below 100%"},
		{"-5%", "must be above 0%"},
		{"100%", "below 100%"},
		{"NaN", "not a threshold"},
		{"five", "not a threshold"},
		{"", "no threshold"},
		{":5%", "no params before ':'"},
		{"impl:5%", `"impl" is not k=v`},
		{"impl=a,impl=b:5%", `param "impl" given twice`},
		{"impl=a:", "no threshold"},
	} {
		_, _, err := ParseMaxRegression([]string{"5%", bad.value})
		var e *benchrig.Error
		if !errors.As(err, &e) || e.Code != benchrig.EInvalid || e.Field != "max-regression" || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("%q: %v, want an invalid max-regression error containing %q", bad.value, err, bad.msg)
		}
	}
}

// TestJudgeNoCases: a run without cases has nothing that could regress.
func TestJudgeNoCases(t *testing.T) {
	res := Judge(mkRun("b", tcase{params: gnu, times: times(10, 0.1, 1, 1, 0)}), mkRun("c"), benchrig.GateRequest{})
	if res.Verdict != benchrig.VerdictPass || !res.Passed || len(res.Cases) != 0 {
		t.Errorf("%+v", res)
	}
}

// FuzzParseMaxRegression: any value parses to thresholds strictly between
// 0 and 1, or is refused with an invalid max-regression error.
func FuzzParseMaxRegression(f *testing.F) {
	for _, s := range []string{"5%", "0.05", "impl=busybox,n=4:10%", "5", ":", "a=b:c=d:5%", "1e-3", "99.9%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		def, cases, err := ParseMaxRegression([]string{v})
		if err != nil {
			var e *benchrig.Error
			if !errors.As(err, &e) || e.Code != benchrig.EInvalid || e.Field != "max-regression" {
				t.Fatalf("%q: %v", v, err)
			}
			return
		}
		if def != 0 && !(def > 0 && def < 1) {
			t.Fatalf("%q: def %v", v, def)
		}
		for _, c := range cases {
			if !(c.MaxRegression > 0 && c.MaxRegression < 1) || len(c.Match) == 0 {
				t.Fatalf("%q: case %+v", v, c)
			}
		}
		if def == 0 && len(cases) == 0 {
			t.Fatalf("%q: accepted, but gave nothing", v)
		}
	})
}
