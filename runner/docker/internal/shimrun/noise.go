package shimrun

import (
	"os"
	"path/filepath"

	"github.com/benchrig/benchrig/internal/cgroup"
	"github.com/benchrig/benchrig/internal/procfs"
)

// Noise is what else used the host while the command ran, as the shim
// can tell from inside its container: the host's busy CPU time from
// /proc/stat (not namespaced: the host's) minus the container's cgroup
// CPU over the same window, and the steal time. /proc/stat counts in
// USER_HZ ticks, so the figures are 10 ms coarse per CPU (Resolution).
type Noise struct {
	Window     int64 `json:"window_ns"`
	CPUs       int   `json:"cpus"`
	Other      int64 `json:"other_cpu_ns"`
	Steal      int64 `json:"steal_ns"`
	Resolution int64 `json:"resolution_ns"`
}

// tick is USER_HZ, the unit of /proc/stat's CPU times on Linux.
const tick = int64(10_000_000)

// hostTicks is /proc/stat's aggregate CPU line: busy (user, nice, system,
// irq, softirq) and steal ticks over all CPUs, and the CPUs counted.
type hostTicks struct {
	busy, steal int64
	cpus        int
	ok          bool
}

func readHostTicks(procRoot string) hostTicks {
	b, err := os.ReadFile(filepath.Join(procRoot, "stat"))
	if err != nil {
		return hostTicks{}
	}
	t, err := procfs.CPUTicks(b)
	if err != nil {
		return hostTicks{}
	}
	return hostTicks{
		busy:  int64(t[procfs.User] + t[procfs.Nice] + t[procfs.System] + t[procfs.IRQ] + t[procfs.SoftIRQ]),
		steal: int64(t[procfs.Steal]),
		cpus:  procfs.CountCPUs(b),
		ok:    true,
	}
}

// cgroupCPU returns a reader of the container's own CPU total so far (-1
// when it cannot be read): the cgroup found once, its CPU file kept open
// between the readings around the command (ReadHot: one or two files).
func cgroupCPU(root string) (read func() int64, done func()) {
	none := func() int64 { return -1 }
	if root == "" {
		return none, func() {}
	}
	r, err := cgroup.Detect(root)
	if err != nil || r.Mode == cgroup.None {
		return none, func() {}
	}
	rd := cgroup.NewReader(r.Top())
	return func() int64 {
		st, _ := rd.ReadHot()
		return int64(st.CPU)
	}, func() { _ = rd.Close() }
}

// noiseBetween is the noise of a window from two readings of the host and
// of the container's cgroup; nil when a reading is missing.
func noiseBetween(h0, h1 hostTicks, cg0, cg1, window int64) *Noise {
	if !h0.ok || !h1.ok || cg0 < 0 || cg1 < 0 || h1.cpus == 0 {
		return nil
	}
	return &Noise{
		Window:     window,
		CPUs:       h1.cpus,
		Other:      max(0, (h1.busy-h0.busy)*tick-(cg1-cg0)),
		Steal:      max(0, (h1.steal-h0.steal)*tick),
		Resolution: tick * int64(h1.cpus),
	}
}
