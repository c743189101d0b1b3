package web

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/reports"
	"github.com/benchrig/benchrig/stats"
)

// Sharing: a run, or a comparison of two, is private until shared; then a
// stable link /s/KEY shows it without a token, with its spec so that
// others can run the same benchmark on their own pools. The key is
// ShareStore's (128 random bits); the page reads the runs by their full
// IDs, so nothing but a share's own runs is reachable through /s/.
func (s *Server) shareRoutes() {
	s.route("POST", "/api/v1/runs/{id}/share", Submit, true, s.ofRun(s.share))
	s.route("DELETE", "/api/v1/runs/{id}/share", Submit, true, s.ofRun(s.unshare))
	s.route("POST", "/api/v1/compare/share", Submit, true, s.ofComparison(s.share))
	s.route("DELETE", "/api/v1/compare/share", Submit, true, s.ofComparison(s.unshare))
	s.route("GET", "/s/{key}", Public, false, s.sharedPage)
	s.route("GET", "/s/{key}/spec.yaml", Public, false, s.sharedSpec)
}

// shared is the answer of a share: its key and its link.
type shared struct {
	Key string `json:"key"`
	URL string `json:"url"`
}

// compareWhat is the ShareStore name of the comparison of b against a.
func compareWhat(a, b string) string { return a + ".." + b }

// shareURL is the link of a share key.
func (s *Server) shareURL(r *http.Request, key string) string {
	return s.baseURL(r) + "/s/" + url.PathEscape(key)
}

func (s *Server) sharesOff(w http.ResponseWriter) bool {
	if s.deps.Shares == nil || s.deps.Store == nil {
		writeStatus(w, http.StatusNotImplemented, "not_implemented", "this server does not share runs")
		return true
	}
	return false
}

// ofRun serves do for the run of the path's {id}: shareRun is POST
// /api/v1/runs/{id}/share (the run becomes public; the same key when it
// already is), unshareRun DELETE (private again, its link dead for good).
func (s *Server) ofRun(do func(w http.ResponseWriter, r *http.Request, what string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.sharesOff(w) {
			return
		}
		run, err := s.deps.Store.GetRun(r.Context(), r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		do(w, r, run.ID)
	}
}

func (s *Server) share(w http.ResponseWriter, r *http.Request, what string) {
	key, err := s.deps.Shares.Share(r.Context(), what)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("shared", "what", what, "by", callerOf(r).Name)
	writeJSON(w, http.StatusOK, shared{Key: key, URL: s.shareURL(r, key)})
}

func (s *Server) unshare(w http.ResponseWriter, r *http.Request, what string) {
	if err := s.deps.Shares.Unshare(r.Context(), what); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("unshared", "what", what, "by", callerOf(r).Name)
	w.WriteHeader(http.StatusNoContent)
}

// comparePair is the body of the compare share routes: b compared
// against a (the baseline), each a run reference.
type comparePair struct {
	A string `json:"a"`
	B string `json:"b"`
}

// comparedRuns reads the body's two runs.
func (s *Server) comparedRuns(w http.ResponseWriter, r *http.Request) (a, b *benchrig.Run, ok bool) {
	body, ok := s.readBody(w, r)
	if !ok {
		return nil, nil, false
	}
	var p comparePair
	if err := json.Unmarshal(body, &p); err != nil {
		s.writeError(w, r, &benchrig.Error{Code: benchrig.EInvalid, Msg: "the body is not JSON {\"a\": RUN, \"b\": RUN}", Err: err})
		return nil, nil, false
	}
	for _, f := range []struct{ name, v string }{{"a", p.A}, {"b", p.B}} {
		if f.v == "" {
			s.writeError(w, r, &benchrig.Error{Code: benchrig.EInvalid, Field: f.name, Msg: "a run ID is needed"})
			return nil, nil, false
		}
	}
	a, err := s.deps.Store.GetRun(r.Context(), p.A)
	if err == nil {
		b, err = s.deps.Store.GetRun(r.Context(), p.B)
	}
	if err != nil {
		s.writeError(w, r, err)
		return nil, nil, false
	}
	return a, b, true
}

// ofComparison serves do for the comparison of the body's {"a","b"}:
// b compared against a. Sharing a comparison (POST /api/v1/compare/share)
// does not share either run on its own; DELETE unshares it.
func (s *Server) ofComparison(do func(w http.ResponseWriter, r *http.Request, what string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.sharesOff(w) {
			return
		}
		if a, b, ok := s.comparedRuns(w, r); ok {
			do(w, r, compareWhat(a.ID, b.ID))
		}
	}
}

// sharedRuns resolves a share key to its run (b nil) or to the two runs
// of its comparison. Unknown and revoked keys, and shares whose runs are
// gone, are ENotFound.
func (s *Server) sharedRuns(ctx context.Context, key string) (a, b *benchrig.Run, err error) {
	if s.deps.Shares == nil || s.deps.Store == nil {
		return nil, nil, benchrig.Errorf(benchrig.ENotFound, "no shared page here")
	}
	what, err := s.deps.Shares.Shared(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	ida, idb, pair := strings.Cut(what, "..")
	if a, err = s.exactRun(ctx, ida); err != nil {
		return nil, nil, err
	}
	if pair {
		if b, err = s.exactRun(ctx, idb); err != nil {
			return nil, nil, err
		}
	}
	return a, b, nil
}

// exactRun loads the run whose ID is id, and no other: GetRun also takes
// a part of an ID or "latest", which a share must never resolve to.
func (s *Server) exactRun(ctx context.Context, id string) (*benchrig.Run, error) {
	run, err := s.deps.Store.GetRun(ctx, id)
	if err == nil && run.ID != id {
		err = benchrig.Errorf(benchrig.ENotFound, "no shared page here")
	}
	if benchrig.ErrorCode(err) == benchrig.ENotFound {
		// Say nothing of what the key named.
		err = benchrig.Errorf(benchrig.ENotFound, "no shared page here (the link was revoked, or the run deleted)")
	}
	return run, err
}

// sharedData is a shared page: one run, or a comparison (B set).
type sharedData struct {
	Key      string
	A, B     sharedRun
	Compare  bool
	Cases    []sharedCase  // a run's cases
	Deltas   []sharedDelta // a comparison's cases
	SpecName string        // the spec offered for download (B's in a comparison)
	Spec     string
	SpecDiff bool // a comparison of runs of different specs
	// RowA and RowB are a comparison's runs as its summary lists them.
	RowA, RowB sharedRunRow
}

type sharedRunRow struct {
	Role string // baseline, compared
	R    sharedRun
}

type sharedRun struct {
	ID, Spec, Status, Started, Took, Nodes string
	Fingerprint                            string
	Command                                string // how to run the same: benchrig run spec.yaml --set …
}

type sharedCase struct {
	ID, Node                   string
	Measured, Failed           int
	Median, Spread, VsBaseline string
	Flame                      string // its flame graph under /s/KEY; "" when not profiled
}

type sharedDelta struct {
	ID                     string
	MedianA, MedianB, Diff string
	CI, Verdict            string
	Class                  string // good, bad or ""
	Flame                  string // its differential flame graph under /s/KEY; "" unless both runs profiled it
}

// sharedPage is GET /s/{key}: a shared run or comparison, with no nav and
// no link to a private page, and its spec with how to run it yourself.
func (s *Server) sharedPage(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	a, b, err := s.sharedRuns(r.Context(), key)
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	now := s.deps.Now()
	d := sharedData{Key: key, A: sharedRunOf(a, now), SpecName: a.SpecName, Spec: string(a.SpecSource)}
	title := a.SpecName
	ra := reports.Build(a)
	flame := s.sharedFlames(r.Context(), key, a, b)
	if b == nil {
		for _, c := range ra.Cases {
			sc := sharedCase{ID: c.Case.ID, Node: c.Node, Measured: c.Measured, Failed: c.Failed, Median: "–", Spread: "–", Flame: flame[c.Case.ID]}
			if c.Stats.N > 0 {
				sc.Median = benchrig.FormatSeconds(c.Stats.Median)
				sc.Spread = fmt.Sprintf("±%.1f%%", 100*c.Stats.MADScaled/c.Stats.Median)
			}
			for _, cmp := range ra.Comparisons {
				if cmp.Case == c.Case.ID && !math.IsNaN(cmp.Ratio) {
					sc.VsBaseline = fmt.Sprintf("×%.3f vs %s (%s)", cmp.Ratio, cmp.Baseline, cmp.Verdict)
				}
			}
			d.Cases = append(d.Cases, sc)
		}
	} else {
		d.Compare = true
		d.B = sharedRunOf(b, now)
		d.RowA, d.RowB = sharedRunRow{"baseline", d.A}, sharedRunRow{"compared", d.B}
		d.SpecName, d.Spec = b.SpecName, string(b.SpecSource)
		d.SpecDiff = a.SpecHash != b.SpecHash
		title = b.SpecName + ": two runs compared"
		rc := reports.CompareRuns(ra, reports.Build(b))
		for _, c := range rc.Cases {
			sd := sharedDelta{ID: c.CaseID, MedianA: secs(c.MedianA), MedianB: secs(c.MedianB), Diff: "–", CI: "–",
				Verdict: c.Comparison.Verdict, Flame: flame[c.CaseID]}
			if r := c.Comparison.Ratio; !math.IsNaN(r) {
				sd.Diff = fmt.Sprintf("%+.1f%%", 100*(r-1))
			}
			if lo, hi := c.Comparison.CILow, c.Comparison.CIHigh; !math.IsNaN(lo) && !math.IsNaN(hi) {
				sd.CI = fmt.Sprintf("%+.1f%% … %+.1f%%", 100*(lo-1), 100*(hi-1))
			}
			switch sd.Verdict {
			case stats.Slower:
				sd.Class = "bad"
			case stats.Faster:
				sd.Class = "good"
			}
			d.Deltas = append(d.Deltas, sd)
		}
	}
	s.render(w, r, http.StatusOK, "shared", page{Title: title, Public: true, Data: d})
}

func secs(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return benchrig.FormatSeconds(v)
}

func sharedRunOf(run *benchrig.Run, now time.Time) sharedRun {
	row := runRowOf(benchrig.RunSummary{Run: *run}, now)
	v := sharedRun{ID: run.ID, Spec: run.SpecName, Status: string(run.Status), Started: row.WhenFull, Took: row.Took,
		Nodes: row.Nodes, Fingerprint: run.Fingerprint.String(), Command: runItCommand(run.Overrides)}
	return v
}

// runItCommand is the command that runs a shared spec as its run did:
// its overrides, but not its pools (the reader runs on their own).
func runItCommand(overrides []string) string {
	cmd := "benchrig run spec.yaml"
	for _, o := range overrides {
		flag, val, hasVal := strings.Cut(o, " ")
		if flag == "--pool" {
			continue
		}
		cmd += " " + flag
		if hasVal {
			cmd += " " + shellQuote(val)
		}
	}
	return cmd
}

// shellQuote quotes v for a POSIX shell when it needs it.
func shellQuote(v string) string {
	if v != "" && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=,._-/:+") == "" {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// sharedSpec is GET /s/{key}/spec.yaml: the shared run's spec (a
// comparison's newer run, B), to download and run.
func (s *Server) sharedSpec(w http.ResponseWriter, r *http.Request) {
	a, b, err := s.sharedRuns(r.Context(), r.PathValue("key"))
	if err != nil {
		s.writePageError(w, r, err)
		return
	}
	if b != nil {
		a = b
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="spec.yaml"`)
	_, _ = w.Write(a.SpecSource)
}
