package collect

import (
	"os"

	"golang.org/x/sys/unix"
)

// preadAt0 reads f from offset 0 in one system call. File.ReadAt would
// call again at the end of the content to see EOF, and a /proc file read
// at an offset past 0 is generated whole again to be skipped.
func preadAt0(f *os.File, buf []byte) (int, error) {
	for {
		n, err := unix.Pread(int(f.Fd()), buf, 0)
		if err == unix.EINTR {
			continue
		}
		return max(n, 0), err
	}
}
