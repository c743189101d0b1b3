package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchrig/benchrig/internal/testenv"
)

// These tests run the reference benchmarks of benchmarks/ for real, with
// the local executor, on small data made by `benchrig data`, and check
// what their reports must answer. `make test` installs every tool they
// use, so in CI nothing is skipped: a case skipped for a missing tool
// there is a failure (BENCHRIG_BUSYBOX_MUSL says the testenv ran).

// report is the part of the JSON export these tests read.
type report struct {
	Status string `json:"status"`
	Cases  []struct {
		ID         string            `json:"id"`
		Params     map[string]string `json:"params"`
		Skipped    string            `json:"skipped"`
		Files      int               `json:"files"`
		Stats      *struct{ N int }  `json:"stats"`
		Throughput *struct {
			Unit       string   `json:"unit"`
			RateMedian *float64 `json:"rate_median"`
		} `json:"throughput"`
		ThroughputBytes *struct {
			RateMedian *float64 `json:"rate_median"`
		} `json:"throughput_bytes"`
		Ceiling *struct {
			Case     string   `json:"case"`
			Fraction *float64 `json:"fraction"`
		} `json:"ceiling"`
		Trials []struct {
			Metrics map[string]*float64 `json:"metrics"`
			Failed  bool                `json:"failed"`
			Warmup  bool                `json:"warmup"`
			WallS   float64             `json:"wall_s"`
		} `json:"trials"`
	} `json:"cases"`
	Comparisons []struct {
		Case     string   `json:"case"`
		Baseline string   `json:"baseline"`
		Ratio    *float64 `json:"ratio"`
		CI95Low  *float64 `json:"ci95_low"`
		PerUnit  bool     `json:"per_unit"`
	} `json:"comparisons"`
	Scaling []struct {
		Param  string `json:"param"`
		Groups []struct {
			Fixed  map[string]string `json:"fixed"`
			Points []struct {
				Value   float64  `json:"value"`
				Speedup *float64 `json:"speedup"`
			} `json:"points"`
			Knee *struct {
				Found  bool    `json:"found"`
				Value  float64 `json:"value"`
				Bound  string  `json:"bound"`
				Reason string  `json:"reason"`
			} `json:"knee"`
		} `json:"groups"`
	} `json:"scaling"`
}

func runBenchmark(t *testing.T, c *cli, spec string, args ...string) (*report, string) {
	t.Helper()
	out := filepath.Join(c.dir, filepath.Base(spec)+".json")
	abs, err := filepath.Abs(filepath.Join("..", "..", "benchmarks", spec))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := c.run(context.Background(), append([]string{"run", "-q", abs, "--json", out}, args...)...)
	if code != 0 {
		t.Fatalf("benchrig run %s: exit %d\nstdout:\n%s\nstderr:\n%s", spec, code, stdout, stderr)
	}
	var r report
	readJSON(t, out, &r)
	return &r, stdout
}

// readJSON decodes the JSON file at path into v.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func makeSmiles(t *testing.T, c *cli, name, size, chunk string) string {
	t.Helper()
	dir := filepath.Join(c.dir, name)
	if code, out, errOut := c.run(context.Background(), "data", "smiles", "-q", "--out", dir, "--size", size, "--chunk", chunk); code != 0 {
		t.Fatalf("data smiles: exit %d\n%s%s", code, out, errOut)
	}
	return dir
}

// provisioned reports whether make testenv set up this environment (or CI
// runs the tests): then every tool the benchmarks name is there.
func provisioned() bool { return os.Getenv("BENCHRIG_BUSYBOX_MUSL") != "" || testenv.InCI() }

func TestGrepImplBenchmark(t *testing.T) {
	c := newCLI(t)
	data := makeSmiles(t, c, "smiles", "4MB", "2MB")
	r, stdout := runBenchmark(t, c, "grep-impl.yaml", "--set", "data="+data, "--set", "chunks=smiles-*.smi",
		"--set", "pattern=fixed-common,ignore-case,class", "--repeat", "5", "--warmup", "0")

	byID := map[string]int{}
	for i, cs := range r.Cases {
		byID[cs.ID] = i
	}
	for _, cs := range r.Cases {
		impl := cs.Params["impl"]
		if cs.Skipped != "" {
			_, missing := exec.LookPath(map[string]string{"busybox": "busybox", "busybox-musl": "busybox-musl"}[impl])
			if provisioned() || impl == "gnu" || impl == "gnu-utf8" || impl == "cat" || missing == nil {
				t.Errorf("case %s skipped: %s", cs.ID, cs.Skipped)
			}
			if !strings.Contains(cs.Skipped, "to install:") {
				t.Errorf("case %s skipped without an install hint: %s", cs.ID, cs.Skipped)
			}
			continue
		}
		if cs.Stats == nil || cs.Stats.N != 5 {
			t.Errorf("case %s: stats %+v, want 5 successful trials", cs.ID, cs.Stats)
		}
		if cs.Throughput == nil || cs.Throughput.Unit != "bytes" || cs.Files != 2 {
			t.Errorf("case %s: throughput %+v over %d files, want bytes over 2", cs.ID, cs.Throughput, cs.Files)
		}
		if impl != "cat" && (cs.Ceiling == nil || cs.Ceiling.Fraction == nil || !strings.Contains(cs.Ceiling.Case, "impl=cat")) {
			t.Errorf("case %s: ceiling %+v, want a share of its pattern's cat case", cs.ID, cs.Ceiling)
		}
	}
	// Each pattern's implementations are compared with that pattern's GNU
	// grep, and busybox is slower on this data.
	n := 0
	for _, cm := range r.Comparisons {
		caseP, baseP := r.Cases[byID[cm.Case]].Params, r.Cases[byID[cm.Baseline]].Params
		if baseP["impl"] != "gnu" || caseP["pattern"] != baseP["pattern"] || cm.Ratio == nil {
			t.Errorf("comparison %s vs %s, ratio %v: want the same pattern's gnu case", cm.Case, cm.Baseline, cm.Ratio)
		}
		if caseP["impl"] == "busybox-musl" && *cm.Ratio < 1.5 {
			t.Errorf("busybox-musl %s: ratio to GNU grep %.2f, want clearly slower", caseP["pattern"], *cm.Ratio)
		}
		n++
	}
	if n < 3 {
		t.Errorf("%d comparisons, want at least gnu-utf8 for each of 3 patterns", n)
	}
	for _, s := range []string{"of ceiling", "every case: data=", "slower than impl=gnu,pattern=ignore-case"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("report lacks %q:\n%s", s, stdout)
		}
	}
}

func TestXargsSweepBenchmark(t *testing.T) {
	c := newCLI(t)
	data := makeSmiles(t, c, "smiles", "8MB", "1MB")
	r, stdout := runBenchmark(t, c, "xargs-sweep.yaml", "--set", "data="+data, "--set", "jobs=1,2,3", "--repeat", "3")
	if len(r.Scaling) != 1 || r.Scaling[0].Param != "jobs" || len(r.Scaling[0].Groups) != 1 {
		t.Fatalf("scaling = %+v", r.Scaling)
	}
	g := r.Scaling[0].Groups[0]
	if len(g.Points) != 3 || g.Knee == nil {
		t.Fatalf("scaling group %+v, want 3 points and a knee", g)
	}
	if g.Knee.Found && g.Knee.Bound == "" {
		t.Errorf("knee at %v without an attribution: %+v", g.Knee.Value, g.Knee)
	}
	if !strings.Contains(stdout, "knee at jobs=") && !strings.Contains(stdout, "no knee:") {
		t.Errorf("report does not state the knee:\n%s", stdout)
	}
}

// The cold, read-capped variant: with reads capped far below what grep
// can do, every trial takes at least as long as the cap allows whatever
// the number of processes, and where a knee shows, it is at one process
// and attributed to the reads at the cap.
func TestXargsSweepIOBenchmark(t *testing.T) {
	testenv.LockHostIO(t)
	if os.Geteuid() != 0 {
		testenv.Skip(t, "dropping the page cache needs root")
	}
	c := newCLI(t)
	// On the real disk: tmpfs has no block device to cap.
	data := makeSmiles(t, c, "smiles", "3MB", "1MB")
	r, stdout := runBenchmark(t, c, "xargs-sweep-io.yaml", "--set", "data="+data, "--set", "jobs=1,2",
		"--set", "read_bps=2MB", "--repeat", "2")
	for _, cs := range r.Cases {
		if cs.Skipped != "" {
			testenv.Skipf(t, "this host cannot run the IO variant: case %s skipped: %s", cs.ID, cs.Skipped)
		}
		for _, tr := range cs.Trials {
			if tr.Metrics["read_bps_cap"] == nil || *tr.Metrics["read_bps_cap"] != 2e6 || tr.Metrics["drop_caches_seconds"] == nil {
				t.Errorf("case %s: trial metrics %v lack the cap and the cache drop", cs.ID, tr.Metrics)
			}
			// 3 MB read cold at 2 MB/s cannot take less than 1.5 s, one
			// process or two: the cap holds. (Uncapped, this disk reads
			// them in well under 0.1 s.)
			if !tr.Warmup && tr.WallS < 1.2 {
				t.Errorf("case %s: a trial took %.2fs, faster than the 2 MB/s cap allows for 3 MB", cs.ID, tr.WallS)
			}
		}
	}
	// Whether two readers gain over one is timing on a disk other tests
	// share (busy, it turns reads latency-bound, and two readers hide
	// latency): a measurement for a quiet machine, not a test. What the
	// analysis says when it finds a knee is asserted.
	g := r.Scaling[0].Groups[0]
	if g.Knee == nil {
		t.Fatalf("no knee analysis\n%s", stdout)
	}
	t.Logf("knee %+v", *g.Knee)
	if g.Knee.Found && (g.Knee.Value != 1 || g.Knee.Bound != "io-bound") {
		t.Errorf("knee %+v, want at jobs=1 and io-bound\n%s", g.Knee, stdout)
	}
}

func TestExtractorBenchmark(t *testing.T) {
	if _, err := exec.LookPath("obabel"); err != nil {
		testenv.Skip(t, "obabel not installed (apt-get install openbabel)")
	}
	c := newCLI(t)
	dir := filepath.Join(c.dir, "sdf")
	if code, out, errOut := c.run(context.Background(), "data", "sdf", "-q", "--out", dir, "--files", "2",
		"--molecules", "60", "--corpus", "60", "--cache", filepath.Join(c.dir, "cache")); code != 0 {
		t.Fatalf("data sdf: exit %d\n%s%s", code, out, errOut)
	}
	r, stdout := runBenchmark(t, c, "extractor.yaml", "--set", "data="+dir, "--set", "molecules=60",
		"--set", "n=1,2", "--repeat", "3", "--warmup", "0")
	for _, cs := range r.Cases {
		if cs.Skipped != "" || cs.Stats == nil || cs.Stats.N != 3 {
			t.Errorf("case %s: skipped %q, stats %+v", cs.ID, cs.Skipped, cs.Stats)
			continue
		}
		if cs.Throughput == nil || cs.Throughput.Unit != "items" || cs.ThroughputBytes == nil {
			t.Errorf("case %s: want molecules/s with MB/s beside", cs.ID)
		}
		if cs.Params["n"] == "2" {
			for _, tr := range cs.Trials {
				if tr.Metrics["instances"] == nil || *tr.Metrics["instances"] != 2 || tr.Metrics["instance2_wall_s"] == nil {
					t.Errorf("case %s: trial metrics %v, want 2 instances with their own wall times", cs.ID, tr.Metrics)
				}
			}
		}
	}
	if len(r.Scaling) != 1 || len(r.Scaling[0].Groups) != 3 {
		t.Errorf("scaling %+v, want one group per tool", r.Scaling)
	}
	for _, cm := range r.Comparisons {
		if cm.PerUnit {
			t.Errorf("comparison %s vs %s is per unit: tools should be compared at the same instance count", cm.Case, cm.Baseline)
		}
	}
	if !strings.Contains(stdout, "items/s (") {
		t.Errorf("report lacks molecules/s with MB/s:\n%s", stdout)
	}
}

// TestBenchmarksWithoutData runs each reference benchmark where its data
// was never made: the run is refused before anything runs (exit 2), naming
// the file it looked for and the command that makes it, with the path the
// spec expects.
func TestBenchmarksWithoutData(t *testing.T) {
	for _, tc := range []struct {
		spec, file, make string
	}{
		{"grep-impl.yaml", ".bench/data/smiles/smiles-000[12].smi", "benchrig data smiles --out .bench/data/smiles"},
		{"xargs-sweep.yaml", ".bench/data/smiles/smiles-*.smi", "benchrig data smiles --out .bench/data/smiles"},
		{"xargs-sweep.yaml --set data=.bench/data/smiles-small", ".bench/data/smiles-small/smiles-*.smi", "benchrig data smiles --out .bench/data/smiles-small --chunk 1.15MB --size 842MB"},
		{"xargs-sweep-io.yaml", ".bench/data/smiles/smiles-*.smi", "benchrig data smiles --out .bench/data/smiles"},
		{"extractor.yaml", ".bench/data/sdf/compound-0001.sdf.gz", "benchrig data sdf --out .bench/data/sdf --files 4 --molecules 5000"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			c := newCLI(t)
			file, sets, _ := strings.Cut(tc.spec, " ")
			path, err := filepath.Abs(filepath.Join("../../benchmarks", file))
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"run", "-q", "--dry-run", path}
			if sets != "" {
				args = append(args, strings.Fields(sets)...)
			}
			code, _, stderr := c.run(context.Background(), args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			for _, want := range []string{"the data of every case is missing", `no file matches "` + tc.file + `"`, "make it with: " + tc.make + "   # "} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}
