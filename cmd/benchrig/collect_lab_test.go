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

// TestLabNodeCollectors runs containers on two lab nodes with a node
// collector per node (a `benchrig collector` child of the run): each
// trial has periodic samples of its container while it runs and one
// Final sample built from the in-container shim's figures (Docker
// removes a container's cgroup before it reports the exit), each node
// has host samples, the engines' container events are events of the run
// (the last container's die included), and the run records what each
// collector cost.
func TestLabNodeCollectors(t *testing.T) {
	needLab(t)
	c := labCLI(t, map[string]string{"lab1": labNodes["lab1"], "lab2": labNodes["lab2"]})
	// About 0.5 s of shell loop: several 100 ms samples per trial.
	spec := c.write("loop.yaml", `name: lab-collect
command: 'i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done'
image: 'benchrig/busybox:{{.arch}}'
repeat: 2
warmup: 0
`)
	code, stdout, stderr := c.run(context.Background(), "run", "-q", spec, "--pool", "lab", "--collect-interval", "100ms")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "collector: 2 collectors, ") {
		t.Errorf("the report does not say what was collected:\n%s", stdout)
	}
	got := readCollected(t, filepath.Join(c.dir, "store.db"))
	run, samples, final, periodic, hosts := got.run, got.samples, got.final, got.periodic, got.hosts
	if len(run.Trials) != 4 {
		t.Fatalf("%d trials, want 4", len(run.Trials))
	}
	for _, s := range samples {
		if s.Kind == benchrig.SampleTrial && !s.Final && (s.Node == "" || s.ContainerID == "" || s.Cgroup == nil || s.Cgroup.CPU == nil) {
			t.Errorf("periodic sample %+v lacks its node, container or CPU", s)
		}
	}
	for _, tr := range run.Trials {
		s, ok := final[tr.Ref()]
		if !ok || s.Seq != 0 || s.Node != tr.Node || s.Arch != "amd64" || s.Cgroup == nil || s.Cgroup.CPU == nil {
			t.Errorf("trial %v: final sample %+v", tr.Ref(), s)
			continue
		}
		// The shim's cgroup CPU covers the container (the shim too): at
		// least the command's own CPU.
		if cpu := *s.Cgroup.CPU; cpu < tr.User+tr.Sys || math.Abs(cpu.Seconds()-tr.Metrics["container_cpu_s"]) > 1e-6 {
			t.Errorf("trial %v: sample CPU %v, trial CPU %v, container_cpu_s %v", tr.Ref(), cpu, tr.User+tr.Sys, tr.Metrics["container_cpu_s"])
		}
		if tr.Wall > 300e6 && periodic[tr.Ref()] == 0 {
			t.Errorf("trial %v ran %v but has no periodic sample from its node's collector", tr.Ref(), tr.Wall)
		}
	}
	// The shim attributes the host's other CPU to each trial that ran
	// alone on its node (lab2 runs one trial at a time).
	for _, tr := range run.Trials {
		if tr.Node == "lab2" && (tr.Noise == nil || tr.Noise.CPUs == 0 || tr.Noise.Window <= 0 || tr.Noise.Resolution <= 0) {
			t.Errorf("trial %v on lab2: noise %+v, want the shim's", tr.Ref(), tr.Noise)
		}
	}
	if hosts["lab1"] == 0 || hosts["lab2"] == 0 {
		t.Errorf("host samples per node: %v; collection %+v", hosts, run.Collection)
	}

	for _, e := range got.events {
		if e.Kind == benchrig.EventContainer && e.Trial != nil && strings.HasPrefix(e.Msg, "die ") && !strings.HasSuffix(e.Msg, "(exit 0)") {
			t.Errorf("die event %q: want exit 0", e.Msg)
		}
	}
	containerEventsOfEveryTrial(t, run, got.events)

	col := run.Collection
	if col == nil || col.Sink != "store" || len(col.Collectors) != 2 {
		t.Fatalf("Collection %+v", col)
	}
	for _, cc := range col.Collectors {
		if cc.Mode != "process" || cc.Samples == 0 || cc.CPU <= 0 || cc.Wall <= 0 || (cc.Node != "lab1" && cc.Node != "lab2") {
			t.Errorf("collector cost %+v", cc)
		}
	}
	if col.Shipping.Sent != int64(len(samples)) || col.Shipping.Failed != 0 {
		t.Errorf("shipping %+v for %d samples stored", col.Shipping, len(samples))
	}
	noLeftovers(t)
}

// collected is what a lab run stored in its store: the run, its samples
// (the trials' final ones, the count of periodic ones per trial, the count
// of host ones per node) and its events.
type collected struct {
	run      *benchrig.Run
	samples  []benchrig.Sample
	final    map[benchrig.TrialRef]benchrig.Sample
	periodic map[benchrig.TrialRef]int
	hosts    map[string]int
	events   []benchrig.Event
}

// readCollected reads the latest run of the store at path and what was
// collected beside it.
func readCollected(t *testing.T, path string) collected {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := collected{final: map[benchrig.TrialRef]benchrig.Sample{}, periodic: map[benchrig.TrialRef]int{}, hosts: map[string]int{}}
	if c.run, err = db.GetRun(ctx, "latest"); err != nil {
		t.Fatal(err)
	}
	if c.samples, err = db.Samples(ctx, c.run.ID); err != nil {
		t.Fatal(err)
	}
	for _, s := range c.samples {
		switch {
		case s.Kind == benchrig.SampleHost:
			c.hosts[s.Node]++
		case s.Kind == benchrig.SampleTrial && s.Final:
			c.final[*s.Trial] = s
		case s.Kind == benchrig.SampleTrial:
			c.periodic[*s.Trial]++
		}
	}
	if c.events, err = db.Events(ctx, c.run.ID, 0); err != nil {
		t.Fatal(err)
	}
	return c
}

// containerEventsOfEveryTrial fails the test unless every trial of run has
// its container's create, start and die among events.
func containerEventsOfEveryTrial(t *testing.T, run *benchrig.Run, events []benchrig.Event) {
	t.Helper()
	seen := map[benchrig.TrialRef]map[string]bool{}
	for _, e := range events {
		if e.Kind != benchrig.EventContainer || e.Trial == nil {
			continue
		}
		if seen[*e.Trial] == nil {
			seen[*e.Trial] = map[string]bool{}
		}
		seen[*e.Trial][strings.Fields(e.Msg)[0]] = true
	}
	for _, tr := range run.Trials {
		if got := seen[tr.Ref()]; !got["create"] || !got["start"] || !got["die"] {
			t.Errorf("trial %v on %s: container events %v, want create, start and die", tr.Ref(), tr.Node, got)
		}
	}
}
