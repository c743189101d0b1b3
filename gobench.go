package benchrig

// A run imported from `go test -bench` output (benchrig import gobench) is
// an ordinary run with these marks, which the import writes and the
// benchstat export reads: one source of truth for both directions.
const (
	// GoBenchExecutor is the Fingerprint.Executor of an imported run: its
	// trials were measured by Go's testing package, not by benchrig.
	GoBenchExecutor = "gobench"
	// GoBenchSource is the Measurement.Source of an imported trial.
	GoBenchSource = "gobench"
	// GoBenchNode is the node of an imported trial and of its run (so
	// runs list --node go-test finds it): where go test ran is known only
	// by its config lines (goos, goarch, cpu), kept on the run's
	// fingerprint; goarch is the node's architecture.
	GoBenchNode = "go-test"

	// GoBenchUnitPrefix prefixes every value of a result line in the
	// trial's Metrics, under its unit as written: "go:ns/op",
	// "go:B/op", "go:allocs/op", "go:MB/s", custom units alike. The
	// values are exactly as read (Wall is ns/op rounded to whole ns).
	GoBenchUnitPrefix = "go:"
	// GoBenchIterations is the Metrics key of a result line's iteration
	// count (b.N).
	GoBenchIterations = "go_iterations"

	// GoBenchParam is the case param holding the benchmark's base name
	// (Encode for BenchmarkEncode/size=1k-8), GoBenchProcsParam the one
	// holding its GOMAXPROCS suffix (8), when the name has one.
	// Sub-benchmark parts key=value become params of their own; a part
	// without "=" becomes param subN, N its position among the parts.
	GoBenchParam      = "bench"
	GoBenchProcsParam = "gomaxprocs"
)

// Imported says whether f is the fingerprint of a run imported from go
// test -bench output: its trials were measured elsewhere, at a time not
// known, and its start and finish are both the time of the import.
func (f Fingerprint) Imported() bool { return f.Executor == GoBenchExecutor }

// HostNode is the node of a run without node pools: GoBenchNode for an
// imported run, "local" (the local executor) otherwise.
func (f Fingerprint) HostNode() string {
	if f.Imported() {
		return GoBenchNode
	}
	return "local"
}
