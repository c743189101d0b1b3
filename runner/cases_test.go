package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// Config.Cases runs some cases of the matrix only, interleaved as a whole
// run's; the spec's baseline may be among those left out.
func TestCasesRunsOnlyThose(t *testing.T) {
	s := testSpec()
	s.Params = []benchrig.Param{{Name: "impl", Values: []string{"a", "b", "c"}}}
	s.Baseline = map[string]string{"impl": "a"}
	var calls []string
	cfg := testConfig(constant(time.Millisecond, &calls), &memRecorder{})
	cfg.Cases = []string{"impl=c", "impl=b"} // out of the matrix's order
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	want := "impl=b(w) impl=c(w) impl=b impl=c impl=b impl=c impl=b impl=c"
	if got := caseOrder(run.Trials); got != want {
		t.Errorf("order = %s\nwant    %s", got, want)
	}
	if len(run.Cases) != 2 || run.Cases[0].ID != "impl=b" || run.Cases[1].ID != "impl=c" {
		t.Errorf("run's cases = %v, want impl=b, impl=c", run.Cases)
	}
	if run.BaselineID != "impl=b" {
		t.Errorf("baseline = %q, want the first case run (the spec's impl=a was not re-run)", run.BaselineID)
	}
}

func TestCasesUnknownIsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   func(*Config)
		field string
	}{
		{"cases", func(c *Config) { c.Cases = []string{"impl=a", "impl=z"} }, "cases"},
		{"avoid nodes", func(c *Config) { c.AvoidNodes = map[string]string{"impl=y": "local"} }, "avoid_nodes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			cfg := testConfig(constant(time.Millisecond, &calls), &memRecorder{})
			tc.cfg(&cfg)
			_, err := Prepare(context.Background(), cfg, testSpec())
			if benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), tc.field) ||
				!strings.Contains(err.Error(), "no case") || !strings.Contains(err.Error(), "impl=a, impl=b") {
				t.Fatalf("err = %v, want EInvalid naming the field, the unknown case and the matrix's", err)
			}
			if len(calls) != 0 {
				t.Errorf("ran %v before refusing", calls)
			}
		})
	}
}

// AvoidNodes plans a case away from a node when the node's class has
// another: lab1 and lab2 are one class, lab3 has its own.
func TestAvoidNodes(t *testing.T) {
	n1, e1 := fakeNode("lab1", "amd64", false, map[string]string{"disk": "ssd"})
	n2, e2 := fakeNode("lab2", "amd64", false, map[string]string{"disk": "ssd"})
	n3, e3 := fakeNode("lab3", "amd64", false, map[string]string{"disk": "hdd"})
	s := containerSpec()
	s.Warmup = 0
	s.Command = benchrig.Command{Argv: []string{"/bin/true"}}
	s.Params = nil
	cfg := nodeConfig(&fakeNodes{nodes: []*Node{n1, n2, n3}}, &memRecorder{})
	cfg.Cases = []string{"node=lab1", "node=lab3"}
	cfg.AvoidNodes = map[string]string{"node=lab1": "lab1", "node=lab3": "lab3"}
	p, err := Prepare(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	where := map[string]string{}
	for _, c := range p.Cases() {
		where[c.Case.ID] = c.Node
	}
	if where["node=lab1"] != "lab2" || where["node=lab3"] != "lab3" || len(where) != 2 {
		t.Fatalf("planned on %v, want node=lab1 on lab2 (its class's other node), node=lab3 on lab3 (its class has no other)", where)
	}
	h, err := p.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	run, err := h.Wait()
	if err != nil {
		t.Fatal(err)
	}
	got := trialsByCaseNode(run.Trials)
	if got["node=lab1@lab2"] != 3 || got["node=lab3@lab3"] != 3 || len(got) != 2 {
		t.Errorf("trials by case@node = %v, want 3 of node=lab1 on lab2 and 3 of node=lab3 on lab3", got)
	}
	if len(e1.jobs) != 0 || len(e2.jobs) != 3 || len(e3.jobs) != 3 {
		t.Errorf("jobs: lab1 %d, lab2 %d, lab3 %d; want 0, 3, 3", len(e1.jobs), len(e2.jobs), len(e3.jobs))
	}
	if pl := run.Placements["node=lab1"]; pl.Node != "lab2" {
		t.Errorf("placement of node=lab1 = %+v, want lab2", pl)
	}
	if n := run.Notes["node=lab1"]; !strings.Contains(n, "lab2, not lab1") {
		t.Errorf("note of node=lab1 = %q, want it to say where it moved", n)
	}
}
