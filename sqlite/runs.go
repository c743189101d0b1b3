package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benchrig/benchrig"
	sqlite3 "modernc.org/sqlite/lib"
)

// CreateRun records a new run: everything in run except Trials, which are
// added one by one with AddTrial. A running run gets its Heartbeat, or a
// fresh one (the store's clock) when that is zero. An ID already in the
// store is EInvalid, unless that run is queued (a server's run, recorded
// when it was submitted): the run is then recorded over its queued record,
// keeping who submitted it (By) and its place (n).
func (d *DB) CreateRun(ctx context.Context, run *benchrig.Run) error {
	if run.ID == "" {
		return benchrig.Errorf(benchrig.EInvalid, "create run: empty run ID")
	}
	hb := run.Heartbeat
	if run.Status == benchrig.RunRunning && hb.IsZero() {
		hb = d.now()
	}
	cols, err := runColumns(run, hb)
	if err != nil {
		return fmt.Errorf("create run %s: %w", run.ID, err)
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create run %s: %w", run.ID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO runs (`+runInsertCols+`, submitted_by) VALUES (`+placeholders(len(cols)+1)+`)
		ON CONFLICT (id) DO UPDATE SET `+runUpsertSet+` WHERE runs.status = 'queued'`, append(cols, run.By)...)
	if err != nil {
		return fmt.Errorf("create run %s: %w", run.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("create run %s: %w", run.ID, err)
	} else if n == 0 {
		return &benchrig.Error{Code: benchrig.EInvalid, Msg: fmt.Sprintf("create run %s: a run with this ID is already recorded", run.ID)}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM run_labels WHERE run_id = ?`, run.ID); err != nil {
		return fmt.Errorf("create run %s: %w", run.ID, err)
	}
	if err := putRunNodes(ctx, tx, run.ID, run.Nodes, run.Placements, run.Fingerprint); err != nil {
		return fmt.Errorf("create run %s: %w", run.ID, err)
	}
	for _, k := range benchrig.SortedKeys(run.Labels) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO run_labels (run_id, key, value) VALUES (?, ?, ?)`, run.ID, k, run.Labels[k]); err != nil {
			return fmt.Errorf("create run %s: label %s: %w", run.ID, k, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create run %s: %w", run.ID, err)
	}
	return nil
}

// putRunNodes replaces the run_nodes rows of run id: one per node it used,
// or, for a run without node pools (no nodes, no placements), the one node
// its fingerprint names ("local", or "go-test" for an import) with the
// host's architecture. A run on node pools that has contacted no node
// yet has none.
func putRunNodes(ctx context.Context, tx *sql.Tx, id string, nodes []benchrig.NodeFacts, placements map[string]benchrig.CasePlacement, host benchrig.Fingerprint) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM run_nodes WHERE run_id = ?`, id); err != nil {
		return fmt.Errorf("replace nodes: %w", err)
	}
	if len(nodes) == 0 && placements == nil {
		nodes = []benchrig.NodeFacts{{Name: host.HostNode(), Arch: host.Arch}}
	}
	for _, n := range nodes {
		// OR REPLACE: a node fingerprinted twice (pool check) keeps its
		// latest facts.
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO run_nodes (run_id, node, arch, pool) VALUES (?, ?, ?, ?)`,
			id, n.Name, n.Arch, n.Pool); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	return nil
}

// AddTrial records one trial of a run created before. It is one
// autocommitted INSERT, so it returns only once the trial is durable (see the
// package comment). A trial for an unknown run is ENotFound; a second trial
// with the same run and Seq, or the same case and repetition, is EInvalid.
//
// A trial whose outcome was not decided (OutcomeUnknown) is stored with the
// outcome its measurement gives (Trial.Result).
func (d *DB) AddTrial(ctx context.Context, t *benchrig.Trial) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	return insertTrial(ctx, func(ctx context.Context, args ...any) (sql.Result, error) {
		return d.db.ExecContext(ctx, insertTrialSQL, args...)
	}, t)
}

// AddTrials records trials of runs created before in one transaction, as
// AddTrial records one: all of them are durable when it returns, or none
// is (an error names the first trial refused). One commit (one fsync) for
// many trials is what makes an import of 100,000 result lines take
// seconds rather than minutes.
func (d *DB) AddTrials(ctx context.Context, trials []benchrig.Trial) error {
	if len(trials) == 0 {
		return nil
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add %d trials: %w", len(trials), err)
	}
	defer tx.Rollback()
	// Prepared once: parsing the INSERT was as costly as running it.
	stmt, err := tx.PrepareContext(ctx, insertTrialSQL)
	if err != nil {
		return fmt.Errorf("add %d trials: %w", len(trials), err)
	}
	defer stmt.Close()
	for i := range trials {
		if err := insertTrial(ctx, stmt.ExecContext, &trials[i]); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add %d trials: %w", len(trials), err)
	}
	return nil
}

var insertTrialSQL = `INSERT INTO trials (
		run_id, seq, case_id, idx, warmup, node, start, wall_ns, user_ns, sys_ns, max_rss,
		exit_code, stdout_bytes, stderr_bytes, stderr_tail, error, source, metrics, attempt, outcome,
		reason, stdout_lines, stdout_blank_lines, stdout_sha256, noise, profile_only, profiled
	) VALUES (` + placeholders(27) + `)`

// insertTrial inserts t with exec, which runs insertTrialSQL.
func insertTrial(ctx context.Context, exec func(ctx context.Context, args ...any) (sql.Result, error), t *benchrig.Trial) error {
	metrics, err := encodeFloats(t.Metrics)
	if err != nil {
		return fmt.Errorf("add trial %d of run %s: %w", t.Seq, t.RunID, err)
	}
	outcome := t.Result()
	var lines, blank, sha any // NULL without a digest
	if d := t.Stdout; d != nil {
		lines, blank, sha = d.Lines, d.BlankLines, d.SHA256
	}
	var noise any // NULL without one
	if t.Noise != nil {
		b, err := json.Marshal(t.Noise)
		if err != nil {
			return fmt.Errorf("add trial %d of run %s: noise: %w", t.Seq, t.RunID, err)
		}
		noise = string(b)
	}
	_, err = exec(ctx,
		t.RunID, t.Seq, t.CaseID, t.Index, t.Warmup, t.Node, encodeTime(t.Start),
		int64(t.Wall), int64(t.User), int64(t.Sys), t.MaxRSS,
		t.ExitCode, t.StdoutBytes, t.StderrBytes, t.StderrTail, t.Error, t.Source, metrics,
		t.Attempt, outcome.String(), t.Reason, lines, blank, sha, noise, t.ProfileOnly, t.Profiled)
	if err != nil {
		switch {
		case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY):
			return benchrig.Errorf(benchrig.ENotFound, "add trial %d: run %s not found", t.Seq, t.RunID)
		case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
			return benchrig.Errorf(benchrig.EInvalid, "add trial %d of run %s: a trial with this seq is already recorded", t.Seq, t.RunID)
		case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE):
			return benchrig.Errorf(benchrig.EInvalid, "add trial %d of run %s: case %s repetition %d is already recorded", t.Seq, t.RunID, t.CaseID, t.Index)
		}
		return fmt.Errorf("add trial %d of run %s: %w", t.Seq, t.RunID, err)
	}
	return nil
}

// FinishRun sets the final status and time of a run, clears its heartbeat
// (no process runs it any more) and merges notes into its notes (a note for
// a case already noted replaces it). An unknown ID is ENotFound.
func (d *DB) FinishRun(ctx context.Context, id string, status benchrig.RunStatus, finished time.Time, notes map[string]string) error {
	var merged map[string]string
	return d.updateJSON(ctx, "finish run", id, "notes", &merged, func(*sql.Tx) error {
		if len(notes) > 0 {
			if merged == nil {
				merged = make(map[string]string, len(notes))
			}
			maps.Copy(merged, notes)
		}
		return nil
	}, "status = ?, finished = ?, heartbeat = NULL", string(status), encodeTime(finished))
}

// SetGate records the regression gate's verdict on run runID, replacing
// the one before; nil clears it (the run reads as not gated). An unknown
// ID is ENotFound.
func (d *DB) SetGate(ctx context.Context, runID string, g *benchrig.GateResult) error {
	var val any // NULL for nil
	if g != nil {
		enc, err := json.Marshal(g)
		if err != nil {
			return fmt.Errorf("set gate %s: encode: %w", runID, err)
		}
		val = string(enc)
	}
	d.wmu.Lock()
	res, err := d.db.ExecContext(ctx, `UPDATE runs SET gate = ? WHERE id = ?`, val, runID)
	d.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("set gate %s: %w", runID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set gate %s: %w", runID, err)
	} else if n == 0 {
		return benchrig.Errorf(benchrig.ENotFound, "set gate: run %s not found", runID)
	}
	return nil
}

// SetNote sets case caseID's note, replacing the one before; an empty note
// removes it. An unknown ID is ENotFound.
func (d *DB) SetNote(ctx context.Context, runID, caseID, note string) error {
	var notes map[string]string
	return d.updateJSON(ctx, "set note", runID, "notes", &notes, func(*sql.Tx) error {
		if note == "" {
			delete(notes, caseID)
			return nil
		}
		if notes == nil {
			notes = map[string]string{}
		}
		notes[caseID] = note
		return nil
	}, "")
}

// SetStop records why adaptive repetition stopped case caseID, replacing
// the one before. An unknown ID is ENotFound.
func (d *DB) SetStop(ctx context.Context, runID, caseID string, stop benchrig.Stop) error {
	var m caseMaps
	return d.updateJSON(ctx, "set stop", runID, "case_maps", &m, func(*sql.Tx) error {
		if m.Stops == nil {
			m.Stops = map[string]stopRecord{}
		}
		m.Stops[caseID] = toStopRecord(stop)
		return nil
	}, "")
}

// RecordNodeEvents keeps what happened to nodes during a run, and the
// facts of every node it used (nodes may join mid-run), replacing what
// was stored, run_nodes included. An unknown ID is ENotFound.
func (d *DB) RecordNodeEvents(ctx context.Context, id string, nodes []benchrig.NodeFacts, events []benchrig.NodeEvent) error {
	var m caseMaps
	return d.updateJSON(ctx, "record node events", id, "case_maps", &m, func(tx *sql.Tx) error {
		m.Nodes, m.NodeEvents = nodes, events
		var fp benchrig.Fingerprint
		var raw string
		if err := tx.QueryRowContext(ctx, `SELECT fingerprint FROM runs WHERE id = ?`, id).Scan(&raw); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(raw), &fp); err != nil {
			return fmt.Errorf("decode fingerprint: %w", err)
		}
		return putRunNodes(ctx, tx, id, nodes, m.Placements, fp)
	}, "")
}

// Heartbeat says the run's process is alive at t: one UPDATE. A run that
// is no longer running (finished, or marked interrupted by InterruptStale
// while this process stalled) is EInvalid: the heartbeat must not revive
// it, and the caller learns that it lost the run. An unknown ID is
// ENotFound.
func (d *DB) Heartbeat(ctx context.Context, runID string, t time.Time) error {
	d.wmu.Lock()
	res, err := d.db.ExecContext(ctx, `UPDATE runs SET heartbeat = ? WHERE id = ? AND status = 'running'`, encodeTime(t), runID)
	d.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("heartbeat of run %s: %w", runID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("heartbeat of run %s: %w", runID, err)
	} else if n == 1 {
		return nil
	}
	var status string
	err = d.db.QueryRowContext(ctx, `SELECT status FROM runs WHERE id = ?`, runID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return benchrig.Errorf(benchrig.ENotFound, "heartbeat: run %s not found", runID)
	}
	if err != nil {
		return fmt.Errorf("heartbeat of run %s: %w", runID, err)
	}
	return benchrig.Errorf(benchrig.EInvalid, "heartbeat of run %s: the run is %s, not running", runID, status)
}

// ReopenRun marks an interrupted or cancelled run running again, with a
// fresh heartbeat at t and no finish time, for runs resume. Any other
// status is EInvalid, and so is a running run whose heartbeat is not stale
// at t (its process is alive). An unknown ID is ENotFound. It returns the
// Seq of the run's last recorded event.
func (d *DB) ReopenRun(ctx context.Context, runID string, t time.Time) (int64, error) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("reopen run %s: %w", runID, err)
	}
	defer tx.Rollback()
	var status string
	var hb sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT status, heartbeat FROM runs WHERE id = ?`, runID).Scan(&status, &hb)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, benchrig.Errorf(benchrig.ENotFound, "reopen run: run %s not found", runID)
	}
	if err != nil {
		return 0, fmt.Errorf("reopen run %s: %w", runID, err)
	}
	heartbeat, err := decodeTime(hb)
	if err != nil {
		return 0, fmt.Errorf("reopen run %s: heartbeat: %w", runID, err)
	}
	switch effective := effectiveStatus(benchrig.RunStatus(status), heartbeat, t); effective {
	case benchrig.RunInterrupted, benchrig.RunCancelled:
	case benchrig.RunRunning:
		return 0, benchrig.Errorf(benchrig.EInvalid, "reopen run %s: it is running: its heartbeat is %s old, under %s, so its process is alive",
			runID, benchrig.FormatDuration(t.Sub(heartbeat)), benchrig.HeartbeatStale)
	default:
		return 0, benchrig.Errorf(benchrig.EInvalid, "reopen run %s: it is %s; only an interrupted or cancelled run can be resumed", runID, effective)
	}
	// The resumed run's events go on after the last one recorded.
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT ifnull(max(seq), 0) FROM events WHERE run_id = ?`, runID).Scan(&last); err != nil {
		return 0, fmt.Errorf("reopen run %s: last event: %w", runID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = 'running', heartbeat = ?, finished = NULL WHERE id = ?`, encodeTime(t), runID); err != nil {
		return 0, fmt.Errorf("reopen run %s: %w", runID, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("reopen run %s: %w", runID, err)
	}
	return last, nil
}

// effectiveStatus is the status readers see: a running run whose heartbeat
// is missing or older than HeartbeatStale at now is interrupted. The SQL
// filters say the same with staleCond.
func effectiveStatus(status benchrig.RunStatus, heartbeat, now time.Time) benchrig.RunStatus {
	if status == benchrig.RunRunning && (heartbeat.IsZero() || heartbeat.Before(now.Add(-benchrig.HeartbeatStale))) {
		return benchrig.RunInterrupted
	}
	return status
}

// staleCond is effectiveStatus's test in SQL, for a running run; its one
// parameter is staleBefore(now).
const staleCond = `(r.heartbeat IS NULL OR r.heartbeat < ?)`

func staleBefore(now time.Time) any { return encodeTime(now.Add(-benchrig.HeartbeatStale)) }

// updateJSON changes the JSON column col of run id in one transaction
// (BEGIN IMMEDIATE: no lost update): it decodes the column into v, calls
// change (which may also write other rows in tx), and writes v back, with
// the further assignments set (e.g. "status = ?") and their args. An
// unknown ID is ENotFound; op names the operation in errors.
func (d *DB) updateJSON(ctx context.Context, op, id, col string, v any, change func(tx *sql.Tx) error, set string, args ...any) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	defer tx.Rollback()
	var raw string
	if err := tx.QueryRowContext(ctx, `SELECT `+col+` FROM runs WHERE id = ?`, id).Scan(&raw); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return benchrig.Errorf(benchrig.ENotFound, "%s: run %s not found", op, id)
		}
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return fmt.Errorf("%s %s: decode %s: %w", op, id, col, err)
	}
	if err := change(tx); err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s %s: encode %s: %w", op, id, col, err)
	}
	if set != "" {
		set += ", "
	}
	args = append(args, string(enc), id)
	if _, err := tx.ExecContext(ctx, `UPDATE runs SET `+set+col+` = ? WHERE id = ?`, args...); err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	return nil
}

// GetRun loads a run whole, with its trials in Seq order. ref is a full run
// ID, a unique prefix of one, any other unique part of one (its last four
// hex digits, say), "latest" (or "last") for the newest run, or "latest~N"
// for the run N before the newest. The keywords win over an ID spelled the
// same; an exact ID wins over a longer ID it is a prefix of, and a prefix
// over a part elsewhere.
//
// An unknown ref is ENotFound and names the closest IDs; a ref matching
// several IDs is EInvalid and lists them.
func (d *DB) GetRun(ctx context.Context, ref string) (*benchrig.Run, error) {
	id, err := d.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	// One read transaction, so the run and its trials are one snapshot
	// even while the runner is adding trials.
	tx, err := d.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("get run %s: %w", id, err)
	}
	defer tx.Rollback()
	run, err := loadRun(ctx, tx, id, d.now())
	if err != nil {
		return nil, fmt.Errorf("get run %s: %w", id, err)
	}
	return run, nil
}

// DeleteRun removes a run and its trials. An unknown ID is ENotFound.
func (d *DB) DeleteRun(ctx context.Context, id string) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete run %s: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, id) // trials: ON DELETE CASCADE
	if err != nil {
		return fmt.Errorf("delete run %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete run %s: %w", id, err)
	}
	if n == 0 {
		return benchrig.Errorf(benchrig.ENotFound, "delete run: run %s not found", id)
	}
	// Samples have no foreign key (see migration 5).
	if _, err := tx.ExecContext(ctx, `DELETE FROM samples WHERE run_id = ?`, id); err != nil {
		return fmt.Errorf("delete run %s: samples: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete run %s: %w", id, err)
	}
	return nil
}

// sortKey orders runs by start time; NULL (a zero start) becomes the empty
// string and sorts last, newest first. It is the expression of the
// runs_sort, runs_spec and runs_status indexes, spelled the same so that
// SQLite uses them.
const sortKey = `ifnull(r.started, '')`

// newestFirst orders runs by start time, then by insertion for equal times.
const newestFirst = sortKey + ` DESC, r.n DESC`

// maxCandidates bounds the IDs listed in an ambiguous-prefix error.
const maxCandidates = 10

// resolve turns a run reference into a run ID.
func (d *DB) resolve(ctx context.Context, ref string) (string, error) {
	if ref == "" {
		return "", benchrig.Errorf(benchrig.EInvalid, "empty run reference (want an ID, an ID prefix, latest or latest~N)")
	}
	if n, ok, err := latestOffset(ref); err != nil {
		return "", err
	} else if ok {
		var id string
		err := d.db.QueryRowContext(ctx, `SELECT r.id FROM runs r ORDER BY `+newestFirst+` LIMIT 1 OFFSET ?`, n).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			var count int
			if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM runs`).Scan(&count); err != nil {
				return "", fmt.Errorf("resolve run %s: %w", ref, err)
			}
			return "", benchrig.Errorf(benchrig.ENotFound, "run %s not found: the store has %d runs", ref, count)
		}
		if err != nil {
			return "", fmt.Errorf("resolve run %s: %w", ref, err)
		}
		return id, nil
	}

	var id string
	err := d.db.QueryRowContext(ctx, `SELECT id FROM runs WHERE id = ?`, ref).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("resolve run %s: %w", ref, err)
	}
	ids, err := d.queryIDs(ctx, prefixQuery, ref, ref+"\xff", maxCandidates+1)
	if err != nil {
		return "", fmt.Errorf("resolve run %s: %w", ref, err)
	}
	what := "prefix"
	if len(ids) == 0 {
		// Any part of an ID works, such as the four hex digits at its end,
		// the part people notice.
		if ids, err = d.queryIDs(ctx, `SELECT id FROM runs WHERE instr(id, ?) > 0 ORDER BY n DESC LIMIT ?`, ref, maxCandidates+1); err != nil {
			return "", fmt.Errorf("resolve run %s: %w", ref, err)
		}
		what = "reference"
	}
	switch {
	case len(ids) == 0:
		return "", d.notFound(ctx, ref)
	case len(ids) == 1:
		return ids[0], nil
	}
	list := strings.Join(ids, ", ")
	if len(ids) > maxCandidates {
		list = strings.Join(ids[:maxCandidates], ", ") + ", ..."
	}
	return "", benchrig.Errorf(benchrig.EInvalid, "run %s %s is ambiguous: it matches %s", what, ref, list)
}

func (d *DB) queryIDs(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// notFound says that no run matches ref, naming the IDs that come closest
// (a typo in a few characters), and where to see them all.
func (d *DB) notFound(ctx context.Context, ref string) error {
	ids, err := d.queryIDs(ctx, `SELECT id FROM runs ORDER BY n DESC`)
	if err != nil {
		return fmt.Errorf("resolve run %s: %w", ref, err)
	}
	// The distance of an ID to ref is the fewest characters that differ
	// between ref and any part of the ID as long as ref.
	type near struct {
		id   string
		dist int
	}
	var best []near
	for _, id := range ids {
		dist := len(ref)
		for i := 0; i+len(ref) <= len(id); i++ {
			diff := 0
			for j := 0; j < len(ref) && diff < dist; j++ {
				if id[i+j] != ref[j] {
					diff++
				}
			}
			dist = min(dist, diff)
		}
		if dist <= len(ref)/3 {
			best = append(best, near{id, dist})
		}
	}
	slices.SortStableFunc(best, func(a, b near) int { return a.dist - b.dist })
	msg := fmt.Sprintf("run %s not found", ref)
	if len(best) > 0 {
		var close []string
		for _, b := range best[:min(len(best), 3)] {
			close = append(close, b.id)
		}
		msg += "; closest: " + strings.Join(close, ", ")
	}
	msg += fmt.Sprintf(" (the store has %d runs: benchrig runs list)", len(ids))
	return benchrig.Errorf(benchrig.ENotFound, "%s", msg)
}

// prefixQuery finds the IDs that start with a prefix: parameters prefix,
// prefix+"\xff" and a limit. A range of the ID index rather than substr,
// LIKE or GLOB, which scan every run (and the latter two would need ref's
// wildcards escaped): no byte of UTF-8 is 0xff, so every ID with the prefix
// sorts below prefix+"\xff".
const prefixQuery = `SELECT r.id FROM runs r WHERE r.id >= ?1 AND r.id < ?2 ORDER BY ` + newestFirst + ` LIMIT ?3`

// latestOffset parses "latest", "last", "latest~N" and "last~N".
func latestOffset(ref string) (n int, ok bool, err error) {
	head, tail, hasTilde := strings.Cut(ref, "~")
	if head != "latest" && head != "last" {
		return 0, false, nil
	}
	if !hasTilde {
		return 0, true, nil
	}
	n, err = strconv.Atoi(tail)
	if err != nil || n < 0 {
		return 0, false, benchrig.Errorf(benchrig.EInvalid, "bad run reference %s: want %s~N with N a whole number", ref, head)
	}
	return n, true, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// trialsQuery reads a run's trials in seq order: parameter run ID.
const trialsQuery = `SELECT
	run_id, seq, case_id, idx, warmup, node, start, wall_ns, user_ns, sys_ns, max_rss,
	exit_code, stdout_bytes, stderr_bytes, stderr_tail, error, source, metrics, attempt, outcome,
	reason, stdout_lines, stdout_blank_lines, stdout_sha256, noise, profile_only, profiled
	FROM trials WHERE run_id = ? ORDER BY seq`

func loadRun(ctx context.Context, q querier, id string, now time.Time) (*benchrig.Run, error) {
	var rc runCols
	err := q.QueryRowContext(ctx, `SELECT `+runSelectCols+` FROM runs r WHERE r.id = ?`, id).Scan(rc.dests()...)
	if errors.Is(err, sql.ErrNoRows) {
		// Deleted between resolve and load.
		return nil, benchrig.Errorf(benchrig.ENotFound, "run %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	run := &benchrig.Run{}
	if err := rc.decode(run, now); err != nil {
		return nil, err
	}

	rows, err := q.QueryContext(ctx, trialsQuery, id)
	if err != nil {
		return nil, fmt.Errorf("load trials: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			t               benchrig.Trial
			start           sql.NullString
			wall, user, sys int64
			metrics         string
			outcome         string
			lines, blank    sql.NullInt64
			sha             sql.NullString
			noise           sql.NullString
		)
		if err := rows.Scan(&t.RunID, &t.Seq, &t.CaseID, &t.Index, &t.Warmup, &t.Node, &start,
			&wall, &user, &sys, &t.MaxRSS, &t.ExitCode, &t.StdoutBytes, &t.StderrBytes,
			&t.StderrTail, &t.Error, &t.Source, &metrics, &t.Attempt, &outcome,
			&t.Reason, &lines, &blank, &sha, &noise, &t.ProfileOnly, &t.Profiled); err != nil {
			return nil, fmt.Errorf("load trials: %w", err)
		}
		if noise.Valid {
			t.Noise = &benchrig.Noise{}
			if err := json.Unmarshal([]byte(noise.String), t.Noise); err != nil {
				return nil, fmt.Errorf("load trial %d: noise: %w", t.Seq, err)
			}
		}
		if sha.Valid {
			t.Stdout = &benchrig.OutputDigest{Bytes: t.StdoutBytes, Lines: lines.Int64, BlankLines: blank.Int64, SHA256: sha.String}
		}
		t.Wall, t.User, t.Sys = time.Duration(wall), time.Duration(user), time.Duration(sys)
		if t.Start, err = decodeTime(start); err != nil {
			return nil, fmt.Errorf("load trial %d: start: %w", t.Seq, err)
		}
		if t.Metrics, err = decodeFloats(metrics); err != nil {
			return nil, fmt.Errorf("load trial %d: metrics: %w", t.Seq, err)
		}
		if t.Outcome, err = benchrig.ParseOutcome(outcome); err != nil {
			return nil, fmt.Errorf("load trial %d: %w", t.Seq, err)
		}
		run.Trials = append(run.Trials, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load trials: %w", err)
	}
	if err := numberTrials(ctx, q, run); err != nil {
		return nil, fmt.Errorf("load trials: %w", err)
	}
	// A run's warnings are its warning events: one record, two readings.
	wrows, err := q.QueryContext(ctx, `SELECT msg FROM events WHERE run_id = ? AND kind = ? ORDER BY seq`, id, benchrig.EventWarning.String())
	if err != nil {
		return nil, fmt.Errorf("load warnings: %w", err)
	}
	defer wrows.Close()
	for wrows.Next() {
		var msg string
		if err := wrows.Scan(&msg); err != nil {
			return nil, fmt.Errorf("load warnings: %w", err)
		}
		run.Warnings = append(run.Warnings, msg)
	}
	if err := wrows.Err(); err != nil {
		return nil, fmt.Errorf("load warnings: %w", err)
	}
	return run, nil
}

// The run columns, in the order of runColumns and runCols.dests.
const (
	runInsertCols = `id, spec_name, spec_hash, spec_file, spec_source, overrides, status, started, finished,
		fingerprint, cases, baseline_id, notes, throughput, throughput_unit, scaling_param, case_maps,
		heartbeat, labels, request, collection`
	// runUpsertSet records a queued run's start over its queued row: every
	// column but id, n and submitted_by.
	runUpsertSet = `spec_name = excluded.spec_name, spec_hash = excluded.spec_hash, spec_file = excluded.spec_file,
		spec_source = excluded.spec_source, overrides = excluded.overrides, status = excluded.status,
		started = excluded.started, finished = excluded.finished, fingerprint = excluded.fingerprint,
		cases = excluded.cases, baseline_id = excluded.baseline_id, notes = excluded.notes,
		throughput = excluded.throughput, throughput_unit = excluded.throughput_unit,
		scaling_param = excluded.scaling_param, case_maps = excluded.case_maps, heartbeat = excluded.heartbeat,
		labels = excluded.labels, request = excluded.request, collection = excluded.collection`
	runSelectCols = `r.id, r.spec_name, r.spec_hash, r.spec_file, r.spec_source, r.overrides, r.status, r.started, r.finished,
		r.fingerprint, r.cases, r.baseline_id, r.notes, r.throughput, r.throughput_unit, r.scaling_param, r.case_maps,
		r.heartbeat, r.labels, r.request, r.collection, r.submitted_by, r.gate`
)

// runColumns encodes run for runInsertCols, with heartbeat hb.
func runColumns(run *benchrig.Run, hb time.Time) ([]any, error) {
	overrides, err := json.Marshal(run.Overrides)
	if err != nil {
		return nil, fmt.Errorf("encode overrides: %w", err)
	}
	fp, err := json.Marshal(run.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("encode fingerprint: %w", err)
	}
	cases, err := json.Marshal(toCaseRecords(run.Cases))
	if err != nil {
		return nil, fmt.Errorf("encode cases: %w", err)
	}
	notes, err := json.Marshal(run.Notes)
	if err != nil {
		return nil, fmt.Errorf("encode notes: %w", err)
	}
	tp, err := encodeFloats(run.Throughput)
	if err != nil {
		return nil, fmt.Errorf("encode throughput: %w", err)
	}
	bytes, err := encodeFloats(run.ThroughputBytes)
	if err != nil {
		return nil, fmt.Errorf("encode throughput bytes: %w", err)
	}
	maps, err := json.Marshal(caseMaps{Baselines: run.Baselines, Ceilings: run.Ceilings, Skipped: run.Skipped, Files: run.Files,
		Bytes: json.RawMessage(bytes), Placements: run.Placements, Nodes: run.Nodes, NodeEvents: run.NodeEvents,
		Repeat: toRepeatRecord(run.Repeat), Stops: toStopRecords(run.Stops), Profiling: run.Profiling})
	if err != nil {
		return nil, fmt.Errorf("encode case maps: %w", err)
	}
	labels, err := json.Marshal(run.Labels)
	if err != nil {
		return nil, fmt.Errorf("encode labels: %w", err)
	}
	req, err := json.Marshal(run.Request)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	coll, err := json.Marshal(run.Collection)
	if err != nil {
		return nil, fmt.Errorf("encode collection: %w", err)
	}
	return []any{run.ID, run.SpecName, run.SpecHash, run.SpecFile, run.SpecSource, string(overrides),
		string(run.Status), encodeTime(run.Started), encodeTime(run.Finished), string(fp), string(cases),
		run.BaselineID, string(notes), tp, string(run.ThroughputUnit), run.ScalingParam, string(maps),
		encodeTime(hb), string(labels), string(req), string(coll)}, nil
}

// caseMaps is the stored form of a run's per-case maps, with its own JSON
// names; an absent map reads back as nil.
type caseMaps struct {
	Baselines map[string]string `json:"baselines,omitempty"`
	Ceilings  map[string]string `json:"ceilings,omitempty"`
	Skipped   map[string]string `json:"skipped,omitempty"`
	Files     map[string]int    `json:"files,omitempty"`
	// Bytes is encodeFloats of Run.ThroughputBytes ("null" when nil).
	Bytes json.RawMessage `json:"bytes,omitempty"`
	// Where cases ran on node pools: benchrig's own JSON names of these
	// types are the stored form.
	Placements map[string]benchrig.CasePlacement `json:"placements,omitempty"`
	Nodes      []benchrig.NodeFacts              `json:"nodes,omitempty"`
	NodeEvents []benchrig.NodeEvent              `json:"node_events,omitempty"`
	// Repeat and Stops: absent in runs recorded before they were kept.
	Repeat *repeatRecord         `json:"repeat,omitempty"`
	Stops  map[string]stopRecord `json:"stops,omitempty"`
	// Profiling is how the run's trials were profiled; absent when they
	// were not.
	Profiling *benchrig.Profiling `json:"profiling,omitempty"`
}

// repeatRecord is the stored form of benchrig.Repeat.
type repeatRecord struct {
	Min       int     `json:"min"`
	Max       int     `json:"max"`
	UntilCI   float64 `json:"until_ci,omitempty"`
	MaxTimeNS int64   `json:"max_time_ns,omitempty"`
}

func toRepeatRecord(r benchrig.Repeat) *repeatRecord {
	if r == (benchrig.Repeat{}) {
		return nil
	}
	return &repeatRecord{Min: r.Min, Max: r.Max, UntilCI: r.UntilCI, MaxTimeNS: int64(r.MaxTime)}
}

func (r *repeatRecord) repeat() benchrig.Repeat {
	if r == nil {
		return benchrig.Repeat{}
	}
	return benchrig.Repeat{Min: r.Min, Max: r.Max, UntilCI: r.UntilCI, MaxTime: time.Duration(r.MaxTimeNS)}
}

// stopRecord is the stored form of benchrig.Stop; an unknown half-width
// (NaN, +Inf: JSON has neither) is null.
type stopRecord struct {
	Reason    benchrig.StopReason `json:"reason"`
	Trials    int                 `json:"trials"`
	HalfWidth *float64            `json:"half_width"`
}

func toStopRecord(s benchrig.Stop) stopRecord {
	r := stopRecord{Reason: s.Reason, Trials: s.Trials}
	if !math.IsNaN(s.HalfWidth) && !math.IsInf(s.HalfWidth, 0) {
		r.HalfWidth = &s.HalfWidth
	}
	return r
}

func (r stopRecord) stop() benchrig.Stop {
	s := benchrig.Stop{Reason: r.Reason, Trials: r.Trials, HalfWidth: math.Inf(1)}
	if r.HalfWidth != nil {
		s.HalfWidth = *r.HalfWidth
	}
	return s
}

func toStopRecords(m map[string]benchrig.Stop) map[string]stopRecord {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]stopRecord, len(m))
	for k, s := range m {
		out[k] = toStopRecord(s)
	}
	return out
}

// runCols receives the columns of runSelectCols.
type runCols struct {
	id, specName, specHash, specFile             string
	specSource                                   []byte
	overrides, status                            string
	started, finished                            sql.NullString
	fingerprint, cases, baselineID, notes, tp, u string
	scaling, caseMaps                            string
	heartbeat                                    sql.NullString
	labels, request                              string
	collection, by                               string
	gate                                         sql.NullString
}

func (c *runCols) dests() []any {
	return []any{&c.id, &c.specName, &c.specHash, &c.specFile, &c.specSource, &c.overrides, &c.status,
		&c.started, &c.finished, &c.fingerprint, &c.cases, &c.baselineID, &c.notes, &c.tp, &c.u, &c.scaling, &c.caseMaps,
		&c.heartbeat, &c.labels, &c.request, &c.collection, &c.by, &c.gate}
}

// decode fills run; its status is the effective one at now (see
// effectiveStatus).
func (c *runCols) decode(run *benchrig.Run, now time.Time) error {
	run.ID, run.SpecName, run.SpecHash, run.SpecFile = c.id, c.specName, c.specHash, c.specFile
	run.SpecSource = c.specSource
	run.Status = benchrig.RunStatus(c.status)
	run.BaselineID = c.baselineID
	run.ThroughputUnit = benchrig.ThroughputUnit(c.u)
	run.ScalingParam = c.scaling
	run.By = c.by
	var err error
	if run.Started, err = decodeTime(c.started); err != nil {
		return fmt.Errorf("run %s: started: %w", c.id, err)
	}
	if run.Finished, err = decodeTime(c.finished); err != nil {
		return fmt.Errorf("run %s: finished: %w", c.id, err)
	}
	if run.Heartbeat, err = decodeTime(c.heartbeat); err != nil {
		return fmt.Errorf("run %s: heartbeat: %w", c.id, err)
	}
	run.Status = effectiveStatus(run.Status, run.Heartbeat, now)
	if err := json.Unmarshal([]byte(c.labels), &run.Labels); err != nil {
		return fmt.Errorf("run %s: labels: %w", c.id, err)
	}
	if err := json.Unmarshal([]byte(c.collection), &run.Collection); err != nil {
		return fmt.Errorf("run %s: collection: %w", c.id, err)
	}
	if c.gate.Valid {
		run.Gate = &benchrig.GateResult{}
		if err := json.Unmarshal([]byte(c.gate.String), run.Gate); err != nil {
			return fmt.Errorf("run %s: gate: %w", c.id, err)
		}
	}
	if err := json.Unmarshal([]byte(c.request), &run.Request); err != nil {
		return fmt.Errorf("run %s: request: %w", c.id, err)
	}
	if err := json.Unmarshal([]byte(c.overrides), &run.Overrides); err != nil {
		return fmt.Errorf("run %s: overrides: %w", c.id, err)
	}
	if err := json.Unmarshal([]byte(c.fingerprint), &run.Fingerprint); err != nil {
		return fmt.Errorf("run %s: fingerprint: %w", c.id, err)
	}
	var cases []caseRecord
	if err := json.Unmarshal([]byte(c.cases), &cases); err != nil {
		return fmt.Errorf("run %s: cases: %w", c.id, err)
	}
	run.Cases = fromCaseRecords(cases)
	if err := json.Unmarshal([]byte(c.notes), &run.Notes); err != nil {
		return fmt.Errorf("run %s: notes: %w", c.id, err)
	}
	if run.Throughput, err = decodeFloats(c.tp); err != nil {
		return fmt.Errorf("run %s: throughput: %w", c.id, err)
	}
	var maps caseMaps
	if err := json.Unmarshal([]byte(c.caseMaps), &maps); err != nil {
		return fmt.Errorf("run %s: case maps: %w", c.id, err)
	}
	run.Baselines, run.Ceilings, run.Skipped, run.Files = maps.Baselines, maps.Ceilings, maps.Skipped, maps.Files
	run.Placements, run.Nodes, run.NodeEvents = maps.Placements, maps.Nodes, maps.NodeEvents
	run.Repeat = maps.Repeat.repeat()
	run.Profiling = maps.Profiling
	for id, s := range maps.Stops {
		if run.Stops == nil {
			run.Stops = make(map[string]benchrig.Stop, len(maps.Stops))
		}
		run.Stops[id] = s.stop()
	}
	if len(maps.Bytes) > 0 {
		if run.ThroughputBytes, err = decodeFloats(string(maps.Bytes)); err != nil {
			return fmt.Errorf("run %s: throughput bytes: %w", c.id, err)
		}
	}
	return nil
}

// caseRecord is the stored form of a benchrig.Case, with its own JSON names
// so that renaming a Go field does not silently drop stored data.
type caseRecord struct {
	ID     string     `json:"id"`
	Index  int        `json:"index"`
	Params []kvRecord `json:"params"`
}

type kvRecord struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// toCaseRecords and fromCaseRecords keep nil and empty apart, so a run reads
// back exactly as it was written.
func toCaseRecords(cases []benchrig.Case) []caseRecord {
	if cases == nil {
		return nil
	}
	out := make([]caseRecord, len(cases))
	for i, c := range cases {
		out[i] = caseRecord{ID: c.ID, Index: c.Index}
		if c.Params != nil {
			out[i].Params = make([]kvRecord, len(c.Params))
			for j, kv := range c.Params {
				out[i].Params[j] = kvRecord(kv)
			}
		}
	}
	return out
}

func fromCaseRecords(recs []caseRecord) []benchrig.Case {
	if recs == nil {
		return nil
	}
	out := make([]benchrig.Case, len(recs))
	for i, r := range recs {
		out[i] = benchrig.Case{ID: r.ID, Index: r.Index}
		if r.Params != nil {
			out[i].Params = make([]benchrig.KV, len(r.Params))
			for j, kv := range r.Params {
				out[i].Params[j] = benchrig.KV(kv)
			}
		}
	}
	return out
}

// timeLayout is RFC 3339 with all nine fractional digits, so stored times
// sort as text.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// encodeTime stores t in UTC; the zero time is NULL.
func encodeTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

func decodeTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s.String)
}

// encodeFloats encodes a map of floats as a JSON object. JSON has no NaN or
// infinities, and a sampler may well produce them (a rate over zero time), so
// those are stored as the strings "NaN", "+Inf" and "-Inf" rather than lost
// or refused. Finite values use Go's shortest exact form, so they read back
// bit for bit. A nil map is "null".
func encodeFloats(m map[string]float64) (string, error) {
	if m == nil {
		return "null", nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			out[k] = strconv.FormatFloat(v, 'g', -1, 64)
		} else {
			out[k] = v
		}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func decodeFloats(s string) (map[string]float64, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, nil
	}
	out := make(map[string]float64, len(raw))
	for k, r := range raw {
		text := string(r)
		if strings.HasPrefix(text, `"`) {
			if err := json.Unmarshal(r, &text); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// isConstraint reports whether err is the SQLite constraint failure code
// (an extended result code such as SQLITE_CONSTRAINT_UNIQUE).
func isConstraint(err error, code int) bool {
	return sqliteCode(err) == code
}
