//go:build !linux

package cgroup

import "os"

// pread reads f from offset 0 (only fixture trees are read off Linux).
func pread(f *os.File, buf []byte) (int, error) { return f.ReadAt(buf, 0) }
