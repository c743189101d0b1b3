// Package web is benchrig's HTTP server: the JSON API (submit, list, watch
// and cancel runs; pools; schedules), the server-rendered dashboards and
// the shared pages. It knows the domain types, reports and the interfaces
// below, each implemented by an adapter (app, sqlite, elastic) and wired in
// cmd; it never starts a run itself.
//
// Every route is declared through Server.route with the access it needs,
// so that authorization and the OpenAPI document are checked against one
// table (see TestOpenAPIMatchesRoutes).
package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/benchrig/benchrig"
)

// Runs is what the server needs of the run lifecycle: the queue in front
// of app.App. Methods are safe for concurrent use; ctx bounds the call,
// not the run.
type Runs interface {
	// Submit validates a spec and queues its run, which is recorded with
	// status queued before Submit returns. Bad input: EInvalid with the
	// same field-precise errors as benchrig validate (benchrig.Errors).
	Submit(ctx context.Context, sub benchrig.Submission) (*benchrig.Run, error)
	// Cancel stops a queued or running run; ENotFound for an unknown one,
	// EInvalid for one that already ended.
	Cancel(ctx context.Context, runID string) error
	// Watch follows a run's events with Seq > after: first those already
	// recorded, then live ones, until the run ends (the channel is closed
	// after its run-finished event) or ctx ends.
	Watch(ctx context.Context, runID string, after int64) (<-chan benchrig.Event, error)
	// Stats is the queue as /metrics and the pools page show it.
	Stats() benchrig.QueueStats
}

// Config is how the server behaves; cmd fills it from flags and files.
type Config struct {
	// Tokens are the bearer tokens the server accepts.
	Tokens Tokens
	// PublicRead makes the dashboards and the API's reads need no token;
	// otherwise they need a read (or submit) token.
	PublicRead bool
	// MaxBody caps a request body (a spec, a schedule); 0: DefaultMaxBody.
	MaxBody int64
	// BaseURL is how clients reach the server, for the URLs in answers;
	// "" uses the request's Host.
	BaseURL string
	Logger  *slog.Logger
}

// DefaultMaxBody is 1 MiB: a spec is a few kilobytes; anything near this
// is a mistake or an attack, and is refused with 413.
const DefaultMaxBody = 1 << 20

// Deps are the server's adapters; nil ones turn their pages and routes
// off (answering 501 / not shown), so a test can serve a part.
type Deps struct {
	Store     benchrig.RunReader
	Runs      Runs
	Schedules Schedules
	Pools     Pools
	Samples   SampleSource
	Shares    ShareStore
	// Profiles are the runs' flame graphs; nil: no profile section or
	// route (404).
	Profiles Profiles
	// Ready reports whether the server can take work (the store answers);
	// /healthz says 503 with the reason otherwise.
	Ready func(ctx context.Context) error
	// Metrics adds the adapters' counters (ES shipping) to /metrics.
	Metrics func(w io.Writer)
	Now     func() time.Time
}

// Server serves the API and the dashboards.
type Server struct {
	cfg    Config
	deps   Deps
	mux    *http.ServeMux
	routes []Route
	log    *slog.Logger
	stats  *httpStats
	trials *trialStats // finished trials' durations, for /metrics (metrics.go)
}

// Access is what a route needs of its caller.
type Access int

const (
	// Public routes need no token: /healthz, static files, shared pages.
	Public Access = iota
	// Read routes need a read token unless Config.PublicRead.
	Read
	// Submit routes change state and always need a submit token.
	Submit
)

// Route is one entry of the server's routing table.
type Route struct {
	Method  string // GET, POST, PATCH, DELETE
	Pattern string // a net/http pattern path: /api/v1/runs/{id}
	Access  Access
	API     bool // documented in openapi.yaml (pages are not)
}

// New builds a server. Routes are registered by area: api*.go (runs,
// pools, health, metrics), schedules.go, pages*.go (dashboards).
func New(cfg Config, deps Deps) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Server{cfg: cfg, deps: deps, mux: http.NewServeMux(), log: cfg.Logger, stats: newHTTPStats()}
	s.route("GET", "/static/", Public, false, staticHandler())
	s.apiRoutes()
	s.scheduleRoutes()
	s.pageRoutes()
	return s
}

// Routes lists every route, for the OpenAPI check and the docs.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// route registers h under method and pattern behind access's check, the
// body limit and the security headers.
func (s *Server) route(method, pattern string, access Access, api bool, h http.HandlerFunc) {
	rt := Route{Method: method, Pattern: pattern, Access: access, API: api}
	s.routes = append(s.routes, rt)
	s.mux.Handle(method+" "+pattern, s.wrap(rt, h))
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Serve serves on ln until ctx ends, then shuts down, letting requests in
// flight finish for up to 5 s (live event streams end with ctx).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// httpStatus maps an error's code to its HTTP status: the one place that
// does (cmd's exitCode is the other mapping of the same codes).
func httpStatus(err error) int {
	switch benchrig.ErrorCode(err) {
	case "":
		return http.StatusOK
	case benchrig.EInvalid:
		return http.StatusBadRequest
	case benchrig.ENotFound:
		return http.StatusNotFound
	case benchrig.EUnavailable:
		return http.StatusServiceUnavailable
	case benchrig.ECancelled:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// apiError is the body of every API error.
type apiError struct {
	Error struct {
		Code    string       `json:"code"`
		Message string       `json:"message"`
		Errors  []fieldError `json:"errors,omitempty"` // bad input, one per problem
	} `json:"error"`
}

// fieldError locates one problem of bad input, as benchrig validate
// prints it (file:line: field: reason).
type fieldError struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	Text    string `json:"text"` // the whole line as benchrig validate prints it
}

// writeError answers with err's status and an apiError body. Internal
// errors are logged and answered without their text.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := httpStatus(err)
	var body apiError
	body.Error.Code = string(benchrig.ErrorCode(err))
	body.Error.Message = err.Error()
	if status == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body.Error.Message = "internal error (see the server's log)"
	}
	var es benchrig.Errors
	var one *benchrig.Error
	switch {
	case errors.As(err, &es):
		for _, e := range es {
			body.Error.Errors = append(body.Error.Errors, fieldError{File: e.File, Line: e.Line, Field: e.Field, Message: e.Msg, Text: e.Error()})
		}
	case errors.As(err, &one) && (one.File != "" || one.Field != ""):
		body.Error.Errors = []fieldError{{File: one.File, Line: one.Line, Field: one.Field, Message: one.Msg, Text: one.Error()}}
	}
	writeJSON(w, status, body)
}

// writeStatus answers with a plain status and message, for refusals that
// have no benchrig error (401, 403, 413, 501).
func writeStatus(w http.ResponseWriter, status int, code, msg string) {
	var body apiError
	body.Error.Code = code
	body.Error.Message = msg
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nothing to do
}
