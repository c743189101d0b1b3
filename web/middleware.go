package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// contentSecurityPolicy allows nothing from elsewhere and no inline code:
// pages load their script and style from this server, charts are inline
// SVG, and a spec name with HTML in it stays text even if a template
// forgot to escape it. object-src and frame-src 'self' let the compare
// page embed this server's flame graphs with <object> (an <img> would not
// run their script, so no zoom): Chromium checks an <object> holding a
// document against both. Other origins stay out; the SVG route allows
// this origin as its frame ancestor (svgPolicy), every other page none.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'self'; frame-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// wrap puts a route's handler behind the security headers, the body limit
// and its access check, and counts it for /metrics.
func (s *Server) wrap(rt Route, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		hdr := w.Header()
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "no-referrer")
		hdr.Set("X-Frame-Options", "DENY")
		sw := &statusWriter{ResponseWriter: w}
		defer func() { s.stats.observe(rt, sw.status, time.Since(start)) }()
		if r.ContentLength > s.cfg.MaxBody {
			writeStatus(sw, http.StatusRequestEntityTooLarge, "too_large", tooLargeMessage(s.cfg.MaxBody))
			return
		}
		r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.MaxBody)
		c, status, msg := s.authorize(r, rt.Access)
		if status != 0 {
			if !rt.API && status == http.StatusUnauthorized && r.Method == http.MethodGet {
				http.Redirect(sw, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			if status == http.StatusUnauthorized {
				sw.Header().Set("WWW-Authenticate", `Bearer realm="benchrig"`)
			}
			writeStatus(sw, status, http.StatusText(status), msg)
			return
		}
		h(sw, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	})
}

func tooLargeMessage(max int64) string {
	return "request body larger than " + byteCount(max) + " (the server's limit)"
}

func byteCount(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return itoa(n>>10) + " KiB"
	}
	return itoa(n) + " bytes"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// readBody reads a request body within the route's limit: 413 when it is
// larger (a chunked body has no Content-Length to refuse it early).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeStatus(w, http.StatusRequestEntityTooLarge, "too_large", tooLargeMessage(s.cfg.MaxBody))
		return nil, false
	}
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "bad_request", "read body: "+err.Error())
		return nil, false
	}
	return b, true
}

// statusWriter remembers the status a handler answered with. It passes
// Flush through, for server-sent events.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// httpStats counts requests per route and status, and their durations,
// for /metrics.
type httpStats struct {
	mu    sync.Mutex
	count map[routeStatus]int64
	dur   map[Route]*histogram
}

type routeStatus struct {
	Route
	Status int
}

func newHTTPStats() *httpStats {
	return &httpStats{count: map[routeStatus]int64{}, dur: map[Route]*histogram{}}
}

func (st *httpStats) observe(rt Route, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.count[routeStatus{rt, status}]++
	h := st.dur[rt]
	if h == nil {
		h = newHistogram(requestBuckets)
		st.dur[rt] = h
	}
	h.observe(d.Seconds())
}

// requestBuckets are request durations in seconds, from 1 ms (a cached
// page) to 10 s (a slow store).
var requestBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}

// histogram is a Prometheus-style cumulative histogram.
type histogram struct {
	bounds []float64
	counts []int64 // per bound, not cumulative; the last is +Inf
	sum    float64
	n      int64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]int64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i]++
	h.sum += v
	h.n++
}
