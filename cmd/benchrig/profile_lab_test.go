package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
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

// TestLabProfiledRun profiles containers on every lab node with this
// host's perf, nothing installed in the images: each node's case has
// samples of the loop's shell, the report says how it was profiled and
// at what cost, the arm64 node's flame graph shows qemu at work, and no
// container is left.
func TestLabProfiledRun(t *testing.T) {
	needLab(t)
	c := labCLI(t, labNodes)
	spec := c.write("profile.yaml", labProfileSpec)
	code, stdout, stderr := c.run(context.Background(), "run", "-q", spec, "--pool", "lab")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "profiled: perf cpu-clock at 499 Hz, 1 extra trial per case") || strings.Contains(stdout, "unprofiled") {
		t.Errorf("the report does not say the run was profiled:\n%s", stdout)
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
	noLeftovers(t)
}
