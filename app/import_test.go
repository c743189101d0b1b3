package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/gobench"
	"github.com/benchrig/benchrig/sqlite"
)

// failingStore fails AddTrial after ok trials. It has no AddTrials (the
// embedded interface hides the store's), so Import adds trials one by one.
type failingStore struct {
	Store
	ok int
}

func (s *failingStore) AddTrial(ctx context.Context, t *benchrig.Trial) error {
	if s.ok == 0 {
		return errors.New("disk full")
	}
	s.ok--
	return s.Store.AddTrial(ctx, t)
}

// failingBatcher fails AddTrials after ok batches.
type failingBatcher struct {
	*sqlite.DB
	ok int
}

func (s *failingBatcher) AddTrials(ctx context.Context, trials []benchrig.Trial) error {
	if s.ok == 0 {
		return errors.New("disk full")
	}
	s.ok--
	return s.DB.AddTrials(ctx, trials)
}

var _ TrialBatcher = (*failingBatcher)(nil)

func importRun(n int) *benchrig.Run {
	c := benchrig.Case{ID: "A-2", Params: []benchrig.KV{{Name: "bench", Value: "A"}}}
	run := &benchrig.Run{SpecName: "example.com/x", SpecHash: "5eed", Cases: []benchrig.Case{c}, BaselineID: c.ID,
		Fingerprint: benchrig.Fingerprint{Executor: benchrig.GoBenchExecutor}}
	for i := range n {
		run.Trials = append(run.Trials, benchrig.Trial{CaseID: c.ID, Seq: i, Index: i, Node: benchrig.GoBenchNode, Outcome: benchrig.OutcomeOK,
			Measurement: benchrig.Measurement{Wall: time.Duration(10+i) * time.Nanosecond}})
	}
	return run
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		n       int  // trials to import
		batched bool // the store has AddTrials
		ok      int  // trials (batches, when batched) the store accepts; -1 all
		status  benchrig.RunStatus
		trials  int
		err     string
	}{
		{"all stored", 3, true, -1, benchrig.RunFinished, 3, ""},
		{"all stored one by one", 3, false, -1, benchrig.RunFinished, 3, ""},
		{"more than a batch", ImportBatch + 3, true, -1, benchrig.RunFinished, ImportBatch + 3, ""},
		{"store fails part way", 3, false, 2, benchrig.RunFailed, 2, "stopped after 2 of 3 trials (kept, marked failed): disk full"},
		{"second batch fails", ImportBatch + 3, true, 1, benchrig.RunFailed, ImportBatch,
			fmt.Sprintf("stopped after %d of %d trials (kept, marked failed): disk full", ImportBatch, ImportBatch+3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "store.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var store Store = db
			switch {
			case tc.batched && tc.ok >= 0:
				store = &failingBatcher{DB: db, ok: tc.ok}
			case !tc.batched:
				store = &failingStore{Store: db, ok: tc.ok}
			}
			a := &App{Store: store, Now: func() time.Time { return at }}
			run := importRun(tc.n)
			err = a.Import(ctx, run, "old.txt")
			if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			got, err := db.GetRun(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.status || len(got.Trials) != tc.trials || !got.Started.Equal(at) || got.Trials[0].RunID != run.ID {
				t.Errorf("stored %s with %d trials, started %v; want %s with %d", got.Status, len(got.Trials), got.Started, tc.status, tc.trials)
			}
			if tc.err != "" {
				return
			}
			events, err := db.Events(ctx, run.ID, 0)
			if err != nil || len(events) != 2 || events[0].Msg != fmt.Sprintf("imported from old.txt: %d result(s) of 1 benchmark(s)", tc.n) {
				t.Errorf("events %v, %v", events, err)
			}
		})
	}
}

// BenchmarkImport measures storing go test -bench output of benchLines
// result lines (parsed once) into a fresh store, and reports the cost per
// line: `go test -run '^$' -bench Import -count 5 ./app`.
func BenchmarkImport(b *testing.B) {
	const benchLines = 5000
	var in strings.Builder
	in.WriteString("goos: linux\ngoarch: amd64\npkg: example.com/x\ncpu: Fake CPU\n")
	for i := range benchLines {
		fmt.Fprintf(&in, "BenchmarkEncode/size=%d-8\t1000000\t%d ns/op\t%d B/op\t%d allocs/op\n", i%200, 100+i%900, i%1000, i%10)
	}
	ctx := context.Background()
	dir := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		run, err := gobench.Parse([]byte(in.String()), gobench.Options{File: "bench.txt"})
		if err != nil {
			b.Fatal(err)
		}
		db, err := sqlite.Open(ctx, filepath.Join(dir, fmt.Sprintf("store%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := (&App{Store: db}).Import(ctx, run, "bench.txt"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchLines), "ns/line")
}
