//go:build !linux

package collect

import "os"

// preadAt0 reads f from offset 0 (only fixture trees are read off Linux).
func preadAt0(f *os.File, buf []byte) (int, error) { return f.ReadAt(buf, 0) }
