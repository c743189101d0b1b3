package web

import (
	"context"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// memSamples is a SampleSource over samples in memory: what the
// 1,000,000-point page is measured with, so that the figure is the
// handler's (reading, reducing, drawing, rendering), not a store's read.
type memSamples struct {
	samples []benchrig.Sample
	reads   int
}

var _ SampleSource = (*memSamples)(nil)

func (m *memSamples) Name() string { return "memory" }

func (m *memSamples) Samples(ctx context.Context, runID string, q SampleQuery) ([]benchrig.Sample, int64, error) {
	m.reads++
	if q.Max > 0 {
		out, stride := thin(m.samples, q.Max)
		return out, stride, nil
	}
	return m.samples, 1, nil
}

// manySamples makes n trial samples of run's trials, 10 ms apart, the
// trials one after another as the local executor runs them: CPU near one
// core, memory a sawtooth with one spike per trial, IO steady. The
// figures live in a few big slices, so a million samples cost ~450 MB,
// not millions of allocations.
func manySamples(run *benchrig.Run, n int) []benchrig.Sample {
	trials := run.Trials
	out := make([]benchrig.Sample, n)
	cgs := make([]benchrig.CgroupSample, n)
	vals := make([]int64, 4*n)
	cpus := make([]time.Duration, n)
	per := n / len(trials)
	i := 0
	for ti := range trials {
		tr := trials[ti]
		ref := tr.Ref()
		count := per
		if ti < n%len(trials) {
			count++
		}
		start := run.Started.Add(time.Duration(i) * 10 * time.Millisecond)
		for k := range count {
			cpus[i] = time.Duration(k) * 9 * time.Millisecond // 0.9 cores
			mem := int64(50<<20 + (k%1000)<<14)
			if k == count/2 {
				mem = 400 << 20 // one spike: the final sample's memory.peak keeps it
			}
			vals[4*i], vals[4*i+1], vals[4*i+2] = mem, int64(k)<<12, int64(k)<<13
			cgs[i] = benchrig.CgroupSample{CPU: &cpus[i], MemoryCurrent: &vals[4*i], IOReadBytes: &vals[4*i+1], IOWriteBytes: &vals[4*i+2]}
			final := k == count-1
			if final {
				vals[4*i+3] = 400 << 20
				cgs[i].MemoryPeak = &vals[4*i+3]
			}
			out[i] = benchrig.Sample{Time: start.Add(time.Duration(k) * 10 * time.Millisecond), Run: run.ID, Node: "local", Arch: "amd64",
				Kind: benchrig.SampleTrial, Seq: int64(k + 1), Final: final, Trial: &ref, Cgroup: &cgs[i]}
			i++
		}
	}
	return out
}

const million = 1_000_000

// pageBudget is the bound on the 1,000,000-point run page.
const pageBudget = 500 * 1000

// TestRunPage1MPointsSize: a run with 1,000,000 collector samples
// renders its three metric charts in under 500 KB: each trial's series
// is reduced to at most one min/max bucket per pixel.
func TestRunPage1MPointsSize(t *testing.T) {
	db := openStore(t)
	run := recordRun(t, db, "big", "sort", runT0, benchrig.RunFinished, sweepCases(1))
	src := &memSamples{samples: manySamples(run, million)}
	s := publicServer(Deps{Store: db, Samples: src})
	code, body := get(t, s.Handler(), "/runs/big")
	if code != 200 {
		t.Fatalf("GET: %d\n%.2000s", code, body)
	}
	t.Logf("1,000,000-sample run page: %d bytes", len(body))
	if len(body) > pageBudget {
		t.Errorf("page is %d bytes, over %d", len(body), pageBudget)
	}
	if !strings.Contains(body, "th sample of each trial was read") {
		t.Error("the page does not say that it read the samples thinned")
	}
	if src.reads != 1 {
		t.Errorf("%d reads of the samples, want 1", src.reads)
	}
	if n := strings.Count(body, `class="band"`); n != 2*3*len(run.Trials) {
		t.Errorf("%d bands, want one per trial (%d) in each of 3 charts, drawn wide and narrow", n, len(run.Trials))
	}
	// Every trial's memory spike (400 MiB = 419 MB) is in its table row,
	// from the final sample's memory.peak, though the sample of the spike
	// itself was not read.
	if n := strings.Count(body, "419 MB"); n < len(run.Trials) {
		t.Errorf("the memory spike shows in %d trial rows, want %d", n, len(run.Trials))
	}
}

// BenchmarkRunPage1MPoints measures the whole run page handler for a run
// with 1,000,000 collector samples (samples in memory, the run in a real
// sqlite store): ns/op is the server time, page-bytes the page's size.
func BenchmarkRunPage1MPoints(b *testing.B) {
	db := openStore(b)
	run := recordRun(b, db, "big", "sort", runT0, benchrig.RunFinished, sweepCases(1))
	src := &memSamples{samples: manySamples(run, million)}
	benchPage(b, publicServer(Deps{Store: db, Samples: src}), "/runs/big")
}

// benchPage GETs path b.N times and reports the page's size and the CPU
// time per page beside the wall time: on a shared machine ns/op also
// counts waiting for a core.
func benchPage(b *testing.B, s *Server, path string) {
	h := s.Handler()
	var size int
	runtime.GC() // setup's garbage is not the page's
	cpu0 := processCPU()
	b.ResetTimer()
	for range b.N {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			b.Fatalf("GET %s: %d", path, rec.Code)
		}
		size = rec.Body.Len()
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(size), "page-bytes")
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRunPage1MPointsStore is the same page with the samples read
// from the sqlite store (NewSampleSource over sqlite.DB): what a server
// without Elasticsearch does. The store decodes each sample's JSON, so
// this is dominated by the read, not the page.
func BenchmarkRunPage1MPointsStore(b *testing.B) {
	db := openStore(b)
	run := recordRun(b, db, "big", "sort", runT0, benchrig.RunFinished, sweepCases(1))
	all := manySamples(run, million)
	for i := 0; i < len(all); i += 10000 {
		if err := db.WriteSamples(context.Background(), all[i:min(i+10000, len(all))]); err != nil {
			b.Fatal(err)
		}
	}
	all = nil
	benchPage(b, publicServer(Deps{Store: db, Samples: NewSampleSource("store", db)}), "/runs/big")
}
