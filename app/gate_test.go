package app

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
	"github.com/benchrig/benchrig/runner/local"
	"github.com/benchrig/benchrig/sqlite"
)

// The gate is tested with the local executor and real commands: each case
// sleeps for the seconds its delay file holds, so a test makes a case
// slower by writing its file, between runs or while one ends, and the
// case IDs stay the same. Ratios are compared within a test's own runs,
// never with a machine's speed: the slow case sleeps three times as long.

// gateSpecSrc has 10 trials a case: with 6, Moses' interval is the 6th to
// the 31st of the 36 pairwise ratios, so one trial stalled by CI's load
// (a 0.5 s sleep of 0.03 s) gives 6 extreme ratios and takes a clear 2.7x
// slowdown's interval down to 0.18x; with 10 it takes three.
const gateSpecSrc = `name: gate-test
command: 'sleep $(cat delay-{{.which}})'
params:
  which: [a, b]
repeat: 10
warmup: 0
`

const (
	fast = "0.03"
	slow = "0.09"
)

type gateWorld struct {
	a    *App
	db   *sqlite.DB
	dir  string
	spec string
}

func newGateWorld(t *testing.T) *gateWorld {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := &App{Store: db, Environ: os.Environ(),
		Executors: map[string]func(bool) Executor{"local": func(bool) Executor { return local.New(local.Config{Cgroups: local.Off}) }}}
	w := &gateWorld{a: a, db: db, dir: dir, spec: filepath.Join(dir, "spec.yaml")}
	if err := os.WriteFile(w.spec, []byte(gateSpecSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	w.delay(t, "a", fast)
	w.delay(t, "b", fast)
	return w
}

// delay sets how long case which=<c> sleeps.
func (w *gateWorld) delay(t *testing.T, c, seconds string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, "delay-"+c), []byte(seconds), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w *gateWorld) req(g *benchrig.GateRequest, labels map[string]string) benchrig.RunRequest {
	return benchrig.RunRequest{SpecFile: w.spec, Dir: w.dir, Gate: g, Labels: labels}
}

// run runs req to its end through the lifecycle every front end uses.
func (w *gateWorld) run(t *testing.T, req benchrig.RunRequest, mod func(*Pending), subs ...runner.Subscriber) *benchrig.Run {
	t.Helper()
	ctx := context.Background()
	p, err := w.a.Prepare(ctx, req, subs...)
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(p)
	}
	h, err := w.a.Start(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	run, err := h.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// events collects what a subscriber is given.
type events struct {
	mu  sync.Mutex
	evs []benchrig.Event
}

func (e *events) sub(name string) runner.Subscriber {
	return runner.Subscriber{Name: name, Handle: func(ev benchrig.Event) {
		e.mu.Lock()
		e.evs = append(e.evs, ev)
		e.mu.Unlock()
	}}
}

func (e *events) all() []benchrig.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.evs)
}

func gateMsgs(evs []benchrig.Event) []string {
	var out []string
	for _, e := range evs {
		if e.Kind == benchrig.EventGate {
			out = append(out, e.Msg)
		}
	}
	return out
}

func caseGate(t *testing.T, g *benchrig.GateResult, id string) benchrig.CaseGate {
	t.Helper()
	for _, c := range g.Cases {
		if c.Case == id {
			return c
		}
	}
	t.Fatalf("gate result has no case %s: %+v", id, g.Cases)
	return benchrig.CaseGate{}
}

// checkRecorded checks that run's gate is stored, and that its events end
// with the gate's: the summary last, after run-finished, numbered on.
func checkRecorded(t *testing.T, w *gateWorld, run *benchrig.Run) []benchrig.Event {
	t.Helper()
	ctx := context.Background()
	stored, err := w.db.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Gate == nil || stored.Gate.Verdict != run.Gate.Verdict || stored.Gate.Summary != run.Gate.Summary {
		t.Errorf("stored gate %+v, want the one Wait returned %+v", stored.Gate, run.Gate)
	}
	evs, err := w.db.Events(ctx, run.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Kind != benchrig.EventGate || last.Msg != run.Gate.Summary {
		t.Errorf("last event %s %q, want the gate's summary %q", last.Kind, last.Msg, run.Gate.Summary)
	}
	fin := slices.IndexFunc(evs, func(e benchrig.Event) bool { return e.Kind == benchrig.EventRunFinished })
	first := slices.IndexFunc(evs, func(e benchrig.Event) bool { return e.Kind == benchrig.EventGate })
	if fin < 0 || first < fin {
		t.Errorf("gate events before run-finished: %v", evs)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: %+v", i, e.Seq, evs)
		}
	}
	return evs
}

// A/A: the same commands, the same host: the gate passes, and says so in
// the run's events and its subscribers'.
func TestGateSameCommandsPass(t *testing.T) {
	w := newGateWorld(t)
	base := w.run(t, w.req(nil, nil), nil)
	if base.Gate != nil {
		t.Errorf("a run without a gate request has Gate %+v", base.Gate)
	}
	var seen events
	// 25%, not the default 5%, and a baseline CV up to 50%: the commands
	// mostly sleep, but starting them takes a few ms that other work on a
	// shared test machine stretches, from one run to the next. What the
	// gate's false alarms are at 5% is measured on quiet machines (bench/).
	run := w.run(t, w.req(&benchrig.GateRequest{Baseline: "last", MaxRegression: 0.25, MaxBaselineCV: 0.5}, nil), nil, seen.sub("progress"))
	g := run.Gate
	if g == nil {
		t.Fatal("Wait returned no gate result")
	}
	if !g.Passed || g.Verdict == benchrig.VerdictRegression || g.BaselineRun != base.ID {
		t.Fatalf("A/A: verdict %s, passed %v, baseline %s; want a pass against %s\n%+v", g.Verdict, g.Passed, g.BaselineRun, base.ID, g)
	}
	t.Log(g.Summary)
	evs := checkRecorded(t, w, run)
	if got, want := gateMsgs(seen.all()), gateMsgs(evs); !slices.Equal(got, want) {
		t.Errorf("the subscriber got gate events %q, the store has %q", got, want)
	}
}

// A case made three times slower is suspected, re-run alone in a
// confirmation run that carries the label, and confirmed; the other case
// passes. A baseline query for "last" then never picks the confirmation
// run, though it is the newest.
func TestGateConfirmsARegression(t *testing.T) {
	w := newGateWorld(t)
	ctx := context.Background()
	base := w.run(t, w.req(nil, nil), nil)
	w.delay(t, "a", slow)
	var seen, conf events
	// A baseline CV up to 50%: a loaded test machine must not make the
	// case inconclusive; three times slower is far outside that noise.
	run := w.run(t, w.req(&benchrig.GateRequest{Baseline: "last", MaxBaselineCV: 0.5}, nil), func(p *Pending) {
		p.ConfirmSubscribers = []runner.Subscriber{conf.sub("confirmation progress")}
	}, seen.sub("progress"))
	g := run.Gate
	if g == nil {
		t.Fatal("Wait returned no gate result")
	}
	if g.Passed || g.Verdict != benchrig.VerdictRegression || g.BaselineRun != base.ID {
		t.Fatalf("verdict %s, passed %v, baseline %s; want a regression against %s\n%+v", g.Verdict, g.Passed, g.BaselineRun, base.ID, g.Cases)
	}
	a := caseGate(t, g, "which=a")
	if !a.Suspected || a.Verdict != benchrig.VerdictRegression || a.Confirmation == nil || !a.Confirmation.Held {
		t.Fatalf("which=a: %+v, want suspected, then confirmed on the pooled evidence", a)
	}
	if c := a.Confirmation; c.Run != g.ConfirmationRun || c.Node != "local" || c.Where != "this host: the local executor has one" || c.N != 10 {
		t.Errorf("which=a's confirmation %+v, want 10 trials of run %s on this host", c, g.ConfirmationRun)
	}
	if g.ConfirmTime <= 0 {
		t.Errorf("confirm time %v, want the confirmation's wall time", g.ConfirmTime)
	}
	cr, err := w.db.GetRun(ctx, g.ConfirmationRun)
	if err != nil {
		t.Fatal(err)
	}
	var suspects, cases []string
	for _, c := range g.Cases {
		if c.Suspected {
			suspects = append(suspects, c.Case)
		}
	}
	for _, c := range cr.Cases {
		cases = append(cases, c.ID)
	}
	if !slices.Equal(cases, suspects) || !slices.Contains(cases, "which=a") {
		t.Errorf("the confirmation run's cases %v, want the suspects %v (which=a among them)", cases, suspects)
	}
	if cr.Labels[benchrig.LabelConfirms] != run.ID || cr.Gate != nil || cr.Request.Gate != nil {
		t.Errorf("confirmation run: labels %v, gate %+v, request gate %+v; want labelled %s=%s and not gated", cr.Labels, cr.Gate, cr.Request.Gate, benchrig.LabelConfirms, run.ID)
	}
	for _, tr := range cr.Trials {
		if !slices.Contains(suspects, tr.CaseID) {
			t.Errorf("the confirmation ran trial %s of a case not suspected", tr.CaseID)
		}
	}
	evs := checkRecorded(t, w, run)
	msgs := gateMsgs(evs)
	t.Logf("%q", msgs)
	if len(msgs) != 2 || !strings.HasPrefix(msgs[0], "confirming ") || !strings.Contains(msgs[0], "which=a") ||
		!strings.Contains(msgs[0], "on this host: the local executor has one, as run "+cr.ID) {
		t.Errorf("gate events %q, want the confirmation named, then the summary", msgs)
	}
	if got := gateMsgs(seen.all()); !slices.Equal(got, msgs) {
		t.Errorf("the run's subscriber got gate events %q, want %q", got, msgs)
	}
	ce := conf.all()
	if len(ce) == 0 || ce[0].Run != cr.ID || ce[len(ce)-1].Kind != benchrig.EventRunFinished {
		t.Errorf("the confirmation's subscriber got %d events, want the confirmation run's", len(ce))
	}

	// The next run's "last" is the judged run, not its newer confirmation.
	w.delay(t, "a", fast)
	next := w.run(t, w.req(&benchrig.GateRequest{Baseline: "last"}, nil), nil)
	if next.Gate.BaselineRun != run.ID {
		t.Errorf("last = %s, want %s: a confirmation run (%s) is no baseline", next.Gate.BaselineRun, run.ID, cr.ID)
	}
}

// A slowdown that does not happen again is not confirmed: the gate
// passes. The candidate's case a is slow; once the candidate's trials
// are over (its run-finished event) it is fast again for the re-run.
func TestGateDoesNotConfirmATransientSlowdown(t *testing.T) {
	w := newGateWorld(t)
	w.run(t, w.req(nil, nil), nil)
	w.delay(t, "a", slow)
	recovers := runner.Subscriber{Name: "recovers", Handle: func(e benchrig.Event) {
		if e.Kind == benchrig.EventRunFinished {
			if err := os.WriteFile(filepath.Join(w.dir, "delay-a"), []byte(fast), 0o644); err != nil {
				t.Error(err)
			}
		}
	}}
	// Half the pooled trials are three times slower, half as fast as the
	// baseline: the pooled interval's low end is the fast half's top, a
	// few % above 1, so a 25% threshold keeps that noise from deciding.
	run := w.run(t, w.req(&benchrig.GateRequest{Baseline: "last", MaxRegression: 0.25, MaxBaselineCV: 0.5}, nil), nil, recovers)
	a := caseGate(t, run.Gate, "which=a")
	if !a.Suspected || a.Confirmation == nil || a.Confirmation.Held || a.Verdict == benchrig.VerdictRegression {
		t.Fatalf("which=a: %+v, want suspected, re-run and not confirmed", a)
	}
	t.Log(a.Reason)
	if !run.Gate.Passed || run.Gate.ConfirmationRun == "" {
		t.Errorf("gate %+v, want a pass after a confirmation run", run.Gate)
	}
	checkRecorded(t, w, run)
}

// label:k=v picks the latest finished run with those labels, where "last"
// picks the latest.
func TestGateBaselineByLabel(t *testing.T) {
	w := newGateWorld(t)
	main := w.run(t, w.req(nil, map[string]string{"branch": "main"}), nil)
	dev := w.run(t, w.req(nil, map[string]string{"branch": "dev"}), nil)
	run := w.run(t, w.req(&benchrig.GateRequest{Baseline: "label:branch=main", NoConfirm: true}, map[string]string{"branch": "dev"}), nil)
	if run.Gate.BaselineRun != main.ID || run.Gate.Baseline != "label:branch=main" {
		t.Errorf("label:branch=main resolved to %s (%s), want %s", run.Gate.BaselineRun, run.Gate.Baseline, main.ID)
	}
	last := w.run(t, w.req(&benchrig.GateRequest{Baseline: "last", NoConfirm: true}, nil), nil)
	if last.Gate.BaselineRun != run.ID {
		t.Errorf("last resolved to %s, want %s (dev was %s)", last.Gate.BaselineRun, run.ID, dev.ID)
	}
	// A run reference, and no run with the label: every case unjudged.
	byRef := w.run(t, w.req(&benchrig.GateRequest{Baseline: dev.ID, NoConfirm: true}, nil), nil)
	if byRef.Gate.BaselineRun != dev.ID {
		t.Errorf("baseline %s resolved to %s", dev.ID, byRef.Gate.BaselineRun)
	}
	none := w.run(t, w.req(&benchrig.GateRequest{Baseline: "label:branch=nope"}, nil), nil)
	if none.Gate.BaselineRun != "" || none.Gate.Verdict != benchrig.VerdictNoBaseline || !none.Gate.Passed {
		t.Errorf("no run labelled branch=nope: %+v, want no baseline (a pass)", none.Gate)
	}
}

// A bad gate request fails when the run is prepared, before anything is
// recorded or run.
func TestGateBadRequestFailsBeforeRunning(t *testing.T) {
	w := newGateWorld(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		g    benchrig.GateRequest
		want string
	}{
		{"no such run", benchrig.GateRequest{Baseline: "20990101-000000-abcd"}, "baseline 20990101-000000-abcd: no such run"},
		{"empty", benchrig.GateRequest{}, "baseline: empty"},
		{"label without a value", benchrig.GateRequest{Baseline: "label:branch"}, "want label:KEY=VALUE"},
		{"negative threshold", benchrig.GateRequest{Baseline: "last", MaxRegression: -0.1}, "max_regression: -0.1"},
		{"case threshold without match", benchrig.GateRequest{Baseline: "last", Cases: []benchrig.CaseThreshold{{MaxRegression: 0.1}}}, "cases[0].match: empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.a.Prepare(ctx, w.req(&tc.g, nil))
			if benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Prepare: %v, want EInvalid with %q", err, tc.want)
			}
		})
	}
	page, err := w.db.ListRuns(ctx, benchrig.RunFilter{})
	if err != nil || len(page.Runs) != 0 {
		t.Errorf("%d runs recorded (%v), want none", len(page.Runs), err)
	}
}

// A cancelled run is not judged; resumed, it is.
func TestGateCancelledRunNotJudgedResumedRunIs(t *testing.T) {
	w := newGateWorld(t)
	ctx := context.Background()
	w.run(t, w.req(nil, nil), nil)
	var h *Handle
	started := make(chan struct{})
	p, err := w.a.Prepare(ctx, w.req(&benchrig.GateRequest{Baseline: "last", NoConfirm: true}, nil),
		runner.Subscriber{Name: "cancel", Handle: func(e benchrig.Event) {
			if e.Kind == benchrig.EventTrialFinished {
				<-started
				h.Cancel()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	h, err = w.a.Start(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	close(started)
	run, err := h.Wait()
	if benchrig.ErrorCode(err) != benchrig.ECancelled || run.Gate != nil {
		t.Fatalf("cancelled run: err %v, gate %+v; want ECancelled and no gate", err, run.Gate)
	}
	evs, err := w.db.Events(ctx, run.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if msgs := gateMsgs(evs); len(msgs) != 0 {
		t.Errorf("a cancelled run has gate events %q", msgs)
	}
	rp, err := w.a.PrepareResume(ctx, run.ID, ResumeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rh, err := w.a.Start(ctx, rp)
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := rh.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Gate == nil {
		t.Fatal("the resumed run was not judged")
	}
	checkRecorded(t, w, resumed)
}

// A gated run submitted to a server's queue: its live feed ends with the
// gate's summary, after run-finished, and a bad baseline is refused at
// submit.
func TestQueueGatedRunFeedEndsWithTheGate(t *testing.T) {
	g := newGates()
	w := openWorld(t, t.TempDir(), g, nil, nil)
	ctx := context.Background()
	submit := func(gr *benchrig.GateRequest) (*benchrig.Run, error) {
		return w.q.Submit(ctx, benchrig.Submission{Spec: poolSpec("gated", 4, "a"), SpecName: "gated.yaml", By: "tester",
			Request: benchrig.RunRequest{Gate: gr}})
	}
	if _, err := submit(&benchrig.GateRequest{Baseline: "20990101-000000-abcd"}); benchrig.ErrorCode(err) != benchrig.EInvalid ||
		!strings.Contains(err.Error(), "no such run") {
		t.Fatalf("submit with a baseline that is no run: %v, want EInvalid", err)
	}
	base := w.submit(t, poolSpec("gated", 4, "a"))
	r, err := submit(&benchrig.GateRequest{Baseline: "last"})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := w.q.Watch(ctx, r.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.start(t)
	g.release(base.ID)
	g.release(r.ID)
	evs := drain(t, ch)
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: %+v", i, e.Seq, evs)
		}
	}
	n := len(evs)
	if n < 2 || evs[n-2].Kind != benchrig.EventRunFinished || evs[n-1].Kind != benchrig.EventGate {
		t.Fatalf("the feed ends %+v, want run-finished then the gate", evs[max(n-2, 0):])
	}
	got, err := w.db.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The fake nodes measure every trial alike: the same as the baseline.
	if got.Gate == nil || got.Gate.BaselineRun != base.ID || got.Gate.Verdict != benchrig.VerdictPass || evs[n-1].Msg != got.Gate.Summary {
		t.Errorf("gate %+v, last event %q; want a pass against %s, its summary last", got.Gate, evs[n-1].Msg, base.ID)
	}
}
