package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/collect"
	"github.com/benchrig/benchrig/internal/testenv"
	"github.com/benchrig/benchrig/runner"
)

func TestCollectorCommandBadFlags(t *testing.T) {
	c := newCLI(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"collector", "--no-docker", "--interval", "10ms"}, "below the minimum of 100ms"},
		{[]string{"collector", "--no-docker", "--mode", "daemon"}, `--mode "daemon"`},
	} {
		code, _, stderr := c.runStdin("", tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 saying %q", tt.args, code, stderr, tt.want)
		}
	}
}

// TestCollectorCommandStdinEOF: with its stdin already closed the collector
// stops at once, after its final host and collector samples and its cost.
func TestCollectorCommandStdinEOF(t *testing.T) {
	c := newCLI(t)
	code, stdout, stderr := c.runStdin("", "collector", "--no-docker", "--node", "n1", "--arch", "arm64",
		"--proc-root", "../../collect/testdata/host/proc", "--cgroup-root", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var samples []benchrig.Sample
	var costs []benchrig.CollectorCost
	if err := collect.DecodeStream(strings.NewReader(stdout), func(s benchrig.Sample) { samples = append(samples, s) }, nil,
		func(c benchrig.CollectorCost) { costs = append(costs, c) }); err != nil {
		t.Fatal(err)
	}
	if len(samples) != 2 || samples[0].Kind != benchrig.SampleHost || !samples[0].Final || samples[0].Host == nil || samples[0].Host.CPUs != 2 ||
		samples[1].Kind != benchrig.SampleCollector || samples[0].Node != "n1" || samples[0].Arch != "arm64" {
		t.Errorf("samples: %+v", samples)
	}
	if len(costs) != 1 || costs[0].Mode != collect.ModeExternal || costs[0].Node != "n1" || costs[0].CPU <= 0 {
		t.Errorf("costs: %+v", costs)
	}
}

// TestCollectorCommandLab runs the collector as a run would start it: it
// reports a labelled container's events and samples, and stops when its
// stdin closes.
func TestCollectorCommandLab(t *testing.T) {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		testenv.Skip(t, "DOCKER_HOST is unset: no Docker engine to test against (make testenv starts the test lab; make test sets it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runID := runner.NewID(time.Now()) + "-cmd"
	stdinR, stdinW := io.Pipe()
	stdoutR, stdoutW := io.Pipe()
	var stderr strings.Builder
	d := newCLI(t).deps(stdoutW, &stderr)
	d.stdin = stdinR
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, d, []string{"collector", "--docker", host, "--node", "lab1", "--run", runID, "--interval", "100ms", "--mode", "process"})
		stdoutW.Close()
	}()

	cli, err := client.New(client.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ref := benchrig.TrialRef{Run: runID, Case: "c", Rep: 0}
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: "benchrig/busybox:amd64", Cmd: []string{"sleep", "0.5"}, Labels: map[string]string{runner.LabelRun: runID, runner.LabelTrial: ref.String()}},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ContainerRemove(context.Background(), res.ID, client.ContainerRemoveOptions{Force: true})
	if _, err := cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}

	var actions []string
	samples, costs := 0, 0
	sc := bufio.NewScanner(stdoutR)
	for sc.Scan() {
		err := collect.DecodeStream(strings.NewReader(sc.Text()),
			func(s benchrig.Sample) {
				if s.ContainerID == res.ID {
					samples++
				}
			},
			func(e collect.ContainerEvent) {
				if e.ID != res.ID {
					return
				}
				actions = append(actions, e.Action.String())
				if e.Action == collect.ContainerDie {
					stdinW.Close() // as a run stops its child collector
				}
			},
			func(benchrig.CollectorCost) { costs++ })
		if err != nil {
			t.Fatal(err)
		}
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if got := strings.Join(actions, ","); got != "create,start,die" {
		t.Errorf("events %s, want create,start,die", got)
	}
	if samples == 0 || costs != 1 {
		t.Errorf("%d samples of the container, %d cost lines; want some and 1", samples, costs)
	}
	if stderr.Len() > 0 {
		t.Logf("stderr: %s", stderr.String())
	}
}
