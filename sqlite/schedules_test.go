package sqlite

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

func testSchedule(id string) benchrig.Schedule {
	return benchrig.Schedule{
		ID: id, Name: "nightly", Cron: "0 3 * * *", TimeZone: "Europe/Paris", Enabled: true,
		Spec: "name: x\ncommand: true\n", Sets: []string{"n=1,2"}, Labels: map[string]string{"team": "a"},
		Overlap: benchrig.OverlapSkip, Created: testNow, By: "ci", Checked: testNow,
	}
}

func TestScheduleCRUD(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	want := testSchedule("s-1")
	if err := db.CreateSchedule(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSchedule(ctx, want); benchrig.ErrorCode(err) != benchrig.EInvalid {
		t.Errorf("create twice: err = %v, want EInvalid", err)
	}
	got, err := db.GetSchedule(ctx, "s-1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("GetSchedule =\n%+v\nwant\n%+v", *got, want)
	}

	// An update changes the definition and leaves what firings recorded.
	if err := db.RecordFiring(ctx, "s-1", benchrig.ScheduleFiring{Time: testNow.Add(time.Hour), RunID: "r1"}, 0); err != nil {
		t.Fatal(err)
	}
	upd := want
	upd.Cron, upd.Enabled, upd.Sets, upd.Labels, upd.Overlap = "@every 10s", false, nil, nil, benchrig.OverlapQueue
	upd.Checked = time.Time{} // not given: kept
	if err := db.UpdateSchedule(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, err = db.GetSchedule(ctx, "s-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Cron != "@every 10s" || got.Enabled || got.Sets != nil || got.Labels != nil || got.Overlap != benchrig.OverlapQueue {
		t.Errorf("after update: %+v", got)
	}
	if got.LastRun != "r1" || !got.LastTime.Equal(testNow.Add(time.Hour)) || !got.Checked.Equal(testNow.Add(time.Hour)) || len(got.History) != 1 {
		t.Errorf("update lost what the firing recorded: %+v", got)
	}

	if err := db.UpdateSchedule(ctx, testSchedule("nope")); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("update unknown: err = %v, want ENotFound", err)
	}
	if err := db.RecordFiring(ctx, "nope", benchrig.ScheduleFiring{Time: testNow}, 0); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("firing of unknown: err = %v, want ENotFound", err)
	}
	if err := db.CreateSchedule(ctx, testSchedule("s-2")); err != nil {
		t.Fatal(err)
	}
	list, err := db.ListSchedules(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "s-1" || list[1].ID != "s-2" || len(list[0].History) != 1 || len(list[1].History) != 0 {
		t.Fatalf("ListSchedules = %+v, %v", list, err)
	}

	if err := db.DeleteSchedule(ctx, "s-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetSchedule(ctx, "s-1"); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("get deleted: err = %v, want ENotFound", err)
	}
	if err := db.DeleteSchedule(ctx, "s-1"); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Errorf("delete twice: err = %v, want ENotFound", err)
	}
	var firings int
	rawQuery(t, path, `SELECT count(*) FROM schedule_firings WHERE schedule_id = 's-1'`, &firings)
	if firings != 0 {
		t.Errorf("%d firings left of the deleted schedule", firings)
	}
}

// The history keeps the latest firings, newest first; skips do not change
// the last run, and checked only moves forward.
func TestScheduleHistory(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	if err := db.CreateSchedule(ctx, testSchedule("s")); err != nil {
		t.Fatal(err)
	}
	at := func(i int) time.Time { return testNow.Add(time.Duration(i) * time.Minute) }
	for i := 1; i <= 7; i++ {
		f := benchrig.ScheduleFiring{Time: at(i), RunID: "r" + string(rune('0'+i))}
		if i%2 == 0 {
			f = benchrig.ScheduleFiring{Time: at(i), Skipped: "previous run still running"}
		}
		if err := db.RecordFiring(ctx, "s", f, 5); err != nil {
			t.Fatal(err)
		}
	}
	collapsed := benchrig.ScheduleFiring{Time: at(8), Last: at(20), Count: 13, Skipped: "server was down"}
	if err := db.RecordFiring(ctx, "s", collapsed, 5); err != nil {
		t.Fatal(err)
	}
	failed := benchrig.ScheduleFiring{Time: at(21), Error: "queue full"}
	if err := db.RecordFiring(ctx, "s", failed, 5); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetSchedule(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	want := []benchrig.ScheduleFiring{
		failed, collapsed,
		{Time: at(7), RunID: "r7"},
		{Time: at(6), Skipped: "previous run still running"},
		{Time: at(5), RunID: "r5"},
	}
	if !reflect.DeepEqual(got.History, want) {
		t.Errorf("history =\n%+v\nwant\n%+v", got.History, want)
	}
	if got.LastRun != "r7" || !got.LastTime.Equal(at(7)) || !got.Checked.Equal(at(21)) {
		t.Errorf("last run %s at %v, checked %v; want r7 at %v, checked %v", got.LastRun, got.LastTime, got.Checked, at(7), at(21))
	}
	// A late record of an earlier time does not move checked back.
	if err := db.RecordFiring(ctx, "s", benchrig.ScheduleFiring{Time: at(3), Skipped: "x"}, 5); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.GetSchedule(ctx, "s"); !got.Checked.Equal(at(21)) {
		t.Errorf("checked moved back to %v", got.Checked)
	}
}
