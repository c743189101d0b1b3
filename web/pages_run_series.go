package web

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/reports"
	"github.com/benchrig/benchrig/web/chart"
)

// seriesView is the run page's collector charts: each trial's CPU,
// memory and IO over the run, downsampled to the charts' pixel width.
type seriesView struct {
	Source  string // "store" or "elasticsearch"
	Samples int    // trial samples read
	Stride  int64  // every Stride-th sample of each trial was read (1: all)
	Charts  []seriesChart
	Legend  []legendItem
	Trials  []trialRow // the figures behind the charts, per trial
	More    int        // trials left out of the table
}

type seriesChart struct {
	Title string
	SVG   template.HTML
}

type legendItem struct{ Label, Color string }

type trialRow struct {
	Trial, Node, Samples, CPU, PeakMem, Read, Write string
}

// maxChartSamples caps the samples the charts read: about six per pixel
// of a 640-pixel chart. A run with more is read thinned (every 2^k-th
// sample of each trial, with its first and final ones), which keeps the
// page of a 1,000,000-sample run near 100 ms (BenchmarkRunPage1MPointsStore).
// Counters are cumulative, so CPU and IO between the samples read are
// exact averages; memory is sampled, and its peak comes from the final
// sample's memory.peak.
const maxChartSamples = 4000

// maxTrialRows caps the table under the charts: past it a table is not
// read, and the page must stay small.
const maxTrialRows = 200

// trialSeries accumulates one trial's samples.
type trialSeries struct {
	ref     benchrig.TrialRef
	epoch   int64
	node    string
	color   int
	n       int
	cpu     *chart.MinMax // cores busy between two samples
	mem     *chart.MinMax // current memory
	io      *chart.MinMax // bytes/s read and written between two samples
	havePrv bool
	prvT    float64 // seconds since t0
	prvCPU  float64 // ns; NaN when not read
	prvIO   float64 // bytes; NaN when not read
	first   float64
	firstC  float64
	lastC   float64
	peak    float64
	read    float64
	write   float64
}

// seriesView reads the run's trial samples and reduces them; nil when
// the run has none.
func (s *Server) seriesView(ctx context.Context, run *benchrig.Run, lbl func(string) string) (*seriesView, error) {
	samples, stride, err := s.deps.Samples.Samples(ctx, run.ID, SampleQuery{Kinds: []benchrig.SampleKind{benchrig.SampleTrial}, Max: maxChartSamples})
	if err != nil {
		return nil, err
	}
	if len(samples) == 0 {
		return nil, nil
	}
	lo, hi := samples[0].Time.UnixNano(), samples[0].Time.UnixNano()
	for i := range samples {
		t := samples[i].Time.UnixNano()
		lo, hi = min(lo, t), max(hi, t)
	}
	if !run.Started.IsZero() {
		lo = min(lo, run.Started.UnixNano())
	}
	span := float64(hi-lo) / 1e9
	buckets := chart.PlotWidth(wideChart) // the narrow chart draws the same buckets
	caseColor := map[string]int{}
	for i, c := range run.Cases {
		caseColor[c.ID] = i
	}

	type key struct {
		ref   benchrig.TrialRef
		epoch int64
	}
	byKey := map[key]*trialSeries{}
	var order []*trialSeries
	var last *trialSeries
	for i := range samples {
		sm := &samples[i]
		if sm.Trial == nil || sm.Cgroup == nil {
			continue
		}
		// Samples come in time order, mostly one trial after another:
		// the last trial's series saves a map lookup per sample.
		ts := last
		if ts == nil || ts.ref != *sm.Trial || ts.epoch != sm.Epoch {
			k := key{*sm.Trial, sm.Epoch}
			ts = byKey[k]
			if ts == nil {
				c, ok := caseColor[sm.Trial.Case]
				if !ok {
					c = len(caseColor)
					caseColor[sm.Trial.Case] = c
				}
				ts = &trialSeries{ref: *sm.Trial, epoch: sm.Epoch, node: sm.Node, color: c,
					cpu: chart.NewMinMax(0, span, buckets), mem: chart.NewMinMax(0, span, buckets), io: chart.NewMinMax(0, span, buckets),
					prvCPU: math.NaN(), prvIO: math.NaN(), firstC: math.NaN(), lastC: math.NaN(), peak: math.NaN(), read: math.NaN(), write: math.NaN()}
				byKey[k] = ts
				order = append(order, ts)
			}
			last = ts
		}
		x := float64(sm.Time.UnixNano()-lo) / 1e9
		cg := sm.Cgroup
		ts.n++
		cpu, io := math.NaN(), math.NaN()
		if cg.CPU != nil {
			cpu = float64(*cg.CPU)
			if math.IsNaN(ts.firstC) {
				ts.firstC, ts.first = cpu, x
			}
			ts.lastC = cpu
		}
		if cg.IOReadBytes != nil && cg.IOWriteBytes != nil {
			io = float64(*cg.IOReadBytes + *cg.IOWriteBytes)
			ts.read, ts.write = float64(*cg.IOReadBytes), float64(*cg.IOWriteBytes)
		}
		if cg.MemoryCurrent != nil {
			m := float64(*cg.MemoryCurrent)
			ts.mem.Add(x, m)
			ts.peak = maxNaN(ts.peak, m)
		}
		if cg.MemoryPeak != nil {
			ts.peak = maxNaN(ts.peak, float64(*cg.MemoryPeak))
		}
		if ts.havePrv {
			if dt := x - ts.prvT; dt > 0 {
				ts.cpu.Add(x, (cpu-ts.prvCPU)/1e9/dt) // NaN (left out) when either is missing
				ts.io.Add(x, (io-ts.prvIO)/dt)
			}
		}
		ts.havePrv, ts.prvT, ts.prvCPU, ts.prvIO = true, x, cpu, io
	}
	if len(order) == 0 {
		return nil, nil
	}

	v := &seriesView{Source: s.deps.Samples.Name(), Samples: len(samples), Stride: stride}
	var cpuS, memS, ioS []chart.Series
	seen := map[int]bool{}
	for _, ts := range order {
		name := lbl(ts.ref.Case) + fmt.Sprintf(" #%d", ts.ref.Rep)
		cpuS = append(cpuS, ts.cpu.Series(name, ts.color))
		memS = append(memS, ts.mem.Series(name, ts.color))
		ioS = append(ioS, ts.io.Series(name, ts.color))
		if !seen[ts.color] {
			seen[ts.color] = true
			v.Legend = append(v.Legend, legendItem{Label: lbl(ts.ref.Case), Color: chart.Color(ts.color)})
		}
		if len(v.Trials) == maxTrialRows {
			v.More++
			continue
		}
		row := trialRow{Trial: name, Node: ts.node, Samples: fmt.Sprint(ts.n), CPU: "-",
			PeakMem: reports.FormatBytes(ts.peak), Read: reports.FormatBytes(ts.read), Write: reports.FormatBytes(ts.write)}
		if d := ts.prvT - ts.first; d > 0 && !math.IsNaN(ts.firstC) {
			row.CPU = fmt.Sprintf("%.2f", (ts.lastC-ts.firstC)/1e9/d)
		}
		v.Trials = append(v.Trials, row)
	}
	xf := func(sec float64) string { return reports.FormatDuration(time.Duration(sec * float64(time.Second))) }
	add := func(title, y string, ss []chart.Series, yf func(float64) string) {
		lc := chart.LineChart{Title: title, XAxis: "time since the run started", YAxis: y, Series: ss, XFormat: xf, YFormat: yf, Height: 220, XRange: true, XTo: span}
		v.Charts = append(v.Charts, seriesChart{Title: title, SVG: twoSizes(func(w int) template.HTML { lc.Width = w; return lc.SVG() })})
	}
	add("CPU per trial (cores busy; band: min to max per pixel)", "cores", cpuS, nil)
	add("Memory per trial (current; band: min to max per pixel)", "bytes", memS, nil)
	add("IO per trial (bytes read and written per second)", "bytes/s", ioS, nil)
	return v, nil
}

func maxNaN(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	return math.Max(a, b)
}
