package docker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/benchrig/benchrig/runner"
)

// labSwarm returns the lab's cluster (BENCHRIG_LAB_SWARM, a manager) with
// the test's shims, and its nodes by name. On cleanup it closes it and
// fails the test if a service of the test's run is left.
func labSwarm(t *testing.T, shimDir string) (*Swarm, map[string]SwarmNode) {
	return labSwarmWith(t, SwarmConfig{ShimDir: shimDir})
}

// labSwarmWith is labSwarm for any configuration. Unless it forces job
// services (whose tasks and containers 20.10 engines leave behind), the
// cleanup also fails the test if a container of its run is left on a node.
func labSwarmWith(t *testing.T, cfg SwarmConfig) (*Swarm, map[string]SwarmNode) {
	t.Helper()
	manager := labHost(t, "BENCHRIG_LAB_SWARM")
	cfg.Pool, cfg.Manager = "swarm", manager
	if cfg.ShimDir == "" {
		cfg.ShimDir = testShimDir
	}
	sw, err := NewSwarm(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runID := testRunID(t)
	t.Cleanup(func() {
		if err := sw.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if n := len(runServices(t, manager, runID)); n != 0 {
			t.Errorf("%d services of run %s left", n, runID)
		}
		if cfg.Mode != "job" {
			waitNoContainers(t, runID)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := sw.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]SwarmNode{}
	for _, n := range list {
		byName[n.Facts.Name] = n
	}
	for _, name := range []string{"lab1", "lab2", "lab3"} {
		if n, ok := byName[name]; !ok || n.State != "ready" {
			t.Fatalf("swarm node %s: %+v (want ready; make testenv forms the swarm)", name, n)
		}
	}
	return sw, byName
}

// labNodeHosts are the engines of the lab's swarm nodes, which the tests
// (never benchrig) read to see what Swarm left on them.
var labNodeHosts = []string{"tcp://10.99.0.11:2375", "tcp://10.99.0.12:2375", "tcp://10.99.0.13:2375"}

// waitNoContainers fails the test unless, soon, no node holds a container
// of run runID: a worker removes a removed service's container on its
// own time, after the manager said the service is gone.
func waitNoContainers(t *testing.T, runID string) {
	t.Helper()
	var left []string
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		left = left[:0]
		for _, h := range labNodeHosts {
			for _, c := range listRun(t, h, runID) {
				left = append(left, h+": "+c.Names[0]+" "+c.Status)
			}
		}
		if len(left) == 0 {
			return
		}
	}
	t.Errorf("containers of run %s left on the nodes: %v", runID, left)
}

func runServices(t *testing.T, manager, runID string) []swarm.Service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := rawClient(t, manager).ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("label", runner.LabelRun+"="+runID)})
	if err != nil {
		t.Fatal(err)
	}
	return res.Items
}

// TestLabSwarmNodes: the manager's view of the lab's nodes feeds benchrig's
// facts, lab3's label declaring its emulated architecture.
func TestLabSwarmNodes(t *testing.T) {
	_, nodes := labSwarm(t, "")
	for name, n := range nodes {
		f := n.Facts
		// lab2 may be drained by cmd/benchrig's drain test meanwhile.
		if f.EngineArch != "amd64" || f.CPUs < 1 || f.MemoryBytes <= 0 || f.EngineVersion == "" || (n.Availability != "active" && name != "lab2") || f.Pool != "swarm" {
			t.Errorf("%s: %+v availability %q", name, f, n.Availability)
		}
		wantArch := map[string]string{"lab1": "amd64", "lab2": "amd64", "lab3": "arm64"}[name]
		if f.Arch != wantArch || f.ArchDeclared != (name == "lab3") {
			t.Errorf("%s: arch %s declared %v, want %s", name, f.Arch, f.ArchDeclared, wantArch)
		}
	}
	if nodes["lab3"].NodeLabels[SwarmArchLabel] != "arm64" || nodes["lab3"].Labels["benchrig.node"] != "lab3" {
		t.Errorf("lab3 labels: node %v, all %v", nodes["lab3"].NodeLabels, nodes["lab3"].Labels)
	}
}

// TestLabSwarmRun runs trials as services on each node, the arm64 one
// included: exit codes, output counts and the stderr tail come from the
// shim through the task's logs; a missing image is bad input.
func TestLabSwarmRun(t *testing.T) {
	sw, nodes := labSwarm(t, "")
	tests := []struct {
		node, image string
		argv        []string
		exit        int
		stdout      int64
		tail        string
	}{
		{node: "lab1", image: "benchrig/busybox:amd64", argv: []string{"sh", "-c", "test $(uname -m) = x86_64"}},
		{node: "lab1", image: "benchrig/busybox:amd64", argv: []string{"sh", "-c", "echo hi; echo err >&2; exit 3"}, exit: 3, stdout: 3, tail: "err\n"},
		{node: "lab3", image: "benchrig/busybox:arm64", argv: []string{"sh", "-c", "test $(uname -m) = aarch64"}},
	}
	// Never lab2: cmd/benchrig's TestLabSwarmDrainDuringARun drains it
	// for a while, and packages' tests run at the same time.
	for _, tc := range tests {
		t.Run(tc.node+" "+tc.argv[len(tc.argv)-1], func(t *testing.T) {
			x := sw.Executor(nodes[tc.node])
			t0 := time.Now()
			m, err := x.Run(context.Background(), job(t, tc.image, tc.argv...))
			if err != nil {
				t.Fatal(err)
			}
			if m.ExitCode != tc.exit || m.StdoutBytes != tc.stdout || m.StderrTail != tc.tail || !strings.HasPrefix(m.Source, "shim") || m.Wall <= 0 {
				t.Errorf("exit %d stdout %d tail %q source %q wall %v", m.ExitCode, m.StdoutBytes, m.StderrTail, m.Source, m.Wall)
			}
			// The command's time is the shim's, a small part of the
			// task's: Swarm's scheduling and the container's start are
			// outside it.
			if m.Metrics["task_total_s"] <= m.Wall.Seconds() || m.Metrics["service_create_s"] <= 0 || time.Duration(m.Metrics["trial_total_s"]*1e9) > time.Since(t0) {
				t.Errorf("metrics %v, wall %v", m.Metrics, m.Wall)
			}
		})
	}
	t.Run("missing image", func(t *testing.T) {
		_, err := sw.Executor(nodes["lab1"]).Run(context.Background(), job(t, "benchrig/nosuch:amd64", "true"))
		if err == nil || !strings.Contains(err.Error(), "not loaded on the node") {
			t.Errorf("err = %v", err)
		}
	})
}

// TestLabSwarmShimFill: a shim the nodes have never seen (another build:
// another volume) is put into the node's volume through swarm configs
// before the first trial, which then runs.
func TestLabSwarmShimFill(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(testShimDir, ShimName("amd64")))
	if err != nil {
		t.Fatal(err)
	}
	// A byte past the ELF's end changes the hash, not the program.
	data = append(data, []byte(t.Name()+time.Now().String())...)
	if err := os.WriteFile(filepath.Join(dir, ShimName("amd64")), data, 0o755); err != nil {
		t.Fatal(err)
	}
	sw, nodes := labSwarm(t, dir)
	m, err := sw.Executor(nodes["lab1"]).Run(context.Background(), job(t, "benchrig/busybox:amd64", "true"))
	if err != nil || m.ExitCode != 0 {
		t.Fatalf("err %v, exit %d %q", err, m.ExitCode, m.Error)
	}
	s, _ := sw.base.shim("amd64")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := rawClient(t, labHost(t, "BENCHRIG_LAB_SWARM"))
	res, err := c.ConfigList(ctx, client.ConfigListOptions{Filters: client.Filters{}.Add("label", labelShim+"="+s.sha)})
	if err != nil {
		t.Fatal(err)
	}
	if want := (len(data) + configChunk - 1) / configChunk; len(res.Items) != want {
		t.Errorf("%d configs hold the shim, want %d chunks", len(res.Items), want)
	}
	// Only this test uses this shim: remove its configs once the
	// filler's service is gone.
	sw.Settle()
	for _, cf := range res.Items {
		if _, err := c.ConfigRemove(ctx, cf.ID, client.ConfigRemoveOptions{}); err != nil {
			t.Logf("remove config %s: %v", cf.Spec.Name, err)
		}
	}
}

// TestLabSwarmTimeoutAndCancel: the shim kills a command at its timeout;
// cancelling the context removes the service, which kills the task.
func TestLabSwarmTimeoutAndCancel(t *testing.T) {
	sw, nodes := labSwarm(t, "")
	x := sw.Executor(nodes["lab1"])
	j := job(t, "benchrig/busybox:amd64", "sleep", "30")
	j.Timeout = 300 * time.Millisecond
	m, err := x.Run(context.Background(), j)
	if err != nil || m.Error != "timeout" || m.Wall < j.Timeout || m.Wall > j.Timeout+time.Second {
		t.Errorf("timeout: err %v, error %q wall %v", err, m.Error, m.Wall)
	}

	manager := labHost(t, "BENCHRIG_LAB_SWARM")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelledAt := make(chan time.Time, 1)
	go func() {
		defer func() { cancelledAt <- time.Now(); cancel() }()
		waitTaskRunning(t, manager, testRunID(t))
	}()
	m, err = x.Run(ctx, job(t, "benchrig/busybox:amd64", "sleep", "30"))
	took := time.Since(<-cancelledAt)
	if err != nil || m.Error != "cancelled" || took > 10*time.Second {
		t.Errorf("cancel: err %v, error %q, took %v", err, m.Error, took)
	}
	if n := len(runServices(t, manager, testRunID(t))); n != 0 {
		t.Errorf("%d services left right after the cancelled Run returned", n)
	}
}

// waitTaskRunning returns once a task of a service of run runID runs.
func waitTaskRunning(t *testing.T, manager, runID string) {
	t.Helper()
	c := rawClient(t, manager)
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		for _, svc := range runServices(t, manager, runID) {
			res, err := c.TaskList(context.Background(), client.TaskListOptions{Filters: client.Filters{}.Add("service", svc.ID)})
			if err != nil {
				continue // removed meanwhile (an earlier trial's)
			}
			for _, task := range res.Items {
				if task.Status.State == swarm.TaskStateRunning {
					return
				}
			}
		}
	}
	t.Errorf("no task of run %s running after 60s", runID)
}

// TestLabSwarmReap: a service left by a dead benchrig process is reaped.
func TestLabSwarmReap(t *testing.T) {
	sw, nodes := labSwarm(t, "")
	manager := labHost(t, "BENCHRIG_LAB_SWARM")
	ctx := context.Background()
	// A dead process's service: the owner's pid cannot exist.
	host, _ := os.Hostname()
	dead := map[string]string{runner.LabelOwner: host + "/999999999/1", runner.LabelRun: testRunID(t)}
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "benchrig-deadowner-" + strings.ToLower(testRunIDSuffix(t)), Labels: dead},
		Mode:        serviceMode(false),
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "benchrig/busybox:amd64", Command: []string{"sleep", "30"}, Labels: dead},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
			Placement:     &swarm.Placement{Constraints: []string{"node.id==" + nodes["lab1"].ID}}},
	}
	c := rawClient(t, manager)
	if _, err := c.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec}); err != nil {
		t.Fatal(err)
	}
	n, err := sw.Reap(ctx)
	if err != nil || n != 1 {
		t.Errorf("reap: %d removed, err %v; want the dead owner's service", n, err)
	}
}

// TestLabSwarmOrphanedJobTasks shows what the lab's 20.10 engines do with
// the tasks of removed replicated-job services (moby/moby#42789): the
// tasks stay listed and their containers stay on the node, the cancelled
// one still running. The default on such a manager, a replicated service
// of one replica, leaves neither.
func TestLabSwarmOrphanedJobTasks(t *testing.T) {
	manager := labHost(t, "BENCHRIG_LAB_SWARM")
	ctx := context.Background()
	runID := testRunID(t)
	v, err := rawClient(t, manager).ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if jobsFixed(v.Version) {
		t.Fatalf("the lab's manager runs engine %s, which has the fix: this test documents 20.10", v.Version)
	}
	trials := func(sw *Swarm, x *SwarmExecutor) {
		t.Helper()
		if m, err := x.Run(ctx, job(t, "benchrig/busybox:amd64", "true")); err != nil || m.ExitCode != 0 {
			t.Fatalf("err %v exit %d", err, m.ExitCode)
		}
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			defer cancel()
			waitTaskRunning(t, manager, runID)
		}()
		if m, err := x.Run(cctx, job(t, "benchrig/busybox:amd64", "sleep", "30")); err != nil || m.Error != "cancelled" {
			t.Fatalf("err %v error %q", err, m.Error)
		}
		sw.Settle()
	}

	jobSw, nodes := labSwarmWith(t, SwarmConfig{Mode: "job"})
	before, err := jobSw.OrphanedTasks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	trials(jobSw, jobSw.Executor(nodes["lab1"]))
	after, err := jobSw.OrphanedTasks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	left := listRun(t, labNodeHosts[0], runID)
	running := 0
	for _, c := range left {
		if c.State == "running" {
			running++
		}
	}
	t.Logf("job services: %d orphaned tasks before, %d after; %d containers left on lab1, %d running", before, after, len(left), running)
	if after-before != 2 || len(left) != 2 || running != 1 {
		t.Errorf("job services on engine %s: orphaned tasks %d -> %d, containers left %d (running %d); want 2 more, 2 left, 1 running (the bug this test documents)",
			v.Version, before, after, len(left), running)
	}
	cleanupRun(labNodeHosts[0], runID) // only the node's own engine can remove them

	sw, nodes := labSwarm(t, "") // replicated on this manager
	if jobs, err := sw.useJobs(ctx); err != nil || jobs {
		t.Fatalf("default mode on engine %s: jobs %v, err %v; want replicated", v.Version, jobs, err)
	}
	trials(sw, sw.Executor(nodes["lab1"]))
	again, err := sw.OrphanedTasks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again != after {
		t.Errorf("replicated services: orphaned tasks %d -> %d, want none more", after, again)
	}
	waitNoContainers(t, runID)
}

func TestJobsFixed(t *testing.T) {
	for v, want := range map[string]bool{"20.10.24+dfsg1": false, "23.0.0": true, "27.3.1": true, "19.03.5": false, "": false, "master-dockerproject-2024": false} {
		if got := jobsFixed(v); got != want {
			t.Errorf("jobsFixed(%q) = %v", v, got)
		}
	}
}

func testRunIDSuffix(t *testing.T) string {
	id := testRunID(t)
	if len(id) > 30 {
		id = id[len(id)-30:]
	}
	return strings.Trim(strings.NewReplacer("_", "-", ".", "-").Replace(id), "-")
}
