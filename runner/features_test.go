package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// checkingExec is a fakeExec with the Checker ability.
type checkingExec struct {
	fakeExec
	check func(Job) error
}

var _ Checker = (*checkingExec)(nil)

func (c *checkingExec) Check(job Job) error { return c.check(job) }

func TestInstancesRunAtOnceAndCombine(t *testing.T) {
	s := testSpec()
	s.Params = []benchrig.Param{{Name: "n", Values: []string{"1", "3"}}}
	s.Command = benchrig.Command{Argv: []string{"/bin/echo", "{{.n}}", "{{.instance}}"}}
	s.Instances = "{{.n}}"
	s.Throughput = &benchrig.Throughput{Unit: benchrig.Items, Value: "100"}
	s.Repeat = benchrig.Repeat{Min: 1, Max: 1}
	s.Warmup = 0

	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	var argvs []string
	running, peak, gen := 0, 0, 0
	base := time.Now()
	exec := &fakeExec{run: func(_ context.Context, job Job) (benchrig.Measurement, error) {
		var n int
		fmt.Sscan(job.Argv[1], &n)
		mu.Lock()
		argvs = append(argvs, strings.Join(job.Argv[1:], " "))
		running++
		peak = max(peak, running)
		// A barrier: no instance returns before all n of its trial
		// started, which only happens if they run at once.
		if running == n {
			running = 0
			gen++
			cond.Broadcast()
		} else {
			for g := gen; g == gen; {
				cond.Wait()
			}
		}
		mu.Unlock()
		// Instance i starts i ms after base and runs 10*i ms.
		var i int
		fmt.Sscan(job.Argv[2], &i)
		return benchrig.Measurement{
			Start: base.Add(time.Duration(i) * time.Millisecond), Wall: time.Duration(10*i) * time.Millisecond,
			User: time.Duration(i) * time.Millisecond, StdoutBytes: int64(i), MaxRSS: 1000,
			Source: "fake", Metrics: map[string]float64{"io_read_bytes": 10, "pids_peak": float64(i)},
		}, nil
	}}
	run, err := Run(context.Background(), testConfig(exec, &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	if peak != 3 {
		t.Errorf("at most %d instances ran at once, want 3", peak)
	}
	if len(argvs) != 4 || !strings.Contains(strings.Join(argvs, "|"), "3 3") {
		t.Errorf("instance argv = %q, want 1 1, and 3 1, 3 2, 3 3", argvs)
	}
	if got := run.Throughput; got["n=1"] != 100 || got["n=3"] != 300 {
		t.Errorf("throughput = %v, want n=1: 100, n=3: 300 (the total of all instances)", got)
	}
	if len(run.Trials) != 2 {
		t.Fatalf("%d trials, want one per case", len(run.Trials))
	}
	m := run.Trials[1].Measurement
	// First start base+1ms, last end base+3ms+30ms: 32 ms.
	if m.Wall != 32*time.Millisecond || m.User != 6*time.Millisecond || m.StdoutBytes != 6 || m.MaxRSS != 3000 {
		t.Errorf("combined wall %s user %s stdout %d maxrss %d; want 32ms 6ms 6 3000", m.Wall, m.User, m.StdoutBytes, m.MaxRSS)
	}
	want := map[string]float64{"instances": 3, "io_read_bytes": 30, "pids_peak": 3,
		"instance1_wall_s": 0.01, "instance2_wall_s": 0.02, "instance3_wall_s": 0.03,
		"instance1_user_s": 0.001, "instance2_user_s": 0.002, "instance3_user_s": 0.003,
		"instance1_sys_s": 0, "instance2_sys_s": 0, "instance3_sys_s": 0}
	if !reflect.DeepEqual(m.Metrics, want) {
		t.Errorf("metrics = %v\nwant %v", m.Metrics, want)
	}
}

func TestInstanceFailureFailsTheTrial(t *testing.T) {
	s := testSpec()
	s.Params = nil
	s.Command = benchrig.Command{Argv: []string{"/bin/echo", "{{.instance}}"}}
	s.Instances = "2"
	s.Repeat = benchrig.Repeat{Min: 1, Max: 1}
	s.Warmup = 0
	exec := &fakeExec{run: func(_ context.Context, job Job) (benchrig.Measurement, error) {
		m := benchrig.Measurement{Start: time.Now(), Wall: time.Millisecond}
		if job.Argv[1] == "2" {
			m.ExitCode, m.StderrTail = 3, "boom"
		}
		return m, nil
	}}
	run, _ := Run(context.Background(), testConfig(exec, &memRecorder{}), s)
	if got := run.Trials[0]; got.ExitCode != 3 || got.StderrTail != "boom" || !got.Failed() {
		t.Errorf("trial exit %d tail %q, want 3 boom", got.ExitCode, got.StderrTail)
	}
	if run.Status != benchrig.RunFailed {
		t.Errorf("status %s, want failed", run.Status)
	}
}

func TestRequiresAndCheckerSkipCases(t *testing.T) {
	s := testSpec()
	s.Params = []benchrig.Param{{Name: "impl", Values: []string{"echo", "no-such-grep", "cold"}}}
	s.Command = benchrig.Command{Argv: []string{"{{.impl}}", "x"}}
	s.Requires = []benchrig.Requirement{{Program: "{{.impl}}", Hint: "apt-get install it"}}
	s.Cache = `{{if eq .impl "cold"}}cold{{end}}`
	s.Repeat = benchrig.Repeat{Min: 2, Max: 2}

	dir := t.TempDir()
	for _, name := range []string{"echo", "cold"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var calls []string
	exec := &checkingExec{fakeExec: *constant(time.Millisecond, &calls), check: func(j Job) error {
		if j.DropCaches {
			return errors.New("cannot drop the page cache: not root")
		}
		return nil
	}}
	var notes []string
	cfg := testConfig(exec, &memRecorder{})
	cfg.Environ = []string{"PATH=" + dir}
	cfg.Subscribers = []Subscriber{{Name: "test", Handle: func(e benchrig.Event) {
		if e.Kind == benchrig.EventNote {
			notes = append(notes, e.Msg)
		}
	}}}
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != benchrig.RunFinished {
		t.Errorf("status %s, want finished: skipped cases are not failures", run.Status)
	}
	want := map[string]string{
		"impl=no-such-grep": "required program no-such-grep not found (not in PATH); to install: apt-get install it",
		"impl=cold":         "cannot drop the page cache: not root",
	}
	if !reflect.DeepEqual(run.Skipped, want) {
		t.Errorf("skipped = %q\nwant %q", run.Skipped, want)
	}
	if len(calls) != 3 {
		t.Errorf("%d trials ran, want 3 (impl=echo only)", len(calls))
	}
	if len(notes) != 2 || !strings.HasPrefix(notes[0], "skipped: ") {
		t.Errorf("notes = %q, want two skips", notes)
	}
}

func TestMissingProgramNotRequiredIsAnError(t *testing.T) {
	s := testSpec()
	s.Command = benchrig.Command{Argv: []string{"no-such-program-x"}}
	_, err := Run(context.Background(), testConfig(constant(0, new([]string)), &memRecorder{}), s)
	if benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), `program "no-such-program-x" not found`) {
		t.Errorf("err = %v, want an invalid-spec error", err)
	}
}

// An executor that fails around a command that ran (say, reading its
// cgroup) must not cost the measurement: the trial is kept, as failed.
func TestExecutorErrorAfterTheCommandRanKeepsTheTrial(t *testing.T) {
	s := testSpec()
	s.Params = nil
	s.Command = benchrig.Command{Argv: []string{"/bin/true"}}
	s.Repeat = benchrig.Repeat{Min: 2, Max: 2}
	s.Warmup = 0
	n := 0
	exec := &fakeExec{run: func(context.Context, Job) (benchrig.Measurement, error) {
		n++
		m := benchrig.Measurement{Start: time.Now(), Wall: 5 * time.Millisecond}
		if n == 1 {
			return m, errors.New("read cgroup stats: no such file")
		}
		return m, nil
	}}
	rec := &memRecorder{}
	run, err := Run(context.Background(), testConfig(exec, rec), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.trials) != 2 {
		t.Fatalf("%d trials recorded, want 2", len(rec.trials))
	}
	if got := rec.trials[0]; got.Wall != 5*time.Millisecond || got.Error != "executor: read cgroup stats: no such file" {
		t.Errorf("first trial wall %s error %q", got.Wall, got.Error)
	}
	if run.Status != benchrig.RunFailed {
		t.Errorf("status %s, want failed", run.Status)
	}

	// Before the command ran there is nothing to keep: the run stops.
	exec.run = func(context.Context, Job) (benchrig.Measurement, error) {
		return benchrig.Measurement{}, errors.New("create cgroup: permission denied")
	}
	if _, err := Run(context.Background(), testConfig(exec, &memRecorder{}), s); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("err = %v, want the executor's error", err)
	}
}

func TestGroupBaselinesCeilingsAndFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.smi", "b.smi", "c.smi"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("12345"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := testSpec()
	s.Params = []benchrig.Param{
		{Name: "impl", Values: []string{"cat", "gnu", "busybox"}},
		{Name: "pattern", Values: []string{"C", "N"}},
	}
	s.Baseline = map[string]string{"impl": "gnu"}
	s.Ceiling = map[string]string{"impl": "cat"}
	s.Throughput = &benchrig.Throughput{Unit: benchrig.Bytes, Files: []string{dir + "/*.smi"}}
	s.Repeat = benchrig.Repeat{Min: 1, Max: 1}
	s.Warmup = 0
	run, err := Run(context.Background(), testConfig(constant(time.Millisecond, new([]string)), &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	if run.BaselineID != "impl=gnu,pattern=C" {
		t.Errorf("BaselineID = %s", run.BaselineID)
	}
	wantBase := map[string]string{
		"impl=cat,pattern=C": "impl=gnu,pattern=C", "impl=gnu,pattern=C": "impl=gnu,pattern=C", "impl=busybox,pattern=C": "impl=gnu,pattern=C",
		"impl=cat,pattern=N": "impl=gnu,pattern=N", "impl=gnu,pattern=N": "impl=gnu,pattern=N", "impl=busybox,pattern=N": "impl=gnu,pattern=N",
	}
	if !reflect.DeepEqual(run.Baselines, wantBase) {
		t.Errorf("Baselines = %v", run.Baselines)
	}
	if got := run.Ceilings["impl=busybox,pattern=N"]; got != "impl=cat,pattern=N" {
		t.Errorf("ceiling of busybox,N = %q", got)
	}
	if got := run.Files["impl=gnu,pattern=C"]; got != 3 {
		t.Errorf("files = %d, want 3", got)
	}
	if got := run.Throughput["impl=gnu,pattern=C"]; got != 15 {
		t.Errorf("throughput = %v, want 15 bytes", got)
	}

	// A baseline naming every param is one case for all: no per-case map.
	s.Baseline = map[string]string{"impl": "gnu", "pattern": "N"}
	run, err = Run(context.Background(), testConfig(constant(time.Millisecond, new([]string)), &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	if run.BaselineID != "impl=gnu,pattern=N" || run.Baselines != nil {
		t.Errorf("BaselineID %s Baselines %v, want impl=gnu,pattern=N and nil", run.BaselineID, run.Baselines)
	}
}

func TestResourcesReachTheJob(t *testing.T) {
	s := testSpec()
	s.Params = []benchrig.Param{{Name: "cap", Values: []string{"none", "128MB"}}}
	s.Command = benchrig.Command{Argv: []string{"/bin/true"}}
	s.Resources = benchrig.Resources{ReadBPS: "{{.cap}}", ReadDevice: "data"}
	s.Cache = "cold"
	s.Repeat = benchrig.Repeat{Min: 1, Max: 1}
	s.Warmup = 0
	var jobs []Job
	exec := &fakeExec{run: func(_ context.Context, j Job) (benchrig.Measurement, error) {
		jobs = append(jobs, j)
		return benchrig.Measurement{Start: time.Now()}, nil
	}}
	cfg := testConfig(exec, &memRecorder{})
	if _, err := Run(context.Background(), cfg, s); err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].ReadBPS != 0 || jobs[1].ReadBPS != 128e6 || !jobs[1].DropCaches ||
		jobs[1].ReadDevice != filepath.Join(cfg.Dir, "data") {
		t.Errorf("jobs = %+v", jobs)
	}
}

// dropExec is a fakeExec with the CacheDropper ability.
type dropExec struct {
	fakeExec
	drops int
}

var _ CacheDropper = (*dropExec)(nil)

func (d *dropExec) DropCaches(context.Context) (time.Duration, error) {
	d.drops++
	return 3 * time.Millisecond, nil
}

func TestColdInstancesDropTheCacheOnce(t *testing.T) {
	s := testSpec()
	s.Params = nil
	s.Command = benchrig.Command{Argv: []string{"/bin/true"}}
	s.Instances = "3"
	s.Cache = "cold"
	s.Repeat = benchrig.Repeat{Min: 2, Max: 2}
	s.Warmup = 0
	var mu sync.Mutex
	perJob := 0
	exec := &dropExec{fakeExec: fakeExec{run: func(_ context.Context, j Job) (benchrig.Measurement, error) {
		mu.Lock()
		defer mu.Unlock()
		if j.DropCaches {
			perJob++
		}
		return benchrig.Measurement{Start: time.Now(), Wall: time.Millisecond}, nil
	}}}
	run, err := Run(context.Background(), testConfig(exec, &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	if exec.drops != 2 || perJob != 0 {
		t.Errorf("%d drops by the runner and %d by jobs; want one per trial (2) and none", exec.drops, perJob)
	}
	if got := run.Trials[0].Metrics["drop_caches_seconds"]; got != 0.003 {
		t.Errorf("drop_caches_seconds = %v, want 0.003", got)
	}
}

func TestPerInstanceThroughput(t *testing.T) {
	dir := t.TempDir()
	for i, size := range []int{100, 200, 300} {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("compound-%04d.sdf.gz", i+1)), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := testSpec()
	s.Params = []benchrig.Param{{Name: "n", Values: []string{"1", "3"}}}
	s.Command = benchrig.Command{Argv: []string{"/bin/true"}}
	s.Instances = "{{.n}}"
	s.Throughput = &benchrig.Throughput{Unit: benchrig.Items, Value: "50",
		Bytes: &benchrig.Throughput{Unit: benchrig.Bytes, Files: []string{dir + `/compound-{{printf "%04s" .instance}}.sdf.gz`}}}
	s.Repeat = benchrig.Repeat{Min: 1, Max: 1}
	s.Warmup = 0
	run, err := Run(context.Background(), testConfig(constant(time.Millisecond, new([]string)), &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	if run.Throughput["n=3"] != 150 || run.ThroughputBytes["n=3"] != 600 || run.ThroughputBytes["n=1"] != 100 || run.Files["n=3"] != 3 {
		t.Errorf("items %v bytes %v files %v; want n=3: 150 items, 600 bytes (each instance its own file), 3 files",
			run.Throughput, run.ThroughputBytes, run.Files)
	}
}

// The trial that reaches max may also meet the CI target: that is ci-met.
func TestCIMetOnTheLastAllowedTrial(t *testing.T) {
	s := testSpec()
	s.Params = nil
	s.Command = benchrig.Command{Argv: []string{"/bin/true"}}
	s.Repeat = benchrig.Repeat{Min: 6, Max: 6, UntilCI: 0.05}
	s.Warmup = 0
	run, err := Run(context.Background(), testConfig(constant(10*time.Millisecond, new([]string)), &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	if note := run.Notes["default"]; !strings.HasPrefix(note, "ci-met:") {
		t.Errorf("note = %q, want ci-met", note)
	}
}

// The combined peak of instances is the sum of theirs, or unavailable (0)
// when any instance's is: a partial sum would understate it.
func TestCombineMaxRSS(t *testing.T) {
	at := time.Now()
	for _, tc := range []struct {
		name  string
		peaks []int64
		want  int64
	}{
		{"all known", []int64{1000, 2000, 3000}, 6000},
		{"one unavailable", []int64{1000, 0, 3000}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ms []benchrig.Measurement
			for _, p := range tc.peaks {
				ms = append(ms, benchrig.Measurement{Start: at, Wall: time.Millisecond, MaxRSS: p, Source: "fake"})
			}
			if got := combine(ms).MaxRSS; got != tc.want {
				t.Errorf("combined MaxRSS = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestExcludedCaseIsCeilingOfEveryGroup checks that exclude leaves cases
// out of the run, and that a ceiling left with one pattern of several is
// the ceiling of every pattern.
func TestExcludedCaseIsCeilingOfEveryGroup(t *testing.T) {
	s := testSpec()
	s.Params = []benchrig.Param{
		{Name: "impl", Values: []string{"gnu", "busybox", "cat"}},
		{Name: "pattern", Values: []string{"C", "N", "O"}},
	}
	s.Exclude = []map[string]string{{"impl": "cat", "pattern": "N"}, {"impl": "cat", "pattern": "O"}}
	s.Baseline = map[string]string{"impl": "gnu"}
	s.Ceiling = map[string]string{"impl": "cat"}
	s.Repeat = benchrig.Repeat{Min: 1, Max: 1}
	s.Warmup = 0
	ran := new([]string)
	run, err := Run(context.Background(), testConfig(constant(time.Millisecond, ran), &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range run.Cases {
		ids = append(ids, c.ID)
	}
	want := []string{"impl=gnu,pattern=C", "impl=gnu,pattern=N", "impl=gnu,pattern=O", "impl=busybox,pattern=C", "impl=busybox,pattern=N", "impl=busybox,pattern=O", "impl=cat,pattern=C"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("cases = %v, want %v", ids, want)
	}
	if len(*ran) != len(want) {
		t.Errorf("ran %d trials, want %d", len(*ran), len(want))
	}
	for _, id := range want {
		if got := run.Ceilings[id]; got != "impl=cat,pattern=C" {
			t.Errorf("ceiling of %s = %q, want impl=cat,pattern=C", id, got)
		}
	}
	if got := run.Baselines["impl=busybox,pattern=O"]; got != "impl=gnu,pattern=O" {
		t.Errorf("baseline of busybox,O = %q, want gnu,O (per pattern)", got)
	}
}

// TestMissingDataNamesTheCommandAndTheSet checks that a spec whose data
// files are missing is refused before anything runs, with the hint of the
// case that lacks the most and the --set that runs the cases that have
// their data.
func TestMissingDataNamesTheCommandAndTheSet(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"f-1.dat", "f-2.dat"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, data, want string
	}{
		{"some cases have their data", dir,
			`t.yaml: requires[0]: the data of 4 of 8 cases is missing (no file matches "` + dir + `/f-3.dat", nor 1 more); run only the cases whose data exists with --set n=1,2, or make it all with: make-data --out ` + dir + ` --files 4`},
		{"no case has its data", dir + "/none",
			`t.yaml: requires[0]: the data of every case is missing (no file matches "` + dir + `/none/f-1.dat", nor 3 more); make it with: make-data --out ` + dir + `/none --files 4`},
		// A hint is a command to paste: values are quoted for the shell.
		{"a path with a space and a quote", dir + "/my data/it's",
			`t.yaml: requires[0]: the data of every case is missing (no file matches "` + dir + `/my data/it's/f-1.dat", nor 3 more); make it with: make-data --out '` + dir + `/my data/it'\''s' --files 4`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec()
			s.File = "t.yaml"
			s.Params = []benchrig.Param{
				{Name: "impl", Values: []string{"a", "b"}},
				{Name: "n", Values: []string{"1", "2", "3", "4"}},
				{Name: "data", Values: []string{tc.data}},
			}
			s.Instances = "{{.n}}"
			s.Requires = []benchrig.Requirement{{Files: []string{"{{.data}}/f-{{.instance}}.dat"}, Hint: "make-data --out {{.data}} --files {{.n}}"}}
			calls := new([]string)
			_, err := Run(context.Background(), testConfig(constant(time.Millisecond, calls), &memRecorder{}), s)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant %s", err, tc.want)
			}
			if benchrig.ErrorCode(err) != benchrig.EInvalid {
				t.Errorf("code %s, want invalid", benchrig.ErrorCode(err))
			}
			if len(*calls) > 0 {
				t.Errorf("ran %d trials", len(*calls))
			}
			// Pasted into a shell, the hint gives make-data the path.
			msg := err.Error()
			hint := msg[strings.LastIndex(msg, "with: ")+len("with: "):]
			out, xerr := exec.Command("sh", "-c", "set -- "+hint+`; printf %s "$3"`).Output()
			if xerr != nil || string(out) != tc.data {
				t.Errorf("the hint pasted into sh gives --out %q (%v), want %q", out, xerr, tc.data)
			}
		})
	}
}
