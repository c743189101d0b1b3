package docker

import (
	"cmp"
	"context"
	"io"
	"strings"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/benchrig/benchrig/runner"
)

// LabelRole says what a benchrig service is when it is not a trial:
// "collector" for a run's collectors.
const LabelRole = "benchrig.role"

// CollectorSpec is a run's collector service on a cluster: `benchrig
// collector` in Image on every node (a global service), following the
// node's engine through its socket (DockerSocket, which may hold Swarm's
// templates such as {{.Node.Hostname}}; "" means /var/run/docker.sock)
// and reading the host's /proc and cgroup tree, mounted read-only. Its
// stream (samples, container events, its cost) comes back through the
// service's logs.
type CollectorSpec struct {
	Image        string
	DockerSocket string
	RunID        string
	Interval     time.Duration
	Since        time.Time // replay the engines' container events from then
}

// collectorStopGrace is how long a collector has, once told to stop
// (SIGTERM), to take its last samples and write its cost.
const collectorStopGrace = 10 * time.Second

// StartCollector creates the run's collector service and returns its ID.
func (s *Swarm) StartCollector(ctx context.Context, c CollectorSpec) (string, error) {
	sock := c.DockerSocket
	if sock == "" {
		sock = "/var/run/docker.sock"
	}
	labels := map[string]string{runner.LabelOwner: s.base.owner, runner.LabelRun: c.RunID, LabelRole: "collector"}
	args := []string{"collector", "--mode", "external", "--docker", "unix:///var/run/docker.sock",
		"--run", c.RunID, "--interval", c.Interval.String(), "--since", c.Since.UTC().Format(time.RFC3339Nano),
		"--proc-root", "/host/proc", "--cgroup-root", "/host/cgroup", "--ignore-stdin"}
	grace := collectorStopGrace
	attempts := uint64(3)
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "benchrig-collector-" + serviceSafe(c.RunID) + "-" + serviceSuffix(6), Labels: labels},
		Mode:        swarm.ServiceMode{Global: &swarm.GlobalService{}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image: c.Image, Labels: labels, Command: []string{"benchrig"}, Args: args,
				// The node's name on every sample: the collector's
				// default is its host name.
				Hostname: "{{.Node.Hostname}}",
				Mounts: []mount.Mount{
					{Type: mount.TypeBind, Source: "/proc", Target: "/host/proc", ReadOnly: true},
					{Type: mount.TypeBind, Source: "/sys/fs/cgroup", Target: "/host/cgroup", ReadOnly: true},
					{Type: mount.TypeBind, Source: sock, Target: "/var/run/docker.sock", ReadOnly: true},
				},
				StopGracePeriod: &grace,
			},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure, MaxAttempts: &attempts},
			LogDriver:     &swarm.Driver{Name: "json-file"},
		},
	}
	cctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	created, err := s.base.cli.ServiceCreate(cctx, client.ServiceCreateOptions{Spec: spec})
	if err != nil {
		return "", s.base.apiErr(cctx, "create the collector service", err)
	}
	s.mu.Lock()
	s.services[created.ID] = struct{}{}
	s.mu.Unlock()
	return created.ID, nil
}

// CollectorLogs follows the collector service's output, multiplexed
// (stdout and stderr), each line prefixed by its details
// ("com.docker.swarm.node.id=ID,... "), until ctx ends or the service goes.
func (s *Swarm) CollectorLogs(ctx context.Context, id string) (io.ReadCloser, error) {
	rc, err := s.base.cli.ServiceLogs(ctx, id, client.ServiceLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true, Details: true})
	if err != nil {
		return nil, s.base.apiErr(ctx, "follow the collector's logs", err)
	}
	return rc, nil
}

// StopCollector tells every task of the collector service to stop: an
// update no node satisfies shuts each down (SIGTERM), and the collector
// writes its last samples and its cost before it exits.
func (s *Swarm) StopCollector(ctx context.Context, id string) error {
	cctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	res, err := s.base.cli.ServiceInspect(cctx, id, client.ServiceInspectOptions{})
	if err != nil {
		return s.base.apiErr(cctx, "inspect the collector service", err)
	}
	spec := res.Service.Spec
	if spec.TaskTemplate.Placement == nil {
		spec.TaskTemplate.Placement = &swarm.Placement{}
	}
	spec.TaskTemplate.Placement.Constraints = append(spec.TaskTemplate.Placement.Constraints, "node.labels.benchrig.stopped==true")
	if _, err := s.base.cli.ServiceUpdate(cctx, id, client.ServiceUpdateOptions{Version: res.Service.Version, Spec: spec}); err != nil {
		return s.base.apiErr(cctx, "stop the collector service", err)
	}
	return nil
}

// CollectorTask is one node's collector task as Swarm last saw it.
type CollectorTask struct {
	NodeID string
	State  string
	Err    string
}

// CollectorTasks lists the collector service's tasks (a node's restarts
// included).
func (s *Swarm) CollectorTasks(ctx context.Context, id string) ([]CollectorTask, error) {
	cctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	res, err := s.base.cli.TaskList(cctx, client.TaskListOptions{Filters: client.Filters{}.Add("service", id)})
	if err != nil {
		return nil, s.base.apiErr(cctx, "list the collector's tasks", err)
	}
	items := res.Items
	out := make([]CollectorTask, 0, len(items))
	for i := range items {
		t := items[i]
		out = append(out, CollectorTask{NodeID: t.NodeID, State: string(t.Status.State), Err: cmp.Or(t.Status.Err, t.Status.Message)})
	}
	return out, nil
}

// RemoveService removes a service benchrig made (best effort, bounded).
func (s *Swarm) RemoveService(id string) { s.removeNow(id) }

// serviceSafe keeps what a service name may hold.
func serviceSafe(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		}
	}
	if b.Len() > 30 {
		return b.String()[:30]
	}
	return b.String()
}
