package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// This machine has no GPU: a spec that requires one is refused before
// anything runs, naming the field, and a run's fingerprint says the host
// has no accelerator.
func TestNoGPUOnThisHost(t *testing.T) {
	if _, err := exec.LookPath("nvidia-smi"); err == nil {
		t.Skip("this host has nvidia-smi")
	}
	c := newCLI(t)
	gpu := c.write("gpu.yaml", "name: g\ncommand: [true]\nparams:\n  impl: [cpu, cuda]\nrepeat: 1\nwarmup: 0\n"+
		"requires:\n  - {gpu: 1, hint: \"run it on a node with one: --pool gpu\"}\n")
	code, out, errOut := c.run(context.Background(), "run", gpu)
	want := `gpu.yaml: requires[0].gpu: case impl=cpu and 1 more case(s): needs 1 GPU, but this host has none (nvidia-smi not found); run it on a node with one: --pool gpu`
	if code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, want 2 with %q\nstdout:\n%s\nstderr:\n%s", code, want, out, errOut)
	}

	// Only the cases that need one: the others run.
	some := c.write("some.yaml", "name: s\ncommand: [true]\nparams:\n  impl: [cpu, cuda]\nrepeat: 1\nwarmup: 0\n"+
		"requires:\n  - gpu: \"{{if eq .impl \\\"cuda\\\"}}1{{else}}0{{end}}\"\n")
	code, out, errOut = c.run(context.Background(), "run", some)
	if want := "requires[0].gpu: case impl=cuda: needs 1 GPU, but this host has none"; code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, want 2 with %q\nstdout:\n%s\nstderr:\n%s", code, want, out, errOut)
	}

	plain := c.write("plain.yaml", "name: p\ncommand: [true]\nrepeat: 1\nwarmup: 0\n")
	if code, out, errOut := c.run(context.Background(), "run", plain); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, errOut = c.run(context.Background(), "runs", "show", "latest")
	if code != 0 || !strings.Contains(out, ", accelerators: none (nvidia-smi not found)\n") {
		t.Errorf("runs show: exit %d, no \"accelerators: none\" in\n%s\nstderr:\n%s", code, out, errOut)
	}
}
