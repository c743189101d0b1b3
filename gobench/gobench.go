// Package gobench maps `go test -bench` output (the Go benchmark format,
// read with golang.org/x/perf/benchfmt) to a benchrig run, so that Go
// benchmarks get benchrig's store, comparisons, history and exports.
//
// Each benchmark name is a case, named by the name without "Benchmark"
// (Encode/size=1k-8), with params bench=Encode, size=1k, gomaxprocs=8 (see
// benchrig.GoBenchParam); each result line (one per -count) is a measured
// trial whose wall time is its ns/op. Every value of the line, ns/op
// included, is kept exactly as written in the trial's Metrics under
// "go:UNIT", with the iteration count (benchrig.GoBenchIterations), so
// nothing of the input is lost; the raw input is also kept as the run's
// source. File config lines (goos, goarch, pkg, cpu, and any other
// "key: value") that hold for every result become the run's labels (goos,
// goarch and cpu also its fingerprint); a key whose value changes within
// the input (several packages in one file) becomes a param of each case,
// whose ID then carries it ("Encode-8@pkg=example.com/b").
package gobench

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/benchrig/benchrig"
)

// MaxInput is the most input Read accepts: go test output of a package
// with 200 benchmarks at -count 10 is about 200 KiB (some 100 bytes a
// result line); a limit keeps a wrong file (/dev/zero) from exhausting
// memory. Storing is no longer what limits it: since trials are stored
// in batches (app.ImportBatch), 8 MiB (114,000 lines) imports in 2.7 s
// instead of 19 s on a 2-core VM (2026-12-06). Memory is: an import holds
// every trial until it is printed, and 8 MiB still peaks at some 290 MB,
// so the limit stays.
const MaxInput = 8 << 20

// DefaultName is the spec name of an import without --name and without a
// single pkg line.
const DefaultName = "gobench"

// Options say how to name and label the imported run.
type Options struct {
	// File is where the input came from, for errors and the run's
	// record; "-" or "" is standard input.
	File string
	// Name is the run's spec name; "" takes the input's pkg line (runs
	// compare matches runs of one name).
	Name string
	// Labels are the user's labels; they win over config lines.
	Labels map[string]string
	// MaxCases refuses input with more distinct benchmarks (0: no cap),
	// as a spec's matrix is capped.
	MaxCases int
}

func (o Options) display() string {
	if o.File == "" || o.File == "-" {
		return "stdin"
	}
	return o.File
}

// Read reads all of r, at most MaxInput bytes, and maps it with Parse.
func Read(r io.Reader, opts Options) (*benchrig.Run, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInput+1))
	if err != nil {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, File: opts.display(), Msg: "cannot read", Err: err}
	}
	if len(data) > MaxInput {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, File: opts.display(),
			Msg: fmt.Sprintf("larger than %d MiB: not go test -bench output, or split it", MaxInput>>20)}
	}
	return Parse(data, opts)
}

// result is one benchmark line, copied out of the reader's buffers.
type result struct {
	name   string
	line   int
	config map[string]string // file config in force
	iters  int
	wall   float64 // ns/op, from the tidied sec/op
	values []benchfmt.Value
}

// Parse maps go test -bench output to a run without an ID: its cases, its
// trials (all measured, none failed) and where it came from. Bad input
// (empty, no benchmark lines, a malformed benchmark line, a line without
// a time per op, a unit twice on one line) is benchrig.EInvalid naming
// the file and line.
func Parse(data []byte, opts Options) (*benchrig.Run, error) {
	file := opts.display()
	bad := func(line int, format string, args ...any) error {
		return &benchrig.Error{Code: benchrig.EInvalid, File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, bad(0, "empty input: want the output of go test -bench (go test -run '^$' -bench . -count 5 ./... > new.txt)")
	}
	rd := benchfmt.NewReader(bytes.NewReader(data), file)
	var results []result
	var config map[string]string // the last result's, shared while unchanged
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, bad(rec.Line, "malformed benchmark line: %s (want: BenchmarkName  ITERATIONS  VALUE UNIT [VALUE UNIT...])", rec.Msg)
		case *benchfmt.Result:
			_, line := rec.Pos()
			res, err := copyResult(rec, line, config)
			if err != nil {
				return nil, bad(line, "%s", err)
			}
			config = res.config
			results = append(results, res)
		}
		// Unit metadata lines are kept in the run's source, as every line.
	}
	if err := rd.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, bad(0, "a line longer than %d KiB: not go test -bench output", bufio.MaxScanTokenSize>>10)
		}
		return nil, &benchrig.Error{Code: benchrig.EInvalid, Msg: "read go test output", Err: err}
	}
	if len(results) == 0 {
		return nil, bad(0, "no benchmark result lines (BenchmarkName  ITERATIONS  VALUE ns/op ...): is this the output of go test -bench? (go test -run '^$' -bench . -count 5 ./... > new.txt)")
	}
	return build(data, results, opts)
}

// copyResult copies rec out of the reader's buffers; its file config is
// last (not copied again) when it is the same, as it is for every line
// of one package.
func copyResult(rec *benchfmt.Result, line int, last map[string]string) (result, error) {
	res := result{name: string(rec.Name), line: line, iters: rec.Iters, config: last, wall: math.NaN()}
	if res.name == "" {
		return res, errors.New("a benchmark line without a name")
	}
	if !sameConfig(rec.Config, last) {
		res.config = map[string]string{}
		for _, c := range rec.Config {
			if c.File {
				res.config[c.Key] = string(c.Value)
			}
		}
	}
	seen := map[string]bool{}
	for _, v := range rec.Values {
		unit := written(v)
		if seen[unit] {
			return res, fmt.Errorf("unit %s twice on one line: which value is meant?", unit)
		}
		seen[unit] = true
		if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
			return res, fmt.Errorf("%v %s is not a finite number", writtenValue(v), unit)
		}
		res.values = append(res.values, v)
		if v.Unit == "sec/op" {
			if !math.IsNaN(res.wall) {
				return res, fmt.Errorf("two times per op on one line (%s and another): which one is meant?", unit)
			}
			res.wall = v.Value * 1e9
			if v.OrigUnit == "ns/op" {
				res.wall = v.OrigValue // as written: 1000, not 1000.0000000000001 back from seconds
			}
		}
	}
	switch {
	case math.IsNaN(res.wall):
		return res, errors.New("no ns/op on this line: benchrig's statistics are of the time per op")
	case res.wall < 0 || math.IsInf(res.wall, 0) || res.wall > math.MaxInt64:
		return res, fmt.Errorf("time per op %g ns out of range", res.wall)
	case res.iters < 1:
		return res, fmt.Errorf("iteration count %d: want at least 1", res.iters)
	}
	return res, nil
}

// sameConfig says whether the file config of config is m.
func sameConfig(config []benchfmt.Config, m map[string]string) bool {
	if m == nil {
		return false
	}
	n := 0
	for _, c := range config {
		if !c.File {
			continue
		}
		if v, ok := m[c.Key]; !ok || v != string(c.Value) {
			return false
		}
		n++
	}
	return n == len(m)
}

// written is v's unit as the input wrote it.
func written(v benchfmt.Value) string {
	if v.OrigUnit != "" {
		return v.OrigUnit
	}
	return v.Unit
}

func writtenValue(v benchfmt.Value) float64 {
	if v.OrigUnit != "" {
		return v.OrigValue
	}
	return v.Value
}

func build(data []byte, results []result, opts Options) (*benchrig.Run, error) {
	uniform, varying := splitConfig(results)
	name := opts.Name
	var warnings []string
	if name == "" {
		if name = uniform["pkg"]; name == "" {
			name = DefaultName
			warnings = append(warnings, fmt.Sprintf("%s has no single pkg: line; the run is named %q (name it with --name, so runs compare finds its peers)", opts.display(), name))
		}
	}
	sum := sha256.Sum256([]byte("go test -bench\n" + name))
	run := &benchrig.Run{
		SpecName: name,
		// The hash of what the run measures, not of this output: two
		// imports of one package are runs of one spec, and runs compare
		// says so only when the hashes agree.
		SpecHash:   hex.EncodeToString(sum[:]),
		SpecFile:   opts.display(),
		SpecSource: data,
		Status:     benchrig.RunFinished,
		Labels:     map[string]string{},
		Fingerprint: benchrig.Fingerprint{OS: uniform["goos"], Arch: uniform["goarch"], CPUModel: uniform["cpu"],
			Version: benchrig.Version, Executor: benchrig.GoBenchExecutor, CgroupMode: benchrig.GoBenchSource},
		Notes:    map[string]string{},
		Warnings: warnings,
	}
	run.Fingerprint.SpecHash = run.SpecHash
	for k, v := range uniform {
		run.Labels[k] = v
	}
	for k, v := range opts.Labels {
		run.Labels[k] = v
	}
	index := map[string]int{} // case ID -> trials so far
	rounded := map[string]bool{}
	for seq, res := range results {
		id := caseID(res, varying)
		n, ok := index[id]
		if !ok && opts.MaxCases > 0 && len(run.Cases) == opts.MaxCases {
			return nil, &benchrig.Error{Code: benchrig.EInvalid, File: opts.display(), Line: res.line,
				Msg: fmt.Sprintf("more than %d distinct benchmarks (--max-cases raises the cap)", opts.MaxCases)}
		}
		if !ok {
			c := caseOf(res, varying)
			c.Index = len(run.Cases)
			run.Cases = append(run.Cases, c)
		}
		index[id] = n + 1
		metrics := map[string]float64{benchrig.GoBenchIterations: float64(res.iters)}
		for _, v := range res.values {
			metrics[benchrig.GoBenchUnitPrefix+written(v)] = writtenValue(v)
		}
		wall := math.Round(res.wall)
		if wall != res.wall {
			rounded[id] = true
		}
		run.Trials = append(run.Trials, benchrig.Trial{CaseID: id, Seq: seq, Index: n, Number: benchrig.TrialNumber(n, 0), Node: benchrig.GoBenchNode,
			Outcome:     benchrig.OutcomeOK,
			Measurement: benchrig.Measurement{Wall: time.Duration(wall), Source: benchrig.GoBenchSource, Metrics: metrics}})
	}
	for id := range rounded {
		run.Notes[id] = "times per op are rounded to whole nanoseconds in the statistics; the exact values are in the trials' metrics (" + benchrig.GoBenchUnitPrefix + "ns/op)"
	}
	// The benchmarks of a package are not alternatives of each other:
	// every case is its own baseline, so a run shows no comparisons
	// within it; runs compare compares two imports (old vs new).
	run.Baselines = map[string]string{}
	for _, c := range run.Cases {
		run.Baselines[c.ID] = c.ID
	}
	run.BaselineID = run.Cases[0].ID
	return run, nil
}

// splitConfig returns the file config keys whose value is the same in
// every result, and the sorted keys whose value changes (or that some
// results lack).
func splitConfig(results []result) (uniform map[string]string, varying []string) {
	uniform = map[string]string{}
	keys := map[string]bool{}
	for _, r := range results {
		for k := range r.config {
			keys[k] = true
		}
	}
	for k := range keys {
		v, same := results[0].config[k]
		for _, r := range results[1:] {
			if w, ok := r.config[k]; !ok || w != v {
				same = false
				break
			}
		}
		if same {
			uniform[k] = v
		} else {
			varying = append(varying, k)
		}
	}
	sort.Strings(varying)
	return uniform, varying
}

// caseID is the ID of the case of a result: its full name, plus the
// varying config when there is any ("Encode-8@pkg=example.com/b").
func caseID(res result, varying []string) string {
	if len(varying) == 0 {
		return res.name
	}
	at := make([]string, len(varying))
	for i, k := range varying {
		at[i] = k + "=" + res.config[k]
	}
	return res.name + "@" + strings.Join(at, ",")
}

// caseOf names the case of a result: its full name (plus the varying
// config, when there is any) and its params.
func caseOf(res result, varying []string) benchrig.Case {
	var params []benchrig.KV
	add := func(name, value string) {
		for taken := true; taken; {
			taken = false
			for _, kv := range params {
				if kv.Name == name {
					name, taken = name+"_", true
					break
				}
			}
		}
		params = append(params, benchrig.KV{Name: name, Value: value})
	}
	for _, k := range varying {
		add(k, res.config[k])
	}
	id := caseID(res, varying)
	base, parts := benchfmt.Name(res.name).Parts()
	add(benchrig.GoBenchParam, string(base))
	for i, p := range parts {
		s := string(p)
		switch {
		case strings.HasPrefix(s, "-"):
			add(benchrig.GoBenchProcsParam, s[1:])
		case strings.Contains(s, "=") && !strings.HasPrefix(s, "/="):
			k, v, _ := strings.Cut(s[1:], "=")
			add(k, v)
		default:
			add("sub"+strconv.Itoa(i+1), strings.TrimPrefix(s, "/"))
		}
	}
	return benchrig.Case{ID: id, Params: params}
}
