package sqlite

import (
	"context"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

func TestProfilesRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	run := &benchrig.Run{ID: "r1", SpecName: "s", Status: benchrig.RunRunning, Started: time.Now(),
		Cases:     []benchrig.Case{{ID: "default"}},
		Profiling: &benchrig.Profiling{Enabled: true, Event: "cpu-clock", Freq: 99, Trials: 1}}
	if err := db.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	extra := &benchrig.Trial{RunID: "r1", CaseID: "default", Seq: 0, Index: 10, ProfileOnly: true, Profiled: true,
		Measurement: benchrig.Measurement{Start: time.Now(), Wall: time.Second}}
	if err := db.AddTrial(ctx, extra); err != nil {
		t.Fatal(err)
	}
	stacks := map[string]int64{"sh;sort;main;qsort": 40, "sh;seq;main": 3, "sh;sort;[unknown]": 1}
	p := &benchrig.TrialProfile{Run: "r1", Case: "default", Rep: 10, Node: "local", Event: "cpu-clock", Freq: 99,
		Lost: 2, Duration: time.Second, Stacks: stacks}
	if err := db.AddProfile(ctx, p); err != nil {
		t.Fatal(err)
	}
	// A second profile of the same trial replaces the first.
	if err := db.AddProfile(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := db.Profiles(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Ref() != p.Ref() || got[0].Event != "cpu-clock" || got[0].Freq != 99 || got[0].Lost != 2 ||
		got[0].Duration != time.Second || got[0].Node != "local" || !maps.Equal(got[0].Stacks, stacks) {
		t.Errorf("Profiles = %+v, want %+v", got, *p)
	}
	if none, err := db.Profiles(ctx, "nope"); err != nil || len(none) != 0 {
		t.Errorf("Profiles of an unknown run = %v, %v; want none", none, err)
	}
	p.Run = "nope"
	if err := db.AddProfile(ctx, p); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("AddProfile of an unknown run: %v, want ENotFound", err)
	}
	loaded, err := db.GetRun(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Profiling == nil || *loaded.Profiling != *run.Profiling {
		t.Errorf("run's Profiling = %+v, want %+v", loaded.Profiling, run.Profiling)
	}
	if len(loaded.Trials) != 1 || !loaded.Trials[0].ProfileOnly || !loaded.Trials[0].Profiled {
		t.Errorf("trial = %+v, want profile_only and profiled", loaded.Trials)
	}
	// Deleting the run deletes its profiles.
	if err := db.DeleteRun(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if left, err := db.Profiles(ctx, "r1"); err != nil || len(left) != 0 {
		t.Errorf("profiles after DeleteRun = %d, %v", len(left), err)
	}
}
