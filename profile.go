package benchrig

import (
	"context"
	"time"
)

// Profiling is a spec's profile block (or run --profile): whether perf
// samples the call stacks of trials' process trees, and how. The zero value
// is off.
type Profiling struct {
	Enabled bool `json:"enabled"`
	// Event is the perf event sampled; "" means DefaultProfileEvent. On a
	// run it is the event actually used.
	Event string `json:"event,omitempty"`
	// Freq is the sampling frequency in Hz; 0 means DefaultProfileFreq.
	Freq int `json:"freq_hz,omitempty"`
	// Trials is how many extra profiled trials each case gets after its
	// measured ones (in: extra); they are recorded but excluded from
	// statistics, as warmups are. 0 means DefaultProfileTrials.
	Trials int `json:"trials,omitempty"`
	// InMeasured profiles the measured trials themselves (in: measured)
	// instead of extra ones: their timings then include perf's cost and are
	// not comparable with unprofiled runs, which the report says.
	InMeasured bool `json:"in_measured,omitempty"`
	// CallGraph is how call stacks are unwound: "" or "fp" (frame
	// pointers, perf -g), or "dwarf" (perf --call-graph dwarf: whole
	// chains for binaries built without frame pointers).
	CallGraph string `json:"call_graph,omitempty"`
	// Startup, on a run, is how long perf took around a command that does
	// nothing when it was checked before the run: its fixed start-up and
	// tear-down. A profiled trial's wall time leaves it out where perf
	// recorded the command's exec and exit (the metric perf_wall_s then
	// keeps the perf-inclusive time); its CPU time includes it.
	Startup time.Duration `json:"startup_ns,omitempty"`
	// StartupCPU is the CPU time of that check: perf's own, which a
	// profiled trial's CPU time includes (perf runs in its process tree).
	StartupCPU time.Duration `json:"startup_cpu_ns,omitempty"`
}

// Profiling defaults and bounds: 99 Hz is perf's customary rate, odd so
// that it does not sample in lockstep with timers at round frequencies;
// 10 kHz is where perf's own cost starts to rival what it measures.
const (
	DefaultProfileEvent  = "cpu-clock"
	DefaultProfileFreq   = 99
	MaxProfileFreq       = 10000
	DefaultProfileTrials = 1
)

// EventName is the event sampled, the default when none was given.
func (p Profiling) EventName() string {
	if p.Event == "" {
		return DefaultProfileEvent
	}
	return p.Event
}

// Unwind is the call graph mode, "fp" when none was given.
func (p Profiling) Unwind() string {
	if p.CallGraph == "" {
		return "fp"
	}
	return p.CallGraph
}

// Hz is the sampling frequency, the default when none was given.
func (p Profiling) Hz() int {
	if p.Freq <= 0 {
		return DefaultProfileFreq
	}
	return p.Freq
}

// ExtraTrials is how many extra profiled trials each case gets: none when
// the measured trials are profiled, else Trials or its default.
func (p Profiling) ExtraTrials() int {
	switch {
	case !p.Enabled || p.InMeasured:
		return 0
	case p.Trials <= 0:
		return DefaultProfileTrials
	}
	return p.Trials
}

// ProfileRep is the repetition (TrialRef.Rep) of a case's k-th extra
// profiled trial (from 0): after every warmup and measured trial the spec
// allows, so the reference is fixed when the run is planned and never
// collides with a measured trial, whatever adaptive repetition decides.
func ProfileRep(warmups int, repeat Repeat, k int) int {
	return warmups + max(repeat.Max, repeat.Min) + k
}

// Excluded reports whether the trial is left out of statistics: a warmup,
// or an extra trial run only to be profiled.
func (t *Trial) Excluded() bool { return t.Warmup || t.ProfileOnly }

// TrialProfile is the call stacks perf sampled during one trial, traceable
// to it by its reference, and how they were sampled.
type TrialProfile struct {
	Run  string `json:"run"`
	Case string `json:"case"`
	// Rep and Attempt are the trial's TrialRef; Rep is -1 for a case's
	// trials merged.
	Rep     int    `json:"rep"`
	Attempt int    `json:"attempt"`
	Node    string `json:"node,omitempty"`
	Event   string `json:"event"`
	Freq    int    `json:"freq_hz"`
	// Lost is how many samples perf reported lost.
	Lost int64 `json:"lost,omitempty"`
	// Duration is the wall time the profile covers (the trial's).
	Duration time.Duration `json:"duration_ns"`
	// Stacks are folded stacks (see profiling.Stacks): each key a stack's
	// frames joined by ';', root first, the process name first; each value
	// its samples.
	Stacks map[string]int64 `json:"-"`
}

// Ref is the profiled trial's reference (Rep -1 for a merged profile).
func (p *TrialProfile) Ref() TrialRef {
	return TrialRef{Run: p.Run, Case: p.Case, Rep: p.Rep, Attempt: p.Attempt}
}

// Samples is the number of samples in p's stacks.
func (p *TrialProfile) Samples() int64 {
	var n int64
	for _, v := range p.Stacks {
		n += v
	}
	return n
}

// ProfileStore keeps the call stacks sampled during a run's trials. An
// implementation is safe for concurrent use; ctx cancels a call in
// progress.
type ProfileStore interface {
	// AddProfile records one trial's profile; a second one of the same
	// trial (run, case, rep, attempt) replaces the first.
	AddProfile(ctx context.Context, p *TrialProfile) error
	// Profiles returns the run's profiles in case and trial order; a run
	// without any (or unknown) has none, without error.
	Profiles(ctx context.Context, runID string) ([]TrialProfile, error)
}
