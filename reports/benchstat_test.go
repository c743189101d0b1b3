package reports

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/benchrig/benchrig"
)

// TestBenchstatExport writes a spec's run in Go benchmark format (golden
// file) and reads it back as benchstat does: one result per measured,
// successful trial, its wall time as ns/op.
func TestBenchstatExport(t *testing.T) {
	r := Build(testRun())
	var b bytes.Buffer
	if err := WriteBenchstat(&b, r); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "report.benchstat.txt")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("report.benchstat.txt differs from the golden file (run with -update after checking):\n%s", b.String())
	}

	var walls []int64 // ns
	for _, c := range r.Cases {
		for _, tr := range c.Trials {
			if !tr.Warmup && !tr.Failed() {
				walls = append(walls, tr.Wall.Nanoseconds())
			}
		}
	}
	rd := benchfmt.NewReader(bytes.NewReader(b.Bytes()), "export")
	i := 0
	for rd.Scan() {
		res, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			t.Fatalf("line not read as a result: %v", rd.Result())
		}
		// benchfmt tidies ns/op to sec/op, with a float's rounding.
		if v, ok := res.Value("sec/op"); !ok || i >= len(walls) || int64(math.Round(v*1e9)) != walls[i] {
			t.Errorf("result %d: %s sec/op %v, want %d ns", i, res.Name, v, walls[i])
		}
		if res.GetConfig("goarch") != "amd64" || res.GetConfig("cpu") != "Intel Xeon E-2236" || res.GetConfig("goos") != "" {
			t.Errorf("config %v: want goarch and cpu (the fingerprint's OS is no GOOS)", res.Config)
		}
		i++
	}
	if i != len(walls) {
		t.Errorf("%d results, want %d (one per measured successful trial)", i, len(walls))
	}
}

func TestBenchstatName(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spec   string
		params []benchrig.KV
		want   string
	}{
		{"no params", "quickstart", nil, "quickstart"},
		{"params as key=value", "grep-impl", []benchrig.KV{{Name: "impl", Value: "gnu"}, {Name: "threads", Value: "2"}}, "grep-impl/impl=gnu/threads=2"},
		{"spaces", "adhoc", []benchrig.KV{{Name: "command", Value: "gzip -1 <data"}}, "adhoc/command=gzip_-1_<data"},
		{"slash and equals in a value", "s", []benchrig.KV{{Name: "data", Value: "/tmp/a=b"}}, "s/data=_tmp_a_b"},
		{"empty value", "s", []benchrig.KV{{Name: "x", Value: ""}}, "s/x=_"},
		{"control characters", "s\tx", []benchrig.KV{{Name: "k", Value: "a\nb"}}, "s_x/k=a_b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := benchstatName(tc.spec, benchrig.Case{Params: tc.params}); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
