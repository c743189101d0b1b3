package runner

import (
	"context"
	"time"

	"github.com/benchrig/benchrig"
)

// Job is one fully expanded execution of a command.
type Job struct {
	// Argv is the program and its arguments. A shell command arrives as
	// ["/bin/sh", "-c", script].
	Argv []string
	// Env is the complete environment, KEY=VALUE.
	Env []string
	// Dir is the working directory; "" means the current one.
	Dir string
	// Timeout kills the job's whole process tree after this long; 0 means none.
	Timeout time.Duration
}

// Executor runs jobs and measures them.
//
// Run executes one job and returns what was measured. A command that exits
// non-zero, times out or is killed is a result (ExitCode, Error), not an
// error: err is reserved for failures of the executor itself. Cancelling ctx
// kills the job's process tree and Run returns promptly with Error
// "cancelled". Run may be called from several goroutines at once.
type Executor interface {
	Run(ctx context.Context, job Job) (benchrig.Measurement, error)
}

// Recorder keeps runs and their trials durably as they happen.
//
// Methods may be called from several goroutines. AddTrial returns only once
// the trial is durable, so a crash loses at most the trial in flight.
type Recorder interface {
	CreateRun(ctx context.Context, run *benchrig.Run) error
	AddTrial(ctx context.Context, t *benchrig.Trial) error
	FinishRun(ctx context.Context, id string, status benchrig.RunStatus, finished time.Time, notes map[string]string) error
}
