package benchrig

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Outcome is how one trial ended. It is decided once, by the runner, when
// the trial is recorded; every reader (reports, exports, the store's
// filters, the CLI) uses it instead of reading error texts.
type Outcome int

const (
	// OutcomeUnknown is the zero value: not decided (a trial built by
	// hand). Trial.Result then judges by the exit code and error.
	OutcomeUnknown     Outcome = iota
	OutcomeOK                  // ran to an exit the spec counts as success and its output passed the spec's checks
	OutcomeFailed              // exited with another code, was killed by a signal, or could not start
	OutcomeTimeout             // killed at the spec's timeout
	OutcomeCancelled           // interrupted by Ctrl-C or a cancelled run; never a measurement
	OutcomeNodeLost            // its node was lost and no node of its class could take it
	OutcomeWrongOutput         // ran to exit 0 but its output failed the spec's expect checks
	OutcomeExecutor            // the command ran but the executor failed around it
)

var outcomeNames = [...]string{"unknown", "ok", "failed", "timeout", "cancelled", "node-lost", "wrong-output", "executor-error"}

func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// ParseOutcome is the inverse of Outcome.String.
func ParseOutcome(s string) (Outcome, error) {
	for i, n := range outcomeNames {
		if n == s {
			return Outcome(i), nil
		}
	}
	return 0, fmt.Errorf("unknown outcome %q", s)
}

func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

func (o *Outcome) UnmarshalText(b []byte) error {
	v, err := ParseOutcome(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// Reasons executors put in Measurement.Error for the two ways they stop a
// command themselves. Executors use these constants, and ClassifyMeasurement
// is the one place that reads them.
const (
	ReasonTimeout   = "timeout"
	ReasonCancelled = "cancelled"
)

// ClassifyMeasurement gives the outcome of what an executor measured,
// before any output check: ok, failed, timeout or cancelled.
func ClassifyMeasurement(m Measurement) Outcome {
	switch {
	case m.Error == ReasonCancelled:
		return OutcomeCancelled
	case m.Error == ReasonTimeout:
		return OutcomeTimeout
	case m.ExitCode != 0 || m.Error != "":
		return OutcomeFailed
	}
	return OutcomeOK
}

// TrialRef identifies one trial of a run. It is assigned when the trial is
// planned, before any executor starts it, and travels unchanged through
// container labels, events, samples and the store.
type TrialRef struct {
	Run  string `json:"run"`
	Case string `json:"case"`
	// Rep is the trial's place within its case, warmups first, from 0.
	Rep int `json:"rep"`
	// Attempt counts the times this repetition was started again after a
	// start that measured nothing (its node was lost mid-trial), from 0.
	Attempt int `json:"attempt"`
}

// String renders the reference as "RUN/CASE#REP" with ".ATTEMPT" when the
// attempt is not the first: short enough for a container label.
func (r TrialRef) String() string {
	s := r.Run + "/" + r.Case + "#" + strconv.Itoa(r.Rep)
	if r.Attempt > 0 {
		s += "." + strconv.Itoa(r.Attempt)
	}
	return s
}

// ParseTrialRef parses what String renders: "RUN/CASE#REP" or
// "RUN/CASE#REP.ATTEMPT" (a container's benchrig.trial label). A run ID has
// no "/", so the first "/" ends it; a case ID may hold "/" and "#", so the
// last "#" ends it. Anything else ("setup", "prepare") is EInvalid.
func ParseTrialRef(s string) (TrialRef, error) {
	run, rest, ok := strings.Cut(s, "/")
	i := strings.LastIndexByte(rest, '#')
	if !ok || run == "" || i <= 0 {
		return TrialRef{}, Errorf(EInvalid, "trial reference %q: want RUN/CASE#REP[.ATTEMPT]", s)
	}
	ref := TrialRef{Run: run, Case: rest[:i]}
	rep, attempt, hasAttempt := strings.Cut(rest[i+1:], ".")
	var err error
	if ref.Rep, err = strconv.Atoi(rep); err != nil || ref.Rep < 0 {
		return TrialRef{}, Errorf(EInvalid, "trial reference %q: repetition %q is not a number", s, rep)
	}
	if hasAttempt {
		if ref.Attempt, err = strconv.Atoi(attempt); err != nil || ref.Attempt < 1 {
			return TrialRef{}, Errorf(EInvalid, "trial reference %q: attempt %q is not a number above 0", s, attempt)
		}
	}
	return ref, nil
}

// IsZero reports whether r names no trial.
func (r TrialRef) IsZero() bool { return r.Run == "" && r.Case == "" }

// EventKind names what happened in a run.
type EventKind int

const (
	EventRunStarted     EventKind = iota + 1 // the run was created (or resumed) and its trials planned
	EventRunFinished                         // the run ended; Msg is its status
	EventTrialPlanned                        // a trial was planned: it has its reference
	EventTrialStarted                        // a trial was handed to an executor on Node
	EventTrialFinished                       // a trial was recorded, with its Outcome and Duration
	EventNodeJoined                          // a node joined the run
	EventNodeLost                            // a node stopped answering; Msg says why
	EventNodeDrained                         // a node left its pool; its work moved
	EventWarning                             // something the user should know that is not a trial's result
	EventNote                                // a case's note: setup/cleanup outcome, adaptive stop, skip
	EventTrialDiscarded                      // a trial that started measured nothing and will start again (or never)
	EventContainer                           // a Docker engine reported a benchmark container's create, start, die or oom (Msg), seen by the node's collector
	// EventGate is the regression gate at work after the run finished: a
	// confirmation run started (Msg names it), and last the verdict (Msg
	// is GateResult.Summary). A run that asked for a gate ends with it.
	EventGate
)

var eventNames = map[EventKind]string{
	EventRunStarted:     "run-started",
	EventRunFinished:    "run-finished",
	EventTrialPlanned:   "trial-planned",
	EventTrialStarted:   "trial-started",
	EventTrialFinished:  "trial-finished",
	EventNodeJoined:     "node-joined",
	EventNodeLost:       "node-lost",
	EventNodeDrained:    "node-drained",
	EventWarning:        "warning",
	EventNote:           "note",
	EventTrialDiscarded: "trial-discarded",
	EventContainer:      "container",
	EventGate:           "gate",
}

func (k EventKind) String() string {
	if s, ok := eventNames[k]; ok {
		return s
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// ParseEventKind is the inverse of EventKind.String.
func ParseEventKind(s string) (EventKind, error) {
	for k, n := range eventNames {
		if n == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown event kind %q", s)
}

func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

func (k *EventKind) UnmarshalText(b []byte) error {
	v, err := ParseEventKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Event is one entry of a run's event log. Every event carries the run, the
// time and a sequence number that orders the run's events; the others are
// set when they apply.
type Event struct {
	Run  string    `json:"run"`
	Seq  int64     `json:"seq"` // from 1, in the order the runner emitted them
	Time time.Time `json:"time"`
	Kind EventKind `json:"kind"`

	Trial  *TrialRef `json:"trial,omitempty"`
	Case   string    `json:"case,omitempty"`
	Node   string    `json:"node,omitempty"`
	Warmup bool      `json:"warmup,omitempty"`
	// Profiled marks the events of an extra trial run only to be profiled
	// (Trial.ProfileOnly); its Number counts among those.
	Profiled bool `json:"profiled,omitempty"`
	// Number is the trial's number as people count it, from 1: among its
	// case's warmups when Warmup, else among its measured trials ("warmup
	// 1", "trial 1", whatever the warmup count). Trial.Rep, the reference,
	// counts warmups first. 0 without a trial.
	Number   int           `json:"number,omitempty"`
	Outcome  *Outcome      `json:"outcome,omitempty"`     // EventTrialFinished
	Duration time.Duration `json:"duration_ns,omitempty"` // EventTrialFinished: the trial's wall time
	Msg      string        `json:"msg,omitempty"`

	// Done and Total are the run's progress after this event: trials
	// recorded, and trials planned (for adaptive repetition the upper
	// bound, lowered as cases stop early). Done never exceeds Total.
	Done  int `json:"done"`
	Total int `json:"total"`
}

// String renders an event as one line for humans.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Time.UTC().Format("15:04:05.000"))
	b.WriteString(" ")
	b.WriteString(e.Kind.String())
	if e.Trial != nil {
		ref := "#" + strconv.Itoa(e.Trial.Rep)
		if e.Trial.Attempt > 0 {
			ref += "." + strconv.Itoa(e.Trial.Attempt)
		}
		switch {
		case e.Number > 0 && e.Warmup:
			b.WriteString(" " + e.Trial.Case + " warmup " + strconv.Itoa(e.Number) + " (" + ref + ")")
		case e.Number > 0 && e.Profiled:
			b.WriteString(" " + e.Trial.Case + " profiled trial " + strconv.Itoa(e.Number) + " (" + ref + ")")
		case e.Number > 0:
			b.WriteString(" " + e.Trial.Case + " trial " + strconv.Itoa(e.Number) + " (" + ref + ")")
		case e.Warmup:
			b.WriteString(" " + e.Trial.Case + " " + ref + " (warmup)")
		default:
			b.WriteString(" " + e.Trial.Case + " " + ref)
		}
	} else if e.Case != "" {
		b.WriteString(" " + e.Case)
	}
	if e.Node != "" {
		b.WriteString(" on " + e.Node)
	}
	if e.Outcome != nil {
		b.WriteString(": " + e.Outcome.String())
		if e.Kind == EventTrialFinished {
			b.WriteString(" in " + FormatDuration(e.Duration))
		}
	}
	if e.Msg != "" {
		b.WriteString(": " + e.Msg)
	}
	return b.String()
}

// MarshalJSON keeps the JSON form stable whatever the Go field order.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return json.Marshal(plain(e))
}

// Heartbeat timing. A running run's process writes its heartbeat at least
// every HeartbeatEvery; a reader that finds it older than HeartbeatStale
// takes the process for dead and the run for interrupted. The margin covers
// a stalled disk or a paused VM without calling a live run dead.
const (
	HeartbeatEvery = 2 * time.Second
	HeartbeatStale = 10 * time.Second
)

// TrialNumber is the number people count a trial by (Event.Number) from its
// repetition rep (TrialRef.Rep, warmups first, from 0) and its case's
// warmup count: warmups 1..W, then measured trials 1..N.
func TrialNumber(rep, warmups int) int {
	if rep < warmups {
		return rep + 1
	}
	return rep - warmups + 1
}
