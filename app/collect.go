package app

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/collect"
	"github.com/benchrig/benchrig/runner"
)

// Collector samples a run's trials (as a runner.Watcher tells it where
// they run) and its host beside the run, and ships the samples to its sink.
type Collector interface {
	runner.Watcher
	// Run samples until ctx ends, then takes the final samples, flushes
	// them to the sink and returns.
	Run(ctx context.Context) error
	// Cost is what the collector cost; read once Run returned.
	Cost() benchrig.CollectorCost
}

// CollectorConfig is what App.NewCollector is given for one run.
type CollectorConfig struct {
	RunID    string
	Node     string // "local": the host the local executor runs trials on
	Interval time.Duration
	// Sink receives the samples: the run store, or the result sink.
	Sink collect.Sink
	// GPUs is how many GPUs the host's fingerprint found: with some, the
	// collector samples them too.
	GPUs int
}

// NodeCollector collects beside a run on one Docker node: the node's
// benchmark containers (found from the engine's events) and its host.
// collect.Process (a `benchrig collector` child) is one.
type NodeCollector interface {
	// Run collects until ctx ends, handing samples to sink and the
	// engine's container events to onEvent, then stops (final samples
	// included) and returns.
	Run(ctx context.Context, sink collect.Sink, onEvent func(collect.ContainerEvent)) error
	// Cost is what it cost, once Run returned; ok is false when it could
	// not tell (it died).
	Cost() (c benchrig.CollectorCost, ok bool)
	// Warnings are what it could not collect.
	Warnings() []string
}

// NodeCollectorConfig is what App.NewNodeCollector is given for one node
// of one run.
type NodeCollectorConfig struct {
	RunID    string
	Node     benchrig.NodeFacts
	Interval time.Duration
	// Since is when the run started: the node's container events are
	// replayed from then, so a collector started when the run first
	// reported the node misses none.
	Since time.Time
	// PoolsFile is the run's pools file, where a Swarm node's pool says
	// how its collectors run.
	PoolsFile string
}

// ResultSink ships a run's samples, trials, events and the run itself to
// a server (Elasticsearch), beside the store, which stays the source of
// truth. Its methods may be called from several goroutines; none of them
// is ever called while a trial waits for it.
type ResultSink interface {
	collect.Sink
	WriteTrial(ctx context.Context, run *benchrig.Run, t *benchrig.Trial) error
	WriteEvents(ctx context.Context, run *benchrig.Run, events []benchrig.Event) error
	WriteRun(ctx context.Context, run *benchrig.Run) error
	// Counters are what it did with documents so far.
	Counters() benchrig.ShipCounters
	// Close ships (or spools) what it still holds.
	Close(ctx context.Context) error
}

// CollectionSetter is the optional ability of a Store to keep a run's
// Collection (the sqlite store has it).
type CollectionSetter interface {
	SetCollection(ctx context.Context, runID string, c *benchrig.Collection) error
}

// Warnings of a run's Collection that say what was not collected.
const (
	warnPools      = "no node collector in this benchrig: container trials have their totals from the in-container shim, no periodic samples and no noise figures"
	warnRusage     = "trials not sampled: the local executor measures with rusage (no trial cgroups); only the host was sampled"
	warnNoFactory  = "no collector in this benchrig: nothing was sampled"
	warnNoSink     = "no sink for samples: the store cannot keep them"
	teeQueue       = 4096             // records waiting for the result sink: about 4 MiB at most, minutes of trials
	shutdownBudget = 30 * time.Second // for the collector's final flush and the result sink's Close
)

// collectPlan is what a pending run will collect, decided by prepare.
type collectPlan struct {
	interval time.Duration // 0: no collector
	pools    bool
	rusage   bool
	watch    *lateWatcher         // cfg.Watcher of a local run with a collector
	prev     *benchrig.Collection // what a resumed run's earlier parts collected
	recorder *teeRecorder         // cfg.Recorder
}

// collectInterval resolves the request's flags over the spec's block:
// 0 means collection is off.
func collectInterval(s *benchrig.Spec, req benchrig.RunRequest) time.Duration {
	switch {
	case req.NoCollect:
		return 0
	case req.CollectInterval > 0:
		return req.CollectInterval
	case s.Collect.Disabled:
		return 0
	}
	return s.Collect.Every()
}

// lateWatcher is the runner's Watcher for a run whose collector is made
// only when the run starts (its ID is known by then, and a dry run makes
// none). Until then, and without one, it watches nothing.
type lateWatcher struct {
	c atomic.Pointer[Collector]
}

func (w *lateWatcher) set(c Collector) { w.c.Store(&c) }

func (w *lateWatcher) TrialStarted(ref benchrig.TrialRef, t runner.Target) {
	if c := w.c.Load(); c != nil {
		(*c).TrialStarted(ref, t)
	}
}

func (w *lateWatcher) TrialExited(ref benchrig.TrialRef) *benchrig.Noise {
	if c := w.c.Load(); c != nil {
		return (*c).TrialExited(ref)
	}
	return nil
}

// epochSink stamps the samples of one part of a run (the whole run, or
// what a resume ran) with the part's epoch, so that a resumed run's
// samples do not take the IDs of the first part's.
type epochSink struct {
	collect.Sink
	epoch int64
}

func (s *epochSink) WriteSamples(ctx context.Context, samples []benchrig.Sample) error {
	for i := range samples {
		samples[i].Epoch = s.epoch
	}
	return s.Sink.WriteSamples(ctx, samples)
}

// countingSink counts what a sink without counters of its own (the store)
// stored and refused.
type countingSink struct {
	collect.Sink
	sent, failed atomic.Int64
}

func (s *countingSink) WriteSamples(ctx context.Context, samples []benchrig.Sample) error {
	if err := s.Sink.WriteSamples(ctx, samples); err != nil {
		s.failed.Add(int64(len(samples)))
		return err
	}
	s.sent.Add(int64(len(samples)))
	return nil
}

// collection runs what a started run collects and ships beside it: the
// collector, the tee of results to the result sink and the final samples
// of container trials, and assembles the run's Collection at the end.
type collection struct {
	plan     collectPlan
	sink     collect.Sink  // where samples go; nil when nowhere
	counted  *countingSink // the store as sink, counted; nil for the result sink
	results  ResultSink    // nil without one
	sinkName string

	collector Collector
	stop      context.CancelFunc
	ran       chan error // the collector's Run result

	tee *tee // nil when nothing is teed

	// Node collectors of a run on Docker pools, by node name, started
	// as the run reports its nodes (teeRecorder.RecordNodeEvents).
	newNode   func(NodeCollectorConfig) (NodeCollector, error)
	poolsFile string
	runID     string
	started   time.Time // this part of the run: the samples' epoch, the node collectors' Since
	nodeCtx   context.Context
	nodeStop  context.CancelFunc
	nodeWG    sync.WaitGroup
	nodesDone bool
	nodeCosts []benchrig.CollectorCost // once stopped
	// settle, when set, waits until the node driver's engines said all
	// they will about the run's containers (their removal done).
	settle func()

	mu       sync.Mutex
	warnings []string
	nodes    map[string]NodeCollector
	emit     func(benchrig.Event) // the run's event log; nil until setEmit
	early    []benchrig.Event     // container events before setEmit
}

// setEmit gives the collection the run's event log, for container events,
// and hands it those that came before it (a node collector replays the
// engine's events from the run's start, possibly before the run's log is
// open).
func (c *collection) setEmit(emit func(benchrig.Event)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.emit = emit
	for _, e := range c.early {
		emit(e)
	}
	c.early = nil
}

// nodesSeen starts a collector for each node of facts that has none yet.
func (c *collection) nodesSeen(facts []benchrig.NodeFacts) {
	if c.newNode == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nodesDone {
		return
	}
	for _, f := range facts {
		if _, ok := c.nodes[f.Name]; ok || f.Name == "" {
			continue
		}
		nc, err := c.newNode(NodeCollectorConfig{RunID: c.runID, Node: f, Interval: c.plan.interval, Since: c.started, PoolsFile: c.poolsFile})
		if err != nil {
			c.warnings = append(c.warnings, fmt.Sprintf("node %s: collector not started: %v", f.Name, err))
			c.nodes[f.Name] = nil
			continue
		}
		c.nodes[f.Name] = nc
		c.nodeWG.Add(1)
		node := f.Name
		go func() {
			defer c.nodeWG.Done()
			if err := nc.Run(c.nodeCtx, c.sink, func(e collect.ContainerEvent) { c.containerEvent(node, e) }); err != nil {
				c.warn("%v", err)
			}
		}()
	}
}

// containerEvent turns an engine's container event into an event of the
// run.
func (c *collection) containerEvent(node string, e collect.ContainerEvent) {
	msg := e.Action.String() + " " + e.Name
	if e.ExitCode != nil {
		msg += fmt.Sprintf(" (exit %d)", *e.ExitCode)
	}
	ev := benchrig.Event{Kind: benchrig.EventContainer, Node: node, Msg: msg}
	if e.Ref != nil {
		ref := *e.Ref
		ev.Trial, ev.Case = &ref, ref.Case
	}
	// Under c.mu, so that events reach the log in the order they came,
	// the early ones first. emit never blocks (it queues on the run's bus).
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.emit == nil {
		c.early = append(c.early, ev)
		return
	}
	c.emit(ev)
}

// stopNodes stops the node collectors and waits for their final samples
// (until ctx ends), returning their costs.
func (c *collection) stopNodes(ctx context.Context) []benchrig.CollectorCost {
	c.mu.Lock()
	if c.nodesDone {
		defer c.mu.Unlock()
		return c.nodeCosts
	}
	c.nodesDone = true
	c.mu.Unlock()
	if c.nodeStop == nil {
		return nil
	}
	c.nodeStop()
	done := make(chan struct{})
	go func() { c.nodeWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		c.warn("node collectors did not stop in time: their final samples and costs are missing")
		return nil
	}
	var out []benchrig.CollectorCost
	for _, name := range slices.Sorted(maps.Keys(c.nodes)) {
		nc := c.nodes[name]
		if nc == nil {
			continue
		}
		for _, w := range nc.Warnings() {
			c.warn("%s", w)
		}
		if cost, ok := nc.Cost(); ok {
			out = append(out, cost)
		} else {
			c.warn("node %s: its collector reported no cost (it stopped early)", name)
		}
	}
	c.mu.Lock()
	c.nodeCosts = out
	c.mu.Unlock()
	return out
}

func (c *collection) warn(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := fmt.Sprintf(format, args...)
	if !slices.Contains(c.warnings, w) {
		c.warnings = append(c.warnings, w)
	}
}

// startCollection makes and starts what run p collects, before the run
// starts (so the collector sees its first trial).
func (a *App) startCollection(ctx context.Context, p *Pending) *collection {
	c := &collection{plan: p.collect, started: a.now()}
	run := p.Run()
	c.results, c.sinkName = a.Results, a.ResultsName
	if c.results == nil && a.NewResults != nil {
		rs, name, err := a.NewResults(run.ID)
		if err != nil {
			c.warn("results not shipped: %v", err)
		} else {
			c.results, c.sinkName = rs, name
		}
	}
	switch {
	case c.results != nil:
		c.sink = c.results
		if c.sinkName == "" {
			c.sinkName = "result sink"
		}
	default:
		if s, ok := a.Store.(collect.Sink); ok {
			c.counted = &countingSink{Sink: s}
			c.sink, c.sinkName = c.counted, "store"
		}
	}
	if c.plan.interval == 0 && c.results == nil {
		return c // nothing collected, nothing shipped: the run records no Collection
	}
	if c.sink != nil {
		c.sink = &epochSink{Sink: c.sink, epoch: c.started.UnixNano()}
	}
	if c.plan.interval > 0 && c.sink == nil {
		c.warn(warnNoSink)
	}
	if c.plan.pools && c.plan.interval > 0 && c.sink != nil {
		if a.NewNodeCollector == nil {
			c.warn(warnPools)
		} else {
			c.newNode, c.runID, c.poolsFile = a.NewNodeCollector, run.ID, p.Request.PoolsFile
			if s, ok := p.nodes.(interface{ Settle() }); ok {
				c.settle = s.Settle
			}
			c.nodes = map[string]NodeCollector{}
			c.nodeCtx, c.nodeStop = context.WithCancel(context.WithoutCancel(ctx))
			c.nodesSeen(run.Nodes)
		}
	}
	if c.plan.rusage && c.plan.interval > 0 {
		c.warn(warnRusage)
	}
	// Container trials' totals come from the shim, as the trial is recorded.
	containerSamples := c.plan.pools && c.plan.interval > 0 && c.sink != nil
	if c.results != nil || containerSamples {
		c.tee = newTee(ctx, run, c, containerSamples)
	}
	if c.plan.watch != nil && c.sink != nil {
		switch {
		case a.NewCollector == nil:
			c.warn(warnNoFactory)
		default:
			col, err := a.NewCollector(CollectorConfig{RunID: run.ID, Node: "local", Interval: c.plan.interval, Sink: c.sink,
				GPUs: run.Fingerprint.Accelerators.Count()})
			if err != nil {
				c.warn("collector not started: %v", err)
				break
			}
			c.collector = col
			c.plan.watch.set(col)
			cctx, stop := context.WithCancel(context.WithoutCancel(ctx))
			c.stop, c.ran = stop, make(chan error, 1)
			go func() { c.ran <- col.Run(cctx) }()
		}
	}
	return c
}

// finish stops the collector (its final flush included), drains the tee,
// ships the run and closes the result sink, then records and returns the
// run's Collection (nil when nothing was collected or shipped).
func (c *collection) finish(ctx context.Context, store Store, run *benchrig.Run) *benchrig.Collection {
	if c.plan.interval == 0 && c.results == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownBudget)
	defer cancel()
	prev := c.plan.prev // a resumed run's earlier parts
	out := &benchrig.Collection{Interval: c.plan.interval, Sink: c.sinkName}
	out.Collectors = append(out.Collectors, c.stopNodes(ctx)...)
	if c.collector != nil {
		c.stop()
		select {
		case err := <-c.ran:
			if err != nil {
				c.warn("collector: %v", err)
			}
			out.Collectors = append(out.Collectors, c.collector.Cost())
		case <-ctx.Done():
			c.warn("collector did not stop within %s: its final samples and cost are missing", shutdownBudget)
		}
	}
	if c.tee != nil {
		c.tee.close(ctx)
	}
	if run != nil {
		out.Warnings = c.snapshotWarnings()
		run.Collection = out
	}
	if c.results != nil {
		if run != nil {
			// A copy: the sink may encode it later, while the counters
			// below are filled in.
			shipped, coll := *run, *out
			coll.Warnings = slices.Clone(out.Warnings)
			shipped.Collection = &coll
			if err := c.results.WriteRun(ctx, &shipped); err != nil {
				c.warn("result sink: run not shipped: %v", err)
			}
		}
		if err := c.results.Close(ctx); err != nil {
			c.warn("result sink: close: %v", err)
		}
		out.Shipping = c.results.Counters()
	} else if c.counted != nil {
		out.Shipping = benchrig.ShipCounters{Sent: c.counted.sent.Load(), Failed: c.counted.failed.Load()}
	}
	out.Warnings = c.snapshotWarnings()
	if run == nil {
		return out
	}
	out = mergeCollections(prev, out)
	run.Collection = out
	if cs, ok := store.(CollectionSetter); ok {
		if err := cs.SetCollection(ctx, run.ID, out); err != nil {
			run.Warnings = append(run.Warnings, fmt.Sprintf("collection not stored: %v", err))
		}
	}
	return out
}

// mergeCollections adds what a resumed part of a run collected to what
// the earlier parts did: every part's collectors and their costs, the
// shipping counters summed, the warnings of all.
func mergeCollections(prev, cur *benchrig.Collection) *benchrig.Collection {
	if prev == nil {
		return cur
	}
	out := *cur
	out.Collectors = append(slices.Clone(prev.Collectors), cur.Collectors...)
	p, c := prev.Shipping, cur.Shipping
	out.Shipping = benchrig.ShipCounters{Sent: p.Sent + c.Sent, Retried: p.Retried + c.Retried, Spooled: p.Spooled + c.Spooled,
		Failed: p.Failed + c.Failed, Duplicates: p.Duplicates + c.Duplicates}
	out.Warnings = slices.Clone(prev.Warnings)
	for _, w := range cur.Warnings {
		if !slices.Contains(out.Warnings, w) {
			out.Warnings = append(out.Warnings, w)
		}
	}
	if prev.Sink != "" && prev.Sink != cur.Sink {
		out.Sink = prev.Sink + ", then " + cur.Sink
	}
	return &out
}

func (c *collection) snapshotWarnings() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.warnings)
}

// teeRecorder is the runner's Recorder: the store, written first, then,
// once the run started with a tee, the tee, which never makes the runner
// wait. (The runner gets its Recorder when the run is prepared; the tee
// is made when it starts.)
type teeRecorder struct {
	runner.Recorder
	tee  atomic.Pointer[tee]
	coll atomic.Pointer[collection]
}

// beforeFinish stops the node collectors while the run's event log is
// still open (runner.Config.BeforeFinish), so their last container events
// are in it.
func (r *teeRecorder) beforeFinish() {
	if c := r.coll.Load(); c != nil && c.nodeStop != nil {
		if c.settle != nil {
			c.settle()
		}
		ctx, cancel := context.WithTimeout(context.Background(), shutdownBudget)
		defer cancel()
		c.stopNodes(ctx)
	}
}

// RecordNodeEvents records the nodes the run used, then starts the
// collectors of nodes it has not seen before.
func (r *teeRecorder) RecordNodeEvents(ctx context.Context, runID string, nodes []benchrig.NodeFacts, events []benchrig.NodeEvent) error {
	err := r.Recorder.RecordNodeEvents(ctx, runID, nodes, events)
	if c := r.coll.Load(); c != nil {
		c.nodesSeen(nodes)
	}
	return err
}

func (r *teeRecorder) set(t *tee) {
	if t != nil {
		r.tee.Store(t)
	}
}

func (r *teeRecorder) AddTrial(ctx context.Context, t *benchrig.Trial) error {
	if err := r.Recorder.AddTrial(ctx, t); err != nil {
		return err
	}
	if tt := r.tee.Load(); tt != nil {
		tt.trial(t)
	}
	return nil
}

func (r *teeRecorder) AddEvents(ctx context.Context, events []benchrig.Event) error {
	if err := r.Recorder.AddEvents(ctx, events); err != nil {
		return err
	}
	if tt := r.tee.Load(); tt != nil {
		tt.events(events)
	}
	return nil
}

// tee ships recorded trials and events to the result sink, and container
// trials' final samples to the sample sink, from one goroutine fed by a
// bounded queue: a slow or failing sink drops (and counts) records, it
// never delays a trial.
type tee struct {
	run        *benchrig.Run // a copy of the run as created, for the sink's documents
	params     map[string]map[string]string
	arch       map[string]string
	c          *collection
	samples    bool
	q          chan teeItem
	done       chan struct{}
	ctx        context.Context
	cancel     context.CancelFunc
	dropped    atomic.Int64
	failed     atomic.Int64
	firstError atomic.Pointer[string]

	mu     sync.RWMutex // guards closed and the closing of q
	closed bool
}

type teeItem struct {
	trial  *benchrig.Trial
	events []benchrig.Event
}

func newTee(ctx context.Context, run *benchrig.Run, c *collection, samples bool) *tee {
	snap := *run
	snap.Trials = nil
	snap.Notes = maps.Clone(run.Notes)
	snap.Warnings = slices.Clone(run.Warnings)
	t := &tee{run: &snap, c: c, samples: samples, q: make(chan teeItem, teeQueue), done: make(chan struct{}),
		params: map[string]map[string]string{}, arch: map[string]string{}}
	for _, cs := range run.Cases {
		t.params[cs.ID] = cs.Map()
	}
	for _, n := range run.Nodes {
		t.arch[n.Name] = n.Arch
	}
	for _, pl := range run.Placements {
		if _, ok := t.arch[pl.Node]; !ok && pl.Node != "" {
			t.arch[pl.Node] = pl.Arch
		}
	}
	t.ctx, t.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go t.loop()
	return t
}

func (t *tee) put(it teeItem) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		t.dropped.Add(1)
		return
	}
	select {
	case t.q <- it:
	default:
		t.dropped.Add(1)
	}
}

func (t *tee) trial(tr *benchrig.Trial) {
	cp := *tr
	t.put(teeItem{trial: &cp})
}

func (t *tee) events(es []benchrig.Event) { t.put(teeItem{events: slices.Clone(es)}) }

func (t *tee) fail(what string, err error) {
	t.failed.Add(1)
	msg := what + ": " + err.Error()
	t.firstError.CompareAndSwap(nil, &msg)
}

func (t *tee) loop() {
	defer close(t.done)
	for it := range t.q {
		switch {
		case it.trial != nil:
			if t.c.results != nil {
				if err := t.c.results.WriteTrial(t.ctx, t.run, it.trial); err != nil {
					t.fail("trial "+it.trial.Ref().String(), err)
				}
			}
			if t.samples && strings.HasPrefix(it.trial.Source, "shim") {
				s := ContainerSample(it.trial, t.params[it.trial.CaseID], t.arch[it.trial.Node])
				if err := t.c.sink.WriteSamples(t.ctx, []benchrig.Sample{s}); err != nil {
					t.fail("final sample of trial "+it.trial.Ref().String(), err)
				}
			}
		case len(it.events) > 0 && t.c.results != nil:
			if err := t.c.results.WriteEvents(t.ctx, t.run, it.events); err != nil {
				t.fail("events", err)
			}
		}
	}
}

// close waits for the queue to drain (until ctx ends, when what is left
// fails at once) and turns what went wrong into warnings.
func (t *tee) close(ctx context.Context) {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		close(t.q)
	}
	t.mu.Unlock()
	select {
	case <-t.done:
	case <-ctx.Done():
		t.cancel()
		<-t.done
	}
	t.cancel()
	if n := t.dropped.Load(); n > 0 {
		t.c.warn("result sink fell behind: %d record(s) of trials or events not shipped", n)
	}
	if n := t.failed.Load(); n > 0 {
		t.c.warn("result sink: %d write(s) failed, the first: %s", n, *t.firstError.Load())
	}
}

// ContainerSample is the Final sample (Seq 0) of a container trial, built
// from its Measurement: Docker removes a container's cgroup before it
// reports the exit, so its totals are the ones the in-container shim read
// at exit (runner/docker's container_* metrics), else its rusage.
func ContainerSample(t *benchrig.Trial, params map[string]string, arch string) benchrig.Sample {
	ref := t.Ref()
	end := t.Start.Add(t.Wall)
	if t.Start.IsZero() {
		end = time.Time{}
	}
	cg := &benchrig.CgroupSample{}
	seconds := func(k string) *time.Duration {
		v, ok := t.Metrics[k]
		if !ok {
			return nil
		}
		d := time.Duration(v * float64(time.Second))
		return &d
	}
	count := func(k string) *int64 {
		v, ok := t.Metrics[k]
		if !ok {
			return nil
		}
		n := int64(v)
		return &n
	}
	s := benchrig.Sample{Time: end, Run: t.RunID, Node: t.Node, Arch: arch, Kind: benchrig.SampleTrial, Seq: 0, Final: true,
		Trial: &ref, Params: params, Cgroup: cg}
	if cg.CPU = seconds("container_cpu_s"); cg.CPU != nil {
		cg.User, cg.Sys = seconds("container_user_s"), seconds("container_sys_s")
	} else {
		// No cgroup read by the shim: its rusage of the command's tree.
		cpu, user, sys := t.User+t.Sys, t.User, t.Sys
		cg.CPU, cg.User, cg.Sys = &cpu, &user, &sys
		s.Error = "the shim read no cgroup: CPU from rusage"
	}
	if v, ok := t.Metrics["cpu_throttled_ns"]; ok {
		d := time.Duration(v)
		cg.Throttled = &d
	}
	cg.MemoryPeak = count("container_mem_peak_bytes")
	if cg.MemoryPeak == nil && t.MaxRSS > 0 {
		peak := t.MaxRSS
		cg.MemoryPeak = &peak
	}
	cg.PidsPeak = count("pids_peak")
	return s
}
