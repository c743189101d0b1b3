package stats

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Change points of a history: E-divisive means (Matteson and James, "A
// Nonparametric Approach for Multiple Change Point Analysis of
// Multivariate Data", JASA 2014), as MongoDB's performance CI and Apache
// Otava (Hunter) use it on series of benchmark results.
//
// The series is bisected recursively. For every segment of the current
// partition, every split that leaves MinSegment points on each side is
// scored by the energy statistic of the two halves (alpha=1: plain
// absolute differences),
//
//	Q(X, Y) = nm/(n+m) * ( 2/(nm) Σ|x-y| - Σ_{i<k}|x_i-x_k|/C(n,2) - Σ_{j<l}|y_j-y_l|/C(m,2) )
//
// which grows with the divergence of the halves' distributions and is
// about zero when they are alike. The best split over all segments is
// then put to a permutation test: the points are shuffled within each
// segment (which keeps the change points already found), the best split
// of the shuffled series is scored the same way, and p is the share of
// Permutations shuffles, counting the observed series itself, that score
// at least as high. The split is a change point when p <= PValue; the
// search goes on in the new partition until a best split fails the test.
//
// Only the difference from the nearest change point decides, so the
// method needs no noise model and no threshold in percent: a step of 3
// noise standard deviations over 10 points on each side is found, while a
// slow drift or one outlier is not a step.

// Defaults of a ChangePointOptions' zero fields.
const (
	// DefaultMinSegment: a segment of fewer than 3 points is a noise burst
	// (an outlier and its neighbour), not a level: with 2 points on a
	// side the energy statistic has one within-pair distance to judge by.
	DefaultMinSegment = 3
	// DefaultChangePValue is the usual 5%: about one series in twenty with
	// no step gets one false change point (TestChangePointsNoStep).
	DefaultChangePValue = 0.05
	// DefaultPermutations: 199 shuffles give p in steps of 1/200, so
	// p = 0.05 is resolvable, and its Monte Carlo error at p = 0.05 is
	// sqrt(0.05*0.95/199) = 1.5 points (MongoDB uses 100, Matteson and
	// James 499).
	DefaultPermutations = 199
)

// ChangePointOptions tunes ChangePoints. Zero fields take the defaults.
type ChangePointOptions struct {
	MinSegment   int     // the fewest points of a segment on either side of a change point; at least 2
	PValue       float64 // the permutation test's threshold: a split is a change point when p <= PValue
	Permutations int     // shuffles per permutation test
	Seed         uint64  // the shuffles' seed: the same series, options and seed give the same change points
}

func (o ChangePointOptions) withDefaults() ChangePointOptions {
	if o.MinSegment <= 0 {
		o.MinSegment = DefaultMinSegment
	}
	if o.MinSegment < 2 {
		o.MinSegment = 2 // a one-point segment has no within distance
	}
	if o.PValue <= 0 {
		o.PValue = DefaultChangePValue
	}
	if o.Permutations <= 0 {
		o.Permutations = DefaultPermutations
	}
	return o
}

// ChangePoint is a step in a series.
type ChangePoint struct {
	// Index is the first point of the new segment: xs[Index] is the first
	// value after the step.
	Index int
	// Before and After are the medians of the segments on either side (up
	// to the neighbouring change points), and Magnitude is After/Before-1
	// (+0.12: 12% higher after); 0 when Before is 0.
	Before, After float64
	Magnitude     float64
	// P is the permutation test's p-value when the change point was
	// accepted, and Confidence 1-P.
	P          float64
	Confidence float64
}

// ChangePoints finds the steps of xs by E-divisive means, sorted by Index.
// A series with a non-finite value, or shorter than two segments, has
// none. Deterministic: the shuffles are drawn from o.Seed.
//
// Cost: each test scores every split of every segment, O(n²) per shuffle,
// so a series of a few hundred points takes milliseconds per change point
// found.
func ChangePoints(xs []float64, o ChangePointOptions) []ChangePoint {
	o = o.withDefaults()
	n := len(xs)
	if n < 2*o.MinSegment {
		return nil
	}
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x6368616e6765)) // "change"
	bounds := []int{0, n}                                // the partition: segment i is [bounds[i], bounds[i+1])
	pvals := map[int]float64{}
	shuffled := make([]float64, n)
	sc := &scratch{}
	for {
		tau, q := bestSplit(xs, bounds, o.MinSegment, sc)
		if tau < 0 || q <= 0 {
			break
		}
		// p = (1 + #{shuffles scoring >= q}) / (1 + Permutations); the
		// test stops as soon as p cannot fall to PValue any more.
		limit := int(math.Floor(o.PValue*float64(o.Permutations+1) + 1e-9)) // the most count may be for p <= PValue
		count := 1
		for range o.Permutations {
			copy(shuffled, xs)
			for i := 0; i+1 < len(bounds); i++ {
				seg := shuffled[bounds[i]:bounds[i+1]]
				rng.Shuffle(len(seg), func(a, b int) { seg[a], seg[b] = seg[b], seg[a] })
			}
			if _, qp := bestSplit(shuffled, bounds, o.MinSegment, sc); qp >= q {
				count++
				if count > limit {
					break
				}
			}
		}
		if count > limit {
			break
		}
		pvals[tau] = float64(count) / float64(o.Permutations+1)
		i, _ := slices.BinarySearch(bounds, tau)
		bounds = slices.Insert(bounds, i, tau)
	}
	var cps []ChangePoint
	for i := 1; i+1 < len(bounds); i++ {
		before := Median(xs[bounds[i-1]:bounds[i]])
		after := Median(xs[bounds[i]:bounds[i+1]])
		cp := ChangePoint{Index: bounds[i], Before: before, After: after, P: pvals[bounds[i]]}
		cp.Confidence = 1 - cp.P
		if before != 0 {
			cp.Magnitude = after/before - 1
		}
		cps = append(cps, cp)
	}
	return cps
}

// bestSplit returns the split of one of the partition's segments with
// the largest energy statistic, and the statistic; -1 when no segment can
// be split with minSeg points on each side.
func bestSplit(xs []float64, bounds []int, minSeg int, sc *scratch) (tau int, q float64) {
	tau, q = -1, math.Inf(-1)
	for i := 0; i+1 < len(bounds); i++ {
		if t, qt := bestSegmentSplit(xs[bounds[i]:bounds[i+1]], minSeg, sc); t >= 0 && qt > q {
			tau, q = bounds[i]+t, qt
		}
	}
	return tau, q
}

// bestSegmentSplit scores every split t of seg, as Matteson and James
// do: the points before t against those from t up to an end k (t+minSeg
// <= k <= len(seg)), taking the best k. Comparing with the rest of the
// segment only (k = len(seg), as some implementations do) misses a
// regression that was fixed later: the level after the fix looks like
// the level before it, and the step is diluted (a 20% bump in the middle
// third of 30 points scores p = 0.07).
//
// With a 2D prefix sum of the distances every (t, k) costs O(1), so a
// segment costs O(len(seg)²). With alpha=1 a distance is an absolute
// difference.
func bestSegmentSplit(seg []float64, minSeg int, sc *scratch) (tau int, q float64) {
	L := len(seg)
	tau, q = -1, math.Inf(-1)
	if L < 2*minSeg {
		return tau, q
	}
	// P[i*(L+1)+j] = Σ_{a<i, b<j} |seg_a - seg_b|.
	W := L + 1
	P := sc.prefix((L + 1) * (L + 1))
	for i := 1; i <= L; i++ {
		row := 0.0
		for j := 1; j <= L; j++ {
			row += math.Abs(seg[i-1] - seg[j-1])
			P[i*W+j] = P[(i-1)*W+j] + row
		}
	}
	block := func(a1, a2, b1, b2 int) float64 { // Σ over [a1,a2)×[b1,b2)
		return P[a2*W+b2] - P[a1*W+b2] - P[a2*W+b1] + P[a1*W+b1]
	}
	for t := minSeg; t <= L-minSeg; t++ {
		n := float64(t)
		withinX := block(0, t, 0, t) / 2
		for k := t + minSeg; k <= L; k++ {
			m := float64(k - t)
			across := block(0, t, t, k)
			withinY := block(t, k, t, k) / 2
			e := 2*across/(n*m) - withinX/(n*(n-1)/2) - withinY/(m*(m-1)/2)
			if qt := n * m / (n + m) * e; qt > q {
				tau, q = t, qt
			}
		}
	}
	return tau, q
}

// scratch is the prefix-sum buffer, reused across segments and shuffles.
type scratch struct{ buf []float64 }

func (s *scratch) prefix(n int) []float64 {
	if cap(s.buf) < n {
		s.buf = make([]float64, n)
	}
	s.buf = s.buf[:n]
	clear(s.buf)
	return s.buf
}
