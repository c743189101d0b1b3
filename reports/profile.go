package reports

import (
	"fmt"
	"math"
	"strings"

	"github.com/benchrig/benchrig/stats"
)

// ProfileCost is what profiling cost, as measured: each case's profiled
// extra trials against its measured (unprofiled) ones, the ratio of the
// medians of their wall and CPU times, summarised over cases by the
// geometric mean. perf's own work runs in the trial's process tree, so
// it is in the profiled trials' CPU time. NaN when nothing compares (no
// extra profiled trial succeeded, or the measured trials were profiled).
type ProfileCost struct {
	Wall, CPU float64 // ratio - 1: 0.03 is 3% slower when profiled
	Trials    int     // successful profiled extra trials compared
	Cases     int     // cases they belong to
}

func profileCost(cases []CaseReport) ProfileCost {
	var wall, cpu []float64
	trials := 0
	for _, c := range cases {
		if c.Profiled == 0 || c.Stats.N == 0 {
			continue
		}
		var pw, pc, mc []float64
		for _, t := range c.Trials {
			if t.Failed() || t.Warmup {
				continue
			}
			if t.ProfileOnly {
				pw = append(pw, t.Wall.Seconds())
				pc = append(pc, (t.User + t.Sys).Seconds())
			} else {
				mc = append(mc, (t.User + t.Sys).Seconds())
			}
		}
		if len(pw) == 0 {
			continue
		}
		trials += len(pw)
		wall = append(wall, stats.Median(pw)/c.Stats.Median)
		if m := stats.Median(mc); m > 0 {
			cpu = append(cpu, stats.Median(pc)/m)
		}
	}
	return ProfileCost{Wall: geoRatio(wall) - 1, CPU: geoRatio(cpu) - 1, Trials: trials, Cases: len(wall)}
}

// geoRatio is the geometric mean of positive ratios; NaN without any.
func geoRatio(rs []float64) float64 {
	var sum float64
	n := 0
	for _, r := range rs {
		if r > 0 && !math.IsInf(r, 0) {
			sum += math.Log(r)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return math.Exp(sum / float64(n))
}

// ProfileLine is the one line that says how a run was profiled and what
// it cost: "profiled: perf cpu-clock at 99 Hz, 1 extra trial per case
// (excluded from statistics); cost: wall +2.1%, CPU +3.4% (2 profiled
// trials against the measured ones)". "" for a run not profiled.
func ProfileLine(r *Report) string {
	p := r.Profiling
	if p == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "profiled: perf %s at %d Hz, ", p.EventName(), p.Hz())
	if p.Unwind() == "dwarf" {
		b.WriteString("dwarf call graphs, ")
	}
	if p.InMeasured {
		b.WriteString("in the measured trials: their timings include perf's cost and are not comparable with unprofiled runs")
		return b.String()
	}
	n := p.ExtraTrials()
	fmt.Fprintf(&b, "%d extra trial%s per case (excluded from statistics)", n, plural(n))
	c := r.ProfileCost
	if c.Trials == 0 {
		b.WriteString("; cost: unknown (no profiled trial succeeded)")
		return b.String()
	}
	fmt.Fprintf(&b, "; cost: wall %s", costPct(c.Wall))
	if !math.IsNaN(c.CPU) {
		fmt.Fprintf(&b, ", CPU %s", costPct(c.CPU))
	}
	fmt.Fprintf(&b, " (%d profiled trial%s against the measured ones", c.Trials, plural(c.Trials))
	if p.Startup > 0 {
		fmt.Fprintf(&b, "; perf's own start-up and tear-down, %s", formatSeconds(p.Startup.Seconds()))
		if p.StartupCPU > 0 {
			fmt.Fprintf(&b, " (CPU %s)", formatSeconds(p.StartupCPU.Seconds()))
		}
		b.WriteString(" a trial, are left out of its wall time and counted in its CPU time")
	}
	b.WriteString(")")
	return b.String()
}

func costPct(f float64) string {
	if math.IsNaN(f) {
		return "unknown"
	}
	return fmt.Sprintf("%+.1f%%", f*100)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// jsonProfiling is a report's profiling in JSON exports.
type jsonProfiling struct {
	Event      string   `json:"event"`
	FreqHz     int      `json:"freq_hz"`
	Trials     int      `json:"extra_trials_per_case"`
	InMeasured bool     `json:"in_measured"`
	CallGraph  string   `json:"call_graph"` // fp or dwarf
	WallCost   *float64 `json:"wall_cost"`  // profiled / measured median - 1; null when unknown
	CPUCost    *float64 `json:"cpu_cost"`
	Compared   int      `json:"compared_trials"`
	// StartupS is perf's fixed cost around a command that does nothing,
	// measured before the run (seconds; omitted when unknown).
	StartupS    float64 `json:"perf_startup_s,omitempty"`
	StartupCPUS float64 `json:"perf_startup_cpu_s,omitempty"`
}

func jsonProfilingOf(r *Report) *jsonProfiling {
	p := r.Profiling
	if p == nil {
		return nil
	}
	return &jsonProfiling{Event: p.EventName(), FreqHz: p.Hz(), Trials: p.ExtraTrials(), InMeasured: p.InMeasured, CallGraph: p.Unwind(),
		WallCost: num(r.ProfileCost.Wall), CPUCost: num(r.ProfileCost.CPU), Compared: r.ProfileCost.Trials,
		StartupS: p.Startup.Seconds(), StartupCPUS: p.StartupCPU.Seconds()}
}
