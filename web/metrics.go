package web

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
)

// The exposition is written by hand rather than with client_golang: the
// server has a dozen series, all read at scrape time from state it keeps
// anyway (the queue's stats, the store's counts, the request table), and
// the text format (version 0.0.4) is small and stable. The test parses the
// output with prometheus/common/expfmt, so a mistake here fails it.

// RunCounter is the store's optional cheap count of runs by status, for
// /metrics (sqlite.DB implements it). Without it /metrics has no
// benchrig_runs series.
type RunCounter interface {
	CountRuns(ctx context.Context) (map[benchrig.RunStatus]int, error)
}

// ObserveEvent counts a run's event for /metrics: a trial-finished
// event's wall time goes to the trial histogram by outcome. The queue
// calls it for every event of the runs it runs (cmd wires it); it is safe
// for concurrent use and does no I/O.
func (s *Server) ObserveEvent(e benchrig.Event) {
	if e.Kind == benchrig.EventTrialFinished && e.Outcome != nil {
		s.trials.observe(e.Outcome.String(), e.Duration)
	}
}

// trialStats is a histogram of trial wall times per outcome.
type trialStats struct {
	mu  sync.Mutex
	dur map[string]*histogram // outcome -> wall times
}

func newTrialStats() *trialStats { return &trialStats{dur: map[string]*histogram{}} }

// trialBuckets are trial wall times in seconds: benchmarks run from a few
// milliseconds (a micro case) to many minutes (a build).
var trialBuckets = []float64{0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}

func (ts *trialStats) observe(outcome string, wall time.Duration) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	h := ts.dur[outcome]
	if h == nil {
		h = newHistogram(trialBuckets)
		ts.dur[outcome] = h
	}
	h.observe(wall.Seconds())
}

// metricsTimeout bounds the store's count during a scrape.
const metricsTimeout = 5 * time.Second

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	var counts map[benchrig.RunStatus]int
	if rc, ok := s.deps.Store.(RunCounter); ok {
		ctx, cancel := context.WithTimeout(r.Context(), metricsTimeout)
		c, err := rc.CountRuns(ctx)
		cancel()
		if err != nil {
			s.writeError(w, r, fmt.Errorf("count runs: %w", err))
			return
		}
		counts = c
	}
	var stats *benchrig.QueueStats
	if s.deps.Runs != nil {
		st := s.deps.Runs.Stats()
		stats = &st
	}
	var buf bytes.Buffer
	s.writeMetrics(&buf, stats, counts)
	if s.deps.Metrics != nil {
		s.deps.Metrics(&buf)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// writeMetrics renders the server's own series. The locks of the request
// and trial tables are held while copying into buf, never while writing
// to the client.
func (s *Server) writeMetrics(w io.Writer, stats *benchrig.QueueStats, counts map[benchrig.RunStatus]int) {
	if stats != nil {
		family(w, "benchrig_queue_runs", "gauge", "Runs in the server's queue, by state (queued: waiting for a slot).")
		sample(w, "benchrig_queue_runs", labels("state", "queued"), float64(stats.Queued))
		sample(w, "benchrig_queue_runs", labels("state", "running"), float64(stats.Running))
		pools := make(map[string]bool)
		for p := range stats.ByPool {
			pools[p] = true
		}
		for p := range stats.Limits {
			pools[p] = true
		}
		names := sortedKeys(pools)
		family(w, "benchrig_pool_running_runs", "gauge", "Runs running on each pool.")
		for _, p := range names {
			sample(w, "benchrig_pool_running_runs", labels("pool", p), float64(stats.ByPool[p]))
		}
		family(w, "benchrig_pool_limit_runs", "gauge", "Each pool's limit of runs at once.")
		for _, p := range names {
			if l, ok := stats.Limits[p]; ok {
				sample(w, "benchrig_pool_limit_runs", labels("pool", p), float64(l))
			}
		}
	}
	if counts != nil {
		family(w, "benchrig_runs", "gauge", "Runs in the store, by status.")
		statuses := append([]benchrig.RunStatus{benchrig.RunQueued}, benchrig.RunStatuses...)
		seen := map[benchrig.RunStatus]bool{}
		for _, st := range statuses {
			if seen[st] {
				continue
			}
			seen[st] = true
			sample(w, "benchrig_runs", labels("status", string(st)), float64(counts[st]))
		}
		var other []string
		for st := range counts {
			if !seen[st] {
				other = append(other, string(st))
			}
		}
		slices.Sort(other)
		for _, st := range other {
			sample(w, "benchrig_runs", labels("status", st), float64(counts[benchrig.RunStatus(st)]))
		}
	}

	s.trials.mu.Lock()
	trials := make(map[string]histogram, len(s.trials.dur))
	for k, h := range s.trials.dur {
		trials[k] = h.copy()
	}
	s.trials.mu.Unlock()
	family(w, "benchrig_trial_duration_seconds", "histogram", "Wall time of the trials the server's runs recorded, by outcome.")
	for _, k := range sortedKeys(trials) {
		h := trials[k]
		writeHistogram(w, "benchrig_trial_duration_seconds", labels("outcome", k), &h)
	}

	s.stats.mu.Lock()
	count := make(map[routeStatus]int64, len(s.stats.count))
	for k, v := range s.stats.count {
		count[k] = v
	}
	dur := make(map[Route]histogram, len(s.stats.dur))
	for k, h := range s.stats.dur {
		dur[k] = h.copy()
	}
	s.stats.mu.Unlock()
	keys := make([]routeStatus, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b routeStatus) int {
		return cmp.Or(cmp.Compare(a.Pattern, b.Pattern), cmp.Compare(a.Method, b.Method), cmp.Compare(a.Status, b.Status))
	})
	family(w, "benchrig_http_requests_total", "counter", "HTTP requests answered, by route and status.")
	for _, k := range keys {
		sample(w, "benchrig_http_requests_total",
			labels("method", k.Method, "route", k.Pattern, "status", strconv.Itoa(k.Status)), float64(count[k]))
	}
	routes := make([]Route, 0, len(dur))
	for k := range dur {
		routes = append(routes, k)
	}
	slices.SortFunc(routes, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Pattern, b.Pattern), cmp.Compare(a.Method, b.Method))
	})
	family(w, "benchrig_http_request_duration_seconds", "histogram", "Time to answer HTTP requests, by route (an event stream counts until it ends).")
	for _, rt := range routes {
		h := dur[rt]
		writeHistogram(w, "benchrig_http_request_duration_seconds", labels("method", rt.Method, "route", rt.Pattern), &h)
	}
}

func (h *histogram) copy() histogram {
	c := *h
	c.counts = slices.Clone(h.counts)
	return c
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func family(w io.Writer, name, typ, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

// labels renders name/value pairs as {a="x",b="y"}, values escaped as the
// text format wants (backslash, double quote, line feed).
func labels(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func sample(w io.Writer, name, lbls string, v float64) {
	fmt.Fprintf(w, "%s%s %s\n", name, lbls, strconv.FormatFloat(v, 'g', -1, 64))
}

// writeHistogram writes h's cumulative buckets, sum and count; lbls is
// "{...}" and gains le for the buckets.
func writeHistogram(w io.Writer, name, lbls string, h *histogram) {
	inner := strings.TrimSuffix(strings.TrimPrefix(lbls, "{"), "}")
	sep := ""
	if inner != "" {
		sep = ","
	}
	var cum int64
	for i, b := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{%s%sle=\"%s\"} %d\n", name, inner, sep, strconv.FormatFloat(b, 'g', -1, 64), cum)
	}
	cum += h.counts[len(h.bounds)]
	fmt.Fprintf(w, "%s_bucket{%s%sle=\"+Inf\"} %d\n", name, inner, sep, cum)
	fmt.Fprintf(w, "%s_sum%s %s\n", name, lbls, strconv.FormatFloat(h.sum, 'g', -1, 64))
	fmt.Fprintf(w, "%s_count%s %d\n", name, lbls, h.n)
}
