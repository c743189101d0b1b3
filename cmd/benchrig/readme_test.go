package main

import (
	"os"
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
