package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig/internal/labshim"
	"github.com/benchrig/benchrig/internal/testenv"
	"github.com/benchrig/benchrig/runner/docker"
)

// These tests run specs in containers across the Docker test lab that
// `make testenv` starts (scripts/lab.sh): lab1 and lab2 (amd64) and lab3,
// an arm64 node under qemu-user emulation. BENCHRIG_LAB_POOLS names its
// pools file. Without it they skip, except under CI=true, where a skip
// would hide that the lab never ran: there they fail (internal/testenv).

// labNodes are the lab's engines, as scripts/lab.sh starts them.
var labNodes = map[string]string{
	"lab1": "tcp://10.99.0.11:2375",
	"lab2": "tcp://10.99.0.12:2375",
	"lab3": "tcp://10.99.0.13:2375",
}

func needLab(t *testing.T) {
	t.Helper()
	if os.Getenv("BENCHRIG_LAB_POOLS") == "" {
		testenv.Skip(t, "BENCHRIG_LAB_POOLS unset: no Docker lab (make testenv starts one)")
	}
}

// labCLI is a cli whose pools file lists the lab's nodes at the given
// addresses (a node missing from hosts is left out), with a policy that
// allows read-only host mounts of the test's directory, for data.
func labCLI(t *testing.T, hosts map[string]string) *cli {
	t.Helper()
	c := newCLI(t)
	var b strings.Builder
	fmt.Fprintf(&b, "pools:\n  lab:\n    policy: {host_mounts: [%q]}\n    nodes:\n", c.dir)
	for _, n := range []string{"lab1", "lab2", "lab3"} {
		h, ok := hosts[n]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "      - {name: %s, host: %q", n, h)
		if n == "lab3" {
			b.WriteString(", arch: arm64, labels: {emulated: qemu}")
		}
		b.WriteString("}\n")
	}
	c.env = map[string]string{
		"BENCHRIG_POOLS":    c.write("pools.yaml", b.String()),
		"BENCHRIG_SHIM_DIR": labshim.Dir(t),
	}
	return c
}

// leftovers lists the containers this test process made (its
// benchrig.owner label) that are still on a node. Other packages' tests
// use the lab at the same time: their containers are theirs to check.
func leftovers(t *testing.T, host string) []string {
	t.Helper()
	out, err := exec.Command("docker", "-H", host, "ps", "-a", "--filter", "label=benchrig.run",
		"--filter", "label=benchrig.owner="+docker.DefaultOwner(), "--format", "{{.ID}} {{.Labels}}").CombinedOutput()
	if err != nil {
		t.Fatalf("docker -H %s ps: %v\n%s", host, err, out)
	}
	return strings.Fields(strings.TrimSpace(string(out)))
}

// noSwarmLeftovers fails unless, soon, no benchrig container of this
// process remains on any lab node: a Swarm worker removes a removed
// service's container on its own, moments after the manager forgot the
// task, and the manager does not say when.
func noSwarmLeftovers(t *testing.T) {
	t.Helper()
	var left []string
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		left = nil
		for name, host := range labNodes {
			for _, l := range leftovers(t, host) {
				left = append(left, name+": "+l)
			}
		}
		if len(left) == 0 {
			return
		}
	}
	t.Errorf("benchrig containers left behind on the swarm's nodes 30 s after the run: %v", left)
}

// noLeftovers fails when a benchrig container remains on any lab node.
func noLeftovers(t *testing.T) {
	t.Helper()
	for name, host := range labNodes {
		if left := leftovers(t, host); len(left) > 0 {
			t.Errorf("node %s: benchrig containers left behind: %v", name, left)
		}
	}
}

// labReport is the part of the JSON export these tests read.
type labReport struct {
	Status string `json:"status"`
	Cases  []struct {
		ID     string            `json:"id"`
		Params map[string]string `json:"params"`
		Node   string            `json:"node"`
		Arch   string            `json:"arch"`
		Image  string            `json:"image"`
		Note   string            `json:"note"`
		Stats  *struct{ N int }  `json:"stats"`
		Trials []struct {
			Node       string  `json:"node"`
			Failed     bool    `json:"failed"`
			Warmup     bool    `json:"warmup"`
			Error      string  `json:"error"`
			Source     string  `json:"source"`
			ExitCode   int     `json:"exit_code"`
			StderrTail string  `json:"stderr_tail"`
			WallS      float64 `json:"wall_s"`
		} `json:"trials"`
	} `json:"cases"`
	Comparisons []struct {
		Case     string   `json:"case"`
		Baseline string   `json:"baseline"`
		Ratio    *float64 `json:"ratio"`
	} `json:"comparisons"`
	Nodes []struct {
		Name         string `json:"name"`
		Arch         string `json:"arch"`
		EngineArch   string `json:"engine_arch"`
		ArchDeclared bool   `json:"arch_declared"`
	} `json:"nodes"`
	NodeEvents []struct {
		Node    string            `json:"node"`
		Kind    string            `json:"kind"`
		MovedTo map[string]string `json:"moved_to"`
		Failed  []string          `json:"failed"`
	} `json:"node_events"`
}

func readLabReport(t *testing.T, path string) *labReport {
	t.Helper()
	var r labReport
	readJSON(t, path, &r)
	return &r
}

// The arm64 node must really run arm64: each trial fails unless uname -m
// in its container prints the architecture its node has.
const unameSpec = `name: lab-uname
command: 'test "$(uname -m)" = {{if eq .arch "arm64"}}aarch64{{else}}x86_64{{end}}'
params:
  impl: [busybox, debian]
repeat: 3
warmup: 1
image: 'benchrig/{{.impl}}:{{.arch}}'
`

func TestLabEveryCaseOnEveryNode(t *testing.T) {
	needLab(t)
	everyCaseOnEveryNode(t, labCLI(t, labNodes), "lab")
	noLeftovers(t)
}

// everyCaseOnEveryNode runs unameSpec on pool, whose nodes must be the
// lab's three (lab3 arm64): a case per node and image, each trial on its
// case's node and timed by the shim, lab3 declared arm64 on an amd64
// engine.
func everyCaseOnEveryNode(t *testing.T, c *cli, pool string) {
	t.Helper()
	spec := c.write("uname.yaml", unameSpec)
	out := filepath.Join(c.dir, "out.json")
	code, stdout, stderr := c.run(context.Background(), "run", "-q", spec, "--pool", pool, "--json", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	r := readLabReport(t, out)
	if len(r.Cases) != 6 {
		t.Fatalf("%d cases, want 3 nodes x 2 images", len(r.Cases))
	}
	for _, cs := range r.Cases {
		node := cs.Params["node"]
		wantArch := map[string]string{"lab1": "amd64", "lab2": "amd64", "lab3": "arm64"}[node]
		if cs.Node != node || cs.Arch != wantArch || cs.Image != "benchrig/"+cs.Params["impl"]+":"+wantArch {
			t.Errorf("case %s: node %q arch %q image %q, want %s %s and the image for %s", cs.ID, cs.Node, cs.Arch, cs.Image, node, wantArch, wantArch)
		}
		if cs.Stats == nil || cs.Stats.N != 3 {
			t.Errorf("case %s: stats %+v, want 3 successful trials (uname -m matched)", cs.ID, cs.Stats)
		}
		for _, tr := range cs.Trials {
			if tr.Node != node || !strings.HasPrefix(tr.Source, "shim") {
				t.Errorf("case %s: a trial ran on %s measured by %q", cs.ID, tr.Node, tr.Source)
			}
		}
	}
	for _, n := range r.Nodes {
		if n.Name == "lab3" && (n.Arch != "arm64" || !n.ArchDeclared || n.EngineArch != "amd64") {
			t.Errorf("lab3 facts %+v, want declared arm64 on an amd64 engine", n)
		}
	}
	if !strings.Contains(stdout, "arm64 (declared; engine amd64)") {
		t.Errorf("the text report does not show lab3's declared architecture:\n%s", stdout)
	}
}

func TestLabGrepImplBenchmark(t *testing.T) {
	needLab(t)
	grepImplOnPool(t, labCLI(t, labNodes), "lab")
	noLeftovers(t)
}

// grepImplOnPool runs the grep-impl reference benchmark on pool, whose
// nodes must be the lab's three (lab3 arm64): 5 cases on each node, each
// node's busybox compared with the same node's GNU grep.
func grepImplOnPool(t *testing.T, c *cli, pool string) {
	t.Helper()
	data := makeSmiles(t, c, "smiles", "4MB", "2MB")
	out := filepath.Join(c.dir, "grep.json")
	abs, _ := filepath.Abs("../../benchmarks/grep-impl.yaml")
	code, stdout, stderr := c.run(context.Background(), "run", "-q", abs, "--pool", pool, "--json", out,
		"--set", "data="+data, "--set", "chunks=smiles-*.smi", "--set", "impl=gnu,busybox,cat",
		"--set", "pattern=fixed-common,count-c", "--repeat", "3", "--warmup", "1")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	r := readLabReport(t, out)
	nodes := map[string]int{}
	for _, cs := range r.Cases {
		nodes[cs.Node]++
		wantImg := "benchrig/debian:" + cs.Arch
		if cs.Params["impl"] == "busybox" {
			wantImg = "benchrig/busybox:" + cs.Arch
		}
		if cs.Image != wantImg {
			t.Errorf("case %s: image %q, want %q", cs.ID, cs.Image, wantImg)
		}
		if cs.Stats == nil || cs.Stats.N != 3 {
			t.Errorf("case %s: stats %+v, want 3 successful trials; note %q; trials %+v\nstderr:\n%s", cs.ID, cs.Stats, cs.Note, cs.Trials, stderr)
		}
	}
	// gnu and busybox per pattern, and cat (the ceiling: excluded per
	// pattern by the spec) once: 5 cases on each node.
	if len(nodes) != 3 || nodes["lab1"] != 5 || nodes["lab2"] != 5 || nodes["lab3"] != 5 {
		t.Errorf("cases per node %v, want 5 on each of 3 nodes", nodes)
	}
	// Each node's busybox is compared with the same node's GNU grep, per
	// pattern: never across nodes.
	n := 0
	for _, cm := range r.Comparisons {
		if !strings.Contains(cm.Case, "impl=busybox") {
			continue
		}
		n++
		nodeOf := func(id string) string { return strings.SplitN(strings.TrimPrefix(id, "node="), ",", 2)[0] }
		if nodeOf(cm.Case) != nodeOf(cm.Baseline) || !strings.Contains(cm.Baseline, "impl=gnu") || cm.Ratio == nil {
			t.Errorf("comparison %+v", cm)
		}
	}
	if n != 6 {
		t.Errorf("%d busybox comparisons, want 3 nodes x 2 patterns", n)
	}
}

// trialDoneOn returns the home node of the case in a progress line about
// a finished measured trial ("[3/24] node=lab2,impl=busybox trial 1: ..."),
// "" for any other line.
func trialDoneOn(line string) string {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "[") || f[2] != "trial" {
		return ""
	}
	id, ok := strings.CutPrefix(f[1], "node=")
	if !ok {
		return ""
	}
	node, _, _ := strings.Cut(id, ",")
	return node
}

// proxy forwards a local port to a lab engine until killed: killing it
// makes the engine vanish for benchrig (connections reset, new ones
// refused) while the shared lab keeps running for other tests.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	dead  bool
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.DialTimeout("tcp", target, 3*time.Second)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			if p.dead {
				p.mu.Unlock()
				in.Close()
				out.Close()
				return
			}
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(p.kill)
	return p
}

func (p *proxy) host() string { return "tcp://" + p.ln.Addr().String() }

func (p *proxy) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return
	}
	p.dead = true
	p.ln.Close()
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset, as when a host dies
		}
		c.Close()
	}
}

func TestLabKilledNodesTrialsMoveOrFail(t *testing.T) {
	needLab(t)
	if runtime.GOOS != "linux" {
		testenv.Skip(t, "the lab is Linux only")
	}
	p2 := newProxy(t, "10.99.0.12:2375")
	p3 := newProxy(t, "10.99.0.13:2375")
	c := labCLI(t, map[string]string{"lab1": labNodes["lab1"], "lab2": p2.host(), "lab3": p3.host()})
	// lab1 and lab2 are one class (amd64, no labels): lab2's cases move to
	// lab1. lab3 is the only arm64 node: its cases' remaining trials are
	// recorded as failed.
	spec := c.write("slow.yaml", `name: lab-loss
command: 'sleep 0.2'
params:
  impl: [busybox]
repeat: 8
warmup: 0
image: 'benchrig/busybox:{{.arch}}'
`)
	out := filepath.Join(c.dir, "out.json")
	// The nodes die a few trials into the run: once lab2's and lab3's
	// cases have each finished two (the progress lines say so as it
	// happens).
	done := map[string]int{}
	watch := func(line string) {
		for _, n := range []string{"lab2", "lab3"} {
			if trialDoneOn(line) == n {
				if done[n]++; done[n] == 2 && done["lab2"] >= 2 && done["lab3"] >= 2 {
					p2.kill()
					p3.kill()
				}
			}
		}
	}
	code, stdout, stderr := c.runWatching(context.Background(), watch, "run", spec, "--pool", "lab", "--json", out)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (lab3's lost trials failed)\n%s\n%s", code, stdout, stderr)
	}
	r := readLabReport(t, out)
	byNode := map[string]struct{ ok, lost int }{}
	for _, cs := range r.Cases {
		home := cs.Params["node"]
		for _, tr := range cs.Trials {
			k := home + "@" + tr.Node
			v := byNode[k]
			if tr.Failed {
				v.lost++
				if !strings.HasPrefix(tr.Error, "node-lost") {
					t.Errorf("case %s: failed trial %q, want node-lost", cs.ID, tr.Error)
				}
			} else {
				v.ok++
			}
			byNode[k] = v
		}
	}
	if v := byNode["lab1@lab1"]; v.ok != 8 || v.lost != 0 {
		t.Errorf("lab1's case: %+v, want 8 ok", v)
	}
	a, b := byNode["lab2@lab2"], byNode["lab2@lab1"]
	if a.ok == 0 || b.ok == 0 || a.ok+b.ok != 8 || a.lost+b.lost != 0 {
		t.Errorf("lab2's case: %+v on lab2, %+v on lab1; want 8 ok trials split between them", a, b)
	}
	if v := byNode["lab3@lab3"]; v.ok == 0 || v.lost == 0 || v.ok+v.lost != 8 {
		t.Errorf("lab3's case: %+v, want the trials before the loss ok and the rest node-lost", v)
	}
	kinds := map[string]string{}
	for _, ev := range r.NodeEvents {
		kinds[ev.Node] = ev.Kind
		if ev.Node == "lab2" && ev.MovedTo["node=lab2,impl=busybox"] != "lab1" {
			t.Errorf("lab2 event %+v, want its case moved to lab1", ev)
		}
		if ev.Node == "lab3" && len(ev.Failed) != 1 {
			t.Errorf("lab3 event %+v, want its case failed", ev)
		}
	}
	if kinds["lab2"] != "lost" || kinds["lab3"] != "lost" {
		t.Errorf("node events %+v", r.NodeEvents)
	}
	if !strings.Contains(stdout, "node lab2 lost") || !strings.Contains(stdout, "moved to lab1") {
		t.Errorf("the text report does not say what happened to lab2:\n%s", stdout)
	}
	// What the lost nodes still hold (the trial in flight when they
	// vanished) carries the run's labels, so it can be found and removed.
	for _, n := range []string{"lab2", "lab3"} {
		if left := leftovers(t, labNodes[n]); len(left) > 0 {
			t.Logf("node %s: %d container(s) from the loss, removed now", n, len(left)/2)
			exec.Command("sh", "-c", "docker -H "+labNodes[n]+" ps -aq --filter label=benchrig.spec=lab-loss | xargs -r docker -H "+labNodes[n]+" rm -f").Run()
		}
	}
	noLeftovers(t)
}

func TestLabPoolCheck(t *testing.T) {
	needLab(t)
	c := labCLI(t, map[string]string{"lab1": labNodes["lab1"], "lab3": labNodes["lab3"]})
	code, stdout, stderr := c.run(context.Background(), "pool", "check", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var rows []checkRow
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !rows[0].Reachable || !rows[1].Reachable {
		t.Fatalf("rows %+v", rows)
	}
	f3 := rows[1].Facts
	if f3.Arch != "arm64" || f3.EngineArch != "amd64" || f3.CPUs < 1 || f3.MemoryBytes <= 0 || f3.APIVersion == "" || f3.Labels["emulated"] != "qemu" || f3.Latency <= 0 {
		t.Errorf("lab3 facts %+v", f3)
	}
	c = labCLI(t, map[string]string{"lab1": "tcp://127.0.0.1:1"})
	if code, _, stderr := c.run(context.Background(), "pool", "check"); code != 1 || !strings.Contains(stderr, "1 of 1 node(s) unreachable") {
		t.Errorf("a dead node: exit %d\n%s", code, stderr)
	}
}

func TestLabPoolRemoveDuringARun(t *testing.T) {
	needLab(t)
	c := labCLI(t, map[string]string{"lab1": labNodes["lab1"], "lab2": labNodes["lab2"]})
	spec := c.write("slow.yaml", `name: lab-remove
command: 'sleep 0.2'
repeat: 8
warmup: 0
image: 'benchrig/busybox:{{.arch}}'
`)
	out := filepath.Join(c.dir, "out.json")
	removed := make(chan string, 1)
	// lab2 is removed a few trials into the run: once its case has
	// finished two (the progress lines say so as it happens).
	lab2Trials := 0
	watch := func(line string) {
		if trialDoneOn(line) == "lab2" {
			if lab2Trials++; lab2Trials == 2 {
				go func() {
					code, stdout, stderr := c.run(context.Background(), "pool", "remove", "lab", "lab2")
					removed <- fmt.Sprintf("exit %d %s%s", code, stdout, stderr)
				}()
			}
		}
	}
	code, stdout, stderr := c.runWatching(context.Background(), watch, "run", spec, "--pool", "lab", "--json", out)
	if code != 0 {
		t.Fatalf("exit %d, want 0: removing a node moves its work\n%s\n%s", code, stdout, stderr)
	}
	if msg := <-removed; !strings.HasPrefix(msg, "exit 0") {
		t.Fatalf("pool remove: %s", msg)
	}
	r := readLabReport(t, out)
	if len(r.NodeEvents) != 1 || r.NodeEvents[0].Node != "lab2" || r.NodeEvents[0].Kind != "removed" {
		t.Fatalf("events %+v, want lab2 removed", r.NodeEvents)
	}
	for _, cs := range r.Cases {
		ok, on := 0, map[string]int{}
		for _, tr := range cs.Trials {
			if !tr.Failed {
				ok++
			}
			on[tr.Node]++
		}
		if ok != 8 {
			t.Errorf("case %s: %d successful trials, want 8", cs.ID, ok)
		}
		if cs.Params["node"] == "lab2" && (on["lab2"] == 0 || on["lab1"] == 0) {
			t.Errorf("lab2's case ran on %v, want on lab2 until removed, then on lab1", on)
		}
	}
	noLeftovers(t)
}
