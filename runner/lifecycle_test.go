package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// eventLog is a subscriber that keeps every event and checks, as they
// come, that the progress it carries never claims more done than total.
type eventLog struct {
	t      *testing.T
	mu     sync.Mutex
	events []benchrig.Event
}

func (l *eventLog) subscriber() Subscriber {
	return Subscriber{Name: "test", Handle: func(e benchrig.Event) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if e.Done > e.Total {
			l.t.Errorf("event %d %s: done %d > total %d", e.Seq, e.Kind, e.Done, e.Total)
		}
		l.events = append(l.events, e)
	}}
}

func (l *eventLog) kinds() map[benchrig.EventKind]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[benchrig.EventKind]int{}
	for _, e := range l.events {
		out[e.Kind]++
	}
	return out
}

func TestEventLogAndTrialReferences(t *testing.T) {
	s := testSpec() // 2 cases x (1 warmup + 3 trials)
	rec := &memRecorder{}
	log := &eventLog{t: t}
	cfg := testConfig(constant(time.Millisecond, new([]string)), rec)
	cfg.Subscribers = []Subscriber{log.subscriber()}
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	k := log.kinds()
	if k[benchrig.EventRunStarted] != 1 || k[benchrig.EventRunFinished] != 1 || k[benchrig.EventTrialPlanned] != 8 ||
		k[benchrig.EventTrialStarted] != 8 || k[benchrig.EventTrialFinished] != 8 {
		t.Errorf("event kinds = %v", k)
	}
	// The durable log got the same events, in order, numbered from 1.
	if len(rec.events) != len(log.events) {
		t.Fatalf("recorder has %d events, subscriber %d", len(rec.events), len(log.events))
	}
	for i, e := range rec.events {
		if e.Seq != int64(i+1) || e.Run != run.ID {
			t.Fatalf("event %d: seq %d run %q", i, e.Seq, e.Run)
		}
	}
	last := rec.events[len(rec.events)-1]
	if last.Kind != benchrig.EventRunFinished || last.Done != 8 || last.Total != 8 {
		t.Errorf("last event = %+v, want run-finished 8/8", last)
	}
	// Each trial's reference was planned and started before it finished,
	// and the store recorded the same reference.
	seen := map[benchrig.TrialRef][]benchrig.EventKind{}
	for _, e := range rec.events {
		if e.Trial != nil {
			seen[*e.Trial] = append(seen[*e.Trial], e.Kind)
		}
	}
	for _, tr := range run.Trials {
		got := seen[tr.Ref()]
		want := []benchrig.EventKind{benchrig.EventTrialPlanned, benchrig.EventTrialStarted, benchrig.EventTrialFinished}
		if !slices.Equal(got, want) {
			t.Errorf("trial %s: events %v, want %v", tr.Ref(), got, want)
		}
		if tr.Warmup != (tr.Index == 0) {
			t.Errorf("trial %s: warmup %v", tr.Ref(), tr.Warmup)
		}
	}
	if rec.notes != nil && len(rec.notes) > 0 {
		t.Errorf("notes %v for a run with nothing to note", rec.notes)
	}
}

// A trial in flight on a node that is lost is run again elsewhere as the
// next attempt of the same repetition; labels carry the reference; done
// never exceeds total through the loss.
func TestLostTrialIsNextAttemptOfSameRep(t *testing.T) {
	n1, e1 := fakeNode("lab1", "amd64", false, nil)
	n2, e2 := fakeNode("lab2", "amd64", false, nil)
	e1.run = func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		if n == 2 { // the first measured trial: the node dies under it
			e1.down.Store(true)
			return benchrig.Measurement{}, &benchrig.Error{Code: benchrig.EUnavailable, Msg: "node lab1: connection reset"}
		}
		return benchrig.Measurement{Start: time.Now(), Wall: time.Millisecond, Source: "fake"}, nil
	}
	s := containerSpec()
	s.Params = nil
	s.Command = benchrig.Command{Argv: []string{"true"}}
	s.Placement.Per = benchrig.PerArch // lab1 is the home, lab2 of its class stands by
	nodes := &fakeNodes{nodes: []*Node{n1, n2}}
	log := &eventLog{t: t}
	cfg := nodeConfig(nodes, &memRecorder{})
	cfg.Subscribers = []Subscriber{log.subscriber()}
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	checkTrialCounts(t, run, 3)
	var discarded, again *benchrig.TrialRef
	for _, e := range log.events {
		if e.Kind == benchrig.EventTrialDiscarded {
			discarded = e.Trial
		}
	}
	if discarded == nil || discarded.Attempt != 0 {
		t.Fatalf("no discarded first attempt in %v", log.kinds())
	}
	for _, tr := range run.Trials {
		if tr.Index == discarded.Rep {
			r := tr.Ref()
			again = &r
		}
	}
	if again == nil || again.Attempt != 1 {
		t.Fatalf("rep %d recorded as %v, want attempt 1", discarded.Rep, again)
	}
	// The container that ran it again was labelled with that reference.
	found := false
	for _, j := range append(e1.jobs, e2.jobs...) {
		if j.Container != nil && j.Container.Labels[LabelTrial] == again.String() {
			found = true
		}
	}
	if !found {
		t.Errorf("no container labelled %s", again)
	}
}

// With two slots, trials that finish out of order keep the reps they were
// started with: identity is not assigned at recording.
func TestRepsAreFixedAtStart(t *testing.T) {
	n1, e1 := fakeNode("lab1", "amd64", false, nil)
	n1.MaxTrials = 2
	release := make(chan struct{})
	e1.run = func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		if strings.HasSuffix(job.Container.Labels[LabelTrial], "#1") {
			<-release // rep 1 finishes after rep 2
		}
		if strings.HasSuffix(job.Container.Labels[LabelTrial], "#2") {
			defer close(release)
		}
		return benchrig.Measurement{Start: time.Now(), Wall: time.Duration(n) * time.Millisecond, Source: "fake"}, nil
	}
	s := containerSpec()
	s.Params = nil
	s.Command = benchrig.Command{Argv: []string{"true"}}
	s.Warmup = 0
	s.Placement.TrialsPerNode = 2
	run, err := Run(context.Background(), nodeConfig(&fakeNodes{nodes: []*Node{n1}}, &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	var order []int
	for _, tr := range run.Trials {
		order = append(order, tr.Index)
		want := fmt.Sprintf("#%d", tr.Index)
		for _, j := range e1.jobs {
			if j.Container.Labels[LabelTrial] == tr.Ref().String() && !strings.HasSuffix(j.Container.Labels[LabelTrial], want) {
				t.Errorf("trial %s ran as %s", tr.Ref(), j.Container.Labels[LabelTrial])
			}
		}
	}
	slices.Sort(order)
	if !slices.Equal(order, []int{0, 1, 2}) {
		t.Errorf("reps %v, want 0 1 2 each once", order)
	}
}

// A subscriber that never returns does not delay a trial; what it missed
// is a warning on the run.
func TestStuckSubscriberNeverDelaysTrials(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	s := testSpec()
	s.Repeat = benchrig.Repeat{Min: 20, Max: 20}
	cfg := testConfig(constant(0, new([]string)), &memRecorder{})
	cfg.Subscribers = []Subscriber{{Name: "stuck", Buffer: 1, Handle: func(benchrig.Event) { <-stuck }}}
	// Subscribers get a grace period to drain at the end; a stuck one is
	// left behind when it ends.
	defer func(g time.Duration) { subscriberGrace = g }(subscriberGrace)
	subscriberGrace = 10 * time.Millisecond
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Trials) != 42 {
		t.Errorf("%d trials, want 42", len(run.Trials))
	}
	if len(run.Warnings) != 1 || !strings.Contains(run.Warnings[0], "subscriber stuck was too slow and missed") {
		t.Errorf("warnings = %q", run.Warnings)
	}
}

// Adaptive repetition lowers the total as cases stop early; done never
// exceeds it and they meet at the end.
func TestProgressWithAdaptiveRepeats(t *testing.T) {
	s := testSpec()
	s.Repeat = benchrig.Repeat{Min: 3, Max: 30, UntilCI: 0.5}
	log := &eventLog{t: t}
	cfg := testConfig(constant(time.Millisecond, new([]string)), &memRecorder{})
	cfg.Subscribers = []Subscriber{log.subscriber()}
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	first, last := log.events[0], log.events[len(log.events)-1]
	if first.Total != 2*(1+30) {
		t.Errorf("first total %d, want the upper bound 62", first.Total)
	}
	if last.Done != len(run.Trials) || last.Total != len(run.Trials) {
		t.Errorf("last event %d/%d, want %d/%d", last.Done, last.Total, len(run.Trials), len(run.Trials))
	}
}

// A resumed run keeps its ID and recorded trials and runs only the
// missing repetitions.
func TestResumeRunsOnlyMissingTrials(t *testing.T) {
	s := testSpec() // 2 cases x 4 trials
	rec := &memRecorder{}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	exec := &fakeExec{run: func(c context.Context, job Job) (benchrig.Measurement, error) {
		n++
		if n == 4 {
			cancel() // Ctrl-C during the fourth trial: it is discarded
			<-c.Done()
			return benchrig.Measurement{Start: time.Now(), ExitCode: -1, Error: benchrig.ReasonCancelled}, nil
		}
		return benchrig.Measurement{Start: time.Now(), Wall: time.Millisecond, Source: "fake"}, nil
	}}
	first, err := Run(ctx, testConfig(exec, rec), s)
	if benchrig.ErrorCode(err) != benchrig.ECancelled {
		t.Fatalf("err = %v, want cancelled", err)
	}
	if len(first.Trials) != 3 {
		t.Fatalf("%d trials before the interruption, want 3", len(first.Trials))
	}
	first.Trials = slices.Clone(rec.trials)
	cfg := testConfig(constant(time.Millisecond, new([]string)), rec)
	cfg.Resume = first
	log := &eventLog{t: t}
	cfg.Subscribers = []Subscriber{log.subscriber()}
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != first.ID || run.Status != benchrig.RunFinished {
		t.Errorf("resumed run %s %s, want %s finished", run.ID, run.Status, first.ID)
	}
	if len(rec.trials) != 8 || len(run.Trials) != 8 {
		t.Fatalf("store has %d trials, run %d; want 8", len(rec.trials), len(run.Trials))
	}
	seen := map[string]bool{}
	seqs := map[int]bool{}
	for _, tr := range rec.trials {
		key := fmt.Sprintf("%s#%d", tr.CaseID, tr.Index)
		if seen[key] || seqs[tr.Seq] {
			t.Errorf("trial %s (seq %d) recorded twice", key, tr.Seq)
		}
		seen[key], seqs[tr.Seq] = true, true
	}
	if k := log.kinds(); k[benchrig.EventTrialFinished] != 5 || k[benchrig.EventTrialPlanned] != 5 {
		t.Errorf("resume events %v, want 5 planned and finished", k)
	}
}

func TestResumeRefusesOtherCases(t *testing.T) {
	s := testSpec()
	old := &benchrig.Run{ID: "x", Cases: benchrig.Matrix([]benchrig.Param{{Name: "impl", Values: []string{"a", "c"}}})}
	cfg := testConfig(constant(0, new([]string)), &memRecorder{})
	cfg.Resume = old
	_, err := Prepare(context.Background(), cfg, s)
	if benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), "no longer planned: impl=c") {
		t.Errorf("err = %v", err)
	}
}

// The pre-check finds a program on the PATH the spec's env sets, as the
// executor will when it runs it.
func TestProgramLookedUpOnTheSpecsPath(t *testing.T) {
	dir := t.TempDir()
	tool := filepath.Join(dir, "mytool")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := testSpec()
	s.Command = benchrig.Command{Argv: []string{"mytool"}}
	s.Env = map[string]string{"PATH": dir + ":/usr/bin:/bin"}
	s.Requires = []benchrig.Requirement{{Program: "mytool"}}
	var calls []string
	run, err := Run(context.Background(), testConfig(constant(0, &calls), &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Skipped) != 0 || len(calls) != 8 {
		t.Errorf("skipped %v, %d calls", run.Skipped, len(calls))
	}
}

// warningNodes is a Discoverer that also has warnings to pass on.
type warningNodes struct {
	fakeNodes
	mu       sync.Mutex
	warnings []string
}

func (w *warningNodes) Warnings() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.warnings
	w.warnings = nil
	return out
}

// What node discovery reports (a node left out) becomes a warning on the
// run, in its event log too; so does a failed cleanup.
func TestDiscoveryAndCleanupErrorsAreWarnings(t *testing.T) {
	n1, e1 := fakeNode("lab1", "amd64", false, nil)
	e1.run = func(ctx context.Context, job Job, n int) (benchrig.Measurement, error) {
		if job.Container.Labels[LabelTrial] == "cleanup" {
			return benchrig.Measurement{}, &benchrig.Error{Code: benchrig.EInvalid, Msg: "node lab1: image gone"}
		}
		return benchrig.Measurement{Start: time.Now(), Wall: time.Millisecond}, nil
	}
	nodes := &warningNodes{fakeNodes: fakeNodes{nodes: []*Node{n1}}, warnings: []string{"node lab2 (tcp://x) left out: connection refused"}}
	s := containerSpec()
	s.Params = nil
	s.Command = benchrig.Command{Argv: []string{"true"}}
	s.Cleanup = &benchrig.Command{Argv: []string{"rm", "-f", "x"}}
	rec := &memRecorder{}
	run, err := Run(context.Background(), nodeConfig(nodes, rec), s)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"node lab2 (tcp://x) left out: connection refused", "cleanup of case node=lab1: node lab1: image gone"}
	if !slices.Equal(run.Warnings, want) {
		t.Errorf("warnings %q\nwant %q", run.Warnings, want)
	}
	var logged []string
	for _, e := range rec.events {
		if e.Kind == benchrig.EventWarning {
			logged = append(logged, e.Msg)
		}
	}
	if !slices.Equal(logged, want) {
		t.Errorf("warning events %q, want %q", logged, want)
	}
}

// digestOf is the stdout digest a fake executor reports for out.
func digestOf(out string) *benchrig.OutputDigest {
	lines, blank := int64(0), int64(0)
	for _, l := range strings.SplitAfter(out, "\n") {
		if l == "" {
			continue
		}
		lines++
		if strings.TrimSpace(l) == "" {
			blank++
		}
	}
	return &benchrig.OutputDigest{Bytes: int64(len(out)), Lines: lines, BlankLines: blank, SHA256: fmt.Sprintf("%x", out), Head: []byte(out)}
}

// Output checks decide the outcome: a fast wrong answer is a failed trial
// with its reason; an exit code the spec allows is a success; cases that
// must agree and do not are wrong output.
func TestExpectDecidesOutcomes(t *testing.T) {
	s := testSpec()
	s.Params = []benchrig.Param{{Name: "impl", Values: []string{"good", "blank", "exit1", "differs"}}}
	s.Warmup = 0
	s.Repeat = benchrig.Repeat{Min: 2, Max: 2}
	s.Expect = &benchrig.Expect{Exit: []int{0, 1}, Stdout: benchrig.StdoutExpect{NonEmpty: true, Lines: "1"}, Agree: &benchrig.Agree{}}
	var digested []bool
	var mu sync.Mutex
	exec := &fakeExec{run: func(_ context.Context, job Job) (benchrig.Measurement, error) {
		mu.Lock()
		digested = append(digested, job.DigestStdout)
		mu.Unlock()
		m := benchrig.Measurement{Start: time.Now(), Wall: time.Millisecond, Source: "fake"}
		switch job.Argv[1] {
		case "good":
			m.Stdout = digestOf("42\n")
		case "blank":
			m.Stdout = digestOf(" \n")
		case "exit1":
			m.ExitCode, m.Stdout = 1, digestOf("42\n")
		case "differs":
			m.Stdout = digestOf("41\n")
		}
		return m, nil
	}}
	run, err := Run(context.Background(), testConfig(exec, &memRecorder{}), s)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]benchrig.Outcome{
		"impl=good": benchrig.OutcomeOK, "impl=blank": benchrig.OutcomeWrongOutput,
		"impl=exit1": benchrig.OutcomeOK, "impl=differs": benchrig.OutcomeWrongOutput,
	}
	for _, tr := range run.Trials {
		if tr.Outcome != want[tr.CaseID] {
			t.Errorf("%s: outcome %s (%s), want %s", tr.Ref(), tr.Outcome, tr.Reason, want[tr.CaseID])
		}
		if tr.Outcome == benchrig.OutcomeWrongOutput && tr.Reason == "" {
			t.Errorf("%s: wrong output without a reason", tr.Ref())
		}
	}
	for _, d := range digested {
		if !d {
			t.Fatal("a job did not ask for the stdout digest its checks need")
		}
	}
	if run.Status != benchrig.RunFailed {
		t.Errorf("status %s, want failed", run.Status)
	}
}

// prepare runs before every trial, warmups included, outside the timed
// interval; one that fails fails its trial with the reason.
func TestPrepareRunsBeforeEveryTrial(t *testing.T) {
	s := testSpec() // 2 cases x (1 warmup + 3)
	s.Prepare = &benchrig.Command{Argv: []string{"/bin/prep", "{{.impl}}"}}
	var mu sync.Mutex
	var calls []string
	exec := &fakeExec{run: func(_ context.Context, job Job) (benchrig.Measurement, error) {
		mu.Lock()
		calls = append(calls, strings.Join(job.Argv, " "))
		n := len(calls)
		mu.Unlock()
		if job.Argv[0] == "/bin/prep" && job.Argv[1] == "b" && n > 8 {
			return benchrig.Measurement{Start: time.Now(), ExitCode: 3, StderrTail: "no space left\n"}, nil
		}
		return benchrig.Measurement{Start: time.Now(), Wall: time.Millisecond}, nil
	}}
	cfg := testConfig(exec, &memRecorder{})
	cfg.LookPath = func(name string, _ []string) (string, error) { return name, nil }
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(calls); i += 2 {
		if !strings.HasPrefix(calls[i], "/bin/prep ") || strings.TrimPrefix(calls[i], "/bin/prep ") != strings.TrimPrefix(calls[i+1], "/bin/echo ") {
			if strings.HasPrefix(calls[i], "/bin/prep b") {
				break // b's prepare fails from here on: no trial follows it
			}
			t.Fatalf("calls %q: want each trial right after its case's prepare", calls)
		}
	}
	failed := 0
	for _, tr := range run.Trials {
		if tr.Failed() {
			failed++
			if tr.CaseID != "impl=b" || !strings.Contains(tr.Error, "prepare failed (exit status 3): no space left") {
				t.Errorf("trial %s failed with %q", tr.Ref(), tr.Error)
			}
		}
	}
	if len(run.Trials) != 8 || failed == 0 {
		t.Errorf("%d trials, %d failed; want 8 with b's later ones failed by prepare", len(run.Trials), failed)
	}
}

// Trials are numbered as people count them, the same way whatever the
// warmup count: warmup 1..W, then trial 1..N, on every event of a trial.
func TestEventsNumberTrialsFromOne(t *testing.T) {
	for _, tc := range []struct {
		name    string
		warmups int
	}{
		{"no warmup", 0},
		{"one warmup", 1},
		{"three warmups", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec() // 3 measured trials per case
			s.Warmup = tc.warmups
			log := &eventLog{t: t}
			cfg := testConfig(constant(time.Millisecond, new([]string)), &memRecorder{})
			cfg.Subscribers = []Subscriber{log.subscriber()}
			if _, err := Run(context.Background(), cfg, s); err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{} // case -> finished trials in rep order
			for _, e := range log.events {
				if e.Trial == nil {
					continue
				}
				if want := benchrig.TrialNumber(e.Trial.Rep, tc.warmups); e.Number != want || e.Warmup != (e.Trial.Rep < tc.warmups) {
					t.Errorf("%s %s: number %d warmup %v, want %d %v", e.Kind, e.Trial, e.Number, e.Warmup, want, e.Trial.Rep < tc.warmups)
				}
				if e.Kind == benchrig.EventTrialFinished {
					kind := "trial"
					if e.Warmup {
						kind = "warmup"
					}
					got[e.Trial.Case] = append(got[e.Trial.Case], fmt.Sprintf("%s %d", kind, e.Number))
				}
			}
			var want []string
			for i := range tc.warmups {
				want = append(want, fmt.Sprintf("warmup %d", i+1))
			}
			want = append(want, "trial 1", "trial 2", "trial 3")
			if len(got) == 0 {
				t.Fatal("no trial finished")
			}
			for c, g := range got {
				if !slices.Equal(g, want) {
					t.Errorf("case %s: %v, want %v", c, g, want)
				}
			}
		})
	}
}
