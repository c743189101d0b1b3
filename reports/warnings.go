package reports

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/benchrig/benchrig/stats"
)

// Thresholds of the statistical warnings. Each is a judgement call; the
// reason is next to it so that it can be argued with. The statistics'
// own thresholds (stats.MinOrderStatN, stats.OutlierZ, stats.Bimodal*)
// are in package stats.
const (
	// FewSamples: below 5 measured trials a median says little: one
	// stray sample moves it, and its CI is only the range
	// (stats.MinOrderStatN).
	FewSamples = 5

	// HighCV: the coefficient of variation (sample stddev / mean) above
	// which we warn. We warn on the spread of the measurements (CV) rather
	// than on the precision of the median (relative CI half-width) because
	// the latter shrinks with more trials while a noisy machine stays
	// noisy; precision is what adaptive repetition (stats.RelHalfWidth)
	// targets. 10% is loose on purpose: timing noise of 2-5% is normal on
	// a busy host, 10% means the setup deserves a look.
	HighCV = 0.10
)

// Warning is a statistical problem shown to the user; it is not an error.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Warning codes.
const (
	WFewSamples   = "few-samples"
	WRangeCI      = "range-ci"
	WHighVariance = "high-variance"
	WOutliers     = "outliers"
	WFailedTrials = "failed-trials"
	WBimodal      = "bimodal"
	WCINotMet     = "ci-not-met"
)

// summaryWarnings returns the statistical warnings of st: few-samples,
// range-ci, high-variance, outliers and bimodal. Failed trials and
// adaptive repetition are known only to Build, which adds their warnings.
func summaryWarnings(st stats.Summary) []Warning {
	var ws []Warning
	switch {
	case st.N == 0:
		ws = append(ws, Warning{WFewSamples, "no successful measured trials: no statistics"})
	case st.N < FewSamples:
		ws = append(ws, Warning{WFewSamples, fmt.Sprintf(
			"only %d measured trial(s), fewer than %d: the 95%% CI shown is the range min..max, which covers the median with probability %.1f%%",
			st.N, FewSamples, 100*st.CICoverage)})
	case st.N < stats.MinOrderStatN:
		ws = append(ws, Warning{WRangeCI, fmt.Sprintf(
			"the 95%% CI shown is the range min..max: with %d trials it covers the median with probability %.1f%%; %d or more trials give a distribution-free 95%% interval",
			st.N, 100*st.CICoverage, stats.MinOrderStatN)})
	}
	if st.N >= 2 && st.CV > HighCV {
		ws = append(ws, Warning{WHighVariance, fmt.Sprintf(
			"coefficient of variation %.1f%% exceeds %.0f%%", 100*st.CV, 100*HighCV)})
	}
	if k := len(st.Outliers); k > 0 {
		ws = append(ws, Warning{WOutliers, fmt.Sprintf(
			"%d of %d samples are outliers (%d slow, %d fast; modified z-score > %.1f)",
			k, st.N, st.OutliersHigh, k-st.OutliersHigh, stats.OutlierZ)})
	}
	if st.Bimodal {
		ws = append(ws, Warning{WBimodal, fmt.Sprintf(
			"samples split into two groups: %d around %s and %d around %s; the median may describe neither",
			st.BimodalNLow, formatSeconds(st.BimodalLow), st.N-st.BimodalNLow, formatSeconds(st.BimodalHigh))})
	}
	return ws
}

// WarningGroup is one kind of warning with every case it affects, shown
// once in the text and Markdown reports, with what to do about it; each
// case's own warnings stay on the case (JSON export).
type WarningGroup struct {
	Code  string
	Cases []string // case IDs, in report order
	// Details are per case, aligned with Cases: the figure that raised
	// the warning ("CV 15.1%", "1 of 9 failed").
	Details []string
	// Action says what would fix it, computed from the cases' data.
	Action string
}

// warningOrder is the order of the groups: what invalidates figures
// first, then what weakens them.
var warningOrder = []string{WFailedTrials, WFewSamples, WCINotMet, WBimodal, WNoisy, WHighVariance, WOutliers}

// maxTrialsAdvised caps the trials an action suggests: beyond it the
// advice is to fix the noise, not to outwait it.
const maxTrialsAdvised = 10000

// maxUntilCIAdvised is the widest CI half-width worth suggesting as an
// until_ci: a median known to ±50% says little.
const maxUntilCIAdvised = 0.5

// GroupWarnings groups the cases' warnings by code, in warningOrder (codes
// it does not know come last, by name), each with an action. range-ci
// joins few-samples: both mean too few trials, with one fix.
func GroupWarnings(r *Report) []WarningGroup {
	byCode := map[string]*WarningGroup{}
	cases := map[string][]*CaseReport{}
	for i := range r.Cases {
		c := &r.Cases[i]
		for _, w := range c.Warnings {
			code := w.Code
			if code == WRangeCI {
				code = WFewSamples // the same cause and the same fix
			}
			g := byCode[code]
			if g == nil {
				g = &WarningGroup{Code: code}
				byCode[code] = g
			}
			if slices.Contains(g.Cases, c.Case.ID) {
				continue
			}
			g.Cases = append(g.Cases, c.Case.ID)
			g.Details = append(g.Details, warningDetail(w, c))
			cases[code] = append(cases[code], c)
		}
	}
	codes := slices.Collect(maps.Keys(byCode))
	rank := func(code string) int {
		if i := slices.Index(warningOrder, code); i >= 0 {
			return i
		}
		return len(warningOrder)
	}
	slices.SortFunc(codes, func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
	})
	out := make([]WarningGroup, 0, len(codes))
	for _, code := range codes {
		g := byCode[code]
		g.Action = warningAction(r, code, cases[code])
		out = append(out, *g)
	}
	return out
}

// warningDetail is the figure of one case behind its warning.
func warningDetail(w Warning, c *CaseReport) string {
	st := c.Stats
	switch w.Code {
	case WFailedTrials:
		d := fmt.Sprintf("%d of %d failed", c.Failed, c.Measured)
		if c.FailedWarmups > 0 {
			d += fmt.Sprintf(", %d of %d warmups", c.FailedWarmups, c.Warmups)
		}
		return d
	case WFewSamples:
		return fmt.Sprintf("n=%d", st.N)
	case WRangeCI:
		return fmt.Sprintf("n=%d, CI is the range", st.N)
	case WHighVariance:
		return fmt.Sprintf("CV %.1f%%", 100*st.CV)
	case WOutliers:
		return fmt.Sprintf("%d of %d: %d slow, %d fast", len(st.Outliers), st.N, st.OutliersHigh, len(st.Outliers)-st.OutliersHigh)
	case WBimodal:
		return fmt.Sprintf("%d around %s, %d around %s", st.BimodalNLow, formatSeconds(st.BimodalLow), st.N-st.BimodalNLow, formatSeconds(st.BimodalHigh))
	case WCINotMet:
		return fmt.Sprintf("CI ±%s after %d trials", pct(relHalfWidth(st)), st.N)
	case WNoisy:
		return noiseDetail(c)
	}
	return ""
}

// relHalfWidth is the half-width of a summary's CI relative to its median,
// as stats.RelHalfWidth computes it from samples; NaN without one.
func relHalfWidth(st stats.Summary) float64 {
	if st.N == 0 || !(st.Median > 0) {
		return math.NaN()
	}
	return (st.CIHigh - st.CILow) / 2 / st.Median
}

// pct renders a fraction as a percentage with 2 significant digits:
// "3.1%", "15%".
func pct(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "?%"
	case math.Abs(f) < 0.1:
		return strings.TrimSuffix(strconv.FormatFloat(100*f, 'f', 1, 64), ".0") + "%"
	}
	return strconv.FormatFloat(100*f, 'f', 0, 64) + "%"
}

// warningAction says what would fix the warnings of code on cases.
func warningAction(r *Report, code string, cases []*CaseReport) string {
	switch code {
	case WFailedTrials:
		return fmt.Sprintf("the last failure of each case is shown on stderr; 'benchrig runs show %s --json FILE' has every trial's error and stderr", r.RunID)
	case WFewSamples, WRangeCI:
		need := stats.MinOrderStatN
		s := fmt.Sprintf("run at least %d trials per case (--repeat %d) for a distribution-free 95%% CI of the median", need, need)
		if len(r.Comparisons) > 0 {
			s += fmt.Sprintf("; a comparison needs %d or more per case to reach p < %g at all", stats.TrialsToTell(), stats.Alpha)
		}
		return s
	case WCINotMet:
		label, _ := shortLabels(r)
		return ciNotMetAction(r.Repeat.UntilCI, cases, label)
	case WBimodal:
		return "the median may describe neither group: look for what switches between trials (a cold or warm cache, CPU or NUMA placement, a background job); warmups or a prepare: step that puts every trial in one state make the groups one"
	case WHighVariance:
		first, warm := 0, 0
		for _, c := range cases {
			if slowestEarly(c.Samples) {
				first++
				warm = max(warm, c.Warmups)
			}
		}
		s := fmt.Sprintf("trials vary by more than %.0f%%: look for other load on the machine (other processes, CPU frequency scaling, thermal throttling); the median and its CI remain valid but comparisons detect only larger changes", 100*HighCV)
		if first > 0 {
			s = fmt.Sprintf("in %d of these case(s) the slowest trials came first: more warmups (--warmup %d); otherwise ", first, warm+2) + s
		}
		return s
	case WNoisy:
		return noiseAction(cases)
	case WOutliers:
		return "the median and its CI resist them; if they recur, look for interference at those trials' start times (the JSON export lists them by seq in stats.outliers)"
	}
	return ""
}

// slowestEarly says whether the slowest sample is among the first fifth
// of the samples (at least the first): a warm-up effect, not noise.
func slowestEarly(xs []float64) bool {
	if len(xs) < 3 {
		return false
	}
	i := 0
	for j, x := range xs {
		if x > xs[i] {
			i = j
		}
	}
	return i < max(1, len(xs)/5)
}

// ciNotMetAction computes how many trials per case would reach the
// adaptive target (the run's until_ci; 0 when the run did not keep it,
// which gets generic advice) at the observed variance, and the until_ci
// the trials run reached. The count is the asymptotic one: the 95% CI of a median
// has a half-width of about 1.96 * 1.2533 * sigma / sqrt(n) (the median's
// standard error for normal data), with sigma the scaled MAD, robust to
// the outliers that make a small sample's order-statistic CI as wide as
// its range; so n = (1.96 * 1.2533 * sigma / (target * median))^2. The
// until_ci is the relative half-width the cases' CIs actually reached,
// rounded up: the runner checks that one. Each is said for the typical
// (median) case, and for the worst when it differs widely.
// The target is the run's adaptive until_ci (0 for runs recorded before
// runs kept it: generic advice).
func ciNotMetAction(target float64, cases []*CaseReport, label func(string) string) string {
	worst, need := 0.0, 0.0
	var needs, reached []caseFigure
	for _, c := range cases {
		st := c.Stats
		if h := relHalfWidth(st); h > 0 {
			worst = max(worst, h)
			reached = append(reached, caseFigure{c.Case.ID, h})
		}
		sigma := st.MADScaled
		if sigma == 0 {
			sigma = st.Stddev
		}
		if target > 0 && st.Median > 0 {
			r := 1.959963984540054 * 1.2533 * sigma / (target * st.Median)
			n := max(r*r, stats.MinOrderStatN)
			need = max(need, n)
			needs = append(needs, caseFigure{c.Case.ID, n})
		}
	}
	if worst == 0 {
		return "raise the spec's repeat max or max_time so that more trials can run"
	}
	// A figure is the typical (median) case's, and the worst case's too
	// when it is far from it: one slow case should not set everyone's.
	typical, far := typicalAndWorst(reached, func(f float64) string { return fmt.Sprint(int(math.Ceil(100 * f))) })
	reach := fmt.Sprintf("until_ci: %d%%, the precision these trials reached", int(math.Ceil(100*worst)))
	if far != nil {
		reach = fmt.Sprintf("until_ci: %d%%, the precision these trials typically reached (%d%% for %s)", int(math.Ceil(100*typical)), int(math.Ceil(100*far.value)), label(far.id))
	}
	if worst > maxUntilCIAdvised {
		reach = fmt.Sprintf("no until_ci is worth setting until then: these trials' CIs reach ±%s", pct(worst))
	}
	if target == 0 {
		if worst > maxUntilCIAdvised {
			return fmt.Sprintf("raise the spec's repeat max or max_time; %s", reach)
		}
		return fmt.Sprintf("raise the spec's repeat max or max_time, or accept the precision reached: set %s", reach)
	}
	if need > maxTrialsAdvised {
		if worst > maxUntilCIAdvised {
			return fmt.Sprintf("the %s target would need more than %d trials per case at this variance: reduce the noise; %s", pct(target), maxTrialsAdvised, reach)
		}
		return fmt.Sprintf("the %s target would need more than %d trials per case at this variance: reduce the noise, or set %s", pct(target), maxTrialsAdvised, reach)
	}
	typical, far = typicalAndWorst(needs, roundTrials)
	trials := fmt.Sprintf("about %s trials per case would reach the %s target at this variance", roundTrials(typical), pct(target))
	if far != nil {
		trials = fmt.Sprintf("about %s trials per case would reach the %s target at this variance (%s for %s)", roundTrials(typical), pct(target), roundTrials(far.value), label(far.id))
	}
	if worst > maxUntilCIAdvised {
		return trials + ": make that the spec's repeat: {max: N} (or --repeat N); " + reach
	}
	return trials + ": make that the spec's repeat: {max: N} (or --repeat N); or set " + reach
}

// caseFigure is one case's figure behind an action.
type caseFigure struct {
	id    string
	value float64
}

// typicalAndWorst returns the median of figs' values and, when the largest
// reads differently (by show) and is at least 1.5 times the median, the
// case it belongs to; nil otherwise, when the median says it all.
func typicalAndWorst(figs []caseFigure, show func(float64) string) (float64, *caseFigure) {
	if len(figs) == 0 {
		return 0, nil
	}
	vals := make([]float64, len(figs))
	worst := &figs[0]
	for i := range figs {
		vals[i] = figs[i].value
		if figs[i].value > worst.value {
			worst = &figs[i]
		}
	}
	slices.Sort(vals)
	med := vals[len(vals)/2]
	if len(vals)%2 == 0 {
		med = (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2
	}
	if len(figs) < 2 || show(worst.value) == show(med) || worst.value < 1.5*med {
		return med, nil
	}
	return med, worst
}

// roundTrials rounds a trial count up to 2 significant digits: 37.2 -> 38,
// 412 -> 420.
func roundTrials(f float64) string {
	n := int(math.Ceil(f))
	p := 1
	for n/p >= 100 {
		p *= 10
	}
	return strconv.Itoa((n + p - 1) / p * p)
}
