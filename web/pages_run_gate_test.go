package web

import (
	"context"
	"fmt"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/sqlite"
)

// gatedRuns records a baseline run b0, a candidate c1 slower on busybox
// jobs=1 and judged a confirmed regression, its confirmation run k1, and
// an ungated run u2, all of spec sort; evil goes into every text the gate
// shows that a user or a CI system can set.
func gatedRuns(t testing.TB, db *sqlite.DB, evil string) (gated *benchrig.GateResult) {
	t.Helper()
	ctx := context.Background()
	recordRun(t, db, "b0", "sort", runT0, benchrig.RunFinished, sweepCases(1))
	recordRun(t, db, "c1", "sort", runT0.Add(time.Hour), benchrig.RunFinished, sweepCases(1.12))
	slowCase := benchrig.CaseID([]benchrig.KV{{Name: "impl", Value: "busybox"}, {Name: "jobs", Value: "1"}})
	fastCase := benchrig.CaseID([]benchrig.KV{{Name: "impl", Value: "gnu"}, {Name: "jobs", Value: "1"}})
	recordLabelledRun(t, db, "k1", "sort", runT0.Add(2*time.Hour), benchrig.RunFinished, sweepCases(1.12)[3:4], map[string]string{benchrig.LabelConfirms: "c1"})
	recordRun(t, db, "u2", "sort", runT0.Add(3*time.Hour), benchrig.RunFinished, sweepCases(1))
	g := &benchrig.GateResult{Run: "c1", Baseline: "label:branch=" + evil, BaselineRun: "b0", BaselineStarted: runT0,
		BaselineLabels: map[string]string{"branch": evil},
		Test:           "Hodges-Lehmann ratio with Moses' 95% interval " + evil,
		Verdict:        benchrig.VerdictRegression, Passed: false, Summary: "1 of 6 cases regressed " + evil,
		ConfirmationRun: "k1", ConfirmTime: 95 * time.Second, Judged: runT0.Add(2*time.Hour + 2*time.Minute),
		Cases: []benchrig.CaseGate{
			{Case: slowCase, Verdict: benchrig.VerdictRegression, Reason: "slower than 5% " + evil, MaxRegression: 0.05,
				BaselineN: 7, CandidateN: 7, BaselineMedian: 0.2, CandidateMedian: 0.224, BaselineCV: 0.012,
				Ratio: 1.12, CILow: 1.09, CIHigh: 1.15, Suspected: true,
				Confirmation: &benchrig.CaseConfirmation{Run: "k1", Node: "lab2", Where: "lab2, another node of lab1's class " + evil, N: 7,
					Ratio: 1.11, CILow: 1.08, CIHigh: 1.14, PooledN: 14, PooledRatio: 1.115, PooledCILow: 1.1, PooledCIHigh: 1.13, Held: true}},
			{Case: fastCase, Verdict: benchrig.VerdictPass, MaxRegression: 0.05, BaselineN: 7, CandidateN: 7,
				BaselineMedian: 0.1, CandidateMedian: 0.1, Ratio: 1.0, CILow: 0.99, CIHigh: 1.01},
		}}
	if err := db.SetGate(ctx, "c1", g); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestRunPageGate(t *testing.T) {
	db := openStore(t)
	const evil = `<script>alert("gate")</script>`
	gatedRuns(t, db, evil)
	s := publicServer(Deps{Store: db})
	code, body := get(t, s.Handler(), "/runs/c1")
	if code != 200 {
		t.Fatalf("run page: %d\n%s", code, body)
	}
	text := html.UnescapeString(body) // "+" is &#43; in the HTML
	for _, want := range []string{
		`<section class="gate" id="gate">`, "<h2>Regression gate</h2>",
		`<span class="badge gate-bad">regression</span>`, "the gate failed",
		`run <a href="/runs/b0">b0</a> (started 2026-03-01 10:00 UTC)`,
		`in run <a href="/runs/k1">k1</a>, which took 1 min 35 s`,
		// The regressed case by its label, with its numbers.
		`<tr class="gate-case gate-bad"><td>impl=busybox,jobs=1</td><td class="verdict bad">regression</td><td class="num">+12.0%</td><td class="num">+9.0%..+15.0%</td><td class="num">5%</td>`,
		"200 ms → 224 ms", `<td class="num">7/7</td>`, `<td class="num">1.2%</td>`,
		// Its confirmation.
		`Re-run in <a href="/runs/k1">k1</a>`, "+11.0% (95% CI +8.0%..+14.0%, n=7)",
		"pooled with this run: +11.5% (95% CI +10.0%..+13.0%, n=14)", "the regression held",
		`<tr class="gate-case gate-good"><td>impl=gnu,jobs=1</td><td class="verdict good">pass</td>`,
		"Judged 2026-03-01 12:02:00 UTC",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the gate section lacks %q", want)
		}
	}
	if strings.Contains(body, evil) {
		t.Errorf("a gate text is not escaped:\n%s", body)
	}
	if n := strings.Count(body, "&lt;script&gt;alert(&#34;gate&#34;)&lt;/script&gt;"); n < 6 {
		t.Errorf("%d escaped copies of the evil text, want one in each of baseline, labels, test, summary, reason, where", n)
	}

	// A run without a gate has no section; a confirmation run says what it is.
	if _, body := get(t, s.Handler(), "/runs/u2"); strings.Contains(body, "Regression gate") {
		t.Error("an ungated run shows a gate section")
	}
	if _, body := get(t, s.Handler(), "/runs/k1"); !strings.Contains(body, `re-ran the suspected regressions of run <a href="/runs/c1">c1</a>`) {
		t.Error("the confirmation run's page does not name the run it confirmed")
	}
}

func TestRunsListGateAndLabels(t *testing.T) {
	db := openStore(t)
	gatedRuns(t, db, "main")
	recordLabelledRun(t, db, "m3", "sort", runT0.Add(4*time.Hour), benchrig.RunFinished, sweepCases(1), map[string]string{"branch": "main", "commit": "abc123"})
	s := publicServer(Deps{Store: db})
	code, body := get(t, s.Handler(), "/runs")
	if code != 200 {
		t.Fatalf("runs: %d", code)
	}
	if !strings.Contains(body, "<th>Gate</th>") {
		t.Error("the runs list has no gate column")
	}
	if !strings.Contains(body, `<a class="gate-bad" href="/runs/c1#gate" title="1 of 6 cases regressed main">regression</a>`) {
		t.Errorf("the gated run's row lacks its verdict:\n%s", body)
	}
	if n := strings.Count(body, `<td class="gate"></td>`); n != 4 {
		t.Errorf("%d blank gate cells, want 4 (b0, k1, u2, m3 were not gated)", n)
	}
	if !strings.Contains(body, `<div class="sub">confirms c1</div>`) {
		t.Error("the confirmation run's row does not say which run it confirms")
	}
	// The label filter: the runs carrying every label asked for.
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"label=branch%3Dmain", []string{"m3"}},
		{"label=branch%3Dmain,commit%3Dabc123", []string{"m3"}},
		{"label=branch%3Ddev", nil},
		{"label=benchrig.confirms%3Dc1", []string{"k1"}},
	} {
		code, body := get(t, s.Handler(), "/runs?"+tc.q)
		if code != 200 {
			t.Errorf("%s: %d", tc.q, code)
			continue
		}
		var got []string
		for _, id := range []string{"b0", "c1", "k1", "u2", "m3"} {
			if strings.Contains(body, fmt.Sprintf(`<div class="sub">%s</div>`, id)) {
				got = append(got, id)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: runs %v, want %v", tc.q, got, tc.want)
		}
	}
	if code, body := get(t, s.Handler(), "/runs?label=branch"); code != 400 || !strings.Contains(body, "label") {
		t.Errorf("a label without =: %d, want 400 naming the field", code)
	}
}

// historyWithStep records runs h0..h9 of spec sort in which busybox gets
// 20% slower from h6 on, plus a confirmation run (even slower, of one
// case) between h8 and h9 that the history must leave out.
func historyWithStep(t testing.TB, db *sqlite.DB) {
	t.Helper()
	for i := range 10 {
		slow := 1.0 + 0.004*float64(i%3)
		if i >= 6 {
			slow *= 1.2
		}
		recordRun(t, db, fmt.Sprintf("h%d", i), "sort", runT0.Add(time.Duration(i)*time.Hour), benchrig.RunFinished, sweepCases(slow))
		if i == 8 {
			recordLabelledRun(t, db, "hk", "sort", runT0.Add(time.Duration(i)*time.Hour+time.Minute), benchrig.RunFinished, sweepCases(2)[3:4],
				map[string]string{benchrig.LabelConfirms: "h8"})
		}
	}
}

func TestHistoryPageSteps(t *testing.T) {
	db := openStore(t)
	historyWithStep(t, db)
	s := publicServer(Deps{Store: db})
	code, body := get(t, s.Handler(), "/history?spec=sort")
	if code != 200 {
		t.Fatalf("history: %d\n%s", code, body)
	}
	// busybox's three cases stepped at h6; gnu's three did not.
	if n := strings.Count(body, `<li class="step slower"><strong class="change">&#43;19.8%</strong>`); n != 3 {
		t.Errorf("%d steps of +19.8%% listed, want 3 (busybox at jobs 1, 2, 4):\n%s", n, body)
	}
	if n := strings.Count(body, `from run <a href="/runs/h6">h6</a> (2026-03-01 16:00 UTC)`); n != 3 {
		t.Errorf("%d steps at run h6, want 3", n)
	}
	if n := strings.Count(body, `No step: the medians are one level`); n != 3 {
		t.Errorf("%d cases without a step, want 3 (gnu)", n)
	}
	// Each step is a vertical line in both sizes of its chart, linking
	// to its run.
	if n := strings.Count(body, `<a href="/runs/h6"><g class="vline">`); n != 3*2 {
		t.Errorf("%d step markers, want 3 cases x 2 sizes", n)
	}
	if strings.Contains(body, "/runs/hk") {
		t.Error("the confirmation run hk is a point of the history")
	}
	if !strings.Contains(body, "confidence 99.5% (p=0.005)") {
		t.Error("a step's confidence is not shown")
	}
}
