//go:build !linux

package procfs

import "os"

// Handle is an open file (only fixture trees are read off Linux).
type Handle = *os.File

// NoHandle is no file.
var NoHandle Handle

// Open opens path for reading.
func Open(path string) (Handle, error) { return os.Open(path) }

// ReadAt0 reads the file from offset 0.
func ReadAt0(h Handle, buf []byte) (int, error) { return h.ReadAt(buf, 0) }

// Close closes h.
func Close(h Handle) error { return h.Close() }
