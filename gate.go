package benchrig

import "time"

// The regression gate: a run judged against a baseline run, case by case,
// after it ends (run/submit --baseline ... --max-regression 5%). A case
// regresses when its change is larger than its threshold and significant:
// the distribution-free confidence interval of the time ratio lies wholly
// above 1+threshold. A suspected regression is re-run once (a
// confirmation run of the suspected cases only) before it fails anything,
// and only what holds on the pooled evidence fails.

// Defaults of a GateRequest's zero fields.
const (
	DefaultMaxRegression = 0.05 // 5% slower
	// DefaultMaxBaselineCV is the robust coefficient of variation
	// (1.4826 MAD / median) of a baseline case above which the case is
	// inconclusive: a baseline that spreads ±10% cannot tell 5%.
	DefaultMaxBaselineCV = 0.10
)

// GateRequest asks for a run to be judged against a baseline when it ends.
// It travels with the run's request, so a server (or a resumed run)
// applies it as the CLI does.
type GateRequest struct {
	// Baseline is "last" (the latest finished run of the same spec before
	// this one), a run reference (an ID, a unique part of one, "latest~1"),
	// or "label:k=v[,k=v...]" (the latest finished run of the spec carrying
	// those labels, e.g. label:branch=main).
	Baseline string `json:"baseline"`
	// MaxRegression is the largest slowdown that passes, as a fraction
	// (0.05: 5%); 0 means DefaultMaxRegression.
	MaxRegression float64 `json:"max_regression,omitempty"`
	// Cases are per-case thresholds; the first whose Match the case's
	// params contain wins over MaxRegression.
	Cases []CaseThreshold `json:"cases,omitempty"`
	// MaxBaselineCV bounds the baseline's robust CV per case; 0 means
	// DefaultMaxBaselineCV.
	MaxBaselineCV float64 `json:"max_baseline_cv,omitempty"`
	// NoConfirm fails on the first evidence, without a confirmation run.
	NoConfirm bool `json:"no_confirm,omitempty"`
	// Strict makes an inconclusive case fail the gate; by default it
	// passes, loudly (its verdict and reason are printed and in JUnit).
	Strict bool `json:"strict,omitempty"`
}

// CaseThreshold is the threshold of the cases whose params contain Match.
type CaseThreshold struct {
	Match         map[string]string `json:"match"`
	MaxRegression float64           `json:"max_regression"`
}

// GateVerdict is what the gate says of a case, or of a run (the worst of
// its cases, in the order below from worst).
type GateVerdict string

const (
	VerdictRegression   GateVerdict = "regression"    // slower beyond the threshold, significantly (and confirmed, unless NoConfirm)
	VerdictTrialsFailed GateVerdict = "trials failed" // some measured trials of the candidate failed
	VerdictInconclusive GateVerdict = "inconclusive"  // the data cannot tell: too few trials, a noisy baseline, a change above the threshold that is not significant
	VerdictPass         GateVerdict = "pass"          // no regression beyond the threshold
	VerdictImproved     GateVerdict = "improved"      // significantly faster (a pass)
	VerdictNoBaseline   GateVerdict = "no baseline"   // the baseline has no such case, or there is no baseline run (a pass)
)

// GateResult is a run judged against its baseline. Every figure is
// traceable: the runs are named, and the trials are theirs.
type GateResult struct {
	Run string `json:"run"`
	// Baseline is the request's Baseline as given; BaselineRun the run it
	// resolved to ("" when none was found: VerdictNoBaseline).
	Baseline        string            `json:"baseline"`
	BaselineRun     string            `json:"baseline_run,omitempty"`
	BaselineStarted time.Time         `json:"baseline_started,omitzero"`
	BaselineLabels  map[string]string `json:"baseline_labels,omitempty"`
	// Test names the statistics, in words, for the output and JUnit.
	Test  string     `json:"test"`
	Cases []CaseGate `json:"cases"`
	// Verdict is the run's: the worst of its cases'.
	Verdict GateVerdict `json:"verdict"`
	// Passed is what the exit code says: false for a regression, failed
	// trials, and (Strict) an inconclusive case.
	Passed  bool   `json:"passed"`
	Summary string `json:"summary"` // one line, for people
	// Confirmation is the run that re-ran the suspected cases ("" when
	// nothing was suspected or NoConfirm), and what it cost in wall time.
	ConfirmationRun string        `json:"confirmation_run,omitempty"`
	ConfirmTime     time.Duration `json:"confirm_time_ns,omitempty"`
	Judged          time.Time     `json:"judged"`
}

// CaseGate is one case judged. Times are seconds; ratios are
// candidate/baseline (1.10: 10% slower). A zero ratio or interval means it
// could not be computed.
type CaseGate struct {
	Case          string      `json:"case"`
	Verdict       GateVerdict `json:"verdict"`
	Reason        string      `json:"reason,omitempty"` // in words, with the numbers: why this verdict
	MaxRegression float64     `json:"max_regression"`

	BaselineN       int     `json:"baseline_n"`
	CandidateN      int     `json:"candidate_n"`
	Failed          int     `json:"failed,omitempty"` // failed measured trials of the candidate case
	BaselineMedian  float64 `json:"baseline_median_s,omitempty"`
	CandidateMedian float64 `json:"candidate_median_s,omitempty"`
	BaselineCV      float64 `json:"baseline_cv,omitempty"` // robust: 1.4826 MAD / median
	// Ratio is the Hodges-Lehmann estimate of the time ratio and
	// CILow..CIHigh its 95% distribution-free interval (see Test).
	Ratio  float64 `json:"ratio,omitempty"`
	CILow  float64 `json:"ci_low,omitempty"`
	CIHigh float64 `json:"ci_high,omitempty"`
	// Suspected is set when the first evidence showed a regression; the
	// confirmation then decides (Confirmation).
	Suspected    bool              `json:"suspected,omitempty"`
	Confirmation *CaseConfirmation `json:"confirmation,omitempty"`
}

// CaseConfirmation is how a suspected regression was re-run, and what the
// re-run and the pooled evidence said.
type CaseConfirmation struct {
	Run  string `json:"run"`
	Node string `json:"node,omitempty"` // where the re-run ran ("local" for the local executor)
	// Where says in words why there: "lab2, another node of lab1's class",
	// "lab1 again: the only node of its class", "this host".
	Where  string  `json:"where"`
	N      int     `json:"n"` // the re-run's successful measured trials
	Ratio  float64 `json:"ratio,omitempty"`
	CILow  float64 `json:"ci_low,omitempty"`
	CIHigh float64 `json:"ci_high,omitempty"`
	// The pooled evidence: the candidate's trials and the re-run's
	// against the baseline's.
	PooledN      int     `json:"pooled_n"`
	PooledRatio  float64 `json:"pooled_ratio,omitempty"`
	PooledCILow  float64 `json:"pooled_ci_low,omitempty"`
	PooledCIHigh float64 `json:"pooled_ci_high,omitempty"`
	Held         bool    `json:"held"` // the regression held on the pooled evidence
}

// LabelConfirms labels a confirmation run with the ID of the run whose
// suspected regression it re-ran. Baseline queries never pick such a run:
// it holds only some cases.
const LabelConfirms = "benchrig.confirms"
