package runner

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// A node removed from the pool while one of its trials runs, with no other
// node of its class: failRemaining fills the case up to its minimum with
// node-lost trials without counting the trial in flight, which is then
// recorded too.
func TestInFlightTrialOnRemovedNodeNotCountedTwice(t *testing.T) {
	n1, _ := fakeNode("lab1", "amd64", false, nil)
	n3, e3 := fakeNode("lab3", "arm64", true, nil) // the only arm64 node
	nodes := &fakeNodes{nodes: []*Node{n1, n3}}
	cfg := nodeConfig(nodes, &memRecorder{})
	drained := on(&cfg, benchrig.EventNodeDrained, "lab3")
	e3.run = func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		if n == 3 {
			nodes.set(n1) // lab3 removed while this trial runs
			await(t, drained, "lab3 drained")
		}
		return benchrig.Measurement{Start: time.Now(), Wall: 10 * time.Millisecond}, nil
	}
	s := containerSpec()
	s.Params[0].Values = []string{"a"}
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	checkTrialCounts(t, run, s.Repeat.Max)
}

// trials_per_node 2: a warmup that fails to start (EUnavailable, node
// still answers pings) while a measured trial of the same case is in
// flight is never run again: the case ends with no warmup.
func TestWarmupLostWithTwoSlots(t *testing.T) {
	n1, e1 := fakeNode("lab1", "amd64", false, nil)
	n1.MaxTrials = 2
	second := make(chan struct{})
	var once, failed sync.Once
	cfg := nodeConfig(&fakeNodes{nodes: []*Node{n1}}, &memRecorder{})
	discarded := on(&cfg, benchrig.EventTrialDiscarded, "")
	e1.run = func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		label := job.Container.Labels[LabelTrial]
		switch {
		case strings.HasSuffix(label, "#0"): // the warmup: fails to start once the measured trial runs (once)
			fail := false
			failed.Do(func() { fail = true })
			if fail {
				<-second
				return benchrig.Measurement{}, &benchrig.Error{Code: benchrig.EUnavailable, Msg: "node lab1: EOF"}
			}
		case strings.HasSuffix(label, "#1"):
			once.Do(func() { close(second) })
			await(t, discarded, "the warmup's failed start") // still in flight when it fails
		}
		return benchrig.Measurement{Start: time.Now(), Wall: 10 * time.Millisecond}, nil
	}
	s := containerSpec()
	s.Params[0].Values = []string{"a"}
	s.Placement.TrialsPerNode = 2
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	warm, meas := 0, 0
	for _, tr := range run.Trials {
		if tr.Warmup {
			warm++
		} else {
			meas++
		}
	}
	for _, tr := range run.Trials {
		t.Logf("index %d warmup %v err %q", tr.Index, tr.Warmup, tr.Error)
	}
	if warm != s.Warmup || meas != s.Repeat.Max {
		t.Errorf("%d warmup and %d measured trials, want %d and %d", warm, meas, s.Warmup, s.Repeat.Max)
	}
}

// As above, but the trial in flight never runs (the node went away): the
// case still ends with exactly its minimum count.
func TestInFlightTrialOnRemovedNodeThatNeverRan(t *testing.T) {
	n1, _ := fakeNode("lab1", "amd64", false, nil)
	n3, e3 := fakeNode("lab3", "arm64", true, nil)
	nodes := &fakeNodes{nodes: []*Node{n1, n3}}
	cfg := nodeConfig(nodes, &memRecorder{})
	drained := on(&cfg, benchrig.EventNodeDrained, "lab3")
	e3.run = func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		if n == 3 {
			nodes.set(n1)
			await(t, drained, "lab3 drained")
			return benchrig.Measurement{}, &benchrig.Error{Code: benchrig.EUnavailable, Msg: "gone"}
		}
		return benchrig.Measurement{Start: time.Now(), Wall: 10 * time.Millisecond}, nil
	}
	s := containerSpec()
	s.Params[0].Values = []string{"a"}
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	checkTrialCounts(t, run, s.Repeat.Max)
}

// checkTrialCounts fails unless every case of run has exactly want
// measured trials (successful or failed), none lost and none twice.
func checkTrialCounts(t *testing.T, run *benchrig.Run, want int) {
	t.Helper()
	for _, c := range run.Cases {
		n := 0
		for _, tr := range run.Trials {
			if tr.CaseID == c.ID && !tr.Warmup {
				n++
			}
		}
		if n != want {
			t.Errorf("case %s: %d measured+failed trials, want %d", c.ID, n, want)
			for _, tr := range run.Trials {
				if tr.CaseID == c.ID {
					t.Logf("  index %d warmup %v node %s error %q", tr.Index, tr.Warmup, tr.Node, tr.Error)
				}
			}
		}
	}
}
