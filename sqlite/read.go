package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/benchrig/benchrig"
)

var _ benchrig.RunReader = (*DB)(nil)

// summaryCols are a run's columns, its trial counts and its sort keys, for
// scanSummaries. The counts are correlated subqueries rather than a join
// and GROUP BY: they run only for the runs on the page, each a range of
// the small trials_counts index, where the join would count every trial in
// the store before limiting.
const summaryCols = runSelectCols + `,
	(SELECT count(*) FROM trials t WHERE t.run_id = r.id),
	(SELECT count(*) FROM trials t WHERE t.run_id = r.id AND t.outcome != 'ok'),
	(SELECT count(*) FROM trials t WHERE t.run_id = r.id AND t.warmup = 1),
	` + sortKey + `, r.n`

// pageKey is where a page of runs ends: the last run's sort key and
// insertion number. Next cursors are its JSON in base64url, opaque to
// callers.
type pageKey struct {
	Started string `json:"s"`
	N       int64  `json:"n"`
}

func (k pageKey) cursor() string {
	b, _ := json.Marshal(k) // two plain fields: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseCursor(s string) (pageKey, error) {
	var k pageKey
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &k)
	}
	if err == nil && k.N <= 0 {
		err = errors.New("no run number")
	}
	if err != nil {
		return pageKey{}, &benchrig.Error{Code: benchrig.EInvalid, Field: "cursor",
			Msg: fmt.Sprintf("malformed page cursor %q (pass back a Next of a previous page)", s), Err: err}
	}
	return k, nil
}

// scanSummaries reads rows of summaryCols; keys gets each row's pageKey.
func scanSummaries(rows *sql.Rows, now time.Time) (out []benchrig.RunSummary, keys []pageKey, err error) {
	defer rows.Close()
	for rows.Next() {
		var s benchrig.RunSummary
		var rc runCols
		var k pageKey
		if err := rows.Scan(append(rc.dests(), &s.TrialCount, &s.FailedCount, &s.WarmupCount, &k.Started, &k.N)...); err != nil {
			return nil, nil, err
		}
		if err := rc.decode(&s.Run, now); err != nil {
			return nil, nil, err
		}
		out = append(out, s)
		keys = append(keys, k)
	}
	return out, keys, rows.Err()
}

// conds collects the terms of a WHERE clause and their arguments.
type conds struct {
	terms []string
	args  []any
}

func (c *conds) add(term string, args ...any) {
	c.terms = append(c.terms, term)
	c.args = append(c.args, args...)
}

func (c *conds) where() string {
	if len(c.terms) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.terms, " AND ")
}

// A run-set filter (a node, an architecture, a pool, a label) is spelled
// one of two ways, and the better one depends on how many runs have the
// value and how many runs the query walks in order:
//
//   - as a set: the IDs of the runs with the value, built once from an index
//     of run_nodes or run_labels, then a cheap membership test for each run
//     walked. The unary + keeps SQLite from driving the query by the set
//     (fetching every run in it, then sorting them all). It suits a rare
//     value: a label of 1 run in 185 found its page of 50 in about 5 ms this
//     way, against 19 ms probing every run walked.
//   - as a probe: an EXISTS search of the primary key (run_id, ...) for each
//     run walked. It suits a common value (an arch of half the runs: a page
//     is found after a walk of about 100, where its set would hold
//     thousands) and a short walk (the runs of one spec, the baseline query).
//
// ListRuns counts up to setMax rows of each value to choose; see
// BenchmarkListRunsFiltered.
type runSet struct {
	from  string // the table and its alias
	match string // the value's condition, on its index
}

func (s runSet) set() string {
	return `+r.id IN (SELECT ` + s.alias() + `.run_id FROM ` + s.from + ` WHERE ` + s.match + `)`
}

func (s runSet) probe() string {
	return `EXISTS (SELECT 1 FROM ` + s.from + ` WHERE ` + s.alias() + `.run_id = r.id AND ` + s.match + `)`
}

// count counts the rows of the value, up to its last parameter.
func (s runSet) count() string {
	return `SELECT count(*) FROM (SELECT 1 FROM ` + s.from + ` WHERE ` + s.match + ` LIMIT ?)`
}

func (s runSet) alias() string { return s.from[strings.LastIndexByte(s.from, ' ')+1:] }

var (
	usedNode = runSet{"run_nodes rn", "rn.node = ?"}
	usedArch = runSet{"run_nodes rn", "rn.arch = ?"}
	usedPool = runSet{"run_nodes rn", "rn.pool = ?"}
	hasLabel = runSet{"run_labels l", "l.key = ? AND l.value = ?"}
)

// setMax is the number of runs with a value at and above which ListRuns
// probes for it rather than building its set. Counting up to it costs at
// most setMax index entries; a value that common is met every
// runs/setMax runs (20 in a store of 10,000), so a page of 50 probes at
// most about 1,000 runs.
const setMax = 500

// spelling picks a runSet's spelling for a query, given its arguments.
type spelling func(s runSet, args ...any) (string, error)

// counted is the spelling of ListRuns: probe within one spec's runs (a
// short walk), else set or probe by how common the value is.
func (d *DB) counted(ctx context.Context, f benchrig.RunFilter) spelling {
	return func(s runSet, args ...any) (string, error) {
		if f.Spec != "" {
			return s.probe(), nil
		}
		var n int
		if err := d.db.QueryRowContext(ctx, s.count(), append(args, setMax)...).Scan(&n); err != nil {
			return "", err
		}
		if n >= setMax {
			return s.probe(), nil
		}
		return s.set(), nil
	}
}

const (
	hasStatus = `r.status IN (%s)`
)

// addStatuses selects runs whose effective status is one of statuses. The
// stored status narrows the search through runs_status; a running run's
// heartbeat then decides between running and interrupted.
func (c *conds) addStatuses(statuses []benchrig.RunStatus, now time.Time) error {
	want := map[benchrig.RunStatus]bool{}
	for _, s := range statuses {
		if !slices.Contains(benchrig.RunStatuses, s) {
			return &benchrig.Error{Code: benchrig.EInvalid, Field: "status", Msg: fmt.Sprintf("unknown run status %q", s)}
		}
		want[s] = true
	}
	var stored []any
	for _, s := range benchrig.RunStatuses {
		if want[s] || (s == benchrig.RunRunning && want[benchrig.RunInterrupted]) {
			stored = append(stored, string(s))
		}
	}
	term := fmt.Sprintf(hasStatus, placeholders(len(stored)))
	switch run, intr := want[benchrig.RunRunning], want[benchrig.RunInterrupted]; {
	case run && !intr:
		c.add(term+` AND (r.status != 'running' OR NOT `+staleCond+`)`, append(stored, staleBefore(now))...)
	case intr && !run:
		c.add(term+` AND (r.status != 'running' OR `+staleCond+`)`, append(stored, staleBefore(now))...)
	default:
		c.add(term, stored...)
	}
	return nil
}

// ListRuns returns one page of the runs f selects, newest (by start time)
// first, without their trials. Runs that started at the same instant come
// newest-recorded first, and a page's Next continues after its last run
// whatever was recorded meanwhile. A malformed cursor or an unknown status
// is EInvalid.
func (d *DB) ListRuns(ctx context.Context, f benchrig.RunFilter) (benchrig.RunPage, error) {
	now := d.now()
	query, args, limit, err := listQuery(f, now, d.counted(ctx, f))
	if err != nil {
		return benchrig.RunPage{}, fmt.Errorf("list runs: %w", err)
	}
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return benchrig.RunPage{}, fmt.Errorf("list runs: %w", err)
	}
	runs, keys, err := scanSummaries(rows, now)
	if err != nil {
		return benchrig.RunPage{}, fmt.Errorf("list runs: %w", err)
	}
	page := benchrig.RunPage{Runs: runs}
	if len(runs) > limit {
		page.Runs = runs[:limit]
		page.Next = keys[limit-1].cursor()
	}
	return page, nil
}

// listQuery is ListRuns' statement for f at now. It asks for one run more
// than the page holds (limit), to know whether there is a next page.
func listQuery(f benchrig.RunFilter, now time.Time, spell spelling) (query string, args []any, limit int, err error) {
	limit = f.Limit
	if limit <= 0 {
		limit = 50
	}
	var c conds
	if f.Spec != "" {
		c.add(`r.spec_name = ?`, f.Spec)
	}
	if len(f.Status) > 0 {
		if err := c.addStatuses(f.Status, now); err != nil {
			return "", nil, 0, err
		}
	}
	addSet := func(s runSet, args ...any) error {
		term, err := spell(s, args...)
		if err != nil {
			return err
		}
		c.add(term, args...)
		return nil
	}
	if f.Node != "" {
		if err := addSet(usedNode, f.Node); err != nil {
			return "", nil, 0, err
		}
	}
	if f.Arch != "" {
		if err := addSet(usedArch, f.Arch); err != nil {
			return "", nil, 0, err
		}
	}
	for _, k := range benchrig.SortedKeys(f.Labels) {
		if err := addSet(hasLabel, k, f.Labels[k]); err != nil {
			return "", nil, 0, err
		}
	}
	if !f.Since.IsZero() {
		c.add(sortKey+` >= ?`, encodeTime(f.Since))
	}
	if !f.Until.IsZero() {
		// > '': a run with no start time did not start before anything.
		c.add(sortKey+` > '' AND `+sortKey+` < ?`, encodeTime(f.Until))
	}
	if f.Cursor != "" {
		k, err := parseCursor(f.Cursor)
		if err != nil {
			return "", nil, 0, err
		}
		// Not the row value (sortKey, r.n) < (?, ?): SQLite searches an
		// expression index by it only in this spelling.
		c.add(sortKey+` <= ? AND NOT (`+sortKey+` = ? AND r.n >= ?)`, k.Started, k.Started, k.N)
	}
	return `SELECT ` + summaryCols + ` FROM runs r` + c.where() + ` ORDER BY ` + newestFirst + ` LIMIT ?`,
		append(c.args, limit+1), limit, nil
}

// LatestFinished returns the latest run of q.Spec whose status is
// finished (every trial ran, none failed) and that carries all of
// q.Labels, without its trials: the baseline a new run is compared
// against. A confirmation run (label benchrig.LabelConfirms) is never
// returned: it holds only the cases it re-ran. An empty Spec is EInvalid; no
// such run is ENotFound.
func (d *DB) LatestFinished(ctx context.Context, q benchrig.BaselineQuery) (*benchrig.RunSummary, error) {
	if q.Spec == "" {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, Field: "spec", Msg: "latest finished run: no spec named"}
	}
	now := d.now()
	query, args := latestQuery(q, now)
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("latest finished run of %s: %w", q.Spec, err)
	}
	runs, _, err := scanSummaries(rows, now)
	if err != nil {
		return nil, fmt.Errorf("latest finished run of %s: %w", q.Spec, err)
	}
	if len(runs) == 0 {
		what := "spec " + q.Spec
		if q.Pool != "" {
			what += " on pool " + q.Pool
		}
		if q.Arch != "" {
			what += " on " + q.Arch
		}
		if !q.Before.IsZero() {
			what += " before " + q.Before.UTC().Format(time.RFC3339)
		}
		if len(q.Labels) > 0 {
			var kv []string
			for _, k := range benchrig.SortedKeys(q.Labels) {
				kv = append(kv, k+"="+q.Labels[k])
			}
			what += " labelled " + strings.Join(kv, ",")
		}
		if q.Exclude != "" {
			what += " other than " + q.Exclude
		}
		return nil, benchrig.Errorf(benchrig.ENotFound, "no finished run of %s", what)
	}
	return &runs[0], nil
}

// latestQuery is LatestFinished's statement for q at now.
func latestQuery(q benchrig.BaselineQuery, now time.Time) (string, []any) {
	before := q.Before
	if before.IsZero() {
		before = now
	}
	var c conds
	c.add(`r.spec_name = ?`, q.Spec)
	c.add(sortKey+` > '' AND `+sortKey+` < ?`, encodeTime(before))
	c.add(`r.status = 'finished'`)
	// The walk is the spec's runs, newest first, until a finished one
	// matches: a short one, so probe.
	if q.Pool != "" {
		c.add(usedPool.probe(), q.Pool)
	}
	if q.Arch != "" {
		c.add(usedArch.probe(), q.Arch)
	}
	if q.Exclude != "" {
		c.add(`r.id != ?`, q.Exclude)
	}
	for _, k := range benchrig.SortedKeys(q.Labels) {
		c.add(hasLabel.probe(), k, q.Labels[k])
	}
	// A confirmation run re-ran only a run's suspected cases: never a
	// baseline.
	c.add(`NOT EXISTS (SELECT 1 FROM run_labels l WHERE l.run_id = r.id AND l.key = ?)`, benchrig.LabelConfirms)
	return `SELECT ` + summaryCols + ` FROM runs r` + c.where() + ` ORDER BY ` + newestFirst + ` LIMIT 1`, c.args
}

// CaseHistory returns, newest first, at most limit (<= 0: 50) of the runs
// of spec that recorded a trial of caseID, each with its measured
// (non-warmup) trials of the case: how many succeeded, how many failed,
// the median wall time of the successful ones, and the node most of them
// ran on. The median is computed here from the page's rows: SQLite has
// none. An empty spec or case is EInvalid.
func (d *DB) CaseHistory(ctx context.Context, spec, caseID string, limit int) ([]benchrig.CasePoint, error) {
	if spec == "" || caseID == "" {
		return nil, benchrig.Errorf(benchrig.EInvalid, "case history: want a spec and a case, got %q and %q", spec, caseID)
	}
	if limit <= 0 {
		limit = 50
	}
	now := d.now()
	rows, err := d.db.QueryContext(ctx, caseHistoryQuery, spec, caseID, limit)
	if err != nil {
		return nil, fmt.Errorf("case history of %s %s: %w", spec, caseID, err)
	}
	defer rows.Close()
	var (
		out   []benchrig.CasePoint
		walls [][]time.Duration
		nodes []map[string]int
	)
	for rows.Next() {
		var (
			id, status    string
			started, hb   sql.NullString
			node, outcome sql.NullString
			wall          sql.NullInt64
		)
		if err := rows.Scan(&id, &started, &status, &hb, &node, &outcome, &wall); err != nil {
			return nil, fmt.Errorf("case history of %s %s: %w", spec, caseID, err)
		}
		if len(out) == 0 || out[len(out)-1].RunID != id {
			start, err := decodeTime(started)
			if err != nil {
				return nil, fmt.Errorf("case history of %s %s: run %s: started: %w", spec, caseID, id, err)
			}
			heartbeat, err := decodeTime(hb)
			if err != nil {
				return nil, fmt.Errorf("case history of %s %s: run %s: heartbeat: %w", spec, caseID, id, err)
			}
			out = append(out, benchrig.CasePoint{RunID: id, Started: start, CaseID: caseID,
				Status: effectiveStatus(benchrig.RunStatus(status), heartbeat, now)})
			walls = append(walls, nil)
			nodes = append(nodes, map[string]int{})
		}
		if !outcome.Valid {
			continue // no measured trial
		}
		i := len(out) - 1
		nodes[i][node.String]++
		if outcome.String == benchrig.OutcomeOK.String() {
			out[i].Measured++
			walls[i] = append(walls[i], time.Duration(wall.Int64))
		} else {
			out[i].Failed++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("case history of %s %s: %w", spec, caseID, err)
	}
	for i := range out {
		out[i].Median = median(walls[i])
		out[i].Node = mostCommon(nodes[i])
	}
	return out, nil
}

// caseHistoryQuery selects the page of runs first (LIMIT counts runs),
// then their measured trials of the case through trials_rep; LEFT JOIN
// keeps a run whose trials of the case were all warmups. Parameters: spec,
// case, limit.
const caseHistoryQuery = `WITH page AS (
		SELECT r.id, r.n, r.started, r.status, r.heartbeat, ` + sortKey + ` AS sk FROM runs r
		WHERE r.spec_name = ?1 AND EXISTS (SELECT 1 FROM trials t WHERE t.run_id = r.id AND t.case_id = ?2)
		ORDER BY ` + newestFirst + ` LIMIT ?3)
	SELECT p.id, p.started, p.status, p.heartbeat, t.node, t.outcome, t.wall_ns
	FROM page p LEFT JOIN trials t ON t.run_id = p.id AND t.case_id = ?2 AND t.warmup = 0 AND t.profile_only = 0
	ORDER BY p.sk DESC, p.n DESC`

// median of ds (sorted in place); the mean of the middle two for an even
// count, 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	m := len(ds) / 2
	if len(ds)%2 == 1 {
		return ds[m]
	}
	return ds[m-1] + (ds[m]-ds[m-1])/2
}

// mostCommon is the key with the highest count, the first in order on a
// tie, so the answer does not depend on map order.
func mostCommon(counts map[string]int) string {
	best, bestN := "", 0
	for k, n := range counts {
		if n > bestN || (n == bestN && k < best) {
			best, bestN = k, n
		}
	}
	return best
}

// InterruptStale marks every running run whose heartbeat is missing or
// older than HeartbeatStale at now as interrupted, for good, and returns
// them, so the caller can remove what their dead processes left (their
// containers: Nodes, Request and Labels are decoded). A run keeps its last
// heartbeat, which says when its process was last alive; reads before and
// after InterruptStale see the same run.
func (d *DB) InterruptStale(ctx context.Context, now time.Time) ([]benchrig.RunSummary, error) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("interrupt stale runs: %w", err)
	}
	defer tx.Rollback()
	stale := staleBefore(now)
	rows, err := tx.QueryContext(ctx, `SELECT `+summaryCols+` FROM runs r WHERE r.status = 'running' AND `+staleCond+
		` ORDER BY `+newestFirst, stale)
	if err != nil {
		return nil, fmt.Errorf("interrupt stale runs: %w", err)
	}
	runs, _, err := scanSummaries(rows, now)
	if err != nil {
		return nil, fmt.Errorf("interrupt stale runs: %w", err)
	}
	if len(runs) == 0 {
		return nil, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE runs AS r SET status = 'interrupted' WHERE r.status = 'running' AND `+staleCond, stale); err != nil {
		return nil, fmt.Errorf("interrupt stale runs: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("interrupt stale runs: %w", err)
	}
	return runs, nil
}
