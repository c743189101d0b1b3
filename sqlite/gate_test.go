package sqlite

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

func TestSetGate(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	started := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for _, id := range []string{"gated", "plain"} {
		if err := db.CreateRun(ctx, &benchrig.Run{ID: id, SpecName: "s", Status: benchrig.RunFinished, Started: started}); err != nil {
			t.Fatal(err)
		}
	}
	g := &benchrig.GateResult{
		Run: "gated", Baseline: "last", BaselineRun: "b1", BaselineStarted: started.Add(-time.Hour),
		BaselineLabels: map[string]string{"branch": "main"}, Test: "Hodges-Lehmann",
		Cases: []benchrig.CaseGate{{Case: "n=1", Verdict: benchrig.VerdictRegression, Reason: "12% slower", MaxRegression: 0.05,
			BaselineN: 10, CandidateN: 10, Ratio: 1.12, CILow: 1.08, CIHigh: 1.15, Suspected: true,
			Confirmation: &benchrig.CaseConfirmation{Run: "c1", Node: "lab2", Where: "lab2, another node of lab1's class", N: 10, PooledN: 20, PooledRatio: 1.11, Held: true}}},
		Verdict: benchrig.VerdictRegression, Summary: "regression: 1 of 1 case(s)", ConfirmationRun: "c1",
		ConfirmTime: 3 * time.Second, Judged: started.Add(time.Minute),
	}
	if err := db.SetGate(ctx, "gated", g); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetRun(ctx, "gated")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Gate, g) {
		t.Errorf("GetRun's Gate =\n%+v\nwant\n%+v", got.Gate, g)
	}
	plain, err := db.GetRun(ctx, "plain")
	if err != nil {
		t.Fatal(err)
	}
	if plain.Gate != nil {
		t.Errorf("a run never gated has Gate %+v, want nil", plain.Gate)
	}
	page, err := db.ListRuns(ctx, benchrig.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]benchrig.GateVerdict{}
	for _, r := range page.Runs {
		if r.Gate != nil {
			verdicts[r.ID] = r.Gate.Verdict
		}
	}
	if want := map[string]benchrig.GateVerdict{"gated": benchrig.VerdictRegression}; !reflect.DeepEqual(verdicts, want) {
		t.Errorf("ListRuns' verdicts = %v, want %v", verdicts, want)
	}
	// nil clears it.
	if err := db.SetGate(ctx, "gated", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := db.GetRun(ctx, "gated"); err != nil || got.Gate != nil {
		t.Errorf("after SetGate(nil): Gate %+v, err %v; want nil", got.Gate, err)
	}
	if err := db.SetGate(ctx, "nope", g); benchrig.ErrorCode(err) != benchrig.ENotFound || !strings.Contains(err.Error(), "nope") {
		t.Errorf("SetGate of an unknown run: %v, want ENotFound naming it", err)
	}
}

// A confirmation run re-ran some cases of another run: whatever its labels
// and however new, it is never a baseline.
func TestLatestFinishedSkipsConfirmationRuns(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	base := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	runs := []*benchrig.Run{
		{ID: "cand", SpecName: "s", Status: benchrig.RunFinished, Started: base.Add(time.Hour), Labels: map[string]string{"branch": "main"}},
		{ID: "conf", SpecName: "s", Status: benchrig.RunFinished, Started: base.Add(2 * time.Hour),
			Labels: map[string]string{"branch": "main", benchrig.LabelConfirms: "cand"}},
	}
	for _, r := range runs {
		if err := db.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []benchrig.BaselineQuery{
		{Spec: "s"},
		{Spec: "s", Labels: map[string]string{"branch": "main"}},
	} {
		got, err := db.LatestFinished(ctx, q)
		if err != nil || got.ID != "cand" {
			t.Errorf("LatestFinished(%+v) = %v, %v; want cand, never the confirmation run", q, got, err)
		}
	}
	if _, err := db.LatestFinished(ctx, benchrig.BaselineQuery{Spec: "s", Labels: map[string]string{benchrig.LabelConfirms: "cand"}}); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("LatestFinished asking for the confirms label: %v, want ENotFound", err)
	}
	_, err := db.LatestFinished(ctx, benchrig.BaselineQuery{Spec: "s", Labels: map[string]string{"branch": "dev"}})
	if benchrig.ErrorCode(err) != benchrig.ENotFound || !strings.Contains(err.Error(), "labelled branch=dev") {
		t.Errorf("no run with the label: %v, want ENotFound saying the labels", err)
	}
}
