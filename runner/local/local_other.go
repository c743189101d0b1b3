//go:build !linux

package local

import (
	"context"
	"errors"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
)

// cgroupSetup is never built outside Linux.
type cgroupSetup struct{ controllers []string }

func (s *cgroupSetup) source() string { return sourceRusage }
func (s *cgroupSetup) close() error   { return nil }

func setupCgroups(Config) ([]string, *cgroupSetup, string) {
	return nil, nil, "cgroups exist only on Linux"
}

// Run is not implemented outside Linux: process-tree control and honest
// measurement here rely on process groups, pipes and cgroups as Linux has them.
func (e *Executor) Run(ctx context.Context, job runner.Job) (benchrig.Measurement, error) {
	return benchrig.Measurement{ExitCode: -1, Source: e.mode}, errors.New("local: the local executor runs only on Linux")
}

// Check refuses read caps and cold caches: both are done with Linux
// cgroups and /proc/sys/vm/drop_caches.
func (e *Executor) Check(job runner.Job) error {
	if job.ReadBPS != 0 || job.DropCaches {
		return errors.New("read caps and cold caches need Linux")
	}
	return nil
}

// DropCaches is not supported on this system.
func (e *Executor) DropCaches(context.Context) (time.Duration, error) {
	return 0, errors.New("dropping the page cache is supported on Linux only")
}
