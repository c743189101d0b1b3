package local

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The fixture trees under testdata/cgroup hold real files: v1 ones copied
// from a hybrid Debian 12 host (kernel 6.18) after running a trial in them,
// v2 ones in the kernel's documented format (and a real controller-less
// cpu.stat from that host's unified hierarchy).
const (
	v1Root      = "testdata/cgroup/v1/sys/fs/cgroup"
	v2PureRoot  = "testdata/cgroup/v2/pure/sys/fs/cgroup"
	v2HybridDir = "testdata/cgroup/v2/hybrid/sys/fs/cgroup"
	v1MemOwn    = "memory/process_api/5fcc6ac2103a9a53f2c90f72fbcf9d05"
)

func TestParseSelfCgroup(t *testing.T) {
	hybrid, err := os.ReadFile("testdata/cgroup/v1/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		want    selfCgroups
		wantErr bool
	}{
		{
			name: "hybrid host",
			in:   string(hybrid),
			want: selfCgroups{
				V1: map[string]string{
					"pids": "/", "blkio": "/", "freezer": "/", "devices": "/", "cpuset": "/", "cpuacct": "/", "cpu": "/",
					"memory": "/process_api/5fcc6ac2103a9a53f2c90f72fbcf9d05",
				},
				Mounts: map[string]string{
					"pids": "pids", "blkio": "blkio", "freezer": "freezer", "devices": "devices", "cpuset": "cpuset",
					"cpuacct": "cpuacct", "cpu": "cpu", "memory": "memory",
				},
				V2: "/", HasV2: true,
			},
		},
		{
			name: "co-mounted controllers",
			in:   "4:cpu,cpuacct:/docker/abc\n3:name=systemd:/x\n",
			want: selfCgroups{
				V1:     map[string]string{"cpu": "/docker/abc", "cpuacct": "/docker/abc"},
				Mounts: map[string]string{"cpu": "cpu,cpuacct", "cpuacct": "cpu,cpuacct"},
			},
		},
		{
			name: "pure v2",
			in:   "0::/system.slice/benchrig.service\n",
			want: selfCgroups{V1: map[string]string{}, Mounts: map[string]string{}, V2: "/system.slice/benchrig.service", HasV2: true},
		},
		{name: "malformed", in: "garbage\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSelfCgroup([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadV1Stats(t *testing.T) {
	dirs := func(name string, ctrls ...string) map[string]string {
		m := map[string]string{}
		for _, c := range ctrls {
			own := c
			if c == "memory" {
				own = v1MemOwn
			}
			m[c] = filepath.Join(v1Root, own, name)
		}
		return m
	}
	all := []string{"cpuacct", "memory", "pids", "blkio"}
	tests := []struct {
		name string
		dirs map[string]string
		want cgroupStats
	}{
		{
			name: "with a throttle rule so blkio counts",
			dirs: dirs("benchrig-fixture", all...),
			want: cgroupStats{
				CPU: 183113196, User: 87738771, Sys: 95830112, Throttled: -1,
				MemoryPeak: 31260672, IORead: 8478720, IOWrite: 8388608, PidsPeak: 4,
			},
		},
		{
			name: "blkio without a rule, no pids.peak",
			dirs: dirs("benchrig-nothrottle", all...),
			want: cgroupStats{
				CPU: 1443145, User: 0, Sys: 0, Throttled: -1,
				MemoryPeak: 524288, IORead: 0, IOWrite: 0, PidsPeak: -1,
			},
		},
		{name: "no controllers", dirs: map[string]string{}, want: noStats()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readV1Stats(tt.dirs)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadV2Stats(t *testing.T) {
	tests := []struct {
		name string
		dir  string
		want cgroupStats
	}{
		{
			name: "all controllers",
			dir:  filepath.Join(v2PureRoot, "system.slice/benchrig.service/benchrig-trials/benchrig-trial"),
			want: cgroupStats{
				CPU: 183113 * time.Microsecond, User: 87738 * time.Microsecond, Sys: 95375 * time.Microsecond,
				Throttled: 41250 * time.Microsecond, MemoryPeak: 31260672,
				IORead: 1459200 + 90430464, IOWrite: 314773504 + 299008000, PidsPeak: 4,
			},
		},
		{
			name: "no controllers enabled (hybrid unified)",
			dir:  filepath.Join(v2HybridDir, "unified/benchrig-cpuonly"),
			want: cgroupStats{
				CPU: 36074 * time.Microsecond, User: 36074 * time.Microsecond, Sys: 0,
				Throttled: -1, MemoryPeak: -1, IORead: -1, IOWrite: -1, PidsPeak: -1,
			},
		},
		{name: "absent", dir: "testdata/cgroup/v2/nonexistent", want: noStats()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readV2Stats(tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadStatsBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cpuacct.usage", "12x\n")
	write("cpu.stat", "usage_usec\n")
	if _, err := readV1Stats(map[string]string{"cpuacct": dir}); err == nil || !strings.Contains(err.Error(), "cpuacct.usage") {
		t.Errorf("v1: err = %v, want one naming cpuacct.usage", err)
	}
	if _, err := readV2Stats(dir); err == nil || !strings.Contains(err.Error(), "cpu.stat") {
		t.Errorf("v2: err = %v, want one naming cpu.stat", err)
	}
}

func TestParseIOFormats(t *testing.T) {
	tests := []struct {
		name    string
		parse   func([]byte) (int64, int64, error)
		in      string
		r, w    int64
		wantErr bool
	}{
		{name: "blkio two devices", parse: parseBlkioServiceBytes, in: "8:0 Read 10\n8:0 Write 20\n8:0 Total 30\n8:16 Read 1\n8:16 Write 2\nTotal 33\n", r: 11, w: 22},
		{name: "blkio empty", parse: parseBlkioServiceBytes, in: "Total 0\n", r: 0, w: 0},
		{name: "blkio bad number", parse: parseBlkioServiceBytes, in: "8:0 Read x\n", wantErr: true},
		{name: "blkio bad line", parse: parseBlkioServiceBytes, in: "8:0 Read\n", wantErr: true},
		{name: "io.stat", parse: parseIOStat, in: "8:0 rbytes=5 wbytes=7 rios=1 wios=1 dbytes=0 dios=0\n", r: 5, w: 7},
		{name: "io.stat empty", parse: parseIOStat, in: "", r: 0, w: 0},
		{name: "io.stat bad pair", parse: parseIOStat, in: "8:0 rbytes\n", wantErr: true},
		{name: "io.stat bad number", parse: parseIOStat, in: "8:0 wbytes=-x\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w, err := tt.parse([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && (r != tt.r || w != tt.w) {
				t.Errorf("got read %d write %d, want %d %d", r, w, tt.r, tt.w)
			}
		})
	}
}

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    procStat
		alive   bool
		wantErr bool
	}{
		{name: "running", in: "4242 (sleep) S 1 4240 4240 0 -1 4194304 100 0 0 0", want: procStat{'S', 4240, 4194304}, alive: true},
		{name: "name with parens and spaces", in: "7 (a) b (c) R 1 7 7 0 -1 4194560 0", want: procStat{'R', 7, 4194560}, alive: true},
		{name: "exiting", in: "9 (sh) R 1 9 9 0 -1 4194308 0", want: procStat{'R', 9, 4194308}, alive: false},
		{name: "zombie", in: "9 (sh) Z 1 9 9 0 -1 4227084 0", want: procStat{'Z', 9, 4227084}, alive: false},
		{name: "short", in: "9 (sh) R 1", wantErr: true},
		{name: "no name", in: "9 sh R 1 9 9 0 -1 0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if got != tt.want || got.alive() != tt.alive {
				t.Errorf("got %+v alive=%v, want %+v alive=%v", got, got.alive(), tt.want, tt.alive)
			}
		})
	}
}

func TestMounts(t *testing.T) {
	sc := selfCgroups{Mounts: map[string]string{"cpuacct": "cpuacct", "memory": "memory"}}
	if d, ok := v1Mount(v1Root, sc, "cpuacct"); !ok || d != filepath.Join(v1Root, "cpuacct") {
		t.Errorf("v1Mount cpuacct = %q, %v", d, ok)
	}
	if _, ok := v1Mount(v1Root, sc, "cpuset"); ok {
		t.Error("v1Mount found cpuset, which the fixture lacks")
	}
	if d, ok := v2Mount(v2PureRoot); !ok || d != v2PureRoot {
		t.Errorf("v2Mount pure = %q, %v", d, ok)
	}
	if d, ok := v2Mount(v2HybridDir); !ok || d != filepath.Join(v2HybridDir, "unified") {
		t.Errorf("v2Mount hybrid = %q, %v", d, ok)
	}
	if _, ok := v2Mount(v1Root); ok {
		t.Error("v2Mount found a cgroup2 mount in the v1-only fixture")
	}
}

func TestSplitCPU(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name                          string
		total, user, sys, rUser, rSys time.Duration
		wantUser, wantSys             time.Duration
	}{
		{name: "kernel split scaled to exact total", total: 100 * ms, user: 30 * ms, sys: 90 * ms, wantUser: 25 * ms, wantSys: 75 * ms},
		{name: "no ticks: rusage split", total: 10 * ms, rUser: 1 * ms, rSys: 3 * ms, wantUser: 2500 * time.Microsecond, wantSys: 7500 * time.Microsecond},
		{name: "nothing to go by: user, as the kernel does", total: 1 * ms, wantUser: 1 * ms},
		{name: "zero total", total: 0, user: 5, sys: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, s := splitCPU(tt.total, tt.user, tt.sys, tt.rUser, tt.rSys)
			if u != tt.wantUser || s != tt.wantSys {
				t.Errorf("got %v/%v, want %v/%v", u, s, tt.wantUser, tt.wantSys)
			}
		})
	}
}
