package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/cgroup"
	"github.com/benchrig/benchrig/internal/pipes"
	"github.com/benchrig/benchrig/runner"
	"golang.org/x/sys/unix"
)

// killWait bounds how long Run waits for a killed tree to disappear from
// its cgroup, and for pipes to reach EOF after the kill.
const killWait = 2 * time.Second

// leftoverSettle is how long processes still in the tree after EOF on its
// pipes get to exit by themselves before they count as leftovers. It costs
// a trial time only when something is left.
const leftoverSettle = 20 * time.Millisecond

// Run executes job and measures it; see runner.Executor. It may be called
// from several goroutines at once.
//
// Metrics it records (absent when their source is): rusage_user_ns,
// rusage_sys_ns, rusage_maxrss_bytes, rusage_inblock_bytes,
// rusage_oublock_bytes (main process and waited-for descendants),
// executor_maxrss_bytes (our own peak, a floor of rusage_maxrss_bytes),
// leftover_processes (tree members alive after the main process exited and
// the pipes closed, then killed; absent after a timeout or cancellation),
// and with cgroups cgroup_cpu_ns, cgroup_user_ns, cgroup_sys_ns (raw),
// starter_thread_cpu_ns (v1), pids_peak, io_read_bytes, io_write_bytes,
// cpu_throttled_ns; read_bps_cap (bytes/s, when job.ReadBPS caps reads)
// and drop_caches_seconds (sync and drop, outside Wall, when
// job.DropCaches).
//
// A read cap or cold cache that cannot be honoured is an error, never a
// measurement without it; Check tells beforehand.
//
// With cgroups, job.Watcher (when set) is told the trial started once its
// first process runs in the trial cgroup (from the goroutine that watches
// for a timeout, not the one timing the trial), and that it exited after
// the tree is gone and the wall time taken, before the cgroup is removed;
// the Noise it returns is the measurement's. In rusage mode there is no
// cgroup to watch and it is told nothing.
func (e *Executor) Run(ctx context.Context, job runner.Job) (benchrig.Measurement, error) {
	m := benchrig.Measurement{Start: time.Now().Round(0), ExitCode: -1, Source: e.mode, Metrics: map[string]float64{}}
	if len(job.Argv) == 0 {
		return m, errors.New("local: job has no command")
	}
	if ctx.Err() != nil {
		m.Error = "cancelled"
		return m, nil
	}
	// A name with a slash goes to exec as it is, whose error says best
	// why it cannot start (permission denied, no such file); any other is
	// found as the run's pre-check found it.
	path, err := job.Argv[0], error(nil)
	if !strings.Contains(path, "/") {
		path, err = runner.LookPath(path, job.Env)
		if errors.Is(err, runner.ErrNotInPath) {
			err = fmt.Errorf("%s: executable file not found in $PATH", job.Argv[0])
		}
	}
	if err != nil {
		m.Error = "start: " + err.Error()
		return m, nil
	}
	if job.Dir != "" {
		// The child's chdir failure would read like a missing program.
		if st, err := os.Stat(job.Dir); err != nil {
			m.Error = fmt.Sprintf("start: workdir %s: %v", job.Dir, errors.Unwrap(err))
			return m, nil
		} else if !st.IsDir() {
			m.Error = fmt.Sprintf("start: workdir %s: not a directory", job.Dir)
			return m, nil
		}
	}

	// Resolved before anything is created: a cap that cannot be applied
	// must not become an uncapped measurement.
	var capDev blockDev
	if job.ReadBPS < 0 {
		return m, fmt.Errorf("local: read cap of %d bytes/s: must be positive", job.ReadBPS)
	}
	if job.ReadBPS > 0 {
		if capDev, _, err = e.readDevice(job); err != nil {
			return m, fmt.Errorf("local: read cap: %w", err)
		}
	}

	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return m, fmt.Errorf("local: open stdin: %w", err)
	}
	defer devnull.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return m, fmt.Errorf("local: stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return m, fmt.Errorf("local: stderr pipe: %w", err)
	}
	// Closed twice on the normal path; the second Close is a harmless error.
	defer outW.Close()
	defer errW.Close()

	var cg *trialCgroup
	if e.cg != nil {
		cg, err = e.cg.newTrial()
		if err != nil {
			outR.Close()
			errR.Close()
			return m, fmt.Errorf("local: %w", err)
		}
	}
	// The cap is in place before the command starts, and the cache is
	// dropped last and outside the timed interval.
	if err := e.prepareIO(job, cg, capDev, &m); err != nil {
		outR.Close()
		errR.Close()
		if cg != nil {
			if rerr := cg.remove(); rerr != nil {
				err = errors.Join(err, fmt.Errorf("remove cgroup: %w", rerr))
			}
		}
		return m, fmt.Errorf("local: %w", err)
	}

	stdout := pipes.Start(outR, 0, job.DigestStdout)
	stderr := pipes.Start(errR, e.cfg.StderrTail, false)
	sys := &syscall.SysProcAttr{Setpgid: true}
	if cg != nil && cg.setup.version == 2 {
		// clone3 CLONE_INTO_CGROUP: the child is in the cgroup from birth.
		sys.UseCgroupFD, sys.CgroupFD = true, cg.fd
	}
	attr := &os.ProcAttr{Dir: job.Dir, Env: job.Env, Files: []*os.File{devnull, outW, errW}, Sys: sys}

	w := &watcher{started: make(chan startedProc, 1), done: make(chan struct{}), told: make(chan struct{}), cg: cg}
	if cg != nil && job.Watcher != nil {
		// Told from the watcher goroutine once the first process sits in
		// the trial cgroup (it is born there), never from the goroutine
		// that times the trial.
		w.tell = func(sp startedProc) {
			job.Watcher.TrialStarted(job.Ref, runner.Target{Cgroup: cg.dirsOf(), PID: sp.p.Pid, Params: job.Params, Started: sp.t0.Round(0)})
		}
	}
	go w.run(ctx, job.Timeout)
	l := launch(path, job.Argv, attr, cg, w.started)
	w.finish()
	// Our copies of the write ends must go for EOF to arrive.
	outW.Close()
	errW.Close()

	var errs []error
	if l.setupErr != nil {
		errs = append(errs, l.setupErr)
	}
	if !l.t0.IsZero() {
		m.Start = l.t0.Round(0) // wall clock only; a monotonic reading means nothing once stored
	}
	if l.startErr != nil {
		m.Error = startReason(l.startErr)
	}

	// Give grandchildren that hold the pipes a bounded time, then kill
	// whatever is left of the tree; its processes are counted first.
	drained := pipes.Wait(ctx, e.cfg.DrainTimeout, stdout, stderr)
	// Cancelled while the tree outlived its main process: what it did is
	// cut short, so the trial is cancelled, not complete.
	cancelledLate := !drained && ctx.Err() != nil && l.state != nil
	leftover := 0
	if l.state != nil {
		pgid := l.state.Pid()
		count := func() int { return countGroup(e.cfg.ProcRoot, pgid) }
		if cg != nil {
			count = func() int {
				pids, err := cg.procs()
				if err != nil {
					errs = append(errs, fmt.Errorf("list cgroup: %w", err))
				}
				return countAlive(e.cfg.ProcRoot, pids)
			}
		}
		// A process may close its output (coreutils do so at exit, in
		// user space) a moment before it exits: EOF is not its death.
		// Those that are gone within leftoverSettle are not leftovers.
		settle := time.Now().Add(leftoverSettle)
		for leftover = count(); leftover > 0 && drained && time.Now().Before(settle); leftover = count() {
			time.Sleep(time.Millisecond)
		}
		if leftover > 0 || !drained || w.reason != "" {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			if cg == nil {
				// The cgroup sweep below waits for the tree to die; the
				// group is all rusage mode knows of it.
				if err := waitGroupGone(e.cfg.ProcRoot, pgid, killWait); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if cg != nil {
		// Always: a start that failed after fork, or a tree that escaped
		// the process group, must not outlive the trial.
		if err := cg.killAll(killWait); err != nil {
			errs = append(errs, err)
		}
	}
	if !drained {
		pipes.Wait(context.Background(), killWait, stdout, stderr)
	}
	outR.Close() // unblocks a drain whose writer still lives (escaped the cgroup, or rusage mode)
	errR.Close()
	<-stdout.Done
	<-stderr.Done
	m.StdoutBytes, m.StderrBytes = stdout.N, stderr.N
	m.StderrTail = stderr.TailString()
	m.Stdout = stdout.Digest()

	if l.state != nil {
		m.Wall = l.t1.Sub(l.t0)
		ws := l.state.Sys().(syscall.WaitStatus)
		switch {
		case w.reason != "" && ws.Signaled():
			m.Error = w.reason
		case ws.Signaled():
			m.Error = "signal: " + ws.Signal().String()
		default:
			m.ExitCode = ws.ExitStatus()
		}
		if cancelledLate && m.Error == "" {
			m.Error, m.ExitCode = "cancelled", -1
		}
		if m.Error == "" || strings.HasPrefix(m.Error, "signal: ") {
			m.Metrics["leftover_processes"] = float64(leftover)
		}
		ru := l.state.SysUsage().(*syscall.Rusage)
		rUser := time.Duration(ru.Utime.Nano())
		rSys := time.Duration(ru.Stime.Nano())
		rRSS := ru.Maxrss * 1024
		m.User, m.Sys = rUser, rSys
		m.Metrics["rusage_user_ns"] = float64(rUser)
		m.Metrics["rusage_sys_ns"] = float64(rSys)
		m.Metrics["rusage_maxrss_bytes"] = float64(rRSS)
		// At exec the kernel folds the hiwater RSS of the replaced mm into
		// the child's maxrss, and Go starts children with vfork (CLONE_VM),
		// so that mm is ours: rusage maxrss is never below our own peak
		// at the time of the exec. Recorded so a reader can tell when
		// rusage_maxrss means nothing.
		var self syscall.Rusage
		selfRSS := int64(-1)
		if syscall.Getrusage(syscall.RUSAGE_SELF, &self) == nil {
			selfRSS = self.Maxrss * 1024
			m.Metrics["executor_maxrss_bytes"] = float64(selfRSS)
		}
		m.MaxRSS = runner.OwnMaxRSS(rRSS, selfRSS)
		// ru_inblock/ru_oublock count 512-byte units of storage IO.
		m.Metrics["rusage_inblock_bytes"] = float64(ru.Inblock * 512)
		m.Metrics["rusage_oublock_bytes"] = float64(ru.Oublock * 512)

		if cg != nil {
			st, err := cg.stats()
			if err != nil {
				errs = append(errs, fmt.Errorf("read cgroup stats: %w", err))
			}
			applyCgroupStats(&m, st, l.starterCPU, cg.setup.version, rUser, rSys)
		}
	}
	if w.tell != nil {
		// The tree is gone and the wall time taken; the cgroup is still
		// there for the final sample. A trial told started is always
		// told exited, whatever became of it.
		<-w.told
		if w.wasTold {
			m.Noise = job.Watcher.TrialExited(job.Ref)
		}
	}
	if cg != nil {
		if err := cg.remove(); err != nil {
			errs = append(errs, fmt.Errorf("remove cgroup: %w", err))
		}
	}
	if len(errs) > 0 {
		return m, fmt.Errorf("local: %w", errors.Join(errs...))
	}
	return m, nil
}

// prepareIO applies job's read cap to the trial's cgroup and drops the
// page cache, recording read_bps_cap and drop_caches_seconds.
func (e *Executor) prepareIO(job runner.Job, cg *trialCgroup, dev blockDev, m *benchrig.Measurement) error {
	if job.ReadBPS > 0 {
		if cg == nil {
			return errors.New("read cap: no cgroup for the trial")
		}
		if err := cg.capReads(dev, job.ReadBPS); err != nil {
			return fmt.Errorf("read cap: %w", err)
		}
		m.Metrics["read_bps_cap"] = float64(job.ReadBPS)
	}
	if job.DropCaches {
		d, err := e.dropCaches()
		if err != nil {
			return err
		}
		m.Metrics["drop_caches_seconds"] = d.Seconds()
	}
	return nil
}

// applyCgroupStats puts a trial's cgroup figures in m. User and Sys then
// cover the whole tree, orphans included.
func applyCgroupStats(m *benchrig.Measurement, st cgroup.Stats, starter time.Duration, version int, rUser, rSys time.Duration) {
	if st.CPU >= 0 {
		m.Metrics["cgroup_cpu_ns"] = float64(st.CPU)
		m.Metrics["cgroup_user_ns"] = float64(max(st.User, 0))
		m.Metrics["cgroup_sys_ns"] = float64(max(st.Sys, 0))
		total := st.CPU
		if version == 1 {
			// The thread that forked the trial sat in its cpuacct cgroup
			// from before the fork until after wait; its CPU is ours.
			m.Metrics["starter_thread_cpu_ns"] = float64(starter)
			total = max(total-starter, 0)
		}
		// v1 splits user/sys by tick sampling (0/0 for a 1 ms process)
		// while the total is exact: keep the exact total, divide it.
		m.User, m.Sys = splitCPU(total, st.User, st.Sys, rUser, rSys)
	}
	if st.MemoryPeak >= 0 {
		// The cgroup's peak charge: it includes page cache the tree
		// caused (files read or written), not only anonymous memory, so
		// it can exceed every process's RSS.
		m.MaxRSS = st.MemoryPeak
	}
	if st.PidsPeak >= 0 {
		p := st.PidsPeak
		if version == 1 {
			p-- // the starting thread counts as a task while inside
		}
		m.Metrics["pids_peak"] = float64(max(p, 0))
	}
	if st.IORead >= 0 {
		m.Metrics["io_read_bytes"] = float64(st.IORead)
		m.Metrics["io_write_bytes"] = float64(st.IOWrite)
	}
	if st.Throttled >= 0 {
		m.Metrics["cpu_throttled_ns"] = float64(st.Throttled)
	}
}

// launched is what happened between start and wait.
type launched struct {
	t0, t1     time.Time
	state      *os.ProcessState
	startErr   error
	setupErr   error         // the executor's own failure to place the child
	starterCPU time.Duration // v1: CPU of the starting thread while in the trial cgroup
}

// launch starts the process and waits for it. With cgroup v1 it does so
// from a locked thread placed in the trial's cgroups: v1 membership is per
// thread and fork inherits the forking thread's, so the child is inside
// before it execs, with no window to fork outside. The thread stays inside
// until wait returns so that moving it back is not inside the wall
// interval; its own CPU meanwhile is measured and subtracted.
func launch(path string, argv []string, attr *os.ProcAttr, cg *trialCgroup, started chan<- startedProc) launched {
	if cg == nil || cg.setup.version == 2 {
		return startAndWait(path, argv, attr, started)
	}
	ch := make(chan launched, 1)
	go func() {
		runtime.LockOSThread()
		// Exiting this goroutine while still locked ends the thread; that
		// is what happens if it cannot return to our own cgroups, so no
		// other goroutine ever runs in a trial's cgroup.
		tid := strconv.Itoa(unix.Gettid())
		if err := cg.enterV1(tid); err != nil {
			if cg.leaveV1(tid) == nil {
				runtime.UnlockOSThread()
			}
			close(started)
			ch <- launched{t0: time.Now(), setupErr: err}
			return
		}
		c0 := threadCPU()
		l := startAndWait(path, argv, attr, started)
		l.starterCPU = threadCPU() - c0
		if cg.leaveV1(tid) == nil {
			runtime.UnlockOSThread()
		}
		ch <- l
	}()
	return <-ch
}

// startAndWait is the measured interval: nothing but start, handing the
// process to the watcher (a buffered send) and wait.
func startAndWait(path string, argv []string, attr *os.ProcAttr, started chan<- startedProc) launched {
	t0 := time.Now()
	p, err := os.StartProcess(path, argv, attr)
	if err != nil {
		close(started)
		return launched{t0: t0, startErr: err}
	}
	started <- startedProc{p, t0}
	st, err := p.Wait()
	t1 := time.Now()
	if err != nil {
		// Only if someone else reaped it; the process is gone either way.
		return launched{t0: t0, t1: t1, setupErr: fmt.Errorf("wait: %w", err)}
	}
	return launched{t0: t0, t1: t1, state: st}
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// startedProc is the trial's first process and when it was started.
type startedProc struct {
	p  *os.Process
	t0 time.Time
}

// watcher kills the tree on timeout or cancellation, and tells the job's
// runner.Watcher (tell) that the trial started.
type watcher struct {
	mu      sync.Mutex
	exited  bool
	reason  string // "timeout" or "cancelled" once it killed; read after finish
	started chan startedProc
	done    chan struct{}
	cg      *trialCgroup
	tell    func(startedProc) // nil when nobody watches the trial
	told    chan struct{}     // closed once tell returned (or was not called)
	wasTold bool              // tell was called; read after told is closed
}

// run waits for the process to start, then for the timeout (none if zero),
// ctx's end or the process's exit, whichever comes first. The timeout runs
// from when the watcher hears of the start, so it never cuts a trial short.
func (w *watcher) run(ctx context.Context, timeout time.Duration) {
	sp, ok := <-w.started
	if !ok {
		close(w.told)
		return
	}
	if w.tell != nil {
		w.tell(sp)
		w.wasTold = true
	}
	close(w.told)
	p := sp.p
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		w.kill(p, "cancelled")
	case <-tc:
		w.kill(p, "timeout")
	}
}

func (w *watcher) kill(p *os.Process, reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.exited {
		return
	}
	w.reason = reason
	_ = p.Signal(syscall.SIGKILL) // by pidfd: cannot hit a recycled pid
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	if w.cg != nil {
		_ = w.cg.killAll(killWait) // Run sweeps again and reports failures
	}
}

// finish tells the watcher the main process has been reaped.
func (w *watcher) finish() {
	w.mu.Lock()
	w.exited = true
	w.mu.Unlock()
	close(w.done)
}

// countGroup counts the live processes of process group pgid (rusage mode:
// the tree is known only by its group).
func countGroup(procRoot string, pgid int) int {
	if syscall.Kill(-pgid, 0) != nil {
		return 0
	}
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readProcStat(procRoot, pid); err == nil && st.Pgrp == pgid && st.alive() {
			n++
		}
	}
	return n
}

// waitGroupGone waits until no live process is left in group pgid.
func waitGroupGone(procRoot string, pgid int, d time.Duration) error {
	end := time.Now().Add(d)
	for countGroup(procRoot, pgid) > 0 {
		if time.Now().After(end) {
			return fmt.Errorf("process group %d still alive %v after SIGKILL", pgid, d)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// countAlive counts the pids that are not already exiting.
func countAlive(procRoot string, pids []int) int {
	n := 0
	for _, pid := range pids {
		if st, err := readProcStat(procRoot, pid); err == nil && st.alive() {
			n++
		}
	}
	return n
}
