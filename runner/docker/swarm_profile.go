package docker

// # Profiling on Swarm nodes
//
// A profiled trial needs what Swarm services cannot give: the node's
// profiler container shares the host's PID namespace (services cannot:
// moby/swarmkit#1605), and the trial's shim is held on its stdin until
// perf has attached (the manager cannot attach to a task). So a profiled
// trial on a Swarm node runs through a helper task instead: `benchrig
// swarm-trial` in the pool's collector image (benchrig and the shims),
// pinned to the node like any trial, with the node's engine socket
// mounted. The helper is this package's plain Executor on that engine: it
// runs the trial as on any Docker node with the pool's profiler policy
// (the node's profiler container, the held shim, perf from outside), and
// prints the measurement and the profile as one JSON line, which the run
// reads from the helper's logs. The helper's own start is outside the
// trial's time, as the container's start always is.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/profiling"
	"github.com/benchrig/benchrig/runner"
)

// SwarmTrialEnv is the helper's environment variable holding its request.
const SwarmTrialEnv = "BENCHRIG_SWARM_TRIAL"

// SwarmTrial is what the helper is asked to run.
type SwarmTrial struct {
	Node     string              `json:"node"`
	Pool     string              `json:"pool"`
	Arch     string              `json:"arch,omitempty"` // declared: an emulated node's
	Policy   benchrig.PoolPolicy `json:"policy"`
	Owner    string              `json:"owner"`
	Sampling profiling.Sampling  `json:"sampling"`
	Job      swarmJob            `json:"job"`
}

// swarmJob is the part of a runner.Job the helper needs.
type swarmJob struct {
	Argv         []string          `json:"argv"`
	Env          []string          `json:"env,omitempty"`
	Dir          string            `json:"dir,omitempty"`
	Timeout      time.Duration     `json:"timeout,omitempty"`
	DigestStdout bool              `json:"digest_stdout,omitempty"`
	Ref          benchrig.TrialRef `json:"ref"`
	Container    runner.Container  `json:"container"`
}

// SwarmTrialResult is the helper's one line of output.
type SwarmTrialResult struct {
	Measurement benchrig.Measurement   `json:"measurement"`
	Profile     *benchrig.TrialProfile `json:"profile,omitempty"`
	Stacks      map[string]int64       `json:"stacks,omitempty"` // the profile's
	ProfileErr  string                 `json:"profile_error,omitempty"`
	Err         *wireError             `json:"error,omitempty"`
}

type wireError struct {
	Code      benchrig.Code `json:"code"`
	Msg       string        `json:"msg"`
	Retryable bool          `json:"retryable,omitempty"`
}

// RunSwarmTrial is the helper (`benchrig swarm-trial`): it runs the
// request in $BENCHRIG_SWARM_TRIAL on the engine at host (the node's own,
// through its mounted socket) with the shims of shimDir, profiled, and
// writes the result to out. An error is the helper's own failure, before
// any result.
func RunSwarmTrial(ctx context.Context, req []byte, host, shimDir string, out io.Writer) error {
	var t SwarmTrial
	if err := json.Unmarshal(req, &t); err != nil {
		return fmt.Errorf("swarm-trial: bad request: %w", err)
	}
	e, err := New(Config{Node: t.Node, Host: host, Arch: t.Arch, Pool: t.Pool, Policy: t.Policy, ShimDir: shimDir, Owner: t.Owner})
	if err != nil {
		return err
	}
	c := t.Job.Container
	job := runner.Job{Argv: t.Job.Argv, Env: t.Job.Env, Dir: t.Job.Dir, Timeout: t.Job.Timeout, DigestStdout: t.Job.DigestStdout, Ref: t.Job.Ref, Container: &c}
	m, prof, perr, err := e.RunProfiled(ctx, job, t.Sampling)
	if cerr := e.Close(); cerr != nil && err == nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "benchrig swarm-trial: warning:", cerr)
	}
	res := SwarmTrialResult{Measurement: m, Profile: prof}
	if prof != nil {
		res.Stacks = prof.Stacks
	}
	if perr != nil {
		res.ProfileErr = perr.Error()
	}
	if err != nil {
		var be *benchrig.Error
		we := &wireError{Code: benchrig.ErrorCode(err), Msg: err.Error()}
		if errors.As(err, &be) {
			we.Retryable = be.Retryable
		}
		res.Err = we
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = out.Write(append(b, '\n'))
	return err
}

var _ runner.Profiler = (*SwarmExecutor)(nil)

// CheckProfiling says whether trials on this pool can be profiled: its
// policy must allow the node's profiler and it must name benchrig's image
// (swarm.collector.image), which runs the helper. perf itself is checked
// on the node, at the first profiled trial.
func (x *SwarmExecutor) CheckProfiling(ctx context.Context, s profiling.Sampling) (wall, cpu time.Duration, err error) {
	switch {
	case !x.sw.cfg.Policy.Profiler:
		return 0, 0, fmt.Errorf("pool %s's policy does not allow the node's profiler (policy: {profiler: true})", x.sw.cfg.Pool)
	case x.sw.cfg.CollectorImage == "":
		return 0, 0, fmt.Errorf("pool %s names no benchrig image (swarm: {collector: {image: ...}}), which runs a profiled trial on its node", x.sw.cfg.Pool)
	}
	return 0, 0, nil
}

// RunProfiled runs job on the node through the helper task, profiled as
// s says (see the section above). Metrics beyond the helper's own (those
// of the Docker executor on the node) are helper_total_s, the helper
// task's create call to its end.
func (x *SwarmExecutor) RunProfiled(ctx context.Context, job runner.Job, s profiling.Sampling) (benchrig.Measurement, *benchrig.TrialProfile, error, error) {
	if err := x.Check(job); err != nil {
		return benchrig.Measurement{}, nil, nil, err
	}
	cancelled := benchrig.Measurement{Start: time.Now().Round(0), ExitCode: -1, Error: "cancelled"}
	if ctx.Err() != nil {
		return cancelled, nil, nil, nil
	}
	if _, _, err := x.CheckProfiling(ctx, s); err != nil {
		return benchrig.Measurement{}, nil, nil, x.invalid("%v", err)
	}
	arch := ""
	if x.node.Facts.ArchDeclared {
		arch = x.node.Facts.Arch
	}
	req := SwarmTrial{Node: x.node.Facts.Name, Pool: x.sw.cfg.Pool, Arch: arch, Policy: x.sw.cfg.Policy, Owner: x.sw.base.owner, Sampling: s,
		Job: swarmJob{Argv: job.Argv, Env: job.Env, Dir: job.Dir, Timeout: job.Timeout, DigestStdout: job.DigestStdout, Ref: job.Ref, Container: *job.Container}}
	data, err := json.Marshal(req)
	if err != nil {
		return benchrig.Measurement{}, nil, nil, err
	}
	jobs, err := x.sw.useJobs(ctx)
	if err != nil {
		return benchrig.Measurement{}, nil, nil, err
	}
	sock := x.sw.cfg.DockerSocket
	if sock == "" {
		sock = "/var/run/docker.sock"
	}
	labels := map[string]string{runner.LabelOwner: x.sw.base.owner, LabelRole: "profiled-trial"}
	for k, v := range job.Container.Labels {
		labels[k] = v
	}
	grace := 15 * time.Second // the helper removes its trial container when stopped
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "benchrig-prof-" + serviceSuffix(16), Labels: labels},
		Mode:        serviceMode(jobs),
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image: x.sw.cfg.CollectorImage, Labels: labels, Command: []string{"benchrig", "swarm-trial"},
				Env:             []string{SwarmTrialEnv + "=" + string(data)},
				Mounts:          []mount.Mount{{Type: mount.TypeBind, Source: sock, Target: "/var/run/docker.sock"}},
				StopGracePeriod: &grace,
			},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
			Placement:     &swarm.Placement{Constraints: []string{"node.id==" + x.node.ID}},
			LogDriver:     &swarm.Driver{Name: "json-file"},
		},
	}
	metrics := map[string]float64{}
	t0 := time.Now()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
	created, err := x.sw.base.cli.ServiceCreate(cctx, client.ServiceCreateOptions{Spec: spec})
	cancel()
	if err != nil {
		return benchrig.Measurement{}, nil, nil, x.sw.base.apiErr(cctx, "create the profiled trial's helper service", err)
	}
	id := created.ID
	x.sw.mu.Lock()
	x.sw.services[id] = struct{}{}
	x.sw.mu.Unlock()
	defer x.sw.removeLater(id)
	timeout := time.Duration(0)
	if job.Timeout > 0 {
		timeout = job.Timeout + 2*time.Minute // the helper's own work: the profiler, perf's read
	}
	task, err := x.await(ctx, id, timeout, t0, metrics)
	if err != nil {
		return benchrig.Measurement{}, nil, nil, err
	}
	if task == nil {
		return cancelled, nil, nil, nil
	}
	st := task.Status
	if st.State == swarm.TaskStateShutdown || st.State == swarm.TaskStateOrphaned || st.State == swarm.TaskStateRemove {
		return benchrig.Measurement{}, nil, nil, x.unavailable(fmt.Sprintf("the profiled trial's helper task %s was %s before it finished: %s", short(task.ID), st.State, cmp.Or(st.Err, st.Message)), nil)
	}
	out, stderr, err := x.taskLogs(ctx, task.ID)
	if err != nil {
		return benchrig.Measurement{}, nil, nil, err
	}
	var res SwarmTrialResult
	line := bytes.TrimSpace(out)
	if i := bytes.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	if err := json.Unmarshal(line, &res); err != nil {
		return benchrig.Measurement{}, nil, nil, &benchrig.Error{Code: benchrig.EInternal,
			Msg: fmt.Sprintf("swarm node %s: the profiled trial's helper (image %s) ended %s without a result: %s %s", x.node.Facts.Name, x.sw.cfg.CollectorImage,
				st.State, cmp.Or(st.Err, st.Message), strings.TrimSpace(tailString(stderr, 512))), Err: err}
	}
	if res.Err != nil {
		return res.Measurement, nil, nil, &benchrig.Error{Code: res.Err.Code, Retryable: res.Err.Retryable, Msg: res.Err.Msg}
	}
	m := res.Measurement
	if m.Metrics == nil {
		m.Metrics = map[string]float64{}
	}
	m.Metrics["helper_total_s"] = time.Since(t0).Seconds()
	var perr error
	if res.ProfileErr != "" {
		perr = errors.New(res.ProfileErr)
	}
	if res.Profile != nil {
		res.Profile.Stacks = res.Stacks
	}
	return m, res.Profile, perr, nil
}
