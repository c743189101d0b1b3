// Package docker owns the Docker executor: it runs each trial's command in
// a fresh container on one Docker engine (a "node", local or remote) and
// measures the command, not the container.
//
// # Timing
//
// A container's creation and start cost a quarter of a second or more on a
// small machine, far more than many commands. So the container's
// entrypoint is a small static timing shim (runner/docker/shim), run as
// /.benchrig/shim [flags] -- argv...: it takes the monotonic time just
// before it starts the command and just after wait, rusage of the child
// tree (as PID 1 it reaps orphans too), counts the bytes of real stdout and
// stderr pipes (never /dev/null: GNU grep stops at the first match then),
// keeps the stderr tail, enforces the timeout by killing the process
// group, reads the container's cgroup figures (v1 or v2) at the end, and
// prints one JSON object as its only output. The executor measures the
// container overhead separately (container_create_s, container_start_s,
// trial_total_s...) and records it in Metrics.
//
// # Getting the shim in
//
// Nodes may be remote engines, so a bind mount of the host's shim file is
// out. Two ways work everywhere: copying it into each created container
// (CopyToContainer of a ~2 MB tar per trial), or a named volume per node
// and architecture, benchrig-shim-<arch>-<sha256 prefix>, filled once
// (through a created, never started helper container) and then mounted
// read-only at /.benchrig in every trial: no extra API call and no upload
// per trial. The volume is the default; bench_test.go measures both (the
// copy costs 60-90 ms more per trial on the test lab). The volume is
// shared by every executor and benchrig process using the node, so it is
// filled only when it lacks the shim, by one of them (see shimVolume): a
// fill replaces the name "shim", and a trial starting meanwhile would not
// find it. A volume that vanished (engine reset, volume prune) shows as a
// failed start and is filled again once. The file is written under its
// hash and then hard-linked to "shim" in the same tar, so a concurrent
// benchrig never sees it half written.
//
// # Reading the result
//
// The executor attaches to the container's output before starting it, and
// takes the shim's line from that stream the moment it is printed: the
// result is in hand about when the start call returns (the shim of `true`
// is done by then), instead of tens of milliseconds later when the engine
// has noticed the exit and a logs call (or CopyFromContainer, which also
// needs the shim to write a file, failing on a read-only root filesystem,
// and a tar to unpack) can fetch it. Only when the stream ends without a
// line (the shim was OOM-killed, the stream broke) does the executor wait
// for the exit and read the logs; the json-file log driver is set on every
// container so that this works whatever the daemon's default driver.
//
// # Errors
//
// A command that fails, times out or is killed is a result. An engine that
// cannot be reached, or goes away before the measurement is complete, is a
// *benchrig.Error with code EUnavailable and Retryable set, so the runner
// can move the trial to another node. Bad input for this node (a missing
// image, a mount the engine refuses) is EInvalid; the executor never pulls.
//
// # Cleanup
//
// Every container carries the job's labels and benchrig.owner
// ("hostname/pid/start"). Removal after a trial is asynchronous, off the
// trial's critical path, but the next trial of this executor does not start
// its container until the removals already pending are done (so, with one
// trial at a time on the node, a removal never overlaps a timed command;
// with several, other trials' commands overlap anyway and it does not
// wait), and Close waits for all of them. A
// failed removal is retried by Reap and Close; Reap also removes what dead
// benchrig processes on this host left behind, and RemoveRun everything of
// a cancelled run.
package docker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
)

// Config configures an Executor for one node.
type Config struct {
	Node string // node name, in errors and facts
	// Host is the engine's address: unix:///path or tcp://host:port.
	Host string
	// TLS, when set, holds absolute paths of the CA, client certificate
	// and key for a tcp Host; nil for plain tcp and unix sockets.
	TLS *TLS
	// Arch is the declared architecture (GOARCH name, e.g. "arm64") of an
	// emulated node; "" means the engine's.
	Arch string
	// Pool is the node's pool, named when its policy refuses a container.
	Pool string
	// Policy says which risky options this node's pool allows.
	Policy benchrig.PoolPolicy
	// ShimDir holds benchrig-shim-linux-<arch> (see ShimName).
	ShimDir string
	// Owner is the benchrig.owner label value; "" means DefaultOwner().
	Owner string
	// Perf is the perf program of this host that profiles the node's
	// containers (see RunProfiled); "" looks perf up in PATH.
	Perf string
}

// TLS holds the paths of a tcp engine's TLS material.
type TLS struct {
	CA, Cert, Key string
}

// Timeouts. dialTimeout bounds reaching an engine, so that a lost node is
// reported in seconds; keepalive probes find a peer that vanished in the
// middle of a long wait (no RST) within about keepIdle+keepIntvl*keepCount.
const (
	dialTimeout = 3 * time.Second
	keepIdle    = 5 * time.Second
	keepIntvl   = 5 * time.Second
	keepCount   = 3
	// apiTimeout bounds one ordinary API call (create, start, logs,
	// remove): runc on a loaded machine can take seconds, never minutes.
	apiTimeout = 60 * time.Second
	// killGrace is how long after Job.Timeout the executor kills the
	// container itself, when the shim did not (it kills at Timeout).
	killGrace = 5 * time.Second
	// cleanupTimeout bounds a best-effort removal.
	cleanupTimeout = 10 * time.Second
)

// shimMode is how the shim gets into a container.
type shimMode int

const (
	shimVolume shimMode = iota // a per-node named volume, mounted read-only
	shimCopy                   // CopyToContainer into each container
)

// Executor runs jobs on one Docker engine. It is safe for concurrent use.
type Executor struct {
	cfg   Config
	cli   *client.Client
	owner string
	// filler tells this executor's shim volume creations from any other's
	// (owner names the process; a process may have several executors).
	filler string
	mode   shimMode

	mu         sync.Mutex
	imageArchs map[string]string        // image ref -> arch, once seen
	shims      map[string]*shimFile     // arch -> shim file
	volumes    map[string]string        // arch -> populated volume name
	pending    map[string]chan struct{} // container ID -> closed when removed
	inflight   int                      // Runs in progress
	unremoved  map[string]error         // container ID -> why removal failed
	profMu     sync.Mutex               // guards profilerID
	profilerID string                   // the node's profiler container, once started
	volMu      sync.Mutex               // one volume population at a time
	removals   sync.WaitGroup
	closed     bool
}

var (
	_ runner.Executor = (*Executor)(nil)
	_ runner.Checker  = (*Executor)(nil)
)

// New checks cfg and returns an executor. It does no network I/O: an
// unreachable engine shows in Facts or Run.
func New(cfg Config) (*Executor, error) {
	if err := validate(&cfg); err != nil {
		return nil, err
	}
	u, _ := client.ParseHostURL(cfg.Host) // validated
	proto, addr := u.Scheme, u.Host       // for unix, Host is the socket's path
	dialer := &net.Dialer{
		Timeout:         dialTimeout,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: keepIdle, Interval: keepIntvl, Count: keepCount},
	}
	opts := []client.Opt{client.WithHost(cfg.Host)}
	if cfg.TLS != nil {
		opts = append(opts, client.WithTLSClientConfig(cfg.TLS.CA, cfg.TLS.Cert, cfg.TLS.Key))
	}
	// After WithHost, which installs its own dialer (10 s timeout).
	opts = append(opts, client.WithDialContext(func(ctx context.Context, network, a string) (net.Conn, error) {
		if proto == "unix" {
			return dialer.DialContext(ctx, "unix", addr)
		}
		return dialer.DialContext(ctx, network, a)
	}))
	cli, err := client.New(opts...)
	if err != nil {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, Msg: fmt.Sprintf("node %s: docker client for %s", cfg.Node, cfg.Host), Err: err}
	}
	owner := cfg.Owner
	if owner == "" {
		owner = DefaultOwner()
	}
	return &Executor{
		cfg: cfg, cli: cli, owner: owner, filler: owner + "/" + rand.Text(), mode: shimVolume,
		imageArchs: map[string]string{},
		shims:      map[string]*shimFile{},
		volumes:    map[string]string{},
		pending:    map[string]chan struct{}{},
		unremoved:  map[string]error{},
	}, nil
}

func validate(cfg *Config) error {
	bad := func(field, format string, args ...any) error {
		return &benchrig.Error{Code: benchrig.EInvalid, Field: field, Msg: fmt.Sprintf("node %s: ", cfg.Node) + fmt.Sprintf(format, args...)}
	}
	if cfg.Node == "" {
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "node", Msg: "docker node has no name"}
	}
	if cfg.Host == "" {
		return bad("host", "no engine address (want unix:///path or tcp://host:port)")
	}
	u, err := client.ParseHostURL(cfg.Host)
	if err != nil {
		return bad("host", "engine address %q: %v", cfg.Host, err)
	}
	switch u.Scheme {
	case "unix":
		if !strings.HasPrefix(u.Host, "/") {
			return bad("host", "engine address %q: want an absolute socket path", cfg.Host)
		}
	case "tcp":
		if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
			return bad("host", "engine address %q: want tcp://host:port", cfg.Host)
		}
	default:
		return bad("host", "engine address %q: scheme %q is not supported (want unix or tcp)", cfg.Host, u.Scheme)
	}
	if cfg.TLS != nil {
		if u.Scheme != "tcp" {
			return bad("tls", "TLS needs a tcp engine address, not %s", cfg.Host)
		}
		for _, f := range []struct{ name, path string }{{"ca", cfg.TLS.CA}, {"cert", cfg.TLS.Cert}, {"key", cfg.TLS.Key}} {
			if f.path != "" && !filepath.IsAbs(f.path) {
				return bad("tls."+f.name, "path %q is not absolute", f.path)
			}
		}
		if (cfg.TLS.Cert == "") != (cfg.TLS.Key == "") {
			return bad("tls", "cert and key go together")
		}
	}
	if cfg.Arch != "" {
		a, ok := benchrig.NormalizeArch(cfg.Arch)
		if !ok {
			return bad("arch", "unknown architecture %q (known: %s)", cfg.Arch, strings.Join(benchrig.KnownArchs, ", "))
		}
		cfg.Arch = a
	}
	if cfg.ShimDir != "" && !filepath.IsAbs(cfg.ShimDir) {
		return bad("shim_dir", "%q is not absolute", cfg.ShimDir)
	}
	return nil
}

// Facts pings the engine (Latency) and asks what it is.
func (e *Executor) Facts(ctx context.Context) (benchrig.NodeFacts, error) {
	f := benchrig.NodeFacts{Name: e.cfg.Node, Host: e.cfg.Host}
	t0 := time.Now()
	ping, err := e.cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		return f, e.apiErr(ctx, "ping", err)
	}
	f.Latency = time.Since(t0)
	info, err := e.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return f, e.apiErr(ctx, "info", err)
	}
	in := info.Info
	f.EngineArch, _ = benchrig.NormalizeArch(in.Architecture)
	f.Arch = f.EngineArch
	if e.cfg.Arch != "" {
		f.Arch, f.ArchDeclared = e.cfg.Arch, true
	}
	f.OS = in.OSType
	f.Kernel = in.KernelVersion
	f.CPUs = in.NCPU
	f.MemoryBytes = in.MemTotal
	f.EngineVersion = in.ServerVersion
	f.APIVersion = ping.APIVersion
	for name := range in.Runtimes {
		f.Runtimes = append(f.Runtimes, name)
	}
	sort.Strings(f.Runtimes)
	if len(in.Labels) > 0 {
		f.Labels = map[string]string{}
		for _, l := range in.Labels {
			k, v, _ := strings.Cut(l, "=")
			f.Labels[k] = v
		}
	}
	f.Hostname = in.Name
	f.Accelerators = engineGPUs(in.DiscoveredDevices, f.Runtimes)
	return f, nil
}

// Close waits for pending removals, retries failed ones once, and closes
// the connection. Run must not be called after Close.
// Settle waits for the removals of finished trials' containers pending now.
func (e *Executor) Settle() { e.removals.Wait() }

func (e *Executor) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.removals.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	var errs []error
	e.mu.Lock()
	ids := keys(e.unremoved)
	e.mu.Unlock()
	for _, id := range ids {
		if err := e.remove(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", short(id), err))
		}
	}
	if err := e.closeProfiler(ctx); err != nil {
		errs = append(errs, fmt.Errorf("remove the profiler container: %w", err))
	}
	if err := e.cli.Close(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return &benchrig.Error{Code: benchrig.EUnavailable, Retryable: true, Msg: fmt.Sprintf("node %s (%s): close", e.cfg.Node, e.cfg.Host), Err: errors.Join(errs...)}
	}
	return nil
}

// apiErr classifies a failed API call: an engine that cannot be reached
// or went away is EUnavailable and retryable; the engine's refusal of bad
// input is EInvalid; anything else is EInternal.
func (e *Executor) apiErr(ctx context.Context, op string, err error) error {
	if isTransport(err) {
		return &benchrig.Error{Code: benchrig.EUnavailable, Retryable: true, Msg: fmt.Sprintf("node %s (%s): %s", e.cfg.Node, e.cfg.Host, op), Err: err}
	}
	if ctx != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return &benchrig.Error{Code: benchrig.ECancelled, Msg: fmt.Sprintf("node %s: %s", e.cfg.Node, op), Err: err}
	}
	code := benchrig.EInternal
	if cerrdefs.IsNotFound(err) || cerrdefs.IsInvalidArgument(err) || cerrdefs.IsConflict(err) {
		code = benchrig.EInvalid
	}
	return &benchrig.Error{Code: code, Msg: fmt.Sprintf("node %s: %s", e.cfg.Node, op), Err: err}
}

// isTransport reports whether err is a failure to talk to the engine at
// all, as opposed to the engine's answer.
func isTransport(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		// Our caller's cancellation, not the engine's: a *url.Error
		// wrapping it is a net.Error too.
		return false
	}
	if client.IsErrConnectionFailed(err) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) && !errors.Is(err, context.Canceled) || errors.As(err, &ne)
}

// unavailable is the error of an engine that went away mid-trial.
func (e *Executor) unavailable(op string, err error) error {
	return &benchrig.Error{Code: benchrig.EUnavailable, Retryable: true, Msg: fmt.Sprintf("node %s (%s): %s", e.cfg.Node, e.cfg.Host, op), Err: err}
}

func (e *Executor) invalid(format string, args ...any) error {
	return &benchrig.Error{Code: benchrig.EInvalid, Msg: fmt.Sprintf("node %s: ", e.cfg.Node) + fmt.Sprintf(format, args...)}
}

// DefaultOwner is this process's benchrig.owner value: hostname, pid and
// the process's start time (clock ticks since boot), so a reaper can tell a
// dead owner from a recycled pid.
func DefaultOwner() string {
	host, _ := os.Hostname()
	start, _ := procStart("/proc", os.Getpid())
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + start
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
