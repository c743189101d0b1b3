package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"math/bits"

	"github.com/benchrig/benchrig"
)

// WriteSamples stores a batch of collector samples in one transaction (one
// fsync): all of them, or none when it returns an error. A sample whose ID
// is already stored is left as it is, so a batch written twice is stored
// once. It makes the store a collect.Sink, the default one.
func (d *DB) WriteSamples(ctx context.Context, samples []benchrig.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write %d samples: %w", len(samples), err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO samples
		(id, run_id, kind, node, trial_case, trial_rep, trial_attempt, seq, final, time, sample, lvl)
		VALUES (`+placeholders(12)+`)`)
	if err != nil {
		return fmt.Errorf("write %d samples: %w", len(samples), err)
	}
	defer stmt.Close()
	for i := range samples {
		s := &samples[i]
		enc, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("write sample %s: %w", s.ID(), err)
		}
		var tc, tr, ta any // NULL without a trial
		if s.Trial != nil {
			tc, tr, ta = s.Trial.Case, s.Trial.Rep, s.Trial.Attempt
		}
		if _, err := stmt.ExecContext(ctx, s.ID(), s.Run, s.Kind.String(), s.Node, tc, tr, ta,
			s.Seq, s.Final, encodeTime(s.Time), string(enc), level(s)); err != nil {
			return fmt.Errorf("write sample %s: %w", s.ID(), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write %d samples: %w", len(samples), err)
	}
	return nil
}

// Samples returns the samples stored for run runID, of the given kinds (all
// kinds when none), in time order (ties in ID order). A run without
// samples, or one not in the store, has none: no error.
func (d *DB) Samples(ctx context.Context, runID string, kinds ...benchrig.SampleKind) ([]benchrig.Sample, error) {
	where, args := samplesOf(runID, kinds)
	return d.querySamples(ctx, runID, where, args...)
}

// samplesOf is the WHERE clause (and its arguments) of run runID's
// samples of the given kinds (all when none).
func samplesOf(runID string, kinds []benchrig.SampleKind) (string, []any) {
	where := `run_id = ?`
	args := []any{runID}
	if len(kinds) > 0 {
		where += ` AND kind IN (` + placeholders(len(kinds)) + `)`
		for _, k := range kinds {
			args = append(args, k.String())
		}
	}
	return where, args
}

func (d *DB) querySamples(ctx context.Context, runID, where string, args ...any) ([]benchrig.Sample, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT sample FROM samples WHERE `+where+` ORDER BY ifnull(time, ''), id`, args...)
	if err != nil {
		return nil, fmt.Errorf("samples of run %s: %w", runID, err)
	}
	defer rows.Close()
	var out []benchrig.Sample
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("samples of run %s: %w", runID, err)
		}
		var s benchrig.Sample
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			return nil, fmt.Errorf("samples of run %s: decode: %w", runID, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("samples of run %s: %w", runID, err)
	}
	return out, nil
}

// level is a sample's lvl (see migration 9): how many times 2 divides
// its seq, 63 for a target's first and final samples.
func level(s *benchrig.Sample) int {
	if s.Final || s.Seq <= 1 {
		return 63
	}
	return bits.TrailingZeros64(uint64(s.Seq))
}

// SamplesThinned returns at most about max of run runID's samples of the
// given kinds, in time order: every stride-th sample of each target (by
// its seq), with each target's first and final samples, for the smallest
// power-of-two stride that keeps the count within max (stride 1: all of
// them). It reads only the samples it returns, through an index, so a
// chart of a run with millions of samples costs what the chart shows.
// max <= 0 means all.
func (d *DB) SamplesThinned(ctx context.Context, runID string, max int, kinds ...benchrig.SampleKind) (samples []benchrig.Sample, stride int64, err error) {
	if max <= 0 {
		s, err := d.Samples(ctx, runID, kinds...)
		return s, 1, err
	}
	where, args := samplesOf(runID, kinds)
	// From the sparsest level down, stop before the level that would
	// exceed max: each count scans only index entries of samples at least
	// that level, about twice the ones the level before returned.
	lvl := 0
	for l := 24; l >= 0; l-- {
		var n int
		if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM samples WHERE `+where+` AND lvl >= ?`,
			append(args, l)...).Scan(&n); err != nil {
			return nil, 0, fmt.Errorf("samples of run %s: %w", runID, err)
		}
		if n > max {
			lvl = l + 1
			break
		}
	}
	samples, err = d.querySamples(ctx, runID, where+` AND lvl >= ?`, append(args, lvl)...)
	return samples, int64(1) << lvl, err
}

// SetCollection records what was collected beside run runID and what it
// cost (replacing what was recorded before); nil clears it. An unknown ID
// is ENotFound.
func (d *DB) SetCollection(ctx context.Context, runID string, c *benchrig.Collection) error {
	enc, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("set collection %s: %w", runID, err)
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	res, err := d.db.ExecContext(ctx, `UPDATE runs SET collection = ? WHERE id = ?`, string(enc), runID)
	if err != nil {
		return fmt.Errorf("set collection %s: %w", runID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set collection %s: %w", runID, err)
	} else if n == 0 {
		return benchrig.Errorf(benchrig.ENotFound, "set collection: run %s not found", runID)
	}
	return nil
}
