package reports

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/stats"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func ms(v float64) time.Duration { return time.Duration(math.Round(v * float64(time.Millisecond))) }

// testRun is a hand-made run of 4 cases (impl x threads), each with one
// warmup trial, sharing 100 MB of throughput per trial:
//   - impl=gnu,threads=1: the baseline, 8 trials around 100 ms;
//   - impl=gnu,threads=2: 8 good trials around 52 ms and one that failed
//     (exit 1) with a huge wall time that must not enter the statistics;
//   - impl=busybox,threads=1: 8 trials around 1420 ms and one at 2100 ms
//     (an outlier, also making the variance high);
//   - impl=busybox,threads=2: adaptive repetition stopped after 4 trials
//     without reaching its CI target (few-samples, ci-not-met).
func testRun() *benchrig.Run {
	cases := benchrig.Matrix([]benchrig.Param{{Name: "impl", Values: []string{"gnu", "busybox"}}, {Name: "threads", Values: []string{"1", "2"}}})
	walls := map[string][]float64{ // milliseconds; the first is the warmup
		"impl=gnu,threads=1":     {150, 100, 101, 99, 102, 100.5, 98.5, 101.5, 100.2},
		"impl=gnu,threads=2":     {80, 52, 51, 53, 50.5, 9000, 52.5, 51.5, 52.2, 51.8},
		"impl=busybox,threads=1": {1500, 1420, 1425, 1418, 1430, 2100, 1422, 1415, 1428, 1419},
		"impl=busybox,threads=2": {900, 760, 700, 820, 745},
	}
	run := &benchrig.Run{
		ID:         "20250314-092653-ab12",
		SpecName:   "sort-impls",
		SpecHash:   "9f2c1e0b7a6d5c4b3a29180716f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3",
		SpecFile:   "bench/sort.yaml",
		Overrides:  []string{"--repeat=8"},
		Status:     benchrig.RunFailed,
		Started:    t0,
		Finished:   t0.Add(2*time.Minute + 3500*time.Millisecond),
		BaselineID: "impl=gnu,threads=1",
		Fingerprint: benchrig.Fingerprint{
			Hostname: "bench1", OS: "linux", Kernel: "6.1.0-18-amd64", Arch: "amd64", CPUModel: "Intel Xeon E-2236",
			CPUs: 2, MemoryBytes: 8 << 30, Version: "0.1.0-dev", GoVersion: "go1.26.8", SpecHash: "9f2c1e0b7a6d",
			CgroupMode: "hybrid", Executor: "local",
		},
		Cases:  cases,
		Repeat: benchrig.Repeat{Min: 3, Max: 8, UntilCI: 0.02, MaxTime: 30 * time.Second},
		Stops: map[string]benchrig.Stop{
			"impl=busybox,threads=2": {Reason: benchrig.StopMaxTime, Trials: 4, HalfWidth: 0.087},
		},
		Notes: map[string]string{
			"impl=busybox,threads=2": "ci-not-met: max_time 30s reached after 4 trials with CI half-width 8.7%",
		},
		Throughput:     map[string]float64{},
		ThroughputUnit: benchrig.Bytes,
		ScalingParam:   "threads",
		Collection: &benchrig.Collection{
			Interval: time.Second, Sink: "store",
			Collectors: []benchrig.CollectorCost{{Node: "local", Mode: "in-process", Interval: time.Second, Wall: 123500 * time.Millisecond,
				CPU: 382 * time.Millisecond, MemoryBytes: 8 << 20, Samples: 161, Targets: 36}},
			Shipping: benchrig.ShipCounters{Sent: 161, Duplicates: 2},
		},
	}
	seq := 0
	for round := 0; ; round++ {
		more := false
		for _, c := range cases {
			w := walls[c.ID]
			if round >= len(w) {
				continue
			}
			more = true
			run.Throughput[c.ID] = 100e6
			tr := benchrig.Trial{
				RunID: run.ID, CaseID: c.ID, Seq: seq, Index: round, Number: benchrig.TrialNumber(round, 1), Warmup: round == 0, Node: "local",
				Measurement: benchrig.Measurement{
					Start: t0.Add(time.Duration(seq) * time.Second), Wall: ms(w[round]), User: ms(w[round] * 0.9), Sys: ms(w[round] * 0.05),
					MaxRSS: 5 << 20, StdoutBytes: 100, Source: "cgroup-v1",
					Metrics: map[string]float64{"io_read_bytes": 100e6, "pids_peak": 2},
				},
			}
			if w[round] == 9000 {
				tr.ExitCode, tr.StderrBytes, tr.StderrTail = 1, 24, "sort: write failed: ENOSPC"
			}
			if c.ID == "impl=busybox,threads=1" {
				// The 2100 ms outlier ran beside a neighbour using 35%
				// of the host; the others next to a quiet collector.
				n := benchrig.Noise{Window: tr.Wall, CPUs: 2, OtherCPU: tr.Wall / 100}
				if w[round] == 2100 {
					n.OtherCPU, n.Steal = tr.Wall*7/10, tr.Wall/100
				}
				n = n.Judge()
				tr.Noise = &n
			}
			run.Trials = append(run.Trials, tr)
			seq++
		}
		if !more {
			break
		}
	}
	return run
}

// near reports whether a is within relative tolerance tol of b (absolute
// below 1); NaNs and infinities must match exactly.
func near(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b
	}
	return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b))
}

func codes(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Code)
	}
	return out
}

func TestBuild(t *testing.T) {
	r := Build(testRun())
	if len(r.Cases) != 4 {
		t.Fatalf("%d cases, want 4", len(r.Cases))
	}
	tests := []struct {
		id                       string
		trials, measured, failed int
		n                        int
		median                   float64
		warnings                 []string
		outlierSeqs              []int
	}{
		{"impl=gnu,threads=1", 9, 8, 0, 8, 0.10035, nil, []int{}},
		{"impl=gnu,threads=2", 10, 9, 1, 8, 0.0519, []string{WFailedTrials}, []int{}},
		{"impl=busybox,threads=1", 10, 9, 0, 9, 1.422, []string{WHighVariance, WOutliers, WNoisy}, []int{22}},
		{"impl=busybox,threads=2", 5, 4, 0, 4, 0.7525, []string{WFewSamples, WCINotMet}, []int{}},
	}
	for i, tt := range tests {
		c := r.Cases[i]
		if c.Case.ID != tt.id || len(c.Trials) != tt.trials || c.Measured != tt.measured || c.Failed != tt.failed || c.Stats.N != tt.n || c.Warmups != 1 {
			t.Errorf("case %d: %s trials %d measured %d failed %d n %d warmups %d, want %s %d %d %d %d 1",
				i, c.Case.ID, len(c.Trials), c.Measured, c.Failed, c.Stats.N, c.Warmups, tt.id, tt.trials, tt.measured, tt.failed, tt.n)
		}
		if !near(c.Stats.Median, tt.median, 1e-9) {
			t.Errorf("%s: median %v, want %v", tt.id, c.Stats.Median, tt.median)
		}
		if got := codes(c.Warnings); !slices.Equal(got, tt.warnings) {
			t.Errorf("%s: warnings %v, want %v", tt.id, got, tt.warnings)
		}
		if got := c.OutlierSeqs(); !slices.Equal(got, tt.outlierSeqs) {
			t.Errorf("%s: outlier seqs %v, want %v", tt.id, got, tt.outlierSeqs)
		}
		if c.Throughput == nil || !near(c.Throughput.RateMedian, 100e6/tt.median, 1e-9) || len(c.Throughput.TrialRates) != tt.n {
			t.Errorf("%s: throughput %+v, want rate %v", tt.id, c.Throughput, 100e6/tt.median)
		}
		if c.Node != "local" {
			t.Errorf("%s: node %q", tt.id, c.Node)
		}
	}
	if c := r.Cases[1]; slices.Contains(c.Samples, 9.0) || slices.Contains(c.Samples, 0.08) {
		t.Errorf("failed or warmup trial in samples: %v", c.Samples)
	}

	wantCmp := []struct {
		id      string
		ratio   float64
		verdict string
	}{
		{"impl=gnu,threads=2", 0.0519 / 0.10035, stats.Faster},
		{"impl=busybox,threads=1", 1.422 / 0.10035, stats.Slower},
		{"impl=busybox,threads=2", 0.7525 / 0.10035, stats.Slower},
	}
	if len(r.Comparisons) != len(wantCmp) {
		t.Fatalf("%d comparisons, want %d", len(r.Comparisons), len(wantCmp))
	}
	for i, w := range wantCmp {
		c := r.Comparisons[i]
		if c.Case != w.id || c.Baseline != "impl=gnu,threads=1" || !near(c.Ratio, w.ratio, 1e-9) || c.Verdict != w.verdict {
			t.Errorf("comparison %d: %s vs %s ratio %v %s, want %s ratio %v %s", i, c.Case, c.Baseline, c.Ratio, c.Verdict, w.id, w.ratio, w.verdict)
		}
	}

	if len(r.Scaling) != 1 || r.Scaling[0].Param != "threads" || len(r.Scaling[0].Groups) != 2 {
		t.Fatalf("scaling %+v, want threads in 2 groups", r.Scaling)
	}
	g := r.Scaling[0].Groups[1]
	if benchrig.CaseID(g.Fixed) != "impl=busybox" || len(g.Points) != 2 || !near(g.Points[1].Speedup, 1.422/0.7525, 1e-9) || !near(g.Points[1].Efficiency, 1.422/0.7525/2, 1e-9) || g.Points[0].Speedup != 1 {
		t.Errorf("busybox scaling %+v", g)
	}
}

func TestBuildEdgeCases(t *testing.T) {
	t.Run("trials of unknown cases are kept", func(t *testing.T) {
		run := &benchrig.Run{ID: "x", Cases: []benchrig.Case{{ID: "a"}}, Trials: []benchrig.Trial{
			{CaseID: "a", Seq: 0, Measurement: benchrig.Measurement{Wall: time.Second}},
			{CaseID: "zz", Seq: 1, Measurement: benchrig.Measurement{Wall: 2 * time.Second}},
		}}
		r := Build(run)
		if len(r.Cases) != 2 || r.Cases[1].Case.ID != "zz" || r.Cases[1].Stats.N != 1 || r.BaselineID != "a" {
			t.Fatalf("cases %+v baseline %q", r.Cases, r.BaselineID)
		}
		if len(r.Comparisons) != 1 || r.Comparisons[0].Verdict != stats.Insufficient {
			t.Errorf("comparisons %+v", r.Comparisons)
		}
	})
	t.Run("all trials failed", func(t *testing.T) {
		run := &benchrig.Run{ID: "x", Cases: []benchrig.Case{{ID: "a"}}, Throughput: map[string]float64{"a": 10}, Trials: []benchrig.Trial{
			{CaseID: "a", Seq: 0, Measurement: benchrig.Measurement{Wall: time.Second, ExitCode: -1, Error: "timeout"}},
		}}
		r := Build(run)
		c := r.Cases[0]
		if c.Stats.N != 0 || c.Throughput != nil || !slices.Equal(codes(c.Warnings), []string{WFailedTrials, WFewSamples}) {
			t.Errorf("case %+v", c)
		}
		for _, write := range []func(*bytes.Buffer, *Report) error{
			func(b *bytes.Buffer, r *Report) error { return WriteJSON(b, r) },
			func(b *bytes.Buffer, r *Report) error { return WriteText(b, r) },
			func(b *bytes.Buffer, r *Report) error { return WriteMarkdown(b, r) },
			func(b *bytes.Buffer, r *Report) error { return WriteCSV(b, r) },
		} {
			var b bytes.Buffer
			if err := write(&b, r); err != nil {
				t.Errorf("export of a report without statistics: %v", err)
			}
		}
	})
	t.Run("non-numeric, single-valued and undeclared params have no scaling", func(t *testing.T) {
		cases := benchrig.Matrix([]benchrig.Param{{Name: "impl", Values: []string{"a", "b"}}, {Name: "n", Values: []string{"4"}}, {Name: "level", Values: []string{"1", "9"}}})
		for _, param := range []string{"impl", "n", "", "level-undeclared"} {
			if s := buildScaling(cases, nil, param); len(s) != 0 {
				t.Errorf("scaling along %q: %+v", param, s)
			}
		}
		if s := buildScaling(cases, nil, "level"); len(s) != 1 || s[0].Param != "level" {
			t.Errorf("scaling along the declared param: %+v", s)
		}
	})
	t.Run("NaN metrics become null", func(t *testing.T) {
		run := &benchrig.Run{ID: "x", Cases: []benchrig.Case{{ID: "a"}}, Trials: []benchrig.Trial{
			{CaseID: "a", Measurement: benchrig.Measurement{Wall: time.Second, Metrics: map[string]float64{"bad": math.NaN()}}},
		}}
		var b bytes.Buffer
		if err := WriteJSON(&b, Build(run)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b.Bytes(), []byte(`"bad": null`)) {
			t.Errorf("NaN metric not null:\n%s", b.String())
		}
	})
}

// testRunB is testRun measured again elsewhere: gnu,threads=1 10% faster,
// busybox,threads=2 not run, a new case added.
func testRunB() *benchrig.Run {
	run := testRun()
	run.ID = "20250315-101500-cd34"
	run.Started, run.Finished = t0.Add(25*time.Hour), t0.Add(25*time.Hour+2*time.Minute)
	run.Fingerprint.Hostname = "bench2"
	var trials []benchrig.Trial
	for _, tr := range run.Trials {
		switch tr.CaseID {
		case "impl=busybox,threads=2":
			continue
		case "impl=gnu,threads=1":
			tr.Wall = tr.Wall * 9 / 10
		}
		trials = append(trials, tr)
	}
	for i := range 6 {
		trials = append(trials, benchrig.Trial{CaseID: "impl=toybox,threads=1", Seq: 100 + i, Index: i, Measurement: benchrig.Measurement{Wall: ms(300 + float64(i))}})
	}
	run.Trials = trials
	run.Cases = append(run.Cases[:3:3], benchrig.Case{ID: "impl=toybox,threads=1", Index: 4, Params: []benchrig.KV{{Name: "impl", Value: "toybox"}, {Name: "threads", Value: "1"}}})
	return run
}

func TestCompareRuns(t *testing.T) {
	c := CompareRuns(Build(testRun()), Build(testRunB()))
	if len(c.Cases) != 3 || !slices.Equal(c.OnlyA, []string{"impl=busybox,threads=2"}) || !slices.Equal(c.OnlyB, []string{"impl=toybox,threads=1"}) {
		t.Fatalf("cases %d onlyA %v onlyB %v", len(c.Cases), c.OnlyA, c.OnlyB)
	}
	if d := c.Cases[0]; d.CaseID != "impl=gnu,threads=1" || !near(d.Comparison.Ratio, 0.9, 1e-9) || d.Comparison.Verdict != stats.Faster {
		t.Errorf("gnu,threads=1: %+v", d)
	}
	if d := c.Cases[1]; !near(d.Comparison.Ratio, 1, 1e-12) || d.Comparison.Verdict != stats.NoDifference || d.Comparison.P != 1 {
		t.Errorf("unchanged case: %+v", d)
	}
	if got := codes(c.Warnings); !slices.Equal(got, []string{WHostChanged}) {
		t.Errorf("warnings %v", got)
	}
}

func TestGolden(t *testing.T) {
	r := Build(testRun())
	tests := []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"report.json", func(b *bytes.Buffer) error { return WriteJSON(b, r) }},
		{"report.csv", func(b *bytes.Buffer) error { return WriteCSV(b, r) }},
		{"report.md", func(b *bytes.Buffer) error { return WriteMarkdown(b, r) }},
		{"report.txt", func(b *bytes.Buffer) error { return WriteText(b, r) }},
		{"compare.txt", func(b *bytes.Buffer) error {
			return WriteRunComparison(b, CompareRuns(r, Build(testRunB())))
		}},
		{"compare.json", func(b *bytes.Buffer) error {
			return WriteRunComparisonJSON(b, CompareRuns(r, Build(testRunB())))
		}},
		{"compare.md", func(b *bytes.Buffer) error {
			return WriteRunComparisonMarkdown(b, CompareRuns(r, Build(testRunB())))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.file, b.Bytes())
		})
	}
}

func TestJSONIsValid(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, Build(testRun())); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SchemaVersion int `json:"schema_version"`
		Cases         []struct {
			ID    string `json:"id"`
			Stats *struct {
				N        int   `json:"n"`
				Outliers []int `json:"outliers"`
			} `json:"stats"`
			Trials []struct {
				WallS float64 `json:"wall_s"`
			} `json:"trials"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SchemaVersion != 1 || len(doc.Cases) != 4 || doc.Cases[2].Stats.N != 9 || !slices.Equal(doc.Cases[2].Stats.Outliers, []int{22}) || doc.Cases[0].Trials[1].WallS != 0.1 {
		t.Errorf("decoded %+v", doc)
	}
}

// checkGolden compares got with testdata/file, which -update rewrites.
func checkGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n%s", file, got)
	}
}

// Runs on hosts with different GPUs are said to differ; a run recorded
// before benchrig looked for GPUs is no difference.
func TestCompareRunsAccelerators(t *testing.T) {
	none := &benchrig.Accelerators{Source: benchrig.AccelSMI, GPUs: []benchrig.GPU{}, Note: "nvidia-smi not found"}
	a40 := &benchrig.Accelerators{Source: benchrig.AccelSMI, Driver: "550.127.05", GPUs: []benchrig.GPU{{Name: "NVIDIA A40"}}}
	for _, tc := range []struct {
		name string
		a, b *benchrig.Accelerators
		want string // in the host-changed warning; "" for none
	}{
		{"same", none, none, ""},
		{"one not looked for", nil, a40, ""},
		{"differ", none, a40, `accelerators "none (nvidia-smi not found)" vs "1 x NVIDIA A40, driver 550.127.05"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ra, rb := testRun(), testRun()
			ra.Fingerprint.Accelerators, rb.Fingerprint.Accelerators = tc.a, tc.b
			c := CompareRuns(Build(ra), Build(rb))
			var msg string
			for _, w := range c.Warnings {
				if w.Code == WHostChanged {
					msg = w.Message
				}
			}
			if !strings.Contains(msg, tc.want) || (tc.want == "" && msg != "") {
				t.Errorf("host warning %q, want %q", msg, tc.want)
			}
		})
	}
}
