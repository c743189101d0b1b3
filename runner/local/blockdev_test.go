package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sysBlockTree builds a /sys fixture: /sys/dev/block/MAJ:MIN symlinks into
// /sys/devices, where a partition's directory sits inside its disk's, as
// the kernel lays them out. It is built here rather than kept in testdata/
// because ':' may not appear in a Go module's file names.
func sysBlockTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	devs := []struct{ dir, dev, partition string }{
		{"pci0000/virtio2/block/vda", "254:0", ""},
		{"virtual/block/loop0", "7:0", ""},
		{"virtual/block/loop0/loop0p1", "259:0", "1"},
		{"pci0000/nvme/nvme0/nvme0n1", "259:4", ""},
		{"pci0000/nvme/nvme0/nvme0n1/nvme0n1p2", "259:5", "2"},
		{"virtual/block/dm-0", "252:0", ""},
		// A partition whose parent directory has no dev file.
		{"broken/sda1", "8:1", "1"},
	}
	if err := os.MkdirAll(filepath.Join(root, "dev", "block"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		dir := filepath.Join(root, "devices", d.dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "dev"), []byte(d.dev+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if d.partition != "" {
			if err := os.WriteFile(filepath.Join(dir, "partition"), []byte(d.partition+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(filepath.Join("..", "..", "devices", d.dir), filepath.Join(root, "dev", "block", d.dev)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestWholeDisk(t *testing.T) {
	sys := sysBlockTree(t)
	tests := []struct {
		name     string
		dev      blockDev
		want     blockDev
		wantNote string
		wantErr  string
	}{
		{name: "whole virtio disk", dev: blockDev{254, 0}, want: blockDev{254, 0}},
		{name: "device-mapper volume is a disk of its own", dev: blockDev{252, 0}, want: blockDev{252, 0}},
		{name: "loop partition goes to its loop disk", dev: blockDev{259, 0}, want: blockDev{7, 0},
			wantNote: "partition 259:0 (loop0p1) capped through its disk 7:0 (loop0)"},
		{name: "nvme partition with the disk's major", dev: blockDev{259, 5}, want: blockDev{259, 4},
			wantNote: "partition 259:5 (nvme0n1p2) capped through its disk 259:4 (nvme0n1)"},
		{name: "unknown device", dev: blockDev{8, 99}, wantErr: "device 8:99 is not a block device (no "},
		{name: "partition without a readable disk", dev: blockDev{8, 1}, wantErr: "find the disk of partition 8:1: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, note, err := wholeDisk(sys, tt.dev)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want prefix %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || note != tt.wantNote {
				t.Errorf("wholeDisk(%s) = %s %q %v, want %s %q", tt.dev, got, note, err, tt.want, tt.wantNote)
			}
		})
	}
}

func TestMountOf(t *testing.T) {
	proc := filepath.Join("testdata", "blockdev", "proc")
	tests := []struct {
		name    string
		dev     blockDev
		path    string
		want    mountEntry
		wantErr string // of noBlockDevice for the entry found
	}{
		{name: "tmpfs", dev: blockDev{0, 23}, path: "/dev/shm/x",
			want:    mountEntry{Dev: blockDev{0, 23}, Point: "/dev/shm", FSType: "tmpfs", Source: "tmpfs"},
			wantErr: "/dev/shm/x is on a tmpfs filesystem, which has no block device (device 0:23), so its reads cannot be capped"},
		{name: "overlay", dev: blockDev{0, 40}, path: "/var/lib/docker/overlay2/abc/merged/app",
			want:    mountEntry{Dev: blockDev{0, 40}, Point: "/var/lib/docker/overlay2/abc/merged", FSType: "overlay", Source: "overlay"},
			wantErr: "/var/lib/docker/overlay2/abc/merged/app is on a overlay filesystem, which has no block device (device 0:40), so its reads cannot be capped"},
		{name: "nfs with optional fields", dev: blockDev{0, 52}, path: "/mnt/nfs/d",
			want: mountEntry{Dev: blockDev{0, 52}, Point: "/mnt/nfs", FSType: "nfs4", Source: "server:/export"}},
		{name: "btrfs names its device", dev: blockDev{0, 60}, path: "/data/f",
			want: mountEntry{Dev: blockDev{0, 60}, Point: "/data", FSType: "btrfs", Source: "/dev/nvme0n1p2"}},
		{name: "bind mount with an escaped space is the closer one", dev: blockDev{259, 0}, path: "/srv/with space/f",
			want: mountEntry{Dev: blockDev{259, 0}, Point: "/srv/with space", FSType: "ext4", Source: "/dev/loop0p1"}},
		{name: "same device elsewhere", dev: blockDev{259, 0}, path: "/var/tmp/data/f",
			want: mountEntry{Dev: blockDev{259, 0}, Point: "/var/tmp/data", FSType: "ext4", Source: "/dev/loop0p1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := mountOf(proc, tt.dev, tt.path)
			if !ok || got != tt.want {
				t.Fatalf("mountOf = %+v %v, want %+v", got, ok, tt.want)
			}
			if tt.wantErr != "" {
				if err := noBlockDevice(tt.path, tt.dev, got.FSType); err.Error() != tt.wantErr {
					t.Errorf("reason = %q\nwant     %q", err, tt.wantErr)
				}
			}
		})
	}
	if m, ok := mountOf(proc, blockDev{0, 99}, "/x"); ok {
		t.Errorf("mountOf(0:99) = %+v, want none", m)
	}
	if err := noBlockDevice("/x", blockDev{0, 99}, ""); err.Error() != "/x is on a filesystem without a block device (device 0:99), so its reads cannot be capped" {
		t.Errorf("reason without a mount = %q", err)
	}
}

func TestParseMountinfoBad(t *testing.T) {
	for name, line := range map[string]string{
		"no separator": "22 27 0:21 / /proc rw,relatime proc proc rw",
		"bad device":   "22 27 021 / /proc rw,relatime - proc proc rw",
		"short":        "22 27 0:21 / /proc rw - proc",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseMountinfo([]byte(line + "\n")); err == nil {
				t.Errorf("parseMountinfo(%q) succeeded", line)
			}
		})
	}
}

func TestParseDevNum(t *testing.T) {
	tests := []struct {
		in   string
		want blockDev
		ok   bool
	}{
		{"254:0\n", blockDev{254, 0}, true},
		{"259:12", blockDev{259, 12}, true},
		{"254", blockDev{}, false},
		{"a:b", blockDev{}, false},
		{"-1:0", blockDev{}, false},
	}
	for _, tt := range tests {
		got, err := parseDevNum(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDevNum(%q) = %v %v, want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestReadCapLine(t *testing.T) {
	tests := []struct {
		name     string
		version  int
		wantFile string
		wantLine string
	}{
		{name: "v1 blkio throttle", version: 1, wantFile: "blkio.throttle.read_bps_device", wantLine: "254:0 52428800"},
		{name: "v2 io.max", version: 2, wantFile: "io.max", wantLine: "254:0 rbps=52428800"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f := readCapFile(tt.version); f != tt.wantFile {
				t.Errorf("file %q, want %q", f, tt.wantFile)
			}
			if l := readCapLine(tt.version, blockDev{254, 0}, 50<<20); l != tt.wantLine {
				t.Errorf("line %q, want %q", l, tt.wantLine)
			}
		})
	}
}

func TestParseTrialName(t *testing.T) {
	tests := []struct {
		name string
		pid  int
		ok   bool
	}{
		{"benchrig-4719-trial7", 4719, true},
		{"benchrig-4719-trials2", 4719, true},
		{"benchrig-12-probe1", 12, true},
		{"benchrig-4719-trial", 0, false},
		{"benchrig-4719-trialx", 0, false},
		{"benchrig-4719-trials", 0, false},
		{"benchrig-4719-sweeptest3", 0, false},
		{"benchrig-04719-trial7", 0, false},
		{"benchrig-0-trial7", 0, false},
		{"benchrig-trial7", 0, false},
		{"other-4719-trial7", 0, false},
		{"benchrig-4719-trial7+1", 0, false},
	}
	for _, tt := range tests {
		pid, ok := parseTrialName(tt.name)
		if pid != tt.pid || ok != tt.ok {
			t.Errorf("parseTrialName(%q) = %d %v, want %d %v", tt.name, pid, ok, tt.pid, tt.ok)
		}
	}
	// Every name the package creates parses back to our pid.
	for _, kind := range []string{"trial", "trials", "probe"} {
		n := uniqueName(kind)
		if pid, ok := parseTrialName(n); !ok || pid != os.Getpid() {
			t.Errorf("parseTrialName(%q) = %d %v, want our pid", n, pid, ok)
		}
	}
}
