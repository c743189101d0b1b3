package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/sqlite"
)

// runT0 is when the test runs start: fixed, so pages are deterministic.
var runT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// openStore opens a real store in a temp dir.
func openStore(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// testCase is one case of a recorded test run: its params and its
// trials' wall times.
type testCase struct {
	params []benchrig.KV
	walls  []time.Duration
}

// sweepCases is impl={gnu,busybox} x jobs={1,2,4}: busybox about twice as
// slow, both scaling up to 2 jobs and flat after (the knee at 2). slow
// multiplies busybox's times (a regression in a second run).
func sweepCases(slow float64) []testCase {
	var out []testCase
	for _, impl := range []string{"gnu", "busybox"} {
		for _, jobs := range []int{1, 2, 4} {
			base := 100.0
			if impl == "busybox" {
				base = 200 * slow
			}
			perJobs := map[int]float64{1: 1, 2: 0.52, 4: 0.5}[jobs]
			var walls []time.Duration
			for i := range 7 {
				jitter := 1 + 0.01*float64((i*3)%5-2)
				walls = append(walls, time.Duration(base*perJobs*jitter*float64(time.Millisecond)))
			}
			out = append(out, testCase{params: []benchrig.KV{{Name: "impl", Value: impl}, {Name: "jobs", Value: fmt.Sprint(jobs)}}, walls: walls})
		}
	}
	return out
}

// recordRun writes a run with its trials through the store's API.
func recordRun(t testing.TB, db *sqlite.DB, id, spec string, started time.Time, status benchrig.RunStatus, cases []testCase) *benchrig.Run {
	t.Helper()
	return recordLabelledRun(t, db, id, spec, started, status, cases, nil)
}

// recordLabelledRun is recordRun of a run with labels (branch=main, or a
// confirmation run's benchrig.confirms).
func recordLabelledRun(t testing.TB, db *sqlite.DB, id, spec string, started time.Time, status benchrig.RunStatus, cases []testCase, labels map[string]string) *benchrig.Run {
	t.Helper()
	ctx := context.Background()
	run := &benchrig.Run{ID: id, SpecName: spec, SpecHash: "h-" + spec, SpecFile: spec + ".yaml", Labels: labels,
		SpecSource: []byte("name: " + spec + "\ncommand: sort -S 1M <input>\nparams:\n  impl: [gnu, busybox]\n  jobs: [1, 2, 4]\n"),
		Status:     benchrig.RunRunning, Started: started, Heartbeat: time.Now(), // not stale: still running
		Fingerprint:  benchrig.Fingerprint{Arch: "amd64", Executor: "local", OS: "linux", CPUModel: "Test CPU", CPUs: 8},
		ScalingParam: "jobs", Repeat: benchrig.Repeat{Min: 7, Max: 7}}
	for i, c := range cases {
		run.Cases = append(run.Cases, benchrig.Case{ID: benchrig.CaseID(c.params), Index: i, Params: c.params})
	}
	if len(run.Cases) > 0 {
		run.BaselineID = run.Cases[0].ID
	}
	if err := db.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	seq := 0
	var trials []benchrig.Trial
	for _, c := range cases {
		for i, w := range c.walls {
			trials = append(trials, benchrig.Trial{RunID: id, CaseID: benchrig.CaseID(c.params), Seq: seq, Index: i, Node: "local",
				Outcome: benchrig.OutcomeOK, Measurement: benchrig.Measurement{Start: started.Add(time.Duration(seq) * time.Second), Wall: w, User: w / 2, ExitCode: 0}})
			seq++
		}
	}
	if len(trials) > 0 {
		if err := db.AddTrials(ctx, trials); err != nil {
			t.Fatal(err)
		}
	}
	if status != benchrig.RunRunning {
		if err := db.FinishRun(ctx, id, status, started.Add(time.Minute), nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.GetRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// get serves one GET and returns its status and body.
func get(t testing.TB, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func publicServer(deps Deps) *Server { return New(Config{PublicRead: true}, deps) }

func TestRunPage(t *testing.T) {
	db := openStore(t)
	recordRun(t, db, "r1", "sort", runT0, benchrig.RunFinished, sweepCases(1))
	s := publicServer(Deps{Store: db})
	code, body := get(t, s.Handler(), "/runs/r1")
	if code != 200 {
		t.Fatalf("GET /runs/r1: %d\n%s", code, body)
	}
	for _, want := range []string{
		"impl=busybox", // a case, by what differs
		"jobs=4",
		`class="chart bar"`, // the medians' bar chart
		`<title>Median time per case of sort`,
		`class="whisker"`,      // CI whiskers
		"Speedup by jobs",      // the sweep's line chart
		"ideal (linear)",       // its ideal line
		`class="mark"`,         // the knee marked
		"knee at jobs=2",       // and in words, as the CLI prints it
		"slower than impl=gnu", // a comparison in words
		"name: sort",           // the spec source
		"Test CPU",             // the fingerprint
		"no sample source",     // Samples nil
		`<span class="badge status-finished">finished</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	// One bar per case, in the wide and the narrow drawing.
	if n := strings.Count(body, `<rect x=`); n != 2*6 {
		t.Errorf("bar charts have %d bars, want 2 x 6", n)
	}
	// A finished run does not follow events.
	if strings.Contains(body, "data-events") {
		t.Error("finished run page follows events")
	}
}

func TestRunPageLive(t *testing.T) {
	db := openStore(t)
	cases := sweepCases(1)
	cases[5].walls = nil // one case has not run yet
	recordRun(t, db, "live1", "sort", runT0, benchrig.RunRunning, cases)
	s := New(Config{PublicRead: true}, Deps{Store: db, Now: func() time.Time { return runT0.Add(time.Second) }})
	code, body := get(t, s.Handler(), "/runs/live1")
	if code != 200 {
		t.Fatalf("GET: %d %s", code, body)
	}
	for _, want := range []string{`data-events="/api/v1/runs/live1/events"`, `data-live-src="/runs/live1?part=live"`, "35 trials recorded so far, of 42"} {
		if !strings.Contains(body, want) {
			t.Errorf("live run page lacks %q", want)
		}
	}
	code, part := get(t, s.Handler(), "/runs/live1?part=live")
	if code != 200 || strings.Contains(part, "<html") || !strings.Contains(part, "impl=busybox") || !strings.Contains(part, `class="chart bar"`) {
		t.Errorf("live part: %d, want a fragment with the cases and the chart:\n%.400s", code, part)
	}
}

func TestRunPageNotFound(t *testing.T) {
	s := publicServer(Deps{Store: openStore(t)})
	code, body := get(t, s.Handler(), "/runs/nope")
	if code != 404 || !strings.Contains(body, "nope") || !strings.Contains(body, "<html") {
		t.Errorf("unknown run: %d, want a 404 page naming it:\n%s", code, body)
	}
}

func TestRunPageNeedsToken(t *testing.T) {
	db := openStore(t)
	recordRun(t, db, "r1", "sort", runT0, benchrig.RunFinished, sweepCases(1))
	s := New(Config{}, Deps{Store: db})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/runs/r1", nil))
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
		t.Errorf("run page without a token: %d to %q, want 303 to the login page", rec.Code, rec.Header().Get("Location"))
	}
}

// TestRunPagesEscape: a spec name and params with HTML in them are
// text on every page, never markup.
func TestRunPagesEscape(t *testing.T) {
	db := openStore(t)
	evil := `<script>alert(1)</script>`
	cases := []testCase{
		{params: []benchrig.KV{{Name: "impl", Value: "<b>x</b>"}}, walls: sweepCases(1)[0].walls},
		{params: []benchrig.KV{{Name: "impl", Value: `"><img src=x onerror=alert(1)>`}}, walls: sweepCases(1)[3].walls},
	}
	recordRun(t, db, "e1", evil, runT0, benchrig.RunFinished, cases)
	recordRun(t, db, "e2", evil, runT0.Add(time.Hour), benchrig.RunFinished, cases)
	s := publicServer(Deps{Store: db})
	for _, path := range []string{"/runs/e1", "/compare?a=e1&b=e2", "/compare?run=e2&baseline=auto", "/history?spec=" + strings.ReplaceAll(evil, "<", "%3C")} {
		code, body := get(t, s.Handler(), path)
		if code != 200 {
			t.Errorf("%s: %d\n%s", path, code, body)
			continue
		}
		for _, bad := range []string{"<script>alert", "<b>x</b>", "<img src=x"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: unescaped %q", path, bad)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the spec name is not shown escaped", path)
		}
	}
}

func TestComparePage(t *testing.T) {
	db := openStore(t)
	recordRun(t, db, "a1", "sort", runT0, benchrig.RunFinished, sweepCases(1))
	recordRun(t, db, "b1", "sort", runT0.Add(time.Hour), benchrig.RunFinished, sweepCases(1.5))
	s := publicServer(Deps{Store: db})
	for _, path := range []string{"/compare?a=a1&b=b1", "/compare?run=b1&baseline=auto"} {
		code, body := get(t, s.Handler(), path)
		if code != 200 {
			t.Fatalf("%s: %d\n%s", path, code, body)
		}
		if !strings.Contains(body, "Run <code>b1</code> against <code>a1</code>") {
			t.Errorf("%s: not b1 against a1", path)
		}
		// busybox got 1.5x slower in each of its 3 cases: regressions,
		// said in words and marked with a class.
		if n := strings.Count(body, `<tr class="regression">`); n != 3 {
			t.Errorf("%s: %d regression rows, want 3", path, n)
		}
		if !strings.Contains(body, "3 regressions") || !strings.Contains(body, "regression: slower") {
			t.Errorf("%s: regressions not said in words", path)
		}
		if n := strings.Count(body, `<tr class="same">`); n != 3 {
			t.Errorf("%s: %d unchanged rows, want 3", path, n)
		}
		if !strings.Contains(body, `class="chart bar"`) || !strings.Contains(body, `class="ref"`) || !regexp.MustCompile(`<g class="regression">`).MatchString(body) {
			t.Errorf("%s: no ratio chart with its reference line and regression bars", path)
		}
		if !strings.Contains(body, "1.5") {
			t.Errorf("%s: the ratio 1.5 is not shown", path)
		}
	}
}

func TestComparePageBadRefs(t *testing.T) {
	db := openStore(t)
	recordRun(t, db, "a1", "sort", runT0, benchrig.RunFinished, sweepCases(1))
	s := publicServer(Deps{Store: db})
	for _, tc := range []struct{ path, want string }{
		{"/compare?a=a1&b=zzz", `run b: no run &#34;zzz&#34;`},
		{"/compare?a=qqq&b=a1", `run a: no run &#34;qqq&#34;`},
		{"/compare?run=zzz&baseline=auto", `run: no run &#34;zzz&#34;`},
		{"/compare?run=a1&baseline=auto", "no finished run of spec sort"},
	} {
		code, body := get(t, s.Handler(), tc.path)
		if code != 404 || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d, want 404 saying %q:\n%s", tc.path, code, tc.want, body)
		}
	}
	if code, body := get(t, s.Handler(), "/compare"); code != 200 || !strings.Contains(body, `<form class="compare-form"`) {
		t.Errorf("/compare without runs: %d, want the form", code)
	}
}

func TestHistoryPage(t *testing.T) {
	db := openStore(t)
	for i := range 3 {
		recordRun(t, db, fmt.Sprintf("h%d", i), "sort", runT0.Add(time.Duration(i)*time.Hour), benchrig.RunFinished, sweepCases(1+float64(i)/10))
	}
	s := publicServer(Deps{Store: db})
	code, body := get(t, s.Handler(), "/history?spec=sort")
	if code != 200 {
		t.Fatalf("history: %d\n%s", code, body)
	}
	if n := strings.Count(body, `class="chart line"`); n != 2*6 {
		t.Errorf("%d charts, want one per case (6), wide and narrow", n)
	}
	for i := range 3 {
		if !strings.Contains(body, fmt.Sprintf(`<a href="/runs/h%d"><circle`, i)) {
			t.Errorf("no chart point links to run h%d", i)
		}
	}
	if code, body := get(t, s.Handler(), "/history?spec=nothing"); code != 404 || !strings.Contains(body, "nothing") {
		t.Errorf("history of an unknown spec: %d, want 404", code)
	}
}

// The run page over the store's samples (what a server without
// Elasticsearch charts), and the source's trial filter.
func TestRunPageStoreSamples(t *testing.T) {
	db := openStore(t)
	run := recordRun(t, db, "s1", "sort", runT0, benchrig.RunFinished, sweepCases(1))
	samples := manySamples(run, 42*50)
	host := benchrig.Sample{Time: runT0, Run: "s1", Node: "local", Kind: benchrig.SampleHost, Seq: 1, Host: &benchrig.HostSample{CPUs: 8}}
	if err := db.WriteSamples(context.Background(), append(samples, host)); err != nil {
		t.Fatal(err)
	}
	src := NewSampleSource("store", db)
	s := publicServer(Deps{Store: db, Samples: src})
	code, body := get(t, s.Handler(), "/runs/s1")
	if code != 200 {
		t.Fatalf("GET: %d", code)
	}
	if !strings.Contains(body, "2100 collector samples from the store") {
		t.Error("the page does not count the store's trial samples (2100; the host sample is not a trial's)")
	}
	if n := strings.Count(body, `class="band"`); n != 2*3*42 {
		t.Errorf("%d bands, want 3 charts x 42 trials, wide and narrow", n)
	}
	ref := run.Trials[3].Ref()
	one, _, err := src.Samples(context.Background(), "s1", SampleQuery{Trial: ref.String()})
	if err != nil || len(one) != 50 {
		t.Fatalf("samples of trial %s: %d, %v; want 50", ref, len(one), err)
	}
	for _, sm := range one {
		if *sm.Trial != ref {
			t.Fatalf("sample of trial %s returned for %s", sm.Trial, ref)
		}
	}
}

// TestThin: thinning in memory keeps what sqlite.DB.SamplesThinned keeps:
// each target's first and final samples and every stride-th between.
func TestThin(t *testing.T) {
	var in []benchrig.Sample
	for tr := range 2 {
		ref := benchrig.TrialRef{Run: "r", Case: "c", Rep: tr}
		for k := int64(1); k <= 100; k++ {
			in = append(in, benchrig.Sample{Seq: k, Final: k == 100, Trial: &ref})
		}
	}
	for _, tt := range []struct {
		max        int
		wantStride int64
		wantLen    int
	}{{200, 1, 200}, {199, 2, 2 * 51}, {60, 4, 2 * 26}, {6, 64, 2 * 3}, {4, 128, 2 * 2}} {
		out, stride := thin(in, tt.max)
		if stride != tt.wantStride || len(out) != tt.wantLen {
			t.Errorf("max %d: stride %d, %d samples; want %d, %d", tt.max, stride, len(out), tt.wantStride, tt.wantLen)
		}
		for _, sm := range out {
			if !sm.Final && sm.Seq != 1 && sm.Seq%stride != 0 {
				t.Fatalf("max %d: kept seq %d with stride %d", tt.max, sm.Seq, stride)
			}
		}
	}
}
