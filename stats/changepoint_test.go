package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestChangePointsCases(t *testing.T) {
	step := func(n, at int, before, after float64) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = before
			if i >= at {
				xs[i] = after
			}
		}
		return xs
	}
	// A small deterministic wobble (±0.5%) so that no segment is constant.
	wobble := func(xs []float64) []float64 {
		out := slices.Clone(xs)
		for i := range out {
			out[i] *= 1 + 0.005*float64(i%3-1)
		}
		return out
	}
	outlier := wobble(step(30, 30, 10, 10))
	outlier[12] = 20
	tests := []struct {
		name string
		xs   []float64
		want []int // indices
	}{
		{name: "empty", xs: nil},
		{name: "too short for two segments", xs: []float64{1, 1, 5, 5, 5}},
		{name: "constant", xs: step(40, 40, 7, 7)},
		{name: "not finite", xs: append(wobble(step(20, 10, 10, 12)), math.NaN())},
		{name: "one outlier is not a step", xs: outlier},
		{name: "one step up", xs: wobble(step(30, 17, 10, 12)), want: []int{17}},
		{name: "one step down", xs: wobble(step(30, 9, 10, 8)), want: []int{9}},
		{name: "step three points from the end", xs: wobble(step(30, 27, 10, 13)), want: []int{27}},
		{name: "up then back", xs: wobble(append(step(20, 10, 10, 12), step(10, 10, 10, 10)...)), want: []int{10, 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cps := ChangePoints(tt.xs, ChangePointOptions{Seed: 1})
			var got []int
			for _, cp := range cps {
				got = append(got, cp.Index)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("change points at %v, want %v (%+v)", got, tt.want, cps)
			}
		})
	}
}

func TestChangePointFigures(t *testing.T) {
	xs := []float64{10, 10.1, 9.9, 10, 10.1, 9.9, 10, 10.1, 11, 11.1, 10.9, 11, 11.1, 10.9, 11}
	cps := ChangePoints(xs, ChangePointOptions{Seed: 7})
	if len(cps) != 1 {
		t.Fatalf("got %+v, want one change point", cps)
	}
	cp := cps[0]
	if cp.Index != 8 || cp.Before != 10 || cp.After != 11 || !near(cp.Magnitude, 0.1, 1e-12) {
		t.Errorf("got %+v, want index 8, medians 10 -> 11, magnitude +10%%", cp)
	}
	// 8 and 7 points split apart: of the C(15,7) = 6435 arrangements
	// only the observed one scores as high, so every shuffle scores
	// lower and p is the smallest the test can give, 1/200.
	if cp.P != 1.0/200 || !near(cp.Confidence, 1-1.0/200, 1e-12) {
		t.Errorf("p = %v, confidence %v; want 1/200 (no shuffle scores as high)", cp.P, cp.Confidence)
	}
	// Deterministic for a seed, and options apply.
	again := ChangePoints(xs, ChangePointOptions{Seed: 7})
	if !slices.Equal(cps, again) {
		t.Errorf("same seed gave %+v then %+v", cps, again)
	}
	if got := ChangePoints(xs, ChangePointOptions{Seed: 7, MinSegment: 8}); len(got) != 0 {
		t.Errorf("MinSegment 8 on 15 points (7 after the step): got %+v, want none", got)
	}
	if got := ChangePoints(xs, ChangePointOptions{Seed: 7, Permutations: 9}); len(got) != 0 {
		t.Errorf("9 permutations cannot reach p <= 0.05 (the least p is 1/10): got %+v", got)
	}
}

// synthetic is a series with known steps: a level of 1, multiplied at
// each step by 1±magnitude, and gaussian noise of sd noise (relative).
type synthetic struct {
	xs    []float64
	steps []int     // first index of each new level
	sds   []float64 // each step's size in noise standard deviations
}

func makeSynthetic(rng *rand.Rand, nSteps int) synthetic {
	n := 40 + rng.IntN(81) // 40..120
	noise := 0.01 + 0.02*rng.Float64()
	// Steps at least 8 points from each other and from the ends: a level
	// held for 8 runs (a week of nightly runs).
	const gap = 8
	var s synthetic
	for len(s.steps) < nSteps {
		at := gap + rng.IntN(n-2*gap+1)
		ok := true
		for _, o := range s.steps {
			if at-o < gap && o-at < gap {
				ok = false
			}
		}
		if ok {
			s.steps = append(s.steps, at)
		}
	}
	slices.Sort(s.steps)
	level, next := 1.0, 0
	s.xs = make([]float64, n)
	for i := range s.xs {
		if next < len(s.steps) && i == s.steps[next] {
			mag := 0.05 + 0.25*rng.Float64()
			if rng.IntN(2) == 0 {
				mag = -mag
			}
			s.sds = append(s.sds, math.Abs(level*mag)/(noise*level))
			level *= 1 + mag
			next++
		}
		s.xs[i] = level * (1 + noise*rng.NormFloat64())
	}
	return s
}

// TestChangePointsSynthetic measures precision and recall on 100 series
// of 40-120 points with 1-3 steps of 5-30% under 1-3% gaussian noise. A
// detection within ±2 points of a true step finds it.
//
// Thresholds: steps of at least 3 noise sd, 8+ points from anything else,
// are plainly visible on a chart, so a history view must find nearly all
// of them (recall >= 0.9); smaller steps are logged, not asserted: at 1.7
// sd (5% under 3% noise) no method tells a step from noise reliably.
// Precision >= 0.9: the permutation test at p = 0.05 stops with one false
// split in about one series in twenty, and a true step's split rarely
// lands more than 2 points off.
func TestChangePointsSynthetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 1))
	var detections, trueDetections, steps, found, bigSteps, bigFound int
	for i := range 100 {
		s := makeSynthetic(rng, 1+i%3)
		cps := ChangePoints(s.xs, ChangePointOptions{Seed: uint64(i)})
		detections += len(cps)
		for _, cp := range cps {
			if slices.ContainsFunc(s.steps, func(at int) bool { return abs(cp.Index-at) <= 2 }) {
				trueDetections++
			}
		}
		for k, at := range s.steps {
			hit := slices.ContainsFunc(cps, func(cp ChangePoint) bool { return abs(cp.Index-at) <= 2 })
			steps++
			if hit {
				found++
			}
			if s.sds[k] >= 3 {
				bigSteps++
				if hit {
					bigFound++
				}
			}
		}
	}
	precision := float64(trueDetections) / float64(detections)
	recall := float64(found) / float64(steps)
	bigRecall := float64(bigFound) / float64(bigSteps)
	t.Logf("detections %d, true %d: precision %.3f", detections, trueDetections, precision)
	t.Logf("steps %d, found %d: recall %.3f (all sizes)", steps, found, recall)
	t.Logf("steps >= 3 sd %d, found %d: recall %.3f", bigSteps, bigFound, bigRecall)
	if precision < 0.9 {
		t.Errorf("precision %.3f, want >= 0.9", precision)
	}
	if bigRecall < 0.9 {
		t.Errorf("recall of steps >= 3 sd %.3f, want >= 0.9", bigRecall)
	}
}

// TestChangePointsNoStep: on series of pure noise the test's level is the
// false-positive rate, about 5% of series; asserted below 10%, more than
// two binomial standard deviations (2.2 points on 100 series) above it.
func TestChangePointsNoStep(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 2))
	falseSeries, falsePoints := 0, 0
	const series = 100
	for i := range series {
		n := 40 + rng.IntN(81)
		noise := 0.01 + 0.02*rng.Float64()
		xs := make([]float64, n)
		for j := range xs {
			xs[j] = 1 + noise*rng.NormFloat64()
		}
		cps := ChangePoints(xs, ChangePointOptions{Seed: uint64(i)})
		if len(cps) > 0 {
			falseSeries++
		}
		falsePoints += len(cps)
	}
	rate := float64(falseSeries) / series
	t.Logf("%d of %d series without a step got change points (%d in all): rate %.2f", falseSeries, series, falsePoints, rate)
	if rate >= 0.10 {
		t.Errorf("false-positive rate %.2f, want < 0.10", rate)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
