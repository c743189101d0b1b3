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

// visibleCharts defines, in a page, helpers that see only what is on
// screen: each chart is drawn twice (wide and narrow) and one is hidden.
const visibleCharts = `
const shown = (sel) => getComputedStyle(document.querySelector(sel)).display !== "none";
const visible = (sel) => [...document.querySelectorAll(sel)].filter((e) => e.getClientRects().length > 0);
const count = (sel) => visible(sel).length;
`

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
		// Only the drawing for this width is shown.
		counts, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]int](visibleCharts+`({
			wide: shown(".chart-wide") ? 1 : 0,
			narrow: shown(".chart-narrow") ? 1 : 0,
			bars: count("svg.chart.bar rect"),
			whiskers: count("svg.chart.bar .whisker"),
			lines: count("svg.chart.line path.series"),
			bands: count("svg.chart.line path.band"),
			// drawn, not only present: the bars have a width on screen
			barWidth: Math.round(visible("svg.chart.bar rect")[0].getBoundingClientRect().width),
			// and the labels are not shrunk below 10 px
			fontPx: Math.round(10 * visible("svg.chart.bar text.label")[0].getBoundingClientRect().height) / 10 >= 10 ? 1 : 0,
			overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
		})`))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("at %d px: %v", width, counts)
		if wantWide := width > 600; (counts["wide"] == 1) != wantWide || (counts["narrow"] == 1) == wantWide {
			t.Errorf("at %d px the wrong drawing is shown: %v", width, counts)
		}
		if counts["bars"] != 6 || counts["whiskers"] != 6 || counts["lines"] < 4 || counts["bands"] != 3*42 || counts["barWidth"] < 5 || counts["fontPx"] != 1 {
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
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](visibleCharts+`count("svg.chart.bar g.regression rect")`))
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

// TestBrowserHistoryPage: a spec's history charts each case across its
// runs, and a point of a chart is a link that opens its run.
func TestBrowserHistoryPage(t *testing.T) {
	db := openStore(t)
	for i := range 4 {
		recordRun(t, db, fmt.Sprintf("h%d", i), "sort", runT0.Add(time.Duration(i)*time.Hour), benchrig.RunFinished, sweepCases(1+float64(i%3)/10))
	}
	srv := httptest.NewServer(publicServer(Deps{Store: db}).Handler())
	defer srv.Close()
	ctx := newBrowser(t)
	screenshot(t, ctx, srv.URL+"/history?spec=sort", "history", phoneWidth)
	screenshot(t, ctx, srv.URL+"/history?spec=sort", "history", desktopWidth)
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](visibleCharts+`count("svg.chart.line a circle")`))
	if err != nil || n != 6*4 {
		t.Fatalf("%d linked points (%v), want 6 cases x 4 runs", n, err)
	}
	// SVG links are clicked as a user would: the first point is the oldest run.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".chart-wide svg.chart.line a circle"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the run page", `location.pathname === "/runs/h0"`)
	if got := textOf(t, ctx, "h1"); !strings.Contains(got, "h0") {
		t.Errorf("the point opened %q, want run h0", got)
	}
	checkConsole(t, ctx)
}
