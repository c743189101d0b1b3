package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // schedules name IANA zones; a container image may lack /usr/share/zoneinfo

	"github.com/spf13/cobra"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/spec"
	"github.com/benchrig/benchrig/web"
	"github.com/benchrig/benchrig/web/client"
)

// defaultServer is where benchrig serve listens unless told otherwise.
const defaultServer = "http://127.0.0.1:8080"

type scheduleOptions struct {
	server string
	token  string
	json   bool
	// add
	cron     string
	tz       string
	sets     []string
	labels   []string
	overlap  string
	disabled bool
	name     string
}

func newScheduleCommand(d *deps) *cobra.Command {
	opts := &scheduleOptions{}
	cmd := &cobra.Command{
		Use:   "schedule {add|list|remove|enable|disable}",
		Short: "Run specs on a server at the times of cron expressions",
		Long: `Schedules live on a benchrig server (benchrig serve), which submits a run of the spec at
each time of the schedule's cron expression: five fields ("0 3 * * *": minute, hour, day of
month, month, day of week), a descriptor (@hourly, @daily, @weekly, @monthly, @yearly) or
"@every DURATION" (at least 1s). Times are in the schedule's time zone (--tz, an IANA name;
UTC by default).

When a time comes while the schedule's previous run is still queued or running, the time is
skipped and the schedule's history says so (--overlap skip, the default); --overlap queue
submits anyway and the run waits in the queue. Times that pass while the server is down are
recorded as skipped, never run late; a disabled schedule keeps its history, and enabling it
again does not run the times it missed.

The server is --server, else $BENCHRIG_SERVER, else ` + defaultServer + `; the token is
--token, else $BENCHRIG_TOKEN (a read token lists, a submit token changes).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown schedule command %q: want add, list, remove, enable or disable", args[0])}
			}
			return cmd.Help()
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&opts.server, "server", "", "the benchrig server's `URL` (default $BENCHRIG_SERVER or "+defaultServer+")")
	pf.StringVar(&opts.token, "token", "", "bearer `TOKEN` (default $BENCHRIG_TOKEN; the variable keeps it out of ps)")

	add := &cobra.Command{
		Use:   "add SPEC --cron EXPR",
		Short: "Schedule a spec",
		Example: `  benchrig schedule add benchmarks/grep-impl.yaml --cron "0 3 * * *" --tz Europe/Paris
  benchrig schedule add spec.yaml --cron "@every 6h" --set impl=gnu --label branch=main --overlap queue`,
		Args: cobra.ExactArgs(1),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runScheduleAdd(cmd.Context(), d, opts, args[0])
		}),
	}
	af := add.Flags()
	af.StringVar(&opts.cron, "cron", "", `cron `+"`EXPR`"+`: "0 3 * * *", "@daily" or "@every 10m" (required)`)
	af.StringVar(&opts.tz, "tz", "", "time `ZONE` of the expression, an IANA name such as Europe/Paris (default UTC)")
	af.StringArrayVar(&opts.sets, "set", nil, "override or narrow a param: `key=v1,v2` (repeatable)")
	af.StringArrayVar(&opts.labels, "label", nil, "label every run `key=value` (repeatable); runs also get schedule=ID")
	af.StringVar(&opts.overlap, "overlap", "skip", "when the previous run still goes at a time: `skip` the time, or queue the run")
	af.BoolVar(&opts.disabled, "disabled", false, "create it disabled (enable it with schedule enable)")
	af.StringVar(&opts.name, "name", "", "the schedule's `NAME` (default the spec's name)")
	_ = add.MarkFlagRequired("cron")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the server's schedules with their last run and next time",
		Args:  cobra.NoArgs,
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runScheduleList(cmd.Context(), d, opts)
		}),
	}
	list.Flags().BoolVar(&opts.json, "json", false, "print the schedules as JSON, with their specs and histories")

	remove := &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a schedule and its history (its runs stay)",
		Args:  cobra.ExactArgs(1),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			c, err := opts.client(d)
			if err != nil {
				return err
			}
			if err := c.DeleteSchedule(cmd.Context(), args[0]); err != nil {
				return serverError(err)
			}
			fmt.Fprintf(d.stdout, "removed schedule %s\n", args[0])
			return nil
		}),
	}
	enable := func(use, short string, on bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " ID",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: wrap(func(cmd *cobra.Command, args []string) error {
				c, err := opts.client(d)
				if err != nil {
					return err
				}
				sc, err := c.UpdateSchedule(cmd.Context(), args[0], benchrig.SchedulePatch{Enabled: &on})
				if err != nil {
					return serverError(err)
				}
				fmt.Fprintf(d.stdout, "schedule %s %sd, next %s\n", sc.ID, use, timeText(sc.Next))
				return nil
			}),
		}
	}
	cmd.AddCommand(add, list, remove,
		enable("enable", "Enable a schedule: it fires from its next time (missed times are not run)", true),
		enable("disable", "Disable a schedule: it keeps its history and does not fire", false))
	return cmd
}

func (o *scheduleOptions) client(d *deps) (*client.Client, error) {
	server, field := o.server, "--server"
	if server == "" {
		server, field = d.getenv("BENCHRIG_SERVER"), "BENCHRIG_SERVER"
	}
	if server == "" {
		server = defaultServer
	}
	token := o.token
	if token == "" {
		token = d.getenv("BENCHRIG_TOKEN")
	}
	return client.New(server, token, field)
}

func runScheduleAdd(ctx context.Context, d *deps, opts *scheduleOptions, file string) error {
	path := file
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.cwd, path)
	}
	data, err := readSpec(path)
	if err != nil {
		return &benchrig.Error{Code: benchrig.EInvalid, File: file, Msg: "read spec", Err: err}
	}
	labels, err := parseLabels(opts.labels)
	if err != nil {
		return err
	}
	c, err := opts.client(d)
	if err != nil {
		return err
	}
	enabled := !opts.disabled
	sc, err := c.CreateSchedule(ctx, web.ScheduleRequest{
		Name: opts.name, Cron: opts.cron, Spec: string(data), TimeZone: opts.tz, Sets: opts.sets,
		Labels: labels, Enabled: &enabled, Overlap: benchrig.ScheduleOverlap(opts.overlap),
	})
	if err != nil {
		return serverError(err)
	}
	state := "next " + timeText(sc.Next)
	if !sc.Enabled {
		state = "disabled"
	}
	fmt.Fprintf(d.stdout, "created schedule %s (%s): %s %s, %s, overlap %s\n", sc.ID, sc.Name, sc.Cron, zoneText(sc.TimeZone), state, sc.Overlap)
	return nil
}

// readSpec reads a spec file as spec.Load does, bounded by spec.MaxBytes.
func readSpec(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, spec.MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > spec.MaxBytes {
		return nil, fmt.Errorf("larger than %d KiB: not a spec", spec.MaxBytes>>10)
	}
	return data, nil
}

func runScheduleList(ctx context.Context, d *deps, opts *scheduleOptions) error {
	c, err := opts.client(d)
	if err != nil {
		return err
	}
	list, err := c.Schedules(ctx)
	if err != nil {
		return serverError(err)
	}
	if opts.json {
		if list == nil {
			list = []benchrig.Schedule{}
		}
		return printJSON(d.stdout, web.ScheduleList{Schedules: list})
	}
	if len(list) == 0 {
		fmt.Fprintf(d.stdout, "no schedules on %s\n", c.URL())
		return nil
	}
	tw := tabwriter.NewWriter(d.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCRON\tTZ\tENABLED\tLAST RUN\tNEXT")
	for _, sc := range list {
		enabled := "yes"
		if !sc.Enabled {
			enabled = "no"
		}
		last := "-"
		if sc.LastRun != "" {
			last = sc.LastRun + " at " + timeText(sc.LastTime)
		}
		if len(sc.History) > 0 && sc.History[0].RunID == "" {
			// The latest time did not run: say why, it is news.
			h := sc.History[0]
			why := h.Skipped
			if h.Error != "" {
				why = "failed: " + h.Error
			}
			last += fmt.Sprintf(" (%s: %s)", timeText(h.Time), why)
		}
		next := "-"
		if sc.Enabled {
			next = timeText(sc.Next)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sc.ID, sc.Name, sc.Cron, zoneText(sc.TimeZone), enabled, last, next)
	}
	return tw.Flush()
}

// timeText is a time as the schedule commands print it: UTC, to the
// second.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func zoneText(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return tz
}

// serverError adds what to do to the server's refusals of the token; the
// server's own words (field errors with their lines) are kept as given.
func serverError(err error) error {
	var se *client.StatusError
	if !errors.As(err, &se) {
		return err
	}
	switch se.Status {
	case 401:
		return &benchrig.Error{Code: benchrig.EInvalid, Msg: "server refused: " + se.Error() +
			"; give a token with --token or $BENCHRIG_TOKEN"}
	case 403:
		return &benchrig.Error{Code: benchrig.EInvalid, Msg: "server refused: " + se.Error() +
			"; use a submit token (--token or $BENCHRIG_TOKEN)"}
	}
	return err
}
