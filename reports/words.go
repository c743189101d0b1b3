package reports

// The exported forms of the words the text report prints, for the web
// dashboards, which show the same figures as the CLI: one source of truth
// for each sentence.

// Describe puts a comparison into words, as benchrig report prints it:
// "impl=busybox is 14.2x slower than impl=gnu (95% CI 13.9-14.6x, p<0.001)".
func Describe(c Comparison, subject, than string) string { return describe(c, subject, than) }

// VerdictCell is a comparison's verdict for a table: "slower", "faster",
// "no difference" ..., marked when it pools trials of several nodes.
func VerdictCell(c Comparison) string { return verdictCell(c) }

// KneeText puts a scaling group's knee into words.
func KneeText(param string, k *Knee) string { return kneeText(param, k) }

// FormatRatio renders a time ratio with 3 significant digits; "-" for NaN.
func FormatRatio(r float64) string { return formatRatio(r) }

// RatioCI renders a comparison's 95% CI ("0.91-1.02"); "-" without one.
func RatioCI(c Comparison) string { return ratioCI(c) }

// FormatSeconds renders seconds as the text report does ("1.23 ms").
func FormatSeconds(sec float64) string { return formatSeconds(sec) }

// FormatSecondsRange renders a CI of seconds in one unit ("1.20-1.31 ms").
func FormatSecondsRange(lo, hi float64) string { return formatSecondsRange(lo, hi) }

// FormatBytes renders bytes in SI units ("16.5 MB"); "-" for NaN.
func FormatBytes(b float64) string { return formatBytes(b) }

// GroupCases lists a warning group's cases with their details, labelled
// by label, at most a few of them: "a (CV 15%), b (CV 12%)".
func GroupCases(g WarningGroup, label func(string) string) string { return groupCases(g, label) }

// ShortLabels returns a function shortening case IDs to the params that
// differ between the report's cases, and the params every case shares.
func ShortLabels(r *Report) (label func(string) string, fixed string) { return shortLabels(r) }

// GeoMeanText renders a geometric mean of ratios with its CI in words.
func GeoMeanText(r *Report) string {
	if r.GeoMean == nil {
		return ""
	}
	return geoMeanText(r.GeoMean)
}
