package runner

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// fakeNodes is a Discoverer whose answer a test can change mid-run.
type fakeNodes struct {
	mu    sync.Mutex
	nodes []*Node
}

var _ Discoverer = (*fakeNodes)(nil)

func (f *fakeNodes) Nodes(context.Context) ([]*Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.nodes), nil
}

func (f *fakeNodes) set(nodes ...*Node) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes = nodes
}

// nodeExec is a fake container executor: it records the jobs it ran and
// answers pings unless down.
type nodeExec struct {
	name string
	mu   sync.Mutex
	jobs []Job
	down atomic.Bool
	// run, if set, decides a job's outcome; default: 10ms of wall.
	run func(ctx context.Context, job Job, n int) (benchrig.Measurement, error)
}

func (e *nodeExec) Run(ctx context.Context, job Job) (benchrig.Measurement, error) {
	e.mu.Lock()
	e.jobs = append(e.jobs, job)
	n := len(e.jobs)
	e.mu.Unlock()
	if e.down.Load() {
		return benchrig.Measurement{}, &benchrig.Error{Code: benchrig.EUnavailable, Msg: "node " + e.name + ": connection refused", Retryable: true}
	}
	if e.run != nil {
		return e.run(ctx, job, n)
	}
	return benchrig.Measurement{Start: time.Now(), Wall: 10 * time.Millisecond, Source: "fake"}, nil
}

func (e *nodeExec) Facts(context.Context) (benchrig.NodeFacts, error) {
	if e.down.Load() {
		return benchrig.NodeFacts{}, errors.New("connection refused")
	}
	return benchrig.NodeFacts{Name: e.name}, nil
}

func fakeNode(name, arch string, declared bool, labels map[string]string) (*Node, *nodeExec) {
	e := &nodeExec{name: name}
	return &Node{
		Name: name, Pool: "lab", MaxTrials: 1, Labels: labels, Executor: e,
		Facts: benchrig.NodeFacts{Name: name, Arch: arch, ArchDeclared: declared, EngineArch: "amd64"},
	}, e
}

func containerSpec() *benchrig.Spec {
	s := testSpec()
	s.Image = "benchrig/busybox"
	s.Images = map[string]string{"arm64": "benchrig/busybox:arm64"}
	s.Repeat = benchrig.Repeat{Min: 3, Max: 3}
	return s
}

// on returns a channel closed at the run's first event of kind about
// node, through a subscriber it adds to cfg: fakes wait on it instead of
// sleeping until the runner has seen something.
func on(cfg *Config, kind benchrig.EventKind, node string) <-chan struct{} {
	ch := make(chan struct{})
	var once sync.Once
	cfg.Subscribers = append(cfg.Subscribers, Subscriber{Name: "on-" + kind.String(), Handle: func(e benchrig.Event) {
		if e.Kind == kind && (node == "" || e.Node == node) {
			once.Do(func() { close(ch) })
		}
	}})
	return ch
}

// await waits for ch; the deadline only keeps a broken runner from
// hanging the test.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Errorf("timed out waiting for %s", what)
	}
}

func nodeConfig(d Discoverer, rec Recorder) Config {
	return Config{Nodes: d, Recorder: rec, Dir: "/tmp", Refresh: 20 * time.Millisecond}
}

func trialsByCaseNode(trials []benchrig.Trial) map[string]int {
	out := map[string]int{}
	for _, t := range trials {
		if !t.Warmup {
			out[t.CaseID+"@"+t.Node]++
		}
	}
	return out
}

func TestEveryCaseOnEveryNodeWithItsArchImage(t *testing.T) {
	n1, e1 := fakeNode("lab1", "amd64", false, nil)
	n2, e2 := fakeNode("lab2", "amd64", false, nil)
	n3, e3 := fakeNode("lab3", "arm64", true, map[string]string{"emulated": "qemu"})
	rec := &memRecorder{}
	run, err := Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1, n2, n3}}, rec), containerSpec())
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Cases) != 6 {
		t.Fatalf("cases = %d, want 3 nodes x 2 impls", len(run.Cases))
	}
	for _, c := range run.Cases {
		node, _ := c.Get("node")
		pl := run.Placements[c.ID]
		if pl.Node != node {
			t.Errorf("case %s placed on %s", c.ID, pl.Node)
		}
		wantImg, wantArch := "benchrig/busybox", "amd64"
		if node == "lab3" {
			wantImg, wantArch = "benchrig/busybox:arm64", "arm64"
		}
		if pl.Image != wantImg || pl.Arch != wantArch {
			t.Errorf("case %s: placement %+v, want image %s arch %s", c.ID, pl, wantImg, wantArch)
		}
	}
	got := trialsByCaseNode(run.Trials)
	for _, c := range run.Cases {
		node, _ := c.Get("node")
		if got[c.ID+"@"+node] != 3 {
			t.Errorf("case %s: %d measured trials on %s, want 3 (all: %v)", c.ID, got[c.ID+"@"+node], node, got)
		}
	}
	for _, j := range e3.jobs {
		if j.Container.Platform != "linux/arm64" || j.Container.Image != "benchrig/busybox:arm64" {
			t.Errorf("lab3 job container %+v, want platform linux/arm64 and the arm64 image", j.Container)
		}
	}
	for _, e := range []*nodeExec{e1, e2, e3} {
		for _, j := range e.jobs {
			c := j.Container
			if c.Labels[LabelRun] != run.ID || c.Labels[LabelCase] == "" || c.Labels[LabelTrial] == "" || c.Labels[LabelSpec] != "t" {
				t.Errorf("%s: labels %v lack run, case, trial or spec", e.name, c.Labels)
			}
			if c.Network != "none" || len(j.Env) != 0 {
				t.Errorf("%s: network %q env %v, want none and only the spec's env", e.name, c.Network, j.Env)
			}
		}
	}
	if len(run.Nodes) != 3 {
		t.Errorf("run.Nodes = %v, want the facts of 3 nodes", run.Nodes)
	}
}

func TestPerArchAndConstraints(t *testing.T) {
	n1, _ := fakeNode("lab1", "amd64", false, map[string]string{"disk": "ssd"})
	n2, _ := fakeNode("lab2", "amd64", false, nil)
	n3, _ := fakeNode("lab3", "arm64", true, map[string]string{"disk": "ssd"})
	nodes := &fakeNodes{nodes: []*Node{n1, n2, n3}}
	for _, tc := range []struct {
		name  string
		pl    benchrig.Placement
		param string
		want  []string // placement values
		err   string
	}{
		{"per arch", benchrig.Placement{Per: benchrig.PerArch}, "arch", []string{"amd64", "arm64"}, ""},
		{"labels", benchrig.Placement{Labels: map[string]string{"disk": "ssd"}}, "node", []string{"lab1", "lab3"}, ""},
		{"arch", benchrig.Placement{Arch: []string{"arm64"}}, "node", []string{"lab3"}, ""},
		{"fixed set", benchrig.Placement{Nodes: []string{"lab2"}}, "node", []string{"lab2"}, ""},
		{"unknown node", benchrig.Placement{Nodes: []string{"lab9"}}, "", nil, `no reachable node "lab9"`},
		{"nothing matches", benchrig.Placement{Labels: map[string]string{"gpu": "a100"}}, "", nil, "lab1: lacks label gpu=a100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := containerSpec()
			s.Placement = tc.pl
			s.Repeat = benchrig.Repeat{Min: 1, Max: 1}
			s.Warmup = 0
			run, err := Run(context.Background(), nodeConfig(nodes, &memRecorder{}), s)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || benchrig.ErrorCode(err) != benchrig.EUnavailable {
					t.Fatalf("err = %v, want EUnavailable (could not run) with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var vals []string
			for _, c := range run.Cases {
				v, _ := c.Get(tc.param)
				if !slices.Contains(vals, v) {
					vals = append(vals, v)
				}
			}
			sort.Strings(vals)
			if !slices.Equal(vals, tc.want) {
				t.Errorf("%s values = %v, want %v", tc.param, vals, tc.want)
			}
		})
	}
}

func TestNoImageForArchSkipsTheCase(t *testing.T) {
	n1, _ := fakeNode("lab1", "amd64", false, nil)
	n3, e3 := fakeNode("lab3", "arm64", true, nil)
	s := containerSpec()
	s.Image = ""
	s.Images = map[string]string{"amd64": "benchrig/debian"}
	run, err := Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1, n3}}, &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Skipped) != 2 || len(e3.jobs) != 0 {
		t.Fatalf("skipped %v, lab3 ran %d jobs; want both lab3 cases skipped, nothing run", run.Skipped, len(e3.jobs))
	}
	for id, why := range run.Skipped {
		if !strings.Contains(id, "node=lab3") || !strings.Contains(why, "no image for architecture arm64") {
			t.Errorf("skipped %s: %s", id, why)
		}
	}
}

func TestPolicyRefusesRiskyOptions(t *testing.T) {
	n1, _ := fakeNode("lab1", "amd64", false, nil)
	s := containerSpec()
	s.Container = benchrig.ContainerSpec{Privileged: true, Mounts: []benchrig.Mount{{Source: "/data"}}, Network: "host", Devices: []string{"/dev/kvm"}}
	_, err := Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1}}, &memRecorder{}), s)
	if benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Fatalf("err = %v, want EInvalid", err)
	}
	for _, want := range []string{"container.privileged", "container.mounts[0]", "container.network", "container.devices", "refused on node lab1: pool", "policy: {host_mounts: [/srv/bench-data]}"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// Mounts are allowed under the listed paths only, and read-write only
	// when the pool says so.
	n1.Policy = benchrig.PoolPolicy{Privileged: true, HostMounts: []string{"/srv"}, HostMountsRW: true, HostNetwork: true, Devices: true}
	_, err = Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1}}, &memRecorder{}), s)
	if err == nil || !strings.Contains(err.Error(), "/data is not under the host paths it allows (host_mounts: [/srv])") {
		t.Fatalf("a mount outside the allowed paths: %v", err)
	}
	n1.Policy = benchrig.PoolPolicy{Privileged: true, HostMounts: []string{"/data"}, HostNetwork: true, Devices: true}
	_, err = Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1}}, &memRecorder{}), s)
	if err == nil || !strings.Contains(err.Error(), "read-only mounts only") {
		t.Fatalf("a read-write mount without host_mounts_rw: %v", err)
	}
	n1.Policy.HostMountsRW = true
	if _, err := Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1}}, &memRecorder{}), s); err != nil {
		t.Fatalf("with a permissive policy: %v", err)
	}
}

func TestTrialsRunOnNodesAtOnce(t *testing.T) {
	// Each node's trial waits until the other node has one running too:
	// a runner that ran one trial at a time would time out here.
	var mu sync.Mutex
	running, overlap := 0, 0
	both := make(chan struct{})
	var once sync.Once
	slow := func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		mu.Lock()
		running++
		if running > 1 {
			overlap++
			once.Do(func() { close(both) })
		}
		mu.Unlock()
		await(t, both, "a trial on the other node")
		mu.Lock()
		running--
		mu.Unlock()
		return benchrig.Measurement{Start: time.Now(), Wall: 20 * time.Millisecond}, nil
	}
	n1, e1 := fakeNode("lab1", "amd64", false, nil)
	n2, e2 := fakeNode("lab2", "amd64", false, nil)
	e1.run, e2.run = slow, slow
	if _, err := Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1, n2}}, &memRecorder{}), containerSpec()); err != nil {
		t.Fatal(err)
	}
	if overlap == 0 {
		t.Errorf("no two trials ever overlapped across the two nodes")
	}
}

func TestOneTrialAtATimePerNodeUnlessAllowed(t *testing.T) {
	for _, tc := range []struct {
		name            string
		perNode, maxTri int
		want            int
	}{
		{"default", 0, 4, 1},
		{"spec allows 2", 2, 4, 2},
		{"node caps at 1", 3, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			running, peak := 0, 0
			full := make(chan struct{}) // tc.want trials run at once
			var once sync.Once
			n1, e1 := fakeNode("lab1", "amd64", false, nil)
			n1.MaxTrials = tc.maxTri
			e1.run = func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
				mu.Lock()
				running++
				peak = max(peak, running)
				if running >= tc.want {
					once.Do(func() { close(full) })
				}
				mu.Unlock()
				// Wait until as many trials as allowed run at once; then
				// hold a moment so that a runner starting one too many
				// shows it (the hold is the window under test, not a wait
				// for something to happen).
				await(t, full, fmt.Sprintf("%d trials at once", tc.want))
				time.Sleep(5 * time.Millisecond)
				mu.Lock()
				running--
				mu.Unlock()
				return benchrig.Measurement{Start: time.Now(), Wall: time.Millisecond}, nil
			}
			s := containerSpec()
			s.Placement.TrialsPerNode = tc.perNode
			if _, err := Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1}}, &memRecorder{}), s); err != nil {
				t.Fatal(err)
			}
			if peak != tc.want {
				t.Errorf("peak trials at once = %d, want %d", peak, tc.want)
			}
		})
	}
}

func TestLostNodeMovesItsCasesToItsClass(t *testing.T) {
	n1, e1 := fakeNode("lab1", "amd64", false, nil)
	n2, e2 := fakeNode("lab2", "amd64", false, nil)
	n3, e3 := fakeNode("lab3", "arm64", true, nil)
	// lab2 dies after its third job, lab3 after its second; lab1 lives.
	e2.run = func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		if n >= 3 {
			e2.down.Store(true)
			return benchrig.Measurement{}, &benchrig.Error{Code: benchrig.EUnavailable, Msg: "node lab2: connection reset"}
		}
		return benchrig.Measurement{Start: time.Now(), Wall: 10 * time.Millisecond}, nil
	}
	e3.run = func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		if n >= 2 {
			e3.down.Store(true)
			return benchrig.Measurement{}, &benchrig.Error{Code: benchrig.EUnavailable, Msg: "node lab3: connection reset"}
		}
		return benchrig.Measurement{Start: time.Now(), Wall: 10 * time.Millisecond}, nil
	}
	rec := &memRecorder{}
	run, err := Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1, n2, n3}}, rec), containerSpec())
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != benchrig.RunFailed {
		t.Errorf("status %s, want failed (lab3's cases lost trials)", run.Status)
	}
	// Every trial that finished is recorded, where it ran.
	if len(rec.trials) != len(run.Trials) {
		t.Errorf("recorded %d trials, run has %d", len(rec.trials), len(run.Trials))
	}
	ran := map[string]int{}
	for _, tr := range run.Trials {
		if !tr.Failed() {
			ran[tr.Node]++
		}
	}
	if ran["lab2"] != 2 || ran["lab3"] != 1 {
		t.Errorf("successful trials per node %v, want lab2's 2 and lab3's 1 kept", ran)
	}
	// lab2's cases finished on lab1: 3 measured trials each, none failed.
	for _, c := range run.Cases {
		node, _ := c.Get("node")
		var ok, lost int
		for _, tr := range run.Trials {
			if tr.CaseID != c.ID || tr.Warmup {
				continue
			}
			if tr.Failed() {
				lost++
				if !strings.HasPrefix(tr.Error, "node-lost") {
					t.Errorf("case %s: failed trial with error %q, want node-lost", c.ID, tr.Error)
				}
			} else {
				ok++
			}
		}
		switch node {
		case "lab1", "lab2":
			if ok != 3 || lost != 0 {
				t.Errorf("case %s: %d ok %d lost, want 3 ok", c.ID, ok, lost)
			}
		case "lab3":
			if ok+lost != 3 || lost == 0 {
				t.Errorf("case %s: %d ok %d lost, want the missing ones recorded as node-lost", c.ID, ok, lost)
			}
		}
	}
	var kinds []string
	for _, ev := range run.NodeEvents {
		kinds = append(kinds, ev.Node+":"+ev.Kind)
		switch ev.Node {
		case "lab2":
			if len(ev.MovedTo) != 2 || ev.MovedTo["node=lab2,impl=a"] != "lab1" || len(ev.Failed) != 0 {
				t.Errorf("lab2 event %+v, want both cases moved to lab1", ev)
			}
		case "lab3":
			if len(ev.MovedTo) != 0 || len(ev.Failed) != 2 {
				t.Errorf("lab3 event %+v, want both cases failed (no other arm64 node)", ev)
			}
		}
	}
	sort.Strings(kinds)
	if !slices.Equal(kinds, []string{"lab2:lost", "lab3:lost"}) {
		t.Errorf("node events %v", kinds)
	}
	if !strings.Contains(run.Notes["node=lab2,impl=a"], "moved to lab1") {
		t.Errorf("note %q", run.Notes["node=lab2,impl=a"])
	}
	_ = e1
}

func TestUnavailableButAliveNodeRetries(t *testing.T) {
	n1, e1 := fakeNode("lab1", "amd64", false, nil)
	e1.run = func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		if n == 2 { // one hiccup; the engine still answers pings
			return benchrig.Measurement{}, &benchrig.Error{Code: benchrig.EUnavailable, Msg: "node lab1: EOF"}
		}
		return benchrig.Measurement{Start: time.Now(), Wall: 10 * time.Millisecond}, nil
	}
	run, err := Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1}}, &memRecorder{}), containerSpec())
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != benchrig.RunFinished || len(run.NodeEvents) != 0 || len(run.Trials) != 8 {
		t.Errorf("status %s, events %v, %d trials; want finished, none, 8", run.Status, run.NodeEvents, len(run.Trials))
	}
}

func TestNodeRemovedFromPoolMidRun(t *testing.T) {
	n1, _ := fakeNode("lab1", "amd64", false, nil)
	n2, e2 := fakeNode("lab2", "amd64", false, nil)
	nodes := &fakeNodes{nodes: []*Node{n1, n2}}
	cfg := nodeConfig(nodes, &memRecorder{})
	drained := on(&cfg, benchrig.EventNodeDrained, "lab2")
	e2.run = func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		if n == 2 {
			nodes.set(n1) // `benchrig pool remove lab lab2` while a trial runs
			await(t, drained, "lab2 drained")
		}
		return benchrig.Measurement{Start: time.Now(), Wall: 10 * time.Millisecond}, nil
	}
	s := containerSpec()
	s.Repeat = benchrig.Repeat{Min: 10, Max: 10}
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != benchrig.RunFinished {
		t.Errorf("status %s, want finished: removal moves work, it does not fail it", run.Status)
	}
	lab2 := 0
	for _, tr := range run.Trials {
		if tr.Node == "lab2" {
			lab2++
		}
	}
	if lab2 < 2 || lab2 > 3 {
		t.Errorf("lab2 ran %d trials, want the 2 before removal (and at most one more in flight)", lab2)
	}
	if len(run.NodeEvents) != 1 || run.NodeEvents[0].Kind != benchrig.NodeRemoved {
		t.Errorf("events %+v, want lab2 removed", run.NodeEvents)
	}
	got := trialsByCaseNode(run.Trials)
	total := 0
	for _, n := range got {
		total += n
	}
	if total != 40 {
		t.Errorf("measured trials %d (%v), want 4 cases x 10", total, got)
	}
}

func TestNodeAddedMidRunTakesOverALostNodesWork(t *testing.T) {
	n3, e3 := fakeNode("lab3", "arm64", true, nil)
	n4, _ := fakeNode("lab4", "arm64", true, nil)
	nodes := &fakeNodes{nodes: []*Node{n3}}
	cfg := nodeConfig(nodes, &memRecorder{})
	joined := on(&cfg, benchrig.EventNodeJoined, "lab4")
	e3.run = func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		switch {
		case n == 2:
			nodes.set(n3, n4)
			await(t, joined, "lab4 joined")
		case n >= 4:
			e3.down.Store(true)
			return benchrig.Measurement{}, &benchrig.Error{Code: benchrig.EUnavailable, Msg: "gone"}
		}
		return benchrig.Measurement{Start: time.Now(), Wall: 10 * time.Millisecond}, nil
	}
	s := containerSpec()
	s.Placement.Per = benchrig.PerArch
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != benchrig.RunFinished {
		t.Fatalf("status %s, events %+v notes %v", run.Status, run.NodeEvents, run.Notes)
	}
	on4 := 0
	for _, tr := range run.Trials {
		if tr.Node == "lab4" {
			on4++
		}
	}
	if on4 == 0 {
		t.Errorf("lab4 ran nothing; events %+v", run.NodeEvents)
	}
}

func TestCancelStopsEveryNode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	block := func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		if n == 2 {
			cancel()
		}
		select {
		case <-ctx.Done():
			return benchrig.Measurement{Start: time.Now(), Error: "cancelled", ExitCode: -1}, nil
		case <-time.After(5 * time.Millisecond):
		}
		return benchrig.Measurement{Start: time.Now(), Wall: 5 * time.Millisecond}, nil
	}
	n1, e1 := fakeNode("lab1", "amd64", false, nil)
	n2, e2 := fakeNode("lab2", "amd64", false, nil)
	e1.run, e2.run = block, block
	rec := &memRecorder{}
	run, err := Run(ctx, nodeConfig(&fakeNodes{nodes: []*Node{n1, n2}}, rec), containerSpec())
	if benchrig.ErrorCode(err) != benchrig.ECancelled || run == nil || run.Status != benchrig.RunCancelled || !rec.finished {
		t.Fatalf("err %v, run %v", err, run)
	}
}

func TestNodeDownByHealthCheckIsLost(t *testing.T) {
	n1, _ := fakeNode("lab1", "amd64", false, nil)
	n2, e2 := fakeNode("lab2", "amd64", false, nil)
	nodes := &fakeNodes{nodes: []*Node{n1, n2}}
	cfg := nodeConfig(nodes, &memRecorder{})
	lost := on(&cfg, benchrig.EventNodeLost, "lab2")
	e2.run = func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		if n == 2 {
			down := *n2
			down.Down = "health check failed 2 times in a row"
			nodes.set(n1, &down)
			await(t, lost, "lab2 lost")
		}
		return benchrig.Measurement{Start: time.Now(), Wall: 10 * time.Millisecond}, nil
	}
	s := containerSpec()
	s.Repeat = benchrig.Repeat{Min: 8, Max: 8}
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.NodeEvents) != 1 || run.NodeEvents[0].Kind != benchrig.NodeLost || !strings.Contains(run.NodeEvents[0].Reason, "health check") {
		t.Fatalf("events %+v, want lab2 lost by its health check", run.NodeEvents)
	}
	if run.Status != benchrig.RunFinished || len(run.NodeEvents[0].MovedTo) != 2 {
		t.Errorf("status %s, moved %v; want finished with both cases moved", run.Status, run.NodeEvents[0].MovedTo)
	}
}

func TestSetupFailureOnANodeFailsOnlyThatNodesCase(t *testing.T) {
	n1, _ := fakeNode("lab1", "amd64", false, nil)
	n2, e2 := fakeNode("lab2", "amd64", false, nil)
	n3, e3 := fakeNode("lab3", "arm64", true, nil)
	// lab2 is gone when its first setup runs: its cases move to lab1 and
	// are set up there. lab3 lacks the image: its cases fail, alone.
	e2.down.Store(true)
	e3.run = func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		return benchrig.Measurement{}, &benchrig.Error{Code: benchrig.EInvalid, Msg: "node lab3: image benchrig/busybox:arm64 not found"}
	}
	s := containerSpec()
	s.Setup = &benchrig.Command{Argv: []string{"true"}}
	run, err := Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1, n2, n3}}, &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != benchrig.RunFailed {
		t.Errorf("status %s, want failed (lab3's cases did not run)", run.Status)
	}
	got := trialsByCaseNode(run.Trials)
	for _, c := range run.Cases {
		node, _ := c.Get("node")
		switch node {
		case "lab1", "lab2":
			if got[c.ID+"@lab1"] != 3 {
				t.Errorf("case %s: %v, want 3 trials on lab1", c.ID, got)
			}
		case "lab3":
			if !strings.Contains(run.Notes[c.ID], "image benchrig/busybox:arm64 not found") {
				t.Errorf("case %s note %q", c.ID, run.Notes[c.ID])
			}
		}
	}
	if len(run.NodeEvents) != 1 || run.NodeEvents[0].Node != "lab2" {
		t.Errorf("events %+v, want lab2 lost", run.NodeEvents)
	}
}

func TestDefaultBaselineIsPerNode(t *testing.T) {
	n1, _ := fakeNode("lab1", "amd64", false, nil)
	n3, _ := fakeNode("lab3", "arm64", true, nil)
	for _, tc := range []struct {
		name     string
		baseline map[string]string
		want     map[string]string // case -> its baseline
	}{
		{"none named", nil, map[string]string{"node=lab1,impl=b": "node=lab1,impl=a", "node=lab3,impl=b": "node=lab3,impl=a"}},
		{"across nodes when asked", map[string]string{"node": "lab1", "impl": "a"}, map[string]string{"node=lab3,impl=b": "node=lab1,impl=a", "node=lab1,impl=b": "node=lab1,impl=a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := containerSpec()
			s.Baseline = tc.baseline
			s.Repeat = benchrig.Repeat{Min: 1, Max: 1}
			run, err := Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1, n3}}, &memRecorder{}), s)
			if err != nil {
				t.Fatal(err)
			}
			for c, want := range tc.want {
				got := run.BaselineID
				if run.Baselines != nil {
					got = run.Baselines[c]
				}
				if got != want {
					t.Errorf("baseline of %s = %s, want %s", c, got, want)
				}
			}
		})
	}
}

// TestExcludeByArchOnNodes checks that an exclude entry naming arch
// removes the cases of the nodes of that architecture, although per-node
// placement makes node, not arch, a param.
func TestExcludeByArchOnNodes(t *testing.T) {
	n1, _ := fakeNode("lab1", "amd64", false, nil)
	n3, e3 := fakeNode("lab3", "arm64", true, nil)
	s := containerSpec()
	s.Exclude = []map[string]string{{"impl": s.Params[0].Values[1], "arch": "arm64"}}
	run, err := Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1, n3}}, &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range run.Cases {
		ids = append(ids, c.ID)
	}
	impl := s.Params[0].Values
	want := []string{"node=lab1,impl=" + impl[0], "node=lab1,impl=" + impl[1], "node=lab3,impl=" + impl[0]}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("cases = %v, want %v", ids, want)
	}
	for _, j := range e3.jobs {
		if strings.Contains(j.Container.Labels[LabelCase], "impl="+impl[1]) {
			t.Errorf("lab3 ran excluded case %s", j.Container.Labels[LabelCase])
		}
	}
}

// TestCheckPolicyBeforeNodes is the submit-time check: the same refusals
// as a run's, without a node, naming the pool and the spec's file.
func TestCheckPolicyBeforeNodes(t *testing.T) {
	s := containerSpec()
	s.File = "submitted.yaml"
	s.Container = benchrig.ContainerSpec{Privileged: true, Mounts: []benchrig.Mount{{Source: "{{.data}}", ReadOnly: true}, {Source: "/etc", ReadOnly: true}}}
	err := CheckPolicy(s, "lab", benchrig.PoolPolicy{HostMounts: []string{"/srv"}})
	var es benchrig.Errors
	if !errors.As(err, &es) || len(es) != 2 {
		t.Fatalf("err = %v, want two refusals", err)
	}
	if es[0].File != "submitted.yaml" || es[0].Field != "container.privileged" || !strings.Contains(es[0].Msg, "refused: pool lab does not allow it") {
		t.Errorf("first refusal %+v", es[0])
	}
	// The template is judged once expanded; the plain path now.
	if es[1].Field != "container.mounts[1]" || !strings.Contains(es[1].Msg, "/etc is not under") {
		t.Errorf("second refusal %+v", es[1])
	}
	if err := CheckPolicy(s, "lab", benchrig.PoolPolicy{Privileged: true, HostMounts: []string{"/"}}); err != nil {
		t.Errorf("allowed: %v", err)
	}
}
