package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/testenv"
	"github.com/benchrig/benchrig/sqlite"
	"github.com/benchrig/benchrig/web"
)

// liveRuns is a queue whose one run emits an event every step until its
// run-finished event (seq total), as a run's Watch does: recorded events
// first, then live ones.
type liveRuns struct {
	start time.Time
	step  time.Duration
	total int64
}

var _ web.Runs = (*liveRuns)(nil)

func (q *liveRuns) Submit(ctx context.Context, sub benchrig.Submission) (*benchrig.Run, error) {
	return &benchrig.Run{ID: "submitted", Status: benchrig.RunQueued}, nil
}

func (q *liveRuns) Cancel(ctx context.Context, id string) error { return nil }

func (q *liveRuns) Watch(ctx context.Context, id string, after int64) (<-chan benchrig.Event, error) {
	ch := make(chan benchrig.Event)
	go func() {
		defer close(ch)
		for seq := after + 1; seq <= q.total; seq++ {
			at := q.start.Add(time.Duration(seq) * q.step)
			if d := time.Until(at); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			kind := benchrig.EventTrialFinished
			if seq == q.total {
				kind = benchrig.EventRunFinished
			}
			select {
			case ch <- benchrig.Event{Run: id, Seq: seq, Kind: kind, Time: at}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

func (q *liveRuns) Stats() benchrig.QueueStats { return benchrig.QueueStats{} }

// serve starts an in-process server with a store of a few runs, one of
// them running.
func serve(t *testing.T, runs web.Runs) string {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	t0 := time.Now().Add(-time.Hour)
	for i, st := range []benchrig.RunStatus{benchrig.RunFinished, benchrig.RunFailed, benchrig.RunRunning} {
		run := &benchrig.Run{ID: "run-" + strconv.Itoa(i), SpecName: "sort", Status: st, Started: t0.Add(time.Duration(i) * time.Minute),
			Cases: benchrig.Matrix([]benchrig.Param{{Name: "n", Values: []string{"1", "2"}}})}
		if st != benchrig.RunRunning {
			run.Finished = run.Started.Add(time.Minute)
		}
		if err := db.CreateRun(context.Background(), run); err != nil {
			t.Fatal(err)
		}
	}
	tokens := web.Tokens{web.NewToken("viewer", web.RoleRead, "read-secret-0123456789"), web.NewToken("ci", web.RoleSubmit, "submit-secret-0123456789")}
	s := web.New(web.Config{Tokens: tokens}, web.Deps{Store: db, Runs: runs})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestServeLoadInProcess(t *testing.T) {
	runs := &liveRuns{start: time.Now(), step: 10 * time.Millisecond, total: 60}
	u := serve(t, runs)
	spec := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(spec, []byte("name: x\ncommand: [true]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-url", u, "-token", "read-secret-0123456789",
		"-submit-token", "submit-secret-0123456789", "-spec", spec, "-submit-share", "0.1",
		"-clients", "8", "-watchers", "6", "-duration", "1500ms", "-retry", "50ms"}, &out, &errOut)
	t.Logf("\n%s%s", out.String(), errOut.String())
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	num := func(label string) int {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + label + `\s+(\d+)`).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("no %q line", label)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if num("requests") == 0 || num("errors") != 0 {
		t.Errorf("requests %d errors %d", num("requests"), num("errors"))
	}
	// Every watcher saw the whole run once (its stream ended at
	// run-finished), and resumed after it without seeing an event twice
	// (readStream fails on that).
	if got := num("sse events"); got != 6*60 {
		t.Errorf("sse events %d, want %d: each watcher sees each event once", got, 6*60)
	}
	if num("reconnects") == 0 {
		t.Error("no reconnects: the watchers never resumed")
	}
	if !strings.Contains(out.String(), "submits)") || strings.Contains(out.String(), " 0 submits)") {
		t.Errorf("no submits: %s", out.String())
	}
	if !regexp.MustCompile(`latency\s+p50 \d+\.\d\d ms  p90 .* p99 .* max `).MatchString(out.String()) {
		t.Errorf("no latency line: %s", out.String())
	}
}

// TestServeLoadCountsErrors shows a failing server fails the benchmark:
// a token the server does not know makes every request a 401.
func TestServeLoadCountsErrors(t *testing.T) {
	runs := &liveRuns{start: time.Now(), step: time.Millisecond, total: 3}
	u := serve(t, runs)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-url", u, "-token", "read-secret-0123456789", "-run", "run-2",
		"-clients", "2", "-watchers", "0", "-duration", "300ms"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("with a good token: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	code = run(context.Background(), []string{"-url", u, "-token", "read-secret-0123456789", "-run", "run-2",
		"-clients", "2", "-watchers", "1", "-duration", "300ms", "-timeout", "1s"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	// Now the store answers but the events route does not exist for an
	// unknown run: watchers get 404s.
	out.Reset()
	errOut.Reset()
	code = run(context.Background(), []string{"-url", u + "/nothing-here", "-token", "x",
		"-clients", "1", "-watchers", "0", "-duration", "200ms"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "404") {
		t.Errorf("against a wrong URL: exit %d\n%s%s", code, out.String(), errOut.String())
	}
}

// TestServeLoadFull is the figure against an in-process server
// (the real store, a queue whose run emits an event every 100 ms): 200
// clients and 100 watchers for 60 s. BENCHRIG_BENCH=1 runs it; make
// bench-serve runs the same load against bin/benchrig serve.
func TestServeLoadFull(t *testing.T) {
	if os.Getenv("BENCHRIG_BENCH") != "1" {
		testenv.Skip(t, "a measurement of a minute, not a test: set BENCHRIG_BENCH=1 to run it")
	}
	runs := &liveRuns{start: time.Now(), step: 100 * time.Millisecond, total: 900}
	u := serve(t, runs)
	spec := filepath.Join("testdata", "tiny.yaml")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-url", u, "-token", "read-secret-0123456789",
		"-submit-token", "submit-secret-0123456789", "-spec", spec, "-run", "run-2",
		"-clients", "200", "-watchers", "100", "-duration", "60s"}, &out, &errOut)
	t.Logf("\n%s%s", out.String(), errOut.String())
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
}
