package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/gate"
)

// gateRun builds a run of the cases given as ID -> measured wall times in
// ms (a warmup of 9 s first, never counted), with failed trials after
// them per failed[ID].
func gateRun(id string, started time.Time, walls map[string][]float64, order []string, failed map[string]int) *benchrig.Run {
	run := &benchrig.Run{ID: id, SpecName: "sort-impls", Status: benchrig.RunFinished, Started: started, Finished: started.Add(95 * time.Second)}
	seq := 0
	for i, cid := range order {
		k, v, _ := strings.Cut(cid, "=")
		run.Cases = append(run.Cases, benchrig.Case{ID: cid, Index: i, Params: []benchrig.KV{{Name: k, Value: v}}})
		add := func(tr benchrig.Trial) {
			tr.RunID, tr.CaseID, tr.Seq, tr.Node = id, cid, seq, "lab1"
			seq++
			run.Trials = append(run.Trials, tr)
		}
		add(benchrig.Trial{Warmup: true, Measurement: benchrig.Measurement{Wall: 9 * time.Second}})
		for j, w := range walls[cid] {
			add(benchrig.Trial{Index: j + 1, Measurement: benchrig.Measurement{Wall: ms(w)}})
		}
		for range failed[cid] {
			add(benchrig.Trial{Index: 99, Measurement: benchrig.Measurement{Wall: ms(50), ExitCode: 2, Error: "", StderrTail: "oops"}, Reason: "output check: want 42 lines, got 0"})
		}
	}
	if failed != nil {
		run.Status = benchrig.RunFailed
	}
	return run
}

// gateTimes is a fixed pattern of 10 times around median ms, times factor.
func gateTimes(median, factor float64, shift int) []float64 {
	pattern := []float64{0, 0.010, -0.010, 0.015, -0.015, 0.005, -0.005, 0.012, -0.012, 0.002}
	out := make([]float64, len(pattern))
	for i := range out {
		out[i] = median * factor * (1 + pattern[(i+shift)%len(pattern)])
	}
	return out
}

// gateFixture is a judged run of 5 cases: gnu 10% slower (suspected, then
// confirmed by a re-run on lab2), busybox within 5%, toybox faster, rust
// with a noisy baseline (inconclusive) and zig with failed trials.
func gateFixture(t *testing.T) (*benchrig.Run, *benchrig.GateResult) {
	t.Helper()
	order := []string{"impl=gnu", "impl=busybox", "impl=toybox", "impl=rust", "impl=zig"}
	noisy := gateTimes(100, 1, 0)
	for i := range noisy {
		noisy[i] = 100 * (1 + 12*(noisy[i]/100-1))
	}
	base := gateRun("20260101-120000-base", t0, map[string][]float64{
		"impl=gnu": gateTimes(100, 1, 0), "impl=busybox": gateTimes(1400, 1, 3), "impl=toybox": gateTimes(200, 1, 1),
		"impl=rust": noisy, "impl=zig": gateTimes(50, 1, 2),
	}, order, nil)
	base.Labels = map[string]string{"branch": "main", "commit": "a1b2c3"}
	cand := gateRun("20260102-120000-cand", t0.Add(24*time.Hour), map[string][]float64{
		"impl=gnu": gateTimes(100, 1.10, 5), "impl=busybox": gateTimes(1400, 1.01, 7), "impl=toybox": gateTimes(200, 0.8, 4),
		"impl=rust": gateTimes(100, 1.06, 4), "impl=zig": gateTimes(50, 1, 2)[:8],
	}, order, map[string]int{"impl=zig": 2})
	cand.Labels = map[string]string{"branch": "fix-sort", "build_url": "https://ci.example.com/job/sort/42/", "commit": "d4e5f6"}
	req := benchrig.GateRequest{Baseline: "label:branch=main"}
	g := gate.Judge(base, cand, req)
	conf := gateRun("20260102-121000-conf", t0.Add(24*time.Hour+10*time.Minute), map[string][]float64{"impl=gnu": gateTimes(100, 1.10, 2)}, []string{"impl=gnu"}, nil)
	gate.Confirm(g, base, cand, conf, req)
	g.Cases[0].Confirmation.Node = "lab2"
	g.Cases[0].Confirmation.Where = "lab2, another node of lab1's class"
	g.ConfirmTime = 61 * time.Second
	g.Judged = t0.Add(24*time.Hour + 12*time.Minute)
	cand.Gate = g
	return cand, g
}

func TestGateGolden(t *testing.T) {
	run, g := gateFixture(t)
	if g.Verdict != benchrig.VerdictRegression || g.Passed {
		t.Fatalf("fixture: %s", g.Summary)
	}
	for _, w := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"gate.txt", func(b *bytes.Buffer) error { return WriteGateText(b, g) }},
		{"gate.junit.xml", func(b *bytes.Buffer) error { return WriteJUnit(b, run, g) }},
		{"gate.md", func(b *bytes.Buffer) error { return WriteGateMarkdown(b, run, g) }},
		{"gate-none.junit.xml", func(b *bytes.Buffer) error { return WriteJUnit(b, run, nil) }},
		{"gate-none.md", func(b *bytes.Buffer) error { return WriteGateMarkdown(b, run, nil) }},
	} {
		var b bytes.Buffer
		if err := w.write(&b); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, w.file, b.Bytes())
	}
}

// junitDoc is the common JUnit shape, read back independently of the
// writer's own types.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Errors     int    `xml:"errors,attr"`
		Skipped    int    `xml:"skipped,attr"`
		Time       string `xml:"time,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Classname string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func parseJUnit(t *testing.T, b []byte) junitDoc {
	t.Helper()
	var doc junitDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("junit does not parse: %v\n%s", err, b)
	}
	return doc
}

func TestJUnitShape(t *testing.T) {
	run, g := gateFixture(t)
	var b bytes.Buffer
	if err := WriteJUnit(&b, run, g); err != nil {
		t.Fatal(err)
	}
	doc := parseJUnit(t, b.Bytes())
	if len(doc.Suites) != 1 {
		t.Fatalf("%d suites", len(doc.Suites))
	}
	s := doc.Suites[0]
	// gnu regression + zig trials failed; rust inconclusive.
	if s.Name != "sort-impls" || s.Tests != 5 || s.Failures != 2 || s.Skipped != 1 || s.Errors != 0 || s.Time != "95.000" ||
		doc.Tests != 5 || doc.Failures != 2 || doc.Skipped != 1 || len(s.Cases) != 5 {
		t.Errorf("counts: %+v", doc)
	}
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	if props["run"] != run.ID || props["baseline_run"] != "20260101-120000-base" || props["label.branch"] != "fix-sort" || props["confirmation_run"] != "20260102-121000-conf" || props["gate_passed"] != "false" {
		t.Errorf("properties %v", props)
	}
	failures, skipped := 0, 0
	for _, c := range s.Cases {
		if c.Classname != "sort-impls" || c.Time == "" || c.Time == "0" {
			t.Errorf("case %+v", c)
		}
		if c.Failure != nil {
			failures++
		}
		if c.Skipped != nil {
			skipped++
		}
	}
	if failures != s.Failures || skipped != s.Skipped {
		t.Errorf("the counts do not match the cases: %d failures, %d skipped", failures, skipped)
	}
	gnu := s.Cases[0]
	if gnu.Name != "impl=gnu" || gnu.Time != "0.110" || gnu.Failure == nil || gnu.Failure.Type != "regression" ||
		!strings.HasPrefix(gnu.Failure.Message, "slower by 10.0% (95% CI +") ||
		!strings.HasSuffix(gnu.Failure.Message, ") > 5%, confirmed by run 20260102-121000-conf on lab2 (pooled n=20)") ||
		!strings.Contains(gnu.Failure.Body, "confirmed: held on pooled evidence (n=20)") {
		t.Errorf("gnu: %+v", gnu)
	}
	if zig := s.Cases[4]; zig.Failure == nil || zig.Failure.Type != "trials failed" || zig.Failure.Message != "2 of 10 trials failed: output check: want 42 lines, got 0" {
		t.Errorf("zig: %+v", zig.Failure)
	}
	if rust := s.Cases[3]; rust.Skipped == nil || !strings.HasPrefix(rust.Skipped.Message, "inconclusive: baseline too noisy: CV ") {
		t.Errorf("rust: %+v", rust.Skipped)
	}

	// Without a gate only failed trials fail.
	b.Reset()
	if err := WriteJUnit(&b, run, nil); err != nil {
		t.Fatal(err)
	}
	doc = parseJUnit(t, b.Bytes())
	if s := doc.Suites[0]; s.Tests != 5 || s.Failures != 1 || s.Skipped != 0 || s.Cases[4].Failure == nil || s.Cases[0].Failure != nil {
		t.Errorf("no gate: %+v", s)
	}
}

// TestGateEscaping: user strings (case IDs, labels, reasons) reach XML,
// Markdown and the terminal; none may inject markup or break a table.
func TestGateEscaping(t *testing.T) {
	id := "cmd=a|b <script>alert(1)</script> *x* [l](http://e) `c`"
	run := gateRun("r1", t0, map[string][]float64{id: gateTimes(100, 1, 0)}, []string{id}, map[string]int{id: 1})
	run.SpecName = "spec & <co>"
	run.Labels = map[string]string{"build_url": "javascript:alert(1)"}
	g := &benchrig.GateResult{Run: "r1", Baseline: "label:x=`y`|z", Summary: "trials failed: <b>", Verdict: benchrig.VerdictTrialsFailed,
		Test: "t", Cases: []benchrig.CaseGate{{Case: id, Verdict: benchrig.VerdictTrialsFailed, Reason: "1 of 11 trials failed: \"<&>\" |\nnext", MaxRegression: 0.05}}}

	var b bytes.Buffer
	if err := WriteJUnit(&b, run, g); err != nil {
		t.Fatal(err)
	}
	doc := parseJUnit(t, b.Bytes())
	if c := doc.Suites[0].Cases[0]; c.Name != id || c.Failure == nil || c.Failure.Message != g.Cases[0].Reason || doc.Suites[0].Name != run.SpecName {
		t.Errorf("xml round trip: %+v", doc.Suites[0])
	}

	b.Reset()
	if err := WriteGateMarkdown(&b, run, g); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, bad := range []string{"[l](", "*x*", "javascript:"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown holds %q unescaped:\n%s", bad, md)
		}
	}
	// No HTML: every < is escaped.
	if n := strings.Count(md, "<") - strings.Count(md, `\<`); n != 0 {
		t.Errorf("markdown holds %d unescaped '<':\n%s", n, md)
	}
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| case") {
			continue
		}
		// A data row of the 9-column table: 10 unescaped pipes.
		if n := strings.Count(line, "|") - strings.Count(line, `\|`); n != 10 {
			t.Errorf("row has %d unescaped pipes: %s", n, line)
		}
	}

	b.Reset()
	if err := WriteGateText(&b, g); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), "\n") != 7 {
		t.Errorf("a newline in a reason broke a line of the table:\n%s", b.String())
	}
}

// TestGateInJSONExport: the run's export carries its gate as recorded.
func TestGateInJSONExport(t *testing.T) {
	run, g := gateFixture(t)
	var b bytes.Buffer
	if err := WriteJSON(&b, Build(run)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Gate *benchrig.GateResult `json:"gate"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Gate == nil || doc.Gate.Summary != g.Summary || len(doc.Gate.Cases) != 5 || doc.Gate.Cases[0].Confirmation == nil ||
		!doc.Gate.Cases[0].Confirmation.Held || doc.Gate.ConfirmTime != 61*time.Second || doc.Gate.Cases[0].Ratio != g.Cases[0].Ratio {
		t.Errorf("gate in the export: %+v", doc.Gate)
	}
	run.Gate = nil
	b.Reset()
	if err := WriteJSON(&b, Build(run)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), `"gate"`) {
		t.Error("a run without a gate exports one")
	}
}
