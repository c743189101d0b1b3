package collect

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/cgroup"
)

func BenchmarkTmpSample(b *testing.B) {
	pid, _ := strconv.Atoi(os.Getenv("PROBE_PID"))
	root, _ := cgroup.Detect("")
	ps, _ := cgroup.ReadPaths("", pid)
	sm := newCgroupSampler(root.Dirs(ps))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var s benchrig.Sample
		sm.Sample(context.Background(), &s)
	}
}
