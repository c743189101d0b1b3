// Package gate judges a run against a baseline run, case by case: the
// statistics of the regression gate, without I/O (the app resolves the
// runs and re-runs suspects; reports prints the result).
package gate

import (
	"github.com/benchrig/benchrig"
)

// Judge judges candidate against baseline (nil: no baseline run was found)
// under req, on the first evidence: it sets each case's verdict, marking
// suspected regressions that a confirmation run is to decide (unless
// req.NoConfirm, which decides at once).
func Judge(baseline, candidate *benchrig.Run, req benchrig.GateRequest) *benchrig.GateResult {
	return nil // stub: owned by helper B1
}

// Suspects are the IDs of the cases of res that a confirmation run is to
// re-run, in res's order.
func Suspects(res *benchrig.GateResult) []string { return nil }

// Confirm decides res's suspected cases with the trials of confirmation (a
// run of the suspected cases only), pooled with the candidate's, and sets
// the run's verdict again.
func Confirm(res *benchrig.GateResult, baseline, candidate, confirmation *benchrig.Run, req benchrig.GateRequest) {
}

// CILabels are the labels a CI job's environment gives a run: commit,
// branch, build_url, job and ci, from Jenkins, GitHub Actions or GitLab
// variables read through getenv.
func CILabels(getenv func(string) string) map[string]string { return nil }

// ParseMaxRegression parses --max-regression values: "5%" (or "0.05") for
// the spec, "k=v[,k=v]:10%" for the cases whose params match.
func ParseMaxRegression(values []string) (def float64, cases []benchrig.CaseThreshold, err error) {
	return 0, nil, nil
}
