package cgroup

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// with returns NoStats changed by set: an expected Stats names only the
// figures that are available.
func with(set func(*Stats)) Stats {
	st := NoStats()
	set(&st)
	return st
}

const us = time.Microsecond

func TestRead(t *testing.T) {
	// A trial cgroup of the hybrid host, named name in each v1 hierarchy
	// below the fixture process's own cgroup.
	hybridTrial := func(name string, ctrls ...string) Dirs {
		d := Dirs{V1: map[string]string{}}
		for _, c := range ctrls {
			own := ""
			if c == "memory" {
				own = memOwn
			}
			d.V1[c] = filepath.Join(hybridRoot, c, own, name)
		}
		return d
	}
	top := func(path string) Dirs {
		r, err := Detect(path)
		if err != nil {
			t.Fatal(err)
		}
		return r.Top()
	}
	tests := []struct {
		name string
		dirs Dirs
		want Stats
	}{
		{
			name: "hybrid host, v1 trial with a throttle rule so blkio counts",
			dirs: hybridTrial("benchrig-fixture", "cpuacct", "memory", "pids", "blkio"),
			want: with(func(s *Stats) {
				s.CPU, s.User, s.Sys = 183113196, 87738771, 95830112
				s.MemoryPeak, s.IORead, s.IOWrite, s.PidsPeak = 31260672, 8478720, 8388608, 4
				s.IOReadOps, s.IOWriteOps = 2070, 2048
			}),
		},
		{
			name: "hybrid host, v1 trial, blkio without a rule, no pids.peak",
			dirs: hybridTrial("benchrig-nothrottle", "cpuacct", "memory", "pids", "blkio"),
			want: with(func(s *Stats) {
				s.CPU, s.User, s.Sys = 1443145, 0, 0
				s.MemoryPeak, s.IORead, s.IOWrite = 524288, 0, 0
				s.IOReadOps, s.IOWriteOps = 0, 0
			}),
		},
		{
			name: "hybrid host, unified cgroup without controllers",
			dirs: Dirs{V2: filepath.Join(hybridRoot, "unified/benchrig-cpuonly")},
			want: with(func(s *Stats) { s.CPU, s.User, s.Sys = 36074*us, 36074*us, 0 }),
		},
		{
			name: "hybrid host, v1 memory and unified CPU and pressure",
			dirs: Dirs{
				V1: map[string]string{"memory": filepath.Join(hybridRoot, "memory", memOwn, "benchrig-stat")},
				V2: filepath.Join(hybridRoot, "unified/benchrig-stat"),
			},
			want: with(func(s *Stats) {
				s.CPU, s.User, s.Sys = 210667*us, 140425*us, 70241*us
				s.MemoryCurrent, s.MemoryPeak = 102400, 31297536
				s.Memory = MemoryStat{Anon: 0, File: 4096, MajorFaults: 0}
				s.CPUPressure = Pressure{SomeAvg10: 0, FullAvg10: 0, SomeTotal: 37071 * us, FullTotal: 1866 * us}
				s.MemoryPressure = Pressure{}
				s.IOPressure = Pressure{}
			}),
		},
		{
			name: "v2 host, all controllers",
			dirs: Dirs{V2: filepath.Join(v2Root, "system.slice/benchrig.service/benchrig-trials/benchrig-trial")},
			want: Stats{
				CPU: 183113 * us, User: 87738 * us, Sys: 95375 * us,
				Periods: 12, ThrottledPeriods: 3, Throttled: 41250 * us,
				MemoryCurrent: 1200128, MemoryPeak: 31260672,
				Memory:      MemoryStat{Anon: 10543104, File: 20480000, MajorFaults: 3},
				PidsCurrent: 1, PidsPeak: 4,
				IORead: 1459200 + 90430464, IOWrite: 314773504 + 299008000,
				IOReadOps: 192 + 8950, IOWriteOps: 353 + 1252,
				CPUPressure:    Pressure{SomeAvg10: 1.25, FullAvg10: 0.5, SomeTotal: 52113 * us, FullTotal: 20440 * us},
				MemoryPressure: Pressure{},
				IOPressure:     Pressure{SomeAvg10: 12.5, FullAvg10: 10, SomeTotal: 640000 * us, FullTotal: 512000 * us},
			},
		},
		{
			name: "container v1",
			dirs: top("testdata/container-v1"),
			want: with(func(s *Stats) {
				s.CPU, s.User, s.Sys = 28752780, 8000000, 19957587
				s.Periods, s.ThrottledPeriods, s.Throttled = 10, 2, 3500000
				s.MemoryCurrent, s.MemoryPeak = 3813376, 4075520
				s.PidsCurrent, s.PidsPeak = 1, 6
			}),
		},
		{
			name: "container v1, cpu and cpuacct co-mounted",
			dirs: top("testdata/container-v1-combined"),
			want: with(func(s *Stats) {
				s.CPU = 1000000
				s.Periods, s.ThrottledPeriods, s.Throttled = 0, 0, 0
				s.MemoryPeak = 2000
			}),
		},
		{
			// The unified cpu.stat has user_usec: it must not stand in
			// for the v1 split, which this kernel lacks.
			name: "container hybrid: CPU from v1 only, pressure from unified",
			dirs: top("testdata/container-hybrid"),
			want: with(func(s *Stats) {
				s.CPU = 5000
				s.CPUPressure = Pressure{SomeTotal: 37071 * us, FullTotal: 1866 * us}
			}),
		},
		{
			name: "container v2",
			dirs: top("testdata/container-v2"),
			want: with(func(s *Stats) {
				s.CPU, s.User, s.Sys = 31340*us, 16000*us, 15340*us
				s.Periods, s.ThrottledPeriods, s.Throttled = 0, 0, 120*us
				s.MemoryCurrent, s.MemoryPeak = 1200128, 3940352
				s.PidsCurrent, s.PidsPeak = 1, 7
			}),
		},
		{
			name: "container v2, kernel without memory.peak, pids.max only",
			dirs: top("testdata/container-v2-no-peak"),
			want: with(func(s *Stats) {
				s.CPU, s.User, s.Sys = 500*us, 300*us, 200*us
				s.MemoryCurrent = 65536
			}),
		},
		{name: "no directories", dirs: Dirs{}, want: NoStats()},
		{name: "absent directory", dirs: Dirs{V2: "testdata/v2/nonexistent"}, want: NoStats()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(tt.dirs)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestReadBadFiles: a malformed file is an error naming it, and the
// figures of the other files are still read.
func TestReadBadFiles(t *testing.T) {
	tests := []struct {
		name    string
		v1      string // controller whose directory holds the files; "" for v2
		files   map[string]string
		want    func(*Stats)
		wantErr []string
	}{
		{
			name:    "v1 cpuacct.usage not a number",
			v1:      "cpuacct",
			files:   map[string]string{"cpuacct.usage": "12x\n", "cpuacct.usage_user": "5\n"},
			want:    func(s *Stats) { s.User = 5 },
			wantErr: []string{"cpuacct.usage:"},
		},
		{
			name:    "v2 cpu.stat line without a value",
			files:   map[string]string{"cpu.stat": "usage_usec\n", "memory.peak": "4096\n"},
			want:    func(s *Stats) { s.MemoryPeak = 4096 },
			wantErr: []string{"cpu.stat"},
		},
		{
			name:    "v2 io.stat and memory.stat",
			files:   map[string]string{"io.stat": "8:0 rbytes\n", "memory.stat": "anon x\n"},
			want:    func(*Stats) {},
			wantErr: []string{"io.stat", "memory.stat"},
		},
		{
			name:    "v1 blkio",
			v1:      "blkio",
			files:   map[string]string{"blkio.throttle.io_service_bytes": "8:0 Read\n"},
			want:    func(*Stats) {},
			wantErr: []string{"blkio.throttle.io_service_bytes"},
		},
		{
			name:    "v2 pressure",
			files:   map[string]string{"io.pressure": "some avg10=x total=1\n"},
			want:    func(*Stats) {},
			wantErr: []string{"io.pressure"},
		},
		{
			name:  "v2 limit max is not a counter",
			files: map[string]string{"pids.current": "max\n"},
			want:  func(*Stats) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			d := Dirs{V2: dir}
			if tt.v1 != "" {
				d = Dirs{V1: map[string]string{tt.v1: dir}}
			}
			got, err := Read(d)
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, w)) {
					t.Errorf("err = %v, want one naming %s", err, w)
				}
			}
			if len(tt.wantErr) == 0 && err != nil {
				t.Errorf("err = %v", err)
			}
			if want := with(tt.want); got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
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
		{name: "io.stat ops", parse: parseIOStatOps, in: "8:0 rbytes=5 wbytes=7 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=5 wbytes=7 rios=10 wios=20\n", r: 11, w: 22},
		{name: "io.stat ops bad number", parse: parseIOStatOps, in: "8:0 rios=z\n", wantErr: true},
		{name: "blkio io_serviced", parse: parseBlkioServiceBytes, in: "254:0 Read 2070\n254:0 Write 2048\n254:0 Sync 4118\n254:0 Total 4118\nTotal 4118\n", r: 2070, w: 2048},
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

func TestParsePressure(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Pressure
		wantErr bool
	}{
		{
			name: "some and full",
			in:   "some avg10=0.63 avg60=20.01 avg300=16.71 total=85750168\nfull avg10=0.22 avg60=0.00 avg300=0.00 total=7\n",
			want: Pressure{SomeAvg10: 0.63, FullAvg10: 0.22, SomeTotal: 85750168 * us, FullTotal: 7 * us},
		},
		{
			name: "cpu.pressure before 5.13: no full line",
			in:   "some avg10=1.00 avg60=0.00 avg300=0.00 total=10\n",
			want: Pressure{SomeAvg10: 1, FullAvg10: NA, SomeTotal: 10 * us, FullTotal: NA},
		},
		{name: "empty", in: "", want: noPressure},
		{name: "unknown line", in: "most avg10=0 total=0\n", wantErr: true},
		{name: "no total", in: "some avg10=0.00 avg60=0.00\n", wantErr: true},
		{name: "bad avg", in: "some avg10=x total=0\n", wantErr: true},
		{name: "bad total", in: "full avg10=0 total=1.5\n", wantErr: true},
		{name: "not key=value", in: "some avg10\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePressure([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHostCPU(t *testing.T) {
	tests := []struct {
		name, root string
		want       time.Duration
		wantErr    bool
	}{
		// Hybrid: the v1 cpuacct root wins over the unified cpu.stat,
		// which the fixture has too with a different figure.
		{name: "hybrid: v1 cpuacct.usage", root: hybridRoot, want: 374759251596},
		{name: "v2: root cpu.stat usage_usec", root: v2Root, want: 369657236 * us},
		{name: "container v1: its own top cgroup", root: "testdata/container-v1", want: 28752780},
		{name: "no hierarchy", root: "testdata/container-none", wantErr: true},
		{name: "v2 container: its own cpu.stat", root: "testdata/container-v2-no-peak", want: 500 * us},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Detect(tt.root)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.HostCPU()
			if (err != nil) != tt.wantErr {
				t.Fatalf("HostCPU() = %v, %v; wantErr %v", got, err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("HostCPU() = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestReaderRereads: a Reader sees a file's new content on each read, a
// file absent at first as absent, and a removed cgroup as no figures.
func TestReaderRereads(t *testing.T) {
	dir := t.TempDir()
	acct := filepath.Join(dir, "cpuacct")
	if err := os.MkdirAll(acct, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(v string) {
		if err := os.WriteFile(filepath.Join(acct, "cpuacct.usage"), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("100\n")
	r := NewReader(Dirs{V1: map[string]string{"cpuacct": acct}})
	defer r.Close()
	for _, want := range []time.Duration{100, 2500000, 7} {
		if want != 100 {
			write(itoa(int64(want)) + "\n")
		}
		st, err := r.Read()
		if err != nil || st.CPU != want || st.User != NA {
			t.Fatalf("Read() CPU %d User %d, %v; want %d and NA", st.CPU, st.User, err, want)
		}
	}
	// A file larger than the buffer is read whole.
	big := strings.Repeat("#", 20000)
	if err := os.WriteFile(filepath.Join(acct, "cpuacct.usage"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(); err == nil || !strings.Contains(err.Error(), "cpuacct.usage") {
		t.Fatalf("Read of a 20000-byte bad file: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(); err == nil {
		t.Fatal("Read after Close succeeded")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestReaderNoMemoryStat(t *testing.T) {
	d := Dirs{V2: filepath.Join(v2Root, "system.slice/benchrig.service/benchrig-trials/benchrig-trial")}
	full, err := Read(d)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(d)
	r.NoMemoryStat = true
	defer r.Close()
	got, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	want := full
	want.Memory = MemoryStat{NA, NA, NA}
	if got != want {
		t.Errorf("Reader without memory.stat:\n got %+v\nwant %+v", got, want)
	}
}

// TestReaderReadHot: ReadHot has Read's CPU total, throttling and memory
// current (and on v2 the user/system split, from the same cpu.stat), and
// nothing else.
func TestReaderReadHot(t *testing.T) {
	tests := []struct {
		name string
		dirs Dirs
		v2   bool
	}{
		{"v2", Dirs{V2: filepath.Join(v2Root, "system.slice/benchrig.service/benchrig-trials/benchrig-trial")}, true},
		{"hybrid", Dirs{V1: map[string]string{
			"cpuacct": filepath.Join(hybridRoot, "cpuacct", "benchrig-fixture"),
			"memory":  filepath.Join(hybridRoot, "memory", memOwn, "benchrig-fixture"),
			"pids":    filepath.Join(hybridRoot, "pids", "benchrig-fixture"),
			"blkio":   filepath.Join(hybridRoot, "blkio", "benchrig-fixture"),
		}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			full, err := Read(tt.dirs)
			if err != nil {
				t.Fatal(err)
			}
			r := NewReader(tt.dirs)
			defer r.Close()
			got, err := r.ReadHot()
			if err != nil {
				t.Fatal(err)
			}
			want := with(func(s *Stats) {
				s.CPU, s.Periods, s.ThrottledPeriods, s.Throttled = full.CPU, full.Periods, full.ThrottledPeriods, full.Throttled
				s.MemoryCurrent = full.MemoryCurrent
				if tt.v2 {
					s.User, s.Sys = full.User, full.Sys
				}
			})
			if got != want {
				t.Errorf("ReadHot:\n got %+v\nwant %+v", got, want)
			}
			if got.CPU == NA {
				t.Errorf("ReadHot of a fixture with CPU: %+v", got)
			}
			// A full read after hot ones has everything.
			if again, err := r.Read(); err != nil || again != full {
				t.Errorf("Read after ReadHot: %+v, %v; want %+v", again, err, full)
			}
		})
	}
}

func BenchmarkReaderRead(b *testing.B) {
	d := Dirs{V2: filepath.Join(v2Root, "system.slice/benchrig.service/benchrig-trials/benchrig-trial")}
	r := NewReader(d)
	r.NoMemoryStat = true
	defer r.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Read(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReaderReadHot(b *testing.B) {
	d := Dirs{V2: filepath.Join(v2Root, "system.slice/benchrig.service/benchrig-trials/benchrig-trial")}
	r := NewReader(d)
	defer r.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadHot(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReaderReadHotUnthrottled: in v1, after a Read that found no CFS
// period, ReadHot gives the throttling counters as 0 without reading
// cpu.stat; once a Read sees periods, ReadHot reads them again.
func TestReaderReadHotUnthrottled(t *testing.T) {
	dir := t.TempDir()
	cpu, acct := filepath.Join(dir, "cpu"), filepath.Join(dir, "cpuacct")
	for _, d := range []string{cpu, acct} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(d, name, v string) {
		if err := os.WriteFile(filepath.Join(d, name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stat := func(periods int) string {
		return "nr_periods " + itoa(int64(periods)) + "\nnr_throttled 1\nthrottled_time 7\n"
	}
	write(acct, "cpuacct.usage", "100\n")
	write(cpu, "cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n")
	r := NewReader(Dirs{V1: map[string]string{"cpu": cpu, "cpuacct": acct}})
	defer r.Close()
	check := func(what string, read func() (Stats, error), periods, throttled int64) {
		t.Helper()
		st, err := read()
		if err != nil || st.CPU != 100 || st.Periods != periods || st.ThrottledPeriods != throttled {
			t.Errorf("%s: CPU %d, periods %d, throttled %d, %v; want 100, %d, %d", what, st.CPU, st.Periods, st.ThrottledPeriods, err, periods, throttled)
		}
	}
	check("hot before any Read", r.ReadHot, 0, 0)
	check("Read without a quota", r.Read, 0, 0)
	write(cpu, "cpu.stat", stat(5)) // a quota was set since
	check("hot after a Read without periods", r.ReadHot, 0, 0)
	check("Read with a quota", r.Read, 5, 1)
	write(cpu, "cpu.stat", stat(9))
	check("hot after a Read with periods", r.ReadHot, 9, 1)
}
