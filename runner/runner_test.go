package runner

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// fakeExec is an Executor whose behaviour each test sets.
type fakeExec struct {
	run func(ctx context.Context, job Job) (benchrig.Measurement, error)
}

var _ Executor = (*fakeExec)(nil)

func (f *fakeExec) Run(ctx context.Context, job Job) (benchrig.Measurement, error) {
	return f.run(ctx, job)
}

// memRecorder is a Recorder that keeps everything in memory.
type memRecorder struct {
	mu         sync.Mutex
	run        *benchrig.Run
	trials     []benchrig.Trial
	events     []benchrig.Event
	notes      map[string]string
	stops      map[string]benchrig.Stop
	nodeEvents []benchrig.NodeEvent
	beats      int
	status     benchrig.RunStatus
	finished   bool
}

var _ Recorder = (*memRecorder)(nil)

func (m *memRecorder) CreateRun(_ context.Context, r *benchrig.Run) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.run = r
	return nil
}

func (m *memRecorder) AddTrial(_ context.Context, t *benchrig.Trial) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.trials = append(m.trials, *t)
	return nil
}

func (m *memRecorder) AddEvents(_ context.Context, es []benchrig.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, es...)
	return nil
}

func (m *memRecorder) SetNote(_ context.Context, _, caseID, note string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.notes == nil {
		m.notes = map[string]string{}
	}
	m.notes[caseID] = note
	return nil
}

func (m *memRecorder) SetStop(_ context.Context, _, caseID string, s benchrig.Stop) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stops == nil {
		m.stops = map[string]benchrig.Stop{}
	}
	m.stops[caseID] = s
	return nil
}

func (m *memRecorder) RecordNodeEvents(_ context.Context, _ string, _ []benchrig.NodeFacts, events []benchrig.NodeEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodeEvents = events
	return nil
}

func (m *memRecorder) Heartbeat(context.Context, string, time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.beats++
	return nil
}

func (m *memRecorder) ReopenRun(context.Context, string, time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status, m.finished = benchrig.RunRunning, false
	var last int64
	for _, e := range m.events {
		last = max(last, e.Seq)
	}
	return last, nil
}

func (m *memRecorder) FinishRun(_ context.Context, id string, s benchrig.RunStatus, _ time.Time, _ map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status, m.finished = s, true
	return nil
}

// constant returns an executor whose every job takes wall, recording the
// argv of each job in calls.
func constant(wall time.Duration, calls *[]string) *fakeExec {
	var mu sync.Mutex
	return &fakeExec{run: func(_ context.Context, job Job) (benchrig.Measurement, error) {
		mu.Lock()
		defer mu.Unlock()
		*calls = append(*calls, strings.Join(job.Argv, " "))
		return benchrig.Measurement{Start: time.Now(), Wall: wall, Source: "fake"}, nil
	}}
}

func testSpec() *benchrig.Spec {
	return &benchrig.Spec{
		Name:    "t",
		Command: benchrig.Command{Argv: []string{"/bin/echo", "{{.impl}}"}},
		Params:  []benchrig.Param{{Name: "impl", Values: []string{"a", "b"}}},
		Repeat:  benchrig.Repeat{Min: 3, Max: 3},
		Warmup:  1,
		Order:   benchrig.Interleaved,
	}
}

func testConfig(e Executor, rec Recorder) Config {
	return Config{Executor: e, Recorder: rec, Environ: []string{"PATH=/usr/bin:/bin"}, Dir: os.TempDir()}
}

func caseOrder(trials []benchrig.Trial) string {
	var ids []string
	for _, t := range trials {
		id := t.CaseID
		if t.Warmup {
			id += "(w)"
		}
		ids = append(ids, id)
	}
	return strings.Join(ids, " ")
}

func TestOrder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order benchrig.Order
		want  string
	}{
		{"interleaved", benchrig.Interleaved, "impl=a(w) impl=b(w) impl=a impl=b impl=a impl=b impl=a impl=b"},
		{"sequential", benchrig.Sequential, "impl=a(w) impl=a impl=a impl=a impl=b(w) impl=b impl=b impl=b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec()
			s.Order = tc.order
			var calls []string
			rec := &memRecorder{}
			run, err := Run(context.Background(), testConfig(constant(time.Millisecond, &calls), rec), s)
			if err != nil {
				t.Fatal(err)
			}
			if got := caseOrder(run.Trials); got != tc.want {
				t.Errorf("order = %s\nwant    %s", got, tc.want)
			}
			if !reflect.DeepEqual(rec.trials, run.Trials) {
				t.Error("recorder did not receive every trial")
			}
			if rec.status != benchrig.RunFinished || run.Status != benchrig.RunFinished {
				t.Errorf("status = %s/%s, want finished", rec.status, run.Status)
			}
			if calls[0] != "/bin/echo a" || calls[1] != "/bin/echo b" && tc.order == benchrig.Interleaved {
				t.Errorf("argv not expanded per case: %v", calls[:2])
			}
			for i, tr := range run.Trials {
				if tr.Seq != i || tr.RunID != run.ID || tr.Node != "local" {
					t.Errorf("trial %d: seq %d run %q node %q", i, tr.Seq, tr.RunID, tr.Node)
				}
			}
		})
	}
}

func TestAdaptive(t *testing.T) {
	walls := []time.Duration{100, 180, 60, 140, 70, 130, 75, 120, 90, 101, 99, 100}
	for _, tc := range []struct {
		name       string
		noisy      bool
		maxTime    time.Duration
		wantTrials int
		wantNote   string
		wantStop   benchrig.StopReason
		noTarget   bool
	}{
		{"steady stops once the CI is known", false, 0, 6, "ci-met", benchrig.StopCIMet, false},
		{"noisy reaches max", true, 0, 12, "ci-not-met: reached max 12", benchrig.StopMax, false},
		{"max time", true, 3 * time.Second, 3, "ci-not-met: max_time 3s", benchrig.StopMaxTime, false},
		// Without until_ci, max_time is a budget, not a missed target.
		{"max time without a CI target", true, 3 * time.Second, 3, "max_time 3s reached after 3 trials", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec()
			s.Params = nil
			s.Command.Argv = []string{"/bin/true"}
			s.Warmup = 0
			s.Repeat = benchrig.Repeat{Min: 5, Max: 12, UntilCI: 0.02, MaxTime: tc.maxTime}
			if tc.maxTime > 0 {
				s.Repeat.Min = 2
			}
			if tc.noTarget {
				s.Repeat.UntilCI = 0
			}
			clock := time.Unix(1e9, 0)
			i := 0
			exec := &fakeExec{run: func(context.Context, Job) (benchrig.Measurement, error) {
				w := 100 * time.Millisecond
				if tc.noisy {
					w = walls[i%len(walls)] * time.Millisecond
				}
				i++
				start := clock
				clock = clock.Add(time.Second)
				return benchrig.Measurement{Start: start, Wall: w}, nil
			}}
			rec := &memRecorder{}
			cfg := testConfig(exec, rec)
			cfg.Now = func() time.Time { return clock }
			run, err := Run(context.Background(), cfg, s)
			if err != nil {
				t.Fatal(err)
			}
			// The stop is data on the run and in the store, beside the note.
			wantTrials := tc.wantTrials
			if tc.noTarget {
				wantTrials = 0 // no stop recorded: nothing was missed
			}
			if st := run.Stops["default"]; st.Reason != tc.wantStop || st.Trials != wantTrials || run.Repeat != s.Repeat {
				t.Errorf("stop %+v, repeat %+v; want %s after %d trials, repeat %+v", st, run.Repeat, tc.wantStop, tc.wantTrials, s.Repeat)
			}
			rec.mu.Lock()
			if rec.stops["default"] != run.Stops["default"] && !math.IsNaN(run.Stops["default"].HalfWidth) {
				t.Errorf("recorded stop %+v, want %+v", rec.stops["default"], run.Stops["default"])
			}
			rec.mu.Unlock()
			if len(run.Trials) != tc.wantTrials {
				t.Errorf("trials = %d, want %d", len(run.Trials), tc.wantTrials)
			}
			if note := run.Notes["default"]; !strings.HasPrefix(note, tc.wantNote) {
				t.Errorf("note = %q, want prefix %q", note, tc.wantNote)
			}
		})
	}
}

func TestSetupFailureSkipsCase(t *testing.T) {
	s := testSpec()
	s.Setup = &benchrig.Command{Shell: "prepare {{.impl}}"}
	var trials []string
	exec := &fakeExec{run: func(_ context.Context, job Job) (benchrig.Measurement, error) {
		if job.Argv[0] == "/bin/sh" {
			if strings.HasSuffix(job.Argv[2], " b") {
				return benchrig.Measurement{ExitCode: 1, StderrTail: "no data for b\n"}, nil
			}
			return benchrig.Measurement{}, nil
		}
		trials = append(trials, job.Argv[1])
		return benchrig.Measurement{Wall: time.Millisecond}, nil
	}}
	run, err := Run(context.Background(), testConfig(exec, &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(trials, "") != "aaaa" {
		t.Errorf("trials ran for %v, want only case a", trials)
	}
	if got := run.Notes["impl=b"]; got != "setup failed (exit status 1): no data for b" {
		t.Errorf("note = %q", got)
	}
	if run.Status != benchrig.RunFailed {
		t.Errorf("status = %s, want failed", run.Status)
	}
}

func TestCleanupRunsAfterCancel(t *testing.T) {
	s := testSpec()
	s.Cleanup = &benchrig.Command{Argv: []string{"/bin/echo", "clean {{.impl}}"}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cleaned []string
	n := 0
	exec := &fakeExec{run: func(ctx context.Context, job Job) (benchrig.Measurement, error) {
		if strings.HasPrefix(job.Argv[1], "clean") {
			if ctx.Err() != nil {
				t.Error("cleanup got a cancelled context")
			}
			cleaned = append(cleaned, job.Argv[1])
			return benchrig.Measurement{}, nil
		}
		n++
		if n == 4 {
			cancel()
			return benchrig.Measurement{Error: "cancelled", ExitCode: -1}, nil
		}
		return benchrig.Measurement{Wall: time.Millisecond}, nil
	}}
	rec := &memRecorder{}
	run, err := Run(ctx, testConfig(exec, rec), s)
	if benchrig.ErrorCode(err) != benchrig.ECancelled {
		t.Fatalf("err = %v, want cancelled", err)
	}
	if len(run.Trials) != 3 || len(rec.trials) != 3 {
		t.Errorf("kept %d trials (recorded %d), want the 3 finished ones", len(run.Trials), len(rec.trials))
	}
	if run.Status != benchrig.RunCancelled || rec.status != benchrig.RunCancelled {
		t.Errorf("status = %s/%s, want cancelled", run.Status, rec.status)
	}
	if strings.Join(cleaned, ",") != "clean a,clean b" {
		t.Errorf("cleanup ran for %v", cleaned)
	}
}

func TestFailedTrialFailsRun(t *testing.T) {
	s := testSpec()
	n := 0
	exec := &fakeExec{run: func(context.Context, Job) (benchrig.Measurement, error) {
		n++
		if n == 5 {
			return benchrig.Measurement{ExitCode: 2, Wall: time.Millisecond}, nil
		}
		return benchrig.Measurement{Wall: time.Millisecond}, nil
	}}
	run, err := Run(context.Background(), testConfig(exec, &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != benchrig.RunFailed || len(run.Trials) != 8 {
		t.Errorf("status %s with %d trials, want failed with all 8 kept", run.Status, len(run.Trials))
	}
}

func TestPrepareErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.dat"), make([]byte, 1000), 0o644)
	os.WriteFile(filepath.Join(dir, "b.dat"), make([]byte, 234), 0o644)
	for _, tc := range []struct {
		name    string
		edit    func(*benchrig.Spec)
		wantErr string
		check   func(*testing.T, *benchrig.Run)
	}{
		{"program not found", func(s *benchrig.Spec) { s.Command.Argv[0] = "no-such-program-xyz" },
			`spec.yaml: command: program "no-such-program-xyz" not found: not in PATH`, nil},
		{"workdir missing", func(s *benchrig.Spec) { s.Workdir = "/nonexistent/{{.impl}}" },
			"spec.yaml: workdir: /nonexistent/a is not a directory", nil},
		{"throughput files none match", func(s *benchrig.Spec) {
			s.Throughput = &benchrig.Throughput{Unit: benchrig.Bytes, Files: []string{"*.none"}}
		}, `spec.yaml: throughput.files: case impl=a and 1 more case(s): no file matches`, nil},
		{"throughput files sum", func(s *benchrig.Spec) {
			s.Throughput = &benchrig.Throughput{Unit: benchrig.Bytes, Files: []string{"*.dat"}}
		}, "", func(t *testing.T, r *benchrig.Run) {
			if r.Throughput["impl=a"] != 1234 || r.ThroughputUnit != benchrig.Bytes {
				t.Errorf("throughput = %v %s, want 1234 bytes", r.Throughput, r.ThroughputUnit)
			}
		}},
		{"throughput template", func(s *benchrig.Spec) {
			s.Params = append(s.Params, benchrig.Param{Name: "n", Values: []string{"500"}})
			s.Throughput = &benchrig.Throughput{Unit: benchrig.Items, Value: "{{.n}}"}
		}, "", func(t *testing.T, r *benchrig.Run) {
			if r.Throughput["impl=b,n=500"] != 500 {
				t.Errorf("throughput = %v, want 500 items", r.Throughput)
			}
		}},
		{"baseline", func(s *benchrig.Spec) { s.Baseline = map[string]string{"impl": "b"} }, "",
			func(t *testing.T, r *benchrig.Run) {
				if r.BaselineID != "impl=b" {
					t.Errorf("baseline = %q", r.BaselineID)
				}
			}},
		{"env expanded", func(s *benchrig.Spec) { s.Env = map[string]string{"IMPL": "x-{{.impl}}"} }, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec()
			s.File = "spec.yaml"
			tc.edit(s)
			var envs [][]string
			exec := &fakeExec{run: func(_ context.Context, job Job) (benchrig.Measurement, error) {
				envs = append(envs, job.Env)
				return benchrig.Measurement{Wall: time.Millisecond}, nil
			}}
			rec := &memRecorder{}
			cfg := testConfig(exec, rec)
			cfg.Dir = dir
			run, err := Run(context.Background(), cfg, s)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) || benchrig.ErrorCode(err) != benchrig.EInvalid {
					t.Fatalf("err = %v, want %q (invalid)", err, tc.wantErr)
				}
				if rec.run != nil {
					t.Error("a run was recorded for an invalid spec")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, run)
			}
			if s.Env != nil {
				want := "IMPL=x-a"
				if envs[0][len(envs[0])-1] != want {
					t.Errorf("env = %v, want it to end with %s", envs[0], want)
				}
			}
		})
	}
}

func TestNewID(t *testing.T) {
	id := NewID(time.Date(2026, 11, 23, 23, 15, 2, 0x1234abcd, time.UTC))
	if id != "20261123-231502-abcd" {
		t.Errorf("NewID = %s", id)
	}
}

// nopWatcher is a Watcher that does nothing, to tell jobs that got the
// configured one from those that did not.
type nopWatcher struct{}

func (nopWatcher) TrialStarted(benchrig.TrialRef, Target)        {}
func (nopWatcher) TrialExited(benchrig.TrialRef) *benchrig.Noise { return nil }

// TestTrialJobsCarryRefAndWatcher checks every trial job gets its trial's
// reference, its case's params and the configured Watcher, and that
// setup, prepare and cleanup jobs get none of them.
func TestTrialJobsCarryRefAndWatcher(t *testing.T) {
	s := testSpec()
	s.Setup = &benchrig.Command{Argv: []string{"/bin/echo", "setup"}}
	s.Prepare = &benchrig.Command{Argv: []string{"/bin/echo", "prepare"}}
	s.Cleanup = &benchrig.Command{Argv: []string{"/bin/echo", "cleanup"}}
	var mu sync.Mutex
	jobs := map[string][]Job{}
	e := &fakeExec{run: func(_ context.Context, job Job) (benchrig.Measurement, error) {
		mu.Lock()
		defer mu.Unlock()
		jobs[job.Argv[1]] = append(jobs[job.Argv[1]], job)
		return benchrig.Measurement{Start: time.Now(), Wall: time.Millisecond, Source: "fake", Noise: &benchrig.Noise{CPUs: 2}}, nil
	}}
	cfg := testConfig(e, &memRecorder{})
	cfg.Watcher = nopWatcher{}
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, hook := range []string{"setup", "prepare", "cleanup"} {
		if len(jobs[hook]) == 0 {
			t.Fatalf("no %s job ran", hook)
		}
		for _, j := range jobs[hook] {
			if !j.Ref.IsZero() || j.Params != nil || j.Watcher != nil {
				t.Errorf("%s job has ref %v, params %v, watcher %v; want none", hook, j.Ref, j.Params, j.Watcher)
			}
		}
	}
	var trialJobs []Job
	for _, impl := range []string{"a", "b"} {
		trialJobs = append(trialJobs, jobs[impl]...)
	}
	if len(trialJobs) != len(run.Trials) {
		t.Fatalf("%d trial jobs for %d trials", len(trialJobs), len(run.Trials))
	}
	refs := map[benchrig.TrialRef]bool{}
	for _, j := range trialJobs {
		if j.Watcher == nil || j.Params["impl"] != j.Argv[1] || j.Ref.Case != "impl="+j.Argv[1] {
			t.Errorf("trial job %v: ref %v, params %v, watcher %v", j.Argv, j.Ref, j.Params, j.Watcher)
		}
		refs[j.Ref] = true
	}
	for _, tr := range run.Trials {
		if !refs[tr.Ref()] {
			t.Errorf("trial %v ran with no job of its reference (refs %v)", tr.Ref(), refs)
		}
		if tr.Noise == nil {
			t.Errorf("trial %v lost the executor's Noise", tr.Ref())
		}
	}
}

// TestNoiseOnlyForTrialsAlone: a trial's noise counts the host's CPU
// outside the trial, so it is kept only when nothing else of the run ran
// beside it: not with instances (the other copies would be the
// "neighbour"), not when another trial ran on the node at the same time.
func TestNoiseOnlyForTrialsAlone(t *testing.T) {
	for _, tc := range []struct {
		name      string
		instances string
		perNode   int
	}{
		{"alone", "", 0},
		{"instances", "2", 0},
		{"trials per node", "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec()
			s.Instances = tc.instances
			s.Placement.TrialsPerNode = tc.perNode
			// With two trials per node, calls pair up: the first of a pair
			// waits (bounded) for the second, so they overlap.
			var mu sync.Mutex
			active := 0
			overlapped := map[benchrig.TrialRef]bool{}
			var waiting chan struct{}
			run := func(_ context.Context, job Job) (benchrig.Measurement, error) {
				mu.Lock()
				active++
				if active > 1 {
					for ref := range overlapped {
						overlapped[ref] = true
					}
					overlapped[job.Ref] = true
				} else {
					overlapped[job.Ref] = false
				}
				var wait chan struct{}
				if tc.perNode > 1 {
					if waiting == nil {
						waiting = make(chan struct{})
						wait = waiting
					} else {
						close(waiting)
						waiting = nil
					}
				}
				mu.Unlock()
				if wait != nil {
					select {
					case <-wait:
					case <-time.After(time.Second): // the last, odd one
					}
				}
				mu.Lock()
				active--
				mu.Unlock()
				return benchrig.Measurement{Start: time.Now(), Wall: time.Millisecond, Source: "fake", Noise: &benchrig.Noise{CPUs: 2}}, nil
			}
			cfg := testConfig(&fakeExec{run: run}, &memRecorder{})
			if tc.perNode > 1 {
				// The local node runs one trial at a time: a node of a pool
				// that takes two.
				n, ne := fakeNode("lab1", "amd64", false, nil)
				n.MaxTrials = 2
				ne.run = func(ctx context.Context, job Job, _ int) (benchrig.Measurement, error) { return run(ctx, job) }
				cfg = nodeConfig(&fakeNodes{nodes: []*Node{n}}, &memRecorder{})
				s.Image = "benchrig/busybox"
			}
			cfg.Watcher = nopWatcher{}
			res, err := Run(context.Background(), cfg, s)
			if err != nil {
				t.Fatal(err)
			}
			beside := 0
			for _, tr := range res.Trials {
				want := tc.instances == "" && !overlapped[tr.Ref()]
				if !want {
					beside++
				}
				if got := tr.Noise != nil; got != want {
					t.Errorf("trial %v (overlapped %v): noise %v, want noise %v", tr.Ref(), overlapped[tr.Ref()], tr.Noise, want)
				}
			}
			if (tc.name != "alone") != (beside > 0) {
				t.Errorf("%d of %d trials ran beside another", beside, len(res.Trials))
			}
		})
	}
}
