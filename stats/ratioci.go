package stats

import (
	"math"
	"slices"
)

// Methods of a RatioInterval, in words: the output and JUnit print them.
const (
	RatioExact  = "Hodges-Lehmann ratio with Moses' distribution-free 95% CI (exact Mann-Whitney distribution)"
	RatioNormal = "Hodges-Lehmann ratio with Moses' distribution-free 95% CI (Mann-Whitney normal approximation with continuity correction)"
)

// RatioInterval is a time ratio candidate/baseline (1.10: 10% slower) and
// its confidence interval.
type RatioInterval struct {
	// Estimate is the Hodges-Lehmann estimate: the median of the n·m
	// pairwise differences of log times, exponentiated. NaN when either
	// side is empty or holds a time that is not positive.
	Estimate float64
	// Low..High is the interval; NaN when !OK.
	Low, High float64
	// Level is the interval's confidence: exact (at least 0.95) from the
	// exact distribution, nominal 0.95 from the normal approximation.
	Level  float64
	Method string
	// OK is false when the samples are too few for a 95% interval (3 and
	// 3: even the widest interval, min..max of the differences, covers
	// only 90%), or when the times cannot be logged.
	OK bool
}

// RatioCI estimates the ratio of candidate's times to baseline's and its
// distribution-free 95% confidence interval, assuming only that the log
// times of both differ by a shift (a ratio of times): Moses' interval
// [D(k), D(nm-k+1)] of the sorted pairwise differences D of log times,
// where k is the largest count with P(U <= k-1) <= 2.5% for the
// Mann-Whitney U of samples of n and m. It covers the true log ratio with
// probability 1-2P(U <= k-1) whatever the distribution of the times: the
// number of differences above the true shift is distributed as U. The
// distribution is exact when both sides have at most exactMaxN times, and
// the normal approximation with continuity correction above. Ties (clock
// resolution) make the interval conservative, not wrong.
func RatioCI(baseline, candidate []float64) RatioInterval {
	ri := RatioInterval{Estimate: math.NaN(), Low: math.NaN(), High: math.NaN()}
	n, m := len(baseline), len(candidate)
	if n == 0 || m == 0 {
		return ri
	}
	lb, lc := make([]float64, n), make([]float64, m)
	for i, x := range baseline {
		if !(x > 0) || math.IsInf(x, 0) {
			return ri
		}
		lb[i] = math.Log(x)
	}
	for j, y := range candidate {
		if !(y > 0) || math.IsInf(y, 0) {
			return ri
		}
		lc[j] = math.Log(y)
	}
	d := make([]float64, 0, n*m)
	for _, x := range lb {
		for _, y := range lc {
			d = append(d, y-x)
		}
	}
	slices.Sort(d)
	ri.Estimate = math.Exp(quantile(d, 0.5))
	k, level, method := mosesK(n, m)
	ri.Method = method
	if k < 1 {
		return ri
	}
	ri.Low, ri.High, ri.Level, ri.OK = math.Exp(d[k-1]), math.Exp(d[n*m-k]), level, true
	return ri
}

// MinRatioN is the fewest trials per side (both sides equal) for which
// RatioCI has a 95% interval.
func MinRatioN() int {
	k := 1
	for {
		if c, _, _ := mosesK(k, k); c >= 1 {
			return k
		}
		k++
	}
}

// mosesK is the order statistic k (1-based) of Moses' 95% interval for
// samples of n and m: the largest k with P(U <= k-1) <= 0.025, 0 when
// there is none; and the interval's level and method.
func mosesK(n, m int) (k int, level float64, method string) {
	if n > exactMaxN || m > exactMaxN {
		// P(U <= k-1) ~ Phi((k-1+0.5-nm/2)/sigma) <= 0.025.
		nm := float64(n * m)
		sigma := math.Sqrt(nm * float64(n+m+1) / 12)
		k = int(math.Floor(nm/2 - zAlpha*sigma + 0.5))
		if k < 1 {
			return 0, 0, RatioNormal
		}
		return k, 0.95, RatioNormal
	}
	counts := mwNullCounts(n, m)
	total := 0.0
	for _, c := range counts {
		total += c
	}
	tail := 0.0 // P(U <= k-1)
	for k < len(counts) {
		next := tail + counts[k]/total
		if next > 0.025 {
			break
		}
		tail = next
		k++
	}
	if k < 1 {
		return 0, 0, RatioExact
	}
	return k, 1 - 2*tail, RatioExact
}
