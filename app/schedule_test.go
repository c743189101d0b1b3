package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/sqlite"
)

// schedStore is the real store, with the statuses of the runs the fake
// submitter "queued" (the queue records them in the real server) and a
// channel that sees every firing recorded.
type schedStore struct {
	*sqlite.DB
	mu       sync.Mutex
	status   map[string]benchrig.RunStatus
	recorded chan benchrig.ScheduleFiring // nil: not watched
}

func (st *schedStore) GetRun(ctx context.Context, ref string) (*benchrig.Run, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.status[ref]
	if !ok {
		return nil, benchrig.Errorf(benchrig.ENotFound, "run %s not found", ref)
	}
	return &benchrig.Run{ID: ref, Status: s}, nil
}

func (st *schedStore) setStatus(id string, s benchrig.RunStatus) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.status[id] = s
}

func (st *schedStore) RecordFiring(ctx context.Context, id string, f benchrig.ScheduleFiring, keep int) error {
	err := st.DB.RecordFiring(ctx, id, f, keep)
	if st.recorded != nil && err == nil {
		st.recorded <- f
	}
	return err
}

// schedSubmitter queues runs named r1, r2... with status queued, or fails
// with err; each submission is also sent on subs when it is set.
type schedSubmitter struct {
	store *schedStore
	mu    sync.Mutex
	n     int
	err   error
	got   []benchrig.Submission
	subs  chan benchrig.Submission
	block chan struct{} // when set, Submit waits for it
}

func (f *schedSubmitter) Submit(ctx context.Context, sub benchrig.Submission) (*benchrig.Run, error) {
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	f.got = append(f.got, sub)
	err := f.err
	f.n++
	id := fmt.Sprintf("r%d", f.n)
	f.mu.Unlock()
	if f.subs != nil {
		f.subs <- sub
	}
	if err != nil {
		return nil, err
	}
	f.store.setStatus(id, benchrig.RunQueued)
	return &benchrig.Run{ID: id, Status: benchrig.RunQueued}, nil
}

var _ Submitter = (*schedSubmitter)(nil)
var _ ScheduleStore = (*sqlite.DB)(nil)

// schedClock is a settable fake clock.
type schedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *schedClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *schedClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var schedT0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func newSchedTest(t *testing.T) (*Scheduler, *schedStore, *schedSubmitter, *schedClock) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &schedStore{DB: db, status: map[string]benchrig.RunStatus{}}
	sub := &schedSubmitter{store: st}
	clk := &schedClock{t: schedT0}
	return NewScheduler(SchedulerConfig{Store: st, Submit: sub, Now: clk.now}), st, sub, clk
}

const schedSpec = `name: nightly
command: "echo {{.n}}"
params:
  n: [1, 2]
`

func TestScheduleCreateValidates(t *testing.T) {
	s, _, _, _ := newSchedTest(t)
	ok := benchrig.Schedule{Cron: "@every 10s", Spec: schedSpec, Enabled: true}
	for _, tc := range []struct {
		name   string
		change func(*benchrig.Schedule)
		field  string
		line   int
		want   string
	}{
		{"four fields", func(s *benchrig.Schedule) { s.Cron = "* * * *" }, "cron", 0, "expected exactly 5 fields, found 4"},
		{"minute out of range", func(s *benchrig.Schedule) { s.Cron = "61 * * * *" }, "cron", 0, "above maximum"},
		{"bad every", func(s *benchrig.Schedule) { s.Cron = "@every soon" }, "cron", 0, `"@every soon": failed to parse duration`},
		{"every under a second", func(s *benchrig.Schedule) { s.Cron = "@every 500ms" }, "cron", 0, "at least 1s"},
		{"unknown descriptor", func(s *benchrig.Schedule) { s.Cron = "@fortnightly" }, "cron", 0, "unrecognized descriptor"},
		{"empty cron", func(s *benchrig.Schedule) { s.Cron = " " }, "cron", 0, "required"},
		{"zone in expression", func(s *benchrig.Schedule) { s.Cron = "CRON_TZ=UTC @daily" }, "cron", 0, "as time_zone"},
		{"never", func(s *benchrig.Schedule) { s.Cron = "0 0 30 2 *" }, "cron", 0, "no such time"},
		{"unknown zone", func(s *benchrig.Schedule) { s.TimeZone = "Mars/Olympus" }, "time_zone", 0, `"Mars/Olympus" is not an IANA time zone`},
		{"local zone", func(s *benchrig.Schedule) { s.TimeZone = "Local" }, "time_zone", 0, "name the zone"},
		{"overlap", func(s *benchrig.Schedule) { s.Overlap = "wait" }, "overlap", 0, `"wait" is not skip`},
		{"reserved label", func(s *benchrig.Schedule) { s.Labels = map[string]string{"schedule": "x"} }, "labels.schedule", 0, "reserved"},
		{"no spec", func(s *benchrig.Schedule) { s.Spec = "" }, "spec", 0, "required"},
		{"bad spec", func(s *benchrig.Schedule) { s.Spec = schedSpec + "repeat: many\n"; s.Name = "night" }, "repeat", 5, ""},
		{"bad set", func(s *benchrig.Schedule) { s.Sets = []string{"m=1"} }, "set", 0, `"m"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := ok
			tc.change(&in)
			_, err := s.Create(context.Background(), in)
			var es benchrig.Errors
			if !errors.As(err, &es) || benchrig.ErrorCode(err) != benchrig.EInvalid {
				t.Fatalf("err = %v (%T), want benchrig.Errors", err, err)
			}
			var found *benchrig.Error
			for _, e := range es {
				if e.Field == tc.field {
					found = e
				}
			}
			if found == nil || found.Line != tc.line || !strings.Contains(found.Msg, tc.want) {
				t.Errorf("errors %q: want field %s line %d with %q", err, tc.field, tc.line, tc.want)
			}
			if tc.name == "bad spec" && found != nil && found.File != "night" {
				t.Errorf("spec error names file %q, want the schedule's name", found.File)
			}
		})
	}
	list, err := s.List(context.Background())
	if err != nil || len(list) != 0 {
		t.Errorf("after refusals: %d schedules, %v", len(list), err)
	}
}

func TestScheduleCreateAndNext(t *testing.T) {
	s, _, _, _ := newSchedTest(t)
	ctx := context.Background()
	sc, err := s.Create(ctx, benchrig.Schedule{Cron: "0 3 * * *", TimeZone: "Europe/Paris", Spec: schedSpec, Enabled: true, By: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "nightly" || sc.Overlap != benchrig.OverlapSkip || !strings.HasPrefix(sc.ID, "s-") || !sc.Created.Equal(schedT0) {
		t.Errorf("created %+v: want the spec's name, overlap skip, an ID, created now", sc)
	}
	// 03:00 in Paris is 02:00 UTC in December.
	want := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
	got, err := s.Get(ctx, sc.ID)
	if err != nil || !got.Next.Equal(want) || !sc.Next.Equal(want) {
		t.Errorf("next = %v / %v (%v), want %v", sc.Next, got.Next, err, want)
	}
	off := false
	got, err = s.Update(ctx, sc.ID, benchrig.SchedulePatch{Enabled: &off})
	if err != nil || got.Enabled || !got.Next.IsZero() {
		t.Errorf("disabled: %+v, %v: want no next time", got, err)
	}
	if _, err := s.Get(ctx, "s-none"); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("unknown: err = %v, want ENotFound", err)
	}
	bad := "nope"
	if _, err := s.Update(ctx, sc.ID, benchrig.SchedulePatch{Cron: &bad}); benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("patch with a bad cron: err = %v, want EInvalid", err)
	}
	if err := s.Delete(ctx, sc.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, sc.ID); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("delete twice: err = %v, want ENotFound", err)
	}
}

// Each time submits, unless the previous run is still queued or running
// and the schedule says skip; a failed submit is recorded with its error.
func TestScheduleFiringSkipsOverlap(t *testing.T) {
	s, st, sub, _ := newSchedTest(t)
	ctx := context.Background()
	sc, err := s.Create(ctx, benchrig.Schedule{Cron: "@every 10s", Spec: schedSpec, Enabled: true,
		Sets: []string{"n=2"}, Labels: map[string]string{"team": "perf"}})
	if err != nil {
		t.Fatal(err)
	}
	at := func(i int) time.Time { return schedT0.Add(time.Duration(i) * 10 * time.Second) }
	s.fire(ctx, sc.ID, at(1)) // r1, queued
	s.fire(ctx, sc.ID, at(2)) // skipped: r1 still queued
	st.setStatus("r1", benchrig.RunRunning)
	s.fire(ctx, sc.ID, at(3)) // skipped: r1 still running
	st.setStatus("r1", benchrig.RunFinished)
	s.fire(ctx, sc.ID, at(4)) // r2
	st.setStatus("r2", benchrig.RunFailed)
	sub.err = benchrig.Errorf(benchrig.EInvalid, "pool lab: privileged containers are not allowed")
	s.fire(ctx, sc.ID, at(5)) // failed
	sub.err = nil
	s.fire(ctx, sc.ID, at(6)) // r4 (r3 was the failed one's number)

	got, err := s.Get(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []benchrig.ScheduleFiring{
		{Time: at(6), RunID: "r4"},
		{Time: at(5), Error: "pool lab: privileged containers are not allowed"},
		{Time: at(4), RunID: "r2"},
		{Time: at(3), Skipped: "previous run r1 still running"},
		{Time: at(2), Skipped: "previous run r1 still queued"},
		{Time: at(1), RunID: "r1"},
	}
	if fmt.Sprint(got.History) != fmt.Sprint(want) {
		t.Errorf("history:\n%v\nwant\n%v", got.History, want)
	}
	if got.LastRun != "r4" || !got.LastTime.Equal(at(6)) {
		t.Errorf("last run %s at %v, want r4 at %v", got.LastRun, got.LastTime, at(6))
	}
	first := sub.got[0]
	if string(first.Spec) != schedSpec || first.SpecName != "nightly" || first.By != "schedule:"+sc.ID ||
		fmt.Sprint(first.Request.Sets) != "[n=2]" || first.Request.Labels["team"] != "perf" || first.Request.Labels["schedule"] != sc.ID {
		t.Errorf("submission = %+v", first)
	}
	if sc.Labels["schedule"] != "" {
		t.Errorf("the schedule's own labels were changed: %v", sc.Labels)
	}
}

func TestScheduleOverlapQueue(t *testing.T) {
	s, _, sub, _ := newSchedTest(t)
	ctx := context.Background()
	sc, err := s.Create(ctx, benchrig.Schedule{Cron: "@hourly", Spec: schedSpec, Enabled: true, Overlap: benchrig.OverlapQueue})
	if err != nil {
		t.Fatal(err)
	}
	s.fire(ctx, sc.ID, schedT0.Add(time.Hour))
	s.fire(ctx, sc.ID, schedT0.Add(2*time.Hour)) // r1 still queued: queued behind it
	if len(sub.got) != 2 {
		t.Errorf("%d submissions, want 2 (overlap queue)", len(sub.got))
	}
}

// A time that comes while the previous one is still being submitted is
// skipped, and said so.
func TestScheduleFiringWhileSubmitting(t *testing.T) {
	s, st, sub, _ := newSchedTest(t)
	st.recorded = make(chan benchrig.ScheduleFiring, 4)
	sub.block = make(chan struct{})
	sub.subs = make(chan benchrig.Submission, 4)
	ctx := context.Background()
	sc, err := s.Create(ctx, benchrig.Schedule{Cron: "@every 1s", Spec: schedSpec, Enabled: true, Overlap: benchrig.OverlapQueue})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.fire(ctx, sc.ID, schedT0.Add(time.Second)); close(done) }()
	// The first firing holds the schedule once it reads it; wait until it
	// does by polling the flag (memory, not time).
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		busy := s.firing[sc.ID]
		s.mu.Unlock()
		if busy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first firing never started")
		}
		time.Sleep(time.Millisecond)
	}
	s.fire(ctx, sc.ID, schedT0.Add(2*time.Second))
	if f := <-st.recorded; f.Skipped != skippedBusy || !f.Time.Equal(schedT0.Add(2*time.Second)) {
		t.Errorf("second time recorded %+v, want skipped: %s", f, skippedBusy)
	}
	close(sub.block)
	<-done
	if f := <-st.recorded; f.RunID != "r1" {
		t.Errorf("first time recorded %+v, want run r1", f)
	}
}

// On start, times missed while the server was down are recorded as one
// skipped entry with their count, nothing is submitted for them, and a
// disabled schedule misses nothing; enabling it again counts from then.
func TestScheduleMissedTimes(t *testing.T) {
	s, st, sub, clk := newSchedTest(t)
	ctx := context.Background()
	hourly, err := s.Create(ctx, benchrig.Schedule{Cron: "0 * * * *", Spec: schedSpec, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	every, err := s.Create(ctx, benchrig.Schedule{Cron: "@every 10s", Spec: schedSpec, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	off, err := s.Create(ctx, benchrig.Schedule{Cron: "@every 10s", Spec: schedSpec, Enabled: false})
	if err != nil {
		t.Fatal(err)
	}
	once, err := s.Create(ctx, benchrig.Schedule{Cron: "30 12 * * *", Spec: schedSpec, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	// The hourly one ran at 13:00, then the server stopped.
	s.fire(ctx, hourly.ID, schedT0.Add(time.Hour))
	st.setStatus("r1", benchrig.RunFinished)

	// Restarted at 18:20 with a new scheduler on the same store.
	clk.set(schedT0.Add(6*time.Hour + 20*time.Minute))
	s2 := NewScheduler(SchedulerConfig{Store: st, Submit: sub, Now: clk.now})
	sctx, cancel := context.WithCancel(ctx)
	if err := s2.start(sctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-s2.cron.Stop().Done() })

	get := func(id string) *benchrig.Schedule {
		t.Helper()
		sc, err := s2.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	h := get(hourly.ID)
	wantH := benchrig.ScheduleFiring{Time: schedT0.Add(2 * time.Hour), Last: schedT0.Add(6 * time.Hour), Count: 5, Skipped: "server was down"}
	if len(h.History) != 2 || h.History[0] != wantH || h.History[1].RunID != "r1" {
		t.Errorf("hourly history %+v, want %+v then r1", h.History, wantH)
	}
	// 12:00:10 to 18:20:00 every 10 s.
	e := get(every.ID)
	wantE := benchrig.ScheduleFiring{Time: schedT0.Add(10 * time.Second), Last: schedT0.Add(6*time.Hour + 20*time.Minute), Count: 6*360 + 120, Skipped: "server was down"}
	if len(e.History) != 1 || e.History[0] != wantE {
		t.Errorf("@every history %+v, want %+v", e.History, wantE)
	}
	if o := get(off.ID); len(o.History) != 0 {
		t.Errorf("disabled schedule recorded %+v", o.History)
	}
	if o := get(once.ID); len(o.History) != 1 || o.History[0] != (benchrig.ScheduleFiring{Time: schedT0.Add(30 * time.Minute), Skipped: "server was down"}) {
		t.Errorf("one missed time: %+v", o.History)
	}
	if len(sub.got) != 1 {
		t.Errorf("%d submissions, want only the one before the restart", len(sub.got))
	}
	if !h.Checked.Equal(schedT0.Add(6 * time.Hour)) {
		t.Errorf("checked %v after catching up, want the last missed time %v", h.Checked, schedT0.Add(6*time.Hour))
	}

	// Disable, restart later: nothing missed; enable at 20:00 and restart at
	// 20:00:25: the two times since enabling only.
	no, yes := false, true
	if _, err := s2.Update(ctx, every.ID, benchrig.SchedulePatch{Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	clk.set(schedT0.Add(8 * time.Hour))
	if _, err := s2.Update(ctx, every.ID, benchrig.SchedulePatch{Enabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if got := get(every.ID); len(got.History) != 1 {
		t.Errorf("enabling ran or recorded missed times: %+v", got.History)
	}
	clk.set(schedT0.Add(8*time.Hour + 25*time.Second))
	s3 := NewScheduler(SchedulerConfig{Store: st, Submit: sub, Now: clk.now})
	if err := s3.start(sctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { <-s3.cron.Stop().Done() })
	got := get(every.ID)
	want := benchrig.ScheduleFiring{Time: schedT0.Add(8*time.Hour + 10*time.Second), Last: schedT0.Add(8*time.Hour + 20*time.Second), Count: 2, Skipped: "server was down"}
	if len(got.History) != 2 || got.History[0] != want {
		t.Errorf("after enabling and a restart: %+v, want %+v first", got.History, want)
	}
}

func TestScheduleHistoryKeepsLatest(t *testing.T) {
	s, _, _, _ := newSchedTest(t)
	ctx := context.Background()
	sc, err := s.Create(ctx, benchrig.Schedule{Cron: "@every 1m", Spec: schedSpec, Enabled: true, Overlap: benchrig.OverlapQueue})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= HistoryKeep+5; i++ {
		s.fire(ctx, sc.ID, schedT0.Add(time.Duration(i)*time.Minute))
	}
	got, err := s.Get(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.History) != HistoryKeep || got.History[0].RunID != fmt.Sprintf("r%d", HistoryKeep+5) || got.History[HistoryKeep-1].RunID != "r6" {
		t.Errorf("history of %d, newest %+v, oldest %+v", len(got.History), got.History[0], got.History[len(got.History)-1])
	}
	// A disabled schedule keeps it and does not fire.
	no := false
	if _, err := s.Update(ctx, sc.ID, benchrig.SchedulePatch{Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	s.fire(ctx, sc.ID, schedT0.Add(time.Hour*2))
	if got, _ := s.Get(ctx, sc.ID); len(got.History) != HistoryKeep || got.History[0].RunID != fmt.Sprintf("r%d", HistoryKeep+5) {
		t.Errorf("disabled: history changed to %d entries, newest %+v", len(got.History), got.History[0])
	}
}

// The real schedClock: "@every 1s" submits at two times, and the third is
// skipped while the second run is still running. Waits on the fake's
// channels, never on time.
func TestSchedulerRealTime(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := &schedStore{DB: db, status: map[string]benchrig.RunStatus{}, recorded: make(chan benchrig.ScheduleFiring, 16)}
	sub := &schedSubmitter{store: st, subs: make(chan benchrig.Submission, 16)}
	s := NewScheduler(SchedulerConfig{Store: st, Submit: sub})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	sc, err := s.Create(ctx, benchrig.Schedule{Cron: "@every 1s", Spec: schedSpec, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	timeout := time.After(30 * time.Second)
	next := func() benchrig.ScheduleFiring {
		t.Helper()
		select {
		case f := <-st.recorded:
			return f
		case <-timeout:
			t.Fatal("no firing within 30 s")
		}
		panic("unreachable")
	}
	f1 := next()
	if f1.RunID != "r1" {
		t.Fatalf("first time: %+v", f1)
	}
	st.setStatus("r1", benchrig.RunFinished)
	f2 := next()
	if f2.RunID != "r2" || !f2.Time.After(f1.Time) {
		t.Fatalf("second time: %+v after %+v", f2, f1)
	}
	// r2 stays queued: the next time is skipped.
	f3 := next()
	if f3.Skipped != "previous run r2 still queued" || !f3.Time.After(f2.Time) {
		t.Fatalf("third time: %+v", f3)
	}
	if len(sub.subs) != 2 {
		t.Errorf("%d submissions, want 2", len(sub.subs))
	}
	// Times are cron's, on whole seconds a second apart.
	if f2.Time.Sub(f1.Time) != time.Second || f1.Time.Nanosecond() != 0 {
		t.Errorf("times %v, %v: want whole seconds 1 s apart", f1.Time, f2.Time)
	}
	got, err := s.Get(ctx, sc.ID)
	if err != nil || got.Next.IsZero() || !got.Next.After(f3.Time) {
		t.Errorf("next = %v (%v), want after %v", got.Next, err, f3.Time)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
