package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
	"github.com/benchrig/benchrig/sqlite"
)

// fakeDriver is a NodeDriver that records what it was asked.
type fakeDriver struct {
	mu       sync.Mutex
	contacts int
	removed  []string
	closed   bool
}

var _ NodeDriver = (*fakeDriver)(nil)

func (f *fakeDriver) Nodes(context.Context) ([]*runner.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.contacts++
	return nil, nil
}

func (f *fakeDriver) RemoveRun(_ context.Context, runID string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, runID)
	return 1, nil
}

func (f *fakeDriver) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

const specSrc = "name: app-test\ncommand: [\"true\"]\nrepeat: 2\nwarmup: 0\n"

// newApp returns an App on a fresh store in dir, whose clock reads now,
// with the spec file written there.
func newApp(t *testing.T, now time.Time) (*App, *fakeDriver, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	drv := &fakeDriver{}
	a := &App{
		Store: db,
		Nodes: func(string, []string) (NodeDriver, error) { return drv, nil },
		Now:   func() time.Time { return now },
	}
	spec := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(spec, []byte(specSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	return a, drv, spec
}

// record creates a run of the spec at file as a front end would have.
func record(t *testing.T, a *App, id, file string, status benchrig.RunStatus, heartbeat time.Time, pools []string) {
	t.Helper()
	ctx := context.Background()
	run := &benchrig.Run{ID: id, SpecName: "app-test", SpecFile: file, SpecSource: []byte(specSrc),
		SpecHash: "3f0c8b2c4e5b0c43f6d4b3c1f0a1e1ad5ac31c5fbc58bc30f9f7d49d0bd0a8b0",
		Status:   benchrig.RunRunning, Started: heartbeat, Heartbeat: heartbeat, Cases: benchrig.Matrix(nil),
		Request: &benchrig.RunRequest{SpecFile: file, Pools: pools, PoolsFile: "/pools.yaml", Dir: filepath.Dir(file)}}
	if err := a.Store.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if status != benchrig.RunRunning {
		if err := a.Store.FinishRun(ctx, id, status, heartbeat, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSweepMarksStaleRunsAndRemovesTheirContainers(t *testing.T) {
	now := time.Now() // the store judges heartbeats by its own clock
	a, drv, spec := newApp(t, now)
	record(t, a, "dead-pool", spec, benchrig.RunRunning, now.Add(-time.Minute), []string{"lab"})
	record(t, a, "dead-local", spec, benchrig.RunRunning, now.Add(-time.Minute), nil)
	record(t, a, "alive", spec, benchrig.RunRunning, now.Add(-time.Second), []string{"lab"})
	stale, err := a.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range stale {
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, ",") != "dead-local,dead-pool" && strings.Join(ids, ",") != "dead-pool,dead-local" {
		t.Errorf("swept %v, want the two dead runs", ids)
	}
	if len(drv.removed) != 1 || drv.removed[0] != "dead-pool" || drv.contacts != 1 || !drv.closed {
		t.Errorf("driver: removed %v, %d contacts, closed %v; want dead-pool's containers removed once", drv.removed, drv.contacts, drv.closed)
	}
	for id, want := range map[string]benchrig.RunStatus{"dead-pool": benchrig.RunInterrupted, "alive": benchrig.RunRunning} {
		r, err := a.Store.GetRun(context.Background(), id)
		if err != nil || r.Status != want {
			t.Errorf("run %s: %v %v, want %s", id, r.Status, err, want)
		}
	}
	// A second sweep finds nothing new to clean.
	if again, err := a.Sweep(context.Background()); err != nil || len(again) != 0 {
		t.Errorf("second sweep: %d runs, %v", len(again), err)
	}
}

func TestPrepareResumeRefuses(t *testing.T) {
	now := time.Now() // the store judges heartbeats by its own clock
	a, _, spec := newApp(t, now)
	record(t, a, "finished", spec, benchrig.RunFinished, now.Add(-time.Hour), nil)
	record(t, a, "alive", spec, benchrig.RunRunning, now.Add(-time.Second), nil)
	record(t, a, "changed", spec, benchrig.RunRunning, now.Add(-time.Hour), nil) // its hash is not the file's
	for _, tc := range []struct {
		ref, want string
		force     bool
	}{
		{"finished", "is finished: only an interrupted or cancelled run can be resumed", false},
		{"alive", "is still running", false},
		{"changed", "changed since run changed started; resume with --force", false},
		{"nope", "not found", false},
	} {
		_, err := a.PrepareResume(context.Background(), tc.ref, ResumeOptions{Force: tc.force})
		if c := benchrig.ErrorCode(err); (c != benchrig.EInvalid && c != benchrig.ENotFound) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("resume %s: %v, want %q", tc.ref, err, tc.want)
		}
	}
}
