package reports

import (
	"fmt"
	"math"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/stats"
)

// Thresholds of the knee and its attribution. They are rules of thumb,
// printed with every verdict so a reader can judge them.
const (
	// KneeGain is the smallest relative gain in speedup that one more step
	// of parallelism must bring to count as scaling: below it, the level
	// before the step is the knee.
	KneeGain = 0.10
	// cpuSaturated is the share of the node's cores that must be busy
	// ((user+sys)/wall) for a knee to be called CPU-bound: with 2 cores,
	// 1.7 busy leaves too little for another process to use.
	cpuSaturated = 0.85
	// readAtCap is the share of a read cap that reads must reach for the
	// knee to be called IO-bound by the cap.
	readAtCap = 0.8
	// coldShare is the share of the declared bytes that must have come
	// from the device (not the page cache) for an uncapped knee to be
	// called IO-bound.
	coldShare = 0.5
	// A trial is start-up-bound when it starts one process for each of
	// at least startupFiles files that take under startupFileTime each:
	// fork and exec then cost as much as the work.
	startupFiles    = 100
	startupFileTime = 0.010
)

// What bounds a knee.
const (
	BoundCPU     = "cpu-bound"
	BoundIO      = "io-bound"
	BoundStartup = "startup-bound"
	BoundUnknown = "not-attributed"
)

// Knee is where extra parallelism stops paying in a scaling group, and
// what the trials measured there say about why.
type Knee struct {
	// Found is false when every step gained at least KneeGain: the group
	// still scales at its largest level, which is then Value.
	Found bool
	Value float64 // the knee: the level after which a step gains less than KneeGain
	Next  float64 // the level after the knee, whose trials the figures below come from
	Gain  float64 // relative speedup gain from Value to Next; NaN when !Found
	// GainLow..GainHigh is the 95% CI of Gain, from the bootstrap CI of
	// the two levels' ratio of (per-unit) times; NaN when !Found or
	// either level has fewer than 2 trials.
	GainLow, GainHigh float64

	// Determined is false when the trials cannot tell where the knee is:
	// the CI of the knee's step does not lie wholly under KneeGain, or
	// that of a step before it (or, when !Found, of any step) does not
	// lie wholly at or above it. Bound is then "" and Reason names the
	// undecided step; Found and Value are the point estimates.
	Determined bool

	Bound  string // one of the Bound constants; "" when !Found
	Reason string // the figures behind Bound, in words

	CPUBusy  float64 // cores busy at Next: median of (user+sys)/wall
	Cores    int     // the node's cores; 0 when unknown
	ReadRate float64 // bytes/s read from block devices at Next: median io_read_bytes/wall; NaN when not measured
	ReadCap  float64 // the read cap at Next, bytes/s; 0 when none
	FileTime float64 // seconds of wall per file at the lowest level; NaN when unknown
}

// findKnee sets g.Knee from the speedups of g's points and the trials of
// their cases.
func findKnee(g *ScalingGroup, cases map[string]*CaseReport, cores int) {
	var pts []ScalingPoint
	for _, p := range g.Points {
		if !math.IsNaN(p.Speedup) {
			pts = append(pts, p)
		}
	}
	if len(pts) < 2 {
		return
	}
	k := &Knee{Found: false, Value: pts[len(pts)-1].Value, Gain: math.NaN(), GainLow: math.NaN(), GainHigh: math.NaN(), Cores: cores, Determined: true}
	at := len(pts) - 1
	undecided := ""
	for i := 0; i+1 < len(pts); i++ {
		gain := pts[i+1].Speedup/pts[i].Speedup - 1
		lo, hi := stepGainCI(cases[pts[i].CaseID], cases[pts[i+1].CaseID])
		if gain < KneeGain {
			k.Found, k.Value, k.Next, k.Gain, k.GainLow, k.GainHigh = true, pts[i].Value, pts[i+1].Value, gain, lo, hi
			at = i + 1
			if undecided == "" && !(hi < KneeGain) {
				undecided = fmt.Sprintf("going from %s to %s %s in speedup (95%% CI %s), which does not rule out a gain of %.0f%% or more",
					formatFloat(pts[i].Value), formatFloat(pts[i+1].Value), gainWords(gain), gainCI(lo, hi), 100*KneeGain)
			}
			break
		}
		if undecided == "" && !(lo >= KneeGain) {
			undecided = fmt.Sprintf("going from %s to %s %s in speedup (95%% CI %s), which does not rule out a gain under %.0f%%",
				formatFloat(pts[i].Value), formatFloat(pts[i+1].Value), gainWords(gain), gainCI(lo, hi), 100*KneeGain)
		}
	}
	g.Knee = k
	if undecided != "" {
		k.Determined = false
		k.Reason = "not determined: " + undecided + "; more trials per level would tell"
		return
	}
	if !k.Found {
		k.Reason = fmt.Sprintf("still scaling: every step up to %s gained at least %.0f%% in speedup", formatFloat(k.Value), 100*KneeGain)
		return
	}
	next, first := cases[pts[at].CaseID], cases[pts[0].CaseID]
	k.CPUBusy, k.ReadRate, k.ReadCap = busyAndReads(next)
	k.FileTime = math.NaN()
	if first != nil && first.Files > 0 && first.Stats.N > 0 {
		k.FileTime = first.Stats.Median / float64(first.Files)
	}
	attribute(k, next)
}

// stepGainCI is the 95% CI of the speedup gain from level a to level b:
// speedup(b)/speedup(a) - 1 = median(a)/median(b) - 1 of their times per
// unit of work (per trial without throughput), so the bootstrap CI of
// the ratio b/a maps to [1/hi - 1, 1/lo - 1]. NaN when either level has
// fewer than 2 trials.
func stepGainCI(a, b *CaseReport) (lo, hi float64) {
	if a == nil || b == nil {
		return math.NaN(), math.NaN()
	}
	as, bs := a.Samples, b.Samples
	if a.Throughput != nil && b.Throughput != nil {
		as, bs = scaled(as, 1/a.Throughput.PerTrial), scaled(bs, 1/b.Throughput.PerTrial)
	}
	c := stats.Compare(as, bs)
	if math.IsNaN(c.CILow) || !(c.CILow > 0) {
		return math.NaN(), math.NaN()
	}
	return 1/c.CIHigh - 1, 1/c.CILow - 1
}

// gainWords puts a relative gain into words without a signed zero:
// "gained 3%", "lost 5%", "gained nothing".
func gainWords(g float64) string {
	switch p := math.Round(100 * g); {
	case math.IsNaN(g):
		return "changed by an unknown amount"
	case p > 0:
		return fmt.Sprintf("gained %.0f%%", p)
	case p < 0:
		return fmt.Sprintf("lost %.0f%%", -p)
	}
	return "gained nothing"
}

// signedPct renders a relative change with its sign: "+14%", "-5%", "0%".
func signedPct(f float64) string {
	p := math.Round(100 * f)
	if p == 0 {
		return "0%"
	}
	return fmt.Sprintf("%+.0f%%", p)
}

// gainCI renders a gain's CI: "-5% to +14%", or "unknown: too few trials".
func gainCI(lo, hi float64) string {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return "unknown: too few trials"
	}
	return signedPct(lo) + " to " + signedPct(hi)
}

// busyAndReads returns the medians of cores busy and device read rate over
// c's measured successful trials, and the largest read cap applied.
func busyAndReads(c *CaseReport) (busy, readRate, readCap float64) {
	if c == nil {
		return math.NaN(), math.NaN(), 0
	}
	var cpu, reads []float64
	for _, t := range c.Trials {
		if t.Excluded() || t.Failed() || t.Wall <= 0 {
			continue
		}
		wall := t.Wall.Seconds()
		cpu = append(cpu, (t.User+t.Sys).Seconds()/wall)
		if v, ok := t.Metrics["io_read_bytes"]; ok {
			reads = append(reads, v/wall)
		} else if v, ok := t.Metrics["rusage_inblock_bytes"]; ok {
			reads = append(reads, v/wall)
		}
		readCap = max(readCap, t.Metrics["read_bps_cap"])
	}
	return stats.Median(cpu), stats.Median(reads), readCap
}

// attribute names what bounds the knee, from the most specific evidence
// to the least: reads held at a cap, cores saturated, many tiny per-file
// processes started one after another (cores idle), reads from the device
// without a cap.
func attribute(k *Knee, next *CaseReport) {
	cores := "?"
	if k.Cores > 0 {
		cores = fmt.Sprint(k.Cores)
	}
	busy := fmt.Sprintf("%.2f of %s cores busy", k.CPUBusy, cores)
	saturated := k.Cores > 0 && k.CPUBusy >= cpuSaturated*float64(k.Cores)
	bytesPerTrial := 0.0
	if next != nil && next.Throughput != nil && next.Throughput.Unit == benchrig.Bytes {
		bytesPerTrial = next.Throughput.PerTrial
	}
	manyTiny := next != nil && next.Files >= startupFiles && !math.IsNaN(k.FileTime) && k.FileTime < startupFileTime
	coldRead := !math.IsNaN(k.ReadRate) && bytesPerTrial > 0 && next.Stats.N > 0 &&
		k.ReadRate*next.Stats.Median >= coldShare*bytesPerTrial
	switch {
	case k.ReadCap > 0 && !math.IsNaN(k.ReadRate) && k.ReadRate >= readAtCap*k.ReadCap:
		k.Bound = BoundIO
		k.Reason = fmt.Sprintf("reads at %s, %.0f%% of the %s cap, with %s", formatRate(k.ReadRate, benchrig.Bytes),
			100*k.ReadRate/k.ReadCap, formatRate(k.ReadCap, benchrig.Bytes), busy)
	case saturated:
		k.Bound = BoundCPU
		k.Reason = fmt.Sprintf("cores saturated: %s (median (user+sys)/wall)", busy)
		if manyTiny {
			k.Reason += fmt.Sprintf("; %d files at %.1f ms each, so much of that CPU goes to starting one process per file", next.Files, 1000*k.FileTime)
		}
	case manyTiny:
		k.Bound = BoundStartup
		k.Reason = fmt.Sprintf("%d files, one process each, %.1f ms of wall per file at the lowest level, and the cores are not saturated (%s): starting processes one after another is the bottleneck",
			next.Files, 1000*k.FileTime, busy)
	case coldRead:
		k.Bound = BoundIO
		k.Reason = fmt.Sprintf("%s read from the device (%.0f%% of the data did not come from the page cache), with only %s",
			formatRate(k.ReadRate, benchrig.Bytes), 100*k.ReadRate*next.Stats.Median/bytesPerTrial, busy)
	default:
		k.Bound = BoundUnknown
		reads := "not measured"
		if !math.IsNaN(k.ReadRate) {
			reads = formatRate(k.ReadRate, benchrig.Bytes)
		}
		k.Reason = fmt.Sprintf("neither cores nor reads look saturated: %s, device reads %s", busy, reads)
	}
}
