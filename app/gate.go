package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/gate"
	"github.com/benchrig/benchrig/runner"
	"github.com/benchrig/benchrig/spec"
)

// The regression gate in the run lifecycle: a run whose request has Gate
// is judged when it ends, inside Handle.Wait, so that every front end
// (run, submit through a server's queue, resume) gates the same way and a
// server's per-pool slot stays held through the confirmation re-run.

// GateOptions are how Gate reports what it does.
type GateOptions struct {
	// OnEvent is given the judged run's own gate events (EventGate, seq
	// after its last) once they are recorded.
	OnEvent func(benchrig.Event)
	// Subscribers watch the confirmation run, if one is made.
	Subscribers []runner.Subscriber
}

// Gate judges the finished run against the baseline req names, re-runs
// suspected regressions once (a confirmation run of those cases), records
// the result on the run and returns it.
//
// The baseline is "last" (the latest finished run of the run's spec that
// started before it, on its pool when it used one), "label:k=v,..." (the
// same, carrying those labels), or a run reference; no run found for
// "last" or a label judges every case "no baseline", while a reference
// that names no run is EInvalid. The confirmation run re-runs the
// suspected cases only, interleaved as any run, each on another node of
// its node's class where the pool has one; it carries the label
// benchrig.LabelConfirms (the judged run's ID), so no baseline query
// ever picks it. A confirmation that cannot start leaves the suspects to
// gate.Confirm without new evidence, and says so in the run's events.
func (a *App) Gate(ctx context.Context, run *benchrig.Run, req benchrig.GateRequest, opts GateOptions) (*benchrig.GateResult, error) {
	if err := checkGateRequest(req); err != nil {
		return nil, err
	}
	baseline, err := a.resolveBaseline(ctx, run, req.Baseline)
	if err != nil {
		return nil, err
	}
	res := gate.Judge(baseline, run, req)
	if res == nil {
		return nil, benchrig.Errorf(benchrig.EInternal, "gate: run %s: the judge returned no result", run.ID)
	}
	if res.Run == "" {
		res.Run = run.ID
	}
	if res.Baseline == "" {
		res.Baseline = req.Baseline
	}
	ev := &gateEvents{a: a, runID: run.ID, on: opts.OnEvent}
	if suspects := gate.Suspects(res); len(suspects) > 0 && !req.NoConfirm {
		if err := a.confirm(ctx, run, baseline, res, req, suspects, opts, ev); err != nil {
			return nil, err
		}
	}
	bg := context.WithoutCancel(ctx) // the verdict is recorded even when ctx ends now
	if err := a.Store.SetGate(bg, run.ID, res); err != nil {
		return nil, fmt.Errorf("gate: record the verdict on run %s: %w", run.ID, err)
	}
	if err := ev.add(bg, res.Summary); err != nil {
		return nil, err
	}
	return res, nil
}

// confirm re-runs the suspected cases of res in a confirmation run and
// decides them (gate.Confirm) on the pooled evidence, filling in where
// each re-ran and what the re-run cost in wall time. A confirmation that
// was cancelled is ECancelled: the run is then not judged.
func (a *App) confirm(ctx context.Context, run, baseline *benchrig.Run, res *benchrig.GateResult, req benchrig.GateRequest, suspects []string, opts GateOptions, ev *gateEvents) error {
	start := a.now()
	ran := ranOn(run, suspects)
	what := fmt.Sprintf("confirming 1 suspected case (%s): re-running it", suspects[0])
	if len(suspects) > 1 {
		what = fmt.Sprintf("confirming %d suspected cases (%s): re-running them", len(suspects), strings.Join(suspects, ", "))
	}
	ca, p, err := a.prepareConfirmation(ctx, run, suspects, ran, opts.Subscribers)
	if err != nil {
		if e := ev.add(ctx, fmt.Sprintf("%s could not start, so the first evidence alone decides: %v", what, err)); e != nil {
			return e
		}
		gate.Confirm(res, baseline, run, nil, req)
		return nil
	}
	planned := map[string]string{}
	for _, c := range p.Cases() {
		planned[c.Case.ID] = c.Node
	}
	local := p.nodes == nil // the local executor: one node, this host
	var places []string
	for _, id := range suspects {
		if w := where(planned[id], ran[id], local); !slices.Contains(places, w) {
			places = append(places, w)
		}
	}
	msg := fmt.Sprintf("%s once, interleaved, on %s, as run %s", what, strings.Join(places, "; "), p.Run().ID)
	if err := ev.add(ctx, msg); err != nil {
		p.Close()
		return err
	}
	h, err := ca.Start(ctx, p)
	var conf *benchrig.Run
	if err == nil {
		conf, err = h.Wait()
	}
	switch {
	case benchrig.ErrorCode(err) == benchrig.ECancelled || ctx.Err() != nil:
		if e := ev.add(context.WithoutCancel(ctx), "the confirmation run was cancelled: the run is not judged"); e != nil {
			return e
		}
		return &benchrig.Error{Code: benchrig.ECancelled, Msg: "gate: the confirmation run was cancelled", Err: err}
	case conf == nil:
		if e := ev.add(ctx, fmt.Sprintf("the confirmation run could not run, so the first evidence alone decides: %v", err)); e != nil {
			return e
		}
		gate.Confirm(res, baseline, run, nil, req)
		return nil
	}
	gate.Confirm(res, baseline, run, conf, req)
	res.ConfirmationRun = conf.ID
	res.ConfirmTime = a.now().Sub(start)
	reran := ranOn(conf, suspects)
	for i := range res.Cases {
		c := res.Cases[i].Confirmation
		if c == nil {
			continue
		}
		if c.Run == "" {
			c.Run = conf.ID
		}
		c.Node = reran[res.Cases[i].Case]
		if c.Node == "" {
			c.Node = planned[res.Cases[i].Case]
		}
		c.Where = where(c.Node, ran[res.Cases[i].Case], local)
	}
	return nil
}

// prepareConfirmation plans the confirmation run of the suspected cases of
// run: its request again (the spec as recorded with it), the suspects
// only, each kept off the node it ran on, labelled as confirming run, not
// gated itself. Its results go to the store: a sink of the App's own
// (Results) serves one run, the judged one; the App returned, a copy of
// a without it, is the one to start it with.
func (a *App) prepareConfirmation(ctx context.Context, run *benchrig.Run, suspects []string, ran map[string]string, subs []runner.Subscriber) (*App, *Pending, error) {
	if run.Request == nil {
		return nil, nil, benchrig.Errorf(benchrig.EInvalid, "run %s was recorded without its request: it cannot be re-run", run.ID)
	}
	req := *run.Request
	req.Gate = nil
	req.Cases = slices.Clone(suspects)
	req.AvoidNodes = nil
	for id, node := range ran {
		if node != "" {
			if req.AvoidNodes == nil {
				req.AvoidNodes = map[string]string{}
			}
			req.AvoidNodes[id] = node
		}
	}
	req.Labels = maps.Clone(req.Labels)
	if req.Labels == nil {
		req.Labels = map[string]string{}
	}
	req.Labels[benchrig.LabelConfirms] = run.ID
	s, err := spec.Parse(run.SpecFile, run.SpecSource)
	if err != nil {
		return nil, nil, fmt.Errorf("the spec recorded with run %s: %w", run.ID, err)
	}
	ca := *a
	ca.Results, ca.ResultsName = nil, ""
	p, err := ca.prepare(ctx, "", req, s, nil, subs)
	if err != nil {
		return nil, nil, err
	}
	return &ca, p, nil
}

// ranOn is the node each of cases ran its measured trials on in run (the
// node most of them ran on, when a lost node moved the case).
func ranOn(run *benchrig.Run, cases []string) map[string]string {
	counts := map[string]map[string]int{}
	for _, t := range run.Trials {
		if t.Excluded() || !slices.Contains(cases, t.CaseID) || t.Node == "" {
			continue
		}
		if counts[t.CaseID] == nil {
			counts[t.CaseID] = map[string]int{}
		}
		counts[t.CaseID][t.Node]++
	}
	out := map[string]string{}
	for id, byNode := range counts {
		best := ""
		for _, n := range slices.Sorted(maps.Keys(byNode)) {
			if best == "" || byNode[n] > byNode[best] {
				best = n
			}
		}
		out[id] = best
	}
	return out
}

// where says in words where a case re-ran (node) after it ran on was.
func where(node, was string, local bool) string {
	switch {
	case local:
		return "this host: the local executor has one"
	case node == "":
		return "no node"
	case was == "" || node != was:
		if was == "" {
			return node
		}
		return fmt.Sprintf("%s, another node of %s's class", node, was)
	default:
		return fmt.Sprintf("%s again: the only node of its class", node)
	}
}

// resolveBaseline finds the run ref names for run: nil (and no error)
// when "last" or a label finds none.
func (a *App) resolveBaseline(ctx context.Context, run *benchrig.Run, ref string) (*benchrig.Run, error) {
	labels, byLabel, err := parseBaseline(ref)
	if err != nil {
		return nil, err
	}
	if ref != "last" && !byLabel {
		b, err := a.Store.GetRun(ctx, ref)
		if err != nil {
			return nil, baselineError(ref, err)
		}
		if b.ID == run.ID {
			return nil, &benchrig.Error{Code: benchrig.EInvalid, Field: "baseline",
				Msg: fmt.Sprintf("%s is run %s itself: name the run to compare it with", ref, run.ID)}
		}
		return b, nil
	}
	q := benchrig.BaselineQuery{Spec: run.SpecName, Before: run.Started, Exclude: run.ID, Pool: poolOf(run), Labels: labels}
	sum, err := a.Store.LatestFinished(ctx, q)
	if benchrig.ErrorCode(err) == benchrig.ENotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gate: baseline %s: %w", ref, err)
	}
	b, err := a.Store.GetRun(ctx, sum.ID)
	if err != nil {
		return nil, fmt.Errorf("gate: baseline %s: load run %s: %w", ref, sum.ID, err)
	}
	return b, nil
}

// poolOf is the pool a "last" baseline must have used: the run's, when it
// ran on node pools (the first, by name, of several); "" for a local run.
func poolOf(run *benchrig.Run) string {
	var pools []string
	for _, n := range run.Nodes {
		if n.Pool != "" {
			pools = append(pools, n.Pool)
		}
	}
	if len(pools) == 0 {
		return ""
	}
	return slices.Min(pools)
}

// parseBaseline reads the labels of a "label:k=v[,k=v...]" baseline.
func parseBaseline(ref string) (labels map[string]string, byLabel bool, err error) {
	rest, ok := strings.CutPrefix(ref, "label:")
	if !ok {
		return nil, false, nil
	}
	labels = map[string]string{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, true, &benchrig.Error{Code: benchrig.EInvalid, Field: "baseline",
				Msg: fmt.Sprintf("%q: want label:KEY=VALUE[,KEY=VALUE...], e.g. label:branch=main", ref)}
		}
		labels[k] = strings.TrimSpace(v)
	}
	return labels, true, nil
}

func baselineError(ref string, err error) error {
	switch benchrig.ErrorCode(err) {
	case benchrig.ENotFound:
		return &benchrig.Error{Code: benchrig.EInvalid, Msg: fmt.Sprintf("baseline %s: no such run", ref), Err: err}
	case benchrig.EInvalid: // ambiguous
		return &benchrig.Error{Code: benchrig.EInvalid, Msg: fmt.Sprintf("baseline %s", ref), Err: err}
	}
	return fmt.Errorf("gate: baseline %s: %w", ref, err)
}

// checkGateRequest refuses a gate request that cannot be applied, naming
// the field: every front end's (flags, a server's JSON) is checked here.
func checkGateRequest(g benchrig.GateRequest) error {
	var errs benchrig.Errors
	bad := func(field, format string, args ...any) {
		errs = append(errs, &benchrig.Error{Code: benchrig.EInvalid, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(g.Baseline) == "" {
		bad("baseline", "empty: want last, a run, or label:KEY=VALUE[,KEY=VALUE...]")
	} else if _, _, err := parseBaseline(g.Baseline); err != nil {
		var e *benchrig.Error
		errors.As(err, &e)
		errs = append(errs, e)
	}
	fraction := func(field string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			bad(field, "%v: want a fraction of 0 or more (0.05 is 5%%)", v)
		}
	}
	fraction("max_regression", g.MaxRegression)
	fraction("max_baseline_cv", g.MaxBaselineCV)
	for i, c := range g.Cases {
		field := fmt.Sprintf("cases[%d]", i)
		fraction(field+".max_regression", c.MaxRegression)
		if len(c.Match) == 0 {
			bad(field+".match", "empty: name the params of the cases the threshold is for")
		}
	}
	return errs.Err()
}

// checkGate refuses, before anything runs, a gate request that is bad or
// whose baseline run does not exist.
func (a *App) checkGate(ctx context.Context, g *benchrig.GateRequest) error {
	if g == nil {
		return nil
	}
	if err := checkGateRequest(*g); err != nil {
		return err
	}
	if _, byLabel, _ := parseBaseline(g.Baseline); byLabel || g.Baseline == "last" {
		return nil
	}
	if _, err := a.Store.GetRun(ctx, g.Baseline); err != nil {
		return baselineError(g.Baseline, err)
	}
	return nil
}

// gateEvents records a run's gate events after its last event.
type gateEvents struct {
	a     *App
	runID string
	on    func(benchrig.Event)
}

func (g *gateEvents) add(ctx context.Context, msg string) error {
	last, err := g.a.lastEvent(ctx, g.runID)
	if err != nil {
		return fmt.Errorf("gate: run %s: %w", g.runID, err)
	}
	e := benchrig.Event{Run: g.runID, Seq: last.Seq + 1, Time: g.a.now(), Kind: benchrig.EventGate, Msg: msg,
		Done: last.Done, Total: last.Total}
	if err := g.a.Store.AddEvents(ctx, []benchrig.Event{e}); err != nil {
		return fmt.Errorf("gate: run %s: record event: %w", g.runID, err)
	}
	if g.on != nil {
		g.on(e)
	}
	return nil
}

// lastEvent is the run's last recorded event (Seq 0 when none).
func (a *App) lastEvent(ctx context.Context, runID string) (benchrig.Event, error) {
	evs, err := a.Store.Events(ctx, runID, 0)
	if err != nil {
		return benchrig.Event{}, err
	}
	if len(evs) == 0 {
		return benchrig.Event{}, nil
	}
	return evs[len(evs)-1], nil
}
