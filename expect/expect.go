// Package expect judges a trial's output against its spec's expect field
// (benchrig.Expect): the exit codes that count as success, checks of the
// stdout digest the executor measured (line count, blank lines, a regular
// expression), a check command run after the trial, and agreement between
// cases. A trial that fails them is a failed trial, outcome wrong-output,
// with the reason; never a fast one.
//
// It imports only the root package. The runner calls it (see Judge):
// Resolve once per case instance when it plans, and Judge.Trial when a
// trial ends, before it records the trial.
package expect

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/benchrig/benchrig"
)

// Rules are one case's expectations, resolved for one instance of its
// trials: templates expanded, the regular expression compiled.
type Rules struct {
	Case     string // the case's ID, for reasons
	Instance int    // from 1
	Codes    []int  // exit codes that count as success
	Match    *regexp.Regexp
	MatchSrc string              // Match as the spec expands it, for reasons
	Lines    *benchrig.LineRange // nil: any count
	NonEmpty bool
	// Check is the check command, with the trial job's environment and
	// working directory; nil without one. Stdin is filled per trial.
	Check *CheckJob
	// Group is the case's agreement group ("" when it takes no part):
	// the agree params and their values, "pattern=C(=O)N".
	Group string
}

// NeedsDigest reports whether judging needs Measurement.Stdout: the runner
// sets runner.Job.DigestStdout from it, so that specs without stdout
// checks do not pay for hashing.
func (r *Rules) NeedsDigest() bool {
	return r != nil && (r.Match != nil || r.Lines != nil || r.NonEmpty || r.Check != nil || r.Group != "")
}

// Resolve expands e for one instance of case c. vars are the template
// variables the trial's command was expanded with (the case's params,
// instance, spec_dir, node, arch); env and dir are the trial job's, which
// a check command runs with. A nil e gives the default rules: exit code 0
// is success, nothing else is checked. Errors are *benchrig.Error with
// code invalid, naming the field and the case.
func Resolve(e *benchrig.Expect, c benchrig.Case, vars map[string]string, env []string, dir string) (*Rules, error) {
	r := &Rules{Case: c.ID, Instance: 1, Codes: e.Codes()}
	if n, err := strconv.Atoi(vars["instance"]); err == nil && n > 0 {
		r.Instance = n
	}
	if e == nil {
		return r, nil
	}
	bad := func(field string, err error) error {
		return &benchrig.Error{Code: benchrig.EInvalid, Field: field, Msg: "case " + c.ID, Err: err}
	}
	// A template that expands to nothing checks nothing for this case
	// (grep-impl: cat prints nothing to match).
	if e.Stdout.Match != "" {
		src, err := benchrig.Expand(e.Stdout.Match, vars)
		if err != nil {
			return nil, bad("expect.stdout.match", err)
		}
		if src != "" {
			if r.Match, err = benchrig.CompileMatch(src); err != nil {
				return nil, bad("expect.stdout.match", err)
			}
			r.MatchSrc = src
		}
	}
	if e.Stdout.Lines != "" {
		s, err := benchrig.Expand(e.Stdout.Lines, vars)
		if err != nil {
			return nil, bad("expect.stdout.lines", err)
		}
		if strings.TrimSpace(s) != "" {
			lr, err := benchrig.ParseLineRange(s)
			if err != nil {
				return nil, bad("expect.stdout.lines", err)
			}
			r.Lines = &lr
		}
	}
	r.NonEmpty = e.Stdout.NonEmpty
	if c := e.Check; c != nil {
		job := &CheckJob{Env: env, Dir: dir}
		if c.Shell != "" {
			s, err := benchrig.ExpandShell(c.Shell, vars)
			if err != nil {
				return nil, bad("expect.check", err)
			}
			job.Argv = []string{"/bin/sh", "-c", s}
		} else {
			for i, a := range c.Argv {
				s, err := benchrig.Expand(a, vars)
				if err != nil {
					return nil, bad(fmt.Sprintf("expect.check[%d]", i), err)
				}
				job.Argv = append(job.Argv, s)
			}
		}
		job.Name = strings.Join(job.Argv, " ")
		if c.Shell != "" {
			job.Name = job.Argv[2]
		}
		r.Check = job
	}
	if a := e.Agree; a != nil && !excepted(a.Except, vars) {
		parts := make([]string, 0, len(a.By))
		for _, name := range a.By {
			parts = append(parts, name+"="+vars[name])
		}
		r.Group = strings.Join(parts, ",")
		if len(parts) == 0 {
			r.Group = "every case"
		}
	}
	return r, nil
}

// excepted reports whether the case with vars is one that except picks:
// it has every value except names. An empty except picks none.
func excepted(except map[string]string, vars map[string]string) bool {
	if len(except) == 0 {
		return false
	}
	for k, v := range except {
		if vars[k] != v {
			return false
		}
	}
	return true
}

// Check judges one measurement (one instance of a trial) against r, with
// what the executor measured alone: how it ended, the exit code, and the
// stdout digest's line counts and head. It neither runs the check command
// nor compares with other cases (RunCheck and Tracker do). The reason is
// "" for OutcomeOK.
func Check(r *Rules, m benchrig.Measurement) (benchrig.Outcome, string) {
	if o := benchrig.ClassifyMeasurement(m); o == benchrig.OutcomeCancelled || o == benchrig.OutcomeTimeout || m.Error != "" {
		return o, m.Error
	}
	if !slices.Contains(r.Codes, m.ExitCode) {
		return benchrig.OutcomeFailed, fmt.Sprintf("exit status %d (success is %s)", m.ExitCode, codes(r.Codes))
	}
	if !r.NeedsDigest() {
		return benchrig.OutcomeOK, ""
	}
	d := m.Stdout
	if d == nil {
		return benchrig.OutcomeExecutor, "the executor measured no stdout digest, which the spec's expect needs (runner.Job.DigestStdout was not set, or the executor does not digest)"
	}
	if r.Lines != nil && !r.Lines.Contains(d.Lines) {
		return benchrig.OutcomeWrongOutput, fmt.Sprintf("stdout has %d lines, expected %s (expect.stdout.lines)", d.Lines, r.Lines)
	}
	if r.NonEmpty && d.BlankLines > 0 {
		reason := fmt.Sprintf("stdout has %d blank line(s) of %d (expect.stdout.nonempty)", d.BlankLines, d.Lines)
		if n, line, ok := firstBlank(d.Head); ok {
			reason += fmt.Sprintf(", the first is line %d: %q", n, line)
		}
		return benchrig.OutcomeWrongOutput, reason
	}
	if r.Match != nil && !r.Match.Match(d.Head) {
		reason := fmt.Sprintf("stdout does not match %q (expect.stdout.match)", r.MatchSrc)
		if d.Truncated() {
			reason += fmt.Sprintf(" in its first %s kept, of %s: the rest was not kept, so a match there cannot be seen", benchrig.FormatBytes(int64(len(d.Head))), benchrig.FormatBytes(d.Bytes))
		}
		return benchrig.OutcomeWrongOutput, reason
	}
	return benchrig.OutcomeOK, ""
}

func codes(cs []int) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = strconv.Itoa(c)
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// firstBlank finds the first blank line of head (empty or only spaces,
// tabs and carriage returns, as the digest counts them).
func firstBlank(head []byte) (int, string, bool) {
	for i, line := range strings.SplitAfter(string(head), "\n") {
		if line == "" {
			break // after a final newline
		}
		if strings.Trim(line, " \t\r\n") == "" {
			return i + 1, strings.TrimSuffix(line, "\n"), true
		}
	}
	return 0, "", false
}
