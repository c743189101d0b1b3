package gobench_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/benchrig/benchrig/app"
	"github.com/benchrig/benchrig/gobench"
	"github.com/benchrig/benchrig/reports"
	"github.com/benchrig/benchrig/sqlite"
)

// results reads Go benchmark format with benchfmt, as benchstat does,
// into one line per result: its file config, name, iterations and every
// value with its (tidied) unit.
func results(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	rd := benchfmt.NewReader(bytes.NewReader(data), "x")
	for rd.Scan() {
		if _, ok := rd.Result().(*benchfmt.UnitMetadata); ok {
			continue // kept in the run's source, not in the export
		}
		res, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			t.Fatalf("not a result: %v", rd.Result())
		}
		var b strings.Builder
		config := map[string]string{} // in key order: the order of config lines means nothing
		for _, c := range res.Config {
			if c.File {
				config[c.Key] = string(c.Value)
			}
		}
		fmt.Fprintf(&b, "%v | %s %d", config, res.Name, res.Iters)
		vals := map[string]float64{}
		for _, v := range res.Values {
			vals[v.Unit] = v.Value
		}
		fmt.Fprintf(&b, " %v", vals)
		out = append(out, b.String())
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRoundTrip imports real go test output into a store, reads the run
// back, exports it with --benchstat's writer and parses that as benchstat
// would: the same results, config, names, iteration counts and values.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := &app.App{Store: db}
	inline := map[string]string{
		"at in a name":         "pkg: example.com/a\nBenchmarkFetch/v@1-2 10 5 ns/op\nBenchmarkFetch/v@1-2 10 6 ns/op\n",
		"at in a name, 2 pkgs": "pkg: example.com/a\nBenchmarkFetch/v@1-2 10 5 ns/op\npkg: example.com/b,c\nBenchmarkFetch/v@1-2 10 6 ns/op\n",
		"unit metadata":        "Unit ns/op assume=exact\nBenchmarkA 10 5 ns/op 3 x/op\n",
	}
	for _, name := range []string{"old.txt", "new.txt", "cpu.txt", "multi.txt", "at in a name", "at in a name, 2 pkgs", "unit metadata"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if in, ok := inline[name]; ok {
				data, err = []byte(in), nil
			}
			if err != nil {
				t.Fatal(err)
			}
			run, err := gobench.Parse(data, gobench.Options{File: name})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Import(ctx, run, name); err != nil {
				t.Fatal(err)
			}
			stored, err := db.GetRun(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := reports.WriteBenchstat(&out, reports.Build(stored)); err != nil {
				t.Fatal(err)
			}
			got, want := results(t, out.Bytes()), results(t, data)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip differs\n--- export\n%s\n--- got\n%s\n--- want\n%s", out.String(), strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
