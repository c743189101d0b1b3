// Package app is benchrig's application layer: starting, watching,
// resuming and cleaning up runs, in one place that every front end shares
// (the CLI now; the server, cron and the CI client next). A front end turns
// its input into a benchrig.RunRequest and gets back a handle to wait on or
// cancel; it never orchestrates a run itself.
//
// App knows its adapters only through the interfaces below, wired in cmd:
// the store, the executors by name and the node driver.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/collect"
	"github.com/benchrig/benchrig/runner"
	"github.com/benchrig/benchrig/spec"
)

// Store is what the application needs of a run store.
type Store interface {
	runner.Recorder
	benchrig.RunReader
	// InterruptStale marks every running run whose heartbeat is stale at
	// now as interrupted, and returns them.
	InterruptStale(ctx context.Context, now time.Time) ([]benchrig.RunSummary, error)
	// SetGate records the regression gate's verdict on a run (nil
	// clears it); GetRun and ListRuns then return it as Run.Gate.
	SetGate(ctx context.Context, runID string, g *benchrig.GateResult) error
}

// Executor is a runner.Executor that can say how it measures.
type Executor interface {
	runner.Executor
	Mode() string    // "cgroup-v1", "cgroup-v2" or "rusage"
	Warning() string // why it measures less well than it could, or ""
	Notes() []string // what the user should know about how it measures
}

// NodeDriver finds the nodes of pools and cleans up after runs on them.
type NodeDriver interface {
	runner.Discoverer
	// RemoveRun removes what run runID left on the nodes the driver
	// contacted, returning how many containers it removed.
	RemoveRun(ctx context.Context, runID string) (int, error)
	// Close releases the driver once the run no longer uses it.
	Close() error
}

// App starts and tracks runs.
type App struct {
	Store Store
	// Executors are the built-in executors by name; each call makes a new
	// one, cgroupsOff asking for rusage-only measurement.
	Executors map[string]func(cgroupsOff bool) Executor
	// Nodes makes the node driver of the named pools of a pools file.
	Nodes func(poolsFile string, pools []string) (NodeDriver, error)
	// Environ is the base environment of the local executor's commands.
	Environ []string
	// NewCollector makes the in-process collector of a local run that
	// collects (the spec's collect block, run --collect-interval and
	// --no-collect); nil collects nothing and says so on the run.
	NewCollector func(CollectorConfig) (Collector, error)
	// NewNodeCollector makes the collector of one Docker node a run uses
	// (started when the run first reports the node, stopped when it
	// ends); nil: container trials have only their final samples, from
	// the in-container shim, and the run says so.
	NewNodeCollector func(NodeCollectorConfig) (NodeCollector, error)
	// Results, when set, receives every run's samples (instead of the
	// store), trials and events as they are recorded, and the run at its
	// end; the store is still written first and stays the source of
	// truth. It is closed when a run ends: an App with Results runs one
	// run (the CLI's). ResultsName names it in the run's Collection
	// ("elasticsearch https://es:9200").
	Results     ResultSink
	ResultsName string
	// NewResults, when set (and Results is not), makes each run's own
	// result sink and its name, closed when that run ends: what a server
	// that runs many runs uses. An error is a warning on the run, which
	// then collects into the store.
	NewResults func(runID string) (ResultSink, string, error)
	// Now defaults to time.Now.
	Now func() time.Time
	// Accelerators fingerprints this host's GPUs for every run; nil asks
	// nvidia-smi (collect.Accelerators with collect.ExecSMI).
	Accelerators func(context.Context) *benchrig.Accelerators
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Pending is a run planned and not started: what a dry run shows, and what
// Start starts.
type Pending struct {
	Spec     *benchrig.Spec
	Request  benchrig.RunRequest
	Warnings []string // about how trials will be measured
	Notes    []string
	// ConfirmSubscribers watch the confirmation run the gate starts when
	// the run's request has Gate and a case is suspected (nil: none
	// does). The run's own subscribers get its gate events.
	ConfirmSubscribers []runner.Subscriber
	subs               []runner.Subscriber
	prepared           *runner.Prepared
	nodes              NodeDriver
	collect            collectPlan
}

// Cases are the run's cases as they will run.
func (p *Pending) Cases() []runner.CasePlan { return p.prepared.Cases() }

// Run is the run as it will be recorded.
func (p *Pending) Run() *benchrig.Run { return p.prepared.Run() }

// RunWarnings are what the run will warn about as it starts (profiling
// asked for and not possible here); the run keeps them.
func (p *Pending) RunWarnings() []string { return p.prepared.Warnings() }

// Close releases what Prepare acquired when the run is not started.
func (p *Pending) Close() error {
	if p.nodes != nil {
		return p.nodes.Close()
	}
	return nil
}

// Handle is a run in progress.
type Handle struct {
	*runner.Handle
	nodes NodeDriver
	done  chan struct{}
	run   *benchrig.Run
	err   error
	// stopGate cancels the gate (its confirmation run) of a gated run.
	stopGate context.CancelFunc
}

// Wait waits for the run's end; a cancelled run's containers are removed
// from its nodes before it returns. A run whose request has Gate is
// judged first (see App.Gate): the run returned has Run.Gate, and its
// subscribers got its gate events. A cancelled run is not judged; a gate
// that could not judge the run is the error, unless the run had one.
func (h *Handle) Wait() (*benchrig.Run, error) {
	<-h.done
	return h.run, h.err
}

// Done is closed when Wait would return: after the gate.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Cancel stops the run, or the gate's confirmation run when the run is
// over; a run cancelled before it ended is not judged.
func (h *Handle) Cancel() {
	h.Handle.Cancel()
	h.stopGate()
}

// Prepare loads the request's spec, applies its overrides, contacts the
// nodes of its pools (if any) and plans every case. Nothing is recorded.
func (a *App) Prepare(ctx context.Context, req benchrig.RunRequest, subs ...runner.Subscriber) (*Pending, error) {
	return a.PrepareAs(ctx, "", req, subs...)
}

// PrepareAs is Prepare for a run whose ID was assigned before (a server's
// queued run, recorded with status queued): the run keeps id, and Start
// records it over its queued record. id "" assigns a new one.
func (a *App) PrepareAs(ctx context.Context, id string, req benchrig.RunRequest, subs ...runner.Subscriber) (*Pending, error) {
	if len(req.Commands) > 0 {
		s, err := spec.AdHoc(req.Commands, req.Names)
		if err != nil {
			return nil, err
		}
		return a.prepare(ctx, id, req, s, nil, subs)
	}
	file := req.SpecFile
	if !filepath.IsAbs(file) && req.Dir != "" {
		file = filepath.Join(req.Dir, file)
	}
	s, err := spec.Load(file)
	if err != nil {
		return nil, err
	}
	return a.prepare(ctx, id, req, s, nil, subs)
}

// overrides applies the request's changes to the spec and lists them as
// the run keeps them.
func overrides(s *benchrig.Spec, req benchrig.RunRequest) ([]string, []string, error) {
	notes, err := spec.ApplySet(s, req.Sets)
	if err != nil {
		return nil, nil, err
	}
	var out []string
	for _, v := range req.Sets {
		out = append(out, "--set "+v)
	}
	if req.Repeat > 0 {
		s.Repeat = benchrig.Repeat{Min: req.Repeat, Max: req.Repeat}
		out = append(out, "--repeat "+strconv.Itoa(req.Repeat))
	}
	if req.Warmup != nil {
		s.Warmup = *req.Warmup
		out = append(out, "--warmup "+strconv.Itoa(*req.Warmup))
	}
	for _, p := range req.Pools {
		out = append(out, "--pool "+p)
	}
	if req.Prepare != "" {
		s.Prepare = &benchrig.Command{Shell: req.Prepare}
		out = append(out, "--prepare "+req.Prepare)
	}
	if req.NoCollect {
		out = append(out, "--no-collect")
	}
	if req.CollectInterval > 0 {
		out = append(out, "--collect-interval "+req.CollectInterval.String())
	}
	switch req.Profile {
	case "":
	case "cpu":
		s.Profile.Enabled = true
		out = append(out, "--profile cpu")
	case "off":
		s.Profile = benchrig.Profiling{}
		out = append(out, "--profile off")
	default:
		return nil, nil, &benchrig.Error{Code: benchrig.EInvalid, Field: "profile", Msg: fmt.Sprintf("unknown profile %q: cpu or off", req.Profile)}
	}
	if req.ProfileFreq != 0 {
		if req.ProfileFreq < 1 || req.ProfileFreq > benchrig.MaxProfileFreq {
			return nil, nil, &benchrig.Error{Code: benchrig.EInvalid, Field: "profile-freq", Msg: fmt.Sprintf("must be between 1 and %d Hz, got %d", benchrig.MaxProfileFreq, req.ProfileFreq)}
		}
		if !s.Profile.Enabled {
			return nil, nil, &benchrig.Error{Code: benchrig.EInvalid, Field: "profile-freq", Msg: "profiling is off: add --profile cpu or a profile block to the spec"}
		}
		s.Profile.Freq = req.ProfileFreq
		out = append(out, "--profile-freq "+strconv.Itoa(req.ProfileFreq))
	}
	return out, notes, nil
}

func (a *App) prepare(ctx context.Context, id string, req benchrig.RunRequest, s *benchrig.Spec, resume *benchrig.Run, subs []runner.Subscriber) (*Pending, error) {
	ovr, setNotes, err := overrides(s, req)
	if err != nil {
		return nil, err
	}
	if err := spec.CheckCases(s, req.MaxCases); err != nil {
		return nil, err
	}
	fp := collect.Host(collect.Roots{})
	if a.Accelerators != nil {
		fp.Accelerators = a.Accelerators(ctx)
	} else {
		fp.Accelerators = collect.Accelerators(ctx, collect.ExecSMI{})
	}
	fp.SpecHash = s.Hash
	if s.File != "" {
		fp.GitCommit, fp.GitDirty = collect.GitCommit(ctx, filepath.Dir(s.File), filepath.Base(s.File))
	}
	cfg := runner.Config{
		Recorder:    a.Store,
		Fingerprint: fp,
		Environ:     a.Environ,
		Dir:         req.Dir,
		FilesRoot:   req.FilesRoot,
		Overrides:   ovr,
		Labels:      req.Labels,
		Request:     &req,
		Subscribers: subs,
		Resume:      resume,
		Now:         a.Now,
	}
	if id != "" {
		cfg.NewID = func(time.Time) string { return id }
	}
	cfg.Cases, cfg.AvoidNodes = req.Cases, req.AvoidNodes
	if ps, ok := a.Store.(benchrig.ProfileStore); ok {
		cfg.Profiles = ps
	}
	if err := a.checkGate(ctx, req.Gate); err != nil {
		return nil, err
	}
	p := &Pending{Spec: s, Request: req, Notes: setNotes, subs: subs}
	p.collect.interval = collectInterval(s, req)
	if resume != nil {
		p.collect.prev = resume.Collection
	}
	pools := req.Pools
	if len(pools) == 0 {
		pools = s.Placement.Pools
	}
	if len(pools) > 0 {
		if a.Nodes == nil {
			return nil, benchrig.Errorf(benchrig.EInvalid, "this benchrig has no node driver: pools cannot be used")
		}
		nd, err := a.Nodes(req.PoolsFile, pools)
		if err != nil {
			return nil, err
		}
		p.nodes = nd
		cfg.Nodes = nd
		cfg.Fingerprint.Executor = "docker"
		cfg.Fingerprint.CgroupMode = "shim"
		p.collect.pools = true
	} else {
		name := req.Executor
		if name == "" {
			name = "local"
		}
		newExec, ok := a.Executors[name]
		if !ok {
			return nil, &benchrig.Error{Code: benchrig.EInvalid, Field: "executor", Msg: fmt.Sprintf("unknown executor %q", name)}
		}
		exec := newExec(req.Cgroups == "off")
		if w := exec.Warning(); w != "" {
			p.Warnings = append(p.Warnings, w)
		}
		p.Notes = append(p.Notes, exec.Notes()...)
		cfg.Executor, cfg.Node = exec, "local"
		cfg.Fingerprint.Executor = name
		cfg.Fingerprint.CgroupMode = exec.Mode()
		p.collect.rusage = exec.Mode() == "rusage"
		if p.collect.interval > 0 {
			p.collect.watch = &lateWatcher{}
			cfg.Watcher = p.collect.watch
		}
	}
	p.collect.recorder = &teeRecorder{Recorder: a.Store}
	cfg.Recorder = p.collect.recorder
	cfg.BeforeFinish = p.collect.recorder.beforeFinish
	p.prepared, err = runner.Prepare(ctx, cfg, s)
	if err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Start records the pending run and runs it in the background.
//
// What the run collects runs beside it (see CollectorConfig and
// ResultSink): it is stopped, with its final flush, once the runner is
// done, and the run's Collection is recorded before Wait returns.
func (a *App) Start(ctx context.Context, p *Pending) (*Handle, error) {
	coll := a.startCollection(ctx, p)
	p.collect.recorder.set(coll.tee)
	p.collect.recorder.coll.Store(coll)
	rh, err := p.prepared.Start(ctx)
	if err != nil {
		coll.finish(ctx, a.Store, nil)
		p.Close()
		return nil, err
	}
	gctx, stopGate := context.WithCancel(ctx)
	h := &Handle{Handle: rh, nodes: p.nodes, done: make(chan struct{}), stopGate: stopGate}
	coll.setEmit(rh.Emit)
	go func() {
		defer close(h.done)
		defer stopGate()
		h.run, h.err = rh.Wait()
		coll.finish(ctx, a.Store, h.run)
		h.releaseNodes(ctx)
		if g := p.Request.Gate; g != nil && h.run != nil && benchrig.ErrorCode(h.err) != benchrig.ECancelled && gctx.Err() == nil {
			a.gateRun(gctx, h, *g, p)
		}
	}()
	return h, nil
}

// releaseNodes removes a cancelled run's containers from its nodes and
// lets the node driver go, before the run's Wait returns.
func (h *Handle) releaseNodes(ctx context.Context) {
	if h.nodes == nil {
		return
	}
	if benchrig.ErrorCode(h.err) == benchrig.ECancelled {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		if _, err := h.nodes.RemoveRun(rctx, h.ID); err != nil && h.run != nil {
			h.run.Warnings = append(h.run.Warnings, err.Error())
		}
		cancel()
	}
	if err := h.nodes.Close(); err != nil && h.run != nil {
		h.run.Warnings = append(h.run.Warnings, err.Error())
	}
}

// gateRun judges the ended run of h under g, giving its gate events to
// the run's subscribers (in order, after the run's own). A gate that
// cannot judge the run says why in a last gate event and is the run's
// error, unless it has one: a CI job must not read it as a pass.
func (a *App) gateRun(ctx context.Context, h *Handle, g benchrig.GateRequest, p *Pending) {
	deliver := func(e benchrig.Event) {
		for _, s := range p.subs {
			if s.Handle != nil {
				s.Handle(e)
			}
		}
	}
	res, err := a.Gate(ctx, h.run, g, GateOptions{OnEvent: deliver, Subscribers: p.ConfirmSubscribers})
	if err == nil {
		h.run.Gate = res
		return
	}
	ev := &gateEvents{a: a, runID: h.run.ID, on: deliver}
	if benchrig.ErrorCode(err) != benchrig.ECancelled { // a cancelled confirmation said so already
		if rerr := ev.add(context.WithoutCancel(ctx), "the gate could not judge the run: "+err.Error()); rerr != nil {
			h.run.Warnings = append(h.run.Warnings, rerr.Error())
		}
	}
	if h.err == nil {
		h.err = err
	}
}

// Run prepares and starts a run.
func (a *App) Run(ctx context.Context, req benchrig.RunRequest, subs ...runner.Subscriber) (*Handle, error) {
	p, err := a.Prepare(ctx, req, subs...)
	if err != nil {
		return nil, err
	}
	return a.Start(ctx, p)
}

// ResumeOptions change how Resume checks that the run can go on.
type ResumeOptions struct {
	// Force resumes even when the spec file changed since the run started
	// (the run goes on with the spec it started with).
	Force bool
}

// PrepareResume plans the missing trials of an interrupted or cancelled
// run: the same spec (as recorded with the run), overrides, pools and
// settings. A spec file that changed since is EInvalid unless opts.Force.
func (a *App) PrepareResume(ctx context.Context, ref string, opts ResumeOptions, subs ...runner.Subscriber) (*Pending, error) {
	if _, err := a.Sweep(ctx); err != nil {
		return nil, err
	}
	run, err := a.Store.GetRun(ctx, ref)
	if err != nil {
		return nil, err
	}
	switch run.Status {
	case benchrig.RunInterrupted, benchrig.RunCancelled:
	case benchrig.RunRunning:
		return nil, benchrig.Errorf(benchrig.EInvalid, "run %s is still running (its heartbeat is %s old): only an interrupted or cancelled run can be resumed", run.ID, benchrig.FormatDuration(a.now().Sub(run.Heartbeat)))
	default:
		return nil, benchrig.Errorf(benchrig.EInvalid, "run %s is %s: only an interrupted or cancelled run can be resumed", run.ID, run.Status)
	}
	if run.Request == nil {
		return nil, benchrig.Errorf(benchrig.EInvalid, "run %s was recorded without its request (by an older benchrig): it cannot be resumed", run.ID)
	}
	if !opts.Force && run.SpecFile != "" {
		if err := specUnchanged(run); err != nil {
			return nil, err
		}
	}
	s, err := spec.Parse(run.SpecFile, run.SpecSource)
	if err != nil {
		return nil, fmt.Errorf("resume run %s: its recorded spec: %w", run.ID, err)
	}
	return a.prepare(ctx, "", *run.Request, s, run, subs)
}

// specUnchanged checks that the spec file still holds what the run ran.
func specUnchanged(run *benchrig.Run) error {
	data, err := os.ReadFile(run.SpecFile)
	if err != nil {
		return &benchrig.Error{Code: benchrig.EInvalid, File: run.SpecFile, Msg: "cannot check the spec is unchanged (resume with --force to use the spec recorded with the run)", Err: err}
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != run.SpecHash {
		return &benchrig.Error{Code: benchrig.EInvalid, File: run.SpecFile, Msg: fmt.Sprintf("changed since run %s started; resume with --force to go on with the spec recorded with the run", run.ID)}
	}
	return nil
}

// sweepLead is how far ahead Sweep judges heartbeats: more than the time
// between a sweep and the reads that follow it, far less than the
// heartbeat's staleness (10 s, five missed beats).
const sweepLead = time.Second

// Sweep marks runs whose process died as interrupted and removes the
// containers they left on their nodes. Every front end calls it before it
// lists or resumes runs; it returns the runs it marked, with what could
// not be cleaned as warnings on them.
func (a *App) Sweep(ctx context.Context) ([]benchrig.RunSummary, error) {
	// Judged a moment ahead, so that a run never reads as interrupted (by
	// the store's own clock, right after this) before its containers were
	// looked for here.
	stale, err := a.Store.InterruptStale(ctx, a.now().Add(sweepLead))
	if err != nil {
		return nil, err
	}
	for i := range stale {
		r := &stale[i]
		if r.Request == nil || a.Nodes == nil {
			continue
		}
		pools := r.Request.Pools
		if len(pools) == 0 && len(r.Nodes) == 0 {
			continue // a local run: its trial cgroups are swept by the local executor
		}
		if len(pools) == 0 {
			s, err := spec.Parse(r.SpecFile, r.SpecSource)
			if err != nil {
				r.Warnings = append(r.Warnings, fmt.Sprintf("its containers were not removed: its spec: %v", err))
				continue
			}
			pools = s.Placement.Pools
		}
		r.Warnings = append(r.Warnings, a.removeContainers(ctx, r.ID, r.Request.PoolsFile, pools)...)
	}
	return stale, nil
}

// removeContainers contacts the nodes of an interrupted run's pools, which
// removes the containers of benchrig processes that died, the run's
// among them, and then any container still labelled with the run.
func (a *App) removeContainers(ctx context.Context, runID, poolsFile string, pools []string) []string {
	nd, err := a.Nodes(poolsFile, pools)
	if err != nil {
		return []string{fmt.Sprintf("its containers were not removed: %v", err)}
	}
	defer nd.Close()
	var warnings []string
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := nd.Nodes(cctx); err != nil {
		warnings = append(warnings, fmt.Sprintf("its containers were not removed: %v", err))
	}
	if _, err := nd.RemoveRun(cctx, runID); err != nil {
		warnings = append(warnings, err.Error())
	}
	if ws, ok := nd.(runner.WarningSource); ok {
		warnings = append(warnings, ws.Warnings()...)
	}
	return slices.DeleteFunc(warnings, func(s string) bool { return s == "" })
}
