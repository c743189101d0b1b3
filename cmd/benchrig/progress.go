package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
)

// progress shows the runner's events on stderr: a redrawn bar with an ETA
// on a terminal, one plain line per trial otherwise (CI logs, pipes).
type progress struct {
	w        io.Writer
	tty      bool
	quiet    bool
	start    time.Time
	drawn    bool
	lastDraw time.Time
}

func newProgress(w io.Writer, tty, quiet bool) *progress {
	return &progress{w: w, tty: tty, quiet: quiet, start: time.Now()}
}

func (p *progress) observe(e runner.Event) {
	if p.quiet {
		return
	}
	switch e.Kind {
	case runner.Note:
		p.clear()
		fmt.Fprintf(p.w, "note: case %s: %s\n", e.Case.ID, e.Msg)
	case runner.TrialStarted:
		if p.tty {
			p.draw(e, false)
		}
	case runner.TrialDone:
		if p.tty {
			p.draw(e, true)
			return
		}
		fmt.Fprintf(p.w, "[%d/%d] %s %s\n", e.Done, e.Total, e.Case.ID, trialText(e.Trial))
	}
}

func trialText(t *benchrig.Trial) string {
	kind := "trial"
	if t.Warmup {
		kind = "warmup"
	}
	s := fmt.Sprintf("%s %d: %s", kind, t.Index, fmtDur(t.Wall))
	switch {
	case t.Error != "":
		s += " (" + t.Error + ")"
	case t.ExitCode != 0:
		s += fmt.Sprintf(" (exit %d)", t.ExitCode)
	}
	return s
}

func (p *progress) draw(e runner.Event, force bool) {
	now := time.Now()
	if !force && now.Sub(p.lastDraw) < 100*time.Millisecond {
		return
	}
	p.lastDraw = now
	const width = 30
	frac := 0.0
	if e.Total > 0 {
		frac = float64(e.Done) / float64(e.Total)
	}
	filled := int(frac * width)
	eta := "--:--"
	if e.Done > 0 {
		elapsed := now.Sub(p.start)
		left := time.Duration(float64(elapsed) / float64(e.Done) * float64(e.Total-e.Done))
		eta = fmtClock(left)
	}
	name := ""
	if e.Case != nil {
		name = e.Case.ID
	}
	if len(name) > 40 {
		name = name[:37] + "..."
	}
	fmt.Fprintf(p.w, "\r\033[K[%s%s] %d/%d %3.0f%% ETA %s %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), e.Done, e.Total, frac*100, eta, name)
	p.drawn = true
}

func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
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

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.3fs", d.Seconds())
	}
}
