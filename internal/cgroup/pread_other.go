//go:build !linux

package cgroup

import "os"

// handle is an open cgroup file (only fixture trees are read off Linux).
type handle = *os.File

var noHandle handle

func openHandle(path string) (handle, error) { return os.Open(path) }

func preadHandle(h handle, buf []byte) (int, error) { return h.ReadAt(buf, 0) }

func closeHandle(h handle) error { return h.Close() }
