package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/benchrig/benchrig"
)

// TestMetrics parses /metrics with Prometheus's own text parser and checks
// the queue, the runs by status (from the real store), the trial and
// request histograms and the adapters' counters.
func TestMetrics(t *testing.T) {
	runs := &fakeRuns{stats: func() benchrig.QueueStats {
		return benchrig.QueueStats{Queued: 3, Running: 2, ByPool: map[string]int{"lab": 2}, Limits: map[string]int{"lab": 2, `we"ird\pool`: 1}}
	}}
	es := func(w io.Writer) {
		fmt.Fprint(w, "# HELP benchrig_es_documents_shipped_total Documents shipped to Elasticsearch.\n# TYPE benchrig_es_documents_shipped_total counter\nbenchrig_es_documents_shipped_total 42\n")
	}
	s, ts, db := testServer(t, Config{}, Deps{Runs: runs, Metrics: es})
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	storeRun(t, db, "a", "sort", benchrig.RunFinished, t0, nil)
	storeRun(t, db, "b", "sort", benchrig.RunFinished, t0.Add(time.Minute), nil)
	storeRun(t, db, "c", "sort", benchrig.RunFailed, t0.Add(2*time.Minute), nil)
	// A running run without a heartbeat for long is interrupted, as the
	// store lists it.
	stale := &benchrig.Run{ID: "d", SpecName: "sort", Status: benchrig.RunRunning, Started: t0, Heartbeat: t0}
	if err := db.CreateRun(context.Background(), stale); err != nil {
		t.Fatal(err)
	}
	s.ObserveEvent(trialFinished(benchrig.OutcomeOK, 2*time.Second))
	s.ObserveEvent(trialFinished(benchrig.OutcomeOK, 20*time.Millisecond))
	s.ObserveEvent(trialFinished(benchrig.OutcomeTimeout, time.Minute))
	for range 3 {
		do(t, "GET", ts.URL+"/healthz", "", "", nil)
	}
	do(t, "GET", ts.URL+"/api/v1/runs", "", "", nil) // 401

	resp, b := do(t, "GET", ts.URL+"/metrics", readSecret, "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("status %d, %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not Prometheus text: %v\n%s", err, b)
	}
	value := func(name string, lbls ...string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("no %s in\n%s", name, b)
		}
	metrics:
		for _, m := range f.Metric {
			have := map[string]string{}
			for _, l := range m.Label {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(lbls); i += 2 {
				if have[lbls[i]] != lbls[i+1] {
					continue metrics
				}
			}
			switch f.GetType() {
			case dto.MetricType_GAUGE:
				return m.Gauge.GetValue()
			case dto.MetricType_COUNTER:
				return m.Counter.GetValue()
			case dto.MetricType_HISTOGRAM:
				return float64(m.Histogram.GetSampleCount())
			case dto.MetricType_UNTYPED:
				return m.Untyped.GetValue()
			}
		}
		t.Fatalf("no %s%v in\n%s", name, lbls, b)
		return 0
	}
	for _, c := range []struct {
		name string
		lbls []string
		want float64
	}{
		{"benchrig_queue_runs", []string{"state", "queued"}, 3},
		{"benchrig_queue_runs", []string{"state", "running"}, 2},
		{"benchrig_pool_running_runs", []string{"pool", "lab"}, 2},
		{"benchrig_pool_limit_runs", []string{"pool", `we"ird\pool`}, 1},
		{"benchrig_runs", []string{"status", "finished"}, 2},
		{"benchrig_runs", []string{"status", "failed"}, 1},
		{"benchrig_runs", []string{"status", "interrupted"}, 1},
		{"benchrig_runs", []string{"status", "running"}, 0},
		{"benchrig_trial_duration_seconds", []string{"outcome", "ok"}, 2},
		{"benchrig_trial_duration_seconds", []string{"outcome", "timeout"}, 1},
		{"benchrig_http_requests_total", []string{"route", "/healthz", "status", "200"}, 3},
		{"benchrig_http_requests_total", []string{"route", "/api/v1/runs", "method", "GET", "status", "401"}, 1},
		{"benchrig_http_request_duration_seconds", []string{"route", "/healthz", "method", "GET"}, 3},
		{"benchrig_es_documents_shipped_total", nil, 42},
	} {
		if got := value(c.name, c.lbls...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.lbls, got, c.want)
		}
	}
	// The trial histogram's buckets are cumulative and its sum is the
	// seconds observed.
	for _, m := range fams["benchrig_trial_duration_seconds"].Metric {
		if m.Label[0].GetValue() != "ok" {
			continue
		}
		h := m.Histogram
		if got := h.GetSampleSum(); got != 2.02 {
			t.Errorf("ok trials' sum %v, want 2.02", got)
		}
		for _, bk := range h.Bucket {
			want := uint64(0)
			if bk.GetUpperBound() >= 0.02 {
				want++
			}
			if bk.GetUpperBound() >= 2 {
				want++
			}
			if bk.GetCumulativeCount() != want {
				t.Errorf("bucket le=%v: %d, want %d", bk.GetUpperBound(), bk.GetCumulativeCount(), want)
			}
		}
	}
}

func trialFinished(o benchrig.Outcome, wall time.Duration) benchrig.Event {
	return benchrig.Event{Kind: benchrig.EventTrialFinished, Outcome: &o, Duration: wall}
}
