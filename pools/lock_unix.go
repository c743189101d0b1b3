//go:build unix

package pools

import (
	"os"

	"golang.org/x/sys/unix"
)

// lock takes an exclusive flock on the file at path, creating it, and
// returns the function that releases it. The lock file is separate from
// the pools file because Save replaces that file, and a lock on a replaced
// inode would not exclude the next writer.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}
