package reports

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/stats"
)

// A spec's history: each case's median over the spec's runs, oldest
// first, and the steps in it (stats.ChangePoints). One analysis for
// `benchrig runs history` and the web UI's history page.
//
// The series leaves out confirmation runs (labelled
// benchrig.LabelConfirms): they re-ran only the suspected cases of
// another run, on purpose elsewhere, so they are not points of the
// spec's history. Runs still running are left out too: their medians
// are not final.

// HistoryOptions selects a spec's history and tunes its change points.
type HistoryOptions struct {
	// Case is a case ID or its short label (what the report prints:
	// "level=9"); "" means every case of the latest run.
	Case string
	// Limit is how many of the spec's latest runs to look at (<= 0: 50).
	Limit int
	// MaxCases caps the cases analysed (0: all); History.More counts the
	// rest.
	MaxCases int
	// Changes tunes the change point detection (its zero fields take
	// stats' defaults).
	Changes stats.ChangePointOptions
}

// DefaultHistoryLimit is how many runs a history looks at by default.
const DefaultHistoryLimit = 50

// History is a spec's history, case by case. Its JSON form is what
// `benchrig runs history --json` prints.
type History struct {
	Spec string `json:"spec"`
	// ChangePoints are the detection's settings, defaults filled in.
	ChangePoints HistorySettings `json:"change_points"`
	Cases        []CaseHistory   `json:"cases"`
	More         int             `json:"more_cases,omitempty"` // cases left out by MaxCases
}

// HistorySettings are the settings a history's change points were found
// with.
type HistorySettings struct {
	Method       string  `json:"method"`
	MinSegment   int     `json:"min_segment"`
	PValue       float64 `json:"p_value"`
	Permutations int     `json:"permutations"`
	Seed         uint64  `json:"seed"`
}

// CaseHistory is one case's series and its steps.
type CaseHistory struct {
	Case  string `json:"case"`  // the case ID
	Label string `json:"label"` // the short label (the params that differ between cases)
	// Points are the case's runs, oldest first. A run in which no
	// measured trial of the case succeeded is a point with N 0 and no
	// median; it takes no part in the change points.
	Points []HistoryPoint `json:"points"`
	// Changes are the steps, oldest first.
	Changes []HistoryChange `json:"change_points"`
}

// HistoryPoint is one run's figures for a case.
type HistoryPoint struct {
	Run     string             `json:"run"`
	Started time.Time          `json:"started"`
	Status  benchrig.RunStatus `json:"status"`
	Node    string             `json:"node,omitempty"` // where most of the case's trials ran
	MedianS float64            `json:"median_s"`       // of the successful measured trials' wall times; 0 when N is 0
	N       int                `json:"n"`              // successful measured trials
	Failed  int                `json:"failed,omitempty"`
	// Change is the index in Changes of the step this run is the first
	// point after, -1 for none.
	Change int `json:"-"`
}

// HistoryChange is a step: the level changes at Run, the first run of the
// new level.
type HistoryChange struct {
	Point   int       `json:"point"` // index in Points of Run
	Run     string    `json:"run"`
	Started time.Time `json:"started"`
	// BeforeS and AfterS are the medians of the levels (the medians of the
	// runs' medians from the previous step to this one, and from this one
	// to the next), in seconds; Magnitude is AfterS/BeforeS-1 (+0.12:
	// 12% slower from Run on).
	BeforeS   float64 `json:"before_s"`
	AfterS    float64 `json:"after_s"`
	Magnitude float64 `json:"magnitude"`
	// P is the permutation test's p-value, Confidence 1-P.
	P          float64 `json:"p"`
	Confidence float64 `json:"confidence"`
}

// Percent renders the magnitude as a signed percentage: "+12.3%".
func (c HistoryChange) Percent() string { return fmt.Sprintf("%+.1f%%", c.Magnitude*100) }

// Words puts the step into words: "+12.3% (1.20 ms -> 1.35 ms), p=0.005".
func (c HistoryChange) Words() string {
	return fmt.Sprintf("%s (%s -> %s), p=%s", c.Percent(), formatSeconds(c.BeforeS), formatSeconds(c.AfterS), FormatP(c.P))
}

// FormatP renders a p-value with the precision a permutation test has.
func FormatP(p float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", p), "0"), ".")
}

// LoadHistory reads and analyses spec's history from r: the cases are
// those of the spec's latest run that is not a confirmation run. A spec
// without runs is ENotFound; a Case matching none of its cases is
// EInvalid, naming them.
func LoadHistory(ctx context.Context, r benchrig.RunReader, spec string, o HistoryOptions) (*History, error) {
	if spec == "" {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, Field: "spec", Msg: "want a spec name"}
	}
	limit := o.Limit
	if limit <= 0 {
		limit = DefaultHistoryLimit
	}
	// The latest limit runs of the spec that are points of its history,
	// and how many runs back they reach (CaseHistory's limit counts every
	// run of the spec with the case, confirmation runs included).
	keep := map[string]bool{}
	var latest *benchrig.RunSummary
	seen := 0
	f := benchrig.RunFilter{Spec: spec, Limit: 100}
	for len(keep) < limit {
		page, err := r.ListRuns(ctx, f)
		if err != nil {
			return nil, err
		}
		for i := range page.Runs {
			rs := &page.Runs[i]
			if len(keep) == limit {
				break
			}
			seen++
			if _, ok := rs.Labels[benchrig.LabelConfirms]; ok || rs.Status == benchrig.RunRunning || rs.Status == benchrig.RunQueued {
				continue
			}
			keep[rs.ID] = true
			if latest == nil {
				latest = rs
			}
		}
		if page.Next == "" {
			break
		}
		f.Cursor = page.Next
	}
	if latest == nil {
		return nil, &benchrig.Error{Code: benchrig.ENotFound, Msg: fmt.Sprintf("spec %q: no runs recorded", spec)}
	}
	run, err := r.GetRun(ctx, latest.ID)
	if err != nil {
		return nil, err
	}
	label, _ := ShortLabels(Build(run))
	cases := run.Cases
	if o.Case != "" {
		i := slices.IndexFunc(cases, func(c benchrig.Case) bool { return c.ID == o.Case || label(c.ID) == o.Case })
		if i < 0 {
			var names []string
			for _, c := range cases {
				names = append(names, label(c.ID))
			}
			return nil, &benchrig.Error{Code: benchrig.EInvalid, Field: "case",
				Msg: fmt.Sprintf("%q is not a case of %s's latest run %s; its cases: %s", o.Case, spec, run.ID, strings.Join(names, ", "))}
		}
		cases = cases[i : i+1]
	}
	cp := o.Changes
	h := &History{Spec: spec, ChangePoints: settingsOf(cp)}
	for i, c := range cases {
		if o.MaxCases > 0 && i == o.MaxCases {
			h.More = len(cases) - i
			break
		}
		pts, err := r.CaseHistory(ctx, spec, c.ID, seen)
		if err != nil {
			return nil, err
		}
		pts = slices.DeleteFunc(pts, func(p benchrig.CasePoint) bool { return !keep[p.RunID] })
		name := label(c.ID)
		if name == "" {
			name = c.ID
		}
		h.Cases = append(h.Cases, HistoryOf(c.ID, name, pts, cp))
	}
	return h, nil
}

func settingsOf(o stats.ChangePointOptions) HistorySettings {
	s := HistorySettings{Method: "E-divisive means (energy statistic, alpha 1) with a permutation test",
		MinSegment: o.MinSegment, PValue: o.PValue, Permutations: o.Permutations, Seed: o.Seed}
	if s.MinSegment <= 0 {
		s.MinSegment = stats.DefaultMinSegment
	}
	if s.PValue <= 0 {
		s.PValue = stats.DefaultChangePValue
	}
	if s.Permutations <= 0 {
		s.Permutations = stats.DefaultPermutations
	}
	return s
}

// HistoryOf is one case's history from its points as CaseHistory returns
// them (newest first; the caller has dropped the runs that are not part
// of the history), with its change points.
func HistoryOf(caseID, label string, pts []benchrig.CasePoint, o stats.ChangePointOptions) CaseHistory {
	h := CaseHistory{Case: caseID, Label: label, Points: []HistoryPoint{}, Changes: []HistoryChange{}}
	var xs []float64
	var at []int // index in Points of each of xs
	for i := len(pts) - 1; i >= 0; i-- {
		p := pts[i]
		hp := HistoryPoint{Run: p.RunID, Started: p.Started, Status: p.Status, Node: p.Node, N: p.Measured, Failed: p.Failed, Change: -1}
		if p.Measured > 0 {
			hp.MedianS = p.Median.Seconds()
			xs = append(xs, hp.MedianS)
			at = append(at, len(h.Points))
		}
		h.Points = append(h.Points, hp)
	}
	for _, c := range stats.ChangePoints(xs, o) {
		i := at[c.Index]
		h.Points[i].Change = len(h.Changes)
		mag := c.Magnitude
		if math.IsNaN(mag) || math.IsInf(mag, 0) {
			mag = 0
		}
		h.Changes = append(h.Changes, HistoryChange{Point: i, Run: h.Points[i].Run, Started: h.Points[i].Started,
			BeforeS: c.Before, AfterS: c.After, Magnitude: mag, P: c.P, Confidence: c.Confidence})
	}
	return h
}
