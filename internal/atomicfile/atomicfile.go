// Package atomicfile replaces files so that a reader sees the old content
// or the new, never a part: the new content goes to a temporary file in
// the same directory (".NAME.tmp-*", so leftovers of a crash are
// recognisable), which is renamed over the target.
package atomicfile

import (
	"os"
	"path/filepath"
)

// TempMark is in the name of every temporary file Write creates, after
// "." and the target's base name.
const TempMark = ".tmp-"

// Write replaces path with what write puts in the temporary file, with
// permissions perm. With durable, the file is synced before the rename and
// the directory after it, so that after a crash the name points at the old
// or the new content, never at an empty file; without, a crash may leave
// the target empty (for data that is checked and regenerated anyway).
// write's error is returned as it is; the temporary file is removed on any
// failure.
func Write(path string, perm os.FileMode, durable bool, write func(f *os.File) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+TempMark+"*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	// CreateTemp makes the file 0600.
	if err := os.Chmod(f.Name(), perm); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if durable {
		if d, err := os.Open(dir); err == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	return nil
}
