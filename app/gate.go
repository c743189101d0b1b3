package app

import (
	"context"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
)

// GateOptions are how Gate reports what it does.
type GateOptions struct {
	// OnEvent is given the judged run's own gate events (EventGate, seq
	// after its last) once they are recorded.
	OnEvent func(benchrig.Event)
	// Subscribers watch the confirmation run, if one is made.
	Subscribers []runner.Subscriber
}

// Gate judges the finished run against the baseline req names, re-runs
// suspected regressions once (a confirmation run of those cases), records
// the result on the run and returns it. Stub: owned by helper B2.
func (a *App) Gate(ctx context.Context, run *benchrig.Run, req benchrig.GateRequest, opts GateOptions) (*benchrig.GateResult, error) {
	return nil, benchrig.Errorf(benchrig.EUnavailable, "gate: not built yet")
}
