package procfs

import (
	"io/fs"
	"syscall"
)

// Handle is an open pseudo-file (/proc, cgroupfs): a bare descriptor, read
// with pread(2). An *os.File would register the file with the runtime's
// poller (kernfs files are pollable) and go through it on every read,
// which cost the collector a tenth of its CPU.
type Handle int

// NoHandle is no file: one that was absent when first opened.
const NoHandle Handle = -1

// Open opens path for reading.
func Open(path string) (Handle, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return NoHandle, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return Handle(fd), nil
	}
}

// ReadAt0 reads the file from offset 0 in one system call: a pseudo-file
// is generated whole on a read at offset 0.
func ReadAt0(h Handle, buf []byte) (int, error) {
	for {
		n, err := syscall.Pread(int(h), buf, 0)
		if err == syscall.EINTR {
			continue
		}
		return max(n, 0), err
	}
}

// Close closes h.
func Close(h Handle) error { return syscall.Close(int(h)) }
