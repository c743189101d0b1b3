// Package gate judges a run against a baseline run, case by case: the
// statistics of the regression gate, without I/O (the app resolves the
// runs and re-runs suspects; reports prints the result).
package gate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/stats"
)

// Judge judges candidate against baseline (nil: no baseline run was found)
// under req, on the first evidence: it sets each case's verdict, marking
// suspected regressions that a confirmation run is to decide (unless
// req.NoConfirm, which decides at once).
func Judge(baseline, candidate *benchrig.Run, req benchrig.GateRequest) *benchrig.GateResult {
	res := &benchrig.GateResult{
		Run:      candidate.ID,
		Baseline: req.Baseline,
		Test:     testText(req),
		Cases:    []benchrig.CaseGate{},
		Judged:   time.Now(),
	}
	if baseline != nil {
		res.BaselineRun, res.BaselineStarted, res.BaselineLabels = baseline.ID, baseline.Started, baseline.Labels
	}
	maxCV := req.MaxBaselineCV
	if maxCV <= 0 {
		maxCV = benchrig.DefaultMaxBaselineCV
	}
	var baseCases map[string]bool
	if baseline != nil {
		baseCases = make(map[string]bool, len(baseline.Cases))
		for _, c := range baseline.Cases {
			baseCases[c.ID] = true
		}
	}
	for _, c := range candidate.Cases {
		t := Threshold(c, req)
		cg := benchrig.CaseGate{Case: c.ID, MaxRegression: t}
		cand := SamplesOf(candidate, c.ID)
		cg.CandidateN, cg.Failed = len(cand.OK), cand.Failed
		if len(cand.OK) > 0 {
			cg.CandidateMedian = stats.Median(cand.OK)
		}
		var base Samples
		if baseline != nil {
			base = SamplesOf(baseline, c.ID)
			cg.BaselineN = len(base.OK)
			if len(base.OK) > 0 {
				s := stats.Summarize(base.OK)
				cg.BaselineMedian = s.Median
				if s.Median > 0 {
					cg.BaselineCV = s.MADScaled / s.Median
				}
			}
		}
		switch {
		case cand.Failed > 0:
			cg.Verdict = benchrig.VerdictTrialsFailed
			cg.Reason = failedText(cand, "")
		case baseline == nil:
			cg.Verdict = benchrig.VerdictNoBaseline
			cg.Reason = fmt.Sprintf("nothing to compare with: no run found for baseline %q; this case passes unjudged (median %s, n=%d)", req.Baseline, seconds(cg.CandidateMedian), cg.CandidateN)
		case !baseCases[c.ID] || len(base.OK) == 0:
			cg.Verdict = benchrig.VerdictNoBaseline
			why := "has no case " + c.ID
			if baseCases[c.ID] {
				why = "has no successful measured trials of " + c.ID
			}
			cg.Reason = fmt.Sprintf("nothing to compare with: baseline run %s %s; this case passes unjudged (median %s, n=%d)", baseline.ID, why, seconds(cg.CandidateMedian), cg.CandidateN)
		case len(cand.OK) == 0 && candidate.Skipped[c.ID] != "":
			cg.Verdict = benchrig.VerdictInconclusive
			cg.Reason = "case skipped: " + candidate.Skipped[c.ID]
		default:
			ri := stats.RatioCI(base.OK, cand.OK)
			setInterval(&cg, ri)
			switch {
			case !ri.OK:
				need := stats.MinRatioN()
				cg.Verdict = benchrig.VerdictInconclusive
				cg.Reason = fmt.Sprintf("too few trials: %d baseline, %d candidate; need %d each for a 95%% interval (%s)", cg.BaselineN, cg.CandidateN, need, obsOf(cg))
			default:
				cg.Verdict, cg.Suspected, cg.Reason = classify(ri, t, req.NoConfirm, obsOf(cg))
				// A noisy baseline widens the interval, which the test
				// already accounts for: a slowdown whose whole interval
				// clears the threshold (or a significant speed-up) stands
				// despite it. What a noisy baseline cannot support is a
				// pass, or a verdict the interval leaves open.
				if cg.BaselineCV > maxCV {
					if ri.Low > 1+t || cg.Verdict == benchrig.VerdictImproved {
						cg.Reason += fmt.Sprintf(" (the baseline is noisy, CV %s > %s, yet the interval is clear)", percent(cg.BaselineCV), percent(maxCV))
					} else {
						cg.Verdict, cg.Suspected = benchrig.VerdictInconclusive, false
						cg.Reason = fmt.Sprintf("baseline too noisy: CV %s > %s; %s", percent(cg.BaselineCV), percent(maxCV), evidence(ri, obsOf(cg)))
					}
				}
			}
		}
		res.Cases = append(res.Cases, cg)
	}
	settle(res, req)
	return res
}

// Suspects are the IDs of the cases of res that a confirmation run is to
// re-run, in res's order.
func Suspects(res *benchrig.GateResult) []string {
	var ids []string
	for _, c := range res.Cases {
		if c.Suspected && c.Confirmation == nil {
			ids = append(ids, c.Case)
		}
	}
	return ids
}

// Confirm decides res's suspected cases with the trials of confirmation (a
// run of the suspected cases only), pooled with the candidate's, and sets
// the run's verdict again.
func Confirm(res *benchrig.GateResult, baseline, candidate, confirmation *benchrig.Run, req benchrig.GateRequest) {
	if confirmation != nil {
		res.ConfirmationRun = confirmation.ID
	}
	for i := range res.Cases {
		cg := &res.Cases[i]
		if !cg.Suspected || cg.Confirmation != nil {
			continue
		}
		var base Samples
		if baseline != nil {
			base = SamplesOf(baseline, cg.Case)
		}
		cand := SamplesOf(candidate, cg.Case)
		conf := &benchrig.CaseConfirmation{}
		cg.Confirmation = conf
		pooled := slices.Clone(cand.OK)
		var rerun Samples
		if confirmation == nil {
			conf.Where = "not re-run: the confirmation run could not be made"
		} else {
			conf.Run = confirmation.ID
			rerun = SamplesOf(confirmation, cg.Case)
			conf.N = len(rerun.OK)
			if ri := stats.RatioCI(base.OK, rerun.OK); ri.OK {
				conf.Ratio, conf.CILow, conf.CIHigh = ri.Estimate, ri.Low, ri.High
			} else if !math.IsNaN(ri.Estimate) {
				conf.Ratio = ri.Estimate
			}
			pooled = append(pooled, rerun.OK...)
		}
		p := stats.RatioCI(base.OK, pooled)
		conf.PooledN = len(pooled)
		if !math.IsNaN(p.Estimate) {
			conf.PooledRatio = p.Estimate
		}
		if p.OK {
			conf.PooledCILow, conf.PooledCIHigh = p.Low, p.High
		}
		t := cg.MaxRegression
		// A re-run with failed trials confirms nothing.
		conf.Held = p.OK && p.Low > 1+t && rerun.Failed == 0
		po := pooledObs(base.OK, pooled)
		switch {
		case rerun.Failed > 0:
			cg.Verdict = benchrig.VerdictTrialsFailed
			cg.Reason = failedText(rerun, "the confirmation run "+confirmation.ID+": ")
		case confirmation == nil:
			v, _, why := classify(p, t, true, po)
			cg.Verdict, cg.Reason = v, "not re-run (the confirmation run could not be made), judged on the first evidence alone: "+why
		case conf.N == 0:
			v, _, why := classify(p, t, true, po)
			cg.Verdict, cg.Reason = v, "not re-run (the confirmation run "+confirmation.ID+" has no trials of this case), judged on the first evidence alone: "+why
		case conf.Held:
			cg.Verdict = benchrig.VerdictRegression
			cg.Reason = fmt.Sprintf("confirmed: held on pooled evidence (n=%d): %s, beyond %s; %s; the re-run alone (run %s, n=%d): %s; first evidence: %s",
				conf.PooledN, change(p), percent(t), po, confirmation.ID, conf.N, rerunText(conf), change(intervalOf(*cg)))
		default:
			v, _, why := classify(p, t, true, po)
			cg.Verdict = v
			cg.Reason = fmt.Sprintf("not confirmed: the re-run (run %s, n=%d) gave %s; on the pooled evidence (n=%d): %s", confirmation.ID, conf.N, rerunText(conf), conf.PooledN, why)
		}
	}
	res.Judged = time.Now()
	settle(res, req)
}

// Threshold is the largest slowdown that passes for case c under req: the
// first per-case threshold whose Match the case's params contain, else the
// request's, else benchrig.DefaultMaxRegression.
func Threshold(c benchrig.Case, req benchrig.GateRequest) float64 {
	for _, ct := range req.Cases {
		if matches(c, ct.Match) && ct.MaxRegression > 0 {
			return ct.MaxRegression
		}
	}
	if req.MaxRegression > 0 {
		return req.MaxRegression
	}
	return benchrig.DefaultMaxRegression
}

func matches(c benchrig.Case, match map[string]string) bool {
	for k, v := range match {
		if got, ok := c.Get(k); !ok || got != v {
			return false
		}
	}
	return true
}

// classify is the verdict of an interval against threshold t (rules e-h of
// the gate): a regression when the whole interval lies above 1+t (a
// suspect, unless noConfirm); inconclusive when the estimate is above 1+t
// but the interval is not (a suspect too when it is still significantly
// above 1, so that a re-run's trials may settle it); improved when
// significantly faster beyond 1/(1+t); a pass otherwise.
func classify(ri stats.RatioInterval, t float64, noConfirm bool, o obs) (v benchrig.GateVerdict, suspected bool, reason string) {
	ev := evidence(ri, o)
	lim := percent(t)
	switch {
	case ri.Low > 1+t:
		if noConfirm {
			return benchrig.VerdictRegression, false, fmt.Sprintf("slower beyond %s, significantly: %s", lim, ev)
		}
		return benchrig.VerdictRegression, true, fmt.Sprintf("suspected: slower beyond %s, significantly, on the first evidence; a re-run is to confirm it: %s", lim, ev)
	case ri.Estimate > 1+t && ri.Low > 1:
		if noConfirm {
			return benchrig.VerdictInconclusive, false, fmt.Sprintf("%s: above %s but not significantly; %s", slowerText(ri), lim, o.String())
		}
		return benchrig.VerdictInconclusive, true, fmt.Sprintf("suspected: %s: above %s but not significantly; a re-run is to settle it; %s", slowerText(ri), lim, o.String())
	case ri.Estimate > 1+t:
		return benchrig.VerdictInconclusive, false, fmt.Sprintf("%s but not significant; %s", slowerText(ri), o.String())
	case ri.High < 1 && ri.Estimate < 1/(1+t):
		return benchrig.VerdictImproved, false, fmt.Sprintf("faster, significantly: %s", ev)
	}
	return benchrig.VerdictPass, false, fmt.Sprintf("within %s: %s", lim, ev)
}

// slowerText is "slower by 7.0% (95% CI +2.0%..+12.0%)".
func slowerText(ri stats.RatioInterval) string {
	return fmt.Sprintf("slower by %s (95%% CI %s)", strings.TrimPrefix(signedPercent(ri.Estimate-1), "+"), ciText(ri.Low, ri.High))
}

// obs are the medians and counts behind a ratio: baseline's, then the
// candidate's (or the pooled trials').
type obs struct {
	mb, mc float64
	nb, nc int
}

func obsOf(cg benchrig.CaseGate) obs {
	return obs{cg.BaselineMedian, cg.CandidateMedian, cg.BaselineN, cg.CandidateN}
}

func pooledObs(base, pooled []float64) obs {
	return obs{stats.Median(base), stats.Median(pooled), len(base), len(pooled)}
}

// String is "median 101 ms -> 111 ms, n=10/10".
func (o obs) String() string {
	return fmt.Sprintf("median %s -> %s, n=%d/%d", seconds(o.mb), seconds(o.mc), o.nb, o.nc)
}

// evidence is the numbers of a judged case: "+9.8% (95% CI
// +7.9%..+11.6%), median 101 ms -> 111 ms, n=10/10".
func evidence(ri stats.RatioInterval, o obs) string {
	return change(ri) + ", " + o.String()
}

// change is a ratio as a signed percent with its CI: "+9.8% (95% CI
// +7.9%..+11.6%)", or without a CI "+9.8% (no 95% CI)".
func change(ri stats.RatioInterval) string {
	if math.IsNaN(ri.Estimate) {
		return "no ratio"
	}
	if !ri.OK {
		return signedPercent(ri.Estimate-1) + " (no 95% CI)"
	}
	return fmt.Sprintf("%s (95%% CI %s)", signedPercent(ri.Estimate-1), ciText(ri.Low, ri.High))
}

func rerunText(c *benchrig.CaseConfirmation) string {
	if c.N == 0 {
		return "no successful trials"
	}
	ri := stats.RatioInterval{Estimate: c.Ratio, Low: c.CILow, High: c.CIHigh, OK: c.CILow > 0}
	if c.Ratio == 0 {
		ri.Estimate = math.NaN()
	}
	return change(ri)
}

// intervalOf is the first evidence's interval, as kept on cg.
func intervalOf(cg benchrig.CaseGate) stats.RatioInterval {
	ri := stats.RatioInterval{Estimate: cg.Ratio, Low: cg.CILow, High: cg.CIHigh, OK: cg.CILow > 0}
	if cg.Ratio == 0 {
		ri.Estimate = math.NaN()
	}
	return ri
}

func ciText(lo, hi float64) string { return signedPercent(lo-1) + ".." + signedPercent(hi-1) }

// FormatChange renders a time ratio as a signed change: 1.098 is "+9.8%",
// 0.969 "-3.1%"; "-" when there is no ratio (0 or NaN).
func FormatChange(ratio float64) string {
	if !(ratio > 0) || math.IsInf(ratio, 0) {
		return "-"
	}
	return signedPercent(ratio - 1)
}

// FormatCI renders a ratio interval as changes: "+7.9%..+11.6%"; "-"
// when there is none (zero).
func FormatCI(lo, hi float64) string {
	if !(lo > 0) || !(hi > 0) || math.IsInf(hi, 0) {
		return "-"
	}
	return ciText(lo, hi)
}

// FormatPercent renders a threshold or CV: 0.05 is "5%", 0.075 "7.5%".
func FormatPercent(f float64) string { return percent(f) }

// signedPercent renders a relative change: "+9.8%", "-3.1%", "+0.0%".
func signedPercent(f float64) string {
	s := strconv.FormatFloat(math.Abs(f)*100, 'f', 1, 64)
	if f < 0 && s != "0.0" {
		return "-" + s + "%"
	}
	return "+" + s + "%"
}

// percent renders a threshold or CV without needless digits: "5%",
// "7.5%", "14%".
func percent(f float64) string {
	return strconv.FormatFloat(math.Round(f*1000)/10, 'f', -1, 64) + "%"
}

func seconds(s float64) string {
	if !(s > 0) {
		return "-"
	}
	return benchrig.FormatSeconds(s)
}

func setInterval(cg *benchrig.CaseGate, ri stats.RatioInterval) {
	if !math.IsNaN(ri.Estimate) {
		cg.Ratio = ri.Estimate
	}
	if ri.OK {
		cg.CILow, cg.CIHigh = ri.Low, ri.High
	}
}

// Samples are a case's measured trials in a run (warmups left out): the
// wall times in seconds of the successful ones, and the failed ones
// counted, with the first one's reason.
type Samples struct {
	OK         []float64
	Measured   int
	Failed     int
	FirstError string
}

// SamplesOf are the measured trials of case caseID in run (none when run
// is nil).
func SamplesOf(run *benchrig.Run, caseID string) Samples {
	var s Samples
	if run == nil {
		return s
	}
	for i := range run.Trials {
		tr := &run.Trials[i]
		if tr.CaseID != caseID || tr.Excluded() {
			continue
		}
		s.Measured++
		if tr.Failed() {
			if s.Failed == 0 {
				s.FirstError = tr.Why()
			}
			s.Failed++
			continue
		}
		s.OK = append(s.OK, tr.Wall.Seconds())
	}
	return s
}

// failedText is "3 of 10 trials failed: exit status 1".
func failedText(s Samples, prefix string) string {
	why := s.FirstError
	if why == "" {
		why = "no reason recorded"
	}
	return fmt.Sprintf("%s%d of %d trials failed: %s", prefix, s.Failed, s.Measured, why)
}

// testText names the statistics and the decision rule in words.
func testText(req benchrig.GateRequest) string {
	s := "Hodges-Lehmann estimate of the time ratio candidate/baseline with Moses' distribution-free 95% confidence interval " +
		"(Mann-Whitney distribution: exact up to 30 trials a side, normal approximation with continuity correction above); " +
		"a case regresses when the whole interval lies above 1 + its threshold"
	if req.NoConfirm {
		return s + ", on the first evidence (no confirmation re-run)"
	}
	return s + ", and only if it holds when a re-run of the suspected cases is pooled with the first trials"
}

// verdictRank orders verdicts from worst (0), as gate.go lists them.
var verdictRank = map[benchrig.GateVerdict]int{
	benchrig.VerdictRegression:   0,
	benchrig.VerdictTrialsFailed: 1,
	benchrig.VerdictInconclusive: 2,
	benchrig.VerdictPass:         3,
	benchrig.VerdictImproved:     4,
	benchrig.VerdictNoBaseline:   5,
}

// settle sets the run's verdict, Passed and Summary from its cases.
func settle(res *benchrig.GateResult, req benchrig.GateRequest) {
	count := map[benchrig.GateVerdict]int{}
	pending := 0
	res.Verdict = benchrig.VerdictNoBaseline
	if len(res.Cases) == 0 {
		res.Verdict = benchrig.VerdictPass // nothing ran that could regress
	}
	for _, c := range res.Cases {
		count[c.Verdict]++
		if c.Suspected && c.Confirmation == nil {
			pending++
		}
		if verdictRank[c.Verdict] < verdictRank[res.Verdict] {
			res.Verdict = c.Verdict
		}
	}
	res.Passed = pending == 0 && count[benchrig.VerdictRegression] == 0 && count[benchrig.VerdictTrialsFailed] == 0 &&
		!(req.Strict && count[benchrig.VerdictInconclusive] > 0)
	res.Summary = summary(res, req, count, pending)
}

func summary(res *benchrig.GateResult, req benchrig.GateRequest, count map[benchrig.GateVerdict]int, pending int) string {
	n := len(res.Cases)
	against := "no baseline run"
	if res.BaselineRun != "" {
		against = "run " + res.BaselineRun
	}
	var head string
	switch res.Verdict {
	case benchrig.VerdictRegression:
		reg := casesWith(res, benchrig.VerdictRegression)
		confirmed := true
		for _, c := range reg {
			if c.Confirmation == nil || c.Confirmation.N == 0 || !c.Confirmation.Held {
				confirmed = false
			}
		}
		how := "confirmed by a re-run"
		switch {
		case pending > 0:
			how = "suspected, to be confirmed by a re-run"
		case req.NoConfirm:
			how = "not re-run: no confirmation asked"
		case !confirmed:
			how = "not confirmed by a re-run: on the first evidence alone"
		}
		head = fmt.Sprintf("regression: %d of %d cases slower beyond %s than %s (%s)", len(reg), n, thresholds(reg), against, how)
		if pending > 0 {
			head = "suspected " + head
		}
	case benchrig.VerdictTrialsFailed:
		head = fmt.Sprintf("trials failed: %d of %d cases had failed trials", count[benchrig.VerdictTrialsFailed], n)
	case benchrig.VerdictInconclusive:
		inc := casesWith(res, benchrig.VerdictInconclusive)
		head = fmt.Sprintf("inconclusive: %d of %d cases against %s", len(inc), n, against)
		if len(inc) == 1 {
			head += " (" + inc[0].Case + ": " + shortReason(inc[0].Reason) + ")"
		}
		if pending > 0 {
			head += ", to be settled by a re-run"
		} else if req.Strict {
			head += "; fails under --strict"
		} else {
			head += "; passes (not strict)"
		}
	case benchrig.VerdictPass:
		ok := casesWith(res, benchrig.VerdictPass, benchrig.VerdictImproved)
		head = fmt.Sprintf("pass: %s within %s of %s", cases(len(ok)), thresholds(ok), against)
	case benchrig.VerdictImproved:
		head = fmt.Sprintf("improved: %s significantly faster than %s", cases(count[benchrig.VerdictImproved]), against)
	case benchrig.VerdictNoBaseline:
		if res.BaselineRun == "" {
			head = fmt.Sprintf("no baseline: no run found for %q; %s passed unjudged", res.Baseline, cases(n))
		} else {
			head = fmt.Sprintf("no baseline: run %s has none of the %d cases; passed unjudged", res.BaselineRun, n)
		}
		return head
	}
	var rest []string
	for _, v := range []benchrig.GateVerdict{benchrig.VerdictRegression, benchrig.VerdictTrialsFailed, benchrig.VerdictInconclusive,
		benchrig.VerdictPass, benchrig.VerdictImproved, benchrig.VerdictNoBaseline} {
		if v == res.Verdict || count[v] == 0 || (res.Verdict == benchrig.VerdictPass && v == benchrig.VerdictImproved) {
			continue
		}
		rest = append(rest, fmt.Sprintf("%s: %d", v, count[v]))
	}
	if res.Verdict == benchrig.VerdictPass && count[benchrig.VerdictImproved] > 0 {
		rest = append([]string{fmt.Sprintf("%d of them improved", count[benchrig.VerdictImproved])}, rest...)
	}
	if len(rest) > 0 {
		head += "; " + strings.Join(rest, ", ")
	}
	return head
}

// cases is "1 case", "6 cases".
func cases(n int) string {
	if n == 1 {
		return "1 case"
	}
	return strconv.Itoa(n) + " cases"
}

// shortReason is a reason up to its first ':' ("baseline too noisy").
func shortReason(r string) string {
	r = strings.TrimPrefix(r, "suspected: ")
	if i := strings.Index(r, ":"); i > 0 {
		return r[:i]
	}
	return r
}

func casesWith(res *benchrig.GateResult, vs ...benchrig.GateVerdict) []benchrig.CaseGate {
	var out []benchrig.CaseGate
	for _, c := range res.Cases {
		if slices.Contains(vs, c.Verdict) {
			out = append(out, c)
		}
	}
	return out
}

// thresholds is the threshold the cases share ("5%") or "their thresholds".
func thresholds(cs []benchrig.CaseGate) string {
	if len(cs) == 0 {
		return percent(benchrig.DefaultMaxRegression)
	}
	for _, c := range cs[1:] {
		if c.MaxRegression != cs[0].MaxRegression {
			return "their thresholds"
		}
	}
	return percent(cs[0].MaxRegression)
}

// CILabels are the labels a CI job's environment gives a run: commit,
// branch, build_url, job and ci, from Jenkins, GitHub Actions or GitLab
// variables read through getenv.
func CILabels(getenv func(string) string) map[string]string {
	var l map[string]string
	set := func(k, v string) {
		if v == "" {
			return
		}
		if l == nil {
			l = map[string]string{}
		}
		l[k] = v
	}
	first := func(names ...string) string {
		for _, n := range names {
			if v := getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	switch {
	case getenv("JENKINS_URL") != "":
		set("ci", "jenkins")
		set("commit", getenv("GIT_COMMIT"))
		set("branch", strings.TrimPrefix(first("GIT_BRANCH", "BRANCH_NAME"), "origin/"))
		set("build_url", getenv("BUILD_URL"))
		set("job", getenv("JOB_NAME"))
	case getenv("GITHUB_ACTIONS") == "true":
		set("ci", "github")
		set("commit", getenv("GITHUB_SHA"))
		set("branch", first("GITHUB_HEAD_REF", "GITHUB_REF_NAME"))
		if s, r, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID"); s != "" && r != "" && id != "" {
			set("build_url", s+"/"+r+"/actions/runs/"+id)
		}
		wf, job := getenv("GITHUB_WORKFLOW"), getenv("GITHUB_JOB")
		switch {
		case wf != "" && job != "":
			set("job", wf+"/"+job)
		default:
			set("job", wf+job)
		}
	case getenv("GITLAB_CI") == "true":
		set("ci", "gitlab")
		set("commit", getenv("CI_COMMIT_SHA"))
		set("branch", getenv("CI_COMMIT_REF_NAME"))
		set("build_url", getenv("CI_JOB_URL"))
		set("job", getenv("CI_JOB_NAME"))
	}
	return l
}

// ParseMaxRegression parses --max-regression values: "5%" (or "0.05") for
// the spec, "k=v[,k=v]:10%" for the cases whose params match. A bare
// number must be a fraction below 1: "5" could mean 5% or 500%, and is
// refused. The last value for the spec wins; case thresholds keep their
// order, and the first that matches a case is its threshold, so give the
// narrower matches first. def is 0 when no value was for the spec.
func ParseMaxRegression(values []string) (def float64, cases []benchrig.CaseThreshold, err error) {
	bad := func(v, format string, args ...any) error {
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "max-regression", Msg: fmt.Sprintf("%q: ", v) + fmt.Sprintf(format, args...)}
	}
	for _, v := range values {
		spec, amount := "", strings.TrimSpace(v)
		if i := strings.LastIndex(v, ":"); i >= 0 {
			spec, amount = strings.TrimSpace(v[:i]), strings.TrimSpace(v[i+1:])
			if spec == "" {
				return 0, nil, bad(v, "no params before ':' (want k=v[,k=v]:10%%)")
			}
		}
		f, err := parseFraction(amount)
		if err != nil {
			return 0, nil, bad(v, "%s", err)
		}
		if spec == "" {
			def = f
			continue
		}
		match := map[string]string{}
		for _, kv := range strings.Split(spec, ",") {
			k, val, ok := strings.Cut(kv, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return 0, nil, bad(v, "%q is not k=v (want k=v[,k=v]:10%%)", kv)
			}
			if _, dup := match[k]; dup {
				return 0, nil, bad(v, "param %q given twice", k)
			}
			match[k] = strings.TrimSpace(val)
		}
		cases = append(cases, benchrig.CaseThreshold{Match: match, MaxRegression: f})
	}
	return def, cases, nil
}

// parseFraction reads "5%" or "0.05" as 0.05, refusing what is not
// strictly between 0 and 100%.
func parseFraction(s string) (float64, error) {
	if s == "" {
		return 0, fmt.Errorf("no threshold (want e.g. 5%%)")
	}
	pct := strings.HasSuffix(s, "%")
	num := strings.TrimSpace(strings.TrimSuffix(s, "%"))
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a threshold (want e.g. 5%% or 0.05)")
	}
	if pct {
		f /= 100
	} else if f >= 1 {
		return 0, fmt.Errorf("ambiguous: write %s%% for a percentage, or a fraction below 1 (0.05 is 5%%)", num)
	}
	if !(f > 0) || f >= 1 {
		return 0, fmt.Errorf("must be above 0%% and below 100%%")
	}
	return f, nil
}
