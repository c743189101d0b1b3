package reports

import (
	"math"
	"strconv"
	"time"

	"github.com/benchrig/benchrig"
)

// sig3 formats v (>= 0) with 3 significant digits and no exponent: 1.23,
// 12.3, 123, 1234.
func sig3(v float64) string { return benchrig.Sig3(v) }

// timeUnit picks the unit in which sec reads best (benchrig.TimeUnit).
func timeUnit(sec float64) (scale float64, unit string) { return benchrig.TimeUnit(sec) }

// FormatDuration renders d as the reports do, with 3 significant digits
// in a human unit ("837 ms", "36.2 ms", "1.23 s"), so that every figure
// the CLI prints reads the same way: benchrig.FormatDuration.
func FormatDuration(d time.Duration) string { return benchrig.FormatDuration(d) }

// formatSeconds renders a duration in seconds with 3 significant digits in
// a human unit: "12.3 ms", "1.23 s".
func formatSeconds(sec float64) string { return benchrig.FormatSeconds(sec) }

// formatSecondsRange renders lo-hi in the unit of lo: "12.1-12.6 ms".
func formatSecondsRange(lo, hi float64) string {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return "-"
	}
	scale, unit := timeUnit(lo)
	return sig3(lo*scale) + "-" + sig3(hi*scale) + " " + unit
}

// formatRate renders an amount per second in decimal (SI) units:
// "512 MB/s", "1.20 k items/s".
func formatRate(rate float64, unit benchrig.ThroughputUnit) string {
	if math.IsNaN(rate) || math.IsInf(rate, 0) {
		return "-"
	}
	prefixes := []string{"", "k", "M", "G", "T", "P"}
	i := 0
	for rate >= 1000 && i < len(prefixes)-1 {
		rate /= 1000
		i++
	}
	if unit == benchrig.Bytes {
		return sig3(rate) + " " + prefixes[i] + "B/s"
	}
	p := prefixes[i]
	if p != "" {
		p += " "
	}
	name := string(unit)
	if name == "" {
		name = "items"
	}
	return sig3(rate) + " " + p + name + "/s"
}

// formatP renders a p-value: "p<0.001", "p=0.012", "p=0.41".
func formatP(p float64) string {
	switch {
	case math.IsNaN(p):
		return "p=-"
	case p < 0.001:
		return "p<0.001"
	case p < 0.01:
		return "p=" + strconv.FormatFloat(p, 'f', 3, 64)
	}
	return "p=" + strconv.FormatFloat(p, 'f', 2, 64)
}

// formatRatio renders a ratio with 3 significant digits: "14.2", "0.987".
func formatRatio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "-"
	}
	return sig3(r)
}

// formatFloat renders a plain number compactly for tables and CSV.
func formatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ""
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// formatBytes renders an amount of memory in decimal (SI) units: "1.80 MB",
// "16.5 MB"; "-" when not measured (NaN).
func formatBytes(b float64) string {
	if math.IsNaN(b) || math.IsInf(b, 0) {
		return "-"
	}
	prefixes := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for b >= 1000 && i < len(prefixes)-1 {
		b /= 1000
		i++
	}
	return sig3(b) + " " + prefixes[i]
}
