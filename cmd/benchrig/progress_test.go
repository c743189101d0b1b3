package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

func TestCaseLabels(t *testing.T) {
	kv := func(pairs ...string) benchrig.Case {
		var ps []benchrig.KV
		for i := 0; i < len(pairs); i += 2 {
			ps = append(ps, benchrig.KV{Name: pairs[i], Value: pairs[i+1]})
		}
		return benchrig.Case{ID: benchrig.CaseID(ps), Params: ps}
	}
	for _, tc := range []struct {
		name  string
		cases []benchrig.Case
		want  map[string]string
	}{
		{"one case keeps its ID", []benchrig.Case{kv("impl", "gnu", "file", "x")}, nil},
		{"only the varying param", []benchrig.Case{kv("impl", "gnu", "threads", "1", "file", "x"), kv("impl", "gnu", "threads", "2", "file", "x")},
			map[string]string{"impl=gnu,threads=1,file=x": "threads=1", "impl=gnu,threads=2,file=x": "threads=2"}},
		{"two varying params in param order", []benchrig.Case{kv("impl", "gnu", "n", "1", "f", "x"), kv("impl", "bb", "n", "2", "f", "x")},
			map[string]string{"impl=gnu,n=1,f=x": "impl=gnu,n=1", "impl=bb,n=2,f=x": "impl=bb,n=2"}},
		{"a param only some cases have", []benchrig.Case{kv("impl", "gnu"), kv("impl", "gnu", "n", "2")},
			map[string]string{"impl=gnu": "impl=gnu", "impl=gnu,n=2": "n=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := caseLabels(tc.cases)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("caseLabels = %v, want %v", got, tc.want)
			}
		})
	}
}

// On a non-terminal, each finished trial is one line with the progress,
// the case by what varies, the trial numbered as people count it (warmups
// and measured trials each from 1), its duration as the report prints it,
// and an ETA until the last.
func TestPlainProgressLines(t *testing.T) {
	c := newCLI(t)
	spec := c.write("spec.yaml", `name: progress
command: "head -c {{.n}} /dev/zero"
params:
  n: [1000, 2000]
  file: [same]
repeat: 3
warmup: 2
`)
	live := filepath.Join(c.dir, "live.json")
	code, out, errOut := c.run(context.Background(), "run", spec, "--json", live)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	line := regexp.MustCompile(`^\[(\d+)/10\] (n=\d+) (warmup|trial) (\d+): [0-9.]+ (ns|µs|ms|s)(, ETA \d+:\d\d)?$`)
	seen := map[string][]string{}
	n := 0
	for _, l := range strings.Split(errOut, "\n") {
		if !strings.HasPrefix(l, "[") {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("progress line %q does not read [DONE/TOTAL] VARYING-PARAMS KIND N: DURATION, ETA M:SS", l)
			continue
		}
		n++
		if last := m[1] == "10"; last == (m[6] != "") {
			t.Errorf("line %q: want an ETA on every line but the last", l)
		}
		seen[m[2]] = append(seen[m[2]], m[3]+" "+m[4])
	}
	if n != 10 {
		t.Errorf("%d progress lines, want 10:\n%s", n, errOut)
	}
	want := "[warmup 1 warmup 2 trial 1 trial 2 trial 3]"
	for _, c := range []string{"n=1000", "n=2000"} {
		if got := fmt.Sprint(seen[c]); got != want {
			t.Errorf("case %s: %s, want %s", c, got, want)
		}
	}
	// The exports number trials the same way, from the run just made and
	// from the store.
	stored := filepath.Join(c.dir, "stored.json")
	if code, _, errOut := c.run(context.Background(), "runs", "show", "latest", "--json", stored); code != 0 {
		t.Fatalf("runs show: exit %d\n%s", code, errOut)
	}
	for _, path := range []string{live, stored} {
		var doc struct {
			Cases []struct {
				ID     string `json:"id"`
				Trials []struct {
					Index  int  `json:"index"`
					Number int  `json:"number"`
					Warmup bool `json:"warmup"`
				} `json:"trials"`
			} `json:"cases"`
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		for _, cs := range doc.Cases {
			var got []string
			for _, tr := range cs.Trials {
				kind := "trial"
				if tr.Warmup {
					kind = "warmup"
				}
				got = append(got, fmt.Sprintf("%s %d", kind, tr.Number))
			}
			if fmt.Sprint(got) != want {
				t.Errorf("%s: case %s numbered %v, want %s", filepath.Base(path), cs.ID, got, want)
			}
		}
	}
}

// The ETA is the pace of this process's trials: a resumed run's earlier
// trials (done0) do not make it look faster than it is.
func TestProgressETA(t *testing.T) {
	for _, tc := range []struct {
		name               string
		done0, done, total int
		want               string
	}{
		{"nothing done yet", 0, 0, 20, "--:--"},
		{"half done in 10 s", 0, 10, 20, "0:10"},
		{"resumed: 5 before, 5 in 10 s", 5, 10, 20, "0:20"},
		{"resumed, nothing new yet", 10, 10, 20, "--:--"},
		{"an hour left", 0, 1, 361, "1:00:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProgress(io.Discard, false, false)
			p.start, p.done0 = time.Now().Add(-10*time.Second), tc.done0
			if got := p.eta(tc.done, tc.total); got != tc.want {
				t.Errorf("eta(%d, %d) after 10 s from %d = %s, want %s", tc.done, tc.total, tc.done0, got, tc.want)
			}
		})
	}
}

// TestProgressNotesOnce: cases skipped for one reason (a missing program)
// spell the reason out once on stderr, then name the other cases.
func TestProgressNotesOnce(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b, false, false)
	why := "skipped: required program busybox-musl not found"
	for _, c := range []string{"impl=m,pattern=a", "impl=m,pattern=b"} {
		p.observe(benchrig.Event{Kind: benchrig.EventNote, Case: c, Msg: why})
	}
	p.observe(benchrig.Event{Kind: benchrig.EventNote, Case: "impl=x,pattern=a", Msg: "another reason"})
	want := "note: case impl=m,pattern=a: " + why + "\nnote: case impl=m,pattern=b: the same\nnote: case impl=x,pattern=a: another reason\n"
	if b.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", b.String(), want)
	}
}
