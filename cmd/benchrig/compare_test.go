package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunsCompareExports: runs compare writes its JSON and Markdown
// exports, and refuses the store as an export path like every export.
func TestRunsCompareExports(t *testing.T) {
	c := newCLI(t)
	store := filepath.Join(c.dir, "store.db")
	goldenStore(t, store)
	js, md := filepath.Join(c.dir, "cmp.json"), filepath.Join(c.dir, "cmp.md")
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"exports", []string{"runs", "compare", "20261130-090000", "20261130-100000", "--json", js, "--md", md}, 0},
		{"store as export", []string{"runs", "compare", "20261130-090000", "20261130-100000", "--json", store}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := c.run(context.Background(), tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
		})
	}
	var doc struct {
		A, B struct {
			RunID string `json:"run_id"`
		}
		Cases []struct {
			Case    string   `json:"case"`
			Ratio   *float64 `json:"ratio"`
			MDE     *float64 `json:"mde"`
			Verdict string   `json:"verdict"`
		} `json:"cases"`
		GeoMean *struct {
			N int `json:"n"`
		} `json:"geomean"`
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.A.RunID != "20261130-090000-0001" || doc.B.RunID != "20261130-100000-0002" || len(doc.Cases) != 2 ||
		doc.Cases[1].Verdict != "slower" || doc.Cases[0].MDE == nil || doc.GeoMean == nil || doc.GeoMean.N != 2 {
		t.Errorf("compare JSON:\n%s", b)
	}
	m, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| case | median A | median B | B/A |", "| level=9 | 345 ms | 414 ms | 1.20 |", "| geomean (2) |"} {
		if !strings.Contains(string(m), s) {
			t.Errorf("compare Markdown lacks %q:\n%s", s, m)
		}
	}
	if fi, err := os.Stat(store); err != nil || fi.Size() == 0 {
		t.Errorf("store after a refused export: %v", err)
	}
}
