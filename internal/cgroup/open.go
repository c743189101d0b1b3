package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"syscall"

	"github.com/benchrig/benchrig/internal/procfs"
)

// Reader reads one cgroup's figures again and again, as a collector does,
// keeping its files open between reads. Reading an open cgroup file again
// from offset 0 makes the kernel generate it anew, and costs a twentieth of
// opening it: on the lab's VM about 0.3 µs of CPU against 7 to 20 µs for
// open, read and close (collect's figures), which is most of what a
// collector spends per sample.
//
// A Reader is safe for concurrent use (reads are serialized). Once the
// cgroup is removed its open files read as absent, like a fresh Read of a
// removed cgroup.
type Reader struct {
	// NoMemoryStat leaves Stats.Memory NA without reading memory.stat,
	// the costliest file to generate and parse, for a caller that does not
	// use it (the collector). Set it before the first Read.
	NoMemoryStat bool

	dirs  Dirs
	fetch func(file) ([]byte, error) // r.fetchFile, bound once: a method value per read would be an allocation

	mu    sync.Mutex
	files map[file]procfs.Handle // procfs.NoHandle: absent at first read
	// unthrottled: the last Read found v1 cpu.stat's nr_periods at 0
	// (no CFS quota), so ReadHot need not read it.
	unthrottled bool
	buf         []byte
	closed      bool
}

// NewReader returns a Reader of the cgroup d. It opens nothing yet: each
// file is opened at its first read.
func NewReader(d Dirs) *Reader {
	r := &Reader{dirs: d, files: map[file]procfs.Handle{}, buf: make([]byte, 8<<10)}
	r.fetch = r.fetchFile
	return r
}

// Read is cgroup.Read through the open files.
func (r *Reader) Read() (Stats, error) {
	return r.read(readOpts{noMemoryStat: r.NoMemoryStat})
}

// ReadHot reads only the hot figures: those that move fastest and cost
// least to read, for a collector sampling many cgroups many times a
// second, which reads everything (Read) less often. They are CPU
// (cpuacct.usage in v1, where the user/system split costs two more files;
// cpu.stat in v2, which has the split too), throttling (cpu.stat) and
// memory current: two or three small files against thirteen, of which the
// pressure, block IO and memory.stat files cost the kernel most to
// generate. Every other figure is NA.
//
// In v1, when the last Read found no CFS period at all (no quota, so the
// throttling counters are 0 and stay 0 until one is set), ReadHot gives
// them as 0 without reading cpu.stat, which leaves two files per target.
// A quota set meanwhile shows from the next Read on: a collector's
// throttling figures may lag by its full-read period (a second).
func (r *Reader) ReadHot() (Stats, error) {
	return r.read(readOpts{hot: true})
}

func (r *Reader) read(o readOpts) (Stats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return NoStats(), errors.New("cgroup reader closed")
	}
	o.unthrottled = o.hot && r.unthrottled
	st, err := readStats(r.dirs, r.fetch, o)
	if !o.hot {
		_, v1cpu := r.dirs.V1["cpu"]
		r.unthrottled = v1cpu && st.Periods == 0
	}
	return st, err
}

// fetchFile returns path's content, read at offset 0 of its open file.
func (r *Reader) fetchFile(path file) ([]byte, error) {
	f, seen := r.files[path]
	if !seen {
		var err error
		if f, err = procfs.Open(path.String()); err != nil {
			if notExist(err) {
				r.files[path] = procfs.NoHandle // a missing controller or kernel feature stays missing
			}
			return nil, err
		}
		r.files[path] = f
	}
	if f == procfs.NoHandle {
		return nil, fs.ErrNotExist
	}
	data, err := procfs.ReadWhole(f, &r.buf)
	if err != nil {
		if errors.Is(err, syscall.ENODEV) {
			// The cgroup was removed: its open files are dead.
			return nil, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
		}
		return nil, &fs.PathError{Op: "read", Path: path.String(), Err: err}
	}
	// Not a copy: readStats parses each file before it fetches the next
	// one, and keeps no bytes of it.
	return data, nil
}

// Close closes the cgroup's files.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	var errs []error
	for p, f := range r.files {
		if f != procfs.NoHandle {
			errs = append(errs, procfs.Close(f))
		}
		delete(r.files, p)
	}
	return errors.Join(errs...)
}
