package web

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/reports"
	"github.com/benchrig/benchrig/stats"
	"github.com/benchrig/benchrig/web/chart"
)

// runPageRoutes registers the run, compare and history pages.
func (s *Server) runPageRoutes() {
	s.route("GET", "/runs/{id}", Read, false, s.handleRunPage)
	s.route("GET", "/compare", Read, false, s.handleComparePage)
	s.route("GET", "/history", Read, false, s.handleHistoryPage)
	s.profileRoutes()
}

func (s *Server) handleRunPage(w http.ResponseWriter, r *http.Request) {
	if s.deps.Store == nil {
		s.writePageError(w, r, benchrig.Errorf(benchrig.EUnavailable, "this server has no store"))
		return
	}
	run, err := s.deps.Store.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	s.runPage(w, r, run)
}

// runView is what run.html shows.
type runView struct {
	Run         *benchrig.Run
	Live        bool   // queued or running: the page follows its events
	EventsURL   string // the run's event stream
	LiveURL     string // the page's live part
	Took        string
	Fingerprint string
	Collection  string
	Fixed       string // params every case shares
	Progress    string // "12 of 40 trials" while live
	Cases       []caseRow
	Comparisons []string // the comparisons in words, as the CLI prints them
	GeoMean     string
	Medians     template.HTML
	Sweeps      []sweepView
	Warnings    []warningView
	Series      *seriesView
	SeriesNote  string // why there are no metric charts
	Spec        string
	Labels      []benchrig.KV
	Gate        *gateView     // the run judged against its baseline; nil when not gated
	Confirms    string        // the run whose suspected regression this run re-ran ("" for most runs)
	Profiles    *profilesView // its flame graphs; nil when the run was not profiled
}

type caseRow struct {
	ID, Label, Node string
	N               string // successful/measured
	Median, CI      string
	Ratio, RatioCI  string
	Verdict         string
	VerdictClass    string // "slower", "faster", "same", "baseline"
	Skipped         string
}

type sweepView struct {
	Title  string
	Chart  template.HTML
	Knee   string
	Points []sweepPoint
}

type sweepPoint struct{ Value, Median, Speedup, Efficiency string }

type warningView struct{ What, Cases, Action string }

// runPage renders run's page: the full page, or with ?part=live only its
// live part (what changes while the run goes).
func (s *Server) runPage(w http.ResponseWriter, r *http.Request, run *benchrig.Run) {
	v := s.runView(r.Context(), run)
	if r.URL.Query().Get("part") == "live" {
		s.renderPart(w, r, "run", "live", v)
		return
	}
	v.Profiles = s.profilesView(r.Context(), run)
	s.render(w, r, http.StatusOK, "run", page{Title: "Run " + run.ID + " · " + run.SpecName, Nav: "runs", Data: v})
}

func (s *Server) runView(ctx context.Context, run *benchrig.Run) *runView {
	rep := reports.Build(run)
	label, fixed := reports.ShortLabels(rep)
	lbl := func(id string) string {
		if l := label(id); l != "" {
			return l
		}
		return id
	}
	v := &runView{
		Run:         run,
		Live:        run.Status == benchrig.RunQueued || run.Status == benchrig.RunRunning,
		EventsURL:   "/api/v1/runs/" + url.PathEscape(run.ID) + "/events",
		LiveURL:     "/runs/" + url.PathEscape(run.ID) + "?part=live",
		Fingerprint: run.Fingerprint.String(),
		Fixed:       fixed,
		Spec:        string(run.SpecSource),
	}
	if !run.Finished.IsZero() && !run.Started.IsZero() {
		v.Took = reports.FormatDuration(run.Finished.Sub(run.Started))
	}
	if !run.Fingerprint.Imported() {
		v.Collection = reports.CollectionLine(run.Collection)
	}
	for k, val := range run.Labels {
		v.Labels = append(v.Labels, benchrig.KV{Name: k, Value: val})
	}
	slices.SortFunc(v.Labels, func(a, b benchrig.KV) int { return strings.Compare(a.Name, b.Name) })
	if run.Gate != nil {
		v.Gate = gateViewOf(run.Gate, lbl)
	}
	v.Confirms = run.Labels[benchrig.LabelConfirms]

	cmps := map[string]reports.Comparison{}
	for _, c := range rep.Comparisons {
		cmps[c.Case] = c
		v.Comparisons = append(v.Comparisons, reports.Describe(c, lbl(c.Case), lbl(c.Baseline)))
	}
	v.GeoMean = reports.GeoMeanText(rep)
	done, planned := 0, 0
	for _, c := range rep.Cases {
		row := caseRow{ID: c.Case.ID, Label: lbl(c.Case.ID), Node: c.Node, Skipped: c.Skipped,
			N:      fmt.Sprintf("%d/%d", c.Stats.N, c.Measured),
			Median: "-", CI: "-", Ratio: "-", RatioCI: "-"}
		if c.Stats.N > 0 {
			row.Median = reports.FormatSeconds(c.Stats.Median)
			row.CI = reports.FormatSecondsRange(c.Stats.CILow, c.Stats.CIHigh)
		}
		if cmp, ok := cmps[c.Case.ID]; ok {
			row.Ratio, row.RatioCI = reports.FormatRatio(cmp.Ratio), reports.RatioCI(cmp)
			row.Verdict, row.VerdictClass = reports.VerdictCell(cmp), verdictClass(cmp.Verdict)
		} else if isBaseline(run, c.Case.ID) {
			row.Verdict, row.VerdictClass = "baseline", "baseline"
		}
		v.Cases = append(v.Cases, row)
		done += len(c.Trials)
	}
	if !run.Repeat.Adaptive() && run.Repeat.Max > 0 {
		planned = len(run.Cases) * run.Repeat.Max // measured trials; warmups come on top
	}
	if v.Live {
		v.Progress = fmt.Sprintf("%d trials recorded so far", done)
		if planned > 0 {
			v.Progress = fmt.Sprintf("%d trials recorded so far, of %d measured trials planned (plus warmups)", done, planned)
		}
	}
	v.Medians = mediansChart(rep, run)
	v.Sweeps = sweepViews(rep, lbl)
	for _, g := range reports.GroupWarnings(rep) {
		v.Warnings = append(v.Warnings, warningView{What: warningWords(g.Code), Cases: reports.GroupCases(g, lbl), Action: g.Action})
	}
	for _, w := range run.Warnings {
		v.Warnings = append(v.Warnings, warningView{What: w})
	}
	if run.Collection != nil {
		for _, w := range run.Collection.Warnings {
			v.Warnings = append(v.Warnings, warningView{What: w})
		}
	}
	switch {
	case s.deps.Samples == nil:
		v.SeriesNote = "Collector samples are not available on this server (it has no sample source)."
	default:
		sv, err := s.seriesView(ctx, run, lbl)
		if err != nil {
			s.log.Error("run page samples", "run", run.ID, "err", err)
			v.SeriesNote = "The collector samples could not be read from " + s.deps.Samples.Name() + ": see the server's log."
		} else if sv == nil {
			v.SeriesNote = "No collector samples were recorded for this run."
		}
		v.Series = sv
	}
	return v
}

// isBaseline says whether id is the run's baseline or a group's.
func isBaseline(run *benchrig.Run, id string) bool {
	if id == run.BaselineID {
		return true
	}
	for _, b := range run.Baselines {
		if b == id {
			return true
		}
	}
	return false
}

// verdictClass is a verdict's class in the tables: a class and the word
// itself, never colour alone.
func verdictClass(v string) string {
	switch v {
	case stats.Slower:
		return "slower"
	case stats.Faster:
		return "faster"
	case stats.NoDifference:
		return "same"
	}
	return "unknown"
}

// warningWords names a warning code in plain words.
func warningWords(code string) string {
	switch code {
	case reports.WFailedTrials:
		return "Some trials failed"
	case reports.WFewSamples, reports.WRangeCI:
		return "Too few trials for a trustworthy median"
	case reports.WCINotMet:
		return "The requested precision was not reached"
	case reports.WBimodal:
		return "The times fall into two groups (bimodal)"
	case reports.WHighVariance:
		return "The times vary a lot between trials"
	case reports.WOutliers:
		return "Some trials are outliers"
	}
	if strings.Contains(code, "noise") {
		return "Other activity on the machine may have slowed trials"
	}
	return code
}

// dimensions returns, per case, the values of what differs between the
// cases (each varying param, then the node when trials ran on several),
// as "name=value" strings in param order.
func dimensions(rep *reports.Report) [][]string {
	values := map[string]map[string]bool{}
	var names []string
	for _, c := range rep.Cases {
		for _, kv := range c.Case.Params {
			if values[kv.Name] == nil {
				values[kv.Name] = map[string]bool{}
				names = append(names, kv.Name)
			}
			values[kv.Name][kv.Value] = true
		}
	}
	nodes := map[string]bool{}
	for _, c := range rep.Cases {
		nodes[c.Node] = true
	}
	out := make([][]string, len(rep.Cases))
	for i, c := range rep.Cases {
		for _, name := range names {
			if len(values[name]) < 2 {
				continue
			}
			for _, kv := range c.Case.Params {
				if kv.Name == name {
					out[i] = append(out[i], kv.Name+"="+kv.Value)
				}
			}
		}
		if len(nodes) > 1 && c.Node != "" {
			out[i] = append(out[i], "node="+c.Node)
		}
		if len(out[i]) == 0 {
			out[i] = []string{c.Case.ID}
		}
	}
	return out
}

// mediansChart is the bar chart of the cases' medians with their CIs,
// grouped by all but the last of what differs and coloured by the last.
func mediansChart(rep *reports.Report, run *benchrig.Run) template.HTML {
	if len(rep.Cases) == 0 {
		return ""
	}
	dims := dimensions(rep)
	hi := 0.0
	for _, c := range rep.Cases {
		if c.Stats.N > 0 {
			hi = max(hi, c.Stats.Median)
		}
	}
	if hi == 0 {
		return ""
	}
	scale, unit := benchrig.TimeUnit(hi)
	colors := map[string]int{}
	type row struct {
		bar chart.Bar
		idx int
	}
	var rows []row
	for i, c := range rep.Cases {
		d := dims[i]
		last := d[len(d)-1]
		if _, ok := colors[last]; !ok {
			colors[last] = len(colors)
		}
		b := chart.Bar{Group: strings.Join(d[:len(d)-1], ", "), Label: last, Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Color: colors[last]}
		if c.Stats.N > 0 {
			b.Value = c.Stats.Median * scale
			b.Lo, b.Hi = c.Stats.CILow*scale, c.Stats.CIHigh*scale
		}
		rows = append(rows, row{b, i})
	}
	// Bars of one group together, groups in the order they first appear.
	first := map[string]int{}
	for i, r := range rows {
		if _, ok := first[r.bar.Group]; !ok {
			first[r.bar.Group] = i
		}
	}
	slices.SortStableFunc(rows, func(a, b row) int { return first[a.bar.Group] - first[b.bar.Group] })
	bars := make([]chart.Bar, len(rows))
	for i, r := range rows {
		bars[i] = r.bar
	}
	bc := chart.BarChart{
		Title: "Median time per case of " + run.SpecName + ", with 95% confidence intervals",
		Axis:  "median (" + unit + "), whiskers: 95% CI",
		Bars:  bars,
	}
	return twoSizes(func(w int) template.HTML { bc.Width = w; return bc.SVG() })
}

// sweepViews draws, per numeric param and group of the other params, the
// speedup against the param with the ideal (linear) line and the knee.
func sweepViews(rep *reports.Report, lbl func(string) string) []sweepView {
	var out []sweepView
	for _, sc := range rep.Scaling {
		for _, g := range sc.Groups {
			if len(g.Points) < 2 {
				continue
			}
			title := "Speedup by " + sc.Param
			if len(g.Fixed) > 0 {
				title += " with " + lbl(benchrig.CaseID(g.Fixed))
			}
			base := g.Points[0].Value
			measured := chart.Series{Name: "measured speedup", Color: 0, Points: true}
			ideal := chart.Series{Name: "ideal (linear)", Color: 7, Dashed: true}
			var pts []sweepPoint
			for _, p := range g.Points {
				measured.X = append(measured.X, p.Value)
				measured.Y = append(measured.Y, p.Speedup)
				ideal.X = append(ideal.X, p.Value)
				ideal.Y = append(ideal.Y, p.Value/base)
				pts = append(pts, sweepPoint{Value: chart.Num(p.Value), Median: reports.FormatSeconds(p.Median),
					Speedup: reports.FormatRatio(p.Speedup) + "x", Efficiency: pctOrDash(p.Efficiency)})
			}
			lc := chart.LineChart{Title: title, XAxis: sc.Param, YAxis: "speedup", Series: []chart.Series{ideal, measured}, Legend: true, Height: 280}
			sv := sweepView{Title: title, Points: pts}
			if k := g.Knee; k != nil {
				sv.Knee = reports.KneeText(sc.Param, k)
				if k.Found {
					for _, p := range g.Points {
						if p.Value == k.Value && !math.IsNaN(p.Speedup) {
							lc.Marks = append(lc.Marks, chart.Mark{X: p.Value, Y: p.Speedup, Label: "knee at " + sc.Param + "=" + chart.Num(p.Value)})
						}
					}
				}
			}
			sv.Chart = twoSizes(func(w int) template.HTML { lc.Width = w; return lc.SVG() })
			out = append(out, sv)
		}
	}
	return out
}

func pctOrDash(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}

// Charts are drawn twice, for a wide and a narrow screen, and the
// stylesheet shows one: an SVG scaled from 720 to a phone's 360 px would
// halve its labels, and one scrolled sideways hides half of it.
const (
	wideChart   = 720
	narrowChart = 400
)

// twoSizes draws a chart at both widths.
func twoSizes(draw func(width int) template.HTML) template.HTML {
	return `<div class="chart-wide">` + draw(wideChart) + `</div><div class="chart-narrow">` + draw(narrowChart) + `</div>`
}
