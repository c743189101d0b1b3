//go:build !unix

package sqlite

// access cannot tell beforehand here; a write fails with SQLite's own error.
var access = func(string) error { return nil }
