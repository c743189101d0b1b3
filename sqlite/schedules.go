package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/benchrig/benchrig"
	sqlite3 "modernc.org/sqlite/lib"
)

// The schedules of a server (app.Scheduler keeps them here): each with its
// definition, the last run it submitted, the latest time it accounted for
// (Checked) and its latest firings. Next is the scheduler's to compute.

const scheduleColumns = `id, name, cron, time_zone, enabled, spec, sets, labels, overlap,
	created, created_by, last_run, last_time, checked`

// CreateSchedule stores a new schedule; its ID must be new (EInvalid
// otherwise). History and LastRun are not taken from s.
func (d *DB) CreateSchedule(ctx context.Context, s benchrig.Schedule) error {
	sets, labels, err := encodeScheduleLists(s)
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", s.ID, err)
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	_, err = d.db.ExecContext(ctx, `INSERT INTO schedules (`+scheduleColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', NULL, ?)`,
		s.ID, s.Name, s.Cron, s.TimeZone, s.Enabled, s.Spec, sets, labels, string(s.Overlap),
		encodeTime(s.Created), s.By, encodeTime(s.Checked))
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return benchrig.Errorf(benchrig.EInvalid, "schedule %s already exists", s.ID)
	}
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", s.ID, err)
	}
	return nil
}

// UpdateSchedule replaces the definition of schedule s.ID (name, cron,
// time zone, enabled, spec, sets, labels, overlap) and, when s.Checked is
// set, the time it accounted for. What its firings recorded (LastRun,
// LastTime, History) stays. Unknown: ENotFound.
func (d *DB) UpdateSchedule(ctx context.Context, s benchrig.Schedule) error {
	sets, labels, err := encodeScheduleLists(s)
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", s.ID, err)
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	res, err := d.db.ExecContext(ctx, `UPDATE schedules SET name = ?, cron = ?, time_zone = ?, enabled = ?,
		spec = ?, sets = ?, labels = ?, overlap = ?, checked = ifnull(?, checked) WHERE id = ?`,
		s.Name, s.Cron, s.TimeZone, s.Enabled, s.Spec, sets, labels, string(s.Overlap), encodeTime(s.Checked), s.ID)
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", s.ID, err)
	}
	return oneRow(res, "schedule "+s.ID)
}

// DeleteSchedule removes a schedule and its history. Unknown: ENotFound.
func (d *DB) DeleteSchedule(ctx context.Context, id string) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	res, err := d.db.ExecContext(ctx, `DELETE FROM schedules WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete schedule %s: %w", id, err)
	}
	return oneRow(res, "schedule "+id)
}

// RecordFiring adds f to the history of schedule id, keeping its latest
// keep entries (<= 0: all), in one transaction. The schedule has then
// accounted for f's time (its Last when set); a firing that submitted a
// run becomes its LastRun and LastTime. Unknown: ENotFound (a schedule
// deleted while it fired).
func (d *DB) RecordFiring(ctx context.Context, id string, f benchrig.ScheduleFiring, keep int) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record firing of schedule %s: %w", id, err)
	}
	defer tx.Rollback()
	checked := f.Time
	if f.Last.After(checked) {
		checked = f.Last
	}
	res, err := tx.ExecContext(ctx, `UPDATE schedules SET
		checked = CASE WHEN checked IS NULL OR checked < ? THEN ? ELSE checked END,
		last_run = CASE WHEN ? != '' THEN ? ELSE last_run END,
		last_time = CASE WHEN ? != '' THEN ? ELSE last_time END
		WHERE id = ?`,
		encodeTime(checked), encodeTime(checked), f.RunID, f.RunID, f.RunID, encodeTime(f.Time), id)
	if err != nil {
		return fmt.Errorf("record firing of schedule %s: %w", id, err)
	}
	if err := oneRow(res, "schedule "+id); err != nil {
		return err
	}
	count := f.Count
	if count < 1 {
		count = 1
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schedule_firings (schedule_id, n, time, last, count, run_id, skipped, error)
		VALUES (?, (SELECT ifnull(max(n), 0) + 1 FROM schedule_firings WHERE schedule_id = ?), ?, ?, ?, ?, ?, ?)`,
		id, id, encodeTime(f.Time), encodeTime(f.Last), count, f.RunID, f.Skipped, f.Error); err != nil {
		return fmt.Errorf("record firing of schedule %s: %w", id, err)
	}
	if keep > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM schedule_firings WHERE schedule_id = ? AND n <=
			(SELECT max(n) FROM schedule_firings WHERE schedule_id = ?) - ?`, id, id, keep); err != nil {
			return fmt.Errorf("record firing of schedule %s: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record firing of schedule %s: %w", id, err)
	}
	return nil
}

// GetSchedule loads a schedule with its history, newest first. Unknown:
// ENotFound.
func (d *DB) GetSchedule(ctx context.Context, id string) (*benchrig.Schedule, error) {
	out, err := d.schedules(ctx, `WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, benchrig.Errorf(benchrig.ENotFound, "schedule %s not found", id)
	}
	return &out[0], nil
}

// ListSchedules returns every schedule with its history, oldest created
// first.
func (d *DB) ListSchedules(ctx context.Context) ([]benchrig.Schedule, error) {
	return d.schedules(ctx, ``)
}

func (d *DB) schedules(ctx context.Context, where string, args ...any) ([]benchrig.Schedule, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+scheduleColumns+` FROM schedules `+where+` ORDER BY created, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read schedules: %w", err)
	}
	defer rows.Close()
	var out []benchrig.Schedule
	index := map[string]int{}
	for rows.Next() {
		var s benchrig.Schedule
		var sets, labels, overlap string
		var created, lastTime, checked sql.NullString
		if err := rows.Scan(&s.ID, &s.Name, &s.Cron, &s.TimeZone, &s.Enabled, &s.Spec, &sets, &labels, &overlap,
			&created, &s.By, &s.LastRun, &lastTime, &checked); err != nil {
			return nil, fmt.Errorf("read schedules: %w", err)
		}
		s.Overlap = benchrig.ScheduleOverlap(overlap)
		if err := errors.Join(json.Unmarshal([]byte(sets), &s.Sets), json.Unmarshal([]byte(labels), &s.Labels)); err != nil {
			return nil, fmt.Errorf("read schedule %s: %w", s.ID, err)
		}
		var terr error
		for _, t := range []struct {
			to   *time.Time
			from sql.NullString
		}{{&s.Created, created}, {&s.LastTime, lastTime}, {&s.Checked, checked}} {
			if *t.to, terr = decodeTime(t.from); terr != nil {
				return nil, fmt.Errorf("read schedule %s: %w", s.ID, terr)
			}
		}
		index[s.ID] = len(out)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schedules: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	q := `SELECT schedule_id, time, last, count, run_id, skipped, error FROM schedule_firings`
	var fargs []any
	if len(out) == 1 {
		q += ` WHERE schedule_id = ?`
		fargs = append(fargs, out[0].ID)
	}
	frows, err := d.db.QueryContext(ctx, q+` ORDER BY schedule_id, n DESC`, fargs...)
	if err != nil {
		return nil, fmt.Errorf("read schedule history: %w", err)
	}
	defer frows.Close()
	for frows.Next() {
		var id string
		var f benchrig.ScheduleFiring
		var t, last sql.NullString
		if err := frows.Scan(&id, &t, &last, &f.Count, &f.RunID, &f.Skipped, &f.Error); err != nil {
			return nil, fmt.Errorf("read schedule history: %w", err)
		}
		var err1, err2 error
		f.Time, err1 = decodeTime(t)
		f.Last, err2 = decodeTime(last)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("read history of schedule %s: %w", id, err)
		}
		if f.Count == 1 {
			f.Count = 0 // one time, as it was given
		}
		if i, ok := index[id]; ok {
			out[i].History = append(out[i].History, f)
		}
	}
	if err := frows.Err(); err != nil {
		return nil, fmt.Errorf("read schedule history: %w", err)
	}
	return out, nil
}

func encodeScheduleLists(s benchrig.Schedule) (sets, labels string, err error) {
	b, err := json.Marshal(s.Sets)
	if err != nil {
		return "", "", err
	}
	l, err := json.Marshal(s.Labels)
	if err != nil {
		return "", "", err
	}
	return string(b), string(l), nil
}

// oneRow is ENotFound naming what when res changed no row.
func oneRow(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return benchrig.Errorf(benchrig.ENotFound, "%s not found", what)
	}
	return nil
}
