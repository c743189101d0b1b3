package nodes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/testenv"
)

// ticking is a clock that moves a second at every reading, so that each
// check has its own time.
type ticking struct {
	mu sync.Mutex
	t  time.Time
}

func (c *ticking) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// labPools is the Docker lab's pools file (BENCHRIG_LAB_POOLS) with a pool
// of one unreachable node added.
func labPools(t *testing.T) string {
	t.Helper()
	src := os.Getenv("BENCHRIG_LAB_POOLS")
	if src == "" {
		testenv.Skip(t, "BENCHRIG_LAB_POOLS unset: no Docker lab (make testenv starts one)")
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	y := string(b)
	// A lab started before host_mounts became a list wrote the old
	// switch, which pools files now refuse; scripts/lab.sh writes the list.
	y = strings.Replace(y, "policy: {host_mounts: true}", "policy: {host_mounts: [/tmp]}", 1)
	// The lab's Swarm pool (the same engines) has a test of its own.
	if i := strings.Index(y, "\n  swarm:\n"); i >= 0 {
		y = y[:i+1]
	}
	y += "  gone:\n    nodes:\n      - {name: nowhere, host: \"tcp://127.0.0.1:1\"}\n"
	path := filepath.Join(t.TempDir(), "pools.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStatusOfTheLab(t *testing.T) {
	path := labPools(t)
	stats := func() benchrig.QueueStats {
		return benchrig.QueueStats{Limits: map[string]int{"lab": 2, "gone": 1}, RunningRuns: map[string][]string{"lab": {"run-1"}},
			QueuedByPool: map[string]int{"lab": 3}}
	}
	s := NewStatus(path, stats)
	clock := &ticking{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.now = clock.now
	ctx := context.Background()

	ps, err := s.Pools(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]benchrig.PoolStatus{}
	var names []string
	for _, p := range ps {
		byName[p.Name] = p
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"gone", "lab"}) {
		t.Fatalf("pools %v", names)
	}
	lab := byName["lab"]
	if lab.Limit != 2 || !slices.Equal(lab.Running, []string{"run-1"}) || lab.Queued != 3 || !slices.Equal(lab.Policy.HostMounts, []string{"/tmp"}) {
		t.Errorf("lab: limit %d running %v queued %d policy %+v", lab.Limit, lab.Running, lab.Queued, lab.Policy)
	}
	wantArch := map[string]string{"lab1": "amd64", "lab2": "amd64", "lab3": "arm64"}
	checked := map[string]time.Time{}
	for _, n := range lab.Nodes {
		if !n.Healthy || n.Facts == nil {
			t.Errorf("node %s: healthy %v, error %q", n.Name, n.Healthy, n.Error)
			continue
		}
		if n.Facts.Arch != wantArch[n.Name] || n.Facts.Pool != "lab" || n.Facts.CPUs < 1 {
			t.Errorf("node %s: facts %+v", n.Name, n.Facts)
		}
		checked[n.Name] = n.Checked
	}
	if len(lab.Nodes) != 3 {
		t.Fatalf("lab nodes %+v", lab.Nodes)
	}
	if lab.Nodes[2].Facts != nil && lab.Nodes[2].Facts.Labels["emulated"] != "qemu" {
		t.Errorf("lab3's labels %v: the pools file's are missing", lab.Nodes[2].Facts.Labels)
	}
	gone := byName["gone"]
	if len(gone.Nodes) != 1 || gone.Nodes[0].Healthy || gone.Nodes[0].Error == "" || gone.Nodes[0].Facts != nil {
		t.Errorf("the unreachable node: %+v", gone.Nodes)
	}

	// Without refresh the last check is shown; a refresh within
	// MinRefresh too; past it, the nodes are contacted again.
	again := func(refresh bool) map[string]time.Time {
		t.Helper()
		ps, err := s.Pools(ctx, refresh)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]time.Time{}
		for _, p := range ps {
			for _, n := range p.Nodes {
				out[n.Name] = n.Checked
			}
		}
		return out
	}
	s.MinRefresh = time.Hour
	for _, refresh := range []bool{false, true} {
		for name, c := range again(refresh) {
			if name != "nowhere" && !c.Equal(checked[name]) {
				t.Errorf("refresh=%v within MinRefresh: %s checked again", refresh, name)
			}
		}
	}
	s.MinRefresh = 0
	for name, c := range again(true) {
		if name != "nowhere" && !c.After(checked[name]) {
			t.Errorf("refresh: %s not checked again (%v, before %v)", name, c, checked[name])
		}
	}

	// A pool removed from the file is gone from the view (and its cache).
	b, _ := os.ReadFile(path)
	y := string(b[:strings.Index(string(b), "  gone:")])
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	ps, err = s.Pools(ctx, false)
	if err != nil || len(ps) != 1 || ps[0].Name != "lab" {
		t.Fatalf("after removing pool gone: %+v, %v", ps, err)
	}
	s.mu.Lock()
	n := len(s.cache)
	s.mu.Unlock()
	if n != 3 {
		t.Errorf("%d nodes cached, want lab's 3", n)
	}
}

func TestStatusBadPoolsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pools.yaml")
	if err := os.WriteFile(path, []byte("pools:\n  lab:\n    policy: {host_mounts: true}\n    nodes:\n      - {name: a, host: \"tcp://127.0.0.1:1\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := NewStatus(path, nil).Pools(context.Background(), false)
	if benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), "host_mounts") {
		t.Errorf("err = %v, want the pools file's error", err)
	}
}

func TestPolicies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pools.yaml")
	y := "pools:\n  lab:\n    policy: {host_mounts: [/srv/data], privileged: true}\n    nodes:\n      - {name: a, host: \"tcp://127.0.0.1:1\"}\n" +
		"  plain:\n    nodes:\n      - {name: b, host: \"tcp://127.0.0.1:1\"}\n"
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	pols, err := Policies(path, []string{"lab", "plain"})
	if err != nil {
		t.Fatal(err)
	}
	if p := pols["lab"]; !p.Privileged || !slices.Equal(p.HostMounts, []string{"/srv/data"}) || len(pols) != 2 || pols["plain"].Privileged {
		t.Errorf("policies %+v", pols)
	}
	if _, err := Policies(path, []string{"nope"}); benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("unknown pool: %v", err)
	}
}

// TestStatusOfTheLabSwarm: a Swarm pool's nodes in the pools view are the
// cluster's, as its manager lists them, with their availability.
func TestStatusOfTheLabSwarm(t *testing.T) {
	manager := os.Getenv("BENCHRIG_LAB_SWARM")
	if manager == "" {
		testenv.Skip(t, "BENCHRIG_LAB_SWARM unset: no Swarm lab (make testenv forms one)")
	}
	path := filepath.Join(t.TempDir(), "pools.yaml")
	y := fmt.Sprintf("pools:\n  swarm:\n    swarm: {manager: %q}\n  deadswarm:\n    swarm: {manager: 'tcp://127.0.0.1:1'}\n", manager)
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	ps, err := NewStatus(path, nil).Pools(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Name != "deadswarm" || ps[1].Name != "swarm" {
		t.Fatalf("pools %+v", ps)
	}
	if d := ps[0]; d.Swarm != "tcp://127.0.0.1:1" || len(d.Nodes) != 1 || d.Nodes[0].Healthy || d.Nodes[0].Error == "" {
		t.Errorf("the unreachable manager: %+v", d)
	}
	sw := ps[1]
	if sw.Swarm != manager || len(sw.Nodes) != 3 {
		t.Fatalf("swarm pool %+v", sw)
	}
	for _, n := range sw.Nodes {
		f := n.Facts
		if !n.Healthy || f == nil || f.Swarm != manager || f.SwarmNodeID == "" || f.Pool != "swarm" || n.Availability == "" {
			t.Errorf("node %+v facts %+v", n, f)
			continue
		}
		if (n.Name == "lab3") != (f.Arch == "arm64") {
			t.Errorf("%s: arch %s", n.Name, f.Arch)
		}
	}
}
