package reports

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// point is one level of a synthetic scaling run: every trial takes wall
// seconds with cpu seconds of user+sys and the given metrics.
type point struct {
	n       string
	wall    float64
	cpu     float64
	metrics map[string]float64
}

func scalingRun(points []point, files int) *benchrig.Run {
	params := []benchrig.Param{{Name: "jobs"}}
	for _, p := range points {
		params[0].Values = append(params[0].Values, p.n)
	}
	run := &benchrig.Run{
		ID: "r", Cases: benchrig.Matrix(params), ScalingParam: "jobs",
		Fingerprint:    benchrig.Fingerprint{CPUs: 2},
		ThroughputUnit: benchrig.Bytes, Throughput: map[string]float64{}, Files: map[string]int{},
	}
	seq := 0
	for i, p := range points {
		id := run.Cases[i].ID
		run.Throughput[id] = 660e6
		run.Files[id] = files
		for k := range 5 {
			jitter := 1 + 0.001*float64(k)
			run.Trials = append(run.Trials, benchrig.Trial{CaseID: id, Seq: seq, Measurement: benchrig.Measurement{
				Wall: time.Duration(p.wall * jitter * 1e9), User: time.Duration(p.cpu * jitter * 0.9 * 1e9),
				Sys: time.Duration(p.cpu * jitter * 0.1 * 1e9), Metrics: p.metrics,
			}})
			seq++
		}
	}
	return run
}

func TestKneeAttribution(t *testing.T) {
	capped := map[string]float64{"read_bps_cap": 128e6, "io_read_bytes": 660e6}
	cold := map[string]float64{"io_read_bytes": 600e6}
	warm := map[string]float64{"io_read_bytes": 0}
	tests := []struct {
		name       string
		points     []point
		files      int
		found      bool
		knee, next float64
		bound      string
		reason     string // a part of the reason
	}{
		{
			name:   "cores saturated",
			points: []point{{"1", 1.0, 0.99, warm}, {"2", 0.52, 1.0, warm}, {"3", 0.50, 0.97, warm}, {"4", 0.50, 0.98, warm}},
			files:  12, found: true, knee: 2, next: 3, bound: BoundCPU,
			reason: "cores saturated: 1.94 of 2 cores busy",
		},
		{
			name:   "reads held at the cap",
			points: []point{{"1", 6.5, 0.8, capped}, {"2", 5.2, 0.8, capped}, {"3", 5.2, 0.8, capped}},
			files:  12, found: true, knee: 2, next: 3, bound: BoundIO,
			reason: "reads at 127 MB/s, 99% of the 128 MB/s cap",
		},
		{
			name:   "many small files",
			points: []point{{"1", 2.0, 1.0, warm}, {"2", 1.9, 1.1, warm}, {"4", 1.9, 1.1, warm}},
			files:  733, found: true, knee: 1, next: 2, bound: BoundStartup,
			reason: "733 files, one process each, 2.7 ms of wall per file",
		},
		{
			name:   "cold reads without a cap",
			points: []point{{"1", 3.0, 0.6, cold}, {"2", 2.9, 0.6, cold}},
			files:  12, found: true, knee: 1, next: 2, bound: BoundIO,
			reason: "% of the data did not come from the page cache",
		},
		{
			name:   "nothing saturated",
			points: []point{{"1", 1.0, 0.5, warm}, {"2", 0.98, 0.5, warm}},
			files:  12, found: true, knee: 1, next: 2, bound: BoundUnknown,
			reason: "neither cores nor reads look saturated: 0.51 of 2 cores busy, device reads 0 B/s",
		},
		{
			name:   "still scaling",
			points: []point{{"1", 1.0, 1.0, warm}, {"2", 0.55, 1.0, warm}},
			files:  12, found: false, knee: 2, bound: "",
			reason: "still scaling",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Build(scalingRun(tt.points, tt.files))
			if len(r.Scaling) != 1 || len(r.Scaling[0].Groups) != 1 {
				t.Fatalf("scaling = %+v", r.Scaling)
			}
			k := r.Scaling[0].Groups[0].Knee
			if k == nil {
				t.Fatal("no knee")
			}
			if k.Found != tt.found || k.Value != tt.knee || (tt.found && k.Next != tt.next) || k.Bound != tt.bound {
				t.Errorf("knee found %v at %v next %v bound %q; want %v %v %v %q", k.Found, k.Value, k.Next, k.Bound, tt.found, tt.knee, tt.next, tt.bound)
			}
			if !strings.Contains(k.Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", k.Reason, tt.reason)
			}
		})
	}
}

func TestRateBasedSpeedupWithInstances(t *testing.T) {
	// Two instances do twice the work in 1.1x the time: speedup 1.82, not
	// the 0.91 that comparing times would say.
	run := scalingRun([]point{{"1", 1.0, 1, nil}, {"2", 1.1, 2, nil}}, 0)
	run.Throughput["jobs=2"] = 2 * 660e6
	r := Build(run)
	p := r.Scaling[0].Groups[0].Points[1]
	if math.Abs(p.Speedup-2/1.1) > 1e-3 || math.Abs(p.Efficiency-1/1.1) > 1e-3 {
		t.Errorf("speedup %.3f efficiency %.3f, want 1.818 and 0.909", p.Speedup, p.Efficiency)
	}
	// Against the first case, jobs=2 takes 1.1x the time for 2x the
	// work: per unit of work it is 0.55x.
	if len(r.Comparisons) != 1 || !r.Comparisons[0].PerUnit || math.Abs(r.Comparisons[0].Ratio-0.55) > 1e-3 {
		t.Errorf("comparisons = %+v, want one per-unit ratio of 0.55", r.Comparisons)
	}
}

func TestGroupBaselinesAndCeilings(t *testing.T) {
	cases := benchrig.Matrix([]benchrig.Param{
		{Name: "impl", Values: []string{"cat", "gnu", "busybox"}},
		{Name: "pattern", Values: []string{"C", "N"}},
	})
	walls := map[string]float64{
		"impl=cat,pattern=C": 0.1, "impl=gnu,pattern=C": 1, "impl=busybox,pattern=C": 3,
		"impl=cat,pattern=N": 0.1, "impl=gnu,pattern=N": 2, "impl=busybox,pattern=N": 30,
	}
	run := &benchrig.Run{ID: "r", Cases: cases, BaselineID: "impl=gnu,pattern=C",
		Baselines: map[string]string{}, Ceilings: map[string]string{},
		ThroughputUnit: benchrig.Bytes, Throughput: map[string]float64{},
		Skipped: map[string]string{"impl=busybox,pattern=N": "required program busybox not found"},
	}
	seq := 0
	for _, c := range cases {
		pat, _ := c.Get("pattern")
		run.Baselines[c.ID] = "impl=gnu,pattern=" + pat
		run.Ceilings[c.ID] = "impl=cat,pattern=" + pat
		run.Throughput[c.ID] = 1e9
		if run.Skipped[c.ID] != "" {
			continue
		}
		for k := range 6 {
			run.Trials = append(run.Trials, benchrig.Trial{CaseID: c.ID, Seq: seq,
				Measurement: benchrig.Measurement{Wall: time.Duration(walls[c.ID] * (1 + 0.01*float64(k)) * 1e9)}})
			seq++
		}
	}
	r := Build(run)
	got := map[string]string{}
	for _, cm := range r.Comparisons {
		got[cm.Case] = cm.Baseline + " " + formatRatio(cm.Ratio)
	}
	// cat is the ceiling, not a contender; busybox,N was skipped.
	want := map[string]string{"impl=busybox,pattern=C": "impl=gnu,pattern=C 3.00"}
	if len(got) != len(want) {
		t.Errorf("comparisons %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("comparison of %s = %q, want %q", k, got[k], v)
		}
	}
	var busyC *CaseReport
	for i := range r.Cases {
		if r.Cases[i].Case.ID == "impl=busybox,pattern=C" {
			busyC = &r.Cases[i]
		}
	}
	if busyC.Ceiling == nil || busyC.Ceiling.Case != "impl=cat,pattern=C" || math.Abs(busyC.Ceiling.Fraction-0.1/3) > 1e-9 {
		t.Errorf("ceiling = %+v, want cat,C at 3.3%%", busyC.Ceiling)
	}
	var txt strings.Builder
	if err := WriteText(&txt, r); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"of ceiling", "3.3%", "- skipped: required program busybox not found",
		"impl=busybox,pattern=C is 3.00x slower than impl=gnu,pattern=C"} {
		if !strings.Contains(txt.String(), s) {
			t.Errorf("text report lacks %q:\n%s", s, txt.String())
		}
	}
}

func TestItemsWithBytes(t *testing.T) {
	run := scalingRun([]point{{"1", 2.0, 1, nil}}, 0)
	run.ThroughputUnit = benchrig.Items
	run.Throughput["jobs=1"] = 10000
	run.ThroughputBytes = map[string]float64{"jobs=1": 40e6}
	r := Build(run)
	c := r.Cases[0]
	if c.Throughput == nil || c.ByteRate == nil || math.Abs(c.ByteRate.RateMedian-20e6) > 1e5 || math.Abs(c.Throughput.RateMedian-5000) > 20 {
		t.Fatalf("throughput %+v byte rate %+v, want ~5000 items/s and ~20 MB/s", c.Throughput, c.ByteRate)
	}
	var txt, js strings.Builder
	if err := WriteText(&txt, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "items/s (") || !strings.Contains(txt.String(), "MB/s)") {
		t.Errorf("text report lacks the byte rate:\n%s", txt.String())
	}
	if !strings.Contains(js.String(), `"throughput_bytes": {`) {
		t.Error("JSON lacks throughput_bytes")
	}
}

func TestSaturatedCoresWithManySmallFiles(t *testing.T) {
	r := Build(scalingRun([]point{{"1", 1.9, 1.0, nil}, {"2", 1.0, 1.8, nil}, {"3", 1.05, 1.85, nil}}, 733))
	k := r.Scaling[0].Groups[0].Knee
	if k == nil || k.Bound != BoundCPU || !strings.Contains(k.Reason, "733 files at 2.6 ms each") {
		t.Errorf("knee %+v, want cpu-bound with the start-up note", k)
	}
}

// TestKneeUncertainty: a knee and its attribution are claimed only when
// the trials around it tell the levels apart.
func TestKneeUncertainty(t *testing.T) {
	noisy := []float64{0.80, 1.25, 0.90, 1.15, 1.0} // per-trial factors: ±25%
	tests := []struct {
		name       string
		points     []point
		noisyLevel string // whose trials get the noisy factors
		determined bool
		found      bool
		reason     string
	}{
		{"clear knee", []point{{"1", 1.0, 1, nil}, {"2", 0.52, 1.9, nil}, {"3", 0.51, 1.9, nil}}, "", true, true, "cores saturated"},
		{"noisy level after the knee", []point{{"1", 1.0, 1, nil}, {"2", 0.52, 1.9, nil}, {"3", 0.51, 1.9, nil}}, "3", false, true,
			"not determined: going from 2 to 3 gained 2% in speedup (95% CI"},
		{"noisy step before the knee", []point{{"1", 1.0, 1, nil}, {"2", 0.85, 1.9, nil}, {"3", 0.84, 1.9, nil}}, "2", false, true,
			"not determined: going from 1 to 2 gained 17% in speedup (95% CI"},
		{"noisy, still scaling", []point{{"1", 1.0, 1, nil}, {"2", 0.88, 1.9, nil}}, "2", false, false, "which does not rule out a gain under 10%"},
		{"a loss is a loss", []point{{"1", 1.0, 1, nil}, {"2", 1.05, 1.9, nil}}, "", true, true, "going to 2 lost 5% in speedup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := scalingRun(tt.points, 12)
			i := 0
			for j := range run.Trials {
				if run.Trials[j].CaseID == "jobs="+tt.noisyLevel {
					run.Trials[j].Wall = time.Duration(float64(run.Trials[j].Wall) * noisy[i%len(noisy)])
					i++
				}
			}
			r := Build(run)
			k := r.Scaling[0].Groups[0].Knee
			text := kneeText("jobs", k)
			if k.Determined != tt.determined || k.Found != tt.found || !strings.Contains(text, tt.reason) {
				t.Errorf("determined %v found %v: %q; want %v %v and %q", k.Determined, k.Found, text, tt.determined, tt.found, tt.reason)
			}
			if !k.Determined && k.Bound != "" {
				t.Errorf("undetermined knee attributed: %q", k.Bound)
			}
			if strings.Contains(text, "-0%") {
				t.Errorf("signed zero in %q", text)
			}
		})
	}
}

func TestGainWords(t *testing.T) {
	tests := []struct {
		name string
		gain float64
		want string
	}{
		{"gain", 0.034, "gained 3%"},
		{"loss", -0.05, "lost 5%"},
		{"tiny loss", -0.001, "gained nothing"},
		{"zero", 0, "gained nothing"},
		{"unknown", math.NaN(), "changed by an unknown amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gainWords(tt.gain); got != tt.want {
				t.Errorf("gainWords(%v) = %q, want %q", tt.gain, got, tt.want)
			}
		})
	}
	if got := gainCI(-0.001, 0.14); got != "0% to +14%" {
		t.Errorf("gainCI = %q", got)
	}
}
