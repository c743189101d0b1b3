package local

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/cgroup"
	"github.com/benchrig/benchrig/runner"
)

// fakeWatcher is a runner.Watcher made of functions.
type fakeWatcher struct {
	started func(ref benchrig.TrialRef, t runner.Target)
	exited  func(ref benchrig.TrialRef) *benchrig.Noise
}

var _ runner.Watcher = (*fakeWatcher)(nil)

func (f *fakeWatcher) TrialStarted(ref benchrig.TrialRef, t runner.Target) { f.started(ref, t) }
func (f *fakeWatcher) TrialExited(ref benchrig.TrialRef) *benchrig.Noise   { return f.exited(ref) }

// cgroupDirs lists the directories of a watched trial's cgroup.
func cgroupDirs(d cgroup.Dirs) []string {
	var out []string
	for _, dir := range d.V1 {
		out = append(out, dir)
	}
	if d.V2 != "" {
		out = append(out, d.V2)
	}
	return out
}

func allExist(dirs []string) bool {
	for _, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			return false
		}
	}
	return len(dirs) > 0
}

// TestWatcher checks the local executor tells a Watcher where the trial
// runs once it started, and that it exited while its cgroup is still
// there, with the job's reference; the noise it returns is the
// measurement's. In rusage mode nobody is told.
func TestWatcher(t *testing.T) {
	for name, e := range executors(t) {
		t.Run(name, func(t *testing.T) {
			ref := benchrig.TrialRef{Run: "r1", Case: "n=1", Rep: 2, Attempt: 1}
			noise := &benchrig.Noise{Window: time.Millisecond, CPUs: 2, OtherCPU: 5}
			var mu sync.Mutex
			var calls []string
			var target runner.Target
			var existedAtStart, existedAtExit bool
			w := &fakeWatcher{
				started: func(r benchrig.TrialRef, tg runner.Target) {
					mu.Lock()
					defer mu.Unlock()
					calls = append(calls, "started "+r.String())
					target = tg
					existedAtStart = allExist(cgroupDirs(tg.Cgroup))
				},
				exited: func(r benchrig.TrialRef) *benchrig.Noise {
					mu.Lock()
					defer mu.Unlock()
					calls = append(calls, "exited "+r.String())
					existedAtExit = allExist(cgroupDirs(target.Cgroup))
					return noise
				},
			}
			job := sh("exit 0")
			job.Ref, job.Params, job.Watcher = ref, map[string]string{"n": "1"}, w
			m := run(t, e, job)
			mu.Lock()
			defer mu.Unlock()
			if e.Mode() == sourceRusage {
				if len(calls) != 0 || m.Noise != nil {
					t.Fatalf("rusage mode: calls %v, noise %v; want none", calls, m.Noise)
				}
				return
			}
			if want := []string{"started " + ref.String(), "exited " + ref.String()}; len(calls) != 2 || calls[0] != want[0] || calls[1] != want[1] {
				t.Fatalf("calls = %q, want %q", calls, want)
			}
			if !existedAtStart || !existedAtExit {
				t.Errorf("cgroup %v present at start %v, at exit %v; want both", target.Cgroup, existedAtStart, existedAtExit)
			}
			if dirs := cgroupDirs(target.Cgroup); len(dirs) == 0 {
				t.Errorf("target has no cgroup directory: %+v", target)
			} else if _, err := os.Stat(dirs[0]); err == nil {
				t.Errorf("cgroup %s still there after Run", dirs[0])
			}
			if target.PID <= 0 || target.Params["n"] != "1" || !target.Started.Equal(m.Start) {
				t.Errorf("target = %+v, want the pid, params {n:1} and start %v", target, m.Start)
			}
			if m.Noise != noise {
				t.Errorf("Noise = %v, want the watcher's %v", m.Noise, noise)
			}
		})
	}
}

// TestWatcherOutsideWall checks a slow watcher does not count in the
// trial's wall time: the Run call takes the watcher's delay, the trial's
// Wall does not.
func TestWatcherOutsideWall(t *testing.T) {
	const delay = 400 * time.Millisecond
	for name, e := range executors(t) {
		if e.Mode() == sourceRusage {
			continue
		}
		t.Run(name, func(t *testing.T) {
			w := &fakeWatcher{
				started: func(benchrig.TrialRef, runner.Target) {},
				exited: func(benchrig.TrialRef) *benchrig.Noise {
					time.Sleep(delay) // the slowness under test, not a wait for an event
					return nil
				},
			}
			job := runner.Job{Argv: []string{"true"}, Ref: benchrig.TrialRef{Run: "r", Case: "c"}, Watcher: w}
			t0 := time.Now()
			m := run(t, e, job)
			took := time.Since(t0)
			if took < delay {
				t.Fatalf("Run took %v, less than the watcher's %v: the watcher was not called", took, delay)
			}
			if m.Wall >= delay || m.Wall > took-delay {
				t.Errorf("Wall = %v with a watcher taking %v (Run took %v): the watcher is inside the timed interval", m.Wall, delay, took)
			}
		})
	}
}
