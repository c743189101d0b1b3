package app

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/collect"
)

// fakeNodeCollector reports one container's start and die and one sample,
// then waits for the run to end.
type fakeNodeCollector struct {
	node string
	ref  benchrig.TrialRef
}

func (f *fakeNodeCollector) Run(ctx context.Context, sink collect.Sink, onEvent func(collect.ContainerEvent)) error {
	code := 0
	onEvent(collect.ContainerEvent{Action: collect.ContainerStart, Name: "c-" + f.node, Ref: &f.ref})
	onEvent(collect.ContainerEvent{Action: collect.ContainerDie, Name: "c-" + f.node, Ref: &f.ref, ExitCode: &code})
	if err := sink.WriteSamples(ctx, []benchrig.Sample{{Run: f.ref.Run, Node: f.node, Kind: benchrig.SampleHost, Seq: 1}}); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func (f *fakeNodeCollector) Cost() (benchrig.CollectorCost, bool) {
	return benchrig.CollectorCost{Node: f.node, Mode: collect.ModeProcess, Samples: 1}, true
}

func (f *fakeNodeCollector) Warnings() []string { return []string{"node " + f.node + ": a warning"} }

type memSink struct {
	mu      sync.Mutex
	samples []benchrig.Sample
}

func (s *memSink) WriteSamples(_ context.Context, ss []benchrig.Sample) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, ss...)
	return nil
}

// TestNodeCollectors: one collector per node the run reports, started
// once however often the node is reported; their container events become
// run events; stopping them gathers their costs and warnings, once.
func TestNodeCollectors(t *testing.T) {
	var mu sync.Mutex
	made := map[string]int{}
	sink := &memSink{}
	c := &collection{plan: collectPlan{interval: time.Second}, sink: sink, runID: "r1", started: time.Unix(100, 0),
		nodes: map[string]NodeCollector{}}
	c.nodeCtx, c.nodeStop = context.WithCancel(context.Background())
	c.newNode = func(cfg NodeCollectorConfig) (NodeCollector, error) {
		mu.Lock()
		defer mu.Unlock()
		made[cfg.Node.Name]++
		if cfg.RunID != "r1" || !cfg.Since.Equal(time.Unix(100, 0)) || cfg.Interval != time.Second {
			t.Errorf("config %+v", cfg)
		}
		return &fakeNodeCollector{node: cfg.Node.Name, ref: benchrig.TrialRef{Run: "r1", Case: "k", Rep: 2}}, nil
	}
	var events []benchrig.Event
	var emu sync.Mutex
	// n1 starts before the run's log is open: its events wait for it.
	c.nodesSeen([]benchrig.NodeFacts{{Name: "n1"}})
	c.setEmit(func(e benchrig.Event) {
		emu.Lock()
		events = append(events, e)
		emu.Unlock()
	})
	c.nodesSeen([]benchrig.NodeFacts{{Name: "n1"}, {Name: "n2"}})
	costs := c.stopNodes(context.Background())
	if again := c.stopNodes(context.Background()); len(again) != len(costs) {
		t.Errorf("second stop gave %d costs, first %d", len(again), len(costs))
	}
	c.nodesSeen([]benchrig.NodeFacts{{Name: "n3"}}) // after the stop: none started
	if made["n1"] != 1 || made["n2"] != 1 || made["n3"] != 0 {
		t.Errorf("collectors made per node: %v", made)
	}
	if len(costs) != 2 || costs[0].Node != "n1" || costs[1].Node != "n2" {
		t.Errorf("costs %+v", costs)
	}
	if len(sink.samples) != 2 {
		t.Errorf("%d samples reached the sink, want 2", len(sink.samples))
	}
	want := map[string]bool{"start c-n1": true, "die c-n1 (exit 0)": true, "start c-n2": true, "die c-n2 (exit 0)": true}
	for _, e := range events {
		if e.Kind != benchrig.EventContainer || e.Trial == nil || e.Case != "k" || !want[e.Msg] {
			t.Errorf("event %+v", e)
		}
		delete(want, e.Msg)
	}
	if len(want) > 0 {
		t.Errorf("events missing: %v", want)
	}
	if w := c.snapshotWarnings(); len(w) != 2 {
		t.Errorf("warnings %q, want one per node", w)
	}
}

// TestResumedParts: a resumed run's part stamps its samples with its own
// epoch, so its collectors' samples (numbered from 1 again) do not take
// the IDs of the first part's, and its Collection adds to the earlier
// parts' instead of replacing it.
func TestResumedParts(t *testing.T) {
	sink := &memSink{}
	first, second := &epochSink{Sink: sink, epoch: 1}, &epochSink{Sink: sink, epoch: 2}
	s := benchrig.Sample{Run: "r", Node: "n", Kind: benchrig.SampleHost, Seq: 1}
	if err := first.WriteSamples(context.Background(), []benchrig.Sample{s}); err != nil {
		t.Fatal(err)
	}
	if err := second.WriteSamples(context.Background(), []benchrig.Sample{s}); err != nil {
		t.Fatal(err)
	}
	if a, b := sink.samples[0].ID(), sink.samples[1].ID(); a == b {
		t.Errorf("both parts' first host sample have ID %s", a)
	}
	prev := &benchrig.Collection{Interval: time.Second, Sink: "store", Collectors: []benchrig.CollectorCost{{Node: "local", Samples: 5}},
		Shipping: benchrig.ShipCounters{Sent: 5, Duplicates: 1}, Warnings: []string{"w1"}}
	cur := &benchrig.Collection{Interval: time.Second, Sink: "store", Collectors: []benchrig.CollectorCost{{Node: "local", Samples: 3}},
		Shipping: benchrig.ShipCounters{Sent: 3, Spooled: 2}, Warnings: []string{"w1", "w2"}}
	got := mergeCollections(prev, cur)
	if len(got.Collectors) != 2 || got.Shipping != (benchrig.ShipCounters{Sent: 8, Spooled: 2, Duplicates: 1}) ||
		len(got.Warnings) != 2 || got.Sink != "store" {
		t.Errorf("merged %+v", got)
	}
	if mergeCollections(nil, cur) != cur {
		t.Error("a first part's Collection changed by the merge")
	}
}
