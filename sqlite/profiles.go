package sqlite

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/profiling"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ benchrig.ProfileStore = (*DB)(nil)

// AddProfile records one trial's call stacks (see benchrig.ProfileStore),
// replacing a profile of the same trial, as folded text compressed with
// gzip. A profile of an unknown run is ENotFound.
func (d *DB) AddProfile(ctx context.Context, p *benchrig.TrialProfile) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := profiling.WriteFolded(zw, profiling.Stacks(p.Stacks)); err != nil {
		return fmt.Errorf("add profile %s: %w", p.Ref(), err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("add profile %s: %w", p.Ref(), err)
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	_, err := d.db.ExecContext(ctx, `INSERT OR REPLACE INTO profiles
		(run_id, case_id, rep, attempt, node, event, freq_hz, lost, duration_ns, samples, folded)
		VALUES (`+placeholders(11)+`)`,
		p.Run, p.Case, p.Rep, p.Attempt, p.Node, p.Event, p.Freq, p.Lost, int64(p.Duration), p.Samples(), buf.Bytes())
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) {
		return benchrig.Errorf(benchrig.ENotFound, "add profile %s: run %s not found", p.Ref(), p.Run)
	}
	if err != nil {
		return fmt.Errorf("add profile %s: %w", p.Ref(), err)
	}
	return nil
}

// Profiles returns run runID's profiles in case, repetition and attempt
// order (see benchrig.ProfileStore).
func (d *DB) Profiles(ctx context.Context, runID string) ([]benchrig.TrialProfile, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT case_id, rep, attempt, node, event, freq_hz, lost, duration_ns, folded
		FROM profiles WHERE run_id = ? ORDER BY case_id, rep, attempt`, runID)
	if err != nil {
		return nil, fmt.Errorf("profiles of run %s: %w", runID, err)
	}
	defer rows.Close()
	var out []benchrig.TrialProfile
	for rows.Next() {
		p := benchrig.TrialProfile{Run: runID}
		var dur int64
		var folded []byte
		if err := rows.Scan(&p.Case, &p.Rep, &p.Attempt, &p.Node, &p.Event, &p.Freq, &p.Lost, &dur, &folded); err != nil {
			return nil, fmt.Errorf("profiles of run %s: %w", runID, err)
		}
		p.Duration = time.Duration(dur)
		zr, err := gzip.NewReader(bytes.NewReader(folded))
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", p.Ref(), err)
		}
		stacks, err := profiling.ReadFolded(io.LimitReader(zr, maxFolded))
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", p.Ref(), err)
		}
		p.Stacks = stacks
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("profiles of run %s: %w", runID, err)
	}
	return out, nil
}

// maxFolded bounds one profile's folded text once inflated: a minute at
// 10 kHz with a distinct deep stack per sample is under 512 MiB, and a
// corrupt or hostile row must not exhaust memory.
const maxFolded = 512 << 20
