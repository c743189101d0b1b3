package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// A server records a submitted run as queued; when it starts, the runner
// records it over its queued row, which keeps who submitted it.
func TestCreateRunOverQueued(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	submitted := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	q := &benchrig.Run{ID: "q1", SpecName: "s", Status: benchrig.RunQueued, Started: submitted, By: "ci", Labels: map[string]string{"branch": "main"}}
	if err := db.CreateRun(ctx, q); err != nil {
		t.Fatal(err)
	}
	page, err := db.ListRuns(ctx, benchrig.RunFilter{Status: []benchrig.RunStatus{benchrig.RunQueued}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Runs) != 1 || page.Runs[0].ID != "q1" || page.Runs[0].By != "ci" || page.Runs[0].Status != benchrig.RunQueued {
		t.Fatalf("queued runs %+v", page.Runs)
	}
	started := submitted.Add(time.Minute)
	r := &benchrig.Run{ID: "q1", SpecName: "s", Status: benchrig.RunRunning, Started: started, Labels: map[string]string{"branch": "dev"}}
	if err := db.CreateRun(ctx, r); err != nil {
		t.Fatalf("create over the queued run: %v", err)
	}
	got, err := db.GetRun(ctx, "q1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != benchrig.RunRunning || !got.Started.Equal(started) || got.By != "ci" || got.Labels["branch"] != "dev" {
		t.Errorf("started run %+v", got)
	}
	page, err = db.ListRuns(ctx, benchrig.RunFilter{Labels: map[string]string{"branch": "main"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Runs) != 0 {
		t.Errorf("the queued row's labels are still found: %+v", page.Runs)
	}
	// A run that is not queued is not recorded over.
	if err := db.CreateRun(ctx, r); benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("create over a running run: %v, want EInvalid", err)
	}
}
