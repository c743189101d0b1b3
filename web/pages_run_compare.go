package web

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/reports"
	"github.com/benchrig/benchrig/stats"
	"github.com/benchrig/benchrig/web/chart"
)

// compareView is what compare.html shows: run B against run A.
type compareView struct {
	Form        bool // no runs asked for: the page is a form
	A, B        *benchrig.Run
	AURL, BURL  string
	Rows        []compareRow
	Sentences   []string
	Chart       template.HTML
	GeoMean     string
	Warnings    []string
	OnlyA       string
	OnlyB       string
	Regressions int
	RefA, RefB  string // the form's values
	Profiles    []compareProfile
}

type compareRow struct {
	Case, MedianA, MedianB, Ratio, CI, Verdict string
	Class                                      string // "regression", "improvement", "same", "unknown"
}

func (s *Server) handleComparePage(w http.ResponseWriter, r *http.Request) {
	if s.deps.Store == nil {
		s.writePageError(w, r, benchrig.Errorf(benchrig.EUnavailable, "this server has no store"))
		return
	}
	q := r.URL.Query()
	ctx := r.Context()
	var a, b *benchrig.Run
	var err error
	switch {
	case q.Get("run") != "":
		if bl := q.Get("baseline"); bl != "" && bl != "auto" {
			a, err = s.loadRun(ctx, "baseline", bl)
			if err != nil {
				s.writePageError(w, r, err)
				return
			}
		}
		if b, err = s.loadRun(ctx, "run", q.Get("run")); err != nil {
			s.writePageError(w, r, err)
			return
		}
		if a == nil {
			sum, err := s.deps.Store.LatestFinished(ctx, benchrig.BaselineQuery{Spec: b.SpecName, Before: b.Started, Exclude: b.ID})
			if err != nil {
				s.writePageError(w, r, err)
				return
			}
			if a, err = s.loadRun(ctx, "baseline", sum.ID); err != nil {
				s.writePageError(w, r, err)
				return
			}
		}
	case q.Get("a") != "" || q.Get("b") != "":
		if a, err = s.loadRun(ctx, "run a", q.Get("a")); err != nil {
			s.writePageError(w, r, err)
			return
		}
		if b, err = s.loadRun(ctx, "run b", q.Get("b")); err != nil {
			s.writePageError(w, r, err)
			return
		}
	default:
		s.render(w, r, http.StatusOK, "compare", page{Title: "Compare runs", Nav: "compare", Data: &compareView{Form: true}})
		return
	}
	s.comparePage(w, r, a, b)
}

// loadRun loads ref for the parameter named what; an unknown or empty
// one is a 404 that names the parameter.
func (s *Server) loadRun(ctx context.Context, what, ref string) (*benchrig.Run, error) {
	if ref == "" {
		return nil, benchrig.Errorf(benchrig.ENotFound, "%s: no run given", what)
	}
	run, err := s.deps.Store.GetRun(ctx, ref)
	if benchrig.ErrorCode(err) == benchrig.ENotFound {
		return nil, benchrig.Errorf(benchrig.ENotFound, "%s: no run %q", what, ref)
	}
	return run, err
}

// comparePage renders the comparison of run b against run a (a is the
// baseline).
func (s *Server) comparePage(w http.ResponseWriter, r *http.Request, a, b *benchrig.Run) {
	ra, rb := reports.Build(a), reports.Build(b)
	rc := reports.CompareRuns(ra, rb)
	label, _ := reports.ShortLabels(ra)
	lbl := func(id string) string {
		if l := label(id); l != "" {
			return l
		}
		return id
	}
	v := &compareView{A: a, B: b, RefA: a.ID, RefB: b.ID,
		AURL: "/runs/" + a.ID, BURL: "/runs/" + b.ID}
	if rc.GeoMean != nil {
		v.GeoMean = fmt.Sprintf("geometric mean of %d time ratios (B over A): %s (95%% CI %s-%s)", rc.GeoMean.N,
			reports.FormatRatio(rc.GeoMean.Ratio), reports.FormatRatio(rc.GeoMean.CILow), reports.FormatRatio(rc.GeoMean.CIHigh))
	}
	var bars []chart.Bar
	for _, d := range rc.Cases {
		c := d.Comparison
		row := compareRow{Case: lbl(d.CaseID), MedianA: reports.FormatSeconds(d.MedianA), MedianB: reports.FormatSeconds(d.MedianB),
			Ratio: reports.FormatRatio(c.Ratio), CI: reports.RatioCI(c), Verdict: reports.VerdictCell(c)}
		bar := chart.Bar{Label: lbl(d.CaseID), Value: c.Ratio, Lo: c.CILow, Hi: c.CIHigh, Color: 4}
		switch c.Verdict {
		case stats.Slower:
			row.Class, row.Verdict = "regression", "regression: "+row.Verdict
			bar.Class, bar.Note, bar.Color = "regression", "slower", 5
			v.Regressions++
		case stats.Faster:
			row.Class, row.Verdict = "improvement", "improvement: "+row.Verdict
			bar.Class, bar.Note, bar.Color = "improvement", "faster", 2
		case stats.NoDifference:
			row.Class = "same"
		default:
			row.Class = "unknown"
		}
		v.Rows = append(v.Rows, row)
		bars = append(bars, bar)
		v.Sentences = append(v.Sentences, reports.Describe(c, lbl(d.CaseID)+" in B", "in A"))
	}
	if len(bars) > 0 {
		bc := chart.BarChart{Title: "Time ratio per case, run " + b.ID + " over run " + a.ID + " (1 is no change), with 95% CIs",
			Axis: "time ratio B/A (< 1: B faster)", Bars: bars, Ref: 1, RefSet: true, Format: reports.FormatRatio}
		v.Chart = twoSizes(func(w int) template.HTML { bc.Width = w; return bc.SVG() })
	}
	for _, w := range rc.Warnings {
		v.Warnings = append(v.Warnings, w.Message)
	}
	v.OnlyA, v.OnlyB = reports.CaseList(rc.OnlyA), reports.CaseList(rc.OnlyB)
	v.Profiles = s.compareProfiles(r.Context(), a, b, lbl)
	title := "Compare " + b.ID + " with " + a.ID
	s.render(w, r, http.StatusOK, "compare", page{Title: title, Nav: "compare", Data: v})
}

// historyView is what history.html shows: a spec's cases across runs,
// with the steps (change points) in them.
type historyView struct {
	Spec     string
	Settings string // how the steps were found, in words
	Cases    []historyCase
	More     int // cases left out
}

type historyCase struct {
	Case   string
	Chart  template.HTML
	Points []historyPoint
	Steps  []historyStep
}

type historyPoint struct {
	RunID, RunURL, Started, Status, Median, N, Node string
	Step                                            string // "+12.3%" on the first run of a new level
}

// historyStep is a change point, ready to show.
type historyStep struct {
	RunID, RunURL, Started string
	Change                 string // "+12.3%"
	Class                  string // slower or faster
	Before, After          string
	Confidence             string // "99.5% (p=0.005)"
}

// maxHistoryCases caps the charts of a history page.
const maxHistoryCases = 24

func (s *Server) handleHistoryPage(w http.ResponseWriter, r *http.Request) {
	if s.deps.Store == nil {
		s.writePageError(w, r, benchrig.Errorf(benchrig.EUnavailable, "this server has no store"))
		return
	}
	spec := r.URL.Query().Get("spec")
	if spec == "" {
		s.render(w, r, http.StatusOK, "history", page{Title: "History", Nav: "runs", Data: &historyView{}})
		return
	}
	h, err := reports.LoadHistory(r.Context(), s.deps.Store, spec, reports.HistoryOptions{MaxCases: maxHistoryCases})
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	cp := h.ChangePoints
	v := &historyView{Spec: spec, More: h.More,
		Settings: fmt.Sprintf("Steps are change points found by %s: p ≤ %s over %d shuffles, each level lasting at least %d runs.",
			cp.Method, reports.FormatP(cp.PValue), cp.Permutations, cp.MinSegment)}
	for _, c := range h.Cases {
		v.Cases = append(v.Cases, historyCaseOf(spec, c))
	}
	s.render(w, r, http.StatusOK, "history", page{Title: "History of " + spec, Nav: "runs", Data: v})
}

// historyCaseOf charts one case's medians, oldest first, each point a
// link to its run; each step is a dashed vertical line between the last
// run of the old level and the first of the new, and the levels' medians
// are a dashed line.
func historyCaseOf(spec string, c reports.CaseHistory) historyCase {
	name := c.Label
	hc := historyCase{Case: name}
	hi := 0.0
	for _, p := range c.Points {
		hi = max(hi, p.MedianS)
	}
	scale, unit := benchrig.TimeUnit(max(hi, 1e-9))
	x := func(p reports.HistoryPoint) float64 { return float64(p.Started.Unix()) }
	s := chart.Series{Name: name, Points: true}
	for _, p := range c.Points {
		y := math.NaN()
		if p.N > 0 {
			y = p.MedianS * scale
		}
		s.X = append(s.X, x(p))
		s.Y = append(s.Y, y)
		s.Links = append(s.Links, "/runs/"+url.PathEscape(p.Run))
		hp := historyPoint{RunID: p.Run, RunURL: "/runs/" + url.PathEscape(p.Run), Started: p.Started.UTC().Format("2006-01-02 15:04"),
			Status: string(p.Status), Median: "-", N: fmt.Sprintf("%d/%d", p.N, p.N+p.Failed), Node: p.Node}
		if p.N > 0 {
			hp.Median = reports.FormatSeconds(p.MedianS)
		}
		if p.Change >= 0 {
			hp.Step = c.Changes[p.Change].Percent()
		}
		hc.Points = append(hc.Points, hp)
	}
	slices.Reverse(hc.Points) // the table newest first, as runs are listed
	series := []chart.Series{s}
	var vlines []chart.VLine
	if len(c.Changes) > 0 {
		// The levels: each segment's median from its first run to its last.
		levels := chart.Series{Name: "level (median of the runs' medians)", Color: 1, Dashed: true}
		for k, ch := range c.Changes {
			from := 0
			if k > 0 {
				from = c.Changes[k-1].Point
			}
			levels.X = append(levels.X, x(c.Points[from]), x(c.Points[ch.Point-1]), x(c.Points[ch.Point-1])) // NaN y: lift the pen
			levels.Y = append(levels.Y, ch.BeforeS*scale, ch.BeforeS*scale, math.NaN())
		}
		last := c.Changes[len(c.Changes)-1]
		levels.X = append(levels.X, x(c.Points[last.Point]), x(c.Points[len(c.Points)-1]))
		levels.Y = append(levels.Y, last.AfterS*scale, last.AfterS*scale)
		series = append(series, levels)
		for _, ch := range c.Changes {
			prev, at := c.Points[ch.Point-1], c.Points[ch.Point]
			step := historyStep{RunID: ch.Run, RunURL: "/runs/" + url.PathEscape(ch.Run), Started: ch.Started.UTC().Format("2006-01-02 15:04"),
				Change: ch.Percent(), Class: "faster", Before: reports.FormatSeconds(ch.BeforeS), After: reports.FormatSeconds(ch.AfterS),
				Confidence: fmt.Sprintf("%.1f%% (p=%s)", ch.Confidence*100, reports.FormatP(ch.P))}
			if ch.Magnitude > 0 {
				step.Class = "slower"
			}
			hc.Steps = append(hc.Steps, step)
			vlines = append(vlines, chart.VLine{X: (x(prev) + x(at)) / 2, Label: ch.Percent(), Link: step.RunURL,
				Title: fmt.Sprintf("step %s at run %s: %s -> %s, confidence %s", ch.Percent(), ch.Run, step.Before, step.After, step.Confidence)})
		}
	}
	lc := chart.LineChart{Title: "Median of " + name + " in runs of " + spec, XAxis: "run started (UTC)", YAxis: "median (" + unit + ")",
		Series: series, VLines: vlines, Height: 220, XTicks: chart.TimeTicks, XFormat: func(x float64) string { return time.Unix(int64(x), 0).UTC().Format("01-02 15:04") }}
	hc.Chart = twoSizes(func(w int) template.HTML { lc.Width = w; return lc.SVG() })
	return hc
}
