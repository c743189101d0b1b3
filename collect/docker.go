package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
)

// ContainerAction is what happened to a benchmark container.
type ContainerAction int

const (
	ContainerCreate ContainerAction = iota + 1
	ContainerStart
	ContainerDie
	ContainerOOM
)

var containerActionNames = map[ContainerAction]string{
	ContainerCreate: "create", ContainerStart: "start", ContainerDie: "die", ContainerOOM: "oom",
}

func (a ContainerAction) String() string {
	if s, ok := containerActionNames[a]; ok {
		return s
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

func (a ContainerAction) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

func (a *ContainerAction) UnmarshalText(b []byte) error {
	for k, n := range containerActionNames {
		if n == string(b) {
			*a = k
			return nil
		}
	}
	return benchrig.Errorf(benchrig.EInvalid, "unknown container action %q", b)
}

// ContainerEvent is a Docker event of a benchmark container, for the run's
// event log.
type ContainerEvent struct {
	Time   time.Time       `json:"time"`
	Action ContainerAction `json:"action"`
	ID     string          `json:"id"`
	Name   string          `json:"name,omitempty"`
	// Run is the container's benchrig.run label; Ref its trial, nil for a
	// container that runs no trial (a case's setup, a prepare step).
	Run string             `json:"run"`
	Ref *benchrig.TrialRef `json:"trial,omitempty"`
	// ExitCode is set on die.
	ExitCode *int `json:"exit_code,omitempty"`
}

// DockerClient is what WatchDocker uses of a Docker engine;
// *client.Client (github.com/moby/moby/client) has it.
type DockerClient interface {
	Events(ctx context.Context, opts client.EventsListOptions) client.EventsResult
	ContainerList(ctx context.Context, opts client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerInspect(ctx context.Context, id string, opts client.ContainerInspectOptions) (client.ContainerInspectResult, error)
}

var _ DockerClient = (*client.Client)(nil)

// ParamLabelPrefix starts the labels that carry a trial's case params on
// its container ("benchrig.param.size=1M"), when the executor sets them.
const ParamLabelPrefix = "benchrig.param."

// watchRetry is how long WatchDocker waits before subscribing again after
// the engine's event stream broke; the new subscription starts where the
// last event was, so nothing is missed in between.
const watchRetry = time.Second

// WatchDocker follows the engine's events of containers labelled
// benchrig.run (only the collector's Run when it is set) until ctx ends:
// on start it inspects the container, finds its cgroup through ProcRoot and
// the container's pid, and Watches it (one sample at once); on die or
// destroy it Unwatches it. create, start, die (with the exit code) and oom
// go to onEvent (nil for none), from WatchDocker's goroutine. Containers
// already running when it starts are watched too. Containers without a
// trial reference (setup, prepare) are reported but not sampled.
//
// It subscribes (from the time of the call) before it lists, so a container
// that starts in between is seen at least once; events are read as the engine sends them, so a
// container that lives 50 ms still has its start and die. A broken stream
// is subscribed again from its last event. It returns nil when ctx ends,
// and an error when the engine cannot be reached at the start.
func WatchDocker(ctx context.Context, cli DockerClient, c *Collector, onEvent func(ContainerEvent)) error {
	return WatchDockerSince(ctx, cli, c, time.Time{}, onEvent)
}

// WatchDockerSince is WatchDocker replaying the engine's events from
// since (the start of the run, for a collector started when the run first
// used the node); the zero time means from the call.
func WatchDockerSince(ctx context.Context, cli DockerClient, c *Collector, since time.Time, onEvent func(ContainerEvent)) error {
	if since.IsZero() {
		since = time.Now()
	}
	label := runner.LabelRun
	if c.cfg.Run != "" {
		label += "=" + c.cfg.Run
	}
	filters := client.Filters{}.Add("type", string(events.ContainerEventType)).
		Add("label", label).
		Add("event", "create", "start", "die", "oom", "destroy")
	sub := func(since string) (context.CancelFunc, client.EventsResult) {
		sctx, cancel := context.WithCancel(ctx)
		return cancel, cli.Events(sctx, client.EventsListOptions{Filters: filters, Since: since})
	}
	// Since now: the engine replays what happened between this call and
	// the subscription, so a container started right after WatchDocker
	// was called is seen even if the subscription took a while.
	cancel, res := sub(sinceArg(since.UnixNano()))
	defer func() { cancel() }()

	list, err := cli.ContainerList(ctx, client.ContainerListOptions{Filters: client.Filters{}.Add("label", label).Add("status", "running")})
	if err != nil {
		return fmt.Errorf("list benchmark containers: %w", err)
	}
	for _, it := range list.Items {
		watchContainer(ctx, cli, c, it.ID)
	}

	var last int64 // TimeNano of the last event read
	for {
		select {
		case <-ctx.Done():
			drainEvents(cli, filters, after(since, last), c, onEvent)
			return nil
		case m := <-res.Messages:
			last = max(last, m.TimeNano)
			handleEvent(ctx, cli, c, m, onEvent, true)
		case err := <-res.Err:
			if ctx.Err() != nil { // the stream ended because we stop
				drainEvents(cli, filters, after(since, last), c, onEvent)
				return nil
			}
			c.warn(fmt.Sprintf("docker events: %v (subscribing again)", err))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(watchRetry):
			}
			cancel()
			since := time.Now().UnixNano()
			if last > 0 {
				since = last + 1 // the last one was handled
			}
			cancel, res = sub(sinceArg(since))
		}
	}
}

// after is where a new subscription starts: after the last event read,
// else at since.
func after(since time.Time, last int64) int64 {
	if last > 0 {
		return last + 1
	}
	return since.UnixNano()
}

// drainTimeout bounds the last catch-up with the engine when the
// collector stops.
const drainTimeout = 5 * time.Second

// drainEvents reports the events from the engine's log between from and
// now that the stream had not delivered yet when the collector was told
// to stop, so that the die of a run's last container, which happens just
// before the run ends, is not lost to the race. It samples nothing more.
func drainEvents(cli DockerClient, filters client.Filters, from int64, c *Collector, onEvent func(ContainerEvent)) {
	if onEvent == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	res := cli.Events(ctx, client.EventsListOptions{Filters: filters, Since: sinceArg(from), Until: sinceArg(time.Now().UnixNano())})
	for {
		select {
		case m := <-res.Messages:
			handleEvent(ctx, cli, c, m, onEvent, false)
		case err := <-res.Err:
			if err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
				c.warn(fmt.Sprintf("docker events at stop: %v", err))
			}
			return
		case <-ctx.Done():
			c.warn("docker events at stop: the engine did not answer in time; the last container events may be missing")
			return
		}
	}
}

// sinceArg renders a time as the engine's events API takes it.
func sinceArg(unixNano int64) string {
	return fmt.Sprintf("%d.%09d", unixNano/1e9, unixNano%1e9)
}

// handleEvent reports m and, when watch is set, starts or stops sampling
// its container.
func handleEvent(ctx context.Context, cli DockerClient, c *Collector, m events.Message, onEvent func(ContainerEvent), watch bool) {
	attrs := m.Actor.Attributes
	e := ContainerEvent{Time: time.Unix(0, m.TimeNano), ID: m.Actor.ID, Name: attrs["name"], Run: attrs[runner.LabelRun]}
	if ref, err := benchrig.ParseTrialRef(attrs[runner.LabelTrial]); err == nil {
		e.Ref = &ref
	}
	switch m.Action {
	case events.ActionCreate:
		e.Action = ContainerCreate
	case events.ActionStart:
		e.Action = ContainerStart
		if watch {
			watchContainer(ctx, cli, c, m.Actor.ID)
		}
	case events.ActionDie:
		e.Action = ContainerDie
		if code, err := strconv.Atoi(attrs["exitCode"]); err == nil {
			e.ExitCode = &code
		}
		if watch {
			c.Unwatch(m.Actor.ID)
		}
	case events.ActionOOM:
		e.Action = ContainerOOM
	case events.ActionDestroy:
		if watch {
			c.Unwatch(m.Actor.ID)
		}
		return
	default:
		return
	}
	if onEvent != nil {
		onEvent(e)
	}
}

// watchContainer inspects a started container and watches its cgroup. A
// container that already exited (it lived less than the inspect took) is
// left to its die event and its shim.
func watchContainer(ctx context.Context, cli DockerClient, c *Collector, id string) {
	res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil || res.Container.State == nil || !res.Container.State.Running || res.Container.State.Pid == 0 || res.Container.Config == nil {
		return
	}
	labels := res.Container.Config.Labels
	ref, err := benchrig.ParseTrialRef(labels[runner.LabelTrial])
	if err != nil {
		return // setup, cleanup or prepare: no trial to sample for
	}
	var params map[string]string
	for k, v := range labels {
		if p, ok := strings.CutPrefix(k, ParamLabelPrefix); ok {
			if params == nil {
				params = map[string]string{}
			}
			params[p] = v
		}
	}
	t := ContainerTarget{
		ID: res.Container.ID, Name: strings.TrimPrefix(res.Container.Name, "/"),
		PID: res.Container.State.Pid, Ref: ref, Params: params,
	}
	err = c.Watch(t)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		// Usually gone between inspect and the read of its /proc entry,
		// which its die event follows. But if the engine still says it
		// runs, its processes are not in our /proc: the engine is on
		// another host, and this collector can sample none of its
		// containers. Said once.
		again, ierr := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if ierr == nil && again.Container.State != nil && again.Container.State.Running {
			c.warnOnce("containers are not visible from this collector's /proc (the engine runs on another host?): run `benchrig collector` on the node itself, with the host's /proc and cgroup tree")
		}
	default:
		c.warn(err.Error())
	}
}
