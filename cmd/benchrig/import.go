package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/gobench"
	"github.com/benchrig/benchrig/spec"
	"github.com/benchrig/benchrig/sqlite"
)

type importOptions struct {
	store  string
	name   string
	labels []string
	exportOptions
	// maxCases caps the distinct benchmarks, as run's --max-cases.
	maxCases int
}

func newImportCommand(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Store benchmark results measured elsewhere as a run",
	}
	var opts importOptions
	gb := &cobra.Command{
		Use:   "gobench [FILE|-]",
		Short: "Store go test -bench output as a run",
		Long: `Read the output of go test -bench (FILE, or standard input when FILE is - or absent) and
store it as a finished run, so that runs show, runs compare (old vs new, as benchstat
old.txt new.txt), runs list and the exports work on Go benchmarks too.

Each benchmark is a case named by its Go name without "Benchmark" (Encode/size=1k-8), with
params bench=Encode, size=1k (each key=value part), subN (a part without '=') and
gomaxprocs=8; each result line (one per -count) is a measured trial whose time is its ns/op.
Every value of a line (ns/op, B/op, allocs/op, MB/s, custom metrics) is kept exactly in the
trial's metrics as "go:UNIT" (see the JSON export), with the iteration count. The run is
named by --name, else by the pkg: line; goos, goarch, pkg, cpu and any other config line
become its labels (goos, goarch and cpu are shown as its machine), beside --label's.

Bad input (empty, no benchmark lines, a malformed benchmark line, a line without ns/op) is
refused naming the file and line, exit 2, and nothing is stored.`,
		Example: `  go test -run '^$' -bench . -count 10 ./pkg > old.txt
  benchrig import gobench old.txt --label branch=main
  (change the code)
  go test -run '^$' -bench . -count 10 ./pkg | benchrig import gobench --label branch=new
  benchrig runs compare latest~1 latest           # old vs new, as benchstat old.txt new.txt
  benchrig runs show latest --benchstat new.txt   # and back, for benchstat itself`,
		Args: cobra.MaximumNArgs(1),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			file := "-"
			if len(args) == 1 {
				file = args[0]
			}
			if opts.maxCases < 1 {
				return usageError{fmt.Errorf("--max-cases must be at least 1, got %d", opts.maxCases)}
			}
			if cmd.Flags().Changed("name") && opts.name == "" {
				return usageError{fmt.Errorf("--name must not be empty")}
			}
			return runImportGobench(cmd.Context(), d, opts, file)
		}),
	}
	f := gb.Flags()
	f.StringVar(&opts.store, "store", "", "SQLite store `PATH` (default $BENCHRIG_STORE or ~/.local/share/benchrig/benchrig.db)")
	f.StringVar(&opts.name, "name", "", "the run's spec `NAME` (default: the pkg: line; runs compare matches runs of one name)")
	f.StringArrayVar(&opts.labels, "label", nil, "label the run `key=value` (repeatable; wins over a config line of the same key)")
	opts.exportOptions.flags(f)
	f.IntVar(&opts.maxCases, "max-cases", spec.DefaultMaxCases, "refuse input of more than `N` distinct benchmarks")
	cmd.AddCommand(gb)
	return cmd
}

func runImportGobench(ctx context.Context, d *deps, opts importOptions, file string) error {
	labels, err := parseLabels(opts.labels)
	if err != nil {
		return err
	}
	store := storePath(d, opts.store)
	if err := checkWritable(store, opts.paths()...); err != nil {
		return err
	}
	in, from, err := openInput(d, file)
	if err != nil {
		return err
	}
	defer in.Close()
	run, err := gobench.Read(in, gobench.Options{File: from, Name: opts.name, Labels: labels, MaxCases: opts.maxCases})
	if err != nil {
		return err
	}
	db, err := sqlite.Open(ctx, store)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := d.newApp(db).Import(ctx, run, run.SpecFile); err != nil {
		return err
	}
	if n := len(run.Notes); n > 0 {
		fmt.Fprintf(d.stderr, "note: %d case(s) have fractional ns/op: their statistics use them rounded to whole nanoseconds; the exact values are in the trials' metrics (%sns/op: --json) and in --benchstat\n",
			n, benchrig.GoBenchUnitPrefix)
	}
	return printRun(d, run, nil, store, opts.exportOptions)
}

// openInput opens the file to import, or standard input for "-"; from
// names it in errors and in the run's record. Only a regular file or a
// stream (a pipe, a terminal) is read: a directory is refused.
func openInput(d *deps, file string) (io.ReadCloser, string, error) {
	if file == "-" {
		return io.NopCloser(d.stdin), "-", nil
	}
	path := file
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.cwd, path)
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", &benchrig.Error{Code: benchrig.EInvalid, File: file, Msg: "no such file"}
		}
		return nil, "", &benchrig.Error{Code: benchrig.EInvalid, File: file, Msg: "cannot read", Err: err}
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, "", &benchrig.Error{Code: benchrig.EInvalid, File: file, Msg: "is a directory: want a file of go test -bench output"}
	}
	return f, file, nil
}
