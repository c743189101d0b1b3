package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// fullScan reports whether a query plan line reads a whole table: a SCAN
// of anything but runs through an index, the CaseHistory page (a CTE of at
// most limit rows) or a subquery's rows (ListRuns' counts, at most setMax).
func fullScan(line string) bool {
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "SCAN" {
		return false
	}
	switch f[1] {
	case "r", "runs":
		return !strings.Contains(line, " USING INDEX ") && !strings.Contains(line, " USING COVERING INDEX ")
	case "p":
		return false
	}
	if strings.HasPrefix(f[1], "(subquery-") {
		return false
	}
	return true
}

func TestFullScan(t *testing.T) {
	for line, want := range map[string]bool{
		"SCAN t":                       true,
		"SCAN trials":                  true,
		"SCAN events":                  true,
		"SCAN rn":                      true,
		"SCAN r":                       true,
		"SCAN runs":                    true,
		"SCAN r USING INDEX runs_sort": false,
		"SCAN p":                       false,
		"SEARCH t USING COVERING INDEX trials_counts": false,
		"USE TEMP B-TREE FOR ORDER BY":                false,
	} {
		if got := fullScan(line); got != want {
			t.Errorf("fullScan(%q) = %v, want %v", line, got, want)
		}
	}
}

// TestQueryPlans asks SQLite how it runs every read query and fails on a
// full scan: each must be an index search whatever the store's size. The
// plans do not depend on the data (the store has no ANALYZE statistics), so
// a small store shows the plans of a large one.
func TestQueryPlans(t *testing.T) {
	db, _ := openTest(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cursor := pageKey{Started: encodeTime(at).(string), N: 7}.cursor()
	type q struct {
		name  string
		query string
		args  []any
	}
	var qs []q
	filters := []struct {
		name string
		f    benchrig.RunFilter
	}{
		{"page", benchrig.RunFilter{}},
		{"next page", benchrig.RunFilter{Cursor: cursor}},
		{"spec", benchrig.RunFilter{Spec: "sort"}},
		{"spec next page", benchrig.RunFilter{Spec: "sort", Cursor: cursor}},
		{"status", benchrig.RunFilter{Status: []benchrig.RunStatus{benchrig.RunFailed}}},
		{"status running", benchrig.RunFilter{Status: []benchrig.RunStatus{benchrig.RunRunning}}},
		{"status interrupted", benchrig.RunFilter{Status: []benchrig.RunStatus{benchrig.RunInterrupted}}},
		{"two statuses", benchrig.RunFilter{Status: []benchrig.RunStatus{benchrig.RunFailed, benchrig.RunCancelled}}},
		{"node", benchrig.RunFilter{Node: "lab1"}},
		{"arch", benchrig.RunFilter{Arch: "arm64"}},
		{"labels", benchrig.RunFilter{Labels: map[string]string{"branch": "main", "ci": "yes"}}},
		{"since until", benchrig.RunFilter{Since: at, Until: at.Add(time.Hour)}},
		{"all", benchrig.RunFilter{Spec: "sort", Status: []benchrig.RunStatus{benchrig.RunFinished}, Node: "lab1", Arch: "arm64",
			Labels: map[string]string{"branch": "main"}, Since: at, Until: at.Add(time.Hour), Cursor: cursor}},
	}
	// Both spellings of the run-set filters, whichever ListRuns picks.
	spellings := []struct {
		name  string
		spell spelling
	}{
		{"set", func(s runSet, _ ...any) (string, error) { return s.set(), nil }},
		{"probe", func(s runSet, _ ...any) (string, error) { return s.probe(), nil }},
	}
	for _, f := range filters {
		for _, sp := range spellings {
			query, args, _, err := listQuery(f.f, testNow, sp.spell)
			if err != nil {
				t.Fatal(err)
			}
			qs = append(qs, q{"list " + f.name + " " + sp.name, query, args})
		}
	}
	for _, s := range []runSet{usedNode, usedArch, usedPool, hasLabel} {
		args := []any{"x", setMax}
		if s == hasLabel {
			args = []any{"k", "v", setMax}
		}
		qs = append(qs, q{"count " + s.match, s.count(), args})
	}
	for _, b := range []struct {
		name string
		q    benchrig.BaselineQuery
	}{
		{"latest finished", benchrig.BaselineQuery{Spec: "sort"}},
		{"latest finished pool arch", benchrig.BaselineQuery{Spec: "sort", Pool: "lab", Arch: "arm64", Before: at, Exclude: "x"}},
	} {
		query, args := latestQuery(b.q, testNow)
		qs = append(qs, q{b.name, query, args})
	}
	qs = append(qs,
		q{"case history", caseHistoryQuery, []any{"sort", "size=1k", 50}},
		q{"events", eventsQuery, []any{"r1", 0}},
		q{"trials of a run", trialsQuery, []any{"r1"}},
		q{"run ID prefix", prefixQuery, []any{"2026", "2026\xff", 11}},
	)
	for _, tc := range qs {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := db.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+tc.query, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			for _, line := range plan {
				if fullScan(line) {
					t.Errorf("full scan %q in the plan:\n%s", line, strings.Join(plan, "\n"))
				}
			}
			if testing.Verbose() {
				t.Logf("plan:\n%s", strings.Join(plan, "\n"))
			}
		})
	}
}
