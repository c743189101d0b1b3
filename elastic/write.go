package elastic

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/stats"
)

// WriteSamples implements collect.Sink: one metrics document per sample,
// _id the sample's ID. It returns once the samples are queued or spooled.
func (s *Shipper) WriteSamples(ctx context.Context, samples []benchrig.Sample) error {
	items := make([]*item, 0, len(samples))
	for i := range samples {
		sm := &samples[i]
		d := s.sampleDoc(sm)
		it, err := newItem(IndexFor(MetricsPrefix, sm.Time), sm.ID(), d)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	return s.hand(items)
}

// WriteTrial writes one results document for a finished trial, _id from
// its reference.
func (s *Shipper) WriteTrial(ctx context.Context, run *benchrig.Run, t *benchrig.Trial) error {
	d := trialDoc(run, t)
	it, err := newItem(IndexFor(ResultsPrefix, d.Timestamp), "trial/"+t.Ref().String(), d)
	if err != nil {
		return err
	}
	return s.hand([]*item{it})
}

// WriteEvents writes events documents, _id run and sequence. run gives
// the cases' params; nil leaves them out (a subscriber that has no run).
func (s *Shipper) WriteEvents(ctx context.Context, run *benchrig.Run, events []benchrig.Event) error {
	params := caseParams(run)
	items := make([]*item, 0, len(events))
	for i := range events {
		e := &events[i]
		d := doc{
			Timestamp: e.Time.UTC(),
			Event:     &ecsEvent{Kind: "event", Action: e.Kind.String(), Dataset: "benchrig.events", Sequence: e.Seq, Duration: int64(e.Duration)},
			Message:   e.String(),
			Benchrig:  brFields{Doc: "event", Run: brRun{ID: e.Run}, Case: e.Case, Node: e.Node},
		}
		if e.Node != "" {
			d.Host = hostOf(run, e.Node)
		}
		if e.Outcome != nil {
			d.Event.Outcome = ecsOutcome(*e.Outcome)
		}
		if e.Trial != nil {
			d.Benchrig.Case = e.Trial.Case
			d.Benchrig.Trial = &brTrial{Ref: e.Trial.String(), Rep: e.Trial.Rep, Attempt: e.Trial.Attempt, Number: e.Number, Warmup: e.Warmup}
		}
		d.Benchrig.Params = params[d.Benchrig.Case]
		it, err := newItem(IndexFor(EventsPrefix, e.Time), "event/"+e.Run+"/"+strconv.FormatInt(e.Seq, 10), d)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	return s.hand(items)
}

// WriteRun writes, at the end of a run (run.Trials loaded), one run
// document and one document per case with its statistics over the
// measured, successful trials' wall times. They are state: each write
// replaces the last (a resumed run writes them again at its end).
func (s *Shipper) WriteRun(ctx context.Context, run *benchrig.Run) error {
	at := run.Started.UTC()
	var items []*item
	rd := doc{
		Timestamp: at,
		Event:     &ecsEvent{Kind: "state", Dataset: "benchrig.runs"},
		Benchrig:  brFields{Doc: "run", Run: runFields(run)},
	}
	if run.Collection != nil {
		sh := run.Collection.Shipping
		rd.Benchrig.Shipping = &sh
		rd.Benchrig.Costs = run.Collection.Collectors
	}
	it, err := newItem(IndexFor(ResultsPrefix, at), "run/"+run.ID, rd)
	if err != nil {
		return err
	}
	it.op = opIndex
	items = append(items, it)
	wall := map[string][]float64{}
	failed := map[string]int{}
	disturbed := map[string]int{}
	for i := range run.Trials {
		t := &run.Trials[i]
		if t.Excluded() {
			continue
		}
		if t.Failed() {
			failed[t.CaseID]++
			continue
		}
		wall[t.CaseID] = append(wall[t.CaseID], t.Wall.Seconds())
		if t.Noise != nil && t.Noise.Disturbed {
			disturbed[t.CaseID]++
		}
	}
	for _, c := range run.Cases {
		sum := stats.Summarize(wall[c.ID])
		st := &statsFields{
			N: sum.N, Failed: failed[c.ID], Median: sum.Median, Mean: sum.Mean, Stddev: sum.Stddev,
			Min: sum.Min, Max: sum.Max, CILow: sum.CILow, CIHigh: sum.CIHigh, CIMethod: sum.CIMethod,
			CV: sum.CV, Outliers: len(sum.Outliers), Bimodal: sum.Bimodal,
			Baseline: c.ID == run.BaselineID, Skipped: run.Skipped[c.ID], Note: run.Notes[c.ID],
			Disturbed: disturbed[c.ID],
		}
		d := doc{
			Timestamp: at,
			Event:     &ecsEvent{Kind: "state", Dataset: "benchrig.cases"},
			Benchrig:  brFields{Doc: "case", Run: brRun{ID: run.ID, Spec: run.SpecName}, Case: c.ID, Params: c.Map(), Stats: st},
		}
		it, err := newItem(IndexFor(ResultsPrefix, at), "case/"+run.ID+"/"+c.ID, d)
		if err != nil {
			return err
		}
		it.op = opIndex
		items = append(items, it)
	}
	return s.hand(items)
}

func runFields(run *benchrig.Run) brRun {
	r := brRun{ID: run.ID, Spec: run.SpecName, SpecHash: run.SpecHash, Status: string(run.Status),
		Trials: len(run.Trials), Cases: len(run.Cases), Warnings: run.Warnings}
	if !run.Started.IsZero() {
		t := run.Started.UTC()
		r.Started = &t
	}
	if !run.Finished.IsZero() {
		t := run.Finished.UTC()
		r.Finished = &t
	}
	return r
}

func trialDoc(run *benchrig.Run, t *benchrig.Trial) doc {
	at := t.Start
	if at.IsZero() && run != nil {
		at = run.Started
	}
	ref := t.Ref()
	d := doc{
		Timestamp: at.UTC(),
		Event: &ecsEvent{Kind: "event", Action: "trial", Dataset: "benchrig.trials",
			Outcome: ecsOutcome(t.Result()), Duration: int64(t.Wall)},
		Benchrig: brFields{
			Doc: "trial-result", Run: brRun{ID: t.RunID}, Case: t.CaseID, Node: t.Node,
			Trial: &brTrial{Ref: ref.String(), Rep: ref.Rep, Attempt: ref.Attempt, Number: t.Number, Warmup: t.Warmup},
			Result: &trialFields{
				Outcome: t.Result().String(), Reason: t.Why(), Wall: t.Wall, User: t.User, Sys: t.Sys,
				CPU: t.User + t.Sys, MaxRSS: t.MaxRSS, ExitCode: t.ExitCode,
				StdoutBytes: t.StdoutBytes, StderrBytes: t.StderrBytes, Source: t.Source, Seq: t.Seq,
			},
			Noise:   t.Noise,
			Metrics: t.Metrics,
		},
	}
	if run != nil {
		d.Benchrig.Run.Spec = run.SpecName
		d.Benchrig.Params = caseParams(run)[t.CaseID]
	}
	if t.Node != "" {
		d.Host = hostOf(run, t.Node)
	}
	return d
}

// hostOf is the ECS host of a benchrig node: the local executor's node
// "local" is the run's own host, by its name; a pool node is named as in
// the pools file, with the architecture its trials ran as.
func hostOf(run *benchrig.Run, node string) *ecsHost {
	h := &ecsHost{Name: node}
	if run == nil {
		return h
	}
	if node == "local" {
		if run.Fingerprint.Hostname != "" {
			h.Name = run.Fingerprint.Hostname
		}
		h.Architecture = run.Fingerprint.Arch
		return h
	}
	for _, n := range run.Nodes {
		if n.Name == node {
			h.Architecture = n.Arch
		}
	}
	return h
}

func caseParams(run *benchrig.Run) map[string]map[string]string {
	if run == nil {
		return nil
	}
	m := make(map[string]map[string]string, len(run.Cases))
	for _, c := range run.Cases {
		m[c.ID] = c.Map()
	}
	return m
}

func ecsOutcome(o benchrig.Outcome) string {
	switch o {
	case benchrig.OutcomeOK:
		return "success"
	case benchrig.OutcomeUnknown:
		return "unknown"
	}
	return "failure"
}

func (s *Shipper) sampleDoc(sm *benchrig.Sample) doc {
	d := doc{
		Timestamp: sm.Time.UTC(),
		Host:      &ecsHost{Name: sm.Node, Architecture: sm.Arch},
		Event:     &ecsEvent{Kind: "metric", Dataset: "benchrig." + sm.Kind.String()},
		Benchrig: brFields{
			Doc: sm.Kind.String(), Run: brRun{ID: sm.Run}, Node: sm.Node, Params: sm.Params,
			Seq: sm.Seq, Final: sm.Final, Cgroup: sm.Cgroup, Error: sm.Error,
		},
	}
	if sm.Trial != nil {
		d.Benchrig.Case = sm.Trial.Case
		d.Benchrig.Trial = &brTrial{Ref: sm.Trial.String(), Rep: sm.Trial.Rep, Attempt: sm.Trial.Attempt}
	}
	if sm.ContainerID != "" || sm.ContainerName != "" {
		d.Container = &ecsContainer{ID: sm.ContainerID, Name: sm.ContainerName}
	}
	if sm.Collector != nil {
		cc := sm.Collector.CollectorCost
		d.Benchrig.Collector = &cc
	}
	if h := sm.Host; h != nil {
		d.Benchrig.HostM = &hostFields{HostSample: *h, GPUs: sm.GPUs}
	}
	s.rates.apply(sm, &d)
	return d
}

func newItem(index, id string, d doc) (*item, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: encode %s: %w", id, err)
	}
	return &item{index: index, id: docID(id), body: b}, nil
}

// rates turns cumulative counters into rates between a target's
// consecutive samples: cores a trial used, the host's busy share. It keeps
// one entry per live target (removed at its Final sample, and all dropped
// past maxRateTargets, so memory stays bounded).
type rates struct {
	mu   sync.Mutex
	last map[string]rateMark
	cpus map[string]int // node -> CPUs, from host samples
}

type rateMark struct {
	at         time.Time
	cpu        time.Duration // trial: cgroup CPU; host: busy
	hostTotal  time.Duration
	haveCgroup bool
}

const maxRateTargets = 10000

func newRates() rates { return rates{last: map[string]rateMark{}, cpus: map[string]int{}} }

func (r *rates) apply(sm *benchrig.Sample, d *doc) {
	key := sm.Run + "/" + sm.Node + "/" + sm.Kind.String()
	if sm.Trial != nil {
		key += "/" + sm.Trial.String()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.last) > maxRateTargets {
		clear(r.last)
	}
	prev, ok := r.last[key]
	switch {
	case sm.Host != nil:
		h := sm.Host
		r.cpus[sm.Node] = h.CPUs
		busy := h.CPUTotal - h.CPUIdle - h.CPUIOWait
		if ok && h.CPUTotal > prev.hostTotal {
			v := float64(busy-prev.cpu) / float64(h.CPUTotal-prev.hostTotal)
			d.Benchrig.HostM.CPUBusy = &v
		}
		r.last[key] = rateMark{at: sm.Time, cpu: busy, hostTotal: h.CPUTotal}
	case sm.Cgroup != nil && sm.Cgroup.CPU != nil:
		cpu := *sm.Cgroup.CPU
		if ok && prev.haveCgroup && sm.Time.After(prev.at) && cpu >= prev.cpu {
			cores := float64(cpu-prev.cpu) / float64(sm.Time.Sub(prev.at))
			d.Benchrig.CPUCores = &cores
			if n := r.cpus[sm.Node]; n > 0 && d.Container != nil {
				u := cores / float64(n)
				d.Container.CPU = &ecsCPU{Usage: &u}
			}
		}
		r.last[key] = rateMark{at: sm.Time, cpu: cpu, haveCgroup: true}
	}
	if sm.Final {
		delete(r.last, key)
	}
}
