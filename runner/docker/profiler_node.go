package docker

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/profiling"
	"github.com/benchrig/benchrig/runner"
)

// ProfilerImage is the image of a node's profiler container for an engine
// of architecture arch: perf (Debian's linux-perf) and a POSIX shell with
// coreutils and sed. scripts/lab.sh builds benchrig/perf:amd64; on other
// nodes, e.g. `FROM debian:bookworm-slim` + `apt-get install linux-perf`.
func ProfilerImage(arch string) string { return "benchrig/perf:" + arch }

// labelProfiler marks a node's profiler container.
const labelProfiler = "benchrig.profiler"

// nodeProfileScript runs in the profiler container, once per profiled
// trial: profile.sh PID PERF-RECORD-OPTIONS... It does on the node what
// nodeProfiler does on this host (see attach and stop): perf record -p
// PID, a ping acknowledged through --control, starting over while PID's
// threads change; "attached" on stdout; then, on a line on stdin, perf is
// stopped, the files the trial mapped are linked into a --symfs tree
// (the container's copy under /proc/PID/root, else the host's under
// /proc/1/root, the PID namespace being the host's), and perf script's
// output follows a "--- perf script" line. An "error: ..." line ends it
// early.
//
//go:embed profile.sh
var nodeProfileScript string

// nodeProfiler is the profiler container of this executor's node, started
// at its first profiled trial and removed by Close.
func (e *Executor) nodeProfiler(ctx context.Context) (string, error) {
	e.profMu.Lock()
	defer e.profMu.Unlock()
	if e.profilerID != "" {
		return e.profilerID, nil
	}
	op := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
	}
	cctx, cancel := op()
	info, err := e.cli.Info(cctx, client.InfoOptions{})
	cancel()
	if err != nil {
		return "", e.apiErr(cctx, "info", err)
	}
	arch, _ := benchrig.NormalizeArch(info.Info.Architecture)
	image := ProfilerImage(arch)
	cctx, cancel = op()
	_, err = e.cli.ImageInspect(cctx, image)
	cancel()
	if err != nil {
		if cerrdefsIsNotFound(err) {
			return "", fmt.Errorf("node %s has no image %s for its profiler (perf; scripts/lab.sh builds it, or FROM debian:bookworm-slim and apt-get install linux-perf)", e.cfg.Node, image)
		}
		return "", e.apiErr(cctx, "inspect image "+image, err)
	}
	cfg := &container.Config{
		Image:  image,
		Cmd:    []string{"sleep", "infinity"},
		Labels: map[string]string{runner.LabelOwner: e.owner, labelProfiler: "1"},
	}
	// Not privileged (some hosts refuse a container every capability,
	// this VM among them): perf_event_open on other processes needs
	// SYS_ADMIN (PERFMON is unknown to engines like 20.10), reading
	// their /proc/PID/root SYS_PTRACE,
	// and the default seccomp profile blocks perf_event_open.
	hc := &container.HostConfig{
		PidMode:     "host",
		CapAdd:      []string{"SYS_ADMIN", "SYS_PTRACE"},
		SecurityOpt: []string{"seccomp=unconfined", "apparmor=unconfined"},
		NetworkMode: "none",
		Init:        new(bool),
	}
	cctx, cancel = op()
	created, err := e.cli.ContainerCreate(cctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc})
	cancel()
	if err != nil {
		return "", e.apiErr(cctx, "create the profiler container", err)
	}
	cctx, cancel = op()
	_, err = e.cli.ContainerStart(cctx, created.ID, client.ContainerStartOptions{})
	cancel()
	if err != nil {
		e.removeNow(created.ID)
		return "", e.apiErr(cctx, "start the profiler container", err)
	}
	e.profilerID = created.ID
	return created.ID, nil
}

// closeProfiler removes the node's profiler container, if started.
func (e *Executor) closeProfiler(ctx context.Context) error {
	e.profMu.Lock()
	id := e.profilerID
	e.profilerID = ""
	e.profMu.Unlock()
	if id == "" {
		return nil
	}
	return e.remove(ctx, id)
}

// remoteProfile is one trial's profile taken by the node's profiler
// container: the exec of nodeProfileScript, its stdout read line by line.
type remoteProfile struct {
	conn   client.HijackedResponse
	out    *bufio.Reader
	stderr syncBuffer
	done   chan error // the demultiplexer's end
}

// attachRemote starts the profile script on the node for the shim's
// (host) PID and returns once perf samples it.
func (e *Executor) attachRemote(ctx context.Context, pid int, s profiling.Sampling) (*remoteProfile, error) {
	id, err := e.nodeProfiler(ctx)
	if err != nil {
		return nil, err
	}
	argv := []string{"sh", "-c", nodeProfileScript, "profile.sh", strconv.Itoa(pid)}
	argv = append(argv, s.RecordOptions()...)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
	ex, err := e.cli.ExecCreate(cctx, id, client.ExecCreateOptions{Cmd: argv, AttachStdin: true, AttachStdout: true, AttachStderr: true})
	if err == nil {
		var att client.ExecAttachResult
		att, err = e.cli.ExecAttach(cctx, ex.ID, client.ExecAttachOptions{})
		cancel()
		if err == nil {
			r := &remoteProfile{conn: att.HijackedResponse, done: make(chan error, 1)}
			pr, pw := io.Pipe()
			go func() {
				_, err := stdcopy.StdCopy(pw, &r.stderr, att.Reader)
				pw.CloseWithError(io.EOF)
				r.done <- err
			}()
			r.out = bufio.NewReader(pr)
			return r, r.waitAttached(ctx)
		}
	} else {
		cancel()
		// The profiler container may be gone (removed, the engine
		// restarted): the next profiled trial starts another.
		e.profMu.Lock()
		if e.profilerID == id {
			e.profilerID = ""
		}
		e.profMu.Unlock()
		e.removeNow(id)
	}
	return nil, e.apiErr(cctx, "run perf in the profiler container", err)
}

// waitAttached reads the script's first line: "attached", or why not.
func (r *remoteProfile) waitAttached(ctx context.Context) error {
	line := make(chan string, 1)
	go func() {
		l, _ := r.out.ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	t := time.NewTimer(attachTimeout + 15*time.Second)
	defer t.Stop()
	select {
	case l := <-line:
		if l == "attached" {
			return nil
		}
		r.close()
		if msg, ok := strings.CutPrefix(l, "error: "); ok {
			return fmt.Errorf("the node's profiler: %s", msg)
		}
		return fmt.Errorf("the node's profiler did not attach: %q %s", l, lastLine(r.stderr.String()))
	case <-t.C:
		r.close()
		return fmt.Errorf("the node's profiler did not attach within %v", attachTimeout+15*time.Second)
	case <-ctx.Done():
		r.close()
		return ctx.Err()
	}
}

// stop tells the script to stop perf and reads the stacks it prints.
func (r *remoteProfile) stop() (profiling.Recording, error) {
	defer r.close()
	if _, err := r.conn.Conn.Write([]byte("stop\n")); err != nil {
		return profiling.Recording{}, fmt.Errorf("stop the node's profiler: %w", err)
	}
	for {
		l, err := r.out.ReadString('\n')
		if err != nil {
			return profiling.Recording{}, fmt.Errorf("the node's profiler ended without stacks: %s", lastLine(r.stderr.String()))
		}
		l = strings.TrimSpace(l)
		if l == "--- perf script" {
			break
		}
		if msg, ok := strings.CutPrefix(l, "error: "); ok {
			return profiling.Recording{}, fmt.Errorf("the node's profiler: %s", msg)
		}
	}
	rec, err := profiling.ParseScript(r.out)
	if err != nil {
		return profiling.Recording{}, err
	}
	if derr := <-r.done; derr != nil {
		return profiling.Recording{}, fmt.Errorf("read the node's profiler: %w", derr)
	}
	return rec, nil
}

// close ends the exec: its stdin closes, and the script, whatever it was
// doing, kills its perf and removes its files.
func (r *remoteProfile) close() {
	r.conn.Close()
}

// syncBuffer keeps the first 64 KiB written to it, for several
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() < 64<<10 {
		w.b.Write(p)
	}
	return len(p), nil
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
