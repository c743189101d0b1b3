package elastic

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/mapping.json")

// TestMappingGolden keeps the index mapping in a file reviewers read: a
// change to the document type shows up here as a change to the mapping.
func TestMappingGolden(t *testing.T) {
	var got bytes.Buffer
	if err := json.Indent(&got, mappingJSON, "", "  "); err != nil {
		t.Fatal(err)
	}
	got.WriteByte('\n')
	golden := filepath.Join("testdata", "mapping.json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestMappingGolden -update ./elastic)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("mapping differs from %s (run with -update if the change is meant):\n%s", golden, got.String())
	}
}
