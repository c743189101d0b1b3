package app

import (
	"context"
	"fmt"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
)

// Import records run, measured elsewhere (go test -bench output, see
// package gobench), as a finished run of the store: it gets a new ID and
// the import's time as its start and end, each trial is recorded with its
// run ID, and the event log says where the run came from. The caller
// fills everything else. Every front end imports through this one call.
//
// A store error part way leaves the run recorded as failed with the
// trials recorded so far, and is returned.
func (a *App) Import(ctx context.Context, run *benchrig.Run, from string) error {
	now := a.now()
	trials := run.Trials
	run.ID = runner.NewID(now)
	run.Started, run.Heartbeat, run.Finished = now, now, now
	run.Status = benchrig.RunRunning
	run.Trials = nil
	if err := a.Store.CreateRun(ctx, run); err != nil {
		return err
	}
	ev := func(seq int64, kind benchrig.EventKind, msg string, done int) benchrig.Event {
		return benchrig.Event{Run: run.ID, Seq: seq, Time: now, Kind: kind, Msg: msg, Done: done, Total: len(trials)}
	}
	for i := range trials {
		t := &trials[i]
		t.RunID = run.ID
		if err := a.Store.AddTrial(ctx, t); err != nil {
			_ = a.Store.FinishRun(context.WithoutCancel(ctx), run.ID, benchrig.RunFailed, a.now(), nil)
			run.Trials, run.Status = trials[:i], benchrig.RunFailed
			return fmt.Errorf("import into run %s stopped after %d of %d trials (kept, marked failed): %w", run.ID, i, len(trials), err)
		}
	}
	events := []benchrig.Event{
		ev(1, benchrig.EventRunStarted, fmt.Sprintf("imported from %s: %d result(s) of %d benchmark(s)", from, len(trials), len(run.Cases)), 0),
		ev(2, benchrig.EventRunFinished, string(benchrig.RunFinished), len(trials)),
	}
	if err := a.Store.AddEvents(ctx, events); err != nil {
		return err
	}
	if err := a.Store.FinishRun(ctx, run.ID, benchrig.RunFinished, now, nil); err != nil {
		return err
	}
	run.Trials, run.Status, run.Heartbeat = trials, benchrig.RunFinished, time.Time{}
	return nil
}
