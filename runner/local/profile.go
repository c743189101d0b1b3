package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/profiling"
	"github.com/benchrig/benchrig/runner"
)

var _ runner.Profiler = (*Executor)(nil)

// CheckProfiling records event once around `true` with perf (see
// runner.Profiler): a missing perf, one not permitted, or an event this
// machine lacks (hardware counters in VMs) is known before any trial.
func (e *Executor) CheckProfiling(ctx context.Context, s profiling.Sampling) (wall, cpu time.Duration, err error) {
	c, err := e.perf().Check(ctx, s)
	return c.Wall, c.CPU, err
}

// perf is the perf this executor profiles with: Config.Perf, else perf
// found in PATH.
func (e *Executor) perf() profiling.Perf {
	return profiling.Perf{Path: e.cfg.Perf}
}

// RunProfiled runs job under `perf record` (see runner.Profiler). perf is
// the trial's first process and the command its child. The trial's wall
// time is the command's own, from its exec to its exit as perf's task
// events record them: perf's start-up and tear-down (about 0.2 s here,
// whatever the command) are left out, and the perf-inclusive time is kept
// as the metric perf_wall_s. Where the recording lacks those events the
// wall time stays perf-inclusive. The trial's cgroup, and so its CPU
// time, includes perf's own work. The stacks are read (perf script)
// after the trial, outside its timed interval.
func (e *Executor) RunProfiled(ctx context.Context, job runner.Job, s profiling.Sampling) (benchrig.Measurement, *benchrig.TrialProfile, error, error) {
	perfPath, perr := e.perf().Program()
	// The command is found as Run finds it, so that it is the same
	// program, profiled or not; one that cannot be found is left to Run,
	// whose measurement says why it did not start.
	path := ""
	if len(job.Argv) > 0 {
		path = job.Argv[0]
		if !strings.Contains(path, "/") {
			var err error
			if path, err = runner.LookPath(path, job.Env); err != nil {
				path = ""
			}
		}
	}
	if perr != nil || path == "" {
		m, err := e.Run(ctx, job)
		if perr == nil {
			perr = errors.New("the command did not start")
		}
		return m, nil, perr, err
	}
	dir, err := os.MkdirTemp("", "benchrig-perf-")
	if err != nil {
		m, err2 := e.Run(ctx, job)
		return m, nil, fmt.Errorf("perf recording directory: %w", err), err2
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "perf.data")
	pj := job
	pj.Argv = profiling.RecordArgs(perfPath, s, file, append([]string{path}, job.Argv[1:]...))
	m, err := e.Run(ctx, pj)
	if err != nil || ctx.Err() != nil {
		return m, nil, nil, err
	}
	if _, serr := os.Stat(file); serr != nil {
		return m, nil, fmt.Errorf("%w: %s", profiling.ErrNoRecording, m.Error), nil
	}
	rec, perr := e.perf().Read(ctx, file)
	if perr != nil {
		return m, nil, perr, nil
	}
	if rec.Span > 0 && rec.Span <= m.Wall && m.ExitCode >= 0 {
		if m.Metrics == nil {
			m.Metrics = map[string]float64{}
		}
		m.Metrics["perf_wall_s"] = m.Wall.Seconds()
		m.Wall = rec.Span
	}
	return m, &benchrig.TrialProfile{Event: s.Event, Freq: s.Freq, Duration: m.Wall, Lost: rec.Lost, Stacks: rec.Stacks}, nil, nil
}
