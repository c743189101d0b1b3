package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/benchrig/benchrig"
)

// TestBrowserRunPage serves a recorded run with collector samples and
// checks its page in Chromium: the cases, the charts drawn (bars, the
// speedup line, the metric bands), the verdicts, no console errors or CSP
// violations; it saves screenshots at a desktop's and a phone's width.
func TestBrowserRunPage(t *testing.T) {
	db := openStore(t)
	run := recordRun(t, db, "r1", "sort", runT0, benchrig.RunFinished, sweepCases(1))
	src := &memSamples{samples: manySamples(run, 42*500)}
	srv := httptest.NewServer(publicServer(Deps{Store: db, Samples: src}).Handler())
	defer srv.Close()

	ctx := newBrowser(t)
	for _, width := range []int{desktopWidth, phoneWidth} {
		screenshot(t, ctx, srv.URL+"/runs/r1", "run", width)
		body := textOf(t, ctx, "main")
		for _, want := range []string{"impl=busybox", "jobs=4", "slower", "baseline", "knee at jobs=2", "Resources over time"} {
			if !strings.Contains(body, want) {
				t.Errorf("at %d px the run page does not show %q", width, want)
			}
		}
		counts, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]int](`({
			bars: document.querySelectorAll("svg.chart.bar rect").length,
			whiskers: document.querySelectorAll("svg.chart.bar .whisker").length,
			lines: document.querySelectorAll("svg.chart.line path.series").length,
			bands: document.querySelectorAll("svg.chart.line path.band").length,
			// drawn, not only present: the bars have a width on screen
			barWidth: Math.round(document.querySelector("svg.chart.bar rect").getBoundingClientRect().width),
			overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
		})`))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("at %d px: %v", width, counts)
		if counts["bars"] != 6 || counts["whiskers"] != 6 || counts["lines"] < 4 || counts["bands"] != 3*42 || counts["barWidth"] < 5 {
			t.Errorf("at %d px the charts are not all drawn: %v", width, counts)
		}
		if counts["overflow"] > 0 {
			t.Errorf("at %d px the page scrolls sideways by %d px", width, counts["overflow"])
		}
		checkConsole(t, ctx)
	}
}

// TestBrowserComparePage checks a comparison in Chromium: the regressions
// are said in words and marked, the ratio chart is drawn.
func TestBrowserComparePage(t *testing.T) {
	db := openStore(t)
	recordRun(t, db, "a1", "sort", runT0, benchrig.RunFinished, sweepCases(1))
	recordRun(t, db, "b1", "sort", runT0.Add(time.Hour), benchrig.RunFinished, sweepCases(1.5))
	srv := httptest.NewServer(publicServer(Deps{Store: db}).Handler())
	defer srv.Close()

	ctx := newBrowser(t)
	for _, width := range []int{desktopWidth, phoneWidth} {
		screenshot(t, ctx, srv.URL+"/compare?run=b1&baseline=auto", "compare", width)
		body := textOf(t, ctx, "main")
		for _, want := range []string{"Run b1 against a1", "3 regressions", "regression: slower", "impl=busybox"} {
			if !strings.Contains(body, want) {
				t.Errorf("at %d px the compare page does not show %q", width, want)
			}
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart.bar g.regression rect").length`))
		if err != nil || n != 3 {
			t.Errorf("at %d px: %d regression bars drawn (%v), want 3", width, n, err)
		}
		checkConsole(t, ctx)
	}
}

// TestBrowserRunPageLive: a running run's page follows its event stream
// and fetches its live part again when a trial finishes and when the run
// finishes, without a reload. The stream here is a stand-in for the API's
// /api/v1/runs/{id}/events (another file's route), speaking the same
// server-sent events.
func TestBrowserRunPageLive(t *testing.T) {
	db := openStore(t)
	cases := sweepCases(1)
	last := cases[5]
	cases[5].walls = nil // impl=busybox,jobs=4 has not run yet
	recordRun(t, db, "live1", "sort", runT0, benchrig.RunRunning, cases)
	s := publicServer(Deps{Store: db})

	events := make(chan string)
	mux := http.NewServeMux()
	mux.Handle("/", s.Handler())
	mux.HandleFunc("GET /api/v1/runs/live1/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for {
			select {
			case kind := <-events:
				fmt.Fprintf(w, "event: %s\ndata: {}\n\n", kind)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := newBrowser(t)
	navigate(t, ctx, srv.URL+"/runs/live1")
	if got := textOf(t, ctx, "#run-live .status"); !strings.Contains(got, "running") || !strings.Contains(got, "35 trials recorded") {
		t.Fatalf("live page status: %q", got)
	}
	// The last case's trials are recorded, then the stream says so.
	var trials []benchrig.Trial
	for i, w := range last.walls {
		trials = append(trials, benchrig.Trial{RunID: "live1", CaseID: benchrig.CaseID(last.params), Seq: 35 + i, Index: i, Node: "local",
			Outcome: benchrig.OutcomeOK, Measurement: benchrig.Measurement{Start: runT0.Add(time.Minute), Wall: w}})
	}
	if err := db.AddTrials(context.Background(), trials); err != nil {
		t.Fatal(err)
	}
	send := func(kind string) {
		select {
		case events <- kind:
		case <-time.After(browserTimeout):
			t.Fatalf("the page did not follow the event stream (no %s taken)", kind)
		}
	}
	send("trial-finished")
	waitFor(t, ctx, "the new trials on the page", `document.querySelector("#run-live .status").textContent.includes("42 trials recorded")`)
	if err := db.FinishRun(context.Background(), "live1", benchrig.RunFinished, runT0.Add(2*time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	send("run-finished")
	waitFor(t, ctx, "the finished status", `document.querySelector("#run-live .badge").textContent === "finished" && !document.querySelector("[data-live-note]")`)
	body := textOf(t, ctx, "#run-live")
	if !strings.Contains(body, "impl=busybox,jobs=4") || !strings.Contains(body, "100 ms") {
		t.Errorf("the refreshed part lacks the new case's median:\n%s", body)
	}
	screenshot(t, ctx, "", "run-live-finished", desktopWidth)
	checkConsole(t, ctx)
}
