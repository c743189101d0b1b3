//go:build linux

package local

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/cgroup"
	"github.com/benchrig/benchrig/internal/testenv"
	"github.com/benchrig/benchrig/runner"
	"golang.org/x/sys/unix"
)

var _ runner.Checker = (*Executor)(nil)

// diskTempDir is a temporary directory on a filesystem with a block
// device: /tmp may be tmpfs, whose reads no cap or cache drop affects.
func diskTempDir(t *testing.T) string {
	t.Helper()
	for _, dir := range []string{t.TempDir(), "/var/tmp"} {
		var st unix.Stat_t
		if unix.Stat(dir, &st) != nil || unix.Major(st.Dev) == 0 {
			continue
		}
		if dir == "/var/tmp" {
			d, err := os.MkdirTemp(dir, "benchrig-test")
			if err != nil {
				continue
			}
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
		return dir
	}
	testenv.Skip(t, "neither the test temp dir nor /var/tmp is on a block device")
	return ""
}

// capExecutor is a cgroup executor that can cap reads here, or a skip
// saying why there is none.
func capExecutor(t *testing.T) *Executor {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skip(t, "read caps and cache drops need root")
	}
	e := newExecutor(t, Config{})
	if err := e.capController(); err != nil {
		testenv.Skipf(t, "no read caps on this host: %v", err)
	}
	return e
}

// writeFile writes size bytes of a pattern that no filesystem compresses
// or keeps sparse.
func writeFile(t *testing.T, path string, size int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(i*7 + i/251)
	}
	for n := 0; n < size; n += len(block) {
		binary.LittleEndian.PutUint64(block, uint64(n)) // no two blocks alike
		if _, err := f.Write(block[:min(len(block), size-n)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	disk := diskTempDir(t)
	fakeProc := t.TempDir()
	tests := []struct {
		name string
		job  runner.Job
		// want maps an executor mode to a substring of the reason; a mode
		// not listed must be accepted.
		want map[string]string
	}{
		{name: "nothing asked", job: runner.Job{Dir: "/nonexistent"}},
		{name: "read cap on a disk", job: runner.Job{ReadBPS: 1 << 20, Dir: disk},
			want: map[string]string{sourceRusage: "read cap: cgroups are off, and capping reads needs each trial in a cgroup of its own"}},
		{name: "read cap on tmpfs", job: runner.Job{ReadBPS: 1 << 20, ReadDevice: "/dev/shm"},
			want: map[string]string{sourceRusage: "cgroups are off", sourceV1: "read cap: /dev/shm is on a tmpfs filesystem, which has no block device"}},
		{name: "read cap on proc", job: runner.Job{ReadBPS: 1 << 20, ReadDevice: "/proc/self"},
			want: map[string]string{sourceRusage: "cgroups are off", sourceV1: "is on a proc filesystem, which has no block device"}},
		{name: "read cap on a missing path", job: runner.Job{ReadBPS: 1 << 20, ReadDevice: "/nonexistent/x"},
			want: map[string]string{sourceRusage: "cgroups are off", sourceV1: "read cap: read device /nonexistent/x: no such file or directory"}},
		{name: "negative read cap", job: runner.Job{ReadBPS: -5},
			want: map[string]string{sourceRusage: "read cap of -5 bytes/s: must be positive", sourceV1: "must be positive"}},
		{name: "cold cache", job: runner.Job{DropCaches: true}},
		{name: "cap and cold cache on tmpfs", job: runner.Job{ReadBPS: 1, ReadDevice: "/dev/shm", DropCaches: true},
			want: map[string]string{sourceRusage: "cgroups are off", sourceV1: "tmpfs"}},
	}
	for name, e := range executors(t) {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				want := tt.want[e.Mode()]
				if e.Mode() == sourceV2 && tt.want[sourceV1] != "" {
					want = tt.want[sourceV1]
				}
				if e.Mode() == sourceV2 && tt.job.ReadBPS > 0 && !slices.Contains(e.Controllers(), "io") {
					// A hybrid host binds the io controller to v1 blkio.
					want = "the cgroup v2 io controller is not enabled for trial cgroups"
				}
				if tt.job.DropCaches && os.Geteuid() != 0 && want == "" {
					want = "cold cache: dropping the page cache needs root"
				}
				err := e.Check(tt.job)
				switch {
				case want == "" && err != nil:
					t.Errorf("Check: %v, want nil", err)
				case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
					t.Errorf("Check: %v, want a reason with %q", err, want)
				}
			})
		}
	}
	t.Run("drop_caches missing", func(t *testing.T) {
		e := newExecutor(t, Config{Cgroups: Off, ProcRoot: fakeProc})
		err := e.Check(runner.Job{DropCaches: true})
		want := "cold cache: cannot drop the page cache: open " + fakeProc + "/sys/vm/drop_caches: no such file or directory"
		if err == nil || err.Error() != want {
			t.Errorf("Check: %v\nwant   %s", err, want)
		}
	})
	t.Run("cgroups off with a reason", func(t *testing.T) {
		e := newExecutor(t, Config{CgroupRoot: t.TempDir()})
		err := e.Check(runner.Job{ReadBPS: 1 << 20, Dir: disk})
		if err == nil || !strings.Contains(err.Error(), "cgroups are not usable here (cgroups not usable, measuring with rusage") {
			t.Errorf("Check: %v", err)
		}
	})
}

// TestRunRefusesUnhonouredCap: a cap that cannot be applied is an error
// of Run, never a measurement taken without it.
func TestRunRefusesUnhonouredCap(t *testing.T) {
	for name, e := range executors(t) {
		t.Run(name, func(t *testing.T) {
			job := runner.Job{Argv: []string{"true"}, ReadBPS: 1 << 20, ReadDevice: "/dev/shm"}
			m, err := e.Run(context.Background(), job)
			if err == nil || !strings.HasPrefix(err.Error(), "local: read cap: ") || m.Wall != 0 {
				t.Errorf("Run = %v, Wall %v; want a read cap error and nothing run", err, m.Wall)
			}
			job.ReadBPS = -1
			if _, err := e.Run(context.Background(), job); err == nil || !strings.Contains(err.Error(), "must be positive") {
				t.Errorf("negative cap: Run = %v", err)
			}
		})
	}
}

// TestReadDeviceOnHost resolves real paths: a directory and the device
// node of its disk give the same device.
func TestReadDeviceOnHost(t *testing.T) {
	e := capExecutor(t)
	dir := diskTempDir(t)
	dev, note, err := e.readDevice(runner.Job{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s is on device %s %s", dir, dev, note)
	uevent, err := os.ReadFile(filepath.Join("/sys/dev/block", dev.String(), "uevent"))
	if err != nil {
		t.Fatal(err)
	}
	var name string
	for _, l := range strings.Split(string(uevent), "\n") {
		if v, ok := strings.CutPrefix(l, "DEVNAME="); ok {
			name = v
		}
	}
	node := filepath.Join("/dev", name)
	if _, err := os.Stat(node); name == "" || err != nil {
		testenv.Skipf(t, "no device node for %s (%q): %v", dev, name, err)
	}
	got, _, err := e.readDevice(runner.Job{ReadDevice: node, Dir: "/dev/shm"})
	if err != nil || got != dev {
		t.Errorf("readDevice(%s) = %s %v, want %s", node, got, err, dev)
	}
	// ReadDevice wins over Dir; Dir is the default.
	if _, _, err := e.readDevice(runner.Job{Dir: "/dev/shm"}); err == nil {
		t.Errorf("readDevice(Dir /dev/shm) succeeded")
	}
}

// TestReadCapThrottlesColdReads reads a 200 MB file cold, uncapped then
// capped at 50 MB/s, and warm under the cap. The cap throttles reads that
// reach the device, so the cold capped read takes about 4 s and the warm
// one does not wait.
func TestReadCapThrottlesColdReads(t *testing.T) {
	testenv.LockHostIO(t)
	e := capExecutor(t)
	dir := diskTempDir(t)
	const size = 200_000_000
	const bps = 50_000_000
	file := filepath.Join(dir, "cold.dat")
	writeFile(t, file, size)

	job := runner.Job{Argv: []string{"cat", file}, Dir: dir, DropCaches: true}
	if err := e.Check(job); err != nil {
		t.Fatalf("Check(cold read): %v", err)
	}
	read := func(name string, job runner.Job) (wall time.Duration, ioRead float64) {
		t.Helper()
		m := run(t, e, job)
		if m.ExitCode != 0 || m.StdoutBytes != size {
			t.Fatalf("%s: exit %d %q, stdout %d bytes, want 0 and %d", name, m.ExitCode, m.Error, m.StdoutBytes, size)
		}
		ioRead = m.Metrics["io_read_bytes"]
		t.Logf("%s: wall %v (%.0f MB/s) io_read_bytes %.0f drop_caches_seconds %.3f read_bps_cap %.0f",
			name, m.Wall, size/m.Wall.Seconds()/1e6, ioRead, m.Metrics["drop_caches_seconds"], m.Metrics["read_bps_cap"])
		if job.DropCaches {
			if d, ok := m.Metrics["drop_caches_seconds"]; !ok || d <= 0 {
				t.Errorf("%s: drop_caches_seconds = %v %v", name, d, ok)
			}
		} else if _, ok := m.Metrics["drop_caches_seconds"]; ok {
			t.Errorf("%s: drop_caches_seconds recorded without a drop", name)
		}
		if job.ReadBPS > 0 && m.Metrics["read_bps_cap"] != float64(job.ReadBPS) {
			t.Errorf("%s: read_bps_cap = %v, want %d", name, m.Metrics["read_bps_cap"], job.ReadBPS)
		}
		if _, ok := m.Metrics["read_bps_cap"]; job.ReadBPS == 0 && ok {
			t.Errorf("%s: read_bps_cap recorded without a cap", name)
		}
		return m.Wall, ioRead
	}

	uncapped, ioCold := read("cold uncapped", job)
	// A cold read reaches the device for the whole file (plus metadata
	// and readahead past the end, minus nothing).
	if ioCold < size || ioCold > size*1.1 {
		t.Errorf("cold read: io_read_bytes = %.0f, want about the file's %d bytes", ioCold, size)
	}

	job.ReadBPS = bps
	if err := e.Check(job); err != nil {
		t.Fatalf("Check(capped read): %v", err)
	}
	capped, ioCapped := read("cold capped", job)
	expected := time.Duration(float64(size) / bps * float64(time.Second))
	if capped < expected*7/10 || capped > 3*expected {
		t.Errorf("capped cold read took %v, want about %v (%d bytes at %d B/s)", capped, expected, size, bps)
	}
	if uncapped > capped/2 {
		t.Errorf("uncapped cold read took %v, capped %v: want the uncapped one well under half", uncapped, capped)
	}
	if ioCapped < size || ioCapped > size*1.1 {
		t.Errorf("capped read: io_read_bytes = %.0f, want about %d", ioCapped, size)
	}

	// The page cache is the host's: other tests (cmd/benchrig's cold-cache
	// benchmarks run side by side) and other users drop it at any moment,
	// as happened during the 4 s capped read above. So the file is read
	// into the cache right before, and a warm read that still reached the
	// device is tried again, a bounded number of times.
	job.DropCaches = false
	var warm time.Duration
	var ioWarm float64
	for try := 1; try <= 3; try++ {
		if err := exec.Command("cat", file).Run(); err != nil {
			t.Fatal(err)
		}
		warm, ioWarm = read("warm capped", job)
		if warm <= expected/4 && ioWarm <= size/20 {
			break
		}
		t.Logf("try %d: the warm read reached the device: the page cache was dropped meanwhile", try)
	}
	if warm > expected/4 || ioWarm > size/20 {
		t.Errorf("warm read under the cap: wall %v io_read_bytes %.0f, want it served from the page cache", warm, ioWarm)
	}
}

// TestDropCachesOutsideWall: the write-back of dirty data is timed as
// drop_caches_seconds, not as part of the command's wall time.
func TestDropCachesOutsideWall(t *testing.T) {
	testenv.LockHostIO(t)
	e := capExecutor(t)
	dir := diskTempDir(t)
	f, err := os.Create(filepath.Join(dir, "dirty.dat"))
	if err != nil {
		t.Fatal(err)
	}
	// 110 MB, unsynced, written in small pieces: our own peak RSS is a
	// floor of every later rusage maxrss (see Run), so it must stay small.
	chunk := bytes.Repeat([]byte("dirty page "), 100_000)
	for range 100 {
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	m := run(t, e, runner.Job{Argv: []string{"true"}, DropCaches: true})
	d := m.Metrics["drop_caches_seconds"]
	t.Logf("drop_caches_seconds %.3f (110 MB dirty), wall of true %v", d, m.Wall)
	if m.ExitCode != 0 || d <= 0 || m.Wall > 100*time.Millisecond {
		t.Errorf("exit %d drop_caches_seconds %v wall %v: want a positive drop time and a short wall", m.ExitCode, d, m.Wall)
	}
}

// TestReadCapOnPartition builds a partitioned loop device with an ext4
// partition, and checks that the kernel refuses a cap on the partition,
// that a path on it resolves to the loop disk, and that the disk's cap
// throttles reads of a file on the partition.
func TestReadCapOnPartition(t *testing.T) {
	testenv.LockHostIO(t)
	e := capExecutor(t)
	for _, tool := range []string{"losetup", "partx", "mkfs.ext4"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "%s not installed: %v", tool, err)
		}
	}
	dir := diskTempDir(t)
	img := filepath.Join(dir, "disk.img")
	const imgSize, start = 64 << 20, 2048 // bytes, first sector of the partition
	mbr := make([]byte, 512)
	entry := mbr[446:462]
	entry[4] = 0x83 // Linux
	binary.LittleEndian.PutUint32(entry[8:], start)
	binary.LittleEndian.PutUint32(entry[12:], imgSize/512-start)
	mbr[510], mbr[511] = 0x55, 0xaa
	if err := os.WriteFile(img, mbr, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, imgSize); err != nil {
		t.Fatal(err)
	}
	sh := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	out, err := exec.Command("losetup", "--find", "--show", "--partscan", img).CombinedOutput()
	if err != nil {
		testenv.Skipf(t, "no loop device: %v %s", err, out)
	}
	loop := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("losetup", "--detach", loop).Run() })
	base := filepath.Base(loop)
	part := filepath.Join("/sys/block", base, base+"p1")
	if _, err := os.Stat(part); err != nil {
		// Kernels without MSDOS_PARTITION do not scan it; partx adds it.
		sh("partx", "--add", loop)
	}
	devData, err := os.ReadFile(filepath.Join(part, "dev"))
	if err != nil {
		t.Fatalf("partition of %s: %v", loop, err)
	}
	partDev, err := parseDevNum(string(devData))
	if err != nil {
		t.Fatal(err)
	}
	diskData, err := os.ReadFile(filepath.Join("/sys/block", base, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	diskDev, _ := parseDevNum(string(diskData))
	node := filepath.Join(dir, "p1")
	if err := unix.Mknod(node, unix.S_IFBLK|0o600, int(unix.Mkdev(partDev.Major, partDev.Minor))); err != nil {
		t.Fatal(err)
	}
	sh("mkfs.ext4", "-q", node)
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(node, mnt, "ext4", 0, ""); err != nil {
		t.Fatalf("mount %s: %v", node, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})

	// What the kernel accepts: the disk, not the partition.
	perr := e.cg.probeReadCap(partDev, 1<<20)
	t.Logf("cap on partition %s: %v", partDev, perr)
	if perr == nil || !strings.Contains(perr.Error(), "refuses a read cap on device "+partDev.String()) {
		t.Errorf("probe cap on partition %s: %v, want the kernel to refuse it", partDev, perr)
	}
	if err := e.cg.probeReadCap(diskDev, 1<<20); err != nil {
		t.Errorf("probe cap on disk %s: %v", diskDev, err)
	}
	got, note, err := e.readDevice(runner.Job{ReadDevice: mnt})
	if err != nil || got != diskDev || !strings.Contains(note, "partition "+partDev.String()) {
		t.Fatalf("readDevice(%s) = %s %q %v, want disk %s", mnt, got, note, err, diskDev)
	}
	t.Log(note)

	const size, bps = 16_000_000, 8_000_000
	file := filepath.Join(mnt, "f")
	writeFile(t, file, size)
	job := runner.Job{Argv: []string{"cat", file}, Dir: mnt, ReadBPS: bps, DropCaches: true}
	if err := e.Check(job); err != nil {
		t.Fatalf("Check: %v", err)
	}
	m := run(t, e, job)
	expected := time.Duration(float64(size) / bps * float64(time.Second))
	t.Logf("partition read capped through the disk: wall %v (%.1f MB/s, cap %d B/s), io_read_bytes %.0f (loop and its backing disk both count)",
		m.Wall, size/m.Wall.Seconds()/1e6, bps, m.Metrics["io_read_bytes"])
	if m.ExitCode != 0 || m.StdoutBytes != size {
		t.Fatalf("exit %d %q stdout %d", m.ExitCode, m.Error, m.StdoutBytes)
	}
	if m.Wall < expected*7/10 || m.Wall > 3*expected {
		t.Errorf("capped read of the partition took %v, want about %v", m.Wall, expected)
	}
}

// TestReadCapWrite checks the io.max and blkio lines written into a
// trial's cgroup, on stand-in control files.
func TestReadCapWrite(t *testing.T) {
	tests := []struct {
		name     string
		version  int
		file     string
		wantLine string
	}{
		{name: "v2 io.max", version: 2, file: "io.max", wantLine: "8:0 rbps=52428800"},
		{name: "v1 blkio", version: 1, file: "blkio.throttle.read_bps_device", wantLine: "8:0 52428800"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tc := &trialCgroup{setup: &cgroupSetup{version: tt.version}, dir: dir, dirs: map[string]string{"blkio": dir}, fd: -1}
			if err := tc.capReads(blockDev{8, 0}, 50<<20); err == nil || !strings.Contains(err.Error(), "this kernel has no "+tt.file) {
				t.Errorf("without %s: %v", tt.file, err)
			}
			if err := os.WriteFile(filepath.Join(dir, tt.file), []byte("old content that is longer\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := tc.capReads(blockDev{8, 0}, 50<<20); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, tt.file)); string(got) != tt.wantLine {
				t.Errorf("%s = %q, want %q", tt.file, got, tt.wantLine)
			}
		})
	}
}

// deadPid returns the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestSweepStale leaves trial cgroups of a dead benchrig in a real cgroup
// (one holding a process), next to ones that must stay, and sweeps.
func TestSweepStale(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skip(t, "creating cgroups needs root")
	}
	hierarchies := map[string]string{"v1 pids": "/sys/fs/cgroup/pids", "v2": ""}
	if r, err := cgroup.Detect("/sys/fs/cgroup"); err == nil && r.Unified != "" {
		hierarchies["v2"] = r.Unified
	}
	for name, root := range hierarchies {
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); root == "" || err != nil {
				testenv.Skipf(t, "no %s hierarchy at %q", name, root)
			}
			parent := filepath.Join(root, uniqueName("sweeptest"))
			if err := os.Mkdir(parent, 0o755); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _, _ = removeStale(parent) })
			dead := deadPid(t)
			mk := func(rel string) string {
				d := filepath.Join(parent, rel)
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
				return d
			}
			emptyDead := mk(fmt.Sprintf("benchrig-%d-trial1", dead))
			busyDead := mk(fmt.Sprintf("benchrig-%d-trial2", dead))
			nested := mk(fmt.Sprintf("benchrig-%d-trials3", dead))
			nestedTrial := filepath.Join(nested, fmt.Sprintf("benchrig-%d-trial4", dead))
			if err := os.Mkdir(nestedTrial, 0o755); err != nil {
				t.Fatal(err)
			}
			ours := mk(fmt.Sprintf("benchrig-%d-trial5", os.Getpid()))
			live := mk("benchrig-1-trial6") // init never dies
			other := mk(fmt.Sprintf("something-%d-trial7", dead))

			// A leftover of the dead run, still running in its cgroup.
			d := uniqueSleep()
			sleeper := exec.Command("sleep", d)
			if err := sleeper.Start(); err != nil {
				t.Fatal(err)
			}
			waited := make(chan error, 1)
			go func() { waited <- sleeper.Wait() }()
			t.Cleanup(func() { _ = sleeper.Process.Kill() })
			if err := os.WriteFile(filepath.Join(busyDead, "cgroup.procs"), []byte(fmt.Sprint(sleeper.Process.Pid)), 0); err != nil {
				t.Fatal(err)
			}

			notes := sweepDir(parent)
			t.Logf("notes:\n%s", strings.Join(notes, "\n"))
			for _, gone := range []string{emptyDead, busyDead, nested} {
				if _, err := os.Stat(gone); !os.IsNotExist(err) {
					t.Errorf("%s not removed: %v", gone, err)
				}
			}
			for _, kept := range []string{ours, live, other} {
				if _, err := os.Stat(kept); err != nil {
					t.Errorf("%s removed: %v", kept, err)
				}
			}
			select {
			case err := <-waited:
				if err == nil || !strings.Contains(err.Error(), "killed") {
					t.Errorf("leftover sleep ended with %v, want killed", err)
				}
			case <-time.After(2 * time.Second):
				t.Errorf("leftover sleep still running")
			}
			wantNote := fmt.Sprintf("removed stale cgroup %s of benchrig %d (no longer running), killing 1 processes left in it", busyDead, dead)
			if len(notes) != 3 || !slices.Contains(notes, wantNote) {
				t.Errorf("notes = %q, want 3 with %q", notes, wantNote)
			}
			for _, d := range []string{ours, live, other} {
				_ = os.Remove(d)
			}
		})
	}
}

// TestNewSweepsStale: New sweeps where trials are made (the v1 hierarchies'
// our-own cgroups), so a leftover there is gone after New.
func TestNewSweepsStale(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skip(t, "creating cgroups needs root")
	}
	self, err := cgroup.ReadPaths("/proc", cgroup.Self)
	if err != nil {
		t.Fatal(err)
	}
	root, err := cgroup.Detect("/sys/fs/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	mount, ok := root.V1Mount("pids")
	if !ok {
		testenv.Skip(t, "no v1 pids hierarchy")
	}
	stale := filepath.Join(mount, self.V1["pids"], fmt.Sprintf("benchrig-%d-trial1", deadPid(t)))
	if err := os.Mkdir(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(stale) })
	e := newExecutor(t, Config{})
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("%s still there after New: %v", stale, err)
	}
	want := "removed stale cgroup " + stale + " of benchrig "
	if !slices.ContainsFunc(e.Notes(), func(n string) bool { return strings.HasPrefix(n, want) }) {
		t.Errorf("Notes = %q, want one starting %q", e.Notes(), want)
	}
	if off := newExecutor(t, Config{Cgroups: Off}); len(off.Notes()) != 0 {
		t.Errorf("Off executor swept: %q", off.Notes())
	}
}

// TestConcurrentMeasurements runs four different jobs at once on one
// executor, as `instances: 4` does, and checks each got its own figures:
// job k writes k*100000 bytes, exits k, runs k background sleeps that it
// waits for (so its tree peaks at k+2 processes and its wall is at least
// the sleep), and burns k units of CPU.
func TestConcurrentMeasurements(t *testing.T) {
	const unit = 20000 // loop iterations, about 40 ms of CPU
	loop := func(n int) string {
		return fmt.Sprintf(`i=0; while [ $i -lt %d ]; do i=$((i+1)); done`, n)
	}
	for name, e := range executors(t) {
		t.Run(name, func(t *testing.T) {
			// Calibrate: one unit of CPU, alone. Four loops on two CPUs
			// (hyperthreads of one core, on some VMs) each take more CPU
			// time than one alone, hence the wide band below.
			base := run(t, e, sh(loop(4*unit)))
			perUnit := (base.User + base.Sys) / 4
			if perUnit <= 0 {
				t.Fatalf("calibration: no CPU measured: %+v", base)
			}
			type result struct {
				m   benchrig.Measurement
				err error
			}
			results := make([]result, 4)
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Go(func() {
					k := i + 1
					script := strings.Repeat(fmt.Sprintf("sleep 0.%d & ", k+2), k) +
						fmt.Sprintf("head -c %d /dev/zero; %s; wait; exit %d", k*100000, loop(k*unit), k)
					m, err := e.Run(context.Background(), sh(script))
					results[i] = result{m, err}
				})
			}
			wg.Wait()
			for i, r := range results {
				k := i + 1
				if r.err != nil {
					t.Errorf("job %d: %v", k, r.err)
					continue
				}
				m := r.m
				cpu := m.User + m.Sys
				t.Logf("job %d: exit %d wall %v cpu %v (%.2f units) stdout %d pids_peak %v", k, m.ExitCode, m.Wall, cpu, float64(cpu)/float64(perUnit), m.StdoutBytes, m.Metrics["pids_peak"])
				if m.ExitCode != k || m.StdoutBytes != int64(k*100000) {
					t.Errorf("job %d: exit %d stdout %d, want %d and %d", k, m.ExitCode, m.StdoutBytes, k, k*100000)
				}
				if sleep := time.Duration(k+2) * 100 * time.Millisecond; m.Wall < sleep || m.Wall > sleep+3*time.Second {
					t.Errorf("job %d: wall %v, want its %v sleep and a little more", k, m.Wall, sleep)
				}
				if p, ok := m.Metrics["pids_peak"]; ok && p != float64(k+2) {
					t.Errorf("job %d: pids_peak %v, want %d (sh, %d sleeps, head)", k, p, k+2, k)
				}
				if lo, hi := perUnit*time.Duration(k)*2/5, perUnit*time.Duration(k)*5/2; cpu < lo || cpu > hi {
					t.Errorf("job %d: cpu %v, want %d units of %v (%v..%v)", k, cpu, k, perUnit, lo, hi)
				}
			}
		})
	}
}
