package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/benchrig/benchrig"
	sqlite3 "modernc.org/sqlite/lib"
)

// AddEvents appends events to their runs' logs in one transaction: the
// batch is durable as a whole or not at all. An event whose (run, seq) is
// already stored is ignored, so a batch retried after an error that came
// after its commit is not doubled. An event without a run, a seq under 1
// or an unknown kind is EInvalid; one of an unknown run is ENotFound.
func (d *DB) AddEvents(ctx context.Context, events []benchrig.Event) error {
	if len(events) == 0 {
		return nil
	}
	for _, e := range events {
		if _, err := benchrig.ParseEventKind(e.Kind.String()); err != nil || e.Run == "" || e.Seq < 1 {
			return benchrig.Errorf(benchrig.EInvalid, "add events: event %d of run %q: want a run, a seq from 1 and a known kind (got %s)", e.Seq, e.Run, e.Kind)
		}
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add events: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO events (
		run_id, seq, time, kind, trial_case, trial_rep, trial_attempt, case_id, node, warmup, outcome, duration_ns, msg, done, total, profiled
	) VALUES (`+placeholders(16)+`)`)
	if err != nil {
		return fmt.Errorf("add events: %w", err)
	}
	defer stmt.Close()
	for _, e := range events {
		var tcase, outcome any
		var rep, attempt any
		if e.Trial != nil {
			tcase, rep, attempt = e.Trial.Case, e.Trial.Rep, e.Trial.Attempt
		}
		if e.Outcome != nil {
			outcome = e.Outcome.String()
		}
		if _, err := stmt.ExecContext(ctx, e.Run, e.Seq, encodeTime(e.Time), e.Kind.String(), tcase, rep, attempt,
			e.Case, e.Node, e.Warmup, outcome, int64(e.Duration), e.Msg, e.Done, e.Total, e.Profiled); err != nil {
			if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) {
				return benchrig.Errorf(benchrig.ENotFound, "add events: run %s not found", e.Run)
			}
			return fmt.Errorf("add event %d of run %s: %w", e.Seq, e.Run, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add events: %w", err)
	}
	return nil
}

// eventsQuery reads a run's events after a seq: parameters run ID, seq.
const eventsQuery = `SELECT seq, time, kind, trial_case, trial_rep, trial_attempt, case_id, node, warmup,
	outcome, duration_ns, msg, done, total, profiled FROM events WHERE run_id = ? AND seq > ? ORDER BY seq`

// Events returns the run's events with Seq > after, in Seq order: a
// follower passes the last Seq it has. An unknown run is ENotFound.
func (d *DB) Events(ctx context.Context, runID string, after int64) ([]benchrig.Event, error) {
	// One read transaction, so "no events" and "no such run" are decided
	// on the same snapshot.
	tx, err := d.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("events of run %s: %w", runID, err)
	}
	defer tx.Rollback()
	warmups, err := caseWarmups(ctx, tx, runID)
	if err != nil {
		return nil, fmt.Errorf("events of run %s: %w", runID, err)
	}
	profiledFrom, err := caseProfiledFrom(ctx, tx, runID)
	if err != nil {
		return nil, fmt.Errorf("events of run %s: %w", runID, err)
	}
	rows, err := tx.QueryContext(ctx, eventsQuery, runID, after)
	if err != nil {
		return nil, fmt.Errorf("events of run %s: %w", runID, err)
	}
	defer rows.Close()
	var out []benchrig.Event
	for rows.Next() {
		var (
			e              = benchrig.Event{Run: runID}
			t, tcase, kind sql.NullString
			outcome        sql.NullString
			rep, attempt   sql.NullInt64
			dur            int64
		)
		if err := rows.Scan(&e.Seq, &t, &kind, &tcase, &rep, &attempt, &e.Case, &e.Node, &e.Warmup,
			&outcome, &dur, &e.Msg, &e.Done, &e.Total, &e.Profiled); err != nil {
			return nil, fmt.Errorf("events of run %s: %w", runID, err)
		}
		if e.Time, err = decodeTime(t); err != nil {
			return nil, fmt.Errorf("event %d of run %s: time: %w", e.Seq, runID, err)
		}
		if e.Kind, err = benchrig.ParseEventKind(kind.String); err != nil {
			return nil, fmt.Errorf("event %d of run %s: %w", e.Seq, runID, err)
		}
		if tcase.Valid {
			e.Trial = &benchrig.TrialRef{Run: runID, Case: tcase.String, Rep: int(rep.Int64), Attempt: int(attempt.Int64)}
			e.Number = benchrig.TrialNumber(e.Trial.Rep, warmups[tcase.String])
			if e.Profiled {
				e.Number = e.Trial.Rep - profiledFrom[tcase.String] + 1
			}
		}
		if outcome.Valid {
			o, err := benchrig.ParseOutcome(outcome.String)
			if err != nil {
				return nil, fmt.Errorf("event %d of run %s: %w", e.Seq, runID, err)
			}
			e.Outcome = &o
		}
		e.Duration = time.Duration(dur)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events of run %s: %w", runID, err)
	}
	if len(out) == 0 {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE id = ?`, runID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, benchrig.Errorf(benchrig.ENotFound, "events: run %s not found", runID)
		}
		if err != nil {
			return nil, fmt.Errorf("events of run %s: %w", runID, err)
		}
	}
	return out, nil
}

// caseWarmups returns each case's warmup count as the run's log shows it:
// the runner plans every warmup of a case when the run starts (events with
// warmup set, reps 0..W-1), so W is the highest such rep plus one, and 0
// for a case with none. Event.Number is derived from it, not stored.
func caseWarmups(ctx context.Context, tx querier, runID string) (map[string]int, error) {
	return caseInts(ctx, tx, `SELECT trial_case, max(trial_rep) + 1 FROM events
		WHERE run_id = ? AND warmup AND trial_case IS NOT NULL GROUP BY trial_case`, runID)
}

// caseProfiledFrom returns each case's first rep of its profiled extra
// trials, as the run's log shows it: their events' Number counts from it.
func caseProfiledFrom(ctx context.Context, tx querier, runID string) (map[string]int, error) {
	return caseInts(ctx, tx, `SELECT trial_case, min(trial_rep) FROM events
		WHERE run_id = ? AND profiled AND trial_case IS NOT NULL GROUP BY trial_case`, runID)
}

// caseInts runs query, whose rows are (case, integer), for runID.
func caseInts(ctx context.Context, tx querier, query, runID string) (map[string]int, error) {
	rows, err := tx.QueryContext(ctx, query, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var c string
		var n int
		if err := rows.Scan(&c, &n); err != nil {
			return nil, err
		}
		out[c] = n
	}
	return out, rows.Err()
}

// numberTrials sets each trial's Number from its case's warmup count: as
// the event log shows it (caseWarmups), or as the recorded warmup trials
// show it for a run from before the event log, whichever is larger.
func numberTrials(ctx context.Context, q querier, run *benchrig.Run) error {
	warmups, err := caseWarmups(ctx, q, run.ID)
	if err != nil {
		return err
	}
	for _, t := range run.Trials {
		if t.Warmup && t.Index+1 > warmups[t.CaseID] {
			warmups[t.CaseID] = t.Index + 1
		}
	}
	// A profiled extra trial counts among its case's profiled trials,
	// which come after every rep the spec allows (benchrig.ProfileRep).
	profiled := map[string]int{}
	for i := range run.Trials {
		t := &run.Trials[i]
		if t.ProfileOnly {
			profiled[t.CaseID]++
			t.Number = profiled[t.CaseID]
			continue
		}
		t.Number = benchrig.TrialNumber(t.Index, warmups[t.CaseID])
	}
	return nil
}
