package reports

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/perf/benchfmt"

	"github.com/benchrig/benchrig"
)

// WriteBenchstat writes the measured, successful trials of r in the Go
// benchmark format, one result line per trial, so that `benchstat old.txt
// new.txt` compares any two benchrig runs.
//
// Config lines come first: goos, goarch and cpu from the fingerprint and
// pkg from the run's label, each when known. A run imported from go test
// output (benchrig.GoBenchExecutor) is written back as it was read: each
// case under its Go name, with its iteration counts and every value under
// its unit as written (ns/op, B/op, allocs/op, MB/s, custom units); config
// that varied within the input (several packages) is written before the
// results it held for. Another run's case is named by the spec name and
// its params (BenchmarkSPEC/key=value/...; white space becomes '_', as go
// test does, and '/' in a value becomes '_' so that benchstat reads the
// parts as written) and each trial is one iteration with its wall time as
// ns/op, its CPU as user-ns/op and sys-ns/op, and its peak memory as
// peak-RSS-B when measured.
func WriteBenchstat(w io.Writer, r *Report) error {
	var cw benchstatWriter
	cw.run(r, nil)
	if _, err := w.Write(cw.b.Bytes()); err != nil {
		return fmt.Errorf("write benchstat export: %w", err)
	}
	return nil
}

// BenchstatRunKey is the file config key that names the run of each result
// in the export of a comparison (WriteBenchstatRuns).
const BenchstatRunKey = "run"

// WriteBenchstatRuns writes the trials of runs a and b in one file, as
// WriteBenchstat writes each, a's first and each run's under its own
// config line "run: ID", so that benchstat compares them column by
// column, a's the base:
//
//	benchstat -col run compare.txt
//
// (Config lines that differ between the runs, such as cpu when they ran
// on two machines, also split benchstat's tables; -ignore cpu joins them.)
func WriteBenchstatRuns(w io.Writer, a, b *Report) error {
	var cw benchstatWriter
	for _, r := range []*Report{a, b} {
		cw.run(r, []benchfmt.Config{{Key: BenchstatRunKey, Value: []byte(oneLine(r.RunID)), File: true}})
	}
	if _, err := w.Write(cw.b.Bytes()); err != nil {
		return fmt.Errorf("write benchstat export: %w", err)
	}
	return nil
}

// benchstatWriter writes runs' results in the Go benchmark format, with
// config lines where the config changes.
type benchstatWriter struct {
	b       bytes.Buffer
	last    []benchfmt.Config
	started bool
}

// run writes the measured, successful trials of r, under its config and
// extra (as WriteBenchstat says).
func (cw *benchstatWriter) run(r *Report, extra []benchfmt.Config) {
	imported := r.Fingerprint.Imported()
	var base []benchfmt.Config
	add := func(key, value string) {
		if v := oneLine(value); v != "" {
			base = append(base, benchfmt.Config{Key: key, Value: []byte(v), File: true})
		}
	}
	switch {
	case imported:
		add("goos", r.Fingerprint.OS)
		add("goarch", r.Fingerprint.Arch)
	case len(r.Nodes) == 0:
		// A run on node pools has its nodes' architectures as params;
		// the fingerprint's OS is the distribution, not a GOOS.
		add("goarch", r.Fingerprint.Arch)
	}
	add("pkg", r.Labels["pkg"])
	if imported || len(r.Nodes) == 0 {
		add("cpu", r.Fingerprint.CPUModel)
	}
	base = append(base, extra...)
	b := &cw.b
	for _, c := range r.Cases {
		name, config := benchstatName(r.SpecName, c.Case), base
		if imported {
			name, config = importedName(c.Case, base)
		}
		for _, t := range c.Trials {
			if t.Excluded() || t.Failed() {
				continue
			}
			if !cw.started || !slices.EqualFunc(config, cw.last, func(x, y benchfmt.Config) bool { return x.Key == y.Key && bytes.Equal(x.Value, y.Value) }) {
				writeConfig(b, cw.last, config, !cw.started)
				cw.last, cw.started = config, true
			}
			iters, vals := 1, measuredValues(t)
			if imported {
				iters, vals = importedValues(t)
			}
			fmt.Fprintf(b, "Benchmark%s %d", name, iters)
			for _, v := range vals {
				// 'f', -1: exact and without an exponent, as go test writes.
				fmt.Fprintf(b, " %s %s", strconv.FormatFloat(v.Value, 'f', -1, 64), v.Unit)
			}
			b.WriteByte('\n')
		}
	}
}

// writeConfig writes the config lines that change from last to next: a
// key no longer set is written empty ("pkg:"), which ends it.
func writeConfig(b *bytes.Buffer, last, next []benchfmt.Config, first bool) {
	if !first {
		b.WriteByte('\n')
	}
	for _, l := range last {
		if !slices.ContainsFunc(next, func(n benchfmt.Config) bool { return n.Key == l.Key }) {
			fmt.Fprintf(b, "%s:\n", l.Key)
		}
	}
	for _, n := range next {
		i := slices.IndexFunc(last, func(l benchfmt.Config) bool { return l.Key == n.Key })
		if first || i < 0 || !bytes.Equal(last[i].Value, n.Value) {
			fmt.Fprintf(b, "%s: %s\n", n.Key, n.Value)
		}
	}
	b.WriteByte('\n')
}

// benchstatName is the Go benchmark name of a case of a spec's run, without
// the "Benchmark" prefix.
func benchstatName(spec string, c benchrig.Case) string {
	var b strings.Builder
	b.WriteString(nameField(spec, false))
	for _, kv := range c.Params {
		b.WriteString("/" + nameField(kv.Name, true) + "=" + nameField(kv.Value, true))
	}
	return b.String()
}

// nameField makes s one part of a benchmark name: white space and
// control characters become '_', as go test does, and in a sub-benchmark
// part '/' and '=' do too, which would split it.
func nameField(s string, part bool) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) || (part && (r == '/' || r == '=')) {
			return '_'
		}
		return r
	}, s)
}

// importedName splits an imported case's ID into its Go name and the
// config that varied within the input ("Encode-8@pkg=example.com/b"),
// which replaces base's values for those keys.
func importedName(c benchrig.Case, base []benchfmt.Config) (string, []benchfmt.Config) {
	// The config follows the last '@', and each of its keys is a param
	// with that value; a name may hold '@' itself (Fetch/v@1-8).
	i := strings.LastIndexByte(c.ID, '@')
	if i < 0 {
		return c.ID, base
	}
	name, at := c.ID[:i], c.ID[i+1:]
	var keys []string
	for rest := at; rest != ""; {
		k, _, ok := strings.Cut(rest, "=")
		v, has := c.Get(k)
		if !ok || !has || !strings.HasPrefix(rest, k+"="+v) {
			return c.ID, base
		}
		keys = append(keys, k)
		rest = strings.TrimPrefix(rest[len(k+"="+v):], ",")
	}
	config := slices.Clone(base)
	for _, k := range keys {
		v, _ := c.Get(k) // the param holds the whole value, commas and all
		i := slices.IndexFunc(config, func(x benchfmt.Config) bool { return x.Key == k })
		if i < 0 {
			// pkg goes before cpu, where go test writes it.
			i = len(config)
			if cpu := slices.IndexFunc(config, func(x benchfmt.Config) bool { return x.Key == "cpu" }); k == "pkg" && cpu >= 0 {
				i = cpu
			}
			config = slices.Insert(config, i, benchfmt.Config{Key: k, File: true})
		}
		config[i].Value = []byte(oneLine(v))
	}
	return name, config
}

// importedValues are an imported trial's iteration count and values as
// read.
func importedValues(t benchrig.Trial) (int, []benchfmt.Value) {
	iters := 1
	if n, ok := t.Metrics[benchrig.GoBenchIterations]; ok && n >= 1 {
		iters = int(n)
	}
	var units []string
	for k := range t.Metrics {
		if unit, ok := strings.CutPrefix(k, benchrig.GoBenchUnitPrefix); ok {
			units = append(units, unit)
		}
	}
	// In go test's order: ns/op, MB/s, custom units by name, B/op, allocs/op.
	rank := func(u string) int {
		switch u {
		case "ns/op":
			return 0
		case "MB/s":
			return 1
		case "B/op":
			return 3
		case "allocs/op":
			return 4
		}
		return 2
	}
	slices.SortFunc(units, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	if len(units) == 0 {
		return iters, []benchfmt.Value{{Value: float64(t.Wall.Nanoseconds()), Unit: "ns/op"}}
	}
	vals := make([]benchfmt.Value, len(units))
	for i, u := range units {
		vals[i] = benchfmt.Value{Value: t.Metrics[benchrig.GoBenchUnitPrefix+u], Unit: u}
	}
	return iters, vals
}

// measuredValues are what benchrig measured of one trial.
func measuredValues(t benchrig.Trial) []benchfmt.Value {
	vals := []benchfmt.Value{
		{Value: float64(t.Wall.Nanoseconds()), Unit: "ns/op"},
		{Value: float64(t.User.Nanoseconds()), Unit: "user-ns/op"},
		{Value: float64(t.Sys.Nanoseconds()), Unit: "sys-ns/op"},
	}
	if t.MaxRSS > 0 {
		vals = append(vals, benchfmt.Value{Value: float64(t.MaxRSS), Unit: "peak-RSS-B"})
	}
	return vals
}

// oneLine keeps a config value on its line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// startedWord says what a run's start time is: when it started, or, for a
// run imported from go test -bench output, when it was imported (when go
// test ran is not known, and the import took no time worth a duration).
func startedWord(f benchrig.Fingerprint) string {
	if f.Imported() {
		return "imported"
	}
	return "started"
}
