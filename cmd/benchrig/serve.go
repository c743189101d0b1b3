package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/app"
	"github.com/benchrig/benchrig/elastic"
	"github.com/benchrig/benchrig/nodes"
	"github.com/benchrig/benchrig/pools"
	"github.com/benchrig/benchrig/sqlite"
	"github.com/benchrig/benchrig/web"
)

type serveOptions struct {
	listen          string
	store           string
	pools           string
	tokens          string
	publicRead      bool
	allowLocal      bool
	poolLimits      []string
	dataDir         string
	resumeOnRestart bool
	es              esOptions
	maxBody         int64
	baseURL         string
}

func newServeCommand(d *deps) *cobra.Command {
	opts := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the submit API, the run queue and the dashboards",
		Long: `serve runs benchrig as a server: specs submitted over the HTTP API (or the submit page) are
validated, queued and run on the pools of the pools file, at most --pool-limit runs at once
per pool (default 1), in submission order. Runs are recorded in the same store as the CLI's.

Everything that changes state needs a bearer token with the submit role: a tokens file
(--tokens), or $BENCHRIG_TOKEN alone for one submit token named "env". Reads (dashboards,
GET requests) need a read token too unless --public-read. Specs run in containers on pools;
a spec without pools would run as processes on this host and is refused unless --allow-local.

When the server stops (SIGINT, SIGTERM), running runs are stopped and recorded interrupted;
when it starts again it resumes them (--resume-on-restart=false leaves them interrupted, with
the reason recorded) and runs the queued ones.`,
		Example: `  BENCHRIG_TOKEN=$(openssl rand -hex 32) benchrig serve --pools pools.yaml
  benchrig serve --listen 0.0.0.0:8080 --tokens tokens.yaml --public-read --pool-limit lab=2 --es http://es:9200`,
		Args: cobra.NoArgs,
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), d, opts)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&opts.listen, "listen", "127.0.0.1:8080", "`ADDR` to listen on (host:port)")
	f.StringVar(&opts.store, "store", "", "SQLite store `PATH` (default $BENCHRIG_STORE or ~/.local/share/benchrig/benchrig.db)")
	f.StringVar(&opts.pools, "pools", "", "pools `FILE` (default $BENCHRIG_POOLS or ~/.config/benchrig/pools.yaml)")
	f.StringVar(&opts.tokens, "tokens", "", "tokens `FILE` (read and submit tokens); $BENCHRIG_TOKEN adds one submit token")
	f.BoolVar(&opts.publicRead, "public-read", false, "dashboards and reads need no token")
	f.BoolVar(&opts.allowLocal, "allow-local", false, "let specs without pools run as processes on this host")
	f.StringArrayVar(&opts.poolLimits, "pool-limit", nil, "runs at once on a pool: `POOL=N` (repeatable; default 1 per pool)")
	f.StringVar(&opts.dataDir, "data-dir", "", "`DIR` for submitted specs (default: server/ beside the store)")
	f.BoolVar(&opts.resumeOnRestart, "resume-on-restart", true, "resume the runs a stopped server left interrupted")
	f.Int64Var(&opts.maxBody, "max-body", web.DefaultMaxBody, "largest request body in `BYTES`")
	f.StringVar(&opts.baseURL, "base-url", "", "`URL` clients reach the server at, for links in answers (default: the request's host)")
	opts.es.addFlags(f)
	return cmd
}

// parsePoolLimits reads --pool-limit pool=N flags.
func parsePoolLimits(flags []string) (map[string]int, error) {
	out := map[string]int{}
	for _, l := range flags {
		p, v, ok := strings.Cut(l, "=")
		n, err := strconv.Atoi(v)
		if !ok || p == "" || err != nil || n < 1 {
			return nil, usageError{fmt.Errorf("--pool-limit %q: want POOL=N with N at least 1", l)}
		}
		if p == app.LocalPool {
			return nil, usageError{fmt.Errorf("--pool-limit %q: the local pool runs one run at a time (two local runs would share the trial cgroup)", l)}
		}
		out[p] = n
	}
	return out, nil
}

// serveTokens are the tokens file's and $BENCHRIG_TOKEN's.
func serveTokens(d *deps, file string) (web.Tokens, error) {
	var ts web.Tokens
	if file != "" {
		var err error
		if ts, err = web.LoadTokens(absPath(d, file)); err != nil {
			return nil, err
		}
	}
	if tok := d.getenv("BENCHRIG_TOKEN"); tok != "" {
		ts = append(ts, web.NewToken("env", web.RoleSubmit, tok))
	}
	return ts, nil
}

func runServe(ctx context.Context, d *deps, o *serveOptions) error {
	limits, err := parsePoolLimits(o.poolLimits)
	if err != nil {
		return err
	}
	tokens, err := serveTokens(d, o.tokens)
	if err != nil {
		return err
	}
	store := absPath(d, storePath(d, o.store))
	poolsFile := absPath(d, pools.Path(o.pools, d.getenv))
	dataDir := o.dataDir
	if dataDir == "" {
		dataDir = filepath.Join(filepath.Dir(store), "server")
	}
	dataDir = absPath(d, dataDir)
	if err := checkWritable(store); err != nil {
		return err
	}
	db, err := sqlite.Open(ctx, store)
	if err != nil {
		return err
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(d.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	a := d.newApp(db)
	var es *serverResults
	if o.es.enabled(d) {
		if es, err = newServerResults(ctx, d, &o.es); err != nil {
			return err
		}
		a.NewResults = es.newSink
	}
	var srv *web.Server // the queue's events feed its /metrics
	q, err := app.NewQueue(app.QueueConfig{
		App: a, DataDir: dataDir, PoolsFile: poolsFile, Policies: nodes.Policies, Limits: limits,
		AllowLocal: o.allowLocal, LeaveInterrupted: !o.resumeOnRestart, Logger: log,
		OnEvent: func(e benchrig.Event) { srv.ObserveEvent(e) },
	})
	if err != nil {
		return err
	}

	sched := app.NewScheduler(app.SchedulerConfig{Store: db, Submit: q, Logger: log})
	deps := web.Deps{
		Store: db,
		Runs:  q,
		Ready: func(ctx context.Context) error {
			_, err := db.ListRuns(ctx, benchrig.RunFilter{Limit: 1})
			return err
		},
		Schedules: sched,
		Pools:     nodes.NewStatus(poolsFile, q.Stats),
		Samples:   web.NewSampleSource("store", db),
		Shares:    db,
		Profiles:  db,
	}
	if es != nil {
		deps.Metrics = es.writeMetrics
		deps.Samples = web.NewSampleSource("elasticsearch", es.client)
	}
	srv = web.New(web.Config{Tokens: tokens, PublicRead: o.publicRead, MaxBody: o.maxBody, BaseURL: o.baseURL, Logger: log}, deps)

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "listen", Msg: fmt.Sprintf("cannot listen on %s", o.listen), Err: err}
	}
	printServing(d.stdout, d.stderr, ln.Addr().String(), store, poolsFile, dataDir, tokens, o, limits, es)

	// The queue sweeps the store first (app.Sweep, as every front end
	// does) and takes back what a previous server left.
	qerr := make(chan error, 1)
	go func() { qerr <- q.Run(ctx) }()
	cerr := make(chan error, 1)
	go func() { cerr <- sched.Run(ctx) }()
	serr := srv.Serve(ctx, ln)
	if serr != nil {
		// The listener failed: stop the queue too.
		log.Error("serve", "err", serr)
	}
	err = errors.Join(<-qerr, <-cerr)
	if es != nil {
		es.close(ctx)
	}
	if serr != nil {
		return serr
	}
	return err
}

func printServing(stdout, stderr io.Writer, addr, store, poolsFile, dataDir string, tokens web.Tokens, o *serveOptions, limits map[string]int, es *serverResults) {
	fmt.Fprintf(stdout, "benchrig serve: listening on http://%s\n", addr)
	fmt.Fprintf(stdout, "  store:  %s\n", store)
	poolsLine := poolsFile
	if f, err := pools.Load(poolsFile); err != nil {
		poolsLine += fmt.Sprintf(" (not usable: %v)", err)
	} else {
		var names []string
		for _, n := range f.Names() {
			lim := 1
			if l, ok := limits[n]; ok {
				lim = l
			}
			names = append(names, fmt.Sprintf("%s (%d at once)", n, lim))
		}
		poolsLine += ": " + strings.Join(names, ", ")
	}
	fmt.Fprintf(stdout, "  pools:  %s\n", poolsLine)
	fmt.Fprintf(stdout, "  specs:  %s\n", dataDir)
	if o.publicRead {
		fmt.Fprintln(stdout, "  reads:  public (no token needed to read runs and dashboards)")
	} else {
		fmt.Fprintln(stdout, "  reads:  need a read or submit token")
	}
	if o.allowLocal {
		fmt.Fprintln(stdout, "  local:  specs without pools run as processes on this host, one at a time")
	}
	if es != nil {
		fmt.Fprintf(stdout, "  results: %s\n", es.name)
	}
	if !o.resumeOnRestart {
		fmt.Fprintln(stdout, "  restart: runs a stopped server left are left interrupted")
	}
	submit := 0
	for _, t := range tokens {
		if t.Role == web.RoleSubmit {
			submit++
		}
	}
	switch {
	case len(tokens) == 0:
		fmt.Fprintln(stderr, "WARNING: no tokens (--tokens FILE or $BENCHRIG_TOKEN): nothing can submit, cancel or schedule runs on this server")
	case submit == 0:
		fmt.Fprintln(stderr, "WARNING: no submit token: nothing can submit, cancel or schedule runs on this server")
	}
}

// serverResults ships each run of the server to Elasticsearch with a
// shipper of its own (app.App.NewResults), and keeps the counters of them
// all for /metrics.
type serverResults struct {
	client *elastic.Client
	name   string

	mu     sync.Mutex
	closed benchrig.ShipCounters     // of the runs that ended
	live   map[*countedSink]struct{} // of the runs going
}

func newServerResults(ctx context.Context, d *deps, o *esOptions) (*serverResults, error) {
	c, cfg, err := o.client(d)
	if err != nil {
		return nil, err
	}
	if dirs, docs, err := elastic.PendingSpools(cfg.SpoolDir); err == nil && docs > 0 {
		fmt.Fprintf(d.stderr, "note: %d document(s) of %d earlier run(s) wait in the spool %s: 'benchrig es replay' ships them\n", docs, dirs, cfg.SpoolDir)
	}
	return &serverResults{client: c, name: "elasticsearch " + strings.Join(redacted(cfg.URLs), ","), live: map[*countedSink]struct{}{}}, nil
}

func (s *serverResults) newSink(runID string) (app.ResultSink, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sh, err := s.client.NewShipper(ctx, elastic.ShipperOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("run %s: %w", runID, err)
	}
	cs := &countedSink{ResultSink: sh, owner: s}
	s.mu.Lock()
	s.live[cs] = struct{}{}
	s.mu.Unlock()
	return cs, s.name, nil
}

// counters are the totals of every shipper so far.
func (s *serverResults) counters() benchrig.ShipCounters {
	s.mu.Lock()
	live := make([]*countedSink, 0, len(s.live))
	for cs := range s.live {
		live = append(live, cs)
	}
	total := s.closed
	s.mu.Unlock()
	for _, cs := range live {
		addCounters(&total, cs.Counters())
	}
	return total
}

func addCounters(to *benchrig.ShipCounters, c benchrig.ShipCounters) {
	to.Sent += c.Sent
	to.Retried += c.Retried
	to.Spooled += c.Spooled
	to.Failed += c.Failed
	to.Duplicates += c.Duplicates
}

// writeMetrics writes the shipping counters in Prometheus text format.
func (s *serverResults) writeMetrics(w io.Writer) {
	c := s.counters()
	fmt.Fprintln(w, "# HELP benchrig_es_documents_total Documents shipped to Elasticsearch by result.")
	fmt.Fprintln(w, "# TYPE benchrig_es_documents_total counter")
	for _, kv := range []struct {
		k string
		v int64
	}{{"sent", c.Sent}, {"retried", c.Retried}, {"spooled", c.Spooled}, {"failed", c.Failed}, {"duplicate", c.Duplicates}} {
		fmt.Fprintf(w, "benchrig_es_documents_total{result=%q} %d\n", kv.k, kv.v)
	}
}

// close closes the shippers of runs that did not end (the queue stopped
// them; normally none).
func (s *serverResults) close(ctx context.Context) {
	s.mu.Lock()
	live := slices.Collect(func(yield func(*countedSink) bool) {
		for cs := range s.live {
			if !yield(cs) {
				return
			}
		}
	})
	s.mu.Unlock()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, cs := range live {
		_ = cs.Close(cctx)
	}
}

// countedSink is one run's shipper; its counters join the totals when
// the run closes it.
type countedSink struct {
	app.ResultSink
	owner *serverResults
	once  sync.Once
}

func (c *countedSink) Close(ctx context.Context) error {
	err := c.ResultSink.Close(ctx)
	c.once.Do(func() {
		c.owner.mu.Lock()
		defer c.owner.mu.Unlock()
		delete(c.owner.live, c)
		addCounters(&c.owner.closed, c.ResultSink.Counters())
	})
	return err
}
