package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/testenv"
)

// realClient is a client of the test server (BENCHRIG_ES_URL, set by
// make testenv), with a spool under the test's temporary directory. It
// holds the server's test lock: exclusive for a test that stops it.
func realClient(t testing.TB, exclusive bool) *Client {
	t.Helper()
	url := os.Getenv("BENCHRIG_ES_URL")
	if url == "" {
		testenv.Skip(t, "BENCHRIG_ES_URL is not set (make testenv starts Elasticsearch)")
	}
	testenv.LockElasticsearch(t, exclusive)
	c, err := New(Config{URLs: []string{url}, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// esJSON runs one request against the test server and decodes the answer.
func esJSON(t testing.TB, c *Client, method, path, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := c.es.Perform(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, buf.String())
	}
	if out != nil {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func count(t testing.TB, c *Client, index, query string) int {
	t.Helper()
	esJSON(t, c, "POST", "/"+index+"/_refresh?ignore_unavailable=true&allow_no_indices=true", "", nil)
	var r struct{ Count int }
	esJSON(t, c, "POST", "/"+index+"/_count?ignore_unavailable=true&allow_no_indices=true", query, &r)
	return r.Count
}

func runQuery(run string) string {
	return fmt.Sprintf(`{"query":{"term":{"benchrig.run.id":%q}}}`, run)
}

func dur(d time.Duration) *time.Duration { return &d }

// testRun builds a run of two cases with n trials each, and the samples a
// collector would have taken: three per trial (two periodic, one final).
func testRun(id string, n int, start time.Time) (*benchrig.Run, []benchrig.Sample) {
	run := &benchrig.Run{ID: id, SpecName: "grep", Status: benchrig.RunFinished, Started: start, Finished: start.Add(time.Minute),
		Cases: []benchrig.Case{
			{ID: "impl=gnu", Params: []benchrig.KV{{Name: "impl", Value: "gnu"}}},
			{ID: "impl=busybox", Index: 1, Params: []benchrig.KV{{Name: "impl", Value: "busybox"}}},
		}, BaselineID: "impl=gnu"}
	var samples []benchrig.Sample
	for ci, c := range run.Cases {
		for rep := 0; rep < n; rep++ {
			at := start.Add(time.Duration(rep*2+ci) * time.Second)
			tr := benchrig.Trial{RunID: id, CaseID: c.ID, Index: rep, Number: rep + 1, Node: "lab1", Seq: rep*2 + ci,
				Outcome: benchrig.OutcomeOK, Measurement: benchrig.Measurement{Start: at,
					Wall: time.Duration(40+ci*10+rep%3) * time.Millisecond, User: 30 * time.Millisecond, Sys: 5 * time.Millisecond}}
			run.Trials = append(run.Trials, tr)
			ref := tr.Ref()
			for seq := int64(0); seq < 3; seq++ {
				samples = append(samples, benchrig.Sample{
					Time: at.Add(time.Duration(seq*100+100) * time.Millisecond), Run: id, Node: "lab1", Arch: "amd64",
					Kind: benchrig.SampleTrial, Seq: (seq + 1) % 3, Final: seq == 2, Trial: &ref, Params: c.Map(),
					ContainerID: fmt.Sprintf("c%d%d", ci, rep), ContainerName: "benchrig-" + id,
					Cgroup: &benchrig.CgroupSample{CPU: dur(time.Duration(seq+1) * 10 * time.Millisecond)},
				})
			}
		}
	}
	samples = append(samples, benchrig.Sample{Time: start, Run: id, Node: "lab1", Arch: "amd64", Kind: benchrig.SampleHost, Seq: 1,
		Host: &benchrig.HostSample{CPUs: 2, CPUTotal: time.Second, CPUIdle: 500 * time.Millisecond}},
		benchrig.Sample{Time: start, Run: id, Node: "lab1", Arch: "amd64", Kind: benchrig.SampleCollector, Final: true,
			Collector: &benchrig.CollectorSample{CollectorCost: benchrig.CollectorCost{Node: "lab1", Mode: "in-process",
				Interval: 100 * time.Millisecond, Wall: time.Minute, CPU: 120 * time.Millisecond, Samples: 31}}},
		benchrig.Sample{Time: start, Run: id, Node: "lab1", Kind: benchrig.SampleHost, Seq: 2, Error: "read /proc/stat: permission denied"})
	// Every optional part of a trial, so the strict mapping is tried on it.
	run.Trials[0].Noise = &benchrig.Noise{Window: 40 * time.Millisecond, CPUs: 2, OtherCPU: 9 * time.Millisecond, Disturbed: true}
	run.Trials[0].Metrics = map[string]float64{"io_read_bytes": 4096, "pids_peak": 3}
	run.Trials[0].Stdout = &benchrig.OutputDigest{}
	run.Collection = &benchrig.Collection{Interval: 100 * time.Millisecond, Sink: "elasticsearch",
		Collectors: []benchrig.CollectorCost{{Node: "lab1", Mode: "in-process", CPU: time.Second}}, Shipping: benchrig.ShipCounters{Sent: 9}}
	run.Warnings = []string{"a warning"}
	return run, samples
}

func TestIntegrationIndexAndQuery(t *testing.T) {
	c := realClient(t, false)
	ctx := context.Background()
	id := fmt.Sprintf("it-%d", time.Now().UnixNano())
	start := time.Now().UTC().Truncate(time.Second)
	run, samples := testRun(id, 5, start)
	sh, err := c.NewShipper(ctx, ShipperOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.WriteSamples(ctx, samples); err != nil {
		t.Fatal(err)
	}
	for i := range run.Trials {
		if err := sh.WriteTrial(ctx, run, &run.Trials[i]); err != nil {
			t.Fatal(err)
		}
	}
	out := benchrig.OutcomeOK
	events := []benchrig.Event{
		{Run: id, Seq: 1, Time: start, Kind: benchrig.EventRunStarted},
		{Run: id, Seq: 2, Time: start, Kind: benchrig.EventTrialFinished, Trial: &benchrig.TrialRef{Run: id, Case: "impl=gnu"}, Outcome: &out, Duration: 40 * time.Millisecond, Number: 1},
	}
	if err := sh.WriteEvents(ctx, run, events); err != nil {
		t.Fatal(err)
	}
	if err := sh.WriteRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	// Written twice: stored once.
	if err := sh.WriteSamples(ctx, samples[:3]); err != nil {
		t.Fatal(err)
	}
	if err := sh.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := sh.Counters()
	total := int64(len(samples) + len(run.Trials) + len(events) + 1 + len(run.Cases) + 3)
	if got.Sent != total || got.Duplicates != 3 || got.Failed != 0 {
		t.Errorf("counters %+v, want sent %d, duplicates 3, failed 0", got, total)
	}

	q := runQuery(id)
	if n := count(t, c, "benchrig-metrics-*", q); n != len(samples) {
		t.Errorf("metrics: %d documents, want %d", n, len(samples))
	}
	if n := count(t, c, "benchrig-results-*", q); n != len(run.Trials)+1+len(run.Cases) {
		t.Errorf("results: %d documents, want %d", n, len(run.Trials)+1+len(run.Cases))
	}
	if n := count(t, c, "benchrig-events-*", q); n != len(events) {
		t.Errorf("events: %d documents, want %d", n, len(events))
	}
	// Documents per trial: three samples each.
	var per struct {
		Aggregations struct {
			T struct {
				Buckets []struct {
					Key      string
					DocCount int `json:"doc_count"`
				}
			}
		}
	}
	esJSON(t, c, "POST", "/benchrig-metrics-*/_search", fmt.Sprintf(`{"size":0,"query":{"bool":{"filter":[{"term":{"benchrig.run.id":%q}},{"term":{"benchrig.doc":"trial"}}]}},
		"aggs":{"t":{"terms":{"field":"benchrig.trial.ref","size":100}}}}`, id), &per)
	if len(per.Aggregations.T.Buckets) != len(run.Trials) {
		t.Errorf("%d trials with samples, want %d", len(per.Aggregations.T.Buckets), len(run.Trials))
	}
	for _, b := range per.Aggregations.T.Buckets {
		if b.DocCount != 3 {
			t.Errorf("trial %s: %d samples, want 3", b.Key, b.DocCount)
		}
	}
	// A date_histogram of container CPU per case (by the params, as on
	// every document).
	var hist struct {
		Aggregations struct {
			Case struct {
				Buckets []struct {
					Key  string
					Time struct {
						Buckets []struct {
							DocCount int `json:"doc_count"`
							CPU      struct{ Value float64 }
						}
					}
				}
			}
		}
	}
	esJSON(t, c, "POST", "/benchrig-metrics-*/_search", fmt.Sprintf(`{"size":0,"query":{"term":{"benchrig.run.id":%q}},
		"aggs":{"case":{"terms":{"field":"benchrig.params.impl"},"aggs":{"time":{"date_histogram":{"field":"@timestamp","fixed_interval":"2s"},
		"aggs":{"cpu":{"max":{"field":"benchrig.cgroup.cpu_ns"}}}}}}}}`, id), &hist)
	if len(hist.Aggregations.Case.Buckets) != 2 {
		t.Fatalf("CPU per case: %d cases, want 2: %+v", len(hist.Aggregations.Case.Buckets), hist)
	}
	for _, cb := range hist.Aggregations.Case.Buckets {
		docs := 0
		for _, b := range cb.Time.Buckets {
			docs += b.DocCount
			if b.DocCount > 0 && b.CPU.Value != float64(30*time.Millisecond) {
				t.Errorf("case %s: max CPU %v, want 30ms", cb.Key, b.CPU.Value)
			}
		}
		if docs != 15 {
			t.Errorf("case %s: %d samples in the histogram, want 15", cb.Key, docs)
		}
	}
	// The case statistics.
	var cs struct {
		Hits struct {
			Hits []struct {
				Source doc `json:"_source"`
			}
		}
	}
	esJSON(t, c, "POST", "/benchrig-results-*/_search", fmt.Sprintf(`{"query":{"bool":{"filter":[{"term":{"benchrig.run.id":%q}},{"term":{"benchrig.doc":"case"}},{"term":{"benchrig.case":"impl=gnu"}}]}}}`, id), &cs)
	if len(cs.Hits.Hits) != 1 || cs.Hits.Hits[0].Source.Benchrig.Stats == nil {
		t.Fatalf("case document: %+v", cs)
	}
	if st := cs.Hits.Hits[0].Source.Benchrig.Stats; st.N != 5 || st.Median != 0.041 || !st.Baseline {
		t.Errorf("case stats %+v, want n 5, median 0.041, baseline", st)
	}
	st, err := c.Check(ctx)
	if err != nil || !st.Ready() || !strings.HasPrefix(st.Version, "8.") {
		t.Errorf("check: %+v, %v", st, err)
	}
}

// TestIntegrationReplay: documents spooled while no server answered (a
// dead address) are shipped by Replay to the real server, once; a second
// Replay finds nothing.
func TestIntegrationReplay(t *testing.T) {
	c := realClient(t, false)
	ctx := context.Background()
	dead, err := New(Config{URLs: []string{"http://127.0.0.1:1"}, SpoolDir: c.cfg.SpoolDir, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	sh, err := dead.NewShipper(ctx, ShipperOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("replay-%d", time.Now().UnixNano())
	_, samples := testRun(id, 3, time.Now().UTC())
	if err := sh.WriteSamples(ctx, samples); err != nil {
		t.Fatal(err)
	}
	if err := sh.Close(ctx); benchrig.ErrorCode(err) != benchrig.EUnavailable {
		t.Fatalf("close with the server unreachable: %v, want documents left in the spool", err)
	}
	got, err := Replay(ctx, c, c.cfg.SpoolDir)
	if err != nil || got.Sent != int64(len(samples)) || got.Failed != 0 {
		t.Fatalf("replay: %+v, %v; want %d sent", got, err, len(samples))
	}
	if n := count(t, c, "benchrig-metrics-*", runQuery(id)); n != len(samples) {
		t.Errorf("%d stored, want %d", n, len(samples))
	}
	if got, err := Replay(ctx, c, c.cfg.SpoolDir); err != nil || got.Sent != 0 {
		t.Errorf("second replay: %+v, %v; want nothing", got, err)
	}
}

// TestIntegrationResumedRunReplaces: the real server takes a second run
// document (a resumed run's end) as a replacement, counted Sent.
func TestIntegrationResumedRunReplaces(t *testing.T) {
	c := realClient(t, false)
	ctx := context.Background()
	id := fmt.Sprintf("resume-%d", time.Now().UnixNano())
	run, _ := testRun(id, 2, time.Now().UTC().Truncate(time.Second))
	for i, status := range []benchrig.RunStatus{benchrig.RunInterrupted, benchrig.RunFinished} {
		sh, err := c.NewShipper(ctx, ShipperOptions{Refresh: "wait_for"})
		if err != nil {
			t.Fatal(err)
		}
		run.Status = status
		if err := sh.WriteRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		if err := sh.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if got, want := sh.Counters(), int64(1+len(run.Cases)); got.Sent != want || got.Duplicates != 0 || got.Failed != 0 {
			t.Errorf("write %d: counters %+v, want %d sent", i+1, got, want)
		}
	}
	var res struct {
		Hits struct {
			Hits []struct {
				Source doc `json:"_source"`
			}
		}
	}
	esJSON(t, c, "POST", "/benchrig-results-*/_search", fmt.Sprintf(`{"query":{"ids":{"values":[%q]}}}`, "run/"+id), &res)
	if len(res.Hits.Hits) != 1 || res.Hits.Hits[0].Source.Benchrig.Run.Status != string(benchrig.RunFinished) {
		t.Errorf("run document: %+v, want one, finished", res.Hits.Hits)
	}
}

// esCtl runs the test server's control script (BENCHRIG_ES_CTL).
func esCtl(t *testing.T, cmd string) {
	t.Helper()
	ctl := os.Getenv("BENCHRIG_ES_CTL")
	if ctl == "" {
		testenv.Skip(t, "BENCHRIG_ES_CTL is not set (make testenv writes it)")
	}
	out, err := exec.Command("bash", ctl, cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", ctl, cmd, err, out)
	}
}

// TestIntegrationOutage stops Elasticsearch while a shipper writes, keeps
// writing, starts it again and closes: every document is there exactly
// once and the counters add up.
func TestIntegrationOutage(t *testing.T) {
	c := realClient(t, true)
	if os.Getenv("BENCHRIG_ES_CTL") == "" {
		testenv.Skip(t, "BENCHRIG_ES_CTL is not set (make testenv writes it)")
	}
	ctx := context.Background()
	id := fmt.Sprintf("outage-%d", time.Now().UnixNano())
	sh, err := c.NewShipper(ctx, ShipperOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { esCtl(t, "start") }) // never leave it stopped
	written := 0
	seq := int64(0)
	write := func(n int) {
		batch := make([]benchrig.Sample, n)
		for i := range batch {
			seq++
			batch[i] = benchrig.Sample{Time: time.Now(), Run: id, Node: "lab1", Kind: benchrig.SampleHost, Seq: seq,
				Host: &benchrig.HostSample{CPUs: 2, CPUTotal: time.Duration(seq) * time.Second}}
		}
		if err := sh.WriteSamples(ctx, batch); err != nil {
			t.Fatal(err)
		}
		written += n
	}
	for i := 0; i < 20; i++ {
		write(100)
	}
	// Some stored before the outage.
	for sh.Counters().Sent == 0 {
		write(10)
		time.Sleep(10 * time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		out, err := exec.Command("bash", os.Getenv("BENCHRIG_ES_CTL"), "stop").CombinedOutput()
		if err != nil {
			t.Errorf("stop: %v\n%s", err, out)
		}
	}()
	// Keep writing while it stops and while it is down.
	for i := 0; ; i++ {
		write(100)
		time.Sleep(5 * time.Millisecond) // pacing, as a collector would
		select {
		case <-stopped:
		default:
			continue
		}
		break
	}
	for i := 0; i < 30; i++ {
		write(100)
	}
	// The shipper must have noticed: wait (on its state, not a clock) until
	// documents go to the spool.
	for sh.Counters().Spooled == 0 {
		write(10)
		time.Sleep(10 * time.Millisecond)
	}
	esCtl(t, "start")
	for i := 0; i < 10; i++ {
		write(100)
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := sh.Close(cctx); err != nil {
		t.Fatal(err)
	}
	got := sh.Counters()
	t.Logf("written %d, counters %+v", written, got)
	if got.Sent != int64(written) || got.Failed != 0 || got.Spooled == 0 {
		t.Errorf("counters %+v: want sent == written %d, failed 0, spooled > 0", got, written)
	}
	if n := count(t, c, "benchrig-metrics-*", runQuery(id)); n != written {
		t.Errorf("%d documents stored, want %d", n, written)
	}
	// Exactly once: as many documents as written, and their sequence
	// numbers 1..written sum as they should (a doubled one would add to
	// the count, a missing one would lower the sum).
	var agg struct {
		Aggregations struct{ Sum, Max struct{ Value float64 } }
	}
	esJSON(t, c, "POST", "/benchrig-metrics-*/_search", fmt.Sprintf(`{"size":0,"query":{"term":{"benchrig.run.id":%q}},"aggs":{"sum":{"sum":{"field":"benchrig.seq"}},"max":{"max":{"field":"benchrig.seq"}}}}`, id), &agg)
	if w := float64(written); agg.Aggregations.Sum.Value != w*(w+1)/2 || agg.Aggregations.Max.Value != w {
		t.Errorf("sequence numbers sum to %v (max %v), want %v (max %v)", agg.Aggregations.Sum.Value, agg.Aggregations.Max.Value, w*(w+1)/2, w)
	}
}

// BenchmarkIngest ships ingestN (200,000) sample documents per iteration
// through a Shipper, handed over in batches of 1,000 as fast as the caller
// can, and reports documents per second from the first hand-over to Close,
// then checks by counting that none was lost. With the default queue
// (32 MiB) the producer outruns the server and most documents take the
// disk spool; with a queue that holds them all they go straight to the bulk
// workers: the two figures side by side show what the spool costs.
func BenchmarkIngest(b *testing.B) {
	for _, bc := range []struct {
		name  string
		queue int
	}{{"queue=default", 0}, {"queue=256MiB", 256 << 20}} {
		b.Run(bc.name, func(b *testing.B) { benchIngest(b, bc.queue) })
	}
}

func benchIngest(b *testing.B, queueBytes int) {
	c := realClient(b, false)
	c.cfg.QueueBytes = max(queueBytes, c.cfg.QueueBytes)
	ctx := context.Background()
	const ingestN = 200_000
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("ingest-%d", time.Now().UnixNano())
		ref := benchrig.TrialRef{Run: id, Case: "impl=gnu"}
		samples := make([]benchrig.Sample, ingestN)
		t0 := time.Now()
		for j := range samples {
			samples[j] = benchrig.Sample{Time: t0, Run: id, Node: "lab1", Arch: "amd64", Kind: benchrig.SampleTrial,
				Seq: int64(j + 1), Trial: &ref, Params: map[string]string{"impl": "gnu"}, ContainerID: "c1",
				Cgroup: &benchrig.CgroupSample{CPU: dur(time.Duration(j) * time.Millisecond), MemoryCurrent: new(int64)}}
		}
		b.ResetTimer()
		start := time.Now()
		sh, err := c.NewShipper(ctx, ShipperOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < ingestN; j += 1000 {
			if err := sh.WriteSamples(ctx, samples[j:j+1000]); err != nil {
				b.Fatal(err)
			}
		}
		if err := sh.Close(ctx); err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		b.StopTimer()
		got := sh.Counters()
		n := count(b, c, "benchrig-metrics-*", runQuery(id))
		b.ReportMetric(float64(ingestN)/el.Seconds(), "docs/s")
		b.ReportMetric(float64(ingestN-n), "lost")
		b.ReportMetric(float64(got.Spooled), "spooled")
		if n != ingestN || got.Sent != ingestN {
			b.Fatalf("stored %d, sent %d, want %d", n, got.Sent, ingestN)
		}
		b.StartTimer()
	}
}
