package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfinedGlob: with a files root (a server's data directory), a
// spec's globs may match only under it, whatever the path or symlink.
func TestConfinedGlob(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	for _, f := range []string{filepath.Join(root, "data", "a.smi"), filepath.Join(outside, "secret")} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, root, pattern string
		want                int
		wantErr             string
	}{
		{"inside", root, filepath.Join(root, "data", "*.smi"), 1, ""},
		{"inside, no match", root, filepath.Join(root, "data", "*.sdf"), 0, ""},
		{"absolute outside", root, filepath.Join(outside, "*"), 0, "outside"},
		{"dot-dot out", root, filepath.Join(root, "data") + "/../../" + filepath.Base(outside) + "/secret", 0, "outside"},
		{"relative", root, "data/*.smi", 0, "outside"},
		{"symlink out", root, filepath.Join(root, "link", "*"), 0, "through a symlink"},
		{"the root itself", root, root, 1, ""},
		{"no root: anything", "", filepath.Join(outside, "*"), 1, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := confinedGlob(tt.root, tt.pattern)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q (matches %v)", err, tt.wantErr, got)
				}
				return
			}
			if err != nil || len(got) != tt.want {
				t.Fatalf("%v, %v; want %d matches", got, err, tt.want)
			}
		})
	}
}
