package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/benchrig/benchrig/runner/docker"
)

// A CPU-bound loop in the busybox image of each node's architecture,
// profiled in one extra trial per case.
const labProfileSpec = `name: lab-profile
command: 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done'
image: 'benchrig/busybox:{{.arch}}'
repeat: 2
warmup: 0
profile: {freq: 499}
`

// TestLabProfiledRun profiles containers on every lab node, with this
// host's perf and with each node's profiler container (the pool's policy
// profiler: true), nothing installed in the images: each node's case has
// samples of the loop's shell, the report says how it was profiled and
// at what cost, the arm64 node's flame graph shows qemu at work, and no
// container is left, the profilers' included.
func TestLabProfiledRun(t *testing.T) {
	needLab(t)
	for _, mode := range []struct {
		name     string
		profiler bool
	}{{"host perf", false}, {"node profiler", true}} {
		t.Run(mode.name, func(t *testing.T) {
			c := labCLI(t, labNodes)
			if mode.profiler {
				pools := c.env["BENCHRIG_POOLS"]
				b, err := os.ReadFile(pools)
				if err != nil {
					t.Fatal(err)
				}
				b = []byte(strings.Replace(string(b), "policy: {", "policy: {profiler: true, ", 1))
				if err := os.WriteFile(pools, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			labProfiledRun(t, c, "lab", noLeftovers)
		})
	}
}

// labProfiledRun runs labProfileSpec on pool (the lab's three nodes,
// lab3 arm64) with the extra run flags, checks each node's profile, and
// then that noLeft finds no container and no profiler container is left.
func labProfiledRun(t *testing.T, c *cli, pool string, noLeft func(*testing.T), extra ...string) {
	t.Helper()
	spec := c.write("profile.yaml", labProfileSpec)
	code, stdout, stderr := c.run(context.Background(), append([]string{"run", "-q", spec, "--pool", pool}, extra...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "profiled: perf cpu-clock at 499 Hz, 1 extra trial per case") || strings.Contains(stdout, "unprofiled") {
		t.Errorf("the report does not say the run was profiled:\n%s\n%s", stdout, stderr)
	}
	code, out, errOut := c.run(context.Background(), "runs", "profile", "latest")
	if code != 0 {
		t.Fatalf("runs profile: exit %d\n%s%s", code, out, errOut)
	}
	// "case node=lab3: 812 samples over 1 profiled trial(s), ..."
	samples := regexp.MustCompile(`case node=(lab\d): (\d+) samples`)
	seen := map[string]bool{}
	for _, m := range samples.FindAllStringSubmatch(out, -1) {
		if n, _ := strconv.Atoi(m[2]); n == 0 {
			t.Errorf("node %s's case has no samples", m[1])
		}
		seen[m[1]] = true
	}
	if len(seen) != 3 {
		t.Fatalf("profiles of nodes %v, want lab1, lab2 and lab3:\n%s", seen, out)
	}
	svg := filepath.Join(c.dir, "lab3.svg")
	if code, _, errOut := c.run(context.Background(), "runs", "profile", "latest", "--case", "node=lab3", "--svg", svg); code != 0 {
		t.Fatalf("runs profile --svg: exit %d\n%s", code, errOut)
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "qemu-aarch64") {
		t.Errorf("the arm64 node's flame graph does not show the emulator at work")
	}
	noLeft(t)
	for name, host := range labNodes {
		out, err := exec.Command("docker", "-H", host, "ps", "-aq", "--filter", "label=benchrig.profiler", "--filter", "label=benchrig.owner="+docker.DefaultOwner()).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("node %s: profiler containers left: %s %v", name, out, err)
		}
	}
}
