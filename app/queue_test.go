package app

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
	"github.com/benchrig/benchrig/sqlite"
)

// gates is a fake pool world: every pool has one node whose executor
// holds each trial of a run until the test opens that run's gate, and
// reports every trial it starts.
type gates struct {
	mu      sync.Mutex
	open    map[string]chan struct{} // run ID -> closed when its trials may end
	started chan benchrig.TrialRef
	ran     map[string]int // run ID -> trials that ended (not cancelled)
}

func newGates() *gates {
	return &gates{open: map[string]chan struct{}{}, started: make(chan benchrig.TrialRef, 100), ran: map[string]int{}}
}

func (g *gates) gate(run string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch, ok := g.open[run]
	if !ok {
		ch = make(chan struct{}, 100)
		g.open[run] = ch
	}
	return ch
}

// release lets every trial of run end; allow lets n more end.
func (g *gates) release(run string) { close(g.gate(run)) }
func (g *gates) allow(run string, n int) {
	for range n {
		g.gate(run) <- struct{}{}
	}
}

func (g *gates) trials(run string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ran[run]
}

// gateExec is one node's executor.
type gateExec struct {
	g    *gates
	name string
}

func (e *gateExec) Run(ctx context.Context, job runner.Job) (benchrig.Measurement, error) {
	if job.Ref.IsZero() {
		return benchrig.Measurement{Start: time.Now(), Source: "fake"}, nil
	}
	e.g.started <- job.Ref
	select {
	case <-e.g.gate(job.Ref.Run):
	case <-ctx.Done():
		return benchrig.Measurement{Start: time.Now(), Error: benchrig.ReasonCancelled, Source: "fake"}, nil
	}
	e.g.mu.Lock()
	e.g.ran[job.Ref.Run]++
	e.g.mu.Unlock()
	return benchrig.Measurement{Start: time.Now(), Wall: time.Millisecond, Source: "fake"}, nil
}

func (e *gateExec) Facts(context.Context) (benchrig.NodeFacts, error) {
	return benchrig.NodeFacts{Name: e.name, Arch: "amd64"}, nil
}

// gateDriver is the NodeDriver of some pools: one node each.
type gateDriver struct {
	g     *gates
	pools []string
}

func (d *gateDriver) Nodes(context.Context) ([]*runner.Node, error) {
	var out []*runner.Node
	for _, p := range d.pools {
		if p == "down" {
			return nil, benchrig.Errorf(benchrig.EUnavailable, "pool down: node down-1: connection refused")
		}
		name := p + "-1"
		out = append(out, &runner.Node{Name: name, Pool: p, MaxTrials: 1, Executor: &gateExec{g: d.g, name: name},
			Facts: benchrig.NodeFacts{Name: name, Arch: "amd64"}})
	}
	return out, nil
}
func (d *gateDriver) RemoveRun(context.Context, string) (int, error) { return 0, nil }
func (d *gateDriver) Close() error                                   { return nil }

type queueWorld struct {
	db    *sqlite.DB
	dir   string
	g     *gates
	q     *Queue
	stop  context.CancelFunc
	done  chan error
	pols  map[string]benchrig.PoolPolicy
	limit map[string]int
}

func openWorld(t *testing.T, dir string, g *gates, limits map[string]int, mod func(*QueueConfig)) *queueWorld {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := &App{Store: db, Nodes: func(_ string, pools []string) (NodeDriver, error) { return &gateDriver{g: g, pools: pools}, nil },
		Executors: map[string]func(bool) Executor{"local": func(bool) Executor { return &fakeExec{mode: "rusage"} }}}
	w := &queueWorld{db: db, dir: dir, g: g, pols: map[string]benchrig.PoolPolicy{"a": {}, "b": {}, "down": {}, "priv": {Privileged: true}}}
	cfg := QueueConfig{App: a, DataDir: filepath.Join(dir, "data"), PoolsFile: "/pools.yaml", Limits: limits,
		Policies: func(_ string, pools []string) (map[string]benchrig.PoolPolicy, error) {
			out := map[string]benchrig.PoolPolicy{}
			for _, p := range pools {
				pol, ok := w.pols[p]
				if !ok {
					return nil, &benchrig.Error{Code: benchrig.EInvalid, Field: "pools", Msg: fmt.Sprintf("no pool %q in the pools file", p)}
				}
				out[p] = pol
			}
			return out, nil
		}}
	if mod != nil {
		mod(&cfg)
	}
	q, err := NewQueue(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.q = q
	return w
}

func (w *queueWorld) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w.stop, w.done = cancel, make(chan error, 1)
	go func() { w.done <- w.q.Run(ctx) }()
	t.Cleanup(func() { w.shutdown(t) })
}

func (w *queueWorld) shutdown(t *testing.T) {
	t.Helper()
	if w.stop == nil {
		return
	}
	w.stop()
	w.stop = nil
	select {
	case err := <-w.done:
		if err != nil {
			t.Errorf("queue Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("queue did not stop")
	}
}

func poolSpec(name string, repeat int, pools ...string) []byte {
	return fmt.Appendf(nil, "name: %s\ncommand: 'sleep 1'\nimage: benchrig/busybox\nrepeat: %d\nwarmup: 0\npools: [%s]\n", name, repeat, strings.Join(pools, ", "))
}

func (w *queueWorld) submit(t *testing.T, spec []byte) *benchrig.Run {
	t.Helper()
	r, err := w.q.Submit(context.Background(), benchrig.Submission{Spec: spec, SpecName: "submitted.yaml", By: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// waitFor polls cond until it holds, failing after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (w *queueWorld) status(t *testing.T, id string) benchrig.RunStatus {
	t.Helper()
	r, err := w.db.GetRun(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r.Status
}

func (w *queueWorld) waitStatus(t *testing.T, id string, want benchrig.RunStatus) {
	t.Helper()
	waitFor(t, fmt.Sprintf("run %s %s", id, want), func() bool { return w.status(t, id) == want })
}

// nextStart is the next trial any node started.
func (g *gates) nextStart(t *testing.T) benchrig.TrialRef {
	t.Helper()
	select {
	case ref := <-g.started:
		return ref
	case <-time.After(20 * time.Second):
		t.Fatal("no trial started")
	}
	return benchrig.TrialRef{}
}

func TestQueueSubmitRecordsQueuedRun(t *testing.T) {
	w := openWorld(t, t.TempDir(), newGates(), nil, nil)
	r := w.submit(t, poolSpec("queued-spec", 2, "a"))
	got, err := w.db.GetRun(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != benchrig.RunQueued || got.By != "tester" || got.SpecName != "queued-spec" || got.Request == nil ||
		got.Request.PoolsFile != "/pools.yaml" || !strings.HasPrefix(got.SpecFile, filepath.Join(w.dir, "data", "specs")+"/") ||
		filepath.Base(got.SpecFile) != got.SpecHash+".yaml" || got.Request.FilesRoot != got.Request.Dir || got.Request.Dir == "" {
		t.Errorf("recorded %+v", got)
	}
	page, err := w.db.ListRuns(context.Background(), benchrig.RunFilter{Status: []benchrig.RunStatus{benchrig.RunQueued}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Runs) != 1 || page.Runs[0].ID != r.ID {
		t.Errorf("queued runs %+v, want %s", page.Runs, r.ID)
	}
	if st := w.q.Stats(); st.Queued != 1 || st.Running != 0 || st.Limits["a"] != 1 || st.Limits["local"] != 1 || st.QueuedByPool["a"] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestQueueSubmitRefuses(t *testing.T) {
	w := openWorld(t, t.TempDir(), newGates(), nil, nil)
	for _, tc := range []struct {
		name, spec, field, msg string
	}{
		{"no pools", "name: x\ncommand: 'true'\n", "pools", "--allow-local"},
		{"privileged", "name: x\ncommand: 'true'\nimage: i\npools: [a]\ncontainer: {privileged: true}\n", "container.privileged", "pool a"},
		{"unknown pool", "name: x\ncommand: 'true'\nimage: i\npools: [nope]\n", "pools", "nope"},
		{"bad yaml field", "name: x\ncommand: 'true'\nrepeat: lots\n", "repeat", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.q.Submit(context.Background(), benchrig.Submission{Spec: []byte(tc.spec), SpecName: "mine.yaml"})
			if benchrig.ErrorCode(err) != benchrig.EInvalid {
				t.Fatalf("err %v, want EInvalid", err)
			}
			if !strings.Contains(err.Error(), "mine.yaml") || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err %q, want the file, field %s and %q", err, tc.field, tc.msg)
			}
		})
	}
	t.Run("privileged allowed by the pool", func(t *testing.T) {
		if _, err := w.q.Submit(context.Background(), benchrig.Submission{Spec: []byte("name: x\ncommand: 'true'\nimage: i\npools: [priv]\ncontainer: {privileged: true}\n")}); err != nil {
			t.Errorf("err %v, want the run queued", err)
		}
	})
	if st := w.q.Stats(); st.Queued != 1 {
		t.Errorf("%d runs queued, want only the allowed one", st.Queued)
	}
}

func TestQueueOrderAndPoolLimits(t *testing.T) {
	g := newGates()
	w := openWorld(t, t.TempDir(), g, map[string]int{"b": 2}, nil)
	a1 := w.submit(t, poolSpec("a1", 1, "a"))
	a2 := w.submit(t, poolSpec("a2", 1, "a"))
	ab := w.submit(t, poolSpec("ab", 1, "a", "b"))
	b1 := w.submit(t, poolSpec("b1", 1, "b"))
	w.start(t)
	// a1 takes a's one slot; a2 and ab wait for it (ab holds b against
	// nothing earlier), b1 runs beside a1 on b.
	got := map[string]bool{g.nextStart(t).Run: true, g.nextStart(t).Run: true}
	if !got[a1.ID] || !got[b1.ID] {
		t.Fatalf("started %v, want %s and %s", got, a1.ID, b1.ID)
	}
	if st := w.q.Stats(); st.Running != 2 || st.Queued != 2 || st.ByPool["a"] != 1 || st.ByPool["b"] != 1 || st.Limits["b"] != 2 || st.Limits["local"] != 1 {
		t.Errorf("stats %+v", st)
	}
	if s := w.status(t, a2.ID); s != benchrig.RunQueued {
		t.Errorf("a2 is %s, want queued", s)
	}
	g.release(a1.ID)
	if ref := g.nextStart(t); ref.Run != a2.ID {
		t.Fatalf("after a1 started %s, want a2 %s (submission order)", ref.Run, a2.ID)
	}
	g.release(a2.ID)
	if ref := g.nextStart(t); ref.Run != ab.ID {
		t.Fatalf("after a2 started %s, want ab %s", ref.Run, ab.ID)
	}
	if st := w.q.Stats(); st.ByPool["a"] != 1 || st.ByPool["b"] != 2 {
		t.Errorf("ab runs on a and b beside b1: stats %+v", st)
	}
	g.release(ab.ID)
	g.release(b1.ID)
	for _, r := range []*benchrig.Run{a1, a2, ab, b1} {
		w.waitStatus(t, r.ID, benchrig.RunFinished)
	}
	run, err := w.db.GetRun(context.Background(), ab.ID)
	if err != nil {
		t.Fatal(err)
	}
	if run.By != "tester" || len(run.Trials) != 2 {
		t.Errorf("ab: by %q, %d trials, want tester and one per node", run.By, len(run.Trials))
	}
}

func TestQueueLocalRuns(t *testing.T) {
	g := newGates()
	var mu sync.Mutex
	var now, most int
	w := openWorld(t, t.TempDir(), g, nil, func(c *QueueConfig) {
		c.AllowLocal = true
		c.App.Executors["local"] = func(bool) Executor {
			return &fakeExec{mode: "rusage", run: func(job runner.Job) {
				mu.Lock()
				now++
				most = max(most, now)
				mu.Unlock()
				time.Sleep(20 * time.Millisecond) // a trial that lasts, so that overlapping runs would show
				mu.Lock()
				now--
				mu.Unlock()
			}}
		}
	})
	r1 := w.submit(t, []byte("name: l1\ncommand: 'true'\nrepeat: 2\nwarmup: 0\n"))
	r2 := w.submit(t, []byte("name: l2\ncommand: 'true'\nrepeat: 2\nwarmup: 0\n"))
	w.start(t)
	w.waitStatus(t, r1.ID, benchrig.RunFinished)
	w.waitStatus(t, r2.ID, benchrig.RunFinished)
	waitFor(t, "slots freed", func() bool { return w.q.Stats().Running == 0 })
	if st := w.q.Stats(); st.Limits[LocalPool] != 1 || len(st.ByPool) != 0 {
		t.Errorf("stats %+v", st)
	}
	if most != 1 {
		t.Errorf("%d local trials at once, want 1: local runs take turns", most)
	}
}

func TestQueueCancel(t *testing.T) {
	g := newGates()
	w := openWorld(t, t.TempDir(), g, nil, nil)
	running := w.submit(t, poolSpec("running", 3, "a"))
	queued := w.submit(t, poolSpec("queued", 1, "a"))
	w.start(t)
	if ref := g.nextStart(t); ref.Run != running.ID {
		t.Fatalf("started %v", ref)
	}
	ctx := context.Background()
	if err := w.q.Cancel(ctx, queued.ID); err != nil {
		t.Fatal(err)
	}
	w.waitStatus(t, queued.ID, benchrig.RunCancelled)
	evs, err := w.db.Events(ctx, queued.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Kind != benchrig.EventWarning || !strings.Contains(evs[0].Msg, "never started") || evs[1].Kind != benchrig.EventRunFinished || evs[1].Msg != "cancelled" {
		t.Errorf("cancelled queued run's events %+v", evs)
	}
	if err := w.q.Cancel(ctx, running.ID); err != nil {
		t.Fatal(err)
	}
	w.waitStatus(t, running.ID, benchrig.RunCancelled)
	if g.trials(queued.ID) != 0 {
		t.Error("the cancelled queued run ran")
	}
	waitFor(t, "the run released", func() bool { return w.q.Stats().Running == 0 })
	if err := w.q.Cancel(ctx, running.ID); benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("cancel an ended run: %v, want EInvalid", err)
	}
	if err := w.q.Cancel(ctx, "20990101-000000-0000"); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("cancel an unknown run: %v, want ENotFound", err)
	}
}

func TestQueueRunThatCannotStartFails(t *testing.T) {
	w := openWorld(t, t.TempDir(), newGates(), nil, nil)
	r := w.submit(t, poolSpec("down", 1, "down"))
	w.start(t)
	w.waitStatus(t, r.ID, benchrig.RunFailed)
	got, err := w.db.GetRun(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "could not start") || !strings.Contains(got.Warnings[0], "connection refused") {
		t.Errorf("warnings %q, want why it could not start", got.Warnings)
	}
	waitFor(t, "slots freed", func() bool { st := w.q.Stats(); return st.Running == 0 && len(st.ByPool) == 0 })
}

// drain reads a watch channel to its end.
func drain(t *testing.T, ch <-chan benchrig.Event) []benchrig.Event {
	t.Helper()
	var out []benchrig.Event
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, e)
		case <-timeout:
			t.Fatalf("watch did not end; got %d events", len(out))
		}
	}
}

// checkSeqs checks events are numbered after+1, after+2, ... and end
// with run-finished.
func checkSeqs(t *testing.T, evs []benchrig.Event, after int64) {
	t.Helper()
	for i, e := range evs {
		if e.Seq != after+int64(i)+1 {
			t.Fatalf("event %d has seq %d, want %d: %+v", i, e.Seq, after+int64(i)+1, evs)
		}
	}
	if len(evs) == 0 || evs[len(evs)-1].Kind != benchrig.EventRunFinished {
		t.Fatalf("events do not end with run-finished: %+v", evs)
	}
}

func TestQueueWatch(t *testing.T) {
	g := newGates()
	w := openWorld(t, t.TempDir(), g, nil, nil)
	ctx := context.Background()
	first := w.submit(t, poolSpec("first", 1, "a"))
	r := w.submit(t, poolSpec("watched", 3, "a"))
	// Watchers of a queued run: many, one of which never reads until the
	// end (it must not hold the run).
	var chans []<-chan benchrig.Event
	for range 120 {
		ch, err := w.q.Watch(ctx, r.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ch)
	}
	w.start(t)
	g.release(first.ID)
	g.release(r.ID)
	w.waitStatus(t, r.ID, benchrig.RunFinished)
	for _, ch := range chans {
		checkSeqs(t, drain(t, ch), 0)
	}
	// After the end: from the store, after a given seq.
	all, err := w.db.Events(ctx, r.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := w.q.Watch(ctx, r.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := drain(t, ch)
	checkSeqs(t, got, 3)
	if len(got) != len(all)-3 {
		t.Errorf("watch after 3: %d events, want %d", len(got), len(all)-3)
	}
	if _, err := w.q.Watch(ctx, "20990101-000000-0000", 0); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("watch an unknown run: %v, want ENotFound", err)
	}
}

func TestQueueWatchMidRun(t *testing.T) {
	g := newGates()
	w := openWorld(t, t.TempDir(), g, nil, nil)
	ctx := context.Background()
	r := w.submit(t, poolSpec("mid", 2, "a"))
	w.start(t)
	g.nextStart(t)
	// The run is going: some events are recorded or in flight; a watcher
	// from after=1 gets every later one once, in order.
	ch, err := w.q.Watch(ctx, r.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	g.release(r.ID)
	checkSeqs(t, drain(t, ch), 1)
}

func TestQueueRestart(t *testing.T) {
	dir := t.TempDir()
	g := newGates()
	w1 := openWorld(t, dir, g, nil, nil)
	r := w1.submit(t, poolSpec("restarted", 3, "a"))
	later := w1.submit(t, poolSpec("later", 1, "a"))
	w1.start(t)
	// The first trial ends, the second is held when the server stops.
	ref := g.nextStart(t)
	if ref.Run != r.ID || ref.Rep != 0 {
		t.Fatalf("first trial %v", ref)
	}
	g.allow(r.ID, 1)
	if ref = g.nextStart(t); ref.Rep != 1 {
		t.Fatalf("second trial %v", ref)
	}
	w1.shutdown(t)
	if s := w1.status(t, r.ID); s != benchrig.RunInterrupted {
		t.Fatalf("after the server stopped the run is %s, want interrupted", s)
	}
	if s := w1.status(t, later.ID); s != benchrig.RunQueued {
		t.Fatalf("after the server stopped the queued run is %s, want queued", s)
	}
	before, err := w1.db.GetRun(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	recorded := len(before.Trials)
	if recorded == 0 || recorded == 3 {
		t.Fatalf("%d trials recorded before the restart, want some but not all", recorded)
	}
	ranBefore := g.trials(r.ID)

	// A new server on the same store resumes it, then runs the queued one.
	w2 := openWorld(t, dir, g, nil, nil)
	g.release(r.ID)
	g.release(later.ID)
	w2.start(t)
	w2.waitStatus(t, r.ID, benchrig.RunFinished)
	w2.waitStatus(t, later.ID, benchrig.RunFinished)
	after, err := w2.db.GetRun(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Trials) != 3 {
		t.Errorf("%d trials after resume, want 3", len(after.Trials))
	}
	if n := g.trials(r.ID) - ranBefore; n != 3-recorded {
		t.Errorf("resume ran %d trials, want the %d missing", n, 3-recorded)
	}
	if !slices.ContainsFunc(after.Warnings, func(s string) bool { return strings.Contains(s, "server stopped") }) {
		t.Errorf("warnings %q, want why it was interrupted", after.Warnings)
	}
}

func TestQueueRestartLeavesInterrupted(t *testing.T) {
	dir := t.TempDir()
	g := newGates()
	w1 := openWorld(t, dir, g, nil, nil)
	r := w1.submit(t, poolSpec("left", 2, "a"))
	w1.start(t)
	g.nextStart(t)
	w1.shutdown(t)
	w2 := openWorld(t, dir, g, nil, func(c *QueueConfig) { c.LeaveInterrupted = true })
	w2.start(t)
	waitFor(t, "the reason recorded", func() bool {
		run, err := w2.db.GetRun(context.Background(), r.ID)
		return err == nil && run.Status == benchrig.RunInterrupted &&
			slices.ContainsFunc(run.Warnings, func(s string) bool { return strings.Contains(s, "resume is off") })
	})
	if st := w2.q.Stats(); st.Queued != 0 || st.Running != 0 {
		t.Errorf("stats %+v, want nothing taken back", st)
	}
}

// BenchmarkWatchFanOut is the cost of live events to many watchers: one
// queued run, 100 watchers, b.N events published as the runner's
// subscriber does (and the store as the journal does); every watcher
// receives every event.
func BenchmarkWatchFanOut(b *testing.B) {
	dir := b.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "store.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	q, err := NewQueue(QueueConfig{App: &App{Store: db}, DataDir: dir, AllowLocal: true})
	if err != nil {
		b.Fatal(err)
	}
	run, err := q.Submit(context.Background(), benchrig.Submission{Spec: []byte("name: fan\ncommand: 'true'\n")})
	if err != nil {
		b.Fatal(err)
	}
	const watchers = 100
	var wg sync.WaitGroup
	for range watchers {
		ch, err := q.Watch(context.Background(), run.ID, 0)
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ch {
			}
		}()
	}
	q.mu.Lock()
	f := q.feeds[run.ID]
	q.mu.Unlock()
	b.ResetTimer()
	// As the runner's journal and subscriber do: events reach the store
	// in batches, and the feed one by one.
	var batch []benchrig.Event
	for i := range b.N {
		e := benchrig.Event{Run: run.ID, Seq: int64(i + 1), Kind: benchrig.EventNote}
		if batch = append(batch, e); len(batch) == 512 || i == b.N-1 {
			if err := db.AddEvents(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
		f.add(e)
	}
	f.add(benchrig.Event{Run: run.ID, Seq: int64(b.N + 1), Kind: benchrig.EventRunFinished})
	f.close()
	wg.Wait()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*watchers), "ns/delivery")
}

// TestQueueSubmitBrokenPoolsFile: a server whose pools file is missing
// says it cannot take pool runs (503), without its paths.
func TestQueueSubmitBrokenPoolsFile(t *testing.T) {
	w := openWorld(t, t.TempDir(), newGates(), nil, func(c *QueueConfig) {
		c.Policies = func(string, []string) (map[string]benchrig.PoolPolicy, error) {
			return nil, &benchrig.Error{Code: benchrig.ENotFound, File: "/etc/secret/pools.yaml", Msg: "no pools file"}
		}
	})
	_, err := w.q.Submit(context.Background(), benchrig.Submission{Spec: []byte(poolSpec("x", 1, "a")), SpecName: "mine.yaml"})
	if benchrig.ErrorCode(err) != benchrig.EUnavailable || strings.Contains(err.Error(), "/etc/secret") {
		t.Fatalf("err %v (%s), want EUnavailable without the server's path", err, benchrig.ErrorCode(err))
	}
}
