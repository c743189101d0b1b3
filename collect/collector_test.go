package collect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/cgroup"
	"github.com/benchrig/benchrig/runner"
)

// FakeSink is a Sink made of a function.
type FakeSink struct {
	WriteSamplesFn func(ctx context.Context, samples []benchrig.Sample) error
}

var _ Sink = (*FakeSink)(nil)

func (f *FakeSink) WriteSamples(ctx context.Context, s []benchrig.Sample) error {
	return f.WriteSamplesFn(ctx, s)
}

// FakeSampler is a Sampler made of a function.
type FakeSampler struct {
	SampleFn func(ctx context.Context, s *benchrig.Sample) error
}

var _ Sampler = (*FakeSampler)(nil)

func (f *FakeSampler) Sample(ctx context.Context, s *benchrig.Sample) error {
	return f.SampleFn(ctx, s)
}

// memSink keeps every sample it is given.
type memSink struct {
	mu      sync.Mutex
	samples []benchrig.Sample
}

func (m *memSink) WriteSamples(_ context.Context, s []benchrig.Sample) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples = append(m.samples, s...)
	return nil
}

func (m *memSink) all() []benchrig.Sample {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.samples)
}

// The cgroup fixture trees of internal/cgroup, real files of a hybrid host
// and a v2 one.
const cgroupTestdata = "../internal/cgroup/testdata"

func newTest(t *testing.T, cfg Config) *Collector {
	t.Helper()
	if cfg.Node == "" {
		cfg.Node, cfg.Arch = "node1", "amd64"
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Hour // no periodic sample unless a test wants one
	}
	if cfg.FlushEvery == 0 {
		cfg.FlushEvery = time.Hour
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runCollector runs c until the returned stop is called, which returns
// Run's error.
func runCollector(t *testing.T, c *Collector) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func d(n int64) *time.Duration { x := time.Duration(n); return &x }
func n(v int64) *int64         { return &v }

func TestTrialSamplesOnFixtureTrees(t *testing.T) {
	hybrid := filepath.Join(cgroupTestdata, "hybrid/sys/fs/cgroup")
	v2 := filepath.Join(cgroupTestdata, "v2/sys/fs/cgroup")
	memOwn := "process_api/5fcc6ac2103a9a53f2c90f72fbcf9d05"
	tests := []struct {
		name  string
		root  string
		dirs  cgroup.Dirs
		check func(t *testing.T, g *benchrig.CgroupSample)
	}{
		{
			name: "v1 controllers of a hybrid host",
			root: hybrid,
			dirs: cgroup.Dirs{V1: map[string]string{
				"cpuacct": filepath.Join(hybrid, "cpuacct/benchrig-fixture"),
				"memory":  filepath.Join(hybrid, "memory", memOwn, "benchrig-fixture"),
				"blkio":   filepath.Join(hybrid, "blkio/benchrig-fixture"),
				"pids":    filepath.Join(hybrid, "pids/benchrig-fixture"),
			}},
			check: func(t *testing.T, g *benchrig.CgroupSample) {
				want := benchrig.CgroupSample{
					CPU: d(183113196), User: d(87738771), Sys: d(95830112),
					MemoryPeak:  n(31260672),
					IOReadBytes: n(8478720), IOWriteBytes: n(8388608), IOReadOps: n(2070), IOWriteOps: n(2048),
					PidsPeak: n(4),
				}
				equalSample(t, g, &want)
			},
		},
		{
			name: "hybrid: v1 memory and unified CPU and pressure",
			root: hybrid,
			dirs: cgroup.Dirs{
				V1: map[string]string{"memory": filepath.Join(hybrid, "memory", memOwn, "benchrig-stat")},
				V2: filepath.Join(hybrid, "unified/benchrig-stat"),
			},
			check: func(t *testing.T, g *benchrig.CgroupSample) {
				if g.CPU == nil || *g.CPU != 210667*time.Microsecond || g.CPUPressureTotal == nil || *g.CPUPressureTotal != 37071*time.Microsecond {
					t.Errorf("CPU %v, CPU pressure %v: want 210.667ms and 37.071ms", g.CPU, g.CPUPressureTotal)
				}
				if g.MemoryCurrent == nil || *g.MemoryCurrent != 102400 {
					t.Errorf("memory current %v, want 102400", g.MemoryCurrent)
				}
			},
		},
		{
			name: "v2 host",
			root: v2,
			dirs: cgroup.Dirs{V2: filepath.Join(v2, "system.slice/benchrig.service/benchrig-trials/benchrig-trial")},
			check: func(t *testing.T, g *benchrig.CgroupSample) {
				if g.CPU == nil || *g.CPU != 183113*time.Microsecond {
					t.Errorf("CPU %v, want 183.113ms", g.CPU)
				}
				if g.IOReadOps == nil || *g.IOReadOps != 192+8950 || g.IOWriteOps == nil || *g.IOWriteOps != 353+1252 {
					t.Errorf("IO ops %v %v, want %d %d", g.IOReadOps, g.IOWriteOps, 192+8950, 353+1252)
				}
				if g.ThrottledPeriods == nil || *g.ThrottledPeriods != 3 || g.IOPressureSome10 == nil || *g.IOPressureSome10 != 12.5 {
					t.Errorf("throttled periods %v, IO pressure %v: want 3 and 12.5", g.ThrottledPeriods, g.IOPressureSome10)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &memSink{}
			c := newTest(t, Config{CgroupRoot: tt.root, Sink: sink, Run: "r1"})
			stop := runCollector(t, c)
			ref := benchrig.TrialRef{Run: "r1", Case: "size=1M", Rep: 2}
			c.TrialStarted(ref, runner.Target{Cgroup: tt.dirs, Params: map[string]string{"size": "1M"}, Started: time.Now()})
			noise := c.TrialExited(ref)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			got := trialSamples(sink.all())
			if len(got) != 1 {
				t.Fatalf("got %d trial samples, want 1 Final: %+v", len(got), got)
			}
			s := got[0]
			if !s.Final || s.Seq != 0 || s.Trial == nil || *s.Trial != ref || s.Params["size"] != "1M" || s.Node != "node1" || s.Arch != "amd64" || s.Run != "r1" {
				t.Errorf("identity: %+v", s)
			}
			if s.Error != "" {
				t.Errorf("error %q", s.Error)
			}
			tt.check(t, s.Cgroup)
			// The fixture's counters do not move: nothing else ran.
			if noise == nil || noise.OtherCPU != 0 || noise.Disturbed || noise.CPUs == 0 {
				t.Errorf("noise = %+v, want zero other CPU on a still fixture", noise)
			}
			// A v2 root's CPU total is tick-based: the noise says how
			// coarse; v1 cpuacct (hybrid and v1 hosts) is precise.
			if want := tt.root == v2; noise != nil && (noise.Resolution > 0) != want {
				t.Errorf("noise resolution %v on %s, want one only on v2", noise.Resolution, tt.name)
			}
		})
	}
}

func equalSample(t *testing.T, got, want *benchrig.CgroupSample) {
	t.Helper()
	type fig struct {
		name string
		g, w any
	}
	deref := func(p any) any {
		switch v := p.(type) {
		case *time.Duration:
			if v != nil {
				return *v
			}
		case *int64:
			if v != nil {
				return *v
			}
		case *float64:
			if v != nil {
				return *v
			}
		}
		return nil
	}
	for _, f := range []fig{
		{"cpu", got.CPU, want.CPU}, {"user", got.User, want.User}, {"sys", got.Sys, want.Sys},
		{"memory peak", got.MemoryPeak, want.MemoryPeak}, {"memory current", got.MemoryCurrent, want.MemoryCurrent},
		{"io read", got.IOReadBytes, want.IOReadBytes}, {"io write", got.IOWriteBytes, want.IOWriteBytes},
		{"io read ops", got.IOReadOps, want.IOReadOps}, {"io write ops", got.IOWriteOps, want.IOWriteOps},
		{"pids current", got.PidsCurrent, want.PidsCurrent}, {"pids peak", got.PidsPeak, want.PidsPeak},
	} {
		if g, w := deref(f.g), deref(f.w); g != w {
			t.Errorf("%s = %v, want %v", f.name, g, w)
		}
	}
}

func trialSamples(all []benchrig.Sample) []benchrig.Sample {
	var out []benchrig.Sample
	for _, s := range all {
		if s.Kind == benchrig.SampleTrial {
			out = append(out, s)
		}
	}
	return out
}

// writeFile writes content to dir/name, creating dir.
func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestShortTrialFinalSample: a trial that lives less than one interval has
// no periodic sample, but its Final sample (Seq 0) has its totals, and the
// noise is the root cgroup's CPU growth minus the trial's.
func TestShortTrialFinalSample(t *testing.T) {
	root := t.TempDir()
	acct := filepath.Join(root, "cpuacct")
	trial := filepath.Join(acct, "benchrig-trial")
	mem := filepath.Join(root, "memory", "benchrig-trial")
	writeFile(t, acct, "cpuacct.usage", "1000000000\n")
	writeFile(t, trial, "cpuacct.usage", "0\n")
	writeFile(t, mem, "memory.usage_in_bytes", "4096\n")
	writeFile(t, mem, "memory.max_usage_in_bytes", "4096\n")
	writeFile(t, filepath.Join(root, "unified"), "cgroup.controllers", "\n")

	sink := &memSink{}
	c := newTest(t, Config{CgroupRoot: root, Sink: sink, Interval: time.Hour})
	stop := runCollector(t, c)
	ref := benchrig.TrialRef{Run: "r1", Case: "grep", Rep: 0}
	c.TrialStarted(ref, runner.Target{Cgroup: cgroup.Dirs{V1: map[string]string{"cpuacct": trial, "memory": mem}}, Started: time.Now()})

	// The trial runs: 39 ms of its own CPU, and the host used 39 ms + 20
	// ms meanwhile.
	writeFile(t, trial, "cpuacct.usage", "39000000\n")
	writeFile(t, mem, "memory.max_usage_in_bytes", "2097152\n")
	writeFile(t, acct, "cpuacct.usage", "1059000000\n")

	noise := c.TrialExited(ref)
	// Its cgroup is removed now; a sample after this would be empty.
	if err := os.RemoveAll(trial); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := trialSamples(sink.all())
	if len(got) != 1 {
		t.Fatalf("got %d trial samples, want only the Final one: %+v", len(got), got)
	}
	s := got[0]
	if !s.Final || s.Seq != 0 || s.Cgroup == nil || s.Cgroup.CPU == nil || *s.Cgroup.CPU != 39*time.Millisecond ||
		s.Cgroup.MemoryPeak == nil || *s.Cgroup.MemoryPeak != 2097152 {
		t.Fatalf("final sample %+v cgroup %+v: want Final, Seq 0, CPU 39ms, peak 2 MiB", s, s.Cgroup)
	}
	if s.ID() != "r1/node1/trial/r1/grep#0/0" {
		t.Errorf("ID %q", s.ID())
	}
	if noise == nil || noise.OtherCPU != 20*time.Millisecond || noise.Window <= 0 {
		t.Fatalf("noise = %+v, want 20ms of other CPU", noise)
	}
	// A second exit of the same trial is not a second Final sample.
	if c.TrialExited(ref) != nil {
		t.Error("second TrialExited returned noise")
	}
	kinds := map[benchrig.SampleKind]int{}
	for _, s := range sink.all() {
		kinds[s.Kind]++
		if s.Kind == benchrig.SampleCollector && (!s.Final || s.Collector == nil || s.Collector.Targets != 1) {
			t.Errorf("collector sample %+v", s)
		}
	}
	if kinds[benchrig.SampleCollector] != 1 || kinds[benchrig.SampleHost] != 0 {
		t.Errorf("samples by kind %v: want one Final collector sample and no host sample (Host off)", kinds)
	}
}

// TestBufferFullDrops: while the sink is stuck, samples beyond the buffer
// are counted as dropped and the sampler never waits.
func TestBufferFullDrops(t *testing.T) {
	entered := make(chan []benchrig.Sample)
	release := make(chan struct{})
	var mu sync.Mutex
	var stored []benchrig.Sample
	sink := &FakeSink{WriteSamplesFn: func(ctx context.Context, s []benchrig.Sample) error {
		entered <- s
		<-release
		mu.Lock()
		stored = append(stored, s...)
		mu.Unlock()
		return nil
	}}
	root := t.TempDir()
	trial := filepath.Join(root, "cpuacct", "t")
	writeFile(t, filepath.Join(root, "cpuacct"), "cpuacct.usage", "100\n")
	writeFile(t, trial, "cpuacct.usage", "5\n")
	c := newTest(t, Config{CgroupRoot: root, Sink: sink, Buffer: 4})
	stop := runCollector(t, c)
	final := func(rep int) {
		ref := benchrig.TrialRef{Run: "r", Case: "c", Rep: rep}
		c.TrialStarted(ref, runner.Target{Cgroup: cgroup.Dirs{V1: map[string]string{"cpuacct": trial}}})
		c.TrialExited(ref)
	}
	// Two samples fill half the buffer: the flusher takes them and the
	// sink holds it.
	final(0)
	final(1)
	first := <-entered
	// Six more while it is stuck: four fit, two are dropped, and none
	// of these calls waits (the test would hang if one did).
	for rep := 2; rep < 8; rep++ {
		final(rep)
	}
	if got := c.Cost().Dropped; got != 2 {
		t.Fatalf("dropped %d, want 2", got)
	}
	close(release)
	second := <-entered // the four buffered ones, kicked when half full
	if len(first)+len(second) != 6 {
		t.Fatalf("batches of %d and %d samples, want 6 in all", len(first), len(second))
	}
	go func() {
		for range entered { // the final flush
		}
	}()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	close(entered)
	cost := c.Cost()
	if cost.Dropped != 2 || cost.Samples != 9 {
		t.Errorf("cost %+v: want 2 dropped of 9 samples (8 trials and the collector's)", cost)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(stored) != 7 {
		t.Errorf("sink stored %d samples, want 7", len(stored))
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	sink := &memSink{}
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"interval below 100ms", Config{Interval: 50 * time.Millisecond, Sink: sink}, "below the minimum of 100ms"},
		{"no sink", Config{}, "no sink"},
		{"unknown mode", Config{Mode: "daemon", Sink: sink}, `mode "daemon"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New() error = %v, want EInvalid saying %q", err, tt.want)
			}
		})
	}
	c, err := New(Config{Sink: sink, CgroupRoot: t.TempDir()})
	if err != nil || c.cfg.Interval != DefaultInterval || c.cfg.Buffer != DefaultBuffer || c.cfg.Mode != ModeInProcess {
		t.Fatalf("defaults: %+v, %v", c.cfg, err)
	}
}

// TestHostSample reads the host fixture through gopsutil.
func TestHostSample(t *testing.T) {
	h := newHostSampler("testdata/host/proc")
	var s benchrig.Sample
	if err := h.Sample(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	hs := s.Host
	want := benchrig.HostSample{
		CPUs: 2, CPUUser: 105 * time.Second, CPUSystem: 31500 * time.Millisecond, CPUIdle: 800 * time.Second,
		CPUIOWait: 2 * time.Second, CPUSteal: 1500 * time.Millisecond,
		Load1: 0.52, Load5: 0.33, Load15: 0.21,
		MemoryTotal: 24576000 * 1024, MemoryAvailable: 12288000 * 1024,
		// vda and nvme0n1, without their partitions; loop0 and loop10 are
		// two disks.
		DiskReadBytes: (80 + 160 + 20000 + 2000) * 512, DiskWriteBytes: (8000 + 1000) * 512,
		DiskReadOps: 10 + 20 + 1000 + 100, DiskWriteOps: 400 + 50,
		NetRecvBytes: 1002000, NetSentBytes: 253000,
	}
	want.CPUTotal = want.CPUUser + want.CPUSystem + want.CPUIdle + want.CPUIOWait + want.CPUSteal
	want.MemoryUsed = hs.MemoryUsed // gopsutil's formula
	if *hs != want {
		t.Errorf("host sample\n got %+v\nwant %+v", *hs, want)
	}
	if hs.MemoryUsed == 0 {
		t.Error("memory used is 0")
	}
}

func TestHostSampleMissingFiles(t *testing.T) {
	h := newHostSampler(t.TempDir())
	var s benchrig.Sample
	err := h.Sample(context.Background(), &s)
	if err == nil || s.Host == nil || !strings.Contains(err.Error(), "cpu times") {
		t.Fatalf("Sample on an empty /proc: %v, %+v; want an error naming what is missing and the sample kept", err, s.Host)
	}
}

// TestPeriodicSamples checks the numbering of periodic samples: from 1 per
// target, Final at 0, host and collector samples alike. The interval is
// the minimum; the test waits on the sink, never on the clock.
func TestPeriodicSamples(t *testing.T) {
	root := t.TempDir()
	trial := filepath.Join(root, "cpuacct", "t")
	writeFile(t, filepath.Join(root, "cpuacct"), "cpuacct.usage", "100\n")
	writeFile(t, trial, "cpuacct.usage", "5\n")
	sink, got := chanSink(100)
	c := newTest(t, Config{CgroupRoot: root, ProcRoot: "testdata/host/proc", Sink: sink, Host: true,
		Interval: MinInterval, FlushEvery: MinInterval, CostEvery: 2, Run: "r"})
	ref := benchrig.TrialRef{Run: "r", Case: "c"}
	c.TrialStarted(ref, runner.Target{Cgroup: cgroup.Dirs{V1: map[string]string{"cpuacct": trial}}})
	stop := runCollector(t, c)
	seen := map[benchrig.SampleKind][]int64{}
	for len(seen[benchrig.SampleTrial]) < 2 || len(seen[benchrig.SampleCollector]) < 1 {
		s := <-got
		seen[s.Kind] = append(seen[s.Kind], s.Seq)
		if s.Kind == benchrig.SampleHost && (s.Host == nil || s.Host.CPUs != 2 || s.Error != "") {
			t.Fatalf("host sample %+v", s)
		}
	}
	c.TrialExited(ref)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if tr := seen[benchrig.SampleTrial]; tr[0] != 1 || tr[1] != 2 {
		t.Errorf("trial seqs %v, want 1, 2", tr)
	}
	if h := seen[benchrig.SampleHost]; h[0] != 1 {
		t.Errorf("host seqs %v, want from 1", h)
	}
	if cs := seen[benchrig.SampleCollector]; cs[0] != 1 {
		t.Errorf("collector seqs %v, want from 1", cs)
	}
	cost := c.Cost()
	if cost.CPU <= 0 || cost.Wall <= 0 || cost.Mode != ModeInProcess || cost.Interval != MinInterval {
		t.Errorf("cost %+v: want CPU and wall measured", cost)
	}
}

// TestContainerGoneBeforeDie: Docker removes a container's cgroup before
// its die event arrives; the collector then stops sampling it instead of
// shipping samples that say the cgroup is missing.
func TestContainerGoneBeforeDie(t *testing.T) {
	root, proc := t.TempDir(), t.TempDir()
	cg := filepath.Join(root, "cpuacct", "benchrig-lab1", "abc")
	writeFile(t, filepath.Join(root, "cpuacct"), "cpuacct.usage", "100\n")
	writeFile(t, cg, "cpuacct.usage", "42\n")
	writeFile(t, filepath.Join(proc, "123"), "cgroup", "2:cpuacct:/benchrig-lab1/abc\n0::/\n")
	for _, f := range []string{"stat", "loadavg", "meminfo"} {
		b, err := os.ReadFile(filepath.Join("testdata/host/proc", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, proc, f, string(b))
	}
	got := make(chan benchrig.Sample, 1000)
	sink := &FakeSink{WriteSamplesFn: func(_ context.Context, s []benchrig.Sample) error {
		for _, x := range s {
			got <- x
		}
		return nil
	}}
	c := newTest(t, Config{CgroupRoot: root, ProcRoot: proc, Sink: sink, Host: true, Interval: MinInterval, FlushEvery: MinInterval})
	ref := benchrig.TrialRef{Run: "r", Case: "c", Rep: 1}
	if err := c.Watch(ContainerTarget{ID: "abc", Name: "n", PID: 123, Ref: ref}); err != nil {
		t.Fatal(err)
	}
	stop := runCollector(t, c)
	var container []benchrig.Sample
	// Wait for a periodic sample of the container, then remove its cgroup.
	for len(container) < 2 {
		if s := <-got; s.ContainerID == "abc" {
			container = append(container, s)
		}
	}
	// On cgroupfs the open files of a removed cgroup fail (ENODEV, which
	// cgroup.Reader reports as absent); fixture files on tmpfs still read,
	// so the removal is played by the sampler.
	c.mu.Lock()
	c.targets["container abc"].sampler = &FakeSampler{SampleFn: func(context.Context, *benchrig.Sample) error {
		return fmt.Errorf("cgroup %s: %w", cg, errNoFigures)
	}}
	c.mu.Unlock()
	removed := time.Now()
	// A host sample taken after the removal comes after the container's
	// reading of the same round.
	for {
		s := <-got
		if s.ContainerID == "abc" {
			container = append(container, s)
		}
		if s.Kind == benchrig.SampleHost && s.Time.After(removed) {
			break
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for i, s := range container {
		if s.Seq != int64(i+1) || s.Error != "" || s.Cgroup.CPU == nil || *s.Cgroup.CPU != 42 {
			t.Errorf("container sample %d: %+v", i, s)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.targets) != 0 {
		t.Errorf("still watched: %v", c.targets)
	}
}

// TestHotAndFullSamples: at 10 Hz the first tick and every tenth after it
// read every figure; the ticks between read the hot ones only (a trial's
// CPU; the host's CPU, load and memory, with the disk and network counters
// of the last full sample), and the Final sample reads everything.
func TestHotAndFullSamples(t *testing.T) {
	root := t.TempDir()
	trial := map[string]string{"cpuacct": filepath.Join(root, "cpuacct", "t"), "pids": filepath.Join(root, "pids", "t")}
	writeFile(t, filepath.Join(root, "cpuacct"), "cpuacct.usage", "100\n")
	writeFile(t, filepath.Join(root, "pids"), "pids.current", "1\n")
	writeFile(t, trial["cpuacct"], "cpuacct.usage", "5\n")
	writeFile(t, trial["cpuacct"], "cpuacct.usage_user", "3\n")
	writeFile(t, trial["cpuacct"], "cpuacct.usage_sys", "2\n")
	writeFile(t, trial["pids"], "pids.current", "4\n")
	sink, got := chanSink(100)
	c := newTest(t, Config{CgroupRoot: root, ProcRoot: "testdata/host/proc", Sink: sink, Host: true,
		Interval: MinInterval, FlushEvery: MinInterval, Run: "r"})
	ref := benchrig.TrialRef{Run: "r", Case: "c"}
	c.TrialStarted(ref, runner.Target{Cgroup: cgroup.Dirs{V1: trial}})
	stop := runCollector(t, c)
	trials, hosts := map[int64]benchrig.Sample{}, map[int64]benchrig.Sample{}
	for len(trials) < 12 || len(hosts) < 12 {
		s := <-got
		switch s.Kind {
		case benchrig.SampleTrial:
			trials[s.Seq] = s
		case benchrig.SampleHost:
			hosts[s.Seq] = s
		}
	}
	c.TrialExited(ref)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= 12; seq++ {
		full := seq == 1 || seq == 11
		cg := trials[seq].Cgroup
		if cg == nil || cg.CPU == nil || *cg.CPU != 5 || trials[seq].Error != "" {
			t.Fatalf("trial sample %d: %+v; want its CPU", seq, trials[seq])
		}
		if (cg.User != nil) != full || (cg.PidsCurrent != nil) != full {
			t.Errorf("trial sample %d: user %v, pids %v; want them only in full samples (1, 11)", seq, cg.User, cg.PidsCurrent)
		}
		h := hosts[seq].Host
		if h == nil || h.CPUTotal == 0 || h.MemoryTotal == 0 || h.Load1 == 0 || h.DiskReadBytes == 0 || h.NetRecvBytes == 0 {
			t.Errorf("host sample %d: %+v; want every figure (disk and network carried between full samples)", seq, h)
		}
	}
	var final *benchrig.Sample
	for final == nil {
		if s := <-got; s.Kind == benchrig.SampleTrial && s.Final {
			final = &s
		}
	}
	if cg := final.Cgroup; cg == nil || cg.User == nil || cg.PidsCurrent == nil || *cg.PidsCurrent != 4 {
		t.Errorf("Final sample %+v: want every figure", final.Cgroup)
	}
}

// TestSamplesAfterStopAreCounted: a trial whose exit races the end of the
// collection (its final sample comes after the final flush) is counted as
// dropped, never lost without a trace.
func TestSamplesAfterStopAreCounted(t *testing.T) {
	root := t.TempDir()
	acct := filepath.Join(root, "cpuacct")
	trial := filepath.Join(acct, "benchrig-trial")
	writeFile(t, acct, "cpuacct.usage", "1000000000\n")
	writeFile(t, trial, "cpuacct.usage", "0\n")
	sink := &memSink{}
	c := newTest(t, Config{CgroupRoot: root, Sink: sink})
	stop := runCollector(t, c)
	ref := benchrig.TrialRef{Run: "r1", Case: "late", Rep: 0}
	c.TrialStarted(ref, runner.Target{Cgroup: cgroup.Dirs{V1: map[string]string{"cpuacct": trial}}, Started: time.Now()})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	before := c.Cost().Dropped
	c.TrialExited(ref) // after Run returned
	if got := c.Cost().Dropped; got != before+1 {
		t.Errorf("Dropped %d after a final sample that came too late, want %d", got, before+1)
	}
	for _, s := range sink.all() {
		if s.Kind == benchrig.SampleTrial && s.Final {
			t.Errorf("a sample taken after the stop reached the sink: %+v", s)
		}
	}
}

// chanSink is a sink that hands each sample to the channel it returns,
// dropping what does not fit in n.
func chanSink(n int) (*FakeSink, chan benchrig.Sample) {
	got := make(chan benchrig.Sample, n)
	return &FakeSink{WriteSamplesFn: func(_ context.Context, s []benchrig.Sample) error {
		for _, x := range s {
			select {
			case got <- x:
			default:
			}
		}
		return nil
	}}, got
}
