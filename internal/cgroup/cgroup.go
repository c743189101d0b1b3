// Package cgroup is benchrig's one reader of cgroup figures, for the local
// executor, the in-container timing shim and the sidecar collector alike.
// It finds the hierarchies under a root (cgroup v1, v2 or hybrid), where a
// process sits in them (/proc/<pid>/cgroup), and reads one cgroup's figures
// into a Stats. Everything is read through the paths it is given, so it is
// tested on fixture trees under testdata/.
//
// It only reads: creating cgroups, moving processes and setting limits
// belong to their callers. It imports only the standard library (and
// internal/procfs, which does too), since the
// shim is a static binary built for every architecture of the lab.
package cgroup

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultRoot is where the cgroup hierarchies are mounted.
const DefaultRoot = "/sys/fs/cgroup"

// Mode is how the hierarchies under a root are laid out.
type Mode int

const (
	// None: no cgroup hierarchy under the root.
	None Mode = iota
	// V1: one v1 hierarchy per controller (or co-mounted group), no
	// unified one.
	V1
	// V2: the root is the unified (cgroup2) hierarchy.
	V2
	// Hybrid: v1 hierarchies hold the controllers, and a cgroup2 mount at
	// <root>/unified holds few or none but accounts CPU and pressure.
	Hybrid
)

func (m Mode) String() string {
	switch m {
	case V1:
		return "v1"
	case V2:
		return "v2"
	case Hybrid:
		return "hybrid"
	}
	return "none"
}

// v1Controllers are the controllers a v1 hierarchy may be named after. A
// directory under the root whose name is a comma-separated list of them
// ("cpu,cpuacct") is taken for a v1 mount; named hierarchies ("systemd")
// carry no resource accounting and are left out.
var v1Controllers = []string{
	"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory",
	"misc", "net_cls", "net_prio", "perf_event", "pids", "rdma",
}

// Root is the cgroup hierarchies mounted under one directory, found once
// by Detect. It is a value: safe to copy and to use concurrently.
type Root struct {
	Path string
	Mode Mode
	// Unified is the cgroup2 mount: Path on a v2 host, Path/unified on a
	// hybrid one; "" without one.
	Unified string
	v1      map[string]string // controller -> mount directory
}

// Detect finds the hierarchies under path ("" for DefaultRoot). An
// existing directory without any is Mode None, not an error: the caller
// says what it needed. It fails only when path cannot be read.
func Detect(path string) (Root, error) {
	if path == "" {
		path = DefaultRoot
	}
	r := Root{Path: path}
	if isCgroup2(path) {
		r.Mode, r.Unified = V2, path
		return r, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return r, err
	}
	for _, e := range ents {
		name := e.Name()
		dir := filepath.Join(path, name)
		if name == "unified" && isCgroup2(dir) {
			r.Unified = dir
			continue
		}
		ctrls := strings.Split(name, ",")
		if !allKnown(ctrls) || !isDir(dir) || isCgroup2(dir) {
			continue
		}
		for _, c := range ctrls {
			// A controller's own name wins over a co-mounted group's:
			// "cpu" is then usually a symlink to "cpu,cpuacct" anyway.
			if _, ok := r.v1[c]; !ok || name == c {
				if r.v1 == nil {
					r.v1 = map[string]string{}
				}
				r.v1[c] = dir
			}
		}
	}
	switch {
	case len(r.v1) > 0 && r.Unified != "":
		r.Mode = Hybrid
	case len(r.v1) > 0:
		r.Mode = V1
	case r.Unified != "":
		r.Mode = V2
	}
	return r, nil
}

// V1Mount returns the directory of controller's v1 hierarchy.
func (r Root) V1Mount(controller string) (string, bool) {
	d, ok := r.v1[controller]
	return d, ok
}

// V1Controllers lists the controllers with a v1 hierarchy, sorted.
func (r Root) V1Controllers() []string {
	var out []string
	for c := range r.v1 {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Dirs locates one cgroup: its directory in each v1 hierarchy it has one
// in, and in the unified hierarchy. Read takes each figure from the v1
// controller when the cgroup has its directory, else from the unified one.
type Dirs struct {
	V1 map[string]string // controller -> directory
	V2 string            // "" for none
}

// Dirs returns the directories of the cgroup a process sits in, as
// ReadPaths found them.
func (r Root) Dirs(p Paths) Dirs {
	var d Dirs
	for c, path := range p.V1 {
		if m, ok := r.v1[c]; ok {
			if d.V1 == nil {
				d.V1 = map[string]string{}
			}
			d.V1[c] = filepath.Join(m, path)
		}
	}
	if r.Unified != "" && p.HasV2 {
		d.V2 = filepath.Join(r.Unified, p.V2)
	}
	return d
}

// Top returns the top cgroup of each hierarchy. Inside a container, where
// the runtime mounts the container's own cgroup at each mount point, that
// is the container's cgroup.
func (r Root) Top() Dirs {
	d := Dirs{V2: r.Unified}
	if len(r.v1) > 0 {
		d.V1 = make(map[string]string, len(r.v1))
		for c, m := range r.v1 {
			d.V1[c] = m
		}
	}
	return d
}

func isCgroup2(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "cgroup.controllers"))
	return err == nil
}

func isDir(path string) bool {
	st, err := os.Stat(path) // follows "cpu -> cpu,cpuacct"
	return err == nil && st.IsDir()
}

func allKnown(names []string) bool {
	for _, n := range names {
		if !slices.Contains(v1Controllers, n) {
			return false
		}
	}
	return true
}

// notExist says a file is absent: its controller or kernel feature is not
// there, which makes a figure unavailable rather than an error.
func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || unsupported(err)
}
