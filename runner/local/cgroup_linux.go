package local

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/benchrig/benchrig/internal/cgroup"
	"golang.org/x/sys/unix"
)

// v1Controllers are the v1 controllers a trial joins, in order. cpuacct is
// required; the others are used when they work. The cpu controller is left
// out on purpose: joining a fresh cpu cgroup changes how the trial is
// scheduled against the rest of the host, and its throttling figures stay 0
// without a quota of its own.
var v1Controllers = []string{"cpuacct", "memory", "pids", "blkio"}

// v2Controllers are enabled for trial cgroups when the parent offers them.
// cpu is not needed: cpu.stat's usage figures exist without it.
var v2Controllers = []string{"memory", "io", "pids"}

// cgroupSetup is what New found out about cgroups, once.
type cgroupSetup struct {
	version     int
	controllers []string
	// v1: controller -> absolute directory of our own cgroup. Trials are
	// created below it; the thread that starts a trial returns to it.
	v1Own map[string]string
	// v2: the dedicated parent that holds no processes, so that controllers
	// can be enabled for its children ("no internal processes" rule).
	v2Parent string
}

func (s *cgroupSetup) source() string {
	if s.version == 1 {
		return sourceV1
	}
	return sourceV2
}

func (s *cgroupSetup) close() error {
	if s.version != 2 || s.v2Parent == "" {
		return nil
	}
	err := removeDir(s.v2Parent)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		s.v2Parent = ""
		return nil
	}
	return fmt.Errorf("remove cgroup %s: %w", s.v2Parent, err)
}

// setupCgroups finds, once, where this process sits and what is mounted
// under cfg.CgroupRoot, removes stale trial cgroups (notes say which) and
// picks the cgroup mode. It returns a nil setup and a warning when only
// rusage is possible.
func setupCgroups(cfg Config) (notes []string, s *cgroupSetup, warning string) {
	self, err := cgroup.ReadPaths(cfg.ProcRoot, cgroup.Self)
	if err != nil {
		return nil, nil, fmt.Sprintf("cgroups not usable, measuring with rusage: %v", err)
	}
	root, err := cgroup.Detect(cfg.CgroupRoot)
	if err != nil {
		return nil, nil, fmt.Sprintf("cgroups not usable, measuring with rusage: %v", err)
	}
	notes = sweepStale(root, self)
	s, warning = detectCgroups(cfg.Cgroups, root, self)
	return notes, s, warning
}

// detectCgroups picks the cgroup mode. It returns nil and a warning when
// only rusage is possible.
func detectCgroups(mode Mode, root cgroup.Root, self cgroup.Paths) (*cgroupSetup, string) {
	var reasons []string
	if mode == Auto || mode == V1 {
		s, err := setupV1(root, self)
		if err == nil {
			return s, ""
		}
		reasons = append(reasons, "v1: "+err.Error())
	}
	if mode == Auto || mode == V2 {
		s, err := setupV2(root, self)
		if err == nil {
			return s, ""
		}
		reasons = append(reasons, "v2: "+err.Error())
	}
	return nil, "cgroups not usable, measuring with rusage (CPU and memory of the main process and its waited-for children only): " + strings.Join(reasons, "; ")
}

func setupV1(root cgroup.Root, self cgroup.Paths) (*cgroupSetup, error) {
	s := &cgroupSetup{version: 1, v1Own: map[string]string{}}
	var notes []string
	for _, ctrl := range v1Controllers {
		path, ok := self.V1[ctrl]
		if !ok {
			notes = append(notes, ctrl+" not in /proc/self/cgroup")
			continue
		}
		mount, ok := root.V1Mount(ctrl)
		if !ok {
			notes = append(notes, ctrl+" not mounted under "+root.Path)
			continue
		}
		dir := filepath.Join(mount, path)
		if err := probeV1(dir); err != nil {
			notes = append(notes, err.Error())
			continue
		}
		s.v1Own[ctrl] = dir
		s.controllers = append(s.controllers, ctrl)
	}
	if _, ok := s.v1Own["cpuacct"]; !ok {
		return nil, errors.New(strings.Join(append([]string{"cpuacct unusable"}, notes...), "; "))
	}
	return s, nil
}

// probeV1 creates a child of own, moves a thread into it and back, and
// removes it: exactly what every trial will do.
func probeV1(own string) error {
	dir := filepath.Join(own, uniqueName("probe"))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("create cgroup: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		tid := []byte(strconv.Itoa(unix.Gettid()))
		if err := os.WriteFile(filepath.Join(dir, "tasks"), tid, 0); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("move thread into cgroup: %w", err)
			return
		}
		if err := os.WriteFile(filepath.Join(own, "tasks"), tid, 0); err != nil {
			// Returning with the thread locked makes the runtime end the
			// thread, and with it its membership of the probe cgroup.
			done <- fmt.Errorf("move thread back to %s: %w", own, err)
			return
		}
		runtime.UnlockOSThread()
		done <- nil
	}()
	err := <-done
	if rerr := removeDir(dir); rerr != nil && err == nil {
		err = fmt.Errorf("remove cgroup: %w", rerr)
	}
	return err
}

func setupV2(root cgroup.Root, self cgroup.Paths) (*cgroupSetup, error) {
	if !self.HasV2 {
		return nil, errors.New("no unified hierarchy in /proc/self/cgroup")
	}
	if root.Unified == "" {
		return nil, fmt.Errorf("no cgroup2 mount under %s", root.Path)
	}
	own := filepath.Join(root.Unified, self.V2)
	// Our own cgroup holds our process, so it may enable controllers for
	// its children only if it is the root. Try; EBUSY is expected otherwise.
	enableControllers(own)
	parent, ctrls, err := makeV2Parent(own)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(ctrls, "memory") && filepath.Clean(self.V2) != "/" {
		// A sibling of our cgroup gets whatever our parent delegates to us.
		if p2, c2, err := makeV2Parent(filepath.Dir(own)); err == nil {
			if slices.Contains(c2, "memory") {
				_ = removeDir(parent)
				parent, ctrls = p2, c2
			} else {
				_ = removeDir(p2)
			}
		}
	}
	probe := filepath.Join(parent, uniqueName("probe"))
	if err := os.Mkdir(probe, 0o755); err != nil {
		_ = removeDir(parent)
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	if err := os.Remove(probe); err != nil {
		_ = removeDir(parent)
		return nil, fmt.Errorf("remove cgroup: %w", err)
	}
	return &cgroupSetup{version: 2, v2Parent: parent, controllers: append([]string{"cpu.stat"}, ctrls...)}, nil
}

// makeV2Parent creates the dedicated parent below dir and enables for its
// children the controllers it has.
func makeV2Parent(dir string) (string, []string, error) {
	parent := filepath.Join(dir, uniqueName("trials"))
	if err := os.Mkdir(parent, 0o755); err != nil {
		return "", nil, fmt.Errorf("create cgroup: %w", err)
	}
	return parent, enableControllers(parent), nil
}

// enableControllers enables each wanted controller dir offers for its
// children, one at a time so that one refusal does not block the others,
// and returns those enabled.
func enableControllers(dir string) []string {
	avail, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return nil
	}
	offered := strings.Fields(string(avail))
	for _, c := range v2Controllers {
		if slices.Contains(offered, c) {
			_ = os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+c), 0)
		}
	}
	on, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return nil
	}
	var got []string
	for _, c := range strings.Fields(string(on)) {
		if slices.Contains(v2Controllers, c) {
			got = append(got, c)
		}
	}
	return got
}

// trialCgroup is one trial's fresh cgroup.
type trialCgroup struct {
	setup *cgroupSetup
	dirs  map[string]string // v1: controller -> directory
	dir   string            // v2 directory; v1: the directory whose cgroup.procs lists the tree
	fd    int               // v2: O_PATH descriptor for clone3 CLONE_INTO_CGROUP; -1 otherwise
}

func (s *cgroupSetup) newTrial() (*trialCgroup, error) {
	name := uniqueName("trial")
	t := &trialCgroup{setup: s, fd: -1}
	if s.version == 2 {
		t.dir = filepath.Join(s.v2Parent, name)
		if err := os.Mkdir(t.dir, 0o755); err != nil {
			return nil, fmt.Errorf("create cgroup: %w", err)
		}
		fd, err := unix.Open(t.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			_ = os.Remove(t.dir)
			return nil, fmt.Errorf("open cgroup %s: %w", t.dir, err)
		}
		t.fd = fd
		return t, nil
	}
	t.dirs = map[string]string{}
	for _, ctrl := range s.controllers {
		d := filepath.Join(s.v1Own[ctrl], name)
		if err := os.Mkdir(d, 0o755); err != nil {
			_ = t.remove()
			return nil, fmt.Errorf("create cgroup: %w", err)
		}
		t.dirs[ctrl] = d
	}
	t.dir = t.dirs["cpuacct"]
	return t, nil
}

// dirsOf locates the trial's cgroup for a runner.Watcher.
func (t *trialCgroup) dirsOf() cgroup.Dirs {
	if t.setup.version == 2 {
		return cgroup.Dirs{V2: t.dir}
	}
	return cgroup.Dirs{V1: maps.Clone(t.dirs)}
}

// enterV1 moves the calling thread, which must be locked, into the trial's
// v1 cgroups; a process it forks starts inside them.
func (t *trialCgroup) enterV1(tid string) error {
	for _, ctrl := range t.setup.controllers {
		if err := os.WriteFile(filepath.Join(t.dirs[ctrl], "tasks"), []byte(tid), 0); err != nil {
			return fmt.Errorf("move thread into cgroup %s: %w", t.dirs[ctrl], err)
		}
	}
	return nil
}

// leaveV1 moves the calling thread back to our own v1 cgroups.
func (t *trialCgroup) leaveV1(tid string) error {
	var errs []error
	for _, ctrl := range t.setup.controllers {
		own := t.setup.v1Own[ctrl]
		if err := os.WriteFile(filepath.Join(own, "tasks"), []byte(tid), 0); err != nil {
			errs = append(errs, fmt.Errorf("move thread back to cgroup %s: %w", own, err))
		}
	}
	return errors.Join(errs...)
}

// procs lists the processes in the trial's cgroup, never our own: in v1
// the thread that started the trial may still be inside.
func (t *trialCgroup) procs() ([]int, error) {
	pids, err := cgroup.Procs(t.dir)
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	return slices.DeleteFunc(pids, func(p int) bool { return p == self }), nil
}

// killAll SIGKILLs everything in the cgroup until it is empty or the
// deadline passes, so that stats are final and the cgroup can be removed.
// Forks racing the sweep are caught by the next one.
func (t *trialCgroup) killAll(deadline time.Duration) error {
	if t.setup.version == 2 {
		// cgroup.kill (5.14+) kills the tree atomically, forks included.
		_ = os.WriteFile(filepath.Join(t.dir, "cgroup.kill"), []byte("1"), 0)
	}
	end := time.Now().Add(deadline)
	for {
		pids, err := t.procs()
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("cgroup %s still holds %d processes after SIGKILL", t.dir, len(pids))
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(time.Millisecond)
	}
}

// stats reads the trial's figures. Throttling stays NA in v1: trials do
// not join the cpu controller (see v1Controllers).
func (t *trialCgroup) stats() (cgroup.Stats, error) {
	if t.setup.version == 2 {
		return cgroup.Read(cgroup.Dirs{V2: t.dir})
	}
	return cgroup.Read(cgroup.Dirs{V1: t.dirs})
}

// remove deletes the trial's cgroups. The tree must be dead.
func (t *trialCgroup) remove() error {
	if t.fd >= 0 {
		_ = unix.Close(t.fd)
		t.fd = -1
	}
	var errs []error
	if t.setup.version == 2 {
		if err := removeDir(t.dir); err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range t.dirs {
		if err := removeDir(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeDir removes a cgroup directory, retrying briefly: right after its
// last process died the kernel may still report it busy.
func removeDir(dir string) error {
	var err error
	for range 200 {
		err = os.Remove(dir)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
	return err
}
