package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/benchrig/benchrig"
)

func gpus(n int, source string) *benchrig.Accelerators {
	a := &benchrig.Accelerators{Source: source, GPUs: make([]benchrig.GPU, n)}
	for i := range a.GPUs {
		a.GPUs[i] = benchrig.GPU{Index: i, Name: "NVIDIA A40", MemoryBytes: 46068 << 20}
	}
	return a
}

// requires: [{gpu: N}] places cases only on nodes with N GPUs; a count
// given by a template is checked per case, which is skipped on a node
// without.
func TestRequiresGPUOnNodes(t *testing.T) {
	n1, e1 := fakeNode("lab1", "amd64", false, nil)
	n2, e2 := fakeNode("lab2", "amd64", false, nil)
	n3, _ := fakeNode("lab3", "amd64", false, nil)
	n1.Facts.Accelerators = gpus(2, benchrig.AccelPools)
	n2.Facts.Accelerators = &benchrig.Accelerators{Source: benchrig.AccelEngine, GPUs: []benchrig.GPU{}, Note: "the engine reports no GPU"}
	// lab3 was never asked (nil): it has no known GPU.
	nodes := &fakeNodes{nodes: []*Node{n1, n2, n3}}

	t.Run("constant", func(t *testing.T) {
		s := containerSpec()
		s.Requires = []benchrig.Requirement{{GPUs: "true"}}
		run, err := Run(context.Background(), nodeConfig(nodes, &memRecorder{}), s)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range run.Cases {
			if v, _ := c.Get("node"); v != "lab1" {
				t.Errorf("case %s placed on %s, which has no GPU", c.ID, v)
			}
		}
		if len(e1.jobs) == 0 || len(e2.jobs) != 0 {
			t.Errorf("lab1 ran %d jobs, lab2 %d", len(e1.jobs), len(e2.jobs))
		}
		for _, j := range e1.jobs {
			if j.Container == nil || j.Container.GPUs != 1 {
				t.Errorf("job %v got no GPU", j.Argv)
				break
			}
		}
	})
	t.Run("none has enough", func(t *testing.T) {
		s := containerSpec()
		s.Requires = []benchrig.Requirement{{Program: "sh"}, {GPUs: "4"}}
		_, err := Run(context.Background(), nodeConfig(nodes, &memRecorder{}), s)
		for _, want := range []string{"lab1: has 2 GPUs (2 x NVIDIA A40 (45.0 GiB) (pools file)), requires[1].gpu asks for 4",
			"lab2: has none (the engine reports no GPU), requires[1].gpu asks for 4",
			"lab3: has no known GPU"} {
			if err == nil || !strings.Contains(err.Error(), want) || benchrig.ErrorCode(err) != benchrig.EUnavailable {
				t.Errorf("err = %v, want EUnavailable with %q", err, want)
			}
		}
	})
	t.Run("templated", func(t *testing.T) {
		s := containerSpec()
		s.Params = []benchrig.Param{{Name: "impl", Values: []string{"cpu", "cuda"}}}
		s.Requires = []benchrig.Requirement{{GPUs: `{{if eq .impl "cuda"}}1{{end}}`}}
		run, err := Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1, n2}}, &memRecorder{}), s)
		if err != nil {
			t.Fatal(err)
		}
		if len(run.Skipped) != 1 {
			t.Fatalf("skipped %v, want the cuda case on lab2", run.Skipped)
		}
		for id, why := range run.Skipped {
			if !strings.Contains(id, "impl=cuda") || !strings.Contains(id, "node=lab2") || !strings.Contains(why, "needs 1 GPU, but node lab2 has none") {
				t.Errorf("skipped %s: %s", id, why)
			}
		}
	})
}

func TestLackingGPUs(t *testing.T) {
	none := &benchrig.Accelerators{Source: benchrig.AccelSMI, GPUs: []benchrig.GPU{}, Note: "nvidia-smi not found"}
	for _, tc := range []struct {
		name  string
		reqs  []benchrig.Requirement
		acc   *benchrig.Accelerators
		msg   string
		field string
	}{
		{"no requirement", []benchrig.Requirement{{Program: "sh"}}, none, "", ""},
		{"zero", []benchrig.Requirement{{GPUs: "0"}}, none, "", ""},
		{"met", []benchrig.Requirement{{GPUs: "2"}}, gpus(2, benchrig.AccelSMI), "", ""},
		{"none here", []benchrig.Requirement{{Program: "sh"}, {GPUs: "true", Hint: "use --pool gpu"}}, none,
			"needs 1 GPU, but this host has none (nvidia-smi not found); use --pool gpu", "requires[1].gpu"},
		{"too few", []benchrig.Requirement{{GPUs: "4"}}, gpus(2, benchrig.AccelSMI),
			"needs 4 GPUs, but this host has 2 GPUs (2 x NVIDIA A40 (45.0 GiB))", "requires[0].gpu"},
		{"not looked for", []benchrig.Requirement{{GPUs: "1"}}, nil,
			"needs 1 GPU, but this host has no known GPU (its accelerators were not looked for)", "requires[0].gpu"},
		{"bad template value", []benchrig.Requirement{{GPUs: "{{.n}}"}}, none, `want a number of GPUs (0 or more), true or false; got "many"`, "requires[0].gpu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, field := lackingGPUs(tc.reqs, map[string]string{"n": "many"}, tc.acc, "this host")
			if msg != tc.msg || field != tc.field {
				t.Errorf("got %q (%s)\nwant %q (%s)", msg, field, tc.msg, tc.field)
			}
		})
	}
}
