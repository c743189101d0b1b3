package reports

import (
	"slices"
	"strings"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/profiling"
)

// CaseProfile is one case's trial profiles merged: what `benchrig runs
// profile` prints and the web's flame graphs draw.
type CaseProfile struct {
	Case   string // the case's ID
	Label  string // how the caller names it (label, else the ID)
	Trials int    // profiled trials merged
	profiling.Profile
}

// MergeProfiles merges each case's trial profiles (as a ProfileStore
// returns them) in the run's case order: their stacks, lost samples and
// covered wall time add up; the event and frequency are the first trial's
// (one run samples one way). label names a case ("" falls back to its ID).
func MergeProfiles(run *benchrig.Run, ps []benchrig.TrialProfile, label func(caseID string) string) []CaseProfile {
	byCase := map[string]*CaseProfile{}
	var order []string
	for _, p := range ps {
		c := byCase[p.Case]
		if c == nil {
			l := label(p.Case)
			if l == "" {
				l = p.Case
			}
			c = &CaseProfile{Case: p.Case, Label: l, Profile: profiling.Profile{Event: p.Event, Freq: p.Freq, Stacks: profiling.Stacks{}}}
			byCase[p.Case] = c
			order = append(order, p.Case)
		}
		c.Stacks.Merge(p.Stacks)
		c.Lost += p.Lost
		c.Duration += p.Duration
		c.Trials++
	}
	index := map[string]int{}
	for i, c := range run.Cases {
		index[c.ID] = i
	}
	slices.SortStableFunc(order, func(a, b string) int { return index[a] - index[b] })
	out := make([]CaseProfile, 0, len(order))
	for _, id := range order {
		out = append(out, *byCase[id])
	}
	return out
}

// FindCaseProfile is the profile in cases of the case whose ID or label is
// sel, or nil.
func FindCaseProfile(cases []CaseProfile, sel string) *CaseProfile {
	for i := range cases {
		if cases[i].Case == sel || cases[i].Label == sel {
			return &cases[i]
		}
	}
	return nil
}

// CaseProfileLabels lists the labels of cases, for a message naming them.
func CaseProfileLabels(cases []CaseProfile) string {
	names := make([]string, len(cases))
	for i, c := range cases {
		names[i] = c.Label
	}
	return strings.Join(names, ", ")
}
