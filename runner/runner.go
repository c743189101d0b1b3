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
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/reports"
)

// Event tells an observer what the runner just did.
type Event struct {
	Kind  EventKind
	Case  *benchrig.Case
	Trial *benchrig.Trial // for TrialDone
	Done  int             // trials finished so far, warmups included
	Total int             // trials planned; for adaptive repetition the upper bound
	Msg   string          // for Note: what happened
}

// EventKind names an Event.
type EventKind int

const (
	RunStarted EventKind = iota
	TrialStarted
	TrialDone
	Note // setup/cleanup outcome, adaptive stop, skipped case
	RunDone
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
	// Overrides are the command-line changes to the spec, kept with the run.
	Overrides []string
	// Observe, if set, is called from the runner's goroutine for every event;
	// it must not block for long.
	Observe func(Event)
	// LookPath finds a program; defaults to a PATH search in Environ.
	LookPath func(name string) (string, error)
	// Now and NewID default to the wall clock and a time-based ID.
	Now   func() time.Time
	NewID func(time.Time) string
}

// plan is a case with everything expanded for execution.
type plan struct {
	c          *benchrig.Case
	job        Job
	setup      *Job
	cleanup    *Job
	throughput float64

	// instances are the jobs of one trial, run at once; len 1 unless the
	// spec asks for several instances.
	instances []Job
	files     int     // files matched by throughput.files, over all instances
	bytes     float64 // the bytes of throughput.bytes beside items, over all instances

	index       int // trials so far, warmups included
	measured    []float64
	failed      int
	first       time.Time // start of the first measured trial
	done        bool
	skipped     string // why the case does not run (setup failed): a failure
	unavailable string // why the case cannot run here: not a failure
}

// Run executes spec and returns the run with all its trials. The returned
// run is valid even when err is not nil, as long as it is not nil: a
// cancelled run (err has Code ECancelled) keeps its finished trials.
func Run(ctx context.Context, cfg Config, spec *benchrig.Spec) (*benchrig.Run, error) {
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
		cfg.LookPath = pathLooker(cfg.Environ)
	}
	cases := benchrig.Matrix(spec.Params)
	plans, unit, err := preparePlans(cfg, spec, cases)
	if err != nil {
		return nil, err
	}
	baseline, baselines, err := selectCases(spec, "baseline", spec.Baseline, cases)
	if err != nil {
		return nil, err
	}
	if len(slices.Compact(slices.Sorted(maps.Values(baselines)))) == 1 {
		baselines = nil // one baseline for every case: BaselineID says it
	}
	_, ceilings, err := selectCases(spec, "ceiling", spec.Ceiling, cases)
	if err != nil {
		return nil, err
	}

	started := cfg.Now()
	run := &benchrig.Run{
		ID:             cfg.NewID(started),
		SpecName:       spec.Name,
		SpecHash:       spec.Hash,
		SpecFile:       spec.File,
		SpecSource:     spec.Source,
		Overrides:      cfg.Overrides,
		Status:         benchrig.RunRunning,
		Started:        started,
		Fingerprint:    cfg.Fingerprint,
		Cases:          cases,
		BaselineID:     baseline,
		Baselines:      baselines,
		Ceilings:       ceilings,
		Notes:          map[string]string{},
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
	if err := cfg.Recorder.CreateRun(ctx, run); err != nil {
		return nil, fmt.Errorf("record run: %w", err)
	}
	r := &state{cfg: cfg, spec: spec, run: run, plans: plans}
	for _, p := range plans {
		if p.unavailable == "" {
			r.total += spec.Warmup + spec.Repeat.Max
		}
	}
	r.emit(Event{Kind: RunStarted, Total: r.total})
	for _, p := range plans {
		if p.unavailable != "" {
			r.emit(Event{Kind: Note, Case: p.c, Msg: run.Notes[p.c.ID]})
		}
	}

	runErr := r.execute(ctx)

	status := benchrig.RunFinished
	switch {
	case benchrig.ErrorCode(runErr) == benchrig.ECancelled:
		status = benchrig.RunCancelled
	case runErr != nil || r.anyFailed():
		status = benchrig.RunFailed
	}
	run.Status = status
	run.Finished = cfg.Now()
	// The run's end must be recorded even when ctx was cancelled.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := cfg.Recorder.FinishRun(fctx, run.ID, status, run.Finished, run.Notes); err != nil && runErr == nil {
		runErr = fmt.Errorf("record end of run %s: %w", run.ID, err)
	}
	r.emit(Event{Kind: RunDone, Done: r.done, Total: r.total})
	return run, runErr
}

type state struct {
	cfg   Config
	spec  *benchrig.Spec
	run   *benchrig.Run
	plans []*plan
	seq   int
	done  int
	total int
}

func (r *state) emit(e Event) {
	if r.cfg.Observe != nil {
		r.cfg.Observe(e)
	}
}

func (r *state) note(p *plan, msg string) {
	if old := r.run.Notes[p.c.ID]; old != "" {
		msg = old + "; " + msg
	}
	r.run.Notes[p.c.ID] = msg
	r.emit(Event{Kind: Note, Case: p.c, Msg: msg})
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
		if p.unavailable != "" {
			continue
		}
		if err := r.hook(ctx, p, p.setup, "setup"); err != nil {
			return err
		}
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		for _, p := range r.plans {
			if p.skipped == "" && p.unavailable == "" {
				_ = r.hook(cctx, p, p.cleanup, "cleanup") // failures are noted, never fatal
			}
		}
	}()

	if r.spec.Order == benchrig.Sequential {
		for _, p := range r.plans {
			for !r.finished(p) {
				if err := r.trial(ctx, p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for {
		active := false
		for _, p := range r.plans {
			if r.finished(p) {
				continue
			}
			active = true
			if err := r.trial(ctx, p); err != nil {
				return err
			}
		}
		if !active {
			return nil
		}
	}
}

// hook runs a case's setup or cleanup command. A failed setup skips the case.
func (r *state) hook(ctx context.Context, p *plan, job *Job, what string) error {
	if job == nil {
		return nil
	}
	m, err := r.cfg.Executor.Run(ctx, *job)
	if err != nil {
		return fmt.Errorf("%s of case %s: %w", what, p.c.ID, err)
	}
	if m.Error == "cancelled" || ctx.Err() != nil {
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
		if what == "setup" {
			p.skipped = msg
			p.done = true
			r.total -= r.spec.Warmup + r.spec.Repeat.Max
		}
		r.note(p, msg)
	}
	return nil
}

// finished decides whether case p needs another trial, noting why it stops
// when repetition is adaptive.
func (r *state) finished(p *plan) bool {
	if p.done {
		return true
	}
	rep := r.spec.Repeat
	n := len(p.measured) + p.failed
	if p.index < r.spec.Warmup || n < rep.Min {
		return false
	}
	stop := ""
	switch {
	case n >= rep.Max && rep.UntilCI == 0:
		p.done = true // a fixed count, or min/max without a CI target: nothing to note
		return true
	case rep.UntilCI > 0 && len(p.measured) >= 2 && reports.RelHalfWidth(p.measured) <= rep.UntilCI:
		// Checked before max: the trial that reached max may also have
		// met the target.
		stop = fmt.Sprintf("ci-met: CI half-width %s after %d trials (target %s)", pct(reports.RelHalfWidth(p.measured)), n, pct(rep.UntilCI))
	case n >= rep.Max:
		stop = fmt.Sprintf("ci-not-met: reached max %d trials with CI half-width %s (target %s)", rep.Max, pct(reports.RelHalfWidth(p.measured)), pct(rep.UntilCI))
	case rep.MaxTime > 0 && r.cfg.Now().Sub(p.first) >= rep.MaxTime:
		stop = fmt.Sprintf("ci-not-met: max_time %s reached after %d trials with CI half-width %s", rep.MaxTime, n, pct(reports.RelHalfWidth(p.measured)))
	default:
		return false
	}
	p.done = true
	r.total -= rep.Max - n
	r.note(p, stop)
	return true
}

func (r *state) trial(ctx context.Context, p *plan) error {
	if ctx.Err() != nil {
		return cancelled()
	}
	warmup := p.index < r.spec.Warmup
	r.emit(Event{Kind: TrialStarted, Case: p.c, Done: r.done, Total: r.total})
	m, err := r.measure(ctx, p)
	if err != nil && m.Start.IsZero() {
		// The executor failed before the command ran: nothing to record.
		return fmt.Errorf("trial %d of case %s: %w", p.index, p.c.ID, err)
	}
	if err != nil {
		// The command ran but the executor failed around it (reading its
		// cgroup, removing it). The wall time is still a measurement, but
		// not a trustworthy one: keep it as a failed trial, so the raw
		// figures are there to look at and the statistics leave it out.
		m.Error = joinReasons(m.Error, "executor: "+err.Error())
	}
	if m.Error == "cancelled" || ctx.Err() != nil {
		// The trial in flight was interrupted: it is not a measurement.
		return cancelled()
	}
	t := &benchrig.Trial{
		RunID:       r.run.ID,
		CaseID:      p.c.ID,
		Seq:         r.seq,
		Index:       p.index,
		Warmup:      warmup,
		Node:        r.cfg.Node,
		Measurement: m,
	}
	if err := r.cfg.Recorder.AddTrial(ctx, t); err != nil {
		return fmt.Errorf("record trial %d of case %s: %w", t.Seq, p.c.ID, err)
	}
	r.run.Trials = append(r.run.Trials, *t)
	r.seq++
	r.done++
	p.index++
	if !warmup {
		if p.first.IsZero() {
			p.first = m.Start
		}
		if t.Failed() {
			p.failed++
		} else {
			p.measured = append(p.measured, m.Wall.Seconds())
		}
	}
	r.emit(Event{Kind: TrialDone, Case: p.c, Trial: t, Done: r.done, Total: r.total})
	return nil
}

// measure runs one trial of p: its single job, or all its instances at
// once, combined by combine.
func (r *state) measure(ctx context.Context, p *plan) (benchrig.Measurement, error) {
	if len(p.instances) == 1 {
		return r.cfg.Executor.Run(ctx, p.instances[0])
	}
	jobs := p.instances
	var dropped time.Duration
	if d, ok := r.cfg.Executor.(CacheDropper); ok && jobs[0].DropCaches {
		var err error
		if dropped, err = d.DropCaches(ctx); err != nil {
			return benchrig.Measurement{}, err
		}
		jobs = slices.Clone(jobs)
		for i := range jobs {
			jobs[i].DropCaches = false
		}
	}
	ms := make([]benchrig.Measurement, len(p.instances))
	errs := make([]error, len(p.instances))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms[i], errs[i] = r.cfg.Executor.Run(ctx, job)
		}()
	}
	wg.Wait()
	m := combine(ms)
	if dropped > 0 {
		m.Metrics["drop_caches_seconds"] = dropped.Seconds()
	}
	return m, errors.Join(errs...)
}

// combine makes one measurement of instances that ran at once: the wall
// time from the first start to the last exit (the time the whole batch of
// work took), CPU times, output and I/O counters summed, peaks (names with
// "peak", "max" or "cap") the largest. MaxRSS is the sum of the instances'
// peaks: an upper bound of their joint peak, which nothing measured.
// Each instance's own wall, user and sys times are kept as metrics
// instanceN_wall_s, _user_s and _sys_s, so the combined figure can be
// traced back to them.
func combine(ms []benchrig.Measurement) benchrig.Measurement {
	out := benchrig.Measurement{Metrics: map[string]float64{"instances": float64(len(ms))}}
	var end time.Time
	var sources []string
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
	for _, m := range ms {
		if m.Error == "cancelled" {
			out.Error = "cancelled"
		}
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
func preparePlans(cfg Config, spec *benchrig.Spec, cases []benchrig.Case) ([]*plan, benchrig.ThroughputUnit, error) {
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
	seen := map[string]bool{}
	for i := range cases {
		c := &cases[i]
		vars := c.Map()
		vars["instance"], vars["spec_dir"] = "1", specDir
		p := &plan{c: c}
		p.unavailable = missingPrograms(cfg, spec.Requires, vars)

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
		for i := 1; i <= n && err == nil; i++ {
			vars["instance"] = strconv.Itoa(i)
			var job Job
			job, field, err = prepareJob(cfg, spec, vars)
			p.instances = append(p.instances, job)
		}
		vars["instance"] = "1"
		if err != nil {
			bad(field, "%v", err)
			continue
		}
		p.job = p.instances[0]
		if argv0 := p.job.Argv[0]; p.unavailable == "" && !seen[argv0] {
			seen[argv0] = true
			if _, err := cfg.LookPath(argv0); err != nil {
				bad("command", "program %q not found: %v", argv0, unwrapExec(err))
				continue
			}
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
			p.setup = &j
		}
		if spec.Cleanup != nil {
			j, err := expandJob(*spec.Cleanup, vars, p.job.Env, p.job.Dir, 0)
			if err != nil {
				bad("cleanup", "%v", err)
				continue
			}
			p.cleanup = &j
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
				if amount, files, field, err = throughputOf(spec.Throughput, vars, p.job.Dir); err != nil {
					break
				}
				p.throughput += amount
				p.files += files
				if tb := spec.Throughput.Bytes; tb != nil {
					if amount, files, field, err = throughputOf(tb, vars, p.job.Dir); err != nil {
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

// caseErr is one problem shared by several cases.
type caseErr struct {
	field, msg string
	cases      []string
}

// missingPrograms checks the spec's requirements for one case and returns
// why it cannot run, or "".
func missingPrograms(cfg Config, reqs []benchrig.Requirement, vars map[string]string) string {
	var missing []string
	for _, req := range reqs {
		prog, err := benchrig.Expand(req.Program, vars)
		if err != nil {
			missing = append(missing, fmt.Sprintf("requirement %q: %v", req.Program, err))
			continue
		}
		if _, err := cfg.LookPath(prog); err != nil {
			msg := fmt.Sprintf("required program %s not found (%v)", prog, unwrapExec(err))
			if hint, err := benchrig.Expand(req.Hint, vars); err == nil && hint != "" {
				msg += "; to install: " + hint
			}
			missing = append(missing, msg)
		}
	}
	return strings.Join(missing, "; ")
}

// prepareJob expands the command, environment, workdir and resources for
// one case (and instance), returning the field at fault on error.
func prepareJob(cfg Config, spec *benchrig.Spec, vars map[string]string) (Job, string, error) {
	dir := cfg.Dir
	if spec.Workdir != "" {
		wd, err := benchrig.Expand(spec.Workdir, vars)
		if err != nil {
			return Job{}, "workdir", err
		}
		dir = resolve(cfg.Dir, wd)
	}
	if fi, err := os.Stat(dir); dir != "" && (err != nil || !fi.IsDir()) {
		return Job{}, "workdir", fmt.Errorf("%s is not a directory", dir)
	}
	env, err := environ(cfg.Environ, spec.Env, vars)
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
		s, err := benchrig.Expand(c.Shell, vars)
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
func throughputOf(tp *benchrig.Throughput, vars map[string]string, dir string) (float64, int, string, error) {
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
		matches, err := filepath.Glob(g)
		if err != nil {
			return 0, 0, "throughput.files", fmt.Errorf("bad pattern %q: %v", g, err)
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

// selectCases finds the cases sel picks (the spec's baseline or ceiling):
// one per group of cases that agree on the params sel does not name. It
// returns the first picked case and the pick of every case's group. An
// empty sel picks the first case, with no per-case map.
func selectCases(spec *benchrig.Spec, field string, sel map[string]string, cases []benchrig.Case) (string, map[string]string, error) {
	if len(sel) == 0 {
		return cases[0].ID, nil, nil
	}
	groupKey := func(c benchrig.Case) string {
		var b strings.Builder
		for _, kv := range c.Params {
			if _, named := sel[kv.Name]; !named {
				b.WriteString(kv.Name + "=" + kv.Value + "\x00")
			}
		}
		return b.String()
	}
	picked := map[string]string{} // group key -> picked case
	var first string
	for _, c := range cases {
		match := true
		for k, v := range sel {
			if got, ok := c.Get(k); !ok || got != v {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		if first == "" {
			first = c.ID
		}
		picked[groupKey(c)] = c.ID
	}
	if first == "" {
		return "", nil, &benchrig.Error{Code: benchrig.EInvalid, File: spec.File, Field: field, Msg: "matches no case"}
	}
	per := make(map[string]string, len(cases))
	for _, c := range cases {
		if id, ok := picked[groupKey(c)]; ok {
			per[c.ID] = id
		}
	}
	return first, per, nil
}

func resolve(base, p string) string {
	if p == "" || filepath.IsAbs(p) || base == "" {
		return p
	}
	return filepath.Join(base, p)
}

func pathLooker(env []string) func(string) (string, error) {
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	return func(name string) (string, error) {
		if strings.Contains(name, "/") {
			return name, executable(name)
		}
		for _, dir := range filepath.SplitList(path) {
			if dir == "" {
				dir = "."
			}
			full := filepath.Join(dir, name)
			if executable(full) == nil {
				return full, nil
			}
		}
		return "", fmt.Errorf("not in PATH")
	}
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

func pct(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "unknown (too few successful trials)"
	}
	return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
}

// NewID returns a sortable, readable run ID: the start time to the second
// and four hex digits from its nanoseconds.
func NewID(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%s-%04x", t.Format("20060102-150405"), uint32(t.Nanosecond())&0xffff)
}
