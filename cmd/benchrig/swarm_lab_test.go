package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchrig/benchrig/internal/labshim"
	"github.com/benchrig/benchrig/internal/testenv"
)

// swarmCLI is a cli whose pools file has one pool, swarm, backed by the
// lab's Swarm cluster (BENCHRIG_LAB_SWARM, lab1 its manager), with a
// policy that allows read-only host mounts of the test's directory.
func swarmCLI(t *testing.T) (*cli, string) {
	t.Helper()
	manager := os.Getenv("BENCHRIG_LAB_SWARM")
	if manager == "" {
		testenv.Skip(t, "BENCHRIG_LAB_SWARM unset: no Swarm lab (make testenv forms one)")
	}
	c := newCLI(t)
	c.env = map[string]string{
		"BENCHRIG_POOLS":    c.write("pools.yaml", fmt.Sprintf("pools:\n  swarm:\n    policy: {host_mounts: [%q]}\n    swarm: {manager: %q}\n", c.dir, manager)),
		"BENCHRIG_SHIM_DIR": labshim.Dir(t),
	}
	return c, manager
}

// TestLabSwarmEveryCaseOnEveryNode runs a spec through a pool backed by
// the lab's swarm: a case on each of its nodes, lab3's as arm64 (placed by
// its node label), each trial timed by the shim in a Swarm task, and
// nothing left behind.
func TestLabSwarmEveryCaseOnEveryNode(t *testing.T) {
	c, _ := swarmCLI(t)
	everyCaseOnEveryNode(t, c, "swarm")
	noSwarmLeftovers(t)
}

// TestLabSwarmGrepImplBenchmark runs the grep-impl reference benchmark
// through the swarm, the arm64-labelled node included, as on the plain
// pool (TestLabGrepImplBenchmark).
func TestLabSwarmGrepImplBenchmark(t *testing.T) {
	c, _ := swarmCLI(t)
	grepImplOnPool(t, c, "swarm")
	noSwarmLeftovers(t)
}

// TestLabSwarmDrainDuringARun drains a node of the swarm while a run uses
// it: Swarm shuts its task down, the trial comes back to the runner, and
// the node's case finishes on the other node of its class. No trial is
// lost and none is counted twice.
func TestLabSwarmDrainDuringARun(t *testing.T) {
	c, manager := swarmCLI(t)
	swarmNode := func(args ...string) error {
		out, err := exec.Command("docker", append([]string{"-H", manager, "node"}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("docker node %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	t.Cleanup(func() {
		if err := swarmNode("update", "--availability", "active", "lab2"); err != nil {
			t.Error(err)
		}
	})
	spec := c.write("slow.yaml", `name: swarm-drain
command: 'sleep 0.5'
repeat: 6
warmup: 0
image: 'benchrig/busybox:{{.arch}}'
placement: {arch: [amd64]}
`)
	out := filepath.Join(c.dir, "out.json")
	drained := make(chan error, 1)
	lab2Trials := 0
	watch := func(line string) {
		if trialDoneOn(line) == "lab2" {
			if lab2Trials++; lab2Trials == 2 {
				go func() { drained <- swarmNode("update", "--availability", "drain", "lab2") }()
			}
		}
	}
	code, stdout, stderr := c.runWatching(context.Background(), watch, "run", spec, "--pool", "swarm", "--json", out)
	if code != 0 {
		t.Fatalf("exit %d, want 0: draining a node moves its work\n%s\n%s", code, stdout, stderr)
	}
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	r := readLabReport(t, out)
	if len(r.NodeEvents) != 1 || r.NodeEvents[0].Node != "lab2" || r.NodeEvents[0].Kind != "removed" {
		t.Errorf("node events %+v, want lab2 removed\n%s", r.NodeEvents, stderr)
	}
	for _, cs := range r.Cases {
		ok, on := 0, map[string]int{}
		for _, tr := range cs.Trials {
			if !tr.Failed {
				ok++
			}
			on[tr.Node]++
		}
		if ok != 6 || len(cs.Trials) != 6 {
			t.Errorf("case %s: %d successful trials of %d, want 6 of 6: %+v", cs.ID, ok, len(cs.Trials), cs.Trials)
		}
		if cs.Params["node"] == "lab2" && (on["lab2"] < 2 || on["lab1"] == 0) {
			t.Errorf("lab2's case ran on %v, want on lab2 until drained, then on lab1", on)
		}
	}
	if !strings.Contains(stderr, "lab2") {
		t.Errorf("the run's output does not mention lab2 leaving:\n%s", stderr)
	}
	noSwarmLeftovers(t)
}

// TestLabSwarmCollectorService: on a Swarm pool the run's collectors are
// one global service (the pool's collector image on every node), whose
// output comes back through the manager's logs: each trial's cgroup
// samples with its node and declared architecture, the hosts', the
// containers' events, and each node's collector cost. The service is gone
// when the run ends.
func TestLabSwarmCollectorService(t *testing.T) {
	c, manager := swarmCLI(t)
	image := "benchrig/collector:amd64"
	if out, err := exec.Command("docker", "-H", manager, "image", "inspect", image).CombinedOutput(); err != nil {
		t.Fatalf("%s is not on the manager (make testenv builds and loads it): %v %s", image, err, out)
	}
	pools := fmt.Sprintf("pools:\n  swarm:\n    policy: {host_mounts: [%q]}\n    swarm:\n      manager: %q\n      collector: {image: %s, docker_socket: '/run/benchrig-{{.Node.Hostname}}.sock'}\n", c.dir, manager, image)
	c.env["BENCHRIG_POOLS"] = c.write("pools.yaml", pools)
	spec := c.write("loop.yaml", `name: swarm-collect
command: 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done'
image: 'benchrig/busybox:{{.arch}}'
repeat: 2
warmup: 0
`)
	code, stdout, stderr := c.run(context.Background(), "run", "-q", spec, "--pool", "swarm", "--collect-interval", "100ms")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "collector: 3 collectors, ") {
		t.Errorf("the report does not say what was collected:\n%s", stdout)
	}
	got := readCollected(t, filepath.Join(c.dir, "store.db"))
	run, final, periodic, hosts := got.run, got.final, got.periodic, got.hosts
	arch := map[string]string{"lab1": "amd64", "lab2": "amd64", "lab3": "arm64"}
	for _, tr := range run.Trials {
		s, ok := final[tr.Ref()]
		if !ok || s.Node != tr.Node || s.Arch != arch[tr.Node] || s.Cgroup == nil || s.Cgroup.CPU == nil || *s.Cgroup.CPU < tr.User+tr.Sys {
			t.Errorf("trial %v on %s: final sample %+v", tr.Ref(), tr.Node, s)
		}
		if tr.Wall > 300e6 && periodic[tr.Ref()] == 0 {
			t.Errorf("trial %v ran %v but has no periodic sample from its node's collector", tr.Ref(), tr.Wall)
		}
	}
	for n := range arch {
		if hosts[n] == 0 {
			t.Errorf("no host samples of %s: %v", n, hosts)
		}
	}
	containerEventsOfEveryTrial(t, run, got.events)
	col := run.Collection
	if col == nil || len(col.Collectors) != 3 {
		t.Fatalf("Collection %+v", col)
	}
	for _, cc := range col.Collectors {
		if cc.Mode != "external" || cc.Samples == 0 || cc.CPU <= 0 || cc.Wall <= 0 || arch[cc.Node] == "" {
			t.Errorf("collector cost %+v", cc)
		}
	}
	out, err := exec.Command("docker", "-H", manager, "service", "ls", "-q", "--filter", "label=benchrig.run="+run.ID).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("services of the run left: %q %v", out, err)
	}
	noSwarmLeftovers(t)
}

// TestLabSwarmPoolCheck: pool check lists a Swarm pool's nodes as the
// manager describes them, with the same facts as plain nodes; a manager
// that does not answer is one unreachable row.
func TestLabSwarmPoolCheck(t *testing.T) {
	c, _ := swarmCLI(t)
	code, stdout, stderr := c.run(context.Background(), "pool", "check", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var rows []checkRow
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("rows %+v, want lab1, lab2 and lab3", rows)
	}
	for _, r := range rows {
		f := r.Facts
		if !r.Reachable || r.Availability != "active" || f == nil || f.SwarmNodeID == "" || f.CPUs < 1 || f.MemoryBytes <= 0 || f.EngineVersion == "" {
			t.Errorf("row %+v facts %+v", r, f)
			continue
		}
		if (r.Node == "lab3") != (f.Arch == "arm64" && f.ArchDeclared) {
			t.Errorf("%s: arch %s declared %v", r.Node, f.Arch, f.ArchDeclared)
		}
	}
	c.env["BENCHRIG_POOLS"] = c.write("dead.yaml", "pools:\n  swarm:\n    swarm: {manager: 'tcp://127.0.0.1:1'}\n")
	if code, _, stderr := c.run(context.Background(), "pool", "check"); code != 1 || !strings.Contains(stderr, "1 of 1 node(s) unreachable") {
		t.Errorf("a dead manager: exit %d\n%s", code, stderr)
	}
}

// TestLabSwarmManagerLost: the manager stops answering in the middle of a
// run (a proxy in front of it is killed): every node of the pool is lost
// with it, their trials in flight come back to the runner, and what could
// not run is recorded as node-lost. Every trial is accounted for.
func TestLabSwarmManagerLost(t *testing.T) {
	c, manager := swarmCLI(t)
	p := newProxy(t, strings.TrimPrefix(manager, "tcp://"))
	c.env["BENCHRIG_POOLS"] = c.write("proxied.yaml", fmt.Sprintf("pools:\n  swarm:\n    swarm: {manager: %q}\n", p.host()))
	spec := c.write("slow.yaml", `name: swarm-lost
command: 'sleep 0.2'
repeat: 8
warmup: 0
image: 'benchrig/busybox:{{.arch}}'
placement: {arch: [amd64]}
`)
	t.Cleanup(func() {
		// The services the manager could not be told to remove.
		exec.Command("sh", "-c", "docker -H "+manager+" service ls -q --filter label=benchrig.spec=swarm-lost | xargs -r docker -H "+manager+" service rm").Run()
	})
	out := filepath.Join(c.dir, "out.json")
	done := map[string]int{}
	watch := func(line string) {
		if n := trialDoneOn(line); n != "" {
			if done[n]++; done["lab1"] >= 2 && done["lab2"] >= 2 {
				p.kill()
			}
		}
	}
	code, stdout, stderr := c.runWatching(context.Background(), watch, "run", spec, "--pool", "swarm", "--json", out)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (the lost trials failed)\n%s\n%s", code, stdout, stderr)
	}
	r := readLabReport(t, out)
	for _, cs := range r.Cases {
		ok, lost := 0, 0
		for _, tr := range cs.Trials {
			switch {
			case !tr.Failed:
				ok++
			case strings.HasPrefix(tr.Error, "node-lost"):
				lost++
			default:
				t.Errorf("case %s: failed trial %q, want node-lost", cs.ID, tr.Error)
			}
		}
		if ok < 2 || lost == 0 || ok+lost != 8 {
			t.Errorf("case %s: %d ok, %d node-lost; want the trials before the loss ok and the rest node-lost, 8 in all", cs.ID, ok, lost)
		}
	}
	kinds := map[string]string{}
	for _, ev := range r.NodeEvents {
		kinds[ev.Node] = ev.Kind
	}
	if kinds["lab1"] != "lost" || kinds["lab2"] != "lost" {
		t.Errorf("node events %+v, want lab1 and lab2 lost", r.NodeEvents)
	}
}

// TestLabSwarmProfiledRun profiles trials on every node of the swarm: each
// profiled trial runs through a helper task (benchrig's image, the node's
// engine socket) that profiles it as on a plain node, with the node's
// profiler container. Each node's case has samples, the arm64 node's show
// qemu at work, and nothing is left on the nodes.
func TestLabSwarmProfiledRun(t *testing.T) {
	c, _ := swarmCLI(t)
	// The lab's own pools file: pool swarm allows the node's profiler and
	// names benchrig's image.
	c.env["BENCHRIG_POOLS"] = os.Getenv("BENCHRIG_LAB_POOLS")
	labProfiledRun(t, c, "swarm", noSwarmLeftovers, "--no-collect")
}
