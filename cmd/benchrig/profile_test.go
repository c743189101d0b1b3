package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/benchrig/benchrig/internal/testenv"
)

// needPerf skips (fails under CI=true) when perf cannot record here.
func needPerf(t *testing.T) {
	t.Helper()
	path, err := exec.LookPath("perf")
	if err != nil {
		testenv.Skip(t, "perf is not installed (Debian: apt-get install linux-perf; make testenv installs it)")
		return
	}
	out, err := exec.Command(path, "record", "-q", "-e", "cpu-clock", "-o", filepath.Join(t.TempDir(), "perf.data"), "--", "true").CombinedOutput()
	if err != nil {
		testenv.Skipf(t, "perf cannot record here: %v: %s", err, out)
	}
}

// profiledSpec has a pipeline whose stages differ in cost (sort -n does
// most of the work) and a single busy process.
const profiledSpec = `name: profile-test
command: |
  {{if eq .impl "pipeline"}}seq 1 300000 | sort -n | md5sum{{else}}awk 'BEGIN { for (i = 0; i < 2000000; i++) s += i; print s }'{{end}}
params:
  impl: [pipeline, awk]
repeat: 3
warmup: 0
profile: {freq: 999, trials: 2}
`

func TestProfileEndToEnd(t *testing.T) {
	needPerf(t)
	ctx := context.Background()
	c := newCLI(t)
	spec := c.write("spec.yaml", profiledSpec)
	jsonPath := filepath.Join(c.dir, "out.json")
	code, out, errOut := c.run(ctx, "run", spec, "-q", "--json", jsonPath)
	if code != 0 {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "profiled: perf cpu-clock at 999 Hz, 2 extra trials per case (excluded from statistics); cost: wall ") {
		t.Errorf("report does not say how the run was profiled:\n%s", out)
	}

	// The measured trials' statistics leave the profiled ones out.
	var doc struct {
		RunID string `json:"run_id"`
		Cases []struct {
			ID     string `json:"id"`
			Trials []struct {
				Index       int  `json:"index"`
				ProfileOnly bool `json:"profile_only"`
				Profiled    bool `json:"profiled"`
				Failed      bool `json:"failed"`
			} `json:"trials"`
			Stats struct {
				N int `json:"n"`
			} `json:"stats"`
		} `json:"cases"`
		Profiling *struct {
			Event    string `json:"event"`
			FreqHz   int    `json:"freq_hz"`
			Compared int    `json:"compared_trials"`
		} `json:"profiling"`
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Profiling == nil || doc.Profiling.Event != "cpu-clock" || doc.Profiling.FreqHz != 999 || doc.Profiling.Compared != 4 {
		t.Errorf("json profiling = %+v, want cpu-clock at 999 Hz, 4 trials compared", doc.Profiling)
	}
	for _, cs := range doc.Cases {
		if cs.Stats.N != 3 || len(cs.Trials) != 5 {
			t.Errorf("case %s: n=%d of %d trials, want 3 measured of 5", cs.ID, cs.Stats.N, len(cs.Trials))
		}
		extra := 0
		for _, tr := range cs.Trials {
			if tr.Failed {
				t.Errorf("case %s trial %d failed", cs.ID, tr.Index)
			}
			if tr.ProfileOnly != tr.Profiled {
				t.Errorf("case %s trial %d: profile_only %v, profiled %v", cs.ID, tr.Index, tr.ProfileOnly, tr.Profiled)
			}
			if tr.ProfileOnly {
				extra++
				if tr.Index < 3 {
					t.Errorf("case %s: profiled trial has rep %d, among the measured ones", cs.ID, tr.Index)
				}
			}
		}
		if extra != 2 {
			t.Errorf("case %s: %d profiled extra trials, want 2", cs.ID, extra)
		}
	}

	// The breakdown names the pipeline's stages, the costliest first.
	code, out, errOut = c.run(ctx, "runs", "profile", "latest")
	if code != 0 {
		t.Fatalf("runs profile exit %d:\n%s%s", code, out, errOut)
	}
	pipeline, awk, _ := strings.Cut(out, "case impl=awk")
	if !strings.Contains(pipeline, "case impl=pipeline: ") || awk == "" {
		t.Fatalf("runs profile does not show both cases:\n%s", out)
	}
	lines := strings.Split(pipeline, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[1], "PROCESS") || !strings.HasPrefix(lines[2], "sort ") {
		t.Errorf("pipeline breakdown does not put sort first:\n%s", pipeline)
	}
	for _, proc := range []string{"seq", "sort"} {
		if !strings.Contains(pipeline, "\n"+proc+" ") {
			t.Errorf("pipeline breakdown lacks %s:\n%s", proc, pipeline)
		}
	}
	if !strings.Contains(awk, "\nawk ") && !strings.Contains(awk, "\nmawk ") {
		t.Errorf("awk breakdown lacks awk:\n%s", awk)
	}

	pprofPath := filepath.Join(c.dir, "p.pb.gz")
	foldedPath := filepath.Join(c.dir, "p.folded")
	svgPath := filepath.Join(c.dir, "p.svg")
	code, out, errOut = c.run(ctx, "runs", "profile", doc.RunID, "--case", "impl=pipeline", "--pprof", pprofPath, "--folded", foldedPath, "--svg", svgPath)
	if code != 0 {
		t.Fatalf("runs profile --pprof --folded --svg exit %d:\n%s%s", code, out, errOut)
	}
	f, err := os.Open(pprofPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	prof, err := profile.Parse(f)
	if err != nil {
		t.Fatalf("--pprof output does not parse: %v", err)
	}
	if len(prof.Sample) == 0 {
		t.Error("--pprof output has no samples")
	}
	if folded, err := os.ReadFile(foldedPath); err != nil || !bytes.Contains(folded, []byte("sort;")) {
		t.Errorf("--folded output (err %v) has no sort stack:\n%.500s", err, folded)
	}
	checkSVG(t, svgPath)

	diffPath := filepath.Join(c.dir, "diff.svg")
	code, out, errOut = c.run(ctx, "runs", "profile", "latest", "--diff", "impl=awk", "impl=pipeline", "--svg", diffPath)
	if code != 0 {
		t.Fatalf("runs profile --diff exit %d:\n%s%s", code, out, errOut)
	}
	checkSVG(t, diffPath)

	// Bad input is exit 2, with the reason.
	code, _, errOut = c.run(ctx, "runs", "profile", "latest", "--case", "impl=nope")
	if code != 2 || !strings.Contains(errOut, `no profile of case "impl=nope"`) {
		t.Errorf("unknown case: exit %d: %s", code, errOut)
	}
	code, _, errOut = c.run(ctx, "runs", "profile", "latest", "--svg", svgPath)
	if code != 2 || !strings.Contains(errOut, "name one with --case") {
		t.Errorf("--svg of two cases: exit %d: %s", code, errOut)
	}
	if code, _, errOut = c.run(ctx, "run", spec, "-q", "--profile", "off", "--repeat", "1"); code != 0 {
		t.Fatalf("unprofiled run exit %d: %s", code, errOut)
	}
	code, _, errOut = c.run(ctx, "runs", "profile", "latest")
	if code != 2 || !strings.Contains(errOut, "was not profiled") {
		t.Errorf("run without profiles: exit %d: %s", code, errOut)
	}
}

// TestProfileMeasured profiles the measured trials themselves (in:
// measured, and --profile-freq): no extra trial, and the warning.
func TestProfileMeasured(t *testing.T) {
	needPerf(t)
	ctx := context.Background()
	c := newCLI(t)
	spec := c.write("spec.yaml", `name: profile-measured
command: "seq 1 100000 | sort -n | md5sum"
repeat: 2
warmup: 0
profile: {in: measured}
`)
	code, out, errOut := c.run(ctx, "run", spec, "-q", "--profile-freq", "499")
	if code != 0 {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out+errOut, "measured trials were profiled (perf, cpu-clock at 499 Hz)") {
		t.Errorf("no warning that the measured trials were profiled:\n%s", out)
	}
	code, out, errOut = c.run(ctx, "runs", "profile", "latest")
	if code != 0 || !strings.Contains(out, "over 2 profiled trial(s), cpu-clock at 499 Hz") {
		t.Errorf("runs profile exit %d:\n%s%s", code, out, errOut)
	}
}

// checkSVG checks that path is well-formed XML whose root is an svg.
func checkSVG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not XML: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("%s: root element %q, want svg", path, root)
	}
}

// TestProfileUnavailableEvent asks for an event perf does not have: the
// dry run and the run warn, and the run goes on unprofiled.
func TestProfileUnavailableEvent(t *testing.T) {
	needPerf(t)
	ctx := context.Background()
	c := newCLI(t)
	spec := c.write("spec.yaml", `name: profile-no-event
command: "true"
repeat: 2
warmup: 0
profile: {event: no-such-event}
`)
	code, out, errOut := c.run(ctx, "run", spec, "--dry-run")
	if code != 0 || !strings.Contains(errOut, "warning: profiling asked for but perf is not available: ") || !strings.Contains(errOut, "no-such-event") ||
		!strings.Contains(out, "trials:   2\n") || strings.Contains(out, "profiled:") {
		t.Errorf("dry run exit %d:\n%s%s", code, out, errOut)
	}
	code, out, errOut = c.run(ctx, "run", spec, "-q")
	if code != 0 || !strings.Contains(errOut, "the run goes on unprofiled") || strings.Contains(out, "profiled:") {
		t.Errorf("run exit %d:\n%s%s", code, out, errOut)
	}
	code, _, errOut = c.run(ctx, "runs", "profile", "latest")
	if code != 2 || !strings.Contains(errOut, "was not profiled") {
		t.Errorf("runs profile of an unprofiled run: exit %d: %s", code, errOut)
	}
}
