package benchrig

import (
	"fmt"
	"math"
	"strings"
)

// MaxGateThreshold bounds MaxRegression and a case's threshold: a gate
// that passes a run ten times slower (1000%) gates nothing, and a value
// that large is a typo ("5" meant as 5%).
const MaxGateThreshold = 10.0

// Check reports what is wrong with g as written, before anything runs:
// every problem, each naming its field (baseline, max_regression,
// cases[i].match, max_baseline_cv) as the submit API's JSON names it.
// Whether a run reference names a run is for the store to say when the
// run starts (EInvalid then too).
func (g GateRequest) Check() error {
	var es Errors
	bad := func(field, format string, args ...any) {
		es = append(es, &Error{Code: EInvalid, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if _, _, err := ParseBaseline(g.Baseline); err != nil {
		bad("baseline", "%s", err)
	}
	threshold := func(field string, v float64) {
		if math.IsNaN(v) || v < 0 || v > MaxGateThreshold {
			bad(field, "%v is not a slowdown from 0 to %v (0.05 is 5%%)", v, MaxGateThreshold)
		}
	}
	threshold("max_regression", g.MaxRegression)
	for i, c := range g.Cases {
		if len(c.Match) == 0 {
			bad(fmt.Sprintf("cases[%d].match", i), "names no param: want at least one param=value")
		}
		for k := range c.Match {
			if k == "" {
				bad(fmt.Sprintf("cases[%d].match", i), "a param with no name")
			}
		}
		if c.MaxRegression == 0 {
			bad(fmt.Sprintf("cases[%d].max_regression", i), "is required (0.10 is 10%%)")
			continue
		}
		threshold(fmt.Sprintf("cases[%d].max_regression", i), c.MaxRegression)
	}
	if v := g.MaxBaselineCV; math.IsNaN(v) || v < 0 || v > MaxGateThreshold {
		bad("max_baseline_cv", "%v is not a coefficient of variation from 0 to %v (0.10 is 10%%)", v, MaxGateThreshold)
	}
	return es.Err()
}

// ParseBaseline reads a GateRequest's Baseline: "last", "label:k=v[,k=v]"
// (labels set, ref empty) or a run reference (ref set). An empty one, a
// label selector without k=v pairs or a reference with spaces is an error
// saying what is wanted.
func ParseBaseline(s string) (ref string, labels map[string]string, err error) {
	const want = "want last, a run ID, or label:key=value[,key=value]"
	switch {
	case s == "":
		return "", nil, fmt.Errorf("is required: %s", want)
	case s == "last":
		return "last", nil, nil
	case strings.HasPrefix(s, "label:"):
		sel := strings.TrimPrefix(s, "label:")
		labels = map[string]string{}
		for _, kv := range strings.Split(sel, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return "", nil, fmt.Errorf("%q: %q is not key=value: %s", s, kv, want)
			}
			labels[k] = v
		}
		return "", labels, nil
	case strings.ContainsAny(s, " \t\n") || strings.Contains(s, ":"):
		return "", nil, fmt.Errorf("%q is not a baseline: %s", s, want)
	}
	return s, nil, nil
}
