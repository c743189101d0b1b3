package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/collect"
	"github.com/benchrig/benchrig/internal/atomicfile"
	"github.com/benchrig/benchrig/pools"
	"github.com/benchrig/benchrig/reports"
	"github.com/benchrig/benchrig/runner"
	"github.com/benchrig/benchrig/spec"
	"github.com/benchrig/benchrig/sqlite"
)

type runOptions struct {
	sets     []string
	repeat   int
	warmup   int
	json     string
	csv      string
	md       string
	store    string
	executor string
	quiet    bool
	cgroups  string
	pools    string
	pool     []string
}

func newRunCommand(d *deps) *cobra.Command {
	opts := runOptions{warmup: -1}
	cmd := &cobra.Command{
		Use:   "run SPEC",
		Short: "Run every case of a benchmark spec and report the comparison",
		Long: `Run every case of the spec's parameter matrix, interleaved round by round (A B C A B C ...)
unless the spec asks for sequential order. Each trial is recorded in the store as soon as it
finishes; Ctrl-C stops cleanly, keeps the finished trials and marks the run cancelled.

With --pool (or the spec's pools field) the trials run in containers on the pool's
nodes (Docker engines listed in the pools file, see 'benchrig pool'): every case on every
matching node (or one node per architecture, see the spec's placement), with the image for
the node's architecture, several nodes at once, one trial at a time per node unless the
spec allows more. Nodes added to or removed from the pool during the run are seen; a lost
node's cases move to a node of the same architecture and labels, or their remaining
trials are recorded as failed (node-lost).

Exit codes: 0 all trials succeeded, 1 some trials failed, 2 invalid spec or flags,
130 cancelled.`,
		Example: `  benchrig run spec.yaml
  benchrig run spec.yaml --set impl=gnu,busybox --repeat 20 --json out.json
  benchrig run spec.yaml --csv trials.csv --md summary.md --store ./bench.db
  benchrig run benchmarks/grep-impl.yaml --pools .testenv/pools.yaml --pool lab`,
		Args: cobra.ExactArgs(1),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("repeat") && opts.repeat < 1 {
				return usageError{fmt.Errorf("--repeat must be at least 1, got %d", opts.repeat)}
			}
			if cmd.Flags().Changed("warmup") && opts.warmup < 0 {
				return usageError{fmt.Errorf("--warmup must not be negative, got %d", opts.warmup)}
			}
			return runRun(cmd.Context(), d, opts, args[0])
		}),
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.sets, "set", nil, "override or narrow a param: `key=v1,v2` (repeatable)")
	f.IntVar(&opts.repeat, "repeat", 0, "measured trials per case, overriding the spec's repeat")
	f.IntVar(&opts.warmup, "warmup", -1, "warmup trials per case, overriding the spec's warmup")
	f.StringVar(&opts.json, "json", "", "write the results as JSON to `FILE` (schema: reports/SCHEMA.md)")
	f.StringVar(&opts.csv, "csv", "", "write one row per trial as CSV to `FILE`")
	f.StringVar(&opts.md, "md", "", "write the summary tables as Markdown to `FILE`")
	f.StringVar(&opts.store, "store", "", "SQLite store `PATH` (default $BENCHRIG_STORE or ~/.local/share/benchrig/benchrig.db)")
	f.StringVar(&opts.executor, "executor", "local", "where trials run: local")
	f.StringVar(&opts.cgroups, "cgroups", "auto", "put each trial in its own cgroup: auto (when the host allows) or off (rusage only)")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "no progress output")
	f.StringVar(&opts.pools, "pools", "", "pools `FILE` (default $BENCHRIG_POOLS or ~/.config/benchrig/pools.yaml)")
	f.StringArrayVar(&opts.pool, "pool", nil, "run in containers on the nodes of pool `NAME` (repeatable; overrides the spec's pools)")
	return cmd
}

func runRun(ctx context.Context, d *deps, opts runOptions, file string) error {
	newExec, ok := d.executors[opts.executor]
	if !ok {
		return usageError{fmt.Errorf("unknown executor %q", opts.executor)}
	}
	if opts.cgroups != "auto" && opts.cgroups != "off" {
		return usageError{fmt.Errorf("--cgroups must be auto or off, got %q", opts.cgroups)}
	}
	s, err := spec.Load(file)
	if err != nil {
		return err
	}
	if err := spec.ApplySet(s, opts.sets); err != nil {
		return err
	}
	overrides := append([]string(nil), prefixed("--set ", opts.sets)...)
	if opts.repeat > 0 {
		s.Repeat = benchrig.Repeat{Min: opts.repeat, Max: opts.repeat}
		overrides = append(overrides, "--repeat "+strconv.Itoa(opts.repeat))
	}
	if opts.warmup >= 0 {
		s.Warmup = opts.warmup
		overrides = append(overrides, "--warmup "+strconv.Itoa(opts.warmup))
	}
	if err := checkWritable(opts.json, opts.csv, opts.md); err != nil {
		return err
	}
	store := storePath(d, opts.store)
	db, err := sqlite.Open(ctx, store)
	if err != nil {
		return err
	}
	defer db.Close()

	fp := collect.Host(collect.Roots{})
	fp.SpecHash = s.Hash
	if s.File != "" {
		dir := filepath.Dir(s.File)
		fp.GitCommit, fp.GitDirty = collect.GitCommit(ctx, dir, filepath.Base(s.File))
	}
	cfg := runner.Config{
		Recorder:    db,
		Fingerprint: fp,
		Environ:     d.environ,
		Dir:         d.cwd,
		Overrides:   overrides,
	}
	poolNames := s.Placement.Pools
	if len(opts.pool) > 0 {
		poolNames = opts.pool
		overrides = append(overrides, prefixed("--pool ", opts.pool)...)
		cfg.Overrides = overrides
	}
	var nodes *poolNodes
	if len(poolNames) > 0 {
		// Containers on node pools: the docker executor, one per node.
		path := pools.Path(opts.pools, d.getenv)
		if !filepath.IsAbs(path) {
			path = filepath.Join(d.cwd, path)
		}
		nodes = &poolNodes{path: path, pools: poolNames, shimDir: shimDir(d), warn: d.stderr}
		defer nodes.close()
		cfg.Nodes = nodes
		cfg.Fingerprint.Executor = "docker"
		cfg.Fingerprint.CgroupMode = "shim"
	} else {
		exec := newExec(executorOptions{noCgroups: opts.cgroups == "off"})
		if w := exec.Warning(); w != "" {
			fmt.Fprintf(d.stderr, "warning: %s\n", w)
		}
		for _, n := range exec.Notes() {
			fmt.Fprintf(d.stderr, "note: %s\n", n)
		}
		cfg.Executor, cfg.Node = exec, "local"
		cfg.Fingerprint.Executor = opts.executor
		cfg.Fingerprint.CgroupMode = exec.Mode()
	}

	prog := newProgress(d.stderr, d.tty, opts.quiet)
	cfg.Observe = prog.observe
	run, err := runner.Run(ctx, cfg, s)
	prog.finish()
	if nodes != nil && run != nil && benchrig.ErrorCode(err) == benchrig.ECancelled {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		nodes.removeRun(rctx, run.ID)
		cancel()
	}
	if run == nil {
		return err
	}
	rep := reports.Build(run)
	if werr := reports.WriteText(d.stdout, rep); werr != nil && err == nil {
		err = werr
	}
	printFailures(d, run)
	fmt.Fprintf(d.stdout, "\nstored as run %s in %s (benchrig runs show %s)\n", run.ID, store, run.ID)
	if werr := writeExports(rep, opts.json, opts.csv, opts.md); werr != nil && err == nil {
		err = werr
	}
	switch {
	case err != nil && benchrig.ErrorCode(err) == benchrig.ECancelled:
		return &benchrig.Error{Code: benchrig.ECancelled, Msg: fmt.Sprintf("run %s cancelled: %d finished trial(s) kept", run.ID, len(run.Trials))}
	case err != nil:
		return err
	case run.Status == benchrig.RunFailed:
		return &benchrig.Error{Code: benchrig.ETrialsFailed, Msg: fmt.Sprintf("run %s: some trials failed (details above)", run.ID)}
	case len(run.Cases) > 0 && len(run.Skipped) == len(run.Cases):
		return &benchrig.Error{Code: benchrig.ETrialsFailed, Msg: fmt.Sprintf("run %s: no case could run here; every case was skipped (reasons above)", run.ID)}
	}
	return nil
}

// printFailures shows, per case, how many trials failed and the stderr of
// the last failure, so a broken command is seen at once; and, in a failed
// run, each case's note: a case given up after its warmup (its node could
// not start a trial) has no failed trial to say why, and with -q the note
// was shown nowhere else.
func printFailures(d *deps, run *benchrig.Run) {
	type agg struct {
		n    int
		last *benchrig.Trial
	}
	byCase := map[string]*agg{}
	for i := range run.Trials {
		t := &run.Trials[i]
		if !t.Failed() {
			continue
		}
		a := byCase[t.CaseID]
		if a == nil {
			a = &agg{}
			byCase[t.CaseID] = a
		}
		a.n++
		a.last = t
	}
	ran := map[string]bool{}
	for _, t := range run.Trials {
		ran[t.CaseID] = true
	}
	for _, c := range run.Cases {
		if _, skipped := run.Skipped[c.ID]; (!ran[c.ID] || run.Status == benchrig.RunFailed) && !skipped && run.Notes[c.ID] != "" {
			// Its setup failed, or its node could not run it (from the
			// start or after some trials): no trial says why, the note does.
			fmt.Fprintf(d.stderr, "\ncase %s: %s\n", c.ID, run.Notes[c.ID])
		}
		a := byCase[c.ID]
		if a == nil {
			continue
		}
		reason := a.last.Error
		if reason == "" {
			reason = "exit status " + strconv.Itoa(a.last.ExitCode)
		}
		fmt.Fprintf(d.stderr, "\ncase %s: %d trial(s) failed; last: %s\n", c.ID, a.n, reason)
		if tail := strings.TrimSpace(a.last.StderrTail); tail != "" {
			lines := strings.Split(tail, "\n")
			if len(lines) > 10 {
				lines = lines[len(lines)-10:]
			}
			for _, l := range lines {
				fmt.Fprintf(d.stderr, "  | %s\n", l)
			}
		}
	}
}

func prefixed(prefix string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = prefix + x
	}
	return out
}

// writeExports writes the report to each export file given ("" skips it).
func writeExports(rep *reports.Report, json, csv, md string) error {
	for _, e := range []struct {
		path  string
		write func(*os.File) error
	}{
		{json, func(f *os.File) error { return reports.WriteJSON(f, rep) }},
		{csv, func(f *os.File) error { return reports.WriteCSV(f, rep) }},
		{md, func(f *os.File) error { return reports.WriteMarkdown(f, rep) }},
	} {
		if e.path == "" {
			continue
		}
		if err := writeFile(e.path, e.write); err != nil {
			return err
		}
	}
	return nil
}

// checkWritable fails early, with the path named, when an export file
// cannot be created, so a typo in a path does not cost a whole run. It
// leaves no file behind.
func checkWritable(paths ...string) error {
	for _, p := range paths {
		if err := checkWritableOne(p); err != nil {
			return err
		}
	}
	return nil
}

func checkWritableOne(path string) error {
	if path == "" {
		return nil
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return &benchrig.Error{Code: benchrig.EInvalid, File: path, Msg: "cannot write: directory " + dir + " does not exist"}
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return &benchrig.Error{Code: benchrig.EInvalid, File: path, Msg: "cannot write: is a directory"}
	}
	f, err := os.CreateTemp(dir, ".benchrig-check-*")
	if err != nil {
		return &benchrig.Error{Code: benchrig.EInvalid, File: path, Msg: "cannot write", Err: err}
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// writeFile writes through a temporary file and renames it, so a failed
// write never leaves a truncated export.
func writeFile(path string, write func(*os.File) error) error {
	if err := atomicfile.Write(path, 0o644, false, write); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func repeatText(r benchrig.Repeat) string {
	if !r.Adaptive() {
		return strconv.Itoa(r.Max)
	}
	s := fmt.Sprintf("%d-%d", r.Min, r.Max)
	if r.UntilCI > 0 {
		s += fmt.Sprintf(" (until CI < %.1f%%)", r.UntilCI*100)
	}
	return s
}
