package collect

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

func TestStreamRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewStreamWriter(&buf)
	cpu := 39 * time.Millisecond
	at := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	ref := &benchrig.TrialRef{Run: "r1", Case: "c", Rep: 3}
	samples := []benchrig.Sample{
		{Time: at, Run: "r1", Node: "lab1", Arch: "amd64", Kind: benchrig.SampleTrial, Seq: 1, Trial: ref,
			ContainerID: "abc", ContainerName: "n", Params: map[string]string{"k": "v"}, Cgroup: &benchrig.CgroupSample{CPU: &cpu}},
		{Time: at, Node: "lab1", Kind: benchrig.SampleHost, Final: true, Host: &benchrig.HostSample{CPUs: 2, Load1: 0.5}},
	}
	code := 3
	event := ContainerEvent{Time: at, Action: ContainerDie, ID: "abc", Name: "n", Run: "r1", Ref: ref, ExitCode: &code}
	cost := benchrig.CollectorCost{Node: "lab1", Mode: ModeProcess, CPU: time.Millisecond, Samples: 2}
	if err := w.WriteSamples(context.Background(), samples); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteEvent(event); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteCost(cost); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(buf.String(), "\n"); lines != 4 || !strings.HasPrefix(buf.String(), `{"sample":{`) || !strings.Contains(buf.String(), `"action":"die"`) {
		t.Fatalf("stream:\n%s", buf.String())
	}
	var gotS []benchrig.Sample
	var gotE []ContainerEvent
	var gotC []benchrig.CollectorCost
	err := DecodeStream(&buf, func(s benchrig.Sample) { gotS = append(gotS, s) },
		func(e ContainerEvent) { gotE = append(gotE, e) }, func(c benchrig.CollectorCost) { gotC = append(gotC, c) })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotS, samples) || !reflect.DeepEqual(gotE, []ContainerEvent{event}) || !reflect.DeepEqual(gotC, []benchrig.CollectorCost{cost}) {
		t.Errorf("decoded\n%+v\n%+v\n%+v", gotS, gotE, gotC)
	}
}

func TestDecodeStreamBadLine(t *testing.T) {
	in := `{"cost":{"node":"a"}}` + "\n" + `{"other":1}` + "\n"
	n := 0
	err := DecodeStream(strings.NewReader(in), nil, nil, func(benchrig.CollectorCost) { n++ })
	if err == nil || !strings.Contains(err.Error(), "line 2") || n != 1 {
		t.Fatalf("err %v after %d costs; want line 2 named after one cost", err, n)
	}
	if err := DecodeStream(strings.NewReader("not json\n"), nil, nil, nil); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err %v", err)
	}
}
