package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	for _, durable := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "out.json")
		if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		if err := Write(path, 0o644, durable, func(f *os.File) error {
			f.WriteString("partial")
			return boom
		}); err != boom {
			t.Errorf("err = %v, want write's own error", err)
		}
		if b, _ := os.ReadFile(path); string(b) != "old" {
			t.Errorf("a failed write changed the file to %q", b)
		}
		if err := Write(path, 0o644, durable, func(f *os.File) error {
			_, err := f.WriteString("new")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		fi, _ := os.Stat(path)
		if string(b) != "new" || fi.Mode().Perm() != 0o644 {
			t.Errorf("content %q mode %v, want new and 0644", b, fi.Mode().Perm())
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("%d files left in the directory, want only the target", len(entries))
		}
	}
}
