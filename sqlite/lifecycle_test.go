package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// listIDs returns the IDs of one page.
func listIDs(t *testing.T, db *DB, f benchrig.RunFilter) ([]string, benchrig.RunPage) {
	t.Helper()
	page, err := db.ListRuns(context.Background(), f)
	if err != nil {
		t.Fatalf("ListRuns(%+v): %v", f, err)
	}
	var ids []string
	for _, r := range page.Runs {
		ids = append(ids, r.ID)
	}
	return ids, page
}

// filterStore holds runs that differ in every filtered respect. Newest
// first they are: intr, stale, fresh, pool-b1, pool-a3, loc-a2, loc-a1.
func filterStore(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, _ := openTest(t)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	local := func(arch string) benchrig.Fingerprint { return benchrig.Fingerprint{Arch: arch, Executor: "local"} }
	runs := []*benchrig.Run{
		{ID: "loc-a1", SpecName: "a", Status: benchrig.RunFinished, Started: base.Add(1 * time.Hour), Fingerprint: local("amd64"),
			Labels: map[string]string{"branch": "main"}},
		{ID: "loc-a2", SpecName: "a", Status: benchrig.RunFailed, Started: base.Add(2 * time.Hour), Fingerprint: local("arm64"),
			Labels: map[string]string{"branch": "dev"}},
		{ID: "pool-a3", SpecName: "a", Status: benchrig.RunFinished, Started: base.Add(3 * time.Hour), Fingerprint: local("amd64"),
			Nodes:  []benchrig.NodeFacts{{Name: "lab1", Pool: "lab", Arch: "amd64"}, {Name: "lab2", Pool: "lab", Arch: "arm64"}},
			Labels: map[string]string{"branch": "main", "ci": "yes"}},
		// Its nodes come later, with RecordNodeEvents.
		{ID: "pool-b1", SpecName: "b", Status: benchrig.RunCancelled, Started: base.Add(4 * time.Hour), Fingerprint: local("amd64"),
			Placements: map[string]benchrig.CasePlacement{"default": {Node: "lab3", Arch: "amd64"}}},
		{ID: "fresh", SpecName: "b", Status: benchrig.RunRunning, Started: base.Add(5 * time.Hour), Fingerprint: local("amd64"),
			Heartbeat: testNow.Add(-time.Second)},
		{ID: "stale", SpecName: "b", Status: benchrig.RunRunning, Started: base.Add(6 * time.Hour), Fingerprint: local("amd64"),
			Heartbeat: testNow.Add(-benchrig.HeartbeatStale - time.Second)},
		{ID: "intr", SpecName: "a", Status: benchrig.RunInterrupted, Started: base.Add(7 * time.Hour), Fingerprint: local("amd64")},
	}
	for _, r := range runs {
		if err := db.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RecordNodeEvents(ctx, "pool-b1", []benchrig.NodeFacts{{Name: "lab3", Pool: "lab", Arch: "amd64"}}, nil); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestListRunsFilters(t *testing.T) {
	db := filterStore(t)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	st := func(s ...benchrig.RunStatus) []benchrig.RunStatus { return s }
	tests := []struct {
		name string
		f    benchrig.RunFilter
		want []string
		code benchrig.Code
	}{
		{name: "none", want: []string{"intr", "stale", "fresh", "pool-b1", "pool-a3", "loc-a2", "loc-a1"}},
		{name: "spec", f: benchrig.RunFilter{Spec: "a"}, want: []string{"intr", "pool-a3", "loc-a2", "loc-a1"}},
		{name: "unknown spec", f: benchrig.RunFilter{Spec: "zz"}},
		{name: "finished", f: benchrig.RunFilter{Status: st(benchrig.RunFinished)}, want: []string{"pool-a3", "loc-a1"}},
		{name: "failed or cancelled", f: benchrig.RunFilter{Status: st(benchrig.RunFailed, benchrig.RunCancelled)}, want: []string{"pool-b1", "loc-a2"}},
		{name: "running is the fresh one", f: benchrig.RunFilter{Status: st(benchrig.RunRunning)}, want: []string{"fresh"}},
		{name: "interrupted includes the stale one", f: benchrig.RunFilter{Status: st(benchrig.RunInterrupted)}, want: []string{"intr", "stale"}},
		{name: "running or interrupted", f: benchrig.RunFilter{Status: st(benchrig.RunInterrupted, benchrig.RunRunning)}, want: []string{"intr", "stale", "fresh"}},
		{name: "unknown status", f: benchrig.RunFilter{Status: st("paused")}, code: benchrig.EInvalid},
		{name: "node of a pool", f: benchrig.RunFilter{Node: "lab1"}, want: []string{"pool-a3"}},
		{name: "node from RecordNodeEvents", f: benchrig.RunFilter{Node: "lab3"}, want: []string{"pool-b1"}},
		{name: "node local", f: benchrig.RunFilter{Node: "local", Spec: "a"}, want: []string{"intr", "loc-a2", "loc-a1"}},
		{name: "arch of the host or a node", f: benchrig.RunFilter{Arch: "arm64"}, want: []string{"pool-a3", "loc-a2"}},
		{name: "arch with spec (probed)", f: benchrig.RunFilter{Arch: "arm64", Spec: "a"}, want: []string{"pool-a3", "loc-a2"}},
		{name: "label", f: benchrig.RunFilter{Labels: map[string]string{"branch": "main"}}, want: []string{"pool-a3", "loc-a1"}},
		{name: "all labels must match", f: benchrig.RunFilter{Labels: map[string]string{"branch": "main", "ci": "yes"}}, want: []string{"pool-a3"}},
		{name: "label with spec (probed)", f: benchrig.RunFilter{Spec: "a", Labels: map[string]string{"branch": "main", "ci": "yes"}}, want: []string{"pool-a3"}},
		{name: "label value differs", f: benchrig.RunFilter{Labels: map[string]string{"branch": "release"}}},
		{name: "since is inclusive", f: benchrig.RunFilter{Since: base.Add(5 * time.Hour)}, want: []string{"intr", "stale", "fresh"}},
		{name: "until is exclusive", f: benchrig.RunFilter{Until: base.Add(3 * time.Hour)}, want: []string{"loc-a2", "loc-a1"}},
		{name: "since and until", f: benchrig.RunFilter{Since: base.Add(2 * time.Hour), Until: base.Add(4 * time.Hour)}, want: []string{"pool-a3", "loc-a2"}},
		{name: "everything", f: benchrig.RunFilter{Spec: "a", Status: st(benchrig.RunFinished), Node: "lab2", Arch: "amd64",
			Labels: map[string]string{"ci": "yes"}, Since: base, Until: base.Add(24 * time.Hour)}, want: []string{"pool-a3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := db.ListRuns(context.Background(), tc.f)
			if tc.code != "" {
				if c := benchrig.ErrorCode(err); c != tc.code {
					t.Fatalf("code = %q, want %s (err %v)", c, tc.code, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range page.Runs {
				ids = append(ids, r.ID)
			}
			if !reflect.DeepEqual(ids, tc.want) || page.Next != "" {
				t.Errorf("ids = %v (next %q), want %v", ids, page.Next, tc.want)
			}
		})
	}
	// The summaries read the stale run as interrupted, the fresh one as
	// running, and decode labels and nodes.
	_, page := listIDs(t, db, benchrig.RunFilter{})
	for _, r := range page.Runs {
		switch r.ID {
		case "stale":
			if r.Status != benchrig.RunInterrupted {
				t.Errorf("stale run listed as %s", r.Status)
			}
		case "fresh":
			if r.Status != benchrig.RunRunning {
				t.Errorf("fresh run listed as %s", r.Status)
			}
		case "pool-a3":
			if r.Labels["ci"] != "yes" || len(r.Nodes) != 2 {
				t.Errorf("pool-a3 listed with labels %v nodes %v", r.Labels, r.Nodes)
			}
		}
	}
}

func TestListRunsCursor(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	// Newest first: the three at t0+1h (latest recorded first), the two at
	// t0, the zero start last.
	for _, r := range []struct {
		id      string
		started time.Time
	}{
		{"t0-a", t0}, {"t1-a", t0.Add(time.Hour)}, {"zero", time.Time{}}, {"t1-b", t0.Add(time.Hour)},
		{"t0-b", t0}, {"t1-c", t0.Add(time.Hour)},
	} {
		if err := db.CreateRun(ctx, &benchrig.Run{ID: r.id, SpecName: "s", Started: r.started}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"t1-c", "t1-b", "t1-a", "t0-b", "t0-a", "zero"}
	for _, f := range []benchrig.RunFilter{{}, {Spec: "s"}} {
		for size := 1; size <= len(want)+1; size++ {
			t.Run(fmt.Sprintf("spec %q page size %d", f.Spec, size), func(t *testing.T) {
				var got []string
				f := f
				f.Limit = size
				for pages := 0; ; pages++ {
					if pages > len(want) {
						t.Fatalf("paging does not end: %v", got)
					}
					ids, page := listIDs(t, db, f)
					if len(ids) > size {
						t.Fatalf("page of %d runs, limit %d", len(ids), size)
					}
					got = append(got, ids...)
					if page.Next == "" {
						break
					}
					f.Cursor = page.Next
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("pages give %v, want %v", got, want)
				}
			})
		}
	}

	// A run with no start time did not start before anything.
	if ids, _ := listIDs(t, db, benchrig.RunFilter{Until: t0.Add(time.Hour)}); !reflect.DeepEqual(ids, []string{"t0-b", "t0-a"}) {
		t.Errorf("until t0+1h = %v, want [t0-b t0-a]", ids)
	}

	// A run recorded between two pages, newer than all, does not shift
	// the next page.
	_, first := listIDs(t, db, benchrig.RunFilter{Limit: 2})
	if err := db.CreateRun(ctx, &benchrig.Run{ID: "later", Started: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if ids, _ := listIDs(t, db, benchrig.RunFilter{Limit: 2, Cursor: first.Next}); !reflect.DeepEqual(ids, []string{"t1-a", "t0-b"}) {
		t.Errorf("second page after an insert = %v, want [t1-a t0-b]", ids)
	}

	for _, bad := range []string{"!!!", base64.RawURLEncoding.EncodeToString([]byte("{}")),
		base64.RawURLEncoding.EncodeToString([]byte("not json")), base64.RawURLEncoding.EncodeToString([]byte(`{"s":1,"n":"x"}`))} {
		_, err := db.ListRuns(ctx, benchrig.RunFilter{Cursor: bad})
		if benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), "cursor") {
			t.Errorf("cursor %q: %v, want EInvalid naming the cursor", bad, err)
		}
	}
}

func TestInterruptedDerivation(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	run := sampleRun("r", testNow.Add(-time.Minute))
	if err := db.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	tr := benchrig.Trial{RunID: "r", CaseID: run.Cases[0].ID, Measurement: benchrig.Measurement{Wall: time.Second}}
	if err := db.AddTrial(ctx, &tr); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		clock time.Duration // after the heartbeat
		want  benchrig.RunStatus
	}{
		{"fresh", 0, benchrig.RunRunning},
		{"at the limit", benchrig.HeartbeatStale, benchrig.RunRunning},
		{"past the limit", benchrig.HeartbeatStale + time.Nanosecond, benchrig.RunInterrupted},
		{"long dead", time.Hour, benchrig.RunInterrupted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db.now = func() time.Time { return testNow.Add(tc.clock) }
			got, err := db.GetRun(ctx, "r")
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.want || !got.Heartbeat.Equal(testNow) {
				t.Errorf("GetRun: status %s heartbeat %v, want %s and %v", got.Status, got.Heartbeat, tc.want, testNow)
			}
			ids, page := listIDs(t, db, benchrig.RunFilter{Status: []benchrig.RunStatus{tc.want}})
			if !reflect.DeepEqual(ids, []string{"r"}) || page.Runs[0].Status != tc.want {
				t.Errorf("ListRuns(status %s) = %v", tc.want, ids)
			}
			other := benchrig.RunRunning
			if tc.want == other {
				other = benchrig.RunInterrupted
			}
			if ids, _ := listIDs(t, db, benchrig.RunFilter{Status: []benchrig.RunStatus{other}}); len(ids) != 0 {
				t.Errorf("ListRuns(status %s) = %v, want none", other, ids)
			}
			h, err := db.CaseHistory(ctx, "sort", run.Cases[0].ID, 0)
			if err != nil || len(h) != 1 || h[0].Status != tc.want {
				t.Errorf("CaseHistory = %+v, %v; want one point, %s", h, err, tc.want)
			}
			if _, err := db.LatestFinished(ctx, benchrig.BaselineQuery{Spec: "sort"}); benchrig.ErrorCode(err) != benchrig.ENotFound {
				t.Errorf("LatestFinished = %v, want ENotFound: a running run is no baseline", err)
			}
		})
	}
	// Reading changed nothing in the store.
	var status string
	rawQuery(t, path, "SELECT status FROM runs WHERE id = 'r'", &status)
	if status != "running" {
		t.Errorf("stored status %s after reads, want running", status)
	}
	// A heartbeat makes it running again.
	db.now = func() time.Time { return testNow.Add(time.Hour) }
	if err := db.Heartbeat(ctx, "r", testNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := db.GetRun(ctx, "r"); err != nil || got.Status != benchrig.RunRunning {
		t.Errorf("after a heartbeat: %v, %v; want running", got.Status, err)
	}

	// A running run without a heartbeat (written before heartbeats) is
	// interrupted at once.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE runs SET heartbeat = NULL`); err != nil {
		t.Fatal(err)
	}
	if got, err := db.GetRun(ctx, "r"); err != nil || got.Status != benchrig.RunInterrupted {
		t.Errorf("without a heartbeat: %v, %v; want interrupted", got.Status, err)
	}
}

func TestInterruptStale(t *testing.T) {
	ctx := context.Background()
	db := filterStore(t)
	// Heartbeats from the filter store: fresh 1 s old, stale 11 s old.
	got, err := db.InterruptStale(ctx, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "stale" || got[0].Status != benchrig.RunInterrupted || got[0].Heartbeat.IsZero() {
		t.Fatalf("InterruptStale = %+v, want the stale run, interrupted, its last heartbeat kept", got)
	}
	if got[0].Fingerprint.Arch != "amd64" {
		t.Errorf("returned run not decoded: %+v", got[0].Run)
	}
	// For good: the stored status is interrupted even for a clock that
	// would call it fresh, and the heartbeat cannot revive it.
	db.now = func() time.Time { return testNow.Add(-time.Hour) }
	if r, err := db.GetRun(ctx, "stale"); err != nil || r.Status != benchrig.RunInterrupted {
		t.Errorf("after InterruptStale: %v, %v", r.Status, err)
	}
	if err := db.Heartbeat(ctx, "stale", testNow); benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("Heartbeat of an interrupted run: %v, want EInvalid", err)
	}
	// Nothing else was stale; later, the fresh one is.
	if again, err := db.InterruptStale(ctx, testNow); err != nil || len(again) != 0 {
		t.Errorf("second InterruptStale = %+v, %v; want none", again, err)
	}
	later, err := db.InterruptStale(ctx, testNow.Add(time.Minute))
	if err != nil || len(later) != 1 || later[0].ID != "fresh" {
		t.Errorf("InterruptStale a minute later = %+v, %v; want the fresh run", later, err)
	}

	// The returned summaries carry what a reaper needs.
	db2, _ := openTest(t)
	run := sampleRun("full", testNow)
	run.Nodes = []benchrig.NodeFacts{{Name: "lab1", Pool: "lab", Arch: "arm64"}}
	if err := db2.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	for _, tr := range sampleTrials(run, 6) {
		if err := db2.AddTrial(ctx, &tr); err != nil {
			t.Fatal(err)
		}
	}
	got, err = db2.InterruptStale(ctx, testNow.Add(time.Hour))
	if err != nil || len(got) != 1 {
		t.Fatalf("InterruptStale = %+v, %v", got, err)
	}
	s := got[0]
	if !reflect.DeepEqual(s.Nodes, run.Nodes) || !reflect.DeepEqual(s.Request, run.Request) || !reflect.DeepEqual(s.Labels, run.Labels) ||
		s.TrialCount != 6 || s.WarmupCount != 4 || s.FailedCount != 2 {
		t.Errorf("summary = nodes %v request %+v labels %v counts %d/%d/%d", s.Nodes, s.Request, s.Labels, s.TrialCount, s.WarmupCount, s.FailedCount)
	}
}

func TestReopenRun(t *testing.T) {
	ctx := context.Background()
	at := testNow.Add(time.Hour)
	tests := []struct {
		name      string
		status    benchrig.RunStatus
		heartbeat time.Time // for a running run
		code      benchrig.Code
	}{
		{name: "interrupted", status: benchrig.RunInterrupted},
		{name: "cancelled", status: benchrig.RunCancelled},
		{name: "running with a stale heartbeat", status: benchrig.RunRunning, heartbeat: at.Add(-benchrig.HeartbeatStale - time.Second)},
		{name: "running and alive", status: benchrig.RunRunning, heartbeat: at.Add(-time.Second), code: benchrig.EInvalid},
		{name: "finished", status: benchrig.RunFinished, code: benchrig.EInvalid},
		{name: "failed", status: benchrig.RunFailed, code: benchrig.EInvalid},
	}
	db, _ := openTest(t)
	db.now = func() time.Time { return at }
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprint("run", i)
			run := &benchrig.Run{ID: id, Status: tc.status, Heartbeat: tc.heartbeat, Started: testNow}
			if tc.status != benchrig.RunRunning {
				run.Finished = testNow.Add(time.Minute)
			}
			if err := db.CreateRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			events := []benchrig.Event{{Run: id, Seq: 1, Kind: benchrig.EventRunStarted}, {Run: id, Seq: 2, Kind: benchrig.EventTrialPlanned}}
			if err := db.AddEvents(ctx, events); err != nil {
				t.Fatal(err)
			}
			before, err := db.GetRun(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			last, err := db.ReopenRun(ctx, id, at)
			if c := benchrig.ErrorCode(err); c != tc.code {
				t.Fatalf("ReopenRun: %v, want code %q", err, tc.code)
			}
			got, err := db.GetRun(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if tc.code != "" {
				if !reflect.DeepEqual(got, before) {
					t.Errorf("a refused reopen changed the run\n got %+v\nwant %+v", got, before)
				}
				return
			}
			if last != 2 {
				t.Errorf("ReopenRun says the last event is %d, want 2", last)
			}
			if got.Status != benchrig.RunRunning || !got.Heartbeat.Equal(at) || !got.Finished.IsZero() {
				t.Errorf("reopened: status %s heartbeat %v finished %v; want running, %v, zero", got.Status, got.Heartbeat, got.Finished, at)
			}
		})
	}
	if _, err := db.ReopenRun(ctx, "ghost", at); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("unknown run: %v, want ENotFound", err)
	}
}

func TestHeartbeatAndFinish(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	if err := db.CreateRun(ctx, &benchrig.Run{ID: "r", Status: benchrig.RunRunning}); err != nil {
		t.Fatal(err)
	}
	got, _ := db.GetRun(ctx, "r")
	if !got.Heartbeat.Equal(testNow) {
		t.Errorf("CreateRun heartbeat = %v, want the clock's %v", got.Heartbeat, testNow)
	}
	beat := testNow.Add(2 * time.Second)
	if err := db.Heartbeat(ctx, "r", beat); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.GetRun(ctx, "r"); !got.Heartbeat.Equal(beat) {
		t.Errorf("heartbeat = %v, want %v", got.Heartbeat, beat)
	}
	if err := db.FinishRun(ctx, "r", benchrig.RunFinished, beat, nil); err != nil {
		t.Fatal(err)
	}
	var hb sql.NullString
	rawQuery(t, path, "SELECT heartbeat FROM runs WHERE id = 'r'", &hb)
	if hb.Valid {
		t.Errorf("FinishRun left heartbeat %s", hb.String)
	}
	db.now = func() time.Time { return testNow.Add(time.Hour) }
	if got, _ := db.GetRun(ctx, "r"); got.Status != benchrig.RunFinished || !got.Heartbeat.IsZero() {
		t.Errorf("finished run reads %s with heartbeat %v", got.Status, got.Heartbeat)
	}
	for _, tc := range []struct {
		id   string
		code benchrig.Code
	}{{"r", benchrig.EInvalid}, {"ghost", benchrig.ENotFound}} {
		if err := db.Heartbeat(ctx, tc.id, beat); benchrig.ErrorCode(err) != tc.code {
			t.Errorf("Heartbeat(%s): %v, want %s", tc.id, err, tc.code)
		}
	}
}

func TestSetNote(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	if err := db.CreateRun(ctx, &benchrig.Run{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, caseID, note string
		want               map[string]string
	}{
		{"into none", "a", "setup failed", map[string]string{"a": "setup failed"}},
		{"another case", "b", "stopped at CI 1%", map[string]string{"a": "setup failed", "b": "stopped at CI 1%"}},
		{"replace", "a", "skipped", map[string]string{"a": "skipped", "b": "stopped at CI 1%"}},
		{"empty removes", "b", "", map[string]string{"a": "skipped"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := db.SetNote(ctx, "r", tc.caseID, tc.note); err != nil {
				t.Fatal(err)
			}
			got, err := db.GetRun(ctx, "r")
			if err != nil || !reflect.DeepEqual(got.Notes, tc.want) {
				t.Errorf("notes = %v, %v; want %v", got.Notes, err, tc.want)
			}
		})
	}
	if err := db.SetNote(ctx, "ghost", "a", "x"); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("unknown run: %v, want ENotFound", err)
	}
}

func TestAddEvents(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	if err := db.CreateRun(ctx, &benchrig.Run{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	failed, ok := benchrig.OutcomeFailed, benchrig.OutcomeOK
	at := time.Date(2026, 12, 1, 12, 0, 0, 123456789, zone)
	batch := []benchrig.Event{
		{Run: "r", Seq: 1, Time: at, Kind: benchrig.EventRunStarted, Total: 4},
		{Run: "r", Seq: 2, Time: at.Add(time.Second), Kind: benchrig.EventTrialFinished, Trial: &benchrig.TrialRef{Run: "r", Case: "n=1", Rep: 2, Attempt: 1},
			Case: "n=1", Node: "lab1", Warmup: true, Outcome: &failed, Duration: 1500 * time.Millisecond, Msg: "exit 1", Done: 1, Total: 4},
		{Run: "r", Seq: 3, Time: at.Add(2 * time.Second), Kind: benchrig.EventNodeLost, Node: "lab2", Msg: "connection refused", Done: 1, Total: 4},
	}
	if err := db.AddEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// The batch again, as a retry, with one more event: nothing doubles.
	retry := append(slices.Clone(batch), benchrig.Event{Run: "r", Seq: 4, Time: at.Add(3 * time.Second), Kind: benchrig.EventTrialFinished,
		Trial: &benchrig.TrialRef{Run: "r", Case: "n=1", Rep: 3}, Outcome: &ok, Done: 2, Total: 4})
	if err := db.AddEvents(ctx, retry); err != nil {
		t.Fatal(err)
	}
	got, err := db.Events(ctx, "r", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d events after a retried batch, want 4", len(got))
	}
	for i := range retry {
		want := retry[i]
		want.Time = want.Time.UTC()
		// Number is derived from the log: n=1 has warmups #0..#2 (the
		// warmup at rep 2), so rep 2 is warmup 3 and rep 3 trial 1.
		switch want.Seq {
		case 2:
			want.Number = 3
		case 4:
			want.Number = 1
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("event %d\n got %+v\nwant %+v", i, got[i], want)
		}
	}
	if after, err := db.Events(ctx, "r", 2); err != nil || len(after) != 2 || after[0].Seq != 3 {
		t.Errorf("Events after 2 = %+v, %v; want seqs 3 and 4", after, err)
	}
	if none, err := db.Events(ctx, "r", 4); err != nil || len(none) != 0 {
		t.Errorf("Events after the last = %+v, %v; want none, no error", none, err)
	}

	for _, tc := range []struct {
		name   string
		op     func() error
		code   benchrig.Code
		events int // of run r afterwards
	}{
		{"unknown run", func() error {
			return db.AddEvents(ctx, []benchrig.Event{{Run: "ghost", Seq: 1, Kind: benchrig.EventNote}})
		}, benchrig.ENotFound, 4},
		{"a batch with an unknown run writes nothing", func() error {
			return db.AddEvents(ctx, []benchrig.Event{{Run: "r", Seq: 5, Kind: benchrig.EventNote}, {Run: "ghost", Seq: 1, Kind: benchrig.EventNote}})
		}, benchrig.ENotFound, 4},
		{"seq 0", func() error { return db.AddEvents(ctx, []benchrig.Event{{Run: "r", Seq: 0, Kind: benchrig.EventNote}}) }, benchrig.EInvalid, 4},
		{"no kind", func() error { return db.AddEvents(ctx, []benchrig.Event{{Run: "r", Seq: 9}}) }, benchrig.EInvalid, 4},
		{"events of an unknown run", func() error { _, err := db.Events(ctx, "ghost", 0); return err }, benchrig.ENotFound, 4},
		{"empty batch", func() error { return db.AddEvents(ctx, nil) }, "", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); benchrig.ErrorCode(err) != tc.code {
				t.Errorf("err = %v, want code %q", err, tc.code)
			}
			if got, _ := db.Events(ctx, "r", 0); len(got) != tc.events {
				t.Errorf("%d events, want %d", len(got), tc.events)
			}
		})
	}
}

func TestUniqueRepetition(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	if err := db.CreateRun(ctx, &benchrig.Run{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddTrial(ctx, &benchrig.Trial{RunID: "r", Seq: 0, CaseID: "a", Index: 3}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		trial  benchrig.Trial
		code   benchrig.Code
		errHas string
	}{
		{"same case and rep", benchrig.Trial{RunID: "r", Seq: 1, CaseID: "a", Index: 3}, benchrig.EInvalid, "case a repetition 3 is already recorded"},
		{"same rep, another attempt", benchrig.Trial{RunID: "r", Seq: 2, CaseID: "a", Index: 3, Attempt: 1}, benchrig.EInvalid, "repetition 3"},
		{"same seq", benchrig.Trial{RunID: "r", Seq: 0, CaseID: "a", Index: 4}, benchrig.EInvalid, "seq"},
		{"same rep of another case", benchrig.Trial{RunID: "r", Seq: 3, CaseID: "b", Index: 3}, "", ""},
		{"next rep", benchrig.Trial{RunID: "r", Seq: 4, CaseID: "a", Index: 4}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := db.AddTrial(ctx, &tc.trial)
			if c := benchrig.ErrorCode(err); c != tc.code || (err != nil && !strings.Contains(err.Error(), tc.errHas)) {
				t.Errorf("AddTrial: %v, want code %q mentioning %q", err, tc.code, tc.errHas)
			}
		})
	}
	got, _ := db.GetRun(ctx, "r")
	if len(got.Trials) != 3 {
		t.Errorf("%d trials, want 3", len(got.Trials))
	}
}

func TestOutcomeStored(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	if err := db.CreateRun(ctx, &benchrig.Run{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		t    benchrig.Trial
		want benchrig.Outcome
	}{
		{"ok", benchrig.Trial{}, benchrig.OutcomeOK},
		{"runner's outcome kept", benchrig.Trial{Outcome: benchrig.OutcomeWrongOutput}, benchrig.OutcomeWrongOutput},
		{"node lost", benchrig.Trial{Outcome: benchrig.OutcomeNodeLost, Measurement: benchrig.Measurement{ExitCode: -1, Error: "node-lost: lab2"}}, benchrig.OutcomeNodeLost},
		{"ok with a failed measurement is classified", benchrig.Trial{Measurement: benchrig.Measurement{ExitCode: 3}}, benchrig.OutcomeFailed},
		{"ok with a timeout is classified", benchrig.Trial{Measurement: benchrig.Measurement{ExitCode: -1, Error: benchrig.ReasonTimeout}}, benchrig.OutcomeTimeout},
	}
	for i, tc := range tests {
		tc.t.RunID, tc.t.Seq, tc.t.Index, tc.t.CaseID = "r", i, i, "c"
		if err := db.AddTrial(ctx, &tc.t); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.GetRun(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		if o := got.Trials[i].Outcome; o != tc.want || got.Trials[i].Failed() != (tc.want != benchrig.OutcomeOK) {
			t.Errorf("%s: outcome %s (failed %v), want %s", tc.name, o, got.Trials[i].Failed(), tc.want)
		}
	}
	_, page := listIDs(t, db, benchrig.RunFilter{})
	if page.Runs[0].FailedCount != 4 {
		t.Errorf("FailedCount = %d, want 4", page.Runs[0].FailedCount)
	}
}

func TestLatestFinished(t *testing.T) {
	ctx := context.Background()
	db := filterStore(t)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		q    benchrig.BaselineQuery
		want string
		code benchrig.Code
	}{
		{name: "latest finished of the spec", q: benchrig.BaselineQuery{Spec: "a"}, want: "pool-a3"},
		{name: "failed and interrupted runs are no baseline", q: benchrig.BaselineQuery{Spec: "a", Before: base.Add(3 * time.Hour)}, want: "loc-a1"},
		{name: "exclude", q: benchrig.BaselineQuery{Spec: "a", Exclude: "pool-a3"}, want: "loc-a1"},
		{name: "pool", q: benchrig.BaselineQuery{Spec: "a", Pool: "lab"}, want: "pool-a3"},
		{name: "arch of a node", q: benchrig.BaselineQuery{Spec: "a", Arch: "arm64"}, want: "pool-a3"},
		{name: "arch of the host", q: benchrig.BaselineQuery{Spec: "a", Arch: "amd64", Exclude: "pool-a3"}, want: "loc-a1"},
		{name: "label", q: benchrig.BaselineQuery{Spec: "a", Labels: map[string]string{"branch": "main"}, Exclude: "pool-a3"}, want: "loc-a1"},
		{name: "all labels must match", q: benchrig.BaselineQuery{Spec: "a", Labels: map[string]string{"branch": "main", "ci": "yes"}}, want: "pool-a3"},
		{name: "a label only a failed run has", q: benchrig.BaselineQuery{Spec: "a", Labels: map[string]string{"branch": "dev"}}, code: benchrig.ENotFound},
		{name: "none on that pool", q: benchrig.BaselineQuery{Spec: "a", Pool: "edge"}, code: benchrig.ENotFound},
		{name: "none before", q: benchrig.BaselineQuery{Spec: "a", Before: base}, code: benchrig.ENotFound},
		{name: "only cancelled and running", q: benchrig.BaselineQuery{Spec: "b"}, code: benchrig.ENotFound},
		{name: "no spec", q: benchrig.BaselineQuery{}, code: benchrig.EInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.LatestFinished(ctx, tc.q)
			if tc.code != "" {
				if c := benchrig.ErrorCode(err); c != tc.code {
					t.Fatalf("LatestFinished: %v, want code %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tc.want || got.Trials != nil {
				t.Errorf("LatestFinished = %s (%d trials loaded), want %s without trials", got.ID, len(got.Trials), tc.want)
			}
		})
	}
}

func TestCaseHistory(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	type trial struct {
		caseID string
		warmup bool
		wall   time.Duration
		fail   bool
		node   string
	}
	runs := []struct {
		id, spec string
		trials   []trial
	}{
		{"r1", "s", []trial{{"x", true, 99 * ms, false, "n1"}, {"x", false, 3 * ms, false, "n1"}, {"x", false, 1 * ms, false, "n1"}, {"x", false, 2 * ms, false, "n1"}}},
		{"r2", "s", []trial{{"x", false, 4 * ms, false, "n2"}, {"x", false, 8 * ms, false, "n1"}, {"x", false, 50 * ms, true, "n2"}, {"y", false, 1 * ms, false, "n1"}}},
		{"r3", "s", []trial{{"y", false, 1 * ms, false, "n1"}}},     // no trial of x: not listed
		{"r4", "s", []trial{{"x", true, 5 * ms, false, "n1"}}},      // warmups only: listed, empty
		{"r5", "other", []trial{{"x", false, 1 * ms, false, "n1"}}}, // another spec
		{"r6", "s", []trial{{"x", false, 7 * ms, true, "n3"}}},
	}
	for i, r := range runs {
		if err := db.CreateRun(ctx, &benchrig.Run{ID: r.id, SpecName: r.spec, Status: benchrig.RunFinished, Started: base.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for j, tr := range r.trials {
			rec := benchrig.Trial{RunID: r.id, Seq: j, CaseID: tr.caseID, Index: j, Warmup: tr.warmup, Node: tr.node,
				Measurement: benchrig.Measurement{Wall: tr.wall}}
			if tr.fail {
				rec.Outcome, rec.ExitCode = benchrig.OutcomeFailed, 1
			}
			if err := db.AddTrial(ctx, &rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	point := func(id string, hour int, node string, measured, failed int, median time.Duration) benchrig.CasePoint {
		return benchrig.CasePoint{RunID: id, Started: base.Add(time.Duration(hour) * time.Hour), Status: benchrig.RunFinished, CaseID: "x",
			Node: node, Measured: measured, Failed: failed, Median: median}
	}
	all := []benchrig.CasePoint{
		point("r6", 5, "n3", 0, 1, 0),
		point("r4", 3, "", 0, 0, 0),
		point("r2", 1, "n2", 2, 1, 6*ms), // even count: the middle two's mean; n2 ran two of three
		point("r1", 0, "n1", 3, 0, 2*ms), // the warmup's 99 ms is not counted
	}
	tests := []struct {
		name  string
		limit int
		want  []benchrig.CasePoint
	}{
		{"all", 0, all},
		{"limit counts runs", 2, all[:2]},
		{"limit 3", 3, all[:3]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.CaseHistory(ctx, "s", "x", tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("CaseHistory\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, err := db.CaseHistory(ctx, "", "x", 0); benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("no spec: %v, want EInvalid", err)
	}
}

// TestMigrateFromVersion2 builds a store the way benchrig wrote it at
// schema version 2 (the first two migrations, rows as the old code wrote
// them), opens it with this code and checks what migration 3 made of it.
func TestMigrateFromVersion2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v2.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{migrations[0], migrations[1], "PRAGMA user_version = 2", fmt.Sprintf("PRAGMA application_id = %d", applicationID)}
	insertRun := `INSERT INTO runs (id, spec_name, spec_hash, spec_file, spec_source, overrides, status, started, finished,
		fingerprint, cases, baseline_id, notes, throughput, throughput_unit, scaling_param, case_maps)
		VALUES (?, 'sort', 'h', 'sort.yaml', NULL, 'null', ?, ?, ?, ?, 'null', '', 'null', 'null', '', '', ?)`
	for _, s := range stmts {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	for _, r := range [][]any{
		{"local", "failed", "2025-01-01T00:00:00.000000000Z", "2025-01-01T01:00:00.000000000Z", `{"arch":"amd64"}`, `{}`},
		{"pool", "finished", "2025-01-02T00:00:00.000000000Z", "2025-01-02T01:00:00.000000000Z", `{"arch":"amd64"}`,
			`{"placements":{"x":{"node":"lab1","arch":"arm64","image":"i"}},"nodes":[{"name":"lab1","pool":"lab","arch":"arm64"},{"name":"lab2","pool":"lab","arch":"amd64"}]}`},
		{"crashed", "running", "2025-01-03T00:00:00.000000000Z", nil, `{"arch":"arm64"}`, `{}`},
	} {
		if _, err := raw.Exec(insertRun, r...); err != nil {
			t.Fatal(err)
		}
	}
	trials := []struct {
		seq, idx int
		exit     int
		errText  string
		want     benchrig.Outcome
	}{
		{0, 0, 0, "", benchrig.OutcomeOK},
		{1, 1, 2, "", benchrig.OutcomeFailed},
		{2, 2, -1, "signal: killed", benchrig.OutcomeFailed},
		{3, 3, -1, "timeout", benchrig.OutcomeTimeout},
		{4, 4, -1, "cancelled", benchrig.OutcomeCancelled},
		{5, 5, -1, "node-lost: lab2 stopped answering", benchrig.OutcomeNodeLost},
		{6, 6, -1, "docker executor: create container: no such image", benchrig.OutcomeExecutor},
		{7, 1, 0, "", benchrig.OutcomeOK}, // repetition 1 again: renumbered after the last (7)
		{8, 1, 0, "", benchrig.OutcomeOK}, // and again (8)
	}
	for _, tr := range trials {
		if _, err := raw.Exec(`INSERT INTO trials (run_id, seq, case_id, idx, warmup, node, start, wall_ns, user_ns, sys_ns, max_rss,
			exit_code, stdout_bytes, stderr_bytes, stderr_tail, error, source, metrics)
			VALUES ('local', ?, 'x', ?, 0, 'local', NULL, 1, 0, 0, 0, ?, 0, 0, '', ?, 'rusage', 'null')`, tr.seq, tr.idx, tr.exit, tr.errText); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.now = func() time.Time { return testNow }
	var version int
	rawQuery(t, path, "PRAGMA user_version", &version)
	if version != len(migrations) {
		t.Errorf("user_version = %d, want %d", version, len(migrations))
	}
	run, err := db.GetRun(ctx, "local")
	if err != nil {
		t.Fatal(err)
	}
	wantIdx := []int{0, 1, 2, 3, 4, 5, 6, 7, 8}
	failed := 0
	for i, tr := range run.Trials {
		if tr.Outcome != trials[i].want || tr.Failed() != (trials[i].want != benchrig.OutcomeOK) {
			t.Errorf("trial %d (exit %d, error %q): outcome %s, want %s", i, trials[i].exit, trials[i].errText, tr.Outcome, trials[i].want)
		}
		if tr.Index != wantIdx[i] {
			t.Errorf("trial %d: repetition %d, want %d", i, tr.Index, wantIdx[i])
		}
		if tr.Failed() {
			failed++
		}
	}
	page, err := db.ListRuns(ctx, benchrig.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]benchrig.RunStatus{}
	for _, r := range page.Runs {
		statuses[r.ID] = r.Status
		if r.ID == "local" && (r.FailedCount != failed || r.TrialCount != len(trials)) {
			t.Errorf("local: %d of %d trials failed, want %d of %d", r.FailedCount, r.TrialCount, failed, len(trials))
		}
	}
	if statuses["crashed"] != benchrig.RunInterrupted {
		t.Errorf("a running run from before heartbeats reads %s, want interrupted", statuses["crashed"])
	}
	// run_nodes was filled from the stored nodes and fingerprints.
	for _, tc := range []struct {
		f    benchrig.RunFilter
		want []string
	}{
		{benchrig.RunFilter{Node: "local"}, []string{"crashed", "local"}},
		{benchrig.RunFilter{Node: "lab2"}, []string{"pool"}},
		{benchrig.RunFilter{Arch: "arm64"}, []string{"crashed", "pool"}},
	} {
		if ids, _ := listIDs(t, db, tc.f); !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("ListRuns(%+v) = %v, want %v", tc.f, ids, tc.want)
		}
	}
	if b, err := db.LatestFinished(ctx, benchrig.BaselineQuery{Spec: "sort", Pool: "lab"}); err != nil || b.ID != "pool" {
		t.Errorf("LatestFinished on pool lab = %v, %v; want pool", b, err)
	}
	// The unique index holds for what is added now.
	if err := db.AddTrial(ctx, &benchrig.Trial{RunID: "local", Seq: 9, CaseID: "x", Index: 8}); benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("duplicate repetition after migration: %v, want EInvalid", err)
	}
}

// TestRunSetSpelling checks that ListRuns probes for a common value and
// builds a set for a rare one, and that both give the same runs.
func TestRunSetSpelling(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range setMax + 20 { // 514 main, 6 rare
		run := &benchrig.Run{ID: fmt.Sprintf("r%04d", i), SpecName: "s", Started: base.Add(time.Duration(i) * time.Minute),
			Labels: map[string]string{"branch": "main"}}
		if i%100 == 0 {
			run.Labels["branch"] = "rare"
		}
		cols, err := runColumns(run, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO runs (`+runInsertCols+`) VALUES (`+placeholders(len(cols))+`)`, cols...); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO run_labels (run_id, key, value) VALUES (?, 'branch', ?)`, run.ID, run.Labels["branch"]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		value     string
		spec      string
		wantProbe bool
		wantFirst []string
	}{
		{"main", "", true, []string{"r0519", "r0518", "r0517"}},
		{"rare", "", false, []string{"r0500", "r0400", "r0300"}},
		{"rare", "s", true, []string{"r0500", "r0400", "r0300"}}, // within a spec: probe
	}
	for _, tc := range tests {
		t.Run(tc.value+" spec "+tc.spec, func(t *testing.T) {
			f := benchrig.RunFilter{Spec: tc.spec, Labels: map[string]string{"branch": tc.value}, Limit: 3}
			term, err := db.counted(ctx, f)(hasLabel, "branch", tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if probe := term == hasLabel.probe(); probe != tc.wantProbe {
				t.Errorf("spelling %s, want probe %v", term, tc.wantProbe)
			}
			if ids, _ := listIDs(t, db, f); !reflect.DeepEqual(ids, tc.wantFirst) {
				t.Errorf("ListRuns = %v, want %v", ids, tc.wantFirst)
			}
		})
	}
}

// Trials read back are numbered as people count them, warmups and measured
// trials each from 1: by the warmup count the event log shows (all of a
// case's warmups are planned when the run starts, so a warmup that never
// finished still counts), else by the warmup trials recorded.
func TestTrialsNumberedFromOne(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	if err := db.CreateRun(ctx, &benchrig.Run{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, zone)
	var events []benchrig.Event
	for rep := range 4 {
		events = append(events, benchrig.Event{Run: "r", Seq: int64(rep + 1), Time: at, Kind: benchrig.EventTrialPlanned,
			Trial: &benchrig.TrialRef{Run: "r", Case: "a", Rep: rep}, Warmup: rep < 2})
	}
	if err := db.AddEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	trials := []benchrig.Trial{
		// a: warmups #0 and #1 planned; #1 never finished (interrupted).
		{CaseID: "a", Index: 0, Warmup: true},
		{CaseID: "a", Index: 2},
		{CaseID: "a", Index: 3},
		// b: no events (a store from before the event log).
		{CaseID: "b", Index: 0, Warmup: true},
		{CaseID: "b", Index: 1, Warmup: true},
		{CaseID: "b", Index: 2},
		// c: no warmups.
		{CaseID: "c", Index: 0},
		{CaseID: "c", Index: 1},
	}
	for i := range trials {
		trials[i].RunID, trials[i].Seq, trials[i].Outcome = "r", i, benchrig.OutcomeOK
		if err := db.AddTrial(ctx, &trials[i]); err != nil {
			t.Fatal(err)
		}
	}
	run, err := db.GetRun(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range run.Trials {
		kind := "trial"
		if tr.Warmup {
			kind = "warmup"
		}
		got = append(got, fmt.Sprintf("%s %s %d", tr.CaseID, kind, tr.Number))
	}
	want := []string{"a warmup 1", "a trial 1", "a trial 2", "b warmup 1", "b warmup 2", "b trial 1", "c trial 1", "c trial 2"}
	if !slices.Equal(got, want) {
		t.Errorf("numbers %q, want %q", got, want)
	}
}

// TestSetStop: a stop replaces the case's one before, an unknown
// half-width (too few successful trials) reads back as +Inf, and other
// cases' stops stay.
func TestSetStop(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	if err := db.CreateRun(ctx, &benchrig.Run{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		caseID string
		stop   benchrig.Stop
	}{
		{"a", benchrig.Stop{Reason: benchrig.StopMax, Trials: 3, HalfWidth: math.NaN()}},
		{"b", benchrig.Stop{Reason: benchrig.StopCIMet, Trials: 4, HalfWidth: 0.01}},
		{"a", benchrig.Stop{Reason: benchrig.StopMaxTime, Trials: 5, HalfWidth: math.Inf(1)}},
	}
	for _, s := range steps {
		if err := db.SetStop(ctx, "r", s.caseID, s.stop); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.GetRun(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]benchrig.Stop{
		"a": {Reason: benchrig.StopMaxTime, Trials: 5, HalfWidth: math.Inf(1)},
		"b": {Reason: benchrig.StopCIMet, Trials: 4, HalfWidth: 0.01},
	}
	if !reflect.DeepEqual(got.Stops, want) || got.Repeat != (benchrig.Repeat{}) {
		t.Errorf("stops %v, repeat %+v; want %v and none", got.Stops, got.Repeat, want)
	}
	if err := db.SetStop(ctx, "ghost", "a", steps[0].stop); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("unknown run: %v, want ENotFound", err)
	}
}
