package app

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/sqlite"
)

// failingStore fails AddTrial after ok trials.
type failingStore struct {
	*sqlite.DB
	ok int
}

func (s *failingStore) AddTrial(ctx context.Context, t *benchrig.Trial) error {
	if s.ok == 0 {
		return errors.New("disk full")
	}
	s.ok--
	return s.DB.AddTrial(ctx, t)
}

func importRun() *benchrig.Run {
	c := benchrig.Case{ID: "A-2", Params: []benchrig.KV{{Name: "bench", Value: "A"}}}
	run := &benchrig.Run{SpecName: "example.com/x", SpecHash: "5eed", Cases: []benchrig.Case{c}, BaselineID: c.ID,
		Fingerprint: benchrig.Fingerprint{Executor: benchrig.GoBenchExecutor}}
	for i := range 3 {
		run.Trials = append(run.Trials, benchrig.Trial{CaseID: c.ID, Seq: i, Index: i, Node: benchrig.GoBenchNode, Outcome: benchrig.OutcomeOK,
			Measurement: benchrig.Measurement{Wall: time.Duration(10+i) * time.Nanosecond}})
	}
	return run
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		ok     int // trials the store accepts; -1 all
		status benchrig.RunStatus
		trials int
		err    string
	}{
		{"all stored", -1, benchrig.RunFinished, 3, ""},
		{"store fails part way", 2, benchrig.RunFailed, 2, "stopped after 2 of 3 trials (kept, marked failed): disk full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "store.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var store Store = db
			if tc.ok >= 0 {
				store = &failingStore{DB: db, ok: tc.ok}
			}
			a := &App{Store: store, Now: func() time.Time { return at }}
			run := importRun()
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
			if err != nil || len(events) != 2 || events[0].Msg != "imported from old.txt: 3 result(s) of 1 benchmark(s)" {
				t.Errorf("events %v, %v", events, err)
			}
		})
	}
}
