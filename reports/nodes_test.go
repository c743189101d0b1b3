package reports

import (
	"bytes"
	"encoding/json"
	"slices"
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

// A verdict whose case or baseline pools trials of several nodes says so,
// in the text and Markdown reports, the JSON export and runs compare; a
// verdict of cases that each ran on one node (even different ones) does
// not.
func TestMixedNodesInVerdicts(t *testing.T) {
	// impl=a (the baseline) lost lab2 after 3 trials and went on on lab1.
	mixed := map[string][]string{
		"impl=a": {"lab2", "lab2", "lab2", "lab1", "lab1", "lab1", "lab1", "lab1"},
		"impl=b": {"lab1", "lab1", "lab1", "lab1", "lab1", "lab1", "lab1", "lab1"},
	}
	apart := map[string][]string{
		"impl=a": {"lab1", "lab1", "lab1", "lab1", "lab1", "lab1", "lab1", "lab1"},
		"impl=b": {"lab2", "lab2", "lab2", "lab2", "lab2", "lab2", "lab2", "lab2"},
	}
	build := func(nodes map[string][]string) *Report {
		r := &benchrig.Run{ID: "r", BaselineID: "impl=a"}
		seq := 0
		for _, id := range []string{"impl=a", "impl=b"} {
			r.Cases = append(r.Cases, benchrig.Case{ID: id, Params: []benchrig.KV{{Name: "impl", Value: strings.TrimPrefix(id, "impl=")}}})
			for i, n := range nodes[id] {
				wall := 10 + float64(i%3)
				if id == "impl=b" {
					wall *= 2
				}
				r.Trials = append(r.Trials, benchrig.Trial{CaseID: id, Seq: seq, Index: i, Node: n, Outcome: benchrig.OutcomeOK,
					Measurement: benchrig.Measurement{Wall: ms(wall)}})
				seq++
			}
		}
		return Build(r)
	}
	for _, tc := range []struct {
		name  string
		nodes map[string][]string
		want  []string // nil: not marked
	}{
		{"baseline pools two nodes", mixed, []string{"lab1", "lab2"}},
		{"each case on its own node", apart, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := build(tc.nodes)
			if len(r.Comparisons) != 1 {
				t.Fatalf("comparisons %+v, want 1", r.Comparisons)
			}
			if got := r.Comparisons[0].MixedNodes; !slices.Equal(got, tc.want) {
				t.Errorf("MixedNodes %v, want %v", got, tc.want)
			}
			rc := CompareRuns(r, r)
			var txt, md, js, rtxt, rmd, rjs bytes.Buffer
			for _, err := range []error{WriteText(&txt, r), WriteMarkdown(&md, r), WriteJSON(&js, r),
				WriteRunComparison(&rtxt, rc), WriteRunComparisonMarkdown(&rmd, rc), WriteRunComparisonJSON(&rjs, rc)} {
				if err != nil {
					t.Fatal(err)
				}
			}
			var doc struct {
				Comparisons []struct {
					MixedNodes []string `json:"mixed_nodes"`
				} `json:"comparisons"`
			}
			var rdoc struct {
				Cases []struct {
					Case       string   `json:"case"`
					MixedNodes []string `json:"mixed_nodes"`
				} `json:"cases"`
			}
			if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(rjs.Bytes(), &rdoc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Comparisons) != 1 || !slices.Equal(doc.Comparisons[0].MixedNodes, tc.want) {
				t.Errorf("JSON comparisons %+v, want mixed_nodes %v", doc.Comparisons, tc.want)
			}
			// runs compare of the run with itself: impl=a pools, impl=b not.
			for _, c := range rdoc.Cases {
				want := tc.want
				if c.Case == "impl=b" || tc.want == nil {
					want = nil
				}
				if !slices.Equal(c.MixedNodes, want) {
					t.Errorf("runs compare JSON %s: mixed_nodes %v, want %v", c.Case, c.MixedNodes, want)
				}
			}
			for _, x := range []struct {
				name, out, mark string
			}{
				{"text", txt.String(), "; pools trials from 2 nodes (lab1, lab2)"},
				{"markdown", md.String(), "(pools 2 nodes)"},
				{"runs compare", rtxt.String(), "(pools 2 nodes)"},
				{"runs compare markdown", rmd.String(), "(pools 2 nodes)"},
			} {
				if got := strings.Contains(x.out, x.mark); got != (tc.want != nil) {
					t.Errorf("%s: marked %v, want %v:\n%s", x.name, got, tc.want != nil, x.out)
				}
			}
		})
	}
}
