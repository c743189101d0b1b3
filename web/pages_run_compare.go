package web

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
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
	title := "Compare " + b.ID + " with " + a.ID
	s.render(w, r, http.StatusOK, "compare", page{Title: title, Nav: "compare", Data: v})
}

// historyView is what history.html shows: a spec's cases across runs.
type historyView struct {
	Spec  string
	Cases []historyCase
	More  int // cases left out
}

type historyCase struct {
	Case   string
	Chart  template.HTML
	Points []historyPoint
}

type historyPoint struct {
	RunID, RunURL, Started, Status, Median, N, Node string
}

// maxHistoryCases caps the charts of a history page.
const maxHistoryCases = 24

func (s *Server) handleHistoryPage(w http.ResponseWriter, r *http.Request) {
	if s.deps.Store == nil {
		s.writePageError(w, r, benchrig.Errorf(benchrig.EUnavailable, "this server has no store"))
		return
	}
	ctx := r.Context()
	spec := r.URL.Query().Get("spec")
	if spec == "" {
		s.render(w, r, http.StatusOK, "history", page{Title: "History", Nav: "runs", Data: &historyView{}})
		return
	}
	// The cases are the latest run's: what the spec measures today.
	pg, err := s.deps.Store.ListRuns(ctx, benchrig.RunFilter{Spec: spec, Limit: 1})
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	if len(pg.Runs) == 0 {
		s.writePageError(w, r, benchrig.Errorf(benchrig.ENotFound, "spec %q: no runs recorded", spec))
		return
	}
	latest, err := s.deps.Store.GetRun(ctx, pg.Runs[0].ID)
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	rep := reports.Build(latest)
	label, _ := reports.ShortLabels(rep)
	v := &historyView{Spec: spec}
	for i, c := range latest.Cases {
		if i == maxHistoryCases {
			v.More = len(latest.Cases) - i
			break
		}
		pts, err := s.deps.Store.CaseHistory(ctx, spec, c.ID, 50)
		if err != nil {
			s.writePageError(w, r, err)
			return
		}
		name := label(c.ID)
		if name == "" {
			name = c.ID
		}
		v.Cases = append(v.Cases, historyCaseOf(spec, name, pts))
	}
	s.render(w, r, http.StatusOK, "history", page{Title: "History of " + spec, Nav: "runs", Data: v})
}

// historyCaseOf charts one case's medians, oldest first, each point a
// link to its run.
func historyCaseOf(spec, name string, pts []benchrig.CasePoint) historyCase {
	pts = slices.Clone(pts)
	slices.Reverse(pts) // oldest first
	hc := historyCase{Case: name}
	hi := 0.0
	for _, p := range pts {
		hi = max(hi, p.Median.Seconds())
	}
	scale, unit := benchrig.TimeUnit(max(hi, 1e-9))
	s := chart.Series{Name: name, Points: true}
	for _, p := range pts {
		y := math.NaN()
		if p.Measured > 0 {
			y = p.Median.Seconds() * scale
		}
		s.X = append(s.X, float64(p.Started.Unix()))
		s.Y = append(s.Y, y)
		s.Links = append(s.Links, "/runs/"+p.RunID)
		hp := historyPoint{RunID: p.RunID, RunURL: "/runs/" + p.RunID, Started: p.Started.UTC().Format("2006-01-02 15:04"),
			Status: string(p.Status), Median: "-", N: fmt.Sprintf("%d/%d", p.Measured, p.Measured+p.Failed), Node: p.Node}
		if p.Measured > 0 {
			hp.Median = reports.FormatDuration(p.Median)
		}
		hc.Points = append(hc.Points, hp)
	}
	slices.Reverse(hc.Points) // the table newest first, as runs are listed
	lc := chart.LineChart{Title: "Median of " + name + " in runs of " + spec, XAxis: "run started (UTC)", YAxis: "median (" + unit + ")",
		Series: []chart.Series{s}, Height: 220, XTicks: chart.TimeTicks, XFormat: func(x float64) string { return time.Unix(int64(x), 0).UTC().Format("01-02 15:04") }}
	hc.Chart = twoSizes(func(w int) template.HTML { lc.Width = w; return lc.SVG() })
	return hc
}
