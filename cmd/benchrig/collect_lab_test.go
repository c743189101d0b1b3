package main

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/sqlite"
)

// TestLabContainerTrialsHaveFinalSamples runs containers on two lab nodes:
// Docker removes a container's cgroup before it reports the exit, so each
// trial's totals reach the store as one Final sample built from the
// in-container shim's figures, and the run records what was (not)
// collected.
func TestLabContainerTrialsHaveFinalSamples(t *testing.T) {
	needLab(t)
	c := labCLI(t, map[string]string{"lab1": labNodes["lab1"], "lab2": labNodes["lab2"]})
	spec := c.write("loop.yaml", `name: lab-collect
command: 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done'
image: 'benchrig/busybox:{{.arch}}'
repeat: 2
warmup: 0
`)
	code, stdout, stderr := c.run(context.Background(), "run", "-q", spec, "--pool", "lab")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "collector: every 1s, none ran; shipped to store: 4 sent\n  - Docker pools: no node collector yet") {
		t.Errorf("the report does not say what was collected:\n%s", stdout)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(c.dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	run, err := db.GetRun(ctx, "latest")
	if err != nil {
		t.Fatal(err)
	}
	samples, err := db.Samples(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != len(run.Trials) || len(run.Trials) != 4 {
		t.Fatalf("%d samples for %d trials, want one per trial (4)", len(samples), len(run.Trials))
	}
	byRef := map[benchrig.TrialRef]benchrig.Sample{}
	for _, s := range samples {
		byRef[*s.Trial] = s
	}
	for _, tr := range run.Trials {
		s, ok := byRef[tr.Ref()]
		if !ok || !s.Final || s.Seq != 0 || s.Node != tr.Node || s.Arch != "amd64" || s.Cgroup == nil || s.Cgroup.CPU == nil {
			t.Errorf("trial %v: sample %+v", tr.Ref(), s)
			continue
		}
		// The shim's cgroup CPU covers the container (the shim too): at
		// least the command's own CPU.
		if cpu := *s.Cgroup.CPU; cpu < tr.User+tr.Sys || math.Abs(cpu.Seconds()-tr.Metrics["container_cpu_s"]) > 1e-6 {
			t.Errorf("trial %v: sample CPU %v, trial CPU %v, container_cpu_s %v", tr.Ref(), cpu, tr.User+tr.Sys, tr.Metrics["container_cpu_s"])
		}
	}
	if run.Collection == nil || run.Collection.Shipping.Sent != 4 || run.Collection.Sink != "store" {
		t.Errorf("Collection %+v", run.Collection)
	}
	noLeftovers(t)
}
