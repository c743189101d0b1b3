//go:build !linux

package local

import (
	"context"
	"errors"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
)

// cgroupSetup is never built outside Linux.
type cgroupSetup struct{ controllers []string }

func (s *cgroupSetup) source() string { return sourceRusage }
func (s *cgroupSetup) close() error   { return nil }

func detectCgroups(Config) (*cgroupSetup, string) {
	return nil, "cgroups exist only on Linux"
}

// Run is not implemented outside Linux: process-tree control and honest
// measurement here rely on process groups, pipes and cgroups as Linux has them.
func (e *Executor) Run(ctx context.Context, job runner.Job) (benchrig.Measurement, error) {
	return benchrig.Measurement{ExitCode: -1, Source: e.mode}, errors.New("local: the local executor runs only on Linux")
}
