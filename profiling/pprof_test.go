package profiling

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

func testProfile() *Profile {
	return &Profile{
		Event: "cpu-clock",
		Freq:  1000,
		Stacks: Stacks{
			"sort;main;compare":        30,
			"sort;main":                10,
			"zcat;main;inflate":        50,
			"zcat;main;inflate;memcpy": 9,
			"uniq":                     1,
			"empty;never":              0,
		},
		Lost:     2,
		Duration: 1500 * time.Millisecond,
	}
}

func TestToPprof(t *testing.T) {
	p := ToPprof(testProfile())
	if err := p.CheckValid(); err != nil {
		t.Fatalf("CheckValid: %v", err)
	}
	if p.Period != 1_000_000 || p.PeriodType.Type != "cpu" || p.PeriodType.Unit != "nanoseconds" {
		t.Errorf("period %d %v, want 1e6 cpu/nanoseconds", p.Period, p.PeriodType)
	}
	if p.DurationNanos != 1.5e9 {
		t.Errorf("DurationNanos %d", p.DurationNanos)
	}
	if !slices.Contains(p.Comments, "event=cpu-clock freq=1000Hz") || !slices.Contains(p.Comments, "lost=2 samples") {
		t.Errorf("comments %q", p.Comments)
	}
	if len(p.Sample) != 5 {
		t.Errorf("%d samples, want 5 (the zero-count stack left out)", len(p.Sample))
	}
	var count, cpu int64
	for _, s := range p.Sample {
		count += s.Value[0]
		cpu += s.Value[1]
		if s.Value[1] != s.Value[0]*1_000_000 {
			t.Errorf("sample %v: cpu %d is not count × period", s.Value, s.Value[1])
		}
	}
	if count != 100 || cpu != 100*1_000_000 {
		t.Errorf("totals %d samples, %d ns; want 100, 1e8", count, cpu)
	}
	// One function per distinct frame, the process name the root-most.
	if len(p.Function) != 7 {
		t.Errorf("%d functions, want 7 (sort main compare zcat inflate memcpy uniq; the zero-count stack adds none)", len(p.Function))
	}
	for _, s := range p.Sample {
		names := locNames(s)
		if names[len(names)-1] != s.Label["process"][0] {
			t.Errorf("stack %v: root-most frame is not the process %v", names, s.Label["process"])
		}
	}
}

// locNames are a sample's frames, leaf first as pprof keeps them.
func locNames(s *profile.Sample) []string {
	var out []string
	for _, l := range s.Location {
		out = append(out, l.Line[0].Function.Name)
	}
	return out
}

func TestToPprofRoundTrip(t *testing.T) {
	p := ToPprof(testProfile())
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.CheckValid(); err != nil {
		t.Fatal(err)
	}
	got := Stacks{}
	for _, s := range back.Sample {
		names := locNames(s)
		slices.Reverse(names)
		got[strings.Join(names, ";")] += s.Value[0]
	}
	want := testProfile().Stacks
	delete(want, "empty;never")
	if !maps.Equal(got, want) {
		t.Errorf("round trip gave %v, want %v", got, want)
	}
}

func TestToPprofNoFreq(t *testing.T) {
	p := ToPprof(&Profile{Event: "task-clock", Stacks: Stacks{"a;b": 2}})
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	if p.Period != 0 || p.Sample[0].Value[1] != 0 {
		t.Errorf("without a frequency there is no period: %d, %v", p.Period, p.Sample[0].Value)
	}
}

// TestGoToolPprof proves the pprof command opens what ToPprof writes.
func TestGoToolPprof(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH to run go tool pprof")
	}
	p := &Profile{Event: "cpu-clock", Freq: 999, Stacks: readFixture(t, "handmade.perf-script"), Duration: time.Second}
	path := filepath.Join(t.TempDir(), "cpu.pb.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ToPprof(p).Write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goBin, "tool", "pprof", "-traces", path).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof -traces: %v\n%s", err, out)
	}
	for _, want := range []string{"clear_page_erms_[k]", "grep+0x55d5a1b2c3d4", "event=cpu-clock freq=999Hz"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("pprof -traces output lacks %q:\n%s", want, out)
		}
	}
	out, err = exec.Command(goBin, "tool", "pprof", "-top", "-sample_index=samples", path).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof -top: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("Showing nodes accounting for 7, 100% of 7 total")) {
		t.Errorf("pprof -top does not account for the 7 samples:\n%s", out)
	}
}
