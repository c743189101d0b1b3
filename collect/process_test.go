package collect

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/benchrig/benchrig"
)

// TestMain lets the test binary stand in for `benchrig collector` in the
// tests of Process: BENCHRIG_FAKE_COLLECTOR says how to behave.
func TestMain(m *testing.M) {
	switch os.Getenv("BENCHRIG_FAKE_COLLECTOR") {
	case "":
		os.Exit(m.Run())
	case "good":
		w := NewStreamWriter(os.Stdout)
		ref := benchrig.TrialRef{Run: "r", Case: "c"}
		for i := int64(1); i <= 3; i++ {
			_ = w.WriteSamples(context.Background(), []benchrig.Sample{{Run: "r", Node: "n1", Kind: benchrig.SampleTrial, Trial: &ref, Seq: i}})
		}
		_ = w.WriteEvent(ContainerEvent{Action: ContainerStart, ID: "abc", Run: "r", Ref: &ref})
		fmt.Fprintln(os.Stderr, "benchrig collector: warning: something it could not read")
		_, _ = io.Copy(io.Discard, os.Stdin) // until the run closes our stdin
		_ = w.WriteSamples(context.Background(), []benchrig.Sample{{Run: "r", Node: "n1", Kind: benchrig.SampleHost, Final: true}})
		_ = w.WriteCost(benchrig.CollectorCost{Node: "n1", Mode: ModeProcess, Samples: 4})
		os.Exit(0)
	case "garbage":
		fmt.Println("not a record")
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	case "dies":
		os.Exit(3)
	}
}

type sinkFunc func([]benchrig.Sample) error

func (f sinkFunc) WriteSamples(_ context.Context, s []benchrig.Sample) error { return f(s) }

func fakeProcess(t *testing.T, mode string) *Process {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &Process{Node: "n1", Path: exe, Args: []string{"-test.run=^$"}, Env: append(os.Environ(), "BENCHRIG_FAKE_COLLECTOR="+mode)}
}

// TestProcess: the child's samples reach the sink (its final ones, taken
// when the run closed its stdin, too), its events reach onEvent, its cost
// and its warnings are kept.
func TestProcess(t *testing.T) {
	p := fakeProcess(t, "good")
	var mu sync.Mutex
	var got []benchrig.Sample
	sink := sinkFunc(func(s []benchrig.Sample) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, s...)
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan ContainerEvent, 1)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, sink, func(e ContainerEvent) { started <- e }) }()
	if e := <-started; e.ID != "abc" || e.Action != ContainerStart {
		t.Errorf("event %+v", e)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || !got[3].Final {
		t.Errorf("samples %+v, want 3 periodic then the final one", got)
	}
	if c, ok := p.Cost(); !ok || c.Samples != 4 || c.Node != "n1" {
		t.Errorf("cost %+v %v", c, ok)
	}
	if w := p.Warnings(); len(w) != 1 || !strings.Contains(w[0], "node n1: warning: something it could not read") {
		t.Errorf("warnings %q", w)
	}
}

// TestProcessFailures: a stream that is not one, and a child that exits
// before the run ended, are errors naming the node; a child that died
// has no cost.
func TestProcessFailures(t *testing.T) {
	for _, mode := range []string{"garbage", "dies"} {
		t.Run(mode, func(t *testing.T) {
			p := fakeProcess(t, mode)
			err := p.Run(context.Background(), sinkFunc(func([]benchrig.Sample) error { return nil }), nil)
			if err == nil || !strings.Contains(err.Error(), "collector of node n1") {
				t.Errorf("err = %v", err)
			}
			if _, ok := p.Cost(); ok {
				t.Error("a cost from a child that reported none")
			}
		})
	}
}

// TestProcessCountsRefusedSamples: samples the run's sink refuses are
// counted in the node's Dropped and said, never lost silently.
func TestProcessCountsRefusedSamples(t *testing.T) {
	p := fakeProcess(t, "good")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	var once sync.Once
	go func() {
		done <- p.Run(ctx, sinkFunc(func([]benchrig.Sample) error { return fmt.Errorf("disk full") }),
			func(ContainerEvent) { once.Do(func() { close(started) }) })
	}()
	<-started
	cancel()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "4 sample(s) not stored: disk full") {
		t.Errorf("err = %v", err)
	}
	if c, _ := p.Cost(); c.Dropped != 4 {
		t.Errorf("Dropped = %d, want 4", c.Dropped)
	}
}
