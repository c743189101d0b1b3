package reports

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/stats"
)

// CollectionLine is the one line that says what the collector cost beside
// a run and where its samples went: "collector: 0.31% of one core (CPU
// 12 ms over 3.9 s), 41 samples, 8.0 MB; shipped to store: 41 sent", or
// "collector: off". Overhead is part of every result.
func CollectionLine(c *benchrig.Collection) string {
	var b strings.Builder
	b.WriteString("collector: ")
	switch {
	case c == nil || c.Interval == 0:
		b.WriteString("off")
	case len(c.Collectors) == 0:
		fmt.Fprintf(&b, "every %s, none ran", c.Interval)
	default:
		var cpu, wall float64
		var samples, dropped int64
		var mem float64
		for _, k := range c.Collectors {
			cpu += k.CPU.Seconds()
			wall = max(wall, k.Wall.Seconds())
			samples += k.Samples
			dropped += k.Dropped
			mem = max(mem, float64(k.MemoryBytes))
		}
		share := math.NaN()
		if wall > 0 {
			share = cpu / wall
		}
		if n := len(c.Collectors); n > 1 {
			fmt.Fprintf(&b, "%d collectors, ", n)
		}
		fmt.Fprintf(&b, "%s of one core (CPU %s over %s), every %s, %d samples", sharePct(share), formatSeconds(cpu), formatSeconds(wall), c.Interval, samples)
		if mem > 0 {
			fmt.Fprintf(&b, ", %s", formatBytes(mem))
		}
		if dropped > 0 {
			fmt.Fprintf(&b, ", %d dropped", dropped)
		}
	}
	if c != nil && c.Sink != "" {
		fmt.Fprintf(&b, "; shipped to %s: %s", c.Sink, shipText(c.Shipping))
	}
	return b.String()
}

// sharePct renders a CPU share with two significant digits, small ones
// included: "0.31%", "0.0042%".
func sharePct(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "?%"
	}
	return sig3(100*f) + "%"
}

// shipText lists a sink's counters, the zero ones but "sent" left out.
func shipText(s benchrig.ShipCounters) string {
	parts := []string{fmt.Sprintf("%d sent", s.Sent)}
	for _, f := range []struct {
		n    int64
		what string
	}{{s.Retried, "retried"}, {s.Spooled, "spooled"}, {s.Failed, "failed"}, {s.Duplicates, "duplicates"}} {
		if f.n != 0 {
			parts = append(parts, fmt.Sprintf("%d %s", f.n, f.what))
		}
	}
	return strings.Join(parts, ", ")
}

// WNoisy is the warning of a case some of whose measured trials were
// disturbed: the rest of the host used more than benchrig.NoiseOtherBound
// of its CPUs during them, or the hypervisor stole more than
// benchrig.NoiseStealBound.
const WNoisy = "noisy-neighbour"

// noisySlower is how much slower (median over median) a case's disturbed
// trials must be than its undisturbed ones to count as the slow ones:
// smaller differences are within the timing noise of a quiet host.
const noisySlower = 0.02

// NoiseSummary is what the noise figures of one case's measured,
// successful trials say.
type NoiseSummary struct {
	Measured  int // trials with noise figures
	Disturbed int
	// MaxOther and MaxSteal are the largest shares among the disturbed
	// trials (benchrig.Noise.OtherShare and StealShare).
	MaxOther, MaxSteal float64
	// DisturbedMedian and QuietMedian are the median wall times (seconds)
	// of the disturbed and undisturbed trials; NaN when there are none.
	DisturbedMedian, QuietMedian float64
}

// Slower says whether the disturbed trials were the slow ones.
func (n NoiseSummary) Slower() bool {
	return n.QuietMedian > 0 && n.DisturbedMedian > n.QuietMedian*(1+noisySlower)
}

// noiseOf summarises the noise of a case's measured successful trials;
// ok is false when none has noise figures.
func noiseOf(trials []benchrig.Trial) (NoiseSummary, bool) {
	var ns NoiseSummary
	var dis, quiet []float64
	for _, t := range trials {
		if t.Excluded() || t.Failed() || t.Noise == nil {
			continue
		}
		ns.Measured++
		if !t.Noise.Disturbed {
			quiet = append(quiet, t.Wall.Seconds())
			continue
		}
		ns.Disturbed++
		dis = append(dis, t.Wall.Seconds())
		ns.MaxOther = max(ns.MaxOther, t.Noise.OtherShare())
		ns.MaxSteal = max(ns.MaxSteal, t.Noise.StealShare())
	}
	ns.DisturbedMedian, ns.QuietMedian = math.NaN(), math.NaN()
	if len(dis) > 0 {
		ns.DisturbedMedian = stats.Summarize(dis).Median
	}
	if len(quiet) > 0 {
		ns.QuietMedian = stats.Summarize(quiet).Median
	}
	return ns, ns.Measured > 0
}

// noiseWarning is the noisy-neighbour warning of a case, if any.
func noiseWarning(cr *CaseReport) (Warning, bool) {
	ns, ok := noiseOf(cr.Trials)
	if !ok || ns.Disturbed == 0 {
		return Warning{}, false
	}
	msg := fmt.Sprintf("%d of %d measured trials ran while the rest of the host used up to %s of its CPUs", ns.Disturbed, ns.Measured, pct(ns.MaxOther))
	if ns.MaxSteal > benchrig.NoiseStealBound {
		msg += fmt.Sprintf(" and the hypervisor stole up to %s", pct(ns.MaxSteal))
	}
	switch {
	case math.IsNaN(ns.QuietMedian):
		msg += ": every trial was disturbed"
	case ns.Slower():
		msg += fmt.Sprintf("; they were the slow ones: median %s against %s undisturbed", formatSeconds(ns.DisturbedMedian), formatSeconds(ns.QuietMedian))
	default:
		msg += fmt.Sprintf("; they were not slower: median %s against %s undisturbed", formatSeconds(ns.DisturbedMedian), formatSeconds(ns.QuietMedian))
	}
	return Warning{WNoisy, msg}, true
}

// noiseDetail is the figure behind a case's noisy-neighbour warning.
func noiseDetail(c *CaseReport) string {
	ns, _ := noiseOf(c.Trials)
	d := fmt.Sprintf("%d of %d disturbed, up to %s other CPU", ns.Disturbed, ns.Measured, pct(ns.MaxOther))
	if ns.MaxSteal > benchrig.NoiseStealBound {
		d += fmt.Sprintf(", %s stolen", pct(ns.MaxSteal))
	}
	switch {
	case math.IsNaN(ns.QuietMedian):
		d += ", all of them"
	case ns.Slower():
		d += fmt.Sprintf(", %s slower", pct(ns.DisturbedMedian/ns.QuietMedian-1))
	default:
		d += ", not slower"
	}
	return d
}

// noiseAction says what the data supports doing about disturbed trials.
func noiseAction(cases []*CaseReport) string {
	var slow, all, stolen []string
	for _, c := range cases {
		ns, _ := noiseOf(c.Trials)
		switch {
		case math.IsNaN(ns.QuietMedian):
			all = append(all, c.Case.ID)
		case ns.Slower():
			slow = append(slow, c.Case.ID)
		}
		if ns.MaxSteal > benchrig.NoiseStealBound {
			stolen = append(stolen, c.Case.ID)
		}
	}
	var parts []string
	switch {
	case len(all) > 0:
		parts = append(parts, fmt.Sprintf("every trial of %s was disturbed, so no quiet figure exists to compare with: re-run on a quiet host, or pin the benchmark to CPUs nothing else uses (resources.cpuset)", CaseList(all)))
	case len(slow) > 0:
		parts = append(parts, fmt.Sprintf("the disturbed trials of %s were the slow ones: the slowdown is the neighbour's, not the command's; re-run on a quiet host or pin CPUs (resources.cpuset), or judge by the undisturbed trials (noise.disturbed in the JSON and CSV exports)", CaseList(slow)))
	default:
		parts = append(parts, "the disturbed trials were not slower than the others: the neighbour did not move these medians, nothing to drop")
	}
	if len(stolen) > 0 {
		parts = append(parts, "steal time means other virtual machines on the same host: pinning inside this one does not help, a dedicated or less loaded host does")
	}
	return strings.Join(parts, "; ")
}

// jsonCollection is a run's Collection in the JSON export.
type jsonCollection struct {
	IntervalS  float64               `json:"interval_s"`
	Sink       string                `json:"sink"`
	Collectors []jsonCollector       `json:"collectors"`
	Shipping   benchrig.ShipCounters `json:"shipping"`
	Warnings   []string              `json:"warnings"`
	Summary    string                `json:"summary"`
}

type jsonCollector struct {
	Node        string   `json:"node"`
	Mode        string   `json:"mode"`
	IntervalS   float64  `json:"interval_s"`
	WallS       float64  `json:"wall_s"`
	CPUS        float64  `json:"cpu_s"`
	CPUShare    *float64 `json:"cpu_share"`
	MemoryBytes int64    `json:"memory_bytes"`
	Samples     int64    `json:"samples"`
	Targets     int64    `json:"targets"`
	Dropped     int64    `json:"dropped"`
}

// jsonCollectionOf is nil when nothing was collected or shipped.
func jsonCollectionOf(c *benchrig.Collection) *jsonCollection {
	if c == nil {
		return nil
	}
	jc := &jsonCollection{IntervalS: c.Interval.Seconds(), Sink: c.Sink, Collectors: []jsonCollector{}, Shipping: c.Shipping,
		Warnings: slices.Clone(c.Warnings), Summary: CollectionLine(c)}
	if jc.Warnings == nil {
		jc.Warnings = []string{}
	}
	for _, k := range c.Collectors {
		share := num(math.NaN())
		if k.Wall > 0 {
			share = num(k.CPUShare())
		}
		jc.Collectors = append(jc.Collectors, jsonCollector{Node: k.Node, Mode: k.Mode, IntervalS: k.Interval.Seconds(), WallS: k.Wall.Seconds(),
			CPUS: k.CPU.Seconds(), CPUShare: share, MemoryBytes: k.MemoryBytes, Samples: k.Samples, Targets: k.Targets, Dropped: k.Dropped})
	}
	return jc
}

// jsonNoise is a trial's noise in the JSON export.
type jsonNoise struct {
	WindowS    float64  `json:"window_s"`
	CPUs       int      `json:"cpus"`
	OtherCPUS  float64  `json:"other_cpu_s"`
	StealS     float64  `json:"steal_s"`
	OtherShare *float64 `json:"other_cpu_share"`
	StealShare *float64 `json:"steal_share"`
	Disturbed  bool     `json:"disturbed"`
}

func jsonNoiseOf(n *benchrig.Noise) *jsonNoise {
	if n == nil {
		return nil
	}
	return &jsonNoise{WindowS: n.Window.Seconds(), CPUs: n.CPUs, OtherCPUS: n.OtherCPU.Seconds(), StealS: n.Steal.Seconds(),
		OtherShare: num(n.OtherShare()), StealShare: num(n.StealShare()), Disturbed: n.Disturbed}
}

// noiseCells are a trial's noise columns in the CSV export: empty without
// figures.
func noiseCells(n *benchrig.Noise) []string {
	if n == nil {
		return []string{"", "", ""}
	}
	return []string{formatFloat(n.OtherShare()), formatFloat(n.StealShare()), fmt.Sprint(n.Disturbed)}
}

// upperFirst capitalises the first letter of s, for a sentence.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
