package expect_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/expect"
	"github.com/benchrig/benchrig/runner"
	"github.com/benchrig/benchrig/runner/local"
	"github.com/benchrig/benchrig/spec"
)

// trialResult is what one case's trial came to.
type trialResult struct {
	verdict expect.Verdict
	ms      []benchrig.Measurement
}

// runLikeTheRunner plans a reference benchmark the way the runner does
// (cases, template vars, instances, rules per instance, DigestStdout from
// the rules), runs one trial of every case on the local executor, all
// instances at once, and judges each with one Judge: the expect package's
// whole contract with the runner, on real tools.
func runLikeTheRunner(t *testing.T, file string, sets []string) map[string]trialResult {
	t.Helper()
	s, err := spec.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spec.ApplySet(s, sets); err != nil {
		t.Fatal(err)
	}
	specDir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := benchrig.Cases(s.Params, s.Exclude)
	rules := map[string][]*expect.Rules{}
	jobs := map[string][]runner.Job{}
	for _, c := range cases {
		vars := c.Map()
		vars["spec_dir"], vars["node"], vars["arch"], vars["instance"] = specDir, "local", "amd64", "1"
		n := 1
		if s.Instances != "" {
			v, err := benchrig.Expand(s.Instances, vars)
			if err != nil {
				t.Fatal(err)
			}
			if n, err = benchrig.ParseInstances(v); err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i <= n; i++ {
			vars["instance"] = strconv.Itoa(i)
			env := os.Environ()
			for _, k := range benchrig.SortedKeys(s.Env) {
				v, err := benchrig.Expand(s.Env[k], vars)
				if err != nil {
					t.Fatal(err)
				}
				env = append(env, k+"="+v)
			}
			r, err := expect.Resolve(s.Expect, c, vars, env, dir)
			if err != nil {
				t.Fatal(err)
			}
			script, err := benchrig.Expand(s.Command.Shell, vars)
			if err != nil {
				t.Fatal(err)
			}
			rules[c.ID] = append(rules[c.ID], r)
			jobs[c.ID] = append(jobs[c.ID], runner.Job{Argv: []string{"/bin/sh", "-c", script}, Env: env, Dir: dir, DigestStdout: r.NeedsDigest()})
		}
	}
	// The spec's baseline names some params: each case's baseline is the
	// case with those values and its own others (Run.Baselines).
	baselineOf := func(id string) string {
		for _, c := range cases {
			if c.ID != id {
				continue
			}
			kvs := append([]benchrig.KV(nil), c.Params...)
			for i := range kvs {
				if v, ok := s.Baseline[kvs[i].Name]; ok {
					kvs[i].Value = v
				}
			}
			return benchrig.CaseID(kvs)
		}
		return ""
	}
	judge := &expect.Judge{Checks: expect.Exec, Agree: expect.NewTracker(cases, rules, baselineOf)}
	e := local.New(local.Config{Cgroups: local.Off})
	defer e.Close()
	out := map[string]trialResult{}
	for _, c := range cases { // matrix order, as the first round of trials
		ms := make([]benchrig.Measurement, len(jobs[c.ID]))
		var wg sync.WaitGroup
		for i, job := range jobs[c.ID] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := e.Run(context.Background(), job)
				if err != nil {
					t.Errorf("case %s: %v", c.ID, err)
				}
				ms[i] = m
			}()
		}
		wg.Wait()
		out[c.ID] = trialResult{verdict: judge.Trial(context.Background(), rules[c.ID], ms), ms: ms}
	}
	return out
}

var pubchemField = regexp.MustCompile(`^> *<PUBCHEM_`)

// stripPubChem removes every PubChem-named data field of an SDF, as the
// SDF of another source (or another PubChem export) lacks them.
func stripPubChem(sdf []byte) []byte {
	var out bytes.Buffer
	skip := false
	sc := bufio.NewScanner(bytes.NewReader(sdf))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case pubchemField.MatchString(line):
			skip = true
		case skip && line == "":
			skip = false
		case !skip:
			out.WriteString(line + "\n")
		}
	}
	return out.Bytes()
}

// sdfData writes files gzipped copies of sdf as the extractor expects
// them (compound-0001.sdf.gz, ...).
func sdfData(t *testing.T, sdf []byte, files int) string {
	t.Helper()
	dir := t.TempDir()
	for i := 1; i <= files; i++ {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(sdf)
		zw.Close()
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("compound-%04d.sdf.gz", i)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func tools(t *testing.T, want ...string) string {
	var have []string
	for _, tool := range want {
		if _, err := exec.LookPath(tool); err != nil {
			t.Logf("%s not installed: its cases are not run", tool)
			continue
		}
		have = append(have, tool)
	}
	return strings.Join(have, ",")
}

// TestExtractorWithoutPubChemTags is issue 10's trap: fed real SDF without
// PubChem's fields, mawk prints a blank line per molecule and Perl prints
// nothing, both at full speed. benchmarks/extractor.yaml's expect makes
// those trials wrong output; Open Babel, which computes SMILES from the
// structure, still passes, and on PubChem's SDF every tool does.
func TestExtractorWithoutPubChemTags(t *testing.T) {
	tagged, err := os.ReadFile("testdata/pubchem-4.sdf")
	if err != nil {
		t.Fatal(err)
	}
	untagged := stripPubChem(tagged)
	if bytes.Contains(untagged, []byte("PUBCHEM_")) || bytes.Count(untagged, []byte("$$$$\n")) != 4 {
		t.Fatal("stripping left PubChem fields, or lost records")
	}
	toolList := tools(t, "mawk", "perl", "obabel")
	for _, tt := range []struct {
		name string
		sdf  []byte
		want map[string]string // tool -> substring of the reason ("" for ok)
	}{
		{name: "PubChem SDF", sdf: tagged, want: map[string]string{"mawk": "", "perl": "", "obabel": ""}},
		{name: "SDF without PubChem fields", sdf: untagged, want: map[string]string{
			"mawk":   `stdout has 4 blank line(s) of 4 (expect.stdout.nonempty), the first is line 1: " "`,
			"perl":   "stdout has 0 lines, expected 4 (expect.stdout.lines)",
			"obabel": "",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := sdfData(t, tt.sdf, 2)
			got := runLikeTheRunner(t, "../benchmarks/extractor.yaml", []string{"tool=" + toolList, "n=1,2", "data=" + data, "molecules=4"})
			for id, r := range got {
				tool := id[len("tool="):strings.Index(id, ",")]
				want := tt.want[tool]
				v := r.verdict
				if (want == "") != (v.Outcome == benchrig.OutcomeOK) || (want != "" && (v.Outcome != benchrig.OutcomeWrongOutput || !strings.Contains(v.Reason, want))) {
					t.Errorf("%s: %s %q, want %q (stdout of instance 1: %d bytes, %d lines)", id, v.Outcome, v.Reason, want, r.ms[0].StdoutBytes, r.ms[0].Stdout.Lines)
				}
				if want != "" && (r.ms[0].ExitCode != 0 || r.ms[0].Error != "") {
					t.Errorf("%s: exit %d %q: the trap is a trial that succeeds", id, r.ms[0].ExitCode, r.ms[0].Error)
				}
				if len(v.Warnings) > 0 {
					t.Errorf("%s: warnings %q", id, v.Warnings)
				}
			}
		})
	}
}

// TestGrepImplAgrees runs benchmarks/grep-impl.yaml's implementations on
// small chunks: real greps agree on every pattern's counts, so its expect
// fails none of them, and cat (the ceiling) is judged by its own rules.
func TestGrepImplAgrees(t *testing.T) {
	data := t.TempDir()
	for i, body := range []string{
		"1\tCC(=O)NC1=CC=C(O)C=C1\n2\tC[Sn](C)(C)C\n3\tBrC1=CC=CC=C1\n4\tCCC(=O)OC\n",
		"5\tCC(=O)NCC\n6\tOCC(=O)OCCN\n7\tCBr\n8\tC12CCC1C2\n",
	} {
		if err := os.WriteFile(filepath.Join(data, fmt.Sprintf("smiles-%04d.smi", i+1)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	impls := "gnu,gnu-utf8,cat"
	if tools(t, "busybox") != "" {
		impls += ",busybox"
	}
	got := runLikeTheRunner(t, "../benchmarks/grep-impl.yaml", []string{"impl=" + impls, "data=" + data})
	if len(got) < 13 { // gnu and gnu-utf8 per pattern, cat once
		t.Fatalf("%d cases ran", len(got))
	}
	for id, r := range got {
		if r.verdict.Outcome != benchrig.OutcomeOK || len(r.verdict.Warnings) > 0 {
			t.Errorf("%s: %s %q %q (exit %d, %s)", id, r.verdict.Outcome, r.verdict.Reason, r.verdict.Warnings, r.ms[0].ExitCode, r.ms[0].StderrTail)
		}
	}
}

// TestXargsSweepCountsEveryFile runs benchmarks/xargs-sweep.yaml's check
// (one count per file, whatever N and order) on real xargs and grep: it
// passes them. Its failures are RunCheck's tests.
func TestXargsSweepCountsEveryFile(t *testing.T) {
	data := t.TempDir()
	for i := 1; i <= 5; i++ {
		if err := os.WriteFile(filepath.Join(data, fmt.Sprintf("smiles-%04d.smi", i)), []byte("1\tCC(=O)NC\n2\tCC\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := runLikeTheRunner(t, "../benchmarks/xargs-sweep.yaml", []string{"jobs=1,3", "data=" + data})
	for id, r := range got {
		if r.verdict.Outcome != benchrig.OutcomeOK {
			t.Errorf("%s: %s %q", id, r.verdict.Outcome, r.verdict.Reason)
		}
	}
}
