package benchrig

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Expect is what a trial's output must satisfy (a spec's expect field),
// so that a fast wrong answer is a failed trial, never a fast one. Its
// strings are templates, expanded per case (package expect resolves and
// judges them). The zero value, like a spec without expect, counts exit
// code 0 as success and checks nothing else.
type Expect struct {
	// Exit lists the exit codes that count as success; empty means 0 only.
	// An exit code not in it makes a failed trial, as before.
	Exit []int
	// Stdout holds checks of the trial's standard output.
	Stdout StdoutExpect
	// Check is a command (a template) run after the trial, unmeasured, on
	// the host benchrig runs on, with the trial's kept stdout on its
	// stdin; a non-zero exit makes the trial's output wrong. nil: none.
	Check *Command
	// Agree, when set, makes cases that share the values of some params
	// produce the same stdout (by its SHA-256).
	Agree *Agree
}

// StdoutExpect checks a trial's standard output. Empty fields check
// nothing.
type StdoutExpect struct {
	// Match is an RE2 regular expression (a template) that must match
	// somewhere in the output; ^ and $ match at line ends.
	Match string
	// Lines is how many lines the output must have (a template giving
	// a LineRange: "5000", ">=1", "<=10", "1..100").
	Lines string
	// NonEmpty says that no line may be blank (empty, or only spaces,
	// tabs and carriage returns): an extractor that finds no field prints
	// such lines at full speed.
	NonEmpty bool
}

// Agree groups cases whose stdout must be identical: those with the same
// values of the By params (none: all cases), leaving out the cases that
// Except picks (by param values, like Spec.Baseline; e.g. cat as the
// ceiling of grep implementations does other work). Each instance of a
// trial is compared with the same instance of the others.
type Agree struct {
	By     []string
	Except map[string]string
}

// Codes returns the exit codes that count as success.
func (e *Expect) Codes() []int {
	if e == nil || len(e.Exit) == 0 {
		return []int{0}
	}
	return e.Exit
}

// CompileMatch compiles an expanded StdoutExpect.Match: RE2, with ^ and $
// matching at line ends. It is the one compiler of the field, for the spec
// parser and for package expect.
func CompileMatch(re string) (*regexp.Regexp, error) {
	// Compiled alone first, so that an error quotes the spec's text.
	if _, err := regexp.Compile(re); err != nil {
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		return nil, fmt.Errorf("bad regular expression: %s", msg)
	}
	return regexp.Compile("(?m)" + re)
}

// LineRange is an inclusive range of line counts; Max < 0 means no upper
// bound.
type LineRange struct {
	Min, Max int64
}

// ParseLineRange reads a line count: "N" (exactly N), ">=N", "<=N" or
// "N..M" (from N to M, both included).
func ParseLineRange(s string) (LineRange, error) {
	t := strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not a line count (examples: 5000, >=1, <=10, 1..100)", s)
	num := func(v string) (int64, bool) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n, err == nil && n >= 0 && n < math.MaxInt64
	}
	switch {
	case strings.HasPrefix(t, ">="):
		n, ok := num(t[2:])
		if !ok {
			return LineRange{}, bad
		}
		return LineRange{Min: n, Max: -1}, nil
	case strings.HasPrefix(t, "<="):
		n, ok := num(t[2:])
		if !ok {
			return LineRange{}, bad
		}
		return LineRange{Min: 0, Max: n}, nil
	}
	if lo, hi, ok := strings.Cut(t, ".."); ok {
		a, okA := num(lo)
		b, okB := num(hi)
		if !okA || !okB {
			return LineRange{}, bad
		}
		if a > b {
			return LineRange{}, fmt.Errorf("%q is an empty range: %d is more than %d", s, a, b)
		}
		return LineRange{Min: a, Max: b}, nil
	}
	n, ok := num(t)
	if !ok {
		return LineRange{}, bad
	}
	return LineRange{Min: n, Max: n}, nil
}

// Contains reports whether n lines are in the range.
func (r LineRange) Contains(n int64) bool {
	return n >= r.Min && (r.Max < 0 || n <= r.Max)
}

// String writes the range the way ParseLineRange reads it.
func (r LineRange) String() string {
	switch {
	case r.Max < 0:
		return ">=" + strconv.FormatInt(r.Min, 10)
	case r.Min == r.Max:
		return strconv.FormatInt(r.Min, 10)
	case r.Min == 0:
		return "<=" + strconv.FormatInt(r.Max, 10)
	}
	return strconv.FormatInt(r.Min, 10) + ".." + strconv.FormatInt(r.Max, 10)
}

// OutputDigest summarises a stream a command wrote, computed as it was
// drained (internal/pipes), so that its output can be checked without
// keeping it: counts, a SHA-256 of every byte, and the first bytes.
type OutputDigest struct {
	Bytes int64 `json:"bytes"`
	// Lines counts lines: newlines, plus one for a last line without one
	// ("a\nb" is 2 lines, "" none).
	Lines int64 `json:"lines"`
	// BlankLines counts the lines that are empty or hold only spaces,
	// tabs and carriage returns.
	BlankLines int64 `json:"blank_lines"`
	// SHA256 is the hex SHA-256 of the whole stream.
	SHA256 string `json:"sha256"`
	// Head is the stream's first bytes, at most HeadMax; the stream was
	// longer when Truncated says so.
	Head []byte `json:"head,omitempty"`
}

// HeadMax is how much of a stream an OutputDigest keeps: enough for
// expect's match and check on small outputs (counts, a summary), small
// enough to travel in the timing shim's one result line.
const HeadMax = 64 << 10

// Truncated reports whether the stream was longer than its kept head.
func (d *OutputDigest) Truncated() bool { return d != nil && d.Bytes > int64(len(d.Head)) }
