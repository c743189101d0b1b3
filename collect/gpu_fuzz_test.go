package collect

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzNvidiaSMI feeds the nvidia-smi parsers anything, starting from the
// recorded outputs: they may refuse it, never panic.
func FuzzNvidiaSMI(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "nvidia-smi", "*"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if a, err := ParseSMITable(b); err == nil {
			_ = a.String()
		}
		if a, err := ParseSMIXML(b); err == nil {
			_ = a.String()
		}
		_ = QueryRows(bytes.NewReader(b), gpuQuery, func(m map[string]string) { gpuSample(m) })
	})
}
