package benchrig

import (
	"fmt"
	"math"
	"strconv"
)

// StopReason is why adaptive repetition stopped running a case's trials.
type StopReason int

const (
	StopCIMet   StopReason = iota + 1 // the median's CI reached until_ci
	StopMax                           // max trials ran before the CI reached until_ci
	StopMaxTime                       // max_time passed before the CI reached until_ci
)

var stopNames = map[StopReason]string{StopCIMet: "ci-met", StopMax: "max", StopMaxTime: "max-time"}

func (r StopReason) String() string {
	if s, ok := stopNames[r]; ok {
		return s
	}
	return "StopReason(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText is the stored form: the String.
func (r StopReason) MarshalText() ([]byte, error) {
	if _, ok := stopNames[r]; !ok {
		return nil, fmt.Errorf("unknown stop reason %d", int(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText reads the stored form.
func (r *StopReason) UnmarshalText(b []byte) error {
	for k, v := range stopNames {
		if v == string(b) {
			*r = k
			return nil
		}
	}
	return fmt.Errorf("unknown stop reason %q", b)
}

// CINotMet says whether the case stopped before its CI reached the target.
func (r StopReason) CINotMet() bool { return r == StopMax || r == StopMaxTime }

// Stop is why and when adaptive repetition stopped a case, as the runner
// decided it: reports read it rather than the note's text.
type Stop struct {
	Reason StopReason
	// Trials is the count of measured trials, failed ones included, when
	// it stopped.
	Trials int
	// HalfWidth is the relative half-width of the median's 95% CI then;
	// NaN or +Inf when too few trials succeeded to tell.
	HalfWidth float64
}

// Code is the warning code of the stop: "ci-met" or "ci-not-met".
func (s Stop) Code() string {
	if s.Reason.CINotMet() {
		return "ci-not-met"
	}
	return "ci-met"
}

// Message says why the case stopped, with rep the repetition the run ran
// with (Run.Repeat): "reached max 10 trials with CI half-width 4.1%
// (target 3.0%)".
func (s Stop) Message(rep Repeat) string {
	switch s.Reason {
	case StopCIMet:
		return fmt.Sprintf("CI half-width %s after %d trials (target %s)", stopPct(s.HalfWidth), s.Trials, stopPct(rep.UntilCI))
	case StopMax:
		return fmt.Sprintf("reached max %d trials with CI half-width %s (target %s)", rep.Max, stopPct(s.HalfWidth), stopPct(rep.UntilCI))
	case StopMaxTime:
		return fmt.Sprintf("max_time %s reached after %d trials with CI half-width %s", rep.MaxTime, s.Trials, stopPct(s.HalfWidth))
	}
	return s.Reason.String()
}

// Note is the case's note for the stop: its code and its message.
func (s Stop) Note(rep Repeat) string { return s.Code() + ": " + s.Message(rep) }

// stopPct renders a fraction as a percentage with one decimal.
func stopPct(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "unknown (too few successful trials)"
	}
	return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
}
