package local

// Stale trial cgroups. A benchrig killed mid-trial (SIGKILL, OOM, power
// cut of the ssh session) cannot remove its trial's cgroups, and the
// trial's processes may live on in them. Every cgroup this package creates
// is named benchrig-<pid>-<kind><n>, so the next executor can tell those of
// a benchrig that is gone.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/benchrig/benchrig/internal/cgroup"
	"golang.org/x/sys/unix"
)

// sweepStale removes stale trial cgroups from the directories where this
// process's executors create them (our own cgroup in each v1 hierarchy we
// use, and in the unified hierarchy our cgroup and its parent), whatever
// the mode: a run in v2 mode may have left them where a v1 run does not
// look. It returns what it did, for a person to read.
func sweepStale(root cgroup.Root, self cgroup.Paths) []string {
	var dirs []string
	seen := map[string]bool{}
	add := func(d string) {
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	for _, ctrl := range v1Controllers {
		if path, ok := self.V1[ctrl]; ok {
			if mount, ok := root.V1Mount(ctrl); ok {
				add(filepath.Join(mount, path))
			}
		}
	}
	if root.Unified != "" && self.HasV2 {
		own := filepath.Join(root.Unified, self.V2)
		add(own)
		if own != root.Unified {
			add(filepath.Dir(own))
		}
	}
	var notes []string
	for _, d := range dirs {
		notes = append(notes, sweepDir(d)...)
	}
	return notes
}

// sweepDir removes the stale trial cgroups directly below dir: those whose
// creator's pid is no live process. A pid recycled by another process
// keeps its cgroups until that one exits too; that errs on the safe side.
func sweepDir(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var notes []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		pid, ok := parseTrialName(e.Name())
		if !ok || pid == os.Getpid() || pidAlive(pid) {
			continue
		}
		d := filepath.Join(dir, e.Name())
		killed, err := removeStale(d)
		switch {
		case err != nil:
			notes = append(notes, fmt.Sprintf("stale cgroup %s of benchrig %d (no longer running) not removed: %v", d, pid, err))
		case killed > 0:
			notes = append(notes, fmt.Sprintf("removed stale cgroup %s of benchrig %d (no longer running), killing %d processes left in it", d, pid, killed))
		default:
			notes = append(notes, fmt.Sprintf("removed stale cgroup %s of benchrig %d (no longer running)", d, pid))
		}
	}
	return notes
}

func pidAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// removeStale kills what is left in the cgroup dir and below (a v2 trials
// parent holds trial cgroups), then removes it, children first. A process
// invisible to us (another pid namespace) is not listed in cgroup.procs;
// it keeps the directory busy, and the error says so.
func removeStale(dir string) (killed int, err error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // another executor swept it first
	}
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		if e.IsDir() {
			k, err := removeStale(filepath.Join(dir, e.Name()))
			killed += k
			if err != nil {
				return killed, err
			}
		}
	}
	// Count what is there before cgroup.kill (v2, 5.14+) takes it all at
	// once: after it, the processes may be gone before anyone sees them,
	// and the note would say nothing was killed.
	hit := map[int]bool{}
	if pids, err := cgroup.Procs(dir); err == nil {
		for _, p := range pids {
			if p != os.Getpid() && p != 0 {
				hit[p] = true
			}
		}
	}
	_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	for end := time.Now().Add(killWait); ; {
		pids, err := cgroup.Procs(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return killed + len(hit), nil
		}
		if err != nil {
			return killed + len(hit), err
		}
		alive := 0
		for _, p := range pids {
			if p == os.Getpid() || p == 0 {
				continue
			}
			alive++
			hit[p] = true
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		if alive == 0 {
			break
		}
		if time.Now().After(end) {
			return killed + len(hit), fmt.Errorf("%d processes still in it after SIGKILL", alive)
		}
		time.Sleep(time.Millisecond)
	}
	return killed + len(hit), removeDir(dir)
}
