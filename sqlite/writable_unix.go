//go:build unix

package sqlite

import "golang.org/x/sys/unix"

// access reports why this process may not write path (access(2) with
// W_OK: it sees read-only mounts and, for other users than root, file
// permissions), or nil.
// A variable so tests, which run as root, can fake a read-only store.
var access = func(path string) error { return unix.Access(path, unix.W_OK) }
