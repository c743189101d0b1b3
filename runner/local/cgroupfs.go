package local

// Pure parsing of cgroup and proc files. Everything here reads through the
// paths it is given, so it is tested on fixture trees under testdata/ and
// compiles on every platform.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// selfCgroups is /proc/self/cgroup, parsed.
type selfCgroups struct {
	// V1 maps each v1 controller to our path in its hierarchy. Co-mounted
	// controllers ("cpu,cpuacct") appear under each name; Mounts keeps the
	// joined name, which is the usual mount directory.
	V1     map[string]string
	Mounts map[string]string // controller -> hierarchy name as listed ("cpu,cpuacct")
	// V2 is our path in the unified hierarchy; HasV2 says whether the
	// "0::" line was present.
	V2    string
	HasV2 bool
}

// parseSelfCgroup parses the format of /proc/<pid>/cgroup:
// "hierarchy-ID:controller-list:path" per line.
func parseSelfCgroup(data []byte) (selfCgroups, error) {
	sc := selfCgroups{V1: map[string]string{}, Mounts: map[string]string{}}
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return sc, fmt.Errorf("line %d: want id:controllers:path, got %q", i+1, line)
		}
		id, ctrls, path := parts[0], parts[1], parts[2]
		if id == "0" && ctrls == "" {
			sc.V2, sc.HasV2 = path, true
			continue
		}
		for _, c := range strings.Split(ctrls, ",") {
			if c == "" || strings.HasPrefix(c, "name=") {
				continue // named hierarchies (systemd) carry no resource accounting
			}
			sc.V1[c] = path
			sc.Mounts[c] = ctrls
		}
	}
	return sc, nil
}

// v1Mount finds the directory of a v1 controller's hierarchy: usually
// <root>/<controller>, or <root>/<joined names> for co-mounted ones.
func v1Mount(root string, sc selfCgroups, ctrl string) (string, bool) {
	for _, name := range []string{ctrl, sc.Mounts[ctrl]} {
		if name == "" {
			continue
		}
		d := filepath.Join(root, name)
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d, true
		}
	}
	return "", false
}

// v2Mount finds the unified hierarchy: the root itself on a pure v2 host,
// <root>/unified on a hybrid one.
func v2Mount(root string) (string, bool) {
	for _, d := range []string{root, filepath.Join(root, "unified")} {
		if _, err := os.Stat(filepath.Join(d, "cgroup.controllers")); err == nil {
			return d, true
		}
	}
	return "", false
}

// cgroupStats are the figures read from one trial's cgroup. Figures whose
// file is absent (controller not available) are -1.
type cgroupStats struct {
	CPU        time.Duration // precise total: cpuacct.usage, cpu.stat usage_usec
	User, Sys  time.Duration // the kernel's split of CPU (tick-sampled in v1)
	Throttled  time.Duration
	MemoryPeak int64
	IORead     int64
	IOWrite    int64
	PidsPeak   int64
}

func noStats() cgroupStats {
	return cgroupStats{CPU: -1, User: -1, Sys: -1, Throttled: -1, MemoryPeak: -1, IORead: -1, IOWrite: -1, PidsPeak: -1}
}

// readV1Stats reads a trial's figures from its v1 cgroup directories,
// controller -> directory. Controllers missing from dirs, and files missing
// from a directory, leave their figures at -1.
func readV1Stats(dirs map[string]string) (cgroupStats, error) {
	st := noStats()
	var errs []error
	if d, ok := dirs["cpuacct"]; ok {
		st.CPU, errs = readNanos(filepath.Join(d, "cpuacct.usage"), errs)
		st.User, errs = readNanos(filepath.Join(d, "cpuacct.usage_user"), errs)
		st.Sys, errs = readNanos(filepath.Join(d, "cpuacct.usage_sys"), errs)
	}
	if d, ok := dirs["memory"]; ok {
		st.MemoryPeak, errs = readInt(filepath.Join(d, "memory.max_usage_in_bytes"), errs)
	}
	if d, ok := dirs["pids"]; ok {
		st.PidsPeak, errs = readInt(filepath.Join(d, "pids.peak"), errs)
	}
	if d, ok := dirs["blkio"]; ok {
		p := filepath.Join(d, "blkio.throttle.io_service_bytes")
		data, err := os.ReadFile(p)
		switch {
		case err == nil:
			st.IORead, st.IOWrite, err = parseBlkioServiceBytes(data)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
			}
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	return st, errors.Join(errs...)
}

// readV2Stats reads a trial's figures from its cgroup v2 directory.
func readV2Stats(dir string) (cgroupStats, error) {
	st := noStats()
	var errs []error
	p := filepath.Join(dir, "cpu.stat")
	if kv, err := readFlatKeyed(p); err == nil {
		if v, ok := kv["usage_usec"]; ok {
			st.CPU = time.Duration(v) * time.Microsecond
		}
		if v, ok := kv["user_usec"]; ok {
			st.User = time.Duration(v) * time.Microsecond
		}
		if v, ok := kv["system_usec"]; ok {
			st.Sys = time.Duration(v) * time.Microsecond
		}
		if v, ok := kv["throttled_usec"]; ok {
			st.Throttled = time.Duration(v) * time.Microsecond
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	st.MemoryPeak, errs = readInt(filepath.Join(dir, "memory.peak"), errs)
	st.PidsPeak, errs = readInt(filepath.Join(dir, "pids.peak"), errs)
	p = filepath.Join(dir, "io.stat")
	data, err := os.ReadFile(p)
	switch {
	case err == nil:
		st.IORead, st.IOWrite, err = parseIOStat(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
		}
	case !errors.Is(err, fs.ErrNotExist):
		errs = append(errs, err)
	}
	return st, errors.Join(errs...)
}

// readInt reads a file holding one integer; an absent file gives -1 and no
// error, since an absent file means the controller is not there.
func readInt(path string, errs []error) (int64, []error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, errs
	}
	if err != nil {
		return -1, append(errs, err)
	}
	s := strings.TrimSpace(string(data))
	if s == "max" { // v2 limits; never a counter, but do not choke on it
		return -1, errs
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1, append(errs, fmt.Errorf("%s: %w", path, err))
	}
	return v, errs
}

func readNanos(path string, errs []error) (time.Duration, []error) {
	v, errs := readInt(path, errs)
	if v < 0 {
		return -1, errs
	}
	return time.Duration(v), errs
}

// readFlatKeyed reads a "key value" per line file (cpu.stat, memory.stat).
func readFlatKeyed(path string) (map[string]int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	kv, err := parseFlatKeyed(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return kv, nil
}

func parseFlatKeyed(data []byte) (map[string]int64, error) {
	kv := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("want key value, got %q", sc.Text())
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", f[0], err)
		}
		kv[f[0]] = v
	}
	return kv, sc.Err()
}

// parseBlkioServiceBytes sums the Read and Write lines over devices of a v1
// blkio.throttle.io_service_bytes file ("MAJ:MIN Op bytes" lines and a final
// "Total bytes" line).
func parseBlkioServiceBytes(data []byte) (read, write int64, err error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 0:
			continue
		case len(f) == 2 && f[0] == "Total":
			continue
		case len(f) != 3:
			return 0, 0, fmt.Errorf("want device op bytes, got %q", sc.Text())
		}
		v, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("device %s %s: %w", f[0], f[1], err)
		}
		switch f[1] {
		case "Read":
			read += v
		case "Write":
			write += v
		}
	}
	return read, write, sc.Err()
}

// parseIOStat sums rbytes and wbytes over devices of a v2 io.stat file
// ("MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" lines).
func parseIOStat(data []byte) (read, write int64, err error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return 0, 0, fmt.Errorf("device %s: want key=value, got %q", f[0], kv)
			}
			if k != "rbytes" && k != "wbytes" {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("device %s %s: %w", f[0], k, err)
			}
			if k == "rbytes" {
				read += n
			} else {
				write += n
			}
		}
	}
	return read, write, sc.Err()
}

// parseProcs parses cgroup.procs: one pid per line.
func parseProcs(data []byte) ([]int, error) {
	var pids []int
	for _, s := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("cgroup.procs: %w", err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// procStat is what the executor needs of /proc/<pid>/stat.
type procStat struct {
	State byte
	Pgrp  int
	Flags uint64
}

// pfExiting is PF_EXITING in the flags field: set as a process starts to
// exit, before it closes its files and leaves its cgroup.
const pfExiting = 0x4

// alive reports whether the process is running rather than on its way out:
// a tree member that just closed our pipes by exiting is not a leftover.
func (s procStat) alive() bool {
	return s.State != 'Z' && s.State != 'X' && s.Flags&pfExiting == 0
}

// parseProcStat parses a /proc/<pid>/stat line. The command name may hold
// spaces and parentheses, so fields are counted after the last ')'.
func parseProcStat(data []byte) (procStat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, errors.New("stat: no command name")
	}
	// After the name: state ppid pgrp session tty_nr tpgid flags ...
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 7 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("stat: short line %q", data)
	}
	pgrp, err := strconv.Atoi(f[2])
	if err != nil {
		return procStat{}, fmt.Errorf("stat pgrp: %w", err)
	}
	flags, err := strconv.ParseUint(f[6], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("stat flags: %w", err)
	}
	return procStat{State: f[0][0], Pgrp: pgrp, Flags: flags}, nil
}

// readProcStat reads /proc/<pid>/stat through procRoot.
func readProcStat(procRoot string, pid int) (procStat, error) {
	data, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(data)
}
