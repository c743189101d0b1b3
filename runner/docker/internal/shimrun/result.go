// Package shimrun is the timing shim's logic and its wire format, shared by
// the shim binary (runner/docker/shim), which runs inside a trial's
// container as its entrypoint, and by the docker executor, which reads the
// shim's one line of JSON after the container exits.
//
// It is its own package so that the executor and the shim cannot disagree
// on the format, and so that the shim's logic is tested in-process.
package shimrun

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/benchrig/benchrig"
)

// FormatVersion is the version of Result's JSON. The executor refuses a
// result of another version: a shim of a different benchrig. Version 2
// added the -digest flag and Stdout.
const FormatVersion = 2

// Result is what the shim measured of one command, printed as one JSON
// object on the shim's stdout (its only output). Times are nanoseconds;
// wall-clock instants are Unix nanoseconds on the node's clock.
type Result struct {
	Version int `json:"v"`

	// ShimStart is when the shim's main began (wall clock), StartUnix when
	// it started the child, just before the fork.
	ShimStart int64 `json:"shim_start_unix_ns"`
	StartUnix int64 `json:"start_unix_ns"`
	// Setup is the monotonic time from the shim's main to the child's
	// start: the shim's own cost inside the container, outside Wall.
	Setup int64 `json:"setup_ns"`
	// Held is how long the command was held before its start, waiting for
	// the executor's go (a profiled trial: the profiler attaching).
	Held int64 `json:"held_ns,omitempty"`
	// Wall is monotonic, from just before the child is started to just
	// after wait returns for it.
	Wall int64 `json:"wall_ns"`

	// User, Sys and MaxRSS are rusage of the waited-for children (the
	// child and, when the shim is PID 1, every orphan it reaped).
	User   int64 `json:"user_ns"`
	Sys    int64 `json:"sys_ns"`
	MaxRSS int64 `json:"maxrss_bytes"`
	// ShimMaxRSS is the shim's own peak RSS, at its end. Go starts
	// children with vfork, so the kernel folds the shim's RSS at the fork
	// into the child's maxrss at exec: MaxRSS never goes below that (a
	// couple of MB).
	ShimMaxRSS int64 `json:"shim_maxrss_bytes"`

	// ExitCode is -1 when the child did not exit by itself (Error says why).
	ExitCode int `json:"exit_code"`
	// Error is "timeout", "signal: <name>" or "start: <reason>"; empty for
	// a child that exited.
	Error string `json:"error,omitempty"`

	StdoutBytes int64  `json:"stdout_bytes"`
	StderrBytes int64  `json:"stderr_bytes"`
	StderrTail  string `json:"stderr_tail,omitempty"`
	// Stdout is the digest of the command's stdout, when -digest asked
	// for it (its head travels base64-encoded, at most 64 KiB).
	Stdout *benchrig.OutputDigest `json:"stdout,omitempty"`

	// Leftover counts processes still alive after the child exited and its
	// pipes closed, then killed; -1 when not known (the shim is not PID 1).
	Leftover int `json:"leftover_processes"`

	// Cgroup holds the container's own cgroup figures, read after the
	// child exited; nil when none could be read. CgroupError says why, or
	// which file was malformed when the other figures are there.
	Cgroup      *Cgroup `json:"cgroup,omitempty"`
	CgroupError string  `json:"cgroup_error,omitempty"`

	// Noise is what else used the host during the command; nil when
	// /proc/stat or the container's cgroup could not be read.
	Noise *Noise `json:"noise,omitempty"`
}

// Cgroup is the container cgroup's figures. They cover the whole container:
// the shim itself included. A figure that could not be read is -1.
type Cgroup struct {
	Version     int   `json:"version"`
	CPU         int64 `json:"cpu_ns"`
	User        int64 `json:"user_ns"`
	Sys         int64 `json:"sys_ns"`
	Throttled   int64 `json:"throttled_ns"`
	MemPeak     int64 `json:"mem_peak_bytes"`
	MemCurrent  int64 `json:"mem_current_bytes"`
	PidsPeak    int64 `json:"pids_peak"`
	PidsCurrent int64 `json:"pids_current"`
}

// Parse reads a Result from the shim's stdout. Anything before the last
// line is ignored (the shim prints nothing else, but an image's
// entrypoint wrapper might).
func Parse(out []byte) (Result, error) {
	var r Result
	line := lastLine(out)
	if len(line) == 0 {
		return r, errors.New("shim printed no result")
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return r, fmt.Errorf("shim result %q: %w", truncate(line, 200), err)
	}
	if r.Version != FormatVersion {
		return r, fmt.Errorf("shim result format %d, want %d: the shim is from another benchrig version", r.Version, FormatVersion)
	}
	return r, nil
}

func lastLine(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			return b[i+1:]
		}
	}
	return b
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
