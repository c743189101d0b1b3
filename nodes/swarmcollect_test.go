package nodes

import (
	"io"
	"strings"
	"testing"

	"github.com/benchrig/benchrig"
)

// TestSwarmCollectorRouting: each line of the service's logs goes to its
// node's stream by the node ID in its details; stderr lines become the
// node's warnings; lines of nodes the run does not use are dropped.
func TestSwarmCollectorRouting(t *testing.T) {
	sh := &sharedCollector{nodes: map[string]*SwarmCollector{}}
	mk := func(id, name string) *SwarmCollector {
		pr, pw := io.Pipe()
		c := &SwarmCollector{shared: sh, node: benchrig.NodeFacts{Name: name, SwarmNodeID: id}, pr: pr, pw: pw, gotCost: make(chan struct{})}
		sh.nodes[id] = c
		return c
	}
	a, b := mk("ida", "a"), mk("idb", "b")
	got := map[string]chan string{"a": make(chan string, 4), "b": make(chan string, 4)}
	for name, c := range map[string]*SwarmCollector{"a": a, "b": b} {
		go func() {
			data, _ := io.ReadAll(c.pr)
			got[name] <- string(data)
		}()
	}
	details := func(id string) string {
		return "com.docker.swarm.node.id=" + id + ",com.docker.swarm.service.id=s,com.docker.swarm.task.id=t "
	}
	sh.line([]byte(details("ida")+`{"sample":{"node":"a"}}`), false)
	sh.line([]byte(details("idb")+`{"sample":{"node":"b"}}`), false)
	sh.line([]byte(details("idz")+`{"sample":{"node":"z"}}`), false)
	sh.line([]byte(details("ida")+"benchrig collector: warning: no cgroup"), true)
	sh.line([]byte("no details at all"), false)
	a.pw.Close()
	b.pw.Close()
	if s := <-got["a"]; s != `{"sample":{"node":"a"}}`+"\n" {
		t.Errorf("a got %q", s)
	}
	if s := <-got["b"]; s != `{"sample":{"node":"b"}}`+"\n" {
		t.Errorf("b got %q", s)
	}
	if w := a.Warnings(); len(w) != 1 || !strings.Contains(w[0], "node a: warning: no cgroup") {
		t.Errorf("a's warnings %q", w)
	}
	if len(b.Warnings()) != 0 {
		t.Errorf("b's warnings %q", b.Warnings())
	}
}

// TestLineSplitter: lines split across writes arrive whole.
func TestLineSplitter(t *testing.T) {
	var lines []string
	w := &lineSplitter{line: func(l []byte) { lines = append(lines, string(l)) }}
	for _, p := range []string{"ab", "c\nde", "f\n\ng"} {
		w.Write([]byte(p))
	}
	if strings.Join(lines, "|") != "abc|def|" {
		t.Errorf("lines %q", lines)
	}
}

// TestSwarmCollectorBacklog: lines a node wrote before its collector
// joined the run (a node that joined the pool mid-run) reach it first, in
// order, before the lines that come after.
func TestSwarmCollectorBacklog(t *testing.T) {
	sh := &sharedCollector{nodes: map[string]*SwarmCollector{}}
	details := "com.docker.swarm.node.id=idl,com.docker.swarm.task.id=t "
	sh.line([]byte(details+"one"), false)
	sh.line([]byte(details+"two"), false)
	pr, pw := io.Pipe()
	c := &SwarmCollector{shared: sh, node: benchrig.NodeFacts{Name: "late", SwarmNodeID: "idl"}, pr: pr, pw: pw, gotCost: make(chan struct{})}
	got := make(chan string, 1)
	go func() {
		data, _ := io.ReadAll(pr)
		got <- string(data)
	}()
	sh.attach(c)
	sh.line([]byte(details+"three"), false)
	pw.Close()
	if s := <-got; s != "one\ntwo\nthree\n" {
		t.Errorf("late node got %q", s)
	}
	if len(sh.pending) != 0 {
		t.Errorf("backlog kept after attach: %v", sh.pending)
	}
}
