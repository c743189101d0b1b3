package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/stats"
)

// SchemaVersion is the version of the JSON document written by WriteJSON;
// SCHEMA.md describes it. It changes when a field changes meaning or goes
// away, not when one is added.
const SchemaVersion = 1

// The JSON document. Structs, not maps, so that key order is fixed;
// optional numbers are pointers so that undefined values are null rather
// than NaN, which JSON cannot carry.
type (
	jsonReport struct {
		SchemaVersion int                  `json:"schema_version"`
		RunID         string               `json:"run_id"`
		Status        string               `json:"status"`
		Started       *string              `json:"started"`
		Finished      *string              `json:"finished"`
		Spec          jsonSpec             `json:"spec"`
		Overrides     []string             `json:"overrides"`
		Fingerprint   benchrig.Fingerprint `json:"fingerprint"`
		Baseline      string               `json:"baseline"`
		Cases         []jsonCase           `json:"cases"`
		Comparisons   []jsonComparison     `json:"comparisons"`
		GeoMean       *jsonGeoMean         `json:"geomean,omitempty"`
		WarningGroups []jsonWarningGroup   `json:"warning_groups"`
		Scaling       []jsonScaling        `json:"scaling,omitempty"`
		Notes         map[string]string    `json:"notes"`
		Nodes         []benchrig.NodeFacts `json:"nodes,omitempty"`
		NodeEvents    []benchrig.NodeEvent `json:"node_events,omitempty"`
		RunWarnings   []string             `json:"run_warnings,omitempty"`
		Labels        map[string]string    `json:"labels,omitempty"`
		Collection    *jsonCollection      `json:"collection"`
		// Gate is the run judged against its baseline, as recorded
		// (benchrig.GateResult's own JSON); omitted without a gate.
		Gate *benchrig.GateResult `json:"gate,omitempty"`
		// Profiling is how the run was profiled and what it cost;
		// omitted for a run not profiled.
		Profiling *jsonProfiling `json:"profiling,omitempty"`
	}
	jsonSpec struct {
		Name string `json:"name"`
		Hash string `json:"hash"`
		File string `json:"file"`
	}
	jsonCase struct {
		ID         string            `json:"id"`
		Params     map[string]string `json:"params"`
		Node       string            `json:"node"`
		Arch       string            `json:"arch,omitempty"`
		Image      string            `json:"image,omitempty"`
		Trials     []jsonTrial       `json:"trials"`
		Stats      *jsonStats        `json:"stats"`
		Throughput *jsonThroughput   `json:"throughput,omitempty"`
		ByteRate   *jsonThroughput   `json:"throughput_bytes,omitempty"`
		Ceiling    *jsonCeiling      `json:"ceiling,omitempty"`
		Files      int               `json:"files,omitempty"`
		Skipped    string            `json:"skipped,omitempty"`
		Warnings   []Warning         `json:"warnings"`
		Note       string            `json:"note"`
	}
	jsonCeiling struct {
		Case     string   `json:"case"`
		Rate     *float64 `json:"rate"`
		Fraction *float64 `json:"fraction"`
	}
	jsonTrial struct {
		Seq         int                 `json:"seq"`
		Index       int                 `json:"index"`
		Number      int                 `json:"number"`
		Start       *string             `json:"start"`
		WallS       float64             `json:"wall_s"`
		UserS       float64             `json:"user_s"`
		SysS        float64             `json:"sys_s"`
		MaxRSSBytes int64               `json:"max_rss_bytes"`
		ExitCode    int                 `json:"exit_code"`
		Warmup      bool                `json:"warmup"`
		ProfileOnly bool                `json:"profile_only,omitempty"`
		Profiled    bool                `json:"profiled,omitempty"`
		Failed      bool                `json:"failed"`
		Outcome     string              `json:"outcome"`
		Reason      string              `json:"reason,omitempty"`
		Attempt     int                 `json:"attempt,omitempty"`
		StdoutBytes int64               `json:"stdout_bytes"`
		StderrBytes int64               `json:"stderr_bytes"`
		Error       string              `json:"error"`
		StderrTail  string              `json:"stderr_tail,omitempty"`
		Source      string              `json:"source"`
		Node        string              `json:"node"`
		Rate        *float64            `json:"rate,omitempty"`
		Noise       *jsonNoise          `json:"noise,omitempty"`
		Metrics     map[string]*float64 `json:"metrics"`
	}
	jsonStats struct {
		N            int        `json:"n"`
		MedianS      float64    `json:"median_s"`
		MeanS        float64    `json:"mean_s"`
		StddevS      float64    `json:"stddev_s"`
		MinS         float64    `json:"min_s"`
		MaxS         float64    `json:"max_s"`
		MADS         float64    `json:"mad_s"`
		MADScaledS   float64    `json:"mad_scaled_s"`
		CV           float64    `json:"cv"`
		CI95LowS     float64    `json:"ci95_low_s"`
		CI95HighS    float64    `json:"ci95_high_s"`
		CIMethod     string     `json:"ci_method"`
		CI95Coverage float64    `json:"ci95_coverage"`
		Outliers     []int      `json:"outliers"`
		Measured     int        `json:"measured"`
		Failed       int        `json:"failed"`
		Warmups      int        `json:"warmups"`
		Samples      []float64  `json:"samples_s"`
		UserMedianS  *float64   `json:"user_median_s"`
		SysMedianS   *float64   `json:"sys_median_s"`
		MaxRSSMedian *float64   `json:"max_rss_median_bytes"`
		Bimodal      *jsonModes `json:"bimodal,omitempty"`
	}
	jsonModes struct {
		LowMedianS  float64 `json:"low_median_s"`
		NLow        int     `json:"n_low"`
		HighMedianS float64 `json:"high_median_s"`
		NHigh       int     `json:"n_high"`
	}
	jsonGeoMean struct {
		N        int      `json:"n"`
		Ratio    *float64 `json:"ratio"`
		CI95Low  *float64 `json:"ci95_low"`
		CI95High *float64 `json:"ci95_high"`
	}
	jsonWarningGroup struct {
		Code    string   `json:"code"`
		Cases   []string `json:"cases"`
		Details []string `json:"details"`
		Action  string   `json:"action"`
	}
	jsonThroughput struct {
		Unit         string   `json:"unit"`
		RateUnit     string   `json:"rate_unit"`
		PerTrial     float64  `json:"per_trial"`
		RateMedian   *float64 `json:"rate_median"`
		RateCI95Low  *float64 `json:"rate_ci95_low"`
		RateCI95High *float64 `json:"rate_ci95_high"`
	}
	jsonComparison struct {
		Case      string `json:"case"`
		Baseline  string `json:"baseline"`
		NCase     int    `json:"n_case"`
		NBaseline int    `json:"n_baseline"`
		jsonTest
		PerUnit bool `json:"per_unit,omitempty"`
		// MixedNodes: Comparison.MixedNodes.
		MixedNodes []string `json:"mixed_nodes,omitempty"`
	}
	// jsonTest is the figures of a stats.Comparison, shared by a run's
	// comparisons and a comparison of runs (its fields are inlined).
	jsonTest struct {
		Ratio    *float64 `json:"ratio"`
		CI95Low  *float64 `json:"ci95_low"`
		CI95High *float64 `json:"ci95_high"`
		CIMethod string   `json:"ci_method"`
		U        *float64 `json:"u"`
		PValue   *float64 `json:"p_value"`
		PMethod  string   `json:"p_method"`
		MDE      *float64 `json:"mde"`
		Verdict  string   `json:"verdict"`
	}
	jsonScaling struct {
		Param  string             `json:"param"`
		Groups []jsonScalingGroup `json:"groups"`
	}
	jsonScalingGroup struct {
		Fixed  map[string]string  `json:"fixed"`
		Points []jsonScalingPoint `json:"points"`
		Knee   *jsonKnee          `json:"knee,omitempty"`
	}
	jsonKnee struct {
		Found       bool     `json:"found"`
		Determined  bool     `json:"determined"`
		Value       float64  `json:"value"`
		Next        *float64 `json:"next"`
		Gain        *float64 `json:"gain"`
		GainLow     *float64 `json:"gain_ci95_low"`
		GainHigh    *float64 `json:"gain_ci95_high"`
		Threshold   float64  `json:"threshold"`
		Bound       string   `json:"bound"`
		Reason      string   `json:"reason"`
		CPUBusy     *float64 `json:"cpu_busy"`
		Cores       int      `json:"cores"`
		ReadRate    *float64 `json:"read_bytes_per_s"`
		ReadCap     *float64 `json:"read_cap_bytes_per_s"`
		FileSeconds *float64 `json:"seconds_per_file"`
	}
	jsonScalingPoint struct {
		Case       string   `json:"case"`
		Value      float64  `json:"value"`
		MedianS    *float64 `json:"median_s"`
		Rate       *float64 `json:"rate,omitempty"`
		Speedup    *float64 `json:"speedup"`
		Efficiency *float64 `json:"efficiency"`
	}
)

// num is f, or nil (JSON null) when f is NaN or infinite.
func num(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func timeString(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.Format(time.RFC3339Nano)
	return &s
}

func kvMap(kvs []benchrig.KV) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Name] = kv.Value
	}
	return m
}

// bootstrapMethod names how Comparison's ratio CI is computed.
var bootstrapMethod = fmt.Sprintf("bootstrap-percentile-%d-pcg-fixed-seed", stats.BootstrapResamples)

// WriteJSON writes r as the JSON document described in SCHEMA.md.
func WriteJSON(w io.Writer, r *Report) error {
	doc := jsonReport{
		SchemaVersion: SchemaVersion,
		RunID:         r.RunID,
		Status:        string(r.Status),
		Started:       timeString(r.Started),
		Finished:      timeString(r.Finished),
		Spec:          jsonSpec{Name: r.SpecName, Hash: r.SpecHash, File: r.SpecFile},
		Overrides:     r.Overrides,
		Fingerprint:   r.Fingerprint,
		Baseline:      r.BaselineID,
		Cases:         []jsonCase{},
		Comparisons:   []jsonComparison{},
		Notes:         r.Notes,
		Nodes:         r.Nodes,
		NodeEvents:    r.NodeEvents,
		RunWarnings:   r.RunWarnings,
		Labels:        r.Labels,
		Collection:    jsonCollectionOf(r.Collection),
		Gate:          r.Gate,
		Profiling:     jsonProfilingOf(r),
	}
	if doc.Overrides == nil {
		doc.Overrides = []string{}
	}
	if doc.Notes == nil {
		doc.Notes = map[string]string{}
	}
	for i := range r.Cases {
		doc.Cases = append(doc.Cases, jsonCaseOf(r, &r.Cases[i]))
	}
	for _, c := range r.Comparisons {
		doc.Comparisons = append(doc.Comparisons, jsonComparison{
			Case: c.Case, Baseline: c.Baseline, NCase: c.NCase, NBaseline: c.NBaseline,
			jsonTest: jsonTestOf(c.Comparison), PerUnit: c.PerUnit, MixedNodes: c.MixedNodes,
		})
	}
	doc.GeoMean = jsonGeoMeanOf(r.GeoMean)
	doc.WarningGroups = []jsonWarningGroup{}
	for _, g := range GroupWarnings(r) {
		doc.WarningGroups = append(doc.WarningGroups, jsonWarningGroup{Code: g.Code, Cases: g.Cases, Details: g.Details, Action: g.Action})
	}
	for _, s := range r.Scaling {
		js := jsonScaling{Param: s.Param}
		for _, g := range s.Groups {
			jg := jsonScalingGroup{Fixed: kvMap(g.Fixed)}
			for _, p := range g.Points {
				jg.Points = append(jg.Points, jsonScalingPoint{Case: p.CaseID, Value: p.Value, MedianS: num(p.Median), Rate: num(p.Rate), Speedup: num(p.Speedup), Efficiency: num(p.Efficiency)})
			}
			if k := g.Knee; k != nil {
				jk := &jsonKnee{Found: k.Found, Determined: k.Determined, Value: k.Value, Gain: num(k.Gain), GainLow: num(k.GainLow), GainHigh: num(k.GainHigh),
					Threshold: KneeGain, Bound: k.Bound, Reason: k.Reason}
				if k.Found && k.Determined {
					jk.Next, jk.CPUBusy, jk.Cores = num(k.Next), num(k.CPUBusy), k.Cores
					jk.ReadRate, jk.ReadCap, jk.FileSeconds = num(k.ReadRate), num(k.ReadCap), num(k.FileTime)
				}
				jg.Knee = jk
			}
			js.Groups = append(js.Groups, jg)
		}
		doc.Scaling = append(doc.Scaling, js)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

func jsonCaseOf(r *Report, c *CaseReport) jsonCase {
	jc := jsonCase{
		ID:       c.Case.ID,
		Params:   kvMap(c.Case.Params),
		Node:     c.Node,
		Arch:     c.Arch,
		Image:    c.Image,
		Trials:   []jsonTrial{},
		Warnings: c.Warnings,
		Note:     c.Note,
		Files:    c.Files,
		Skipped:  c.Skipped,
	}
	if c.Ceiling != nil {
		jc.Ceiling = &jsonCeiling{Case: c.Ceiling.Case, Rate: num(c.Ceiling.Rate), Fraction: num(c.Ceiling.Fraction)}
	}
	if jc.Warnings == nil {
		jc.Warnings = []Warning{}
	}
	rates := map[int]float64{}
	if c.Throughput != nil {
		for i, seq := range c.SampleSeqs {
			rates[seq] = c.Throughput.TrialRates[i]
		}
	}
	for _, t := range c.Trials {
		jt := jsonTrial{
			Seq: t.Seq, Index: t.Index, Number: t.Number, Start: timeString(t.Start),
			WallS: t.Wall.Seconds(), UserS: t.User.Seconds(), SysS: t.Sys.Seconds(),
			MaxRSSBytes: t.MaxRSS, ExitCode: t.ExitCode, Warmup: t.Warmup, ProfileOnly: t.ProfileOnly, Profiled: t.Profiled, Failed: t.Failed(),
			Outcome: t.Result().String(), Reason: t.Reason, Attempt: t.Attempt,
			StdoutBytes: t.StdoutBytes, StderrBytes: t.StderrBytes, Error: t.Error, Source: t.Source, Node: t.Node,
			Metrics: map[string]*float64{}, Noise: jsonNoiseOf(t.Noise),
		}
		if t.Failed() {
			jt.StderrTail = t.StderrTail
		}
		if rate, ok := rates[t.Seq]; ok && !t.Warmup {
			jt.Rate = num(rate)
		}
		for k, v := range t.Metrics {
			jt.Metrics[k] = num(v)
		}
		jc.Trials = append(jc.Trials, jt)
	}
	if s := c.Stats; s.N > 0 {
		jc.Stats = &jsonStats{
			N: s.N, MedianS: s.Median, MeanS: s.Mean, StddevS: s.Stddev, MinS: s.Min, MaxS: s.Max,
			MADS: s.MAD, MADScaledS: s.MADScaled, CV: s.CV,
			CI95LowS: s.CILow, CI95HighS: s.CIHigh, CIMethod: s.CIMethod, CI95Coverage: s.CICoverage,
			Outliers: c.OutlierSeqs(), Measured: c.Measured, Failed: c.Failed, Warmups: c.Warmups,
			Samples:     c.Samples,
			UserMedianS: num(c.Resources.User), SysMedianS: num(c.Resources.Sys), MaxRSSMedian: num(c.Resources.MaxRSS),
		}
		if s.Bimodal {
			jc.Stats.Bimodal = &jsonModes{LowMedianS: s.BimodalLow, NLow: s.BimodalNLow, HighMedianS: s.BimodalHigh, NHigh: s.N - s.BimodalNLow}
		}
	}
	jc.Throughput, jc.ByteRate = jsonThroughputOf(c.Throughput), jsonThroughputOf(c.ByteRate)
	return jc
}

func jsonGeoMeanOf(g *stats.GeoMean) *jsonGeoMean {
	if g == nil {
		return nil
	}
	return &jsonGeoMean{N: g.N, Ratio: num(g.Ratio), CI95Low: num(g.CILow), CI95High: num(g.CIHigh)}
}

func jsonThroughputOf(tp *Throughput) *jsonThroughput {
	if tp == nil {
		return nil
	}
	return &jsonThroughput{
		Unit: string(tp.Unit), RateUnit: string(tp.Unit) + "/s", PerTrial: tp.PerTrial,
		RateMedian: num(tp.RateMedian), RateCI95Low: num(tp.RateCILow), RateCI95High: num(tp.RateCIHigh),
	}
}

// resourceCells are a case's median CPU times and peak memory, "-" for
// what was not measured.
func resourceCells(c *CaseReport) (user, sys, mem string) {
	if c.Stats.N == 0 {
		return "-", "-", "-"
	}
	return formatSeconds(c.Resources.User), formatSeconds(c.Resources.Sys), formatBytes(c.Resources.MaxRSS)
}

// throughputCell is a case's rate, with its byte rate beside an item rate.
func throughputCell(c *CaseReport) string {
	if c.Throughput == nil {
		return "-"
	}
	s := formatRate(c.Throughput.RateMedian, c.Throughput.Unit)
	if c.ByteRate != nil {
		s += " (" + formatRate(c.ByteRate.RateMedian, c.ByteRate.Unit) + ")"
	}
	return s
}

// paramNames returns the param names of r's cases in first-seen order.
func paramNames(r *Report) []string {
	var names []string
	seen := map[string]bool{}
	for _, c := range r.Cases {
		for _, kv := range c.Case.Params {
			if !seen[kv.Name] {
				seen[kv.Name] = true
				names = append(names, kv.Name)
			}
		}
	}
	return names
}

// WriteCSV writes one row per trial, warmups, profiled extra trials and
// failed trials included,
// with a header row. Each param is its own column, "param.<name>"; the
// last, case_warnings, is the codes of the case's warnings.
func WriteCSV(w io.Writer, r *Report) error {
	names := paramNames(r)
	cw := csv.NewWriter(w)
	header := []string{"run_id", "case"}
	for _, n := range names {
		header = append(header, "param."+n)
	}
	header = append(header, "seq", "index", "warmup", "failed", "node", "wall_s", "user_s", "sys_s",
		"max_rss_bytes", "exit_code", "stdout_bytes", "stderr_bytes", "error", "source", "outcome", "attempt", "reason", "number", "case_warnings",
		"noise_other_cpu_share", "noise_steal_share", "noise_disturbed", "profile_only", "profiled")
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write csv report: %w", err)
	}
	for _, c := range r.Cases {
		var codes []string
		for _, w := range c.Warnings {
			codes = append(codes, w.Code)
		}
		for _, t := range c.Trials {
			row := []string{r.RunID, c.Case.ID}
			for _, n := range names {
				v, _ := c.Case.Get(n)
				row = append(row, v)
			}
			row = append(row,
				strconv.Itoa(t.Seq), strconv.Itoa(t.Index), strconv.FormatBool(t.Warmup), strconv.FormatBool(t.Failed()), t.Node,
				formatFloat(t.Wall.Seconds()), formatFloat(t.User.Seconds()), formatFloat(t.Sys.Seconds()),
				strconv.FormatInt(t.MaxRSS, 10), strconv.Itoa(t.ExitCode),
				strconv.FormatInt(t.StdoutBytes, 10), strconv.FormatInt(t.StderrBytes, 10),
				t.Error, t.Source, t.Result().String(), strconv.Itoa(t.Attempt), t.Reason, strconv.Itoa(t.Number), strings.Join(codes, " "))
			row = append(row, noiseCells(t.Noise)...)
			row = append(row, strconv.FormatBool(t.ProfileOnly), strconv.FormatBool(t.Profiled))
			if err := cw.Write(row); err != nil {
				return fmt.Errorf("write csv report: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv report: %w", err)
	}
	return nil
}

// mdEscape keeps a cell from breaking a Markdown table.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// WriteMarkdown writes summary tables: one row per case, then the
// comparisons against the baseline, then scaling.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", mdEscape(r.SpecName))
	fmt.Fprintf(&b, "Run `%s`, %s", r.RunID, r.Status)
	if !r.Started.IsZero() {
		fmt.Fprintf(&b, ", %s %s", startedWord(r.Fingerprint), r.Started.Format(time.RFC3339))
	}
	if !r.Finished.IsZero() && !r.Started.IsZero() && !r.Fingerprint.Imported() {
		fmt.Fprintf(&b, ", took %s", FormatDuration(r.Finished.Sub(r.Started)))
	}
	fmt.Fprintf(&b, ".  \nHost: %s.  \nSpec: `%s` (sha256 %s).", mdEscape(r.Fingerprint.String()), mdEscape(r.SpecFile), short(r.SpecHash))
	if !r.Fingerprint.Imported() {
		fmt.Fprintf(&b, "  \n%s.", mdEscape(upperFirst(CollectionLine(r.Collection))))
		if l := ProfileLine(r); l != "" {
			fmt.Fprintf(&b, "  \n%s.", mdEscape(upperFirst(l)))
		}
	}
	b.WriteString("\n\n")

	names := paramNames(r)
	b.WriteString("## Cases\n\n|")
	for _, n := range names {
		fmt.Fprintf(&b, " %s |", mdEscape(n))
	}
	if len(names) == 0 {
		b.WriteString(" case |")
	}
	hasCeil := false
	for _, c := range r.Cases {
		hasCeil = hasCeil || c.Ceiling != nil
	}
	b.WriteString(" n | median | 95% CI | min | max | user | sys | peak mem | throughput |")
	if hasCeil {
		b.WriteString(" of ceiling |")
	}
	b.WriteString(" warnings |\n|")
	for range max(1, len(names)) {
		b.WriteString("---|")
	}
	b.WriteString("--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	if hasCeil {
		b.WriteString("--:|")
	}
	b.WriteString("---|\n")
	for _, c := range r.Cases {
		b.WriteString("|")
		for _, n := range names {
			v, _ := c.Case.Get(n)
			fmt.Fprintf(&b, " %s |", mdEscape(v))
		}
		if len(names) == 0 {
			fmt.Fprintf(&b, " %s |", mdEscape(c.Case.ID))
		}
		s := c.Stats
		n := fmt.Sprintf("%d", s.N)
		if c.Failed > 0 {
			n += fmt.Sprintf(" (%d failed)", c.Failed)
		}
		med, ci, mn, mx := "-", "-", "-", "-"
		if s.N > 0 {
			med, ci, mn, mx = formatSeconds(s.Median), formatSecondsRange(s.CILow, s.CIHigh), formatSeconds(s.Min), formatSeconds(s.Max)
			if s.CIMethod == stats.CIRange {
				ci += " (range)"
			}
		}
		tp := throughputCell(&c)
		var codes []string
		if c.Skipped != "" {
			codes = append(codes, "skipped")
		}
		for _, w := range c.Warnings {
			codes = append(codes, w.Code)
		}
		user, sys, mem := resourceCells(&c)
		fmt.Fprintf(&b, " %s | %s | %s | %s | %s | %s | %s | %s | %s |", n, med, ci, mn, mx, user, sys, mem, tp)
		if hasCeil {
			fmt.Fprintf(&b, " %s |", ceilingCell(c.Ceiling))
		}
		fmt.Fprintf(&b, " %s |\n", strings.Join(codes, ", "))
	}
	var skipped []string
	for _, c := range r.Cases {
		if c.Skipped != "" {
			skipped = append(skipped, fmt.Sprintf("- `%s` skipped: %s\n", mdEscape(c.Case.ID), mdEscape(c.Skipped)))
		}
	}
	if groups := GroupWarnings(r); len(groups) > 0 || len(skipped) > 0 {
		b.WriteString("\nWarnings (each case's in the JSON export):\n\n")
		b.WriteString(strings.Join(skipped, ""))
		for _, g := range groups {
			fmt.Fprintf(&b, "- %s on %s. What to do: %s\n", g.Code, mdEscape(groupCases(g, func(id string) string { return "`" + id + "`" })), mdEscape(g.Action))
		}
	}

	if len(r.Comparisons) > 0 {
		if len(distinctBaselines(r)) > 1 {
			b.WriteString("\n## Compared with each group's baseline\n\n")
		} else {
			fmt.Fprintf(&b, "\n## Compared with `%s`\n\n", mdEscape(r.BaselineID))
		}
		b.WriteString("Ratio is median time over the baseline's (< 1 is faster); its 95% CI is a bootstrap percentile interval, p is a two-sided Mann-Whitney U test.\n\n")
		b.WriteString("| case | baseline | ratio | 95% CI | p | verdict | detectable |\n|---|---|--:|--:|--:|---|--:|\n")
		for _, c := range r.Comparisons {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", mdEscape(c.Case), mdEscape(c.Baseline), formatRatio(c.Ratio), ratioCI(c), pCell(c.P), verdictCell(c), mdeCell(c.Comparison))
		}
		if g := r.GeoMean; g != nil {
			fmt.Fprintf(&b, "| geomean (%d) | | %s | %s | | | |\n", g.N, formatRatio(g.Ratio), geoMeanCI(g))
		}
		b.WriteString("\nDetectable: for no significant difference, the smallest change of the median this run could have detected (80% power at p < 0.05).\n")
	}

	for _, s := range r.Scaling {
		fmt.Fprintf(&b, "\n## Scaling by %s\n\n", mdEscape(s.Param))
		for _, g := range s.Groups {
			if len(g.Fixed) > 0 {
				fmt.Fprintf(&b, "With %s:\n\n", mdEscape(benchrig.CaseID(g.Fixed)))
			}
			fmt.Fprintf(&b, "| %s | median | speedup | efficiency |\n|--:|--:|--:|--:|\n", mdEscape(s.Param))
			for _, p := range g.Points {
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", formatFloat(p.Value), formatSeconds(p.Median), speedupCell(p.Speedup), efficiencyCell(p.Efficiency))
			}
			if g.Knee != nil {
				fmt.Fprintf(&b, "\n%s\n", mdEscape(kneeText(s.Param, g.Knee)))
			}
			b.WriteString("\n")
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write markdown report: %w", err)
	}
	return nil
}

func ceilingCell(c *CeilingShare) string {
	if c == nil || math.IsNaN(c.Fraction) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*c.Fraction)
}

func distinctBaselines(r *Report) map[string]bool {
	m := map[string]bool{}
	for _, c := range r.Comparisons {
		m[c.Baseline] = true
	}
	return m
}

// kneeText puts a knee into words: "knee at jobs=2: going to 3 gained 3%
// (< 10%); cpu-bound: cores saturated: 1.96 of 2 cores busy".
func kneeText(param string, k *Knee) string {
	switch {
	case !k.Determined:
		return "knee " + k.Reason
	case !k.Found:
		return "no knee: " + k.Reason
	}
	return fmt.Sprintf("knee at %s=%s: going to %s %s in speedup (95%% CI %s, under %.0f%%); %s: %s",
		param, formatFloat(k.Value), formatFloat(k.Next), gainWords(k.Gain), gainCI(k.GainLow, k.GainHigh), 100*KneeGain, k.Bound, k.Reason)
}

func ratioCI(c Comparison) string {
	if math.IsNaN(c.CILow) {
		return "-"
	}
	return formatRatio(c.CILow) + "-" + formatRatio(c.CIHigh)
}

// mdeCell is the detectable change of a comparison without a verdict
// ("±4.2%"); "-" with one: what it found says more.
func mdeCell(c stats.Comparison) string {
	if math.IsNaN(c.MDE) || c.Verdict != stats.NoDifference {
		return "-"
	}
	return "±" + pct(c.MDE)
}

func geoMeanCI(g *stats.GeoMean) string {
	if math.IsNaN(g.CILow) {
		return "none"
	}
	return formatRatio(g.CILow) + "-" + formatRatio(g.CIHigh)
}

func pCell(p float64) string {
	if math.IsNaN(p) {
		return "-"
	}
	return strings.TrimPrefix(strings.Replace(formatP(p), "p<", "<", 1), "p=")
}

func speedupCell(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return formatRatio(f) + "x"
}

func efficiencyCell(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}

// describe puts a comparison into words:
// "impl=busybox is 14.2x slower than impl=gnu (95% CI 13.9-14.6x, p<0.001)",
// followed by "; pools trials from 2 nodes (lab1, lab2)" when it does.
func describe(c Comparison, subject, than string) string {
	return describeTest(c, subject, than) + pooledText(c.MixedNodes)
}

func describeTest(c Comparison, subject, than string) string {
	switch c.Verdict {
	case stats.Insufficient:
		return fmt.Sprintf("%s vs %s: insufficient data (%d and %d successful trials; 2 each needed)", subject, than, c.NCase, c.NBaseline)
	case stats.TooFew:
		return fmt.Sprintf("%s vs %s: too few trials to tell (time ratio %s, 95%% CI %s-%s): with %d and %d trials the rank test cannot reach p < %g whatever the times; %d or more per case needed",
			subject, than, formatRatio(c.Ratio), formatRatio(c.CILow), formatRatio(c.CIHigh), c.NCase, c.NBaseline, stats.Alpha, stats.TrialsToTell())
	case stats.Faster:
		return fmt.Sprintf("%s is %sx faster than %s (95%% CI %s-%sx, %s)", subject, formatRatio(1/c.Ratio), than, formatRatio(1/c.CIHigh), formatRatio(1/c.CILow), formatP(c.P))
	case stats.Slower:
		return fmt.Sprintf("%s is %sx slower than %s (95%% CI %s-%sx, %s)", subject, formatRatio(c.Ratio), than, formatRatio(c.CILow), formatRatio(c.CIHigh), formatP(c.P))
	}
	return fmt.Sprintf("%s: no significant difference from %s (time ratio %s, 95%% CI %s-%s, %s)%s", subject, than, formatRatio(c.Ratio), formatRatio(c.CILow), formatRatio(c.CIHigh), formatP(c.P), mdeText(c.MDE))
}

// mdeText says what a comparison without a verdict could have found:
// "; this run could detect changes of about ±4.2% or more".
func mdeText(mde float64) string {
	if math.IsNaN(mde) {
		return ""
	}
	return "; this run could detect changes of about ±" + pct(mde) + " or more"
}

// geoMeanText renders a geometric mean of time ratios with its CI:
// "1.52 (95% CI 1.41-1.63)", or "(no CI: ...)" when it has none.
func geoMeanText(g *stats.GeoMean) string {
	if math.IsNaN(g.CILow) {
		return formatRatio(g.Ratio) + " (no CI: a case has fewer than 2 trials)"
	}
	return fmt.Sprintf("%s (95%% CI %s-%s)", formatRatio(g.Ratio), formatRatio(g.CILow), formatRatio(g.CIHigh))
}

// maxGroupCases is how many cases a warning group names before "and N
// more": the JSON export has them all.
const maxGroupCases = 6

// groupCases renders the cases of a warning group with their figures:
// "2 cases: a (CV 15%), b (CV 12%)".
func groupCases(g WarningGroup, label func(string) string) string {
	var parts []string
	for i, id := range g.Cases {
		if i == maxGroupCases {
			parts = append(parts, fmt.Sprintf("and %d more", len(g.Cases)-i))
			break
		}
		p := label(id)
		if p == "" {
			p = id
		}
		if g.Details[i] != "" {
			p += " (" + g.Details[i] + ")"
		}
		parts = append(parts, p)
	}
	n := "1 case"
	if len(g.Cases) != 1 {
		n = fmt.Sprintf("%d cases", len(g.Cases))
	}
	return n + ": " + strings.Join(parts, ", ")
}

// WriteText writes the terminal view: a table of the cases (wall time,
// CPU time and peak memory), the comparisons in words with their
// geometric mean, scaling, then the warnings grouped by kind, each once
// with the cases it affects and what to do.
func WriteText(w io.Writer, r *Report) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "run %s  %s  %s\n", r.RunID, r.SpecName, r.Status)
	if !r.Started.IsZero() {
		fmt.Fprintf(&b, "%s %s", startedWord(r.Fingerprint), r.Started.Format(time.RFC3339))
		if !r.Finished.IsZero() && !r.Fingerprint.Imported() {
			fmt.Fprintf(&b, ", took %s", FormatDuration(r.Finished.Sub(r.Started)))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "on %s\n", r.Fingerprint)
	if !r.Fingerprint.Imported() {
		// Overhead is part of every result; an import has none of ours.
		b.WriteString(CollectionLine(r.Collection) + "\n")
		if r.Collection != nil {
			for _, w := range r.Collection.Warnings {
				fmt.Fprintf(&b, "  - %s\n", w)
			}
		}
		if l := ProfileLine(r); l != "" {
			b.WriteString(l + "\n")
		}
	}
	writeNodes(&b, r)
	b.WriteString("\n")

	// The table goes through tabwriter alone, then warnings are spliced
	// in under their rows: a line without cells would end tabwriter's
	// column blocks and misalign the rows after it.
	var tb bytes.Buffer
	tw := tabwriter.NewWriter(&tb, 0, 0, 2, ' ', tabwriter.AlignRight)
	hasTP, hasCeil := false, false
	for _, c := range r.Cases {
		hasTP = hasTP || c.Throughput != nil
		hasCeil = hasCeil || c.Ceiling != nil
	}
	label, fixed := shortLabels(r)
	if fixed != "" {
		fmt.Fprintf(&b, "every case: %s\n", fixed)
	}
	caseW := len("case")
	for _, c := range r.Cases {
		caseW = max(caseW, utf8.RuneCountInString(label(c.Case.ID)))
	}
	// AlignRight suits the numbers; padding the case column to one width
	// keeps it left-aligned.
	fmt.Fprintf(tw, "%-*s\tn\tmedian\t95%% CI\tmin\tmax\t±MAD\tuser\tsys\tpeak mem\t", caseW, "case")
	if hasTP {
		fmt.Fprint(tw, "throughput\t")
	}
	if hasCeil {
		fmt.Fprint(tw, "of ceiling\t")
	}
	fmt.Fprintln(tw)
	for _, c := range r.Cases {
		s := c.Stats
		n := strconv.Itoa(s.N)
		if c.Failed > 0 {
			n = fmt.Sprintf("%d/%d", s.N, c.Measured)
		}
		med, ci, mn, mx, md := "-", "-", "-", "-", "-"
		if s.N > 0 {
			med, ci, mn, mx, md = formatSeconds(s.Median), formatSecondsRange(s.CILow, s.CIHigh), formatSeconds(s.Min), formatSeconds(s.Max), formatSeconds(s.MADScaled)
			if s.CIMethod == stats.CIRange {
				ci += " (range)"
			}
		}
		user, sys, mem := resourceCells(&c)
		fmt.Fprintf(tw, "%-*s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t", caseW, label(c.Case.ID), n, med, ci, mn, mx, md, user, sys, mem)
		if hasTP {
			fmt.Fprintf(tw, "%s\t", throughputCell(&c))
		}
		if hasCeil {
			fmt.Fprintf(tw, "%s\t", ceilingCell(c.Ceiling))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write text report: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(tb.String(), "\n"), "\n")
	b.WriteString(lines[0] + "\n")
	said := map[string]bool{} // a reason is spelled out once
	for i, c := range r.Cases {
		b.WriteString(lines[i+1] + "\n")
		switch {
		case c.Skipped == "":
		case said[c.Skipped]:
			b.WriteString("    - skipped: as above\n")
		default:
			said[c.Skipped] = true
			fmt.Fprintf(&b, "    - skipped: %s\n", c.Skipped)
		}
	}
	b.WriteString("(n: successful/measured trials; CI: 95% of the median; ±MAD: scaled median absolute deviation; user, sys, peak mem: medians per trial, - if not measured")
	if hasCeil {
		b.WriteString("; of ceiling: median rate over the ceiling case's")
	}
	b.WriteString(")\n")

	if len(r.Comparisons) > 0 {
		b.WriteString("\n")
		for _, c := range r.Comparisons {
			line := describe(c, label(c.Case), label(c.Baseline))
			if c.PerUnit {
				line += " [per unit of work: the two do different amounts per trial]"
			}
			b.WriteString(line + "\n")
		}
		if g := r.GeoMean; g != nil {
			against := "the baseline"
			if len(distinctBaselines(r)) > 1 {
				against = "their baselines"
			}
			fmt.Fprintf(&b, "geomean of %d time ratios against %s: %s\n", g.N, against, geoMeanText(g))
		}
	}
	for _, s := range r.Scaling {
		fmt.Fprintf(&b, "\nscaling by %s:\n", s.Param)
		for _, g := range s.Groups {
			if len(g.Fixed) > 0 {
				if l := label(benchrig.CaseID(g.Fixed)); l != "" {
					fmt.Fprintf(&b, "  with %s:\n", l)
				}
			}
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(tw, "  \t%s\tmedian\tspeedup\tefficiency\t\n", s.Param)
			for _, p := range g.Points {
				fmt.Fprintf(tw, "  \t%s\t%s\t%s\t%s\t\n", formatFloat(p.Value), formatSeconds(p.Median), speedupCell(p.Speedup), efficiencyCell(p.Efficiency))
			}
			if err := tw.Flush(); err != nil {
				return fmt.Errorf("write text report: %w", err)
			}
			if g.Knee != nil {
				fmt.Fprintf(&b, "  %s\n", kneeText(s.Param, g.Knee))
			}
		}
	}
	if groups := GroupWarnings(r); len(groups) > 0 {
		b.WriteString("\nwarnings (each case's in the JSON export):\n")
		for _, g := range groups {
			fmt.Fprintf(&b, "  %s on %s\n    what to do: %s\n", g.Code, groupCases(g, label), g.Action)
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write text report: %w", err)
	}
	return nil
}

// shortLabels returns a function that shortens a case ID (or any
// "name=value,..." list) to the params whose value differs between the
// run's cases, and the params every case shares, for one line above the
// table: "data=.bench/data/smiles" repeated on every row only hides what
// differs. IDs it cannot parse are returned unchanged.
func shortLabels(r *Report) (func(string) string, string) {
	if r.Fingerprint.Executor == benchrig.GoBenchExecutor {
		// Imported go test results read best by their Go names
		// (Encode/size=1k-8), which are their case IDs.
		return func(id string) string { return id }, ""
	}
	values := map[string]map[string]bool{}
	for _, c := range r.Cases {
		for _, kv := range c.Case.Params {
			if values[kv.Name] == nil {
				values[kv.Name] = map[string]bool{}
			}
			values[kv.Name][kv.Value] = true
		}
	}
	if len(r.Cases) < 2 {
		return func(id string) string { return id }, ""
	}
	var fixed []string
	for _, c := range r.Cases {
		for _, kv := range c.Case.Params {
			if len(values[kv.Name]) == 1 {
				fixed = append(fixed, kv.Name+"="+kv.Value)
			}
		}
		break
	}
	if len(fixed) == 0 {
		return func(id string) string { return id }, ""
	}
	return func(id string) string {
		kvs := r.caseParams(id)
		if kvs == nil {
			return id
		}
		var parts []string
		for _, kv := range kvs {
			if len(values[kv.Name]) != 1 {
				parts = append(parts, kv.Name+"="+kv.Value)
			}
		}
		return strings.Join(parts, ",")
	}, strings.Join(fixed, ", ")
}

// caseParams returns the params of the case with this ID, or parses a
// "name=value,..." list.
func (r *Report) caseParams(id string) []benchrig.KV {
	for _, c := range r.Cases {
		if c.Case.ID == id {
			return c.Case.Params
		}
	}
	var kvs []benchrig.KV
	for _, part := range strings.Split(id, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil
		}
		kvs = append(kvs, benchrig.KV{Name: k, Value: v})
	}
	return kvs
}

// WriteRunComparison writes the comparison of two runs as a text table.
func WriteRunComparison(w io.Writer, c *RunComparison) error {
	var b bytes.Buffer
	for _, x := range []struct {
		label string
		r     RunRef
	}{{"A", c.A}, {"B", c.B}} {
		fmt.Fprintf(&b, "%s: run %s  %s", x.label, x.r.ID, x.r.SpecName)
		if !x.r.Started.IsZero() {
			fmt.Fprintf(&b, "  %s %s", startedWord(x.r.Fingerprint), x.r.Started.Format(time.RFC3339))
		}
		fmt.Fprintf(&b, "  on %s\n", x.r.Fingerprint)
	}
	for _, w := range c.Warnings {
		fmt.Fprintf(&b, "  ! %s: %s\n", w.Code, w.Message)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	caseW := len("case")
	if c.GeoMean != nil {
		caseW = len("geomean")
	}
	for _, d := range c.Cases {
		caseW = max(caseW, utf8.RuneCountInString(d.CaseID))
	}
	fmt.Fprintf(tw, "%-*s\tmedian A\tmedian B\tB/A\t95%% CI\tp\tdetectable\t  verdict\n", caseW, "case")
	for _, d := range c.Cases {
		cmp := d.Comparison
		fmt.Fprintf(tw, "%-*s\t%s\t%s\t%s\t%s\t%s\t%s\t  %s\n", caseW, d.CaseID, formatSeconds(d.MedianA), formatSeconds(d.MedianB),
			formatRatio(cmp.Ratio), ratioCI(cmp), pCell(cmp.P), mdeCell(cmp.Comparison), verdictCell(cmp))
	}
	if g := c.GeoMean; g != nil {
		fmt.Fprintf(tw, "%-*s\t\t\t%s\t%s\t\t\t  geometric mean of %d ratios\n", caseW, "geomean", formatRatio(g.Ratio), geoMeanCI(g), g.N)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write run comparison: %w", err)
	}
	b.WriteString("(B/A: ratio of median times, < 1 means B is faster; CI: bootstrap 95%; p: Mann-Whitney U, two-sided; detectable: without a verdict, the smallest change this comparison could have detected, 80% power)\n")
	if len(c.OnlyA) > 0 {
		fmt.Fprintf(&b, "only in A: %s\n", CaseList(c.OnlyA))
	}
	if len(c.OnlyB) > 0 {
		fmt.Fprintf(&b, "only in B: %s\n", CaseList(c.OnlyB))
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write run comparison: %w", err)
	}
	return nil
}

// writeNodes lists the nodes of a run on node pools, and what happened to
// them, under the header of the text report.
func writeNodes(b *bytes.Buffer, r *Report) {
	if len(r.Nodes) == 0 {
		return
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "node\tarch\tengine\tcpus\tmemory\tkernel\tlatency\t")
	for _, n := range r.Nodes {
		arch := n.Arch
		if n.ArchDeclared && n.EngineArch != "" && n.EngineArch != n.Arch {
			arch += " (declared; engine " + n.EngineArch + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s (API %s)\t%d\t%.1f GiB\t%s\t%s\t\n", n.Name, arch, n.EngineVersion, n.APIVersion,
			n.CPUs, float64(n.MemoryBytes)/(1<<30), n.Kernel, FormatDuration(n.Latency))
	}
	tw.Flush()
	for _, n := range r.Nodes {
		if n.Accelerators.Count() > 0 {
			fmt.Fprintf(b, "node %s accelerators: %s\n", n.Name, n.Accelerators)
		}
	}
	for _, ev := range r.NodeEvents {
		fmt.Fprintf(b, "node %s %s at %s", ev.Node, ev.Kind, ev.Time.Format("15:04:05"))
		if ev.Reason != "" {
			fmt.Fprintf(b, " (%s)", ev.Reason)
		}
		if n := len(ev.MovedTo); n > 0 {
			to := map[string]bool{}
			for _, v := range ev.MovedTo {
				to[v] = true
			}
			fmt.Fprintf(b, ": %d case(s) moved to %s", n, strings.Join(slices.Sorted(maps.Keys(to)), ", "))
		}
		if n := len(ev.Failed); n > 0 {
			fmt.Fprintf(b, ": %d case(s) had no other node of its class, remaining trials recorded as failed (node-lost)", n)
		}
		b.WriteString("\n")
	}
}

// The JSON document of a run comparison (SCHEMA.md, "runs compare").
type (
	jsonRunComparison struct {
		SchemaVersion int             `json:"schema_version"`
		A             jsonRunRef      `json:"a"`
		B             jsonRunRef      `json:"b"`
		Cases         []jsonCaseDelta `json:"cases"`
		GeoMean       *jsonGeoMean    `json:"geomean,omitempty"`
		OnlyA         []string        `json:"only_a"`
		OnlyB         []string        `json:"only_b"`
		Warnings      []Warning       `json:"warnings"`
	}
	jsonRunRef struct {
		RunID       string               `json:"run_id"`
		Spec        string               `json:"spec"`
		SpecHash    string               `json:"spec_hash"`
		Started     *string              `json:"started"`
		Fingerprint benchrig.Fingerprint `json:"fingerprint"`
	}
	jsonCaseDelta struct {
		Case    string   `json:"case"`
		NA      int      `json:"n_a"`
		NB      int      `json:"n_b"`
		MedianA *float64 `json:"median_a_s"`
		MedianB *float64 `json:"median_b_s"`
		jsonTest
		// MixedNodes: Comparison.MixedNodes.
		MixedNodes []string `json:"mixed_nodes,omitempty"`
	}
)

func jsonTestOf(c stats.Comparison) jsonTest {
	return jsonTest{Ratio: num(c.Ratio), CI95Low: num(c.CILow), CI95High: num(c.CIHigh), CIMethod: bootstrapMethod,
		U: num(c.U), PValue: num(c.P), PMethod: c.PMethod, MDE: num(c.MDE), Verdict: c.Verdict}
}

func jsonRunRefOf(r RunRef) jsonRunRef {
	return jsonRunRef{RunID: r.ID, Spec: r.SpecName, SpecHash: r.SpecHash, Started: timeString(r.Started), Fingerprint: r.Fingerprint}
}

// WriteRunComparisonJSON writes the comparison of two runs as the JSON
// document described in SCHEMA.md.
func WriteRunComparisonJSON(w io.Writer, c *RunComparison) error {
	doc := jsonRunComparison{
		SchemaVersion: SchemaVersion, A: jsonRunRefOf(c.A), B: jsonRunRefOf(c.B), Cases: []jsonCaseDelta{},
		GeoMean: jsonGeoMeanOf(c.GeoMean), OnlyA: c.OnlyA, OnlyB: c.OnlyB, Warnings: c.Warnings,
	}
	if doc.OnlyA == nil {
		doc.OnlyA = []string{}
	}
	if doc.OnlyB == nil {
		doc.OnlyB = []string{}
	}
	if doc.Warnings == nil {
		doc.Warnings = []Warning{}
	}
	for _, d := range c.Cases {
		cm := d.Comparison
		doc.Cases = append(doc.Cases, jsonCaseDelta{
			Case: d.CaseID, NA: cm.NBaseline, NB: cm.NCase, MedianA: num(d.MedianA), MedianB: num(d.MedianB),
			jsonTest: jsonTestOf(cm.Comparison), MixedNodes: cm.MixedNodes,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write json run comparison: %w", err)
	}
	return nil
}

// WriteRunComparisonMarkdown writes the comparison of two runs as a
// Markdown table.
func WriteRunComparisonMarkdown(w io.Writer, c *RunComparison) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s: run B against run A\n\n", mdEscape(c.B.SpecName))
	for _, x := range []struct {
		label string
		r     RunRef
	}{{"A", c.A}, {"B", c.B}} {
		fmt.Fprintf(&b, "- %s: run `%s`", x.label, x.r.ID)
		if !x.r.Started.IsZero() {
			fmt.Fprintf(&b, ", %s %s", startedWord(x.r.Fingerprint), x.r.Started.Format(time.RFC3339))
		}
		fmt.Fprintf(&b, ", on %s\n", mdEscape(x.r.Fingerprint.String()))
	}
	for _, w := range c.Warnings {
		fmt.Fprintf(&b, "- warning %s: %s\n", w.Code, mdEscape(w.Message))
	}
	b.WriteString("\n| case | median A | median B | B/A | 95% CI | p | detectable | verdict |\n|---|--:|--:|--:|--:|--:|--:|---|\n")
	for _, d := range c.Cases {
		cm := d.Comparison
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", mdEscape(d.CaseID), formatSeconds(d.MedianA), formatSeconds(d.MedianB),
			formatRatio(cm.Ratio), ratioCI(cm), pCell(cm.P), mdeCell(cm.Comparison), verdictCell(cm))
	}
	if g := c.GeoMean; g != nil {
		fmt.Fprintf(&b, "| geomean (%d) | | | %s | %s | | | |\n", g.N, formatRatio(g.Ratio), geoMeanCI(g))
	}
	b.WriteString("\nB/A: ratio of median times, < 1 means B is faster; CI: bootstrap 95%; p: Mann-Whitney U, two-sided; detectable: without a verdict, the smallest change this comparison could have detected (80% power).\n")
	if len(c.OnlyA) > 0 {
		fmt.Fprintf(&b, "\nOnly in A: %s\n", mdEscape(strings.Join(c.OnlyA, " ")))
	}
	if len(c.OnlyB) > 0 {
		fmt.Fprintf(&b, "\nOnly in B: %s\n", mdEscape(strings.Join(c.OnlyB, " ")))
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write markdown run comparison: %w", err)
	}
	return nil
}

// CaseList lists case IDs, which may hold spaces (ad-hoc commands),
// comma-separated and quoted where they need it.
func CaseList(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = id
		if strings.ContainsAny(id, " \t\"") {
			q[i] = strconv.Quote(id)
		}
	}
	return strings.Join(q, ", ")
}
