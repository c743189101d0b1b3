package reports

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/stats"
)

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want []string
	}{
		{"clean", []float64{1, 1.001, 1.002, 1.003, 1.004, 1.005, 1.006, 1.007, 1.008, 1.009}, nil},
		{"none", nil, []string{WFewSamples}},
		{"three", []float64{1, 1.01, 1.02}, []string{WFewSamples}},
		{"five", []float64{1, 1.01, 1.02, 1.01, 1.0}, []string{WRangeCI}},
		{"noisy", []float64{1, 1.3, 0.8, 1.2, 0.9, 1.1, 0.7, 1.25}, []string{WHighVariance}},
		{"outlier", []float64{1, 1.01, 1.02, 1.01, 1.0, 1.02, 1.01, 1.5}, []string{WHighVariance, WOutliers}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codes(summaryWarnings(stats.Summarize(tt.xs))); !slices.Equal(got, tt.want) {
				t.Errorf("warnings %v, want %v", got, tt.want)
			}
		})
	}
}

// adaptiveRun has n cases that each stopped adaptive repetition short of
// a 3% target, with the given samples (ms), CPU times and memory.
// adaptiveRun is a run whose cases stopped as stop says (none when nil),
// with repetition rep, the note saying it as the runner writes it.
func adaptiveRun(samples map[string][]float64, rep benchrig.Repeat, stop *benchrig.Stop) *benchrig.Run {
	run := &benchrig.Run{ID: "r", Notes: map[string]string{}, Repeat: rep}
	seq := 0
	for _, id := range slices.Sorted(maps.Keys(samples)) {
		run.Cases = append(run.Cases, benchrig.Case{ID: id, Params: []benchrig.KV{{Name: "impl", Value: strings.TrimPrefix(id, "impl=")}}})
		if stop != nil {
			if run.Stops == nil {
				run.Stops = map[string]benchrig.Stop{}
			}
			run.Stops[id] = *stop
			run.Notes[id] = stop.Note(rep)
		}
		for _, v := range samples[id] {
			run.Trials = append(run.Trials, benchrig.Trial{CaseID: id, Seq: seq, Measurement: benchrig.Measurement{Wall: ms(v), User: ms(v / 2)}})
			seq++
		}
	}
	return run
}

func TestGroupWarnings(t *testing.T) {
	wide := []float64{100, 108, 93, 104, 97, 110, 90, 102, 99, 105} // CV ~6%, CI about ±4-5%
	run := adaptiveRun(map[string][]float64{"impl=a": wide, "impl=b": wide, "impl=c": {27.5, 36.1, 27.6, 27.4, 36.0}},
		benchrig.Repeat{Min: 3, Max: 10, UntilCI: 0.03}, &benchrig.Stop{Reason: benchrig.StopMax, Trials: 10, HalfWidth: 0.045})
	r := Build(run)
	groups := GroupWarnings(r)
	var got []string
	for _, g := range groups {
		got = append(got, g.Code+":"+strings.Join(g.Cases, "+"))
	}
	want := []string{"few-samples:impl=c", "ci-not-met:impl=a+impl=b+impl=c", "bimodal:impl=c", "high-variance:impl=c"}
	if !slices.Equal(got, want) {
		t.Fatalf("groups %v, want %v", got, want)
	}
	ci := groups[1]
	// The trials needed follow the noisiest case's scaled MAD (impl=a
	// and impl=b, impl=c's modes are tight); until_ci is the typical
	// half-width reached (impl=a's and impl=b's), rounded up, and the
	// worst (impl=c's range) beside it.
	typ, h := relHalfWidth(r.Cases[0].Stats), relHalfWidth(r.Cases[2].Stats)
	z := 1.959963984540054 * 1.2533 * r.Cases[0].Stats.MADScaled / (0.03 * r.Cases[0].Stats.Median)
	need := roundTrials(z * z)
	for _, s := range []string{"about " + need + " trials per case would reach the 3% target at this variance: make that the spec's repeat: {max: N} (or --repeat N)",
		fmt.Sprintf("until_ci: %d%%, the precision these trials typically reached (%d%% for impl=c)", int(math.Ceil(100*typ)), int(math.Ceil(100*h)))} {
		if !strings.Contains(ci.Action, s) {
			t.Errorf("ci-not-met action %q lacks %q", ci.Action, s)
		}
	}
	if bi := groups[2]; bi.Details[0] != "3 around 27.5 ms, 2 around 36.0 ms" {
		t.Errorf("bimodal detail %q", bi.Details[0])
	}
	var txt bytes.Buffer
	if err := WriteText(&txt, r); err != nil {
		t.Fatal(err)
	}
	out := txt.String()
	for _, code := range []string{WCINotMet, WBimodal, WFewSamples} {
		if n := strings.Count(out, code); n != 1 {
			t.Errorf("%s appears %d times in the text report, want once:\n%s", code, n, out)
		}
	}
	if strings.Contains(out, WOutliers) {
		t.Errorf("the second mode is also reported as outliers:\n%s", out)
	}
	if !strings.Contains(out, "ci-not-met on 3 cases: impl=a (CI ±") {
		t.Errorf("ci-not-met group does not name its cases:\n%s", out)
	}
}

// TestCINotMetStructured: the ci-not-met warning follows the run's
// recorded stop, not its note's text; a run recorded before stops were
// kept still warns from its note.
func TestCINotMetStructured(t *testing.T) {
	xs := map[string][]float64{"impl=a": {10, 11, 12, 10, 11, 12}}
	tests := []struct {
		name string
		run  *benchrig.Run
		want string // the warning's message; "" for none
	}{
		{"max reached", adaptiveRun(xs, benchrig.Repeat{Min: 3, Max: 6, UntilCI: 0.02}, &benchrig.Stop{Reason: benchrig.StopMax, Trials: 6, HalfWidth: 0.05}),
			"reached max 6 trials with CI half-width 5.0% (target 2.0%)"},
		{"max_time reached", adaptiveRun(xs, benchrig.Repeat{Min: 3, Max: 50, UntilCI: 0.02, MaxTime: 30 * time.Second}, &benchrig.Stop{Reason: benchrig.StopMaxTime, Trials: 6, HalfWidth: 0.05}),
			"max_time 30s reached after 6 trials with CI half-width 5.0%"},
		{"met", adaptiveRun(xs, benchrig.Repeat{Min: 3, Max: 50, UntilCI: 0.1}, &benchrig.Stop{Reason: benchrig.StopCIMet, Trials: 6, HalfWidth: 0.05}), ""},
		{"note after another note", func() *benchrig.Run {
			r := adaptiveRun(xs, benchrig.Repeat{Min: 3, Max: 6, UntilCI: 0.02}, &benchrig.Stop{Reason: benchrig.StopMax, Trials: 6, HalfWidth: 0.05})
			r.Notes["impl=a"] = "node lab1 lost after 3 trial(s): the rest moved to lab2; " + r.Notes["impl=a"]
			return r
		}(), "reached max 6 trials with CI half-width 5.0% (target 2.0%)"},
		{"legacy run: note only", func() *benchrig.Run {
			r := adaptiveRun(xs, benchrig.Repeat{}, nil)
			r.Notes["impl=a"] = "ci-not-met: reached max 6 trials with CI half-width 5.0% (target 2.0%)"
			return r
		}(), "reached max 6 trials with CI half-width 5.0% (target 2.0%)"},
		{"note text without a stop", func() *benchrig.Run {
			r := adaptiveRun(xs, benchrig.Repeat{Min: 6, Max: 6}, nil)
			r.Notes["impl=a"] = "ci-not-met: a setup script's own words"
			return r
		}(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			for _, w := range Build(tt.run).Cases[0].Warnings {
				if w.Code == WCINotMet {
					got = w.Message
				}
			}
			if got != tt.want {
				t.Errorf("ci-not-met warning %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWarningActions(t *testing.T) {
	tests := []struct {
		name  string
		code  string
		rep   benchrig.Repeat
		cases []*CaseReport
		want  string
	}{
		{"run without its target", WCINotMet, benchrig.Repeat{}, []*CaseReport{{Stats: stats.Summarize([]float64{1, 1.1, 0.9, 1, 1.05, 0.95}), Note: "ci-not-met: max_time 30s reached after 6 trials"}},
			"raise the spec's repeat max or max_time, or accept the precision reached: set until_ci: 11%, the precision these trials reached"},
		{"text is not read", WCINotMet, benchrig.Repeat{}, []*CaseReport{{Stats: stats.Summarize([]float64{1, 1.1, 0.9, 1, 1.05, 0.95}), Note: "ci-not-met: (target 3.0%)"}},
			"raise the spec's repeat max or max_time, or accept the precision reached: set until_ci: 11%, the precision these trials reached"},
		{"cases alike: one figure", WCINotMet, benchrig.Repeat{Min: 3, Max: 6, UntilCI: 0.03}, []*CaseReport{
			{Case: benchrig.Case{ID: "impl=a"}, Stats: stats.Summarize([]float64{1, 1.1, 0.9, 1, 1.05, 0.95})},
			{Case: benchrig.Case{ID: "impl=b"}, Stats: stats.Summarize([]float64{2, 2.2, 1.8, 2, 2.1, 1.9})}},
			"about 37 trials per case would reach the 3% target at this variance: make that the spec's repeat: {max: N} (or --repeat N); or set until_ci: 11%, the precision these trials reached"},
		{"one case far worse: typical and worst", WCINotMet, benchrig.Repeat{Min: 3, Max: 6, UntilCI: 0.03}, []*CaseReport{
			{Case: benchrig.Case{ID: "impl=a"}, Stats: stats.Summarize([]float64{1, 1.1, 0.9, 1, 1.05, 0.95})},
			{Case: benchrig.Case{ID: "impl=b"}, Stats: stats.Summarize([]float64{1, 1.01, 0.99, 1, 1.005, 0.995})},
			{Case: benchrig.Case{ID: "impl=c"}, Stats: stats.Summarize([]float64{1, 1.3, 0.7, 1, 1.15, 0.85})}},
			"about 37 trials per case would reach the 3% target at this variance (340 for impl=c): make that the spec's repeat: {max: N} (or --repeat N); or set until_ci: 11%, the precision these trials typically reached (31% for impl=c)"},
		{"beyond any sensible count", WCINotMet, benchrig.Repeat{Min: 3, Max: 6, UntilCI: 0.001}, []*CaseReport{{Stats: stats.Summarize([]float64{1, 2, 0.5, 1.5, 1.2, 0.7})}},
			"would need more than 10000 trials per case"},
		{"CIs too wide to suggest an until_ci", WCINotMet, benchrig.Repeat{Min: 3, Max: 6, UntilCI: 0.01}, []*CaseReport{{Stats: stats.Summarize([]float64{1, 5, 0.5, 3, 1.2, 0.7})}},
			"reduce the noise; no until_ci is worth setting until then: these trials' CIs reach ±"},
		{"slowest first", WHighVariance, benchrig.Repeat{}, []*CaseReport{{Samples: []float64{3, 1, 1.1, 0.9, 1, 1.2}, Warmups: 1}}, "the slowest trials came first: more warmups (--warmup 3)"},
		{"noise", WHighVariance, benchrig.Repeat{}, []*CaseReport{{Samples: []float64{1, 1.3, 0.8, 1.2, 0.9, 1.1}}}, "trials vary by more than 10%: look for other load"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := warningAction(&Report{RunID: "r", Repeat: tt.rep}, tt.code, tt.cases); !strings.Contains(got, tt.want) {
				t.Errorf("action %q lacks %q", got, tt.want)
			}
		})
	}
}

func TestResourcesUnmeasured(t *testing.T) {
	run := adaptiveRun(map[string][]float64{"impl=a": {10, 11, 12}}, benchrig.Repeat{Min: 3, Max: 3}, nil)
	run.Trials[1].MaxRSS = 0
	r := Build(run)
	if res := r.Cases[0].Resources; !math.IsNaN(res.MaxRSS) || !near(res.User, 0.0055, 1e-9) {
		t.Errorf("resources %+v, want no peak memory and 5.5 ms user", res)
	}
	var txt, js bytes.Buffer
	if err := WriteText(&txt, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "5.50 ms  0 s         -\n") {
		t.Errorf("unmeasured memory not shown as -:\n%s", txt.String())
	}
	if !strings.Contains(js.String(), `"max_rss_median_bytes": null`) {
		t.Errorf("JSON max_rss_median_bytes not null:\n%s", js.String())
	}
}

// TestSkippedCasesSayWhyOnce: cases that did not run (a program missing)
// carry no statistical warnings (no "run 6 trials" advice for a case that
// cannot run), and the text report spells a shared reason out once.
func TestSkippedCasesSayWhyOnce(t *testing.T) {
	run := adaptiveRun(map[string][]float64{"impl=a": {10, 10.1, 10.2, 10.1, 10, 10.2, 10.1}}, benchrig.Repeat{Min: 7, Max: 7}, nil)
	why := "required program busybox-musl not found (not in PATH)"
	run.Skipped = map[string]string{}
	for _, id := range []string{"impl=m1", "impl=m2", "impl=m3"} {
		run.Cases = append(run.Cases, benchrig.Case{ID: id, Params: []benchrig.KV{{Name: "impl", Value: strings.TrimPrefix(id, "impl=")}}})
		run.Skipped[id] = why
	}
	r := Build(run)
	for _, g := range GroupWarnings(r) {
		for _, id := range g.Cases {
			if run.Skipped[id] != "" {
				t.Errorf("skipped case %s in warning group %s", id, g.Code)
			}
		}
	}
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), why); n != 1 {
		t.Errorf("the reason appears %d times, want once:\n%s", n, b.String())
	}
	if n := strings.Count(b.String(), "skipped: as above"); n != 2 {
		t.Errorf(`"skipped: as above" %d times, want 2:\n%s`, n, b.String())
	}
}
