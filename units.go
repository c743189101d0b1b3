package benchrig

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// byteUnits are the suffixes ParseBytes accepts: SI (powers of 1000, as disk
// and network figures are quoted) and IEC (powers of 1024), case-insensitive.
var byteUnits = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"t", 1e12},
	{"b", 1},
}

// ParseBytes reads a size such as "55MB" (55,000,000), "1.15MB", "64MiB"
// (67,108,864), "128m" or "4096". MB is a million bytes, as in the seed
// experiments' figures; MiB is 2^20. The result is rounded to whole bytes.
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a size (examples: 4096, 55MB, 1.15MB, 64MiB)", s)
	}
	n := math.Round(v * mult)
	if n > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(n), nil
}

// FormatBytes writes n in SI units with three significant digits, e.g.
// "55.0 MB", the way ParseBytes reads them.
func FormatBytes(n int64) string {
	f := float64(n)
	for _, u := range []struct {
		s string
		v float64
	}{{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}} {
		if f >= u.v {
			return strconv.FormatFloat(f/u.v, 'f', digits(f/u.v), 64) + " " + u.s
		}
	}
	return strconv.FormatInt(n, 10) + " B"
}

func digits(f float64) int {
	switch {
	case f >= 100:
		return 0
	case f >= 10:
		return 1
	}
	return 2
}

// MaxInstances bounds a spec's instances: more copies than this on one node
// measure the scheduler, not the program.
const MaxInstances = 1024

// ParseInstances reads an expanded instances value; "" means 1.
func ParseInstances(v string) (int, error) {
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > MaxInstances {
		return 0, fmt.Errorf("%q is not a number of instances from 1 to %d", v, MaxInstances)
	}
	return n, nil
}

// ParseReadBPS reads an expanded read cap: a size per second ("128MB",
// "50MiB/s"), with "", "0" and "none" meaning no cap.
func ParseReadBPS(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "none" {
		return 0, nil
	}
	n, err := ParseBytes(strings.TrimSuffix(strings.TrimSuffix(v, "/s"), "ps"))
	if err != nil {
		return 0, fmt.Errorf("%q is not a read rate (examples: 128MB, 50MiB, none)", v)
	}
	return n, nil
}

// ParseCache reads an expanded cache value: whether to start cold.
func ParseCache(v string) (cold bool, err error) {
	switch v {
	case "", "warm":
		return false, nil
	case "cold":
		return true, nil
	}
	return false, fmt.Errorf("unknown cache %q (want warm or cold)", v)
}

// FormatDuration renders d as measured, with 3 significant digits in a
// human unit: "837 ms" (not "800ms"), "36.2 ms" (not "0s"), "1.23 s",
// "412 µs"; from a minute on in whole seconds: "2 min 4 s", "1 h 5 min". Every duration benchrig prints for a reader (reports, progress,
// events, run lists) goes through it, so the same figure reads the same
// everywhere.
func FormatDuration(d time.Duration) string { return FormatSeconds(d.Seconds()) }

// FormatSeconds is FormatDuration of a duration in seconds; "-" for NaN or
// an infinity.
func FormatSeconds(sec float64) string {
	if math.IsNaN(sec) || math.IsInf(sec, 0) {
		return "-"
	}
	if sec == 0 {
		return "0 s" // nothing measured, not a nanosecond figure
	}
	if a := math.Abs(sec); a >= 60 {
		sign := ""
		if sec < 0 {
			sign = "-"
		}
		whole := int64(math.Round(a))
		if whole >= 3600 {
			mins := (whole + 30) / 60
			return fmt.Sprintf("%s%d h %d min", sign, mins/60, mins%60)
		}
		return fmt.Sprintf("%s%d min %d s", sign, whole/60, whole%60)
	}
	scale, unit := TimeUnit(sec)
	return Sig3(sec*scale) + " " + unit
}

// TimeUnit picks the unit in which a duration of sec seconds reads best
// below a minute, and the factor from seconds to it.
func TimeUnit(sec float64) (scale float64, unit string) {
	switch a := math.Abs(sec); {
	case a >= 1:
		return 1, "s"
	case a >= 1e-3:
		return 1e3, "ms"
	case a >= 1e-6:
		return 1e6, "µs"
	}
	return 1e9, "ns"
}

// Sig3 formats v with 3 significant digits and no exponent: 1.23, 12.3,
// 123, 1234.
func Sig3(v float64) string {
	if v == 0 {
		return "0"
	}
	digits := int(math.Floor(math.Log10(math.Abs(v)))) + 1 // digits before the point
	dec := max(0, 3-digits)
	s := strconv.FormatFloat(v, 'f', dec, 64)
	// Rounding may add a digit (9.999 -> "10.00"); redo with one decimal less.
	if r, err := strconv.ParseFloat(s, 64); err == nil && dec > 0 && math.Abs(r) >= math.Pow10(digits) {
		s = strconv.FormatFloat(v, 'f', dec-1, 64)
	}
	return s
}
