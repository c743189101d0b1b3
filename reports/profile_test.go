package reports

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// TestProfiledTrialsLeftOut: extra profiled trials are listed but left out
// of the statistics, and their cost against the measured ones is reported.
func TestProfiledTrialsLeftOut(t *testing.T) {
	run := &benchrig.Run{ID: "r", Cases: []benchrig.Case{{ID: "default"}}, Status: benchrig.RunFinished,
		Profiling: &benchrig.Profiling{Enabled: true, Event: "cpu-clock", Freq: 99, Trials: 2, Startup: 150 * time.Millisecond, StartupCPU: 90 * time.Millisecond}}
	trial := func(seq, rep int, wall, cpu time.Duration, extra bool) benchrig.Trial {
		return benchrig.Trial{RunID: "r", CaseID: "default", Seq: seq, Index: rep, ProfileOnly: extra, Profiled: extra,
			Outcome: benchrig.OutcomeOK, Measurement: benchrig.Measurement{Wall: wall, User: cpu, Start: time.Unix(int64(seq), 0)}}
	}
	for i := range 6 {
		run.Trials = append(run.Trials, trial(i, i, 100*time.Millisecond, 80*time.Millisecond, false))
	}
	run.Trials = append(run.Trials, trial(6, 10, 150*time.Millisecond, 100*time.Millisecond, true), trial(7, 11, 150*time.Millisecond, 100*time.Millisecond, true))
	r := Build(run)
	c := r.Cases[0]
	if c.Stats.N != 6 || c.Measured != 6 || c.Profiled != 2 || len(c.Trials) != 8 {
		t.Errorf("n=%d measured=%d profiled=%d trials=%d, want 6, 6, 2, 8", c.Stats.N, c.Measured, c.Profiled, len(c.Trials))
	}
	if c.Stats.Median != 0.1 {
		t.Errorf("median %v, want 0.1: the profiled trials' 0.15 s left out", c.Stats.Median)
	}
	if math.Abs(r.ProfileCost.Wall-0.5) > 1e-9 || math.Abs(r.ProfileCost.CPU-0.25) > 1e-9 || r.ProfileCost.Trials != 2 {
		t.Errorf("cost = %+v, want wall +50%%, CPU +25%%, 2 trials", r.ProfileCost)
	}
	want := "profiled: perf cpu-clock at 99 Hz, 2 extra trials per case (excluded from statistics); cost: wall +50.0%, CPU +25.0% (2 profiled trials against the measured ones; perf's own start-up and tear-down, 150 ms (CPU 90.0 ms) a trial, are left out of its wall time and counted in its CPU time)"
	if got := ProfileLine(r); got != want {
		t.Errorf("ProfileLine:\n got %s\nwant %s", got, want)
	}
	var b strings.Builder
	if err := WriteText(&b, r); err != nil || !strings.Contains(b.String(), want) {
		t.Errorf("text report (err %v) lacks the profile line:\n%s", err, b.String())
	}

	run.Profiling = &benchrig.Profiling{Enabled: true, Event: "cpu-clock", Freq: 99, InMeasured: true}
	if got := ProfileLine(Build(run)); !strings.Contains(got, "in the measured trials: their timings include perf's cost and are not comparable with unprofiled runs") {
		t.Errorf("ProfileLine with in: measured = %s", got)
	}
	run.Profiling = nil
	if got := ProfileLine(Build(run)); got != "" {
		t.Errorf("ProfileLine of a run not profiled = %q", got)
	}
}
