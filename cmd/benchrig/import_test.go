package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

// runStdin is cli.run with stdin.
func (c *cli) runStdin(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	d := c.deps(&out, &errb)
	d.stdin = strings.NewReader(stdin)
	code = execute(context.Background(), d, args)
	return code, out.String(), errb.String()
}

func gobenchFixture(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "gobench", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// stable replaces what changes with every import (the run ID, made of
// the time, and the time itself) in output meant for a golden file.
func stable(c *cli, s string) string {
	s = regexp.MustCompile(`\b\d{8}-\d{6}-[0-9a-f]{4}\b`).ReplaceAllString(s, "RUN")
	s = regexp.MustCompile(`\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\dZ?`).ReplaceAllString(s, "TIME")
	return strings.ReplaceAll(s, c.dir, "$DIR")
}

// TestImportGobench imports two go test -bench outputs (old from a file,
// new from stdin) and uses them as any run: runs compare (old vs new, as
// benchstat old.txt new.txt), runs show, the exports.
func TestImportGobench(t *testing.T) {
	c := newCLI(t)
	old := filepath.Join(c.dir, "old.txt")
	if err := os.WriteFile(old, []byte(gobenchFixture(t, "old.txt")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := c.run(context.Background(), "import", "gobench", "old.txt", "--label", "branch=main")
	if code != 0 {
		t.Fatalf("import old: exit %d\n%s", code, stderr)
	}
	golden(t, "import-gobench.txt", stable(c, stdout)+"--- stderr\n"+stable(c, stderr))

	code, _, stderr = c.runStdin(gobenchFixture(t, "new.txt"), "import", "gobench", "--label", "branch=new")
	if code != 0 {
		t.Fatalf("import new from stdin: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr = c.run(context.Background(), "runs", "compare", "latest~1", "latest")
	if code != 0 {
		t.Fatalf("runs compare: exit %d\n%s", code, stderr)
	}
	golden(t, "import-gobench-compare.txt", stable(c, stdout))
	// --benchstat: both runs in one file, each under "run: ID", old first,
	// as imported (benchstat -col run FILE).
	code, _, stderr = c.run(context.Background(), "runs", "compare", "latest~1", "latest", "--benchstat", filepath.Join(c.dir, "both.txt"))
	if code != 0 {
		t.Fatalf("runs compare --benchstat: exit %d\n%s", code, stderr)
	}
	both, err := os.ReadFile(filepath.Join(c.dir, "both.txt"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "import-gobench-compare-benchstat.txt", stable(c, string(both)))

	// The run's node is its trials' (go-test) with goarch as its arch,
	// and it says it was imported rather than "took 0 s".
	code, stdout, stderr = c.run(context.Background(), "runs", "list", "--label", "branch=new", "--node", "go-test", "--arch", "amd64")
	if code != 0 {
		t.Fatalf("runs list --node go-test: exit %d\n%s", code, stderr)
	}
	golden(t, "import-gobench-list.txt", stable(c, stdout))
	out := func(name string) string { return filepath.Join(c.dir, name) }
	code, _, stderr = c.run(context.Background(), "runs", "show", "latest", "--benchstat", out("new.txt"), "--json", out("new.json"), "--csv", out("new.csv"), "--md", out("new.md"))
	if code != 0 {
		t.Fatalf("runs show with exports: exit %d\n%s", code, stderr)
	}
	export, err := os.ReadFile(filepath.Join(c.dir, "new.txt"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "import-gobench-benchstat.txt", string(export))
	json, err := os.ReadFile(filepath.Join(c.dir, "new.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"go:allocs/op": 5`, `"go:parts/op": 4`, `"go_iterations": 20000`, `"executor": "gobench"`, `"pkg": "example.com/enc/enc"`} {
		if !bytes.Contains(json, []byte(want)) {
			t.Errorf("JSON export lacks %s", want)
		}
	}
}

func TestImportGobenchBadInput(t *testing.T) {
	c := newCLI(t)
	for name, content := range map[string]string{
		"empty.txt":     "",
		"nobench.txt":   "goos: linux\nPASS\nok  \texample.com/x\t0.1s\n",
		"malformed.txt": "goos: linux\nBenchmarkA-2 100 5 ns/op\nBenchmarkA-2 100 5\n",
		"notime.txt":    "BenchmarkA-2 100 24 B/op\n",
	} {
		if err := os.WriteFile(filepath.Join(c.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(c.dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"empty file", []string{"empty.txt"}, "", "benchrig: empty.txt: empty input: want the output of go test -bench"},
		{"empty stdin", []string{"-"}, "", "benchrig: stdin: empty input"},
		{"no benchmark lines", []string{"nobench.txt"}, "", "benchrig: nobench.txt: no benchmark result lines"},
		{"malformed line", []string{"malformed.txt"}, "", "benchrig: malformed.txt:3: malformed benchmark line: missing units"},
		{"no ns/op", []string{"notime.txt"}, "", "benchrig: notime.txt:1: no ns/op on this line"},
		{"missing file", []string{"nope.txt"}, "", "benchrig: nope.txt: no such file"},
		{"directory", []string{"adir"}, "", "benchrig: adir: is a directory"},
		{"empty name", []string{"--name", "", "malformed.txt"}, "", "benchrig: --name must not be empty"},
		{"bad label", []string{"--label", "x", "malformed.txt"}, "", `benchrig: --label "x": want key=value`},
		{"export onto a directory", []string{"--benchstat", filepath.Join(c.dir, "adir"), "malformed.txt"}, "", "benchrig: $DIR/adir: cannot write: is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := c.runStdin(tc.stdin, append([]string{"import", "gobench"}, tc.args...)...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stderr = strings.ReplaceAll(stderr, c.dir, "$DIR"); !strings.HasPrefix(stderr, tc.want) {
				t.Errorf("stderr %q, want it to start with %q", stderr, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(c.dir, "store.db")); err == nil {
		t.Error("bad input created a store: nothing may be stored")
	}
}

// TestRunBenchstat: run --benchstat writes a measured run in Go benchmark
// format, one result per measured successful trial (warmups left out),
// which benchfmt reads back.
func TestRunBenchstat(t *testing.T) {
	c := newCLI(t)
	out := filepath.Join(c.dir, "run.txt")
	code, _, stderr := c.run(context.Background(), "run", "-q", "-c", "true", "--name", "no op", "--repeat", "3", "--warmup", "1", "--benchstat", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rd := benchfmt.NewReader(bytes.NewReader(data), out)
	n := 0
	for rd.Scan() {
		res, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			t.Fatalf("not a result: %v\n%s", rd.Result(), data)
		}
		if res.Name.String() != "adhoc/command=no_op" || res.Iters != 1 {
			t.Errorf("result %s %d, want adhoc/command=no_op 1\n%s", res.Name, res.Iters, data)
		}
		if v, ok := res.Value("sec/op"); !ok || v <= 0 {
			t.Errorf("sec/op %v %v", v, ok)
		}
		n++
	}
	if n != 3 {
		t.Errorf("%d results, want 3 (measured trials, no warmup)\n%s", n, data)
	}
}
