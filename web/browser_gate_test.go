package web

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserGateAndSteps: in Chromium, a gated run's page shows its
// regression gate (the failed verdict, the confirmation), the runs list
// its gate column, and the history page marks each step on its chart,
// with no console error or CSP violation; screenshots at phone and
// desktop widths.
func TestBrowserGateAndSteps(t *testing.T) {
	db := openStore(t)
	gatedRuns(t, db, `<b>main</b>`)
	srv := httptest.NewServer(publicServer(Deps{Store: db}).Handler())
	defer srv.Close()
	ctx := newBrowser(t)

	screenshot(t, ctx, srv.URL+"/runs/c1", "run-gate", phoneWidth)
	screenshot(t, ctx, srv.URL+"/runs/c1", "run-gate", desktopWidth)
	if got := textOf(t, ctx, "section.gate .gate-verdict"); !strings.Contains(got, "regression") || !strings.Contains(got, "the gate failed") {
		t.Errorf("the gate's verdict reads %q", got)
	}
	if got := textOf(t, ctx, "section.gate ul.gate-reasons .confirmation"); !strings.Contains(got, "+11.5%") || !strings.Contains(got, "the regression held") {
		t.Errorf("the confirmation row reads %q", got)
	}
	if got := textOf(t, ctx, "section.gate p.muted"); !strings.Contains(got, "<b>main</b>") {
		t.Errorf("the test line reads %q: the label should show as text", got)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](visibleCharts+`count("section.gate b")`))
	if err != nil || n != 0 {
		t.Errorf("%d <b> elements in the gate section (%v): a label became markup", n, err)
	}
	screenshot(t, ctx, srv.URL+"/runs", "runs-gate", desktopWidth)
	if got := textOf(t, ctx, "td.gate a"); got != "regression" {
		t.Errorf("the runs list's gate cell reads %q", got)
	}
	checkConsole(t, ctx)

	db2 := openStore(t)
	historyWithStep(t, db2)
	srv2 := httptest.NewServer(publicServer(Deps{Store: db2}).Handler())
	defer srv2.Close()
	screenshot(t, ctx, srv2.URL+"/history?spec=sort", "history-steps", phoneWidth)
	screenshot(t, ctx, srv2.URL+"/history?spec=sort", "history-steps", desktopWidth)
	// One chart size is shown at a time: 3 busybox cases, one step each.
	counts, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](visibleCharts+`[count("svg.chart.line a g.vline line"), count("ul.steps li.step.slower")]`))
	if err != nil || len(counts) != 2 || counts[0] != 3 || counts[1] != 3 {
		t.Errorf("visible step markers and listed steps: %v (%v), want 3 and 3", counts, err)
	}
	checkConsole(t, ctx)
}
