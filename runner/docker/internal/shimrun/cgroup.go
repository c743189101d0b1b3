package shimrun

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReadCgroup reads the figures of the cgroup mounted at root (inside a
// container: /sys/fs/cgroup, which is the container's own cgroup). Cgroup
// v1 controllers win when mounted, since hybrid hosts keep the controllers
// there and leave the unified hierarchy nearly empty; otherwise cgroup v2.
func ReadCgroup(root string) (*Cgroup, error) {
	if dir, ok := v1Dir(root, "cpuacct", "cpu,cpuacct", "cpuacct,cpu"); ok {
		return readV1(root, dir), nil
	}
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return readV2(root), nil
	}
	return nil, errors.New("no cgroup v1 cpuacct controller nor cgroup v2 at " + root)
}

func v1Dir(root string, names ...string) (string, bool) {
	for _, n := range names {
		d := filepath.Join(root, n)
		if _, err := os.Stat(filepath.Join(d, "cpuacct.usage")); err == nil {
			return d, true
		}
	}
	return "", false
}

func readV1(root, cpuacct string) *Cgroup {
	cg := &Cgroup{Version: 1}
	cg.CPU = readInt(filepath.Join(cpuacct, "cpuacct.usage"))
	cg.User = readInt(filepath.Join(cpuacct, "cpuacct.usage_user"))
	cg.Sys = readInt(filepath.Join(cpuacct, "cpuacct.usage_sys"))
	cg.Throttled = -1
	for _, d := range []string{"cpu", "cpu,cpuacct", "cpuacct,cpu"} {
		if v := readKey(filepath.Join(root, d, "cpu.stat"), "throttled_time"); v >= 0 {
			cg.Throttled = v
			break
		}
	}
	cg.MemPeak = readInt(filepath.Join(root, "memory", "memory.max_usage_in_bytes"))
	cg.MemCurrent = readInt(filepath.Join(root, "memory", "memory.usage_in_bytes"))
	cg.PidsPeak = readInt(filepath.Join(root, "pids", "pids.peak"))
	cg.PidsCurrent = readInt(filepath.Join(root, "pids", "pids.current"))
	return cg
}

func readV2(root string) *Cgroup {
	cg := &Cgroup{Version: 2}
	stat := filepath.Join(root, "cpu.stat")
	cg.CPU = usec(readKey(stat, "usage_usec"))
	cg.User = usec(readKey(stat, "user_usec"))
	cg.Sys = usec(readKey(stat, "system_usec"))
	cg.Throttled = usec(readKey(stat, "throttled_usec"))
	cg.MemPeak = readInt(filepath.Join(root, "memory.peak"))
	cg.MemCurrent = readInt(filepath.Join(root, "memory.current"))
	cg.PidsPeak = readInt(filepath.Join(root, "pids.peak"))
	cg.PidsCurrent = readInt(filepath.Join(root, "pids.current"))
	return cg
}

func usec(v int64) int64 {
	if v < 0 {
		return v
	}
	return v * 1000
}

// readInt reads a file holding one integer; -1 when absent or not a
// number ("max" included).
func readInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	v, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// readKey reads "key value" from a flat keyed file such as cpu.stat; -1
// when absent.
func readKey(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), " ")
		if ok && k == key {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}
