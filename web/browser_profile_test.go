package web

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// zoomScript clicks the sort process's frame in a flame graph (document
// doc) and says how its width changed: the graph's script ran, under the
// server's CSP, only if the click zoomed it to the full width.
const zoomScript = `(function (doc) {
	if (!doc || !doc.getElementById("frames")) {
		return {loaded: false};
	}
	var gs = doc.querySelectorAll("#frames > g"), sort = null;
	for (var i = 0; i < gs.length; i++) {
		if (gs[i].querySelector("title").textContent.indexOf("sort (") === 0) {
			sort = gs[i];
		}
	}
	if (!sort) {
		return {loaded: true, sort: false};
	}
	var rect = sort.querySelector("rect");
	var before = rect.getAttribute("width");
	rect.dispatchEvent(new MouseEvent("click", {bubbles: true}));
	return {loaded: true, sort: true, before: before, after: rect.getAttribute("width"),
		reset: doc.getElementById("reset").getAttribute("display") === null};
})`

// TestBrowserProfiles opens a profiled run's page in Chromium, follows a
// case's flame graph link and clicks a frame: it must zoom (the graph's
// script, /static/flame.js, ran under the server's CSP). Then the compare
// page's embedded differential graph must zoom the same way inside its
// <object>. No console error or CSP violation anywhere; screenshots of
// the three.
func TestBrowserProfiles(t *testing.T) {
	db := openStore(t)
	recordProfiledRun(t, db, "p1", runT0, 1)
	recordProfiledRun(t, db, "p2", runT0.Add(time.Hour), 3)
	srv := httptest.NewServer(publicServer(Deps{Store: db, Profiles: db}).Handler())
	defer srv.Close()

	ctx := newBrowser(t)
	screenshot(t, ctx, srv.URL+"/runs/p1", "profiles-run", desktopWidth)
	body := textOf(t, ctx, "#profiles")
	for _, want := range []string{"Flame graph", "pprof profile", "sort has the largest share", `<script>alert("frame")</script>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the run page's Profiles section does not show %q:\n%s", want, body)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("a.flame-link")), chromedp.WaitReady(chromedp.CSS("#frames"))); err != nil {
		t.Fatalf("follow the flame graph link: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil || !strings.HasSuffix(loc, ".svg") {
		t.Fatalf("after the link: at %q (%v), want a case's .svg", loc, err)
	}
	checkZoom(t, ctx, "the flame graph", zoomScript+`(document)`)
	screenshot(t, ctx, "", "profiles-flame", desktopWidth)
	checkConsole(t, ctx)

	screenshot(t, ctx, srv.URL+"/compare?a=p1&b=p2", "profiles-compare", desktopWidth)
	waitFor(t, ctx, "the embedded differential graph", `(function () {
		var o = document.querySelector("object.flame");
		return !!(o && o.contentDocument && o.contentDocument.getElementById("frames"));
	})()`)
	checkZoom(t, ctx, "the embedded differential graph", zoomScript+`(document.querySelector("object.flame").contentDocument)`)
	screenshot(t, ctx, "", "profiles-compare-zoomed", desktopWidth)

	// At a phone's width the pages do not scroll sideways: the breakdown
	// tables scroll in their box, the embedded graphs in theirs.
	for _, path := range []string{"/runs/p1", "/compare?a=p1&b=p2"} {
		name := "profiles-run"
		if strings.HasPrefix(path, "/compare") {
			name = "profiles-compare"
		}
		screenshot(t, ctx, srv.URL+path, name, phoneWidth)
		overflow, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
		if err != nil || overflow > 0 {
			t.Errorf("%s at %d px: scrolls sideways by %d px (%v)", path, phoneWidth, overflow, err)
		}
	}
	time.Sleep(200 * time.Millisecond) // let the last console messages arrive
	checkConsole(t, ctx)
}

// checkZoom runs a zoomScript call and fails t unless the click widened
// the sort frame to the full width and showed the reset control.
func checkZoom(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](js))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Logf("%s: %v", what, got)
	if got["loaded"] != true || got["sort"] != true {
		t.Fatalf("%s: no sort frame: %v", what, got)
	}
	if got["before"] == got["after"] || got["after"] != "1180.00" || got["reset"] != true {
		t.Errorf("%s: a click on a frame did not zoom (the script did not run?): %v", what, got)
	}
}
