package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/expect"
	"github.com/benchrig/benchrig/stats"
)

// The scheduler: one worker goroutine per trial slot of each node. A
// worker takes the next trial of a case whose home is its node (round by
// round over those cases unless the spec asks for sequential order), runs
// it, and records it before taking another. All bookkeeping happens under
// state.mu; executors run outside it. On the local executor there is one
// node with one slot, so trials run exactly one at a time, in order.

// state is one run in progress.
type state struct {
	cfg   Config
	spec  *benchrig.Spec
	run   *benchrig.Run
	plans []*plan

	mu    sync.Mutex
	cond  *sync.Cond // broadcast whenever a trial ends, a node changes or ctx ends
	nodes map[string]*nodeState
	order []*nodeState // in the order first seen
	local *nodeState   // the local executor's node; nil on node pools
	// wg counts workers. The refresh loop adds workers only while some
	// case still needs trials and the run has not failed, both judged
	// under mu, so it never adds to wg after the last worker left.
	wg  sync.WaitGroup
	err error // the first error that ends the run

	seq  int // the next trial's Seq
	done int // trials recorded

	bus     *bus
	journal *journal
	evSeq   int64           // the last event's Seq
	noted   map[string]bool // cases noted by this process (a resumed run's old notes are replaced)
	// pending are trials recorded in memory and not yet written: the
	// goroutine that recorded them writes them once it released mu.
	pending []*benchrig.Trial
	// discoveryErr is the last error of the Discoverer, reported once.
	discoveryErr string
	// judge decides trials' outcomes from what they measured and printed
	// (the spec's expect); safe for concurrent use without mu.
	judge *expect.Judge

	// profiler samples profiled trials (run.Profiling says how); nil when
	// the run is not profiled. profWarn are the warnings of the check made
	// before the run, told once it starts.
	profiler Profiler
	profWarn []string
}

// nodeState is a node as the scheduler sees it.
type nodeState struct {
	*Node
	slots  int    // trials at once: the spec's trials_per_node capped by the node's max_trials
	busy   int    // trials running now
	starts int64  // trials started so far: a trial that sees it move ran beside another
	cursor int    // next plan index to consider, for round-by-round order
	gone   string // why the node takes no more trials ("" while it does)
	// unavailable counts consecutive trials the engine failed to run
	// while still answering a ping: past maxUnavailable the node is lost.
	unavailable int
}

// maxUnavailable is how many trials in a row a node may fail to run
// (EUnavailable) while still answering pings before it is treated as
// lost: one failed API call is a hiccup, three are a broken node.
const maxUnavailable = 3

// addNode makes n known to the scheduler. Called before workers start, or
// with r.mu held by the refresh loop (which starts its workers).
func (r *state) addNode(n *Node) *nodeState {
	slots := max(r.spec.Placement.TrialsPerNode, 1)
	if n.MaxTrials > 0 {
		slots = min(slots, n.MaxTrials)
	}
	ns := &nodeState{Node: n, slots: slots}
	r.nodes[n.Name] = ns
	r.order = append(r.order, ns)
	return ns
}

// emit stamps e with the run, the next sequence number, the time and the
// progress, and hands it to the bus, which never blocks. r.mu is held, so
// events are numbered in the order things happened.
func (r *state) emit(e benchrig.Event) {
	r.evSeq++
	e.Run, e.Seq, e.Time = r.run.ID, r.evSeq, r.cfg.Now()
	if e.Trial != nil {
		e.Warmup = e.Trial.Rep < r.spec.Warmup
		e.Number = benchrig.TrialNumber(e.Trial.Rep, r.spec.Warmup)
		if e.Profiled {
			e.Number = e.Trial.Rep - r.profileFrom() + 1
		}
	}
	e.Done, e.Total = r.progress()
	if r.bus != nil {
		r.bus.publish(e)
	}
}

// progress is the one place the run's progress is computed: trials
// recorded, and recorded plus what each case may still record (for
// adaptive repetition its maximum, until it stops). Done never exceeds
// Total. r.mu is held.
func (r *state) progress() (done, total int) {
	total = r.done
	for _, p := range r.plans {
		total += r.remaining(p)
	}
	return r.done, total
}

// remaining is how many more trials case p may record, its extra profiled
// ones included. r.mu is held.
func (r *state) remaining(p *plan) int {
	extra := r.extraLeft(p)
	if p.done {
		return max(p.inflight, extra)
	}
	return max(r.spec.Warmup+r.spec.Repeat.Max-p.measuredIndex(), p.inflight) + extra
}

// note adds msg to case p's note, in the run, the store and the event log.
// A resumed run's note from before is replaced by the first new one.
// r.mu is held.
func (r *state) note(p *plan, msg string) {
	if old := r.run.Notes[p.c.ID]; old != "" && r.noted[p.c.ID] {
		msg = old + "; " + msg
	}
	r.noted[p.c.ID] = true
	r.run.Notes[p.c.ID] = msg
	r.journal.setNote(p.c.ID, msg)
	r.emit(benchrig.Event{Kind: benchrig.EventNote, Case: p.c.ID, Msg: msg})
}

// warn keeps a warning on the run and in its event log. r.mu is held.
func (r *state) warn(msg string) {
	r.run.Warnings = append(r.run.Warnings, msg)
	r.emit(benchrig.Event{Kind: benchrig.EventWarning, Msg: msg})
}

func (r *state) anyFailed() bool {
	for _, p := range r.plans {
		if p.failed > 0 || p.skipped != "" {
			return true
		}
	}
	return false
}

func (r *state) execute(ctx context.Context) error {
	// Setup for every case first and cleanup for every case last, so that
	// interleaved rounds never run a case's setup between other cases' trials.
	for _, p := range r.plans {
		if p.unavailable != "" || r.finishedLocked(p) {
			continue
		}
		if err := r.setup(ctx, p); err != nil {
			r.mu.Lock()
			err = r.setupFailed(ctx, p, err)
			r.writePending(ctx)
			r.mu.Unlock()
			if err != nil {
				return err
			}
		}
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		for _, p := range r.plans {
			if p.skipped == "" && p.unavailable == "" && p.setupOn != nil && p.setupOn.gone == "" {
				// A failed cleanup is noted on its case; one the executor
				// could not run at all is a warning on the run.
				if err := r.hook(cctx, p, p.setupOn, p.cleanup, "cleanup"); err != nil {
					r.mu.Lock()
					r.warn(err.Error())
					r.mu.Unlock()
				}
			}
		}
	}()

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		<-wctx.Done()
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	}()
	r.mu.Lock()
	for _, ns := range r.order {
		r.startWorkers(wctx, ns)
	}
	r.mu.Unlock()
	refreshed := make(chan struct{})
	rctx, stopRefresh := context.WithCancel(wctx)
	if r.cfg.Nodes != nil {
		go func() {
			defer close(refreshed)
			r.refreshLoop(rctx)
		}()
	} else {
		close(refreshed)
	}
	r.wg.Wait()
	stopRefresh()
	<-refreshed
	// Extra profiled trials come after every measured one, before the
	// cleanups: they must not disturb what is measured.
	r.profileExtra(wctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil && ctx.Err() != nil {
		r.err = cancelled()
	}
	return r.err
}

// startWorkers starts a node's workers; r.mu is held.
func (r *state) startWorkers(ctx context.Context, ns *nodeState) {
	for range ns.slots {
		r.wg.Add(1)
		go r.worker(ctx, ns)
	}
}

// setup runs a case's setup on its home node before any worker starts.
func (r *state) setup(ctx context.Context, p *plan) error {
	home := r.homeOf(p)
	if err := r.hook(ctx, p, home, p.setup, "setup"); err != nil {
		return err
	}
	r.mu.Lock()
	p.setupOn = home
	r.mu.Unlock()
	return nil
}

// setupFailed decides what an executor's failure to run a case's setup
// means. On node pools a node that stopped answering is lost (its cases
// move, and get their setup where they land) and a node that cannot run
// the setup (its image is missing, say) fails that case only; otherwise,
// or when the run was cancelled, the error ends the run. r.mu is held.
func (r *state) setupFailed(ctx context.Context, p *plan, err error) error {
	if r.cfg.Nodes == nil || ctx.Err() != nil || benchrig.ErrorCode(err) == benchrig.ECancelled {
		return err
	}
	home := r.homeOf(p)
	if benchrig.ErrorCode(err) == benchrig.EUnavailable {
		if home.gone == "" {
			r.nodeGone(home, benchrig.NodeLost, err.Error())
		}
		return nil
	}
	p.skipped = err.Error()
	p.done = true
	r.note(p, "not run: "+p.skipped)
	return nil
}

// hook runs a case's setup or cleanup command on node ns. A failed setup
// skips the case.
func (r *state) hook(ctx context.Context, p *plan, ns *nodeState, job *Job, what string) error {
	if job == nil {
		return nil
	}
	m, err := ns.Executor.Run(ctx, r.forNode(*job, ns, what))
	if err != nil {
		return fmt.Errorf("%s of case %s: %w", what, p.c.ID, err)
	}
	if benchrig.ClassifyMeasurement(m) == benchrig.OutcomeCancelled || ctx.Err() != nil {
		return cancelled()
	}
	if m.ExitCode != 0 || m.Error != "" {
		reason := m.Error
		if reason == "" {
			reason = "exit status " + strconv.Itoa(m.ExitCode)
		}
		msg := fmt.Sprintf("%s failed (%s)", what, reason)
		if tail := strings.TrimSpace(m.StderrTail); tail != "" {
			msg += ": " + lastLine(tail)
		}
		r.mu.Lock()
		if what == "setup" {
			p.skipped = msg
			p.done = true
		}
		r.note(p, msg)
		r.mu.Unlock()
	}
	return nil
}

// forNode fits a job to the node it runs on: a container job gets its own
// copy of the labels, with the trial's number (or "setup", "cleanup").
func (r *state) forNode(job Job, ns *nodeState, trial string) Job {
	if job.Container == nil {
		return job
	}
	c := *job.Container
	c.Labels = maps.Clone(c.Labels)
	c.Labels[LabelTrial] = trial
	if ns.Facts.ArchDeclared {
		c.Platform = "linux/" + ns.Facts.Arch
	}
	job.Container = &c
	return job
}

// trialJob fits one of p's trial jobs to node ns and gives it the trial's
// identity: its reference, its case's params and, when watched, the
// configured Watcher. Setup, prepare, cleanup and check jobs get none.
func (r *state) trialJob(p *plan, job Job, ns *nodeState, ref benchrig.TrialRef, watched bool) Job {
	job = r.forNode(job, ns, ref.String())
	job.Ref = ref
	job.Params = p.c.Map()
	if watched {
		job.Watcher = r.cfg.Watcher
	}
	return job
}

// finished decides whether case p needs another trial, noting why it stops
// when repetition is adaptive. Trials in flight are not counted: they may
// yet fail. r.mu is held.
func (r *state) finished(p *plan) bool {
	if p.done {
		return true
	}
	rep := r.spec.Repeat
	n := len(p.measured) + p.failed
	if p.measuredIndex() < r.spec.Warmup || n < rep.Min {
		return false
	}
	stop := benchrig.Stop{Trials: n}
	switch {
	case n >= rep.Max && rep.UntilCI == 0:
		p.done = true // a fixed count, or min/max without a CI target: nothing to note
		return true
	case rep.UntilCI > 0 && len(p.measured) >= 2 && stats.RelHalfWidth(p.measured) <= rep.UntilCI:
		// Checked before max: the trial that reached max may also have
		// met the target.
		stop.Reason = benchrig.StopCIMet
	case n >= rep.Max:
		stop.Reason = benchrig.StopMax
	case rep.MaxTime > 0 && rep.UntilCI == 0 && r.cfg.Now().Sub(p.first) >= rep.MaxTime:
		// A time budget without a CI target: nothing was missed, but
		// fewer than max trials ran, which the case's note says.
		p.done = true
		r.note(p, fmt.Sprintf("max_time %s reached after %d trials", rep.MaxTime, n))
		return true
	case rep.MaxTime > 0 && r.cfg.Now().Sub(p.first) >= rep.MaxTime:
		stop.Reason = benchrig.StopMaxTime
	default:
		return false
	}
	stop.HalfWidth = stats.RelHalfWidth(p.measured)
	p.done = true
	if r.run.Stops == nil {
		r.run.Stops = map[string]benchrig.Stop{}
	}
	r.run.Stops[p.c.ID] = stop
	r.journal.setStop(p.c.ID, stop)
	r.note(p, stop.Note(rep))
	return true
}

// finishedLocked is finished for callers that do not hold r.mu.
func (r *state) finishedLocked(p *plan) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.finished(p)
}

// startable reports whether another trial of p may start now. Past the
// warmups and the minimum count, a case with trials in flight waits for
// them: whether it needs more depends on what they measure. r.mu is held.
func (r *state) startable(p *plan) bool {
	if p.settingUp {
		return false
	}
	if p.inflight == 0 {
		return !r.finished(p)
	}
	if p.done {
		return false
	}
	if p.warmups < r.spec.Warmup {
		return true
	}
	n := len(p.measured) + p.failed + p.inflight - p.inflightW
	return n < r.spec.Repeat.Min && n < r.spec.Repeat.Max
}

// takeRep hands out the repetition the next trial of p runs: one whose
// start measured nothing first (its next attempt), else the next new one,
// skipping those a resumed run already has. r.mu is held.
func (r *state) takeRep(p *plan) benchrig.TrialRef {
	ref := benchrig.TrialRef{Run: r.run.ID, Case: p.c.ID}
	if len(p.retry) > 0 {
		slices.Sort(p.retry)
		ref.Rep, p.retry = p.retry[0], p.retry[1:]
		ref.Attempt = p.attempts[ref.Rep]
		return ref
	}
	for p.recorded[p.nextRep] {
		p.nextRep++
	}
	ref.Rep = p.nextRep
	p.nextRep++
	if ref.Rep >= r.spec.Warmup+r.spec.Repeat.Min {
		// Adaptive repetition asked for one more: planned only now.
		r.emit(benchrig.Event{Kind: benchrig.EventTrialPlanned, Trial: &ref, Node: r.homeOf(p).Name})
	}
	return ref
}

// giveBack returns a repetition whose start measured nothing, to be started
// again as its next attempt (or, if the case stops first, never). r.mu is
// held.
func (r *state) giveBack(p *plan, ref benchrig.TrialRef, node, why string) {
	if p.attempts == nil {
		p.attempts = map[int]int{}
	}
	p.attempts[ref.Rep] = ref.Attempt + 1
	p.retry = append(p.retry, ref.Rep)
	r.emit(benchrig.Event{Kind: benchrig.EventTrialDiscarded, Trial: &ref, Node: node, Warmup: ref.Rep < r.spec.Warmup, Msg: why})
}

// next picks the next case node ns runs a trial of, or nil. r.mu is held.
func (r *state) next(ns *nodeState) *plan {
	n := len(r.plans)
	from := ns.cursor
	if r.spec.Order == benchrig.Sequential {
		from = 0
	}
	for k := range n {
		i := (from + k) % n
		p := r.plans[i]
		if r.homeOf(p) != ns || !r.startable(p) {
			continue
		}
		ns.cursor = i + 1
		return p
	}
	return nil
}

func (r *state) homeOf(p *plan) *nodeState {
	if p.home == nil {
		return r.local
	}
	return p.home
}

// allDone reports whether no case needs another trial and none is in
// flight. r.mu is held.
func (r *state) allDone() bool {
	for _, p := range r.plans {
		if p.inflight > 0 || p.settingUp || !r.finished(p) {
			return false
		}
	}
	return true
}

// worker runs trials on one slot of node ns until the run ends or the
// node is gone. It holds r.mu only for bookkeeping: executors and store
// writes run with it released.
func (r *state) worker(ctx context.Context, ns *nodeState) {
	defer r.wg.Done()
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.cond.Broadcast()
	for r.err == nil && ctx.Err() == nil && ns.gone == "" {
		p := r.next(ns)
		if p == nil {
			if r.allDone() {
				return
			}
			r.cond.Wait()
			continue
		}
		if p.setupOn != ns && p.setup == nil {
			p.setupOn = ns // where its cleanup runs
		}
		if p.setupOn != ns {
			// The case moved here from a lost node: set it up again,
			// while no other worker takes its trials.
			p.settingUp = true
			r.mu.Unlock()
			err := r.hook(ctx, p, ns, p.setup, "setup")
			r.mu.Lock()
			p.settingUp = false
			if err == nil {
				p.setupOn = ns
			} else if err := r.setupFailed(ctx, p, err); err != nil {
				r.fail(err)
			}
			r.writePending(ctx)
			r.cond.Broadcast()
			continue
		}
		ref := r.takeRep(p)
		warmup := ref.Rep < r.spec.Warmup
		p.inflight++
		if warmup {
			p.warmups++
			p.inflightW++
		}
		ns.busy++
		ns.starts++
		gen, alone := ns.starts, ns.busy == 1
		r.emit(benchrig.Event{Kind: benchrig.EventTrialStarted, Trial: &ref, Node: ns.Name, Warmup: warmup})
		r.mu.Unlock()
		m, ms, err := r.measure(ctx, p, ns, ref)
		var v *expect.Verdict
		if err == nil && len(ms) > 0 && !m.Start.IsZero() && ctx.Err() == nil && benchrig.ClassifyMeasurement(m) != benchrig.OutcomeCancelled {
			// Judged before the lock is taken: a check command may run.
			verdict := r.judge.Trial(ctx, p.rules, ms)
			v = &verdict
		}
		r.mu.Lock()
		if !alone || ns.starts != gen {
			// Another trial of this run ran beside it on the node: its
			// CPU would count as a neighbour's. Noise is for trials alone.
			m.Noise = nil
		}
		p.inflight--
		ns.busy--
		if warmup {
			p.inflightW--
		}
		r.finishTrial(ctx, p, ns, ref, m, v, err)
		r.writePending(ctx)
		r.cond.Broadcast()
	}
}

// writePending writes the trials recorded in memory to the store, with
// r.mu released meanwhile (it is held on entry and on return). A trial
// that cannot be written ends the run.
func (r *state) writePending(ctx context.Context) {
	for len(r.pending) > 0 {
		ts := r.pending
		r.pending = nil
		r.mu.Unlock()
		var err error
		for _, t := range ts {
			if err = r.cfg.Recorder.AddTrial(context.WithoutCancel(ctx), t); err != nil {
				err = fmt.Errorf("record trial %s: %w", t.Ref(), err)
				break
			}
		}
		r.mu.Lock()
		if err != nil {
			r.fail(err)
		}
	}
}

// fail ends the run with err unless it already ended. r.mu is held.
func (r *state) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.cond.Broadcast()
}

// finishTrial records a trial that ran, or decides what a trial that did
// not run means. r.mu is held.
//
// v is the judgement of the trial's exit and output (nil when it was not
// judged: it did not run, was cancelled, or the executor failed).
func (r *state) finishTrial(ctx context.Context, p *plan, ns *nodeState, ref benchrig.TrialRef, m benchrig.Measurement, v *expect.Verdict, err error) {
	warmup := ref.Rep < r.spec.Warmup
	discard := func(why string) {
		// Nothing was measured: the trial is to be run again, or never.
		if warmup {
			p.warmups--
		}
		r.giveBack(p, ref, ns.Name, why)
	}
	if err != nil && m.Start.IsZero() {
		if p.lost != "" && !warmup && ctx.Err() == nil {
			// failRemaining left this trial to come: it is node-lost now.
			m := benchrig.Measurement{ExitCode: -1, Error: "node-lost: " + p.lost, Start: r.cfg.Now()}
			r.record(p, ref, ns.Name, m, benchrig.OutcomeNodeLost, "")
			return
		}
		discard(err.Error())
		switch {
		case benchrig.ClassifyMeasurement(m) == benchrig.OutcomeCancelled || ctx.Err() != nil:
			r.fail(cancelled())
		case r.cfg.Nodes != nil && benchrig.ErrorCode(err) == benchrig.EUnavailable:
			r.unavailable(ctx, ns, err)
		case r.cfg.Nodes != nil && r.homeOf(p) != ns:
			// The case moved away while this trial failed to start on the
			// node it left: its new home runs it.
		case r.cfg.Nodes != nil:
			// This node cannot run this case (its image is missing, say):
			// a failure of the case, not of the whole run.
			p.skipped = err.Error() // the executor's errors name the node
			p.done = true
			r.note(p, "not run: "+p.skipped)
		default:
			// The executor failed before the command ran: nothing to record.
			r.fail(fmt.Errorf("trial %s: %w", ref, err))
		}
		return
	}
	outcome := benchrig.ClassifyMeasurement(m)
	if outcome == benchrig.OutcomeCancelled {
		// The trial in flight was interrupted: it is not a measurement.
		discard("cancelled")
		r.fail(cancelled())
		return
	}
	if err != nil {
		// The command ran but the executor failed around it (reading its
		// cgroup, removing it). The wall time is still a measurement, but
		// not a trustworthy one: keep it as a failed trial, so the raw
		// figures are there to look at and the statistics leave it out.
		m.Error = joinReasons(m.Error, "executor: "+err.Error())
		outcome = benchrig.OutcomeExecutor
	}
	reason := ""
	if v != nil {
		outcome = v.Outcome
		if r.spec.Expect != nil {
			reason = v.Reason // without expect it would only restate the exit status
		}
		for _, w := range v.Warnings {
			r.warn(w)
		}
	}
	// A trial that ran to its end is kept even when the run was cancelled
	// meanwhile (with several nodes, one may finish while another's
	// worker already saw Ctrl-C).
	ns.unavailable = 0
	r.record(p, ref, ns.Name, m, outcome, reason)
	if ctx.Err() != nil {
		r.fail(cancelled())
	}
}

// record keeps one trial in memory and queues it for the store (see
// writePending). r.mu is held.
func (r *state) record(p *plan, ref benchrig.TrialRef, node string, m benchrig.Measurement, outcome benchrig.Outcome, reason string) {
	t := &benchrig.Trial{
		RunID:       r.run.ID,
		CaseID:      p.c.ID,
		Seq:         r.seq,
		Index:       ref.Rep,
		Attempt:     ref.Attempt,
		Warmup:      ref.Rep < r.spec.Warmup,
		Profiled:    r.profiled(ref.Rep) && !m.Start.IsZero() && outcome != benchrig.OutcomeNodeLost,
		Number:      benchrig.TrialNumber(ref.Rep, r.spec.Warmup),
		Node:        node,
		Outcome:     outcome,
		Reason:      reason,
		Measurement: m,
	}
	r.pending = append(r.pending, t)
	r.run.Trials = append(r.run.Trials, *t)
	r.seq++
	r.done++
	p.index++
	if !t.Warmup {
		if p.first.IsZero() {
			p.first = m.Start
		}
		if t.Failed() {
			p.failed++
		} else {
			p.measured = append(p.measured, m.Wall.Seconds())
		}
	}
	o := outcome
	msg := ""
	if outcome != benchrig.OutcomeOK {
		msg = t.Why()
	}
	r.emit(benchrig.Event{Kind: benchrig.EventTrialFinished, Trial: &ref, Node: node, Warmup: t.Warmup, Outcome: &o, Duration: m.Wall, Msg: msg})
}

// pinger is the optional ability of a container executor to say whether
// its engine answers (docker's Facts does).
type pinger interface {
	Facts(ctx context.Context) (benchrig.NodeFacts, error)
}

// unavailable handles a trial the node's engine could not run. When the
// engine no longer answers, or keeps failing, the node is lost. r.mu is
// held; it is released while pinging.
func (r *state) unavailable(ctx context.Context, ns *nodeState, err error) {
	ns.unavailable++
	if ns.gone != "" {
		return
	}
	alive := false
	if pg, ok := ns.Executor.(pinger); ok && ns.unavailable < maxUnavailable {
		r.mu.Unlock()
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, perr := pg.Facts(pctx)
		cancel()
		r.mu.Lock()
		alive = perr == nil
	}
	if alive || ns.gone != "" {
		return
	}
	r.nodeGone(ns, benchrig.NodeLost, err.Error())
}

// nodeGone takes node ns out of the run: its workers stop after their
// trial in flight, and each case whose home it was moves to the node of
// the same class with the fewest cases, or, when there is none, gets its
// remaining trials recorded as failed with reason node-lost. Finished
// trials stay where they are. r.mu is held.
func (r *state) nodeGone(ns *nodeState, kind, reason string) {
	ns.gone = kind
	ev := benchrig.NodeEvent{Time: r.cfg.Now(), Node: ns.Name, Kind: kind, Reason: reason, Interrupted: ns.unavailable}
	evKind := benchrig.EventNodeLost
	if kind == benchrig.NodeRemoved {
		evKind = benchrig.EventNodeDrained
	}
	r.emit(benchrig.Event{Kind: evKind, Node: ns.Name, Msg: reason})
	for _, p := range r.plans {
		if p.home != ns || p.done {
			continue
		}
		if sub := r.substitute(ns); sub != nil {
			p.home = sub
			if ev.MovedTo == nil {
				ev.MovedTo = map[string]string{}
			}
			ev.MovedTo[p.c.ID] = sub.Name
			r.note(p, fmt.Sprintf("node %s %s after %d trial(s): the rest moved to %s", ns.Name, kind, p.index, sub.Name))
			continue
		}
		ev.Failed = append(ev.Failed, p.c.ID)
		r.failRemaining(p, ns, kind, reason)
	}
	r.run.NodeEvents = append(r.run.NodeEvents, ev)
	r.journal.setNodes(r.run.Nodes, r.run.NodeEvents)
	r.cond.Broadcast()
}

// substitute returns the live node of ns's class with the fewest cases
// whose pool allows what the spec asks of containers, or nil.
func (r *state) substitute(ns *nodeState) *nodeState {
	class := ns.class()
	var best *nodeState
	bestLoad := 0
	for _, o := range r.order {
		if o == ns || o.gone != "" || o.class() != class || checkPolicy(r.spec, map[string]*Node{o.Name: o.Node}) != nil {
			continue
		}
		load := 0
		for _, p := range r.plans {
			if p.home == o && !p.done {
				load++
			}
		}
		if best == nil || load < bestLoad {
			best, bestLoad = o, load
		}
	}
	return best
}

// failRemaining records the trials case p still needed (to reach its
// minimum count) as failed with reason node-lost, so the loss shows in
// every report instead of as a silently short case. r.mu is held.
func (r *state) failRemaining(p *plan, ns *nodeState, kind, reason string) {
	// Measured trials in flight still count: each is recorded when it
	// ends, as what it measured or, if it never ran, as node-lost.
	n := len(p.measured) + p.failed + p.inflight - p.inflightW
	missing := max(r.spec.Repeat.Min-n, 0)
	p.lost = reason
	r.note(p, fmt.Sprintf("node %s %s after %d trial(s) and no other node of its class: %d remaining trial(s) recorded as failed (node-lost)", ns.Name, kind, p.index, missing))
	p.done = true
	for range missing {
		ref := r.takeRep(p)
		for ref.Rep < r.spec.Warmup {
			// A warmup never ran: it is not a measured trial to fail.
			ref = r.takeRep(p)
		}
		m := benchrig.Measurement{ExitCode: -1, Error: "node-lost: " + reason, Start: r.cfg.Now()}
		r.record(p, ref, ns.Name, m, benchrig.OutcomeNodeLost, "")
	}
}

// refreshLoop asks the Discoverer for the nodes every cfg.Refresh: a node
// no longer listed (or no longer matching the placement) is removed from
// the run, a new matching one joins it as a home for moved cases.
func (r *state) refreshLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		nodes, err := r.cfg.Nodes.Nodes(ctx)
		r.mu.Lock()
		if r.err != nil || ctx.Err() != nil || r.allDone() {
			r.mu.Unlock()
			return
		}
		if ws, ok := r.cfg.Nodes.(WarningSource); ok {
			for _, w := range ws.Warnings() {
				r.warn(w)
			}
		}
		if err != nil {
			// A pools file half edited, say: keep the nodes we have, and
			// say so once per distinct error.
			if msg := err.Error(); msg != r.discoveryErr {
				r.discoveryErr = msg
				r.warn("node discovery failed, the run keeps the nodes it has: " + msg)
			}
			r.mu.Unlock()
			continue
		}
		r.discoveryErr = ""
		seen := map[string]bool{}
		for _, n := range nodes {
			if matches(r.spec.Placement, n) != "" {
				continue
			}
			seen[n.Name] = true
			if ns, known := r.nodes[n.Name]; known {
				if n.Down != "" && ns.gone == "" {
					r.nodeGone(ns, benchrig.NodeLost, n.Down)
				}
				continue
			}
			if n.Down != "" {
				continue
			}
			ns := r.addNode(n)
			r.run.Nodes = append(r.run.Nodes, n.Facts)
			r.run.NodeEvents = append(r.run.NodeEvents, benchrig.NodeEvent{Time: r.cfg.Now(), Node: n.Name, Kind: benchrig.NodeAdded})
			r.journal.setNodes(r.run.Nodes, r.run.NodeEvents)
			r.emit(benchrig.Event{Kind: benchrig.EventNodeJoined, Node: n.Name})
			r.startWorkers(ctx, ns)
		}
		for _, ns := range r.order {
			if ns.gone == "" && !seen[ns.Name] {
				r.nodeGone(ns, benchrig.NodeRemoved, "no longer in the pool")
			}
		}
		r.writePending(ctx)
		r.mu.Unlock()
	}
}

// WarningSource is an optional ability of a Discoverer: Warnings returns
// (and forgets) what went wrong since the last call that the run should
// carry as warnings: a node left out because it did not answer, say.
type WarningSource interface {
	Warnings() []string
}

// measure runs one trial of p on node ns: its single job, or all its
// instances at once, combined by combine. It returns the combined
// measurement and each instance's, which output checks judge one by one.
func (r *state) measure(ctx context.Context, p *plan, ns *nodeState, ref benchrig.TrialRef) (benchrig.Measurement, []benchrig.Measurement, error) {
	exec := ns.Executor
	if p.prepare != nil {
		// Before every trial, outside its timed interval: a prepare
		// that fails fails the trial (what it measured would not be
		// what the spec asks for).
		pm, err := exec.Run(ctx, r.forNode(*p.prepare, ns, "prepare"))
		if err != nil {
			return benchrig.Measurement{}, nil, fmt.Errorf("prepare: %w", err)
		}
		if o := benchrig.ClassifyMeasurement(pm); o != benchrig.OutcomeOK {
			m := benchrig.Measurement{Start: r.cfg.Now(), ExitCode: -1, Error: pm.Error}
			if o == benchrig.OutcomeCancelled {
				return m, []benchrig.Measurement{m}, nil
			}
			reason := pm.Error
			if reason == "" {
				reason = "exit status " + strconv.Itoa(pm.ExitCode)
			}
			m.Error = "prepare failed (" + reason + ")"
			if tail := strings.TrimSpace(pm.StderrTail); tail != "" {
				m.Error += ": " + lastLine(tail)
			}
			m.StderrTail = pm.StderrTail
			return m, nil, nil
		}
	}
	if len(p.instances) == 1 {
		m, err := r.runJob(ctx, ns, r.trialJob(p, p.instances[0], ns, ref, true), true)
		return m, []benchrig.Measurement{m}, err
	}
	jobs := slices.Clone(p.instances)
	for i := range jobs {
		// Instances share the trial's reference; only the first is
		// watched, since a Watcher knows one target per reference.
		jobs[i] = r.trialJob(p, jobs[i], ns, ref, i == 0)
	}
	var dropped time.Duration
	if d, ok := exec.(CacheDropper); ok && jobs[0].DropCaches {
		var err error
		if dropped, err = d.DropCaches(ctx); err != nil {
			return benchrig.Measurement{}, nil, err
		}
		for i := range jobs {
			jobs[i].DropCaches = false
		}
	}
	ms := make([]benchrig.Measurement, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Only the first copy is profiled, as only it is watched:
			// a profile is one trial's.
			ms[i], errs[i] = r.runJob(ctx, ns, job, i == 0)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if benchrig.ErrorCode(err) == benchrig.EUnavailable {
			// One instance's node went away: the trial did not happen.
			return benchrig.Measurement{}, nil, err
		}
	}
	m := combine(ms)
	if dropped > 0 {
		m.Metrics["drop_caches_seconds"] = dropped.Seconds()
	}
	return m, ms, errors.Join(errs...)
}
