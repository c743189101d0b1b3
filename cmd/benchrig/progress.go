package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
)

// bar is a progress line redrawn in place on a terminal, shared by run
// and data.
type bar struct {
	w        io.Writer
	start    time.Time
	drawn    bool
	lastDraw time.Time
}

// due says whether to redraw now: at most every 100 ms, so a fast stream
// of events does not flood the terminal, unless force.
func (b *bar) due(force bool) bool {
	now := time.Now()
	if !force && now.Sub(b.lastDraw) < 100*time.Millisecond {
		return false
	}
	b.lastDraw = now
	return true
}

// gauge returns the bar's cells for the fraction frac done, and the time
// left at the pace so far ("--:--" before anything is done).
func (b *bar) gauge(frac float64) (cells, eta string) {
	const width = 30
	frac = min(max(frac, 0), 1)
	filled := int(frac * width)
	eta = "--:--"
	if frac > 0 {
		elapsed := time.Since(b.start)
		eta = fmtClock(time.Duration(float64(elapsed) / frac * (1 - frac)))
	}
	return strings.Repeat("#", filled) + strings.Repeat(".", width-filled), eta
}

// line replaces the drawn line with s.
func (b *bar) line(s string) {
	fmt.Fprint(b.w, "\r\033[K"+s)
	b.drawn = true
}

func (b *bar) clear() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
		b.drawn = false
	}
}

// progress shows the runner's events on stderr: a redrawn bar with an ETA
// on a terminal, one plain line per trial with an ETA otherwise (CI logs,
// pipes). Cases are named by the params that vary across the run's cases
// only (setCases), so a line says what differs.
type progress struct {
	bar
	tty   bool
	quiet bool

	mu     sync.Mutex // guards labels: set by the command, read by the event goroutine
	labels map[string]string
	// done0 is how many trials were recorded when the run (re)started: a
	// resumed run's earlier trials say nothing of this process's pace.
	done0 int
	// said holds the notes spelled out already: six cases skipped for one
	// missing program say it once. Only observe, on the bus's one
	// goroutine for this subscriber, touches it.
	said map[string]bool
}

// eta is the time left at this run's pace so far ("--:--" before its
// first trial).
func (p *progress) eta(done, total int) string {
	if done <= p.done0 || total <= 0 {
		return "--:--"
	}
	per := float64(time.Since(p.start)) / float64(done-p.done0)
	return fmtClock(time.Duration(per * float64(max(total-done, 0))))
}

// setCases names each case by the params whose values differ across
// cases ("threads=2" rather than "impl=gnu,threads=2,file=/data/x.log"
// when only threads varies). A run of one case keeps its full ID.
func (p *progress) setCases(cases []benchrig.Case) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.labels = caseLabels(cases)
}

func (p *progress) label(id string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l, ok := p.labels[id]; ok {
		return l
	}
	return id
}

// caseLabels maps each case ID to its params that vary across cases, in
// param order; nil when fewer than two cases.
func caseLabels(cases []benchrig.Case) map[string]string {
	if len(cases) < 2 {
		return nil
	}
	varies := map[string]bool{}
	first := cases[0].Map()
	for _, c := range cases[1:] {
		m := c.Map()
		for _, kv := range c.Params {
			if v, ok := first[kv.Name]; !ok || v != kv.Value {
				varies[kv.Name] = true
			}
		}
		for k := range first {
			if _, ok := m[k]; !ok {
				varies[k] = true
			}
		}
	}
	out := make(map[string]string, len(cases))
	for _, c := range cases {
		var kept []benchrig.KV
		for _, kv := range c.Params {
			if varies[kv.Name] {
				kept = append(kept, kv)
			}
		}
		if len(kept) == 0 {
			out[c.ID] = c.ID
			continue
		}
		out[c.ID] = benchrig.CaseID(kept)
	}
	return out
}

func newProgress(w io.Writer, tty, quiet bool) *progress {
	return &progress{bar: bar{w: w, start: time.Now()}, tty: tty, quiet: quiet}
}

// subscriber makes the progress display a run's event subscriber.
func (p *progress) subscriber() runner.Subscriber {
	return runner.Subscriber{Name: "progress", Handle: p.observe}
}

func (p *progress) observe(e benchrig.Event) {
	if p.quiet {
		return
	}
	switch e.Kind {
	case benchrig.EventRunStarted:
		// The ETA is the pace of the trials, not of what came before.
		p.start, p.done0 = time.Now(), e.Done
	case benchrig.EventNote:
		if adaptiveStop(e.Msg) {
			return // in the report's warnings, once
		}
		p.clear()
		if p.said[e.Msg] {
			fmt.Fprintf(p.w, "note: case %s: the same\n", p.label(e.Case))
			return
		}
		if p.said == nil {
			p.said = map[string]bool{}
		}
		p.said[e.Msg] = true
		fmt.Fprintf(p.w, "note: case %s: %s\n", p.label(e.Case), e.Msg)
	case benchrig.EventWarning:
		p.clear()
		fmt.Fprintf(p.w, "warning: %s\n", e.Msg)
	case benchrig.EventGate:
		// The gate at work after the run: a confirmation run, the verdict.
		p.clear()
		fmt.Fprintf(p.w, "gate: %s\n", e.Msg)
	case benchrig.EventNodeLost, benchrig.EventNodeDrained, benchrig.EventNodeJoined:
		p.clear()
		fmt.Fprintf(p.w, "%s\n", nodeEventText(e))
	case benchrig.EventTrialStarted:
		if p.tty {
			p.draw(e, false)
		}
	case benchrig.EventTrialFinished:
		if p.tty {
			p.draw(e, true)
			return
		}
		line := fmt.Sprintf("[%d/%d] %s %s", e.Done, e.Total, p.label(e.Trial.Case), trialText(e))
		if e.Total > 0 && e.Done < e.Total {
			line += ", ETA " + p.eta(e.Done, e.Total)
		}
		fmt.Fprintln(p.w, line)
	}
}

func nodeEventText(e benchrig.Event) string {
	s := "node " + e.Node
	switch e.Kind {
	case benchrig.EventNodeLost:
		s += " lost"
	case benchrig.EventNodeDrained:
		s += " left its pool"
	case benchrig.EventNodeJoined:
		s += " joined"
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

func trialText(e benchrig.Event) string {
	kind := "trial"
	switch {
	case e.Warmup:
		kind = "warmup"
	case e.Profiled:
		kind = "profiled trial"
	}
	n := e.Number
	if n == 0 {
		n = e.Trial.Rep
	}
	s := fmt.Sprintf("%s %d: %s", kind, n, benchrig.FormatDuration(e.Duration))
	if e.Outcome != nil && *e.Outcome != benchrig.OutcomeOK {
		s += " (" + e.Outcome.String()
		if e.Msg != "" && e.Msg != e.Outcome.String() {
			s += ": " + e.Msg
		}
		s += ")"
	}
	return s
}

func (p *progress) draw(e benchrig.Event, force bool) {
	if !p.due(force) {
		return
	}
	frac := 0.0
	if e.Total > 0 {
		frac = float64(e.Done) / float64(e.Total)
	}
	cells, _ := p.gauge(frac)
	eta := p.eta(e.Done, e.Total)
	name := ""
	if e.Trial != nil {
		name = p.label(e.Trial.Case)
	}
	if len(name) > 40 {
		name = name[:37] + "..."
	}
	p.line(fmt.Sprintf("[%s] %d/%d %3.0f%% ETA %s %s", cells, e.Done, e.Total, frac*100, eta, name))
}

func (p *progress) finish() {
	p.clear()
}

func fmtClock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
