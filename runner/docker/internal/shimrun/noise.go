package shimrun

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"

	"github.com/benchrig/benchrig/internal/cgroup"
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
	var h hostTicks
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) == 0 || !bytes.HasPrefix(f[0], []byte("cpu")) {
			continue
		}
		if len(f[0]) > 3 {
			h.cpus++
			continue
		}
		if len(f) < 9 {
			return hostTicks{}
		}
		var v [8]int64
		for i := range v {
			n, err := strconv.ParseInt(string(f[i+1]), 10, 64)
			if err != nil {
				return hostTicks{}
			}
			v[i] = n
		}
		// user nice system idle iowait irq softirq steal (guest time is
		// already in user and nice).
		h.busy = v[0] + v[1] + v[2] + v[5] + v[6]
		h.steal = v[7]
		h.ok = true
	}
	return h
}

// cgroupCPU is the container's own CPU total so far, or -1.
func cgroupCPU(root string) int64 {
	if root == "" {
		return -1
	}
	r, err := cgroup.Detect(root)
	if err != nil || r.Mode == cgroup.None {
		return -1
	}
	st, _ := cgroup.Read(r.Top())
	return int64(st.CPU)
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
