// Package profiling turns sampled call stacks into what people read: folded
// stacks, pprof protobuf, a breakdown per process, and interactive flame
// graphs, plain and differential. It knows nothing of runs, stores or
// executors; capturing stacks (perf) lives beside it, in the capture files.
//
// The way through it: ParsePerfScript folds `perf script` output into
// Stacks; WriteFolded and ReadFolded keep them as text; Breakdown splits
// them by process; ToPprof makes a Profile a pprof profile; WriteFlameSVG
// and WriteDiffSVG draw them, with FlameScript for the interaction. Every
// output is sorted, so the same input always writes the same bytes.
package profiling

import "time"

// Stacks are folded call stacks, as Brendan Gregg's stackcollapse scripts
// write them: each key is a stack's frames joined by ';', root first, whose
// first frame is the process name (the sampled thread's comm), and each
// value the number of samples with that stack. A frame that could not be
// resolved to a symbol is its module and offset ("grep+0x1a2b3", or
// "[unknown]" when perf knew not even the module), never dropped.
type Stacks map[string]int64

// Profile is the stacks of one trial, or of several merged (a case's), and
// how they were sampled.
type Profile struct {
	// Event is the perf event sampled: "cpu-clock" on machines without
	// hardware counters (these VMs), else what was asked and available.
	Event string `json:"event"`
	// Freq is the sampling frequency in Hz (perf record -F).
	Freq int `json:"freq_hz"`
	// Stacks are the samples.
	Stacks Stacks `json:"-"`
	// Lost is how many samples perf reported lost (0 when none).
	Lost int64 `json:"lost,omitempty"`
	// Duration is the wall time the profile covers.
	Duration time.Duration `json:"duration_ns"`
}

// ProcessShare is one process name's part of a profile's samples: which
// stage of a pipeline (zcat | parse | sort, xargs -P workers) the CPU went to.
type ProcessShare struct {
	Process string  `json:"process"`
	Samples int64   `json:"samples"`
	Share   float64 `json:"share"` // of all samples, 0..1
}
