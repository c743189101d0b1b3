package gobench

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCaseMapping(t *testing.T) {
	for _, tc := range []struct {
		name   string
		line   string
		id     string
		params string // benchrig.CaseID of the params
	}{
		{"plain", "BenchmarkDecode 100 5 ns/op", "Decode", "bench=Decode"},
		{"gomaxprocs", "BenchmarkDecode-8 100 5 ns/op", "Decode-8", "bench=Decode,gomaxprocs=8"},
		{"key=value", "BenchmarkEncode/size=1k-8 100 5 ns/op", "Encode/size=1k-8", "bench=Encode,size=1k,gomaxprocs=8"},
		{"positional", "BenchmarkJoin/plus/n=4 100 5 ns/op", "Join/plus/n=4", "bench=Join,sub1=plus,n=4"},
		{"positional second", "BenchmarkJoin/n=4/plus-2 100 5 ns/op", "Join/n=4/plus-2", "bench=Join,n=4,sub2=plus,gomaxprocs=2"},
		{"key colliding with bench", "BenchmarkX/bench=y 100 5 ns/op", "X/bench=y", "bench=X,bench_=y"},
		{"dash inside a part", "BenchmarkGzip/level=best-speed 100 5 ns/op", "Gzip/level=best-speed", "bench=Gzip,level=best-speed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, err := Parse([]byte(tc.line+"\n"), Options{File: "x.txt"})
			if err != nil {
				t.Fatal(err)
			}
			if len(run.Cases) != 1 {
				t.Fatalf("%d cases, want 1", len(run.Cases))
			}
			c := run.Cases[0]
			if c.ID != tc.id || benchrig.CaseID(c.Params) != tc.params {
				t.Errorf("case %q params %q, want %q %q", c.ID, benchrig.CaseID(c.Params), tc.id, tc.params)
			}
		})
	}
}

// TestFixture reads real go test -bench -benchmem -count 5 output with
// sub-benchmarks, MB/s and a custom metric.
func TestFixture(t *testing.T) {
	run, err := Parse(readFixture(t, "old.txt"), Options{File: "old.txt", Labels: map[string]string{"branch": "main", "cpu": "mine"}})
	if err != nil {
		t.Fatal(err)
	}
	if run.SpecName != "example.com/enc/enc" || run.SpecFile != "old.txt" {
		t.Errorf("spec %q file %q", run.SpecName, run.SpecFile)
	}
	wantLabels := map[string]string{"goos": "linux", "goarch": "amd64", "pkg": "example.com/enc/enc", "cpu": "mine", "branch": "main"}
	if !reflect.DeepEqual(run.Labels, wantLabels) {
		t.Errorf("labels %v, want %v (the user's win over config lines)", run.Labels, wantLabels)
	}
	fp := run.Fingerprint
	if fp.OS != "linux" || fp.Arch != "amd64" || fp.CPUModel != "Intel(R) Xeon(R) Processor" || fp.Executor != benchrig.GoBenchExecutor {
		t.Errorf("fingerprint %+v", fp)
	}
	var ids []string
	for _, c := range run.Cases {
		ids = append(ids, c.ID)
	}
	if want := []string{"Encode/size=16-2", "Encode/size=1024-2", "Join/builder-2", "Join/plus-2"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("cases %v, want %v", ids, want)
	}
	if len(run.Trials) != 20 {
		t.Fatalf("%d trials, want 20 (4 benchmarks x -count 5)", len(run.Trials))
	}
	// BenchmarkEncode/size=1024-2  20000  1106 ns/op  926.08 MB/s  2816 B/op  2 allocs/op
	tr := run.Trials[6]
	if tr.CaseID != "Encode/size=1024-2" || tr.Index != 1 || tr.Seq != 6 || tr.Warmup || tr.Failed() {
		t.Errorf("trial %+v", tr)
	}
	if tr.Wall != 1106*time.Nanosecond {
		t.Errorf("wall %v, want 1.106µs", tr.Wall)
	}
	want := map[string]float64{"go:ns/op": 1106, "go:MB/s": 926.08, "go:B/op": 2816, "go:allocs/op": 2, "go_iterations": 20000}
	if !reflect.DeepEqual(tr.Metrics, want) {
		t.Errorf("metrics %v, want %v", tr.Metrics, want)
	}
	// BenchmarkJoin/builder-2  20000  37.79 ns/op  4.000 parts/op  8 B/op  1 allocs/op
	if m := run.Trials[10].Metrics; m["go:parts/op"] != 4 || m["go:ns/op"] != 37.79 {
		t.Errorf("custom metric lost: %v", m)
	}
	if run.Trials[10].Wall != 38*time.Nanosecond {
		t.Errorf("wall %v, want 37.79 ns rounded to 38ns", run.Trials[10].Wall)
	}
	if run.Notes["Join/builder-2"] == "" || run.Notes["Encode/size=1024-2"] != "" {
		t.Errorf("notes %v: want one on the cases whose sub-µs times were rounded", run.Notes)
	}
	if string(run.SpecSource) != string(readFixture(t, "old.txt")) {
		t.Error("the raw input is not kept as the run's source")
	}
	for _, c := range run.Cases {
		if run.Baselines[c.ID] != c.ID {
			t.Errorf("case %s has baseline %q: the benchmarks of a package are not alternatives of each other", c.ID, run.Baselines[c.ID])
		}
	}
}

// TestVaryingConfig: two packages in one input. pkg becomes a param and
// part of each case's ID; the run needs a name.
func TestVaryingConfig(t *testing.T) {
	run, err := Parse(readFixture(t, "multi.txt"), Options{File: "multi.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if run.SpecName != DefaultName || len(run.Warnings) != 1 || !strings.Contains(run.Warnings[0], "--name") {
		t.Errorf("name %q warnings %q", run.SpecName, run.Warnings)
	}
	if _, ok := run.Labels["pkg"]; ok {
		t.Errorf("labels %v: pkg varies, it is no label", run.Labels)
	}
	var ids []string
	for _, c := range run.Cases {
		ids = append(ids, c.ID)
		if v, _ := c.Get("pkg"); !strings.HasPrefix(v, "example.com/enc/") {
			t.Errorf("case %s: pkg param %q", c.ID, v)
		}
	}
	want := []string{"Decode-2@pkg=example.com/enc/dec", "Encode/size=16-2@pkg=example.com/enc/enc",
		"Encode/size=1024-2@pkg=example.com/enc/enc", "Join/builder-2@pkg=example.com/enc/enc", "Join/plus-2@pkg=example.com/enc/enc"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("cases %v, want %v", ids, want)
	}
	named, err := Parse(readFixture(t, "multi.txt"), Options{File: "multi.txt", Name: "enc-all"})
	if err != nil || named.SpecName != "enc-all" || len(named.Warnings) != 0 {
		t.Errorf("with a name: %v, %q, %q", err, named.SpecName, named.Warnings)
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, input, want string
	}{
		{"empty", "", "in.txt: empty input: want the output of go test -bench"},
		{"blank", "\n  \n", "in.txt: empty input"},
		{"no benchmark lines", "goos: linux\nPASS\nok  \texample.com/x\t0.1s\n", "in.txt: no benchmark result lines"},
		{"missing iterations", "goos: linux\nBenchmarkA 100 5 ns/op\nBenchmarkB x 5 ns/op\n", "in.txt:3: malformed benchmark line: parsing iteration count: invalid syntax"},
		{"missing unit", "BenchmarkA 100 5\n", "in.txt:1: malformed benchmark line: missing units"},
		{"bad value", "BenchmarkA 100 fast ns/op\n", "in.txt:1: malformed benchmark line: parsing measurement: invalid syntax"},
		{"no time", "BenchmarkA 100 5 ns/op\nBenchmarkA 100 24 B/op\n", "in.txt:2: no ns/op on this line"},
		{"unit twice", "BenchmarkA 100 5 ns/op 3 B/op 4 B/op\n", "in.txt:1: unit B/op twice on one line"},
		{"two times", "BenchmarkA 100 5 ns/op 0.000000005 sec/op\n", "in.txt:1: two times per op on one line"},
		{"negative time", "BenchmarkA 100 -5 ns/op\n", "in.txt:1: time per op -5 ns out of range"},
		{"not a number", "BenchmarkA 100 5 ns/op NaN B/op\n", "in.txt:1: NaN B/op is not a finite number"},
		{"infinite", "BenchmarkA 100 +Inf ns/op\n", "in.txt:1: +Inf ns/op is not a finite number"},
		{"zero iterations", "BenchmarkA 0 5 ns/op\n", "in.txt:1: iteration count 0"},
		{"huge time", "BenchmarkA 1 1e300 ns/op\n", "in.txt:1: time per op 1e+300 ns out of range"},
		{"line too long", "BenchmarkA 1 5 ns/op\n" + strings.Repeat("x", 70000) + "\n", "in.txt: a line longer than 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.input), Options{File: "in.txt"})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q, want it to start with %q", err, tc.want)
			}
			if benchrig.ErrorCode(err) != benchrig.EInvalid {
				t.Errorf("code %q, want invalid (exit 2)", benchrig.ErrorCode(err))
			}
		})
	}
}

// TestUnitsNormalised: a time per op in sec/op (as benchfmt tidies
// ns/op) is the wall time too, and kept as written.
func TestUnitsNormalised(t *testing.T) {
	run, err := Parse([]byte("BenchmarkA 10 2500 ns/op\nBenchmarkA 10 0.000003 sec/op\n"), Options{File: "in.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if run.Trials[0].Wall != 2500*time.Nanosecond || run.Trials[1].Wall != 3000*time.Nanosecond {
		t.Errorf("walls %v %v, want 2.5µs 3µs", run.Trials[0].Wall, run.Trials[1].Wall)
	}
	if run.Trials[0].Metrics["go:ns/op"] != 2500 || run.Trials[1].Metrics["go:sec/op"] != 0.000003 {
		t.Errorf("metrics %v %v", run.Trials[0].Metrics, run.Trials[1].Metrics)
	}
}

func TestMaxCases(t *testing.T) {
	in := "BenchmarkA 1 5 ns/op\nBenchmarkB 1 5 ns/op\nBenchmarkA 1 6 ns/op\nBenchmarkC 1 5 ns/op\n"
	if _, err := Parse([]byte(in), Options{File: "in.txt", MaxCases: 3}); err != nil {
		t.Errorf("3 benchmarks under a cap of 3: %v", err)
	}
	_, err := Parse([]byte(in), Options{File: "in.txt", MaxCases: 2})
	if err == nil || err.Error() != "in.txt:4: more than 2 distinct benchmarks (--max-cases raises the cap)" || benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("err = %v, want the cap named at line 4", err)
	}
}

func TestReadLimit(t *testing.T) {
	_, err := Read(zeros{}, Options{File: "/dev/zero"})
	if err == nil || !strings.Contains(err.Error(), "/dev/zero: larger than 8 MiB") || benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("err = %v, want the size limit", err)
	}
	_, err = Read(failing{}, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "stdin: cannot read") {
		t.Errorf("err = %v, want stdin named", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("boom") }

func FuzzParse(f *testing.F) {
	for _, name := range []string{"old.txt", "multi.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("BenchmarkA/x=1/y-2 10 5 ns/op 3 B/op\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		run, err := Parse(data, Options{File: "fuzz"})
		if err != nil {
			if benchrig.ErrorCode(err) != benchrig.EInvalid {
				t.Fatalf("error %v is not EInvalid", err)
			}
			return
		}
		ids := map[string]bool{}
		for _, c := range run.Cases {
			if ids[c.ID] {
				t.Fatalf("case %q twice", c.ID)
			}
			ids[c.ID] = true
		}
		for _, tr := range run.Trials {
			if !ids[tr.CaseID] || tr.Wall < 0 {
				t.Fatalf("trial %+v", tr)
			}
		}
	})
}

// TestWholeNanoseconds: ns/op written as whole nanoseconds stays exact
// (not 1000.0000000000001 back from benchfmt's seconds), so no case is
// noted as rounded; a fractional one is.
func TestWholeNanoseconds(t *testing.T) {
	in := "BenchmarkA-8 1000000 1000 ns/op\nBenchmarkA-8 1000000 1003 ns/op\nBenchmarkB-8 1000000 34.06 ns/op\n"
	run, err := Parse([]byte(in), Options{File: "x.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if got := run.Trials[0].Wall; got != 1000 {
		t.Errorf("wall %d ns, want 1000", got)
	}
	if len(run.Notes) != 1 || run.Notes["B-8"] == "" {
		t.Errorf("notes %v, want one, for B-8 only", run.Notes)
	}
}
