package elastic

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// Samples shipped to the real Elasticsearch read back as they were sent,
// in time order, filtered by kind, across pages of search_after.
func TestIntegrationSamplesReadBack(t *testing.T) {
	c := realClient(t, false)
	ctx := context.Background()
	id := fmt.Sprintf("rb-%d", time.Now().UnixNano())
	start := time.Now().UTC().Truncate(time.Millisecond)
	_, samples := testRun(id, 4, start)
	// Enough trial samples of one more trial for a second page.
	ref := benchrig.TrialRef{Run: id, Case: "impl=gnu", Rep: 9}
	for i := range samplesPage + 5 {
		samples = append(samples, benchrig.Sample{Time: start.Add(time.Hour + time.Duration(i)*time.Millisecond), Run: id, Node: "lab2", Arch: "arm64",
			Kind: benchrig.SampleTrial, Seq: int64(i + 1), Trial: &ref, Cgroup: &benchrig.CgroupSample{CPU: dur(time.Duration(i) * time.Millisecond)}})
	}
	sh, err := c.NewShipper(ctx, ShipperOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.WriteSamples(ctx, samples); err != nil {
		t.Fatal(err)
	}
	if err := sh.Close(ctx); err != nil {
		t.Fatal(err)
	}
	esJSON(t, c, "POST", "/benchrig-metrics-*/_refresh", "", nil)

	trials, err := c.Samples(ctx, id, benchrig.SampleTrial)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, s := range samples {
		if s.Kind == benchrig.SampleTrial {
			want++
		}
	}
	if len(trials) != want {
		t.Fatalf("%d trial samples read back, want %d", len(trials), want)
	}
	for i := 1; i < len(trials); i++ {
		if trials[i].Time.Before(trials[i-1].Time) {
			t.Fatalf("sample %d is out of time order", i)
		}
	}
	// The first trial's first sample, field by field.
	var sent benchrig.Sample
	for _, s := range samples {
		if s.Kind == benchrig.SampleTrial && s.Time.Equal(trials[0].Time) {
			sent = s
			break
		}
	}
	got := trials[0]
	got.Time, sent.Time = got.Time.UTC(), sent.Time.UTC()
	if !reflect.DeepEqual(got, sent) {
		t.Errorf("read back\n got %+v\nwant %+v", got, sent)
	}
	all, err := c.Samples(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(samples) {
		t.Errorf("all kinds: %d samples, want %d", len(all), len(samples))
	}
	none, err := c.Samples(ctx, "no-such-run")
	if err != nil || len(none) != 0 {
		t.Errorf("unknown run: %d samples, %v; want none", len(none), err)
	}
}
