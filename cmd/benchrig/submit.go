package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/spec"
	"github.com/benchrig/benchrig/web"
	"github.com/benchrig/benchrig/web/client"
)

type submitOptions struct {
	server, token string
	sets          []string
	labels        []string
	pools         []string
	repeat        int
	wait          bool
	quiet         bool
	json, md      string
	gate          gateOptions
	profile       profileFlags
}

func newSubmitCommand(d *deps) *cobra.Command {
	var opts submitOptions
	cmd := &cobra.Command{
		Use:   "submit SPEC --server URL [--wait]",
		Short: "Submit a spec to a benchrig server, follow its run and judge it (for CI)",
		Long: `submit checks the spec here (a bad spec is refused before anything is sent), submits it to a
benchrig server (benchrig serve) with the overrides, labels and gate asked for, and prints the
run's ID and page. With --wait it follows the run's progress as 'benchrig run' shows it, waits
for its end (and the gate's verdict), prints the report and writes --junit, --md and --json;
the exit code says how the run went. Without --wait it exits 0 once the run is queued.

The token is --token or $BENCHRIG_TOKEN (a submit token of the server); the server is
--server or $BENCHRIG_SERVER. Ctrl-C while waiting cancels the run on the server.

` + gateHelp + `

` + exitCodesHelp,
		Example: `  benchrig submit benchmarks/grep-impl.yaml --server http://bench:8080 --wait
  BENCHRIG_TOKEN=... benchrig submit spec.yaml --server $BENCH --set impl=gnu --wait \
      --baseline label:branch=main --max-regression 5% --junit benchrig.xml --md summary.md`,
		Args: cobra.ExactArgs(1),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("repeat") && opts.repeat < 1 {
				return usageError{fmt.Errorf("--repeat must be at least 1, got %d", opts.repeat)}
			}
			return runSubmit(cmd.Context(), d, opts, args[0])
		}),
	}
	f := cmd.Flags()
	f.StringVar(&opts.server, "server", "", "the benchrig server's `URL` (default $BENCHRIG_SERVER)")
	f.StringVar(&opts.token, "token", "", "the server's submit `TOKEN` (default $BENCHRIG_TOKEN)")
	f.StringArrayVar(&opts.sets, "set", nil, "override or narrow a param: `key=v1,v2` (repeatable)")
	f.StringArrayVar(&opts.labels, "label", nil, "label the run `key=value` (repeatable; over the CI's labels)")
	f.StringArrayVar(&opts.pools, "pool", nil, "run on the nodes of pool `NAME` (repeatable; overrides the spec's pools)")
	f.IntVar(&opts.repeat, "repeat", 0, "measured trials per case, overriding the spec's repeat")
	opts.profile.addFlags(f)
	f.BoolVar(&opts.wait, "wait", false, "follow the run to its end and exit with its outcome")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "no progress output")
	f.StringVar(&opts.json, "json", "", "write the run's JSON (reports/SCHEMA.md, with its gate) to `FILE` (needs --wait)")
	f.StringVar(&opts.md, "md", "", "write the run's Markdown summary to `FILE` (needs --wait)")
	opts.gate.flags(f)
	return cmd
}

// cancelWait bounds the cancel sent to the server when the user stops
// waiting: the process is on its way out.
const cancelWait = 10 * time.Second

func runSubmit(ctx context.Context, d *deps, opts submitOptions, file string) error {
	if !opts.wait {
		for _, f := range []struct{ name, v string }{{"--junit", opts.gate.junit}, {"--md", opts.md}, {"--json", opts.json}} {
			if f.v != "" {
				return usageError{fmt.Errorf("%s needs --wait: the file is written when the run has ended", f.name)}
			}
		}
	}
	g, err := opts.gate.request()
	if err != nil {
		return err
	}
	if err := opts.profile.check(); err != nil {
		return err
	}
	server := opts.server
	if server == "" {
		server = d.getenv("BENCHRIG_SERVER")
	}
	if server == "" {
		return usageError{fmt.Errorf("--server is required (or $BENCHRIG_SERVER): the URL of benchrig serve, e.g. http://bench:8080")}
	}
	token := opts.token
	if token == "" {
		token = d.getenv("BENCHRIG_TOKEN")
	}
	c, err := client.New(server, token, "--server")
	if err != nil {
		return err
	}
	out := exportOptions{json: opts.json, md: opts.md, junit: opts.gate.junit}
	for _, p := range []*string{&out.json, &out.md, &out.junit} {
		if *p != "" {
			*p = absPath(d, *p)
		}
	}
	if err := checkWritable("", out.paths()...); err != nil {
		return err
	}
	data, err := checkSpec(d, file, opts.sets)
	if err != nil {
		return err
	}
	labels, err := runLabels(d, opts.labels)
	if err != nil {
		return err
	}
	sub, err := c.SubmitRun(ctx, web.SubmitRequest{Spec: string(data), Sets: opts.sets, Repeat: opts.repeat, Pools: opts.pools,
		Labels: labels, Name: file, Gate: g, Profile: opts.profile.mode, ProfileFreq: opts.profile.freq})
	if err != nil {
		return err
	}
	if !opts.wait {
		fmt.Fprintf(d.stdout, "run %s %s: %s\n", sub.ID, sub.Status, sub.URL)
		return nil
	}
	fmt.Fprintf(d.stderr, "run %s %s: %s\n", sub.ID, sub.Status, sub.URL)
	prog := newProgress(d.stderr, d.tty, opts.quiet)
	err = c.Events(ctx, sub.ID, 0, prog.observe)
	prog.finish()
	if benchrig.ErrorCode(err) == benchrig.ECancelled && ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelWait)
		defer cancel()
		if cerr := c.CancelRun(cctx, sub.ID); cerr != nil {
			fmt.Fprintf(d.stderr, "warning: run %s goes on: cancelling it on the server: %v\n", sub.ID, cerr)
		}
		return &benchrig.Error{Code: benchrig.ECancelled, Msg: fmt.Sprintf("run %s cancelled: %s", sub.ID, sub.URL)}
	}
	if err != nil {
		return fmt.Errorf("follow run %s: %w", sub.ID, err)
	}
	return finishSubmit(ctx, d, c, sub, g != nil, out)
}

// checkSpec reads the spec and checks it as benchrig validate does, so a
// bad spec is refused here, naming its file and field, with no request
// sent.
func checkSpec(d *deps, file string, sets []string) ([]byte, error) {
	data, err := os.ReadFile(absPath(d, file))
	if err != nil {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, File: file, Msg: "cannot read the spec", Err: err}
	}
	if len(data) > spec.MaxBytes {
		return nil, &benchrig.Error{Code: benchrig.EInvalid, File: file, Msg: fmt.Sprintf("larger than %d KiB: not a spec", spec.MaxBytes>>10)}
	}
	s, err := spec.Parse(file, data)
	if err != nil {
		return nil, err
	}
	if _, err := spec.ApplySet(s, sets); err != nil {
		return nil, err
	}
	if err := spec.CheckCases(s, spec.DefaultMaxCases); err != nil {
		return nil, err
	}
	return data, nil
}

// finishSubmit prints and writes what the server says of the ended run,
// and returns the error that sets the exit code.
func finishSubmit(ctx context.Context, d *deps, c *client.Client, sub *web.Submitted, gated bool, out exportOptions) error {
	run, err := endedRun(ctx, c, sub.ID)
	if err != nil {
		return err
	}
	text, err := c.RunReport(ctx, sub.ID, client.ReportText)
	if err != nil {
		return err
	}
	d.stdout.Write(text)
	for _, w := range run.RunWarnings {
		fmt.Fprintf(d.stderr, "warning: %s\n", w)
	}
	fmt.Fprintf(d.stdout, "\nrun %s: %s\n", sub.ID, sub.URL)
	for _, f := range []struct{ path, kind string }{{out.junit, client.ReportJUnit}, {out.md, client.ReportMarkdown}, {out.json, ""}} {
		if f.path == "" {
			continue
		}
		var b []byte
		if f.kind == "" {
			b, err = c.RunJSON(ctx, sub.ID)
		} else {
			b, err = c.RunReport(ctx, sub.ID, f.kind)
		}
		if err != nil {
			return err
		}
		if err := writeExportFiles("", export{f.path, func(w *os.File) error { _, err := w.Write(b); return err }}); err != nil {
			return err
		}
	}
	return submittedOutcome(run, gated)
}

// endWait bounds how long a run may still read as running after its
// event stream said it ended: the runner sends run-finished just before
// the store records the end.
const endWait = 30 * time.Second

// endedRun reads the run once the store has recorded its end.
func endedRun(ctx context.Context, c *client.Client, id string) (*client.Run, error) {
	deadline := time.Now().Add(endWait)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		run, err := c.GetRun(ctx, id)
		if err != nil || (run.Status != benchrig.RunRunning && run.Status != benchrig.RunQueued) || time.Now().After(deadline) {
			return run, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, &benchrig.Error{Code: benchrig.ECancelled, Msg: "read run " + id, Err: ctx.Err()}
		}
	}
}

// submittedOutcome is the exit of a submitted run, as printRun's of a
// local one: cancelled 130, never started or stopped by the server 3,
// failed trials 1, then the gate's.
func submittedOutcome(run *client.Run, gated bool) error {
	trials, skipped := 0, 0
	for _, cs := range run.Cases {
		if cs.Skipped != "" {
			skipped++
		}
		trials += len(cs.Trials)
	}
	switch {
	case run.Status == benchrig.RunCancelled:
		return &benchrig.Error{Code: benchrig.ECancelled, Msg: fmt.Sprintf("run %s was cancelled", run.ID)}
	case run.Status == benchrig.RunFailed && trials == 0:
		return &benchrig.Error{Code: benchrig.EUnavailable, Msg: fmt.Sprintf("run %s could not run (its warning above says why)", run.ID)}
	case run.Status == benchrig.RunInterrupted:
		return &benchrig.Error{Code: benchrig.EUnavailable, Msg: fmt.Sprintf("run %s was interrupted: the server stopped while it was going", run.ID)}
	case run.Status == benchrig.RunFailed:
		return &benchrig.Error{Code: benchrig.ETrialsFailed, Msg: fmt.Sprintf("run %s: some trials failed (details above)", run.ID)}
	case len(run.Cases) > 0 && skipped == len(run.Cases):
		return &benchrig.Error{Code: benchrig.ETrialsFailed, Msg: fmt.Sprintf("run %s: no case could run there; every case was skipped (reasons above)", run.ID)}
	case run.Status != benchrig.RunFinished:
		return &benchrig.Error{Code: benchrig.EInternal, Msg: fmt.Sprintf("run %s is %s after its event stream ended", run.ID, run.Status)}
	}
	return gateError(run.ID, gated, run.Gate)
}
