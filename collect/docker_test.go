package collect

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
)

// FakeDocker is a DockerClient made of functions.
type FakeDocker struct {
	EventsFn           func(ctx context.Context, opts client.EventsListOptions) client.EventsResult
	ContainerListFn    func(ctx context.Context, opts client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerInspectFn func(ctx context.Context, id string, opts client.ContainerInspectOptions) (client.ContainerInspectResult, error)
}

var _ DockerClient = (*FakeDocker)(nil)

func (f *FakeDocker) Events(ctx context.Context, o client.EventsListOptions) client.EventsResult {
	return f.EventsFn(ctx, o)
}

func (f *FakeDocker) ContainerList(ctx context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
	return f.ContainerListFn(ctx, o)
}

func (f *FakeDocker) ContainerInspect(ctx context.Context, id string, o client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	return f.ContainerInspectFn(ctx, id, o)
}

// TestWatchDockerEvents feeds engine events to WatchDocker: each becomes a
// ContainerEvent with its trial and exit code, a trial container's start is
// watched (its first sample at once) and its die unwatches it.
func TestWatchDockerEvents(t *testing.T) {
	root, proc := t.TempDir(), t.TempDir()
	writeFile(t, root+"/cpuacct", "cpuacct.usage", "100\n")
	writeFile(t, root+"/cpuacct/benchrig-lab1/c1", "cpuacct.usage", "7\n")
	writeFile(t, proc+"/4242", "cgroup", "2:cpuacct:/benchrig-lab1/c1\n")
	c := newTest(t, Config{CgroupRoot: root, ProcRoot: proc, Sink: &memSink{}, Run: "r1"})
	ref := benchrig.TrialRef{Run: "r1", Case: "c", Rep: 3}
	labels := map[string]string{runner.LabelRun: "r1", runner.LabelTrial: ref.String(), ParamLabelPrefix + "size": "1M"}
	msgs := make(chan events.Message)
	var filters client.Filters
	fake := &FakeDocker{
		EventsFn: func(ctx context.Context, o client.EventsListOptions) client.EventsResult {
			filters = o.Filters
			return client.EventsResult{Messages: msgs, Err: make(chan error)}
		},
		ContainerListFn: func(context.Context, client.ContainerListOptions) (client.ContainerListResult, error) {
			return client.ContainerListResult{}, nil
		},
		ContainerInspectFn: func(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
			if id != "c1" {
				return client.ContainerInspectResult{}, nil
			}
			return client.ContainerInspectResult{Container: container.InspectResponse{
				ID: "c1", Name: "/trial-c1", State: &container.State{Running: true, Pid: 4242}, Config: &container.Config{Labels: labels},
			}}, nil
		},
	}
	got := make(chan ContainerEvent)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- WatchDocker(ctx, fake, c, func(e ContainerEvent) { got <- e }) }()

	at := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	send := func(action events.Action, id string, attrs map[string]string) {
		msgs <- events.Message{Type: events.ContainerEventType, Action: action, Actor: events.Actor{ID: id, Attributes: attrs}, TimeNano: at.UnixNano()}
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{"name": "trial-c1"}
		for k, v := range labels {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	send(events.ActionCreate, "c1", with(nil))
	if e := <-got; e.Action != ContainerCreate || e.ID != "c1" || e.Name != "trial-c1" || e.Ref == nil || *e.Ref != ref || e.Run != "r1" || !e.Time.Equal(at) {
		t.Errorf("create: %+v", e)
	}
	send(events.ActionStart, "c1", with(nil))
	if e := <-got; e.Action != ContainerStart {
		t.Errorf("start: %+v", e)
	}
	if cost := c.Cost(); cost.Targets != 1 || cost.Samples != 1 {
		t.Errorf("after start: %+v, want one target with its first sample", cost)
	}
	send(events.ActionOOM, "c1", with(nil))
	if e := <-got; e.Action != ContainerOOM {
		t.Errorf("oom: %+v", e)
	}
	send(events.ActionDie, "c1", with(map[string]string{"exitCode": "137"}))
	if e := <-got; e.Action != ContainerDie || e.ExitCode == nil || *e.ExitCode != 137 {
		t.Errorf("die: %+v", e)
	}
	// A setup container: reported without a trial, never watched.
	send(events.ActionStart, "s1", map[string]string{runner.LabelRun: "r1", runner.LabelTrial: "setup", "name": "setup"})
	if e := <-got; e.Action != ContainerStart || e.Ref != nil || e.ID != "s1" {
		t.Errorf("setup start: %+v", e)
	}
	send(events.ActionDestroy, "c1", with(nil)) // not reported
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	left := len(c.targets)
	c.mu.Unlock()
	if left != 0 {
		t.Errorf("%d containers still watched after die", left)
	}
	if !filters["label"][runner.LabelRun+"=r1"] || !filters["type"]["container"] || !filters["event"]["oom"] {
		t.Errorf("filters %v: want this run's containers and their oom events", filters)
	}
	// Run never ran: the first sample waits in the buffer.
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.buf) != 1 {
		t.Fatalf("buffered %d samples, want the first one of c1", len(c.buf))
	}
	s := c.buf[0]
	if s.ContainerID != "c1" || s.ContainerName != "trial-c1" || s.Seq != 1 || s.Params["size"] != "1M" || s.Cgroup == nil || s.Cgroup.CPU == nil || *s.Cgroup.CPU != 7 {
		t.Errorf("first sample %+v", s)
	}
}
