package local

// Read caps and cold caches: what Check promises and Run applies.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/benchrig/benchrig/runner"
	"golang.org/x/sys/unix"
)

// Check tells whether job's read cap and cold cache can be honoured here;
// see runner.Checker. It resolves the device and has the kernel accept the
// cap on a throwaway cgroup, but never drops caches. It is safe for
// concurrent use.
func (e *Executor) Check(job runner.Job) error {
	var reasons []string
	if job.ReadBPS < 0 {
		reasons = append(reasons, fmt.Sprintf("read cap of %d bytes/s: must be positive", job.ReadBPS))
	}
	if job.ReadBPS > 0 {
		if err := e.checkReadCap(job); err != nil {
			reasons = append(reasons, "read cap: "+err.Error())
		}
	}
	if job.DropCaches {
		if err := e.checkDropCaches(); err != nil {
			reasons = append(reasons, "cold cache: "+err.Error())
		}
	}
	if len(reasons) > 0 {
		return errors.New(strings.Join(reasons, "; "))
	}
	return nil
}

func (e *Executor) checkReadCap(job runner.Job) error {
	dev, _, err := e.readDevice(job)
	if err != nil {
		return err
	}
	return e.cg.probeReadCap(dev, job.ReadBPS)
}

// capController says why trials cannot have a read cap here, if they cannot.
func (e *Executor) capController() error {
	switch {
	case e.cg == nil && e.cfg.Cgroups == Off:
		return errors.New("cgroups are off, and capping reads needs each trial in a cgroup of its own")
	case e.cg == nil:
		return fmt.Errorf("capping reads needs each trial in a cgroup of its own, and cgroups are not usable here (%s)", e.warning)
	case e.cg.version == 1 && !slices.Contains(e.cg.controllers, "blkio"):
		return errors.New("the cgroup v1 blkio controller is not usable here")
	case e.cg.version == 2 && !slices.Contains(e.cg.controllers, "io"):
		return errors.New("the cgroup v2 io controller is not enabled for trial cgroups (on a hybrid host it is bound to the v1 blkio hierarchy: use cgroup mode auto or v1)")
	}
	return nil
}

// readDevice resolves the device whose reads job's cap throttles: the disk
// holding job.ReadDevice (default: the job's directory). note tells of a
// partition replaced by its disk.
func (e *Executor) readDevice(job runner.Job) (dev blockDev, note string, err error) {
	if err := e.capController(); err != nil {
		return dev, "", err
	}
	path := job.ReadDevice
	if path == "" {
		path = job.Dir
	}
	if path == "" {
		path = "."
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return dev, "", err
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return dev, "", fmt.Errorf("read device %s: %w", path, err)
	}
	raw := st.Dev
	if st.Mode&unix.S_IFMT == unix.S_IFBLK {
		raw = st.Rdev // the device node itself
	}
	dev = blockDev{unix.Major(raw), unix.Minor(raw)}
	if dev.Major == 0 {
		// tmpfs, overlay, NFS, proc: no device. btrfs also gives files an
		// anonymous device, but its mount names the real one.
		m, ok := mountOf(e.cfg.ProcRoot, dev, abs)
		if !ok {
			return dev, "", noBlockDevice(abs, dev, "")
		}
		src, ok := blockNode(m.Source)
		if !ok {
			return dev, "", noBlockDevice(abs, dev, m.FSType)
		}
		dev = src
	}
	return wholeDisk(e.cfg.SysRoot, dev)
}

// blockNode returns the device number of a block device node.
func blockNode(path string) (blockDev, bool) {
	if !strings.HasPrefix(path, "/dev/") {
		return blockDev{}, false
	}
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return blockDev{}, false
	}
	return blockDev{unix.Major(st.Rdev), unix.Minor(st.Rdev)}, true
}

// writeReadCap writes a read cap into the cgroup directory dir.
func writeReadCap(dir string, version int, dev blockDev, bps int64) error {
	file := readCapFile(version)
	if err := writeExisting(filepath.Join(dir, file), readCapLine(version, dev, bps)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("this kernel has no %s (block IO throttling not built in)", file)
		}
		if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EINVAL) {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return fmt.Errorf("the kernel refuses a read cap on device %s (%s: %w)", dev, file, err)
		}
		return fmt.Errorf("write %s: %w", filepath.Join(dir, file), err)
	}
	return nil
}

// probeReadCap has the kernel accept the cap on a throwaway cgroup.
func (s *cgroupSetup) probeReadCap(dev blockDev, bps int64) error {
	parent := s.v2Parent
	if s.version == 1 {
		parent = s.v1Own["blkio"]
	}
	dir := filepath.Join(parent, uniqueName("probe"))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("create cgroup: %w", err)
	}
	err := writeReadCap(dir, s.version, dev, bps)
	if rerr := removeDir(dir); rerr != nil && err == nil {
		err = fmt.Errorf("remove cgroup: %w", rerr)
	}
	return err
}

// capReads caps the trial's reads from dev. v1 membership is per
// controller, and the trial's thread joins blkio with the others.
func (t *trialCgroup) capReads(dev blockDev, bps int64) error {
	if t.setup.version == 1 {
		d, ok := t.dirs["blkio"]
		if !ok {
			return errors.New("no blkio cgroup for the trial")
		}
		return writeReadCap(d, 1, dev, bps)
	}
	return writeReadCap(t.dir, 2, dev, bps)
}

func (e *Executor) dropCachesPath() string {
	return filepath.Join(e.cfg.ProcRoot, "sys", "vm", "drop_caches")
}

// checkDropCaches opens drop_caches for writing without writing to it: the
// open is where permission and a read-only /proc/sys show.
func (e *Executor) checkDropCaches() error {
	f, err := os.OpenFile(e.dropCachesPath(), os.O_WRONLY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("dropping the page cache needs root: %w", err)
		}
		return fmt.Errorf("cannot drop the page cache: %w", err)
	}
	return f.Close()
}

// dropCaches writes dirty pages back, then drops the page cache, dentries
// and inodes. Concurrent trials take turns: two drops at once do the work
// twice and make each take longer.
func (e *Executor) dropCaches() (time.Duration, error) {
	e.dropMu.Lock()
	defer e.dropMu.Unlock()
	t0 := time.Now()
	// drop_caches drops only clean pages: without the sync, dirty ones
	// would stay cached and the command would read them warm.
	unix.Sync()
	if err := writeExisting(e.dropCachesPath(), "3"); err != nil {
		return 0, fmt.Errorf("drop caches: %w", err)
	}
	return time.Since(t0), nil
}

// DropCaches drops the page cache once, for a trial whose instances all
// start cold: it implements runner.CacheDropper.
func (e *Executor) DropCaches(context.Context) (time.Duration, error) {
	return e.dropCaches()
}

// writeExisting writes to a control file that must already exist: a
// missing one means the kernel lacks the feature, not that it should be
// created.
func writeExisting(path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
