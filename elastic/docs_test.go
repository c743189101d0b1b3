package elastic

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// flat renders a document as dotted paths to values, as Kibana shows them.
func flat(t *testing.T, d doc) map[string]any {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	out := map[string]any{}
	var walk func(string, map[string]any)
	walk = func(p string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(p+k+".", sub)
				continue
			}
			out[p+k] = v
		}
	}
	walk("", m)
	return out
}

func TestSampleDocs(t *testing.T) {
	s := &Shipper{rates: newRates()}
	at := time.Date(2026, 12, 6, 23, 59, 59, 0, time.FixedZone("x", 3600))
	ref := benchrig.TrialRef{Run: "r1", Case: "impl=gnu", Rep: 2, Attempt: 1}
	host := benchrig.Sample{Time: at, Run: "r1", Node: "lab1", Kind: benchrig.SampleHost, Seq: 1, Host: &benchrig.HostSample{CPUs: 2}}
	s.sampleDoc(&host)
	first := benchrig.Sample{Time: at, Run: "r1", Node: "lab1", Arch: "amd64", Kind: benchrig.SampleTrial, Seq: 1, Trial: &ref,
		Params: map[string]string{"impl": "gnu"}, ContainerID: "abc", Cgroup: &benchrig.CgroupSample{CPU: dur(100 * time.Millisecond)}}
	second := first
	second.Seq, second.Time = 2, at.Add(100*time.Millisecond)
	second.Cgroup = &benchrig.CgroupSample{CPU: dur(250 * time.Millisecond)}

	d1 := flat(t, s.sampleDoc(&first))
	if _, ok := d1["benchrig.cpu_cores"]; ok {
		t.Errorf("first sample has a rate: %v", d1)
	}
	d2 := flat(t, s.sampleDoc(&second))
	for k, want := range map[string]any{
		"@timestamp":             "2026-12-06T22:59:59.1Z",
		"host.name":              "lab1",
		"host.architecture":      "amd64",
		"container.id":           "abc",
		"container.cpu.usage":    0.75, // 1.5 cores of 2
		"benchrig.cpu_cores":     1.5,
		"benchrig.run.id":        "r1",
		"benchrig.case":          "impl=gnu",
		"benchrig.trial.ref":     "r1/impl=gnu#2.1",
		"benchrig.trial.rep":     2.0,
		"benchrig.trial.attempt": 1.0,
		"benchrig.params.impl":   "gnu",
		"benchrig.doc":           "trial",
		"benchrig.cgroup.cpu_ns": 250e6,
	} {
		if got := d2[k]; got != want {
			t.Errorf("%s = %v (%T), want %v", k, got, got, want)
		}
	}
	if idx := IndexFor(MetricsPrefix, first.Time); idx != "benchrig-metrics-2026.12.06" {
		t.Errorf("index %s: want the UTC day", idx)
	}
}

func TestTrialAndEventDocs(t *testing.T) {
	run := &benchrig.Run{ID: "r1", SpecName: "grep", Cases: []benchrig.Case{{ID: "impl=gnu", Params: []benchrig.KV{{Name: "impl", Value: "gnu"}}}}}
	tr := benchrig.Trial{RunID: "r1", CaseID: "impl=gnu", Index: 1, Number: 1, Node: "lab2", Outcome: benchrig.OutcomeTimeout,
		Measurement: benchrig.Measurement{Start: time.Unix(0, 0), Wall: time.Second, Error: benchrig.ReasonTimeout, ExitCode: -1}}
	d := flat(t, trialDoc(run, &tr))
	for k, want := range map[string]any{
		"benchrig.params.impl":    "gnu",
		"benchrig.result.outcome": "timeout",
		"benchrig.result.reason":  "timeout",
		"event.outcome":           "failure",
		"event.duration":          1e9,
		"host.name":               "lab2",
		"benchrig.trial.ref":      "r1/impl=gnu#1",
	} {
		if got := d[k]; got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	// Events without a run: no params, no panic.
	sw, err := openSpool(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sw.close()
	s := &Shipper{rates: newRates(), q: make(chan *item, 10), cfg: Config{QueueBytes: 1 << 20}, sw: sw}
	err = s.WriteEvents(t.Context(), nil, []benchrig.Event{{Run: "r1", Seq: 3, Time: time.Unix(0, 0), Kind: benchrig.EventNodeLost, Node: "lab2", Msg: "gone"}})
	if err != nil {
		t.Fatal(err)
	}
	it := <-s.q
	if it.id != "event/r1/3" || !strings.Contains(string(it.body), `"action":"node-lost"`) || it.index != "benchrig-events-1970.01.01" {
		t.Errorf("event item %s %s %s", it.index, it.id, it.body)
	}
}
