// Package sqlite owns benchrig's embedded run store: one SQLite file (via the
// pure-Go modernc.org/sqlite driver) holding every run, its cases, notes,
// fingerprint, nodes and labels, every trial with all its raw measurements
// and its outcome, and every run's event log. It implements runner.Recorder
// for the runner and benchrig.RunReader (ListRuns, GetRun, Events,
// LatestFinished, CaseHistory) for the CLI and the web UI.
//
// Durability: the file is in WAL mode with synchronous=FULL, so AddTrial
// returns only after the trial's commit has been fsynced; a crash (of the
// process or of the machine) loses at most the trial in flight.
//
// Interrupted runs: a running run carries a heartbeat that its process
// renews (Heartbeat) at least every benchrig.HeartbeatEvery. A process that
// dies mid-run stops renewing it and never calls FinishRun, so its run stays
// in the store with status "running", Finished zero, and every trial that was
// recorded before the crash. Once its heartbeat is older than
// benchrig.HeartbeatStale (or it has none, as runs from before heartbeats),
// every read reports it as interrupted: ListRuns and its status filter,
// GetRun, LatestFinished and CaseHistory alike. InterruptStale writes that
// status for good, and ReopenRun makes an interrupted or cancelled run
// running again for runs resume. The clock that judges staleness is the DB's
// now, which tests replace.
//
// Schema: see migrations. The schema version is kept in PRAGMA user_version
// and the file is marked as benchrig's with PRAGMA application_id.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// applicationID marks a SQLite file as a benchrig run store ("brig"), so that
// Open refuses to add tables to somebody else's database.
const applicationID = 0x62726967

// busyTimeoutMS is how long a statement waits for another process's write
// lock (e.g. `benchrig gc` deleting runs while `benchrig run` records) before
// failing with SQLITE_BUSY. A trial insert holds the lock for one fsync, a
// few milliseconds, so 10 s only runs out when something is badly stuck.
const busyTimeoutMS = 10000

// migrations brings the schema from version i to i+1. Each entry runs in its
// own transaction together with the bump of PRAGMA user_version, so a failed
// migration leaves the previous version intact. Append only: never edit an
// entry that has been released.
//
// Times are TEXT in a fixed-width RFC 3339 form in UTC with nanoseconds
// ("2006-01-02T15:04:05.000000000Z"): readable in the sqlite3 shell, exact,
// and sortable as text. NULL is the zero time. Durations are INTEGER
// nanoseconds. Maps and lists are JSON text; "null" is a nil map or list.
var migrations = []string{
	// 1: runs and trials.
	`CREATE TABLE runs (
		n               INTEGER PRIMARY KEY, -- insertion order, a stable tie-breaker
		id              TEXT NOT NULL UNIQUE,
		spec_name       TEXT NOT NULL,
		spec_hash       TEXT NOT NULL,
		spec_file       TEXT NOT NULL,
		spec_source     BLOB,
		overrides       TEXT NOT NULL, -- JSON array of strings
		status          TEXT NOT NULL,
		started         TEXT,          -- NULL when zero
		finished        TEXT,          -- NULL while running
		fingerprint     TEXT NOT NULL, -- JSON benchrig.Fingerprint
		cases           TEXT NOT NULL, -- JSON array of {id, index, params: [{name, value}]}
		baseline_id     TEXT NOT NULL,
		notes           TEXT NOT NULL, -- JSON object case ID -> note
		throughput      TEXT NOT NULL, -- JSON object case ID -> amount (non-finite as strings)
		throughput_unit TEXT NOT NULL,
		scaling_param   TEXT NOT NULL DEFAULT '' -- param whose values are parallelism levels
	);
	CREATE INDEX runs_started ON runs (started);
	CREATE TABLE trials (
		run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
		seq          INTEGER NOT NULL,
		case_id      TEXT NOT NULL,
		idx          INTEGER NOT NULL,
		warmup       INTEGER NOT NULL,
		node         TEXT NOT NULL,
		start        TEXT,
		wall_ns      INTEGER NOT NULL,
		user_ns      INTEGER NOT NULL,
		sys_ns       INTEGER NOT NULL,
		max_rss      INTEGER NOT NULL,
		exit_code    INTEGER NOT NULL,
		stdout_bytes INTEGER NOT NULL,
		stderr_bytes INTEGER NOT NULL,
		stderr_tail  TEXT NOT NULL,
		error        TEXT NOT NULL,
		source       TEXT NOT NULL,
		metrics      TEXT NOT NULL, -- JSON object name -> value (non-finite as strings)
		PRIMARY KEY (run_id, seq)
	) WITHOUT ROWID;`,
	// 2: per-case maps of a run (group baselines, ceilings, skipped cases,
	// file counts), as one JSON object: see caseMaps.
	`ALTER TABLE runs ADD COLUMN case_maps TEXT NOT NULL DEFAULT '{}';`,
	// 3: the run lifecycle. Trials get their attempt and outcome (the
	// outcome of an older row is read back from its exit code and error,
	// the way benchrig.ClassifyMeasurement and the runner decided it), and
	// a repetition may be recorded once only. Runs get a heartbeat (NULL:
	// none, a running run without one reads as interrupted), the
	// submitter's labels and the request that started them. run_nodes and
	// run_labels repeat a run's nodes and labels as rows, so the list
	// filters and the baseline query are index searches, not JSON scans.
	// events is the run's event log. Every read orders runs by
	// ifnull(started, ''), so a zero start (NULL) sorts last and one index
	// serves ordering and keyset paging alike; it replaces runs_started.
	`ALTER TABLE trials ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE trials ADD COLUMN outcome TEXT NOT NULL DEFAULT 'ok';
	UPDATE trials SET outcome = CASE
			WHEN error = 'cancelled' THEN 'cancelled'
			WHEN error = 'timeout' THEN 'timeout'
			WHEN error LIKE 'node-lost%' THEN 'node-lost'
			WHEN error LIKE '%executor: %' THEN 'executor-error'
			ELSE 'failed'
		END
		WHERE exit_code != 0 OR error != '';
	-- A store written before the unique index may hold a repetition twice
	-- (a trial in flight when its node was lost, recorded on both nodes).
	-- Its later copies keep their measurements under new repetition numbers
	-- after the case's last, rather than being dropped or failing the
	-- migration.
	UPDATE trials SET idx = d.new_idx FROM (
			SELECT x.run_id, x.seq, m.max_idx + row_number() OVER (PARTITION BY x.run_id, x.case_id ORDER BY x.seq) AS new_idx
			FROM (SELECT run_id, seq, case_id, row_number() OVER (PARTITION BY run_id, case_id, idx ORDER BY seq) AS k FROM trials) x
			JOIN (SELECT run_id, case_id, max(idx) AS max_idx FROM trials GROUP BY run_id, case_id) m USING (run_id, case_id)
			WHERE x.k > 1
		) d
		WHERE trials.run_id = d.run_id AND trials.seq = d.seq;
	CREATE UNIQUE INDEX trials_rep ON trials (run_id, case_id, idx);
	-- ListRuns' counts read this small covering index, not whole trial rows.
	CREATE INDEX trials_counts ON trials (run_id, warmup, outcome);

	ALTER TABLE runs ADD COLUMN heartbeat TEXT;                    -- NULL when none
	ALTER TABLE runs ADD COLUMN labels TEXT NOT NULL DEFAULT 'null';  -- JSON object
	ALTER TABLE runs ADD COLUMN request TEXT NOT NULL DEFAULT 'null'; -- JSON benchrig.RunRequest
	-- n and id in the run indexes: the filters' EXISTS probes (by run id)
	-- and the cursor (by n) are answered from the index, and only the runs
	-- on the page are read from the table.
	DROP INDEX runs_started;
	CREATE INDEX runs_sort ON runs (ifnull(started, ''), n, id);
	CREATE INDEX runs_spec ON runs (spec_name, ifnull(started, ''), n, id);
	CREATE INDEX runs_status ON runs (status, ifnull(started, ''), n, id, heartbeat);

	CREATE TABLE run_nodes (
		run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
		node   TEXT NOT NULL,
		arch   TEXT NOT NULL,
		pool   TEXT NOT NULL, -- '' for a local run
		PRIMARY KEY (run_id, node)
	) WITHOUT ROWID;
	CREATE INDEX run_nodes_node ON run_nodes (node);
	CREATE INDEX run_nodes_arch ON run_nodes (arch);
	CREATE INDEX run_nodes_pool ON run_nodes (pool);
	INSERT OR IGNORE INTO run_nodes (run_id, node, arch, pool)
		SELECT r.id, json_extract(j.value, '$.name'), ifnull(json_extract(j.value, '$.arch'), ''), ifnull(json_extract(j.value, '$.pool'), '')
		FROM runs r, json_each(r.case_maps, '$.nodes') j;
	INSERT OR IGNORE INTO run_nodes (run_id, node, arch, pool)
		SELECT r.id, 'local', ifnull(json_extract(r.fingerprint, '$.arch'), ''), '' FROM runs r
		WHERE json_extract(r.case_maps, '$.nodes') IS NULL AND json_extract(r.case_maps, '$.placements') IS NULL;

	CREATE TABLE run_labels (
		run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
		key    TEXT NOT NULL,
		value  TEXT NOT NULL,
		PRIMARY KEY (run_id, key)
	) WITHOUT ROWID;
	CREATE INDEX run_labels_value ON run_labels (key, value);

	CREATE TABLE events (
		run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
		seq         INTEGER NOT NULL,
		time        TEXT,
		kind        TEXT NOT NULL,    -- benchrig.EventKind's String
		trial_case  TEXT,             -- with trial_rep and trial_attempt: the TrialRef; NULL without one
		trial_rep   INTEGER,
		trial_attempt INTEGER,
		case_id     TEXT NOT NULL,
		node        TEXT NOT NULL,
		warmup      INTEGER NOT NULL,
		outcome     TEXT,             -- benchrig.Outcome's String; NULL without one
		duration_ns INTEGER NOT NULL,
		msg         TEXT NOT NULL,
		done        INTEGER NOT NULL,
		total       INTEGER NOT NULL,
		PRIMARY KEY (run_id, seq)
	) WITHOUT ROWID;`,
	// 4: output checks. A trial keeps why the runner judged it as it did
	// (reason: an expect check that failed) and the digest of its stdout
	// when one was taken (lines, blank lines, SHA-256; NULL without one):
	// enough to see which cases agreed, without keeping the output.
	`ALTER TABLE trials ADD COLUMN reason TEXT NOT NULL DEFAULT '';
	ALTER TABLE trials ADD COLUMN stdout_lines INTEGER;
	ALTER TABLE trials ADD COLUMN stdout_blank_lines INTEGER;
	ALTER TABLE trials ADD COLUMN stdout_sha256 TEXT;`,
	// 5: the collector. samples holds what it sampled beside each run,
	// keyed by benchrig.Sample.ID so that a sample written twice (a retried
	// batch) is stored once (INSERT OR IGNORE); the sample itself is JSON,
	// the columns beside it are what reads select by. It has no foreign
	// key: a node collector may write a run's samples before its run is
	// recorded here, and a failed write would lose the whole batch;
	// DeleteRun removes them. A run keeps its Collection (what was
	// collected and what it cost; 'null' when nothing was) and a trial its
	// Noise (NULL without one).
	`CREATE TABLE samples (
		id            TEXT NOT NULL PRIMARY KEY, -- benchrig.Sample.ID
		run_id        TEXT NOT NULL,
		kind          TEXT NOT NULL,             -- benchrig.SampleKind's String
		node          TEXT NOT NULL,
		trial_case    TEXT,                      -- with trial_rep and trial_attempt: the TrialRef; NULL without one
		trial_rep     INTEGER,
		trial_attempt INTEGER,
		seq           INTEGER NOT NULL,
		final         INTEGER NOT NULL,
		time          TEXT,
		sample        TEXT NOT NULL              -- JSON benchrig.Sample
	) WITHOUT ROWID;
	CREATE INDEX samples_run ON samples (run_id, kind, time);
	ALTER TABLE runs ADD COLUMN collection TEXT NOT NULL DEFAULT 'null'; -- JSON benchrig.Collection
	ALTER TABLE trials ADD COLUMN noise TEXT;                             -- JSON benchrig.Noise; NULL without`,
	// 6: the server's queue. A submitted run is recorded with status
	// 'queued' (its started is when it was submitted) and who submitted it;
	// CreateRun then records the started run over its queued row. The
	// queue reads its queued runs, oldest first, through runs_status.
	`ALTER TABLE runs ADD COLUMN submitted_by TEXT NOT NULL DEFAULT '';`,
	// 7: schedules: the server's cron
	// schedules and their latest firings (see schedules.go). Next is not
	// stored: it is computed from the expression. checked is the latest
	// time a schedule accounted for, so that a server that was down can
	// record the times it missed. A schedule's firings go with it.
	`CREATE TABLE schedules (
		id         TEXT NOT NULL PRIMARY KEY,
		name       TEXT NOT NULL,
		cron       TEXT NOT NULL,
		time_zone  TEXT NOT NULL,  -- IANA name; '' is UTC
		enabled    INTEGER NOT NULL,
		spec       TEXT NOT NULL,  -- the spec's YAML
		sets       TEXT NOT NULL,  -- JSON array of strings
		labels     TEXT NOT NULL,  -- JSON object
		overlap    TEXT NOT NULL,  -- benchrig.ScheduleOverlap
		created    TEXT NOT NULL,
		created_by TEXT NOT NULL,
		last_run   TEXT NOT NULL DEFAULT '',
		last_time  TEXT,           -- NULL when it never submitted a run
		checked    TEXT            -- NULL: created
	) WITHOUT ROWID;
	CREATE TABLE schedule_firings (
		schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
		n           INTEGER NOT NULL, -- order of recording, per schedule
		time        TEXT NOT NULL,
		last        TEXT,             -- the last time of a collapsed entry; NULL for one
		count       INTEGER NOT NULL,
		run_id      TEXT NOT NULL,
		skipped     TEXT NOT NULL,
		error       TEXT NOT NULL,
		PRIMARY KEY (schedule_id, n)
	) WITHOUT ROWID;`,
	// 8: shares: the runs and
	// comparisons made public (web.ShareStore). what is a run ID or
	// "RUN_A..RUN_B"; key is 128 random bits, base64url. Unsharing deletes
	// the row, so a revoked key never works again, and sharing anew makes
	// a new key. No foreign key: what may name two runs; a share of a
	// deleted run leads nowhere (the page 404s when the run is gone).
	`CREATE TABLE shares (
		key     TEXT NOT NULL PRIMARY KEY,
		what    TEXT NOT NULL UNIQUE,
		created TEXT NOT NULL
	) WITHOUT ROWID;`,
	// 9: thinned samples. lvl is how many times 2 divides a sample's seq (its
	// trailing zero bits), 63 for a target's first and final samples: a
	// read that wants at most N samples of a run takes those with
	// lvl >= L for the smallest L that fits, every 2^L-th sample of each
	// target plus its ends, through the index alone. Counters are
	// cumulative, so rates between the samples kept are exact averages.
	`ALTER TABLE samples ADD COLUMN lvl INTEGER NOT NULL DEFAULT 0;
	UPDATE samples SET lvl = CASE
		WHEN final OR seq <= 1 THEN 63
		WHEN seq % 16777216 = 0 THEN 24
		WHEN seq % 8388608 = 0 THEN 23
		WHEN seq % 4194304 = 0 THEN 22
		WHEN seq % 2097152 = 0 THEN 21
		WHEN seq % 1048576 = 0 THEN 20
		WHEN seq % 524288 = 0 THEN 19
		WHEN seq % 262144 = 0 THEN 18
		WHEN seq % 131072 = 0 THEN 17
		WHEN seq % 65536 = 0 THEN 16
		WHEN seq % 32768 = 0 THEN 15
		WHEN seq % 16384 = 0 THEN 14
		WHEN seq % 8192 = 0 THEN 13
		WHEN seq % 4096 = 0 THEN 12
		WHEN seq % 2048 = 0 THEN 11
		WHEN seq % 1024 = 0 THEN 10
		WHEN seq % 512 = 0 THEN 9
		WHEN seq % 256 = 0 THEN 8
		WHEN seq % 128 = 0 THEN 7
		WHEN seq % 64 = 0 THEN 6
		WHEN seq % 32 = 0 THEN 5
		WHEN seq % 16 = 0 THEN 4
		WHEN seq % 8 = 0 THEN 3
		WHEN seq % 4 = 0 THEN 2
		WHEN seq % 2 = 0 THEN 1
		ELSE 0 END;
	CREATE INDEX samples_lvl ON samples (run_id, kind, lvl);`,
	// 10: the regression gate's verdict on a run (SetGate): JSON
	// benchrig.GateResult, NULL when the run was not gated (or not yet).
	`ALTER TABLE runs ADD COLUMN gate TEXT;`,
	// 11: profiling. A trial says whether perf sampled it (profiled) and
	// whether it ran only to be profiled (profile_only: an extra trial
	// after the measured ones, left out of statistics like a warmup), and
	// so do its events (events.profiled).
	// profiles holds the call stacks of each profiled trial, keyed by its
	// TrialRef (rep -1: a case's trials merged), as folded text
	// ("frame;frame;frame count" lines) compressed with gzip: a trial's
	// stacks are tens of KiB of highly repetitive text. How the run was
	// profiled (event, frequency) is in case_maps.
	`ALTER TABLE trials ADD COLUMN profile_only INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE trials ADD COLUMN profiled INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE events ADD COLUMN profiled INTEGER NOT NULL DEFAULT 0; -- an event of a profile_only trial
	CREATE TABLE profiles (
		run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
		case_id     TEXT NOT NULL,
		rep         INTEGER NOT NULL, -- the trial's TrialRef.Rep; -1 for a case's trials merged
		attempt     INTEGER NOT NULL,
		node        TEXT NOT NULL,
		event       TEXT NOT NULL,    -- the perf event sampled (cpu-clock)
		freq_hz     INTEGER NOT NULL,
		lost        INTEGER NOT NULL, -- samples perf reported lost
		duration_ns INTEGER NOT NULL, -- the wall time the profile covers
		samples     INTEGER NOT NULL, -- the stacks' total, readable without inflating them
		folded      BLOB NOT NULL,    -- gzip of folded stacks
		PRIMARY KEY (run_id, case_id, rep, attempt)
	) WITHOUT ROWID;`,
}

// DB is an open run store. It is safe for use by several goroutines, and
// several processes may open the same file.
type DB struct {
	db   *sql.DB
	path string

	// wmu serialises this process's writers. SQLite allows one writer at a
	// time anyway; queueing here instead of in SQLite's busy handler (which
	// sleeps and retries) keeps concurrent AddTrial calls fair and fast.
	// Other processes are still handled by busy_timeout.
	wmu sync.Mutex

	// now is the clock that decides whether a running run's heartbeat is
	// stale; tests set it instead of sleeping.
	now func() time.Time

	// readOnly is set when the store was opened read-only (see open).
	readOnly bool
}

// Open opens the run store at path, creating the file and its parent
// directories if needed and bringing the schema up to date. A path that
// cannot be used is a *benchrig.Error with Code EInvalid and File path.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, "FULL")
}

// open is Open with a choice of PRAGMA synchronous, so the benchmark can show
// what FULL costs. Everything but tests uses FULL.
func open(ctx context.Context, path, synchronous string) (*DB, error) {
	if path == "" {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, Msg: "run store path is empty"}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, pathError(path, "resolve run store path", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, pathError(path, "create run store directory", err)
	}
	fi, err := os.Stat(abs)
	if err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return nil, pathError(path, "run store path is a directory, not a file", nil)
		}
		return nil, pathError(path, "run store path is not a regular file", nil)
	}
	// A store this process cannot write (a read-only mount, another
	// user's file) opens read-only, so that the reading commands work;
	// the recording ones refuse it with CheckWritable.
	readOnly := err == nil && writable(path) != nil

	// A file: URI so that '?' or '#' in the path are not taken for the
	// start of the parameters. The driver runs the underscore parameters on
	// every new connection of the pool; SQLite ignores them.
	//
	// journal_mode is not here: it is persistent, and Open must first check
	// that the file is one it may change (see migrate).
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+synchronous+")")
	// BEGIN IMMEDIATE takes the write lock at the start of a transaction, so
	// read-then-write transactions (FinishRun, migrations) wait for it
	// through busy_timeout instead of failing with SQLITE_BUSY on upgrade.
	q.Set("_txlock", "immediate")
	if readOnly {
		q.Set("mode", "ro")
		q.Set("_txlock", "deferred") // BEGIN IMMEDIATE writes
		// A WAL database needs its -shm file, which SQLite cannot
		// create in a read-only directory. Without a -wal file (the last
		// writer closed cleanly, checkpointing it into the file) the
		// file is the whole store and no writer can be at work in that
		// directory, so it may be read as immutable, with no -shm.
		if _, err := os.Stat(abs + "-wal"); err != nil && access(filepath.Dir(abs)) != nil {
			q.Set("immutable", "1")
		}
	}
	dsn := "file://" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()

	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, pathError(path, "open run store", err)
	}
	d := &DB{db: sdb, path: path, now: time.Now, readOnly: readOnly}
	if err := d.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return d, nil
}

// Close closes the store. Everything AddTrial returned for is already durable.
func (d *DB) Close() error {
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("close run store %s: %w", d.path, err)
	}
	return nil
}

// CheckWritable returns a *benchrig.Error (Code EInvalid, File the path)
// when this process cannot write the store: the file, or the directory
// where SQLite keeps its -wal and -shm files beside it, is read-only (a
// read-only mount, or permissions). Commands that record call it right
// after Open, so that they stop before running anything instead of failing
// at their first write.
func (d *DB) CheckWritable() error {
	if err := writable(d.path); err != nil {
		return err
	}
	return nil
}

// writable is CheckWritable for a path.
func writable(path string) *benchrig.Error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return pathError(path, "resolve run store path", err)
	}
	check := []string{abs}
	if _, err := os.Stat(abs + "-wal"); err != nil {
		check = append(check, filepath.Dir(abs)) // SQLite must create the -wal and -shm files
	} else {
		check = append(check, abs+"-wal", abs+"-shm")
	}
	for _, p := range check {
		if err := access(p); err != nil && !os.IsNotExist(err) {
			return pathError(path, "run store is read-only (benchrig writes the file and its -wal and -shm files beside it; pick another with --store or $BENCHRIG_STORE)",
				&os.PathError{Op: "write", Path: p, Err: err})
		}
	}
	return nil
}

// Path returns the path the store was opened with.
func (d *DB) Path() string { return d.path }

// migrate checks that the file is a benchrig run store this version
// understands (or an empty file), switches it to WAL and applies pending
// migrations. A store from a newer benchrig is refused before anything is
// written to it.
func (d *DB) migrate(ctx context.Context) error {
	version, appID, tables, err := d.header(ctx)
	if err != nil {
		return d.openError(err)
	}
	switch {
	case version > len(migrations):
		return &benchrig.Error{Code: benchrig.EInvalid, File: d.path, Msg: fmt.Sprintf(
			"run store has schema version %d, newer than the %d this benchrig (%s) knows; use a newer benchrig or another store",
			version, len(migrations), benchrig.Version)}
	case appID != 0 && appID != applicationID:
		return &benchrig.Error{Code: benchrig.EInvalid, File: d.path, Msg: fmt.Sprintf(
			"not a benchrig run store (SQLite application_id %#x)", appID)}
	case appID == 0 && tables > 0:
		return &benchrig.Error{Code: benchrig.EInvalid, File: d.path, Msg: fmt.Sprintf(
			"not a benchrig run store (a SQLite database with %d tables of its own)", tables)}
	case d.readOnly && version == 0:
		return &benchrig.Error{Code: benchrig.EInvalid, File: d.path, Msg: "run store is read-only and empty: it holds no runs"}
	case d.readOnly && version < len(migrations):
		return &benchrig.Error{Code: benchrig.EInvalid, File: d.path, Msg: fmt.Sprintf(
			"run store is read-only and has schema version %d, older than the %d this benchrig (%s) reads; open it once where it is writable to upgrade it",
			version, len(migrations), benchrig.Version)}
	case d.readOnly:
		return nil
	}

	var mode string
	if err := d.db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return d.openError(err)
	}
	if mode != "wal" {
		// WAL needs shared memory between processes; some network file
		// systems lack it. Rollback journalling would still be correct but
		// readers would block the runner, so say so rather than degrade.
		return &benchrig.Error{Code: benchrig.EInvalid, File: d.path, Msg: fmt.Sprintf(
			"cannot put run store in WAL mode (journal mode stays %q); is it on a network file system?", mode)}
	}

	for version < len(migrations) {
		if err := d.step(ctx, version); err != nil {
			return d.openError(err)
		}
		// Another process may have migrated concurrently; step re-reads
		// the version inside its transaction and does nothing then.
		version, _, _, err = d.header(ctx)
		if err != nil {
			return d.openError(err)
		}
	}
	return nil
}

// header reads the schema version, the application ID and the number of
// tables. The first read of a file that is not a database fails here.
func (d *DB) header(ctx context.Context) (version, appID, tables int, err error) {
	if err := d.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, 0, 0, err
	}
	if err := d.db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return 0, 0, 0, err
	}
	if err := d.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'").Scan(&tables); err != nil {
		return 0, 0, 0, err
	}
	return version, appID, tables, nil
}

// step applies migration from (0-based: from -> from+1) in one transaction,
// unless another process got there first.
func (d *DB) step(ctx context.Context, from int) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v != from {
		return nil
	}
	if _, err := tx.ExecContext(ctx, migrations[from]); err != nil {
		return fmt.Errorf("migrate schema to version %d: %w", from+1, err)
	}
	// PRAGMA takes no bound parameters; both values are ours.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", from+1)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		return err
	}
	return tx.Commit()
}

// openError turns a failure while opening into the user-facing error naming
// the path, with the reason in words where SQLite's code tells it.
func (d *DB) openError(err error) error {
	var be *benchrig.Error
	if errors.As(err, &be) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := "cannot open run store"
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_NOTADB:
		msg = "not a benchrig run store (the file is not a SQLite database)"
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN:
		// A read-only mount makes opening a WAL store fail (it cannot
		// make the -shm file): say that rather than SQLite's words.
		if werr := writable(d.path); werr != nil {
			return werr
		}
		msg = "run store is not writable"
		if sqliteCode(err)&0xff == sqlite3.SQLITE_CANTOPEN {
			msg = "cannot open or create run store file"
		}
	}
	return pathError(d.path, msg, err)
}

func pathError(path, msg string, err error) *benchrig.Error {
	return &benchrig.Error{Code: benchrig.EInvalid, File: path, Msg: msg, Err: err}
}

// sqliteCode returns the extended SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var e interface{ Code() int }
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}
