package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden/")

func TestMain(m *testing.M) {
	// The test binary is benchrig itself for tests that need another
	// process (another mount namespace, another user).
	if os.Getenv("BENCHRIG_TEST_AS_CLI") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	// What the CLI prints in local time is golden in UTC, wherever the
	// tests run.
	time.Local = time.UTC
	os.Exit(m.Run())
}

// golden compares got with testdata/golden/name, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (check, then run with -update):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var goldenStart = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// goldenStore fills a store with three runs of a two-case spec whose
// every figure is fixed: an older finished run, a newer one in which one
// trial failed, and one whose process died (its heartbeat is long stale).
func goldenStore(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	src := "name: golden\ncommand: \"gzip -{{.level}} -c data\"\nparams:\n  level: [1, 9]\nrepeat: 5\nwarmup: 1\n"
	cases := benchrig.Matrix([]benchrig.Param{{Name: "level", Values: []string{"1", "9"}}})
	fp := benchrig.Fingerprint{Hostname: "bench1", OS: "linux", Kernel: "6.1.0", Arch: "amd64", CPUModel: "Test CPU",
		CPUs: 2, MemoryBytes: 8 << 30, Version: "0.1.0-dev", GoVersion: "go1.26", SpecHash: "5eed", CgroupMode: "cgroup-v2", Executor: "local"}
	type runDef struct {
		id       string
		at       time.Duration // after goldenStart
		slow     float64       // factor on level 9's times
		failRep  int           // a measured rep of level=9 that fails (0: none; rep 0 is the warmup)
		status   benchrig.RunStatus
		trials   int // how many trials to record (all 12 unless interrupted)
		labels   map[string]string
		warnings []string
	}
	for _, r := range []runDef{
		{id: "20261130-090000-0001", slow: 1, status: benchrig.RunFinished, trials: 12, labels: map[string]string{"branch": "main"}},
		{id: "20261130-100000-0002", at: time.Hour, slow: 1.2, failRep: 3, status: benchrig.RunFailed, trials: 12,
			labels: map[string]string{"branch": "dev"}, warnings: []string{"cleanup of case level=9: node lab1: connection refused"}},
		{id: "20261130-110000-0003", at: 2 * time.Hour, slow: 1, status: benchrig.RunRunning, trials: 5},
	} {
		started := goldenStart.Add(r.at)
		run := &benchrig.Run{ID: r.id, SpecName: "golden", SpecHash: "5eed", SpecFile: "/specs/golden.yaml", SpecSource: []byte(src),
			Status: benchrig.RunRunning, Started: started, Heartbeat: started, Fingerprint: fp, Cases: cases,
			BaselineID: cases[0].ID, Notes: map[string]string{}, Labels: r.labels,
			Request: &benchrig.RunRequest{SpecFile: "/specs/golden.yaml", Dir: "/specs", Executor: "local", Cgroups: "auto"}}
		if err := db.CreateRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		var events []benchrig.Event
		seq := int64(0)
		ev := func(at time.Time, e benchrig.Event) {
			seq++
			e.Run, e.Seq, e.Time = r.id, seq, at
			events = append(events, e)
		}
		ev(started, benchrig.Event{Kind: benchrig.EventRunStarted, Total: 12})
		at := started
		for i := 0; i < r.trials; i++ {
			c := cases[i%2]
			rep := i / 2
			ref := benchrig.TrialRef{Run: r.id, Case: c.ID, Rep: rep}
			wall := time.Duration(100+10*rep) * time.Millisecond
			if i%2 == 1 {
				wall = time.Duration(float64(300+15*rep) * r.slow * float64(time.Millisecond))
			}
			tr := &benchrig.Trial{RunID: r.id, CaseID: c.ID, Seq: i, Index: rep, Warmup: rep == 0, Node: "local",
				Measurement: benchrig.Measurement{Start: at, Wall: wall, User: wall * 9 / 10, Sys: wall / 20, MaxRSS: 4 << 20, StdoutBytes: 1000, Source: "cgroup-v2"}}
			o := benchrig.OutcomeOK
			msg := ""
			if i%2 == 1 && r.failRep > 0 && rep == r.failRep {
				tr.ExitCode, tr.StderrTail, tr.Outcome = 1, "gzip: data: unexpected end of file\n", benchrig.OutcomeFailed
				o, msg = benchrig.OutcomeFailed, "exit status 1"
			}
			if err := db.AddTrial(ctx, tr); err != nil {
				t.Fatal(err)
			}
			ev(at, benchrig.Event{Kind: benchrig.EventTrialStarted, Trial: &ref, Node: "local", Warmup: tr.Warmup, Done: i, Total: 12})
			at = at.Add(wall)
			ev(at, benchrig.Event{Kind: benchrig.EventTrialFinished, Trial: &ref, Node: "local", Warmup: tr.Warmup, Outcome: &o, Duration: wall, Msg: msg, Done: i + 1, Total: 12})
		}
		for _, w := range r.warnings {
			ev(at, benchrig.Event{Kind: benchrig.EventWarning, Msg: w, Done: r.trials, Total: 12})
		}
		if r.status != benchrig.RunRunning {
			ev(at, benchrig.Event{Kind: benchrig.EventRunFinished, Msg: string(r.status), Done: 12, Total: 12})
		}
		if err := db.AddEvents(ctx, events); err != nil {
			t.Fatal(err)
		}
		if r.status != benchrig.RunRunning {
			if err := db.FinishRun(ctx, r.id, r.status, at, nil); err != nil {
				t.Fatal(err)
			}
		} else if err := db.Heartbeat(ctx, r.id, at); err != nil {
			t.Fatal(err)
		}
	}
}

// goldenCase is a command whose output (stdout, then stderr with the
// test's directory as $DIR) must match testdata/golden/file, and its exit
// code.
type goldenCase struct {
	file string
	args []string
	code int
}

// runGoldenCases runs each case as a subtest in c.
func runGoldenCases(t *testing.T, c *cli, cases []goldenCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			code, stdout, stderr := c.run(context.Background(), tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, tc.code, stderr)
			}
			out := stdout
			if stderr != "" {
				out += "--- stderr\n" + strings.ReplaceAll(stderr, c.dir, "$DIR")
			}
			golden(t, tc.file, out)
		})
	}
}

func TestGoldenCLIOutput(t *testing.T) {
	c := newCLI(t)
	goldenStore(t, filepath.Join(c.dir, "store.db"))
	runGoldenCases(t, c, []goldenCase{
		{"runs-list.txt", []string{"runs", "list"}, 0},
		{"runs-list-filtered.txt", []string{"runs", "list", "--label", "branch=main", "--status", "finished"}, 0},
		{"runs-list-page.txt", []string{"runs", "list", "--limit", "2"}, 0},
		{"runs-show.txt", []string{"runs", "show", "20261130-100000-0002"}, 0},
		{"runs-show-interrupted.txt", []string{"runs", "show", "latest"}, 0},
		{"runs-compare.txt", []string{"runs", "compare", "20261130-090000", "20261130-100000"}, 0},
		{"runs-events.txt", []string{"runs", "events", "20261130-100000"}, 0},
		{"runs-events.jsonl", []string{"runs", "events", "20261130-100000", "--json"}, 0},
		{"runs-resume-finished.txt", []string{"runs", "resume", "20261130-090000"}, 2},
		{"runs-events-by-suffix.txt", []string{"runs", "events", "0003"}, 0},
		{"runs-show-not-found.txt", []string{"runs", "show", "0004"}, 2},
		{"runs-list-bad-status.txt", []string{"runs", "list", "--status", "done"}, 2},
		{"validate-many-errors.txt", []string{"validate", "../../testdata/specs/many-errors.yaml"}, 2},
		{"validate-cases-narrowed.txt", []string{"validate", "--cases", "--set", "impl=busybox", "--set", "pattern=regex,class", "../../benchmarks/grep-impl.yaml"}, 0},
	})
}
