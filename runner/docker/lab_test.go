package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/testenv"
	"github.com/benchrig/benchrig/runner"
)

// testShimDir holds the shims TestMain built for amd64 and arm64.
var testShimDir string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "benchrig-shims-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, arch := range []string{"amd64", "arm64"} {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, ShimName(arch)), "./shim")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s shim: %v\n%s", arch, err, out)
			return 1
		}
	}
	testShimDir = dir
	return m.Run()
}

// labHost returns the address in env, skipping the test when it is unset
// (failing it under CI=true: see internal/testenv).
func labHost(t *testing.T, env string) string {
	t.Helper()
	h := os.Getenv(env)
	if h == "" {
		testenv.Skip(t, env+" is unset: no Docker engine to test against (make testenv starts the test lab; make test sets it)")
	}
	return h
}

// testRunID is a benchrig.run label value unique to this test process and
// test, so that concurrent users of the lab do not disturb the checks.
func testRunID(t *testing.T) string {
	return "dockertest-" + strconv.Itoa(os.Getpid()) + "-" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
}

// labExecutor returns an executor for the engine at host; on cleanup it
// closes it and fails the test if a container of the test's run is left.
func labExecutor(t *testing.T, node, host, arch string) *Executor {
	t.Helper()
	return labExecutorWith(t, Config{Node: node, Host: host, Arch: arch})
}

// labExecutorWith is labExecutor for any configuration (the test's shims
// when it names none); on cleanup it also fails the test if a profiler
// container of the executor is left.
func labExecutorWith(t *testing.T, cfg Config) *Executor {
	t.Helper()
	if cfg.ShimDir == "" {
		cfg.ShimDir = testShimDir
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runID := testRunID(t)
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if n := countRun(t, cfg.Host, runID); n != 0 {
			t.Errorf("%d containers of run %s left on %s", n, runID, cfg.Host)
			cleanupRun(cfg.Host, runID)
		}
		if n := profilerLeft(t, cfg.Host, e); n != 0 {
			t.Errorf("%d profiler containers left after Close", n)
		}
	})
	return e
}

func rawClient(t *testing.T, host string) *client.Client {
	t.Helper()
	c, err := client.New(client.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func listRun(t *testing.T, host, runID string) []container.Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := rawClient(t, host).ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", runner.LabelRun+"="+runID)})
	if err != nil {
		t.Fatal(err)
	}
	return res.Items
}

func countRun(t *testing.T, host, runID string) int { return len(listRun(t, host, runID)) }

// waitRunning returns once a container of run runID is running on host.
// The engine's events would need a stream per test; the state is polled,
// with a deadline.
func waitRunning(t *testing.T, host, runID string) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		for _, c := range listRun(t, host, runID) {
			if c.State == container.StateRunning {
				return
			}
		}
	}
	t.Errorf("no container of run %s running on %s after 30s", runID, host)
}

func cleanupRun(host, runID string) {
	e, err := New(Config{Node: "cleanup", Host: host})
	if err != nil {
		return
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, _ = e.RemoveRun(ctx, runID)
}

func job(t *testing.T, image string, argv ...string) runner.Job {
	return runner.Job{Argv: argv, Container: &runner.Container{Image: image, Labels: map[string]string{
		runner.LabelRun: testRunID(t), runner.LabelCase: "default", runner.LabelTrial: "0", runner.LabelSpec: "test",
	}}}
}

func TestLabRun(t *testing.T) {
	host := labHost(t, "DOCKER_HOST")
	tests := []struct {
		name   string
		image  string
		argv   []string
		edit   func(*runner.Job)
		exit   int
		stdout int64
		stderr int64
		tail   string
	}{
		{name: "true", image: "benchrig/busybox:amd64", argv: []string{"true"}},
		{name: "bytes exit and tail", image: "benchrig/busybox:amd64", argv: []string{"sh", "-c", "echo hi; echo err >&2; exit 3"}, exit: 3, stdout: 3, stderr: 4, tail: "err\n"},
		{name: "stdout is a pipe", image: "benchrig/busybox:amd64", argv: []string{"sh", "-c", "test -p /proc/self/fd/1 && test -p /proc/self/fd/2"}},
		{name: "env merged over the image's, workdir", image: "benchrig/busybox:amd64", argv: []string{"sh", "-c", `test "$FOO" = bar && test -n "$PATH" && test "$(pwd)" = /tmp`},
			edit: func(j *runner.Job) { j.Env, j.Dir = []string{"FOO=bar"}, "/tmp" }},
		{name: "no network", image: "benchrig/busybox:amd64", argv: []string{"sh", "-c", `test "$(ls /sys/class/net)" = lo`}},
		{name: "resources applied", image: "benchrig/busybox:amd64", argv: []string{"sh", "-c", "test $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) = 67108864 && test \"$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)\" = 50000 && test $(cat /sys/fs/cgroup/cpuset/cpuset.cpus) = 0"},
			edit: func(j *runner.Job) { j.Container.MemoryBytes, j.Container.CPUs, j.Container.CPUSet = 64<<20, 0.5, "0" }},
		{name: "GNU grep in debian", image: "benchrig/debian:amd64", argv: []string{"sh", "-c", "seq 1 1000 | grep 1"}, stdout: 1069},
		{name: "missing program is a result", image: "benchrig/busybox:amd64", argv: []string{"no-such-program"}, exit: -1},
	}
	e := labExecutor(t, "lab1", host, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := job(t, tt.image, tt.argv...)
			j.Container.Labels[runner.LabelRun] = testRunID(t)
			if tt.edit != nil {
				tt.edit(&j)
			}
			m, err := e.Run(context.Background(), j)
			if err != nil {
				t.Fatal(err)
			}
			if m.ExitCode != tt.exit || m.StdoutBytes != tt.stdout || m.StderrBytes != tt.stderr || m.StderrTail != tt.tail {
				t.Errorf("exit %d stdout %d stderr %d tail %q error %q, want %d %d %d %q", m.ExitCode, m.StdoutBytes, m.StderrBytes, m.StderrTail, m.Error, tt.exit, tt.stdout, tt.stderr, tt.tail)
			}
			if tt.exit == -1 {
				if !strings.HasPrefix(m.Error, "start: no-such-program") {
					t.Errorf("error %q", m.Error)
				}
				return
			}
			if m.Error != "" || m.Wall <= 0 || m.Wall > time.Second || m.Source != "shim+cgroup-v1" || m.Start.IsZero() {
				t.Errorf("error %q wall %v source %q start %v", m.Error, m.Wall, m.Source, m.Start)
			}
			for _, k := range []string{"container_create_s", "container_start_s", "trial_total_s", "shim_setup_s", "container_cpu_s", "container_mem_peak_bytes"} {
				if m.Metrics[k] <= 0 {
					t.Errorf("metric %s = %v", k, m.Metrics[k])
				}
			}
			if m.Metrics["trial_total_s"] < m.Wall.Seconds() {
				t.Errorf("trial_total_s %v < wall %v", m.Metrics["trial_total_s"], m.Wall)
			}
		})
	}
}

// TestLabDigest runs a trial that asks for its stdout digest: the result
// line then carries a 64 KiB head (about 88 kB of JSON) through the attach
// stream.
func TestLabDigest(t *testing.T) {
	host := labHost(t, "DOCKER_HOST")
	e := labExecutor(t, "lab1", host, "")
	j := job(t, "benchrig/busybox:amd64", "sh", "-c", `printf '1 C\n \n'; head -c 100000 /dev/zero`)
	j.DigestStdout = true
	m, err := e.Run(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	d := m.Stdout
	if d == nil {
		t.Fatalf("no digest (error %q)", m.Error)
	}
	if d.Bytes != 100006 || m.StdoutBytes != 100006 || d.Lines != 3 || d.BlankLines != 1 || len(d.Head) != benchrig.HeadMax || string(d.Head[:6]) != "1 C\n \n" || len(d.SHA256) != 64 {
		t.Errorf("digest of %d bytes, %d lines, %d blank, a %d-byte head, sha256 %q; want 100006, 3, 1, 64 KiB", d.Bytes, d.Lines, d.BlankLines, len(d.Head), d.SHA256)
	}
}

func TestLabArm64(t *testing.T) {
	host := labHost(t, "BENCHRIG_LAB_ARM64_HOST")
	e := labExecutor(t, "lab3", host, "arm64")
	j := job(t, "benchrig/busybox:arm64", "sh", "-c", `uname -m; test "$(uname -m)" = aarch64`)
	j.Container.Platform = "linux/arm64"
	m, err := e.Run(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	if m.ExitCode != 0 || m.StdoutBytes != int64(len("aarch64\n")) || m.Error != "" {
		t.Errorf("exit %d stdout %d bytes error %q, want aarch64", m.ExitCode, m.StdoutBytes, m.Error)
	}
}

func TestLabFacts(t *testing.T) {
	tests := []struct {
		name, node, env, arch string
		wantArch              string
		declared              bool
	}{
		{name: "amd64", node: "lab1", env: "DOCKER_HOST", wantArch: "amd64"},
		{name: "emulated arm64", node: "lab3", env: "BENCHRIG_LAB_ARM64_HOST", arch: "arm64", wantArch: "arm64", declared: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := labHost(t, tt.env)
			e := labExecutor(t, tt.node, host, tt.arch)
			f, err := e.Facts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if f.Arch != tt.wantArch || f.ArchDeclared != tt.declared || f.EngineArch != "amd64" {
				t.Errorf("arch %q declared %v engine %q", f.Arch, f.ArchDeclared, f.EngineArch)
			}
			if f.Name != tt.node || f.Host != host || f.OS != "linux" || f.Kernel == "" || f.CPUs < 1 || f.MemoryBytes <= 0 ||
				f.EngineVersion == "" || f.APIVersion == "" || len(f.Runtimes) == 0 || f.Hostname == "" || f.Latency <= 0 {
				t.Errorf("facts %+v", f)
			}
		})
	}
}

func TestLabTimeout(t *testing.T) {
	e := labExecutor(t, "lab1", labHost(t, "DOCKER_HOST"), "")
	j := job(t, "benchrig/busybox:amd64", "sh", "-c", "sleep 30 & sleep 30")
	j.Timeout = 500 * time.Millisecond
	t0 := time.Now()
	m, err := e.Run(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	if m.Error != "timeout" || m.ExitCode != -1 || m.Wall < j.Timeout || m.Wall > j.Timeout+time.Second || time.Since(t0) > 5*time.Second {
		t.Errorf("error %q exit %d wall %v, call took %v", m.Error, m.ExitCode, m.Wall, time.Since(t0))
	}
}

func TestLabCancel(t *testing.T) {
	host := labHost(t, "DOCKER_HOST")
	e := labExecutor(t, "lab1", host, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelledAt := make(chan time.Time, 1)
	go func() {
		defer func() { cancelledAt <- time.Now(); cancel() }() // even if listing fails
		waitRunning(t, host, testRunID(t))                     // cancelled while the command runs
	}()
	m, err := e.Run(ctx, job(t, "benchrig/busybox:amd64", "sleep", "30"))
	took := time.Since(<-cancelledAt)
	if err != nil {
		t.Fatal(err)
	}
	if m.Error != "cancelled" || m.ExitCode != -1 || took > 5*time.Second {
		t.Errorf("error %q exit %d, took %v", m.Error, m.ExitCode, took)
	}
	if n := countRun(t, host, testRunID(t)); n != 0 {
		t.Errorf("%d containers left right after the cancelled Run returned", n)
	}
}

func TestLabLabels(t *testing.T) {
	host := labHost(t, "DOCKER_HOST")
	e := labExecutor(t, "lab1", host, "")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := e.Run(context.Background(), job(t, "benchrig/busybox:amd64", "sleep", "2")); err != nil {
			t.Error(err)
		}
	}()
	defer wg.Wait()
	var found []container.Summary
	for end := time.Now().Add(5 * time.Second); len(found) == 0 && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		found = listRun(t, host, testRunID(t))
	}
	if len(found) != 1 {
		t.Fatalf("%d containers of the run while it ran, want 1", len(found))
	}
	want := map[string]string{runner.LabelRun: testRunID(t), runner.LabelCase: "default", runner.LabelTrial: "0", runner.LabelSpec: "test", runner.LabelOwner: DefaultOwner()}
	for k, v := range want {
		if got := found[0].Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
}

func TestLabMissingImage(t *testing.T) {
	tests := []struct{ name, node, env, arch, image, platform string }{
		{name: "amd64", node: "lab1", env: "DOCKER_HOST", image: "benchrig/nonexistent:amd64"},
		{name: "arm64", node: "lab3", env: "BENCHRIG_LAB_ARM64_HOST", arch: "arm64", image: "benchrig/nonexistent:arm64", platform: "linux/arm64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := labExecutor(t, tt.node, labHost(t, tt.env), tt.arch)
			j := job(t, tt.image, "true")
			j.Container.Platform = tt.platform
			_, err := e.Run(context.Background(), j)
			want := fmt.Sprintf("node %s: image %s not found (no registry: load it with docker load)", tt.node, tt.image)
			if benchrig.ErrorCode(err) != benchrig.EInvalid || err.Error() != want {
				t.Errorf("err = %v (code %s), want EInvalid %q", err, benchrig.ErrorCode(err), want)
			}
		})
	}
}

func TestLabReap(t *testing.T) {
	host := labHost(t, "DOCKER_HOST")
	e := labExecutor(t, "lab1", host, "")
	cli := rawClient(t, host)
	ctx := context.Background()
	hostname, _ := os.Hostname()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	owners := map[string]bool{ // owner -> should be reaped
		hostname + "/" + strconv.Itoa(dead.Process.Pid) + "/1": true,
		DefaultOwner(): false,
		"another-host/" + strconv.Itoa(dead.Process.Pid) + "/1": false,
	}
	ids := map[string]bool{}
	for owner, reap := range owners {
		res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config:     &container.Config{Image: "benchrig/busybox:amd64", Cmd: []string{"true"}, Labels: map[string]string{runner.LabelRun: testRunID(t), runner.LabelOwner: owner}},
			HostConfig: &container.HostConfig{NetworkMode: "none"},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids[res.ID] = reap
	}
	n, err := e.Reap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Errorf("reaped %d, want at least the dead owner's container", n)
	}
	left := map[string]bool{}
	for _, c := range listRun(t, host, testRunID(t)) {
		left[c.ID] = true
	}
	for id, reap := range ids {
		if left[id] == reap {
			t.Errorf("container %s with owner-reapable=%v: still there=%v", short(id), reap, left[id])
		}
	}
	removed, err := e.RemoveRun(ctx, testRunID(t))
	if err != nil || removed != 2 {
		t.Errorf("RemoveRun removed %d (%v), want the 2 live owners' containers", removed, err)
	}
}

// TestNodeUnreachable: nothing listens at the address.
func TestNodeUnreachable(t *testing.T) {
	e, err := New(Config{Node: "gone", Host: "tcp://127.0.0.1:1", ShimDir: testShimDir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	t0 := time.Now()
	_, ferr := e.Facts(ctx)
	m, rerr := e.Run(ctx, job(t, "benchrig/busybox:amd64", "true"))
	for _, err := range []error{ferr, rerr} {
		var be *benchrig.Error
		if !errors.As(err, &be) || be.Code != benchrig.EUnavailable || !be.Retryable || !strings.HasPrefix(be.Msg, "node gone (tcp://127.0.0.1:1): ") {
			t.Errorf("err = %v, want a retryable EUnavailable naming the node", err)
		}
	}
	if m.Wall != 0 || m.Metrics != nil {
		t.Errorf("measurement %+v, want zero", m)
	}
	if took := time.Since(t0); took > 8*time.Second {
		t.Errorf("took %v", took)
	}
}

// TestNodeLostMidTrial talks to the lab engine through a proxy that is cut
// while the command runs: the node is lost, not the command failed.
func TestNodeLostMidTrial(t *testing.T) {
	host := labHost(t, "DOCKER_HOST")
	target := strings.TrimPrefix(host, "tcp://")
	if target == host {
		testenv.Skipf(t, "DOCKER_HOST %s is not tcp: the test cuts a tcp proxy", host)
	}
	p := newProxy(t, target)
	e, err := New(Config{Node: "lab1-proxied", Host: "tcp://" + p.addr(), ShimDir: testShimDir})
	if err != nil {
		t.Fatal(err)
	}
	runID := testRunID(t)
	t.Cleanup(func() {
		e.Close()
		cleanupRun(host, runID)
		if n := countRun(t, host, runID); n != 0 {
			t.Errorf("%d containers left", n)
		}
	})
	cutAt := make(chan time.Time, 1)
	go func() {
		defer func() { cutAt <- time.Now(); p.cut() }() // even if listing fails
		waitRunning(t, host, runID)                     // cut while the command runs
	}()
	m, err := e.Run(context.Background(), job(t, "benchrig/busybox:amd64", "sleep", "30"))
	var be *benchrig.Error
	if !errors.As(err, &be) || be.Code != benchrig.EUnavailable || !be.Retryable {
		t.Errorf("err = %v, measurement %+v: want a retryable EUnavailable", err, m)
	}
	if took := time.Since(<-cutAt); took > 4*time.Second {
		t.Errorf("took %v: the loss should be noticed at once (RST)", took)
	}
}

// proxy forwards a local port to an engine until cut, counting in what
// the client sends each of the strings given to newProxy (request lines).
type proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	counts map[string]*atomic.Int64
}

func newProxy(t *testing.T, target string, count ...string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, counts: map[string]*atomic.Int64{}}
	for _, s := range count {
		p.counts[s] = new(atomic.Int64)
	}
	t.Cleanup(p.cut)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(counter{u, p.counts}, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

// counter counts strings in what passes through it (a string split
// across two writes is missed: request lines come whole here).
type counter struct {
	w      io.Writer
	counts map[string]*atomic.Int64
}

func (c counter) Write(b []byte) (int, error) {
	for s, n := range c.counts {
		n.Add(int64(bytes.Count(b, []byte(s))))
	}
	return c.w.Write(b)
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // RST, as a dying engine's kernel would send
		}
		c.Close()
	}
}

// TestLabShimVolumeGone: the node's shim volume vanished after the
// executor filled it (engine reset, volume prune); the next trial fills it
// again instead of failing.
func TestLabShimVolumeGone(t *testing.T) {
	host := labHost(t, "DOCKER_HOST")
	e := labExecutor(t, "lab1", host, "")
	ctx := context.Background()
	if m, err := e.Run(ctx, job(t, "benchrig/busybox:amd64", "true")); err != nil || m.ExitCode != 0 {
		t.Fatalf("first run: %v %+v", err, m)
	}
	e.removals.Wait()
	s, err := e.shim("amd64")
	if err != nil {
		t.Fatal(err)
	}
	// Another process may hold it; then this test proves less, not more.
	_, _ = rawClient(t, host).VolumeRemove(ctx, shimVolumeName(s), client.VolumeRemoveOptions{Force: true})
	if m, err := e.Run(ctx, job(t, "benchrig/busybox:amd64", "true")); err != nil || m.ExitCode != 0 {
		t.Fatalf("run after the volume went: %v %+v", err, m)
	}
}

// TestLabOrphans: the shim, as the container's PID 1, waits a bounded time
// for orphans holding the output pipes, counts what is left and kills it.
func TestLabOrphans(t *testing.T) {
	e := labExecutor(t, "lab1", labHost(t, "DOCKER_HOST"), "")
	tests := []struct {
		name    string
		script  string
		maxCall time.Duration
	}{
		{name: "orphan holding stdout", script: "sleep 30 & echo started", maxCall: 5 * time.Second},
		{name: "orphan with its own output", script: "sleep 30 >/dev/null 2>&1 </dev/null & echo started", maxCall: 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Now()
			m, err := e.Run(context.Background(), job(t, "benchrig/busybox:amd64", "sh", "-c", tt.script))
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(t0); m.ExitCode != 0 || m.Error != "" || m.StdoutBytes != 8 || m.Metrics["leftover_processes"] != 1 || took > tt.maxCall || m.Wall > time.Second {
				t.Errorf("exit %d error %q stdout %d leftover %v wall %v, call took %v", m.ExitCode, m.Error, m.StdoutBytes, m.Metrics["leftover_processes"], m.Wall, took)
			}
		})
	}
}

// TestLabMaxRSS: a trial's max_rss is its own or unavailable, never the
// shim's: `true` stays below the shim's peak (which vfork folds into its
// rusage) and is 0; dd with a 64 MiB buffer is its own figure, above it.
func TestLabMaxRSS(t *testing.T) {
	host := labHost(t, "DOCKER_HOST")
	e := labExecutor(t, "lab1", host, "")
	for _, tc := range []struct {
		name    string
		argv    []string
		atLeast int64 // 0: want 0 (unavailable)
	}{
		{"true is below the shim", []string{"true"}, 0},
		{"dd 64 MiB buffer", []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"}, 64 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := job(t, "benchrig/busybox:amd64", tc.argv...)
			j.Container.Labels[runner.LabelRun] = testRunID(t)
			m, err := e.Run(context.Background(), j)
			if err != nil {
				t.Fatal(err)
			}
			shim, raw := int64(m.Metrics["shim_maxrss_bytes"]), int64(m.Metrics["rusage_maxrss_bytes"])
			if m.ExitCode != 0 || shim <= 0 || raw <= 0 {
				t.Fatalf("exit %d error %q shim_maxrss %d rusage_maxrss %d", m.ExitCode, m.Error, shim, raw)
			}
			t.Logf("max_rss %d, rusage %d, shim %d, container peak %.0f", m.MaxRSS, raw, shim, m.Metrics["container_mem_peak_bytes"])
			if tc.atLeast == 0 && (m.MaxRSS != 0 || raw > shim) {
				t.Errorf("MaxRSS %d (rusage %d, shim %d): want 0, the figure is the shim's", m.MaxRSS, raw, shim)
			}
			if tc.atLeast > 0 && (m.MaxRSS < tc.atLeast || m.MaxRSS != raw) {
				t.Errorf("MaxRSS %d (rusage %d, shim %d): want the trial's own, at least %d", m.MaxRSS, raw, shim, tc.atLeast)
			}
		})
	}
}
