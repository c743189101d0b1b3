package benchrig

import (
	"context"
	"time"
)

// RunRequest is what a front end (the CLI, the server, cron, CI) asks for
// when it starts a run. It is kept with the run, so that a resumed run
// uses the same spec, overrides, pools and settings.
type RunRequest struct {
	SpecFile string `json:"spec_file"` // as given, resolved against Dir; "" with Commands
	// Commands, instead of a spec file, are run -c's commands: one case
	// each, named by Names when given (see spec.AdHoc).
	Commands []string `json:"commands,omitempty"`
	Names    []string `json:"names,omitempty"`
	// Prepare is run --prepare: a shell command before every trial,
	// replacing the spec's prepare.
	Prepare   string   `json:"prepare,omitempty"`
	Sets      []string `json:"sets,omitempty"`   // --set key=v1,v2
	Repeat    int      `json:"repeat,omitempty"` // 0: the spec's
	Warmup    *int     `json:"warmup,omitempty"` // nil: the spec's
	Pools     []string `json:"pools,omitempty"`  // --pool; empty: the spec's pools
	PoolsFile string   `json:"pools_file,omitempty"`
	Executor  string   `json:"executor,omitempty"` // "local" (the default) when no pools
	Cgroups   string   `json:"cgroups,omitempty"`  // "auto" or "off" for the local executor
	Dir       string   `json:"dir"`                // where relative paths are resolved and commands run
	// FilesRoot confines the files this host reads for the spec
	// (requires.files, throughput.files) to a directory: a server's data
	// directory, so a submitted spec cannot probe the server's files.
	FilesRoot string            `json:"files_root,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	// MaxCases caps the spec's matrix (0: spec.DefaultMaxCases).
	MaxCases int `json:"max_cases,omitempty"`
	// CollectInterval is run --collect-interval (0: the spec's) and
	// NoCollect run --no-collect; both win over the spec's collect block.
	CollectInterval time.Duration `json:"collect_interval_ns,omitempty"`
	NoCollect       bool          `json:"no_collect,omitempty"`
	// Profile is run --profile ("cpu"; "" the spec's) and ProfileFreq run
	// --profile-freq (0: the spec's, or the default); both win over the
	// spec's profile block.
	Profile     string `json:"profile,omitempty"`
	ProfileFreq int    `json:"profile_freq_hz,omitempty"`
	// Gate, when set, judges the run against a baseline when it ends (see
	// GateRequest); the result is kept on the run (Run.Gate).
	Gate *GateRequest `json:"gate,omitempty"`
	// Cases, when set, runs only these cases of the matrix (by case ID): a
	// confirmation run re-runs the suspected ones.
	Cases []string `json:"cases,omitempty"`
	// AvoidNodes maps a case ID to the node it should not run on when its
	// placement has another node of the same class (a confirmation re-run
	// goes elsewhere); a case whose node has no such sibling runs there.
	AvoidNodes map[string]string `json:"avoid_nodes,omitempty"`
}

// RunSummary is a run without its trials, as listed, with counts of them.
type RunSummary struct {
	Run
	TrialCount  int // trials recorded, warmups included
	FailedCount int // trials that failed, warmups included
	WarmupCount int // warmup trials
}

// RunFilter selects runs. Zero fields select everything.
type RunFilter struct {
	Spec   string            // spec name
	Status []RunStatus       // any of these (interrupted included: a stale running run)
	Node   string            // a node the run used
	Arch   string            // an architecture the run used (its host's, or a node's)
	Labels map[string]string // runs carrying all of these labels
	Since  time.Time         // started at or after
	Until  time.Time         // started before
	Limit  int               // page size; <= 0 means 50
	Cursor string            // from a previous page's Next; "" for the first page
}

// RunPage is one page of runs, newest first.
type RunPage struct {
	Runs []RunSummary
	Next string // the cursor of the next page; "" on the last one
}

// BaselineQuery asks for the latest finished run of a spec, optionally on
// one pool or architecture: what a new run is compared against.
type BaselineQuery struct {
	Spec    string
	Pool    string    // a pool the run used; "" any (a local run has none)
	Arch    string    // an architecture the run used; "" any
	Before  time.Time // started before; zero means now
	Exclude string    // a run ID to leave out (the run being judged)
	// Labels selects runs carrying all of these labels (label:branch=main).
	Labels map[string]string
}

// CasePoint is one case of one run in a spec's history.
type CasePoint struct {
	RunID    string
	Started  time.Time
	Status   RunStatus
	CaseID   string
	Node     string
	Measured int           // successful measured trials
	Failed   int           // failed measured trials
	Median   time.Duration // of the successful measured trials' wall times
}

// RunReader reads recorded runs. Every front end (CLI, server, CI client)
// reads through it; an implementation is safe for concurrent use, and
// ctx cancels a query in progress.
//
// A run whose status is running but whose heartbeat is older than
// HeartbeatStale is reported as RunInterrupted.
type RunReader interface {
	// ListRuns returns one page of the runs f selects, newest first.
	ListRuns(ctx context.Context, f RunFilter) (RunPage, error)
	// GetRun loads a run whole, with its trials. ref is an ID, a unique
	// part of one, "latest" or "latest~N". Unknown: ENotFound.
	GetRun(ctx context.Context, ref string) (*Run, error)
	// Events returns the run's events with Seq > after, in order.
	Events(ctx context.Context, runID string, after int64) ([]Event, error)
	// LatestFinished returns the latest finished run q selects, without
	// its trials; ENotFound when there is none.
	LatestFinished(ctx context.Context, q BaselineQuery) (*RunSummary, error)
	// CaseHistory returns the spec's runs' figures for caseID, newest
	// first, at most limit of them (<= 0: 50).
	CaseHistory(ctx context.Context, spec, caseID string, limit int) ([]CasePoint, error)
}
