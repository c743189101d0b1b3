package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/app"
	"github.com/benchrig/benchrig/collect"
	"github.com/benchrig/benchrig/nodes"
	"github.com/benchrig/benchrig/runner/local"
	"github.com/benchrig/benchrig/web/client"
)

// deps is what subcommands get from the process, so that they can be run
// in-process by tests.
type deps struct {
	stdin          io.Reader // import reads go test output from it
	stdout, stderr io.Writer
	getenv         func(string) string
	environ        []string
	cwd            string
	// tty reports whether stderr is a terminal (progress bar vs plain lines).
	tty bool
	// exeDir is the directory of the benchrig binary, where make build
	// puts the in-container timing shims.
	exeDir string
	// executors lists the built-in executors by name; explicit wiring, no
	// registration by init side effects.
	executors map[string]func(cgroupsOff bool) app.Executor
}

// newApp wires the application layer to a store: the executors, and the
// Docker node driver over a pools file.
func (d *deps) newApp(store app.Store) *app.App {
	return &app.App{
		Store:     store,
		Executors: d.executors,
		Environ:   d.environ,
		Nodes: func(poolsFile string, names []string) (app.NodeDriver, error) {
			return nodes.NewDocker(poolsFile, names, shimDir(d)), nil
		},
		NewCollector:     newCollector,
		NewNodeCollector: d.newNodeCollector,
	}
}

// newNodeCollector runs `benchrig collector` as a child of the run for a
// Docker node: it follows the node's engine and reads its containers'
// cgroups from this host's /proc and cgroup tree, which sees them when
// the engine runs on this host (the lab's namespace nodes). Elsewhere the
// child says it cannot see them, and the run keeps that as a warning.
//
// A node of a Swarm pool has its collector in the run's collector service
// on the cluster instead (nodes.SwarmCollector), when its pool names a
// collector image.
func (d *deps) newNodeCollector(cfg app.NodeCollectorConfig) (app.NodeCollector, error) {
	if cfg.Node.Swarm != "" {
		return nodes.NewSwarmCollector(nodes.SwarmCollectorConfig{PoolsFile: cfg.PoolsFile, Node: cfg.Node, RunID: cfg.RunID, Interval: cfg.Interval, Since: cfg.Since})
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"collector", "--mode", collect.ModeProcess,
		"--docker", cfg.Node.Host, "--node", cfg.Node.Name, "--run", cfg.RunID,
		"--interval", cfg.Interval.String(), "--since", cfg.Since.UTC().Format(time.RFC3339Nano)}
	if cfg.Node.Arch != "" {
		args = append(args, "--arch", cfg.Node.Arch)
	}
	// Without --es the child writes its samples to us (the run's sink is
	// ours to choose), whatever $BENCHRIG_ES_URL says.
	return &collect.Process{Node: cfg.Node.Name, Path: exe, Args: args, Env: d.environ}, nil
}

// newCollector is the in-process collector of a run's local trials and
// host.
func newCollector(cfg app.CollectorConfig) (app.Collector, error) {
	node := cfg.Node
	if h, err := os.Hostname(); err == nil && node == "local" {
		node = h // host.name in Elasticsearch; the trials' node stays "local"
	}
	var gpu collect.SMI
	if cfg.GPUs > 0 {
		gpu = collect.ExecSMI{}
	}
	return collect.New(collect.Config{
		Run:      cfg.RunID,
		Node:     node,
		Arch:     collect.NormalizeArch(runtime.GOARCH),
		Interval: cfg.Interval,
		Sink:     cfg.Sink,
		Host:     true,
		GPU:      gpu,
		Mode:     collect.ModeInProcess,
	})
}

// shimDir is where the in-container timing shims are: $BENCHRIG_SHIM_DIR,
// else the directory of the benchrig binary (make build puts them beside
// it in bin/).
func shimDir(d *deps) string {
	if dir := d.getenv("BENCHRIG_SHIM_DIR"); dir != "" {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(d.cwd, dir)
		}
		return dir
	}
	return d.exeDir
}

func defaultDeps(stdout, stderr io.Writer) *deps {
	cwd, _ := os.Getwd()
	d := &deps{
		stdin:   os.Stdin,
		stdout:  stdout,
		stderr:  stderr,
		getenv:  os.Getenv,
		environ: os.Environ(),
		cwd:     cwd,
		executors: map[string]func(bool) app.Executor{
			"local": func(cgroupsOff bool) app.Executor {
				cfg := local.Config{}
				if cgroupsOff {
					cfg.Cgroups = local.Off
				}
				return local.New(cfg)
			},
		},
	}
	if f, ok := stderr.(*os.File); ok {
		d.tty = term.IsTerminal(int(f.Fd()))
	}
	if exe, err := os.Executable(); err == nil {
		d.exeDir = filepath.Dir(exe)
	}
	return d
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return execute(ctx, defaultDeps(stdout, stderr), args)
}

func execute(ctx context.Context, d *deps, args []string) int {
	root := newRootCommand(d)
	root.SetArgs(args)
	root.SetOut(d.stdout)
	root.SetErr(d.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	// Errors that did not come from a command's RunE are cobra's: unknown
	// flags, wrong argument counts.
	var c cmdError
	var u usageError
	if !errors.As(err, &c) || errors.As(err, &u) {
		fmt.Fprintf(d.stderr, "benchrig: %v\nRun 'benchrig --help' for usage.\n", err)
		return 2
	}
	fmt.Fprintf(d.stderr, "benchrig: %v\n", err)
	return exitCode(err)
}

// exitCode maps an error to the process exit code, in one place (the
// codes are listed in exitCodesHelp): 2 for bad input (a token the server
// refused is one: its 401 and 403 are EInvalid), 1 for failed trials, a
// regression and internal errors, 3 for what could not run or be reached
// (a benchrig server, a node: a script can retry it), 130 for a cancelled
// run (as a shell reports Ctrl-C). A check that ran and found problems
// (checkFailed) is 1 whatever it found.
func exitCode(err error) int {
	var cf checkFailed
	if errors.As(err, &cf) {
		return 1
	}
	if client.IsUnreachable(err) {
		return 3
	}
	switch benchrig.ErrorCode(err) {
	case "":
		return 0
	case benchrig.EInvalid, benchrig.ENotFound:
		return 2
	case benchrig.ECancelled:
		return 130
	case benchrig.EUnavailable:
		return 3
	default:
		return 1
	}
}

// checkFailed is what a check command (pool check, es check) found wrong:
// exit 1, as their help says, even when what it found is unreachable.
type checkFailed struct{ error }

func (e checkFailed) Unwrap() error { return e.error }

// usageError is a wrong flag or argument.
type usageError struct{ error }

// cmdError marks errors returned by a command's RunE, which are never usage
// errors unless wrapped in usageError.
type cmdError struct{ error }

func (e cmdError) Unwrap() error { return e.error }

// wrap makes a RunE whose errors are told apart from cobra's usage errors.
func wrap(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := f(cmd, args); err != nil {
			var u usageError
			if errors.As(err, &u) {
				return err
			}
			return cmdError{err}
		}
		return nil
	}
}

func newRootCommand(d *deps) *cobra.Command {
	root := &cobra.Command{
		Use:   "benchrig",
		Short: "Run benchmark specs and compare the results honestly",
		Long: `benchrig runs every case of a benchmark spec's parameter matrix, measures each trial
(wall time, CPU, peak memory, output bytes), keeps every raw sample in a store, and
reports medians with confidence intervals and significance-tested comparisons.
In CI, run and submit judge a run against a baseline (--baseline) and write JUnit
(--junit) and a Markdown summary (--md): see 'benchrig run --help'.

` + exitCodesHelp,
		Version:       benchrig.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newValidateCommand(d), newRunCommand(d), newSubmitCommand(d), newRunsCommand(d), newDataCommand(d), newPoolCommand(d), newImportCommand(d), newESCommand(d), newCollectorCommand(d), newServeCommand(d), newScheduleCommand(d), newSwarmTrialCommand(d))
	return root
}

// storePath returns the store to use: the flag, then BENCHRIG_STORE, then
// benchrig.db under the user's data directory (XDG_DATA_HOME or
// ~/.local/share).
func storePath(d *deps, flag string) string {
	if flag != "" {
		return flag
	}
	if p := d.getenv("BENCHRIG_STORE"); p != "" {
		return p
	}
	dataHome := d.getenv("XDG_DATA_HOME")
	if dataHome == "" {
		home := d.getenv("HOME")
		if home == "" {
			home = d.cwd
		}
		dataHome = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dataHome, "benchrig", "benchrig.db")
}

// printJSON writes v as indented JSON: what every --json of a command
// prints.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
