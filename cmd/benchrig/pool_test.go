package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchrig/benchrig/pools"
)

func TestPoolAddListRemove(t *testing.T) {
	c := newCLI(t)
	file := filepath.Join(c.dir, "conf", "pools.yaml")
	run := func(args ...string) (int, string, string) {
		return c.run(context.Background(), append(args, "--pools", file)...)
	}
	code, _, errOut := run("pool", "list")
	if code != 2 || !strings.Contains(errOut, "pools file not found") || !strings.Contains(errOut, "benchrig pool add") {
		t.Fatalf("list of a missing file: exit %d, stderr %q", code, errOut)
	}
	for _, args := range [][]string{
		{"pool", "add", "lab", "lab-amd64-1", "tcp://10.99.0.2:2375", "--label", "site=lab", "--label", "gpu=false"},
		{"pool", "add", "lab", "lab-arm64-1", "tcp://10.99.0.4:2375", "--arch", "aarch64", "--max-trials", "2"},
		{"pool", "add", "local", "local", "unix:///var/run/docker.sock"},
		{"pool", "add", "tls", "tls-1", "tcp://h.example:2376", "--tls-ca", "ca.pem", "--tls-cert", "cert.pem", "--tls-key", "/k/key.pem"},
	} {
		code, out, errOut := run(args...)
		if code != 0 || !strings.Contains(out, "added node "+args[3]) {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	code, out, errOut := run("pool", "list")
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("list has %d lines, want header + 4:\n%s", len(lines), out)
	}
	for i, want := range [][]string{
		{"POOL", "NODE", "HOST", "ARCH", "MAX TRIALS", "LABELS"},
		{"lab", "lab-amd64-1", "tcp://10.99.0.2:2375", "from engine", "1", "gpu=false,site=lab"},
		{"lab", "lab-arm64-1", "tcp://10.99.0.4:2375", "arm64", "2", "-"},
		{"local", "local", "unix:///var/run/docker.sock", "from engine", "1", "-"},
		{"tls", "tls-1", "tcp://h.example:2376 (tls)", "from engine", "1", "-"},
	} {
		fields := strings.Split(strings.Join(strings.Fields(lines[i]), " "), " ")
		if got := strings.Join(fields, " "); got != strings.Join(want, " ") {
			t.Errorf("line %d = %q, want %q", i, got, strings.Join(want, " "))
		}
	}
	code, out, _ = run("pool", "list", "--json")
	var rows []struct {
		Pool      string            `json:"pool"`
		Node      string            `json:"node"`
		Host      string            `json:"host"`
		Arch      string            `json:"arch"`
		MaxTrials int               `json:"max_trials"`
		Labels    map[string]string `json:"labels"`
		TLS       bool              `json:"tls"`
	}
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil {
		t.Fatalf("list --json: exit %d, %v\n%s", code, err, out)
	}
	if len(rows) != 4 || rows[1].Arch != "arm64" || rows[1].MaxTrials != 2 || rows[0].Labels["site"] != "lab" || !rows[3].TLS || rows[0].Arch != "" {
		t.Errorf("json rows = %+v", rows)
	}
	f, err := pools.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if tls := f.Pools["tls"].Nodes[0].TLS; tls.CA != filepath.Join(c.dir, "ca.pem") || tls.Key != "/k/key.pem" {
		t.Errorf("tls paths stored as %+v, want absolute from the working directory", tls)
	}

	code, out, errOut = run("pool", "remove", "lab", "lab-amd64-1")
	if code != 0 || !strings.Contains(out, "removed node lab-amd64-1 from pool lab") || strings.Contains(out, "was removed") {
		t.Errorf("remove: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run("pool", "remove", "local", "local")
	if code != 0 || !strings.Contains(out, "pool local had no nodes left and was removed") {
		t.Errorf("remove last node: exit %d\n%s", code, out)
	}
	_, out, _ = run("pool", "list")
	if strings.Contains(out, "lab-amd64-1") || strings.Contains(out, "local ") || !strings.Contains(out, "lab-arm64-1") {
		t.Errorf("list after removes:\n%s", out)
	}
}

func TestPoolEnvironment(t *testing.T) {
	c := newCLI(t)
	file := filepath.Join(c.dir, "env-pools.yaml")
	var out, errb bytes.Buffer
	d := c.deps(&out, &errb)
	d.getenv = func(k string) string {
		if k == "BENCHRIG_POOLS" {
			return file
		}
		return ""
	}
	if code := execute(context.Background(), d, []string{"pool", "add", "p", "n1", "tcp://10.0.0.1:2375"}); code != 0 {
		t.Fatalf("add with BENCHRIG_POOLS: exit %d: %s", code, errb.String())
	}
	f, err := pools.Load(file)
	if err != nil {
		t.Fatalf("BENCHRIG_POOLS file not written: %v", err)
	}
	if n := f.Pools["p"].Nodes; len(n) != 1 || n[0].Name != "n1" {
		t.Errorf("nodes = %+v", n)
	}
}

func TestPoolErrors(t *testing.T) {
	c := newCLI(t)
	file := filepath.Join(c.dir, "pools.yaml")
	bad := c.write("bad.yaml", "pools:\n  lab:\n    nodes:\n      - name: a\n        host: ssh://a\n        max_trials: 0\n")
	if code, _, errOut := c.run(context.Background(), "pool", "add", "lab", "a", "tcp://10.0.0.1:2375", "--pools", file); code != 0 {
		t.Fatalf("setup add: exit %d: %s", code, errOut)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		inStderr []string
	}{
		{"invalid file", []string{"pool", "list", "--pools", bad}, []string{"bad.yaml:5: pools.lab.nodes[0].host: host \"ssh://a\": ssh engines are not supported", "bad.yaml:6: pools.lab.nodes[0].max_trials: must be at least 1"}},
		{"add to invalid file", []string{"pool", "add", "lab", "b", "tcp://h:1", "--pools", bad}, []string{"bad.yaml:5"}},
		{"bad host", []string{"pool", "add", "lab", "b", "http://h:1", "--pools", file}, []string{"pools.yaml: host: host \"http://h:1\": use tcp://h:1"}},
		{"duplicate node", []string{"pool", "add", "other", "a", "tcp://h:1", "--pools", file}, []string{"node: node \"a\" already exists in pool lab"}},
		{"unknown arch", []string{"pool", "add", "lab", "b", "tcp://h:1", "--arch", "vax", "--pools", file}, []string{"arch: unknown architecture \"vax\""}},
		{"tls on unix", []string{"pool", "add", "lab", "b", "unix:///s", "--tls-ca", "a", "--tls-cert", "b", "--tls-key", "c", "--pools", file}, []string{"tls: tls is for tcp hosts"}},
		{"partial tls flags", []string{"pool", "add", "lab", "b", "tcp://h:1", "--tls-ca", "a", "--pools", file}, []string{"--tls-ca, --tls-cert and --tls-key go together"}},
		{"bad label", []string{"pool", "add", "lab", "b", "tcp://h:1", "--label", "novalue", "--pools", file}, []string{`--label "novalue": want key=value`}},
		{"max trials", []string{"pool", "add", "lab", "b", "tcp://h:1", "--max-trials", "0", "--pools", file}, []string{"--max-trials must be at least 1, got 0"}},
		{"remove unknown node", []string{"pool", "remove", "lab", "zz", "--pools", file}, []string{`pool lab has no node "zz" (nodes: a)`}},
		{"remove unknown pool", []string{"pool", "remove", "nope", "a", "--pools", file}, []string{`no pool "nope" (pools: lab)`}},
		{"remove from missing file", []string{"pool", "remove", "lab", "a", "--pools", filepath.Join(c.dir, "none.yaml")}, []string{`no pool "lab"`}},
		{"wrong arg count", []string{"pool", "add", "lab", "b"}, []string{"accepts 3 arg(s)"}},
		{"unknown subcommand", []string{"pool", "prune"}, []string{`unknown pool command "prune"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := c.run(context.Background(), tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			for _, want := range tc.inStderr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
		})
	}
	// No rejected command changed the file.
	f, err := pools.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Pools) != 1 || len(f.Pools["lab"].Nodes) != 1 {
		t.Errorf("rejected commands changed the file: %+v", f.Pools)
	}
	if _, err := os.Stat(filepath.Join(c.dir, "none.yaml")); !os.IsNotExist(err) {
		t.Errorf("remove from a missing file created it")
	}
}

func TestPoolHelp(t *testing.T) {
	c := newCLI(t)
	for _, sub := range []string{"list", "add", "remove"} {
		code, out, _ := c.run(context.Background(), "pool", sub, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "benchrig pool "+sub) {
			t.Errorf("pool %s --help: exit %d\n%s", sub, code, out)
		}
	}
}
