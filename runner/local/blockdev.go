package local

// Pure parts of read caps and stale-cgroup sweeping: device numbers, the
// walk from a partition to its disk in sysfs, mountinfo, the cap lines and
// trial cgroup names. They read through the roots they are given, so they
// are tested on fixture trees under testdata/.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
)

// trialPrefix starts the name of every cgroup this package creates, so
// leftovers are recognisable (and tests can assert there are none).
const trialPrefix = "benchrig-"

var nameSeq atomic.Uint64

// uniqueName names a cgroup "benchrig-<pid>-<kind><n>"; parseTrialName
// reads the pid back.
func uniqueName(kind string) string {
	return fmt.Sprintf("%s%d-%s%d", trialPrefix, os.Getpid(), kind, nameSeq.Add(1))
}

// blockDev is a device number.
type blockDev struct{ Major, Minor uint32 }

func (d blockDev) String() string { return fmt.Sprintf("%d:%d", d.Major, d.Minor) }

// parseDevNum parses "MAJ:MIN", as in sysfs dev files and mountinfo.
func parseDevNum(s string) (blockDev, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return blockDev{}, fmt.Errorf("device number %q: want MAJ:MIN", s)
	}
	maj, err1 := strconv.ParseUint(a, 10, 32)
	min, err2 := strconv.ParseUint(b, 10, 32)
	if err1 != nil || err2 != nil {
		return blockDev{}, fmt.Errorf("device number %q: want MAJ:MIN", s)
	}
	return blockDev{uint32(maj), uint32(min)}, nil
}

// mountEntry is what the executor needs of a /proc/self/mountinfo line.
type mountEntry struct {
	Dev    blockDev
	Point  string
	FSType string
	Source string
}

// parseMountinfo parses /proc/<pid>/mountinfo: "id parent MAJ:MIN root
// point options [optional fields...] - fstype source superoptions".
func parseMountinfo(data []byte) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 6 || sep < 0 || sep+2 >= len(f) {
			return nil, fmt.Errorf("mountinfo: short line %q", sc.Text())
		}
		dev, err := parseDevNum(f[2])
		if err != nil {
			return nil, fmt.Errorf("mountinfo: %w", err)
		}
		out = append(out, mountEntry{Dev: dev, Point: unescapeMount(f[4]), FSType: f[sep+1], Source: unescapeMount(f[sep+2])})
	}
	return out, sc.Err()
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountOf finds the mount of device dev, preferring the one whose mount
// point is the longest prefix of path (one device may be mounted twice).
func mountOf(procRoot string, dev blockDev, path string) (mountEntry, bool) {
	data, err := os.ReadFile(filepath.Join(procRoot, "self", "mountinfo"))
	if err != nil {
		return mountEntry{}, false
	}
	mounts, err := parseMountinfo(data)
	if err != nil {
		return mountEntry{}, false
	}
	var best mountEntry
	found, bestUnder := false, false
	for _, m := range mounts {
		if m.Dev != dev {
			continue
		}
		under := path == m.Point || strings.HasPrefix(path, strings.TrimSuffix(m.Point, "/")+"/")
		switch {
		case !found:
			best, found, bestUnder = m, true, under
		case under && (!bestUnder || len(m.Point) > len(best.Point)):
			best, bestUnder = m, true
		}
	}
	return best, found
}

// noBlockDevice is the reason a path cannot have its reads capped.
func noBlockDevice(path string, dev blockDev, fstype string) error {
	if fstype == "" {
		return fmt.Errorf("%s is on a filesystem without a block device (device %s), so its reads cannot be capped", path, dev)
	}
	return fmt.Errorf("%s is on a %s filesystem, which has no block device (device %s), so its reads cannot be capped", path, fstype, dev)
}

// wholeDisk returns the device whose throttle caps reads of dev: dev
// itself for a whole disk (including dm, md, loop, nbd), its disk for a
// partition. The kernel refuses partitions in blkio.throttle.* and io.max
// (blkcg_conf_open_bdev: ENODEV), and a cap on the disk covers reads of
// every partition on it. note describes a substitution, if any.
func wholeDisk(sysRoot string, dev blockDev) (disk blockDev, note string, err error) {
	p := filepath.Join(sysRoot, "dev", "block", dev.String())
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return dev, "", fmt.Errorf("device %s is not a block device (no %s)", dev, p)
		}
		return dev, "", err
	}
	if _, err := os.Stat(filepath.Join(p, "partition")); errors.Is(err, fs.ErrNotExist) {
		return dev, "", nil
	} else if err != nil {
		return dev, "", err
	}
	// p is a symlink into /sys/devices, where a partition's directory sits
	// inside its disk's. It must be resolved before taking the parent: a
	// lexical ".." would only climb out of /sys/dev/block.
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return dev, "", fmt.Errorf("find the disk of partition %s: %w", dev, err)
	}
	data, err := os.ReadFile(filepath.Join(filepath.Dir(real), "dev"))
	if err != nil {
		return dev, "", fmt.Errorf("find the disk of partition %s: %w", dev, err)
	}
	disk, err = parseDevNum(string(data))
	if err != nil {
		return dev, "", fmt.Errorf("find the disk of partition %s: %w", dev, err)
	}
	return disk, fmt.Sprintf("partition %s (%s) capped through its disk %s (%s)", dev, filepath.Base(real), disk, filepath.Base(filepath.Dir(real))), nil
}

// readCapFile and readCapLine are where and how a read cap is written: v1
// "MAJ:MIN BPS" to blkio.throttle.read_bps_device, v2 "MAJ:MIN rbps=BPS"
// to io.max (other limits of the line stay unlimited).
func readCapFile(version int) string {
	if version == 1 {
		return "blkio.throttle.read_bps_device"
	}
	return "io.max"
}

func readCapLine(version int, dev blockDev, bps int64) string {
	if version == 1 {
		return fmt.Sprintf("%s %d", dev, bps)
	}
	return fmt.Sprintf("%s rbps=%d", dev, bps)
}

// parseTrialName parses the name of a cgroup this package creates,
// "benchrig-<pid>-<kind><n>" (kind trial, trials or probe), and returns the
// pid of the benchrig that created it.
func parseTrialName(name string) (pid int, ok bool) {
	rest, ok := strings.CutPrefix(name, trialPrefix)
	if !ok {
		return 0, false
	}
	ps, kindN, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(ps)
	if err != nil || pid <= 0 || ps != strconv.Itoa(pid) {
		return 0, false
	}
	for _, kind := range []string{"trials", "trial", "probe"} {
		if n, ok := strings.CutPrefix(kindN, kind); ok {
			if v, err := strconv.ParseUint(n, 10, 64); err == nil && n == strconv.FormatUint(v, 10) {
				return pid, true
			}
			return 0, false
		}
	}
	return 0, false
}
