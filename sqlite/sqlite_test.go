package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
)

var _ runner.Recorder = (*DB)(nil)

func openTest(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nested", "runs.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	db.now = func() time.Time { return testNow }
	return db, path
}

// testNow is the clock of openTest's stores: a run created running gets
// it as its heartbeat, and stays running until a test moves the clock.
var testNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// rawQuery reads one value from the file behind the store's back.
func rawQuery(t *testing.T, path, query string, dest any) {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.QueryRow(query).Scan(dest); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

var zone = time.FixedZone("CEST", 2*3600)

// sampleRun has several cases, notes, throughput and a fingerprint; its
// times are in a non-UTC zone and carry a monotonic reading, which the store
// does not keep (see normalized).
func sampleRun(id string, started time.Time) *benchrig.Run {
	return &benchrig.Run{
		ID:         id,
		SpecName:   "sort",
		SpecHash:   "9f86d081884c7d65",
		SpecFile:   "specs/sort.yaml",
		SpecSource: []byte("name: sort\ncommand: [sort, '{{.size}}']\n"),
		Overrides:  []string{"--set", "size=1k,1m", "--repeat", "5"},
		Status:     benchrig.RunRunning,
		Started:    started,
		Fingerprint: benchrig.Fingerprint{
			Hostname: "bench1", OS: "linux", Kernel: "6.1.0", Arch: "amd64", CPUModel: "EPYC 7B13",
			CPUs: 2, MemoryBytes: 8 << 30, Version: "0.1.0-dev", GoVersion: "go1.26", SpecHash: "9f86d081884c7d65",
			GitCommit: "abc123", GitDirty: true, CgroupMode: "hybrid", Executor: "local",
		},
		Cases:           benchrig.Matrix([]benchrig.Param{{Name: "size", Values: []string{"1k", "1m"}}, {Name: "algo", Values: []string{"quick", "merge"}}}),
		BaselineID:      "size=1k,algo=quick",
		Notes:           map[string]string{"size=1k,algo=quick": "stopped at CI 1.2%"},
		Repeat:          benchrig.Repeat{Min: 3, Max: 10, UntilCI: 0.02, MaxTime: time.Minute},
		Stops:           map[string]benchrig.Stop{"size=1k,algo=quick": {Reason: benchrig.StopCIMet, Trials: 5, HalfWidth: 0.012}},
		Throughput:      map[string]float64{"size=1k,algo=quick": 1024, "size=1m,algo=merge": 1.048576e6, "size=1k,algo=merge": 0.1 + 0.2},
		ThroughputUnit:  benchrig.Bytes,
		ScalingParam:    "n",
		Baselines:       map[string]string{"size=1k,algo=quick": "size=1k,algo=quick", "size=1m,algo=quick": "size=1k,algo=quick"},
		Ceilings:        map[string]string{"size=1k,algo=merge": "size=1k,algo=quick"},
		Skipped:         map[string]string{"size=1m,algo=merge": "required program mergesort not found"},
		Files:           map[string]int{"size=1k,algo=quick": 12},
		ThroughputBytes: map[string]float64{"size=1k,algo=quick": 5e6},
		Labels:          map[string]string{"branch": "main", "ci": "nightly"},
		Request:         &benchrig.RunRequest{SpecFile: "specs/sort.yaml", Sets: []string{"size=1k,1m"}, Repeat: 5, Dir: "/src"},
	}
}

func sampleTrials(run *benchrig.Run, n int) []benchrig.Trial {
	var out []benchrig.Trial
	for i := range n {
		c := run.Cases[i%len(run.Cases)]
		tr := benchrig.Trial{
			RunID: run.ID, CaseID: c.ID, Seq: i, Index: i / len(run.Cases), Warmup: i < len(run.Cases), Node: "local",
			// One warmup per case: numbered as the runner numbers it,
			// and as the store derives it back.
			Number: benchrig.TrialNumber(i/len(run.Cases), 1),
			Measurement: benchrig.Measurement{
				Start:       run.Started.Add(time.Duration(i)*time.Second + 123456789),
				Wall:        time.Duration(1_000_000_007 + i),
				User:        time.Duration(900_000_001 * i),
				Sys:         time.Duration(i) * time.Microsecond,
				MaxRSS:      int64(1<<40 + i),
				ExitCode:    0,
				StdoutBytes: int64(i) * 100,
				StderrBytes: 0,
				Source:      "cgroup-v1",
				Metrics:     map[string]float64{"io_read_bytes": float64(i) * 4096, "cpu_throttled_ns": 0, "ratio": 1.0 / 3},
			},
		}
		out = append(out, tr)
	}
	// A failed trial with every failure field, and one with zero values
	// everywhere a zero is legal (nil Metrics, zero Start, empty strings).
	out[n-2].ExitCode = -1
	out[n-2].Error = "timeout"
	out[n-2].StderrTail = "panic: boom\n\x00binary\xfftail ünïcode"
	out[n-2].StderrBytes = 1 << 20
	out[n-2].Metrics = map[string]float64{}
	out[n-2].Outcome = benchrig.OutcomeTimeout
	out[n-2].Attempt = 1
	// Index n: a repetition no other trial of the case has.
	out[n-1] = benchrig.Trial{RunID: run.ID, CaseID: run.Cases[0].ID, Seq: n - 1, Index: n, Number: n}
	// The runner always decides an outcome; the store keeps it as given.
	// One trial also carries a reason and a stdout digest.
	for i := range out {
		out[i].Outcome = out[i].Result()
	}
	out[1].Stdout = &benchrig.OutputDigest{Bytes: out[1].StdoutBytes, Lines: 3, BlankLines: 1, SHA256: "ab12"}
	out[2].Outcome, out[2].Reason = benchrig.OutcomeWrongOutput, "stdout has 1 blank line(s) of 3 (expect.stdout.nonempty)"
	return out
}

// normalized is what the store gives back for r: times in UTC without a
// monotonic reading, and a running run's heartbeat from the store's clock.
func normalized(r benchrig.Run, trials []benchrig.Trial) *benchrig.Run {
	if r.Status == benchrig.RunRunning && r.Heartbeat.IsZero() {
		r.Heartbeat = testNow
	}
	r.Started = r.Started.UTC()
	r.Finished = r.Finished.UTC()
	r.Trials = nil
	for _, tr := range trials {
		tr.Start = tr.Start.UTC()
		r.Trials = append(r.Trials, tr)
	}
	return &r
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	started := time.Date(2025, 3, 14, 15, 9, 26, 535897932, zone)
	tests := []struct {
		name    string
		run     *benchrig.Run
		trials  int
		finish  bool
		batched bool // AddTrials, not AddTrial
	}{
		{name: "several cases and trials", run: sampleRun("r-full", started), trials: 11},
		{name: "trials added in one batch", run: sampleRun("r-batch", started), trials: 11, batched: true},
		{name: "finished", run: sampleRun("r-fin", started), trials: 6, finish: true},
		{name: "zero values", run: &benchrig.Run{ID: "r-zero"}},
		{name: "empty non-nil collections", run: &benchrig.Run{
			ID: "r-empty", Overrides: []string{}, Cases: []benchrig.Case{{ID: "default", Params: []benchrig.KV{}}},
			Notes: map[string]string{}, Throughput: map[string]float64{}, Started: time.Now(),
		}},
	}
	db, _ := openTest(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := db.CreateRun(ctx, tc.run); err != nil {
				t.Fatal(err)
			}
			var trials []benchrig.Trial
			if tc.trials > 0 {
				trials = sampleTrials(tc.run, tc.trials)
			}
			for i := range trials {
				if tc.batched {
					break
				}
				if err := db.AddTrial(ctx, &trials[i]); err != nil {
					t.Fatal(err)
				}
			}
			if tc.batched {
				if err := db.AddTrials(ctx, trials); err != nil {
					t.Fatal(err)
				}
			}
			want := normalized(*tc.run, trials)
			if tc.finish {
				fin := started.Add(time.Hour)
				if err := db.FinishRun(ctx, tc.run.ID, benchrig.RunFailed, fin, map[string]string{"size=1m,algo=merge": "1 of 3 failed"}); err != nil {
					t.Fatal(err)
				}
				want.Status = benchrig.RunFailed
				want.Finished = fin.UTC()
				want.Heartbeat = time.Time{} // cleared: no process runs it
				want.Notes = map[string]string{"size=1k,algo=quick": "stopped at CI 1.2%", "size=1m,algo=merge": "1 of 3 failed"}
			}
			got, err := db.GetRun(ctx, tc.run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("GetRun differs from what was recorded\n got: %+v\nwant: %+v", got, want)
				if len(got.Trials) == len(want.Trials) {
					for i := range got.Trials {
						if !reflect.DeepEqual(got.Trials[i], want.Trials[i]) {
							t.Errorf("trial %d\n got: %+v\nwant: %+v", i, got.Trials[i], want.Trials[i])
						}
					}
				}
			}
			if !got.Started.Equal(tc.run.Started) {
				t.Errorf("Started = %v, want the same instant as %v", got.Started, tc.run.Started)
			}
		})
	}
}

func TestNonFiniteFloats(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	run := &benchrig.Run{ID: "nan", Throughput: map[string]float64{"a": math.Inf(1)}}
	if err := db.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	tr := benchrig.Trial{RunID: "nan", Measurement: benchrig.Measurement{Metrics: map[string]float64{
		"nan": math.NaN(), "pinf": math.Inf(1), "ninf": math.Inf(-1), "tiny": math.SmallestNonzeroFloat64, "max": math.MaxFloat64,
	}}}
	if err := db.AddTrial(ctx, &tr); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetRun(ctx, "nan")
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Throughput["a"]; !math.IsInf(v, 1) {
		t.Errorf("throughput = %v, want +Inf", v)
	}
	m := got.Trials[0].Metrics
	if !math.IsNaN(m["nan"]) || !math.IsInf(m["pinf"], 1) || !math.IsInf(m["ninf"], -1) ||
		m["tiny"] != math.SmallestNonzeroFloat64 || m["max"] != math.MaxFloat64 || len(m) != 5 {
		t.Errorf("metrics = %v", m)
	}
}

func TestListRuns(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// Created out of start order; "c" and "d" start at the same instant,
	// so insertion order breaks the tie (d was created later).
	runs := []struct {
		id                 string
		started            time.Time
		trials, fail, warm int
	}{
		{"b", base.Add(2 * time.Hour), 5, 1, 2},
		{"a", base.Add(1 * time.Hour), 0, 0, 0},
		{"c", base.Add(3 * time.Hour), 3, 0, 1},
		{"d", base.Add(3 * time.Hour), 4, 2, 0},
		{"z", time.Time{}, 1, 1, 1}, // zero start sorts last
	}
	for _, r := range runs {
		run := sampleRun(r.id, r.started)
		if err := db.CreateRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		for i := range r.trials {
			tr := benchrig.Trial{RunID: r.id, Seq: i, Index: i, Warmup: i < r.warm}
			if i >= r.trials-r.fail {
				if i%2 == 0 {
					tr.ExitCode = 2
				} else {
					// Failed by Error alone: the count must not
					// look at the exit code only.
					tr.Error = "cancelled"
				}
			}
			if err := db.AddTrial(ctx, &tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name  string
		limit int
		want  []string
	}{
		{"zero is the default page", 0, []string{"d", "c", "b", "a", "z"}},
		{"negative is the default page", -1, []string{"d", "c", "b", "a", "z"}},
		{"limit", 2, []string{"d", "c"}},
		{"limit above count", 10, []string{"d", "c", "b", "a", "z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.ListRuns(ctx, benchrig.RunFilter{Limit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range got.Runs {
				ids = append(ids, s.ID)
				for _, r := range runs {
					if r.id != s.ID {
						continue
					}
					if s.TrialCount != r.trials || s.FailedCount != r.fail || s.WarmupCount != r.warm {
						t.Errorf("%s: trials/failed/warmups = %d/%d/%d, want %d/%d/%d", s.ID, s.TrialCount, s.FailedCount, s.WarmupCount, r.trials, r.fail, r.warm)
					}
					if s.Run.Trials != nil {
						t.Errorf("%s: summary carries %d trials", s.ID, len(s.Run.Trials))
					}
					if s.SpecName != "sort" || len(s.Cases) != 4 || s.Fingerprint.Hostname != "bench1" || !s.Started.Equal(r.started) {
						t.Errorf("%s: summary fields not loaded: %+v", s.ID, s.Run)
					}
				}
			}
			if !reflect.DeepEqual(ids, tc.want) {
				t.Errorf("ids = %v, want %v", ids, tc.want)
			}
		})
	}
}

func TestListRunsEmpty(t *testing.T) {
	db, _ := openTest(t)
	got, err := db.ListRuns(context.Background(), benchrig.RunFilter{Limit: 10})
	if err != nil || len(got.Runs) != 0 || got.Next != "" {
		t.Fatalf("ListRuns on empty store = %v, %v", got, err)
	}
}

func TestGetRunRef(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range []string{"20250101-aa11", "20250101-aa22", "20250102-bb", "20250102-bb33", "20250103-cc"} {
		if err := db.CreateRun(ctx, &benchrig.Run{ID: id, Started: base.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		ref    string
		want   string
		code   benchrig.Code
		errHas []string
	}{
		{ref: "20250101-aa22", want: "20250101-aa22"},
		{ref: "20250101-aa1", want: "20250101-aa11"},
		{ref: "20250103", want: "20250103-cc"},
		{ref: "20250102-bb", want: "20250102-bb"}, // exact ID wins over the longer ID it prefixes
		{ref: "20250102-bb3", want: "20250102-bb33"},
		{ref: "latest", want: "20250103-cc"},
		{ref: "last", want: "20250103-cc"},
		{ref: "latest~0", want: "20250103-cc"},
		{ref: "latest~1", want: "20250102-bb33"},
		{ref: "last~4", want: "20250101-aa11"},
		{ref: "latest~5", code: benchrig.ENotFound, errHas: []string{"latest~5", "5 runs"}},
		{ref: "20250101-aa", code: benchrig.EInvalid, errHas: []string{"ambiguous", "20250101-aa11", "20250101-aa22"}},
		{ref: "2025", code: benchrig.EInvalid, errHas: []string{"ambiguous", "20250103-cc", "20250101-aa11"}},
		{ref: "nope", code: benchrig.ENotFound, errHas: []string{"run nope not found", "the store has 5 runs: benchrig runs list"}},
		{ref: "cc", want: "20250103-cc"},     // any unique part of an ID
		{ref: "bb33", want: "20250102-bb33"}, // the part people notice
		{ref: "-aa", code: benchrig.EInvalid, errHas: []string{"run reference -aa is ambiguous", "20250101-aa22", "20250101-aa11"}},
		{ref: "bb34", code: benchrig.ENotFound, errHas: []string{"run bb34 not found; closest: 20250102-bb33"}},
		{ref: "%", code: benchrig.ENotFound, errHas: []string{"%"}},
		{ref: "latest~x", code: benchrig.EInvalid, errHas: []string{"latest~x"}},
		{ref: "latest~-1", code: benchrig.EInvalid, errHas: []string{"latest~-1"}},
		{ref: "", code: benchrig.EInvalid, errHas: []string{"empty run reference"}},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			got, err := db.GetRun(ctx, tc.ref)
			if tc.code != "" {
				if err == nil {
					t.Fatalf("GetRun(%q) = %s, want error %s", tc.ref, got.ID, tc.code)
				}
				if c := benchrig.ErrorCode(err); c != tc.code {
					t.Errorf("code = %s, want %s (%v)", c, tc.code, err)
				}
				for _, s := range tc.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tc.want {
				t.Errorf("GetRun(%q) = %s, want %s", tc.ref, got.ID, tc.want)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	if err := db.CreateRun(ctx, &benchrig.Run{ID: "r1"}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddTrial(ctx, &benchrig.Trial{RunID: "r1", Seq: 0}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		op     func() error
		code   benchrig.Code
		errHas string
	}{
		{"duplicate run", func() error { return db.CreateRun(ctx, &benchrig.Run{ID: "r1"}) }, benchrig.EInvalid, "already recorded"},
		{"empty run ID", func() error { return db.CreateRun(ctx, &benchrig.Run{}) }, benchrig.EInvalid, "empty run ID"},
		{"trial of unknown run", func() error { return db.AddTrial(ctx, &benchrig.Trial{RunID: "ghost"}) }, benchrig.ENotFound, "run ghost not found"},
		{"duplicate trial seq", func() error { return db.AddTrial(ctx, &benchrig.Trial{RunID: "r1", Seq: 0}) }, benchrig.EInvalid, "already recorded"},
		{"batch with a duplicate stores none", func() error {
			return db.AddTrials(ctx, []benchrig.Trial{{RunID: "r1", Seq: 1, Index: 1}, {RunID: "r1", Seq: 0, Index: 2}})
		}, benchrig.EInvalid, "add trial 0 of run r1: a trial with this seq is already recorded"},
		{"finish unknown run", func() error { return db.FinishRun(ctx, "ghost", benchrig.RunFinished, time.Now(), nil) }, benchrig.ENotFound, "ghost"},
		{"delete unknown run", func() error { return db.DeleteRun(ctx, "ghost") }, benchrig.ENotFound, "ghost"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op()
			if c := benchrig.ErrorCode(err); c != tc.code {
				t.Fatalf("code = %q, want %s (err %v)", c, tc.code, err)
			}
			if !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("error %q does not mention %q", err, tc.errHas)
			}
		})
	}
	// The failed writes changed nothing.
	var n int
	rawQuery(t, path, "SELECT count(*) FROM trials", &n)
	if n != 1 {
		t.Errorf("trials in store = %d, want 1", n)
	}
}

func TestFinishRunMergesNotes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		start map[string]string
		add   map[string]string
		want  map[string]string
	}{
		{"merge and replace", map[string]string{"a": "1", "b": "2"}, map[string]string{"b": "3", "c": "4"}, map[string]string{"a": "1", "b": "3", "c": "4"}},
		{"into nil", nil, map[string]string{"c": "4"}, map[string]string{"c": "4"}},
		{"nothing to add keeps nil", nil, nil, nil},
		{"nothing to add keeps notes", map[string]string{"a": "1"}, map[string]string{}, map[string]string{"a": "1"}},
	}
	db, _ := openTest(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprint("run", i)
			if err := db.CreateRun(ctx, &benchrig.Run{ID: id, Status: benchrig.RunRunning, Notes: tc.start}); err != nil {
				t.Fatal(err)
			}
			fin := time.Date(2025, 5, 5, 5, 5, 5, 5, time.UTC)
			if err := db.FinishRun(ctx, id, benchrig.RunCancelled, fin, tc.add); err != nil {
				t.Fatal(err)
			}
			got, err := db.GetRun(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Notes, tc.want) || got.Status != benchrig.RunCancelled || !got.Finished.Equal(fin) {
				t.Errorf("notes, status, finished = %v, %s, %v; want %v, cancelled, %v", got.Notes, got.Status, got.Finished, tc.want, fin)
			}
		})
	}
}

func TestDeleteRun(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	for _, id := range []string{"keep", "drop"} {
		run := sampleRun(id, time.Now())
		if err := db.CreateRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		for _, tr := range sampleTrials(run, 5) {
			if err := db.AddTrial(ctx, &tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.AddEvents(ctx, []benchrig.Event{{Run: "drop", Seq: 1, Kind: benchrig.EventRunStarted}}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteRun(ctx, "drop"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"events", "run_nodes", "run_labels"} {
		var n int
		rawQuery(t, path, "SELECT count(*) FROM "+table+" WHERE run_id = 'drop'", &n)
		if n != 0 {
			t.Errorf("%d rows of the deleted run remain in %s", n, table)
		}
	}
	if _, err := db.GetRun(ctx, "drop"); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("GetRun(drop) after delete: %v, want not found", err)
	}
	var n int
	rawQuery(t, path, "SELECT count(*) FROM trials WHERE run_id = 'drop'", &n)
	if n != 0 {
		t.Errorf("%d trials of the deleted run remain", n)
	}
	got, err := db.GetRun(ctx, "keep")
	if err != nil || len(got.Trials) != 5 {
		t.Errorf("GetRun(keep) = %d trials, %v; want 5", len(got.Trials), err)
	}
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
	}{
		{"new file", func(*testing.T, string) {}},
		{"empty existing file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "runs.db")
			tc.prepare(t, path)
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.CreateRun(ctx, &benchrig.Run{ID: "kept"}); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			check := func() {
				t.Helper()
				var v, app int
				var mode string
				rawQuery(t, path, "PRAGMA user_version", &v)
				rawQuery(t, path, "PRAGMA application_id", &app)
				rawQuery(t, path, "PRAGMA journal_mode", &mode)
				if v != len(migrations) || app != applicationID || mode != "wal" {
					t.Errorf("user_version, application_id, journal_mode = %d, %#x, %s; want %d, %#x, wal", v, app, mode, len(migrations), applicationID)
				}
			}
			check()
			// Reopening applies nothing and keeps the data.
			for range 2 {
				db, err = Open(ctx, path)
				if err != nil {
					t.Fatalf("reopen: %v", err)
				}
				if _, err := db.GetRun(ctx, "kept"); err != nil {
					t.Errorf("after reopen: %v", err)
				}
				db.Close()
				check()
			}
		})
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	newer := len(migrations) + 1
	// A newer benchrig might also have switched the journal mode; the old
	// one must not switch it back.
	for _, q := range []string{fmt.Sprintf("PRAGMA user_version = %d", newer), "PRAGMA journal_mode = DELETE"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	_, err = Open(ctx, path)
	var be *benchrig.Error
	if !errors.As(err, &be) || be.Code != benchrig.EInvalid || be.File != path {
		t.Fatalf("Open of a newer store: %#v, want *benchrig.Error EInvalid for %s", err, path)
	}
	if !strings.Contains(be.Msg, "newer") || !strings.Contains(be.Msg, strconv.Itoa(newer)) {
		t.Errorf("message %q does not say the store is newer (version %d)", be.Msg, newer)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("Open modified a store it refused")
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open left a WAL file beside a store it refused: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, bytes.Repeat([]byte("this is not a database\n"), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.db")
	raw, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("CREATE TABLE customers (id INTEGER)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	tests := []struct {
		name   string
		path   string
		msgHas string
	}{
		{"parent is a regular file", filepath.Join(regular, "sub", "db.sqlite"), "create run store directory"},
		{"path is a directory", dir, "is a directory"},
		{"not a database", text, "not a SQLite database"},
		{"another program's database", foreign, "not a benchrig run store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(ctx, tc.path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s) succeeded", tc.path)
			}
			var be *benchrig.Error
			if !errors.As(err, &be) || be.Code != benchrig.EInvalid || be.File != tc.path {
				t.Fatalf("Open(%s) = %#v, want *benchrig.Error EInvalid naming the path", tc.path, err)
			}
			if !strings.Contains(err.Error(), tc.msgHas) || !strings.HasPrefix(err.Error(), tc.path+": ") {
				t.Errorf("error %q should start with the path and mention %q", err, tc.msgHas)
			}
		})
	}
	if b, _ := os.ReadFile(text); !bytes.HasPrefix(b, []byte("this is not")) {
		t.Error("Open changed a file that is not a database")
	}
}

func TestConcurrentAddTrial(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	run := sampleRun("conc", time.Now())
	if err := db.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each+100)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				seq := w*each + i
				tr := benchrig.Trial{RunID: "conc", Seq: seq, Index: seq, CaseID: run.Cases[seq%4].ID,
					Measurement: benchrig.Measurement{Wall: time.Duration(seq), Metrics: map[string]float64{"seq": float64(seq)}}}
				if err := db.AddTrial(ctx, &tr); err != nil {
					errs <- err
				}
			}
		})
	}
	// Readers run alongside: WAL lets them see a consistent snapshot.
	for range 2 {
		wg.Go(func() {
			for range 10 {
				r, err := db.GetRun(ctx, "latest")
				if err != nil {
					errs <- err
					return
				}
				for i, tr := range r.Trials {
					if i > 0 && tr.Seq <= r.Trials[i-1].Seq {
						errs <- fmt.Errorf("trials out of order: %d after %d", tr.Seq, r.Trials[i-1].Seq)
					}
				}
				if _, err := db.ListRuns(ctx, benchrig.RunFilter{Limit: 5}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Go(func() {
		if err := db.FinishRun(ctx, "conc", benchrig.RunRunning, time.Time{}, map[string]string{"x": "y"}); err != nil {
			errs <- err
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := db.GetRun(ctx, "conc")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Trials) != workers*each {
		t.Fatalf("%d trials, want %d", len(got.Trials), workers*each)
	}
	for i, tr := range got.Trials {
		if tr.Seq != i || tr.Wall != time.Duration(i) || tr.Metrics["seq"] != float64(i) {
			t.Errorf("trial %d = seq %d wall %d metrics %v", i, tr.Seq, tr.Wall, tr.Metrics)
		}
	}
}

// TestVisibleWithoutClose reads trials from a second handle while the first
// is still open and was never closed or checkpointed.
func TestVisibleWithoutClose(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t) // closed only by cleanup, after the checks
	run := sampleRun("open", time.Now())
	if err := db.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	trials := sampleTrials(run, 7)
	for i := range trials {
		if err := db.AddTrial(ctx, &trials[i]); err != nil {
			t.Fatal(err)
		}
	}
	db2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	db2.now = db.now
	got, err := db2.GetRun(ctx, "open")
	if err != nil {
		t.Fatal(err)
	}
	if want := normalized(*run, trials); !reflect.DeepEqual(got, want) {
		t.Errorf("second handle sees\n%+v\nwant\n%+v", got, want)
	}
}

const crashEnv = "BENCHRIG_SQLITE_CRASH_CHILD"

// TestCrashKeepsAcknowledgedTrials runs a child process that records trials
// and reports each one AddTrial returned for, kills it with SIGKILL mid-run,
// and checks that every reported trial is in the store and that the run is
// left readable, and reads as interrupted once its heartbeat is stale, as
// the package comment promises.
func TestCrashKeepsAcknowledgedTrials(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "runs.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledgedTrials$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const acks = 40
	acked := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if seq, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			acked, _ = strconv.Atoi(seq)
			if acked+1 >= acks {
				break
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if acked+1 < acks {
		t.Fatalf("child acknowledged %d trials before exiting, want %d", acked+1, acks)
	}

	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The child wrote its heartbeat when it created the run; a reader
	// HeartbeatStale later takes it for dead.
	db.now = func() time.Time { return time.Now().Add(benchrig.HeartbeatStale + time.Second) }
	got, err := db.GetRun(context.Background(), "latest")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != benchrig.RunInterrupted || !got.Finished.IsZero() || got.Heartbeat.IsZero() {
		t.Errorf("crashed run: status %s finished %v heartbeat %v, want interrupted, zero and set", got.Status, got.Finished, got.Heartbeat)
	}
	if len(got.Trials) < acked+1 {
		t.Fatalf("store has %d trials, child acknowledged %d", len(got.Trials), acked+1)
	}
	for i, tr := range got.Trials {
		if tr.Seq != i || tr.Wall != time.Duration(i+1)*time.Millisecond {
			t.Errorf("trial %d: seq %d wall %v", i, tr.Seq, tr.Wall)
		}
	}
	page, err := db.ListRuns(context.Background(), benchrig.RunFilter{})
	list := page.Runs
	if err != nil || len(list) != 1 || list[0].TrialCount != len(got.Trials) || list[0].Status != benchrig.RunInterrupted {
		t.Errorf("ListRuns after crash = %+v, %v", list, err)
	}
}

// crashChild records trials until it is killed.
func crashChild(path string) {
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	if err := db.CreateRun(ctx, &benchrig.Run{ID: "crash", Status: benchrig.RunRunning, Started: time.Now()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	for seq := 0; ; seq++ {
		tr := benchrig.Trial{RunID: "crash", Seq: seq, Index: seq, Measurement: benchrig.Measurement{Wall: time.Duration(seq+1) * time.Millisecond}}
		if err := db.AddTrial(ctx, &tr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		fmt.Printf("ack %d\n", seq)
	}
}

// BenchmarkAddTrial measures one durable trial insert (the fsync dominates),
// with synchronous=FULL as Open uses and NORMAL for comparison. Where the
// temporary directory is a tmpfs both are meaningless: set TMPDIR to a real
// disk.
func BenchmarkAddTrial(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("sync="+sync, func(b *testing.B) {
			ctx := context.Background()
			db, err := open(ctx, filepath.Join(b.TempDir(), "runs.db"), sync)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			run := sampleRun("bench", time.Now())
			if err := db.CreateRun(ctx, run); err != nil {
				b.Fatal(err)
			}
			tr := sampleTrials(run, 5)[1]
			tr.StderrTail = strings.Repeat("x", 4096)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				tr.Seq, tr.Index = i, i
				if err := db.AddTrial(ctx, &tr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestPlacementsNodesAndNodeEventsRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	run := sampleRun("r-nodes", time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	run.Placements = map[string]benchrig.CasePlacement{run.Cases[0].ID: {Node: "lab3", Arch: "arm64", Image: "benchrig/busybox:arm64"}}
	run.Nodes = []benchrig.NodeFacts{{Name: "lab3", Pool: "lab", Host: "tcp://10.99.0.13:2375", Arch: "arm64", ArchDeclared: true,
		EngineArch: "amd64", CPUs: 2, MemoryBytes: 1 << 34, EngineVersion: "20.10.24", APIVersion: "1.41", Latency: 1500 * time.Microsecond,
		Labels: map[string]string{"emulated": "qemu"}, Runtimes: []string{"runc"}}}
	if err := db.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	events := []benchrig.NodeEvent{{Time: time.Date(2026, 11, 29, 12, 1, 0, 0, time.UTC), Node: "lab2", Kind: benchrig.NodeLost,
		Reason: "connection refused", MovedTo: map[string]string{"a": "lab1"}, Failed: []string{"b"}, Interrupted: 1}}
	nodes := append(run.Nodes, benchrig.NodeFacts{Name: "lab4", Arch: "arm64"})
	if err := db.RecordNodeEvents(ctx, run.ID, nodes, events); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Placements, run.Placements) || !reflect.DeepEqual(got.Nodes, nodes) || !reflect.DeepEqual(got.NodeEvents, events) {
		t.Errorf("got placements %+v nodes %+v events %+v", got.Placements, got.Nodes, got.NodeEvents)
	}
	if err := db.RecordNodeEvents(ctx, "nope", nil, nil); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("unknown run: %v, want ENotFound", err)
	}
}

// A store this process cannot write is refused before anything runs, with
// the path and the reason, as bad input. Tests run as root, where file
// modes do not bind, so access(2) is faked to answer as a read-only mount
// (or a file of another user) would.
func TestCheckWritable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "runs.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CheckWritable(); err != nil {
		t.Fatalf("CheckWritable of a fresh store: %v", err)
	}
	real := access
	t.Cleanup(func() { access = real })
	tests := []struct {
		name    string
		refuse  string // the path access refuses
		errno   syscall.Errno
		wantErr string // "" when writable
	}{
		{"read-only mount", path, syscall.EROFS, "read-only file system"},
		{"file of another user", path, syscall.EACCES, "permission denied"},
		{"wal file read-only", path + "-wal", syscall.EACCES, path + "-wal"},
		{"unrelated path refused", filepath.Join(dir, "other"), syscall.EROFS, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			access = func(p string) error {
				if p == tc.refuse {
					return tc.errno
				}
				return nil
			}
			err := db.CheckWritable()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckWritable = %v, want nil", err)
				}
				return
			}
			var be *benchrig.Error
			if !errors.As(err, &be) || be.Code != benchrig.EInvalid || be.File != path {
				t.Fatalf("CheckWritable = %#v, want *benchrig.Error EInvalid naming %s", err, path)
			}
			if !strings.Contains(err.Error(), "read-only") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q should say read-only and %q", err, tc.wantErr)
			}
		})
	}
}

// TestOpenReadOnly opens a store this process may not write (access
// refuses the file and its directory, as on a read-only mount): reads
// work, writes fail, and nothing is created beside the file. The CLI's
// TestStorePathErrors does the same on a real read-only bind mount.
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "runs.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	run := sampleRun("20261201-120000-ab12", testNow)
	if err := db.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	real := access
	t.Cleanup(func() { access = real })
	access = func(string) error { return syscall.EROFS }

	t.Run("reads", func(t *testing.T) {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("Open of a read-only store: %v", err)
		}
		defer db.Close()
		page, err := db.ListRuns(ctx, benchrig.RunFilter{Limit: 10})
		if err != nil || len(page.Runs) != 1 {
			t.Fatalf("ListRuns = %v, %v; want the one run", page.Runs, err)
		}
		if got, err := db.GetRun(ctx, "ab12"); err != nil || got.ID != run.ID {
			t.Fatalf("GetRun = %v, %v", got, err)
		}
		if err := db.CheckWritable(); err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("CheckWritable = %v, want read-only", err)
		}
		if err := db.CreateRun(ctx, sampleRun("20261201-120001-cd34", testNow)); err == nil {
			t.Error("CreateRun on a read-only store succeeded")
		}
		for _, side := range []string{"-wal", "-shm"} {
			if _, err := os.Stat(path + side); err == nil {
				t.Errorf("opening read-only created %s", path+side)
			}
		}
	})
	t.Run("empty file", func(t *testing.T) {
		_, err := Open(ctx, empty)
		var be *benchrig.Error
		if !errors.As(err, &be) || be.File != empty || !strings.Contains(err.Error(), "read-only and empty") {
			t.Fatalf("Open of an empty read-only file = %v, want an error naming it, read-only and empty", err)
		}
	})
}
