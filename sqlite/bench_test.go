package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// The read benchmarks run against one store of benchRuns runs with
// benchTrialsPerRun trials each (a million trials) and benchEventsPerRun
// events each. Building it takes a while, so it is built once per benchmark
// process and cached under os.TempDir, named by schema version (and a hash
// of the migrations) and benchData; a later `go test -bench` reuses the file. Delete it (or bump
// benchData after changing the generator) to rebuild.
const (
	benchRuns          = 10000
	benchCases         = 5
	benchReps          = 20 // per case, the first benchWarmups of them warmups
	benchWarmups       = 2
	benchTrialsPerRun  = benchCases * benchReps
	benchEventsPerRun  = 20
	benchSpecs         = 20
	benchData          = 1 // the generator's version
	benchTargetMS      = 10.0
	benchStartInterval = 3 * time.Minute
)

var (
	benchBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// benchNow is the benchmark store's clock: just after the last run
	// started, so the last runs are running and a few older ones stale.
	benchNow = benchBase.Add(benchRuns*benchStartInterval + time.Minute)

	benchOnce sync.Once
	benchPath string
	benchErr  error
)

// benchStore opens the cached benchmark store, building it first if needed.
func benchStore(b *testing.B) *DB {
	b.Helper()
	benchOnce.Do(func() {
		// The schema's text is in the name too: a migration edited before
		// its release must not reuse a store built with the old one.
		h := fnv.New32a()
		for _, m := range migrations {
			h.Write([]byte(m))
		}
		benchPath = filepath.Join(os.TempDir(), fmt.Sprintf("benchrig-sqlite-bench-v%d-%08x-d%d.db", len(migrations), h.Sum32(), benchData))
		if _, err := os.Stat(benchPath); err == nil {
			fmt.Fprintf(os.Stderr, "reusing benchmark store %s (delete it to rebuild)\n", benchPath)
			return
		}
		start := time.Now()
		benchErr = buildBenchStore(benchPath)
		if benchErr == nil {
			fmt.Fprintf(os.Stderr, "built benchmark store %s in %s; later runs reuse it\n", benchPath, time.Since(start).Round(time.Millisecond))
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	db, err := Open(context.Background(), benchPath)
	if err != nil {
		b.Fatal(err)
	}
	db.now = func() time.Time { return benchNow }
	b.Cleanup(func() { db.Close() })
	return db
}

// benchRun is run i of the benchmark store. Every tenth run starts at the
// same instant as the one before (a tie for keyset paging); every other
// run is local (amd64), the rest ran on pool lab (lab1 amd64, lab2 arm64)
// or on one node of pool edge (arm64).
func benchRun(i int) *benchrig.Run {
	started := benchBase.Add(time.Duration(i) * benchStartInterval)
	if i%10 == 9 {
		started = started.Add(-benchStartInterval)
	}
	r := &benchrig.Run{
		ID:        fmt.Sprintf("%s-%05d", started.Format("20060102-1504"), i),
		SpecName:  fmt.Sprintf("spec-%02d", i%benchSpecs),
		SpecHash:  "9f86d081884c7d65",
		SpecFile:  "specs/bench.yaml",
		Overrides: []string{"--repeat", "18"},
		Status:    benchrig.RunFinished,
		Started:   started,
		Finished:  started.Add(2 * time.Minute),
		Fingerprint: benchrig.Fingerprint{Hostname: "bench1", OS: "linux", Kernel: "6.1.0", Arch: "amd64", CPUModel: "EPYC 7B13",
			CPUs: 2, MemoryBytes: 8 << 30, Version: "0.1.0-dev", GoVersion: "go1.26", Executor: "local"},
		Labels:  map[string]string{"branch": "main"},
		Request: &benchrig.RunRequest{SpecFile: "specs/bench.yaml", Repeat: 18, Dir: "/src"},
	}
	for c := range benchCases {
		r.Cases = append(r.Cases, benchrig.Case{ID: fmt.Sprintf("n=%d", c+1), Index: c, Params: []benchrig.KV{{Name: "n", Value: fmt.Sprint(c + 1)}}})
	}
	r.BaselineID = r.Cases[0].ID
	r.SpecSource = []byte(fmt.Sprintf("name: %s\ncommand: [sleep, '{{.n}}']\nparams:\n  n: [1, 2, 3, 4, 5]\n", r.SpecName))
	switch {
	case i%50 == 0:
		r.Status = benchrig.RunFailed
	case i%97 == 0:
		r.Status = benchrig.RunCancelled
	case i%211 == 0 || i >= benchRuns-3:
		// Stale, except the last three, which are still running.
		r.Status, r.Finished, r.Heartbeat = benchrig.RunRunning, time.Time{}, started.Add(30*time.Second)
		if i >= benchRuns-3 {
			r.Heartbeat = benchNow.Add(-time.Second)
		}
	}
	if i%5 == 0 {
		r.Labels["branch"] = fmt.Sprintf("feat-%d", i%37)
	}
	if i%3 == 0 {
		r.Labels["ci"] = "nightly"
	}
	switch i % 4 {
	case 1:
		r.Fingerprint.Executor = "docker"
		r.Nodes = []benchrig.NodeFacts{{Name: "lab1", Pool: "lab", Arch: "amd64"}, {Name: "lab2", Pool: "lab", Arch: "arm64"}}
	case 3:
		r.Fingerprint.Executor = "docker"
		r.Nodes = []benchrig.NodeFacts{{Name: fmt.Sprintf("edge%d", i%8), Pool: "edge", Arch: "arm64"}}
	}
	if r.Nodes != nil {
		r.Placements = map[string]benchrig.CasePlacement{}
		for j, c := range r.Cases {
			n := r.Nodes[j%len(r.Nodes)]
			r.Placements[c.ID] = benchrig.CasePlacement{Node: n.Name, Arch: n.Arch, Image: "busybox"}
		}
	}
	return r
}

// buildBenchStore writes the benchmark store to path through a temporary
// file, in one transaction with synchronous=OFF: durability does not matter
// while loading, and a half-built file is never left under path.
func buildBenchStore(path string) error {
	ctx := context.Background()
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	os.Remove(tmp)
	d, err := open(ctx, tmp, "OFF")
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := loadBenchStore(ctx, d); err != nil {
		d.Close()
		return fmt.Errorf("build benchmark store: %w", err)
	}
	if err := d.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func loadBenchStore(ctx context.Context, d *DB) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `PRAGMA cache_size = -262144`); err != nil { // 256 MiB while loading
		return err
	}
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = tx.PrepareContext(ctx, q)
		return s
	}
	runStmt := prep(`INSERT INTO runs (` + runInsertCols + `) VALUES (` + placeholders(21) + `)`)
	nodeStmt := prep(`INSERT INTO run_nodes (run_id, node, arch, pool) VALUES (?, ?, ?, ?)`)
	labelStmt := prep(`INSERT INTO run_labels (run_id, key, value) VALUES (?, ?, ?)`)
	trialStmt := prep(`INSERT INTO trials (run_id, seq, case_id, idx, warmup, node, start, wall_ns, user_ns, sys_ns, max_rss,
		exit_code, stdout_bytes, stderr_bytes, stderr_tail, error, source, metrics, attempt, outcome) VALUES (` + placeholders(20) + `)`)
	eventStmt := prep(`INSERT INTO events (run_id, seq, time, kind, trial_case, trial_rep, trial_attempt, case_id, node, warmup,
		outcome, duration_ns, msg, done, total) VALUES (` + placeholders(15) + `)`)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range benchRuns {
		r := benchRun(i)
		cols, err := runColumns(r, r.Heartbeat)
		if err != nil {
			return err
		}
		if _, err := runStmt.ExecContext(ctx, cols...); err != nil {
			return err
		}
		nodes := r.Nodes
		if nodes == nil {
			nodes = []benchrig.NodeFacts{{Name: "local", Arch: r.Fingerprint.Arch}}
		}
		for _, n := range nodes {
			if _, err := nodeStmt.ExecContext(ctx, r.ID, n.Name, n.Arch, n.Pool); err != nil {
				return err
			}
		}
		for _, k := range benchrig.SortedKeys(r.Labels) {
			if _, err := labelStmt.ExecContext(ctx, r.ID, k, r.Labels[k]); err != nil {
				return err
			}
		}
		// Interleaved rounds: seq runs over reps, then cases.
		for seq := range benchTrialsPerRun {
			c, rep := seq%benchCases, seq/benchCases
			node := nodes[c%len(nodes)].Name
			wall := time.Duration(c+1)*10*time.Millisecond + time.Duration(rng.IntN(1_000_000))
			outcome, exit, errText := benchrig.OutcomeOK, 0, ""
			if rng.IntN(50) == 0 || (r.Status == benchrig.RunFailed && seq == benchTrialsPerRun-1) {
				outcome, exit, errText = benchrig.OutcomeFailed, 1, ""
			}
			if _, err := trialStmt.ExecContext(ctx, r.ID, seq, r.Cases[c].ID, rep, rep < benchWarmups, node,
				encodeTime(r.Started.Add(time.Duration(seq)*time.Second)), int64(wall), int64(wall*9/10), int64(wall/20), 4<<20,
				exit, 128, 0, "", errText, "cgroup-v2", `{"io_read_bytes":4096,"pids_peak":3}`, 0, outcome.String()); err != nil {
				return err
			}
		}
		for seq := 1; seq <= benchEventsPerRun; seq++ {
			kind, c := benchrig.EventTrialFinished, (seq-1)%benchCases
			var tcase, outcome any = r.Cases[c].ID, benchrig.OutcomeOK.String()
			if seq == 1 {
				kind, tcase, outcome = benchrig.EventRunStarted, nil, nil
			}
			if _, err := eventStmt.ExecContext(ctx, r.ID, seq, encodeTime(r.Started.Add(time.Duration(seq)*time.Second)), kind.String(),
				tcase, seq/benchCases, 0, r.Cases[c].ID, nodes[0].Name, false, outcome, int64(10*time.Millisecond), "", seq-1, benchTrialsPerRun); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// report adds ms/op and logs the verdict against the 10 ms target.
func report(b *testing.B) {
	ms := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1e6
	b.ReportMetric(ms, "ms/op")
	verdict := "PASS"
	if ms >= benchTargetMS {
		verdict = "FAIL"
	}
	b.Logf("verdict %s: %s %.3f ms/op = %.3f x the %.0f ms target", b.Name(), verdict, ms, ms/benchTargetMS, benchTargetMS)
}

func BenchmarkListRunsPage(b *testing.B) {
	db := benchStore(b)
	ctx := context.Background()
	// The cursor of page 100 (runs 4950 to 4999 from the newest): a deep
	// page costs what the first does.
	var deep string
	for range 100 {
		p, err := db.ListRuns(ctx, benchrig.RunFilter{Limit: 50, Cursor: deep})
		if err != nil {
			b.Fatal(err)
		}
		deep = p.Next
	}
	for _, tc := range []struct {
		name   string
		cursor string
	}{{"first", ""}, {"page100", deep}} {
		b.Run(tc.name, func(b *testing.B) {
			benchListRuns(b, db, benchrig.RunFilter{Limit: 50, Cursor: tc.cursor}, 50)
		})
	}
}

// benchListRuns measures a page of f, which must hold at least want runs.
func benchListRuns(b *testing.B, db *DB, f benchrig.RunFilter, want int) {
	for b.Loop() {
		p, err := db.ListRuns(context.Background(), f)
		if err != nil || len(p.Runs) < want {
			b.Fatalf("%d runs, %v; want %d or more", len(p.Runs), err, want)
		}
	}
	report(b)
}

func BenchmarkListRunsFiltered(b *testing.B) {
	db := benchStore(b)
	for _, tc := range []struct {
		name string
		f    benchrig.RunFilter
	}{
		{"spec", benchrig.RunFilter{Spec: "spec-07"}},
		{"status=failed", benchrig.RunFilter{Status: []benchrig.RunStatus{benchrig.RunFailed}}},
		{"status=interrupted", benchrig.RunFilter{Status: []benchrig.RunStatus{benchrig.RunInterrupted}}},
		{"node=edge3", benchrig.RunFilter{Node: "edge3"}},
		{"arch=arm64", benchrig.RunFilter{Arch: "arm64"}},
		{"label=branch:feat-7", benchrig.RunFilter{Labels: map[string]string{"branch": "feat-7"}}},
		{"spec+finished+label+since", benchrig.RunFilter{Spec: "spec-07", Status: []benchrig.RunStatus{benchrig.RunFinished},
			Labels: map[string]string{"ci": "nightly"}, Since: benchBase.Add(100 * time.Hour)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tc.f.Limit = 50
			benchListRuns(b, db, tc.f, 1)
		})
	}
}

func BenchmarkLatestFinished(b *testing.B) {
	db := benchStore(b)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		q    benchrig.BaselineQuery
	}{
		{"spec", benchrig.BaselineQuery{Spec: "spec-07"}},
		{"spec+pool+arch+before+exclude", benchrig.BaselineQuery{Spec: "spec-07", Pool: "edge", Arch: "arm64",
			Before: benchBase.Add(300 * time.Hour), Exclude: benchRun(5987).ID}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := db.LatestFinished(ctx, tc.q); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
	}
}

func BenchmarkCaseHistory(b *testing.B) {
	db := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		h, err := db.CaseHistory(ctx, "spec-07", "n=3", 50)
		if err != nil || len(h) != 50 || h[0].Measured == 0 {
			b.Fatalf("%d points, %v", len(h), err)
		}
	}
	report(b)
}

func BenchmarkGetRunEvents(b *testing.B) {
	db := benchStore(b)
	ctx := context.Background()
	id := benchRun(benchRuns / 2).ID
	for b.Loop() {
		ev, err := db.Events(ctx, id, 0)
		if err != nil || len(ev) != benchEventsPerRun {
			b.Fatalf("%d events, %v", len(ev), err)
		}
	}
	report(b)
}
