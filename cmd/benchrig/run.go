package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/app"
	"github.com/benchrig/benchrig/internal/atomicfile"
	"github.com/benchrig/benchrig/pools"
	"github.com/benchrig/benchrig/reports"
	"github.com/benchrig/benchrig/spec"
	"github.com/benchrig/benchrig/sqlite"
)

type runOptions struct {
	sets     []string
	repeat   int
	warmup   int
	warmupOn bool // --warmup was given (0 is a valid override)
	exportOptions
	store    string
	executor string
	quiet    bool
	cgroups  string
	pools    string
	pool     []string
	labels   []string
	dryRun   bool
	maxCases int
	commands []string // -c: commands to compare instead of a spec
	names    []string
	prepare  string
	// collectInterval is --collect-interval (0: the spec's) and noCollect
	// --no-collect.
	collectInterval time.Duration
	noCollect       bool
	profile         profileFlags
	// es ships samples, trials, events and statistics to Elasticsearch
	// when a URL is given.
	es esOptions
	// gate is --baseline and the gate's flags, and --junit.
	gate gateOptions
}

func newRunCommand(d *deps) *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "run SPEC | run -c CMD -c CMD ...",
		Short: "Run every case of a benchmark spec and report the comparison",
		Long: `Run every case of the spec's parameter matrix, interleaved round by round (A B C A B C ...)
unless the spec asks for sequential order. Each trial is recorded in the store as soon as it
finishes, and so are the run's events, notes and a heartbeat: a run whose process dies shows
as interrupted and 'benchrig runs resume' completes it. Ctrl-C stops cleanly, keeps the
finished trials and marks the run cancelled.

With --pool (or the spec's pools field) the trials run in containers on the pool's
nodes (Docker engines listed in the pools file, see 'benchrig pool'): every case on every
matching node (or one node per architecture, see the spec's placement), with the image for
the node's architecture, several nodes at once, one trial at a time per node unless the
spec allows more. Nodes added to or removed from the pool during the run are seen; a lost
node's cases move to a node of the same architecture and labels, or their remaining
trials are recorded as failed (node-lost).

--dry-run prints every case with its resolved command, image and node, and runs nothing.

Without a spec file, -c compares commands as hyperfine does: each -c is a case, run by
/bin/sh -c and named by its text (or by --name, once per -c), with the same statistics,
store, exports and flags (--repeat, --warmup, --json ...) as a spec; the first is the
baseline.

` + gateHelp + `

` + exitCodesHelp,
		Example: `  benchrig run spec.yaml
  benchrig run spec.yaml --dry-run
  benchrig run -c 'gzip -1 <data' -c 'gzip -9 <data' --repeat 20
  benchrig run spec.yaml --set impl=gnu,busybox --repeat 20 --json out.json
  benchrig run spec.yaml --csv trials.csv --md summary.md --store ./bench.db --label branch=main
  benchrig run benchmarks/grep-impl.yaml --pools .testenv/pools.yaml --pool lab
  benchrig run spec.yaml --baseline label:branch=main --max-regression 5% --junit benchrig.xml --md summary.md`,
		Args: cobra.MaximumNArgs(1),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 1 && len(opts.commands) > 0:
				return usageError{fmt.Errorf("give a spec file or -c commands, not both")}
			case len(args) == 0 && len(opts.commands) == 0:
				return usageError{fmt.Errorf("give a spec file, or commands to compare with -c 'CMD' -c 'CMD'")}
			case len(opts.names) > 0 && len(opts.commands) == 0:
				return usageError{fmt.Errorf("--name names -c commands; a spec names its own cases")}
			}
			file := ""
			if len(args) == 1 {
				file = args[0]
			}
			if cmd.Flags().Changed("repeat") && opts.repeat < 1 {
				return usageError{fmt.Errorf("--repeat must be at least 1, got %d", opts.repeat)}
			}
			opts.warmupOn = cmd.Flags().Changed("warmup")
			if opts.warmupOn && opts.warmup < 0 {
				return usageError{fmt.Errorf("--warmup must not be negative, got %d", opts.warmup)}
			}
			return runRun(cmd.Context(), d, opts, file)
		}),
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.sets, "set", nil, "override or narrow a param: `key=v1,v2` (repeatable)")
	f.IntVar(&opts.repeat, "repeat", 0, "measured trials per case, overriding the spec's repeat")
	f.IntVar(&opts.warmup, "warmup", 0, "warmup trials per case, overriding the spec's warmup")
	opts.exportOptions.flags(f)
	f.StringVar(&opts.store, "store", "", "SQLite store `PATH` (default $BENCHRIG_STORE or ~/.local/share/benchrig/benchrig.db)")
	f.StringVar(&opts.executor, "executor", "local", "where trials run without --pool: local (child processes on this host)")
	f.StringVar(&opts.cgroups, "cgroups", "auto", "put each trial in its own cgroup: auto (when the host allows) or off (rusage only)")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "no progress output")
	f.StringVar(&opts.pools, "pools", "", "pools `FILE` (default $BENCHRIG_POOLS or ~/.config/benchrig/pools.yaml)")
	f.StringArrayVar(&opts.pool, "pool", nil, "run in containers on the nodes of pool `NAME` (repeatable; overrides the spec's pools)")
	f.StringArrayVar(&opts.labels, "label", nil, "label the run `key=value`, to find it again with runs list --label (repeatable)")
	f.BoolVar(&opts.dryRun, "dry-run", false, "print every case with its resolved command, image and node; run nothing")
	f.IntVar(&opts.maxCases, "max-cases", spec.DefaultMaxCases, "refuse a matrix of more than `N` cases")
	f.StringArrayVarP(&opts.commands, "command", "c", nil, "compare this shell `CMD` (repeatable; instead of a spec file)")
	f.StringArrayVar(&opts.names, "name", nil, "name the -c commands' cases, in order (repeatable)")
	f.StringVar(&opts.prepare, "prepare", "", "run shell `CMD` before every trial, unmeasured (replaces the spec's prepare)")
	f.DurationVar(&opts.collectInterval, "collect-interval", 0, "sample the trials' cgroups and the host every `D` (at least 100ms; default the spec's collect.interval, else 1s)")
	f.BoolVar(&opts.noCollect, "no-collect", false, "run no collector beside the run (overrides the spec's collect block)")
	opts.profile.addFlags(f)
	opts.es.addFlags(f)
	opts.gate.flags(f)
	return cmd
}

// request turns the run command's flags into the application's request.
func (o runOptions) request(d *deps, file string) (benchrig.RunRequest, error) {
	if o.cgroups != "auto" && o.cgroups != "off" {
		return benchrig.RunRequest{}, usageError{fmt.Errorf("--cgroups must be auto or off, got %q", o.cgroups)}
	}
	if o.collectInterval != 0 && o.collectInterval < benchrig.MinCollectInterval {
		return benchrig.RunRequest{}, usageError{fmt.Errorf("--collect-interval must be at least %s, got %s", benchrig.MinCollectInterval, o.collectInterval)}
	}
	if o.collectInterval != 0 && o.noCollect {
		return benchrig.RunRequest{}, usageError{fmt.Errorf("--collect-interval and --no-collect contradict each other")}
	}
	if err := o.profile.check(); err != nil {
		return benchrig.RunRequest{}, err
	}
	if _, ok := d.executors[o.executor]; !ok {
		return benchrig.RunRequest{}, usageError{fmt.Errorf("unknown executor %q: the executors are %s (containers run with --pool)", o.executor, strings.Join(slices.Sorted(maps.Keys(d.executors)), ", "))}
	}
	labels, err := runLabels(d, o.labels)
	if err != nil {
		return benchrig.RunRequest{}, err
	}
	g, err := o.gate.request()
	if err != nil {
		return benchrig.RunRequest{}, err
	}
	req := benchrig.RunRequest{
		SpecFile: file, Commands: o.commands, Names: o.names, Prepare: o.prepare, Sets: o.sets, Repeat: o.repeat, Pools: o.pool,
		Executor: o.executor, Cgroups: o.cgroups, Dir: d.cwd, Labels: labels, MaxCases: o.maxCases,
		CollectInterval: o.collectInterval, NoCollect: o.noCollect, Gate: g,
		Profile: o.profile.mode, ProfileFreq: o.profile.freq,
	}
	if o.warmupOn {
		w := o.warmup
		req.Warmup = &w
	}
	path := pools.Path(o.pools, d.getenv)
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.cwd, path)
	}
	req.PoolsFile = path
	return req, nil
}

// parseLabels reads key=value flags.
func parseLabels(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, l := range flags {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("--label %q: want key=value", l)}
		}
		out[k] = v
	}
	return out, nil
}

func runRun(ctx context.Context, d *deps, opts runOptions, file string) error {
	req, err := opts.request(d, file)
	if err != nil {
		return err
	}
	store := storePath(d, opts.store)
	opts.exportOptions.junit = opts.gate.junit
	if err := checkWritable(store, opts.paths()...); err != nil {
		return err
	}
	db, err := sqlite.Open(ctx, store)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CheckWritable(); err != nil {
		return err
	}
	a := d.newApp(db)
	sweep(ctx, d, a)
	if !opts.dryRun {
		if err := opts.es.attach(ctx, d, a); err != nil {
			return err
		}
	}
	started := false
	defer closeUnused(ctx, a, &started)

	prog := newProgress(d.stderr, d.tty, opts.quiet)
	pending, err := a.Prepare(ctx, req, prog.subscriber())
	if err != nil {
		return err
	}
	prog.setCases(pending.Run().Cases)
	for _, w := range pending.Warnings {
		fmt.Fprintf(d.stderr, "warning: %s\n", w)
	}
	for _, n := range pending.Notes {
		fmt.Fprintf(d.stderr, "note: %s\n", n)
	}
	if opts.dryRun {
		defer pending.Close()
		return printPlan(d, pending)
	}
	started = true // from here the run closes the result sink
	h, err := a.Start(ctx, pending)
	if err != nil {
		return err
	}
	run, err := h.Wait()
	prog.finish()
	return printRun(d, run, err, store, opts.exportOptions)
}

// sweep marks runs whose process died as interrupted (and cleans their
// containers) and says so, so a user sees it where they start runs.
func sweep(ctx context.Context, d *deps, a *app.App) {
	stale, err := a.Sweep(ctx)
	if err != nil {
		fmt.Fprintf(d.stderr, "warning: looking for interrupted runs: %v\n", err)
		return
	}
	for _, r := range stale {
		fmt.Fprintf(d.stderr, "note: run %s (%s) was interrupted: its process stopped at %s; 'benchrig runs resume %s' runs its missing trials\n",
			r.ID, r.SpecName, r.Heartbeat.Local().Format("2006-01-02 15:04:05"), r.ID)
		for _, w := range r.Warnings {
			fmt.Fprintf(d.stderr, "warning: run %s: %s\n", r.ID, w)
		}
	}
}

// printRun prints a run that ended (or was cancelled), writes its exports,
// and returns the error that sets the exit code.
func printRun(d *deps, run *benchrig.Run, err error, store string, e exportOptions) error {
	if run == nil {
		return err
	}
	rep := reports.Build(run)
	if werr := reports.WriteText(d.stdout, rep); werr != nil && err == nil {
		err = werr
	}
	printFailures(d, run)
	for _, w := range run.Warnings {
		fmt.Fprintf(d.stderr, "warning: %s\n", w)
	}
	if run.Gate != nil {
		fmt.Fprintln(d.stdout)
		if werr := reports.WriteGateText(d.stdout, run.Gate); werr != nil && err == nil {
			err = werr
		}
	}
	fmt.Fprintf(d.stdout, "\nstored as run %s in %s (benchrig runs show %s)\n", run.ID, store, run.ID)
	if run.Profiling != nil {
		fmt.Fprintf(d.stdout, "where the time went: benchrig runs profile %s (--svg F for a flame graph)\n", run.ID)
	}
	if werr := writeRunExports(run, rep, store, e); werr != nil && err == nil {
		err = werr
	}
	switch {
	case err != nil && benchrig.ErrorCode(err) == benchrig.ECancelled:
		warm := 0
		for _, t := range run.Trials {
			if t.Warmup {
				warm++
			}
		}
		return &benchrig.Error{Code: benchrig.ECancelled, Msg: fmt.Sprintf("run %s cancelled: %d finished trial(s) kept, %d measured and %d warmup (benchrig runs resume %s runs the rest)", run.ID, len(run.Trials), len(run.Trials)-warm, warm, run.ID)}
	case err != nil:
		return err
	case run.Status == benchrig.RunFailed:
		return &benchrig.Error{Code: benchrig.ETrialsFailed, Msg: fmt.Sprintf("run %s: some trials failed (details above)", run.ID)}
	case len(run.Cases) > 0 && len(run.Skipped) == len(run.Cases):
		return &benchrig.Error{Code: benchrig.ETrialsFailed, Msg: fmt.Sprintf("run %s: no case could run here; every case was skipped (reasons above)", run.ID)}
	}
	return gateError(run.ID, run.Request != nil && run.Request.Gate != nil, run.Gate)
}

// printPlan prints what a run would do: every case with its node, image,
// trial count and resolved command.
func printPlan(d *deps, p *app.Pending) error {
	run := p.Run()
	trials := 0
	fmt.Fprintf(d.stdout, "spec %s: %d case(s); nothing was run (dry run)\n", run.SpecName, len(run.Cases))
	if len(run.Overrides) > 0 {
		fmt.Fprintf(d.stdout, "overrides: %s\n", strings.Join(run.Overrides, " "))
	}
	for _, c := range p.Cases() {
		fmt.Fprintf(d.stdout, "\ncase %s\n", c.Case.ID)
		where := c.Node + " (" + c.Arch + ")"
		if c.Image != "" {
			where += " image " + c.Image
		}
		fmt.Fprintf(d.stdout, "  on:       %s\n", where)
		if c.Skipped != "" {
			fmt.Fprintf(d.stdout, "  skipped:  %s\n", c.Skipped)
			continue
		}
		trials += c.Trials + c.Profiled
		n := fmt.Sprintf("%d", c.Trials)
		if c.Instances > 1 {
			n += fmt.Sprintf(", %d instances each", c.Instances)
		}
		if c.Profiled > 0 {
			n += fmt.Sprintf(", then %d profiled", c.Profiled)
		}
		fmt.Fprintf(d.stdout, "  trials:   %s\n", n)
		fmt.Fprintf(d.stdout, "  command:  %s\n", commandText(c.Argv))
		if c.Dir != "" {
			fmt.Fprintf(d.stdout, "  workdir:  %s\n", c.Dir)
		}
		for _, kv := range c.Env {
			fmt.Fprintf(d.stdout, "  env:      %s\n", kv)
		}
		if c.Setup != "" {
			fmt.Fprintf(d.stdout, "  setup:    %s\n", c.Setup)
		}
		if c.Prepare != "" {
			fmt.Fprintf(d.stdout, "  prepare:  %s (before every trial)\n", c.Prepare)
		}
		if c.Cleanup != "" {
			fmt.Fprintf(d.stdout, "  cleanup:  %s\n", c.Cleanup)
		}
	}
	fmt.Fprintf(d.stdout, "\nat most %d trial(s), warmups included\n", trials)
	if pr := run.Profiling; pr != nil {
		if pr.InMeasured {
			fmt.Fprintf(d.stdout, "profiled: perf %s at %d Hz, in the measured trials\n", pr.Event, pr.Freq)
		} else {
			fmt.Fprintf(d.stdout, "profiled: perf %s at %d Hz, in %d extra trial(s) per case after the measured ones\n", pr.Event, pr.Freq, pr.Trials)
		}
	}
	for _, w := range p.RunWarnings() {
		fmt.Fprintf(d.stderr, "warning: %s\n", w)
	}
	return nil
}

// commandText renders argv as a shell would need it typed: a shell-form
// command as its script, whose param values are already quoted, its lines
// indented under the first.
func commandText(argv []string) string {
	if len(argv) == 3 && argv[0] == "/bin/sh" && argv[1] == "-c" {
		return strings.ReplaceAll(strings.TrimRight(argv[2], "\n"), "\n", "\n            ")
	}
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = benchrig.ShellQuote(a)
	}
	return strings.Join(out, " ")
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
		if _, skipped := run.Skipped[c.ID]; (!ran[c.ID] || run.Status == benchrig.RunFailed) && !skipped && run.Notes[c.ID] != "" && !adaptiveStop(run.Notes[c.ID]) {
			// Its setup failed, or its node could not run it (from the
			// start or after some trials): no trial says why, the note does.
			fmt.Fprintf(d.stderr, "\ncase %s: %s\n", c.ID, run.Notes[c.ID])
		}
		a := byCase[c.ID]
		if a == nil {
			continue
		}
		fmt.Fprintf(d.stderr, "\ncase %s: %d trial(s) failed; last: %s: %s\n", c.ID, a.n, a.last.Result(), a.last.Why())
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

// adaptiveStop says whether a case's note is why adaptive repetition
// stopped ("ci-met: ...", "ci-not-met: ..."): the report's grouped
// warnings show those once, so stderr does not repeat them per case.
func adaptiveStop(note string) bool {
	return strings.HasPrefix(note, reports.WCINotMet+":") || strings.HasPrefix(note, "ci-met:")
}

func prefixed(prefix string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = prefix + x
	}
	return out
}

// writeRunExports writes the exports of a run that ended: writeExports',
// with --md the summary of the run's gate when it asked for one
// (reports.WriteSummaryMarkdown), and --junit.
func writeRunExports(run *benchrig.Run, rep *reports.Report, store string, e exportOptions) error {
	md := e.md
	e.md = ""
	if err := writeExports(rep, store, e); err != nil {
		return err
	}
	return writeGateFiles(run, store, e.junit, md)
}

// writeExports writes the report to each export file given ("" skips it),
// never over the run store at store.
func writeExports(rep *reports.Report, store string, e exportOptions) error {
	return writeExportFiles(store,
		export{e.json, func(f *os.File) error { return reports.WriteJSON(f, rep) }},
		export{e.csv, func(f *os.File) error { return reports.WriteCSV(f, rep) }},
		export{e.md, func(f *os.File) error { return reports.WriteMarkdown(f, rep) }},
		export{e.bench, func(f *os.File) error { return reports.WriteBenchstat(f, rep) }})
}

// exportOptions are the export files of a command that prints a run's
// report (run, runs show, runs resume, import gobench); "" for none.
type exportOptions struct {
	json, csv, md string
	bench         string // --benchstat
	// junit is --junit of the commands that take it (run, submit: see
	// gateOptions); flags does not register it.
	junit string
}

// flags registers --json, --csv, --md and --benchstat, the same on every
// command that takes them.
func (e *exportOptions) flags(f *pflag.FlagSet) {
	f.StringVar(&e.json, "json", "", "write the results as JSON to `FILE` (schema: reports/SCHEMA.md)")
	f.StringVar(&e.csv, "csv", "", "write one row per trial as CSV to `FILE`")
	f.StringVar(&e.md, "md", "", "write the summary tables as Markdown to `FILE`")
	f.StringVar(&e.bench, "benchstat", "", "write the trials in Go benchmark format to `FILE` (for benchstat old.txt new.txt)")
}

// paths are the export files given, for checkWritable.
func (e exportOptions) paths() []string { return []string{e.json, e.csv, e.md, e.bench, e.junit} }

// export is one file to write: path ("" for none) and its writer.
type export struct {
	path  string
	write func(*os.File) error
}

// writeExportFiles writes each export where exportTarget allows.
func writeExportFiles(store string, es ...export) error {
	for _, e := range es {
		if e.path == "" {
			continue
		}
		target, err := exportTarget(e.path, store)
		if err != nil {
			return err
		}
		if err := writeFile(target, e.write); err != nil {
			return err
		}
	}
	return nil
}

// checkWritable fails early, with the path named, when an export file
// cannot be written, so a typo in a path does not cost a whole run. It
// leaves no file behind.
func checkWritable(store string, paths ...string) error {
	for _, p := range paths {
		if p == "" {
			continue
		}
		target, err := exportTarget(p, store)
		if err != nil {
			return err
		}
		f, err := os.CreateTemp(filepath.Dir(target), ".benchrig-check-*")
		if err != nil {
			return &benchrig.Error{Code: benchrig.EInvalid, File: p, Msg: "cannot write", Err: err}
		}
		f.Close()
		os.Remove(f.Name())
	}
	return nil
}

// exportTarget is the file an export to path writes: path itself, or the
// file a symlink there points to (the link stays). Exports replace only
// regular files: a device (/dev/full), a directory or a fifo at path is
// refused rather than replaced, and so is the run store itself, which an
// export would destroy.
func exportTarget(path, store string) (string, error) {
	target := path
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		link, err := os.Readlink(path)
		if err != nil {
			return "", &benchrig.Error{Code: benchrig.EInvalid, File: path, Msg: "cannot read the symlink", Err: err}
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(path), link)
		}
		if resolved, err := filepath.EvalSymlinks(link); err == nil {
			link = resolved
		}
		target = link
	}
	dir := filepath.Dir(target)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", &benchrig.Error{Code: benchrig.EInvalid, File: path, Msg: "cannot write: directory " + dir + " does not exist"}
	}
	fi, err := os.Stat(target)
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", &benchrig.Error{Code: benchrig.EInvalid, File: path, Msg: "cannot write", Err: err}
	case err == nil && fi.IsDir():
		return "", &benchrig.Error{Code: benchrig.EInvalid, File: path, Msg: "cannot write: is a directory"}
	case err == nil && !fi.Mode().IsRegular():
		return "", &benchrig.Error{Code: benchrig.EInvalid, File: path, Msg: fmt.Sprintf("cannot write: not a regular file (%s); exports replace only regular files", fi.Mode().Type())}
	case err == nil && store != "":
		if sfi, serr := os.Stat(store); serr == nil && os.SameFile(fi, sfi) {
			return "", &benchrig.Error{Code: benchrig.EInvalid, File: path, Msg: "cannot write: it is the run store; an export would destroy every recorded run"}
		}
	}
	return target, nil
}

// writeFile writes through a temporary file and renames it, so a failed
// write never leaves a truncated export; the file is synced first, so a
// full disk is an error here, not a silently empty export.
func writeFile(path string, write func(*os.File) error) error {
	if err := atomicfile.Write(path, 0o644, true, write); err != nil {
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

// profileFlags are --profile and --profile-freq, of run and submit.
type profileFlags struct {
	mode string // cpu or off; "": the spec's
	freq int    // 0: the spec's, else 99 Hz
}

func (o *profileFlags) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.mode, "profile", "", "sample the call stacks of each case's process tree with perf in extra trials: `cpu`, or off (overrides the spec's profile block; see benchrig runs profile)")
	f.IntVar(&o.freq, "profile-freq", 0, "sample at `HZ` (1 to 10000; default the spec's profile.freq, else 99)")
}

func (o profileFlags) check() error {
	if o.mode != "" && o.mode != "cpu" && o.mode != "off" {
		return usageError{fmt.Errorf("--profile must be cpu or off, got %q", o.mode)}
	}
	if o.freq != 0 && (o.freq < 1 || o.freq > benchrig.MaxProfileFreq) {
		return usageError{fmt.Errorf("--profile-freq must be between 1 and %d Hz, got %d", benchrig.MaxProfileFreq, o.freq)}
	}
	return nil
}
