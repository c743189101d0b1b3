package docker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/moby/moby/client"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/profiling"
	"github.com/benchrig/benchrig/runner"
)

var _ runner.Profiler = (*Executor)(nil)

// attachTimeout bounds perf's attaching to a held trial; stopTimeout its
// writing of the recording after SIGINT.
const (
	attachTimeout = 15 * time.Second
	stopTimeout   = 30 * time.Second
)

func (e *Executor) perf() profiling.Perf { return profiling.Perf{Path: e.cfg.Perf} }

// CheckProfiling checks this host's perf with event (see
// runner.Profiler). Whether the node's containers are processes of this
// host is known at the first profiled trial, which says so when they are
// not.
func (e *Executor) CheckProfiling(ctx context.Context, s profiling.Sampling) (wall, cpu time.Duration, err error) {
	c, err := e.perf().Check(ctx, s)
	return c.Wall, c.CPU, err
}

// RunProfiled runs job as Run does, with its container's processes
// sampled by perf from outside the container: nothing is installed in the
// image. The shim starts held (-hold): once the container runs, perf
// attaches to the shim's host PID (following every process it starts from
// then on) and, when perf says its events are open, the shim is told to
// start the command, which it times as ever: perf's start-up is outside
// the trial's wall time. After the shim's result, perf is stopped and the
// stacks are read with the binaries looked up in the container's own root
// (/proc/PID/root of the shim, which waits for the executor before it
// exits); only then does the container go.
//
// Where the pool's policy allows it (profiler: true), perf runs on the
// node, in benchrig's profiler container (ProfilerImage; SYS_ADMIN and
// SYS_PTRACE, in the host's PID namespace), driven over the engine's API
// by exec: any node. Otherwise perf is this host's, which sees the containers of
// an engine on this host only (the lab's namespace nodes); for another
// host's engine the trial runs unprofiled and perr says why.
func (e *Executor) RunProfiled(ctx context.Context, job runner.Job, s profiling.Sampling) (benchrig.Measurement, *benchrig.TrialProfile, error, error) {
	np := &nodeProfiler{perf: e.perf(), sampling: s, node: e.cfg.Node}
	defer np.close()
	m, err := e.run(ctx, job, np)
	if err != nil || ctx.Err() != nil {
		return m, nil, nil, err
	}
	if np.err != nil {
		return m, nil, np.err, nil
	}
	if !np.read {
		return m, nil, fmt.Errorf("%w: the command did not run to a result", profiling.ErrNoRecording), nil
	}
	r := np.rec
	return m, &benchrig.TrialProfile{Event: s.Event, Freq: s.Freq, Duration: m.Wall, Lost: r.Lost, Stacks: r.Stacks}, nil, nil
}

// nodeProfiler is perf attached to one held trial container.
type nodeProfiler struct {
	perf     profiling.Perf
	sampling profiling.Sampling
	node     string

	pid    int // the shim's host PID
	dir    string
	cmd    *exec.Cmd
	ctl    *os.File // perf's control pipe, open while perf runs: its end would stop perf unfinished
	stderr bytes.Buffer
	exited chan struct{} // closed when perf has exited
	werr   error         // perf's exit, once exited is closed

	// remote is the profile taken by the node's profiler container
	// (Policy.Profiler) instead of this host's perf.
	remote *remoteProfile

	rec  profiling.Recording
	read bool  // rec holds the recording
	err  error // why there is no profile
}

// attachTries bounds the attempts at attaching perf while the shim's
// threads change under it.
const attachTries = 5

// attach starts perf on the container's shim, and returns once perf's
// events are open on every thread the shim has. perf -p lists a
// process's threads, then opens events on each, inherited by what each
// starts from then on: a thread started in between is missed, and so is
// all it starts, the command included when the Go runtime forks it from
// that thread (seen under qemu, where the shim's runtime is slow to
// settle). So the threads are listed before perf starts and again once
// it is attached; a new one means perf starts over. An error leaves
// nothing running.
func (p *nodeProfiler) attach(ctx context.Context, pid int) error {
	root := "/proc/" + strconv.Itoa(pid) + "/root"
	if _, err := os.Stat(root + shimPath); err != nil {
		return fmt.Errorf("node %s: its containers are not processes of this host (%s%s: %v): perf here profiles only an engine on this host; allow benchrig's profiler on the node (policy profiler: true in the pools file)", p.node, root, shimPath, errors.Unwrap(err))
	}
	for try := 1; ; try++ {
		before, err := threads(pid)
		if err != nil {
			return err
		}
		if err := p.attachOnce(ctx, pid); err != nil {
			return err
		}
		after, err := threads(pid)
		if err != nil {
			p.kill()
			return err
		}
		added := 0
		for t := range after {
			if !before[t] {
				added++
			}
		}
		if added == 0 {
			return nil
		}
		p.kill()
		if try == attachTries {
			return fmt.Errorf("perf record -p %d: the process started %d thread(s) while perf attached, %d times: not all would be sampled", pid, added, attachTries)
		}
	}
}

// threads lists the threads of process pid.
func threads(pid int) (map[string]bool, error) {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return nil, fmt.Errorf("threads of process %d: %w", pid, err)
	}
	m := make(map[string]bool, len(ents))
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m, nil
}

// attachOnce starts perf on process pid and waits until its events are
// open.
func (p *nodeProfiler) attachOnce(ctx context.Context, pid int) error {
	path, err := p.perf.Program()
	if err != nil {
		return err
	}
	if p.dir == "" {
		dir, err := os.MkdirTemp("", "benchrig-perf-")
		if err != nil {
			return fmt.Errorf("perf recording directory: %w", err)
		}
		p.dir = dir
	}
	p.pid = pid
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("perf control pipe: %w", err)
	}
	ackR, ackW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return fmt.Errorf("perf control pipe: %w", err)
	}
	defer ackR.Close()
	argv := profiling.AttachArgs(path, p.sampling, filepath.Join(p.dir, "perf.data"), pid, 3, 4)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.ExtraFiles = []*os.File{ctlR, ackW}
	cmd.Stdout, cmd.Stderr = &p.stderr, &p.stderr
	err = cmd.Start()
	ctlR.Close()
	ackW.Close()
	if err != nil {
		ctlW.Close()
		return fmt.Errorf("start perf: %w", err)
	}
	p.cmd, p.ctl, p.exited = cmd, ctlW, make(chan struct{})
	go func() {
		p.werr = cmd.Wait()
		close(p.exited)
	}()
	acked := make(chan error, 1)
	go func() {
		// perf answers commands only from its main loop, once its
		// events are open and enabled.
		if _, err := ctlW.Write([]byte("ping\n")); err != nil {
			acked <- err
			return
		}
		line, err := bufio.NewReader(ackR).ReadString('\n')
		if err == nil && line != "ack\n" {
			err = fmt.Errorf("perf answered %q", line)
		}
		acked <- err
	}()
	t := time.NewTimer(attachTimeout)
	defer t.Stop()
	var aerr error
	select {
	case aerr = <-acked:
	case <-p.exited:
		aerr = fmt.Errorf("perf exited: %v", p.werr)
	case <-t.C:
		aerr = fmt.Errorf("perf did not attach within %v", attachTimeout)
	case <-ctx.Done():
		aerr = ctx.Err()
	}
	if aerr != nil {
		p.kill()
		if msg := lastLine(p.stderr.String()); msg != "" {
			aerr = fmt.Errorf("%w: %s", aerr, msg)
		}
		return fmt.Errorf("perf record -p %d: %w", pid, aerr)
	}
	return nil
}

// stop ends the recording (SIGINT: perf writes it out) and reads it,
// with binaries looked up in the container's root while its shim lives.
func (p *nodeProfiler) stop(ctx context.Context) {
	if p.remote != nil {
		p.rec, p.err = p.remote.stop()
		p.read, p.remote = p.err == nil, nil
		return
	}
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		p.kill()
		p.err = fmt.Errorf("perf did not write its recording within %v of SIGINT", stopTimeout)
		return
	}
	p.cmd = nil
	p.ctl.Close()
	file := filepath.Join(p.dir, "perf.data")
	if _, err := os.Stat(file); err != nil {
		p.err = fmt.Errorf("%w: %s", profiling.ErrNoRecording, lastLine(p.stderr.String()))
		return
	}
	perf := p.perf
	perf.Root = "/proc/" + strconv.Itoa(p.pid) + "/root"
	p.rec, p.err = perf.Read(ctx, file)
	p.read = p.err == nil
}

// kill stops perf at once, without its recording.
func (p *nodeProfiler) kill() {
	if p.remote != nil {
		p.remote.close()
		p.remote = nil
	}
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
	p.ctl.Close()
}

// close kills perf if it still runs and removes its recording.
func (p *nodeProfiler) close() {
	p.kill()
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

// hold attaches the profiler to started container id and then releases
// the shim's command through the attach stream, whether perf attached or
// not: the trial runs either way, unprofiled if need be (p.err says why).
func (e *Executor) hold(ctx context.Context, p *nodeProfiler, id string, stream client.HijackedResponse) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
	res, err := e.cli.ContainerInspect(cctx, id, client.ContainerInspectOptions{})
	cancel()
	switch {
	case err != nil:
		p.err = fmt.Errorf("inspect container %s for its PID: %w", short(id), err)
	case res.Container.State == nil || res.Container.State.Pid <= 0:
		p.err = fmt.Errorf("container %s has no PID: not running", short(id))
	case e.cfg.Policy.Profiler:
		r, err := e.attachRemote(ctx, res.Container.State.Pid, p.sampling)
		if err == nil {
			p.remote = r
		}
		p.err = err
	default:
		p.err = p.attach(ctx, res.Container.State.Pid)
	}
	if _, err := stream.Conn.Write([]byte("\n")); err != nil {
		return e.unavailable(fmt.Sprintf("release container %s's command", short(id)), err)
	}
	return nil
}

// lastLine is s's last non-empty line, trimmed.
func lastLine(s string) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(s)), []byte("\n"))
	return string(bytes.TrimSpace(lines[len(lines)-1]))
}
