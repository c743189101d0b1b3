package expect

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/benchrig/benchrig"
)

// Tracker checks that the cases of each agreement group print the same
// stdout, by SHA-256, each instance of a trial against the same instance
// of the others. It is safe for concurrent use; its lock guards memory
// only.
//
// Which case is right: each group has a reference case per instance,
// fixed when the tracker is made: the first case of the group (in matrix
// order) that runs that instance and is the baseline of a case of the
// group, else the group's first case that runs it. The baseline is what
// the spec compares the others with, so it is what their answers are held
// to as well. The reference's first trial to pass its other checks sets
// the digest; every later trial, the reference's own included, must have
// it.
//
// Trials may end before the reference has one (another node is faster,
// or the reference is not first in the matrix): they are compared with
// the group's first trial to report instead, provisionally. When the
// reference's digest then differs from that provisional one, the trials
// already recorded stay recorded as they were (an outcome is decided
// once), and Observe returns a warning naming the cases that were judged
// against the provisional digest; from then on they are held to the
// reference's.
type Tracker struct {
	mu     sync.Mutex
	ref    map[string]string // group and instance (key) -> its reference case
	states map[string]*groupState
}

// key names a group's instance.
func key(group string, instance int) string { return group + "\x00" + strconv.Itoa(instance) }

type groupState struct {
	ref         *seen // the reference case's first good trial
	provisional *seen // the group's first good trial, until ref is set
	// provCases lists the cases whose trials agreed with provisional
	// before ref was set, in the order they first reported.
	provCases []string
}

// seen is one trial's stdout, as far as agreement needs it.
type seen struct {
	caseID string
	d      benchrig.OutputDigest
}

// NewTracker plans the agreement groups of a run: cases are the run's
// cases in matrix order, rules[id] the resolved rules of case id's
// instances (a case without rules takes no part), and baselineOf gives a
// case's baseline (Run.Baselines[id], else Run.BaselineID).
func NewTracker(cases []benchrig.Case, rules map[string][]*Rules, baselineOf func(caseID string) string) *Tracker {
	t := &Tracker{ref: map[string]string{}, states: map[string]*groupState{}}
	group := func(id string) string {
		if rs := rules[id]; len(rs) > 0 {
			return rs[0].Group
		}
		return ""
	}
	isBaseline := map[string]bool{} // cases that are the baseline of a case of their own group
	for _, c := range cases {
		if g := group(c.ID); g != "" {
			if b := baselineOf(c.ID); b != "" && group(b) == g {
				isBaseline[b] = true
			}
		}
	}
	for _, pass := range []func(string) bool{func(id string) bool { return isBaseline[id] }, func(string) bool { return true }} {
		for _, c := range cases {
			g := group(c.ID)
			if g == "" || !pass(c.ID) {
				continue
			}
			for i := range rules[c.ID] {
				if k := key(g, i+1); t.ref[k] == "" {
					t.ref[k] = c.ID
				}
			}
		}
	}
	return t
}

// Reference returns the reference case of instance (from 1) of group, ""
// when none runs it.
func (t *Tracker) Reference(group string, instance int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ref[key(group, instance)]
}

// Observe judges the stdout digest d of instance (from 1) of a trial of
// caseID, whose rules put it in group, against the group's. Call it only
// for trials that passed Check and RunCheck. It returns wrong-output with
// the reason for a digest that differs, and a warning (else "") when the
// reference's first digest differs from the provisional one that trials
// of other cases were judged against.
func (t *Tracker) Observe(group, caseID string, instance int, d *benchrig.OutputDigest) (o benchrig.Outcome, reason, warning string) {
	if group == "" {
		return benchrig.OutcomeOK, "", ""
	}
	if d == nil {
		return benchrig.OutcomeExecutor, "the executor measured no stdout digest, which agreement needs", ""
	}
	k := key(group, instance)
	t.mu.Lock()
	defer t.mu.Unlock()
	ref, ok := t.ref[k]
	if !ok {
		// A group NewTracker did not plan: its first case is its reference.
		t.ref[k], ref = caseID, caseID
	}
	st := t.states[k]
	if st == nil {
		st = &groupState{}
		t.states[k] = st
	}
	now := &seen{caseID: caseID, d: *d}
	of := ""
	if instance > 1 {
		of = fmt.Sprintf(" (instance %d)", instance)
	}
	switch {
	case st.ref != nil:
		if st.ref.d.SHA256 != d.SHA256 {
			return benchrig.OutcomeWrongOutput, fmt.Sprintf("stdout%s differs from case %s, the reference of agree group %s: %s", of, st.ref.caseID, group, difference(&now.d, &st.ref.d)), ""
		}
	case caseID == ref:
		st.ref = now
		if p := st.provisional; p != nil && p.d.SHA256 != d.SHA256 {
			warning = fmt.Sprintf("agree group %s%s: stdout of the reference case %s differs from that of %s, recorded before it and judged against case %s's until then (%s); from now on they are held to the reference's",
				group, of, ref, strings.Join(st.provCases, ", "), p.caseID, difference(&now.d, &p.d))
		}
	case st.provisional == nil:
		st.provisional = now
		st.provCases = []string{caseID}
	case st.provisional.d.SHA256 != d.SHA256:
		return benchrig.OutcomeWrongOutput, fmt.Sprintf("stdout%s differs from case %s, the first of agree group %s to report (its reference %s has not yet): %s", of, st.provisional.caseID, group, ref, difference(&now.d, &st.provisional.d)), ""
	default:
		if !contains(st.provCases, caseID) {
			st.provCases = append(st.provCases, caseID)
		}
	}
	return benchrig.OutcomeOK, "", warning
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// difference says how two digests differ: "2 lines vs 2, 24 vs 25
// bytes, sha256 1a2b3c4d vs 5e6f7a8b, first difference at line 1: "12"
// vs "13"". The line is found only within both kept heads.
func difference(a, b *benchrig.OutputDigest) string {
	s := fmt.Sprintf("%d lines vs %d, %d vs %d bytes, sha256 %.8s vs %.8s", a.Lines, b.Lines, a.Bytes, b.Bytes, a.SHA256, b.SHA256)
	la := strings.SplitAfter(string(a.Head), "\n")
	lb := strings.SplitAfter(string(b.Head), "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		// A line cut by the end of a truncated head is not known whole.
		whole := func(lines []string, d *benchrig.OutputDigest) bool {
			return i < len(lines)-1 || !d.Truncated()
		}
		if !whole(la, a) || !whole(lb, b) {
			break
		}
		if la[i] != lb[i] {
			return s + fmt.Sprintf(", first difference at line %d: %s vs %s", i+1, quoteLine(la[i]), quoteLine(lb[i]))
		}
	}
	return s
}

func quoteLine(l string) string {
	l = strings.TrimSuffix(l, "\n")
	if len(l) > 80 {
		return strconv.Quote(l[:77]) + "..."
	}
	return strconv.Quote(l)
}
