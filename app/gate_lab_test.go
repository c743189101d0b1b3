package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/labshim"
	"github.com/benchrig/benchrig/internal/testenv"
	"github.com/benchrig/benchrig/nodes"
	"github.com/benchrig/benchrig/sqlite"
)

// The lab's pool has lab1 and lab2, one class (amd64, no labels), and
// lab3, a class of its own (arm64 under qemu). A spec that became three
// times slower on every node is confirmed by a re-run that puts each case
// on another node of its node's class: lab1's case on lab2, lab2's on
// lab1, lab3's on lab3 again.
func TestLabGateConfirmsOnAnotherNodeOfTheClass(t *testing.T) {
	poolsFile := os.Getenv("BENCHRIG_LAB_POOLS")
	if poolsFile == "" {
		testenv.Skip(t, "BENCHRIG_LAB_POOLS unset: no Docker lab (make testenv starts one)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	shims := labshim.Dir(t)
	a := &App{Store: db, Nodes: func(file string, pools []string) (NodeDriver, error) {
		return nodes.NewDocker(file, pools, shims), nil
	}}
	specFor := func(delay string) string {
		file := filepath.Join(dir, "lab-gate-"+delay+".yaml")
		src := fmt.Sprintf("name: lab-gate\ncommand: 'sleep %s'\nimage: 'benchrig/busybox:{{.arch}}'\nrepeat: 5\nwarmup: 0\npools: [lab]\n", delay)
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return file
	}
	runSpec := func(file string, g *benchrig.GateRequest) *benchrig.Run {
		t.Helper()
		h, err := a.Run(ctx, benchrig.RunRequest{SpecFile: file, Dir: dir, PoolsFile: poolsFile, Gate: g})
		if err != nil {
			t.Fatal(err)
		}
		run, err := h.Wait()
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	// lab3 emulates arm64: starting busybox there takes ~70 ms and varies
	// by tens of ms, so the sleeps are long enough to dominate, and the
	// baseline's CV may be above the default 10%.
	base := runSpec(specFor("0.3"), nil)
	run := runSpec(specFor("0.9"), &benchrig.GateRequest{Baseline: "last", MaxBaselineCV: 0.5})
	g := run.Gate
	if g == nil || g.BaselineRun != base.ID || g.Verdict != benchrig.VerdictRegression || g.ConfirmationRun == "" {
		t.Fatalf("gate %+v, want a regression against %s, confirmed by a re-run", g, base.ID)
	}
	want := map[string]struct{ node, where string }{
		"node=lab1": {"lab2", "lab2, another node of lab1's class"},
		"node=lab2": {"lab1", "lab1, another node of lab2's class"},
		"node=lab3": {"lab3", "lab3 again: the only node of its class"},
	}
	for _, c := range g.Cases {
		w, ok := want[c.Case]
		if !ok {
			t.Errorf("unexpected case %s", c.Case)
			continue
		}
		conf := c.Confirmation
		if conf == nil || !conf.Held || conf.Node != w.node || conf.Where != w.where || c.Verdict != benchrig.VerdictRegression {
			t.Errorf("case %s: verdict %s (%s), confirmation %+v; want held on %s (%s)", c.Case, c.Verdict, c.Reason, conf, w.node, w.where)
		}
	}
	cr, err := db.GetRun(ctx, g.ConfirmationRun)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range cr.Trials {
		if w := want[tr.CaseID]; tr.Node != w.node {
			t.Errorf("confirmation trial of %s ran on %s, want %s", tr.CaseID, tr.Node, w.node)
		}
	}
	if cr.Labels[benchrig.LabelConfirms] != run.ID {
		t.Errorf("confirmation labels %v, want %s=%s", cr.Labels, benchrig.LabelConfirms, run.ID)
	}
	evs, err := db.Events(ctx, run.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	msgs := gateMsgs(evs)
	if len(msgs) != 2 || !slices.ContainsFunc(msgs[:1], func(m string) bool {
		return strings.Contains(m, "lab2, another node of lab1's class") && strings.Contains(m, "lab3 again: the only node of its class")
	}) {
		t.Errorf("gate events %q, want the confirmation saying where each case re-runs", msgs)
	}
}
