package reports

import (
	"bytes"
	"math"
	"slices"
	"testing"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchproc"

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
	checkGolden(t, "report.benchstat.txt", b.Bytes())

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

// TestBenchstatRuns writes two runs in one file and reads it back as
// `benchstat -col run FILE` does: every result of A under "run: A's ID",
// then every result of B under B's, so the column projection on run
// separates them, A first (benchstat's base).
func TestBenchstatRuns(t *testing.T) {
	a, b := Build(testRun()), Build(testRunB())
	var buf bytes.Buffer
	if err := WriteBenchstatRuns(&buf, a, b); err != nil {
		t.Fatal(err)
	}
	measured := func(r *Report) (n int) {
		for _, c := range r.Cases {
			for _, tr := range c.Trials {
				if !tr.Warmup && !tr.Failed() {
					n++
				}
			}
		}
		return n
	}
	var parser benchproc.ProjectionParser
	col, err := parser.Parse(BenchstatRunKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	count := map[string]int{}
	rd := benchfmt.NewReader(bytes.NewReader(buf.Bytes()), "both.txt")
	for rd.Scan() {
		res, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			t.Fatalf("line not read as a result: %v", rd.Result())
		}
		run := col.Project(res).StringValues()
		if count[run] == 0 {
			order = append(order, run)
		}
		count[run]++
		if res.GetConfig("goarch") != "amd64" {
			t.Errorf("result %s of run %s: config %v, want goarch as in a single run's export", res.Name, run, res.Config)
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{a.RunID, b.RunID}
	if !slices.Equal(order, want) || count[a.RunID] != measured(a) || count[b.RunID] != measured(b) {
		t.Errorf("runs %v with %v results, want %v with %d and %d (A first, one per measured trial)", order, count, want, measured(a), measured(b))
	}
}
