package shimrun

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/benchrig/benchrig/internal/pipes"
)

// Options say what the shim runs and how.
type Options struct {
	Argv    []string
	Timeout time.Duration // 0: none
	// TailBytes of stderr are kept; default 4096.
	TailBytes int
	// DigestStdout computes Result.Stdout while draining stdout.
	DigestStdout bool
	// DrainTimeout bounds the wait for EOF on the child's pipes after it
	// exited (a grandchild may hold them); default 2s.
	DrainTimeout time.Duration
	// CgroupRoot is where the container's cgroup is mounted; "" reads none.
	CgroupRoot string
	// Init says the shim is PID 1 of its pid namespace (the container): it
	// then counts and kills every process left after the child, and reaps
	// orphans so their CPU counts in the children's rusage. Never set it
	// outside a container: it kills every process it can see.
	Init     bool
	ProcRoot string // default "/proc"
	// ShimStart is when the shim's main began.
	ShimStart time.Time
	// Hold, when set, is read up to its first newline before the command
	// starts (EOF releases it too): the docker executor holds a profiled
	// trial's command until the profiler on the node is attached to the
	// shim. The wait is Result.Held, not in Setup.
	Hold io.Reader
}

// settle is how long processes still alive after EOF on the pipes get to
// exit by themselves before they count as leftovers (as runner/local).
const settle = 20 * time.Millisecond

// Run starts the command, waits for it and measures it. It never fails:
// what went wrong is in Result.Error.
func Run(o Options) Result {
	if o.TailBytes <= 0 {
		o.TailBytes = 4096
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 2 * time.Second
	}
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.ShimStart.IsZero() {
		o.ShimStart = time.Now()
	}
	r := Result{Version: FormatVersion, ShimStart: o.ShimStart.UnixNano(), ExitCode: -1, Leftover: -1}
	finish := func() Result {
		if o.CgroupRoot != "" {
			cg, err := ReadCgroup(o.CgroupRoot)
			if err != nil {
				r.CgroupError = err.Error()
			}
			r.Cgroup = cg
		}
		var self syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &self) == nil {
			r.ShimMaxRSS = self.Maxrss * 1024
		}
		return r
	}
	if len(o.Argv) == 0 {
		r.Error = "start: no command"
		return finish()
	}
	path, err := exec.LookPath(o.Argv[0])
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err
		}
		r.Error = "start: " + o.Argv[0] + ": " + err.Error()
		return finish()
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		r.Error = "start: open stdin: " + err.Error()
		return finish()
	}
	defer devnull.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		r.Error = "start: stdout pipe: " + err.Error()
		return finish()
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		r.Error = "start: stderr pipe: " + err.Error()
		return finish()
	}
	stdout := pipes.Start(outR, 0, o.DigestStdout)
	stderr := pipes.Start(errR, o.TailBytes, false)
	attr := &os.ProcAttr{Env: os.Environ(), Files: []*os.File{devnull, outW, errW}, Sys: &syscall.SysProcAttr{Setpgid: true}}

	var mu sync.Mutex
	reason, exited := "", false
	readCPU, doneCPU := cgroupCPU(o.CgroupRoot)
	defer doneCPU()
	var held time.Duration
	if o.Hold != nil {
		h := time.Now()
		waitLine(o.Hold)
		held = time.Since(h)
		r.Held = int64(held)
	}
	h0, cg0 := readHostTicks(o.ProcRoot), readCPU() // outside the timed interval
	t0 := time.Now()
	p, err := os.StartProcess(path, o.Argv, attr)
	if err != nil {
		outW.Close()
		errW.Close()
		<-stdout.Done
		<-stderr.Done
		outR.Close()
		errR.Close()
		r.Setup = int64(t0.Sub(o.ShimStart) - held)
		r.StartUnix = t0.UnixNano()
		r.Error = "start: " + strings.TrimPrefix(err.Error(), "fork/exec ")
		return finish()
	}
	var timer *time.Timer
	if o.Timeout > 0 {
		timer = time.AfterFunc(o.Timeout, func() {
			mu.Lock()
			defer mu.Unlock()
			if exited {
				return
			}
			reason = "timeout"
			_ = p.Signal(syscall.SIGKILL)
			_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
			if o.Init {
				_ = syscall.Kill(-1, syscall.SIGKILL)
			}
		})
	}
	st, werr := p.Wait()
	t1 := time.Now()
	r.Noise = noiseBetween(h0, readHostTicks(o.ProcRoot), cg0, readCPU(), int64(t1.Sub(t0)))
	mu.Lock()
	exited = true
	mu.Unlock()
	if timer != nil {
		timer.Stop()
	}
	outW.Close()
	errW.Close()
	r.Setup = int64(t0.Sub(o.ShimStart) - held)
	r.StartUnix = t0.UnixNano()
	r.Wall = int64(t1.Sub(t0))

	drained := pipes.Wait(context.Background(), o.DrainTimeout, stdout, stderr)
	if o.Init {
		end := time.Now().Add(settle)
		n := countOthers(o.ProcRoot)
		for n > 0 && drained && time.Now().Before(end) {
			time.Sleep(time.Millisecond)
			n = countOthers(o.ProcRoot)
		}
		r.Leftover = n
		if n > 0 || !drained {
			_ = syscall.Kill(-1, syscall.SIGKILL)
		}
	} else if !drained {
		_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	}
	if !drained {
		pipes.Wait(context.Background(), 2*time.Second, stdout, stderr)
	}
	outR.Close()
	errR.Close()
	<-stdout.Done
	<-stderr.Done
	r.StdoutBytes, r.StderrBytes = stdout.N, stderr.N
	r.StderrTail = stderr.TailString()
	r.Stdout = stdout.Digest()

	if werr != nil {
		r.Error = "wait: " + werr.Error()
		return finish()
	}
	ws := st.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled() && reason != "":
		r.Error = reason
	case ws.Signaled():
		r.Error = "signal: " + ws.Signal().String()
	default:
		r.ExitCode = ws.ExitStatus()
	}
	ru := st.SysUsage().(*syscall.Rusage)
	if o.Init {
		// As PID 1 the shim inherits orphans; reaped, their CPU joins
		// RUSAGE_CHILDREN, which then covers the whole tree.
		reapAll(2 * time.Second)
		var all syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &all) == nil {
			ru = &all
		}
	}
	r.User = ru.Utime.Nano()
	r.Sys = ru.Stime.Nano()
	r.MaxRSS = ru.Maxrss * 1024
	return finish()
}

// reapAll waits for every child of the shim, at most d.
func reapAll(d time.Duration) {
	end := time.Now().Add(d)
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.ECHILD || (err != nil && err != syscall.EINTR) {
			return
		}
		if pid > 0 {
			continue
		}
		if time.Now().After(end) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// countOthers counts the live processes of the pid namespace other than
// the shim (zombies do not count: they have exited).
func countOthers(procRoot string) int {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return 0
	}
	self := os.Getpid()
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X' {
			n++
		}
	}
	return n
}

// waitLine reads r up to its first newline, or to its end or an error.
func waitLine(r io.Reader) {
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if err != nil || (n == 1 && b[0] == '\n') {
			return
		}
	}
}
