package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/spec"
)

// Submitter queues runs: the server's queue. Submit returns once the run
// is recorded (queued); it is called from the scheduler's goroutines, one
// firing of a schedule at a time.
type Submitter interface {
	Submit(ctx context.Context, sub benchrig.Submission) (*benchrig.Run, error)
}

// ScheduleStore keeps schedules and their history (sqlite.DB), and reads
// the runs they submitted. Safe for concurrent use.
type ScheduleStore interface {
	ListSchedules(ctx context.Context) ([]benchrig.Schedule, error)
	// GetSchedule: ENotFound for an unknown ID.
	GetSchedule(ctx context.Context, id string) (*benchrig.Schedule, error)
	CreateSchedule(ctx context.Context, s benchrig.Schedule) error
	// UpdateSchedule replaces the definition, and Checked when it is set;
	// what firings recorded stays.
	UpdateSchedule(ctx context.Context, s benchrig.Schedule) error
	DeleteSchedule(ctx context.Context, id string) error
	// RecordFiring adds to the history (keeping the latest keep) and
	// moves Checked, and LastRun with a run.
	RecordFiring(ctx context.Context, id string, f benchrig.ScheduleFiring, keep int) error
	GetRun(ctx context.Context, ref string) (*benchrig.Run, error)
}

// HistoryKeep is how many firings a schedule keeps: a dashboard's page of
// them, about two days of an hourly schedule.
const HistoryKeep = 50

// fireTimeout bounds one firing (read the previous run, submit, record):
// a queue that takes longer is stuck, and the time is recorded as failed.
const fireTimeout = 30 * time.Second

// maxMissed bounds the count of times missed while the server was down
// for an expression that must be stepped through (a "@every" is counted
// by division): a minutely schedule two years down.
const maxMissed = 1_000_000

// Skip reasons, as the history shows them.
const (
	skippedDown = "server was down"
	skippedBusy = "the previous time was still being submitted"
)

// SchedulerConfig is what a Scheduler works with.
type SchedulerConfig struct {
	Store  ScheduleStore
	Submit Submitter
	Logger *slog.Logger     // failures that cannot be recorded in a history
	Now    func() time.Time // time.Now unless a test sets it
}

// Scheduler runs specs at the times of cron expressions
// (github.com/robfig/cron/v3): it keeps the schedules in its store, submits
// a run at each time, and records each time's outcome in the schedule's
// history. It implements the server's schedules API; its methods are
// safe for concurrent use.
type Scheduler struct {
	store  ScheduleStore
	submit Submitter
	log    *slog.Logger
	now    func() time.Time
	cron   *cron.Cron

	// mu guards the maps and runCtx, never I/O. It is held across calls
	// to cron's Schedule and Remove, which only hand an entry to cron's
	// goroutine, so that changes of one schedule's entry are not
	// interleaved.
	mu      sync.Mutex
	entries map[string]cron.EntryID // enabled schedules' cron entries
	firing  map[string]bool         // schedules with a firing in progress
	runCtx  context.Context         // set by Run
	running bool
}

// NewScheduler makes a scheduler; Run starts its clock.
func NewScheduler(cfg SchedulerConfig) *Scheduler {
	s := &Scheduler{
		store: cfg.Store, submit: cfg.Submit, log: cfg.Logger, now: cfg.Now,
		cron:    cron.New(cron.WithLocation(time.UTC)),
		entries: map[string]cron.EntryID{},
		firing:  map[string]bool{},
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Run records the times each enabled schedule missed while the server was
// down (skipped, not run), then fires schedules at their times until ctx
// ends, and waits for firings in progress to finish.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while it started: a clean stop, like the queue's
		}
		return err
	}
	<-ctx.Done()
	<-s.cron.Stop().Done()
	return nil
}

// start is Run up to starting cron's clock: missed times recorded, every
// enabled schedule given to cron.
func (s *Scheduler) start(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return fmt.Errorf("scheduler: already running")
	}
	s.running, s.runCtx = true, ctx
	s.mu.Unlock()

	list, err := s.store.ListSchedules(ctx)
	if err != nil {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
		return fmt.Errorf("scheduler: %w", err)
	}
	now := s.now()
	for i := range list {
		sc := &list[i]
		if !sc.Enabled {
			continue
		}
		sched, err := parseSchedule(sc.Cron, sc.TimeZone)
		if err != nil {
			// Valid when it was stored: the time zone database changed.
			s.record(ctx, sc.ID, benchrig.ScheduleFiring{Time: now, Error: "cannot schedule: " + err.Error()})
			continue
		}
		s.catchUp(ctx, sc, sched, now)
		s.mu.Lock()
		if _, ok := s.entries[sc.ID]; !ok {
			s.addLocked(sc.ID, sched)
		}
		s.mu.Unlock()
	}
	s.cron.Start()
	return nil
}

// catchUp records the times of sc after the latest it accounted for and
// up to now as skipped because the server was down: one history entry
// with their count, so that a schedule down for a week does not flood its
// history. Nothing is run for them.
func (s *Scheduler) catchUp(ctx context.Context, sc *benchrig.Schedule, sched cron.Schedule, now time.Time) {
	from := sc.Checked
	if from.IsZero() {
		from = sc.Created
	}
	first := sched.Next(from)
	if first.IsZero() || first.After(now) {
		return
	}
	count, last := 1, first
	if d, ok := sched.(cron.ConstantDelaySchedule); ok {
		// first is on a whole second, so each next time is Delay later.
		count = int(now.Sub(first)/d.Delay) + 1
		last = first.Add(time.Duration(count-1) * d.Delay)
	} else {
		for t := sched.Next(first); !t.IsZero() && !t.After(now); t = sched.Next(t) {
			count, last = count+1, t
			if count == maxMissed {
				last = now // counted enough: the rest are accounted for too
				break
			}
		}
	}
	f := benchrig.ScheduleFiring{Time: first, Skipped: skippedDown}
	if count > 1 {
		f.Count, f.Last = count, last
	}
	s.record(ctx, sc.ID, f)
}

// addLocked gives schedule id's times to cron; s.mu is held.
func (s *Scheduler) addLocked(id string, sched cron.Schedule) {
	if old, ok := s.entries[id]; ok {
		s.cron.Remove(old)
	}
	s.entries[id] = s.cron.Schedule(sched, cron.FuncJob(func() { s.fireEntry(id) }))
}

func (s *Scheduler) removeEntry(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.entries[id]; ok {
		s.cron.Remove(old)
		delete(s.entries, id)
	}
}

// fireEntry is cron's job for schedule id: it fires at the time cron
// scheduled it (the entry's Prev), not at the moment the goroutine runs.
func (s *Scheduler) fireEntry(id string) {
	s.mu.Lock()
	eid, ok := s.entries[id]
	ctx := s.runCtx
	s.mu.Unlock()
	if !ok || ctx == nil {
		return
	}
	t := s.cron.Entry(eid).Prev
	if t.IsZero() {
		t = s.now()
	}
	// A firing that has begun is finished and recorded even when the
	// server is stopping: Run waits for it.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fireTimeout)
	defer cancel()
	s.fire(fctx, id, t)
}

// fire handles schedule id's time t: it skips the time when the previous
// run is still going and the schedule says skip, submits a run otherwise,
// and records what happened.
func (s *Scheduler) fire(ctx context.Context, id string, t time.Time) {
	s.mu.Lock()
	busy := s.firing[id]
	s.firing[id] = true
	s.mu.Unlock()
	if busy {
		s.record(ctx, id, benchrig.ScheduleFiring{Time: t, Skipped: skippedBusy})
		return
	}
	defer func() {
		s.mu.Lock()
		delete(s.firing, id)
		s.mu.Unlock()
	}()
	sc, err := s.store.GetSchedule(ctx, id)
	if benchrig.ErrorCode(err) == benchrig.ENotFound {
		return // deleted since cron took the time
	}
	if err != nil {
		s.log.Error("schedule: cannot read it at its time", "schedule", id, "time", t, "err", err)
		return
	}
	if !sc.Enabled {
		return
	}
	s.record(ctx, id, s.attempt(ctx, sc, t))
}

// attempt is one time of sc: skipped, submitted or failed.
func (s *Scheduler) attempt(ctx context.Context, sc *benchrig.Schedule, t time.Time) benchrig.ScheduleFiring {
	f := benchrig.ScheduleFiring{Time: t}
	if sc.Overlap != benchrig.OverlapQueue && sc.LastRun != "" {
		prev, err := s.store.GetRun(ctx, sc.LastRun)
		switch {
		case benchrig.ErrorCode(err) == benchrig.ENotFound:
			// Deleted: nothing of it is running.
		case err != nil:
			f.Error = fmt.Sprintf("read previous run %s: %v", sc.LastRun, err)
			return f
		case prev.Status == benchrig.RunQueued || prev.Status == benchrig.RunRunning:
			f.Skipped = fmt.Sprintf("previous run %s still %s", sc.LastRun, prev.Status)
			return f
		}
	}
	run, err := s.submit.Submit(ctx, submission(sc))
	if err != nil {
		f.Error = err.Error()
		return f
	}
	f.RunID = run.ID
	return f
}

// submission is what a time of sc submits: its spec and overrides, its
// labels and schedule=ID, by schedule:ID.
func submission(sc *benchrig.Schedule) benchrig.Submission {
	labels := maps.Clone(sc.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[scheduleLabel] = sc.ID
	return benchrig.Submission{
		Spec:     []byte(sc.Spec),
		SpecName: sc.Name,
		By:       "schedule:" + sc.ID,
		Request:  benchrig.RunRequest{Sets: append([]string(nil), sc.Sets...), Labels: labels},
	}
}

// scheduleLabel is the label every run of a schedule carries, with the
// schedule's ID: runs list --label schedule=ID finds them.
const scheduleLabel = "schedule"

// record keeps f in schedule id's history. A failure to record cannot be
// shown anywhere else: it is logged.
func (s *Scheduler) record(ctx context.Context, id string, f benchrig.ScheduleFiring) {
	err := s.store.RecordFiring(ctx, id, f, HistoryKeep)
	if err != nil && benchrig.ErrorCode(err) != benchrig.ENotFound {
		s.log.Error("schedule: cannot record a firing", "schedule", id, "time", f.Time, "run", f.RunID,
			"skipped", f.Skipped, "error", f.Error, "err", err)
	}
}

// List returns every schedule with its history and next time.
func (s *Scheduler) List(ctx context.Context) ([]benchrig.Schedule, error) {
	list, err := s.store.ListSchedules(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for i := range list {
		list[i].Next = s.next(&list[i], now)
	}
	return list, nil
}

// Get returns one schedule; ENotFound for an unknown ID.
func (s *Scheduler) Get(ctx context.Context, id string) (*benchrig.Schedule, error) {
	sc, err := s.store.GetSchedule(ctx, id)
	if err != nil {
		return nil, err
	}
	sc.Next = s.next(sc, s.now())
	return sc, nil
}

// next is sc's next time: cron's when it has the schedule, computed from
// now otherwise (before Run); zero when disabled.
func (s *Scheduler) next(sc *benchrig.Schedule, now time.Time) time.Time {
	if !sc.Enabled {
		return time.Time{}
	}
	s.mu.Lock()
	eid, ok := s.entries[sc.ID]
	running := s.running
	s.mu.Unlock()
	if ok && running {
		if n := s.cron.Entry(eid).Next; !n.IsZero() {
			return n
		}
	}
	sched, err := parseSchedule(sc.Cron, sc.TimeZone)
	if err != nil {
		return time.Time{}
	}
	return sched.Next(now)
}

// Create validates in (cron expression, time zone, spec with its
// overrides, labels, overlap) and starts it. Its ID, Created and history
// are the scheduler's; Enabled is taken as given. Bad input is
// benchrig.Errors (EInvalid), each naming its field, spec errors with
// their line.
func (s *Scheduler) Create(ctx context.Context, in benchrig.Schedule) (*benchrig.Schedule, error) {
	sc := benchrig.Schedule{
		Name: in.Name, Cron: in.Cron, TimeZone: in.TimeZone, Enabled: in.Enabled, Spec: in.Spec,
		Sets: in.Sets, Labels: in.Labels, Overlap: in.Overlap, By: in.By,
	}
	sched, err := s.check(ctx, &sc)
	if err != nil {
		return nil, err
	}
	now := s.now()
	sc.ID, sc.Created, sc.Checked = newScheduleID(), now, now
	if err := s.store.CreateSchedule(ctx, sc); err != nil {
		return nil, err
	}
	if sc.Enabled {
		s.mu.Lock()
		s.addLocked(sc.ID, sched)
		s.mu.Unlock()
	}
	sc.Next = s.next(&sc, now)
	return &sc, nil
}

// Update applies p to schedule id after validating the result as Create
// does. Enabling a schedule does not run the times it missed while
// disabled, and a new expression or time zone counts from now.
func (s *Scheduler) Update(ctx context.Context, id string, p benchrig.SchedulePatch) (*benchrig.Schedule, error) {
	cur, err := s.store.GetSchedule(ctx, id)
	if err != nil {
		return nil, err
	}
	sc := *cur
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&sc.Cron, p.Cron)
	set(&sc.TimeZone, p.TimeZone)
	set(&sc.Spec, p.Spec)
	set(&sc.Name, p.Name) // "": the spec's name again
	if p.Enabled != nil {
		sc.Enabled = *p.Enabled
	}
	if p.Sets != nil {
		sc.Sets = *p.Sets
	}
	if p.Labels != nil {
		sc.Labels = *p.Labels
	}
	if p.Overlap != nil {
		sc.Overlap = *p.Overlap
	}
	sched, err := s.check(ctx, &sc)
	if err != nil {
		return nil, err
	}
	retime := sc.Cron != cur.Cron || sc.TimeZone != cur.TimeZone || sc.Enabled != cur.Enabled
	sc.Checked = time.Time{} // kept
	if retime {
		sc.Checked = s.now()
	}
	if err := s.store.UpdateSchedule(ctx, sc); err != nil {
		return nil, err
	}
	if retime {
		if sc.Enabled {
			s.mu.Lock()
			s.addLocked(id, sched)
			s.mu.Unlock()
		} else {
			s.removeEntry(id)
		}
	}
	return s.Get(ctx, id)
}

// Delete removes a schedule and its history; its runs stay.
func (s *Scheduler) Delete(ctx context.Context, id string) error {
	if err := s.store.DeleteSchedule(ctx, id); err != nil {
		return err
	}
	s.removeEntry(id)
	return nil
}

// check validates sc as Create takes it, fills its defaults (overlap
// skip, the spec's name) and returns its cron schedule.
func (s *Scheduler) check(ctx context.Context, sc *benchrig.Schedule) (cron.Schedule, error) {
	var errs benchrig.Errors
	bad := func(field, msg string) {
		errs = append(errs, &benchrig.Error{Code: benchrig.EInvalid, Field: field, Msg: msg})
	}
	var sched cron.Schedule
	if _, err := location(sc.TimeZone); err != nil {
		bad("time_zone", err.Error())
	} else if sched, err = parseSchedule(sc.Cron, sc.TimeZone); err != nil {
		bad("cron", err.Error())
	} else if sched.Next(s.now()).IsZero() {
		bad("cron", fmt.Sprintf("%q: no such time in the next five years (cron's horizon)", sc.Cron))
	}
	switch sc.Overlap {
	case "":
		sc.Overlap = benchrig.OverlapSkip
	case benchrig.OverlapSkip, benchrig.OverlapQueue:
	default:
		bad("overlap", fmt.Sprintf("%q is not skip (the default) or queue", sc.Overlap))
	}
	for k := range sc.Labels {
		switch {
		case k == scheduleLabel:
			bad("labels."+k, "reserved: every run of a schedule is labelled schedule=ID")
		case strings.TrimSpace(k) == "":
			bad("labels", "a label needs a key")
		}
	}
	if strings.TrimSpace(sc.Spec) == "" {
		bad("spec", "required: the spec's YAML")
	} else {
		file := sc.Name
		if file == "" {
			file = "spec"
		}
		parsed, err := spec.Parse(file, []byte(sc.Spec))
		if err == nil {
			_, err = spec.ApplySet(parsed, sc.Sets)
		}
		if err == nil {
			err = spec.CheckCases(parsed, 0)
		}
		if err != nil {
			errs = append(errs, specErrors(file, err)...)
		} else if sc.Name == "" {
			sc.Name = parsed.Name
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return sched, nil
}

// specErrors names the schedule as the file of the spec's errors, and
// "set" as the field of --set's.
func specErrors(file string, err error) benchrig.Errors {
	var in benchrig.Errors
	switch e := err.(type) {
	case benchrig.Errors:
		in = e
	case *benchrig.Error:
		in = benchrig.Errors{e}
	default:
		return benchrig.Errors{{Code: benchrig.EInvalid, File: file, Field: "spec", Msg: err.Error()}}
	}
	out := make(benchrig.Errors, len(in))
	for i, e := range in {
		c := *e
		c.Code, c.File = benchrig.EInvalid, file
		if c.Field == "--set" {
			c.Field = "set"
		}
		out[i] = &c
	}
	return out
}

// parseSchedule parses a cron expression ("0 3 * * *", "@daily",
// "@every 10m") in time zone tz ("" is UTC). The error is cron's reason.
func parseSchedule(expr, tz string) (cron.Schedule, error) {
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return nil, fmt.Errorf(`required: five fields ("0 3 * * *"), a descriptor ("@daily") or "@every 10m"`)
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return nil, fmt.Errorf("%q: give the time zone as time_zone, not in the expression", expr)
	}
	if d, ok := strings.CutPrefix(expr, "@every "); ok {
		// cron rounds an interval under a second up to one: say so
		// rather than run at another rate than asked.
		if v, err := time.ParseDuration(strings.TrimSpace(d)); err == nil && v < time.Second {
			return nil, fmt.Errorf("%q: the interval must be at least 1s", expr)
		}
	}
	loc, err := location(tz)
	if err != nil {
		return nil, err
	}
	sched, err := cron.ParseStandard("CRON_TZ=" + loc.String() + " " + expr)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", expr, err)
	}
	return sched, nil
}

// location is an IANA time zone; "" is UTC. "Local" is refused: it would
// mean whatever the server's host is set to.
func location(tz string) (*time.Location, error) {
	if tz == "Local" {
		return nil, fmt.Errorf(`"Local" depends on the server's host: name the zone ("Europe/Paris")`)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA time zone (such as Europe/Paris or UTC)", tz)
	}
	return loc, nil
}

// newScheduleID is a short random ID: "s-" and 8 hex digits.
func newScheduleID() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return "s-" + hex.EncodeToString(b[:])
}
