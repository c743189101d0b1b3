package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/testenv"
	"github.com/benchrig/benchrig/sqlite"
)

// These tests run benchrig against the real Elasticsearch that `make
// testenv` starts (scripts/es.sh): BENCHRIG_ES_URL names it and
// BENCHRIG_ES_CTL stops and starts it.

func needES(t *testing.T, exclusive bool) string {
	t.Helper()
	url := os.Getenv("BENCHRIG_ES_URL")
	if url == "" {
		testenv.Skip(t, "BENCHRIG_ES_URL unset: no Elasticsearch (make testenv starts one)")
	}
	testenv.LockElasticsearch(t, exclusive)
	return strings.TrimSuffix(url, "/")
}

// esQuery posts body to path (after a refresh of benchrig's indices) and
// decodes the answer.
func esQuery(t *testing.T, url, path, body string, out any) {
	t.Helper()
	if resp, err := http.Post(url+"/benchrig-*/_refresh", "application/json", nil); err == nil {
		resp.Body.Close()
	}
	resp, err := http.Post(url+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s\n%s", path, resp.Status, buf.String())
	}
	if err := json.Unmarshal(buf.Bytes(), out); err != nil {
		t.Fatal(err)
	}
}

// esCount counts the documents of one run in the indices matching index,
// with an optional extra term filter (field=value).
func esCount(t *testing.T, url, index, runID, field, value string) int {
	t.Helper()
	filter := fmt.Sprintf(`{"term":{"benchrig.run.id":%q}}`, runID)
	if field != "" {
		filter += fmt.Sprintf(`,{"term":{%q:%q}}`, field, value)
	}
	var out struct{ Count int }
	esQuery(t, url, "/"+index+"/_count", `{"query":{"bool":{"filter":[`+filter+`]}}}`, &out)
	return out.Count
}

const esSpec = `name: es-run
command: 'i=0; while [ $i -lt {{.n}} ]; do i=$((i+1)); done'
params:
  n: [20000, 60000]
repeat: %d
warmup: 1
`

func loadRun(t *testing.T, c *cli) (*benchrig.Run, []benchrig.Event) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(c.dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	run, err := db.GetRun(ctx, "latest")
	if err != nil {
		t.Fatal(err)
	}
	events, err := db.Events(ctx, run.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return run, events
}

// checkShipped checks that every document of run is in Elasticsearch
// exactly once: one result per trial, one per case and the run's, every
// event of the store's log, and every sample the collector took.
func checkShipped(t *testing.T, url string, run *benchrig.Run, events []benchrig.Event) {
	t.Helper()
	if got := esCount(t, url, "benchrig-results-*", run.ID, "benchrig.doc", "trial-result"); got != len(run.Trials) {
		t.Errorf("%d trial documents, want %d", got, len(run.Trials))
	}
	if got, want := esCount(t, url, "benchrig-results-*", run.ID, "", ""), len(run.Trials)+len(run.Cases)+1; got != want {
		t.Errorf("%d result documents, want %d (trials, cases, the run)", got, want)
	}
	if got := esCount(t, url, "benchrig-events-*", run.ID, "", ""); got != len(events) {
		t.Errorf("%d event documents, want the store's %d", got, len(events))
	}
	var samples int64
	for _, c := range run.Collection.Collectors {
		samples += c.Samples
	}
	if got := esCount(t, url, "benchrig-metrics-*", run.ID, "", ""); int64(got) != samples {
		t.Errorf("%d metric documents, want the collector's %d samples", got, samples)
	}
	sh := run.Collection.Shipping
	if total := int64(len(run.Trials)+len(run.Cases)+1+len(events)) + samples; sh.Sent != total || sh.Failed != 0 {
		t.Errorf("shipping %+v, want %d sent and none failed", sh, total)
	}
}

// TestESRun ships a local run to Elasticsearch and queries it back as a
// Kibana user would: documents per trial, and a date histogram of the
// trials' CPU per case from the collector's samples.
func TestESRun(t *testing.T) {
	url := needES(t, false)
	c := newCLI(t)
	c.env = map[string]string{"BENCHRIG_ES_URL": url, "BENCHRIG_ES_SPOOL": filepath.Join(c.dir, "spool")}
	spec := c.write("es.yaml", fmt.Sprintf(esSpec, 6))
	code, stdout, stderr := c.run(context.Background(), "run", "-q", spec, "--collect-interval", "100ms")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "shipped to elasticsearch "+url+": ") {
		t.Errorf("the report does not say where samples went:\n%s", stdout)
	}
	run, events := loadRun(t, c)
	checkShipped(t, url, run, events)

	var agg struct {
		Aggregations struct {
			Cases struct {
				Buckets []struct {
					Key  string
					Over struct {
						Buckets []struct {
							DocCount int `json:"doc_count"`
							CPU      struct{ Value float64 }
						}
					}
				}
			}
		}
	}
	esQuery(t, url, "/benchrig-metrics-*/_search", fmt.Sprintf(`{"size":0,
		"query":{"bool":{"filter":[{"term":{"benchrig.run.id":%q}},{"term":{"benchrig.doc":"trial"}}]}},
		"aggs":{"cases":{"terms":{"field":"benchrig.case"},
			"aggs":{"over":{"date_histogram":{"field":"@timestamp","fixed_interval":"1s"},
				"aggs":{"cpu":{"max":{"field":"benchrig.cgroup.cpu_ns"}}}}}}}}`, run.ID), &agg)
	cases := agg.Aggregations.Cases.Buckets
	if len(cases) != 2 {
		t.Fatalf("CPU histogram per case: %d cases, want 2: %+v", len(cases), cases)
	}
	for _, cs := range cases {
		var docs int
		var cpu float64
		for _, b := range cs.Over.Buckets {
			docs += b.DocCount
			cpu = max(cpu, b.CPU.Value)
		}
		if docs == 0 || cpu <= 0 {
			t.Errorf("case %s: %d samples, max CPU %v ns", cs.Key, docs, cpu)
		}
	}
}

// TestESRunOutage stops Elasticsearch while a run ships to it and starts
// it again before the run ends: what the run could not send waits in the
// spool and goes when the server is back, so every document is there
// exactly once.
func TestESRunOutage(t *testing.T) {
	url := needES(t, true)
	ctl := os.Getenv("BENCHRIG_ES_CTL")
	if ctl == "" {
		testenv.Skip(t, "BENCHRIG_ES_CTL unset: cannot stop and start Elasticsearch")
	}
	es := func(cmd string) {
		if out, err := exec.Command("bash", ctl, cmd).CombinedOutput(); err != nil {
			t.Fatalf("es.sh %s: %v\n%s", cmd, err, out)
		}
	}
	c := newCLI(t)
	c.env = map[string]string{"BENCHRIG_ES_URL": url, "BENCHRIG_ES_SPOOL": filepath.Join(c.dir, "spool")}
	// Trials wait while the file hold exists: the test holds them while
	// the server is down, so that the run goes on after it came back.
	hold := filepath.Join(c.dir, "hold")
	spec := c.write("es.yaml", fmt.Sprintf(`name: es-outage
command: 'while [ -f %s ]; do sleep 0.02; done; i=0; while [ $i -lt {{.n}} ]; do i=$((i+1)); done'
params:
  n: [20000, 60000]
repeat: 6
warmup: 1
`, hold))
	stopped, started := false, false
	defer func() {
		if stopped && !started {
			es("start")
		}
	}()
	// Progress lines are "[done/total] ...": after the third trial, hold
	// the trials, stop the server, let trials go on (their documents
	// spool), then start it again and let the run finish.
	watch := func(line string) {
		var done, total int
		if _, err := fmt.Sscanf(line, "[%d/%d]", &done, &total); err != nil {
			return
		}
		switch {
		case done >= 3 && !stopped:
			stopped = true
			if err := os.WriteFile(hold, nil, 0o644); err != nil {
				t.Error(err)
			}
			es("stop")
			os.Remove(hold)
		case done >= 7 && stopped && !started:
			started = true
			if err := os.WriteFile(hold, nil, 0o644); err != nil {
				t.Error(err)
			}
			es("start")
			os.Remove(hold)
		}
	}
	code, stdout, stderr := c.runWatching(context.Background(), watch, "run", spec, "--collect-interval", "100ms")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !stopped || !started {
		t.Fatalf("the run ended before the outage was over (stopped %v, started %v)", stopped, started)
	}
	run, events := loadRun(t, c)
	if run.Collection.Shipping.Spooled == 0 {
		t.Errorf("nothing was spooled during the outage: %+v", run.Collection.Shipping)
	}
	checkShipped(t, url, run, events)
}
