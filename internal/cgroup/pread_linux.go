package cgroup

import (
	"io/fs"
	"syscall"
)

// handle is an open cgroup file: a bare descriptor, read with pread(2).
// An *os.File would register the file with the runtime's poller (kernfs
// files are pollable) and go through it on every read, which cost the
// collector a tenth of its CPU.
type handle int

// noHandle marks a file that was absent at its first read.
const noHandle handle = -1

func openHandle(path string) (handle, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return noHandle, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return handle(fd), nil
	}
}

// pread reads the file from offset 0 in one system call: a cgroup file is
// generated whole on a read at offset 0, and is always shorter than the
// buffer the reader offers (which grows when it is not).
func preadHandle(h handle, buf []byte) (int, error) {
	for {
		n, err := syscall.Pread(int(h), buf, 0)
		if err == syscall.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

func closeHandle(h handle) error { return syscall.Close(int(h)) }
