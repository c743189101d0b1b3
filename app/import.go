package app

import (
	"context"
	"fmt"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
)

// TrialBatcher is an optional ability of a Store: AddTrials records
// trials in one transaction, all or none, durable when it returns. Import
// uses it so that a large import costs one commit per batch, not one per
// trial.
type TrialBatcher interface {
	AddTrials(ctx context.Context, trials []benchrig.Trial) error
}

// ImportBatch is how many trials Import stores per AddTrials call. A
// commit (an fsync, as the store is synchronous=FULL) per batch instead of
// per trial is what makes an import proportionate; a batch bounds how much
// a failure part way loses (the trials stored before it are kept) and how
// far the write-ahead log grows before a commit.
const ImportBatch = 4096

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
		trials[i].RunID = run.ID
	}
	// kept counts the trials stored: a batch is stored whole or not at
	// all, a trial added alone is stored when AddTrial returns.
	kept := 0
	add := func(batch []benchrig.Trial) error {
		for i := range batch {
			if err := a.Store.AddTrial(ctx, &batch[i]); err != nil {
				return err
			}
			kept++
		}
		return nil
	}
	if b, ok := a.Store.(TrialBatcher); ok {
		add = func(batch []benchrig.Trial) error {
			if err := b.AddTrials(ctx, batch); err != nil {
				return err
			}
			kept += len(batch)
			return nil
		}
	}
	for i := 0; i < len(trials); i += ImportBatch {
		if err := add(trials[i:min(i+ImportBatch, len(trials))]); err != nil {
			_ = a.Store.FinishRun(context.WithoutCancel(ctx), run.ID, benchrig.RunFailed, a.now(), nil)
			run.Trials, run.Status = trials[:kept], benchrig.RunFailed
			return fmt.Errorf("import into run %s stopped after %d of %d trials (kept, marked failed): %w", run.ID, kept, len(trials), err)
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
