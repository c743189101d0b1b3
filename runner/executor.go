package runner

import (
	"context"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/cgroup"
)

// Job is one fully expanded execution of a command.
type Job struct {
	// Argv is the program and its arguments. A shell command arrives as
	// ["/bin/sh", "-c", script].
	Argv []string
	// Env is the complete environment, KEY=VALUE.
	Env []string
	// Dir is the working directory; "" means the current one.
	Dir string
	// Timeout kills the job's whole process tree after this long; 0 means none.
	Timeout time.Duration

	// ReadBPS caps the job's reads from the block device that holds
	// ReadDevice (a file or directory on it, or the device node itself), in
	// bytes per second; 0 means no cap. Only reads that reach the device are
	// capped: reads served from the page cache are not.
	ReadBPS    int64
	ReadDevice string
	// DropCaches asks for the page cache to be written back and dropped
	// before the job starts, outside the timed interval, so that the job
	// reads cold.
	DropCaches bool

	// DigestStdout asks the executor for Measurement.Stdout, a digest of
	// the command's standard output (counts, SHA-256, its first 64 KiB)
	// for a spec's expect checks. It is off unless asked: hashing costs
	// about as much CPU as draining the pipe (internal/pipes BenchmarkDrain).
	DigestStdout bool

	// Container is set for container executors (docker) and nil for the
	// local executor, which refuses a job that has one.
	Container *Container

	// Ref is the trial this job runs and Params its case's params, set by
	// the runner for every trial (zero for a setup or check command).
	Ref    benchrig.TrialRef
	Params map[string]string
	// Watcher, when set, is told where the trial runs by executors that
	// know (see Watcher); nil means nobody watches.
	Watcher Watcher
}

// Watcher is told where a trial's processes run by the executors that
// know it (the local executor: the trial's own cgroup), so that a collector
// samples the trial while it runs and takes a final sample before its
// cgroup is removed. Executors call it from the goroutine running the
// trial; several trials may be watched at once.
type Watcher interface {
	// TrialStarted is called once the trial's first process sits in its
	// cgroup, as soon after the start as possible. It must return quickly
	// (no I/O beyond reading the cgroup and host counters once).
	TrialStarted(ref benchrig.TrialRef, t Target)
	// TrialExited is called after all of the trial's processes exited and
	// before its cgroup is removed, outside the timed interval. It takes
	// the final sample and returns what else used the host during the
	// trial (nil when it cannot tell).
	TrialExited(ref benchrig.TrialRef) *benchrig.Noise
}

// Target is where a watched trial runs.
type Target struct {
	Cgroup  cgroup.Dirs // the trial's own cgroup
	PID     int         // the trial's first process
	Params  map[string]string
	Started time.Time
}

// Container is what a container executor needs beyond the command: the
// image, the platform to run it as, labels, and the resources and risky
// options the spec asked for. The runner fills it in only after the pool's
// policy allowed the risky options; an executor still refuses what its own
// node's policy forbids.
type Container struct {
	// Image is the image reference, already resolved for the node's
	// architecture (the spec's images map, else image).
	Image string
	// Platform is "linux/ARCH" when the node's architecture was declared
	// in the pools file (an emulated node), "" to let the engine choose.
	Platform string
	// Labels go on the container, in addition to the executor's own
	// ownership labels: benchrig.run, benchrig.case, benchrig.trial,
	// benchrig.spec (see LabelRun and friends).
	Labels map[string]string

	// CPUs is a CPU quota in cores (1.5 = one and a half); 0 means none.
	CPUs float64
	// CPUSet pins the container to these CPUs ("0-1", "3"); "" means any.
	CPUSet string
	// MemoryBytes is a memory limit; 0 means none.
	MemoryBytes int64
	// Network is "none" (the default when ""), "bridge" or "host".
	Network string
	// GPUs is how many GPUs the container is given, as docker run
	// --gpus N does: what the case requires (requires: [{gpu: N}]); 0
	// for none.
	GPUs int

	// Risky options: refused unless the pool's policy allows them.
	Privileged bool
	Mounts     []Mount  // host paths bound into the container
	Devices    []string // host device nodes, "/dev/x" or "/dev/x:/dev/y"
}

// Mount binds a host path into a container.
type Mount struct {
	Source   string // on the node's host
	Target   string // in the container
	ReadOnly bool
}

// Container labels every container executor puts on what it creates, so
// that anything left behind by a crash or Ctrl-C can be found and removed.
const (
	LabelRun   = "benchrig.run"
	LabelCase  = "benchrig.case"
	LabelTrial = "benchrig.trial"
	LabelSpec  = "benchrig.spec"
	// LabelOwner says which benchrig process created the container
	// ("host/pid/start"), so a reaper removes only what dead processes left.
	LabelOwner = "benchrig.owner"
)

// Checker is an optional ability of an Executor: Check tells, before
// anything runs, whether the executor can run job as asked (a read cap, a
// cold cache). A non-nil error says why not, for a user to read; the runner
// then skips the job's case with that reason. Check may be called from
// several goroutines at once and must not run the job.
type Checker interface {
	Check(job Job) error
}

// Executor runs jobs and measures them.
//
// Run executes one job and returns what was measured. A command that exits
// non-zero, times out or is killed is a result (ExitCode, Error), not an
// error: err is reserved for failures of the executor itself. Cancelling ctx
// kills the job's process tree and Run returns promptly with Error
// "cancelled". Run may be called from several goroutines at once.
type Executor interface {
	Run(ctx context.Context, job Job) (benchrig.Measurement, error)
}

// Recorder keeps runs, their trials and their events durably as they
// happen, so that a run outlives the process that runs it.
//
// Methods may be called from several goroutines. AddTrial returns only once
// the trial is durable, so a crash loses at most the trials in flight. The
// runner never calls a Recorder with its scheduler's lock held.
type Recorder interface {
	// CreateRun records a new run (everything but Trials) with status
	// running and a fresh heartbeat.
	CreateRun(ctx context.Context, run *benchrig.Run) error
	// AddTrial records one trial; a second trial with the same run and
	// (case, rep) or the same seq is EInvalid.
	AddTrial(ctx context.Context, t *benchrig.Trial) error
	// AddEvents appends events to the run's log. Events whose (run, seq)
	// is already there are ignored, so a retried batch is not doubled.
	AddEvents(ctx context.Context, events []benchrig.Event) error
	// SetNote sets case caseID's note (replacing the one before).
	SetNote(ctx context.Context, runID, caseID, note string) error
	// SetStop records why adaptive repetition stopped case caseID
	// (replacing the one before).
	SetStop(ctx context.Context, runID, caseID string, stop benchrig.Stop) error
	// RecordNodeEvents replaces the facts of the nodes the run used and
	// what happened to them so far.
	RecordNodeEvents(ctx context.Context, runID string, nodes []benchrig.NodeFacts, events []benchrig.NodeEvent) error
	// Heartbeat says the run's process is alive at t.
	Heartbeat(ctx context.Context, runID string, t time.Time) error
	// FinishRun sets the final status and time of a run, clears its
	// heartbeat and merges notes into its notes.
	FinishRun(ctx context.Context, id string, status benchrig.RunStatus, finished time.Time, notes map[string]string) error
	// ReopenRun marks an interrupted or cancelled run running again, with
	// a fresh heartbeat at t, for runs resume; any other status is
	// EInvalid, and a run whose heartbeat is not stale is EInvalid too (its
	// process is alive). It returns the Seq of the run's last event, after
	// which the resumed run's events are numbered.
	ReopenRun(ctx context.Context, runID string, t time.Time) (int64, error)
}

// CacheDropper is an optional ability of an Executor: DropCaches writes back
// and drops the page cache once. The runner uses it before a trial whose
// instances must all start cold, instead of letting each copy drop the
// cache while the others are already reading.
type CacheDropper interface {
	DropCaches(ctx context.Context) (time.Duration, error)
}
