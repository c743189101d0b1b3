package docker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/testenv"
	"github.com/benchrig/benchrig/profiling"
	"github.com/benchrig/benchrig/runner"
)

// labPerf skips (fails under CI) when this host's perf cannot record.
func labPerf(t *testing.T) {
	t.Helper()
	if _, err := (profiling.Perf{}).Check(context.Background(), profiling.Sampling{Event: "cpu-clock", Freq: 99}); err != nil {
		testenv.Skipf(t, "perf cannot record here: %v", err)
	}
}

// profilerModes are the two ways a node's containers are profiled: this
// host's perf (the lab's engines run on this host), and the node's
// profiler container, which the pool's policy allows.
var profilerModes = []struct {
	name     string
	profiler bool
}{{"host perf", false}, {"node profiler", true}}

// profilerLeft counts the profiler containers of executor e still on host.
func profilerLeft(t *testing.T, host string, e *Executor) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := rawClient(t, host).ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: client.Filters{}.Add("label", labelProfiler+"=1").Add("label", runner.LabelOwner+"="+e.owner)})
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Items)
}

// TestLabRunProfiled profiles a container on a lab node with this host's
// perf and with the node's profiler container, nothing installed in the
// image: a program mounted at a path only the container has is named by
// its own function, read from the container's root; the trial is timed
// by the shim after perf attached (held, not in the wall time); and the
// containers go afterwards, the profiler's at Close.
func TestLabRunProfiled(t *testing.T) {
	host := labHost(t, "DOCKER_HOST")
	labPerf(t)
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "spin"), "./testdata/spin")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build spin: %v\n%s", err, out)
	}
	for _, mode := range profilerModes {
		t.Run(mode.name, func(t *testing.T) {
			e := labExecutorWith(t, Config{Node: "lab1", Host: host, Policy: benchrig.PoolPolicy{HostMounts: []string{dir}, Profiler: mode.profiler}})
			j := job(t, "benchrig/busybox:amd64", "/opt/bench-only/spin", "300ms")
			j.Container.Mounts = []runner.Mount{{Source: dir, Target: "/opt/bench-only", ReadOnly: true}}
			m, prof, perr, err := e.RunProfiled(context.Background(), j, profiling.Sampling{Event: "cpu-clock", Freq: 999})
			if err != nil || perr != nil {
				t.Fatalf("RunProfiled: %v, profile: %v", err, perr)
			}
			if m.ExitCode != 0 || m.Error != "" {
				t.Fatalf("exit %d error %q: %s", m.ExitCode, m.Error, m.StderrTail)
			}
			if m.Wall < 300*time.Millisecond || m.Metrics["shim_held_s"] <= 0 || m.Wall.Seconds() >= m.Metrics["trial_total_s"] {
				t.Errorf("wall %v, held %vs, trial total %vs: want the shim's timing of the command alone", m.Wall, m.Metrics["shim_held_s"], m.Metrics["trial_total_s"])
			}
			// cpu-clock samples the CPU the command got: about 300 ms of
			// it when it has a core to itself, less when the machine is
			// busy (the tests of other packages run meanwhile).
			cpu := (m.User + m.Sys).Seconds()
			if want := max(20, int64(cpu*999/3)); prof == nil || prof.Samples() < want {
				t.Fatalf("profile %v: want about %.0f samples (%.0f ms of CPU at 999 Hz), at least %d", prof, cpu*999, cpu*1e3, want)
			}
			var spin, in int64
			for stack, n := range prof.Stacks {
				if strings.HasPrefix(stack, "spin;") {
					in += n
				}
				if strings.Contains(stack, ";main.spinLoop") {
					spin += n
				}
			}
			if spin*2 < prof.Samples() {
				t.Errorf("%d of %d samples in main.spinLoop (%d in process spin); stacks:\n%s", spin, prof.Samples(), in, topStacks(prof.Stacks, 10))
			}
			if mode.profiler && profilerLeft(t, host, e) != 1 {
				t.Errorf("no profiler container of the executor on the node while it is open")
			}
		})
	}
}

// TestLabRunProfiledArm64 profiles an arm64 container on the emulated
// lab node, both ways: the samples are host ones, of qemu translating
// the guest, and the command's process has them.
func TestLabRunProfiledArm64(t *testing.T) {
	host := labHost(t, "BENCHRIG_LAB_ARM64_HOST")
	labPerf(t)
	for _, mode := range profilerModes {
		t.Run(mode.name, func(t *testing.T) {
			e := labExecutorWith(t, Config{Node: "lab3", Host: host, Arch: "arm64", Policy: benchrig.PoolPolicy{Profiler: mode.profiler}})
			j := job(t, "benchrig/busybox:arm64", "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done")
			j.Container.Platform = "linux/arm64"
			m, prof, perr, err := e.RunProfiled(context.Background(), j, profiling.Sampling{Event: "cpu-clock", Freq: 999})
			if err != nil || perr != nil {
				t.Fatalf("RunProfiled: %v, profile: %v", err, perr)
			}
			if m.ExitCode != 0 || prof == nil || prof.Samples() == 0 {
				t.Fatalf("exit %d %q, profile %v", m.ExitCode, m.Error, prof)
			}
			// The command's process (sh, its comm under binfmt_misc) has most
			// samples: perf followed it from the held shim.
			var sh, qemu int64
			for stack, n := range prof.Stacks {
				if strings.HasPrefix(stack, "sh;") {
					sh += n
				}
				if strings.Contains(stack, "qemu-aarch64") {
					qemu += n
				}
			}
			if sh*2 < prof.Samples() || qemu == 0 {
				t.Errorf("%d of %d samples in the command's process sh, %d in qemu's frames; stacks:\n%s", sh, prof.Samples(), qemu, topStacks(prof.Stacks, 10))
			}
			t.Logf("arm64 under qemu, %d samples; top stacks:\n%s", prof.Samples(), topStacks(prof.Stacks, 8))
		})
	}
}

// topStacks is the n stacks with the most samples, one a line.
func topStacks(s map[string]int64, n int) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return s[keys[i]] > s[keys[j]] })
	var b strings.Builder
	for _, k := range keys[:min(n, len(keys))] {
		fmt.Fprintf(&b, "%6d %s\n", s[k], k)
	}
	return b.String()
}

// TestLabProfilerContainerComesBack: a node's profiler container removed
// behind the executor's back (an engine restart, a prune) is started
// again by the profiled trial after the one that found it gone.
func TestLabProfilerContainerComesBack(t *testing.T) {
	host := labHost(t, "DOCKER_HOST")
	labPerf(t)
	e := labExecutorWith(t, Config{Node: "lab1", Host: host, Policy: benchrig.PoolPolicy{Profiler: true}})
	s := profiling.Sampling{Event: "cpu-clock", Freq: 999}
	j := job(t, "benchrig/busybox:amd64", "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done")
	if _, _, perr, err := e.RunProfiled(context.Background(), j, s); err != nil || perr != nil {
		t.Fatalf("first trial: %v, profile: %v", err, perr)
	}
	e.profMu.Lock()
	id := e.profilerID
	e.profMu.Unlock()
	if _, err := rawClient(t, host).ContainerRemove(context.Background(), id, client.ContainerRemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	// The trial that finds it gone runs unprofiled, saying why...
	m, _, perr, err := e.RunProfiled(context.Background(), j, s)
	if err != nil || m.ExitCode != 0 || perr == nil {
		t.Fatalf("trial with the profiler gone: exit %d, %v, profile error %v; want a measured trial and an error saying why it has no profile", m.ExitCode, err, perr)
	}
	// ...and the next one has a profiler again.
	_, prof, perr, err := e.RunProfiled(context.Background(), j, s)
	if err != nil || perr != nil || prof == nil || prof.Samples() == 0 {
		t.Fatalf("trial after: %v, profile %v: %v", err, prof, perr)
	}
}
