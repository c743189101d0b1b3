package cgroup

import (
	"os"
	"syscall"
)

// pread reads f from offset 0 in one system call: File.ReadAt would call
// again to see the end of a file shorter than buf, which a cgroup file
// always is.
func pread(f *os.File, buf []byte) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		n, rerr = syscall.Pread(int(fd), buf, 0)
		return true
	}); err != nil {
		return 0, err
	}
	if n < 0 {
		n = 0
	}
	return n, rerr
}
