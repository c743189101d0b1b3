// Package procfs parses the host-wide /proc files that more than one part
// of benchrig reads: the collector's host sampler and the in-container
// timing shim both read /proc/stat's CPU times. It parses without
// allocating, since the collector does so many times a second, and imports
// only the standard library, since the shim is a static binary built for
// every architecture of the lab.
package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// CPU columns of /proc/stat's "cpu" lines, in order.
const (
	User = iota
	Nice
	System
	Idle
	IOWait
	IRQ
	SoftIRQ
	Steal
	NumCPUTimes
)

// CPUTicks parses the all-CPU line that begins /proc/stat ("cpu  user nice
// system idle iowait irq softirq steal guest guest_nice"), in USER_HZ
// ticks (10 ms). Older kernels have fewer columns: the missing ones are 0
// (at least user, nice, system and idle must be there). Guest time is
// already in user and nice.
func CPUTicks(stat []byte) (t [NumCPUTimes]uint64, err error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	name, rest := Field(line)
	if string(name) != "cpu" {
		return t, errors.New("cpu times: no cpu line in stat")
	}
	for i := range t {
		var f []byte
		if f, rest = Field(rest); len(f) == 0 {
			if i < IOWait {
				return t, fmt.Errorf("cpu times: short cpu line %q", line)
			}
			break
		}
		n, err := ParseUint(f)
		if err != nil {
			return t, fmt.Errorf("cpu times: %w", err)
		}
		t[i] = n
	}
	return t, nil
}

// CountCPUs counts the per-CPU lines ("cpu0", "cpu1", ...) of /proc/stat.
func CountCPUs(stat []byte) int {
	n := 0
	for len(stat) > 0 {
		var line []byte
		line, stat, _ = bytes.Cut(stat, []byte("\n"))
		if len(line) > 3 && bytes.HasPrefix(line, []byte("cpu")) && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	return n
}

// Field returns the first space-separated field of b and what follows.
func Field(b []byte) (f, rest []byte) {
	b = bytes.TrimLeft(b, " \t\n")
	i := bytes.IndexAny(b, " \t\n")
	if i < 0 {
		return b, nil
	}
	return b[:i], b[i:]
}

// ParseUint parses a decimal counter without allocating.
func ParseUint(b []byte) (uint64, error) {
	if len(b) == 0 || len(b) > 19 {
		return strconv.ParseUint(string(b), 10, 64)
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return strconv.ParseUint(string(b), 10, 64)
		}
		n = n*10 + uint64(c-'0')
	}
	return n, nil
}

// ReadWhole reads h from offset 0 into *buf, growing *buf until the file
// fits (a read that fills the buffer may have been cut short), and returns
// the content, valid until the next read into *buf. Errors are the read's
// own (io.EOF is none); the caller says which file.
func ReadWhole(h Handle, buf *[]byte) ([]byte, error) {
	for {
		n, err := ReadAt0(h, *buf)
		if n == len(*buf) {
			*buf = make([]byte, 2*len(*buf))
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return (*buf)[:n], nil
	}
}
