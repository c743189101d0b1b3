package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Self, given to ReadPaths as a pid, reads the calling process's cgroups.
const Self = 0

// Paths is where one process sits in each hierarchy, relative to the
// hierarchy's mount, as /proc/<pid>/cgroup lists it.
type Paths struct {
	// V1 maps each v1 controller to the process's path in its hierarchy.
	// Co-mounted controllers ("cpu,cpuacct") appear under each name.
	V1 map[string]string
	// V2 is the path in the unified hierarchy; HasV2 says whether the
	// "0::" line was there.
	V2    string
	HasV2 bool
}

// ReadPaths reads /proc/<pid>/cgroup through procRoot ("" for /proc).
func ReadPaths(procRoot string, pid int) (Paths, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	p := "self"
	if pid != Self {
		p = strconv.Itoa(pid)
	}
	path := filepath.Join(procRoot, p, "cgroup")
	data, err := os.ReadFile(path)
	if err != nil {
		return Paths{}, err
	}
	ps, err := ParsePaths(data)
	if err != nil {
		return Paths{}, fmt.Errorf("%s: %w", path, err)
	}
	return ps, nil
}

// ParsePaths parses the format of /proc/<pid>/cgroup:
// "hierarchy-ID:controller-list:path" per line.
func ParsePaths(data []byte) (Paths, error) {
	ps := Paths{V1: map[string]string{}}
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return ps, fmt.Errorf("line %d: want id:controllers:path, got %q", i+1, line)
		}
		id, ctrls, path := parts[0], parts[1], parts[2]
		if id == "0" && ctrls == "" {
			ps.V2, ps.HasV2 = path, true
			continue
		}
		for _, c := range strings.Split(ctrls, ",") {
			if c == "" || strings.HasPrefix(c, "name=") {
				continue // named hierarchies (systemd) carry no resource accounting
			}
			ps.V1[c] = path
		}
	}
	return ps, nil
}

// Procs lists the processes of the cgroup directory dir (its cgroup.procs).
func Procs(dir string) ([]int, error) {
	path := filepath.Join(dir, "cgroup.procs")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pids, err := parseProcs(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pids, nil
}

// parseProcs parses cgroup.procs: one pid per line.
func parseProcs(data []byte) ([]int, error) {
	var pids []int
	for _, s := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(s)
		if err != nil {
			return nil, err
		}
		pids = append(pids, pid)
	}
	return pids, nil
}
