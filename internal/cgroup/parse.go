package cgroup

// Parsers of the cgroup file formats. They take the content, so that each
// format is tested on its own, and return errors that say what was wrong;
// the reader adds the file's name.

import (
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"
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
	return parseIOStatKeys(data, "rbytes", "wbytes")
}

// parseIOStatOps sums rios and wios (read and write operations) over
// devices of a v2 io.stat file.
func parseIOStatOps(data []byte) (read, write int64, err error) {
	return parseIOStatKeys(data, "rios", "wios")
}

// parseIOStatKeys sums the values of keys rk and wk over the devices of an
// io.stat file.
func parseIOStatKeys(data []byte, rk, wk string) (read, write int64, err error) {
	for line := range lines(data) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return 0, 0, fmt.Errorf("device %s: want key=value, got %q", f[0], kv)
			}
			if k != rk && k != wk {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("device %s %s: %w", f[0], k, err)
			}
			if k == rk {
				read += n
			} else {
				write += n
			}
		}
	}
	return read, write, nil
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
