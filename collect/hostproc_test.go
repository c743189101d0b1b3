package collect

import (
	"context"
	"strconv"
	"testing"

	"github.com/benchrig/benchrig"
)

// TestParseDecimal: the load averages parse to ParseFloat's values.
func TestParseDecimal(t *testing.T) {
	for _, s := range []string{"0.00", "0.52", "0.33", "12.34", "1", "250.99", "0.1", "1e3", "-0.5", "7.123456789012"} {
		want, wantErr := strconv.ParseFloat(s, 64)
		got, err := parseDecimal([]byte(s))
		if got != want || (err == nil) != (wantErr == nil) {
			t.Errorf("parseDecimal(%q) = %v, %v; want %v, %v", s, got, err, want, wantErr)
		}
	}
	if _, err := parseDecimal([]byte("0.x")); err == nil {
		t.Error("parseDecimal(0.x) succeeded")
	}
}

// TestHostSampleHot: SampleHot reads CPU, load and memory as Sample does,
// reads disk and network counters when it has none yet, and otherwise
// carries them from the last Sample.
func TestHostSampleHot(t *testing.T) {
	h := newHostSampler("testdata/host/proc")
	var first, full, hot benchrig.Sample
	if err := h.SampleHot(context.Background(), &first); err != nil {
		t.Fatal(err)
	}
	if err := h.Sample(context.Background(), &full); err != nil {
		t.Fatal(err)
	}
	if *first.Host != *full.Host {
		t.Errorf("first hot sample %+v, want a full one %+v", *first.Host, *full.Host)
	}
	h.io.DiskReadBytes = 42 // as if the last full sample had read 42
	if err := h.SampleHot(context.Background(), &hot); err != nil {
		t.Fatal(err)
	}
	want := *full.Host
	want.DiskReadBytes = 42
	if *hot.Host != want {
		t.Errorf("hot sample\n got %+v\nwant %+v", *hot.Host, want)
	}
}

func TestProcFilesBadStat(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "stat", "intr 1 2 3\n")
	p := newProcFiles(dir)
	defer p.close()
	if _, err := p.cpuTimes(); err == nil {
		t.Error("cpuTimes of a stat without a cpu line succeeded")
	}
	writeFile(t, dir, "stat", "cpu  1 2\n")
	if _, err := p.cpuTimes(); err == nil {
		t.Error("cpuTimes of a short cpu line succeeded")
	}
}
