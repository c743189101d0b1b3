package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/profiling"
	"github.com/benchrig/benchrig/reports"
)

// profileRoutes registers the flame graphs: a case's (SVG, and pprof to
// download), the differential one of two cases, and the script that makes
// them interactive, served from here because the CSP forbids inline
// script.
func (s *Server) profileRoutes() {
	s.route("GET", "/runs/{id}/profile/{file}", Read, false, s.handleCaseProfile)
	s.route("GET", "/compare/profile.svg", Read, false, s.handleDiffProfile)
	s.route("GET", flameScriptPath, Public, false, serveFlameScript)
	s.route("GET", "/s/{key}/profile/{file}", Public, false, s.handleSharedProfile)
	s.route("GET", "/api/v1/runs/{id}/profiles", Read, true, s.apiProfiles)
}

// apiProfile is one profiled case in GET /api/v1/runs/{id}/profiles.
type apiProfile struct {
	Case      string                   `json:"case"`
	Label     string                   `json:"label"`
	Event     string                   `json:"event"`
	FreqHz    int                      `json:"freq_hz"`
	Trials    int                      `json:"trials"`
	Samples   int64                    `json:"samples"`
	Lost      int64                    `json:"lost"`
	Seconds   float64                  `json:"seconds"` // wall time the profiled trials cover
	Processes []profiling.ProcessShare `json:"processes"`
	SVG       string                   `json:"svg"`
	Pprof     string                   `json:"pprof"`
	Folded    string                   `json:"folded"`
}

// apiProfiles is GET /api/v1/runs/{id}/profiles: each profiled case's
// samples, per-process breakdown and where its flame graph, pprof
// profile and folded stacks are. An empty list for a run not profiled.
func (s *Server) apiProfiles(w http.ResponseWriter, r *http.Request) {
	run, ok := s.apiRun(w, r)
	if !ok {
		return
	}
	cases, err := s.loadProfiles(r.Context(), run)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	base := s.baseURL(r)
	out := struct {
		Run      string       `json:"run"`
		Profiled bool         `json:"profiled"`
		Cases    []apiProfile `json:"cases"`
	}{Run: run.ID, Profiled: run.Profiling != nil, Cases: []apiProfile{}}
	for _, c := range cases {
		out.Cases = append(out.Cases, apiProfile{Case: c.Case, Label: c.Label, Event: c.Event, FreqHz: c.Freq, Trials: c.Trials,
			Samples: c.Stacks.Total(), Lost: c.Lost, Seconds: c.Duration.Seconds(), Processes: profiling.Breakdown(c.Stacks),
			SVG: base + profileURL(run.ID, c.Case, ".svg"), Pprof: base + profileURL(run.ID, c.Case, ".pb.gz"),
			Folded: base + profileURL(run.ID, c.Case, ".folded")})
	}
	writeJSON(w, http.StatusOK, out)
}

// flameScriptPath is where the flame graphs' script is: the SVGs reference
// it (SVGOptions.ScriptHref) instead of inlining it.
const flameScriptPath = "/static/flame.js"

func serveFlameScript(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = io.WriteString(w, profiling.FlameScript)
}

// svgPolicy is the CSP of a flame graph: the pages' own, except that the
// compare page (this origin) may embed it in an <object>, which
// frame-ancestors 'none' and X-Frame-Options DENY would block. Its script
// is still only /static/flame.js ('self'), never inline.
var svgPolicy = strings.Replace(contentSecurityPolicy, "frame-ancestors 'none'", "frame-ancestors 'self'", 1)

// caseProfile is one case's trial profiles merged, labelled as the run
// page labels cases.
type caseProfile = reports.CaseProfile

// caseProfiles merges run's trial profiles per case, as the CLI does.
func caseProfiles(run *benchrig.Run, ps []benchrig.TrialProfile) []caseProfile {
	label, _ := reports.ShortLabels(reports.Build(run))
	return reports.MergeProfiles(run, ps, label)
}

// loadProfiles is run's merged case profiles; none (nil, nil) when the
// server has no profile source or the run was not profiled.
func (s *Server) loadProfiles(ctx context.Context, run *benchrig.Run) ([]caseProfile, error) {
	if s.deps.Profiles == nil {
		return nil, nil
	}
	ps, err := s.deps.Profiles.Profiles(ctx, run.ID)
	if err != nil || len(ps) == 0 {
		return nil, err
	}
	return caseProfiles(run, ps), nil
}

// pickCase finds a case by its ID or its label; a 404 naming the profiled
// cases otherwise, or saying the run has none.
func pickCase(run *benchrig.Run, cases []caseProfile, sel string) (*caseProfile, error) {
	if len(cases) == 0 {
		if run.Profiling != nil {
			return nil, benchrig.Errorf(benchrig.ENotFound, "run %s was profiled but kept no profile (its warnings say why)", run.ID)
		}
		return nil, benchrig.Errorf(benchrig.ENotFound, "run %s was not profiled (run its spec with --profile cpu, or add a profile block; when it asked for profiling, the warnings on its page say why it could not)", run.ID)
	}
	if c := reports.FindCaseProfile(cases, sel); c != nil {
		return c, nil
	}
	return nil, benchrig.Errorf(benchrig.ENotFound, "run %s has no profile of case %q (profiled cases: %s)", run.ID, sel, reports.CaseProfileLabels(cases))
}

// profileURL is the URL of a case's flame graph (ext ".svg") or pprof
// profile (".pb.gz").
func profileURL(runID, caseID, ext string) string {
	return "/runs/" + url.PathEscape(runID) + "/profile/" + url.PathEscape(caseID) + ext
}

// diffURL is the URL of the differential flame graph of case cb of run b
// against case ca of run a.
func diffURL(a, ca, b, cb string) string {
	q := url.Values{"a": {a}, "case_a": {ca}, "b": {b}, "case_b": {cb}}
	return "/compare/profile.svg?" + q.Encode()
}

// handleCaseProfile is GET /runs/{id}/profile/{case}.svg (the case's
// merged flame graph), {case}.folded (its folded stacks) or {case}.pb.gz /
// {case}.pprof (its pprof profile,
// to download).
func (s *Server) handleCaseProfile(w http.ResponseWriter, r *http.Request) {
	if s.deps.Store == nil {
		s.writePageError(w, r, benchrig.Errorf(benchrig.EUnavailable, "this server has no store"))
		return
	}
	sel, kind, err := profileFile(r.PathValue("file"))
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	run, err := s.deps.Store.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	s.serveCaseProfile(w, r, run, sel, kind)
}

// profileFile splits a profile's file name into the case and its kind
// (".svg", ".pb.gz" or ".pprof"); a 404 for any other.
func profileFile(file string) (sel, kind string, err error) {
	for _, ext := range []string{".svg", ".pb.gz", ".pprof", ".folded"} {
		if c, ok := strings.CutSuffix(file, ext); ok && c != "" {
			return c, ext, nil
		}
	}
	return "", "", benchrig.Errorf(benchrig.ENotFound, "no profile %q: ask for CASE.svg (flame graph), CASE.pb.gz (pprof) or CASE.folded (folded stacks)", file)
}

// serveCaseProfile serves case sel of run: its flame graph (kind ".svg")
// or its pprof profile.
func (s *Server) serveCaseProfile(w http.ResponseWriter, r *http.Request, run *benchrig.Run, sel, kind string) {
	cases, err := s.loadProfiles(r.Context(), run)
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	c, err := pickCase(run, cases, sel)
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	var buf bytes.Buffer
	if kind == ".folded" {
		if err := profiling.WriteFolded(&buf, c.Stacks); err != nil {
			s.writePageError(w, r, fmt.Errorf("folded stacks of %s/%s: %w", run.ID, c.Case, err))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+fileName(run.ID+"-"+c.Label)+`.folded"`)
		_, _ = buf.WriteTo(w)
		return
	}
	if kind != ".svg" {
		if err := profiling.ToPprof(&c.Profile).Write(&buf); err != nil {
			s.writePageError(w, r, fmt.Errorf("pprof of %s/%s: %w", run.ID, c.Case, err))
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+fileName(run.ID+"-"+c.Label)+`.pb.gz"`)
		_, _ = buf.WriteTo(w)
		return
	}
	o := profiling.SVGOptions{
		Title:      fmt.Sprintf("%s: %s", run.SpecName, c.Label),
		Subtitle:   fmt.Sprintf("run %s, %s at %d Hz, %d samples over %d trial(s)", run.ID, c.Event, c.Freq, c.Stacks.Total(), c.Trials),
		ScriptHref: flameScriptPath,
	}
	if err := profiling.WriteFlameSVG(&buf, c.Stacks, o); err != nil {
		s.writePageError(w, r, fmt.Errorf("flame graph of %s/%s: %w", run.ID, c.Case, err))
		return
	}
	writeSVG(w, &buf)
}

// handleDiffProfile is GET /compare/profile.svg?a=RUN&case_a=C&b=RUN&case_b=C:
// the differential flame graph of case_b of run b against case_a of run a,
// both normalised by their total samples (one run, two cases; or one
// case, two runs).
func (s *Server) handleDiffProfile(w http.ResponseWriter, r *http.Request) {
	if s.deps.Store == nil {
		s.writePageError(w, r, benchrig.Errorf(benchrig.EUnavailable, "this server has no store"))
		return
	}
	q := r.URL.Query()
	ctx := r.Context()
	side := func(what, ref, sel string) (*benchrig.Run, *caseProfile, error) {
		run, err := s.loadRun(ctx, what, ref)
		if err != nil {
			return nil, nil, err
		}
		if sel == "" {
			return nil, nil, benchrig.Errorf(benchrig.ENotFound, "%s: no case given (case_%s=)", what, what[len(what)-1:])
		}
		cases, err := s.loadProfiles(ctx, run)
		if err != nil {
			return nil, nil, err
		}
		c, err := pickCase(run, cases, sel)
		return run, c, err
	}
	ra, ca, err := side("run a", q.Get("a"), q.Get("case_a"))
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	rb, cb, err := side("run b", q.Get("b"), q.Get("case_b"))
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	s.serveDiff(w, r, ra, ca, rb, cb)
}

// handleSharedProfile is GET /s/{key}/profile/{case}.svg (or .pb.gz) of a
// shared run: the case's flame graph (or pprof); of a shared comparison:
// the case's differential flame graph, run B against run A. Like the rest
// of /s/, it reaches only the share's own runs.
func (s *Server) handleSharedProfile(w http.ResponseWriter, r *http.Request) {
	sel, kind, err := profileFile(r.PathValue("file"))
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	a, b, err := s.sharedRuns(r.Context(), r.PathValue("key"))
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	if b == nil {
		s.serveCaseProfile(w, r, a, sel, kind)
		return
	}
	if kind != ".svg" {
		s.writePageError(w, r, benchrig.Errorf(benchrig.ENotFound, "a shared comparison has differential flame graphs only: ask for CASE.svg"))
		return
	}
	var cs [2]*caseProfile
	for i, run := range []*benchrig.Run{a, b} {
		cases, err := s.loadProfiles(r.Context(), run)
		if err == nil {
			cs[i], err = pickCase(run, cases, sel)
		}
		if err != nil {
			s.writePageError(w, r, err)
			return
		}
	}
	s.serveDiff(w, r, a, cs[0], b, cs[1])
}

// serveDiff serves the differential flame graph of case cb of run rb
// against case ca of run ra.
func (s *Server) serveDiff(w http.ResponseWriter, r *http.Request, ra *benchrig.Run, ca *caseProfile, rb *benchrig.Run, cb *caseProfile) {
	name := func(run *benchrig.Run, c *caseProfile) string {
		if ra.ID == rb.ID {
			return c.Label
		}
		return c.Label + " of run " + run.ID
	}
	title := fmt.Sprintf("%s: %s against %s", rb.SpecName, name(rb, cb), name(ra, ca))
	if ra.SpecName != rb.SpecName {
		title = fmt.Sprintf("%s (%s) against %s (%s)", name(rb, cb), rb.SpecName, name(ra, ca), ra.SpecName)
	}
	sampled := fmt.Sprintf("%s at %d Hz", cb.Event, cb.Freq)
	if ca.Event != cb.Event || ca.Freq != cb.Freq {
		sampled = fmt.Sprintf("%s at %d Hz against %s at %d Hz", cb.Event, cb.Freq, ca.Event, ca.Freq)
	}
	o := profiling.SVGOptions{
		Title: title,
		Subtitle: fmt.Sprintf("%s, %d and %d samples, normalised by total samples (red grew, blue shrank)",
			sampled, ca.Stacks.Total(), cb.Stacks.Total()),
		ScriptHref: flameScriptPath,
	}
	var buf bytes.Buffer
	if err := profiling.WriteDiffSVG(&buf, ca.Stacks, cb.Stacks, o); err != nil {
		s.writePageError(w, r, fmt.Errorf("differential flame graph: %w", err))
		return
	}
	writeSVG(w, &buf)
}

// writeSVG serves a flame graph, which the run and compare pages of this
// origin may embed (svgPolicy).
func writeSVG(w http.ResponseWriter, buf *bytes.Buffer) {
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Content-Security-Policy", svgPolicy)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	_, _ = buf.WriteTo(w)
}

// fileName makes s safe as a download's file name: letters, digits, '.',
// '-' and '_' kept, anything else '_'.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// profilesView is the run page's Profiles section.
type profilesView struct {
	Line  string // how the run was profiled and what it cost (reports.ProfileLine)
	Note  string // why there is no flame graph, when the run was profiled but kept none
	Cases []profileCaseView
}

type profileCaseView struct {
	Label, SVGURL, PprofURL string
	Event                   string
	Freq                    int
	Samples, Lost           int64
	Trials                  int
	Duration                string
	Top                     []processShareView
	Others                  string // the rest of the processes, in one line
	Limiter                 string // the process with the largest share, when several ran
}

type processShareView struct {
	Process, Samples, Share string
}

// topProcesses is how many processes a case's breakdown lists.
const topProcesses = 5

func (s *Server) profilesView(ctx context.Context, run *benchrig.Run) *profilesView {
	cases, err := s.loadProfiles(ctx, run)
	if err != nil {
		s.log.Error("run page profiles", "run", run.ID, "err", err)
		return &profilesView{Note: "The run's profiles could not be read: see the server's log."}
	}
	if len(cases) == 0 && run.Profiling == nil {
		return nil
	}
	v := &profilesView{Line: reports.ProfileLine(reports.Build(run))}
	if len(cases) == 0 {
		v.Note = "The run was profiled but kept no profile: its warnings say why."
		if s.deps.Profiles == nil {
			v.Note = "This server has no profile store."
		}
		return v
	}
	for _, c := range cases {
		cv := profileCaseView{Label: c.Label, SVGURL: profileURL(run.ID, c.Case, ".svg"), PprofURL: profileURL(run.ID, c.Case, ".pb.gz"),
			Event: c.Event, Freq: c.Freq, Samples: c.Stacks.Total(), Lost: c.Lost, Trials: c.Trials, Duration: reports.FormatDuration(c.Duration)}
		shares := profiling.Breakdown(c.Stacks)
		for i, p := range shares {
			if i == topProcesses {
				rest, n := 0.0, int64(0)
				for _, q := range shares[i:] {
					rest += q.Share
					n += q.Samples
				}
				cv.Others = fmt.Sprintf("%d more processes: %d samples (%.1f%%)", len(shares)-i, n, rest*100)
				break
			}
			cv.Top = append(cv.Top, processShareView{Process: p.Process, Samples: fmt.Sprint(p.Samples), Share: fmt.Sprintf("%.1f%%", p.Share*100)})
		}
		if len(shares) > 1 {
			cv.Limiter = fmt.Sprintf("%s has the largest share (%.1f%% of the samples): in a pipeline, the stage that limits it.", shares[0].Process, shares[0].Share*100)
		}
		v.Cases = append(v.Cases, cv)
	}
	return v
}

// compareProfile is a case of both compared runs that both profiled: its
// differential flame graph, B's stacks coloured by the change from A's.
type compareProfile struct {
	Case, URL string
	Embed     bool // drawn on the page; the others are links
}

// embeddedDiffs caps the differential flame graphs drawn on the compare
// page: each is a document of its own, and a sweep has dozens of cases.
const embeddedDiffs = 4

func (s *Server) compareProfiles(ctx context.Context, a, b *benchrig.Run, lbl func(string) string) []compareProfile {
	pa, err := s.loadProfiles(ctx, a)
	if err == nil && len(pa) > 0 {
		var pb []caseProfile
		pb, err = s.loadProfiles(ctx, b)
		if err == nil {
			inA := map[string]bool{}
			for _, c := range pa {
				inA[c.Case] = true
			}
			var out []compareProfile
			for _, c := range pb {
				if inA[c.Case] {
					out = append(out, compareProfile{Case: lbl(c.Case), URL: diffURL(a.ID, c.Case, b.ID, c.Case), Embed: len(out) < embeddedDiffs})
				}
			}
			return out
		}
	}
	if err != nil {
		s.log.Error("compare page profiles", "a", a.ID, "b", b.ID, "err", err)
	}
	return nil
}

// sharedFlames maps each profiled case of a shared run (b nil) to its
// flame graph under /s/KEY, or each case both runs of a shared comparison
// profiled to its differential one.
func (s *Server) sharedFlames(ctx context.Context, key string, a, b *benchrig.Run) map[string]string {
	out := map[string]string{}
	pa, err := s.loadProfiles(ctx, a)
	var pb []caseProfile
	if err == nil && b != nil && len(pa) > 0 {
		pb, err = s.loadProfiles(ctx, b)
	}
	if err != nil {
		s.log.Error("shared page profiles", "key", key, "err", err)
		return out
	}
	in := map[string]bool{}
	for _, c := range pb {
		in[c.Case] = true
	}
	for _, c := range pa {
		if b == nil || in[c.Case] {
			out[c.Case] = "/s/" + url.PathEscape(key) + "/profile/" + url.PathEscape(c.Case) + ".svg"
		}
	}
	return out
}
