// Package runner turns a spec into trials: it expands the param matrix into
// cases, plans the order of trials (interleaved rounds by default), runs
// warmups, setup and cleanup, repeats adaptively when asked, and hands each
// finished trial to a Recorder before starting the next. It knows the
// Executor and Recorder interfaces, never their adapters.
package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/expect"
)

// Config is what a Runner needs besides the spec.
type Config struct {
	Executor Executor
	Recorder Recorder
	// Node names where trials run ("local" for the local executor).
	Node        string
	Fingerprint benchrig.Fingerprint
	// Environ is the base environment of every command; the spec's env is
	// added on top.
	Environ []string
	// Dir is the directory relative paths (workdir, throughput files) are
	// resolved against; commands run there unless the spec sets workdir.
	Dir string
	// FilesRoot, when set, confines the files this host reads for a spec
	// (requires.files, throughput.files) to that directory: a glob that
	// expands outside it, or a match that is a symlink leading out, is an
	// error. A server sets it to its data directory, so that a submitted
	// spec cannot learn which files exist on the server, or their sizes.
	FilesRoot string
	// Overrides are the command-line changes to the spec, kept with the run.
	Overrides []string
	// Labels and Request are kept with the run (see benchrig.Run).
	Labels  map[string]string
	Request *benchrig.RunRequest
	// Subscribers receive the run's events, each from its own goroutine;
	// none of them can delay a trial.
	Subscribers []Subscriber
	// LookPath finds a program for a job with environment env; defaults
	// to LookPath, the local executor's own lookup.
	LookPath func(name string, env []string) (string, error)
	// Now and NewID default to the wall clock and a time-based ID.
	Now   func() time.Time
	NewID func(time.Time) string

	// Nodes, when set, runs the spec in containers across the nodes it
	// discovers (Executor and Node are then unused): every case is planned
	// on each node the spec's placement picks, trials run on several
	// nodes at once, and a lost node's work moves to a node of its class.
	Nodes Discoverer
	// Refresh is how often Nodes is asked again during a run, so that
	// nodes added to or removed from a pool are seen; default 2s.
	Refresh time.Duration
	// Heartbeat is how often the run's heartbeat is written; default
	// benchrig.HeartbeatEvery.
	Heartbeat time.Duration

	// Checks runs the spec's expect check commands; nil runs them as
	// child processes on this host.
	Checks expect.CheckRunner

	// Watcher, when set, is given to every trial job (Job.Watcher), so
	// that executors that know where a trial runs (the local executor)
	// tell a collector; setup, prepare, cleanup and check jobs never get
	// it.
	Watcher Watcher
	// BeforeFinish, when set, is called once every trial has ended and
	// before the run-finished event, so that what ran beside the run
	// (node collectors) can stop and put its last events in the run's
	// log (Handle.Emit) while the log is open.
	BeforeFinish func()

	// Resume, when set, is an interrupted or cancelled run of the same
	// spec, loaded whole: the runner keeps its ID and its trials and runs
	// only the trials it is missing.
	Resume *benchrig.Run

	// Cases, when set, runs only these cases of the matrix (by case ID),
	// in the matrix's order and interleaved as any run's: what a
	// confirmation re-run of suspected cases asks. An ID the matrix does
	// not have is EInvalid.
	Cases []string
	// Profiles keeps the call stacks sampled during profiled trials (the
	// spec's profile block); nil: trials are not profiled, and a spec that
	// asks is warned.
	Profiles benchrig.ProfileStore

	// AvoidNodes maps a case ID to a node its trials should not run on.
	// On node pools, such a case whose home is that node is planned on
	// another node of the node's class (the one with the fewest cases)
	// when there is one, and stays there otherwise. The local executor
	// has one node: it is ignored there.
	AvoidNodes map[string]string
}

// plan is a case with everything expanded for execution.
type plan struct {
	c          *benchrig.Case
	job        Job
	setup      *Job
	prepare    *Job // before every trial, unmeasured
	cleanup    *Job
	throughput float64

	// instances are the jobs of one trial, run at once; len 1 unless the
	// spec asks for several instances.
	instances []Job
	files     int     // files matched by throughput.files, over all instances
	bytes     float64 // the bytes of throughput.bytes beside items, over all instances

	// home is the node the case's trials run on (nil: the local
	// executor); it changes only when that node is lost or removed.
	home *nodeState
	// setupOn is the node the case's setup last ran on, so a case that
	// moves gets its setup again where it lands.
	setupOn *nodeState

	// Repetitions: each trial of the case has a rep number fixed when it
	// is handed out (warmups are reps 0..warmup-1). nextRep is the next
	// rep never handed out; retry holds reps whose start measured nothing,
	// to be started again (attempt + 1) before any new one; recorded are
	// the reps a resumed run already has.
	nextRep  int
	retry    []int
	attempts map[int]int
	recorded map[int]bool

	index       int    // trials recorded so far, warmups and extra profiled ones included
	profiledN   int    // extra profiled trials recorded (see measuredIndex)
	inflight    int    // trials running now
	warmups     int    // warmup trials started and not discarded
	inflightW   int    // warmup trials running now
	lost        string // why its remaining trials were recorded as node-lost
	measured    []float64
	failed      int
	first       time.Time // start of the first measured trial
	done        bool
	skipped     string // why the case does not run (setup failed): a failure
	settingUp   bool   // a worker is running its setup on the node it moved to
	unavailable string // why the case cannot run here: not a failure
	// rules are the output checks of each instance (see expect).
	rules []*expect.Rules
}

// measuredIndex is how many warmup and measured trials p recorded.
func (p *plan) measuredIndex() int { return p.index - p.profiledN }

// CasePlan is one case as it will run: what a dry run prints.
type CasePlan struct {
	Case      benchrig.Case
	Node      string   // "local" on the local executor
	Arch      string   // the node's architecture
	Image     string   // in containers; "" on the local executor
	Argv      []string // the first instance's command, fully expanded
	Env       []string // the spec's env as expanded (the base environment left out)
	Dir       string
	Instances int
	Trials    int    // warmups + the most measured trials
	Profiled  int    // extra profiled trials after them
	Setup     string // expanded setup command, if any
	Prepare   string // expanded prepare command (before every trial), if any
	Cleanup   string
	Skipped   string // why the case will not run, if it will not
}

// Prepared is a run planned and not started: every case expanded once
// into what it runs, where, with which image, and its trials' references.
// Nothing is recorded until Start.
type Prepared struct {
	r *state
}

// Run is the whole run of the prepared spec, as it will be recorded
// (no trials yet, unless resumed).
func (p *Prepared) Run() *benchrig.Run { return p.r.run }

// Warnings are what the run will warn about as it starts: profiling that
// was asked for and cannot be done here, or measured trials profiled.
func (p *Prepared) Warnings() []string { return slices.Clone(p.r.profWarn) }

// Cases returns every case as it will run.
func (p *Prepared) Cases() []CasePlan {
	r := p.r
	out := make([]CasePlan, 0, len(r.plans))
	specEnv := map[string]bool{}
	for k := range r.spec.Env {
		specEnv[k] = true
	}
	for _, pl := range r.plans {
		cp := CasePlan{
			Case: *pl.c, Node: r.homeOf(pl).Name, Argv: pl.job.Argv, Dir: pl.job.Dir,
			Instances: len(pl.instances), Trials: r.spec.Warmup + r.spec.Repeat.Max,
			Skipped: pl.unavailable, Profiled: r.extraLeft(pl),
		}
		cp.Arch = r.homeOf(pl).Facts.Arch
		if cp.Arch == "" {
			cp.Arch = r.cfg.Fingerprint.Arch
		}
		if pl.job.Container != nil {
			cp.Image = pl.job.Container.Image
		}
		for _, kv := range pl.job.Env {
			if k, _, _ := strings.Cut(kv, "="); specEnv[k] {
				cp.Env = append(cp.Env, kv)
			}
		}
		if pl.setup != nil {
			cp.Setup = strings.Join(pl.setup.Argv, " ")
		}
		if pl.cleanup != nil {
			cp.Cleanup = strings.Join(pl.cleanup.Argv, " ")
		}
		if pl.prepare != nil {
			cp.Prepare = strings.Join(pl.prepare.Argv, " ")
		}
		out = append(out, cp)
	}
	return out
}

// Handle is a run in progress.
type Handle struct {
	ID     string
	r      *state
	cancel context.CancelFunc
	done   chan struct{}
	run    *benchrig.Run
	err    error
}

// Wait waits for the run to end and returns it with all its trials. The
// returned run is valid even when err is not nil: a cancelled run (err
// has Code ECancelled) keeps its finished trials.
func (h *Handle) Wait() (*benchrig.Run, error) {
	<-h.done
	return h.run, h.err
}

// Emit adds an event that happened beside the run (a container event
// seen by a node's collector) to its event log, numbered in order with
// the runner's own: Run, Seq, Time (of receipt) and the progress are set
// here. It never blocks on the log; after the run ended it does nothing.
func (h *Handle) Emit(e benchrig.Event) {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	h.r.emit(e)
}

// Cancel stops the run as Ctrl-C does: the trials in flight are killed and
// discarded, finished ones are kept, cleanup still runs.
func (h *Handle) Cancel() { h.cancel() }

// Done is closed when the run has ended.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Run executes spec and returns the run with all its trials: Prepare,
// Start and Wait in one call.
func Run(ctx context.Context, cfg Config, spec *benchrig.Spec) (*benchrig.Run, error) {
	p, err := Prepare(ctx, cfg, spec)
	if err != nil {
		return nil, err
	}
	h, err := p.Start(ctx)
	if err != nil {
		return nil, err
	}
	return h.Wait()
}

// Prepare plans a run of spec: it discovers the nodes, expands every case
// once into what it runs (command, environment, workdir, image per node,
// throughput, requirements) and picks baselines and ceilings. Problems of
// the spec are EInvalid, every one of them at once.
func Prepare(ctx context.Context, cfg Config, spec *benchrig.Spec) (*Prepared, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = NewID
	}
	if cfg.Node == "" {
		cfg.Node = "local"
	}
	if cfg.LookPath == nil {
		cfg.LookPath = LookPath
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 2 * time.Second
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = benchrig.HeartbeatEvery
	}
	started := cfg.Now()
	runID := cfg.NewID(started)
	if cfg.Resume != nil {
		runID, started = cfg.Resume.ID, cfg.Resume.Started
	}
	r := &state{cfg: cfg, spec: spec, nodes: map[string]*nodeState{}, noted: map[string]bool{}, judge: &expect.Judge{Checks: cfg.Checks}}
	r.cond = sync.NewCond(&r.mu)

	params := spec.Params
	var homes map[string]*Node // placement value -> home node
	var placeParam string
	if cfg.Nodes != nil {
		all, err := cfg.Nodes.Nodes(ctx)
		if err != nil {
			return nil, err
		}
		pp, h, err := placeNodes(spec, all)
		if err != nil {
			return nil, err
		}
		if err := checkPolicy(spec, h); err != nil {
			return nil, err
		}
		homes, placeParam = h, pp.Name
		params = append([]benchrig.Param{pp}, params...)
		for _, n := range all {
			if matches(spec.Placement, n) == "" {
				r.addNode(n)
			}
		}
	} else {
		r.local = &nodeState{Node: &Node{Name: cfg.Node, Executor: cfg.Executor, MaxTrials: 1}, slots: 1}
		r.nodes[cfg.Node] = r.local
		r.order = append(r.order, r.local)
	}
	cases := planCases(params, spec.Exclude, homes, placeParam, cfg)
	if len(cases) == 0 {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, File: spec.File, Field: "exclude", Msg: "leaves no case of the matrix to run"}
	}
	if err := knownCases(cases, cfg); err != nil {
		return nil, err
	}
	if len(cfg.Cases) > 0 {
		cases = slices.DeleteFunc(cases, func(c benchrig.Case) bool { return !slices.Contains(cfg.Cases, c.ID) })
	}
	if cfg.Resume != nil {
		if err := sameCases(cfg.Resume.Cases, cases); err != nil {
			return nil, err
		}
	}
	plans, unit, err := r.preparePlans(runID, homes, placeParam, cases)
	if err != nil {
		return nil, err
	}
	baseSel := spec.Baseline
	if placeParam != "" && len(baseSel) == 0 && len(spec.Params) > 0 {
		// No baseline named: each node's (or architecture's) first case
		// is the baseline of its others, so comparisons never mix
		// machines unless the spec asks (baseline: {node: lab1}).
		// The first case's values: exclude may have removed the
		// combination of every param's first value.
		baseSel = map[string]string{}
		for _, kv := range cases[0].Params {
			if kv.Name != placeParam {
				baseSel[kv.Name] = kv.Value
			}
		}
	}
	baseline, baselines, err := selectCases(spec, "baseline", baseSel, cases)
	if err != nil && len(cfg.Cases) > 0 {
		// Some cases only (a confirmation re-run) may leave the spec's
		// baseline out: the run compares its cases with its first.
		baseline, baselines, err = cases[0].ID, nil, nil
	}
	if err != nil {
		return nil, err
	}
	if spec.Expect != nil {
		rules := map[string][]*expect.Rules{}
		for _, p := range plans {
			rules[p.c.ID] = p.rules
		}
		r.judge.Agree = expect.NewTracker(cases, rules, func(id string) string {
			if b, ok := baselines[id]; ok {
				return b
			}
			return baseline
		})
	}
	if len(slices.Compact(slices.Sorted(maps.Values(baselines)))) == 1 {
		baselines = nil // one baseline for every case: BaselineID says it
	}
	_, ceilings, err := selectCases(spec, "ceiling", spec.Ceiling, cases)
	if err != nil && len(cfg.Cases) > 0 {
		ceilings, err = nil, nil // the ceiling left out with the cases not re-run
	}
	if err != nil {
		return nil, err
	}
	moved := r.avoidNodes(plans)

	run := &benchrig.Run{
		ID:             runID,
		SpecName:       spec.Name,
		SpecHash:       spec.Hash,
		SpecFile:       spec.File,
		SpecSource:     spec.Source,
		Overrides:      cfg.Overrides,
		Status:         benchrig.RunRunning,
		Started:        started,
		Heartbeat:      cfg.Now(),
		Fingerprint:    cfg.Fingerprint,
		Labels:         cfg.Labels,
		Request:        cfg.Request,
		Cases:          cases,
		BaselineID:     baseline,
		Baselines:      baselines,
		Ceilings:       ceilings,
		Notes:          map[string]string{},
		Repeat:         spec.Repeat,
		ThroughputUnit: unit,
		ScalingParam:   spec.Scaling,
	}
	if unit != "" {
		run.Throughput = map[string]float64{}
		for _, p := range plans {
			run.Throughput[p.c.ID] = p.throughput
			if spec.Throughput.Bytes != nil {
				if run.ThroughputBytes == nil {
					run.ThroughputBytes = map[string]float64{}
				}
				run.ThroughputBytes[p.c.ID] = p.bytes
			}
		}
	}
	if cfg.Nodes != nil {
		run.Placements = map[string]benchrig.CasePlacement{}
		for _, p := range plans {
			pl := benchrig.CasePlacement{Node: p.home.Name, Arch: p.home.Facts.Arch}
			if p.job.Container != nil {
				pl.Image = p.job.Container.Image
			}
			run.Placements[p.c.ID] = pl
		}
		for _, ns := range r.order {
			run.Nodes = append(run.Nodes, ns.Facts)
		}
	}
	for id, msg := range moved {
		run.Notes[id] = msg
	}
	for _, p := range plans {
		if p.files > 0 {
			if run.Files == nil {
				run.Files = map[string]int{}
			}
			run.Files[p.c.ID] = p.files
		}
		if p.unavailable != "" {
			if run.Skipped == nil {
				run.Skipped = map[string]string{}
			}
			run.Skipped[p.c.ID] = p.unavailable
			run.Notes[p.c.ID] = "skipped: " + p.unavailable
		}
	}
	r.run, r.plans = run, plans
	// A run that was not profiled stays so when resumed: its trials would
	// otherwise differ in how they were measured.
	if cfg.Resume == nil || cfg.Resume.Profiling != nil {
		r.checkProfiling(ctx)
	}
	return &Prepared{r: r}, nil
}

// knownCases checks that the case IDs cfg.Cases and cfg.AvoidNodes name
// are cases of the matrix, naming every one that is not.
func knownCases(cases []benchrig.Case, cfg Config) error {
	has := func(id string) bool {
		return slices.ContainsFunc(cases, func(c benchrig.Case) bool { return c.ID == id })
	}
	var errs benchrig.Errors
	for _, id := range cfg.Cases {
		if !has(id) {
			errs = append(errs, &benchrig.Error{Code: benchrig.EInvalid, Field: "cases",
				Msg: fmt.Sprintf("no case %q in the run's matrix (its cases: %s)", id, caseList(cases))})
		}
	}
	for _, id := range benchrig.SortedKeys(cfg.AvoidNodes) {
		if !has(id) {
			errs = append(errs, &benchrig.Error{Code: benchrig.EInvalid, Field: "avoid_nodes",
				Msg: fmt.Sprintf("no case %q in the run's matrix (its cases: %s)", id, caseList(cases))})
		}
	}
	return errs.Err()
}

// caseList names cases for an error, the first ten of them.
func caseList(cases []benchrig.Case) string {
	var ids []string
	for i, c := range cases {
		if i == 10 {
			ids = append(ids, fmt.Sprintf("and %d more", len(cases)-10))
			break
		}
		ids = append(ids, c.ID)
	}
	return strings.Join(ids, ", ")
}

// avoidNodes plans each case cfg.AvoidNodes names away from that node,
// on the node of its class with the fewest cases, when its home is that
// node and its class has another; it returns the note of each case it
// moved. Its job is the one planned for its first home, as when a lost
// node's case moves. Called before the run starts.
func (r *state) avoidNodes(plans []*plan) map[string]string {
	moved := map[string]string{}
	for _, p := range plans {
		avoid, ok := r.cfg.AvoidNodes[p.c.ID]
		if !ok || p.home == nil || p.home.Name != avoid || p.unavailable != "" {
			continue
		}
		if sub := r.substitute(p.home); sub != nil {
			moved[p.c.ID] = fmt.Sprintf("runs on %s, not %s: another node of its class, as asked", sub.Name, p.home.Name)
			p.home = sub
		}
	}
	return moved
}

// sameCases checks that a resumed run's cases are the ones the spec plans
// now: a pools file or spec that changed since would otherwise mix cases.
func sameCases(old, now []benchrig.Case) error {
	ids := func(cs []benchrig.Case) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.ID
		}
		return out
	}
	a, b := ids(old), ids(now)
	if slices.Equal(a, b) {
		return nil
	}
	var missing []string
	for _, id := range a {
		if !slices.Contains(b, id) {
			missing = append(missing, id)
		}
	}
	msg := fmt.Sprintf("the run had %d case(s), the spec and nodes plan %d now", len(a), len(b))
	if len(missing) > 0 {
		msg += "; no longer planned: " + strings.Join(missing, ", ")
	}
	return &benchrig.Error{Code: benchrig.EInvalid, Msg: "cannot resume: " + msg}
}

// Start records the run (or reopens the resumed one), starts its heartbeat
// and event log, and runs its trials in the background. It returns once
// the run is recorded.
func (p *Prepared) Start(ctx context.Context) (*Handle, error) {
	r := p.r
	run := r.run
	if res := r.cfg.Resume; res != nil {
		r.restore(res)
		last, err := r.cfg.Recorder.ReopenRun(ctx, run.ID, r.cfg.Now())
		if err != nil {
			return nil, fmt.Errorf("resume run %s: %w", run.ID, err)
		}
		r.evSeq = last
	} else if err := r.cfg.Recorder.CreateRun(ctx, run); err != nil {
		return nil, fmt.Errorf("record run: %w", err)
	}
	r.journal = startJournal(r.cfg.Recorder, run.ID, r.cfg.Now, r.cfg.Heartbeat)
	r.bus = newBus(r.cfg.Subscribers, r.journal.addEvents)
	ctx, cancel := context.WithCancel(ctx)
	h := &Handle{ID: run.ID, r: r, cancel: cancel, done: make(chan struct{})}

	r.mu.Lock()
	msg := ""
	if r.cfg.Resume != nil {
		msg = fmt.Sprintf("resumed with %d trial(s) recorded", len(run.Trials))
	}
	r.emit(benchrig.Event{Kind: benchrig.EventRunStarted, Msg: msg})
	for _, w := range r.profWarn {
		r.warn(w)
	}
	if ws, ok := r.cfg.Nodes.(WarningSource); ok {
		for _, w := range ws.Warnings() { // from the first contact with the nodes
			r.warn(w)
		}
	}
	if r.cfg.Resume != nil {
		r.journal.setNodes(run.Nodes, run.NodeEvents)
	}
	for _, pl := range r.plans {
		if pl.unavailable != "" {
			r.emit(benchrig.Event{Kind: benchrig.EventNote, Case: pl.c.ID, Msg: run.Notes[pl.c.ID]})
			r.journal.setNote(pl.c.ID, run.Notes[pl.c.ID])
			continue
		}
		// The trials every case runs for sure are planned now; adaptive
		// repetition plans the rest one by one as it asks for them.
		for rep := 0; rep < r.spec.Warmup+r.spec.Repeat.Min; rep++ {
			if pl.recorded[rep] {
				continue
			}
			ref := benchrig.TrialRef{Run: run.ID, Case: pl.c.ID, Rep: rep}
			r.emit(benchrig.Event{Kind: benchrig.EventTrialPlanned, Trial: &ref, Node: r.homeOf(pl).Name, Warmup: rep < r.spec.Warmup})
		}
	}
	r.mu.Unlock()

	go func() {
		defer close(h.done)
		defer cancel()
		h.run, h.err = r.finish(ctx, r.execute(ctx))
	}()
	return h, nil
}

// restore puts a resumed run's recorded trials into the plans: their reps
// are not run again, and what they measured counts for adaptive
// repetition.
func (r *state) restore(res *benchrig.Run) {
	run := r.run
	run.Trials = append([]benchrig.Trial(nil), res.Trials...)
	maps.Copy(run.Notes, res.Notes)
	if len(res.Stops) > 0 {
		run.Stops = maps.Clone(res.Stops)
	}
	run.Nodes = mergeFacts(res.Nodes, run.Nodes)
	run.NodeEvents = append(run.NodeEvents, res.NodeEvents...)
	run.Labels, run.Request = res.Labels, res.Request
	byID := map[string]*plan{}
	for _, p := range r.plans {
		byID[p.c.ID] = p
	}
	for _, t := range res.Trials {
		r.seq = max(r.seq, t.Seq+1)
		p := byID[t.CaseID]
		if p == nil {
			continue
		}
		if p.recorded == nil {
			p.recorded = map[int]bool{}
		}
		p.recorded[t.Index] = true
		p.index++
		r.done++
		if t.Warmup {
			p.warmups++
			continue
		}
		if t.ProfileOnly {
			p.profiledN++
			continue
		}
		if p.first.IsZero() || t.Start.Before(p.first) {
			p.first = t.Start
		}
		if t.Failed() {
			p.failed++
		} else {
			p.measured = append(p.measured, t.Wall.Seconds())
		}
	}
}

func mergeFacts(old, now []benchrig.NodeFacts) []benchrig.NodeFacts {
	out := append([]benchrig.NodeFacts(nil), old...)
	for _, f := range now {
		if !slices.ContainsFunc(out, func(o benchrig.NodeFacts) bool { return o.Name == f.Name }) {
			out = append(out, f)
		}
	}
	return out
}

// subscriberGrace is how long a run waits at its end for subscribers to
// handle the last events.
var subscriberGrace = 5 * time.Second

// finish records the end of the run: its status, the last events, and
// warnings about subscribers that dropped events.
func (r *state) finish(ctx context.Context, runErr error) (*benchrig.Run, error) {
	if r.cfg.BeforeFinish != nil {
		r.cfg.BeforeFinish()
	}
	run := r.run
	status := benchrig.RunFinished
	switch {
	case benchrig.ErrorCode(runErr) == benchrig.ECancelled:
		status = benchrig.RunCancelled
	case runErr != nil || r.anyFailed():
		status = benchrig.RunFailed
	}
	r.mu.Lock()
	run.Status = status
	run.Finished = r.cfg.Now()
	r.emit(benchrig.Event{Kind: benchrig.EventRunFinished, Msg: string(status)})
	r.mu.Unlock()
	r.bus.close()
	// What a subscriber dropped is known only now; it goes in the log
	// directly, as the bus is closed.
	dropped := r.bus.dropped()
	for _, name := range slices.Sorted(maps.Keys(dropped)) {
		msg := fmt.Sprintf("subscriber %s was too slow and missed %d event(s)", name, dropped[name])
		r.mu.Lock()
		run.Warnings = append(run.Warnings, msg)
		r.evSeq++
		e := benchrig.Event{Run: run.ID, Seq: r.evSeq, Time: r.cfg.Now(), Kind: benchrig.EventWarning, Msg: msg}
		e.Done, e.Total = r.progress()
		r.mu.Unlock()
		r.journal.addEvents([]benchrig.Event{e})
	}
	if err := r.journal.close(); err != nil && runErr == nil {
		runErr = err
	}
	// The run's end must be recorded even when ctx was cancelled.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := r.cfg.Recorder.FinishRun(fctx, run.ID, status, run.Finished, run.Notes); err != nil && runErr == nil {
		runErr = fmt.Errorf("record end of run %s: %w", run.ID, err)
	}
	// Subscribers get a moment to handle the last events (a progress bar
	// clearing its line); a stuck one does not hold the run.
	stop := make(chan struct{})
	t := time.AfterFunc(subscriberGrace, func() { close(stop) })
	r.bus.waitSubscribers(stop)
	t.Stop()
	return run, runErr
}

// combine makes one measurement of instances that ran at once: the wall
// time from the first start to the last exit (the time the whole batch of
// work took), CPU times, output and I/O counters summed, peaks (names with
// "peak", "max" or "cap") the largest. MaxRSS is the sum of the instances'
// peaks: an upper bound of their joint peak, which nothing measured; 0
// (unavailable) when any instance's is.
// Each instance's own wall, user and sys times are kept as metrics
// instanceN_wall_s, _user_s and _sys_s, so the combined figure can be
// traced back to them.
func combine(ms []benchrig.Measurement) benchrig.Measurement {
	out := benchrig.Measurement{Metrics: map[string]float64{"instances": float64(len(ms))}}
	var end time.Time
	var sources []string
	rssKnown := true
	for i, m := range ms {
		if m.Start.IsZero() {
			out.Error = joinReasons(out.Error, fmt.Sprintf("instance %d did not start", i+1))
			continue
		}
		if out.Start.IsZero() || m.Start.Before(out.Start) {
			out.Start = m.Start
		}
		if e := m.Start.Add(m.Wall); e.After(end) {
			end = e
		}
		out.User += m.User
		out.Sys += m.Sys
		out.MaxRSS += m.MaxRSS
		rssKnown = rssKnown && m.MaxRSS > 0
		out.StdoutBytes += m.StdoutBytes
		out.StderrBytes += m.StderrBytes
		if (m.ExitCode != 0 || m.Error != "") && out.ExitCode == 0 && out.StderrTail == "" {
			out.ExitCode = m.ExitCode
			out.StderrTail = m.StderrTail
		}
		if m.Error != "" {
			out.Error = joinReasons(out.Error, fmt.Sprintf("instance %d: %s", i+1, m.Error))
		}
		if !slices.Contains(sources, m.Source) {
			sources = append(sources, m.Source)
		}
		for k, v := range m.Metrics {
			if strings.Contains(k, "peak") || strings.Contains(k, "max") || strings.Contains(k, "cap") {
				out.Metrics[k] = max(out.Metrics[k], v)
			} else {
				out.Metrics[k] += v
			}
		}
		pre := "instance" + strconv.Itoa(i+1) + "_"
		out.Metrics[pre+"wall_s"] = m.Wall.Seconds()
		out.Metrics[pre+"user_s"] = m.User.Seconds()
		out.Metrics[pre+"sys_s"] = m.Sys.Seconds()
	}
	if !out.Start.IsZero() {
		out.Wall = end.Sub(out.Start)
	}
	// No Noise: the other instances' CPU would count as a neighbour's.
	for _, m := range ms {
		if m.Error == benchrig.ReasonCancelled {
			out.Error = benchrig.ReasonCancelled
		}
	}
	if !rssKnown {
		out.MaxRSS = 0
	}
	out.Source = strings.Join(sources, ",")
	return out
}

func joinReasons(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func cancelled() error {
	return &benchrig.Error{Code: benchrig.ECancelled, Msg: "run cancelled"}
}

// preparePlans expands every templated field of the spec for each case and
// checks what can be checked before anything runs: programs exist, workdirs
// exist, throughput files match. A case whose required program is missing,
// or whose read cap or cold cache the executor cannot honour, is planned as
// unavailable: skipped with the reason, not an error.
//
// On node pools (homes set) each case's home node is the one its
// placement param names; its jobs run in a container of the image for the
// node's architecture, with only the spec's env (the image brings its
// own), and programs are not looked up here: they are in the image.
func (r *state) preparePlans(runID string, homes map[string]*Node, placeParam string, cases []benchrig.Case) ([]*plan, benchrig.ThroughputUnit, error) {
	cfg, spec := r.cfg, r.spec
	var errs benchrig.Errors
	bad := func(field, format string, args ...any) {
		errs = append(errs, &benchrig.Error{Code: benchrig.EInvalid, File: spec.File, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	var unit benchrig.ThroughputUnit
	if spec.Throughput != nil {
		unit = spec.Throughput.Unit
	}
	checker, _ := cfg.Executor.(Checker)
	caseErrs := map[string]*caseErr{}
	var caseErrOrder []string
	specDir := cfg.Dir
	if spec.File != "" {
		specDir = resolve(cfg.Dir, filepath.Dir(spec.File))
	}
	var plans []*plan
	var lacking []*lack
	seen := map[string]bool{}
	for i := range cases {
		c := &cases[i]
		vars := c.Map()
		vars["instance"], vars["spec_dir"] = "1", specDir
		p := &plan{c: c}
		var node *Node
		if homes != nil {
			v, _ := c.Get(placeParam)
			node = homes[v]
			p.home = r.nodes[node.Name]
			vars["node"], vars["arch"] = node.Name, node.Facts.Arch
		} else {
			vars["node"], vars["arch"] = cfg.Node, cfg.Fingerprint.Arch
		}

		s, err := benchrig.Expand(spec.Instances, vars)
		if err != nil {
			bad("instances", "%v", err)
			continue
		}
		n, err := benchrig.ParseInstances(s)
		if err != nil {
			bad("instances", "case %s: %v", c.ID, err)
			continue
		}
		var field string
		badExpect := false
		for i := 1; i <= n && err == nil; i++ {
			vars["instance"] = strconv.Itoa(i)
			var job Job
			job, field, err = prepareJob(cfg, spec, vars, node != nil)
			if err == nil && node != nil {
				job, field, err = containerJob(spec, node, job, runID, c.ID, vars, cfg.Dir)
				if err == nil && job.Container.Image == "" && p.unavailable == "" {
					p.unavailable = fmt.Sprintf("no image for architecture %s of node %s (the spec's images: %s; no fallback image)", node.Facts.Arch, node.Name, imageList(spec.Images))
				}
			}
			if err == nil {
				// The output checks of this instance. A check command runs
				// on this host, after the trial: with a container job it
				// gets the host's environment and directory.
				env, dir := job.Env, job.Dir
				if node != nil {
					if env, err = environ(cfg.Environ, spec.Env, vars); err != nil {
						field = "env"
						break
					}
					dir = cfg.Dir
				}
				rules, rerr := expect.Resolve(spec.Expect, *c, vars, env, dir)
				if rerr != nil {
					errs = append(errs, asSpecError(spec, rerr))
					badExpect = true
					break
				}
				job.DigestStdout = rules.NeedsDigest()
				p.rules = append(p.rules, rules)
			}
			p.instances = append(p.instances, job)
		}
		vars["instance"] = "1"
		if badExpect {
			continue
		}
		if err != nil {
			bad(field, "%v", err)
			continue
		}
		p.job = p.instances[0]
		ddir := p.job.Dir
		if node != nil {
			ddir = cfg.Dir // data files are checked on this host, which mounts them
		}
		if l, err := lackingData(spec.Requires, vars, len(p.instances), ddir, cfg.FilesRoot); err != nil {
			bad("requires", "case %s: %v", c.ID, err)
			continue
		} else if l != nil {
			l.c = c
			lacking = append(lacking, l)
			continue
		}
		if node == nil {
			// A local run needs its GPUs on this host: refused, like
			// missing data, since no case can get them elsewhere.
			if msg, field := lackingGPUs(spec.Requires, vars, cfg.Fingerprint.Accelerators, "this host"); msg != "" {
				key := field + "\x00" + msg
				if caseErrs[key] == nil {
					caseErrs[key] = &caseErr{field: field, msg: msg}
					caseErrOrder = append(caseErrOrder, key)
				}
				caseErrs[key].cases = append(caseErrs[key].cases, c.ID)
				continue
			}
		} else if msg, _ := lackingGPUs(spec.Requires, vars, node.Facts.Accelerators, "node "+node.Name); msg != "" && p.unavailable == "" {
			p.unavailable = msg
		}
		if node == nil && p.unavailable == "" {
			// Programs are looked up on the PATH the job runs with (the
			// spec's env may set its own), as the executor will.
			p.unavailable = missingPrograms(cfg, spec.Requires, vars, p.job.Env)
			path, _ := envPath(p.job.Env)
			if argv0 := p.job.Argv[0]; p.unavailable == "" && !seen[argv0+"\x00"+path] {
				seen[argv0+"\x00"+path] = true
				if _, err := cfg.LookPath(argv0, p.job.Env); err != nil {
					bad("command", "program %q not found: %v", argv0, unwrapExec(err))
					continue
				}
			}
		}
		if node != nil {
			checker, _ = node.Executor.(Checker)
		}
		if p.unavailable == "" && checker != nil {
			if err := checker.Check(p.job); err != nil {
				p.unavailable = err.Error()
			}
		}
		if spec.Setup != nil {
			j, err := expandJob(*spec.Setup, vars, p.job.Env, p.job.Dir, 0)
			if err != nil {
				bad("setup", "%v", err)
				continue
			}
			j.Container = p.job.Container
			p.setup = &j
		}
		if spec.Cleanup != nil {
			j, err := expandJob(*spec.Cleanup, vars, p.job.Env, p.job.Dir, 0)
			if err != nil {
				bad("cleanup", "%v", err)
				continue
			}
			j.Container = p.job.Container
			p.cleanup = &j
		}
		if spec.Prepare != nil {
			j, err := expandJob(*spec.Prepare, vars, p.job.Env, p.job.Dir, spec.Timeout)
			if err != nil {
				bad("prepare", "%v", err)
				continue
			}
			j.Container = p.job.Container
			p.prepare = &j
		}
		tdir := p.job.Dir
		if node != nil {
			tdir = cfg.Dir // throughput files are counted on this host
		}
		if spec.Throughput != nil && p.unavailable == "" {
			// Each instance may work on its own files ({{.instance}} in
			// the globs): the trial's amount is the sum over instances.
			var err error
			var field string
			for i := 1; i <= len(p.instances) && err == nil; i++ {
				vars["instance"] = strconv.Itoa(i)
				var amount float64
				var files int
				if amount, files, field, err = throughputOf(spec.Throughput, vars, tdir, cfg.FilesRoot); err != nil {
					break
				}
				p.throughput += amount
				p.files += files
				if tb := spec.Throughput.Bytes; tb != nil {
					if amount, files, field, err = throughputOf(tb, vars, tdir, cfg.FilesRoot); err != nil {
						break
					}
					p.bytes += amount
					if len(tb.Files) > 0 {
						p.files += files
					}
				}
			}
			vars["instance"] = "1"
			if err != nil {
				// Usually every case misses the same files (the data
				// is not there yet): say it once, with the count.
				key := field + "\x00" + err.Error()
				if caseErrs[key] == nil {
					caseErrs[key] = &caseErr{field: field, msg: err.Error()}
					caseErrOrder = append(caseErrOrder, key)
				}
				caseErrs[key].cases = append(caseErrs[key].cases, c.ID)
				continue
			}
		}
		if p.unavailable != "" {
			p.done = true
		}
		plans = append(plans, p)
	}
	if len(lacking) > 0 {
		errs = append(errs, dataError(spec, cases, lacking))
	}
	for _, key := range caseErrOrder {
		ce := caseErrs[key]
		which := "case " + ce.cases[0]
		if n := len(ce.cases); n > 1 {
			which += fmt.Sprintf(" and %d more case(s)", n-1)
		}
		bad(ce.field, "%s: %s", which, ce.msg)
	}
	return plans, unit, errs.Err()
}

// containerJob adds the container part to a case's job on node n: the
// image for n's architecture, the run's labels, resources and options.
func containerJob(spec *benchrig.Spec, n *Node, job Job, runID, caseID string, vars map[string]string, dir string) (Job, string, error) {
	labels := map[string]string{LabelRun: runID, LabelCase: caseID, LabelSpec: spec.Name}
	image, err := benchrig.Expand(imageFor(spec, n.Facts.Arch), vars)
	if err != nil {
		return job, "image", err
	}
	c, field, err := containerOf(spec, n, strings.TrimSpace(image), labels, vars, dir)
	if err != nil {
		return job, field, err
	}
	job.Container = c
	return job, "", nil
}

func imageList(images map[string]string) string {
	if len(images) == 0 {
		return "none"
	}
	var parts []string
	for _, a := range benchrig.SortedKeys(images) {
		parts = append(parts, a+": "+images[a])
	}
	return strings.Join(parts, ", ")
}

// caseErr is one problem shared by several cases.
type caseErr struct {
	field, msg string
	cases      []string
}

// lack is what data one case lacks.
type lack struct {
	c       *benchrig.Case
	req     int    // the requirement whose files are missing (its first)
	glob    string // the first missing glob, as the spec names it
	missing int    // how many globs match nothing, over every instance
	hint    string // the requirement's hint for this case
}

// lackingData checks the data files the spec requires for one case, every
// instance of it, with relative globs resolved against dir. It returns
// what is missing, or nil.
func lackingData(reqs []benchrig.Requirement, vars map[string]string, instances int, dir, root string) (*lack, error) {
	var l *lack
	seen := map[string]bool{}
	defer func() { vars["instance"] = "1" }()
	for ri, req := range reqs {
		for _, pattern := range req.Files {
			for i := 1; i <= instances; i++ {
				vars["instance"] = strconv.Itoa(i)
				g, err := benchrig.Expand(pattern, vars)
				if err != nil {
					return nil, err
				}
				if seen[g] {
					continue // the same glob for every instance
				}
				seen[g] = true
				matches, err := confinedGlob(root, resolve(dir, g))
				if err != nil {
					return nil, err
				}
				if len(matches) > 0 {
					continue
				}
				if l == nil {
					vars["instance"] = "1"
					hint, err := benchrig.ExpandShell(req.Hint, vars)
					if err != nil {
						return nil, err
					}
					l = &lack{req: ri, glob: g, hint: hint}
				}
				l.missing++
			}
		}
	}
	return l, nil
}

// dataError is the one error for every case whose data is missing: the
// first missing file, the command that makes the data (the hint of the
// case that lacks the most, so that it makes enough for all) and, when
// some cases have their data, the --set that runs just those.
func dataError(spec *benchrig.Spec, cases []benchrig.Case, lacking []*lack) *benchrig.Error {
	worst := lacking[0]
	for _, l := range lacking[1:] {
		if l.missing > worst.missing {
			worst = l
		}
	}
	which := "every case"
	if len(lacking) < len(cases) {
		which = fmt.Sprintf("%d of %d cases", len(lacking), len(cases))
	}
	nor := ""
	if worst.missing > 1 {
		nor = fmt.Sprintf(", nor %d more", worst.missing-1)
	}
	msg := fmt.Sprintf("the data of %s is missing (no file matches %q%s)", which, worst.glob, nor)
	// The hint comes last: it may end in a shell comment.
	sep := "; make it with: "
	if set := narrowTo(spec.Params, cases, lacking); set != "" {
		msg += "; run only the cases whose data exists with --set " + set
		sep = ", or make it all with: "
	}
	if worst.hint != "" {
		msg += sep + worst.hint
	}
	return &benchrig.Error{Code: benchrig.EInvalid, File: spec.File, Field: fmt.Sprintf("requires[%d]", worst.req), Msg: msg}
}

// narrowTo finds the --set item (param=v1,v2) that keeps the most cases
// whose data exists and none whose data is missing, or "".
func narrowTo(params []benchrig.Param, cases []benchrig.Case, lacking []*lack) string {
	bad := map[string]bool{}
	for _, l := range lacking {
		bad[l.c.ID] = true
	}
	best, bestKept := "", 0
	for _, p := range params {
		good := map[string]bool{}
		for _, v := range p.Values {
			good[v] = true
		}
		for _, c := range cases {
			if v, ok := c.Get(p.Name); ok && bad[c.ID] {
				good[v] = false
			}
		}
		var keep []string
		kept := 0
		for _, v := range p.Values {
			if good[v] {
				keep = append(keep, v)
			}
		}
		if len(keep) == 0 || len(keep) == len(p.Values) {
			continue
		}
		for _, c := range cases {
			if v, _ := c.Get(p.Name); good[v] {
				kept++
			}
		}
		if kept > bestKept {
			best, bestKept = p.Name+"="+strings.Join(keep, ","), kept
		}
	}
	return best
}

// missingPrograms checks the spec's requirements for one case and returns
// why it cannot run, or "".
func missingPrograms(cfg Config, reqs []benchrig.Requirement, vars map[string]string, env []string) string {
	var missing []string
	for _, req := range reqs {
		if req.Program == "" {
			continue // data files: checked for every case before
		}
		prog, err := benchrig.Expand(req.Program, vars)
		if err != nil {
			missing = append(missing, fmt.Sprintf("requirement %q: %v", req.Program, err))
			continue
		}
		if _, err := cfg.LookPath(prog, env); err != nil {
			msg := fmt.Sprintf("required program %s not found (%v)", prog, unwrapExec(err))
			if hint, err := benchrig.ExpandShell(req.Hint, vars); err == nil && hint != "" {
				msg += "; to install: " + hint
			}
			missing = append(missing, msg)
		}
	}
	return strings.Join(missing, "; ")
}

// prepareJob expands the command, environment, workdir and resources for
// one case (and instance), returning the field at fault on error.
//
// A job for a container (inContainer) gets only the spec's env, and its
// workdir is a path in the container: by default the same directory
// benchrig runs in (the engine creates it when no mount brings it), so
// that relative paths to mounted data (mounted at the same paths) mean
// the same inside and out.
func prepareJob(cfg Config, spec *benchrig.Spec, vars map[string]string, inContainer bool) (Job, string, error) {
	dir := cfg.Dir
	base := cfg.Environ
	if inContainer {
		base = nil
	}
	if spec.Workdir != "" {
		wd, err := benchrig.Expand(spec.Workdir, vars)
		if err != nil {
			return Job{}, "workdir", err
		}
		dir = resolve(dir, wd)
		if inContainer && !filepath.IsAbs(dir) {
			return Job{}, "workdir", fmt.Errorf("%s is not an absolute path (in a container, workdir is a path in the image)", dir)
		}
	}
	if fi, err := os.Stat(dir); !inContainer && dir != "" && (err != nil || !fi.IsDir()) {
		return Job{}, "workdir", fmt.Errorf("%s is not a directory", dir)
	}
	env, err := environ(base, spec.Env, vars)
	if err != nil {
		return Job{}, "env", err
	}
	job, err := expandJob(spec.Command, vars, env, dir, spec.Timeout)
	if err != nil {
		return Job{}, "command", err
	}
	bps, err := benchrig.Expand(spec.Resources.ReadBPS, vars)
	if err != nil {
		return Job{}, "resources.read_bps", err
	}
	if job.ReadBPS, err = benchrig.ParseReadBPS(bps); err != nil {
		return Job{}, "resources.read_bps", err
	}
	dev, err := benchrig.Expand(spec.Resources.ReadDevice, vars)
	if err != nil {
		return Job{}, "resources.read_device", err
	}
	job.ReadDevice = resolve(dir, dev)
	cache, err := benchrig.Expand(spec.Cache, vars)
	if err != nil {
		return Job{}, "cache", err
	}
	if job.DropCaches, err = benchrig.ParseCache(cache); err != nil {
		return Job{}, "cache", err
	}
	return job, "", nil
}

func expandJob(c benchrig.Command, vars map[string]string, env []string, dir string, timeout time.Duration) (Job, error) {
	var argv []string
	if c.Shell != "" {
		s, err := benchrig.ExpandShell(c.Shell, vars)
		if err != nil {
			return Job{}, err
		}
		argv = []string{"/bin/sh", "-c", s}
	} else {
		for _, a := range c.Argv {
			s, err := benchrig.Expand(a, vars)
			if err != nil {
				return Job{}, err
			}
			argv = append(argv, s)
		}
	}
	if len(argv) == 0 || argv[0] == "" {
		return Job{}, errors.New("empty command")
	}
	return Job{Argv: argv, Env: env, Dir: dir, Timeout: timeout}, nil
}

// environ returns base with the spec's env, expanded for the case, set on top.
func environ(base []string, specEnv map[string]string, vars map[string]string) ([]string, error) {
	env := make([]string, 0, len(base)+len(specEnv))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, over := specEnv[k]; !over {
			env = append(env, kv)
		}
	}
	for _, k := range benchrig.SortedKeys(specEnv) {
		v, err := benchrig.Expand(specEnv[k], vars)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		env = append(env, k+"="+v)
	}
	return env, nil
}

// throughputOf returns the amount of work one trial does and, for
// throughput.files, how many regular files that is.
func throughputOf(tp *benchrig.Throughput, vars map[string]string, dir, root string) (float64, int, string, error) {
	if len(tp.Files) == 0 {
		s, err := benchrig.Expand(tp.Value, vars)
		if err != nil {
			return 0, 0, "throughput." + string(tp.Unit), err
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || v < 0 {
			return 0, 0, "throughput." + string(tp.Unit), fmt.Errorf("%q is not a non-negative number", s)
		}
		return v, 0, "", nil
	}
	var total int64
	files := 0
	for _, pattern := range tp.Files {
		g, err := benchrig.Expand(pattern, vars)
		if err != nil {
			return 0, 0, "throughput.files", err
		}
		g = resolve(dir, g)
		matches, err := confinedGlob(root, g)
		if err != nil {
			return 0, 0, "throughput.files", err
		}
		if len(matches) == 0 {
			return 0, 0, "throughput.files", fmt.Errorf("no file matches %q", g)
		}
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err != nil {
				return 0, 0, "throughput.files", err
			}
			if fi.Mode().IsRegular() {
				files++
				total += fi.Size()
			}
		}
	}
	return float64(total), files, "", nil
}

// planCases is the matrix of params without what exclude removes. An
// entry may name node or arch: every case is matched with the node it
// runs on and that node's architecture (the local host's off node pools),
// whether or not the placement made them params.
func planCases(params []benchrig.Param, exclude []map[string]string, homes map[string]*Node, placeParam string, cfg Config) []benchrig.Case {
	entries, all := placedExclude(exclude, homes, placeParam, cfg)
	if all {
		return nil
	}
	return benchrig.Cases(params, entries)
}

// placedExclude rewrites the exclude entries that name node or arch where
// that is not a param into entries on the params: on the placement's
// param (one entry per matching placement value), or, off node pools,
// without those names when this host matches them (and not at all when it
// does not). all reports an entry that this host matches whole: it
// excludes every case.
func placedExclude(exclude []map[string]string, homes map[string]*Node, placeParam string, cfg Config) (out []map[string]string, all bool) {
	where := map[string]map[string]string{"": {benchrig.PerNode: cfg.Node, benchrig.PerArch: cfg.Fingerprint.Arch}}
	if homes != nil {
		where = map[string]map[string]string{}
		for v, n := range homes {
			where[v] = map[string]string{benchrig.PerNode: n.Name, benchrig.PerArch: n.Facts.Arch}
		}
	}
	for _, e := range exclude {
		_, byNode := e[benchrig.PerNode]
		_, byArch := e[benchrig.PerArch]
		if (!byNode || placeParam == benchrig.PerNode) && (!byArch || placeParam == benchrig.PerArch) {
			out = append(out, e) // only params: as it is
			continue
		}
		vals := make([]string, 0, len(where))
		for v := range where {
			vals = append(vals, v)
		}
		slices.Sort(vals)
		for _, v := range vals {
			facts := where[v]
			rewritten := map[string]string{}
			match := true
			for k, want := range e {
				switch {
				case k == placeParam && placeParam != "":
					if want != v {
						match = false
					}
				case k == benchrig.PerNode || k == benchrig.PerArch:
					if facts[k] != want {
						match = false
					}
					continue
				}
				rewritten[k] = want
			}
			if !match {
				continue
			}
			if placeParam != "" {
				rewritten[placeParam] = v
			}
			if len(rewritten) == 0 {
				return nil, true
			}
			out = append(out, rewritten)
		}
	}
	return out, false
}

// selectCases finds the cases sel picks (the spec's baseline or ceiling):
// one per group of cases that agree on the params sel does not name. A
// param on which the picked cases all agree does not split groups: when
// exclude leaves the ceiling (cat) with one pattern of several, it is the
// ceiling of every pattern. It returns the first picked case and the pick
// of every case's group. An empty sel picks the first case, with no
// per-case map.
func selectCases(spec *benchrig.Spec, field string, sel map[string]string, cases []benchrig.Case) (string, map[string]string, error) {
	if len(sel) == 0 {
		return cases[0].ID, nil, nil
	}
	var matched []benchrig.Case
	for _, c := range cases {
		match := true
		for k, v := range sel {
			if got, ok := c.Get(k); !ok || got != v {
				match = false
				break
			}
		}
		if match {
			matched = append(matched, c)
		}
	}
	if len(matched) == 0 {
		return "", nil, &benchrig.Error{Code: benchrig.EInvalid, File: spec.File, Field: field, Msg: "matches no case"}
	}
	// Groups are the values of the params that vary among the picked
	// cases: a ceiling that exclude: left once (cat, which reads every
	// pattern alike) is every pattern's. A baseline is compared only
	// within its group of every case's varying params: where exclude:
	// removed a group's baseline, that group has no comparison rather
	// than one against another pattern's baseline.
	among := matched
	if field == "baseline" {
		among = cases
	}
	varies := map[string]bool{}
	for _, c := range among[1:] {
		for _, kv := range c.Params {
			if v, _ := among[0].Get(kv.Name); v != kv.Value {
				varies[kv.Name] = true
			}
		}
	}
	groupKey := func(c benchrig.Case) string {
		var b strings.Builder
		for _, kv := range c.Params {
			if _, named := sel[kv.Name]; !named && varies[kv.Name] {
				b.WriteString(kv.Name + "=" + kv.Value + "\x00")
			}
		}
		return b.String()
	}
	picked := map[string]string{} // group key -> picked case
	for _, c := range matched {
		picked[groupKey(c)] = c.ID
	}
	per := make(map[string]string, len(cases))
	for _, c := range cases {
		if id, ok := picked[groupKey(c)]; ok {
			per[c.ID] = id
		}
	}
	return matched[0].ID, per, nil
}

// confinedGlob is filepath.Glob, confined to root when root is set (see
// Config.FilesRoot): a pattern outside root is an error, and so is a
// match whose real path (symlinks followed) leaves it.
func confinedGlob(root, pattern string) ([]string, error) {
	refuse := func(what string) error {
		return fmt.Errorf("%s is outside %s: on this server a spec may read files only under its data directory", what, root)
	}
	if root != "" && (!filepath.IsAbs(pattern) || !benchrig.UnderPath(pattern, root)) {
		return nil, refuse(strconv.Quote(pattern))
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("bad pattern %q: %v", pattern, err)
	}
	if root == "" {
		return matches, nil
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("files root %s: %w", root, err)
	}
	for _, m := range matches {
		real, err := filepath.EvalSymlinks(m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		if !benchrig.UnderPath(real, realRoot) {
			return nil, refuse(strconv.Quote(m) + " (through a symlink)")
		}
	}
	return matches, nil
}

func resolve(base, p string) string {
	if p == "" || filepath.IsAbs(p) || base == "" {
		return p
	}
	return filepath.Join(base, p)
}

// envPath returns the PATH of an environment list (the last one wins, as
// in exec), and whether it has one.
func envPath(env []string) (string, bool) {
	path, found := "", false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path, found = v, true
		}
	}
	return path, found
}

// ErrNotInPath is LookPath's error for a name no PATH directory holds.
var ErrNotInPath = errors.New("not in PATH")

// LookPath finds a program as the local executor runs it, so that the
// run's pre-check and the executor never disagree: a name with a slash as
// it is (it must be an executable file), any other in the absolute
// directories of env's PATH (this process's PATH when env has none), as
// os/exec does.
func LookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, executable(name)
	}
	path, found := envPath(env)
	if !found {
		path = os.Getenv("PATH")
	}
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		full := filepath.Join(dir, name)
		if executable(full) == nil {
			return full, nil
		}
	}
	return "", ErrNotInPath
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

func unwrapExec(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// NewID returns a sortable, readable run ID: the start time to the second
// and four hex digits from its nanoseconds.
func NewID(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%s-%04x", t.Format("20060102-150405"), uint32(t.Nanosecond())&0xffff)
}

// asSpecError names the spec's file on an error about one of its fields.
func asSpecError(spec *benchrig.Spec, err error) *benchrig.Error {
	var e *benchrig.Error
	if errors.As(err, &e) {
		if e.File == "" {
			c := *e
			c.File = spec.File
			return &c
		}
		return e
	}
	return &benchrig.Error{Code: benchrig.EInvalid, File: spec.File, Field: "expect", Msg: err.Error()}
}
