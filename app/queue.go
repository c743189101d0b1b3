package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
	"github.com/benchrig/benchrig/spec"
)

// LocalPool is the pool a run without pools counts against: the local
// executor on the server's own host. Its limit is always 1: two local
// runs in one process would share the trial cgroup (EBUSY).
const LocalPool = "local"

// QueueConfig is how a server's queue runs submitted specs.
type QueueConfig struct {
	App *App
	// DataDir is where submitted specs are kept, content-addressed
	// (specs/<sha256>.yaml), so that a resumed run reads the bytes it
	// started with; runs' relative paths resolve there too.
	DataDir string
	// PoolsFile is the pools file every submitted run uses; a submission
	// cannot name another.
	PoolsFile string
	// Policies loads the named pools' policies from a pools file (see
	// nodes.Policies), so that Submit refuses what a pool forbids before
	// the run is queued; nil leaves the check to the run's start.
	Policies func(poolsFile string, pools []string) (map[string]benchrig.PoolPolicy, error)
	// Limits are the runs at once per pool; a pool not listed takes 1.
	Limits map[string]int
	// AllowLocal lets specs without pools run as processes on the
	// server's host; otherwise they are refused at submit.
	AllowLocal bool
	// LeaveInterrupted leaves the runs that were going when the server
	// stopped interrupted (with the reason recorded) instead of resuming
	// them when the queue starts again.
	LeaveInterrupted bool
	// ShutdownGrace bounds how long Run waits, once its ctx ends, for the
	// running runs to stop (default 60 s: long enough for their
	// containers to be removed).
	ShutdownGrace time.Duration
	Logger        *slog.Logger
	// OnEvent, when set, is given every event of the runs the queue runs
	// (the server's /metrics counts trials from it). It is called on the
	// run's subscriber goroutine and must not block.
	OnEvent func(benchrig.Event)
}

// Queue runs submitted specs through App, at most each pool's limit at
// once, in submission order. It implements web.Runs. Its methods are safe
// for concurrent use; Run is the dispatcher.
type Queue struct {
	cfg QueueConfig
	a   *App
	log *slog.Logger

	mu       sync.Mutex
	waiting  []*entry          // queued, in submission order (resumed runs first)
	active   map[string]*entry // starting or running
	busy     map[string]int    // pool -> runs holding a slot
	feeds    map[string]*feed  // queued and running runs' live events
	stopping bool
	running  bool
	runs     sync.WaitGroup // run goroutines
	wake     chan struct{}
}

// entry is a run the queue holds.
type entry struct {
	id      string
	req     benchrig.RunRequest
	pools   []string // slots it takes; [LocalPool] for a local run
	resume  bool     // an interrupted run to resume
	cancel  context.CancelFunc
	handle  *Handle
	byUser  bool // Cancel was called
	started time.Time
}

// NewQueue makes a queue; Run starts it.
func NewQueue(cfg QueueConfig) (*Queue, error) {
	if cfg.App == nil || cfg.App.Store == nil {
		return nil, errors.New("queue: no App with a store")
	}
	if cfg.DataDir == "" {
		return nil, benchrig.Errorf(benchrig.EInvalid, "queue: no data directory")
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	cfg.DataDir = dir
	for p, n := range cfg.Limits {
		if n < 1 {
			return nil, &benchrig.Error{Code: benchrig.EInvalid, Field: "pool-limit", Msg: fmt.Sprintf("pool %s: limit %d, want 1 or more", p, n)}
		}
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 60 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Queue{cfg: cfg, a: cfg.App, log: log, active: map[string]*entry{}, busy: map[string]int{},
		feeds: map[string]*feed{}, wake: make(chan struct{}, 1)}, nil
}

func (q *Queue) limit(pool string) int {
	if pool == LocalPool {
		return 1
	}
	if n, ok := q.cfg.Limits[pool]; ok {
		return n
	}
	return 1
}

func (q *Queue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Submit validates sub's spec as benchrig validate does, refuses what the
// server must not run (a spec without pools unless AllowLocal, container
// options the pools' policies forbid), keeps the spec in the data
// directory and records the run as queued.
func (q *Queue) Submit(ctx context.Context, sub benchrig.Submission) (*benchrig.Run, error) {
	name := sub.SpecName
	if name == "" {
		name = "submitted.yaml"
	}
	if len(sub.Spec) == 0 {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, File: name, Msg: "empty spec"}
	}
	if len(sub.Spec) > spec.MaxBytes {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, File: name, Msg: fmt.Sprintf("larger than %d KiB: not a spec (specs are small YAML files)", spec.MaxBytes>>10)}
	}
	s, err := spec.Parse(name, sub.Spec)
	if err != nil {
		return nil, err
	}
	req := sub.Request
	// The server decides where the spec lives, where it runs and which
	// pools file it uses; ad-hoc commands are the CLI's.
	req.Commands, req.Names = nil, nil
	req.PoolsFile = q.cfg.PoolsFile
	ovr, _, err := overrides(s, req)
	if err != nil {
		return nil, err
	}
	if err := spec.CheckCases(s, req.MaxCases); err != nil {
		return nil, err
	}
	pools := runPools(s, req)
	if err := q.checkPlace(s, name, pools); err != nil {
		return nil, err
	}
	if err := q.a.checkGate(ctx, req.Gate); err != nil {
		return nil, err
	}
	file, err := q.keepSpec(s.Hash, sub.Spec)
	if err != nil {
		return nil, err
	}
	req.SpecFile, req.Dir, req.FilesRoot = file, q.cfg.DataDir, q.cfg.DataDir
	now := q.a.now()
	run := &benchrig.Run{SpecName: s.Name, SpecHash: s.Hash, SpecFile: file, SpecSource: sub.Spec, Overrides: ovr,
		Status: benchrig.RunQueued, Started: now, Labels: req.Labels, Request: &req, By: sub.By, Cases: benchrig.Matrix(nil)}
	// IDs are the submission time; two submissions in the same instant
	// get the next one.
	for i := 0; ; i++ {
		run.ID = runner.NewID(now.Add(time.Duration(i)))
		err = q.a.Store.CreateRun(ctx, run)
		if err == nil || benchrig.ErrorCode(err) != benchrig.EInvalid || i == 100 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	q.waiting = append(q.waiting, &entry{id: run.ID, req: req, pools: slotPools(pools)})
	q.feeds[run.ID] = newFeed()
	q.mu.Unlock()
	q.poke()
	return run, nil
}

// runPools are the pools a run uses: the request's, else the spec's.
func runPools(s *benchrig.Spec, req benchrig.RunRequest) []string {
	if len(req.Pools) > 0 {
		return req.Pools
	}
	return s.Placement.Pools
}

// slotPools are the queue slots a run on pools takes.
func slotPools(pools []string) []string {
	if len(pools) == 0 {
		return []string{LocalPool}
	}
	out := slices.Clone(pools)
	slices.Sort(out)
	return slices.Compact(out)
}

// checkPlace refuses a local run unless allowed, and container options
// the pools' policies forbid (runner.CheckPolicy: the check every run
// makes again on its nodes).
func (q *Queue) checkPlace(s *benchrig.Spec, name string, pools []string) error {
	if len(pools) == 0 {
		if q.cfg.AllowLocal {
			return nil
		}
		return &benchrig.Error{Code: benchrig.EInvalid, File: name, Field: "pools",
			Msg: "the spec names no pools, so it would run as processes on the server's own host, which this server does not allow: name a pool (pools: [NAME] in the spec, or the request's pools), or start the server with --allow-local"}
	}
	if q.cfg.Policies == nil {
		return nil
	}
	pols, err := q.cfg.Policies(q.cfg.PoolsFile, pools)
	if err != nil {
		var be *benchrig.Error
		if errors.As(err, &be) && be.Code == benchrig.EInvalid && be.Field == "pools" {
			return &benchrig.Error{Code: benchrig.EInvalid, File: name, Field: "pools", Msg: be.Msg}
		}
		// The server's own pools file is missing or broken: the
		// operator's problem, said in the log; the submitter learns that
		// the server cannot take pool runs now, not the server's paths.
		q.log.Error("submit: the pools file cannot be used", "file", q.cfg.PoolsFile, "err", err)
		return &benchrig.Error{Code: benchrig.EUnavailable, Retryable: true,
			Msg: "the server's pools file cannot be used (its log says why): no run on pools can be submitted until its operator fixes it"}
	}
	var errs benchrig.Errors
	for _, p := range slices.Sorted(maps.Keys(pols)) {
		if err := runner.CheckPolicy(s, p, pols[p]); err != nil {
			var es benchrig.Errors
			if errors.As(err, &es) {
				errs = append(errs, es...)
			}
		}
	}
	return errs.Err()
}

// keepSpec writes data as specs/<hash>.yaml in the data directory, once.
func (q *Queue) keepSpec(hash string, data []byte) (string, error) {
	dir := filepath.Join(q.cfg.DataDir, "specs")
	file := filepath.Join(dir, hash+".yaml")
	if _, err := os.Stat(file); err == nil {
		return file, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("keep spec: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".spec-*")
	if err != nil {
		return "", fmt.Errorf("keep spec: %w", err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("keep spec: %w", err)
	}
	return file, nil
}

// Cancel stops a queued run (it never starts) or a running one.
func (q *Queue) Cancel(ctx context.Context, runID string) error {
	q.mu.Lock()
	if i := slices.IndexFunc(q.waiting, func(e *entry) bool { return e.id == runID }); i >= 0 {
		e := q.waiting[i]
		q.waiting = slices.Delete(q.waiting, i, i+1)
		f := q.feeds[runID]
		delete(q.feeds, runID)
		q.mu.Unlock()
		status := benchrig.RunCancelled
		if e.resume {
			status = benchrig.RunInterrupted // it stays as the server found it
		}
		err := q.end(ctx, runID, f, status, "cancelled while queued: it never started")
		q.poke()
		return err
	}
	if e, ok := q.active[runID]; ok {
		e.byUser = true
		cancel := e.cancel
		q.mu.Unlock()
		cancel()
		return nil
	}
	q.mu.Unlock()
	run, err := q.a.Store.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	switch run.Status {
	case benchrig.RunRunning:
		return benchrig.Errorf(benchrig.EInvalid, "run %s runs in another process, not in this server's queue: stop it there", run.ID)
	case benchrig.RunQueued:
		return benchrig.Errorf(benchrig.EInvalid, "run %s is queued in another server, not this one", run.ID)
	}
	return benchrig.Errorf(benchrig.EInvalid, "run %s is %s: only a queued or running run can be cancelled", run.ID, run.Status)
}

// end records the end of a run that the queue stops itself (never
// started, or could not start): a warning with why, then run-finished
// with status, after the run's last event; a resumed run that stays
// interrupted gets the warning only. Watchers see the same events.
func (q *Queue) end(ctx context.Context, runID string, f *feed, status benchrig.RunStatus, why string) error {
	ctx = context.WithoutCancel(ctx)
	last, err := q.lastSeq(ctx, runID)
	if err != nil {
		return err
	}
	now := q.a.now()
	events := []benchrig.Event{{Run: runID, Seq: last + 1, Time: now, Kind: benchrig.EventWarning, Msg: why}}
	if status != benchrig.RunInterrupted {
		events = append(events, benchrig.Event{Run: runID, Seq: last + 2, Time: now, Kind: benchrig.EventRunFinished, Msg: string(status)})
	}
	if err := q.a.Store.AddEvents(ctx, events); err != nil {
		return err
	}
	if status != benchrig.RunInterrupted {
		if err := q.a.Store.FinishRun(ctx, runID, status, now, nil); err != nil {
			return err
		}
	}
	if f != nil {
		for _, e := range events {
			f.add(e)
		}
		f.close()
	}
	return nil
}

func (q *Queue) lastSeq(ctx context.Context, runID string) (int64, error) {
	e, err := q.a.lastEvent(ctx, runID)
	return e.Seq, err
}

// Stats is the queue now.
func (q *Queue) Stats() benchrig.QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := benchrig.QueueStats{Queued: len(q.waiting), Running: len(q.active), ByPool: map[string]int{},
		Limits: map[string]int{}, RunningRuns: map[string][]string{}, QueuedByPool: map[string]int{}}
	for p, n := range q.busy {
		if n > 0 {
			st.ByPool[p] = n
		}
	}
	for p := range q.cfg.Limits {
		st.Limits[p] = q.limit(p)
	}
	st.Limits[LocalPool] = q.limit(LocalPool)
	for _, e := range q.active {
		for _, p := range e.pools {
			st.RunningRuns[p] = append(st.RunningRuns[p], e.id)
		}
	}
	for _, ids := range st.RunningRuns {
		slices.Sort(ids)
	}
	for _, e := range q.waiting {
		for _, p := range e.pools {
			st.QueuedByPool[p]++
		}
	}
	// Every pool the queue knows of has its limit said, the default too.
	for _, m := range []map[string]int{st.ByPool, st.QueuedByPool} {
		for p := range m {
			st.Limits[p] = q.limit(p)
		}
	}
	return st
}

// Run is the dispatcher: it takes back what the store holds (queued runs,
// and runs that were going when the server stopped), then starts queued
// runs as their pools have slots, until ctx ends. Then it stops the
// running runs, recording them interrupted (resumed when a queue starts
// again), and returns once they stopped or ShutdownGrace passed; queued
// runs stay queued in the store.
func (q *Queue) Run(ctx context.Context) error {
	q.mu.Lock()
	if q.running {
		q.mu.Unlock()
		return errors.New("queue: already running")
	}
	q.running = true
	q.mu.Unlock()
	if err := q.recover(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while it took back the store's runs: they stay there
		}
		return err
	}
	runCtx, stopRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRuns()
	for {
		q.dispatch(runCtx)
		select {
		case <-q.wake:
		case <-ctx.Done():
			q.mu.Lock()
			q.stopping = true
			q.mu.Unlock()
			stopRuns()
			done := make(chan struct{})
			go func() { q.runs.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(q.cfg.ShutdownGrace):
				q.log.Warn("queue: runs still stopping after the shutdown grace", "grace", q.cfg.ShutdownGrace)
			}
			return nil
		}
	}
}

// dispatch starts every queued run whose pools have a free slot, in
// submission order: a run that must wait reserves a slot on each of its
// pools against later runs, so that a run on a busy pool is not starved
// by later ones, while a pool with slots to spare still serves them.
func (q *Queue) dispatch(ctx context.Context) {
	q.mu.Lock()
	var start []*entry
	reserved := map[string]int{}
	kept := q.waiting[:0]
	for _, e := range q.waiting {
		free := !q.stopping
		for _, p := range e.pools {
			if q.busy[p]+reserved[p] >= q.limit(p) {
				free = false
			}
		}
		if !free {
			for _, p := range e.pools {
				reserved[p]++
			}
			kept = append(kept, e)
			continue
		}
		for _, p := range e.pools {
			q.busy[p]++
		}
		var rctx context.Context
		rctx, e.cancel = context.WithCancel(ctx)
		q.active[e.id] = e
		start = append(start, e)
		q.runs.Add(1)
		go q.run(rctx, e)
	}
	clear(q.waiting[len(kept):])
	q.waiting = kept
	q.mu.Unlock()
	for _, e := range start {
		q.log.Info("queue: starting run", "run", e.id, "pools", e.pools, "resume", e.resume)
	}
}

// run prepares, starts and waits for one run, then frees its slots. A
// gated run's gate is part of its Wait: the slots stay held through its
// confirmation run, and its feed ends with its gate events.
func (q *Queue) run(ctx context.Context, e *entry) {
	defer q.runs.Done()
	q.mu.Lock()
	f := q.feeds[e.id]
	q.mu.Unlock()
	if f == nil {
		f = newFeed()
	}
	sub := runner.Subscriber{Name: "server watchers", Handle: f.add}
	if on := q.cfg.OnEvent; on != nil {
		sub.Handle = func(e benchrig.Event) { f.add(e); on(e) }
	}
	var p *Pending
	var err error
	if e.resume {
		p, err = q.a.PrepareResume(ctx, e.id, ResumeOptions{}, sub)
	} else {
		p, err = q.a.PrepareAs(ctx, e.id, e.req, sub)
	}
	var h *Handle
	if err == nil {
		if on := q.cfg.OnEvent; on != nil {
			// A gated run's confirmation run is counted too.
			p.ConfirmSubscribers = []runner.Subscriber{{Name: "server metrics", Handle: on}}
		}
		h, err = q.a.Start(ctx, p)
	}
	if err != nil {
		q.failed(ctx, e, f, err)
		q.release(e)
		return
	}
	q.mu.Lock()
	e.handle = h
	q.mu.Unlock()
	_, _ = h.Wait() // the run's end is recorded; its error is on it
	q.mu.Lock()
	stopped := q.stopping && !e.byUser
	q.mu.Unlock()
	if stopped {
		// The server stopped, not the user: the run is to go on when the
		// server starts again.
		bg := context.WithoutCancel(ctx)
		msg := "the server stopped while the run was going: it is resumed when the server starts again"
		if q.cfg.LeaveInterrupted {
			msg = "the server stopped while the run was going; resume is off on this server ('benchrig runs resume " + e.id + "' goes on)"
		}
		if last, err := q.lastSeq(bg, e.id); err == nil {
			ev := benchrig.Event{Run: e.id, Seq: last + 1, Time: q.a.now(), Kind: benchrig.EventWarning, Msg: msg}
			if err := q.a.Store.AddEvents(bg, []benchrig.Event{ev}); err == nil {
				f.add(ev)
			}
		}
		if err := q.a.Store.FinishRun(bg, e.id, benchrig.RunInterrupted, q.a.now(), nil); err != nil {
			q.log.Error("queue: record run interrupted", "run", e.id, "err", err)
		}
	}
	f.close()
	q.release(e)
}

// failed records why a run could not start.
func (q *Queue) failed(ctx context.Context, e *entry, f *feed, err error) {
	q.mu.Lock()
	byUser, stopping := e.byUser, q.stopping
	q.mu.Unlock()
	status, why := benchrig.RunFailed, "could not start: "+err.Error()
	switch {
	case stopping && !byUser:
		// The server stopped while the run was starting: it stays as it
		// was in the store (queued, or interrupted), to be taken back
		// when the server starts again.
		f.close()
		return
	case byUser:
		status, why = benchrig.RunCancelled, "cancelled while it was starting"
	case e.resume:
		status, why = benchrig.RunInterrupted, "could not resume after the server restarted: "+err.Error()
	}
	if rerr := q.end(ctx, e.id, f, status, why); rerr != nil {
		q.log.Error("queue: record run that did not start", "run", e.id, "err", rerr, "why", why)
	}
}

func (q *Queue) release(e *entry) {
	q.mu.Lock()
	for _, p := range e.pools {
		if q.busy[p]--; q.busy[p] <= 0 {
			delete(q.busy, p)
		}
	}
	delete(q.active, e.id)
	delete(q.feeds, e.id)
	q.mu.Unlock()
	e.cancel()
	q.poke()
}

// recoverWait bounds how long recover waits for the heartbeats of the
// runs a previous server left running to go stale.
const recoverWait = benchrig.HeartbeatStale + 2*sweepLead

// recover takes back what a previous server left in the store: its
// queued runs, queued again in submission order, and its runs that were
// going when it stopped (interrupted, or still running with a heartbeat
// not yet stale), resumed ahead of them or, with LeaveInterrupted, left
// interrupted with the reason recorded. Runs of other front ends (no By)
// are not the server's.
func (q *Queue) recover(ctx context.Context) error {
	if _, err := q.a.Sweep(ctx); err != nil {
		return err
	}
	deadline := q.a.now().Add(recoverWait)
	var resume []benchrig.RunSummary
	for {
		alive := false
		resume = resume[:0]
		runs, err := q.listAll(ctx, benchrig.RunRunning, benchrig.RunInterrupted)
		if err != nil {
			return err
		}
		for _, r := range runs {
			if r.By == "" {
				continue
			}
			if r.Status == benchrig.RunRunning {
				alive = true
				continue
			}
			resume = append(resume, r)
		}
		if !alive || !q.a.now().Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(sweepLead):
		}
		if _, err := q.a.Sweep(ctx); err != nil {
			return err
		}
	}
	queued, err := q.listAll(ctx, benchrig.RunQueued)
	if err != nil {
		return err
	}
	var entries []*entry
	for _, r := range resume {
		if r.Request == nil {
			continue
		}
		if q.cfg.LeaveInterrupted {
			if err := q.end(ctx, r.ID, nil, benchrig.RunInterrupted, "the server restarted; resume is off ('benchrig runs resume "+r.ID+"' goes on)"); err != nil {
				return err
			}
			continue
		}
		entries = append(entries, &entry{id: r.ID, req: *r.Request, pools: slotPools(q.poolsOf(r.Run)), resume: true})
	}
	for _, r := range queued {
		if r.Request == nil {
			continue
		}
		entries = append(entries, &entry{id: r.ID, req: *r.Request, pools: slotPools(q.poolsOf(r.Run))})
	}
	q.mu.Lock()
	known := map[string]bool{}
	for _, e := range q.waiting {
		known[e.id] = true
	}
	var add []*entry
	for _, e := range entries {
		if !known[e.id] {
			add = append(add, e)
			q.feeds[e.id] = newFeed()
		}
	}
	q.waiting = append(add, q.waiting...)
	q.mu.Unlock()
	if len(add) > 0 {
		q.log.Info("queue: took back runs from the store", "runs", len(add))
	}
	return nil
}

// poolsOf are the pools a recorded run uses.
func (q *Queue) poolsOf(r benchrig.Run) []string {
	if len(r.Request.Pools) > 0 {
		return r.Request.Pools
	}
	s, err := spec.Parse(r.SpecFile, r.SpecSource)
	if err != nil {
		return nil
	}
	return s.Placement.Pools
}

// listAll lists every run with one of statuses, oldest first.
func (q *Queue) listAll(ctx context.Context, statuses ...benchrig.RunStatus) ([]benchrig.RunSummary, error) {
	var out []benchrig.RunSummary
	f := benchrig.RunFilter{Status: statuses, Limit: 500}
	for {
		page, err := q.a.Store.ListRuns(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Runs...)
		if page.Next == "" {
			break
		}
		f.Cursor = page.Next
	}
	slices.Reverse(out)
	return out, nil
}
