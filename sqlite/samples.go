package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

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
		(id, run_id, kind, node, trial_case, trial_rep, trial_attempt, seq, final, time, sample)
		VALUES (`+placeholders(11)+`)`)
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
			s.Seq, s.Final, encodeTime(s.Time), string(enc)); err != nil {
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
	q := `SELECT sample FROM samples WHERE run_id = ?`
	args := []any{runID}
	if len(kinds) > 0 {
		q += ` AND kind IN (` + placeholders(len(kinds)) + `)`
		for _, k := range kinds {
			args = append(args, k.String())
		}
	}
	rows, err := d.db.QueryContext(ctx, q+` ORDER BY ifnull(time, ''), id`, args...)
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
