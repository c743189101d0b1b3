package main

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/reports"
)

// TestRunsHistoryFindsStep records a real history: runs of a two-case
// spec with the local executor, in which case n=1 gets three times slower
// from the sixth run on (its command sleeps as long as a file says: a
// "commit" that slows it down), while n=2 stays as it was. History must
// put the step of n=1 at the sixth run, and leave out a confirmation run
// (which re-ran n=1 alone, even slower).
func TestRunsHistoryFindsStep(t *testing.T) {
	c := newCLI(t)
	spec := c.write("hist.yaml", `name: hist-test
command: "sleep $(cat delay{{.n}})"
params:
  n: [1, 2]
repeat: 3
warmup: 0
`)
	c.write("delay2", "0.05")
	var ids []string
	record := func(delay1 string, extra ...string) string {
		t.Helper()
		c.write("delay1", delay1)
		jsonPath := filepath.Join(c.dir, "run.json")
		args := append([]string{"run", spec, "-q", "--json", jsonPath}, extra...)
		if code, out, errOut := c.run(context.Background(), args...); code != 0 {
			t.Fatalf("run exit %d\n%s%s", code, out, errOut)
		}
		var doc struct {
			RunID string `json:"run_id"`
		}
		readJSON(t, jsonPath, &doc)
		return doc.RunID
	}
	for i := range 10 {
		delay := "0.05"
		if i >= 5 {
			delay = "0.25"
		}
		ids = append(ids, record(delay))
	}
	confirm := record("0.5", "--set", "n=1", "--label", benchrig.LabelConfirms+"="+ids[9])

	code, out, errOut := c.run(context.Background(), "runs", "history", spec, "--json")
	if code != 0 {
		t.Fatalf("runs history exit %d\n%s%s", code, out, errOut)
	}
	var h reports.History
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatalf("history json: %v\n%s", err, out)
	}
	if h.Spec != "hist-test" || len(h.Cases) != 2 {
		t.Fatalf("history of %q with %d cases, want hist-test with 2:\n%s", h.Spec, len(h.Cases), out)
	}
	for _, ch := range h.Cases {
		if len(ch.Points) != 10 {
			t.Errorf("case %s: %d points, want the 10 runs (not the confirmation run %s)", ch.Case, len(ch.Points), confirm)
		}
		for i, p := range ch.Points {
			if i < len(ids) && p.Run != ids[i] {
				t.Errorf("case %s: point %d is run %s, want %s (oldest first)", ch.Case, i, p.Run, ids[i])
			}
			if p.Run == confirm {
				t.Errorf("case %s: the confirmation run %s is a point of the history", ch.Case, confirm)
			}
		}
		var big []reports.HistoryChange
		for _, cp := range ch.Changes {
			// Sleeps of 50 and 250 ms, each started by sh and cat: on a
			// machine loaded 4x over (CI with -race) starting the
			// processes moved a median by up to 30 ms (10 ms sleeps
			// measured 17 to 40 ms), never by as much as the sleep.
			if math.Abs(cp.Magnitude) > 1 {
				big = append(big, cp)
			}
		}
		switch ch.Label {
		case "n=1":
			if len(big) != 1 || big[0].Run != ids[5] || big[0].Point != 5 || big[0].Magnitude < 1 || big[0].P > 0.05 {
				t.Errorf("case n=1: steps %+v, want one of about +400%% at run %s (point 5)", ch.Changes, ids[5])
			}
		case "n=2":
			if len(big) != 0 {
				t.Errorf("case n=2 did not change, yet steps %+v", big)
			}
		default:
			t.Errorf("case %q, want n=1 or n=2", ch.Label)
		}
	}

	// The text form says the same, for people.
	code, out, errOut = c.run(context.Background(), "runs", "history", "hist-test", "--case", "n=1")
	if code != 0 {
		t.Fatalf("runs history --case exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "case n=1: 10 run(s)") || !strings.Contains(out, "step at run "+ids[5]) || strings.Contains(out, "case n=2") {
		t.Errorf("runs history --case n=1:\n%s", out)
	}
}

func TestRunsHistoryGolden(t *testing.T) {
	c := newCLI(t)
	goldenStore(t, filepath.Join(c.dir, "store.db"))
	c.write("golden.yaml", "name: golden\ncommand: \"gzip -{{.level}} -c data\"\nparams:\n  level: [1, 9]\n")
	runGoldenCases(t, c, []goldenCase{
		// Run 0003 died (its heartbeat is stale): an interrupted run's
		// trials are points like any other's.
		{"runs-history.txt", []string{"runs", "history", "golden"}, 0},
		{"runs-history.json", []string{"runs", "history", "golden", "--case", "level=9", "--json"}, 0},
		{"runs-history-spec-file.txt", []string{"runs", "history", "golden.yaml", "--case", "level=1"}, 0},
		{"runs-history-bad-case.txt", []string{"runs", "history", "golden", "--case", "level=5"}, 2},
		{"runs-history-unknown-spec.txt", []string{"runs", "history", "nope"}, 2},
		{"runs-history-missing-file.txt", []string{"runs", "history", "nope.yaml"}, 2},
		{"runs-history-bad-p.txt", []string{"runs", "history", "golden", "--p-value", "1.5"}, 2},
		{"runs-history-bad-min-segment.txt", []string{"runs", "history", "golden", "--min-segment", "1"}, 2},
	})
}
