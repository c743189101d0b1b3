package app

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
	"github.com/benchrig/benchrig/sqlite"
)

// fakeExec is an Executor that tells the job's Watcher about each trial,
// as the local executor does with cgroups, and measures nothing real.
type fakeExec struct {
	mode string
	run  func(job runner.Job) // called for every job, nil: nothing
}

var _ Executor = (*fakeExec)(nil)

func (e *fakeExec) Run(_ context.Context, job runner.Job) (benchrig.Measurement, error) {
	m := benchrig.Measurement{Start: time.Now(), Wall: time.Millisecond, Source: e.mode}
	if job.Watcher != nil {
		job.Watcher.TrialStarted(job.Ref, runner.Target{PID: 1, Params: job.Params, Started: m.Start})
		m.Noise = job.Watcher.TrialExited(job.Ref)
	}
	if e.run != nil {
		e.run(job)
	}
	return m, nil
}
func (e *fakeExec) Mode() string    { return e.mode }
func (e *fakeExec) Warning() string { return "" }
func (e *fakeExec) Notes() []string { return nil }

// fakeCollector is a Collector made of functions; nil ones do nothing.
type fakeCollector struct {
	started func(benchrig.TrialRef, runner.Target)
	exited  func(benchrig.TrialRef) *benchrig.Noise
	run     func(ctx context.Context) error
	cost    func() benchrig.CollectorCost
}

var _ Collector = (*fakeCollector)(nil)

func (f *fakeCollector) TrialStarted(ref benchrig.TrialRef, t runner.Target) { f.started(ref, t) }
func (f *fakeCollector) TrialExited(ref benchrig.TrialRef) *benchrig.Noise   { return f.exited(ref) }
func (f *fakeCollector) Run(ctx context.Context) error                       { return f.run(ctx) }
func (f *fakeCollector) Cost() benchrig.CollectorCost                        { return f.cost() }

// sampling returns a fake collector that, like the real one, takes a
// final sample of each trial when it exits, and ships them (and its own
// final sample) to the sink when its Run's ctx ends; cfgs gets its config.
func sampling(cfgs *[]CollectorConfig) func(CollectorConfig) (Collector, error) {
	return func(cfg CollectorConfig) (Collector, error) {
		*cfgs = append(*cfgs, cfg)
		var mu sync.Mutex
		var pending []benchrig.Sample
		return &fakeCollector{
			started: func(benchrig.TrialRef, runner.Target) {},
			exited: func(ref benchrig.TrialRef) *benchrig.Noise {
				mu.Lock()
				defer mu.Unlock()
				pending = append(pending, benchrig.Sample{Time: time.Now(), Run: ref.Run, Node: cfg.Node, Kind: benchrig.SampleTrial, Final: true, Trial: &ref})
				return &benchrig.Noise{Window: time.Millisecond, CPUs: 2, OtherCPU: time.Millisecond, Disturbed: true}
			},
			run: func(ctx context.Context) error {
				<-ctx.Done()
				mu.Lock()
				defer mu.Unlock()
				pending = append(pending, benchrig.Sample{Time: time.Now(), Run: cfg.RunID, Node: cfg.Node, Kind: benchrig.SampleCollector, Final: true})
				return cfg.Sink.WriteSamples(context.Background(), pending)
			},
			cost: func() benchrig.CollectorCost {
				return benchrig.CollectorCost{Node: cfg.Node, Mode: "in-process", Interval: cfg.Interval, CPU: time.Millisecond, Wall: time.Second, Samples: int64(len(pending))}
			},
		}, nil
	}
}

// fakeResults is a ResultSink that keeps what it is given; err, when set,
// fails every write (and counts it as failed).
type fakeResults struct {
	mu      sync.Mutex
	err     error
	block   chan struct{} // when set, WriteTrial waits for it to close
	samples []benchrig.Sample
	trials  []benchrig.TrialRef
	events  int
	runs    []*benchrig.Run
	closed  bool
	failed  int64
}

var _ ResultSink = (*fakeResults)(nil)

func (f *fakeResults) write(n int) error {
	if f.err != nil {
		f.failed += int64(n)
	}
	return f.err
}

func (f *fakeResults) WriteSamples(_ context.Context, s []benchrig.Sample) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.samples = append(f.samples, s...)
	return f.write(len(s))
}

func (f *fakeResults) WriteTrial(_ context.Context, run *benchrig.Run, t *benchrig.Trial) error {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if run.ID != t.RunID {
		return errors.New("trial shipped with another run")
	}
	f.trials = append(f.trials, t.Ref())
	return f.write(1)
}

func (f *fakeResults) WriteEvents(_ context.Context, _ *benchrig.Run, es []benchrig.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events += len(es)
	return f.write(len(es))
}

func (f *fakeResults) WriteRun(_ context.Context, run *benchrig.Run) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, run)
	return f.write(1)
}

func (f *fakeResults) Counters() benchrig.ShipCounters {
	f.mu.Lock()
	defer f.mu.Unlock()
	return benchrig.ShipCounters{Sent: int64(len(f.samples)+len(f.trials)+f.events) - f.failed, Failed: f.failed}
}

func (f *fakeResults) Close(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return f.err
}

// runLocal runs the test spec (2 trials) on a fake cgroup executor.
func runLocal(t *testing.T, a *App, spec string, req benchrig.RunRequest) *benchrig.Run {
	t.Helper()
	if a.Executors == nil {
		a.Executors = map[string]func(bool) Executor{"local": func(bool) Executor { return &fakeExec{mode: "cgroup-v2"} }}
	}
	req.SpecFile = spec
	h, err := a.Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	run, err := h.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != benchrig.RunFinished {
		t.Fatalf("run %s, want finished", run.Status)
	}
	return run
}

func TestCollectToStore(t *testing.T) {
	a, _, spec := newApp(t, time.Now())
	var cfgs []CollectorConfig
	a.NewCollector = sampling(&cfgs)
	run := runLocal(t, a, spec, benchrig.RunRequest{})
	if len(cfgs) != 1 || cfgs[0].RunID != run.ID || cfgs[0].Interval != time.Second || cfgs[0].Node != "local" {
		t.Fatalf("collector configs %+v, want one for run %s every 1s", cfgs, run.ID)
	}
	db := a.Store.(*sqlite.DB)
	samples, err := db.Samples(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 3 { // two trials' final samples and the collector's
		t.Errorf("stored %d samples, want 3: %+v", len(samples), samples)
	}
	stored, err := db.GetRun(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := stored.Collection
	if c == nil || c.Interval != time.Second || c.Sink != "store" || len(c.Collectors) != 1 || c.Collectors[0].Samples != 3 ||
		c.Shipping != (benchrig.ShipCounters{Sent: 3}) || len(c.Warnings) != 0 {
		t.Errorf("stored Collection = %+v", c)
	}
	if run.Collection == nil || run.Collection.Shipping.Sent != 3 {
		t.Errorf("returned run's Collection = %+v", run.Collection)
	}
	for _, tr := range stored.Trials {
		if tr.Noise == nil || !tr.Noise.Disturbed {
			t.Errorf("trial %v: noise %+v, want the watcher's", tr.Ref(), tr.Noise)
		}
	}
}

func TestCollectSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		spec     string
		req      benchrig.RunRequest
		mode     string
		factory  bool
		interval time.Duration // 0: no collector made, no Collection
		warning  string
	}{
		{"spec interval", "collect: {interval: 200ms}\n", benchrig.RunRequest{}, "cgroup-v2", true, 200 * time.Millisecond, ""},
		{"flag wins", "collect: {interval: 200ms}\n", benchrig.RunRequest{CollectInterval: 100 * time.Millisecond}, "cgroup-v2", true, 100 * time.Millisecond, ""},
		{"spec off", "collect: {enabled: false}\n", benchrig.RunRequest{}, "cgroup-v2", true, 0, ""},
		{"flag off", "", benchrig.RunRequest{NoCollect: true}, "cgroup-v2", true, 0, ""},
		{"flag on over spec off", "collect: {enabled: false}\n", benchrig.RunRequest{CollectInterval: time.Second}, "cgroup-v2", true, time.Second, ""},
		{"rusage", "", benchrig.RunRequest{}, "rusage", true, time.Second, warnRusage},
		{"no factory", "", benchrig.RunRequest{}, "cgroup-v2", false, time.Second, warnNoFactory},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _, spec := newApp(t, time.Now())
			if err := writeFile(spec, specSrc+tc.spec); err != nil {
				t.Fatal(err)
			}
			var cfgs []CollectorConfig
			if tc.factory {
				a.NewCollector = sampling(&cfgs)
			}
			a.Executors = map[string]func(bool) Executor{"local": func(bool) Executor { return &fakeExec{mode: tc.mode} }}
			run := runLocal(t, a, spec, tc.req)
			c := run.Collection
			if tc.interval == 0 {
				if c != nil || len(cfgs) != 0 {
					t.Errorf("collection off: Collection %+v, %d collectors", c, len(cfgs))
				}
				return
			}
			if c == nil || c.Interval != tc.interval {
				t.Fatalf("Collection = %+v, want interval %v", c, tc.interval)
			}
			if tc.factory && (len(cfgs) != 1 || cfgs[0].Interval != tc.interval) {
				t.Errorf("collectors %+v, want one every %v", cfgs, tc.interval)
			}
			if tc.warning != "" && !slices.Contains(c.Warnings, tc.warning) {
				t.Errorf("warnings %q, want %q", c.Warnings, tc.warning)
			}
		})
	}
}

func TestCollectToResultSink(t *testing.T) {
	a, _, spec := newApp(t, time.Now())
	var cfgs []CollectorConfig
	a.NewCollector = sampling(&cfgs)
	res := &fakeResults{}
	a.Results, a.ResultsName = res, "elasticsearch http://127.0.0.1:9200"
	run := runLocal(t, a, spec, benchrig.RunRequest{})
	res.mu.Lock()
	defer res.mu.Unlock()
	if len(res.samples) != 3 || len(res.trials) != 2 || res.events == 0 || len(res.runs) != 1 || !res.closed {
		t.Errorf("result sink got %d samples, %d trials, %d events, %d runs, closed %v; want 3, 2, some, 1, true",
			len(res.samples), len(res.trials), res.events, len(res.runs), res.closed)
	}
	if len(res.runs) == 1 && (res.runs[0].Collection == nil || len(res.runs[0].Collection.Collectors) != 1) {
		t.Errorf("run shipped without its collection: %+v", res.runs[0].Collection)
	}
	if s, err := a.Store.(*sqlite.DB).Samples(context.Background(), run.ID); err != nil || len(s) != 0 {
		t.Errorf("store has %d samples (%v): they go to the result sink only", len(s), err)
	}
	stored, err := a.Store.GetRun(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c := stored.Collection; c == nil || c.Sink != a.ResultsName || c.Shipping.Sent == 0 || len(stored.Trials) != 2 {
		t.Errorf("stored run: Collection %+v, %d trials", c, len(stored.Trials))
	}
}

// TestFailingResultSink checks a result sink that refuses everything
// costs the run nothing: its trials are in the store, it finishes, and
// the failures are warnings and counters.
func TestFailingResultSink(t *testing.T) {
	a, _, spec := newApp(t, time.Now())
	var cfgs []CollectorConfig
	a.NewCollector = sampling(&cfgs)
	a.Results = &fakeResults{err: errors.New("connection refused")}
	run := runLocal(t, a, spec, benchrig.RunRequest{})
	stored, err := a.Store.GetRun(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Trials) != 2 || stored.Status != benchrig.RunFinished {
		t.Fatalf("stored run %s with %d trials, want finished with 2", stored.Status, len(stored.Trials))
	}
	c := stored.Collection
	if c == nil || c.Shipping.Failed == 0 {
		t.Fatalf("Collection = %+v, want failures counted", c)
	}
	text := strings.Join(c.Warnings, "\n")
	for _, want := range []string{"collector: connection refused", "result sink: ", "write(s) failed", "result sink: run not shipped: connection refused", "result sink: close: connection refused"} {
		if !strings.Contains(text, want) {
			t.Errorf("warnings\n%s\nwant %q", text, want)
		}
	}
}

// TestResultSinkNeverDelaysTrials blocks the result sink's WriteTrial until
// every trial has run: the runner must get there without it.
func TestResultSinkNeverDelaysTrials(t *testing.T) {
	a, _, spec := newApp(t, time.Now())
	res := &fakeResults{block: make(chan struct{})}
	a.Results = res
	var mu sync.Mutex
	ran := 0
	allRan := make(chan struct{})
	a.Executors = map[string]func(bool) Executor{"local": func(bool) Executor {
		return &fakeExec{mode: "cgroup-v2", run: func(runner.Job) {
			mu.Lock()
			defer mu.Unlock()
			if ran++; ran == 2 {
				close(allRan)
			}
		}}
	}}
	h, err := a.Run(context.Background(), benchrig.RunRequest{SpecFile: spec, NoCollect: true})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-allRan:
	case <-time.After(10 * time.Second): // a bound on a wait for an event, not a timing
		t.Fatal("the runner waited for the result sink")
	}
	close(res.block)
	run, err := h.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.trials) != 2 || run.Collection == nil || run.Collection.Interval != 0 {
		t.Errorf("%d trials shipped, Collection %+v; want 2, shipped with collection off", len(res.trials), run.Collection)
	}
}

func TestContainerSample(t *testing.T) {
	start := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	tr := &benchrig.Trial{RunID: "r", CaseID: "n=1", Index: 3, Attempt: 1, Node: "lab1",
		Measurement: benchrig.Measurement{Start: start, Wall: 40 * time.Millisecond, User: 30 * time.Millisecond, Sys: 5 * time.Millisecond, MaxRSS: 1 << 20,
			Source: "shim+cgroup-v1", Metrics: map[string]float64{"container_cpu_s": 0.036, "container_user_s": 0.03, "container_sys_s": 0.006,
				"container_mem_peak_bytes": 2 << 20, "pids_peak": 2, "cpu_throttled_ns": 0}}}
	s := ContainerSample(tr, map[string]string{"n": "1"}, "arm64")
	if s.ID() != "r/lab1/trial/"+tr.Ref().String()+"/0" || !s.Final || s.Seq != 0 || !s.Time.Equal(start.Add(40*time.Millisecond)) || s.Arch != "arm64" || s.Params["n"] != "1" {
		t.Errorf("sample %+v (ID %s)", s, s.ID())
	}
	cg := s.Cgroup
	if *cg.CPU != 36*time.Millisecond || *cg.User != 30*time.Millisecond || *cg.MemoryPeak != 2<<20 || *cg.PidsPeak != 2 || *cg.Throttled != 0 || s.Error != "" {
		t.Errorf("cgroup figures %+v, error %q", cg, s.Error)
	}
	tr.Metrics = map[string]float64{}
	tr.Source = "shim"
	s = ContainerSample(tr, nil, "")
	if *s.Cgroup.CPU != 35*time.Millisecond || *s.Cgroup.MemoryPeak != 1<<20 || s.Cgroup.PidsPeak != nil || s.Error == "" {
		t.Errorf("without the shim's cgroup: %+v, error %q", s.Cgroup, s.Error)
	}
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }
