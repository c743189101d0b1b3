package sqlite

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

func TestCountRuns(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	got, err := db.CountRuns(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v, %v", got, err)
	}
	add := func(id string, st benchrig.RunStatus, hb time.Time) {
		t.Helper()
		r := sampleRun(id, testNow.Add(-time.Hour))
		r.Status, r.Heartbeat = st, hb
		if st != benchrig.RunRunning {
			r.Finished = testNow
		}
		if err := db.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	add("f1", benchrig.RunFinished, time.Time{})
	add("f2", benchrig.RunFinished, time.Time{})
	add("x1", benchrig.RunFailed, time.Time{})
	add("live", benchrig.RunRunning, testNow)                                  // a fresh heartbeat: running
	add("stale", benchrig.RunRunning, testNow.Add(-2*benchrig.HeartbeatStale)) // its process died: interrupted
	add("i1", benchrig.RunInterrupted, time.Time{})
	got, err = db.CountRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[benchrig.RunStatus]int{benchrig.RunFinished: 2, benchrig.RunFailed: 1, benchrig.RunRunning: 1, benchrig.RunInterrupted: 2}
	if !maps.Equal(got, want) {
		t.Errorf("CountRuns = %v, want %v", got, want)
	}
	// The same as ListRuns reports, status by status.
	for st, n := range want {
		page, err := db.ListRuns(ctx, benchrig.RunFilter{Status: []benchrig.RunStatus{st}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Runs) != n {
			t.Errorf("ListRuns(%s) has %d runs, CountRuns %d", st, len(page.Runs), n)
		}
	}
}
