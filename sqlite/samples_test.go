package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

func dur(d time.Duration) *time.Duration { return &d }
func i64(v int64) *int64                 { return &v }

func testSamples(runID string) []benchrig.Sample {
	t0 := testNow.Add(-time.Minute)
	ref := &benchrig.TrialRef{Run: runID, Case: "n=1", Rep: 2, Attempt: 1}
	return []benchrig.Sample{
		{Time: t0.Add(100 * time.Millisecond), Run: runID, Node: "local", Arch: "amd64", Kind: benchrig.SampleTrial, Seq: 1,
			Trial: ref, Params: map[string]string{"n": "1"},
			Cgroup: &benchrig.CgroupSample{CPU: dur(12 * time.Millisecond), MemoryPeak: i64(4096)}},
		{Time: t0.Add(150 * time.Millisecond), Run: runID, Node: "local", Arch: "amd64", Kind: benchrig.SampleTrial, Seq: 0, Final: true,
			Trial: ref, Params: map[string]string{"n": "1"},
			Cgroup: &benchrig.CgroupSample{CPU: dur(20 * time.Millisecond)}, Error: "memory.peak: no such file"},
		{Time: t0.Add(200 * time.Millisecond), Run: runID, Node: "local", Arch: "amd64", Kind: benchrig.SampleHost, Seq: 1,
			Host: &benchrig.HostSample{CPUs: 2, CPUUser: time.Second, CPUTotal: 4 * time.Second, Load1: 0.5}},
		{Time: t0.Add(300 * time.Millisecond), Run: runID, Node: "local", Arch: "amd64", Kind: benchrig.SampleCollector, Seq: 0, Final: true,
			Collector: &benchrig.CollectorSample{CollectorCost: benchrig.CollectorCost{Node: "local", Mode: "in-process", CPU: time.Millisecond, Samples: 3}}},
	}
}

func TestSamplesRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	if err := db.CreateRun(ctx, &benchrig.Run{ID: "r1", Status: benchrig.RunRunning}); err != nil {
		t.Fatal(err)
	}
	want := testSamples("r1")
	if err := db.WriteSamples(ctx, want); err != nil {
		t.Fatal(err)
	}
	// A retried batch, overlapping the first: stored once.
	if err := db.WriteSamples(ctx, append(want[1:3:3], testSamples("r2")[2])); err != nil {
		t.Fatal(err)
	}
	if err := db.WriteSamples(ctx, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
	got, err := db.Samples(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i].Time = got[i].Time.UTC()
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Samples\n got %+v\nwant %+v", got, want)
	}
	trials, err := db.Samples(ctx, "r1", benchrig.SampleTrial, benchrig.SampleCollector)
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) != 3 || trials[0].Kind != benchrig.SampleTrial || trials[2].Kind != benchrig.SampleCollector {
		t.Errorf("trial and collector samples = %+v", trials)
	}
	// Samples of a run not recorded here (a node collector ahead of the
	// run) are kept.
	if other, err := db.Samples(ctx, "r2"); err != nil || len(other) != 1 {
		t.Errorf("samples of r2 = %v, %v; want 1", other, err)
	}
	if err := db.DeleteRun(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Samples(ctx, "r1"); err != nil || len(got) != 0 {
		t.Errorf("after DeleteRun: %d samples, %v; want none", len(got), err)
	}
}

func TestCollectionAndNoiseRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	run := &benchrig.Run{ID: "r1", Status: benchrig.RunRunning, Started: testNow}
	if err := db.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	noise := &benchrig.Noise{Window: 40 * time.Millisecond, CPUs: 2, OtherCPU: 9 * time.Millisecond, Steal: time.Millisecond, Disturbed: true}
	for i, n := range []*benchrig.Noise{noise, nil} {
		tr := &benchrig.Trial{RunID: "r1", CaseID: "default", Seq: i, Index: i, Node: "local",
			Measurement: benchrig.Measurement{Start: testNow, Wall: time.Second, Source: "cgroup-v1", Noise: n}}
		if err := db.AddTrial(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.GetRun(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Collection != nil {
		t.Errorf("Collection before SetCollection = %+v, want nil", got.Collection)
	}
	if !reflect.DeepEqual(got.Trials[0].Noise, noise) || got.Trials[1].Noise != nil {
		t.Errorf("Noise = %+v, %+v; want %+v, nil", got.Trials[0].Noise, got.Trials[1].Noise, noise)
	}
	c := &benchrig.Collection{
		Interval: time.Second, Sink: "store",
		Collectors: []benchrig.CollectorCost{{Node: "local", Mode: "in-process", Interval: time.Second, Wall: 4 * time.Second, CPU: 12 * time.Millisecond, MemoryBytes: 8 << 20, Samples: 41, Targets: 3}},
		Shipping:   benchrig.ShipCounters{Sent: 41, Duplicates: 1},
		Warnings:   []string{"Docker pools: no node collector yet"},
	}
	if err := db.SetCollection(ctx, "r1", c); err != nil {
		t.Fatal(err)
	}
	if got, err = db.GetRun(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Collection, c) {
		t.Errorf("Collection\n got %+v\nwant %+v", got.Collection, c)
	}
	page, err := db.ListRuns(ctx, benchrig.RunFilter{})
	if err != nil || len(page.Runs) != 1 || !reflect.DeepEqual(page.Runs[0].Collection, c) {
		t.Errorf("ListRuns: %v, %+v; want the run with its collection", err, page.Runs)
	}
	if err := db.SetCollection(ctx, "nope", c); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("SetCollection of an unknown run: %v, want ENotFound", err)
	}
}

// TestMigrateFromVersion4 opens a store written at schema version 4 (before
// the collector): its runs and trials read back with no collection and no
// noise, and it takes samples.
func TestMigrateFromVersion4(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v4.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := append(append([]string(nil), migrations[:4]...), "PRAGMA user_version = 4", fmt.Sprintf("PRAGMA application_id = %d", applicationID),
		`INSERT INTO runs (id, spec_name, spec_hash, spec_file, spec_source, overrides, status, started, finished,
			fingerprint, cases, baseline_id, notes, throughput, throughput_unit, scaling_param, case_maps, heartbeat, labels, request)
			VALUES ('old', 'sort', 'h', 'sort.yaml', NULL, 'null', 'finished', '2025-01-01T00:00:00.000000000Z', '2025-01-01T01:00:00.000000000Z',
			'{"arch":"amd64"}', 'null', '', 'null', 'null', '', '', '{}', NULL, 'null', 'null')`,
		`INSERT INTO trials (run_id, seq, case_id, idx, warmup, node, start, wall_ns, user_ns, sys_ns, max_rss,
			exit_code, stdout_bytes, stderr_bytes, stderr_tail, error, source, metrics, attempt, outcome, reason)
			VALUES ('old', 0, 'x', 0, 0, 'local', NULL, 5, 0, 0, 0, 0, 0, 0, '', '', 'rusage', 'null', 0, 'ok', '')`)
	for _, s := range stmts {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	raw.Close()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	rawQuery(t, path, "PRAGMA user_version", &version)
	if version != len(migrations) {
		t.Errorf("user_version = %d, want %d", version, len(migrations))
	}
	run, err := db.GetRun(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if run.Collection != nil || len(run.Trials) != 1 || run.Trials[0].Noise != nil || run.Trials[0].Wall != 5 {
		t.Errorf("old run: collection %+v, trials %+v; want none, one trial without noise", run.Collection, run.Trials)
	}
	if err := db.WriteSamples(ctx, testSamples("old")); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Samples(ctx, "old"); err != nil || len(got) != 4 {
		t.Errorf("Samples after migration: %d, %v; want 4", len(got), err)
	}
}

// BenchmarkWriteSamples writes batches of trial samples as the collector's
// flusher does (100 a batch: 10 containers at 10 Hz for a second) into a
// fresh store; samples/s is what the store sink sustains.
func BenchmarkWriteSamples(b *testing.B) {
	ctx := context.Background()
	db, _ := openTest(b)
	const batch = 100
	tmpl := testSamples("bench")[0]
	seq := int64(0)
	b.ResetTimer()
	for range b.N {
		samples := make([]benchrig.Sample, batch)
		for i := range samples {
			seq++
			s := tmpl
			s.Seq = seq
			samples[i] = s
		}
		if err := db.WriteSamples(ctx, samples); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
}

// thinRun writes trials trials of n samples each (seq 1..n, the last one
// final) of run "thin".
func thinRun(t testing.TB, db *DB, trials, n int) {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	var batch []benchrig.Sample
	for tr := range trials {
		ref := benchrig.TrialRef{Run: "thin", Case: "c", Rep: tr}
		for k := 1; k <= n; k++ {
			cpu := time.Duration(k) * time.Millisecond
			batch = append(batch, benchrig.Sample{Time: t0.Add(time.Duration(tr*n+k) * 10 * time.Millisecond), Run: "thin",
				Node: "local", Kind: benchrig.SampleTrial, Seq: int64(k), Final: k == n, Trial: &ref,
				Cgroup: &benchrig.CgroupSample{CPU: &cpu}})
			if len(batch) == 5000 {
				if err := db.WriteSamples(context.Background(), batch); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	if err := db.WriteSamples(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}

func TestSamplesThinned(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	thinRun(t, db, 3, 1000)
	all, err := db.Samples(ctx, "thin")
	if err != nil || len(all) != 3000 {
		t.Fatalf("%d samples, %v", len(all), err)
	}
	for _, tt := range []struct {
		max        int
		wantStride int64
	}{{0, 1}, {3000, 1}, {2999, 2}, {1503, 2}, {1502, 4}, {400, 8}, {10, 512}, {1, 1 << 25}} {
		got, stride, err := db.SamplesThinned(ctx, "thin", tt.max, benchrig.SampleTrial)
		if err != nil {
			t.Fatal(err)
		}
		if stride != tt.wantStride {
			t.Errorf("max %d: stride %d, want %d", tt.max, stride, tt.wantStride)
		}
		if tt.max > 6 && len(got) > tt.max {
			t.Errorf("max %d: %d samples", tt.max, len(got))
		}
		// Each trial keeps its first and final sample and every
		// stride-th between them, in time order.
		per := map[int][]int64{}
		for i, s := range got {
			if i > 0 && s.Time.Before(got[i-1].Time) {
				t.Fatalf("max %d: not in time order at %d", tt.max, i)
			}
			per[s.Trial.Rep] = append(per[s.Trial.Rep], s.Seq)
		}
		for rep := range 3 {
			seqs := per[rep]
			if len(seqs) < 2 || seqs[0] != 1 || seqs[len(seqs)-1] != 1000 {
				t.Fatalf("max %d: trial %d lost an end: %v", tt.max, rep, seqs)
			}
			for _, q := range seqs[1 : len(seqs)-1] {
				if q%tt.wantStride != 0 {
					t.Fatalf("max %d: trial %d has seq %d, not a multiple of %d", tt.max, rep, q, tt.wantStride)
				}
			}
			want := 2 + int(999/tt.wantStride) // seq 1, the multiples up to 999, the final 1000
			if tt.wantStride == 1 {
				want = 1000
			}
			if len(seqs) != want {
				t.Errorf("max %d: trial %d has %d samples, want %d", tt.max, rep, len(seqs), want)
			}
		}
	}
}

// BenchmarkSamplesThinned1M compares reading a 1,000,000-sample run whole
// with reading it thinned to what a chart draws (about 4,000 samples).
func BenchmarkSamplesThinned1M(b *testing.B) {
	db, _ := openTest(b)
	thinRun(b, db, 100, 10000)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		s, _, err := db.SamplesThinned(ctx, "thin", 4000, benchrig.SampleTrial)
		if err != nil || len(s) == 0 {
			b.Fatal(len(s), err)
		}
	}
}
