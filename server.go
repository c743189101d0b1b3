package benchrig

import "time"

// Submission is a spec sent to a server: through the API, the submit page
// or a schedule. The queue writes Spec where the run can find it again
// (content-addressed, so a resume sees the same bytes) and fills the
// request's SpecFile and Dir; the rest of Request (Sets, Repeat, Pools,
// Labels) is the submitter's.
type Submission struct {
	Spec     []byte     // the spec's YAML
	SpecName string     // how errors name it: "submitted.yaml", a schedule's name
	Request  RunRequest // overrides; SpecFile and Dir are the queue's
	By       string     // who submitted: a token's name, "schedule:ID"
}

// RunQueued is a run submitted to a server and not started yet: it waits
// for a slot on its pools (see QueueStats).
const RunQueued RunStatus = "queued"

// QueueStats is a server's queue at one moment.
type QueueStats struct {
	Queued  int            `json:"queued"`
	Running int            `json:"running"`
	ByPool  map[string]int `json:"by_pool"` // running runs per pool ("local" for the local executor)
	Limits  map[string]int `json:"limits"`  // each pool's concurrency limit
	// RunningRuns and QueuedByPool say which runs: the IDs running on
	// each pool, and how many runs wait for each pool (a run waiting for
	// two pools counts on both). For the pools view; nil when unknown.
	RunningRuns  map[string][]string `json:"running_runs,omitempty"`
	QueuedByPool map[string]int      `json:"queued_by_pool,omitempty"`
}

// ScheduleOverlap is what a schedule does when its previous run is still
// going at its next time.
type ScheduleOverlap string

const (
	// OverlapSkip skips the time and records why (the default).
	OverlapSkip ScheduleOverlap = "skip"
	// OverlapQueue submits anyway; the run waits in the queue.
	OverlapQueue ScheduleOverlap = "queue"
)

// Schedule is a spec run at the times of a cron expression.
type Schedule struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`             // the spec's name unless given
	Cron     string            `json:"cron"`             // "0 3 * * *", "@every 10s", "@daily"
	TimeZone string            `json:"time_zone"`        // IANA name; "" is UTC
	Enabled  bool              `json:"enabled"`          // disabled schedules keep their history
	Spec     string            `json:"spec"`             // the spec's YAML
	Sets     []string          `json:"set,omitempty"`    // overrides, as --set
	Labels   map[string]string `json:"labels,omitempty"` // given to every run
	Overlap  ScheduleOverlap   `json:"overlap"`
	Created  time.Time         `json:"created"`
	By       string            `json:"by,omitempty"` // the token that created it
	LastRun  string            `json:"last_run,omitempty"`
	LastTime time.Time         `json:"last_time,omitzero"`
	Next     time.Time         `json:"next,omitzero"` // zero when disabled
	// Checked is the latest time the schedule has accounted for: fired,
	// skipped, or passed while it was disabled or had another expression.
	// Its times after Checked and before now were missed (the server was
	// down). The store keeps it; the API does not show it.
	Checked time.Time `json:"-"`
	// History is the latest firings, newest first: each run started, and
	// each time skipped with its reason (previous run still going, server
	// down at that time).
	History []ScheduleFiring `json:"history,omitempty"`
}

// ScheduleFiring is one time of a schedule, or several skipped for the
// same reason (times missed while the server was down, collapsed).
type ScheduleFiring struct {
	Time    time.Time `json:"time"`
	RunID   string    `json:"run_id,omitempty"`  // the run submitted
	Skipped string    `json:"skipped,omitempty"` // why no run was submitted
	Error   string    `json:"error,omitempty"`   // the submit failed: why
	// Count is how many times this entry stands for when several were
	// skipped at once (0 and 1: one); Last is the last of them.
	Count int       `json:"count,omitempty"`
	Last  time.Time `json:"last,omitzero"`
}

// SchedulePatch changes a schedule; nil fields stay as they are.
type SchedulePatch struct {
	Cron     *string            `json:"cron,omitempty"`
	TimeZone *string            `json:"time_zone,omitempty"`
	Enabled  *bool              `json:"enabled,omitempty"`
	Spec     *string            `json:"spec,omitempty"`
	Sets     *[]string          `json:"set,omitempty"`
	Labels   *map[string]string `json:"labels,omitempty"`
	Overlap  *ScheduleOverlap   `json:"overlap,omitempty"`
	Name     *string            `json:"name,omitempty"`
}

// PoolStatus is a pool as a server shows it: its nodes with their facts
// and health, and what runs on them.
type PoolStatus struct {
	Name    string       `json:"name"`
	Limit   int          `json:"limit"`             // runs at once on the pool
	Running []string     `json:"running,omitempty"` // run IDs
	Queued  int          `json:"queued"`
	Policy  PoolPolicy   `json:"policy"`
	Nodes   []NodeStatus `json:"nodes"`
	// Swarm is the manager's address of a pool backed by a Swarm
	// cluster, whose nodes are the cluster's; "" for a listed pool.
	Swarm string `json:"swarm,omitempty"`
}

// NodeStatus is one node of a pool: its facts when it answered, or why
// it did not.
type NodeStatus struct {
	Name    string     `json:"name"`
	Host    string     `json:"host"`
	Healthy bool       `json:"healthy"`
	Error   string     `json:"error,omitempty"`
	Checked time.Time  `json:"checked"`
	Facts   *NodeFacts `json:"facts,omitempty"`
	Running []string   `json:"running,omitempty"` // trial refs running there now
	// Availability is a Swarm node's (active, pause, drain); "" for a
	// listed node. Only active nodes take trials.
	Availability string `json:"availability,omitempty"`
}
