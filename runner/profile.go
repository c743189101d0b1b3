package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/profiling"
)

// Profiler is an optional ability of an Executor: it runs a job with the
// call stacks of its whole process tree sampled (the local executor: Linux
// perf, which follows every child, so pipelines and xargs workers are
// sampled too). Both methods may be called from several goroutines at once.
type Profiler interface {
	// CheckProfiling tells, once before a run, whether s can be
	// sampled here; a non-nil error says why not, for a user to read.
	// wall and cpu are the profiler's fixed cost around a command that
	// does nothing (its start-up and tear-down), the least it adds to a
	// profiled trial. Cancelling ctx stops the check.
	CheckProfiling(ctx context.Context, s profiling.Sampling) (wall, cpu time.Duration, err error)
	// RunProfiled is Run (same measurement, same errors, same
	// cancellation) with the job's process tree sampled as s says. The profile has the job's Ref; it is nil when the command ran but
	// its stacks could not be read, and perr then says why (the trial's
	// measurement stands).
	RunProfiled(ctx context.Context, job Job, s profiling.Sampling) (m benchrig.Measurement, prof *benchrig.TrialProfile, perr error, err error)
}

// checkProfiling decides, once before the run, whether its trials are profiled:
// the spec asks, the executor can and the store keeps profiles. What
// prevents it is a warning, and the run goes on unprofiled.
func (r *state) checkProfiling(ctx context.Context) {
	want := r.spec.Profile
	if !want.Enabled {
		return
	}
	off := func(why string) {
		r.profWarn = append(r.profWarn, "profiling asked for but "+why+": the run goes on unprofiled")
	}
	pr, ok := r.cfg.Executor.(Profiler)
	if r.cfg.Nodes != nil {
		// perf is this host's: any node's executor checks it. A node
		// whose containers perf cannot see says so at its first
		// profiled trial.
		ok = false
		for _, ns := range r.order {
			if pr, ok = ns.Executor.(Profiler); ok {
				break
			}
		}
	}
	if !ok {
		off("this executor cannot profile")
		return
	}
	if r.cfg.Profiles == nil {
		off("the run store cannot keep profiles")
		return
	}
	wall, cpu, err := pr.CheckProfiling(ctx, sampling(want))
	if err != nil {
		off("perf is not available: " + err.Error())
		return
	}
	use := want
	use.Event, use.Freq, use.Trials, use.CallGraph = want.EventName(), want.Hz(), want.ExtraTrials(), want.Unwind()
	use.Startup, use.StartupCPU = wall, cpu
	r.profiler = pr
	r.run.Profiling = &use
	if use.InMeasured {
		r.profWarn = append(r.profWarn, fmt.Sprintf("measured trials were profiled (perf, %s at %d Hz): their timings include perf's cost and are not comparable with unprofiled runs", use.Event, use.Freq))
	}
}

// sampling is how perf samples for profile block p, its defaults filled in.
func sampling(p benchrig.Profiling) profiling.Sampling {
	return profiling.Sampling{Event: p.EventName(), Freq: p.Hz(), CallGraph: p.Unwind()}
}

// profiled reports whether a trial of rep is profiled. r.mu need not be held.
func (r *state) profiled(rep int) bool {
	if r.profiler == nil {
		return false
	}
	return r.run.Profiling.InMeasured || rep >= r.profileFrom()
}

// profileFrom is the first rep of the extra profiled trials.
func (r *state) profileFrom() int {
	return benchrig.ProfileRep(r.spec.Warmup, r.spec.Repeat, 0)
}

// runJob runs one trial job, under the profiler when the trial is
// profiled, and keeps its profile.
func (r *state) runJob(ctx context.Context, ns *nodeState, job Job, profile bool) (benchrig.Measurement, error) {
	exec := ns.Executor
	if !profile || !r.profiled(job.Ref.Rep) || job.Ref.Run == "" {
		return exec.Run(ctx, job)
	}
	pr, ok := exec.(Profiler)
	if !ok {
		return exec.Run(ctx, job)
	}
	p := r.run.Profiling
	m, prof, perr, err := pr.RunProfiled(ctx, job, sampling(*p))
	if err != nil || ctx.Err() != nil {
		return m, err
	}
	if perr == nil && prof != nil {
		prof.Run, prof.Case, prof.Rep, prof.Attempt = job.Ref.Run, job.Ref.Case, job.Ref.Rep, job.Ref.Attempt
		prof.Node = ns.Name
		perr = r.cfg.Profiles.AddProfile(context.WithoutCancel(ctx), prof)
		if perr != nil {
			perr = fmt.Errorf("record profile: %w", perr)
		}
	}
	if perr != nil {
		r.mu.Lock()
		r.warn(fmt.Sprintf("profile of trial %s: %v", job.Ref, perr))
		r.mu.Unlock()
		return m, nil
	}
	if prof == nil {
		return m, nil
	}
	if m.Metrics == nil {
		m.Metrics = map[string]float64{}
	}
	m.Metrics["profile_samples"] = float64(prof.Samples())
	return m, nil
}

// extraLeft is how many extra profiled trials case p has still to record
// (the one in flight included). r.mu is held.
func (r *state) extraLeft(p *plan) int {
	if r.profiler == nil || r.run.Profiling.InMeasured || p.skipped != "" || p.unavailable != "" {
		return 0
	}
	n := 0
	for k := range r.run.Profiling.Trials {
		if !p.recorded[benchrig.ProfileRep(r.spec.Warmup, r.spec.Repeat, k)] {
			n++
		}
	}
	return n
}

// profileExtra runs every case's extra profiled trials once its measured
// trials are done, one at a time on the case's node, before the
// cleanups: they are recorded (ProfileOnly) and left out of statistics.
// A trial a resumed run already has is not run again.
func (r *state) profileExtra(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.profiler == nil || r.run.Profiling.InMeasured || r.err != nil {
		return
	}
	for _, p := range r.plans {
		ns := r.homeOf(p)
		if p.skipped != "" || p.unavailable != "" || ns.gone != "" {
			continue
		}
		if _, ok := ns.Executor.(Profiler); !ok {
			r.warn(fmt.Sprintf("case %s was not profiled: node %s cannot profile", p.c.ID, ns.Name))
			continue
		}
		for k := range r.run.Profiling.Trials {
			if r.err != nil || ctx.Err() != nil {
				return
			}
			ref := benchrig.TrialRef{Run: r.run.ID, Case: p.c.ID, Rep: benchrig.ProfileRep(r.spec.Warmup, r.spec.Repeat, k)}
			if p.recorded[ref.Rep] {
				continue
			}
			r.emit(benchrig.Event{Kind: benchrig.EventTrialStarted, Trial: &ref, Node: ns.Name, Profiled: true, Msg: "profiled, excluded from statistics"})
			p.inflight++
			r.mu.Unlock()
			m, ms, err := r.measure(ctx, p, ns, ref)
			var outcome benchrig.Outcome
			reason := ""
			if err == nil && len(ms) > 0 && !m.Start.IsZero() && ctx.Err() == nil && benchrig.ClassifyMeasurement(m) != benchrig.OutcomeCancelled {
				v := r.judge.Trial(ctx, p.rules, ms)
				outcome = v.Outcome
				if r.spec.Expect != nil {
					reason = v.Reason
				}
			}
			r.mu.Lock()
			p.inflight--
			switch {
			case ctx.Err() != nil || benchrig.ClassifyMeasurement(m) == benchrig.OutcomeCancelled:
				r.fail(cancelled())
				return
			case err != nil && m.Start.IsZero():
				// Nothing ran: a profile is extra, not worth failing the run.
				r.warn(fmt.Sprintf("profiled trial %s did not run: %v", ref, err))
				continue
			case err != nil:
				m.Error = joinReasons(m.Error, "executor: "+err.Error())
				outcome = benchrig.OutcomeExecutor
			}
			if outcome == benchrig.OutcomeUnknown {
				outcome = benchrig.ClassifyMeasurement(m)
			}
			t := &benchrig.Trial{
				RunID: r.run.ID, CaseID: p.c.ID, Seq: r.seq, Index: ref.Rep, Attempt: ref.Attempt,
				ProfileOnly: true, Profiled: true,
				Number: k + 1, Node: ns.Name,
				Outcome: outcome, Reason: reason, Measurement: m,
			}
			r.pending = append(r.pending, t)
			r.run.Trials = append(r.run.Trials, *t)
			r.seq++
			r.done++
			p.index++
			p.profiledN++
			if p.recorded == nil {
				p.recorded = map[int]bool{}
			}
			p.recorded[ref.Rep] = true
			o := outcome
			msg := "profiled, excluded from statistics"
			if outcome != benchrig.OutcomeOK {
				msg += ": " + t.Why()
			}
			r.emit(benchrig.Event{Kind: benchrig.EventTrialFinished, Trial: &ref, Node: ns.Name, Profiled: true, Outcome: &o, Duration: m.Wall, Msg: msg})
			r.writePending(ctx)
		}
	}
}
