// Package collect owns what benchrig reads about hosts: the fingerprint of
// the machine a run uses, and the collector that samples a run's trials
// (their cgroups, through internal/cgroup) and its host (gopsutil) while it
// runs, with a Final sample and the noise of each trial when it exits, and
// ships the samples to a Sink in batches without ever making the sampling
// wait. WatchDocker finds a node's benchmark containers from the engine's
// events; `benchrig collector` runs it all as a sidecar and writes the
// stream that DecodeStream reads back. Everything is read through
// configurable roots (/proc, /sys/fs/cgroup, /etc) so tests run on fixture
// trees.
package collect

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/benchrig/benchrig"
)

// Roots says where the host's pseudo-files are; the zero value means the
// real ones.
type Roots struct {
	Proc string // default /proc
	Etc  string // default /etc
}

func (r Roots) proc(p string) string { return filepath.Join(or(r.Proc, "/proc"), p) }
func (r Roots) etc(p string) string  { return filepath.Join(or(r.Etc, "/etc"), p) }

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Host fingerprints the machine benchrig runs on. Fields it cannot read are
// left empty rather than guessed.
func Host(roots Roots) benchrig.Fingerprint {
	f := benchrig.Fingerprint{
		OS:        runtime.GOOS,
		Arch:      NormalizeArch(runtime.GOARCH),
		CPUs:      runtime.NumCPU(),
		Version:   benchrig.Version,
		GoVersion: runtime.Version(),
	}
	f.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile(roots.proc("sys/kernel/osrelease")); err == nil {
		f.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(roots.etc("os-release")); err == nil {
		if v := keyValue(b, "PRETTY_NAME", "="); v != "" {
			f.OS = strings.Trim(v, `"`)
		}
	}
	if b, err := os.ReadFile(roots.proc("cpuinfo")); err == nil {
		f.CPUModel = cpuModel(b)
	}
	if b, err := os.ReadFile(roots.proc("meminfo")); err == nil {
		if v := keyValue(b, "MemTotal", ":"); v != "" {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			f.MemoryBytes = kb * 1024
		}
	}
	return f
}

// cpuModel finds the processor's name in /proc/cpuinfo, which names it
// differently per architecture.
func cpuModel(cpuinfo []byte) string {
	for _, key := range []string{"model name", "Model", "cpu model", "Hardware"} {
		if v := keyValue(cpuinfo, key, ":"); v != "" {
			return v
		}
	}
	// arm64 kernels often give only the implementer and part numbers.
	if impl := keyValue(cpuinfo, "CPU implementer", ":"); impl != "" {
		return "implementer " + impl + " part " + keyValue(cpuinfo, "CPU part", ":")
	}
	return ""
}

// keyValue returns the trimmed value of the first line "key<sep>value".
func keyValue(b []byte, key, sep string) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// NormalizeArch is benchrig.NormalizeArch without the "known" flag.
func NormalizeArch(a string) string {
	n, _ := benchrig.NormalizeArch(a)
	return n
}

// GitCommit returns the commit checked out in the repository holding dir,
// and whether path (relative to dir or absolute) has uncommitted changes.
// It returns "" when dir is not in a git work tree or git is absent.
func GitCommit(ctx context.Context, dir, path string) (commit string, dirty bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return "", false
	}
	commit = strings.TrimSpace(string(out))
	st, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--", path).Output()
	return commit, err == nil && len(bytes.TrimSpace(st)) > 0
}
