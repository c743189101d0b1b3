package web

import (
	"context"

	"github.com/benchrig/benchrig"
)

// Schedules are the server's cron schedules (app.Scheduler implements
// it). Methods are safe for concurrent use.
type Schedules interface {
	List(ctx context.Context) ([]benchrig.Schedule, error)
	Get(ctx context.Context, id string) (*benchrig.Schedule, error)
	// Create validates (cron expression, time zone, spec) and starts a
	// schedule; bad input is EInvalid with the reason.
	Create(ctx context.Context, s benchrig.Schedule) (*benchrig.Schedule, error)
	// Update applies the fields p sets.
	Update(ctx context.Context, id string, p benchrig.SchedulePatch) (*benchrig.Schedule, error)
	Delete(ctx context.Context, id string) error
}

// Pools are the pools and nodes runs can use, with their health and facts.
type Pools interface {
	// Pools lists every pool with its nodes as last checked; refresh
	// contacts the nodes first (bounded by ctx).
	Pools(ctx context.Context, refresh bool) ([]benchrig.PoolStatus, error)
}

// SampleSource reads a run's collector samples for the charts: from
// Elasticsearch when the server ships there, from the store otherwise.
type SampleSource interface {
	// Samples returns the samples of one trial (ref "RUN/CASE#REP"), or of
	// the run's host when ref is "" and host is true, in time order.
	//
	// With q.Max > 0 it returns at most about Max samples: every
	// stride-th sample of each target (by seq) with its first and final
	// ones, for the smallest power-of-two stride that fits; stride is 1
	// when every sample is returned.
	Samples(ctx context.Context, runID string, q SampleQuery) (samples []benchrig.Sample, stride int64, err error)
	Name() string // "store" or "elasticsearch"
}

// SampleQuery selects samples of a run.
type SampleQuery struct {
	Trial string                // a trial reference; "" all trials
	Kinds []benchrig.SampleKind // nil: all kinds
	Max   int                   // 0: all of them
}

// ShareStore keeps which runs and comparisons are public. A share is a
// stable random key that needs no token; without one a run is private.
type ShareStore interface {
	// Share makes what (a run ID, or "RUN_A..RUN_B" for a comparison)
	// public and returns its key; sharing again returns the same key.
	Share(ctx context.Context, what string) (key string, err error)
	// Unshare makes it private again; its key stops working.
	Unshare(ctx context.Context, what string) error
	// Shared resolves a key; ENotFound for an unknown or revoked one.
	Shared(ctx context.Context, key string) (what string, err error)
	// SharedKey is what's key, "" when it is private.
	SharedKey(ctx context.Context, what string) (string, error)
}

// Profiles reads the call stacks perf sampled during a run's trials (the
// sqlite store implements it: benchrig.ProfileStore's read half). Safe for
// concurrent use.
type Profiles interface {
	// Profiles returns the run's trial profiles in case and trial order;
	// a run without any (or unknown) has none, without error.
	Profiles(ctx context.Context, runID string) ([]benchrig.TrialProfile, error)
}
