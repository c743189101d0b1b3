package collect

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/cgroup"
)

func TestTmpProbeCollector(t *testing.T) {
	pid, _ := strconv.Atoi(os.Getenv("PROBE_PID"))
	root, _ := cgroup.Detect("")
	ps, _ := cgroup.ReadPaths("", pid)
	sm := newCgroupSampler(root.Dirs(ps))
	runtime.LockOSThread()
	const n = 2000
	cpu0, t0 := threadCPU(), time.Now()
	for i := 0; i < n; i++ {
		var s benchrig.Sample
		sm.Sample(context.Background(), &s)
	}
	t.Logf("Sample: %v wall, %v thread CPU", time.Since(t0)/n, (threadCPU()-cpu0)/n)
	runtime.UnlockOSThread()
	sink := &countSink{}
	c, _ := New(Config{Interval: MinInterval, Sink: sink})
	for i := 0; i < 10; i++ {
		c.Watch(ContainerTarget{ID: strconv.Itoa(i), PID: pid, Ref: benchrig.TrialRef{Run: "r", Case: "c", Rep: i}})
	}
	t.Logf("after watch: %+v", c.Cost())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p0 := processCPU()
	c.Run(ctx)
	cost := c.Cost()
	t.Logf("cost %+v: %v per sample; sampler %v flusher %v calls %v; process %v", cost, cost.CPU/time.Duration(cost.Samples),
		time.Duration(c.samplerCPU.Load()), time.Duration(c.flusherCPU.Load()), time.Duration(c.callCPU.Load()), processCPU()-p0)
}
