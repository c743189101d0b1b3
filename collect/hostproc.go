package collect

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/benchrig/benchrig/internal/procfs"
)

// procFiles reads the host's hot /proc files (stat, loadavg, meminfo)
// itself, kept open and read again from offset 0, which makes the kernel
// generate them anew. gopsutil opens, reads whole and parses each of them
// into maps and strings on every call: 57 µs and 190 allocations for the
// three on the lab's VM, against about a tenth of that here. It is not
// safe for concurrent use: hostSampler serializes it.
type procFiles struct {
	root  string
	files map[string]procfs.Handle
	buf   []byte
}

func newProcFiles(root string) *procFiles {
	if root == "" {
		root = "/proc"
	}
	return &procFiles{root: root, files: map[string]procfs.Handle{}, buf: make([]byte, 16<<10)}
}

// read returns name's content (valid until the next read), opening it at
// its first read. A failed read closes the file, so the next read opens it
// again.
func (p *procFiles) read(name string) ([]byte, error) {
	h, ok := p.files[name]
	if !ok {
		var err error
		if h, err = procfs.Open(filepath.Join(p.root, name)); err != nil {
			return nil, err
		}
		p.files[name] = h
	}
	data, err := procfs.ReadWhole(h, &p.buf)
	if err != nil {
		_ = procfs.Close(h) // read-only: nothing to lose
		delete(p.files, name)
		return nil, err
	}
	return data, nil
}

// hostCPU is the all-CPU line of /proc/stat, in seconds as gopsutil gives
// them.
type hostCPU struct {
	User, Nice, System, Idle, Iowait, Irq, Softirq, Steal float64
}

// cpuTimes reads the all-CPU line of /proc/stat.
func (p *procFiles) cpuTimes() (hostCPU, error) {
	data, err := p.read("stat")
	if err != nil {
		return hostCPU{}, fmt.Errorf("cpu times: %w", err)
	}
	t, err := procfs.CPUTicks(data)
	if err != nil {
		return hostCPU{}, err
	}
	var v [procfs.NumCPUTimes]float64
	for i, n := range t {
		v[i] = float64(n) / cpu.ClocksPerSec
	}
	return hostCPU{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}, nil
}

// loadAvg reads /proc/loadavg.
func (p *procFiles) loadAvg() (l1, l5, l15 float64, err error) {
	data, err := p.read("loadavg")
	if err != nil {
		return 0, 0, 0, fmt.Errorf("load: %w", err)
	}
	var l [3]float64
	rest := data
	for i := range l {
		var f []byte
		f, rest = procfs.Field(rest)
		if l[i], err = parseDecimal(f); err != nil {
			return 0, 0, 0, fmt.Errorf("load: %q: %w", data, err)
		}
	}
	return l[0], l[1], l[2], nil
}

// memory reads MemTotal and MemAvailable of /proc/meminfo, in bytes. ok is
// false when the kernel has no MemAvailable (before 3.14), for the caller
// to estimate it as gopsutil does.
func (p *procFiles) memory() (total, available uint64, ok bool, err error) {
	data, err := p.read("meminfo")
	if err != nil {
		return 0, 0, false, fmt.Errorf("memory: %w", err)
	}
	seen := 0
	for line := range bytes.Lines(data) {
		k, v, found := bytes.Cut(line, []byte(":"))
		if !found {
			continue
		}
		var dst *uint64
		switch string(k) {
		case "MemTotal":
			dst = &total
		case "MemAvailable":
			dst, ok = &available, true
		default:
			continue
		}
		f, _ := procfs.Field(v)
		n, err := procfs.ParseUint(f)
		if err != nil {
			return 0, 0, false, fmt.Errorf("memory: %s: %w", k, err)
		}
		*dst = n * 1024 // kB
		if seen++; seen == 2 {
			break
		}
	}
	if total == 0 {
		return 0, 0, false, errors.New("memory: no MemTotal in meminfo")
	}
	return total, available, ok, nil
}

// parseDecimal parses "12.34" exactly as strconv.ParseFloat does (an
// integer of few digits over a power of ten is rounded once), without
// allocating; other forms go to ParseFloat.
func parseDecimal(b []byte) (float64, error) {
	whole, frac, _ := bytes.Cut(b, []byte("."))
	digits := len(whole) + len(frac)
	if len(whole) == 0 || digits > 15 {
		return strconv.ParseFloat(string(b), 64)
	}
	var n uint64
	for _, part := range [][]byte{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return strconv.ParseFloat(string(b), 64)
			}
			n = n*10 + uint64(c-'0')
		}
	}
	return float64(n) / pow10[len(frac)], nil
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// close closes the open files.
func (p *procFiles) close() {
	for name, h := range p.files {
		_ = procfs.Close(h) // read-only
		delete(p.files, name)
	}
}
