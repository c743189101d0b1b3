package docker

// # Swarm
//
// A pool may be a Docker Swarm cluster, reached through one manager's
// engine: benchrig never talks to the other nodes' engines. Each trial is
// a replicated-job service (one task, restart policy none) pinned to the
// node benchrig's scheduler picked (node.id==ID), created without asking a
// registry (images are loaded on every node). The runner keeps its own
// per-node slots, class moves and retries: Swarm only places and starts.
//
// Timing is the shim's, as on plain nodes. The shim reaches a node the
// only way the manager offers: swarm configs. A config holds at most
// 500 KB and the shim is about 2.6 MB, so it is cut into chunks; once per
// node (per shim build), a filler job running the trial's own image joins
// them with /bin/sh and cat into the node's shim volume
// (benchrig-shim-ARCH-SHA), which every trial then mounts read-only at
// /.benchrig. A trial that finds the volume empty (a fresh node, a volume
// prune) has its task rejected before the command runs; the volume is
// filled and the trial started again, once. An image without /bin/sh
// cannot fill it: the error says so.
//
// The result is the shim's line in the task's logs, read through the
// manager once the task has ended; the exit code is the shim's, checked
// against the task's. A task the node drained or lost (state shutdown or
// orphaned, or one Swarm cannot place because the node left) is
// EUnavailable and retryable, so the runner moves the trial. Services
// carry the job's labels and benchrig.owner; they are removed after each
// trial and on cancel (removing the service kills its task), and Reap
// removes those of dead benchrig processes.
//
// Engines before 23.0 orphan the tasks of a removed job service
// (moby/moby#42789, #44312): the task stays in the task list forever, and
// its container stays on the node, exited, or still running when the job
// was removed to cancel it (TestLabSwarmOrphanedJobTasks shows all three
// on the lab's 20.10 engines). Nothing the manager offers removes them:
// an update of the job replaces a running task, never a completed one.
// So on a manager older than 23.0 (or with SwarmConfig.Mode "replicated")
// a trial is a replicated service of one replica with restart policy
// none, the older idiom for a one-off task, whose removal removes its
// task and container on every engine; Mode "job" forces replicated-job.
// Either way benchrig asks for tasks only by service ID, never by label,
// which would match every orphan, and OrphanedTasks counts what earlier
// job services left.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
	"github.com/benchrig/benchrig/runner/docker/internal/shimrun"
)

// SwarmArchLabel is the node label (docker node update --label-add) that
// declares the architecture trials on a node run as, for nodes that
// emulate it: Swarm reports an emulated arm64 node as x86_64. The
// engine's label of the same name (dockerd --label) is read too; the
// node's wins.
const SwarmArchLabel = "benchrig.arch"

// configChunk is the size of one chunk of the shim in a swarm config:
// engines before 25.0 refuse configs over 500 KB.
const configChunk = 480 << 10

// Swarm polling: a task's state is read every pollMin at first, then less
// often up to pollMax while the command runs. A task Swarm cannot place
// (its status says why: the node was drained, paused or lost) is given
// back to the runner as retryable after unplacedMax; one pending without
// a reason after pendingMax.
const (
	pollMin     = 20 * time.Millisecond
	pollMax     = 250 * time.Millisecond
	unplacedMax = 2 * time.Second
	pendingMax  = 60 * time.Second
	// nodeCheckEvery is how often a trial's node is looked at while the
	// trial's task has not ended.
	nodeCheckEvery = 5 * time.Second
)

// SwarmConfig configures one Swarm cluster.
type SwarmConfig struct {
	Pool    string // the pool's name, in errors
	Manager string // a manager's engine: unix:///path or tcp://host:port
	TLS     *TLS
	Policy  benchrig.PoolPolicy
	ShimDir string
	Owner   string // the benchrig.owner label value; "" means DefaultOwner()
	// CollectorImage is benchrig's image on every node (with the shims),
	// which runs collectors and profiled trials; DockerSocket the path of
	// each node's engine socket ("" means /var/run/docker.sock), mounted
	// into them.
	CollectorImage, DockerSocket string
	// Mode is how a trial runs: "job" (a replicated-job service),
	// "replicated" (a replicated service of one replica, restart policy
	// none), or "" for job on managers of engine 23.0 or later and
	// replicated before (see the package comment).
	Mode string
}

// Swarm is one Swarm cluster. It lists the cluster's nodes and makes an
// executor for each; it is safe for concurrent use.
type Swarm struct {
	cfg  SwarmConfig
	base *Executor // the manager's client, owner, shim files and helpers

	mu       sync.Mutex
	jobs     *bool                  // trials are job services; nil until the manager's version is known
	configs  map[string][]string    // shim sha -> its chunks' config names, once created
	fills    map[string]*sync.Mutex // node ID + volume -> one fill at a time
	services map[string]struct{}    // services created and not yet removed
	removals sync.WaitGroup
}

// SwarmNode is one node of a cluster as its manager describes it.
type SwarmNode struct {
	ID           string
	Facts        benchrig.NodeFacts
	Labels       map[string]string // the node's labels over its engine's
	NodeLabels   map[string]string // the node's own (docker node update --label-add)
	Availability string            // active, pause or drain
	State        string            // ready, down, unknown, disconnected
	Addr         string
}

// NewSwarm checks cfg and returns the cluster. It does no network I/O.
func NewSwarm(cfg SwarmConfig) (*Swarm, error) {
	if cfg.Mode != "" && cfg.Mode != "job" && cfg.Mode != "replicated" {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, Field: "mode", Msg: fmt.Sprintf("pool %s: swarm mode %q: want job or replicated", cfg.Pool, cfg.Mode)}
	}
	base, err := New(Config{Node: "manager of pool " + cfg.Pool, Host: cfg.Manager, TLS: cfg.TLS, Pool: cfg.Pool, Policy: cfg.Policy, ShimDir: cfg.ShimDir, Owner: cfg.Owner})
	if err != nil {
		return nil, err
	}
	return &Swarm{cfg: cfg, base: base, configs: map[string][]string{}, fills: map[string]*sync.Mutex{}, services: map[string]struct{}{}}, nil
}

// Nodes lists the cluster's nodes, whatever their state. A node whose
// hostname another node shares is named HOSTNAME-IDPREFIX.
func (s *Swarm) Nodes(ctx context.Context) ([]SwarmNode, error) {
	t0 := time.Now()
	res, err := s.base.cli.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		if strings.Contains(err.Error(), "not a swarm manager") || strings.Contains(err.Error(), "swarm mode") {
			return nil, &benchrig.Error{Code: benchrig.EUnavailable, Retryable: true,
				Msg: fmt.Sprintf("pool %s: %s is not a swarm manager", s.cfg.Pool, s.cfg.Manager), Err: err}
		}
		return nil, s.base.apiErr(ctx, "list swarm nodes", err)
	}
	latency := time.Since(t0)
	count := map[string]int{}
	for _, n := range res.Items {
		count[n.Description.Hostname]++
	}
	out := make([]SwarmNode, 0, len(res.Items))
	for _, n := range res.Items {
		name := n.Description.Hostname
		if count[name] > 1 || name == "" {
			name = strings.TrimPrefix(name+"-", "-") + short(n.ID)
		}
		out = append(out, s.describe(n, name, latency))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Facts.Name < out[j].Facts.Name })
	return out, nil
}

// describe turns a node of the manager's list into benchrig's facts.
func (s *Swarm) describe(n swarm.Node, name string, latency time.Duration) SwarmNode {
	d := n.Description
	labels := map[string]string{}
	for k, v := range d.Engine.Labels {
		labels[k] = v
	}
	for k, v := range n.Spec.Labels {
		labels[k] = v
	}
	f := benchrig.NodeFacts{
		Name: name, Pool: s.cfg.Pool, Host: s.cfg.Manager, Swarm: s.cfg.Manager, SwarmNodeID: n.ID,
		OS: d.Platform.OS, CPUs: int(d.Resources.NanoCPUs / 1e9), MemoryBytes: d.Resources.MemoryBytes,
		EngineVersion: d.Engine.EngineVersion, Hostname: d.Hostname, Latency: latency,
		APIVersion: s.base.cli.ClientVersion(), // the manager's, through which every call goes
	}
	f.EngineArch, _ = benchrig.NormalizeArch(d.Platform.Architecture)
	f.Arch = f.EngineArch
	if a, ok := benchrig.NormalizeArch(labels[SwarmArchLabel]); ok && labels[SwarmArchLabel] != "" && a != f.EngineArch {
		f.Arch, f.ArchDeclared = a, true
	}
	if len(labels) > 0 {
		f.Labels = labels
	}
	return SwarmNode{ID: n.ID, Facts: f, Labels: labels, NodeLabels: n.Spec.Labels,
		Availability: string(n.Spec.Availability), State: string(n.Status.State), Addr: n.Status.Addr}
}

// useJobs says whether trials run as replicated-job services: Mode, else
// whether the manager's engine is 23.0 or later (asked once).
func (s *Swarm) useJobs(ctx context.Context) (bool, error) {
	s.mu.Lock()
	known := s.jobs
	s.mu.Unlock()
	if known != nil {
		return *known, nil
	}
	jobs := s.cfg.Mode == "job"
	if s.cfg.Mode == "" {
		vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
		defer cancel()
		v, err := s.base.cli.ServerVersion(vctx, client.ServerVersionOptions{})
		if err != nil {
			return false, s.base.apiErr(vctx, "ask the manager's version", err)
		}
		jobs = jobsFixed(v.Version)
	}
	s.mu.Lock()
	s.jobs = &jobs
	s.mu.Unlock()
	return jobs, nil
}

// jobsFixed reports whether an engine of version v removes the tasks of
// removed job services: 23.0 and later.
func jobsFixed(v string) bool {
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	return err == nil && n >= 23
}

// Executor returns the executor of trials pinned to node.
func (s *Swarm) Executor(node SwarmNode) *SwarmExecutor {
	return &SwarmExecutor{sw: s, node: node}
}

// Settle waits for the removals of finished trials' services.
func (s *Swarm) Settle() { s.removals.Wait() }

// Close waits for pending removals, removes what is left of this
// process's services and closes the connection.
func (s *Swarm) Close() error {
	s.removals.Wait()
	s.mu.Lock()
	ids := keys(s.services)
	s.mu.Unlock()
	var errs []error
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		err := s.removeService(ctx, id)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("remove service %s: %w", short(id), err))
		}
	}
	if err := s.base.cli.Close(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return &benchrig.Error{Code: benchrig.EUnavailable, Retryable: true, Msg: fmt.Sprintf("pool %s (%s): close", s.cfg.Pool, s.cfg.Manager), Err: errors.Join(errs...)}
	}
	return nil
}

// removeService removes a service and, unless its tasks are jobs' (which
// 20.10 engines keep forever), waits, within ctx, until Swarm has removed
// its tasks too: their containers are then gone from the node, so that
// Settle and Close mean what they mean on plain nodes.
func (s *Swarm) removeService(ctx context.Context, id string) error {
	_, err := s.base.cli.ServiceRemove(ctx, id, client.ServiceRemoveOptions{})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return err
	}
	s.mu.Lock()
	delete(s.services, id)
	jobs := s.jobs != nil && *s.jobs
	s.mu.Unlock()
	for poll := pollMin; !jobs; poll = min(2*poll, pollMax) {
		res, err := s.base.cli.TaskList(ctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", id)})
		if err != nil || len(res.Items) == 0 {
			break // gone, or the manager cannot say: the removal itself went through
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
	return nil
}

// removeLater removes a finished trial's service off the trial's path.
func (s *Swarm) removeLater(id string) {
	s.removals.Add(1)
	go func() {
		defer s.removals.Done()
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		_ = s.removeService(ctx, id) // kept in services for Close
	}()
}

// RemoveRun removes every service of run runID (any owner's) and returns
// how many it removed.
func (s *Swarm) RemoveRun(ctx context.Context, runID string) (int, error) {
	if runID == "" {
		return 0, s.base.invalid("remove run: no run ID")
	}
	return s.removeWhere(ctx, runner.LabelRun+"="+runID, nil)
}

// Reap removes the services that benchrig processes on this host left
// when they died (see Executor.Reap), and returns how many.
func (s *Swarm) Reap(ctx context.Context) (int, error) {
	host, _ := os.Hostname()
	return s.removeWhere(ctx, runner.LabelOwner, func(labels map[string]string) bool {
		return ownerDead(labels[runner.LabelOwner], s.base.owner, host, "/proc")
	})
}

func (s *Swarm) removeWhere(ctx context.Context, label string, remove func(map[string]string) bool) (int, error) {
	list, err := s.base.cli.ServiceList(ctx, client.ServiceListOptions{Filters: client.Filters{}.Add("label", label)})
	if err != nil {
		return 0, s.base.apiErr(ctx, "list services", err)
	}
	n := 0
	var errs []error
	for _, svc := range list.Items {
		if remove != nil && !remove(svc.Spec.Labels) {
			continue
		}
		if err := s.removeService(ctx, svc.ID); err != nil {
			errs = append(errs, s.base.apiErr(ctx, "remove service "+short(svc.ID), err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// OrphanedTasks counts the tasks benchrig's removed services left in the
// cluster's task list (engines before 23.0 keep them; see the Swarm
// section of the package comment): tasks with a benchrig.owner label
// whose service no longer exists, except those on their way out (desired
// state remove: a replicated service's, removed once its node confirms).
func (s *Swarm) OrphanedTasks(ctx context.Context) (int, error) {
	tasks, err := s.base.cli.TaskList(ctx, client.TaskListOptions{})
	if err != nil {
		return 0, s.base.apiErr(ctx, "list tasks", err)
	}
	svcs, err := s.base.cli.ServiceList(ctx, client.ServiceListOptions{})
	if err != nil {
		return 0, s.base.apiErr(ctx, "list services", err)
	}
	live := map[string]bool{}
	for _, svc := range svcs.Items {
		live[svc.ID] = true
	}
	n := 0
	for _, t := range tasks.Items {
		if cs := t.Spec.ContainerSpec; cs != nil && cs.Labels[runner.LabelOwner] != "" && !live[t.ServiceID] && t.DesiredState != swarm.TaskStateRemove {
			n++
		}
	}
	return n, nil
}

// SwarmExecutor runs trials on one node of a cluster, as services pinned
// to it. It is safe for concurrent use.
type SwarmExecutor struct {
	sw   *Swarm
	node SwarmNode
}

var (
	_ runner.Executor = (*SwarmExecutor)(nil)
	_ runner.Checker  = (*SwarmExecutor)(nil)
)

// Node returns the node as last listed.
func (x *SwarmExecutor) Node() SwarmNode { return x.node }

// Facts asks the manager about the node again: an error unless Swarm says
// it is ready. (A drained node still answers: its removal from the pool
// is the discoverer's to see.) The runner asks after a trial failed to
// run, to tell a hiccup from a lost node.
func (x *SwarmExecutor) Facts(ctx context.Context) (benchrig.NodeFacts, error) {
	state, err := x.nodeState(ctx)
	if err != nil {
		return x.node.Facts, err
	}
	if state != string(swarm.NodeStateReady) {
		return x.node.Facts, x.unavailable("Swarm says the node is "+state, nil)
	}
	return x.node.Facts, nil
}

// nodeState is the node's state as the manager sees it now.
func (x *SwarmExecutor) nodeState(ctx context.Context) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, FactsTimeoutSwarm)
	defer cancel()
	res, err := x.sw.base.cli.NodeInspect(cctx, x.node.ID, client.NodeInspectOptions{})
	if err != nil {
		return "", x.sw.base.apiErr(cctx, "inspect swarm node "+x.node.Facts.Name, err)
	}
	return string(res.Node.Status.State), nil
}

// FactsTimeoutSwarm bounds one look at a node through the manager.
const FactsTimeoutSwarm = 5 * time.Second

func (x *SwarmExecutor) invalid(format string, args ...any) error {
	return &benchrig.Error{Code: benchrig.EInvalid, Msg: fmt.Sprintf("swarm node %s: ", x.node.Facts.Name) + fmt.Sprintf(format, args...)}
}

func (x *SwarmExecutor) unavailable(msg string, err error) error {
	return &benchrig.Error{Code: benchrig.EUnavailable, Retryable: true, Msg: fmt.Sprintf("swarm node %s (pool %s): %s", x.node.Facts.Name, x.sw.cfg.Pool, msg), Err: err}
}

// Check refuses, before anything runs, what a Swarm service cannot do or
// the pool's policy forbids.
func (x *SwarmExecutor) Check(job runner.Job) error {
	if err := x.sw.base.Check(job); err != nil {
		return err
	}
	c := job.Container
	switch {
	case c.Privileged:
		return x.invalid("Swarm services cannot be privileged")
	case len(c.Devices) > 0:
		return x.invalid("Swarm services cannot be given devices")
	case c.GPUs > 0:
		return x.invalid("GPUs on Swarm nodes are not supported by benchrig yet (use a plain Docker pool)")
	case c.CPUSet != "":
		return x.invalid("Swarm services cannot be pinned to CPUs (cpuset); use a plain Docker pool")
	case job.ReadBPS > 0:
		return x.invalid("Swarm services cannot cap reads (read_bps); use a plain Docker pool")
	case c.Network != "" && c.Network != "none" && c.Network != "host":
		// "none" (the default) cannot be asked of a service either: the
		// task gets the engine's default network (none on the lab's
		// engines, started with --bridge=none). The README says so.
		return x.invalid("network %q: a Swarm trial runs on the engine's default network, or host", c.Network)
	}
	return nil
}

// Run runs job as a replicated-job service on the node and returns the
// shim's measurement. Beyond the shim's metrics it records
// service_create_s (the create call), task_start_s (create call to the
// task seen running or done, Swarm's scheduling and the container's
// start), task_total_s (create call to the task seen ended) and
// trial_total_s (create call to the result read from the logs).
func (x *SwarmExecutor) Run(ctx context.Context, job runner.Job) (benchrig.Measurement, error) {
	if err := x.Check(job); err != nil {
		return benchrig.Measurement{}, err
	}
	cancelled := benchrig.Measurement{Start: time.Now().Round(0), ExitCode: -1, Error: "cancelled"}
	if ctx.Err() != nil {
		return cancelled, nil
	}
	arch := x.node.Facts.Arch
	s, err := x.sw.base.shim(arch)
	if err != nil {
		return benchrig.Measurement{}, err
	}
	vol := shimVolumeName(s)
	for attempt := 0; ; attempt++ {
		m, missing, err := x.attempt(ctx, job, vol)
		if missing == "" {
			return m, err
		}
		if attempt > 0 {
			// Filled, and still the shim cannot start: not a missing
			// file but one the node cannot run.
			return benchrig.Measurement{}, x.invalid("the timing shim in volume %s cannot start in image %s even after the volume was filled: %s", vol, job.Container.Image, missing)
		}
		if err := x.fill(ctx, s, vol, job.Container.Image); err != nil {
			return benchrig.Measurement{}, err
		}
	}
}

// attempt runs job once; missing says the node's shim volume lacks the
// shim (the task could not start it), so the caller fills it and tries
// again.
func (x *SwarmExecutor) attempt(ctx context.Context, job runner.Job, vol string) (m benchrig.Measurement, missing string, err error) {
	cancelled := benchrig.Measurement{Start: time.Now().Round(0), ExitCode: -1, Error: "cancelled"}
	jobs, err := x.sw.useJobs(ctx)
	if err != nil {
		return m, "", err
	}
	spec := x.serviceSpec(job, vol, jobs)
	metrics := map[string]float64{}
	t0 := time.Now()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
	created, err := x.sw.base.cli.ServiceCreate(cctx, client.ServiceCreateOptions{Spec: spec, QueryRegistry: false})
	cancel()
	if err != nil {
		return m, "", x.sw.base.apiErr(cctx, "create service for image "+job.Container.Image, err)
	}
	id := created.ID
	x.sw.mu.Lock()
	x.sw.services[id] = struct{}{}
	x.sw.mu.Unlock()
	defer x.sw.removeLater(id)
	metrics["service_create_s"] = time.Since(t0).Seconds()

	task, err := x.await(ctx, id, job.Timeout, t0, metrics)
	if err != nil {
		return m, "", err
	}
	if task == nil {
		return cancelled, "", nil // ctx ended; the removal kills the task
	}
	tEnded := time.Now()
	metrics["task_total_s"] = tEnded.Sub(t0).Seconds()
	st := task.Status
	switch st.State {
	case swarm.TaskStateRejected, swarm.TaskStateFailed:
		if st.ContainerStatus == nil || st.ContainerStatus.PID == 0 {
			// Never started: no shim, a missing image, a refused mount.
			if strings.Contains(st.Err, shimPath) {
				return m, st.Err, nil
			}
			if strings.Contains(st.Err, "No such image") || strings.Contains(st.Err, "No such image:") {
				return m, "", x.invalid("image %s is not loaded on the node (no registry: load it with docker load on every node): %s", job.Container.Image, st.Err)
			}
			if st.State == swarm.TaskStateRejected {
				return m, "", x.invalid("task %s rejected: %s", short(task.ID), st.Err)
			}
		}
	case swarm.TaskStateShutdown, swarm.TaskStateOrphaned, swarm.TaskStateRemove:
		return m, "", x.unavailable(fmt.Sprintf("the trial's task %s was %s before it finished (node drained, paused or lost): %s", short(task.ID), st.State, cmp.Or(st.Err, st.Message)), nil)
	}
	line, stderr, lerr := x.taskLogs(ctx, task.ID)
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i+1] // the shim's result: its only line
	}
	metrics["trial_total_s"] = time.Since(t0).Seconds()
	r, perr := shimrun.Parse(line)
	if perr != nil {
		if job.Timeout > 0 && st.State == swarm.TaskStateRunning {
			// The backstop: the shim did not kill the command at its
			// timeout; the deferred removal kills the task.
			return benchrig.Measurement{Start: t0.Round(0), ExitCode: -1, Error: "timeout", Source: "shim", Metrics: metrics}, "", nil
		}
		if lerr != nil {
			return m, "", lerr
		}
		code := -1
		if st.ContainerStatus != nil {
			code = st.ContainerStatus.ExitCode
		}
		return m, "", &benchrig.Error{Code: benchrig.EInternal,
			Msg: fmt.Sprintf("swarm node %s: task %s (image %s) ended %s with status %d without a shim result: %s %s",
				x.node.Facts.Name, short(task.ID), job.Container.Image, st.State, code, cmp.Or(st.Err, st.Message), strings.TrimSpace(tailString(stderr, 512))), Err: perr}
	}
	if st.ContainerStatus != nil && st.State != swarm.TaskStateRunning && st.ContainerStatus.ExitCode != exitOf(r) {
		metrics["task_exit_code"] = float64(st.ContainerStatus.ExitCode)
	}
	return measurement(r, metrics), "", nil
}

// exitOf is the status the shim exits with for result r.
func exitOf(r shimrun.Result) int {
	if r.ExitCode >= 0 && r.ExitCode < 256 {
		return r.ExitCode
	}
	return r.ExitCode & 0xff
}

// serviceSpec is the replicated-job service of one trial.
func (x *SwarmExecutor) serviceSpec(job runner.Job, vol string, jobs bool) swarm.ServiceSpec {
	c := job.Container
	cfg, _ := x.sw.base.containerConfig(job, "", false)
	noInit := false
	grace := time.Second
	labels := cfg.Labels
	mounts := []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: shimDir, ReadOnly: true, VolumeOptions: &mount.VolumeOptions{NoCopy: true}}}
	for _, m := range c.Mounts {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "benchrig-" + serviceSuffix(16), Labels: labels},
		Mode:        serviceMode(jobs),
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image: c.Image, Labels: labels, Command: cfg.Entrypoint, Args: cfg.Cmd,
				Env: job.Env, Dir: job.Dir, Init: &noInit, Mounts: mounts, StopGracePeriod: &grace,
			},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
			Placement:     &swarm.Placement{Constraints: x.constraints()},
			LogDriver:     &swarm.Driver{Name: "json-file"},
		},
	}
	if c.CPUs > 0 || c.MemoryBytes > 0 {
		spec.TaskTemplate.Resources = &swarm.ResourceRequirements{Limits: &swarm.Limit{NanoCPUs: int64(c.CPUs * 1e9), MemoryBytes: c.MemoryBytes}}
	}
	if c.Network == "host" {
		spec.TaskTemplate.Networks = []swarm.NetworkAttachmentConfig{{Target: "host"}}
	}
	return spec
}

// serviceSuffix is n random characters for a service's name (lower case:
// names show in `docker service ls`) or a temporary file's.
func serviceSuffix(n int) string { return strings.ToLower(rand.Text()[:n]) }

// serviceMode is one task, run once: a replicated job, or one replica that
// is never restarted.
func serviceMode(jobs bool) swarm.ServiceMode {
	one := uint64(1)
	if jobs {
		return swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{MaxConcurrent: &one, TotalCompletions: &one}}
	}
	return swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}}
}

// constraints pin a trial to the node benchrig picked, and say again what
// made it eligible: its platform and its architecture label.
func (x *SwarmExecutor) constraints() []string {
	out := []string{"node.id==" + x.node.ID}
	if a := x.node.Facts.EngineArch; a != "" {
		out = append(out, "node.platform.arch=="+swarmArch(a))
	}
	if v := x.node.NodeLabels[SwarmArchLabel]; v != "" {
		out = append(out, "node.labels."+SwarmArchLabel+"=="+v)
	}
	return out
}

// swarmArch is a GOARCH name as Swarm's node.platform.arch says it.
func swarmArch(a string) string {
	switch a {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return a
}

// await polls the service's task until it has ended, and returns it; nil
// when ctx ended first (the service is then removed). A task running past
// timeout plus killGrace is returned running: the shim did not kill it.
func (x *SwarmExecutor) await(ctx context.Context, id string, timeout time.Duration, t0 time.Time, metrics map[string]float64) (*swarm.Task, error) {
	poll := pollMin
	var running time.Time
	var pendingSince time.Time
	// A task on a node that died keeps its last state for as long as
	// Swarm takes to call it orphaned (hours): the node's own state is
	// looked at every nodeCheckEvery, and a node not ready twice in a
	// row loses the trial.
	nextCheck, notReady := time.Now().Add(nodeCheckEvery), 0
	failures := 0
	for {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
		res, err := x.sw.base.cli.TaskList(lctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", id)})
		cancel()
		if err != nil {
			failures++
			if isTransport(err) && failures >= 3 {
				return nil, x.unavailable("the manager stopped answering while the trial ran", err)
			}
			if !isTransport(err) {
				return nil, x.sw.base.apiErr(lctx, "list the tasks of service "+short(id), err)
			}
		} else {
			failures = 0
			var t *swarm.Task
			for i := range res.Items {
				// One task per job; a second only if Swarm replaced
				// the first, which restart policy none forbids.
				if t == nil || res.Items[i].Meta.CreatedAt.After(t.Meta.CreatedAt) {
					t = &res.Items[i]
				}
			}
			if t != nil {
				st := t.Status.State
				switch st {
				case swarm.TaskStateComplete, swarm.TaskStateFailed, swarm.TaskStateRejected,
					swarm.TaskStateShutdown, swarm.TaskStateOrphaned, swarm.TaskStateRemove:
					if _, ok := metrics["task_start_s"]; !ok {
						metrics["task_start_s"] = time.Since(t0).Seconds()
					}
					return t, nil
				case swarm.TaskStateRunning:
					if running.IsZero() {
						running = time.Now()
						metrics["task_start_s"] = running.Sub(t0).Seconds()
					}
					if timeout > 0 && time.Since(running) > timeout+killGrace {
						return t, nil // read as it is; the caller's removal kills it
					}
				case swarm.TaskStatePending, swarm.TaskStateNew, swarm.TaskStateAllocated:
					if pendingSince.IsZero() {
						pendingSince = time.Now()
					}
					if waited := time.Since(pendingSince); waited > pendingMax || (t.Status.Err != "" && waited > unplacedMax) {
						x.sw.removeNow(id)
						return nil, x.unavailable(fmt.Sprintf("Swarm did not place the trial's task on the node in %v: %s", waited.Round(time.Millisecond), cmp.Or(t.Status.Err, t.Status.Message)), nil)
					}
				}
			}
		}
		if time.Now().After(nextCheck) {
			nextCheck = time.Now().Add(nodeCheckEvery)
			state, err := x.nodeState(ctx)
			switch {
			case err == nil && state == string(swarm.NodeStateReady):
				notReady = 0
			case err == nil || isTransport(err):
				if notReady++; notReady >= 2 {
					x.sw.removeNow(id)
					return nil, x.unavailable(fmt.Sprintf("the node stopped being ready while its trial ran (Swarm says %q)", state), err)
				}
			}
		}
		timer := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			timer.Stop()
			x.sw.removeNow(id)
			return nil, nil
		case <-timer.C:
		}
		if !running.IsZero() && poll < pollMax {
			poll = min(poll*2, pollMax)
		}
	}
}

// removeNow removes a service at once, best effort.
func (s *Swarm) removeNow(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_ = s.removeService(ctx, id)
}

// taskLogs reads the whole stdout and stderr of a task that ended: a
// trial's shim line, a helper's result line, a filler's complaint.
func (x *SwarmExecutor) taskLogs(ctx context.Context, taskID string) ([]byte, []byte, error) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
	defer cancel()
	var out, errb bytes.Buffer
	for i := 0; ; i++ {
		out.Reset()
		errb.Reset()
		rc, err := x.sw.base.cli.TaskLogs(lctx, taskID, client.TaskLogsOptions{ShowStdout: true, ShowStderr: true})
		if err != nil {
			return nil, nil, x.sw.base.apiErr(lctx, "read the logs of task "+short(taskID), err)
		}
		_, err = stdcopy.StdCopy(&out, &errb, rc)
		rc.Close()
		if err != nil && err != io.EOF {
			return nil, nil, x.sw.base.apiErr(lctx, "read the logs of task "+short(taskID), err)
		}
		// The result is one line; the logs of a task that just ended
		// may not all be on the manager yet.
		if bytes.HasSuffix(out.Bytes(), []byte("\n")) || i >= 10 {
			return out.Bytes(), errb.Bytes(), nil
		}
		time.Sleep(pollMin * time.Duration(i+1))
	}
}

// fill puts the shim into the node's volume vol: the shim's chunks, as
// swarm configs, are joined by /bin/sh and cat of image in a job on the
// node. One fill per node and volume at a time in this process; the file
// appears under its name only once complete (rename), so concurrent
// fillers of other processes are harmless.
func (x *SwarmExecutor) fill(ctx context.Context, s *shimFile, vol, image string) error {
	key := x.node.ID + "/" + vol
	x.sw.mu.Lock()
	mu := x.sw.fills[key]
	if mu == nil {
		mu = &sync.Mutex{}
		x.sw.fills[key] = mu
	}
	x.sw.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	refs, err := x.sw.shimConfigs(ctx, s)
	if err != nil {
		return err
	}
	tmp := ".shim." + serviceSuffix(8)
	script := "set -e; cat /.benchrig-chunks/* > /v/" + tmp + "; chmod 555 /v/" + tmp + "; mv -f /v/" + tmp + " /v/shim"
	labels := map[string]string{runner.LabelOwner: x.sw.base.owner, labelShim: s.sha}
	jobs, err := x.sw.useJobs(ctx)
	if err != nil {
		return err
	}
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "benchrig-shimfill-" + serviceSuffix(12), Labels: labels},
		Mode:        serviceMode(jobs),
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image: image, Labels: labels, Command: []string{"/bin/sh", "-c", script}, Configs: refs,
				Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: "/v", VolumeOptions: &mount.VolumeOptions{Labels: map[string]string{labelShim: s.sha}}}},
			},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
			Placement:     &swarm.Placement{Constraints: []string{"node.id==" + x.node.ID}},
			LogDriver:     &swarm.Driver{Name: "json-file"},
		},
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
	created, err := x.sw.base.cli.ServiceCreate(cctx, client.ServiceCreateOptions{Spec: spec})
	cancel()
	if err != nil {
		return x.sw.base.apiErr(cctx, "create the shim filler service", err)
	}
	x.sw.mu.Lock()
	x.sw.services[created.ID] = struct{}{}
	x.sw.mu.Unlock()
	defer x.sw.removeLater(created.ID)
	task, err := x.await(ctx, created.ID, 0, time.Now(), map[string]float64{})
	if err != nil || task == nil {
		if err == nil {
			err = ctx.Err()
		}
		return err
	}
	if task.Status.State != swarm.TaskStateComplete {
		_, stderr, _ := x.taskLogs(ctx, task.ID)
		return x.invalid("could not put the timing shim into volume %s with image %s (%s: %s %s): the filler needs /bin/sh and cat in the trial's image",
			vol, image, task.Status.State, cmp.Or(task.Status.Err, task.Status.Message), strings.TrimSpace(tailString(stderr, 256)))
	}
	return nil
}

// shimConfigs creates (once) the swarm configs holding s in chunks and
// returns references that mount them under /.benchrig-chunks/ in order.
func (s *Swarm) shimConfigs(ctx context.Context, sh *shimFile) ([]*swarm.ConfigReference, error) {
	s.mu.Lock()
	names, ok := s.configs[sh.sha]
	s.mu.Unlock()
	n := (len(sh.data) + configChunk - 1) / configChunk
	if !ok {
		names = make([]string, n)
		for i := range n {
			names[i] = fmt.Sprintf("benchrig-shim-%s-%s-%02dof%02d", sh.arch, sh.sha[:12], i, n)
			data := sh.data[i*configChunk : min((i+1)*configChunk, len(sh.data))]
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
			_, err := s.base.cli.ConfigCreate(cctx, client.ConfigCreateOptions{Spec: swarm.ConfigSpec{
				Annotations: swarm.Annotations{Name: names[i], Labels: map[string]string{labelShim: sh.sha}}, Data: data}})
			cancel()
			if err != nil && !cerrdefs.IsConflict(err) && !strings.Contains(err.Error(), "already exists") {
				return nil, s.base.apiErr(cctx, "create swarm config "+names[i], err)
			}
		}
		s.mu.Lock()
		s.configs[sh.sha] = names
		s.mu.Unlock()
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
	defer cancel()
	list, err := s.base.cli.ConfigList(cctx, client.ConfigListOptions{Filters: client.Filters{}.Add("label", labelShim+"="+sh.sha)})
	if err != nil {
		return nil, s.base.apiErr(cctx, "list swarm configs", err)
	}
	ids := map[string]string{}
	for _, c := range list.Items {
		ids[c.Spec.Name] = c.ID
	}
	refs := make([]*swarm.ConfigReference, 0, len(names))
	for i, name := range names {
		id := ids[name]
		if id == "" {
			s.mu.Lock()
			delete(s.configs, sh.sha) // gone meanwhile: made again next time
			s.mu.Unlock()
			return nil, &benchrig.Error{Code: benchrig.EUnavailable, Retryable: true, Msg: fmt.Sprintf("pool %s: swarm config %s vanished", s.cfg.Pool, name)}
		}
		refs = append(refs, &swarm.ConfigReference{ConfigID: id, ConfigName: name,
			File: &swarm.ConfigReferenceFileTarget{Name: "/.benchrig-chunks/" + strconv.Itoa(10+i), UID: "0", GID: "0", Mode: 0o444}})
	}
	return refs, nil
}
