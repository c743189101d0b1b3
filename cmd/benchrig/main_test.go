package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/app"
	"github.com/benchrig/benchrig/runner"
)

// cli runs benchrig in-process with its store in dir.
type cli struct {
	t   *testing.T
	dir string
	env map[string]string // further variables getenv sees
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, dir: t.TempDir()}
}

func (c *cli) deps(stdout, stderr io.Writer) *deps {
	d := defaultDeps(stdout, stderr)
	d.cwd = c.dir
	// Children benchrig starts of itself (node collectors) run this test
	// binary as the CLI (see TestMain).
	d.environ = append(d.environ, "BENCHRIG_TEST_AS_CLI=1")
	d.getenv = func(k string) string {
		if k == "BENCHRIG_STORE" {
			return filepath.Join(c.dir, "store.db")
		}
		return c.env[k]
	}
	return d
}

func (c *cli) run(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = execute(ctx, c.deps(&out, &errb), args)
	return code, out.String(), errb.String()
}

// runWatching is run, with each line benchrig writes to stderr (progress:
// one "[n/N] case trial ..." line per finished trial) also handed to
// watch as it is written, so a test can act on the run's own events.
func (c *cli) runWatching(ctx context.Context, watch func(line string), args ...string) (code int, stdout, stderr string) {
	var out bytes.Buffer
	w := &lineWatcher{watch: watch}
	code = execute(ctx, c.deps(&out, w), args)
	w.mu.Lock()
	defer w.mu.Unlock()
	return code, out.String(), w.all.String()
}

// lineWatcher keeps what is written and calls watch on each complete line.
type lineWatcher struct {
	mu      sync.Mutex
	all     bytes.Buffer
	partial []byte
	watch   func(string)
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		w.watch(line)
	}
	return len(p), nil
}

func (c *cli) write(name, content string) string {
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return p
}

const twoCases = `name: cli-test
command: "head -c {{.n}} /dev/zero"
params:
  n: [1000, 200000]
repeat: 5
warmup: 1
throughput: {bytes: "{{.n}}"}
`

func TestRunAndInspect(t *testing.T) {
	c := newCLI(t)
	spec := c.write("spec.yaml", twoCases)
	jsonPath := filepath.Join(c.dir, "out.json")
	csvPath := filepath.Join(c.dir, "out.csv")
	mdPath := filepath.Join(c.dir, "out.md")
	code, out, errOut := c.run(context.Background(), "run", spec, "--json", jsonPath, "--csv", csvPath, "--md", mdPath)
	if code != 0 {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"n=1000", "n=200000"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks case %s:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "[12/12]") {
		t.Errorf("plain progress lines missing on a non-terminal:\n%s", errOut)
	}
	var doc struct {
		RunID string `json:"run_id"`
		Cases []struct {
			ID     string            `json:"id"`
			Params map[string]string `json:"params"`
			Trials []struct {
				WallS       float64 `json:"wall_s"`
				StdoutBytes int64   `json:"stdout_bytes"`
				Warmup      bool    `json:"warmup"`
			} `json:"trials"`
			Stats struct {
				N       int     `json:"n"`
				MedianS float64 `json:"median_s"`
			} `json:"stats"`
		} `json:"cases"`
		Comparisons []struct {
			Case     string  `json:"case"`
			Baseline string  `json:"baseline"`
			Ratio    float64 `json:"ratio"`
		} `json:"comparisons"`
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("json export: %v", err)
	}
	if len(doc.Cases) != 2 || doc.Cases[1].Params["n"] != "200000" {
		t.Fatalf("json cases = %+v", doc.Cases)
	}
	for _, cs := range doc.Cases {
		if cs.Stats.N != 5 || len(cs.Trials) != 6 || !cs.Trials[0].Warmup {
			t.Errorf("case %s: n=%d trials=%d, want 5 measured of 6 with a warmup first", cs.ID, cs.Stats.N, len(cs.Trials))
		}
		for _, tr := range cs.Trials {
			if want := cs.Params["n"]; want == "200000" && tr.StdoutBytes != 200000 {
				t.Errorf("stdout bytes = %d, want 200000 counted through the pipe", tr.StdoutBytes)
			}
			if tr.WallS <= 0 {
				t.Errorf("wall_s = %v", tr.WallS)
			}
		}
	}
	if len(doc.Comparisons) != 1 || doc.Comparisons[0].Baseline != "n=1000" || doc.Comparisons[0].Ratio <= 0 {
		t.Errorf("comparisons = %+v", doc.Comparisons)
	}
	csv, _ := os.ReadFile(csvPath)
	if lines := strings.Count(string(csv), "\n"); lines != 13 {
		t.Errorf("csv has %d lines, want header + 12 trials", lines)
	}
	if md, _ := os.ReadFile(mdPath); !strings.Contains(string(md), "|") {
		t.Errorf("markdown export has no table:\n%s", md)
	}

	code, out, errOut = c.run(context.Background(), "runs", "list")
	if code != 0 || !strings.Contains(out, doc.RunID) || !strings.Contains(out, "finished") {
		t.Errorf("runs list exit %d:\n%s%s", code, out, errOut)
	}
	code, out, errOut = c.run(context.Background(), "runs", "show", doc.RunID[:12])
	if code != 0 || !strings.Contains(out, doc.RunID) || !strings.Contains(out, "n=200000") {
		t.Errorf("runs show by prefix exit %d:\n%s%s", code, out, errOut)
	}
	// A second run to compare against the first.
	if code, _, errOut = c.run(context.Background(), "run", spec, "--set", "n=200000", "--repeat", "3", "-q"); code != 0 {
		t.Fatalf("second run exit %d: %s", code, errOut)
	}
	code, out, errOut = c.run(context.Background(), "runs", "compare", doc.RunID, "latest")
	if code != 0 || !strings.Contains(out, "n=200000") {
		t.Errorf("runs compare exit %d:\n%s%s", code, out, errOut)
	}
}

func TestExitCodes(t *testing.T) {
	c := newCLI(t)
	good := c.write("good.yaml", twoCases)
	bad := c.write("bad.yaml", "name: x\ncommand: [true]\nrepeat: 0\n")
	failing := c.write("failing.yaml", "name: f\ncommand: \"echo boom >&2; exit 3\"\nrepeat: 2\nwarmup: 0\n")
	missing := c.write("missing.yaml", "name: m\ncommand: [no-such-program-xyz, a]\n")
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"validate ok", []string{"validate", good}, 0, ""},
		{"validate bad", []string{"validate", bad}, 2, "bad.yaml:3: repeat"},
		{"validate missing file", []string{"validate", filepath.Join(c.dir, "nope.yaml")}, 2, "nope.yaml"},
		{"unknown flag", []string{"run", good, "--bogus"}, 2, "unknown flag: --bogus"},
		{"bad repeat flag", []string{"run", good, "--repeat", "0"}, 2, "--repeat must be at least 1"},
		{"set unknown param", []string{"run", good, "--set", "zz=1"}, 2, "--set"},
		{"program not found", []string{"run", missing}, 2, `program "no-such-program-xyz" not found`},
		{"failing trials", []string{"run", failing}, 1, "boom"},
		{"store not writable", []string{"run", good, "--store", good + "/sub/x.db"}, 2, "x.db"},
		{"export dir missing", []string{"run", good, "--json", "/nonexistent/dir/x.json"}, 2, "/nonexistent/dir/x.json"},
		{"unknown run", []string{"runs", "show", "nosuchrun"}, 2, "nosuchrun"},
		{"no args", []string{"run"}, 2, "give a spec file, or commands to compare with -c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := c.run(context.Background(), tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			if !strings.Contains(errOut, tc.inStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.inStderr, errOut)
			}
		})
	}
}

func TestCancelKeepsTrials(t *testing.T) {
	c := newCLI(t)
	spec := c.write("slow.yaml", "name: slow\ncommand: [sleep, '0.2']\nrepeat: 50\nwarmup: 0\n")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	d := c.deps(&out, &errb)
	done := 0
	d.executors["local"] = wrapExecutor(d.executors["local"], func() {
		done++
		if done == 3 {
			cancel()
		}
	})
	start := time.Now()
	code := execute(ctx, d, []string{"run", spec})
	if code != 130 {
		t.Fatalf("exit %d, want 130\n%s%s", code, out.String(), errb.String())
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("cancel took %v", time.Since(start))
	}
	code, list, _ := c.run(context.Background(), "runs", "list")
	if code != 0 || !strings.Contains(list, "cancelled") {
		t.Fatalf("runs list:\n%s", list)
	}
	_, show, _ := c.run(context.Background(), "runs", "show", "latest")
	if !strings.Contains(show, "cancelled") {
		t.Errorf("show latest:\n%s", show)
	}
}

// wrapExecutor calls after once each job has finished.
func wrapExecutor(next func(bool) app.Executor, after func()) func(bool) app.Executor {
	return func(off bool) app.Executor { return &hookedExec{Executor: next(off), after: after} }
}

type hookedExec struct {
	app.Executor
	after func()
}

func (h *hookedExec) Run(ctx context.Context, job runner.Job) (m benchrig.Measurement, err error) {
	m, err = h.Executor.Run(ctx, job)
	h.after()
	return m, err
}

// A fast wrong answer is a failed trial: a spec's expect turns blank output
// into wrong-output with its reason, shown even with -q, and an exit code
// the spec allows (grep -c finding nothing) is a success.
func TestExpectFailsWrongOutput(t *testing.T) {
	c := newCLI(t)
	spec := c.write("expect.yaml", `name: expect-cli
command: "{{raw .cmd}}" # each value is a whole shell command
params:
  cmd: ["echo 42", "echo ' '", "printf '0\n'; exit 1"]
repeat: 2
warmup: 0
expect:
  exit: [0, 1]
  stdout: {nonempty: true, lines: 1}
`)
	code, out, errOut := c.run(context.Background(), "run", "-q", spec)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "case cmd=echo ' ': 2 trial(s) failed; last: wrong-output: stdout has 1 blank line(s) of 1 (expect.stdout.nonempty)") {
		t.Errorf("the wrong output's reason is not shown:\n%s", errOut)
	}
	if strings.Contains(errOut, "case cmd=echo 42") || strings.Contains(errOut, "exit 1: ") {
		t.Errorf("a good case is reported as failed:\n%s", errOut)
	}
	run := latestRun(t, filepath.Join(c.dir, "store.db"))
	for _, tr := range run.Trials {
		if tr.Stdout == nil || tr.Stdout.SHA256 == "" {
			t.Errorf("trial %s: no stdout digest stored", tr.Ref())
		}
	}
}

// A case given up after its warmup (its node could not start a trial) has
// no failed trial: in a failed run its note says why, on stderr, whatever
// -q did to the progress notes. Was missing: "some trials failed (details
// above)" with nothing above.
func TestPrintFailuresShowsWhyACaseStopped(t *testing.T) {
	run := &benchrig.Run{
		Status: benchrig.RunFailed,
		Cases:  []benchrig.Case{{ID: "impl=busybox"}, {ID: "impl=gnu"}, {ID: "impl=cat"}, {ID: "impl=musl"}},
		Trials: []benchrig.Trial{
			{CaseID: "impl=busybox", Warmup: true},
			{CaseID: "impl=gnu"},
			{CaseID: "impl=cat", Measurement: benchrig.Measurement{ExitCode: 2, StderrTail: "cat: x: No such file\n"}},
		},
		Notes: map[string]string{
			"impl=busybox": "not run: node lab3: start container 69ff6ed75e48: no such file",
			"impl=musl":    "skipped: busybox-musl not installed",
		},
		Skipped: map[string]string{"impl=musl": "busybox-musl not installed"},
	}
	var stderr strings.Builder
	printFailures(&deps{stderr: &stderr}, run)
	want := "\ncase impl=busybox: not run: node lab3: start container 69ff6ed75e48: no such file\n" +
		"\ncase impl=cat: 1 trial(s) failed; last: failed: exit status 2\n  | cat: x: No such file\n"
	if stderr.String() != want {
		t.Errorf("stderr\n%q\nwant\n%q", stderr.String(), want)
	}
}

// Commands compared without a spec file, as in hyperfine: each -c a case,
// with the store, exports and flags of a spec run; resumable like one.
func TestRunAdHocCommands(t *testing.T) {
	c := newCLI(t)
	out := filepath.Join(c.dir, "adhoc.json")
	// 6 trials a side and a 50 ms sleep: with 4, one `true` stalled by a
	// loaded CI machine (16 ms, 89% steal) left the rank test at p=0.06.
	code, stdout, stderr := c.run(context.Background(), "run", "-q", "-c", "true", "-c", "sleep 0.05", "--name", "nothing", "--name", "sleep",
		"--repeat", "6", "--warmup", "0", "--json", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "command=sleep is") || !strings.Contains(stdout, "slower than command=nothing") {
		t.Errorf("report:\n%s", stdout)
	}
	run := latestRun(t, filepath.Join(c.dir, "store.db"))
	if run.SpecName != "adhoc" || len(run.Trials) != 12 || run.Request == nil || len(run.Request.Commands) != 2 {
		t.Errorf("stored run %s: %d trials, request %+v", run.SpecName, len(run.Trials), run.Request)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "x.yaml", "-c", "true"}, "not both"},
		{[]string{"run"}, "give a spec file, or commands to compare with -c"},
		{[]string{"run", "x.yaml", "--name", "a"}, "--name names -c commands"},
		{[]string{"run", "-c", "a", "-c", "b", "--name", "x"}, "1 --name for 2 commands"},
	} {
		if code, _, errOut := c.run(context.Background(), tc.args...); code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d\n%s", tc.args, code, errOut)
		}
	}
}

// --prepare runs before every trial, unmeasured: the file each trial
// reads is made fresh for it, and a sleep in prepare does not count.
func TestRunPrepare(t *testing.T) {
	c := newCLI(t)
	out := filepath.Join(c.dir, "p.json")
	code, stdout, stderr := c.run(context.Background(), "run", "-q", "-c", "test -f fresh && rm fresh", "--prepare", "sleep 0.05; touch fresh",
		"--repeat", "3", "--warmup", "1", "--json", out)
	if code != 0 {
		t.Fatalf("exit %d: a trial ran without its prepare\n%s\n%s", code, stdout, stderr)
	}
	var doc struct {
		Overrides []string `json:"overrides"`
		Cases     []struct {
			Trials []struct {
				WallS float64 `json:"wall_s"`
			} `json:"trials"`
		} `json:"cases"`
	}
	readJSON(t, out, &doc)
	for _, tr := range doc.Cases[0].Trials {
		if tr.WallS >= 0.05 {
			t.Errorf("a trial took %.3fs: prepare's 50 ms sleep was measured", tr.WallS)
		}
	}
	if len(doc.Cases[0].Trials) != 4 || !slices.Contains(doc.Overrides, "--prepare sleep 0.05; touch fresh") {
		t.Errorf("%d trials, overrides %q", len(doc.Cases[0].Trials), doc.Overrides)
	}
}
