package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/spec"
	"github.com/benchrig/benchrig/sqlite"
)

// The runs list in a browser: rows read well at both widths, a spec
// name with HTML in it is text, and a running run's row follows the run
// (the page polls its rows) until it finishes.
func TestBrowserRunsList(t *testing.T) {
	now := time.Now().UTC()
	s, _, db := testServer(t, Config{PublicRead: true}, Deps{})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	siteRun(t, db, "20261201-sort-a1b2", "sort-implementations", benchrig.RunFinished, now.Add(-26*time.Hour), map[string]string{"branch": "main"})
	siteRun(t, db, "20261205-grep-c3d4", "grep-large-files", benchrig.RunFailed, now.Add(-3*time.Hour), nil)
	siteRun(t, db, "20261206-html-e5f6", htmlName, benchrig.RunCancelled, now.Add(-40*time.Minute), nil)
	siteRun(t, db, "20261206-live-0001", "compression-sweep", benchrig.RunRunning, now.Add(-2*time.Minute), nil)

	ctx := newBrowser(t)
	screenshot(t, ctx, ts.URL+"/runs", "runs", desktopWidth)
	screenshot(t, ctx, ts.URL+"/runs", "runs", phoneWidth)

	if got := textOf(t, ctx, "tr:nth-child(2) td.spec a"); got != htmlName {
		t.Errorf("the HTML spec name shows as %q", got)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#run-rows tr").length`)); n != 4 {
		t.Errorf("%d rows, want 4", n)
	}
	// At a phone's width the page itself does not scroll sideways: the
	// table does, inside its box.
	if wide, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); wide {
		t.Error("the runs page is wider than a phone's screen")
	}

	// The live run finishes; its row says so without a reload, and the
	// page stops polling.
	if err := db.FinishRun(context.Background(), "20261206-live-0001", benchrig.RunFinished, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the live row to finish", `document.querySelector("#run-rows tr:first-child .status").textContent === "finished"`)
	waitFor(t, ctx, "no active row", `document.querySelector("[data-active]") === null`)
	checkConsole(t, ctx)
}

// siteQueue is a fake Runs that validates a spec as the queue does
// (spec.Parse, then the overrides) and records an accepted run in the
// store as running.
type siteQueue struct {
	db  *sqlite.DB
	mu  sync.Mutex
	got []benchrig.Submission
}

var _ Runs = (*siteQueue)(nil)

func (q *siteQueue) Submit(ctx context.Context, sub benchrig.Submission) (*benchrig.Run, error) {
	sp, err := spec.Parse(sub.SpecName, sub.Spec)
	if err != nil {
		return nil, err
	}
	if _, err := spec.ApplySet(sp, sub.Request.Sets); err != nil {
		return nil, err
	}
	q.mu.Lock()
	q.got = append(q.got, sub)
	n := len(q.got)
	q.mu.Unlock()
	run := &benchrig.Run{ID: fmt.Sprintf("20261206-%s-%04d", sp.Name, n), SpecName: sp.Name, SpecHash: sp.Hash,
		SpecFile: sub.SpecName, SpecSource: sub.Spec, Status: benchrig.RunRunning, Started: time.Now()}
	if err := q.db.CreateRun(ctx, run); err != nil {
		return nil, err
	}
	return run, nil
}

func (q *siteQueue) Cancel(ctx context.Context, runID string) error { return nil }

func (q *siteQueue) Watch(ctx context.Context, runID string, after int64) (<-chan benchrig.Event, error) {
	ch := make(chan benchrig.Event)
	close(ch)
	return ch, nil
}

func (q *siteQueue) Stats() benchrig.QueueStats { return benchrig.QueueStats{} }

// withStandIns serves s, and in front of it what the submit form needs
// from other parts of the server while they are not in this branch: POST
// /api/v1/runs (the API's; its contract: 201 {"id","url"} or the
// apiError with field errors) and GET /runs/{id} (the run page's). Once
// s registers them, s serves them and the stand-ins are unused.
func withStandIns(s *Server) http.Handler {
	has := func(method, pattern string) bool {
		return slices.ContainsFunc(s.Routes(), func(r Route) bool { return r.Method == method && r.Pattern == pattern })
	}
	mux := http.NewServeMux()
	mux.Handle("/", s.Handler())
	if !has("POST", "/api/v1/runs") {
		mux.HandleFunc("POST /api/v1/runs", func(w http.ResponseWriter, r *http.Request) {
			if _, status, msg := s.authorize(r, Submit); status != 0 {
				writeStatus(w, status, http.StatusText(status), msg)
				return
			}
			var body struct {
				Spec string   `json:"spec"`
				Set  []string `json:"set"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				writeStatus(w, 400, "invalid", err.Error())
				return
			}
			run, err := s.deps.Runs.Submit(r.Context(), benchrig.Submission{Spec: []byte(body.Spec), SpecName: "submitted.yaml",
				Request: benchrig.RunRequest{Sets: body.Set}})
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			writeJSON(w, http.StatusCreated, map[string]string{"id": run.ID, "url": "/runs/" + run.ID})
		})
	}
	if !has("GET", "/runs/{id}") {
		mux.HandleFunc("GET /runs/{id}", func(w http.ResponseWriter, r *http.Request) {
			run, err := s.deps.Store.GetRun(r.Context(), r.PathValue("id"))
			if err != nil {
				s.writePageError(w, r, err)
				return
			}
			w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><title>run</title><h1>%s</h1><p>%s</p>", html.EscapeString(run.SpecName), html.EscapeString(run.ID))
		})
	}
	return mux
}

const badSpec = `name: bad-param
command: "true"
params:
  buffer-size: [4k, 64k]
`

const goodSpec = `name: echo
command: echo {{.n}}
params:
  n: [1, 2]
`

// The submit form as a user drives it, with the keyboard only: without a
// token it says one is needed; a bad spec shows its error under the
// offending line; a good one with a submit token lands on its run page.
func TestBrowserSubmit(t *testing.T) {
	s0, _, db := testServer(t, Config{PublicRead: true}, Deps{})
	q := &siteQueue{db: db}
	s := New(s0.cfg, Deps{Store: db, Shares: db, Runs: q})
	ts := httptest.NewServer(withStandIns(s))
	t.Cleanup(ts.Close)

	ctx := newBrowser(t)
	// The form's 401 and 400 answers are expected; the browser logs them.
	allowFailedLoads(ctx, "/api/v1/runs")
	screenshot(t, ctx, ts.URL+"/submit", "submit", desktopWidth)
	if visible, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("noscript") !== null && document.getElementById("submit-form").offsetParent !== null`)); !visible {
		t.Error("the form is not shown (or the page has no noscript notice)")
	}

	// paste puts text in a field as a paste does; submit presses Enter
	// on the focused Run button.
	paste := func(css, text string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(css), text)); err != nil {
			t.Fatal(err)
		}
	}
	submit := func() {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS("#submit-form button[type=submit]")), chromedp.KeyEvent(kb.Enter)); err != nil {
			t.Fatal(err)
		}
	}

	paste("#spec", goodSpec)
	submit()
	waitFor(t, ctx, "the token hint", `document.getElementById("submit-status").textContent.includes("needs a submit token")`)
	if focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`)); focused != "submit-token" {
		t.Errorf("focus on %q after a 401, want the token field", focused)
	}

	// Type the token, as a user would, then a bad spec.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#submit-token"), submitSecret)); err != nil {
		t.Fatal(err)
	}
	paste("#spec", badSpec)
	submit()
	waitFor(t, ctx, "the errors", `!document.getElementById("submit-errors").hidden`)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(".spec-lines li.bad"))); err != nil {
		t.Fatal(err)
	}
	line, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector(".spec-lines li.bad").value`))
	marked := textOf(t, ctx, ".spec-lines li.bad")
	if line != 4 || !strings.Contains(marked, "buffer-size: [4k, 64k]") || !strings.Contains(marked, `bad param name "buffer-size"`) {
		t.Errorf("marked line %d: %q; want line 4 with the param and its message", line, marked)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".spec-lines li.bad").length`)); n != 1 {
		t.Errorf("%d lines marked, want 1", n)
	}
	if focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`)); focused != "submit-errors" {
		t.Errorf("focus on %q after the errors, want the errors", focused)
	}
	// The error's "line 4" button takes the cursor to the line.
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(".line-link")), chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the cursor at line 4", `document.activeElement.id === "spec" &&
		document.getElementById("spec").value.slice(0, document.getElementById("spec").selectionStart).split("\n").length === 4`)
	screenshot(t, ctx, "", "submit-errors", desktopWidth)
	screenshot(t, ctx, "", "submit-errors", phoneWidth)
	if wide, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); wide {
		t.Error("the submit page is wider than a phone's screen")
	}

	paste("#spec", goodSpec)
	paste("#sets", "n=3,4\n")
	submit()
	waitFor(t, ctx, "the run page", `location.pathname.startsWith("/runs/")`)
	loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	q.mu.Lock()
	got := slices.Clone(q.got)
	q.mu.Unlock()
	if len(got) != 1 || string(got[0].Spec) != goodSpec || !slices.Equal(got[0].Request.Sets, []string{"n=3,4"}) {
		t.Fatalf("submitted %+v", got)
	}
	run, err := db.GetRun(context.Background(), strings.TrimPrefix(loc, "/runs/"))
	if err != nil || run.SpecName != "echo" {
		t.Fatalf("the page %s is not the run's: %v %+v", loc, err, run)
	}
	waitFor(t, ctx, "the run page's content", `document.body.textContent.includes("echo")`)

	// The token stayed in the tab's sessionStorage, never in a cookie.
	if tok, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem("benchrig.submitToken") || ""`)); tok != submitSecret {
		t.Errorf("sessionStorage holds %q", tok)
	}
	if c, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`)); c != "" {
		t.Errorf("cookies %q", c)
	}
	checkConsole(t, ctx)
}

// The other pages of the site at both widths: pools, schedules, login, a
// shared run and a shared comparison.
func TestBrowserSitePages(t *testing.T) {
	now := time.Now().UTC()
	pools := &sitePools{pools: []benchrig.PoolStatus{{
		Name: "lab", Limit: 2, Running: []string{"20261206-sort-0001"}, Queued: 1,
		Policy: benchrig.PoolPolicy{HostMounts: []string{"/data/bench"}},
		Nodes: []benchrig.NodeStatus{
			{Name: "amd-1", Host: "tcp://10.0.0.11:2375", Healthy: true, Checked: now.Add(-time.Minute), Running: []string{"20261206-sort-0001/impl=gnu#3"},
				Facts: &benchrig.NodeFacts{Arch: "amd64", EngineArch: "amd64", OS: "linux", Kernel: "6.1.0-28-amd64", CPUs: 16, MemoryBytes: 64 << 30}},
			{Name: "arm-1", Host: "tcp://10.0.0.12:2375", Healthy: true, Checked: now.Add(-time.Minute),
				Facts: &benchrig.NodeFacts{Arch: "arm64", EngineArch: "amd64", OS: "linux", Kernel: "6.1.0-28-amd64", CPUs: 8, MemoryBytes: 32 << 30}},
			{Name: "amd-2", Host: "tcp://10.0.0.13:2375", Healthy: false, Error: "dial tcp 10.0.0.13:2375: connect: connection refused", Checked: now.Add(-time.Minute)},
		},
	}, {
		Name: "swarm", Limit: 1, Swarm: "tcp://10.0.0.21:2375",
		Nodes: []benchrig.NodeStatus{
			{Name: "sw-1", Host: "tcp://10.0.0.21:2375", Healthy: true, Checked: now, Availability: "active",
				Facts: &benchrig.NodeFacts{Arch: "amd64", EngineArch: "amd64", OS: "linux", CPUs: 4, MemoryBytes: 8 << 30, Swarm: "tcp://10.0.0.21:2375", SwarmNodeID: "kflwvbhvp93j3o38hd1x8ya9m"}},
			{Name: "sw-2", Host: "tcp://10.0.0.21:2375", Healthy: true, Checked: now, Availability: "drain",
				Facts: &benchrig.NodeFacts{Arch: "arm64", EngineArch: "amd64", OS: "linux", CPUs: 4, MemoryBytes: 8 << 30, Swarm: "tcp://10.0.0.21:2375", SwarmNodeID: "jwqdokwnlygiurez0d2xlzddg"}},
		},
	}}}
	scheds := &siteSchedules{list: []benchrig.Schedule{
		{ID: "sch-1", Name: "sort nightly", Cron: "0 3 * * *", TimeZone: "Europe/Paris", Enabled: true, Overlap: benchrig.OverlapSkip,
			LastRun: "20261206-sort-0001", LastTime: now.Add(-5 * time.Hour), Next: now.Add(19 * time.Hour),
			History: []benchrig.ScheduleFiring{{Time: now.Add(-29 * time.Hour), Skipped: "the previous run (20261205-sort-0009) was still going"},
				{Time: now.Add(-53 * time.Hour), Skipped: "the server was down at that time"}}},
		{ID: "sch-2", Name: "grep every 10 s", Cron: "@every 10s", Enabled: false},
	}}
	s, _, db := testServer(t, Config{PublicRead: true}, Deps{Pools: pools, Schedules: scheds})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	a := siteRun(t, db, "20261205-sort-0009", "sort-implementations", benchrig.RunFinished, now.Add(-29*time.Hour), nil)
	b := siteRun(t, db, "20261206-sort-0001", "sort-implementations", benchrig.RunFinished, now.Add(-5*time.Hour), nil)
	for _, run := range []*benchrig.Run{a, b} {
		for i, c := range run.Cases {
			for rep := range 5 {
				wall := time.Duration(100+10*i+rep) * time.Millisecond
				if run == b && i == 1 {
					wall += 40 * time.Millisecond
				}
				tr := benchrig.Trial{RunID: run.ID, CaseID: c.ID, Seq: i*5 + rep, Index: rep, Node: "amd-1",
					Outcome: benchrig.OutcomeOK, Measurement: benchrig.Measurement{Start: run.Started, Wall: wall}}
				if err := db.AddTrial(context.Background(), &tr); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	ctx := context.Background()
	runKey, err := db.Share(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	cmpKey, err := db.Share(ctx, compareWhat(a.ID, b.ID))
	if err != nil {
		t.Fatal(err)
	}

	bctx := newBrowser(t)
	for _, p := range []struct{ path, name, want string }{
		{"/pools", "pools", "connection refused"},
		{"/schedules", "schedules", "was still going"},
		{"/login", "login", "Token"},
		{"/s/" + runKey, "shared-run", "Run it yourself"},
		{"/s/" + cmpKey, "shared-compare", "two runs compared"},
	} {
		for _, w := range []int{desktopWidth, phoneWidth} {
			screenshot(t, bctx, ts.URL+p.path, p.name, w)
			body := textOf(t, bctx, "main")
			if !strings.Contains(body, p.want) {
				t.Errorf("%s lacks %q:\n%s", p.path, p.want, body)
			}
			if p.name == "pools" {
				for _, want := range []string{"A Docker Swarm cluster, reached through its manager tcp://10.0.0.21:2375", "swarm node jwqdokwnlygiurez0d2xlzddg", "healthy drain"} {
					if !strings.Contains(body, want) {
						t.Errorf("%s lacks %q:\n%s", p.path, want, body)
					}
				}
			}
			if wide, _ := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); wide {
				t.Errorf("%s is wider than the window at %d px", p.path, w)
			}
		}
	}
	if n, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("header nav").length`)); n != 0 {
		t.Error("a shared page shows the site's nav")
	}
	checkConsole(t, bctx)
}
