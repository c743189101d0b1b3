package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/reports"
)

// apiRoutes registers the runs, pools, health and metrics API.
func (s *Server) apiRoutes() {
	s.trials = newTrialStats()
	s.route("POST", "/api/v1/runs", Submit, true, s.submitRun)
	s.route("GET", "/api/v1/runs", Read, true, s.listRuns)
	s.route("GET", "/api/v1/runs/{id}", Read, true, s.getRun)
	s.route("POST", "/api/v1/runs/{id}/cancel", Submit, true, s.cancelRun)
	s.route("GET", "/api/v1/runs/{id}/events", Read, true, s.runEvents)
	s.route("GET", "/api/v1/runs/{id}/report", Read, true, s.runReport(reportText))
	s.route("GET", "/api/v1/runs/{id}/junit", Read, true, s.runReport(reportJUnit))
	s.route("GET", "/api/v1/runs/{id}/summary.md", Read, true, s.runReport(reportMarkdown))
	s.route("GET", "/api/v1/pools", Read, true, s.listPools)
	s.route("GET", "/api/v1/openapi.yaml", Public, true, serveOpenAPI)
	s.route("GET", "/healthz", Public, true, s.healthz)
	// /metrics follows the dashboards: public when they are, a read
	// token otherwise (Prometheus sends one with authorization:
	// credentials_file). Queue depth and request counts by route say
	// what the server is used for, which is not for anyone on the network.
	s.route("GET", "/metrics", Read, true, s.metrics)
}

// unavailable answers 501 for a route whose adapter the server runs
// without (a test serving a part, a read-only server).
func unavailable(w http.ResponseWriter, what string) {
	writeStatus(w, http.StatusNotImplemented, "not_implemented", "this server runs without "+what)
}

// SubmitRequest is the JSON body of POST /api/v1/runs.
type SubmitRequest struct {
	Spec   string            `json:"spec"`
	Sets   []string          `json:"set"`
	Repeat int               `json:"repeat"`
	Pools  []string          `json:"pools"`
	Labels map[string]string `json:"labels"`
	Name   string            `json:"name"` // how errors name the spec
	// Gate judges the run against a baseline when it ends; the run's
	// JSON then carries the result ("gate") and its event stream ends
	// after the gate's verdict. The queue checks it (a bad one, or a
	// baseline run that does not exist, is a 400 naming the field).
	Gate *benchrig.GateRequest `json:"gate"`
	// Profile is "cpu" (profile each case in extra trials, with perf on
	// its node), "off", or "" for the spec's profile block; ProfileFreq
	// its rate in Hz (0: the spec's, else 99).
	Profile     string `json:"profile"`
	ProfileFreq int    `json:"profile_freq"`
}

// submittedName is how errors name a spec sent without a name.
const submittedName = "submitted.yaml"

// Submitted is the answer to a submit: where the run can be followed.
type Submitted struct {
	ID     string             `json:"id"`
	Status benchrig.RunStatus `json:"status"`
	URL    string             `json:"url"`
	API    string             `json:"api"`
}

func (s *Server) submitRun(w http.ResponseWriter, r *http.Request) {
	if s.deps.Runs == nil {
		unavailable(w, "a run queue")
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/yaml", "text/yaml", "application/x-yaml", "application/json":
	default:
		writeStatus(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			fmt.Sprintf("a spec is sent as application/yaml (the spec itself) or application/json ({\"spec\": ...}), not %q", mt))
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	sub := benchrig.Submission{SpecName: submittedName, By: callerOf(r).Name}
	if mt == "application/json" {
		var req SubmitRequest
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			s.writeError(w, r, &benchrig.Error{Code: benchrig.EInvalid, File: "request body", Msg: "not a submission: " + err.Error()})
			return
		}
		if strings.TrimSpace(req.Spec) == "" {
			s.writeError(w, r, &benchrig.Error{Code: benchrig.EInvalid, File: "request body", Field: "spec", Msg: "the spec's YAML is required"})
			return
		}
		if req.Repeat < 0 {
			s.writeError(w, r, &benchrig.Error{Code: benchrig.EInvalid, File: "request body", Field: "repeat", Msg: "must be positive (0: the spec's)"})
			return
		}
		sub.Spec = []byte(req.Spec)
		if req.Name != "" {
			sub.SpecName = req.Name
		}
		sub.Request = benchrig.RunRequest{Sets: req.Sets, Repeat: req.Repeat, Pools: req.Pools, Labels: req.Labels, Gate: req.Gate,
			Profile: req.Profile, ProfileFreq: req.ProfileFreq}
	} else {
		sub.Spec = body
		if n := r.URL.Query().Get("name"); n != "" {
			sub.SpecName = n
		}
	}
	run, err := s.deps.Runs.Submit(r.Context(), sub)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	base := s.baseURL(r)
	ans := Submitted{ID: run.ID, Status: run.Status,
		URL: base + "/runs/" + url.PathEscape(run.ID), API: base + "/api/v1/runs/" + url.PathEscape(run.ID)}
	w.Header().Set("Location", ans.API)
	writeJSON(w, http.StatusCreated, ans)
}

// baseURL is how clients reach the server: the configured URL, else the
// request's host.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimRight(s.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// runSummary is a run as GET /api/v1/runs lists it.
type runSummary struct {
	ID       string             `json:"id"`
	Spec     string             `json:"spec"`
	Status   benchrig.RunStatus `json:"status"`
	Started  *time.Time         `json:"started,omitempty"`
	Finished *time.Time         `json:"finished,omitempty"`
	Labels   map[string]string  `json:"labels,omitempty"`
	Nodes    []string           `json:"nodes,omitempty"`
	Archs    []string           `json:"archs,omitempty"`
	Trials   int                `json:"trials"`
	Failed   int                `json:"failed"`
	Warmups  int                `json:"warmups"`
	URL      string             `json:"url"`
}

type runList struct {
	Runs []runSummary `json:"runs"`
	Next string       `json:"next,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func summarize(base string, rs benchrig.RunSummary) runSummary {
	out := runSummary{ID: rs.ID, Spec: rs.SpecName, Status: rs.Status, Started: timePtr(rs.Started),
		Finished: timePtr(rs.Finished), Labels: rs.Labels, Trials: rs.TrialCount, Failed: rs.FailedCount,
		Warmups: rs.WarmupCount, URL: base + "/runs/" + url.PathEscape(rs.ID)}
	seen := map[string]bool{}
	for _, n := range rs.Nodes {
		out.Nodes = append(out.Nodes, n.Name)
		if n.Arch != "" && !seen[n.Arch] {
			seen[n.Arch] = true
			out.Archs = append(out.Archs, n.Arch)
		}
	}
	if len(rs.Nodes) == 0 && rs.Fingerprint.Arch != "" {
		out.Archs = []string{rs.Fingerprint.Arch}
	}
	return out
}

// parseRunFilter reads GET /api/v1/runs's query. A bad value is EInvalid
// naming its parameter.
func parseRunFilter(q url.Values) (benchrig.RunFilter, error) {
	bad := func(param, msg string) error {
		return &benchrig.Error{Code: benchrig.EInvalid, Field: param, Msg: msg}
	}
	f := benchrig.RunFilter{Spec: q.Get("spec"), Node: q.Get("node"), Arch: q.Get("arch"), Cursor: q.Get("cursor")}
	known := map[benchrig.RunStatus]bool{benchrig.RunQueued: true}
	for _, st := range benchrig.RunStatuses {
		known[st] = true
	}
	for _, v := range q["status"] {
		for _, st := range strings.Split(v, ",") {
			st = strings.TrimSpace(st)
			if st == "" {
				continue
			}
			if !known[benchrig.RunStatus(st)] {
				return f, bad("status", fmt.Sprintf("%q is not a run status", st))
			}
			f.Status = append(f.Status, benchrig.RunStatus(st))
		}
	}
	for _, v := range q["label"] {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return f, bad("label", fmt.Sprintf("%q is not key=value", v))
		}
		if f.Labels == nil {
			f.Labels = map[string]string{}
		}
		f.Labels[k] = val
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, bad(p.name, fmt.Sprintf("%q is not an RFC 3339 time (2026-01-02T15:04:05Z)", v))
			}
			*p.t = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, bad("limit", fmt.Sprintf("%q is not a page size from 1 to 1000", v))
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	if s.deps.Store == nil {
		unavailable(w, "a store")
		return
	}
	f, err := parseRunFilter(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.deps.Store.ListRuns(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	base := s.baseURL(r)
	out := runList{Runs: make([]runSummary, 0, len(page.Runs)), Next: page.Next}
	for _, rs := range page.Runs {
		out.Runs = append(out.Runs, summarize(base, rs))
	}
	writeJSON(w, http.StatusOK, out)
}

// getRun answers the run's export: the JSON of benchrig runs show --json
// (reports/SCHEMA.md), built by the same functions.
// apiRun loads the run of an API route's {id}; on false it has answered
// (no store, no such run).
func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) (*benchrig.Run, bool) {
	if s.deps.Store == nil {
		unavailable(w, "a store")
		return nil, false
	}
	run, err := s.deps.Store.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return run, true
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	run, ok := s.apiRun(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := reports.WriteJSON(&buf, reports.Build(run)); err != nil {
		s.writeError(w, r, fmt.Errorf("export run %s: %w", run.ID, err))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// cancelled is the answer to a cancel.
type cancelled struct {
	ID     string             `json:"id"`
	Status benchrig.RunStatus `json:"status"` // as the store has it now: a running run stops shortly
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) {
	if s.deps.Runs == nil {
		unavailable(w, "a run queue")
		return
	}
	id := r.PathValue("id")
	if err := s.deps.Runs.Cancel(r.Context(), id); err != nil {
		if benchrig.ErrorCode(err) == benchrig.EInvalid {
			// The run exists and has ended: a conflict with its state,
			// not bad input.
			var body apiError
			body.Error.Code = string(benchrig.EInvalid)
			body.Error.Message = err.Error()
			writeJSON(w, http.StatusConflict, body)
			return
		}
		s.writeError(w, r, err)
		return
	}
	ans := cancelled{ID: id, Status: benchrig.RunCancelled}
	if s.deps.Store != nil {
		if run, err := s.deps.Store.GetRun(r.Context(), id); err == nil {
			ans.ID, ans.Status = run.ID, run.Status
		}
	}
	writeJSON(w, http.StatusAccepted, ans)
}

// sseKeepAlive is how often an idle event stream gets a comment line, so
// that proxies (whose idle timeouts are commonly 30 to 60 s) keep it open.
const sseKeepAlive = 15 * time.Second

func (s *Server) runEvents(w http.ResponseWriter, r *http.Request) {
	if s.deps.Runs == nil {
		unavailable(w, "a run queue")
		return
	}
	s.streamEvents(w, r, sseKeepAlive)
}

// lastEventID is where a stream resumes: the Last-Event-ID header a
// reconnecting EventSource sends, else ?after=N, else the beginning.
func lastEventID(r *http.Request) (int64, error) {
	for _, p := range []struct{ name, v string }{
		{"Last-Event-ID", r.Header.Get("Last-Event-ID")},
		{"after", r.URL.Query().Get("after")},
	} {
		if p.v == "" {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(p.v), 10, 64)
		if err != nil || n < 0 {
			return 0, &benchrig.Error{Code: benchrig.EInvalid, Field: p.name, Msg: fmt.Sprintf("%q is not an event number", p.v)}
		}
		return n, nil
	}
	return 0, nil
}

// streamEvents sends the run's events as server-sent events until the run
// ends (a final "end" event), the client goes away or the server stops.
// It holds no lock: each event is the Watch channel's own copy.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, keepAlive time.Duration) {
	after, err := lastEventID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel() // ends the Watch when the stream ends for any reason
	events, err := s.deps.Runs.Watch(ctx, r.PathValue("id"), after)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A run that asked for a gate goes on after run-finished: the gate's
	// events (a confirmation run, the verdict) come last, and the watch
	// closes after them.
	gated := s.runGated(ctx, r.PathValue("id"))
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events through as they come
	w.WriteHeader(http.StatusOK)
	// retry tells a browser's EventSource how soon to reconnect.
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	var buf bytes.Buffer
	for {
		buf.Reset()
		done := false
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			buf.WriteString(": keep-alive\n\n")
		case ev, ok := <-events:
			if !ok {
				// The watch ended without run-finished: say end only for a
				// run that did end; otherwise (the watch failed: a busy
				// store) close the stream, and the client comes back with
				// Last-Event-ID for what it missed.
				if s.runEnded(ctx, r.PathValue("id")) {
					buf.WriteString("event: end\ndata: {}\n\n")
				}
				done = true
				break
			}
			data, err := json.Marshal(ev)
			if err != nil {
				s.log.Error("encode event", "run", ev.Run, "seq", ev.Seq, "err", err)
				return
			}
			fmt.Fprintf(&buf, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Kind, data)
			if ev.Kind == benchrig.EventRunFinished && !gated {
				buf.WriteString("event: end\ndata: {}\n\n")
				done = true
			}
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return // the client went away
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if done {
			return
		}
	}
}

func (s *Server) listPools(w http.ResponseWriter, r *http.Request) {
	if s.deps.Pools == nil {
		unavailable(w, "pools")
		return
	}
	refresh := false
	if v := r.URL.Query().Get("refresh"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.writeError(w, r, &benchrig.Error{Code: benchrig.EInvalid, Field: "refresh", Msg: fmt.Sprintf("%q is not a boolean (1 or 0)", v)})
			return
		}
		refresh = b
	}
	pools, err := s.deps.Pools.Pools(r.Context(), refresh)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if pools == nil {
		pools = []benchrig.PoolStatus{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"pools": pools})
}

// healthTimeout bounds Ready: a health check that hangs is a failure.
const healthTimeout = 5 * time.Second

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.deps.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		if err := s.deps.Ready(ctx); err != nil {
			msg := err.Error()
			if errors.Is(err, context.DeadlineExceeded) {
				msg = "not ready within " + healthTimeout.String() + ": " + msg
			}
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": msg})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// runGated says whether the run asked for a gate (false when the store
// cannot say: the stream then ends at run-finished, as before gates).
func (s *Server) runGated(ctx context.Context, id string) bool {
	if s.deps.Store == nil {
		return false
	}
	run, err := s.deps.Store.GetRun(ctx, id)
	return err == nil && run.Request != nil && run.Request.Gate != nil
}

// The run's reports as files, for a client that writes them (benchrig
// submit --junit, --md) or shows them (the text report).
const (
	reportText     = "text"
	reportJUnit    = "junit"
	reportMarkdown = "markdown"
)

// runReport answers one of a run's reports, built as the CLI builds them
// for a local run: the text report and the gate's verdict, JUnit XML, or
// the --md summary.
func (s *Server) runReport(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		run, ok := s.apiRun(w, r)
		if !ok {
			return
		}
		var buf bytes.Buffer
		var err error
		ctype := "text/plain; charset=utf-8"
		switch kind {
		case reportText:
			err = reports.WriteText(&buf, reports.Build(run))
			if err == nil && run.Gate != nil {
				buf.WriteString("\n")
				err = reports.WriteGateText(&buf, run.Gate)
			}
		case reportJUnit:
			ctype = "application/xml; charset=utf-8"
			err = reports.WriteJUnit(&buf, run, run.Gate)
		case reportMarkdown:
			ctype = "text/markdown; charset=utf-8"
			err = reports.WriteSummaryMarkdown(&buf, run)
		}
		if err != nil {
			s.writeError(w, r, fmt.Errorf("%s report of run %s: %w", kind, run.ID, err))
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(buf.Bytes())
	}
}

// runEnded says whether the run is recorded as ended (neither queued nor
// running); false when the store cannot say.
func (s *Server) runEnded(ctx context.Context, id string) bool {
	if s.deps.Store == nil {
		return true
	}
	run, err := s.deps.Store.GetRun(ctx, id)
	return err == nil && run.Status != benchrig.RunQueued && run.Status != benchrig.RunRunning
}
