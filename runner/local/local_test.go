//go:build linux

package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/testenv"
	"github.com/benchrig/benchrig/runner"
)

var _ runner.Executor = (*Executor)(nil)

// executors returns the executors every behaviour is checked with: rusage,
// the automatic choice (cgroup v1 on a hybrid host) and cgroup v2 (the
// unified hierarchy of a hybrid host holds no controllers but accounts CPU
// and kills trees). Cgroup ones need root; without it they are skipped by
// name, never silently.
func executors(t *testing.T) map[string]*Executor {
	return executorsWith(t, Config{})
}

// executorsWith is executors with settings other than the mode.
func executorsWith(t *testing.T, cfg Config) map[string]*Executor {
	t.Helper()
	off := cfg
	off.Cgroups = Off
	out := map[string]*Executor{"rusage": newExecutor(t, off)}
	for name, mode := range map[string]Mode{"auto": Auto, "v2": V2} {
		cfg.Cgroups = mode
		e := newExecutor(t, cfg)
		if e.Mode() == sourceRusage {
			if os.Geteuid() != 0 {
				t.Logf("executor %s: not root, cgroups unusable: %s", name, e.Warning())
				continue
			}
			t.Fatalf("executor %s: running as root but fell back to rusage: %s", name, e.Warning())
		}
		out[name] = e
	}
	return out
}

// newExecutor builds an executor and, at cleanup, closes it and checks it
// left no cgroup of ours behind.
func newExecutor(t *testing.T, cfg Config) *Executor {
	t.Helper()
	e := New(cfg)
	t.Cleanup(func() {
		var parents []string
		if e.cg != nil {
			for _, d := range e.cg.v1Own {
				parents = append(parents, d)
			}
			if e.cg.v2Parent != "" {
				parents = append(parents, filepath.Dir(e.cg.v2Parent))
				// Trials live in the dedicated parent: it must be empty.
				assertNoOwnCgroups(t, e.cg.v2Parent)
			}
		}
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, p := range parents {
			assertNoOwnCgroups(t, p)
		}
	})
	return e
}

func assertNoOwnCgroups(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Errorf("list %s: %v", dir, err)
		return
	}
	prefix := fmt.Sprintf("%s%d-", trialPrefix, os.Getpid())
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			t.Errorf("cgroup %s left behind", filepath.Join(dir, e.Name()))
		}
	}
}

func run(t *testing.T, e *Executor, job runner.Job) benchrig.Measurement {
	t.Helper()
	m, err := e.Run(context.Background(), job)
	if err != nil {
		t.Fatalf("Run(%q): %v", job.Argv, err)
	}
	if m.Source != e.Mode() {
		t.Errorf("Source = %q, want %q", m.Source, e.Mode())
	}
	return m
}

func sh(script string) runner.Job { return runner.Job{Argv: []string{"/bin/sh", "-c", script}} }

func TestExitCodesAndStartFailures(t *testing.T) {
	noexec := filepath.Join(t.TempDir(), "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		job       runner.Job
		wantExit  int
		wantError string // prefix
	}{
		{name: "true", job: runner.Job{Argv: []string{"true"}}, wantExit: 0},
		{name: "exit 3", job: sh("exit 3"), wantExit: 3},
		{name: "killed by a signal", job: sh("kill -TERM $$"), wantExit: -1, wantError: "signal: terminated"},
		{name: "missing program", job: runner.Job{Argv: []string{"benchrig-no-such-program"}}, wantExit: -1, wantError: "start: benchrig-no-such-program: executable file not found"},
		{name: "missing path", job: runner.Job{Argv: []string{"/nonexistent/prog"}}, wantExit: -1, wantError: "start: /nonexistent/prog: no such file or directory"},
		{name: "not executable", job: runner.Job{Argv: []string{noexec}}, wantExit: -1, wantError: "start: " + noexec + ": permission denied"},
		{name: "bad workdir", job: runner.Job{Argv: []string{"true"}, Dir: "/nonexistent-dir"}, wantExit: -1, wantError: "start: workdir /nonexistent-dir: no such file or directory"},
		{name: "PATH from the job's env", job: runner.Job{Argv: []string{"true"}, Env: []string{"PATH=/nonexistent"}}, wantExit: -1, wantError: "start: true: executable file not found"},
	}
	for name, e := range executors(t) {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				m := run(t, e, tt.job)
				if m.ExitCode != tt.wantExit || !strings.HasPrefix(m.Error, tt.wantError) || (tt.wantError == "" && m.Error != "") {
					t.Errorf("ExitCode %d Error %q, want %d %q", m.ExitCode, m.Error, tt.wantExit, tt.wantError)
				}
				if tt.wantError == "" && (m.Wall <= 0 || m.Wall > 500*time.Millisecond) {
					t.Errorf("Wall = %v, want a sane small positive time", m.Wall)
				}
				if m.Start.IsZero() || time.Since(m.Start) > time.Minute {
					t.Errorf("Start = %v", m.Start)
				}
			})
		}
	}
}

func TestOutputIsCounted(t *testing.T) {
	// A file with many matching lines: GNU grep stops at the first match
	// when its stdout is /dev/null, so the full count proves a real pipe.
	var data bytes.Buffer
	var want int64
	for i := range 200000 {
		line := fmt.Sprintf("CID%d C1=CC=CC=C1 %s\n", i, map[bool]string{true: "needle", false: "hay"}[i%2 == 0])
		data.WriteString(line)
		if i%2 == 0 {
			want += int64(len(line))
		}
	}
	file := filepath.Join(t.TempDir(), "smiles.txt")
	if err := os.WriteFile(file, data.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, e := range executors(t) {
		t.Run(name+"/stdout 10 MB", func(t *testing.T) {
			m := run(t, e, runner.Job{Argv: []string{"head", "-c", "10000000", "/dev/zero"}})
			if m.ExitCode != 0 || m.StdoutBytes != 10000000 || m.StderrBytes != 0 {
				t.Errorf("exit %d stdout %d stderr %d, want 0 10000000 0", m.ExitCode, m.StdoutBytes, m.StderrBytes)
			}
		})
		t.Run(name+"/stderr tail", func(t *testing.T) {
			m := run(t, e, sh(`head -c 10000 /dev/zero | tr '\0' a >&2; printf END >&2; echo out`))
			wantTail := strings.Repeat("a", 4093) + "END"
			if m.StderrBytes != 10003 || m.StderrTail != wantTail || m.StdoutBytes != 4 {
				t.Errorf("stderr %d bytes, tail %d bytes ending %q, stdout %d", m.StderrBytes, len(m.StderrTail), m.StderrTail[max(0, len(m.StderrTail)-5):], m.StdoutBytes)
			}
		})
		t.Run(name+"/stdout digest only when asked", func(t *testing.T) {
			job := sh(`printf '1 C\n \n2 N\n'`)
			if m := run(t, e, job); m.Stdout != nil {
				t.Errorf("digest %+v without DigestStdout", m.Stdout)
			}
			job.DigestStdout = true
			m := run(t, e, job)
			sum := sha256.Sum256([]byte("1 C\n \n2 N\n"))
			if d := m.Stdout; d == nil || d.Bytes != 10 || d.Lines != 3 || d.BlankLines != 1 ||
				d.SHA256 != hex.EncodeToString(sum[:]) || string(d.Head) != "1 C\n \n2 N\n" {
				t.Errorf("digest %+v, want 10 bytes, 3 lines, 1 blank, the whole output as head", d)
			}
		})
		t.Run(name+"/grep writes every match to a pipe", func(t *testing.T) {
			m := run(t, e, runner.Job{Argv: []string{"grep", "needle", file}})
			if m.ExitCode != 0 || m.StdoutBytes != want {
				t.Errorf("exit %d stdout %d bytes, want 0 and %d", m.ExitCode, m.StdoutBytes, want)
			}
		})
	}
}

func TestStderrTailConfig(t *testing.T) {
	e := newExecutor(t, Config{Cgroups: Off, StderrTail: 10})
	m := run(t, e, sh(`printf 0123456789abcdef >&2`))
	if m.StderrTail != "6789abcdef" || m.StderrBytes != 16 {
		t.Errorf("tail %q (%d bytes), want %q of 16", m.StderrTail, m.StderrBytes, "6789abcdef")
	}
}

// busyLoop is a fixed amount of shell work (about 200 ms of CPU on the
// 2-core test VM). Fixed work rather than fixed time: on a loaded host a
// time-bounded loop gets less CPU, fixed work only takes longer. Tests
// compare what they measure of it with the loop run alone, never with a
// number of milliseconds.
const busyLoop = `i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done`

func TestGrandchildCPU(t *testing.T) {
	tests := []struct {
		name   string
		script string
		// orphan: the main process exits at once; the loop is nobody's
		// waited-for child, so only a cgroup accounts for it.
		orphan bool
	}{
		{name: "waited grandchild", script: `sh -c '` + busyLoop + `' & wait`},
		// setsid: the loop also leaves our process group and session.
		{name: "orphaned grandchild", script: `setsid sh -c '` + busyLoop + `' &`, orphan: true},
	}
	// The orphan holds the pipes until its loop is done, which on a loaded
	// host takes longer than the default DrainTimeout.
	for name, e := range executorsWith(t, Config{DrainTimeout: time.Minute}) {
		// The yardstick, measured here and now: the same loop run by the
		// main process itself, which every mode accounts for. Figures are
		// compared with it, not with a number from one machine.
		ref := run(t, e, sh(busyLoop))
		refCPU := ref.User + ref.Sys
		t.Logf("%s: the loop itself: wall %v cpu %v", name, ref.Wall, refCPU)
		if ref.ExitCode != 0 || refCPU <= 0 {
			t.Fatalf("%s: the loop itself: exit %d cpu %v", name, ref.ExitCode, refCPU)
		}
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				m := run(t, e, sh(tt.script))
				cpu := m.User + m.Sys
				t.Logf("wall %v user %v sys %v metrics %v", m.Wall, m.User, m.Sys, m.Metrics)
				if m.ExitCode != 0 {
					t.Fatalf("exit %d %q", m.ExitCode, m.Error)
				}
				if e.Mode() == sourceRusage && tt.orphan {
					if cpu > refCPU/2 {
						t.Errorf("rusage saw %v of an orphan's CPU (the loop alone: %v); it cannot", cpu, refCPU)
					}
					return
				}
				// The grandchild's loop is counted: about the loop's own
				// CPU (the shells around it add a little).
				if cpu < refCPU/2 || cpu > refCPU*2+50*time.Millisecond {
					t.Errorf("User+Sys = %v, want about the loop's own %v", cpu, refCPU)
				}
				if tt.orphan && m.Wall > ref.Wall/2 {
					t.Errorf("Wall = %v, the loop alone %v: the main process exits at once", m.Wall, ref.Wall)
				}
				if got := m.Metrics["leftover_processes"]; got != 0 {
					t.Errorf("leftover_processes = %v: the loop ended by itself and closed the pipes", got)
				}
			})
		}
	}
}

// liveProcesses lists pids whose command line is exactly argv and that are
// not zombies (this host's init does not reap orphans).
func liveProcesses(t *testing.T, argv ...string) []int {
	t.Helper()
	want := strings.Join(argv, "\x00") + "\x00"
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || string(cmd) != want {
			continue
		}
		if st, err := readProcStat("/proc", pid); err == nil && st.State != 'Z' && st.State != 'X' {
			pids = append(pids, pid)
		}
	}
	return pids
}

// uniqueSleep is a sleep duration no other process on the host uses, so
// survivors can be found by their command line.
func uniqueSleep() string { return fmt.Sprintf("30.%06d", rand.IntN(1000000)) }

func TestTimeoutKillsTree(t *testing.T) {
	for name, e := range executors(t) {
		t.Run(name, func(t *testing.T) {
			d := uniqueSleep()
			job := sh(fmt.Sprintf("sleep %s & sleep %s", d, d))
			job.Timeout = 200 * time.Millisecond
			start := time.Now()
			m := run(t, e, job)
			took := time.Since(start)
			if m.Error != "timeout" || m.ExitCode != -1 {
				t.Errorf("Error %q ExitCode %d, want timeout -1", m.Error, m.ExitCode)
			}
			if took > 2*time.Second || m.Wall < 200*time.Millisecond || m.Wall > time.Second {
				t.Errorf("Run took %v, Wall %v: want just over the 200ms timeout", took, m.Wall)
			}
			if live := liveProcesses(t, "sleep", d); len(live) > 0 {
				t.Errorf("sleep processes survived: %v", live)
			}
		})
	}
}

func TestCancelKillsTree(t *testing.T) {
	for name, e := range executors(t) {
		t.Run(name, func(t *testing.T) {
			d := uniqueSleep()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cancelledAt := cancelWhenRunning(t, cancel, d, 2)
			m, err := e.Run(ctx, sh(fmt.Sprintf("sleep %s & sleep %s", d, d)))
			took := time.Since(<-cancelledAt)
			if err != nil {
				t.Fatal(err)
			}
			if m.Error != "cancelled" || m.ExitCode != -1 || took > 2*time.Second {
				t.Errorf("Error %q ExitCode %d after %v, want cancelled -1 promptly", m.Error, m.ExitCode, took)
			}
			if live := liveProcesses(t, "sleep", d); len(live) > 0 {
				t.Errorf("sleep processes survived: %v", live)
			}
			// Cancelled after the main process exited, while a grandchild
			// still holds the pipes.
			d2 := uniqueSleep()
			ctx2, cancel2 := context.WithCancel(context.Background())
			defer cancel2()
			cancelledAt = cancelWhenRunning(t, cancel2, d2, 1)
			m, err = e.Run(ctx2, sh(fmt.Sprintf("sleep %s & echo started", d2)))
			if took := time.Since(<-cancelledAt); err != nil || m.Error != "cancelled" || m.ExitCode != -1 || took > 2*time.Second {
				t.Errorf("late cancel: %v %q %d after %v, want cancelled -1 promptly", err, m.Error, m.ExitCode, took)
			}
			if live := liveProcesses(t, "sleep", d2); len(live) > 0 {
				t.Errorf("late cancel: sleep survived: %v", live)
			}
			// Already cancelled: nothing is started.
			m, err = e.Run(ctx, runner.Job{Argv: []string{"true"}})
			if err != nil || m.Error != "cancelled" || m.ExitCode != -1 {
				t.Errorf("pre-cancelled: %v %q %d", err, m.Error, m.ExitCode)
			}
		})
	}
}

// cancelWhenRunning calls cancel once n processes `sleep d` run (polled
// with a deadline: no event says a grandchild started), and sends when.
func cancelWhenRunning(t *testing.T, cancel context.CancelFunc, d string, n int) <-chan time.Time {
	at := make(chan time.Time, 1)
	go func() {
		defer func() { at <- time.Now(); cancel() }()
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if len(liveProcesses(t, "sleep", d)) >= n {
				return
			}
		}
		t.Errorf("%d sleep %s never ran", n, d)
	}()
	return at
}

func TestLeftoversAreKilled(t *testing.T) {
	for name, e := range executors(t) {
		t.Run(name+"/detached from the pipes", func(t *testing.T) {
			d := uniqueSleep()
			start := time.Now()
			m := run(t, e, sh(fmt.Sprintf("sleep %s >/dev/null 2>&1 &", d)))
			if took := time.Since(start); took > time.Second {
				t.Errorf("Run took %v; nothing held the pipes", took)
			}
			if m.ExitCode != 0 || m.Metrics["leftover_processes"] != 1 {
				t.Errorf("exit %d leftover_processes %v, want 0 and 1", m.ExitCode, m.Metrics["leftover_processes"])
			}
			if live := liveProcesses(t, "sleep", d); len(live) > 0 {
				t.Errorf("leftover sleep survived: %v", live)
			}
		})
	}
	t.Run("holding the pipes past DrainTimeout", func(t *testing.T) {
		for _, mode := range []Mode{Off, Auto} {
			e := newExecutor(t, Config{Cgroups: mode, DrainTimeout: 300 * time.Millisecond})
			d := uniqueSleep()
			start := time.Now()
			m := run(t, e, sh(fmt.Sprintf("sleep %s & echo started", d)))
			took := time.Since(start)
			if took < 300*time.Millisecond || took > 1500*time.Millisecond {
				t.Errorf("%s: Run took %v, want DrainTimeout (300ms) and a kill", e.Mode(), took)
			}
			if m.ExitCode != 0 || m.StdoutBytes != 8 || m.Metrics["leftover_processes"] != 1 {
				t.Errorf("%s: exit %d stdout %d leftover %v, want 0 8 1", e.Mode(), m.ExitCode, m.StdoutBytes, m.Metrics["leftover_processes"])
			}
			if live := liveProcesses(t, "sleep", d); len(live) > 0 {
				t.Errorf("%s: sleep survived: %v", e.Mode(), live)
			}
		}
	})
}

// bigPeak is how many bytes a child must hold for its peak to be
// measurable without cgroups: 50 MB, and 50 MB more than our own peak so
// far (rusage cannot tell a smaller one from ours; earlier tests, and the
// race detector, raise it).
func bigPeak(t *testing.T) int {
	t.Helper()
	var self syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &self); err != nil {
		t.Fatal(err)
	}
	return 50000000 + int(self.Maxrss*1024)
}

func TestMemoryPeak(t *testing.T) {
	// tail -c N of a pipe has to hold N bytes.
	n := bigPeak(t)
	for name, e := range executors(t) {
		t.Run(name, func(t *testing.T) {
			m := run(t, e, sh(fmt.Sprintf("head -c %d /dev/zero | tail -c %d | wc -c", n, n)))
			if m.ExitCode != 0 || m.StdoutBytes != int64(len(strconv.Itoa(n))+1) {
				t.Fatalf("exit %d stdout %d", m.ExitCode, m.StdoutBytes)
			}
			if m.MaxRSS < int64(n) || m.MaxRSS > 4*int64(n) {
				t.Errorf("MaxRSS = %d, want at least %d", m.MaxRSS, n)
			}
		})
	}
}

func TestRusageMode(t *testing.T) {
	e := newExecutor(t, Config{Cgroups: Off})
	if e.Mode() != "rusage" || e.Warning() != "" {
		t.Errorf("Mode %q Warning %q, want rusage and no warning (it was asked for)", e.Mode(), e.Warning())
	}
	m := run(t, e, sh("true"))
	if m.Source != "rusage" {
		t.Errorf("Source = %q", m.Source)
	}
	for _, k := range []string{"rusage_user_ns", "rusage_sys_ns", "rusage_maxrss_bytes", "leftover_processes"} {
		if _, ok := m.Metrics[k]; !ok {
			t.Errorf("metric %s missing: %v", k, m.Metrics)
		}
	}
}

func TestFallbackWarning(t *testing.T) {
	e := newExecutor(t, Config{CgroupRoot: t.TempDir()})
	if e.Mode() != "rusage" || !strings.Contains(e.Warning(), "rusage") || !strings.Contains(e.Warning(), "cpuacct") {
		t.Errorf("Mode %q Warning %q, want rusage with a reason", e.Mode(), e.Warning())
	}
	m := run(t, e, sh("exit 2"))
	if m.ExitCode != 2 || m.Source != "rusage" {
		t.Errorf("exit %d source %q", m.ExitCode, m.Source)
	}
}

func TestCgroupV1Figures(t *testing.T) {
	e := newExecutor(t, Config{Cgroups: V1})
	if e.Mode() != sourceV1 {
		if os.Geteuid() != 0 {
			testenv.Skipf(t, "cgroup v1 needs root: %s", e.Warning())
		}
		if _, err := os.Stat("/sys/fs/cgroup/cpuacct"); err != nil {
			testenv.Skip(t, "no cgroup v1 cpuacct hierarchy on this host (pure v2)")
		}
		t.Fatalf("cgroup v1 unusable as root: %s", e.Warning())
	}
	if want := []string{"cpuacct", "memory", "pids", "blkio"}; !slices.Equal(e.Controllers(), want) {
		t.Errorf("Controllers = %v, want %v on this host", e.Controllers(), want)
	}
	m := run(t, e, runner.Job{Argv: []string{"true"}})
	// The starting thread sits in the trial's pids cgroup: it must not count.
	if m.Metrics["pids_peak"] != 1 {
		t.Errorf("pids_peak for true = %v, want 1", m.Metrics["pids_peak"])
	}
	for _, k := range []string{"io_read_bytes", "io_write_bytes", "cgroup_cpu_ns", "starter_thread_cpu_ns", "rusage_inblock_bytes", "rusage_oublock_bytes"} {
		if _, ok := m.Metrics[k]; !ok {
			t.Errorf("metric %s missing: %v", k, m.Metrics)
		}
	}
	if cpu := m.User + m.Sys; cpu <= 0 || float64(cpu) != m.Metrics["cgroup_cpu_ns"]-m.Metrics["starter_thread_cpu_ns"] {
		t.Errorf("User+Sys = %v, want cgroup_cpu_ns - starter_thread_cpu_ns of %v", cpu, m.Metrics)
	}
	m = run(t, e, sh("sleep 0.05 & sleep 0.05 & wait"))
	if m.Metrics["pids_peak"] != 3 {
		t.Errorf("pids_peak = %v, want 3 (sh and two sleeps)", m.Metrics["pids_peak"])
	}
}

// TestChildStartsInTrialCgroup checks membership from inside the child,
// and that no thread of ours is left in a trial cgroup afterwards.
func TestChildStartsInTrialCgroup(t *testing.T) {
	// Exit status = number of hierarchies in which the shell is in a trial
	// cgroup of ours.
	script := fmt.Sprintf(`exit $(grep -c ':/.*%s%d-trial' /proc/self/cgroup)`, trialPrefix, os.Getpid())
	for name, e := range executors(t) {
		t.Run(name, func(t *testing.T) {
			want := map[string]int{sourceRusage: 0, sourceV1: len(e.Controllers()), sourceV2: 1}[e.Mode()]
			for range 5 {
				if m := run(t, e, sh(script)); m.ExitCode != want {
					t.Fatalf("child is in %d trial cgroups, want %d", m.ExitCode, want)
				}
			}
			tasks, err := filepath.Glob("/proc/self/task/*/cgroup")
			if err != nil || len(tasks) == 0 {
				t.Fatalf("list threads: %v", err)
			}
			for _, f := range tasks {
				if data, err := os.ReadFile(f); err == nil && strings.Contains(string(data), trialPrefix) {
					t.Errorf("thread %s still in a trial cgroup:\n%s", f, data)
				}
			}
		})
	}
}

func TestConcurrentRuns(t *testing.T) {
	for name, e := range executors(t) {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for i := range 8 {
				wg.Go(func() {
					m, err := e.Run(context.Background(), sh(fmt.Sprintf("head -c %d /dev/zero; exit %d", i*1000, i)))
					if err != nil {
						errs <- err
					} else if m.ExitCode != i || m.StdoutBytes != int64(i*1000) {
						errs <- fmt.Errorf("run %d: exit %d stdout %d", i, m.ExitCode, m.StdoutBytes)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// BenchmarkRunTrue puts the per-trial cost of the executor, with and
// without cgroups, next to a plain os/exec run. "wall-ns" is the median
// wall time each variant records for /bin/true: the executor's own Wall,
// and for exec.Command the time around cmd.Run().
func BenchmarkRunTrue(b *testing.B) {
	job := runner.Job{Argv: []string{"/bin/true"}}
	report := func(b *testing.B, walls []time.Duration) {
		slices.Sort(walls)
		b.ReportMetric(float64(walls[len(walls)/2]), "wall-ns")
	}
	b.Run("exec.Command", func(b *testing.B) {
		var walls []time.Duration
		for b.Loop() {
			cmd := exec.Command("/bin/true")
			cmd.Stdout = io.Discard // os/exec makes a pipe and a copying goroutine
			t0 := time.Now()
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
			walls = append(walls, time.Since(t0))
		}
		report(b, walls)
	})
	for _, v := range []struct {
		name string
		mode Mode
	}{{"executor-rusage", Off}, {"executor-cgroup", Auto}} {
		b.Run(v.name, func(b *testing.B) {
			e := New(Config{Cgroups: v.mode})
			defer e.Close()
			if v.mode != Off && e.Mode() == sourceRusage {
				testenv.Skipf(b, "no cgroups: %s", e.Warning())
			}
			var walls []time.Duration
			for b.Loop() {
				m, err := e.Run(context.Background(), job)
				if err != nil || m.ExitCode != 0 {
					b.Fatal(err, m.Error)
				}
				walls = append(walls, m.Wall)
			}
			report(b, walls)
		})
	}
}

// Without cgroups a trial's peak memory is its own or unavailable, never
// benchrig's: a small command after a big one must not report the big
// figure (rusage of all children) nor ours (vfork shares our mm until exec).
func TestRusagePeakIsTheTrialsOwn(t *testing.T) {
	e := newExecutor(t, Config{Cgroups: Off})
	n := int64(bigPeak(t))
	big := run(t, e, sh(fmt.Sprintf("head -c %d /dev/zero | tail -c %d | wc -c", n, n)))
	if big.ExitCode != 0 {
		t.Fatalf("big: exit %d", big.ExitCode)
	}
	if big.MaxRSS < n || big.MaxRSS > 4*n {
		t.Errorf("big: MaxRSS = %d, want at least %d", big.MaxRSS, n)
	}
	small := run(t, e, sh("true"))
	self := int64(small.Metrics["executor_maxrss_bytes"])
	if self <= 0 {
		t.Fatalf("executor_maxrss_bytes missing: %v", small.Metrics)
	}
	if small.MaxRSS >= n {
		t.Errorf("small after big: MaxRSS = %d, the big trial's figure", small.MaxRSS)
	}
	if small.MaxRSS != 0 && small.MaxRSS <= self {
		t.Errorf("small: MaxRSS = %d, not above benchrig's own %d: it may be benchrig's, want 0 (unavailable)", small.MaxRSS, self)
	}
	if raw := int64(small.Metrics["rusage_maxrss_bytes"]); raw <= 0 {
		t.Errorf("rusage_maxrss_bytes = %d, want the raw figure kept", raw)
	}
}
