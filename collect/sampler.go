package collect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/cgroup"
)

// Sampler reads one target's figures into s: its Cgroup part (a trial's or
// container's cgroup) or its Host part. The collector fills in identity
// (run, node, kind, seq, trial) itself.
//
// Sample is called from the collector's sampling goroutine and, for a
// final or first sample, from the goroutine of a TrialExited or Watch
// caller, possibly at the same time: implementations keep no mutable state,
// or guard it.
// It only reads local files, so it does not watch ctx beyond passing it on.
// An error says which figures are missing; the figures that were read stay
// in s and the collector keeps the sample with the error (a failed read is
// data).
type Sampler interface {
	Sample(ctx context.Context, s *benchrig.Sample) error
}

var (
	_ Sampler    = cgroupSampler{}
	_ Sampler    = (*hostSampler)(nil)
	_ hotSampler = cgroupSampler{}
	_ hotSampler = (*hostSampler)(nil)
)

// cgroupSampler reads one cgroup through internal/cgroup, on v1, v2 and
// hybrid hosts alike (dirs says where the cgroup's directories are). It
// keeps the cgroup's files open (cgroup.Reader): opening them anew for
// every sample would cost twenty times more CPU.
type cgroupSampler struct {
	dirs cgroup.Dirs
	r    *cgroup.Reader
}

func newCgroupSampler(d cgroup.Dirs) cgroupSampler {
	r := cgroup.NewReader(d)
	r.NoMemoryStat = true // samples carry no memory.stat figures
	return cgroupSampler{dirs: d, r: r}
}

func (g cgroupSampler) Sample(_ context.Context, s *benchrig.Sample) error {
	st, err := g.r.Read()
	return g.fill(s, st, err)
}

// SampleHot reads the cgroup's hot figures only (cgroup.Reader.ReadHot):
// CPU, throttling and memory current.
func (g cgroupSampler) SampleHot(_ context.Context, s *benchrig.Sample) error {
	st, err := g.r.ReadHot()
	return g.fill(s, st, err)
}

func (g cgroupSampler) fill(s *benchrig.Sample, st cgroup.Stats, err error) error {
	s.Cgroup = cgroupSample(st)
	if err == nil && st.CPU == cgroup.NA && st.MemoryCurrent == cgroup.NA && st.PidsCurrent == cgroup.NA {
		// Absent files are "not available", so a removed cgroup reads as
		// no figures at all rather than as an error: say so.
		err = fmt.Errorf("cgroup %s: %w", g.where(), errNoFigures)
	}
	return err
}

// errNoFigures says a cgroup had none of its files: removed, or without
// any controller.
var errNoFigures = errors.New("no figures (removed, or no controller)")

func (g cgroupSampler) where() string {
	if g.dirs.V2 != "" {
		return g.dirs.V2
	}
	for _, c := range []string{"cpuacct", "memory", "pids"} {
		if d, ok := g.dirs.V1[c]; ok {
			return d
		}
	}
	return "(none)"
}

// cgroupSample turns the reader's Stats (NA for absent) into the sample's
// figures (nil for absent). The figures live in one allocation: a
// collector makes a hundred of these a second.
func cgroupSample(st cgroup.Stats) *benchrig.CgroupSample {
	var v struct {
		cg benchrig.CgroupSample
		d  [7]time.Duration
		n  [10]int64
		f  [3]float64
	}
	p := &v // one allocation; every pointer below points into it
	nd, nn, nf := 0, 0, 0
	dur := func(x time.Duration) *time.Duration {
		if x == cgroup.NA {
			return nil
		}
		p.d[nd] = x
		nd++
		return &p.d[nd-1]
	}
	num := func(x int64) *int64 {
		if x == cgroup.NA {
			return nil
		}
		p.n[nn] = x
		nn++
		return &p.n[nn-1]
	}
	pct := func(x float64) *float64 {
		if x == cgroup.NA {
			return nil
		}
		p.f[nf] = x
		nf++
		return &p.f[nf-1]
	}
	p.cg = benchrig.CgroupSample{
		CPU: dur(st.CPU), User: dur(st.User), Sys: dur(st.Sys),
		Periods: num(st.Periods), ThrottledPeriods: num(st.ThrottledPeriods), Throttled: dur(st.Throttled),
		MemoryCurrent: num(st.MemoryCurrent), MemoryPeak: num(st.MemoryPeak),
		IOReadBytes: num(st.IORead), IOWriteBytes: num(st.IOWrite),
		IOReadOps: num(st.IOReadOps), IOWriteOps: num(st.IOWriteOps),
		PidsCurrent: num(st.PidsCurrent), PidsPeak: num(st.PidsPeak),
		CPUPressureSome10: pct(st.CPUPressure.SomeAvg10), CPUPressureTotal: dur(st.CPUPressure.SomeTotal),
		MemoryPressureSome10: pct(st.MemoryPressure.SomeAvg10), MemoryPressureTotal: dur(st.MemoryPressure.SomeTotal),
		IOPressureSome10: pct(st.IOPressure.SomeAvg10), IOPressureTotal: dur(st.IOPressure.SomeTotal),
	}
	return &p.cg
}

// hostSampler reads the host's figures through procRoot: CPU times, load
// and memory from /proc itself (procFiles), disk and network counters with
// gopsutil. Its methods may run at once (the sampling goroutine, and
// TrialStarted and TrialExited callers reading steal time): mu serializes
// them.
type hostSampler struct {
	env  common.EnvMap
	cpus int

	mu   sync.Mutex
	proc *procFiles
	// io holds the disk and network counters of the last full sample, for
	// the hot samples in between (see SampleHot).
	io     benchrig.HostSample
	ioRead bool // io holds a full sample's counters
}

// newHostSampler reads the host under procRoot ("" for /proc). gopsutil
// takes its roots through the context (common.EnvKey). Its disk counters
// also look up each device's serial number and label under /run/udev, /dev
// and /sys on every call: benchrig wants neither, so those roots point at
// an absent directory and the lookups fail at once instead of costing a
// dozen file reads per device per sample.
func newHostSampler(procRoot string) *hostSampler {
	nowhere := "/nonexistent/benchrig-collector"
	env := common.EnvMap{common.HostRunEnvKey: nowhere, common.HostDevEnvKey: nowhere, common.HostSysEnvKey: nowhere}
	if procRoot != "" {
		env[common.HostProcEnvKey] = procRoot
	}
	h := &hostSampler{env: env, proc: newProcFiles(procRoot)}
	if per, err := cpu.TimesWithContext(h.ctx(context.Background()), true); err == nil {
		h.cpus = len(per)
	}
	return h
}

func (h *hostSampler) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, common.EnvKey, h.env)
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// cpuTimes reads the all-CPU line of /proc/stat.
func (h *hostSampler) cpuTimes() (hostCPU, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.proc.cpuTimes()
}

// Sample reads every host figure.
func (h *hostSampler) Sample(ctx context.Context, s *benchrig.Sample) error {
	return h.sample(ctx, s, true)
}

// SampleHot reads the CPU times, load and memory, and gives the disk and
// network counters of the last Sample: gopsutil's disk and network
// counters cost three times the rest (31 µs of the 41 µs of a host sample
// on the lab's VM), and the collector reads them at least once a second
// (FullEvery), which is as often as a timeline of a host's IO needs.
// Before any Sample it reads them too.
func (h *hostSampler) SampleHot(ctx context.Context, s *benchrig.Sample) error {
	return h.sample(ctx, s, false)
}

func (h *hostSampler) sample(ctx context.Context, s *benchrig.Sample, full bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	hs := &benchrig.HostSample{CPUs: h.cpus}
	s.Host = hs
	var errs []error
	if t, err := h.proc.cpuTimes(); err != nil {
		errs = append(errs, err)
	} else {
		hs.CPUUser, hs.CPUSystem, hs.CPUIdle = secs(t.User+t.Nice), secs(t.System+t.Irq+t.Softirq), secs(t.Idle)
		hs.CPUIOWait, hs.CPUSteal = secs(t.Iowait), secs(t.Steal)
		// Guest time is already counted in user time by the kernel.
		hs.CPUTotal = hs.CPUUser + hs.CPUSystem + hs.CPUIdle + hs.CPUIOWait + hs.CPUSteal
	}
	if l1, l5, l15, err := h.proc.loadAvg(); err != nil {
		errs = append(errs, err)
	} else {
		hs.Load1, hs.Load5, hs.Load15 = l1, l5, l15
	}
	if total, avail, ok, err := h.proc.memory(); err != nil {
		errs = append(errs, err)
	} else if ok {
		hs.MemoryTotal, hs.MemoryAvailable, hs.MemoryUsed = total, avail, total-min(avail, total)
	} else if m, err := mem.VirtualMemoryWithContext(h.ctx(ctx)); err != nil {
		// A kernel without MemAvailable: gopsutil estimates it.
		errs = append(errs, fmt.Errorf("memory: %w", err))
	} else {
		hs.MemoryTotal, hs.MemoryUsed, hs.MemoryAvailable = m.Total, m.Used, m.Available
	}
	if !full && h.ioRead {
		hs.DiskReadBytes, hs.DiskWriteBytes, hs.DiskReadOps, hs.DiskWriteOps = h.io.DiskReadBytes, h.io.DiskWriteBytes, h.io.DiskReadOps, h.io.DiskWriteOps
		hs.NetRecvBytes, hs.NetSentBytes = h.io.NetRecvBytes, h.io.NetSentBytes
		return errors.Join(errs...)
	}
	ctx = h.ctx(ctx)
	if ds, err := disk.IOCountersWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("disk: %w", err))
	} else {
		for name, d := range ds {
			if isPartition(name, ds) {
				continue // its whole disk counts it already
			}
			hs.DiskReadBytes += d.ReadBytes
			hs.DiskWriteBytes += d.WriteBytes
			hs.DiskReadOps += d.ReadCount
			hs.DiskWriteOps += d.WriteCount
		}
	}
	if ns, err := net.IOCountersWithContext(ctx, true); err != nil {
		errs = append(errs, fmt.Errorf("network: %w", err))
	} else {
		for _, n := range ns {
			if n.Name == "lo" {
				continue // loopback traffic never leaves the host
			}
			hs.NetRecvBytes += n.BytesRecv
			hs.NetSentBytes += n.BytesSent
		}
	}
	h.io, h.ioRead = *hs, true
	return errors.Join(errs...)
}

// isPartition says whether name is a partition of another listed device
// (sda1 of sda, nvme0n1p1 of nvme0n1), whose counters include it. A disk
// whose name ends in a digit separates its partitions with "p", so loop10
// is not a partition of loop1.
func isPartition[V any](name string, devs map[string]V) bool {
	for other := range devs {
		rest, ok := strings.CutPrefix(name, other)
		if !ok || rest == "" {
			continue
		}
		if last := other[len(other)-1]; last >= '0' && last <= '9' {
			if rest, ok = strings.CutPrefix(rest, "p"); !ok {
				continue
			}
		}
		if rest != "" && strings.Trim(rest, "0123456789") == "" {
			return true
		}
	}
	return false
}
