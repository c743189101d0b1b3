package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/blkiodev"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
	"github.com/benchrig/benchrig/runner/docker/internal/shimrun"
)

// Check refuses, before anything runs, what this executor cannot honour
// or this node's policy forbids. It does no I/O and may be called from
// several goroutines at once.
func (e *Executor) Check(job runner.Job) error {
	c := job.Container
	if c == nil {
		return e.invalid("the docker executor needs a container job (an image), got a plain command")
	}
	if len(job.Argv) == 0 {
		return e.invalid("job has no command")
	}
	if c.Image == "" {
		return e.invalid("job has no image")
	}
	if job.DropCaches {
		return e.invalid("the docker executor cannot drop a node's page cache (cache: cold needs the local executor)")
	}
	if job.ReadBPS < 0 {
		return e.invalid("read cap of %d bytes/s: must be positive", job.ReadBPS)
	}
	if job.ReadBPS > 0 && !strings.HasPrefix(job.ReadDevice, "/dev/") {
		return e.invalid("a read cap in a container needs the device node on the node's host (read_device: /dev/sdX), not %q", job.ReadDevice)
	}
	if c.CPUs < 0 || c.MemoryBytes < 0 {
		return e.invalid("negative cpu or memory limit")
	}
	if c.Platform != "" {
		if os, arch, _ := strings.Cut(c.Platform, "/"); os != "linux" || arch == "" {
			return e.invalid("platform %q: want linux/ARCH", c.Platform)
		}
	}
	// The pool's policy, as the runner checked the spec before the run,
	// now with each mount's real path.
	ask := benchrig.HostAccess{Privileged: c.Privileged, Network: c.Network, Devices: c.Devices}
	for _, m := range c.Mounts {
		ask.Mounts = append(ask.Mounts, benchrig.Mount{Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	if errs := e.cfg.Policy.Check(e.cfg.Pool, e.cfg.Node, ask); errs != nil {
		return errs.Err()
	}
	for _, m := range c.Mounts {
		if !strings.HasPrefix(m.Source, "/") || !strings.HasPrefix(m.Target, "/") {
			return e.invalid("mount %s:%s: source and target must be absolute paths", m.Source, m.Target)
		}
		if m.Target == shimDir || strings.HasPrefix(m.Target, shimDir+"/") {
			return e.invalid("mount target %s: %s is the timing shim's", m.Target, shimDir)
		}
	}
	for _, d := range c.Devices {
		if _, err := deviceMapping(d); err != nil {
			return e.invalid("%v", err)
		}
	}
	return nil
}

func deviceMapping(d string) (container.DeviceMapping, error) {
	host, ctr, ok := strings.Cut(d, ":")
	if !ok {
		ctr = host
	}
	if !strings.HasPrefix(host, "/dev/") || !strings.HasPrefix(ctr, "/dev/") {
		return container.DeviceMapping{}, fmt.Errorf("device %q: want /dev/x or /dev/x:/dev/y", d)
	}
	return container.DeviceMapping{PathOnHost: host, PathInContainer: ctr, CgroupPermissions: "rwm"}, nil
}

// Run creates a container for job, starts it with the timing shim as its
// entrypoint, waits, reads the shim's result and returns it; the container
// is removed in the background (see the package comment). It may be called
// from several goroutines at once.
//
// Metrics beyond the shim's: container_create_s, shim_copy_s (copy mode),
// removal_wait_s (waiting, before the start, for the removal of this
// executor's previous containers, so that none overlaps the command),
// container_start_s (the start API call), container_run_s (start call
// returned to the shim's result read: the shim of a short command is often
// done before the start call returns), trial_total_s (create call to
// result), shim_setup_s (the shim's main to the child's start, in the
// container), shim_start_delay_s (start call to the shim's main: compares
// the node's clock with ours, so it is exact only for engines on this
// host), and from the container's cgroup container_cpu_s,
// container_user_s, container_sys_s, container_mem_peak_bytes, pids_peak,
// cpu_throttled_ns (these include the shim itself: a few ms and MB).
// User, Sys and MaxRSS are rusage of the command's tree (the shim reaps
// orphans as PID 1), not the container's; MaxRSS is 0 (unavailable) when
// it is at or below the shim's own peak, which may be the shim's memory
// (runner.OwnMaxRSS): rusage_maxrss_bytes keeps the raw figure.
func (e *Executor) Run(ctx context.Context, job runner.Job) (benchrig.Measurement, error) {
	return e.run(ctx, job, nil)
}

// run is Run, with the trial profiled by np when it is not nil (see
// RunProfiled).
func (e *Executor) run(ctx context.Context, job runner.Job, np *nodeProfiler) (benchrig.Measurement, error) {
	if err := e.Check(job); err != nil {
		return benchrig.Measurement{}, err
	}
	cancelled := benchrig.Measurement{Start: time.Now().Round(0), ExitCode: -1, Error: "cancelled"}
	if ctx.Err() != nil {
		return cancelled, nil
	}
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return benchrig.Measurement{}, &benchrig.Error{Code: benchrig.EInternal, Msg: fmt.Sprintf("node %s: executor is closed", e.cfg.Node)}
	}
	e.mu.Lock()
	e.inflight++
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.inflight--
		e.mu.Unlock()
	}()
	c := job.Container
	// API calls run on a context that our caller's cancellation does not
	// cut: a create cut short may still make a container whose ID we never
	// learn. Cancellation is checked between the calls instead.
	op := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
	}

	var platform *ocispec.Platform
	if c.Platform != "" {
		_, arch, _ := strings.Cut(c.Platform, "/")
		platform = &ocispec.Platform{OS: "linux", Architecture: arch}
	}
	arch, err := e.imageArch(ctx, c.Image, platform)
	if err != nil {
		return benchrig.Measurement{}, err
	}
	s, err := e.shim(arch)
	if err != nil {
		return benchrig.Measurement{}, err
	}
	metrics := map[string]float64{}
	var id string
	var t0, tStart, tStarted time.Time
	var stream client.HijackedResponse
	for attempt := 0; ; attempt++ {
		var vol string
		if e.mode == shimVolume {
			if vol, err = e.shimVolume(ctx, s, c.Image, platform); err != nil {
				return benchrig.Measurement{}, err
			}
		}
		if ctx.Err() != nil {
			return cancelled, nil
		}
		cfg, hc := e.containerConfig(job, vol, np != nil)
		t0 = time.Now()
		cctx, cancel := op()
		created, err := e.cli.ContainerCreate(cctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc, Platform: platform})
		cancel()
		if err != nil {
			if cerrdefsIsNotFound(err) {
				// The image may have gone since it was inspected.
				e.mu.Lock()
				delete(e.imageArchs, c.Image)
				e.mu.Unlock()
			}
			return benchrig.Measurement{}, e.apiErr(cctx, fmt.Sprintf("create container from image %s", c.Image), err)
		}
		id = created.ID
		metrics["container_create_s"] = time.Since(t0).Seconds()
		if e.mode == shimCopy {
			t := time.Now()
			cctx, cancel := op()
			err := e.copyShim(cctx, id, s)
			cancel()
			if err != nil {
				e.removeNow(id)
				return benchrig.Measurement{}, e.apiErr(cctx, "container "+short(id), err)
			}
			metrics["shim_copy_s"] = time.Since(t).Seconds()
		}
		// Attached before the start, the stream carries the shim's line
		// the moment it is printed: no wait for the engine to notice the
		// exit (tens of ms) and no logs call after it.
		cctx, cancel = op()
		att, err := e.cli.ContainerAttach(cctx, id, client.ContainerAttachOptions{Stream: true, Stdin: np != nil, Stdout: true, Stderr: true})
		cancel()
		if err != nil {
			e.removeNow(id)
			return benchrig.Measurement{}, e.apiErr(cctx, "attach to container "+short(id), err)
		}
		stream = att.HijackedResponse
		if w := e.waitRemovals(ctx); w > 0 {
			metrics["removal_wait_s"] = w.Seconds()
		}
		if ctx.Err() != nil {
			stream.Close()
			e.removeNow(id)
			return cancelled, nil
		}

		tStart = time.Now()
		cctx, cancel = op()
		_, err = e.cli.ContainerStart(cctx, id, client.ContainerStartOptions{})
		cancel()
		if err != nil {
			stream.Close()
			lost := e.mode == shimVolume && attempt == 0 && !isTransport(err) && e.shimMissing(id)
			e.removeNow(id)
			if lost {
				// The node's shim volume may be gone (engine reset,
				// volume prune) and back empty, made by the mount
				// itself: fill it again, once.
				e.forgetVolume(s.arch)
				continue
			}
			return benchrig.Measurement{}, e.apiErr(cctx, fmt.Sprintf("start container %s (image %s)", short(id), c.Image), err)
		}
		tStarted = time.Now()
		metrics["container_start_s"] = tStarted.Sub(tStart).Seconds()
		break
	}
	// From here on every way out removes the container.
	fail := func(err error) (benchrig.Measurement, error) {
		e.removeNow(id)
		return benchrig.Measurement{}, err
	}

	defer stream.Close()
	got := readStream(stream.Reader)
	if np != nil {
		// Whatever ends the trial, perf goes, and the shim's stdin
		// closes so that it exits.
		defer np.kill()
		defer stream.CloseWrite()
		if err := e.hold(ctx, np, id, stream); err != nil {
			return fail(err)
		}
	}
	var backstop <-chan time.Time
	if job.Timeout > 0 {
		t := time.NewTimer(job.Timeout + killGrace)
		defer t.Stop()
		backstop = t.C
	}
	killedByUs := false
	var line []byte
	select {
	case line = <-got.line:
	case <-got.done:
		// The line, when there is one, was sent before done closed: select
		// may still have picked this case, and the line is the result.
		select {
		case line = <-got.line:
		default:
		}
		if line == nil && got.err != nil && isTransport(got.err) {
			return fail(e.unavailable(fmt.Sprintf("read from container %s", short(id)), got.err))
		}
	case <-ctx.Done():
		e.removeNow(id) // force removal kills it
		return cancelled, nil
	case <-backstop:
		// The shim kills the command at Timeout and prints; it did not,
		// so the container goes.
		killedByUs = true
		kctx, cancel := op()
		_, err := e.cli.ContainerKill(kctx, id, client.ContainerKillOptions{Signal: "KILL"})
		cancel()
		if err != nil && isTransport(err) {
			return fail(e.unavailable(fmt.Sprintf("kill container %s", short(id)), err))
		}
	}
	tRead := time.Now()
	metrics["container_run_s"] = tRead.Sub(tStarted).Seconds()
	metrics["trial_total_s"] = tRead.Sub(t0).Seconds()
	if np != nil {
		if line != nil && np.err == nil {
			np.stop(ctx)
		}
		np.kill()
		// The held shim exits once its stdin closes.
		_ = stream.CloseWrite()
	}

	r, perr := shimrun.Parse(line)
	if perr != nil {
		// No line on the stream: the shim died (OOM, killed) or the
		// stream broke. The exit status and the logs tell which.
		status, stdout, stderr, err := e.exitAndLogs(ctx, id)
		if err != nil {
			return fail(err)
		}
		if r, perr = shimrun.Parse(stdout); perr != nil {
			e.removeLater(id)
			if killedByUs {
				return benchrig.Measurement{Start: tStarted.Round(0), ExitCode: -1, Error: "timeout", Source: "shim", Metrics: metrics}, nil
			}
			return benchrig.Measurement{}, &benchrig.Error{Code: benchrig.EInternal,
				Msg: fmt.Sprintf("node %s: container %s (image %s, %s shim) exited with status %d without a shim result: %s",
					e.cfg.Node, short(id), c.Image, arch, status, strings.TrimSpace(tailString(stderr, 512))), Err: perr}
		}
	}
	e.removeLater(id)
	m := measurement(r, metrics)
	if d := time.Unix(0, r.ShimStart).Sub(tStart); r.ShimStart > 0 {
		metrics["shim_start_delay_s"] = d.Seconds()
	}
	if job.ReadBPS > 0 {
		metrics["read_bps_cap"] = float64(job.ReadBPS)
	}
	return m, nil
}

// exitAndLogs waits (bounded) for the container to stop and reads its
// output from the logs.
func (e *Executor) exitAndLogs(ctx context.Context, id string) (int64, []byte, []byte, error) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	// "not-running": a container that already exited answers at once.
	wait := e.cli.ContainerWait(wctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	var status int64 = -1
	select {
	case res := <-wait.Result:
		status = res.StatusCode
	case err := <-wait.Error:
		if isTransport(err) && !errors.Is(err, context.DeadlineExceeded) {
			return 0, nil, nil, e.unavailable(fmt.Sprintf("wait for container %s", short(id)), err)
		}
	}
	stdout, stderr, err := e.logs(wctx, id)
	if err != nil {
		return 0, nil, nil, e.apiErr(wctx, fmt.Sprintf("read the logs of container %s", short(id)), err)
	}
	return status, stdout, stderr, nil
}

// streamResult is the shim's first line on an attach stream.
type streamResult struct {
	line chan []byte   // the first complete stdout line, once
	done chan struct{} // closed when the stream ends; err is then set
	err  error
}

// readStream demultiplexes an attach stream in the background, handing
// over the first stdout line as soon as it is complete.
func readStream(r io.Reader) *streamResult {
	s := &streamResult{line: make(chan []byte, 1), done: make(chan struct{})}
	w := &lineWriter{ch: s.line}
	go func() {
		_, err := stdcopy.StdCopy(w, io.Discard, r)
		s.err = err
		close(s.done)
	}()
	return s
}

// lineWriter collects stdout and sends the first complete line.
type lineWriter struct {
	buf  []byte
	sent bool
	ch   chan<- []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	if w.sent {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
		w.sent = true
		w.ch <- w.buf[:i+1]
	}
	return len(p), nil
}

// measurement turns the shim's result into a Measurement.
func measurement(r shimrun.Result, metrics map[string]float64) benchrig.Measurement {
	m := benchrig.Measurement{
		Wall:        time.Duration(r.Wall),
		User:        time.Duration(r.User),
		Sys:         time.Duration(r.Sys),
		MaxRSS:      runner.OwnMaxRSS(r.MaxRSS, r.ShimMaxRSS),
		ExitCode:    r.ExitCode,
		StdoutBytes: r.StdoutBytes,
		StderrBytes: r.StderrBytes,
		StderrTail:  r.StderrTail,
		Stdout:      r.Stdout,
		Error:       r.Error,
		Source:      "shim",
		Metrics:     metrics,
	}
	if r.StartUnix > 0 {
		m.Start = time.Unix(0, r.StartUnix)
	}
	metrics["rusage_user_ns"] = float64(r.User)
	metrics["rusage_sys_ns"] = float64(r.Sys)
	metrics["rusage_maxrss_bytes"] = float64(r.MaxRSS)
	metrics["shim_maxrss_bytes"] = float64(r.ShimMaxRSS)
	metrics["shim_setup_s"] = time.Duration(r.Setup).Seconds()
	if r.Held > 0 {
		metrics["shim_held_s"] = time.Duration(r.Held).Seconds()
	}
	if r.Leftover >= 0 && (r.Error == "" || strings.HasPrefix(r.Error, "signal: ")) {
		metrics["leftover_processes"] = float64(r.Leftover)
	}
	if cg := r.Cgroup; cg != nil {
		m.Source = "shim+cgroup-v" + strconv.Itoa(cg.Version)
		set := func(k string, v int64) {
			if v >= 0 {
				metrics[k] = float64(v)
			}
		}
		seconds := func(k string, ns int64) {
			if ns >= 0 {
				metrics[k] = time.Duration(ns).Seconds()
			}
		}
		seconds("container_cpu_s", cg.CPU)
		seconds("container_user_s", cg.User)
		seconds("container_sys_s", cg.Sys)
		set("cpu_throttled_ns", cg.Throttled)
		set("container_mem_peak_bytes", cg.MemPeak)
		set("pids_peak", cg.PidsPeak)
	}
	if n := r.Noise; n != nil {
		noise := benchrig.Noise{Window: time.Duration(n.Window), CPUs: n.CPUs, OtherCPU: time.Duration(n.Other),
			Steal: time.Duration(n.Steal), Resolution: time.Duration(n.Resolution)}.Judge()
		m.Noise = &noise
	}
	return m
}

// containerConfig builds the trial container's configuration.
// hold starts the shim held (see RunProfiled), with stdin open to the
// attach stream.
func (e *Executor) containerConfig(job runner.Job, vol string, hold bool) (*container.Config, *container.HostConfig) {
	c := job.Container
	cmd := []string{}
	if hold {
		cmd = append(cmd, "-hold")
	}
	if job.Timeout > 0 {
		cmd = append(cmd, "-timeout", job.Timeout.String())
	}
	if job.DigestStdout {
		cmd = append(cmd, "-digest")
	}
	cmd = append(cmd, "--")
	cmd = append(cmd, job.Argv...)
	labels := make(map[string]string, len(c.Labels)+1)
	for k, v := range c.Labels {
		labels[k] = v
	}
	labels[runner.LabelOwner] = e.owner
	cfg := &container.Config{
		Image:       c.Image,
		Entrypoint:  []string{shimPath},
		Cmd:         cmd,
		Env:         job.Env,
		WorkingDir:  job.Dir,
		Labels:      labels,
		OpenStdin:   hold,
		StdinOnce:   hold,
		AttachStdin: hold,
	}
	network := c.Network
	if network == "" {
		network = "none"
	}
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(network),
		Privileged:  c.Privileged,
		// The shim's result comes back through the attach stream, and
		// the logs when that fails.
		LogConfig: container.LogConfig{Type: "json-file"},
		// The shim must be PID 1, to reap and count orphans: never an
		// init the daemon's configuration (init: true) would add.
		Init: new(bool),
	}
	hc.NanoCPUs = int64(c.CPUs * 1e9)
	hc.CpusetCpus = c.CPUSet
	hc.Memory = c.MemoryBytes
	if job.ReadBPS > 0 {
		hc.BlkioDeviceReadBps = []*blkiodev.ThrottleDevice{{Path: job.ReadDevice, Rate: uint64(job.ReadBPS)}}
	}
	for _, d := range c.Devices {
		dm, _ := deviceMapping(d) // Check validated
		hc.Devices = append(hc.Devices, dm)
	}
	if c.GPUs > 0 {
		// docker run --gpus N: the engine's GPU driver (the NVIDIA
		// container toolkit) picks N of the node's GPUs.
		hc.DeviceRequests = append(hc.DeviceRequests, container.DeviceRequest{Count: c.GPUs, Capabilities: [][]string{{"gpu"}}})
	}
	for _, m := range c.Mounts {
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	if vol != "" {
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Source: vol, Target: shimDir, ReadOnly: true, VolumeOptions: &mount.VolumeOptions{NoCopy: true}})
	}
	return cfg, hc
}

// imageArch returns the architecture the container will run as: the
// job's platform, else the image's own (asked once per image). A missing
// image is EInvalid: the executor never pulls.
func (e *Executor) imageArch(ctx context.Context, image string, platform *ocispec.Platform) (string, error) {
	e.mu.Lock()
	arch, ok := e.imageArchs[image]
	e.mu.Unlock()
	if !ok {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
		defer cancel()
		res, err := e.cli.ImageInspect(cctx, image)
		if err != nil {
			if isTransport(err) {
				return "", e.apiErr(cctx, "inspect image "+image, err)
			}
			if cerrdefsIsNotFound(err) {
				return "", e.invalid("image %s not found (no registry: load it with docker load)", image)
			}
			return "", e.apiErr(cctx, "inspect image "+image, err)
		}
		arch, _ = normalizeArch(res.Architecture)
		e.mu.Lock()
		e.imageArchs[image] = arch
		e.mu.Unlock()
	}
	if platform != nil {
		want, _ := normalizeArch(platform.Architecture)
		if arch != "" && arch != want {
			return "", e.invalid("image %s is for %s, not %s (load the %s image, or map it in the spec's images)", image, arch, want, want)
		}
		return want, nil
	}
	if arch == "" {
		return "", e.invalid("image %s does not say its architecture", image)
	}
	return arch, nil
}

// logs reads the container's stdout and stderr.
func (e *Executor) logs(ctx context.Context, id string) (stdout, stderr []byte, err error) {
	rc, err := e.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	var out, errb bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errb, rc); err != nil && err != io.EOF {
		return nil, nil, err
	}
	return out.Bytes(), errb.Bytes(), nil
}

func tailString(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
