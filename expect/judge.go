package expect

import (
	"context"
	"fmt"

	"github.com/benchrig/benchrig"
)

// Judge decides the outcome of trials: what the executor measured (Check),
// then the check command (RunCheck, through Checks), then agreement
// (Tracker). One Judge serves a whole run; Trial may be called from
// several goroutines at once and holds no lock while a check runs.
type Judge struct {
	// Checks runs check commands; nil means Exec (this host).
	Checks CheckRunner
	// Agree tracks agreement groups; nil when no case is in one.
	Agree *Tracker
}

// Verdict is a trial's outcome and why.
type Verdict struct {
	Outcome benchrig.Outcome
	// Reason says why the outcome is not OK ("" when it is): the first
	// instance's failure, prefixed with "instance N: " when the trial
	// ran several.
	Reason string
	// Warnings are things the user should see that are not this trial's
	// fault (see Tracker.Observe); the runner emits them as warnings.
	Warnings []string
}

// Trial judges one trial of a case: rules[i] and ms[i] are instance i+1's
// resolved rules and measurement (one of each without instances). The
// first instance that fails decides; agreement is observed only for
// instances that passed everything else, so a wrong trial never becomes a
// reference.
func (j *Judge) Trial(ctx context.Context, rules []*Rules, ms []benchrig.Measurement) Verdict {
	if len(rules) != len(ms) {
		return Verdict{Outcome: benchrig.OutcomeExecutor, Reason: fmt.Sprintf("%d measurements for %d instances", len(ms), len(rules))}
	}
	checks := j.Checks
	if checks == nil {
		checks = Exec
	}
	prefix := func(i int, s string) string {
		if len(ms) > 1 && s != "" {
			return fmt.Sprintf("instance %d: %s", i+1, s)
		}
		return s
	}
	for i, r := range rules {
		if o, reason := Check(r, ms[i]); o != benchrig.OutcomeOK {
			return Verdict{Outcome: o, Reason: prefix(i, reason)}
		}
	}
	for i, r := range rules {
		if o, reason := RunCheck(ctx, checks, r, ms[i]); o != benchrig.OutcomeOK {
			return Verdict{Outcome: o, Reason: prefix(i, reason)}
		}
	}
	v := Verdict{Outcome: benchrig.OutcomeOK}
	if j.Agree == nil {
		return v
	}
	for i, r := range rules {
		o, reason, warning := j.Agree.Observe(r.Group, r.Case, r.Instance, ms[i].Stdout)
		if warning != "" {
			v.Warnings = append(v.Warnings, warning)
		}
		if o != benchrig.OutcomeOK && v.Outcome == benchrig.OutcomeOK {
			v.Outcome, v.Reason = o, reason
		}
	}
	return v
}
