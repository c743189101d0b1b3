package cgroup

// Parsers of the cgroup file formats. They take the content, so that each
// format is tested on its own, and return errors that say what was wrong;
// the reader adds the file's name.

import (
	"bytes"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/benchrig/benchrig/internal/procfs"
)

// lines yields data's lines without their newlines. Unlike a
// bufio.Scanner it allocates no buffer: the collector parses a dozen cgroup
// files per sample, and the scanners' 4 KiB buffers were most of its
// garbage.
func lines(data []byte) iter.Seq[string] {
	return func(yield func(string) bool) {
		for l := range strings.Lines(string(data)) {
			if !yield(strings.TrimSuffix(l, "\n")) {
				return
			}
		}
	}
}

// parseFlatKeyed parses "key value" lines (cpu.stat, memory.stat).
func parseFlatKeyed(data []byte) (map[string]int64, error) {
	kv := map[string]int64{}
	for line := range lines(data) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("want key value, got %q", line)
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", f[0], err)
		}
		kv[f[0]] = v
	}
	return kv, nil
}

// parseFlatKeys reads the values of keys from "key value" lines (cpu.stat)
// into out, in the order of keys; out keeps its value for a key that is
// absent. It allocates nothing: the collector reads cpu.stat of every
// target at every tick.
func parseFlatKeys(data []byte, keys []string, out []int64) error {
	for line := range bytes.Lines(data) {
		k, rest := procfs.Field(line)
		if len(k) == 0 {
			continue
		}
		v, rest := procfs.Field(rest)
		if extra, _ := procfs.Field(rest); len(v) == 0 || len(extra) != 0 {
			return fmt.Errorf("want key value, got %q", bytes.TrimSuffix(line, []byte("\n")))
		}
		i := 0
		for i < len(keys) && keys[i] != string(k) {
			i++
		}
		if i == len(keys) {
			continue
		}
		n, err := parseInt(v)
		if err != nil {
			return fmt.Errorf("key %s: %w", k, err)
		}
		out[i] = n
	}
	return nil
}

// nextField returns the first space-separated field of s and what follows
// it: strings.Fields without its slice.
func nextField(s string) (field, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// parseInt parses a decimal integer, allocating nothing (the collector
// reads a few integer files per target per tick).
func parseInt(b []byte) (int64, error) {
	neg := len(b) > 0 && b[0] == '-'
	d := b
	if neg {
		d = b[1:]
	}
	if len(d) == 0 || len(d) > 18 {
		return strconv.ParseInt(string(b), 10, 64) // its error, or a rare long value
	}
	var n int64
	for _, c := range d {
		if c < '0' || c > '9' {
			return strconv.ParseInt(string(b), 10, 64)
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

// parseBlkioServiceBytes sums the Read and Write lines over devices of a v1
// blkio.throttle.io_service_bytes file ("MAJ:MIN Op bytes" lines and a final
// "Total bytes" line). blkio.throttle.io_serviced has the same format with
// operations instead of bytes, and is parsed by it too.
func parseBlkioServiceBytes(data []byte) (read, write int64, err error) {
	for line := range lines(data) {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
			continue
		case len(f) == 2 && f[0] == "Total":
			continue
		case len(f) != 3:
			return 0, 0, fmt.Errorf("want device op bytes, got %q", line)
		}
		v, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("device %s %s: %w", f[0], f[1], err)
		}
		switch f[1] {
		case "Read":
			read += v
		case "Write":
			write += v
		}
	}
	return read, write, nil
}

// parseIOStat sums rbytes and wbytes over devices of a v2 io.stat file
// ("MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" lines).
func parseIOStat(data []byte) (read, write int64, err error) {
	var rw [4]int64
	err = parseIOStatAll(data, &rw)
	return rw[0], rw[1], err
}

// parseIOStatOps sums rios and wios (read and write operations) over
// devices of a v2 io.stat file.
func parseIOStatOps(data []byte) (read, write int64, err error) {
	var rw [4]int64
	err = parseIOStatAll(data, &rw)
	return rw[2], rw[3], err
}

// parseIOStatAll sums rbytes, wbytes, rios and wios over the devices of an
// io.stat file into rw, in that order: one pass for the four figures.
func parseIOStatAll(data []byte, rw *[4]int64) error {
	*rw = [4]int64{}
	for line := range lines(data) {
		dev, rest := nextField(line)
		if dev == "" {
			continue
		}
		for kv, rest := nextField(rest); kv != ""; kv, rest = nextField(rest) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("device %s: want key=value, got %q", dev, kv)
			}
			i := -1
			switch k {
			case "rbytes":
				i = 0
			case "wbytes":
				i = 1
			case "rios":
				i = 2
			case "wios":
				i = 3
			}
			if i < 0 {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("device %s %s: %w", dev, k, err)
			}
			rw[i] += n
		}
	}
	return nil
}

// parsePressure parses a PSI file: "some avg10=A avg60=B avg300=C total=T"
// and, except for cpu.pressure before Linux 5.13, the same with "full".
// total is in microseconds. A line that is absent leaves its figures NA.
func parsePressure(data []byte) (Pressure, error) {
	p := noPressure
	for line := range lines(data) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var avg *float64
		var total *time.Duration
		switch f[0] {
		case "some":
			avg, total = &p.SomeAvg10, &p.SomeTotal
		case "full":
			avg, total = &p.FullAvg10, &p.FullTotal
		default:
			return p, fmt.Errorf("want some or full, got %q", line)
		}
		seen := 0
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return p, fmt.Errorf("%s: want key=value, got %q", f[0], kv)
			}
			switch k {
			case "avg10":
				x, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return p, fmt.Errorf("%s %s: %w", f[0], k, err)
				}
				*avg = x
				seen++
			case "total":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return p, fmt.Errorf("%s %s: %w", f[0], k, err)
				}
				*total = time.Duration(n) * time.Microsecond
				seen++
			}
		}
		if seen != 2 {
			return p, fmt.Errorf("%s: want avg10 and total, got %q", f[0], line)
		}
	}
	return p, nil
}
