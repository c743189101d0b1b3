// Package benchrig holds the domain types shared by every part of benchrig:
// specs, cases, trials, runs, fingerprints and the error type with its codes.
// It imports only the standard library; adapters (YAML, SQLite, processes,
// Docker, Elasticsearch, HTTP) live in sub-packages and are wired in cmd.
package benchrig

import (
	"fmt"
	"iter"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Version is benchrig's version, recorded in every run's fingerprint.
// The build may override it with -ldflags "-X github.com/benchrig/benchrig.Version=...".
var Version = "0.1.0-dev"

// Spec is a parsed and validated benchmark spec.
type Spec struct {
	File        string // path it was read from ("" when read from memory)
	Hash        string // hex sha256 of the source bytes
	Source      []byte // the source bytes, kept with the run for reproducibility
	Name        string
	Description string

	Command Command
	Params  []Param // in file order; the matrix is their cartesian product
	// Exclude removes combinations from the matrix, as GitHub Actions'
	// matrix exclude: a case is left out when it has every param value of
	// one entry. An entry may also name node or arch, matched by the
	// runner against the node a case runs on; counting and validation
	// (CountCases) cannot know them and leave such entries out.
	Exclude []map[string]string

	Repeat  Repeat
	Warmup  int           // warmup trials per case, recorded but excluded from statistics
	Timeout time.Duration // per trial; 0 means none
	Env     map[string]string
	Workdir string
	Setup   *Command // run once per case before its first trial
	// Prepare runs before every trial of a case, warmups included, on the
	// trial's node and outside the timed interval (hyperfine's --prepare:
	// clearing a cache, resetting a file). A failed prepare fails the trial.
	Prepare *Command
	Cleanup *Command // run once per case after its last trial

	Throughput *Throughput

	Image  string            // fallback container image (unused by the local executor)
	Images map[string]string // architecture -> image

	// Baseline names the case the others are compared to, by param values.
	// Empty means the first case of the matrix.
	Baseline map[string]string
	// Ceiling picks, like Baseline, the cases whose throughput is this
	// machine's limit for the others (cat reading the same files from the
	// page cache, say): every other case's rate is also shown as a
	// fraction of its group's ceiling. Empty means none.
	Ceiling map[string]string
	Order   Order
	// Scaling names the param whose values are parallelism levels (e.g. the
	// N of xargs -P N): reports then show speedup and parallel efficiency
	// along it. Empty means none: a numeric param is not necessarily a
	// level of parallelism (gzip -1 vs -9 is not).
	Scaling string

	// Instances is how many copies of the command one trial runs at once
	// (a template giving a positive integer; "" means 1), as the seed ran N
	// containers per host. Copy i (from 1) sees {{.instance}} = i. The
	// trial's wall time spans the first start to the last exit, and its
	// throughput is the total of all copies.
	Instances string
	// Requires lists programs a case needs (templates). A case whose
	// program is missing is skipped with the reason and hint, not failed.
	Requires []Requirement
	// Resources are limits applied to every trial, templated per case.
	Resources Resources
	// Cache is "warm" (the default, "" too) or "cold": drop the page cache
	// before every trial. A template.
	Cache string

	// Placement says where cases run when the spec runs on node pools
	// (its pools field, or run --pool); the local executor ignores it.
	Placement Placement
	// Container holds the options of the containers trials run in on
	// node pools; the local executor ignores it. Risky options are refused
	// unless the pool's policy allows them.
	Container ContainerSpec

	// Expect is what a trial's output must satisfy; nil checks only that
	// the exit code is 0.
	Expect *Expect

	// Collect is the spec's collect block: whether a collector samples
	// the run's trials and host beside it, and how often.
	Collect Collect

	// Profile is the spec's profile block: whether perf samples the call
	// stacks of trials, how, and which trials. Off by default.
	Profile Profiling
}

// Collect says whether a collector samples beside a run and how often.
// The zero value is the default: on, every DefaultCollectInterval.
type Collect struct {
	Disabled bool          // collect: {enabled: false}
	Interval time.Duration // 0: DefaultCollectInterval
}

// Collection intervals: one sample a second costs next to nothing; 100 ms
// (10 Hz) is the finest a spec or flag may ask for, the rate the
// collector's overhead budget is set at.
const (
	DefaultCollectInterval = time.Second
	MinCollectInterval     = 100 * time.Millisecond
)

// Every is the sampling interval, the default when none was given.
func (c Collect) Every() time.Duration {
	if c.Interval <= 0 {
		return DefaultCollectInterval
	}
	return c.Interval
}

// Placement values of Placement.Per.
const (
	PerNode = "node" // every case runs on every matching node (the default)
	PerArch = "arch" // every case runs on one node of each matching architecture
)

// Placement picks the nodes a spec's cases run on. Each case of the matrix
// is planned once per picked node (Per node) or architecture (Per arch):
// the run's cases then carry a param "node" or "arch" with that value.
type Placement struct {
	Pools  []string          // pools to draw nodes from; run --pool overrides
	Per    string            // PerNode ("" too) or PerArch
	Nodes  []string          // a fixed node set by name; empty means every node of the pools
	Arch   []string          // only nodes of these architectures (GOARCH names)
	Labels map[string]string // only nodes with all these labels
	// TrialsPerNode is how many trials may run at once on one node
	// (default 1, for clean numbers); a node's max_trials caps it.
	TrialsPerNode int
}

// ContainerSpec holds container options of a spec.
type ContainerSpec struct {
	Network    string // none (the default), bridge or host
	Privileged bool
	Mounts     []Mount  // host paths bound in; templates
	Devices    []string // host device nodes
}

// Mount binds a host path into a container. Source and Target are
// templates; a relative Source is resolved against the directory benchrig
// runs in, and an empty Target means the same path as Source, so commands
// can name the same paths inside and outside containers.
type Mount struct {
	Source, Target string
	ReadOnly       bool
}

// Requirement is a program or the data files a case needs, and how to get
// them. Exactly one of Program, Files and GPUs is set.
type Requirement struct {
	Program string // a name looked up in PATH, or a path; a template
	// Files are globs (templates, expanded for every instance) that must
	// each match a file before the run starts: the data a benchmark
	// reads. A case without its data is not skipped: the run is refused,
	// naming the hint and the --set that runs the cases whose data exists.
	Files []string
	Hint  string // how to install or make it, shown when it is missing; a template
	// GPUs is how many GPUs a case needs ({gpu: N} or {gpu: true}): a
	// template giving a count (ParseGPUCount); "" or "0" for none. A
	// local run on a host with fewer is refused; on node pools, nodes
	// with fewer are not placed on.
	GPUs string
}

// Resources are per-trial limits, as templates expanded per case.
type Resources struct {
	// ReadBPS caps reads from the block device holding ReadDevice, as a
	// size per second ("128MB"); "" or "0" means no cap.
	ReadBPS string
	// ReadDevice is a path on the device to cap, or the device node;
	// "" means the trial's working directory.
	ReadDevice string

	// Container limits, for container executors: a CPU quota in cores
	// (0 none), a CPU set ("0-1"; "" any) and a memory limit in bytes
	// (0 none).
	CPUs        float64
	CPUSet      string
	MemoryBytes int64
}

// ReservedVars are template variables benchrig defines itself; params may
// not take their names. {{.instance}} is the copy of a trial (from 1, see
// Spec.Instances); {{.spec_dir}} is the absolute directory of the spec
// file, so a spec can name scripts beside it whatever the working
// directory.
// {{.node}} and {{.arch}} are the node a trial runs on and its
// architecture ("local" and the host's on the local executor).
var ReservedVars = []string{"instance", "spec_dir", "node", "arch"}

// Command is either an argv list run directly, or a string run by /bin/sh -c.
// Exactly one of Argv and Shell is set.
type Command struct {
	Argv  []string
	Shell string
}

// IsZero reports whether no command is set.
func (c Command) IsZero() bool { return len(c.Argv) == 0 && c.Shell == "" }

// String renders the command for humans.
func (c Command) String() string {
	if c.Shell != "" {
		return c.Shell
	}
	return strings.Join(c.Argv, " ")
}

// Param is one axis of the matrix.
type Param struct {
	Name   string
	Values []string
}

// Repeat says how many measured trials each case gets. A fixed count has
// Min == Max and UntilCI == 0. Adaptive repetition runs at least Min and at
// most Max trials and stops early once the 95% CI half-width of the median,
// relative to the median, falls under UntilCI, or once MaxTime has passed.
type Repeat struct {
	Min, Max int
	UntilCI  float64       // relative half-width, e.g. 0.02 for 2%; 0 disables
	MaxTime  time.Duration // per case; 0 means unbounded
}

// Adaptive reports whether the repeat count depends on the measurements.
func (r Repeat) Adaptive() bool { return r.UntilCI > 0 || (r.Min != r.Max) }

// ThroughputUnit is what one trial processes.
type ThroughputUnit string

const (
	Bytes ThroughputUnit = "bytes"
	Items ThroughputUnit = "items"
)

// Throughput declares how much work one trial does, so rates can be shown.
// Either Value (a number or a template giving one) or Files (glob templates
// whose total size in bytes is the amount) is set.
type Throughput struct {
	Unit  ThroughputUnit
	Value string
	Files []string
	// Bytes, with Unit items, also counts the bytes of the same work, so
	// reports show molecules/s and MB/s side by side. nil otherwise.
	Bytes *Throughput
}

// Order is how trials of different cases are sequenced.
type Order string

const (
	// Interleaved runs round by round (A B C A B C ...) so that machine drift
	// hits every case alike. It is the default.
	Interleaved Order = "interleaved"
	// Sequential runs all trials of a case before the next case.
	Sequential Order = "sequential"
)

// KV is one param value of a case.
type KV struct {
	Name, Value string
}

// Case is one cell of the param matrix.
type Case struct {
	ID     string // stable key: "name=value,name=value" in param order ("default" with no params)
	Index  int    // position in the matrix
	Params []KV   // in param order
}

// Map returns the case's params as a map, as templates see them.
func (c Case) Map() map[string]string {
	m := make(map[string]string, len(c.Params))
	for _, kv := range c.Params {
		m[kv.Name] = kv.Value
	}
	return m
}

// Get returns the value of param name, and whether the case has it.
func (c Case) Get(name string) (string, bool) {
	for _, kv := range c.Params {
		if kv.Name == name {
			return kv.Value, true
		}
	}
	return "", false
}

// CaseID builds the stable identifier of a case from its params.
func CaseID(params []KV) string {
	if len(params) == 0 {
		return "default"
	}
	parts := make([]string, len(params))
	for i, kv := range params {
		parts[i] = kv.Name + "=" + kv.Value
	}
	return strings.Join(parts, ",")
}

// CaseCount is how many cases params make, computed without expanding
// them; it saturates at math.MaxInt rather than overflow.
func CaseCount(params []Param) int { return CountCases(params, nil) }

// countSteps bounds the work of CountCases: exclude lists of many entries
// over many params can make its walk exponential (a spec of a few KiB
// would stall validation), so past this many steps it gives up counting
// exactly.
const countSteps = 1 << 20

// CountCases is how many cases params make once exclude has removed its
// combinations, computed without expanding them: only the values that
// exclude entries name are visited one by one, every other value of a
// param is counted at once. It saturates at math.MaxInt rather than
// overflow. For an exclude list too intricate to count within countSteps
// it returns the count without exclusion, an upper bound.
func CountCases(params []Param, exclude []map[string]string) int {
	for _, p := range params {
		if len(p.Values) == 0 {
			return 0
		}
	}
	// Entries naming a param the matrix lacks match no case.
	var active []map[string]string
	for _, e := range exclude {
		if len(e) > 0 && namesOnly(e, params) {
			active = append(active, e)
		}
	}
	steps := countSteps
	if n := countFrom(params, active, 0, &steps); n >= 0 {
		return n
	}
	return product(params)
}

func namesOnly(e map[string]string, params []Param) bool {
	for k := range e {
		found := false
		for _, p := range params {
			if p.Name == k {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// countFrom counts the combinations of params[i:] that no entry of active
// excludes; the entries hold only the names of params[i:] still to match
// (matched names are removed as the walk goes down).
// It returns -1 once steps run out.
func countFrom(params []Param, active []map[string]string, i int, steps *int) int {
	if *steps--; *steps < 0 {
		return -1
	}
	for _, e := range active {
		if len(e) == 0 {
			return 0 // every name of this entry matched above: excluded
		}
	}
	if len(active) == 0 {
		return product(params[i:])
	}
	p := params[i]
	// Values named by some entry are walked one at a time; the rest
	// behave alike (every entry naming p fails for them) and are counted
	// together.
	named := map[string]bool{}
	var silent []map[string]string // entries that do not name p
	for _, e := range active {
		if v, ok := e[p.Name]; ok {
			named[v] = true
		} else {
			silent = append(silent, e)
		}
	}
	total := 0
	add := func(n int) {
		if total > math.MaxInt-n {
			total = math.MaxInt
		} else {
			total += n
		}
	}
	others := 0
	for _, v := range p.Values {
		if !named[v] {
			others++
			continue
		}
		var next []map[string]string
		for _, e := range active {
			w, ok := e[p.Name]
			switch {
			case !ok:
				next = append(next, e)
			case w == v:
				rest := make(map[string]string, len(e)-1)
				for k, x := range e {
					if k != p.Name {
						rest[k] = x
					}
				}
				next = append(next, rest)
			}
		}
		n := countFrom(params, next, i+1, steps)
		if n < 0 {
			return -1
		}
		add(n)
	}
	if others > 0 {
		n := countFrom(params, silent, i+1, steps)
		if n < 0 {
			return -1
		}
		if n > 0 && others > math.MaxInt/n {
			add(math.MaxInt)
		} else {
			add(others * n)
		}
	}
	return total
}

func product(params []Param) int {
	n := 1
	for _, p := range params {
		if n > math.MaxInt/len(p.Values) {
			return math.MaxInt
		}
		n *= len(p.Values)
	}
	return n
}

// Matrix expands params into their cartesian product, the first param
// varying slowest. Check the size with CaseCount first: it allocates every
// case.
func Matrix(params []Param) []Case { return Cases(params, nil) }

// Cases is the matrix of params without the combinations exclude removes,
// numbered from 0 in order. Check the size with CountCases first: it
// allocates every case; EachCase walks them one at a time.
func Cases(params []Param, exclude []map[string]string) []Case {
	var cases []Case
	for c := range EachCase(params, exclude) {
		cases = append(cases, c)
	}
	return cases
}

// EachCase yields the cases of params, the first param varying slowest,
// without those exclude removes, one at a time: the matrix is never held
// whole. Index counts the yielded cases from 0. Each case has its own
// Params slice.
func EachCase(params []Param, exclude []map[string]string) iter.Seq[Case] {
	return func(yield func(Case) bool) {
		for _, p := range params {
			if len(p.Values) == 0 {
				return
			}
		}
		// partial is an entry matched on its first matched params.
		type partial struct {
			e       map[string]string
			matched int
		}
		var active []partial
		for _, e := range exclude {
			if len(e) > 0 && namesOnly(e, params) {
				active = append(active, partial{e: e})
			}
		}
		kvs := make([]KV, len(params))
		index := 0
		// walk sets params[i:] and yields the cases below, skipping a
		// subtree as soon as an entry has matched all its params: the
		// work is that of the cases yielded, not of the whole matrix.
		var walk func(i int, active []partial) bool
		walk = func(i int, active []partial) bool {
			if i == len(params) {
				c := slices.Clone(kvs)
				index++
				return yield(Case{ID: CaseID(c), Index: index - 1, Params: c})
			}
			p := params[i]
			for _, v := range p.Values {
				kvs[i] = KV{p.Name, v}
				var next []partial
				excluded := false
				for _, a := range active {
					w, named := a.e[p.Name]
					switch {
					case !named:
						next = append(next, a)
					case w == v:
						a.matched++
						if a.matched == len(a.e) {
							excluded = true
						}
						next = append(next, a)
					}
					if excluded {
						break
					}
				}
				if excluded {
					continue
				}
				if !walk(i+1, next) {
					return false
				}
			}
			return true
		}
		walk(0, active)
	}
}

// Excluded reports whether some entry of exclude removes the case with
// params: the case has every param value the entry names.
func Excluded(params []KV, exclude []map[string]string) bool {
	for _, e := range exclude {
		if len(e) == 0 {
			continue
		}
		n := 0
		for _, kv := range params {
			if v, ok := e[kv.Name]; ok && v == kv.Value {
				n++
			}
		}
		if n == len(e) {
			return true
		}
	}
	return false
}

// Expand substitutes {{.name}} references to the case's params in s, as
// they are: for the text of a shell-form command, use ExpandShell.
// A reference to an unknown param is an error.
func Expand(s string, params map[string]string) (string, error) {
	return expand(s, params, false)
}

// expand is Expand, or ExpandShell when shell is set.
func expand(s string, params map[string]string, shell bool) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	t, err := ParseTemplate("", s)
	if err != nil {
		return "", err
	}
	if shell {
		if err := QuoteForShell(t); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	if err := t.Execute(&b, params); err != nil {
		return "", err
	}
	return b.String(), nil
}

// SortedKeys returns the keys of m in order.
func SortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Measurement is what an executor measured of one execution of a command.
type Measurement struct {
	Start time.Time
	Wall  time.Duration // monotonic wall time of the command
	User  time.Duration // user CPU of the whole process tree
	Sys   time.Duration // system CPU of the whole process tree

	// MaxRSS is the peak memory of the tree in bytes (cgroup peak, or
	// rusage maxrss), 0 when unavailable: rusage cannot tell a tree's
	// peak at or below the harness's own from the harness's.
	MaxRSS      int64
	ExitCode    int // -1 when the command did not run to an exit (timeout, signal, start failure)
	StdoutBytes int64
	StderrBytes int64
	StderrTail  string // last bytes of stderr (at most 4 KiB), kept for failed trials
	// Stdout summarises the standard output when the job asked for it
	// (runner.Job.DigestStdout, for a spec's expect); nil otherwise.
	Stdout *OutputDigest

	// Error says why the execution failed other than by its exit code:
	// "timeout", "signal: killed", "cancelled", "start: ...". Empty for a
	// command that ran to its exit.
	Error string

	// Source names where CPU and memory figures came from: "cgroup-v1",
	// "cgroup-v2" or "rusage".
	Source string

	// Noise is what else used the host during the trial, where the
	// executor could tell (nil otherwise).
	Noise *Noise

	// Metrics holds further raw figures, e.g. "io_read_bytes",
	// "io_write_bytes", "pids_peak", "cpu_throttled_ns". Keys are snake_case
	// with a unit suffix.
	Metrics map[string]float64
}

// Trial is one execution of a case's command and what was measured.
type Trial struct {
	RunID  string
	CaseID string
	Seq    int  // order of recording within the run, from 0
	Index  int  // the trial's repetition within the case (TrialRef.Rep), warmups first, from 0
	Warmup bool // excluded from statistics
	// ProfileOnly marks an extra trial run only to be profiled (see
	// Profiling.Trials): recorded, and excluded from statistics like a
	// warmup. Profiled says perf sampled the trial's call stacks, which
	// measured trials are too with in: measured.
	ProfileOnly bool
	Profiled    bool
	// Number is the trial's number as people count it (TrialNumber):
	// among its case's warmups when Warmup, else among its measured
	// trials, from 1, whatever the warmup count. Derived, not stored.
	Number int
	Node   string
	// Attempt is TrialRef.Attempt: how many starts of this repetition
	// measured nothing before this one.
	Attempt int
	// Outcome is how the trial ended, decided by the runner when it
	// recorded it; Reason says why when it is not OutcomeOK and the
	// executor's Error does not (an output check that failed).
	Outcome Outcome
	Reason  string
	Measurement
}

// Ref is the trial's reference.
func (t *Trial) Ref() TrialRef {
	return TrialRef{Run: t.RunID, Case: t.CaseID, Rep: t.Index, Attempt: t.Attempt}
}

// Result is the trial's outcome: as decided, or, for a trial built
// without one (OutcomeUnknown), as its measurement reads.
func (t *Trial) Result() Outcome {
	if t.Outcome == OutcomeUnknown {
		return ClassifyMeasurement(t.Measurement)
	}
	return t.Outcome
}

// Failed reports whether the trial did not succeed.
func (t *Trial) Failed() bool { return t.Result() != OutcomeOK }

// Why says why a failed trial failed: the runner's reason, else the
// executor's error, else its exit status.
func (t *Trial) Why() string {
	switch {
	case t.Reason != "":
		return t.Reason
	case t.Error != "":
		return t.Error
	case t.ExitCode != 0:
		return "exit status " + strconv.Itoa(t.ExitCode)
	}
	return ""
}

// RunStatus is the state of a run.
type RunStatus string

const (
	RunRunning   RunStatus = "running"
	RunFinished  RunStatus = "finished"  // every planned trial ran and none failed
	RunFailed    RunStatus = "failed"    // every planned trial ran, some failed
	RunCancelled RunStatus = "cancelled" // stopped early (Ctrl-C); finished trials are kept
	// RunInterrupted is a run whose process died (kill -9, power loss):
	// its heartbeat went stale while it was running. Its finished trials
	// are kept, and runs resume runs the missing ones.
	RunInterrupted RunStatus = "interrupted"
)

// RunStatuses lists every status, in the order they are shown.
var RunStatuses = []RunStatus{RunQueued, RunRunning, RunFinished, RunFailed, RunCancelled, RunInterrupted}

// Run is one execution of a spec.
type Run struct {
	ID         string
	SpecName   string
	SpecHash   string
	SpecFile   string
	SpecSource []byte
	Overrides  []string // --set and --repeat as given, for the record
	Status     RunStatus
	Started    time.Time
	Finished   time.Time // zero while running
	// Heartbeat is when the run's process last said it was alive; zero
	// once the run ended. See HeartbeatStale.
	Heartbeat time.Time
	// Labels are the submitter's labels of the run (run --label k=v: a
	// branch, a CI job), for finding it again.
	Labels map[string]string
	// Request is what was asked for, so the run can be resumed with the
	// same spec, overrides, pools and settings.
	Request *RunRequest
	// By is who submitted the run to a server (a token's name,
	// "schedule:ID"); "" for a run started by the CLI. A queued run's
	// Started is when it was submitted, until it starts.
	By          string
	Fingerprint Fingerprint
	Cases       []Case
	BaselineID  string // the case others are compared to
	// Baselines maps each case to its own baseline when the spec's baseline
	// names only some params (impl: gnu) and so picks one baseline per
	// group of the other params (one per pattern). nil when BaselineID is
	// every case's baseline.
	Baselines map[string]string
	// Ceilings maps each case to the case whose throughput is its limit
	// on this machine (the spec's ceiling); nil without one.
	Ceilings map[string]string
	// Skipped says why a case did not run although nothing failed: a
	// program it requires is missing, or the executor cannot honour its
	// read cap or cold cache. Case ID -> reason.
	Skipped map[string]string
	// Files counts, per case, the files its throughput.files globs
	// matched: the work a trial does, as processes to start.
	Files map[string]int
	// Notes keeps what happened per case that statistics alone do not show,
	// e.g. why adaptive repetition stopped: case ID -> note.
	Notes map[string]string
	// Repeat is the repetition the run ran with: the spec's after
	// overrides. Zero for runs recorded before it was kept, and for
	// imported runs.
	Repeat Repeat
	// Stops says, per case, why adaptive repetition stopped its trials
	// (case ID -> stop); nil without adaptive stops. Its note says the
	// same in words.
	Stops map[string]Stop
	// Throughput per case, when the spec declares it: case ID -> amount per trial.
	Throughput     map[string]float64
	ThroughputUnit ThroughputUnit
	// ThroughputBytes per case, when the spec counts items and also bytes:
	// case ID -> bytes per trial.
	ThroughputBytes map[string]float64
	// ScalingParam is the spec's Scaling param, if any.
	ScalingParam string
	// Placements says where each case was planned to run on node pools:
	// case ID -> node, its architecture and the image chosen for it. nil
	// for the local executor.
	Placements map[string]CasePlacement
	// Nodes are the facts of every node the run used, as fingerprinted
	// when it first contacted them.
	Nodes []NodeFacts
	// NodeEvents are what happened to nodes during the run: lost, removed
	// from or added to the pool, and where their work went.
	NodeEvents []NodeEvent
	// Warnings are what went wrong around the trials and the user should
	// know: a cleanup that failed, nodes that could not be discovered, a
	// subscriber that missed events. They are also in the event log.
	Warnings []string
	// Collection is what the collector gathered beside the run and what
	// it cost; nil when nothing was collected (collection off, or a run
	// recorded before benchrig had a collector).
	Collection *Collection
	// Profiling is how the run's trials were profiled (the event perf
	// actually sampled); nil when they were not.
	Profiling *Profiling
	// Gate is the run judged against its baseline (the request's Gate);
	// nil when none was asked for, or until it is judged.
	Gate   *GateResult
	Trials []Trial // filled when a run is loaded whole
}

// NodeFacts are what a node's engine says about itself, fingerprinted on
// first contact and again by pool check; a run keeps the facts of every
// node it used.
type NodeFacts struct {
	Name string `json:"name"`
	Pool string `json:"pool,omitempty"`
	Host string `json:"host"`
	// Swarm is the manager's address when the node is one of a Swarm
	// cluster's (Host is then the manager too), and SwarmNodeID the
	// node's ID in the cluster.
	Swarm       string `json:"swarm,omitempty"`
	SwarmNodeID string `json:"swarm_node_id,omitempty"`
	// Arch is the architecture trials run as (GOARCH name): the pools
	// file's declared arch when set, else the engine's. EngineArch is what
	// the engine itself reported, so an emulated node shows both.
	Arch          string            `json:"arch"`
	ArchDeclared  bool              `json:"arch_declared,omitempty"`
	EngineArch    string            `json:"engine_arch"`
	OS            string            `json:"os"`
	Kernel        string            `json:"kernel"`
	CPUs          int               `json:"cpus"`
	MemoryBytes   int64             `json:"memory_bytes"`
	EngineVersion string            `json:"engine_version"`
	APIVersion    string            `json:"api_version"`
	Runtimes      []string          `json:"runtimes,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"` // the pools file's and the engine's, the file's winning
	Hostname      string            `json:"hostname,omitempty"`
	// Accelerators are the node's GPUs: the pools file's gpus when it
	// declares them, else the CDI devices its engine reports; nil when
	// not looked for.
	Accelerators *Accelerators `json:"accelerators,omitempty"`
	// Latency is one round trip to the engine (a ping) when the facts
	// were taken.
	Latency time.Duration `json:"latency_ns"`
}

// CasePlacement is where a case runs: its home node (trials move to
// another node of the same class only when that node is lost), the node's
// architecture and the image resolved for it.
type CasePlacement struct {
	Node  string `json:"node"`
	Arch  string `json:"arch"`
	Image string `json:"image"`
}

// NodeEvent kinds.
const (
	NodeLost    = "lost"    // the engine stopped answering
	NodeRemoved = "removed" // the pools file no longer lists it
	NodeAdded   = "added"   // the pools file lists a new node of the placement
)

// NodeEvent is something that happened to a node during a run, and what
// became of its work.
type NodeEvent struct {
	Time   time.Time `json:"time"`
	Node   string    `json:"node"`
	Kind   string    `json:"kind"`
	Reason string    `json:"reason,omitempty"`
	// MovedTo maps each case whose remaining trials moved to the node
	// that took them over; Failed lists the cases whose remaining trials
	// were recorded as failed (node-lost) because no node of the same
	// class was left.
	MovedTo map[string]string `json:"moved_to,omitempty"`
	Failed  []string          `json:"failed,omitempty"`
	// Interrupted counts the trials in flight on the node when it was
	// lost: not recorded there, and run again where the case moved.
	Interrupted int `json:"interrupted,omitempty"`
}

// Fingerprint records where a run happened.
type Fingerprint struct {
	Hostname    string `json:"hostname"`
	OS          string `json:"os"`
	Kernel      string `json:"kernel"`
	Arch        string `json:"arch"`
	CPUModel    string `json:"cpu_model"`
	CPUs        int    `json:"cpus"`
	MemoryBytes int64  `json:"memory_bytes"`
	Version     string `json:"benchrig_version"`
	GoVersion   string `json:"go_version"`
	SpecHash    string `json:"spec_hash"`
	GitCommit   string `json:"git_commit,omitempty"` // of the spec's folder
	GitDirty    bool   `json:"git_dirty,omitempty"`
	CgroupMode  string `json:"cgroup_mode"` // how trials were measured: "cgroup-v1", "cgroup-v2" or "rusage"
	Executor    string `json:"executor"`
	// Accelerators are the host's GPUs; nil for a run recorded before
	// benchrig looked for them (and for imports).
	Accelerators *Accelerators `json:"accelerators,omitempty"`
}

// String is a short one-line summary. A run imported from go test output
// knows only what its config lines said (goos, goarch, cpu).
func (f Fingerprint) String() string {
	if f.Executor == GoBenchExecutor {
		s := "go test -bench output"
		if f.OS != "" || f.Arch != "" {
			s += ", " + f.OS + "/" + f.Arch
		}
		if f.CPUModel != "" {
			s += ", " + f.CPUModel
		}
		return s
	}
	s := fmt.Sprintf("%s %s/%s %s, %d x %s, %.1f GiB", f.Hostname, f.OS, f.Arch, f.Kernel, f.CPUs, f.CPUModel, float64(f.MemoryBytes)/(1<<30))
	if f.Accelerators != nil {
		s += ", accelerators: " + f.Accelerators.String()
	}
	return s
}
