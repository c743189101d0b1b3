// Package reports turns the raw trials of a run into statistics and
// exports them. It owns the assembly of a report from a benchrig.Run
// (report.go), the statistical warnings shown to the user (warnings.go)
// and the exporters (export.go: JSON, CSV, Markdown, terminal text); the
// statistics themselves are package stats. It knows results only,
// never runners, collectors or the web; every figure it prints can be
// traced back to the trials it lists.
package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/stats"
)

// Report is the statistics of one run, ready to export.
type Report struct {
	RunID       string
	Status      benchrig.RunStatus
	Started     time.Time
	Finished    time.Time // zero while running
	SpecName    string
	SpecHash    string
	SpecFile    string
	Overrides   []string
	Fingerprint benchrig.Fingerprint
	BaselineID  string

	Cases       []CaseReport // in the order of run.Cases
	Comparisons []Comparison // every other case against BaselineID, in case order
	// GeoMean is the geometric mean of the Comparisons' time ratios, as
	// benchstat's geomean row; nil with fewer than 2 comparisons.
	GeoMean *stats.GeoMean
	Scaling []Scaling // one per numeric param, in param order
	Notes   map[string]string
	// ThroughputUnit is the unit of every case's Throughput.
	ThroughputUnit benchrig.ThroughputUnit
	// Nodes and NodeEvents are the run's, on node pools: the facts of
	// every node used and what happened to nodes during the run.
	Nodes      []benchrig.NodeFacts
	NodeEvents []benchrig.NodeEvent
	// RunWarnings and Labels are the run's (see benchrig.Run).
	RunWarnings []string
	Labels      map[string]string
	// Repeat is the repetition the run ran with (benchrig.Run.Repeat):
	// zero for runs recorded before it was kept, and imports.
	Repeat benchrig.Repeat
	// Collection is what the collector gathered beside the run and what
	// it cost (benchrig.Run.Collection); nil when nothing was.
	Collection *benchrig.Collection
	// Gate is the run judged against its baseline (benchrig.Run.Gate);
	// nil without a gate.
	Gate *benchrig.GateResult
	// Profiling is how the run's trials were profiled
	// (benchrig.Run.Profiling), nil when they were not; ProfileCost is
	// what profiling cost, as the profiled trials measured it.
	Profiling   *benchrig.Profiling
	ProfileCost ProfileCost
}

// Comparison is one case's samples compared against a baseline case's.
type Comparison struct {
	Case, Baseline string // case IDs
	stats.Comparison
	// PerUnit is set by Build when the two cases do different amounts of
	// work per trial (instances, other files): the samples compared are
	// then seconds per unit of throughput, not seconds per trial.
	PerUnit bool
	// MixedNodes, when the case's or the baseline's measured trials ran
	// on several nodes, is every node whose trials the comparison pools,
	// sorted; nil otherwise. Its verdict then may reflect the machines as
	// much as the cases (see the mixed-nodes warning).
	MixedNodes []string
	// pair is the samples compared (per unit when PerUnit), kept for
	// the geometric mean of several comparisons.
	pair stats.Pair
}

// CaseReport is one case's trials and statistics.
type CaseReport struct {
	Case benchrig.Case
	// Node is where the case ran: the distinct nodes of its trials,
	// sorted and comma-separated.
	Node string
	// Arch and Image are the case's placement on node pools: its home
	// node's architecture and the image chosen for it ("" locally).
	Arch, Image string
	// Trials are all the case's trials in execution order, warmups and
	// failed ones included.
	Trials []benchrig.Trial
	// Samples are the wall times in seconds of the measured (non-warmup)
	// successful trials, in execution order; SampleSeqs are their trials'
	// Seq, so Stats.Outliers map back to trials.
	Samples    []float64
	SampleSeqs []int
	Measured   int // non-warmup trials, failed ones included
	Failed     int // failed non-warmup trials
	Warmups    int
	// FailedWarmups counts failed warmup trials; they do not affect the
	// statistics but usually mean the measured trials fail too.
	FailedWarmups int
	// Profiled counts the extra trials run only to be profiled
	// (benchrig.Trial.ProfileOnly): listed, left out of the statistics.
	Profiled int

	Stats stats.Summary // Stats.N == 0 when no measured trial succeeded
	// Resources are the medians of CPU time and peak memory over the same
	// trials as Stats.
	Resources  Resources
	Throughput *Throughput
	// ByteRate is the rate in bytes of a case whose Throughput counts
	// items and whose spec also counts the bytes of the same work.
	ByteRate *Throughput
	// Ceiling is the case's rate as a share of its ceiling case's (the
	// spec's ceiling: this machine's limit for the same work); nil
	// without a ceiling or without rates.
	Ceiling  *CeilingShare
	Warnings []Warning
	Note     string // run.Notes[Case.ID]
	// Skipped says why the case did not run, when it could not (a missing
	// program, a cold cache without root): it has no trials, on purpose.
	Skipped string
	// Files is how many files its throughput.files matched (0 unknown).
	Files int
}

// Resources are a case's medians of what its trials used beside wall
// time, over its successful measured trials. A figure no trial measured is
// NaN, never 0: a trial with MaxRSS 0 did not measure its memory.
type Resources struct {
	User, Sys float64 // seconds of CPU time of the trial's process tree
	MaxRSS    float64 // bytes of peak memory of the tree
}

// resourcesOf returns the medians of trials' CPU times and of the peak
// memory of those that measured it.
func resourcesOf(trials []benchrig.Trial) Resources {
	var user, sys, rss []float64
	for _, t := range trials {
		if t.Excluded() || t.Failed() {
			continue
		}
		if t.Source != benchrig.GoBenchSource { // go test -bench measures no CPU time
			user = append(user, t.User.Seconds())
			sys = append(sys, t.Sys.Seconds())
		}
		if t.MaxRSS > 0 {
			rss = append(rss, float64(t.MaxRSS))
		}
	}
	return Resources{User: stats.Median(user), Sys: stats.Median(sys), MaxRSS: stats.Median(rss)}
}

// CeilingShare relates a case's rate to its ceiling case's.
type CeilingShare struct {
	Case     string  // the ceiling case
	Rate     float64 // the ceiling's median rate, in Unit per second
	Fraction float64 // this case's median rate over Rate
}

// OutlierSeqs returns the Seq of the trials flagged as outliers.
func (c *CaseReport) OutlierSeqs() []int {
	out := make([]int, 0, len(c.Stats.Outliers))
	for _, i := range c.Stats.Outliers {
		out = append(out, c.SampleSeqs[i])
	}
	return out
}

// Throughput is the rate of a case that declares how much work a trial does.
type Throughput struct {
	Unit     benchrig.ThroughputUnit
	PerTrial float64 // amount per trial, in Unit
	// RateMedian is PerTrial / median wall time, in Unit per second;
	// RateCILow..RateCIHigh maps the median's CI the same way.
	RateMedian            float64
	RateCILow, RateCIHigh float64
	// TrialRates are PerTrial / wall time of each sample, aligned with
	// CaseReport.Samples.
	TrialRates []float64
}

// Scaling shows how a case's median changes along a numeric param.
type Scaling struct {
	Param  string
	Groups []ScalingGroup
}

// ScalingGroup is a set of cases whose other params are equal.
type ScalingGroup struct {
	Fixed  []benchrig.KV // the other params
	Points []ScalingPoint
	// Knee is where extra parallelism stops paying, and why; nil when
	// the group has fewer than two points with samples.
	Knee *Knee
}

// ScalingPoint is one case of a scaling group, by increasing Value.
type ScalingPoint struct {
	CaseID string
	Value  float64
	Median float64 // seconds; NaN without samples
	Rate   float64 // median rate in the run's throughput unit per second; NaN without one
	// Speedup is Rate(here)/Rate(at the smallest value) when the cases
	// declare throughput (so a case that does more work per trial, as
	// with instances, is judged by its rate), else median(at the smallest
	// value)/median(here). Efficiency
	// is Speedup / (Value / smallest value): 1 is perfect linear scaling.
	// NaN when undefined (no samples, or a smallest value of 0 or less
	// for Efficiency).
	Speedup, Efficiency float64
}

// Build computes the report of run. Warmup and failed trials are listed
// but excluded from the statistics. Trials of cases not in run.Cases are
// reported after them rather than dropped.
func Build(run *benchrig.Run) *Report {
	r := &Report{
		RunID:          run.ID,
		Status:         run.Status,
		Started:        run.Started,
		Finished:       run.Finished,
		SpecName:       run.SpecName,
		SpecHash:       run.SpecHash,
		SpecFile:       run.SpecFile,
		Overrides:      slices.Clone(run.Overrides),
		Fingerprint:    run.Fingerprint,
		BaselineID:     run.BaselineID,
		Notes:          run.Notes,
		ThroughputUnit: run.ThroughputUnit,
		Nodes:          run.Nodes,
		NodeEvents:     run.NodeEvents,
		RunWarnings:    run.Warnings,
		Collection:     run.Collection,
		Labels:         run.Labels,
		Gate:           run.Gate,
		Repeat:         run.Repeat,
		Profiling:      run.Profiling,
	}
	byCase := map[string][]benchrig.Trial{}
	for _, t := range run.Trials {
		byCase[t.CaseID] = append(byCase[t.CaseID], t)
	}
	cases := slices.Clone(run.Cases)
	known := map[string]bool{}
	for _, c := range cases {
		known[c.ID] = true
	}
	var unknown []string
	for id := range byCase {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	slices.Sort(unknown)
	for _, id := range unknown {
		cases = append(cases, benchrig.Case{ID: id, Index: -1})
	}
	if r.BaselineID == "" && len(cases) > 0 {
		r.BaselineID = cases[0].ID
	}

	for _, c := range cases {
		r.Cases = append(r.Cases, buildCase(run, c, byCase[c.ID]))
	}

	byID := map[string]*CaseReport{}
	for i := range r.Cases {
		byID[r.Cases[i].Case.ID] = &r.Cases[i]
	}
	for _, c := range r.Cases {
		baseID := r.BaselineID
		if run.Baselines != nil {
			if baseID = run.Baselines[c.Case.ID]; baseID == "" {
				continue
			}
		}
		base := byID[baseID]
		if base == nil || base.Case.ID == c.Case.ID || c.Skipped != "" || base.Skipped != "" {
			continue
		}
		if run.Ceilings[c.Case.ID] == c.Case.ID {
			// A ceiling case (cat from the page cache) is the machine's
			// limit, shown as each case's share of it, not a contender.
			continue
		}
		bs, cs := base.Samples, c.Samples
		ba, ca := run.Throughput[base.Case.ID], run.Throughput[c.Case.ID]
		perUnit := ba > 0 && ca > 0 && ba != ca
		if perUnit {
			bs, cs = scaled(bs, 1/ba), scaled(cs, 1/ca)
		}
		r.Comparisons = append(r.Comparisons, Comparison{Case: c.Case.ID, Baseline: base.Case.ID,
			Comparison: stats.Compare(bs, cs), PerUnit: perUnit, MixedNodes: pooledNodes(base, &c), pair: stats.Pair{Baseline: bs, Other: cs}})
	}
	r.GeoMean = geoMean(r.Comparisons)
	r.ProfileCost = profileCost(r.Cases)
	for i := range r.Cases {
		c := &r.Cases[i]
		ceil := byID[run.Ceilings[c.Case.ID]]
		if ceil == nil || ceil == c || c.Throughput == nil || ceil.Throughput == nil {
			continue
		}
		c.Ceiling = &CeilingShare{Case: ceil.Case.ID, Rate: ceil.Throughput.RateMedian,
			Fraction: c.Throughput.RateMedian / ceil.Throughput.RateMedian}
	}
	r.Scaling = buildScaling(run.Cases, r.Cases, run.ScalingParam)
	for si := range r.Scaling {
		for gi := range r.Scaling[si].Groups {
			g := &r.Scaling[si].Groups[gi]
			findKnee(g, byID, groupCPUs(run, g))
		}
	}
	return r
}

// groupCPUs is how many cores the cases of a scaling group had: those of
// the node they were placed on, on node pools, else the host's.
func groupCPUs(run *benchrig.Run, g *ScalingGroup) int {
	if len(g.Points) > 0 {
		if pl, ok := run.Placements[g.Points[0].CaseID]; ok {
			for _, n := range run.Nodes {
				if n.Name == pl.Node && n.CPUs > 0 {
					return n.CPUs
				}
			}
		}
	}
	return run.Fingerprint.CPUs
}

func buildCase(run *benchrig.Run, c benchrig.Case, trials []benchrig.Trial) CaseReport {
	slices.SortStableFunc(trials, func(a, b benchrig.Trial) int { return a.Seq - b.Seq })
	cr := CaseReport{Case: c, Trials: trials, Note: run.Notes[c.ID], Skipped: run.Skipped[c.ID], Files: run.Files[c.ID]}
	nodes := map[string]bool{}
	for _, t := range trials {
		if t.Node != "" {
			nodes[t.Node] = true
		}
		if t.Warmup {
			cr.Warmups++
			if t.Failed() {
				cr.FailedWarmups++
			}
			continue
		}
		if t.ProfileOnly {
			cr.Profiled++
			continue
		}
		cr.Measured++
		if t.Failed() {
			cr.Failed++
			continue
		}
		cr.Samples = append(cr.Samples, t.Wall.Seconds())
		cr.SampleSeqs = append(cr.SampleSeqs, t.Seq)
	}
	ns := make([]string, 0, len(nodes))
	for n := range nodes {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	cr.Node = strings.Join(ns, ",")
	if pl, ok := run.Placements[c.ID]; ok {
		cr.Arch, cr.Image = pl.Arch, pl.Image
		if cr.Node == "" {
			cr.Node = pl.Node // nothing ran: say where it was to run
		}
	}

	cr.Stats = stats.Summarize(cr.Samples)
	cr.Resources = resourcesOf(trials)
	cr.Throughput = rateOf(run.Throughput[c.ID], run.ThroughputUnit, cr)
	cr.ByteRate = rateOf(run.ThroughputBytes[c.ID], benchrig.Bytes, cr)

	if cr.Failed > 0 || cr.FailedWarmups > 0 {
		msg := fmt.Sprintf("%d of %d measured trials failed and are excluded from the statistics", cr.Failed, cr.Measured)
		if cr.FailedWarmups > 0 {
			msg += fmt.Sprintf("; %d of %d warmup trials failed", cr.FailedWarmups, cr.Warmups)
		}
		cr.Warnings = append(cr.Warnings, Warning{WFailedTrials, msg})
	}
	if cr.Skipped == "" { // a skipped case says why; it has no statistics to warn about
		cr.Warnings = append(cr.Warnings, summaryWarnings(cr.Stats)...)
	}
	if st, ok := run.Stops[c.ID]; ok {
		if st.Reason.CINotMet() {
			cr.Warnings = append(cr.Warnings, Warning{WCINotMet, st.Message(run.Repeat)})
		}
	} else if run.Stops == nil && run.Repeat == (benchrig.Repeat{}) {
		// A run recorded before stops were kept: its note is the only
		// record, "ci-not-met: <why>".
		if rest, ok := strings.CutPrefix(cr.Note, WCINotMet); ok {
			msg := strings.TrimSpace(strings.TrimLeft(rest, ":"))
			if msg == "" {
				msg = "adaptive repetition stopped before the 95% CI of the median reached its target"
			}
			cr.Warnings = append(cr.Warnings, Warning{WCINotMet, msg})
		}
	}
	if w, ok := noiseWarning(&cr); ok { // collection.go
		cr.Warnings = append(cr.Warnings, w)
	}
	markMixedNodes(&cr) // nodes.go
	return cr
}

// geoMean is the geometric mean of the time ratios of cs, nil with fewer
// than 2 comparisons with a ratio (the mean of one is itself).
func geoMean(cs []Comparison) *stats.GeoMean {
	pairs := make([]stats.Pair, len(cs))
	for i, c := range cs {
		pairs[i] = c.pair
	}
	g := stats.GeoMeanRatio(pairs)
	if g.N < 2 {
		return nil
	}
	return &g
}

func scaled(xs []float64, f float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * f
	}
	return out
}

// rateOf maps a case's times to rates of amount per trial; nil without
// an amount or samples.
func rateOf(amount float64, unit benchrig.ThroughputUnit, cr CaseReport) *Throughput {
	if amount <= 0 || cr.Stats.N == 0 {
		return nil
	}
	tp := &Throughput{Unit: unit, PerTrial: amount}
	tp.RateMedian = amount / cr.Stats.Median
	tp.RateCILow = amount / cr.Stats.CIHigh
	tp.RateCIHigh = amount / cr.Stats.CILow
	for _, x := range cr.Samples {
		tp.TrialRates = append(tp.TrialRates, amount/x)
	}
	return tp
}

// buildScaling returns the scaling along param, the spec's declared
// parallelism param, when its values all parse as numbers and take at least
// two distinct values.
func buildScaling(cases []benchrig.Case, reports []CaseReport, param string) []Scaling {
	if len(cases) == 0 || param == "" {
		return nil
	}
	median, rate := map[string]float64{}, map[string]float64{}
	for _, c := range reports {
		median[c.Case.ID], rate[c.Case.ID] = math.NaN(), math.NaN()
		if c.Stats.N > 0 {
			median[c.Case.ID] = c.Stats.Median
			if c.Throughput != nil {
				rate[c.Case.ID] = c.Throughput.RateMedian
			}
		}
	}
	var out []Scaling
	for pi, p := range cases[0].Params {
		if p.Name != param {
			continue
		}
		values := map[string]float64{}
		numeric := true
		for _, c := range cases {
			v, ok := c.Get(p.Name)
			if !ok {
				numeric = false
				break
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				numeric = false
				break
			}
			values[c.ID] = f
		}
		distinct := map[float64]bool{}
		for _, f := range values {
			distinct[f] = true
		}
		if !numeric || len(distinct) < 2 {
			continue
		}
		sc := Scaling{Param: p.Name}
		groupOf := map[string]int{}
		for _, c := range cases {
			fixed := slices.Delete(slices.Clone(c.Params), pi, pi+1)
			key := benchrig.CaseID(fixed)
			gi, ok := groupOf[key]
			if !ok {
				gi = len(sc.Groups)
				groupOf[key] = gi
				sc.Groups = append(sc.Groups, ScalingGroup{Fixed: fixed})
			}
			sc.Groups[gi].Points = append(sc.Groups[gi].Points, ScalingPoint{CaseID: c.ID, Value: values[c.ID], Median: median[c.ID], Rate: rate[c.ID]})
		}
		for gi := range sc.Groups {
			pts := sc.Groups[gi].Points
			slices.SortStableFunc(pts, func(a, b ScalingPoint) int { return cmp.Compare(a.Value, b.Value) })
			base := pts[0]
			for i := range pts {
				pts[i].Speedup, pts[i].Efficiency = math.NaN(), math.NaN()
				switch {
				case base.Rate > 0 && pts[i].Rate > 0:
					// With instances the work grows with the level, so
					// the rate, not the time, says what was gained.
					pts[i].Speedup = pts[i].Rate / base.Rate
				case base.Median > 0 && pts[i].Median > 0:
					pts[i].Speedup = base.Median / pts[i].Median
				}
				if !math.IsNaN(pts[i].Speedup) && base.Value > 0 {
					pts[i].Efficiency = pts[i].Speedup / (pts[i].Value / base.Value)
				}
			}
		}
		out = append(out, sc)
	}
	return out
}

// RunComparison compares the cases of run B against the same cases of run A.
type RunComparison struct {
	A, B     RunRef
	Cases    []CaseDelta // cases in both runs, in A's order
	OnlyA    []string    // case IDs only in A
	OnlyB    []string    // case IDs only in B
	Warnings []Warning   // differences between the runs that weaken the comparison
	// GeoMean is the geometric mean of the cases' B/A time ratios; nil
	// with fewer than 2 cases with a ratio.
	GeoMean *stats.GeoMean
}

// RunRef identifies a compared run.
type RunRef struct {
	ID, SpecName, SpecHash string
	Started                time.Time
	Fingerprint            benchrig.Fingerprint
}

// CaseDelta is one case measured in both runs.
type CaseDelta struct {
	CaseID           string
	MedianA, MedianB float64 // seconds; NaN without samples
	// Comparison has Baseline = Case = CaseID; Ratio is B over A.
	Comparison Comparison
}

// Warning codes of a RunComparison.
const (
	WSpecChanged = "spec-changed"
	WHostChanged = "host-changed"
)

// CompareRuns matches the cases of a and b by ID and compares b against a.
func CompareRuns(a, b *Report) *RunComparison {
	rc := &RunComparison{A: ref(a), B: ref(b)}
	inB := map[string]*CaseReport{}
	for i := range b.Cases {
		inB[b.Cases[i].Case.ID] = &b.Cases[i]
	}
	inA := map[string]bool{}
	for _, ca := range a.Cases {
		inA[ca.Case.ID] = true
		cb, ok := inB[ca.Case.ID]
		if !ok {
			rc.OnlyA = append(rc.OnlyA, ca.Case.ID)
			continue
		}
		cm := Comparison{Case: ca.Case.ID, Baseline: ca.Case.ID, Comparison: stats.Compare(ca.Samples, cb.Samples),
			MixedNodes: pooledNodes(&ca, cb), pair: stats.Pair{Baseline: ca.Samples, Other: cb.Samples}}
		rc.Cases = append(rc.Cases, CaseDelta{CaseID: ca.Case.ID, MedianA: medianOrNaN(ca.Stats), MedianB: medianOrNaN(cb.Stats), Comparison: cm})
	}
	cms := make([]Comparison, len(rc.Cases))
	for i, d := range rc.Cases {
		cms[i] = d.Comparison
	}
	rc.GeoMean = geoMean(cms)
	for _, cb := range b.Cases {
		if !inA[cb.Case.ID] {
			rc.OnlyB = append(rc.OnlyB, cb.Case.ID)
		}
	}
	if a.SpecHash != b.SpecHash {
		rc.Warnings = append(rc.Warnings, Warning{WSpecChanged, fmt.Sprintf("the spec differs between the runs (hash %s vs %s)", short(a.SpecHash), short(b.SpecHash))})
	}
	fa, fb := a.Fingerprint, b.Fingerprint
	var diffs []string
	for _, d := range []struct{ name, a, b string }{
		{"host", fa.Hostname, fb.Hostname},
		{"cpu", fa.CPUModel, fb.CPUModel},
		{"cpus", strconv.Itoa(fa.CPUs), strconv.Itoa(fb.CPUs)},
		{"kernel", fa.Kernel, fb.Kernel},
		{"arch", fa.Arch, fb.Arch},
		{"executor", fa.Executor, fb.Executor},
		{"benchrig", fa.Version, fb.Version},
	} {
		if d.a != d.b {
			diffs = append(diffs, fmt.Sprintf("%s %q vs %q", d.name, d.a, d.b))
		}
	}
	// Accelerators only when both runs looked for them: an older run
	// says nothing, which is no difference.
	if fa.Accelerators != nil && fb.Accelerators != nil {
		if a, b := fa.Accelerators.String(), fb.Accelerators.String(); a != b {
			diffs = append(diffs, fmt.Sprintf("accelerators %q vs %q", a, b))
		}
	}
	if len(diffs) > 0 {
		rc.Warnings = append(rc.Warnings, Warning{WHostChanged, "the runs ran on different setups: " + strings.Join(diffs, ", ")})
	}
	return rc
}

func ref(r *Report) RunRef {
	return RunRef{ID: r.RunID, SpecName: r.SpecName, SpecHash: r.SpecHash, Started: r.Started, Fingerprint: r.Fingerprint}
}

func medianOrNaN(s stats.Summary) float64 {
	if s.N == 0 {
		return math.NaN()
	}
	return s.Median
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
