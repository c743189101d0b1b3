package collect

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/cgroup"
	"github.com/benchrig/benchrig/runner"
)

// BenchmarkSampleAll is one tick over ten trials of the v2 fixture tree
// and the host fixture, hot and full: what the sampling thread does per
// tick, its system calls on fixture files rather than the kernel's.
//
//	go test -run '^$' -bench SampleAll -benchmem ./collect/
func BenchmarkSampleAll(b *testing.B) {
	root := filepath.Join(cgroupTestdata, "v2/sys/fs/cgroup")
	trial := cgroup.Dirs{V2: filepath.Join(root, "system.slice/benchrig.service/benchrig-trials/benchrig-trial")}
	for _, full := range []bool{false, true} {
		name := "hot"
		if full {
			name = "full"
		}
		b.Run(name, func(b *testing.B) {
			c, err := New(Config{CgroupRoot: root, ProcRoot: "testdata/host/proc", Sink: &FakeSink{}, Host: true, Buffer: 1 << 30})
			if err != nil {
				b.Fatal(err)
			}
			for i := range 10 {
				c.TrialStarted(benchrig.TrialRef{Run: "r", Case: "c", Rep: i}, runner.Target{Cgroup: trial})
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				c.sampleAll(ctx, false, full)
				if len(c.buf) > 10000 {
					c.buf = c.buf[:0]
				}
			}
		})
	}
}

// BenchmarkStreamWriter encodes a tick's samples (ten trials and the host)
// as the collector process writes them.
func BenchmarkStreamWriter(b *testing.B) {
	root := filepath.Join(cgroupTestdata, "v2/sys/fs/cgroup")
	trial := cgroup.Dirs{V2: filepath.Join(root, "system.slice/benchrig.service/benchrig-trials/benchrig-trial")}
	c, err := New(Config{CgroupRoot: root, ProcRoot: "testdata/host/proc", Sink: &FakeSink{}, Host: true})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10 {
		c.TrialStarted(benchrig.TrialRef{Run: "r", Case: "c", Rep: i}, runner.Target{Cgroup: trial})
	}
	c.sampleAll(context.Background(), false, true)
	batch := c.buf
	w := NewStreamWriter(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteSamples(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}
