package reports

import (
	"fmt"

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
