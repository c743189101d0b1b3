package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/app"
	"github.com/benchrig/benchrig/elastic"
)

// esOptions are the Elasticsearch flags, in one place so that run can
// embed them: add them with addFlags, build the client's Config with
// config.
type esOptions struct {
	urls     []string
	apiKey   string
	user     string
	password string
	ca       string
	spool    string
}

func (o *esOptions) addFlags(f *pflag.FlagSet) {
	f.StringSliceVar(&o.urls, "es", nil, "Elasticsearch `URL` (repeatable or comma-separated; default $BENCHRIG_ES_URL)")
	f.StringVar(&o.apiKey, "es-api-key", "", "Elasticsearch API `KEY` (base64 id:key; better: $BENCHRIG_ES_API_KEY, not in the process list)")
	f.StringVar(&o.user, "es-user", "", "Elasticsearch basic-auth `USER` (default $BENCHRIG_ES_USER)")
	f.StringVar(&o.password, "es-password", "", "Elasticsearch basic-auth password (better: $BENCHRIG_ES_PASSWORD)")
	f.StringVar(&o.ca, "es-ca", "", "PEM `FILE` of the CA that signed the server's certificate")
	f.StringVar(&o.spool, "es-spool", "", "spool `DIR` for documents the server could not take yet (default $BENCHRIG_ES_SPOOL or ~/.cache/benchrig/es-spool)")
}

// enabled reports whether an Elasticsearch URL was given (flag or env).
func (o *esOptions) enabled(d *deps) bool {
	return len(o.urls) > 0 || d.getenv("BENCHRIG_ES_URL") != ""
}

// config builds the client configuration from the flags, then the
// environment.
func (o *esOptions) config(d *deps) (elastic.Config, error) {
	cfg := elastic.Config{URLs: o.urls, APIKey: o.apiKey, Username: o.user, Password: o.password}
	if len(cfg.URLs) == 0 {
		for _, u := range strings.Split(d.getenv("BENCHRIG_ES_URL"), ",") {
			if u = strings.TrimSpace(u); u != "" {
				cfg.URLs = append(cfg.URLs, u)
			}
		}
	}
	if len(cfg.URLs) == 0 {
		return cfg, usageError{fmt.Errorf("no Elasticsearch URL: give --es URL or set BENCHRIG_ES_URL")}
	}
	if cfg.APIKey == "" {
		cfg.APIKey = d.getenv("BENCHRIG_ES_API_KEY")
	}
	if cfg.Username == "" {
		cfg.Username = d.getenv("BENCHRIG_ES_USER")
	}
	if cfg.Password == "" {
		cfg.Password = d.getenv("BENCHRIG_ES_PASSWORD")
	}
	if o.ca != "" {
		cfg.CACert = absPath(d, o.ca)
	}
	cfg.SpoolDir = o.spoolDir(d)
	return cfg, nil
}

// client builds a client from the flags and the environment.
func (o *esOptions) client(d *deps) (*elastic.Client, elastic.Config, error) {
	cfg, err := o.config(d)
	if err != nil {
		return nil, cfg, err
	}
	c, err := elastic.New(cfg)
	return c, cfg, err
}

func (o *esOptions) spoolDir(d *deps) string {
	if o.spool != "" {
		return absPath(d, o.spool)
	}
	if s := d.getenv("BENCHRIG_ES_SPOOL"); s != "" {
		return absPath(d, s)
	}
	if c := cacheDir(d); c != "" {
		return filepath.Join(c, "es-spool")
	}
	return filepath.Join(d.cwd, ".benchrig-es-spool")
}

// attach makes a the shipper of its run's samples, trials, events and
// statistics when an Elasticsearch URL was given (flag or environment);
// the run closes it when it ends (closeUnused when none started). A server
// that does not answer is no error: the shipper spools until it does. The
// App runs one run with it.
func (o *esOptions) attach(ctx context.Context, d *deps, a *app.App) error {
	if !o.enabled(d) {
		return nil
	}
	c, cfg, err := o.client(d)
	if err != nil {
		return err
	}
	if dirs, docs, err := elastic.PendingSpools(cfg.SpoolDir); err == nil && docs > 0 {
		fmt.Fprintf(d.stderr, "note: %d document(s) of %d earlier run(s) wait in the spool %s: 'benchrig es replay' ships them\n", docs, dirs, cfg.SpoolDir)
	}
	sh, err := c.NewShipper(ctx, elastic.ShipperOptions{})
	if err != nil {
		return err
	}
	a.Results, a.ResultsName = sh, "elasticsearch "+strings.Join(redacted(cfg.URLs), ",")
	return nil
}

// redacted are URLs as they may be shown or stored: a password in one
// becomes "xxxxx".
func redacted(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = u
		if p, err := url.Parse(u); err == nil {
			out[i] = p.Redacted()
		}
	}
	return out
}

// closeUnused closes the App's result sink when no run was started with
// it (the run's preparation failed): a started run closes it itself.
func closeUnused(ctx context.Context, a *app.App, started *bool) {
	if *started || a.Results == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = a.Results.Close(cctx)
}

func newESCommand(d *deps) *cobra.Command {
	opts := &esOptions{}
	cmd := &cobra.Command{
		Use:   "es {check|install-templates|replay}",
		Short: "Check Elasticsearch, install benchrig's index templates, replay the spool",
		Long: `benchrig can ship the collector's samples, trials, events and run statistics to Elasticsearch,
into daily indices benchrig-metrics-*, benchrig-results-* and benchrig-events-*. Documents the
server could not take (it was down, or a run crashed) wait in a spool directory until
'benchrig es replay' sends them (a run says when some wait); each is stored once whatever happens.

The server is --es URL, else $BENCHRIG_ES_URL; credentials come from --es-api-key or
$BENCHRIG_ES_API_KEY, or --es-user and $BENCHRIG_ES_PASSWORD.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown es command %q: want check, install-templates or replay", args[0])}
			}
			return cmd.Help()
		},
	}
	opts.addFlags(cmd.PersistentFlags())
	cmd.AddCommand(newESCheckCommand(d, opts), newESInstallCommand(d, opts), newESReplayCommand(d, opts))
	return cmd
}

type esCheckOptions struct{ json bool }

func newESCheckCommand(d *deps, es *esOptions) *cobra.Command {
	var opts esCheckOptions
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Say whether Elasticsearch answers, its version, and whether benchrig's templates are installed",
		Example: `  benchrig es check --es http://127.0.0.1:9200
  BENCHRIG_ES_URL=http://127.0.0.1:9200 benchrig es check --json`,
		Args: cobra.NoArgs,
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runESCheck(cmd.Context(), d, es, opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON: {urls, reachable, version, error, templates: [{name, installed, current}]}")
	return cmd
}

func runESCheck(ctx context.Context, d *deps, es *esOptions, opts esCheckOptions) error {
	c, _, err := es.client(d)
	if err != nil {
		return err
	}
	st, cerr := c.Check(ctx)
	st.URLs = redacted(st.URLs)
	if opts.json {
		if err := printJSON(d.stdout, st); err != nil {
			return err
		}
	} else {
		where := strings.Join(st.URLs, ", ")
		if !st.Reachable {
			fmt.Fprintf(d.stdout, "%s: unreachable\n", where)
		} else {
			fmt.Fprintf(d.stdout, "%s: Elasticsearch %s\n", where, st.Version)
			for _, t := range st.Templates {
				state := "not installed (benchrig es install-templates)"
				switch {
				case t.Current:
					state = "installed, current"
				case t.Installed:
					state = "installed, outdated (benchrig es install-templates)"
				}
				fmt.Fprintf(d.stdout, "  template %s: %s\n", t.Name, state)
			}
		}
	}
	if cerr != nil {
		return cerr
	}
	if !st.Ready() {
		return checkFailed{benchrig.Errorf(benchrig.EUnavailable, "benchrig's index templates are not all installed and current")}
	}
	return nil
}

func newESInstallCommand(d *deps, es *esOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "install-templates",
		Short:   "Install or update benchrig's index templates (runs do it too)",
		Example: `  benchrig es install-templates --es http://127.0.0.1:9200`,
		Args:    cobra.NoArgs,
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			c, _, err := es.client(d)
			if err != nil {
				return err
			}
			if err := c.EnsureTemplates(cmd.Context()); err != nil {
				return err
			}
			for _, t := range elastic.Templates {
				fmt.Fprintf(d.stdout, "template %s (%s): installed\n", t.Name, t.Pattern)
			}
			return nil
		}),
	}
}

func newESReplayCommand(d *deps, es *esOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "replay",
		Short: "Ship the documents waiting in the spool (left by a crash or an outage)",
		Long: `Sends, in the order they were written, the documents that runs left in the spool directory
(--es-spool, $BENCHRIG_ES_SPOOL, or ~/.cache/benchrig/es-spool) and removes them once stored.
Documents already stored are counted as duplicates, not stored twice. The spools of runs still
running are left alone.`,
		Example: `  benchrig es replay --es http://127.0.0.1:9200
  benchrig es replay --es-spool /var/tmp/benchrig-spool`,
		Args: cobra.NoArgs,
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			c, cfg, err := es.client(d)
			if err != nil {
				return err
			}
			got, err := elastic.Replay(cmd.Context(), c, cfg.SpoolDir)
			fmt.Fprintf(d.stdout, "%s: %s\n", cfg.SpoolDir, shipText(got))
			return err
		}),
	}
}

// shipText renders shipping counters for people.
func shipText(c benchrig.ShipCounters) string {
	return fmt.Sprintf("%d sent (%d already stored), %d retried, %d spooled, %d failed", c.Sent, c.Duplicates, c.Retried, c.Spooled, c.Failed)
}
