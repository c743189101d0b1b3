package local

import (
	"context"
	"testing"
	"time"

	"github.com/benchrig/benchrig/internal/testenv"
	"github.com/benchrig/benchrig/profiling"
)

var cpu99 = profiling.Sampling{Event: "cpu-clock", Freq: 99}

// TestRunProfiledTimesTheCommand runs a trial under the real perf: its
// wall time is the command's own, from exec to exit as perf recorded
// them, not perf's start-up and tear-down around it, which the
// perf_wall_s metric keeps; a failing command stays failing.
func TestRunProfiledTimesTheCommand(t *testing.T) {
	ctx := context.Background()
	e := newExecutor(t, Config{})
	if _, _, err := e.CheckProfiling(ctx, cpu99); err != nil {
		testenv.Skipf(t, "perf cannot record here: %v", err)
		return
	}
	m, prof, perr, err := e.RunProfiled(ctx, sh("sleep 0.2; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"), cpu99)
	if err != nil || perr != nil {
		t.Fatalf("RunProfiled: %v, profile: %v", err, perr)
	}
	if m.ExitCode != 0 || prof == nil || prof.Samples() == 0 {
		t.Fatalf("exit %d, profile %v: want a clean exit and samples", m.ExitCode, prof)
	}
	withPerf := time.Duration(m.Metrics["perf_wall_s"] * float64(time.Second))
	if withPerf == 0 {
		t.Fatalf("no perf_wall_s metric in %v: the wall time was not taken from perf's task events", m.Metrics)
	}
	if m.Wall < 200*time.Millisecond || m.Wall >= withPerf {
		t.Errorf("wall %v, perf-inclusive %v: want the command's own time (at least its 0.2 s sleep), less than perf's", m.Wall, withPerf)
	}
	if prof.Duration != m.Wall {
		t.Errorf("profile duration %v, want the trial's wall %v", prof.Duration, m.Wall)
	}
	m, _, _, err = e.RunProfiled(ctx, sh("exit 3"), cpu99)
	if err != nil || m.ExitCode != 3 {
		t.Errorf("profiled `exit 3`: exit %d, %v; want exit status 3", m.ExitCode, err)
	}
}
