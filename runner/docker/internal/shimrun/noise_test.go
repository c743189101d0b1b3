package shimrun

import (
	"os"
	"path/filepath"
	"testing"
)

func writeStat(t *testing.T, dir, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestNoiseBetween: the host's busy ticks (user, nice, system, irq,
// softirq; not idle, iowait or steal) minus the container's CPU, steal
// apart, 10 ms a tick and a tick per CPU of resolution.
func TestNoiseBetween(t *testing.T) {
	dir := t.TempDir()
	writeStat(t, dir, "cpu  100 5 50 1000 7 3 2 4 0 0\ncpu0 50 2 25 500 3 1 1 2 0 0\ncpu1 50 3 25 500 4 2 1 2 0 0\nintr 1\n")
	h0 := readHostTicks(dir)
	writeStat(t, dir, "cpu  110 5 52 1020 8 3 3 6 0 0\ncpu0 55 2 26 510 4 1 2 3 0 0\ncpu1 55 3 26 510 4 2 1 3 0 0\nintr 1\n")
	h1 := readHostTicks(dir)
	if !h0.ok || h0.busy != 160 || h0.steal != 4 || h0.cpus != 2 {
		t.Fatalf("first reading %+v", h0)
	}
	// 13 busy ticks (130 ms), of which the container used 80 ms.
	n := noiseBetween(h0, h1, 1_000_000, 81_000_000, 100_000_000)
	if n == nil || n.Other != 50_000_000 || n.Steal != 20_000_000 || n.CPUs != 2 || n.Resolution != 20_000_000 || n.Window != 100_000_000 {
		t.Errorf("noise %+v", n)
	}
	if noiseBetween(h0, h1, -1, 5, 1) != nil {
		t.Error("noise without the container's cgroup")
	}
	writeStat(t, dir, "cpu  x\n")
	if readHostTicks(dir).ok {
		t.Error("a malformed /proc/stat read as ok")
	}
}
