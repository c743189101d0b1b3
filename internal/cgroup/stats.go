package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// NA is the value of a figure that is not available: its controller is not
// there, or the kernel lacks its file.
const NA = -1

// Stats are one cgroup's figures. Each is NA when not available. Counters
// count since the cgroup was created, for the cgroup and its descendants
// (v1 block IO excepted: blkio.throttle.io_service_bytes counts the
// cgroup's own tasks only).
type Stats struct {
	// CPU is the precise total (v1 cpuacct.usage, v2 cpu.stat usage_usec);
	// User and Sys are the kernel's split of it, tick-sampled in v1.
	CPU, User, Sys time.Duration
	// Periods, ThrottledPeriods and Throttled come from cpu.stat of the
	// cpu controller (v1 nr_periods, nr_throttled, throttled_time; v2 the
	// same with throttled_usec). They stay 0 without a quota.
	Periods, ThrottledPeriods int64
	Throttled                 time.Duration

	// MemoryCurrent and MemoryPeak are the cgroup's charge now and at its
	// highest (v1 memory.usage_in_bytes, memory.max_usage_in_bytes; v2
	// memory.current, memory.peak). The charge includes page cache the
	// cgroup caused, not only anonymous memory.
	MemoryCurrent, MemoryPeak int64
	Memory                    MemoryStat

	PidsCurrent, PidsPeak int64

	// IORead and IOWrite are bytes summed over devices (v1
	// blkio.throttle.io_service_bytes, which some kernels leave at 0 until
	// a throttle rule exists on the device; v2 io.stat).
	IORead, IOWrite int64
	// IOReadOps and IOWriteOps are read and write operations summed over
	// devices (v1 blkio.throttle.io_serviced, with the same caveat; v2
	// io.stat rios and wios).
	IOReadOps, IOWriteOps int64

	// Pressure is read from the unified hierarchy only (cpu.pressure,
	// memory.pressure, io.pressure), on hybrid hosts too.
	CPUPressure, MemoryPressure, IOPressure Pressure
}

// MemoryStat holds the memory.stat keys benchrig uses, hierarchical in both
// versions (v1 total_rss, total_cache, total_pgmajfault; v2 anon, file,
// pgmajfault).
type MemoryStat struct {
	Anon        int64 // bytes of anonymous memory
	File        int64 // bytes of page cache
	MajorFaults int64 // page faults that needed IO
}

// Pressure is one PSI file: the share of the last 10 seconds in which some
// (at least one) or all (full) of the cgroup's tasks stalled on the
// resource, in percent, and the total stall time since creation.
type Pressure struct {
	SomeAvg10, FullAvg10 float64
	SomeTotal, FullTotal time.Duration
}

// NoStats returns Stats with every figure NA.
func NoStats() Stats {
	return Stats{
		CPU: NA, User: NA, Sys: NA, Periods: NA, ThrottledPeriods: NA, Throttled: NA,
		MemoryCurrent: NA, MemoryPeak: NA, Memory: MemoryStat{NA, NA, NA},
		PidsCurrent: NA, PidsPeak: NA, IORead: NA, IOWrite: NA, IOReadOps: NA, IOWriteOps: NA,
		CPUPressure: noPressure, MemoryPressure: noPressure, IOPressure: noPressure,
	}
}

var noPressure = Pressure{NA, NA, NA, NA}

// Read reads one cgroup's figures. Each controller's figures come from its
// v1 directory when d has one, else from the unified directory, never a
// mix: v1 cpuacct's total does not go with v2's user/sys split. An absent
// file leaves its figures NA; a malformed or unreadable one is an error
// naming the file, and the other figures are still read.
func Read(d Dirs) (Stats, error) {
	return readStats(d, nil, readOpts{})
}

// readOpts says which figures readStats takes.
type readOpts struct {
	// noMemoryStat leaves st.Memory NA without reading memory.stat.
	noMemoryStat bool
	// hot takes only the hot figures (see Reader.ReadHot).
	hot bool
	// unthrottled gives v1 cpu.stat's counters as 0 without reading it
	// (see Reader.ReadHot).
	unthrottled bool
}

// Keys of cpu.stat: v1 (cpu controller) and v2.
var (
	v1CPUStatKeys = []string{"nr_periods", "nr_throttled", "throttled_time"}
	v2CPUStatKeys = []string{"usage_usec", "user_usec", "system_usec", "nr_periods", "nr_throttled", "throttled_usec"}
)

// readStats is Read with the files' contents coming from src (os.ReadFile
// when nil), of the figures o selects.
func readStats(d Dirs, src func(file) ([]byte, error), o readOpts) (Stats, error) {
	st := NoStats()
	r := reader{src: src}
	// v2 cpu.stat holds the CPU times and the throttling: read it once.
	var v2cpu [6]int64
	if _, v1acct := d.V1["cpuacct"]; d.V2 != "" && (!v1acct || d.V1["cpu"] == "") {
		r.flatKeys(join(d.V2, "cpu.stat"), v2CPUStatKeys, v2cpu[:])
	}
	if dir, ok := d.V1["cpuacct"]; ok {
		st.CPU = r.nanos(join(dir, "cpuacct.usage"))
		if !o.hot {
			st.User = r.nanos(join(dir, "cpuacct.usage_user"))
			st.Sys = r.nanos(join(dir, "cpuacct.usage_sys"))
		}
	} else if d.V2 != "" {
		st.CPU, st.User, st.Sys = usecs(v2cpu[0]), usecs(v2cpu[1]), usecs(v2cpu[2])
	}
	if _, ok := d.V1["cpu"]; ok && o.unthrottled {
		st.Periods, st.ThrottledPeriods, st.Throttled = 0, 0, 0
	} else if dir, ok := d.V1["cpu"]; ok {
		var kv [3]int64
		r.flatKeys(join(dir, "cpu.stat"), v1CPUStatKeys, kv[:])
		st.Periods, st.ThrottledPeriods, st.Throttled = kv[0], kv[1], time.Duration(kv[2])
	} else if d.V2 != "" {
		st.Periods, st.ThrottledPeriods, st.Throttled = v2cpu[3], v2cpu[4], usecs(v2cpu[5])
	}
	if dir, ok := d.V1["memory"]; ok {
		st.MemoryCurrent = r.int(join(dir, "memory.usage_in_bytes"))
		if !o.hot {
			st.MemoryPeak = r.int(join(dir, "memory.max_usage_in_bytes"))
		}
		if !o.hot && !o.noMemoryStat {
			kv := r.flatKeyed(join(dir, "memory.stat"))
			st.Memory = MemoryStat{key(kv, "total_rss"), key(kv, "total_cache"), key(kv, "total_pgmajfault")}
		}
	} else if d.V2 != "" {
		st.MemoryCurrent = r.int(join(d.V2, "memory.current"))
		if !o.hot {
			st.MemoryPeak = r.int(join(d.V2, "memory.peak"))
		}
		if !o.hot && !o.noMemoryStat {
			kv := r.flatKeyed(join(d.V2, "memory.stat"))
			st.Memory = MemoryStat{key(kv, "anon"), key(kv, "file"), key(kv, "pgmajfault")}
		}
	}
	if o.hot {
		return st, errors.Join(r.errs...)
	}
	pids := d.V2
	if dir, ok := d.V1["pids"]; ok {
		pids = dir
	}
	if pids != "" {
		st.PidsCurrent = r.int(join(pids, "pids.current"))
		st.PidsPeak = r.int(join(pids, "pids.peak"))
	}
	if dir, ok := d.V1["blkio"]; ok {
		st.IORead, st.IOWrite = r.io(join(dir, "blkio.throttle.io_service_bytes"), parseBlkioServiceBytes)
		st.IOReadOps, st.IOWriteOps = r.io(join(dir, "blkio.throttle.io_serviced"), parseBlkioServiceBytes)
	} else if d.V2 != "" {
		var rw [4]int64
		if data := r.read(join(d.V2, "io.stat")); data != nil {
			if err := parseIOStatAll(data, &rw); err != nil {
				r.fail(join(d.V2, "io.stat"), err)
			} else {
				st.IORead, st.IOWrite, st.IOReadOps, st.IOWriteOps = rw[0], rw[1], rw[2], rw[3]
			}
		}
	}
	if d.V2 != "" {
		st.CPUPressure = r.pressure(join(d.V2, "cpu.pressure"))
		st.MemoryPressure = r.pressure(join(d.V2, "memory.pressure"))
		st.IOPressure = r.pressure(join(d.V2, "io.pressure"))
	}
	return st, errors.Join(r.errs...)
}

// file is a cgroup file: a directory and a name, kept apart so that a
// collector that reads a dozen files per sample neither builds nor cleans
// their paths (a fifth of its CPU once), and finds its open files by
// directory strings that are the very same each time.
type file struct{ dir, name string }

func join(dir, name string) file { return file{dir, name} }

func (f file) String() string { return f.dir + string(filepath.Separator) + f.name }

// reader reads cgroup files, turning an absent file into "not available"
// and collecting the errors of the others.
type reader struct {
	src  func(file) ([]byte, error) // nil: os.ReadFile
	errs []error
}

// read returns a file's content, or nil when the file is absent.
func (r *reader) read(path file) []byte {
	src := r.src
	if src == nil {
		src = readFile
	}
	data, err := src(path)
	if err != nil {
		if !notExist(err) {
			r.errs = append(r.errs, err) // *PathError: names the file
		}
		return nil
	}
	return data
}

func (r *reader) fail(path file, err error) {
	r.errs = append(r.errs, fmt.Errorf("%s: %w", path, err))
}

// int reads a file holding one integer. "max" (a v2 limit, never a
// counter) is NA rather than an error.
func (r *reader) int(path file) int64 {
	data := r.read(path)
	if data == nil {
		return NA
	}
	data = bytes.TrimSpace(data)
	if string(data) == "max" {
		return NA
	}
	v, err := parseInt(data)
	if err != nil {
		r.fail(path, err)
		return NA
	}
	return v
}

func (r *reader) nanos(path file) time.Duration {
	return time.Duration(r.int(path))
}

// flatKeyed reads a "key value" per line file (memory.stat); nil when
// absent or malformed.
func (r *reader) flatKeyed(path file) map[string]int64 {
	data := r.read(path)
	if data == nil {
		return nil
	}
	kv, err := parseFlatKeyed(data)
	if err != nil {
		r.fail(path, err)
	}
	return kv
}

// flatKeys reads the values of keys from a "key value" per line file
// (cpu.stat) into out, without building a map: the collector reads
// cpu.stat of every target at every tick. A key that is absent, or every
// key of an absent or malformed file, is NA.
func (r *reader) flatKeys(path file, keys []string, out []int64) {
	for i := range out {
		out[i] = NA
	}
	data := r.read(path)
	if data == nil {
		return
	}
	if err := parseFlatKeys(data, keys, out); err != nil {
		for i := range out {
			out[i] = NA
		}
		r.fail(path, err)
	}
}

func (r *reader) io(path file, parse func([]byte) (int64, int64, error)) (read, write int64) {
	data := r.read(path)
	if data == nil {
		return NA, NA
	}
	read, write, err := parse(data)
	if err != nil {
		r.fail(path, err)
		return NA, NA
	}
	return read, write
}

func (r *reader) pressure(path file) Pressure {
	data := r.read(path)
	if data == nil {
		return noPressure
	}
	p, err := parsePressure(data)
	if err != nil {
		r.fail(path, err)
		return noPressure
	}
	return p
}

// usecs turns microseconds into a duration, NA staying NA.
func usecs(v int64) time.Duration {
	if v == NA {
		return NA
	}
	return time.Duration(v) * time.Microsecond
}

// key returns kv[k], NA when absent.
func key(kv map[string]int64, k string) int64 {
	if v, ok := kv[k]; ok {
		return v
	}
	return NA
}

// HostCPUTick is the granularity of HostCPU per CPU when it is tick-based:
// cgroup v2's root usage_usec is summed from scheduler ticks on some
// kernels (seen here in 4 ms steps); 10 ms is USER_HZ, the coarsest.
const HostCPUTick = 10 * time.Millisecond

// HostCPUPrecise reports whether HostCPU is ns-precise (v1 cpuacct), as
// opposed to tick-based (HostCPUTick per CPU).
func (r Root) HostCPUPrecise() bool { return r.v1["cpuacct"] != "" }

// HostCPU returns the CPU time used by every task on the host since boot,
// summed over CPUs, from the root cgroup: v1
// cpuacct.usage at the cpuacct root (V1 and Hybrid hosts), v2 cpu.stat
// usage_usec at the unified root (tick-based on some kernels: see
// HostCPUPrecise). It is the measure noise attribution
// subtracts a trial's cgroup CPU from, since both come from the same
// scheduler accounting (/proc/stat's ticks are 10 ms coarse).
//
// Inside a container whose cgroup namespace makes its own cgroup the root,
// this is the container's CPU, not the host's: the caller must read the
// host's tree.
func (r Root) HostCPU() (time.Duration, error) {
	var rd reader
	cpu := time.Duration(NA)
	switch {
	case r.v1["cpuacct"] != "":
		cpu = rd.nanos(join(r.v1["cpuacct"], "cpuacct.usage"))
	case r.Unified != "":
		var kv [1]int64
		rd.flatKeys(join(r.Unified, "cpu.stat"), v2CPUStatKeys[:1], kv[:])
		cpu = usecs(kv[0])
	default:
		return NA, fmt.Errorf("cgroup root %s: no cpuacct or unified hierarchy", r.Path)
	}
	if err := errors.Join(rd.errs...); err != nil {
		return NA, err
	}
	if cpu == NA {
		return NA, fmt.Errorf("cgroup root %s: no CPU total in the root cgroup", r.Path)
	}
	return cpu, nil
}

// readFile is os.ReadFile of a cgroup file.
func readFile(f file) ([]byte, error) { return os.ReadFile(f.String()) }
