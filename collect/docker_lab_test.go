package collect

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/testenv"
	"github.com/benchrig/benchrig/runner"
)

func labClient(t *testing.T) *client.Client {
	t.Helper()
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		testenv.Skip(t, "DOCKER_HOST is unset: no Docker engine to test against (make testenv starts the test lab; make test sets it)")
	}
	cli, err := client.New(client.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// startLabelled creates and starts a labelled container running argv and
// returns its id; the container is removed when the test ends.
func startLabelled(t *testing.T, ctx context.Context, cli *client.Client, ref benchrig.TrialRef, argv ...string) string {
	t.Helper()
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: "benchrig/busybox:amd64", Cmd: argv, Labels: map[string]string{
			runner.LabelRun: ref.Run, runner.LabelCase: ref.Case, runner.LabelTrial: ref.String(),
			ParamLabelPrefix + "n": fmt.Sprint(ref.Rep),
		}},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true})
	})
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	return res.ID
}

// TestDockerWatchLab runs short labelled containers on the lab's first
// node while the collector watches its events: every one has its start and
// die, the one that runs a second has samples, and everything stops
// cleanly.
func TestDockerWatchLab(t *testing.T) {
	cli := labClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runID := runner.NewID(time.Now()) + "-collect"
	sink := &memSink{}
	c, err := New(Config{Run: runID, Node: "lab1", Arch: "amd64", Interval: MinInterval, FlushEvery: MinInterval, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	runDone, watchDone := make(chan error, 1), make(chan error, 1)
	go func() { runDone <- c.Run(runCtx) }()
	var mu sync.Mutex
	seen := map[string]map[ContainerAction]ContainerEvent{}
	changed := make(chan struct{}, 1)
	go func() {
		watchDone <- WatchDocker(runCtx, cli, c, func(e ContainerEvent) {
			mu.Lock()
			if seen[e.ID] == nil {
				seen[e.ID] = map[ContainerAction]ContainerEvent{}
			}
			seen[e.ID][e.Action] = e
			mu.Unlock()
			select {
			case changed <- struct{}{}:
			default:
			}
		})
	}()

	loop := `i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done`
	refs := map[string]benchrig.TrialRef{}
	start := func(rep int, argv ...string) string {
		ref := benchrig.TrialRef{Run: runID, Case: "short", Rep: rep}
		id := startLabelled(t, ctx, cli, ref, argv...)
		refs[id] = ref
		return id
	}
	for rep := range 3 {
		start(rep, "sh", "-c", loop)
	}
	start(3, "true")
	second := start(4, "sleep", "1")

	// Wait for every container's die event.
	for {
		mu.Lock()
		dead := 0
		for id := range refs {
			if _, ok := seen[id][ContainerDie]; ok {
				dead++
			}
		}
		mu.Unlock()
		if dead == len(refs) {
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("%d of %d containers died before the timeout; events: %+v", dead, len(refs), seen)
		}
	}
	stopRun()
	if err := <-runDone; err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := <-watchDone; err != nil {
		t.Errorf("WatchDocker: %v", err)
	}

	for id, ref := range refs {
		for _, a := range []ContainerAction{ContainerCreate, ContainerStart, ContainerDie} {
			e, ok := seen[id][a]
			if !ok {
				t.Errorf("container %s (%s): no %s event", id[:12], ref, a)
				continue
			}
			if e.Ref == nil || *e.Ref != ref || e.Run != runID || e.Name == "" {
				t.Errorf("%s event %+v: want trial %s of run %s with a name", a, e, ref, runID)
			}
		}
		if e := seen[id][ContainerDie]; e.ExitCode == nil || *e.ExitCode != 0 {
			t.Errorf("container %s die: exit code %v, want 0", ref, e.ExitCode)
		}
	}
	var samples []benchrig.Sample
	for _, s := range sink.all() {
		if s.ContainerID == second {
			samples = append(samples, s)
		}
		// A container's cgroup goes before its die event: a reading of
		// the removed cgroup ends its sampling instead of being shipped.
		if s.ContainerID != "" && s.Error != "" {
			t.Errorf("container sample with an error: %+v", s)
		}
	}
	if len(samples) == 0 {
		t.Fatalf("no sample of the container that ran 1 s")
	}
	for i, s := range samples {
		if s.Seq != int64(i+1) || s.Final || s.Trial == nil || *s.Trial != refs[second] || s.Params["n"] != "4" || s.ContainerName == "" {
			t.Errorf("sample %d: %+v", i, s)
		}
		if s.Error == "" && (s.Cgroup == nil || s.Cgroup.CPU == nil) {
			t.Errorf("sample %d without CPU or error: %+v", i, s)
		}
	}
	if samples[0].Error != "" {
		t.Errorf("first sample, taken at start: %s", samples[0].Error)
	}
	cost := c.Cost()
	t.Logf("%d samples of the 1 s container; collector cost %+v (%.3f%% of a core); warnings %v", len(samples), cost, 100*cost.CPUShare(), c.Warnings())
	if cost.Dropped != 0 {
		t.Errorf("dropped %d samples", cost.Dropped)
	}
}

// TestDockerWatchLabAlreadyRunning: a collector started late still samples
// a benchmark container that was running before it.
func TestDockerWatchLabAlreadyRunning(t *testing.T) {
	cli := labClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runID := runner.NewID(time.Now()) + "-late"
	ref := benchrig.TrialRef{Run: runID, Case: "late", Rep: 0}
	id := startLabelled(t, ctx, cli, ref, "sleep", "30")

	sink, got := chanSink(100)
	c, err := New(Config{Run: runID, Node: "lab1", Interval: MinInterval, FlushEvery: MinInterval, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	runDone, watchDone := make(chan error, 1), make(chan error, 1)
	go func() { runDone <- c.Run(rctx) }()
	go func() { watchDone <- WatchDocker(rctx, cli, c, nil) }()
	for {
		var s benchrig.Sample
		select {
		case s = <-got:
		case <-ctx.Done():
			t.Fatal("no sample of the container running before the collector started")
		}
		if s.ContainerID == id {
			if s.Trial == nil || *s.Trial != ref || s.Error != "" || s.Cgroup == nil || s.Cgroup.CPU == nil {
				t.Errorf("sample %+v", s)
			}
			break
		}
	}
	stop()
	if err := <-runDone; err != nil {
		t.Error(err)
	}
	if err := <-watchDone; err != nil {
		t.Error(err)
	}
}
