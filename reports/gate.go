package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/gate"
	"github.com/benchrig/benchrig/stats"
)

// The regression gate's outputs: the terminal's, JUnit XML for CI servers
// and Markdown for a pull-request comment. Each says the run's verdict,
// then each case's, with the numbers and the reason; a suspected
// regression also says how its re-run went.

// passWord is "PASS" or "FAIL": what the exit code says.
func passWord(passed bool) string {
	if passed {
		return "PASS"
	}
	return "FAIL"
}

// WriteGateText writes g for a terminal: the run's verdict, then a line
// per case with its numbers and reason.
func WriteGateText(w io.Writer, g *benchrig.GateResult) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "gate %s: %s\n", passWord(g.Passed), g.Summary)
	fmt.Fprintf(&b, "run %s against %s\n", g.Run, baselineText(g))
	fmt.Fprintf(&b, "test: %s\n\n", g.Test)
	caseW := len("case")
	for _, c := range g.Cases {
		caseW = max(caseW, utf8.RuneCountInString(oneLine(c.Case)))
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\t%-13s\tchange\t95%% CI\tmax\tn\t  %s\n", caseW, "case", "verdict", "reason")
	for _, c := range g.Cases {
		fmt.Fprintf(tw, "%-*s\t%-13s\t%s\t%s\t%s\t%s\t  %s\n", caseW, oneLine(c.Case), c.Verdict, gate.FormatChange(c.Ratio), gate.FormatCI(c.CILow, c.CIHigh),
			gate.FormatPercent(c.MaxRegression), nCell(c), oneLine(c.Reason))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write gate: %w", err)
	}
	b.WriteString("(change: Hodges-Lehmann estimate of the time ratio, candidate/baseline; CI: Moses' distribution-free 95% interval; max: the case's threshold; n: baseline/candidate successful trials)\n")
	for _, c := range g.Cases {
		if c.Confirmation != nil {
			fmt.Fprintf(&b, "confirmation of %s: %s\n", oneLine(c.Case), oneLine(confirmationText(c)))
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write gate: %w", err)
	}
	return nil
}

// baselineText names the baseline: "run X (last), started ..., labels
// branch=main", or why there is none.
func baselineText(g *benchrig.GateResult) string {
	if g.BaselineRun == "" {
		return fmt.Sprintf("no baseline: no run found for %q", g.Baseline)
	}
	s := "baseline run " + g.BaselineRun
	if g.Baseline != "" && g.Baseline != g.BaselineRun {
		s += " (" + g.Baseline + ")"
	}
	if !g.BaselineStarted.IsZero() {
		s += ", started " + g.BaselineStarted.UTC().Format(time.RFC3339)
	}
	if len(g.BaselineLabels) > 0 {
		s += ", labels " + labelsText(g.BaselineLabels)
	}
	return s
}

func labelsText(l map[string]string) string {
	parts := make([]string, 0, len(l))
	for _, k := range benchrig.SortedKeys(l) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, " ")
}

// nCell is "10/10" (baseline/candidate), with failed trials: "10/8+2
// failed".
func nCell(c benchrig.CaseGate) string {
	s := strconv.Itoa(c.BaselineN) + "/" + strconv.Itoa(c.CandidateN)
	if c.Failed > 0 {
		s += "+" + strconv.Itoa(c.Failed) + " failed"
	}
	return s
}

// confirmationText is a re-run in words: "run conf on lab2 (lab2,
// another node of lab1's class): +10.0% (95% CI +8.7%..+11.1%), n=10;
// pooled n=20: +10.0% (95% CI +9.1%..+10.9%): held".
func confirmationText(c benchrig.CaseGate) string {
	cf := c.Confirmation
	var b strings.Builder
	if cf.Run == "" {
		b.WriteString("no re-run")
	} else {
		b.WriteString("run " + cf.Run)
		if cf.Node != "" {
			b.WriteString(" on " + cf.Node)
		}
	}
	if cf.Where != "" {
		b.WriteString(" (" + cf.Where + ")")
	}
	if cf.Run != "" {
		fmt.Fprintf(&b, ": %s (95%% CI %s), n=%d", gate.FormatChange(cf.Ratio), gate.FormatCI(cf.CILow, cf.CIHigh), cf.N)
	}
	held := "held"
	if !cf.Held {
		held = "did not hold"
	}
	fmt.Fprintf(&b, "; pooled n=%d: %s (95%% CI %s) against %s: %s", cf.PooledN, gate.FormatChange(cf.PooledRatio), gate.FormatCI(cf.PooledCILow, cf.PooledCIHigh),
		gate.FormatPercent(c.MaxRegression), held)
	return b.String()
}

// The JUnit XML document, in the shape CI servers read (Jenkins' junit
// step, GitHub and GitLab test reports): testsuites > testsuite >
// testcase with failure or skipped.
type (
	junitSuites struct {
		XMLName xml.Name `xml:"testsuites"`
		Name    string   `xml:"name,attr"`
		junitCounts
		Suites []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name string `xml:"name,attr"`
		junitCounts
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
	}
	// junitCounts are the attributes a suite and the document share.
	junitCounts struct {
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Time     string `xml:"time,attr"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Classname string        `xml:"classname,attr"`
		Name      string        `xml:"name,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitFailure `xml:"failure"`
		Skipped   *junitSkipped `xml:"skipped"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Body    string `xml:",chardata"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr"`
	}
)

// WriteJUnit writes run as JUnit XML: one test case per benchmark case; a
// regression or failed trials is a failure whose message has the numbers;
// an inconclusive case is skipped with its reason. g may be nil (no gate).
func WriteJUnit(w io.Writer, run *benchrig.Run, g *benchrig.GateResult) error {
	suite := junitSuite{Name: run.SpecName, junitCounts: junitCounts{Time: secondsAttr(runDuration(run))}, Timestamp: timestampAttr(run.Started)}
	prop := func(k, v string) {
		if v != "" {
			suite.Properties = append(suite.Properties, junitProperty{k, v})
		}
	}
	prop("run", run.ID)
	prop("status", string(run.Status))
	if g != nil {
		prop("gate", g.Summary)
		prop("gate_passed", strconv.FormatBool(g.Passed))
		prop("baseline", g.Baseline)
		prop("baseline_run", g.BaselineRun)
		prop("confirmation_run", g.ConfirmationRun)
		prop("test", g.Test)
	}
	for _, k := range benchrig.SortedKeys(run.Labels) {
		prop("label."+k, run.Labels[k])
	}
	byCase := map[string]*benchrig.CaseGate{}
	if g != nil {
		for i := range g.Cases {
			byCase[g.Cases[i].Case] = &g.Cases[i]
		}
	}
	for _, c := range run.Cases {
		s := gate.SamplesOf(run, c.ID)
		jc := junitCase{Classname: run.SpecName, Name: c.ID, Time: secondsAttr(stats.Median(s.OK))}
		cg := byCase[c.ID]
		switch {
		case cg != nil:
			switch cg.Verdict {
			case benchrig.VerdictRegression:
				jc.Failure = &junitFailure{Message: regressionMessage(*cg, g), Type: "regression", Body: caseDetail(*cg)}
			case benchrig.VerdictTrialsFailed:
				jc.Failure = &junitFailure{Message: cg.Reason, Type: "trials failed", Body: caseDetail(*cg)}
			case benchrig.VerdictInconclusive:
				jc.Skipped = &junitSkipped{Message: "inconclusive: " + cg.Reason}
				jc.SystemOut = caseDetail(*cg)
			default:
				jc.SystemOut = caseDetail(*cg)
			}
		case s.Failed > 0:
			msg := fmt.Sprintf("%d of %d trials failed: %s", s.Failed, s.Measured, s.FirstError)
			jc.Failure = &junitFailure{Message: msg, Type: "trials failed", Body: msg}
		case len(s.OK) == 0 && run.Skipped[c.ID] != "":
			jc.Skipped = &junitSkipped{Message: "skipped: " + run.Skipped[c.ID]}
		default:
			jc.SystemOut = fmt.Sprintf("median %s, n=%d", FormatSeconds(stats.Median(s.OK)), len(s.OK))
		}
		suite.Tests++
		if jc.Failure != nil {
			suite.Failures++
		}
		if jc.Skipped != nil {
			suite.Skipped++
		}
		suite.Cases = append(suite.Cases, jc)
	}
	doc := junitSuites{Name: "benchrig", junitCounts: suite.junitCounts, Suites: []junitSuite{suite}}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	b.WriteString("\n")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

// regressionMessage is a regression's one line for a CI server: "slower
// by 9.8% (95% CI +7.9%..+11.6%) > 5%, confirmed by run X on lab2 (pooled
// n=20)". A confirmed regression gives the pooled figures.
func regressionMessage(c benchrig.CaseGate, g *benchrig.GateResult) string {
	ratio, lo, hi := c.Ratio, c.CILow, c.CIHigh
	cf := c.Confirmation
	if cf != nil && cf.PooledRatio > 0 {
		ratio, lo, hi = cf.PooledRatio, cf.PooledCILow, cf.PooledCIHigh
	}
	msg := fmt.Sprintf("slower by %s (95%% CI %s) > %s", strings.TrimPrefix(gate.FormatChange(ratio), "+"), gate.FormatCI(lo, hi), gate.FormatPercent(c.MaxRegression))
	switch {
	case cf != nil && cf.Run != "" && cf.N > 0:
		msg += ", confirmed by run " + cf.Run
		if cf.Node != "" {
			msg += " on " + cf.Node
		}
		msg += fmt.Sprintf(" (pooled n=%d)", cf.PooledN)
	case cf != nil:
		msg += ", not confirmed: the re-run could not be made or had no trials (first evidence only)"
	default:
		msg += " (no confirmation re-run)"
	}
	return msg
}

// caseDetail is a case's verdict in full, for a JUnit body.
func caseDetail(c benchrig.CaseGate) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", c.Verdict, c.Reason)
	fmt.Fprintf(&b, "change %s (95%% CI %s), threshold %s\n", gate.FormatChange(c.Ratio), gate.FormatCI(c.CILow, c.CIHigh), gate.FormatPercent(c.MaxRegression))
	fmt.Fprintf(&b, "baseline: median %s, n=%d, CV %s\n", secondsOrDash(c.BaselineMedian), c.BaselineN, gate.FormatPercent(c.BaselineCV))
	fmt.Fprintf(&b, "candidate: median %s, n=%d", secondsOrDash(c.CandidateMedian), c.CandidateN)
	if c.Failed > 0 {
		fmt.Fprintf(&b, ", %d failed", c.Failed)
	}
	b.WriteString("\n")
	if c.Confirmation != nil {
		b.WriteString("confirmation: " + confirmationText(c) + "\n")
	}
	return b.String()
}

func secondsOrDash(s float64) string {
	if !(s > 0) {
		return "-"
	}
	return FormatSeconds(s)
}

// secondsAttr is a JUnit time attribute: seconds with millisecond
// precision, "0" when unknown.
func secondsAttr(s float64) string {
	if !(s > 0) {
		return "0"
	}
	return strconv.FormatFloat(s, 'f', 3, 64)
}

func timestampAttr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}

func runDuration(run *benchrig.Run) float64 {
	if run.Started.IsZero() || run.Finished.IsZero() {
		return 0
	}
	return run.Finished.Sub(run.Started).Seconds()
}

// mdText escapes a user string for Markdown text and table cells: no
// emphasis, links, HTML or code from it, and no broken table.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		if strings.ContainsRune("\\`*_[]<|~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdCode is s as inline code, with a fence long enough for its backticks.
func mdCode(s string) string {
	s = oneLine(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	// A | ends a table cell even inside code.
	return fence + pad + strings.ReplaceAll(s, "|", `\|`) + pad + fence
}

// WriteGateMarkdown writes a summary of run and g fit for a pull-request
// comment or a CI step summary. g may be nil.
func WriteGateMarkdown(w io.Writer, run *benchrig.Run, g *benchrig.GateResult) error {
	var b bytes.Buffer
	if g == nil {
		failed := 0
		for _, c := range run.Cases {
			if gate.SamplesOf(run, c.ID).Failed > 0 {
				failed++
			}
		}
		fmt.Fprintf(&b, "## %s: **%s**\n\n", mdText(run.SpecName), passWord(failed == 0))
		fmt.Fprintf(&b, "Run %s, %s, no baseline gate", mdCode(run.ID), mdText(string(run.Status)))
		if failed > 0 {
			fmt.Fprintf(&b, ": %d of %d cases had failed trials", failed, len(run.Cases))
		}
		b.WriteString(".\n")
		writeBuildLink(&b, run)
		b.WriteString("\n| case | median | n | failed | note |\n|---|--:|--:|--:|---|\n")
		for _, c := range run.Cases {
			s := gate.SamplesOf(run, c.ID)
			note := ""
			switch {
			case s.Failed > 0:
				note = "trials failed: " + s.FirstError
			case len(s.OK) == 0 && run.Skipped[c.ID] != "":
				note = "skipped: " + run.Skipped[c.ID]
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %s |\n", mdText(c.ID), secondsOrDash(stats.Median(s.OK)), len(s.OK), s.Failed, mdText(note))
		}
	} else {
		fmt.Fprintf(&b, "## %s: **%s** (%s)\n\n", mdText(run.SpecName), passWord(g.Passed), mdText(string(g.Verdict)))
		fmt.Fprintf(&b, "%s\n\n", mdText(g.Summary))
		fmt.Fprintf(&b, "Run %s against ", mdCode(g.Run))
		if g.BaselineRun == "" {
			fmt.Fprintf(&b, "no baseline (none found for %s)", mdCode(g.Baseline))
		} else {
			fmt.Fprintf(&b, "baseline run %s", mdCode(g.BaselineRun))
			if g.Baseline != "" && g.Baseline != g.BaselineRun {
				fmt.Fprintf(&b, " (%s)", mdCode(g.Baseline))
			}
			if !g.BaselineStarted.IsZero() {
				fmt.Fprintf(&b, ", started %s", g.BaselineStarted.UTC().Format(time.RFC3339))
			}
			if len(g.BaselineLabels) > 0 {
				fmt.Fprintf(&b, ", labels %s", mdCode(labelsText(g.BaselineLabels)))
			}
		}
		if g.ConfirmationRun != "" {
			fmt.Fprintf(&b, "; suspects re-run in %s", mdCode(g.ConfirmationRun))
			if g.ConfirmTime > 0 {
				fmt.Fprintf(&b, " (%s)", FormatDuration(g.ConfirmTime))
			}
		}
		b.WriteString(".\n")
		writeBuildLink(&b, run)
		b.WriteString("\n| case | verdict | change | 95% CI | max | n | median baseline | median candidate | reason |\n|---|---|--:|--:|--:|--:|--:|--:|---|\n")
		for _, c := range g.Cases {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mdText(c.Case), verdictMD(c.Verdict), gate.FormatChange(c.Ratio),
				gate.FormatCI(c.CILow, c.CIHigh), gate.FormatPercent(c.MaxRegression), mdText(nCell(c)),
				secondsOrDash(c.BaselineMedian), secondsOrDash(c.CandidateMedian), mdText(c.Reason))
		}
		var conf []string
		for _, c := range g.Cases {
			if c.Confirmation != nil {
				conf = append(conf, fmt.Sprintf("- %s: %s", mdText(c.Case), mdText(confirmationText(c))))
			}
		}
		if len(conf) > 0 {
			b.WriteString("\nConfirmation re-runs:\n\n" + strings.Join(conf, "\n") + "\n")
		}
		fmt.Fprintf(&b, "\nTest: %s.\n", mdText(g.Test))
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write markdown gate: %w", err)
	}
	return nil
}

// verdictMD marks the failing verdicts in bold.
func verdictMD(v benchrig.GateVerdict) string {
	if v == benchrig.VerdictRegression || v == benchrig.VerdictTrialsFailed {
		return "**" + string(v) + "**"
	}
	return string(v)
}

// writeBuildLink links the CI build that made the run, from its
// build_url label, when it is an http(s) URL.
func writeBuildLink(b *bytes.Buffer, run *benchrig.Run) {
	u := run.Labels["build_url"]
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return
	}
	// Angle-bracket autolinks cannot hold spaces or < >: encode them.
	u = strings.NewReplacer(" ", "%20", "<", "%3C", ">", "%3E").Replace(u)
	fmt.Fprintf(b, "Build: <%s>", u)
	if c := run.Labels["commit"]; c != "" {
		fmt.Fprintf(b, ", commit %s", mdCode(c))
	}
	if br := run.Labels["branch"]; br != "" {
		fmt.Fprintf(b, ", branch %s", mdCode(br))
	}
	b.WriteString("\n")
}
