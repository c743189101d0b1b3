package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchrig/benchrig/spec"
)

// TestREADMEExamples keeps the README true: its annotated spec is the tested
// file verbatim, and the quick-start spec is valid.
func TestREADMEExamples(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	annotated, err := os.ReadFile("../../testdata/specs/annotated.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```yaml\n"+string(annotated)+"```") {
		t.Error("README.md does not contain testdata/specs/annotated.yaml verbatim in a yaml block")
	}
	for _, f := range []string{"../../benchmarks/quickstart.yaml", "../../testdata/specs/annotated.yaml"} {
		if _, err := spec.Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if !strings.Contains(string(readme), "go run ./cmd/benchrig run benchmarks/quickstart.yaml") || !strings.Contains(string(readme), "make test") {
		t.Error("README.md lost its two quick-start commands")
	}
}

var rerunQuickstart = flag.Bool("rerun-quickstart", false, "with -update: run benchmarks/quickstart.yaml again on this machine for the README's example output (testdata/readme/quickstart.db)")

// The README's example output sits between these lines, in a text block.
const (
	quickstartBegin = "<!-- quickstart output: written by TestREADMEQuickstartOutput from testdata/readme/quickstart.db; go test ./cmd/benchrig -run TestREADME -update -->\n"
	quickstartEnd   = "<!-- end of quickstart output -->\n"
)

// TestREADMEQuickstartOutput keeps the README's example output what
// benchrig prints today: it is `runs show` of a real quickstart run kept
// in testdata/readme/quickstart.db (its header names the machine and the
// date), rendered by this benchrig. -update rewrites the README's block
// after a change of the report; -update -rerun-quickstart also measures
// the quickstart again on this machine.
func TestREADMEQuickstartOutput(t *testing.T) {
	ctx := context.Background()
	fixture := filepath.Join("testdata", "readme", "quickstart.db")
	if *update && *rerunQuickstart {
		c := newCLI(t)
		spec, err := filepath.Abs("../../benchmarks/quickstart.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if code, out, errOut := c.run(ctx, "run", "-q", spec); code != 0 {
			t.Fatalf("quickstart: exit %d\n%s%s", code, out, errOut)
		}
		if fi, err := os.Stat(filepath.Join(c.dir, "store.db-wal")); err == nil && fi.Size() > 0 {
			t.Fatal("the store's WAL was not checkpointed: the copy would lose the run")
		}
		copyFile(t, filepath.Join(c.dir, "store.db"), fixture)
	}
	c := newCLI(t)
	copyFile(t, fixture, filepath.Join(c.dir, "store.db"))
	code, out, errOut := c.run(ctx, "runs", "show", "latest")
	if code != 0 {
		t.Fatalf("runs show: exit %d\n%s%s", code, out, errOut)
	}
	block := "```text\n$ benchrig runs show latest\n" + out + "```\n"

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i := strings.Index(text, quickstartBegin)
	j := strings.Index(text, quickstartEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the quickstart output markers:\n%s%s", quickstartBegin, quickstartEnd)
	}
	got := text[i+len(quickstartBegin) : j]
	if got == block {
		return
	}
	if *update {
		text = text[:i+len(quickstartBegin)] + block + text[j:]
		if err := os.WriteFile("../../README.md", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's quickstart output is not what benchrig prints (check, then run go test ./cmd/benchrig -run TestREADME -update):\n--- README\n%s--- benchrig\n%s", got, block)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
