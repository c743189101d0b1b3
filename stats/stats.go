// Package stats owns benchrig's statistics: summaries of samples (median,
// its distribution-free confidence interval, MAD, outliers, bimodality),
// the comparison of two samples (ratio of medians with a bootstrap CI,
// Mann-Whitney U, the smallest change it could detect), the geometric
// mean of several comparisons' ratios and the adaptive-repeat criterion (RelHalfWidth). It is
// a leaf: the standard library only, so that the runner can stop a case
// on its CI without depending on reports, and reports can turn the same
// figures into warnings and tables.
package stats

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// Thresholds of the statistical warnings. Each is a judgement call; the
// reason is next to it so that it can be argued with.
const (
	// MinOrderStatN is the smallest n for which the distribution-free
	// interval [x(k), x(n-k+1)] reaches 95% coverage (n=6, k=1: 96.9%).
	// Below it the CI is the range min..max, whose coverage 1-2^(1-n) is
	// under 95%.
	MinOrderStatN = 6

	// OutlierZ is the modified z-score above which a sample is an outlier
	// (Iglewicz and Hoaglin, 1993: |0.6745 (x - median) / MAD| > 3.5).
	OutlierZ = 3.5

	// BimodalMinN: gap-based detection needs enough samples on each side
	// of the gap (BimodalMinSide) to tell a cluster from stray samples.
	BimodalMinN = 10
	// BimodalMinSide: each group must hold at least this many samples (or
	// a tenth of them, if more). With 3 or 4 the spread of a group is too
	// noisy and skewed unimodal samples of 10 were called bimodal 1-5% of
	// the time.
	BimodalMinSide = 5
	// BimodalGapFactor: the largest gap between sorted samples that leaves
	// BimodalMinSide on each side must exceed this many times the wider
	// of the two groups' scaled MADs. Measured on 1000 samples each
	// (TestBimodalFalseAlarms): normal, lognormal (sigma 0.3) and shifted
	// exponential samples were called bimodal at most 0.5% of the time
	// at n=10 and never at n>=20, while two modes 15 sigma apart were
	// found 98.7-100% of the time; modes 7.5 sigma apart are often
	// missed (found 50% at n=10, 7% at n=50): conservative by design.
	BimodalGapFactor = 5
	// BimodalMinGap: the gap must also exceed this fraction of the median
	// times BimodalGapFactor, so that tight, clock-quantised samples
	// (MAD 0 in both groups) do not count as two modes.
	BimodalMinGap = 0.01
	// BimodalSmallMinN..BimodalMinN-1 samples are too few for the gap
	// test alone (a group of 2 has no reliable spread), so below
	// BimodalMinN two modes are called only when, on top of the same gap
	// test with at least BimodalSmallMinSide samples per group, every
	// sample of the smaller group is an outlier of the whole sample (its
	// modified z-score exceeds OutlierZ), and the gap exceeds
	// BimodalSmallGapFactor times the wider group's range (a group of 2
	// or 3 has no usable MAD): 3 trials at 27.2-28.1 ms and 2 at 35.5-36.4
	// ms are two modes, not "2 of 5 samples are outliers". Measured on
	// 2000 samples each: normal, lognormal (sigma 0.3) and shifted
	// exponential samples of 5 were called bimodal at most 0.6% of the
	// time, of 7 at most 0.1%, while 3 and 2 samples from two modes 15
	// sigma apart were found 35% of the time (conservative, as above).
	// Factors of 5, 7 and 10 gave 1.6%, 0.9% and 0.3% false alarms at n=5
	// and found 69%, 44% and 23%; 10 missed the example above.
	BimodalSmallMinN      = 5
	BimodalSmallMinSide   = 2
	BimodalSmallGapFactor = 8

	// Alpha is the significance level of Compare's verdict.
	Alpha = 0.05
	// BootstrapResamples is the number of bootstrap resamples of Compare's
	// ratio CI: enough for stable 2.5% and 97.5% percentiles (125
	// resamples in each tail) while staying cheap.
	BootstrapResamples = 5000
	// exactMaxN: Mann-Whitney uses the exact null distribution when both
	// samples have at most this many values and there are no ties. Its
	// cost grows as n1*(n1*n2)*(n1+n2): about 2 ms at 30 and 30, 12 ms
	// at 50 and 50; from 30 on the normal approximation is close.
	exactMaxN = 30
)

// CI methods named in Summary.CIMethod.
const (
	CIOrderStatistic = "order-statistic" // distribution-free binomial interval of the median
	CIRange          = "range"           // min..max, used below MinOrderStatN samples
)

// Summary summarises samples (seconds, for benchrig's wall times).
type Summary struct {
	N      int
	Mean   float64
	Median float64
	Stddev float64 // sample standard deviation (n-1); 0 when n < 2
	Min    float64
	Max    float64
	MAD    float64 // raw median absolute deviation from the median
	// MADScaled is MAD*1.4826, an estimate of the standard deviation for
	// normal data that is robust to outliers.
	MADScaled float64
	CV        float64 // Stddev / Mean; 0 when n < 2 or Mean == 0

	// CILow..CIHigh is the 95% confidence interval of the median, computed
	// by CIMethod, covering the true median with probability CICoverage
	// (exact for continuous data; at least that with ties).
	CILow, CIHigh float64
	CIMethod      string
	CICoverage    float64

	// Outliers are indices into the summarised slice of samples whose
	// modified z-score exceeds OutlierZ.
	Outliers []int
	// OutliersHigh counts the outliers above the median (slow ones).
	OutliersHigh int

	// Bimodal is set when the samples split into two well separated
	// groups; BimodalLow and BimodalHigh are the groups' medians.
	Bimodal                 bool
	BimodalLow, BimodalHigh float64
	BimodalNLow             int
}

// Summarize computes the Summary of xs. It does not modify xs. With no
// samples it returns Summary{} (N == 0).
func Summarize(xs []float64) Summary {
	n := len(xs)
	if n == 0 {
		return Summary{}
	}
	s := sorted(xs)
	st := Summary{N: n, Min: s[0], Max: s[n-1], Median: quantile(s, 0.5)}
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	st.Mean = sum / float64(n)
	if n >= 2 {
		ss := 0.0
		for _, x := range s {
			ss += float64((x - st.Mean) * (x - st.Mean)) // no FMA: see quantile
		}
		st.Stddev = math.Sqrt(ss / float64(n-1))
		if st.Mean != 0 {
			st.CV = st.Stddev / math.Abs(st.Mean)
		}
	}
	st.MAD = mad(s, st.Median)
	st.MADScaled = st.MAD * 1.4826
	st.CILow, st.CIHigh, st.CIMethod, st.CICoverage = medianCI(s)
	st.Outliers, st.OutliersHigh = outliers(xs, st.Median, st.MAD)
	st.Bimodal, st.BimodalLow, st.BimodalHigh, st.BimodalNLow = bimodal(s, st.Median, len(st.Outliers))
	if st.Bimodal {
		// A sample of the other mode is not an outlier: outliers are
		// judged within each mode, so the same samples never raise both.
		st.Outliers, st.OutliersHigh = modeOutliers(xs, s[:st.BimodalNLow], s[st.BimodalNLow:], st.BimodalLow, st.BimodalHigh)
	}
	return st
}

// RelHalfWidth is the half-width of the 95% CI of the median of xs,
// (CIHigh-CILow)/2, relative to the median. An adaptive-repeat loop stops
// once it falls under its target. It is +Inf while fewer than
// MinOrderStatN samples are available (no 95% interval exists yet) or the
// median is not positive, so such a loop keeps going.
func RelHalfWidth(xs []float64) float64 {
	if len(xs) < MinOrderStatN {
		return math.Inf(1)
	}
	s := sorted(xs)
	m := quantile(s, 0.5)
	if m <= 0 {
		return math.Inf(1)
	}
	lo, hi, _, _ := medianCI(s)
	return (hi - lo) / 2 / m
}

// Verdicts of a Comparison.
const (
	Faster       = "faster"
	Slower       = "slower"
	NoDifference = "no significant difference"
	Insufficient = "insufficient data"
	// TooFew is a comparison whose sample sizes cannot reach p < Alpha
	// whatever the times (3 and 3: the exact test's smallest p is 0.10):
	// "no significant difference" would claim what the run cannot know.
	TooFew        = "too few trials to tell"
	PExact        = "exact"
	PNormalApprox = "normal"
)

// Comparison compares one sample (other) against a baseline.
type Comparison struct {
	NBaseline, NCase int

	// Ratio is median(other)/median(baseline): a time ratio, < 1 means
	// other is faster. NaN when it cannot be computed.
	Ratio float64
	// CILow..CIHigh is the 95% percentile bootstrap interval of Ratio from
	// BootstrapResamples resamples of each side, drawn from a PCG
	// generator with a fixed seed so that a report is reproducible. NaN
	// with insufficient data.
	CILow, CIHigh float64

	// U is the Mann-Whitney statistic of other: pairs (b, o) with o > b,
	// ties counting 1/2. P is its two-sided p-value, computed by PMethod
	// (PExact or PNormalApprox). NaN with insufficient data.
	U       float64
	P       float64
	PMethod string

	// MDE is the smallest relative change of the median this comparison
	// could have detected (0.04: about ±4%), with 80% power at Alpha; see
	// DetectableChange. With no significant difference it is at least the
	// change observed (which was not detected). NaN with insufficient
	// data, or when the sample sizes cannot reach p < Alpha at all
	// (TooFew).
	MDE float64

	Verdict string
}

// Power is the probability with which a change of Comparison.MDE would
// have been detected.
const Power = 0.80

// zAlpha and zPower are the standard normal quantiles of 1-Alpha/2 and of
// Power.
const (
	zAlpha = 1.959963984540054
	zPower = 0.8416212335729143
)

// DetectableChange is the minimum detectable effect of a comparison whose
// 95% ratio CI is lo..hi: the relative change of the median that would be
// found with 80% power at Alpha. The CI's half-width in log space is
// zAlpha standard errors of the log ratio; a true change is detected with
// probability Power when it lies zAlpha+zPower standard errors from 1, so
// MDE = exp((zAlpha+zPower) * (ln hi - ln lo) / (2 zAlpha)) - 1. It uses
// the observed spread and sample sizes of both sides (through the
// bootstrap CI), as a power analysis of the same run would; for tiny
// samples the bootstrap interval is narrow and the figure optimistic.
// NaN when the CI is not defined or not positive.
func DetectableChange(lo, hi float64) float64 {
	if !(lo > 0) || !(hi >= lo) || math.IsInf(hi, 0) {
		return math.NaN()
	}
	se := (math.Log(hi) - math.Log(lo)) / (2 * zAlpha)
	return math.Exp((zAlpha+zPower)*se) - 1
}

// Compare compares other against baseline (both wall times in seconds).
// The verdict is Faster or Slower when P < Alpha and the ratio CI excludes
// 1, NoDifference otherwise, and Insufficient when either side has fewer
// than 2 samples or the baseline median is not positive.
func Compare(baseline, other []float64) Comparison {
	c := Comparison{NBaseline: len(baseline), NCase: len(other), Ratio: math.NaN(), CILow: math.NaN(), CIHigh: math.NaN(), U: math.NaN(), P: math.NaN(), MDE: math.NaN(), Verdict: Insufficient}
	if len(baseline) == 0 || len(other) == 0 {
		return c
	}
	mb, mo := quantile(sorted(baseline), 0.5), quantile(sorted(other), 0.5)
	if mb <= 0 {
		return c
	}
	c.Ratio = mo / mb
	if len(baseline) < 2 || len(other) < 2 {
		return c
	}
	c.CILow, c.CIHigh = bootstrapRatioCI(baseline, other)
	c.U, c.P, c.PMethod = MannWhitney(baseline, other)
	c.Verdict = NoDifference
	if c.P >= Alpha && MinP(len(baseline), len(other)) >= Alpha {
		c.Verdict = TooFew
	}
	if c.P < Alpha {
		switch {
		case c.CIHigh < 1:
			c.Verdict = Faster
		case c.CILow > 1:
			c.Verdict = Slower
		}
	}
	if MinP(len(baseline), len(other)) < Alpha {
		c.MDE = DetectableChange(c.CILow, c.CIHigh)
		if obs := math.Exp(math.Abs(math.Log(c.Ratio))) - 1; c.Verdict == NoDifference && obs > c.MDE {
			// The change observed was not detected, so the run cannot
			// detect one of that size: the bootstrap CI of few samples
			// is narrower than the rank test's power.
			c.MDE = obs
		}
	}
	return c
}

// MinP is the smallest two-sided p-value the Mann-Whitney test can give
// for samples of n and m: two orderings of C(n+m, n) are the most extreme.
func MinP(n, m int) float64 {
	c := 1.0 // C(n+m, n), built up exactly while small
	for i := 1; i <= n; i++ {
		c = c * float64(m+i) / float64(i)
	}
	return min(1, 2/c)
}

// TrialsToTell is the fewest trials per case (both sides equal) with which
// the test can reach p < Alpha.
func TrialsToTell() int {
	k := 2
	for MinP(k, k) >= Alpha {
		k++
	}
	return k
}

// bootstrapRatioCI resamples both sides independently and returns the 2.5%
// and 97.5% percentiles of median(other*)/median(baseline*).
func bootstrapRatioCI(baseline, other []float64) (lo, hi float64) {
	ratios := slices.DeleteFunc(bootstrapRatios(baseline, other, 0), math.IsNaN)
	if len(ratios) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(ratios)
	return quantile(ratios, 0.025), quantile(ratios, 0.975)
}

// bootstrapRatios returns BootstrapResamples draws of
// median(other*)/median(baseline*), in draw order; a draw whose baseline
// median is not positive is NaN (only possible with non-positive times).
// Each stream is its own sequence of draws, so that the bootstraps of
// several pairs are independent.
func bootstrapRatios(baseline, other []float64, stream uint64) []float64 {
	// A fixed seed: the same samples always give the same draws.
	rng := rand.New(rand.NewPCG(0x62656e6368726967, 0x7265706f727473+stream))
	sb, so := sorted(baseline), sorted(other)
	cb, co := make([]int, len(sb)), make([]int, len(so))
	ratios := make([]float64, 0, BootstrapResamples)
	for range BootstrapResamples {
		den := resampleMedian(rng, sb, cb)
		num := resampleMedian(rng, so, co)
		if den <= 0 {
			ratios = append(ratios, math.NaN())
			continue
		}
		ratios = append(ratios, num/den)
	}
	return ratios
}

// Pair is two samples of a comparison: Other against Baseline.
type Pair struct{ Baseline, Other []float64 }

// GeoMean summarises several comparisons by the geometric mean of their
// time ratios, as benchstat's geomean row does.
type GeoMean struct {
	N     int     // comparisons with a ratio, over which the mean is taken
	Ratio float64 // exp(mean(ln ratio)); NaN when N == 0
	// CILow..CIHigh is a 95% percentile bootstrap interval: draw b of
	// every pair's bootstrap (independent resamples of each side, as in
	// Compare) gives one geometric mean; the interval is their 2.5% and
	// 97.5% percentiles. NaN when any pair has fewer than 2 samples on
	// a side (no bootstrap for it).
	CILow, CIHigh float64
}

// GeoMeanRatio is the geometric mean of median(Other)/median(Baseline) over
// the pairs whose ratio is defined (both sides non-empty, baseline median
// positive, ratio positive).
func GeoMeanRatio(pairs []Pair) GeoMean {
	g := GeoMean{Ratio: math.NaN(), CILow: math.NaN(), CIHigh: math.NaN()}
	var logs []float64
	var draws [][]float64
	withCI := true
	for _, p := range pairs {
		if len(p.Baseline) == 0 || len(p.Other) == 0 {
			continue
		}
		mb, mo := Median(p.Baseline), Median(p.Other)
		if !(mb > 0) || !(mo > 0) {
			continue
		}
		logs = append(logs, math.Log(mo/mb))
		if len(p.Baseline) < 2 || len(p.Other) < 2 {
			withCI = false
			continue
		}
		draws = append(draws, bootstrapRatios(p.Baseline, p.Other, uint64(len(draws))))
	}
	g.N = len(logs)
	if g.N == 0 {
		return g
	}
	sum := 0.0
	for _, l := range logs {
		sum += l
	}
	g.Ratio = math.Exp(sum / float64(g.N))
	if !withCI {
		return g
	}
	means := make([]float64, 0, BootstrapResamples)
	for b := range BootstrapResamples {
		sum, ok := 0.0, true
		for _, d := range draws {
			if !(d[b] > 0) {
				ok = false
				break
			}
			sum += math.Log(d[b])
		}
		if ok {
			means = append(means, math.Exp(sum/float64(len(draws))))
		}
	}
	if len(means) > 0 {
		slices.Sort(means)
		g.CILow, g.CIHigh = quantile(means, 0.025), quantile(means, 0.975)
	}
	return g
}

// resampleMedian draws len(s) values of sorted s with replacement and
// returns their median. It counts how often each index is drawn instead of
// sorting the resample: drawing from sorted s, the k-th smallest drawn
// value is the s[i] where the running count passes k. O(n), no sort.
func resampleMedian(rng *rand.Rand, s []float64, counts []int) float64 {
	n := len(s)
	clear(counts)
	for range n {
		counts[rng.IntN(n)]++
	}
	k1, k2 := (n-1)/2, n/2 // the middle order statistics, 0-based
	var a, b float64
	seen := 0
	for i, c := range counts {
		if seen <= k1 && k1 < seen+c {
			a = s[i]
		}
		if seen <= k2 && k2 < seen+c {
			b = s[i]
			break
		}
		seen += c
	}
	// As quantile(x, 0.5) computes it, so that both agree to the bit.
	return a + float64(0.5*(b-a))
}

// MannWhitney returns the Mann-Whitney U statistic of y against x (pairs
// with y > x, ties counting 1/2) and the two-sided p-value of the null
// hypothesis that both come from the same distribution. Without ties and
// with both sizes at most 30 the p-value is exact (2*min(P(U<=u),
// P(U>=u)), capped at 1); otherwise it uses the normal approximation with
// tie and continuity correction. Both samples must be non-empty.
func MannWhitney(x, y []float64) (u, p float64, method string) {
	n1, n2 := len(x), len(y)
	type obs struct {
		v float64
		y bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range x {
		all = append(all, obs{v, false})
	}
	for _, v := range y {
		all = append(all, obs{v, true})
	}
	slices.SortFunc(all, func(a, b obs) int { return cmp.Compare(a.v, b.v) })
	n := n1 + n2
	rankY := 0.0
	tieTerm := 0.0 // sum of t^3 - t over groups of tied values
	for i := 0; i < n; {
		j := i
		for j < n && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // mean of 1-based ranks i+1..j
		for k := i; k < j; k++ {
			if all[k].y {
				rankY += rank
			}
		}
		t := float64(j - i)
		tieTerm += t*t*t - t
		i = j
	}
	u = rankY - float64(n2*(n2+1))/2
	if tieTerm == 0 && n1 <= exactMaxN && n2 <= exactMaxN {
		return u, exactMWp(n1, n2, int(u)), PExact
	}
	mu := float64(n1*n2) / 2
	fn := float64(n)
	sigma := math.Sqrt(float64(n1*n2) / 12 * ((fn + 1) - tieTerm/(fn*(fn-1))))
	if sigma == 0 {
		return u, 1, PNormalApprox // every value tied: no evidence of a difference
	}
	z := (math.Abs(u-mu) - 0.5) / sigma
	p = math.Erfc(z / math.Sqrt2)
	return u, math.Min(1, p), PNormalApprox
}

// exactMWp is the exact two-sided p-value of U == u for sample sizes n1, n2
// without ties, from the null distribution of mwNullCounts.
func exactMWp(n1, n2, u int) float64 {
	final := mwNullCounts(n1, n2)
	total, le, ge := 0.0, 0.0, 0.0
	for v, w := range final {
		total += w
		if v <= u {
			le += w
		}
		if v >= u {
			ge += w
		}
	}
	return math.Min(1, 2*math.Min(le, ge)/total)
}

// mwNullCounts is the null distribution of the Mann-Whitney U for sample
// sizes n1, n2 without ties: element v counts the orderings of the merged
// sample with U == v (they sum to C(n1+n2, n1)). It is counted by dynamic
// programming over the merged order: state (x values placed, U so far);
// placing a y adds the number of x values already placed. Only additions,
// so no cancellation even for counts near C(100,50).
func mwNullCounts(n1, n2 int) []float64 {
	maxU := n1 * n2
	width := maxU + 1
	// dp[a*width+v]: ways to place a x's and (step-a) y's with U == v.
	dp := make([]float64, (n1+1)*width)
	next := make([]float64, len(dp))
	dp[0] = 1
	for step := 0; step < n1+n2; step++ {
		clear(next)
		for a := 0; a <= n1 && a <= step; a++ {
			b := step - a
			if b > n2 {
				continue
			}
			row := dp[a*width : (a+1)*width]
			for v, w := range row {
				if w == 0 {
					continue
				}
				if a < n1 {
					next[(a+1)*width+v] += w
				}
				if b < n2 {
					next[a*width+v+a] += w
				}
			}
		}
		dp, next = next, dp
	}
	return dp[n1*width : (n1+1)*width]
}

// Median is the median of xs (NaN when empty). It does not modify xs.
func Median(xs []float64) float64 {
	return quantile(sorted(xs), 0.5)
}

// sorted returns a sorted copy of xs.
func sorted(xs []float64) []float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s
}

// quantile of sorted s by linear interpolation between order statistics
// (Hyndman-Fan type 7, R's default); quantile(s, 0.5) is the usual median.
func quantile(s []float64, p float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	h := p * float64(len(s)-1)
	i := int(math.Floor(h))
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	// The explicit float64() stops the compiler fusing this into an FMA
	// on arm64 and friends, which would change last bits between
	// architectures and break golden files.
	return s[i] + float64((h-float64(i))*(s[i+1]-s[i]))
}

// mad is the raw median absolute deviation of sorted s around median.
func mad(s []float64, median float64) float64 {
	d := make([]float64, len(s))
	for i, x := range s {
		d[i] = math.Abs(x - median)
	}
	slices.Sort(d)
	return quantile(d, 0.5)
}

// medianCI is the 95% CI of the median of sorted s. For n >= MinOrderStatN
// it is [x(k+1), x(n-k)] (1-based) with k the largest count such that
// 2*P(B <= k) <= 0.05 for B ~ Binomial(n, 1/2): the number of samples
// below the true median is Binomial(n, 1/2) whatever the distribution, so
// the interval's coverage, 1-2*P(B <= k), is exact and at least 95%.
// Below MinOrderStatN it is the range, covering with 1-2^(1-n).
func medianCI(s []float64) (lo, hi float64, method string, coverage float64) {
	n := len(s)
	if n == 0 {
		return math.NaN(), math.NaN(), "", 0
	}
	k, tail := -1, 0.0 // tail = P(B <= k)
	cdf := 0.0
	logHalfN := float64(n) * math.Ln2
	for i := 0; i < n; i++ {
		cdf += math.Exp(logChoose(n, i) - logHalfN)
		if 2*cdf > 0.05 {
			break
		}
		k, tail = i, cdf
	}
	if n < MinOrderStatN || k < 0 {
		return s[0], s[n-1], CIRange, 1 - math.Pow(2, float64(1-n))
	}
	return s[k], s[n-1-k], CIOrderStatistic, 1 - 2*tail
}

func logChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// outliers returns the indices into xs whose modified z-score exceeds
// OutlierZ, and how many of them lie above the median. When MAD is 0
// (more than half the samples equal) the score uses the mean absolute
// deviation instead, (x-median)/(1.253314*MeanAD), as IBM's SPSS does; when
// that is 0 too every sample equals the median and none is an outlier.
func outliers(xs []float64, median, madv float64) (idx []int, high int) {
	scale := outlierScale(xs, median, madv)
	if scale == 0 {
		return nil, 0
	}
	for i, x := range xs {
		if z := (x - median) / scale; math.Abs(z) > OutlierZ {
			idx = append(idx, i)
			if z > 0 {
				high++
			}
		}
	}
	return idx, high
}

// outlierScale is the denominator of the modified z-score of xs: MAD/0.6745,
// or 1.253314 times the mean absolute deviation when MAD is 0.
func outlierScale(xs []float64, median, madv float64) float64 {
	if madv > 0 {
		return madv / 0.6745
	}
	sum := 0.0
	for _, x := range xs {
		sum += math.Abs(x - median)
	}
	return 1.253314 * sum / float64(len(xs))
}

// bimodal looks for one large gap in sorted s that splits it into two
// groups, each tight relative to the gap. It is deliberately conservative
// (see the Bimodal* constants): it misses overlapping modes rather than
// calling a skewed unimodal sample bimodal. Below BimodalMinN it also
// needs nOutliers, the whole sample's outliers, to hold the smaller group.
func bimodal(s []float64, median float64, nOutliers int) (ok bool, lowMedian, highMedian float64, nLow int) {
	n := len(s)
	small := n < BimodalMinN
	if n < BimodalSmallMinN || (small && nOutliers < BimodalSmallMinSide) {
		return false, 0, 0, 0
	}
	minSide := max(BimodalMinSide, n/10)
	if small {
		minSide = BimodalSmallMinSide
	}
	best, at := 0.0, -1
	for i := minSide; i <= n-minSide; i++ { // gap between s[i-1] and s[i]
		if g := s[i] - s[i-1]; g > best {
			best, at = g, i
		}
	}
	if at < 0 {
		return false, 0, 0, 0
	}
	low, high := s[:at], s[at:]
	ml, mh := quantile(low, 0.5), quantile(high, 0.5)
	spread := max(1.4826*mad(low, ml), 1.4826*mad(high, mh), BimodalMinGap*math.Abs(median))
	if small {
		// A group of 2 or 3 has no usable MAD: its whole range stands
		// for its spread.
		spread = max(low[len(low)-1]-low[0], high[len(high)-1]-high[0], BimodalMinGap*math.Abs(median))
	}
	factor := float64(BimodalGapFactor)
	if small {
		factor = BimodalSmallGapFactor
	}
	if best <= factor*spread {
		return false, 0, 0, 0
	}
	if small {
		// The smaller group must be outliers of the whole sample.
		minor := low
		if len(high) < len(low) {
			minor = high
		}
		scale := outlierScale(s, median, mad(s, median))
		for _, x := range minor {
			if scale == 0 || math.Abs(x-median)/scale <= OutlierZ {
				return false, 0, 0, 0
			}
		}
	}
	return true, ml, mh, at
}

// modeOutliers returns the outliers of xs judged within the mode each
// sample belongs to (sorted low, else sorted high), in xs's order.
func modeOutliers(xs, low, high []float64, lowMedian, highMedian float64) (idx []int, nHigh int) {
	sLow, sHigh := outlierScale(low, lowMedian, mad(low, lowMedian)), outlierScale(high, highMedian, mad(high, highMedian))
	cut := low[len(low)-1]
	for i, x := range xs {
		m, sc := lowMedian, sLow
		if x > cut {
			m, sc = highMedian, sHigh
		}
		if sc == 0 {
			continue
		}
		if z := (x - m) / sc; math.Abs(z) > OutlierZ {
			idx = append(idx, i)
			if z > 0 {
				nHigh++
			}
		}
	}
	return idx, nHigh
}
