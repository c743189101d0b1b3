package pools

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/benchrig/benchrig"
)

var update = flag.Bool("update", false, "rewrite the golden .err files of testdata/bad")

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("error mismatch\n got: %s\nwant: %s", got, want)
	}
}

// TestPoolsBadFiles loads every file of testdata/bad and compares its
// errors with the .err file beside it.
func TestPoolsBadFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	if err != nil || len(files) < 15 {
		t.Fatalf("want at least 15 bad files, got %d (%v)", len(files), err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			_, err := Load(path)
			var errs benchrig.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load error is %T (%v), want benchrig.Errors", err, err)
			}
			for _, e := range errs {
				if e.Code != benchrig.EInvalid || e.File != path || e.Msg == "" {
					t.Errorf("error %+v: want code invalid, file %s and a reason", e, path)
				}
				if e.Line == 0 {
					t.Errorf("error %q has no line", e)
				}
			}
			golden(t, strings.TrimSuffix(path, ".yaml")+".err", errs.Error()+"\n")
		})
	}
}

func TestPoolsErrorLocations(t *testing.T) {
	for _, tc := range []struct {
		file, field string
		line        int
		inMsg       string
	}{
		{"unknown-field", "pools.lab.nodes[0].hots", 5, "known fields: name, host, arch, labels, max_trials, tls"},
		{"duplicate-node", "pools.other.nodes[0].name", 8, "first at line 4"},
		{"ssh-host", "pools.lab.nodes[0].host", 5, "ssh engines are not supported"},
		{"bad-scheme", "pools.lab.nodes[0].host", 5, "use tcp://10.0.0.1:2375"},
		{"unknown-arch", "pools.lab.nodes[0].arch", 6, `unknown architecture "sparc"`},
		{"max-trials-zero", "pools.lab.nodes[0].max_trials", 6, "at least 1, got 0"},
		{"tls-on-unix", "pools.lab.nodes[0].tls", 6, "tls is for tcp hosts"},
		{"empty-pool", "pools.lab.nodes", 4, "pool has no nodes"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", "bad", tc.file+".yaml"))
			var e *benchrig.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v has no *benchrig.Error", err)
			}
			if e.Field != tc.field || e.Line != tc.line || !strings.Contains(e.Msg, tc.inMsg) {
				t.Errorf("first error = line %d field %q msg %q; want line %d field %q msg containing %q", e.Line, e.Field, e.Msg, tc.line, tc.field, tc.inMsg)
			}
		})
	}
}

func TestPoolsManyErrorsAllReported(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "bad", "many-errors.yaml"))
	var errs benchrig.Errors
	if !errors.As(err, &errs) || len(errs) < 6 {
		t.Fatalf("want at least 6 problems at once, got %v", err)
	}
	for i := 1; i < len(errs); i++ {
		if errs[i].Line < errs[i-1].Line {
			t.Errorf("errors not sorted by line: %d after %d", errs[i].Line, errs[i-1].Line)
		}
	}
}

func TestPoolsLoadGood(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{Pools: map[string]*Pool{
		"lab": {Name: "lab", Policy: benchrig.PoolPolicy{HostMounts: []string{"/srv/bench-data", "/tmp"}}, Nodes: []Node{
			{Name: "lab-amd64-1", Host: "tcp://10.99.0.2:2375", Labels: map[string]string{"gpu": "false", "site": "lab"}, MaxTrials: 1},
			{Name: "lab-arm64-1", Host: "tcp://10.99.0.4:2375", Arch: "arm64", MaxTrials: 2},
			{Name: "lab-tls", Host: "tcp://lab-tls.example:2376", Arch: "amd64", MaxTrials: 1, GPUs: 2,
				TLS: &TLS{CA: "ca.pem", Cert: "cert.pem", Key: "/etc/benchrig/key.pem"}},
		}},
		"local": {Name: "local", Policy: benchrig.PoolPolicy{Profiler: true}, Nodes: []Node{{Name: "local", Host: "unix:///var/run/docker.sock", MaxTrials: 1}}},
	}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("Load =\n%s\nwant\n%s", dump(f), dump(want))
	}
	got := f.Pools["lab"].Nodes[2].TLS.Resolve("/etc/benchrig")
	if got != (TLS{CA: "/etc/benchrig/ca.pem", Cert: "/etc/benchrig/cert.pem", Key: "/etc/benchrig/key.pem"}) {
		t.Errorf("Resolve = %+v", got)
	}
}

func dump(f *File) string {
	var b strings.Builder
	for _, n := range f.names() {
		p := f.Pools[n]
		fmt.Fprintf(&b, "%s %+v\n", n, p.Policy)
		for _, nd := range p.Nodes {
			fmt.Fprintf(&b, "  %+v tls=%+v\n", nd, nd.TLS)
		}
	}
	return b.String()
}

func TestPoolsRoundTrip(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sub", "pools.yaml")
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, g) {
		t.Errorf("Load(Save(f)) =\n%s\nwant\n%s", dump(g), dump(f))
	}
	first, _ := os.ReadFile(path)
	if err := g.Save(path); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(path)
	if string(first) != string(second) {
		t.Errorf("Save is not stable:\n%s\n---\n%s", first, second)
	}
	// Pools come out by name, nodes in file order.
	s := string(first)
	if !(strings.Index(s, "lab:") < strings.Index(s, "local:") &&
		strings.Index(s, "lab-amd64-1") < strings.Index(s, "lab-arm64-1") &&
		strings.Index(s, "lab-arm64-1") < strings.Index(s, "lab-tls")) {
		t.Errorf("unstable order:\n%s", s)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".pools.yaml.tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	// An empty file saves and loads as no pools.
	empty := &File{}
	if err := empty.Save(path); err != nil {
		t.Fatal(err)
	}
	if g, err := Load(path); err != nil || len(g.Pools) != 0 {
		t.Errorf("empty file: %v, %v", g, err)
	}
}

func TestPoolsMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if benchrig.ErrorCode(err) != benchrig.ENotFound || !strings.Contains(err.Error(), "benchrig pool add") {
		t.Errorf("missing file: %v (code %s), want not_found with a hint to pool add", err, benchrig.ErrorCode(err))
	}
}

func TestPoolsAddRemove(t *testing.T) {
	f := &File{}
	if err := f.Add("lab", Node{Name: "a", Host: "tcp://10.0.0.1:2375", Arch: "x86_64"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Add("lab", Node{Name: "b", Host: "unix:///var/run/docker.sock", MaxTrials: 3, Labels: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	p, err := f.Pool("lab")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Nodes) != 2 || p.Nodes[0].Arch != "amd64" || p.Nodes[0].MaxTrials != 1 || p.Nodes[1].MaxTrials != 3 || p.Nodes[1].Labels["k"] != "v" {
		t.Errorf("pool after adds = %+v", p)
	}
	for _, tc := range []struct {
		name, pool string
		node       Node
		field      string
	}{
		{"duplicate in another pool", "other", Node{Name: "a", Host: "tcp://10.0.0.9:2375"}, "node"},
		{"bad scheme", "lab", Node{Name: "c", Host: "ssh://x"}, "host"},
		{"unknown arch", "lab", Node{Name: "c", Host: "tcp://x:1", Arch: "vax"}, "arch"},
		{"max trials", "lab", Node{Name: "c", Host: "tcp://x:1", MaxTrials: -2}, "max_trials"},
		{"tls on unix", "lab", Node{Name: "c", Host: "unix:///s", TLS: &TLS{CA: "a", Cert: "b", Key: "c"}}, "tls"},
		{"tls incomplete", "lab", Node{Name: "c", Host: "tcp://x:1", TLS: &TLS{CA: "a"}}, "tls"},
		{"bad pool name", "la b", Node{Name: "c", Host: "tcp://x:1"}, "pool"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := f.Add(tc.pool, tc.node)
			var e *benchrig.Error
			if !errors.As(err, &e) || e.Code != benchrig.EInvalid || e.Field != tc.field {
				t.Errorf("Add = %v, want invalid on field %s", err, tc.field)
			}
		})
	}
	if len(f.Pools) != 1 || len(f.Pools["lab"].Nodes) != 2 {
		t.Errorf("a rejected Add changed the file: %s", dump(f))
	}
	if err := f.Remove("lab", "zz"); benchrig.ErrorCode(err) != benchrig.ENotFound || !strings.Contains(err.Error(), "nodes: a, b") {
		t.Errorf("Remove unknown node = %v", err)
	}
	if err := f.Remove("nope", "a"); benchrig.ErrorCode(err) != benchrig.ENotFound || !strings.Contains(err.Error(), "pools: lab") {
		t.Errorf("Remove from unknown pool = %v", err)
	}
	if err := f.Remove("lab", "a"); err != nil {
		t.Fatal(err)
	}
	if f.Pools["lab"].Nodes[0].Name != "b" {
		t.Errorf("after remove: %s", dump(f))
	}
	if err := f.Remove("lab", "b"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Pools["lab"]; ok {
		t.Errorf("removing the last node kept the pool")
	}
	if _, err := f.Pool("lab"); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("Pool of removed pool = %v", err)
	}
	// The name is free again.
	if err := f.Add("lab2", Node{Name: "a", Host: "tcp://10.0.0.1:2375"}); err != nil {
		t.Errorf("re-adding a removed node: %v", err)
	}
}

func TestPoolsPath(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name, flag string
		env        map[string]string
		want       string
	}{
		{"flag wins", "/f.yaml", map[string]string{"BENCHRIG_POOLS": "/e.yaml", "HOME": "/h"}, "/f.yaml"},
		{"env", "", map[string]string{"BENCHRIG_POOLS": "/e.yaml", "HOME": "/h"}, "/e.yaml"},
		{"xdg", "", map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/x/benchrig/pools.yaml"},
		{"home", "", map[string]string{"HOME": "/h"}, "/h/.config/benchrig/pools.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Path(tc.flag, env(tc.env)); got != tc.want {
				t.Errorf("Path = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestPoolsConcurrentUpdates has many goroutines add nodes at once; the
// lock must keep every one of them.
func TestPoolsConcurrentUpdates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pools.yaml")
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- Update(path, func(f *File) error {
				return f.Add(fmt.Sprintf("p%d", i%3), Node{Name: fmt.Sprintf("n%02d", i), Host: fmt.Sprintf("tcp://10.0.0.%d:2375", i+1)})
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range f.Pools {
		total += len(p.Nodes)
	}
	if total != n {
		t.Errorf("%d nodes in the file after %d concurrent adds: updates were lost", total, n)
	}
}

// TestPoolsConcurrentProcesses does the same from separate processes, as
// two `benchrig pool add` commands would, while this process keeps
// reading the file: a reader must never see a partial file.
func TestPoolsConcurrentProcesses(t *testing.T) {
	if path := os.Getenv("BENCHRIG_POOLS_CHILD"); path != "" {
		id := os.Getenv("BENCHRIG_POOLS_ID")
		for j := range 10 {
			name := fmt.Sprintf("c%s-%d", id, j)
			if err := Update(path, func(f *File) error {
				return f.Add("lab", Node{Name: name, Host: "tcp://10.0.0.1:2375"})
			}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		return
	}
	path := filepath.Join(t.TempDir(), "pools.yaml")
	if err := Update(path, func(f *File) error { return f.Add("lab", Node{Name: "seed", Host: "tcp://10.0.0.1:2375"}) }); err != nil {
		t.Fatal(err)
	}
	const procs = 4
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPoolsConcurrentProcesses$")
		cmd.Env = append(os.Environ(), "BENCHRIG_POOLS_CHILD="+path, fmt.Sprintf("BENCHRIG_POOLS_ID=%d", i))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	done := make(chan struct{})
	reads := 0
	go func() {
		defer close(done)
		for _, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Errorf("child: %v", err)
			}
		}
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		if _, err := Load(path); err != nil {
			t.Fatalf("reader saw a bad file while writers ran: %v", err)
		}
		reads++
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(f.Pools["lab"].Nodes), 1+procs*10; got != want {
		t.Errorf("%d nodes after concurrent processes, want %d (reads during writes: %d)", got, want, reads)
	}
}

func TestPoolsUpdateKeepsInvalidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pools.yaml")
	bad := "pools:\n  lab:\n    nodes: []\n"
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Update(path, func(f *File) error { return f.Add("lab", Node{Name: "a", Host: "tcp://h:1"}) })
	if benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("Update of an invalid file = %v, want invalid", err)
	}
	if b, _ := os.ReadFile(path); string(b) != bad {
		t.Errorf("invalid file was rewritten:\n%s", b)
	}
	err = Update(path+"2", func(f *File) error { return f.Add("lab", Node{Name: "a", Host: "ssh://h"}) })
	var e *benchrig.Error
	if !errors.As(err, &e) || e.File != path+"2" || e.Field != "host" {
		t.Errorf("rejected Add = %#v, want file and field named", err)
	}
	if _, err := os.Stat(path + "2"); !os.IsNotExist(err) {
		t.Errorf("a rejected first Add created the file")
	}
}

// TestPoolsSwarm: a pool backed by a Swarm cluster names its manager
// instead of listing nodes, survives a rewrite, and refuses node edits.
func TestPoolsSwarm(t *testing.T) {
	good := "pools:\n  sw:\n    policy: {profiler: true}\n    swarm:\n      manager: tcp://10.0.0.1:2375\n      max_trials: 2\n" +
		"      collector: {image: 'benchrig/benchrig:1', docker_socket: '/run/d-{{.Node.Hostname}}.sock'}\n"
	f, err := Parse("p.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	p := f.Pools["sw"]
	if p.Swarm == nil || p.Swarm.Manager != "tcp://10.0.0.1:2375" || p.Swarm.MaxTrials != 2 || len(p.Nodes) != 0 || !p.Policy.Profiler ||
		p.Swarm.CollectorImage != "benchrig/benchrig:1" || p.Swarm.DockerSocket != "/run/d-{{.Node.Hostname}}.sock" {
		t.Fatalf("pool = %+v, swarm %+v", p, p.Swarm)
	}
	data, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse("p.yaml", data)
	if err != nil {
		t.Fatalf("%v in\n%s", err, data)
	}
	if !reflect.DeepEqual(again.Pools["sw"].Swarm, p.Swarm) {
		t.Errorf("rewritten swarm = %+v, want %+v", again.Pools["sw"].Swarm, p.Swarm)
	}
	if err := f.Add("sw", Node{Name: "n1", Host: "tcp://10.0.0.2:2375"}); benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), "Swarm cluster") {
		t.Errorf("add to a swarm pool: %v", err)
	}
	if err := f.Remove("sw", "n1"); benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("remove from a swarm pool: %v", err)
	}
	for _, c := range []struct{ yaml, want string }{
		{"pools:\n  sw:\n    swarm: {max_trials: 1}\n", "pools.sw.swarm.manager: swarm has no manager"},
		{"pools:\n  sw:\n    swarm: {manager: http://x}\n", "pools.sw.swarm.manager"},
		{"pools:\n  sw:\n    swarm: {manager: tcp://a:1, max_trials: 0}\n", "must be at least 1"},
		{"pools:\n  sw:\n    swarm: {manager: tcp://a:1, maneger: x}\n", "maneger"},
		{"pools:\n  sw:\n    swarm: {manager: tcp://a:1}\n    nodes: [{name: a, host: tcp://b:1}]\n", "nodes or swarm, not both"},
		{"pools:\n  sw:\n    swarm: tcp://a:1\n", "expected a mapping with manager"},
		{"pools:\n  sw:\n    swarm: {manager: tcp://a:1, collector: {docker_socket: /x}}\n", "collector has no image"},
		{"pools:\n  sw:\n    swarm: {manager: tcp://a:1, collector: {image: x, docker_socket: run/x}}\n", "not an absolute path"},
	} {
		_, err := Parse("p.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to say %q", c.yaml, err, c.want)
		}
	}
}
