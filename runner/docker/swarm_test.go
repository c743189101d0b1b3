package docker

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/profiling"
	"github.com/benchrig/benchrig/runner"
)

func testSwarm(t *testing.T) *Swarm {
	t.Helper()
	sw, err := NewSwarm(SwarmConfig{Pool: "sw", Manager: "tcp://127.0.0.1:1", ShimDir: t.TempDir(), Owner: "host/1/2",
		Policy: benchrig.PoolPolicy{HostMounts: []string{"/data"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sw.Close() })
	return sw
}

// TestSwarmDescribe: the manager's node list becomes benchrig's facts; a
// node label (else an engine label) benchrig.arch declares an emulated
// architecture.
func TestSwarmDescribe(t *testing.T) {
	sw := testSwarm(t)
	n := swarm.Node{ID: "abcdefghijklmnop"}
	n.Description.Hostname = "n1"
	n.Description.Platform = swarm.Platform{Architecture: "x86_64", OS: "linux"}
	n.Description.Resources = swarm.Resources{NanoCPUs: 4e9, MemoryBytes: 8 << 30}
	n.Description.Engine = swarm.EngineDescription{EngineVersion: "20.10.24", Labels: map[string]string{"benchrig.arch": "arm64", "rack": "a"}}
	n.Spec.Availability = swarm.NodeAvailabilityDrain
	n.Status.State = swarm.NodeStateReady
	got := sw.describe(n, "n1", time.Millisecond)
	f := got.Facts
	if f.Arch != "arm64" || !f.ArchDeclared || f.EngineArch != "amd64" || f.CPUs != 4 || f.MemoryBytes != 8<<30 || f.Swarm != "tcp://127.0.0.1:1" || f.SwarmNodeID != n.ID || f.Pool != "sw" {
		t.Errorf("facts %+v", f)
	}
	if got.Availability != "drain" || got.State != "ready" || got.Labels["rack"] != "a" {
		t.Errorf("node %+v", got)
	}
	// The node's own label wins over the engine's.
	n.Spec.Labels = map[string]string{"benchrig.arch": "amd64"}
	if f := sw.describe(n, "n1", 0).Facts; f.Arch != "amd64" || f.ArchDeclared {
		t.Errorf("node label amd64 on an amd64 engine: %+v", f)
	}
}

// TestSwarmServiceSpec: a trial is one task pinned to its node, running
// the shim from the node's volume, never restarted.
func TestSwarmServiceSpec(t *testing.T) {
	sw := testSwarm(t)
	node := SwarmNode{ID: "node1", Facts: benchrig.NodeFacts{Name: "n1", Arch: "arm64", EngineArch: "amd64", ArchDeclared: true},
		NodeLabels: map[string]string{SwarmArchLabel: "arm64"}}
	x := sw.Executor(node)
	job := runner.Job{Argv: []string{"grep", "-c", "x"}, Env: []string{"A=1"}, Timeout: time.Second, DigestStdout: true,
		Container: &runner.Container{Image: "img:arm64", Labels: map[string]string{runner.LabelRun: "r1"}, CPUs: 1.5, MemoryBytes: 1 << 30,
			Mounts: []runner.Mount{{Source: "/data/x", Target: "/in", ReadOnly: true}}}}
	if err := x.Check(job); err != nil {
		t.Fatal(err)
	}
	for _, jobs := range []bool{false, true} {
		spec := x.serviceSpec(job, "benchrig-shim-arm64-abc", jobs)
		if jobs != (spec.Mode.ReplicatedJob != nil) || !jobs && (spec.Mode.Replicated == nil || *spec.Mode.Replicated.Replicas != 1) {
			t.Errorf("jobs %v: mode %+v", jobs, spec.Mode)
		}
		tt := spec.TaskTemplate
		cs := tt.ContainerSpec
		if tt.RestartPolicy.Condition != swarm.RestartPolicyConditionNone {
			t.Errorf("restart policy %+v", tt.RestartPolicy)
		}
		want := []string{"node.id==node1", "node.platform.arch==x86_64", "node.labels.benchrig.arch==arm64"}
		if !slices.Equal(tt.Placement.Constraints, want) {
			t.Errorf("constraints %v, want %v", tt.Placement.Constraints, want)
		}
		if !slices.Equal(cs.Command, []string{shimPath}) || strings.Join(cs.Args, " ") != "-timeout 1s -digest -- grep -c x" || cs.Init == nil || *cs.Init {
			t.Errorf("command %v args %v init %v", cs.Command, cs.Args, cs.Init)
		}
		if cs.Labels[runner.LabelOwner] != "host/1/2" || cs.Labels[runner.LabelRun] != "r1" || spec.Labels[runner.LabelRun] != "r1" {
			t.Errorf("labels %v / %v", cs.Labels, spec.Labels)
		}
		if len(cs.Mounts) != 2 {
			t.Fatalf("mounts %+v", cs.Mounts)
		}
		if m := cs.Mounts[0]; m.Type != mount.TypeVolume || m.Source != "benchrig-shim-arm64-abc" || m.Target != shimDir || !m.ReadOnly || m.VolumeOptions == nil || !m.VolumeOptions.NoCopy {
			t.Errorf("shim mount %+v", m)
		}
		if m := cs.Mounts[1]; m.Type != mount.TypeBind || m.Source != "/data/x" || m.Target != "/in" || !m.ReadOnly {
			t.Errorf("data mount %+v", m)
		}
		if l := tt.Resources.Limits; l.NanoCPUs != 1.5e9 || l.MemoryBytes != 1<<30 {
			t.Errorf("limits %+v", l)
		}
		if len(tt.Networks) != 0 {
			t.Errorf("networks %v, want the engine's default", tt.Networks)
		}
	}
}

// TestSwarmCheck refuses what a Swarm service cannot do, and what the
// pool's policy forbids, before anything runs.
func TestSwarmCheck(t *testing.T) {
	x := testSwarm(t).Executor(SwarmNode{ID: "n", Facts: benchrig.NodeFacts{Name: "n1", Arch: "amd64"}})
	base := func() runner.Job {
		return runner.Job{Argv: []string{"true"}, Container: &runner.Container{Image: "i"}}
	}
	for _, c := range []struct {
		name string
		edit func(*runner.Job)
		want string
	}{
		{"cpuset", func(j *runner.Job) { j.Container.CPUSet = "0" }, "cpuset"},
		{"read cap", func(j *runner.Job) { j.ReadBPS = 1 << 20; j.ReadDevice = "/dev/sda" }, "cannot cap reads"},
		{"gpus", func(j *runner.Job) { j.Container.GPUs = 1 }, "GPUs"},
		{"bridge", func(j *runner.Job) { j.Container.Network = "bridge" }, "network \"bridge\""},
		{"privileged", func(j *runner.Job) { j.Container.Privileged = true }, "privileged"},
		{"mount outside the policy", func(j *runner.Job) {
			j.Container.Mounts = []runner.Mount{{Source: "/etc", Target: "/x", ReadOnly: true}}
		}, "/etc"},
	} {
		j := base()
		c.edit(&j)
		if err := x.Check(j); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.want)
		}
	}
	if _, err := NewSwarm(SwarmConfig{Pool: "p", Manager: "tcp://a:1", Mode: "global"}); benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("mode global: %v", err)
	}
}

// TestSwarmProfilingCheck: a Swarm pool profiles only when its policy
// allows the node's profiler and it names benchrig's image, which runs
// the helper.
func TestSwarmProfilingCheck(t *testing.T) {
	for _, c := range []struct {
		profiler bool
		image    string
		want     string
	}{
		{false, "benchrig/benchrig:1", "profiler: true"},
		{true, "", "collector: {image"},
		{true, "benchrig/benchrig:1", ""},
	} {
		sw, err := NewSwarm(SwarmConfig{Pool: "sw", Manager: "tcp://127.0.0.1:1", ShimDir: t.TempDir(), CollectorImage: c.image, Policy: benchrig.PoolPolicy{Profiler: c.profiler}})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = sw.Executor(SwarmNode{ID: "n"}).CheckProfiling(t.Context(), profiling.Sampling{Event: "cpu-clock", Freq: 99})
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("profiler %v image %q: %v, want %q", c.profiler, c.image, err, c.want)
		}
		sw.Close()
	}
}

// TestSwarmTrialWire: the helper's request and result survive their trip
// through an environment variable and the task's logs, the profile's
// stacks and the error's code included.
func TestSwarmTrialWire(t *testing.T) {
	req := SwarmTrial{Node: "n1", Pool: "sw", Arch: "arm64", Policy: benchrig.PoolPolicy{Profiler: true}, Owner: "h/1/2",
		Sampling: profiling.Sampling{Event: "cpu-clock", Freq: 499},
		Job: swarmJob{Argv: []string{"sh", "-c", "x"}, Timeout: time.Second, Ref: benchrig.TrialRef{Run: "r", Case: "c", Rep: 3},
			Container: runner.Container{Image: "i:arm64", Labels: map[string]string{runner.LabelRun: "r"}, Mounts: []runner.Mount{{Source: "/a", Target: "/b", ReadOnly: true}}}}}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var back SwarmTrial
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, req) {
		t.Errorf("request: %+v (%v), want %+v", back, err, req)
	}
	res := SwarmTrialResult{Measurement: benchrig.Measurement{Wall: 5 * time.Millisecond, ExitCode: 0, Metrics: map[string]float64{"x": 1}},
		Profile: &benchrig.TrialProfile{Event: "cpu-clock", Freq: 499}, Stacks: map[string]int64{"sh;main": 7}, Err: &wireError{Code: benchrig.EUnavailable, Msg: "gone", Retryable: true}}
	b, err = json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var got SwarmTrialResult
	if err := json.Unmarshal(b, &got); err != nil || got.Stacks["sh;main"] != 7 || got.Measurement.Wall != 5*time.Millisecond || got.Err.Code != benchrig.EUnavailable || !got.Err.Retryable {
		t.Errorf("result %+v (%v)", got, err)
	}
}
