package reports

import (
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// A case whose trials ran on two nodes (its node was lost mid-run) says so,
// with each node's count and median, and whether the nodes differ; a case
// on one node, or on the local executor (no node), says nothing.
func TestMixedNodes(t *testing.T) {
	type tr struct {
		node   string
		ms     float64
		failed bool
	}
	run := func(trials []tr) *CaseReport {
		c := benchrig.Case{ID: "n=1", Params: []benchrig.KV{{Name: "n", Value: "1"}}}
		r := &benchrig.Run{ID: "r", Cases: []benchrig.Case{c}}
		r.Trials = append(r.Trials, benchrig.Trial{CaseID: c.ID, Seq: 0, Warmup: true, Node: "lab9", Outcome: benchrig.OutcomeOK,
			Measurement: benchrig.Measurement{Wall: 500 * time.Millisecond}})
		for i, x := range trials {
			o := benchrig.OutcomeOK
			if x.failed {
				o = benchrig.OutcomeFailed
			}
			r.Trials = append(r.Trials, benchrig.Trial{CaseID: c.ID, Seq: i + 1, Index: i + 1, Node: x.node, Outcome: o,
				Measurement: benchrig.Measurement{Wall: ms(x.ms)}})
		}
		return &Build(r).Cases[0]
	}
	lost := []tr{{node: "lab2", ms: 36}, {node: "lab2", ms: 36.5}, {node: "lab2", ms: 35.8}, {node: "lab2", ms: 36.2},
		{node: "lab1", ms: 27.5}, {node: "lab1", ms: 27.6}, {node: "lab1", ms: 27.4}, {node: "lab1", ms: 27.7}, {node: "lab1", ms: 27.5}, {node: "lab1", ms: 27.3}}
	for _, tc := range []struct {
		name   string
		trials []tr
		want   []string // substrings of the mixed-nodes warning; nil: no warning
	}{
		{"node lost mid-run", lost, []string{"trials from 2 nodes: lab2 4, lab1 6", "36.1 ms on lab2", "27.5 ms on lab1", "the nodes differ: lab2 is 1.31x slower than lab1", "pool them"}},
		{"one node", []tr{{node: "lab1", ms: 27}, {node: "lab1", ms: 28}, {node: "lab1", ms: 29}}, nil},
		{"local executor", []tr{{node: "", ms: 27}, {node: "", ms: 28}, {node: "", ms: 29}}, nil},
		{"two nodes alike", []tr{{node: "lab1", ms: 27}, {node: "lab2", ms: 28}, {node: "lab1", ms: 29}, {node: "lab2", ms: 27.5}}, []string{"trials from 2 nodes: lab1 2, lab2 2", "pool them"}},
		{"failed trials on another node do not count", []tr{{node: "lab1", ms: 27}, {node: "lab2", ms: 9000, failed: true}, {node: "lab1", ms: 28}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := run(tc.trials)
			var msg string
			for _, w := range cr.Warnings {
				if w.Code == WMixedNodes {
					msg = w.Message
				}
			}
			if tc.want == nil {
				if msg != "" {
					t.Errorf("unexpected mixed-nodes warning: %s", msg)
				}
				return
			}
			if msg == "" {
				t.Fatalf("no mixed-nodes warning; warnings %v", cr.Warnings)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("warning %q lacks %q", msg, w)
				}
			}
			if tc.name == "two nodes alike" && strings.Contains(msg, "differ") {
				t.Errorf("warning %q claims the nodes differ on 2 trials each", msg)
			}
		})
	}
}
