package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRatioCIByHand checks a small example worked out by hand. Baseline
// 1,2,4,8 and candidate 2,4,8,16: every ratio c_j/b_i is 2^(j-i+1), so the
// 16 ratios are 2^-2 (once), 2^-1 (twice), 2^0 (3), 2^1 (4), 2^2 (3), 2^3
// (2), 2^4 (once); the 8th and 9th are both 2, the estimate. With 4 and 4
// (70 orderings) P(U <= 0) = 1/70 <= 2.5% < P(U <= 1) = 2/70, so k = 1:
// the interval is min..max of the ratios, 1/4..16, at level 1 - 2/70.
func TestRatioCIByHand(t *testing.T) {
	ri := RatioCI([]float64{1, 2, 4, 8}, []float64{2, 4, 8, 16})
	if !ri.OK || !approx(ri.Estimate, 2) || !approx(ri.Low, 0.25) || !approx(ri.High, 16) || !approx(ri.Level, 1-2.0/70) || ri.Method != RatioExact {
		t.Errorf("got %+v", ri)
	}
	// Same sample twice: the estimate is exactly 1, the interval straddles it.
	xs := []float64{10, 11, 12, 13, 14, 15}
	ri = RatioCI(xs, xs)
	if !ri.OK || ri.Estimate != 1 || !(ri.Low < 1 && ri.High > 1) {
		t.Errorf("A/A: %+v", ri)
	}
	// Scaling the candidate by 1.1 scales the estimate and both ends by 1.1.
	ys := make([]float64, len(xs))
	for i, x := range xs {
		ys[i] = x * 1.1
	}
	r2 := RatioCI(xs, ys)
	if !approx(r2.Estimate, 1.1) || !approx(r2.Low, ri.Low*1.1) || !approx(r2.High, ri.High*1.1) {
		t.Errorf("scaled by 1.1: %+v vs %+v", r2, ri)
	}
}

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// TestRatioCITooFew: 3 and 3 trials have 20 orderings, so even min..max
// covers only 1 - 2/20 = 90%: no 95% interval, while the estimate exists.
func TestRatioCITooFew(t *testing.T) {
	ri := RatioCI([]float64{1, 1.1, 1.2}, []float64{1.3, 1.4, 1.5})
	if ri.OK || !math.IsNaN(ri.Low) || !math.IsNaN(ri.High) || !(ri.Estimate > 1) {
		t.Errorf("3 and 3: %+v", ri)
	}
	if n := MinRatioN(); n != 4 {
		t.Errorf("MinRatioN = %d, want 4 (C(8,4) = 70 orderings: 1/70 <= 2.5%%)", n)
	}
	for _, c := range []struct{ b, c []float64 }{{nil, []float64{1}}, {[]float64{1}, nil}, {[]float64{1, 0, 2, 3, 4}, []float64{1, 2, 3, 4, 5}}} {
		if ri := RatioCI(c.b, c.c); ri.OK || !math.IsNaN(ri.Estimate) {
			t.Errorf("RatioCI(%v, %v) = %+v, want no estimate", c.b, c.c, ri)
		}
	}
}

// bruteK finds Moses' k by enumerating every ordering of n x's and m y's
// (all subsets of positions for the x's), independently of mwNullCounts.
func bruteK(n, m int) (k int, level float64) {
	counts := make([]int, n*m+1)
	total := 0
	for mask := 0; mask < 1<<(n+m); mask++ {
		if popcount(mask) != n {
			continue
		}
		total++
		// U: pairs (x, y) with y after x in the merged order.
		u, xs := 0, 0
		for pos := 0; pos < n+m; pos++ {
			if mask&(1<<pos) != 0 {
				xs++
			} else {
				u += xs
			}
		}
		counts[u]++
	}
	cum := 0
	for k = 0; k < len(counts); k++ {
		if float64(cum+counts[k])/float64(total) > 0.025 {
			break
		}
		cum += counts[k]
	}
	return k, 1 - 2*float64(cum)/float64(total)
}

func popcount(x int) int {
	c := 0
	for ; x != 0; x &= x - 1 {
		c++
	}
	return c
}

func TestMosesKAgainstBruteForce(t *testing.T) {
	for n := 1; n <= 8; n++ {
		for m := 1; m <= 8; m++ {
			wk, wl := bruteK(n, m)
			k, level, _ := mosesK(n, m)
			if k != wk || (k > 0 && !approx(level, wl)) {
				t.Errorf("mosesK(%d, %d) = %d (level %v), brute force %d (level %v)", n, m, k, level, wk, wl)
			}
		}
	}
	// At the switch to the normal approximation the two agree within one.
	kExact, _, _ := mosesK(30, 30)
	nm := 900.0
	kNormal := int(math.Floor(nm/2 - zAlpha*math.Sqrt(nm*61/12) + 0.5))
	if d := kExact - kNormal; d < -1 || d > 1 {
		t.Errorf("30 and 30: exact k %d, normal approximation %d", kExact, kNormal)
	}
}

// TestRatioCICoverage draws pairs of lognormal samples whose true time
// ratio is 1.1 and counts how often the interval covers it. A correct
// interval covers with its level; the same intervals taken one order
// statistic narrower or wider (an off-by-one in k) must miss the
// tolerance, so that the test can fail.
func TestRatioCICoverage(t *testing.T) {
	const ratio, reps = 1.1, 4000
	for _, c := range []struct {
		n, m     int
		tol      float64
		offByOne bool // check that k±1 falls outside tol
	}{
		{5, 5, 0.009, true}, // level 0.968; k-1: 0.984, k+1: 0.944
		{6, 9, 0.009, true},
		{40, 40, 0.012, false}, // normal approximation: nominal 0.95
	} {
		rng := rand.New(rand.NewPCG(21, uint64(c.n*100+c.m)))
		k, level, _ := mosesK(c.n, c.m)
		var hit, hitNarrow, hitWide int
		b, y := make([]float64, c.n), make([]float64, c.m)
		for range reps {
			for i := range b {
				b[i] = 0.1 * math.Exp(0.2*rng.NormFloat64())
			}
			for j := range y {
				y[j] = 0.1 * ratio * math.Exp(0.2*rng.NormFloat64())
			}
			ri := RatioCI(b, y)
			if !ri.OK || ri.Level != level {
				t.Fatalf("%d/%d: %+v", c.n, c.m, ri)
			}
			if ri.Low <= ratio && ratio <= ri.High {
				hit++
			}
			d := make([]float64, 0, c.n*c.m)
			for _, x := range b {
				for _, v := range y {
					d = append(d, math.Log(v/x))
				}
			}
			slices.Sort(d)
			lr := math.Log(ratio)
			if k > 1 && d[k] <= lr && lr <= d[c.n*c.m-k-1] {
				hitNarrow++
			}
			if k > 1 && d[k-2] <= lr && lr <= d[c.n*c.m-k+1] {
				hitWide++
			}
		}
		cov := float64(hit) / reps
		t.Logf("%d/%d: k=%d level %.4f coverage %.4f (k+1: %.4f, k-1: %.4f)", c.n, c.m, k, level, cov, float64(hitNarrow)/reps, float64(hitWide)/reps)
		if math.Abs(cov-level) > c.tol {
			t.Errorf("%d/%d: coverage %.4f, level %.4f (tolerance %.3f)", c.n, c.m, cov, level, c.tol)
		}
		if c.offByOne {
			for name, h := range map[string]int{"k+1": hitNarrow, "k-1": hitWide} {
				if cv := float64(h) / reps; math.Abs(cv-level) <= c.tol {
					t.Errorf("%d/%d: %s covers %.4f, within the tolerance of level %.4f: the test cannot tell an off-by-one", c.n, c.m, name, cv, level)
				}
			}
		}
	}
}
