// Package local owns the local executor: it runs one trial's command as a
// child process tree on this host and measures it.
//
// Honesty rules it keeps:
//   - Wall time is monotonic, taken just before the process is started and
//     just after wait returns; cgroup setup, file reads and pipe draining
//     happen outside that interval.
//   - stdout and stderr are real pipes whose bytes are counted, never
//     /dev/null: GNU grep stops at the first match when its stdout is
//     /dev/null, and a harness that does that measures the wrong thing.
//   - CPU and memory cover the whole process tree, orphaned grandchildren
//     included, when each trial runs in a fresh cgroup (v1 or v2); otherwise
//     they fall back to rusage of the main process and its waited-for
//     descendants, and Warning says why.
//   - A read cap (Job.ReadBPS) is set on the trial's cgroup before the
//     command starts, and a cold cache (Job.DropCaches) is made just before
//     it starts; one that cannot be honoured is an error, never a
//     measurement without it. Check says so beforehand.
package local

import (
	"strings"
	"sync"
	"time"
)

// Mode says whether the executor uses cgroups.
type Mode int

const (
	// Auto uses cgroup v1 when its controllers are mounted (hybrid hosts keep
	// the controllers there), else cgroup v2, else rusage with a warning.
	Auto Mode = iota
	// Off always uses rusage.
	Off
	// V1 uses only cgroup v1, falling back to rusage with a warning.
	V1
	// V2 uses only cgroup v2 (on a hybrid host: the unified hierarchy, which
	// may hold no controllers but still accounts CPU and can kill a tree),
	// falling back to rusage with a warning.
	V2
)

// Config configures an Executor. Zero values take the defaults.
type Config struct {
	CgroupRoot string // default "/sys/fs/cgroup"
	ProcRoot   string // default "/proc"
	SysRoot    string // default "/sys": /sys/dev/block leads from a partition to its disk
	Cgroups    Mode
	StderrTail int // bytes of stderr kept; default 4096
	// DrainTimeout bounds how long Run waits, after the main process
	// exits, for EOF on stdout and stderr: a grandchild may still hold the
	// pipes. What remains after it is killed. Default 2s.
	DrainTimeout time.Duration
	// Perf is the perf program profiled trials run under (see
	// RunProfiled); "" means perf found in PATH.
	Perf string
}

const (
	sourceV1     = "cgroup-v1"
	sourceV2     = "cgroup-v2"
	sourceRusage = "rusage"
)

// Executor runs jobs on this host. It is safe for concurrent use.
type Executor struct {
	cfg     Config
	mode    string
	warning string
	cg      *cgroupSetup // nil in rusage mode
	notes   []string
	closeMu sync.Mutex
	dropMu  sync.Mutex // one drop_caches at a time
}

// New removes trial cgroups left by a benchrig that died mid-trial (see
// Notes), detects the cgroup mode once (by creating and removing a probe
// cgroup) and returns an executor. It does not fail: when cgroups cannot be
// used it measures with rusage and Warning says why.
func New(cfg Config) *Executor {
	if cfg.CgroupRoot == "" {
		cfg.CgroupRoot = "/sys/fs/cgroup"
	}
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.SysRoot == "" {
		cfg.SysRoot = "/sys"
	}
	if cfg.StderrTail <= 0 {
		cfg.StderrTail = 4096
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 2 * time.Second
	}
	e := &Executor{cfg: cfg, mode: sourceRusage}
	if cfg.Cgroups != Off {
		var cg *cgroupSetup
		e.notes, cg, e.warning = setupCgroups(cfg)
		if cg != nil {
			e.cg = cg
			e.mode = cg.source()
		}
	}
	return e
}

// Mode returns "cgroup-v1", "cgroup-v2" or "rusage": where CPU and memory
// figures come from.
func (e *Executor) Mode() string { return e.mode }

// Warning says why the executor fell back to rusage; empty otherwise.
func (e *Executor) Warning() string { return e.warning }

// Notes says what New cleaned up: trial cgroups of a benchrig that is no
// longer running (killed mid-trial), removed after killing what was left
// in them, or why one could not be removed.
func (e *Executor) Notes() []string { return append([]string(nil), e.notes...) }

// Controllers lists the cgroup controllers whose figures are read (v1
// controller names, or the v2 controllers enabled for trials). Figures of
// missing controllers fall back to rusage (MaxRSS) or are absent (metrics).
func (e *Executor) Controllers() []string {
	if e.cg == nil {
		return nil
	}
	return append([]string(nil), e.cg.controllers...)
}

// Close removes what New created that outlives a trial (the dedicated v2
// parent cgroup). Run must not be called after Close.
func (e *Executor) Close() error {
	e.closeMu.Lock()
	defer e.closeMu.Unlock()
	if e.cg == nil {
		return nil
	}
	return e.cg.close()
}

// splitCPU divides a precise CPU total between user and system in the
// proportion of a (possibly tick-sampled) split, the way the kernel's
// cputime_adjust does. With no split to go by, the split from rusage is
// used; with neither, all goes to user, as the kernel does.
func splitCPU(total, user, sys, rusUser, rusSys time.Duration) (time.Duration, time.Duration) {
	if total <= 0 {
		return 0, 0
	}
	if user <= 0 && sys <= 0 {
		user, sys = rusUser, rusSys
	}
	if user < 0 {
		user = 0
	}
	if sys < 0 {
		sys = 0
	}
	if user+sys == 0 {
		return total, 0
	}
	u := time.Duration(float64(total) * float64(user) / float64(user+sys))
	return u, total - u
}

// startReason shortens os.StartProcess's "fork/exec <path>: <errno>".
func startReason(err error) string {
	s := err.Error()
	return "start: " + strings.TrimPrefix(s, "fork/exec ")
}
