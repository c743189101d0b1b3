package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/collect"
	"github.com/benchrig/benchrig/elastic"
)

type collectorOptions struct {
	docker      string
	node, arch  string
	interval    time.Duration
	run         string
	procRoot    string
	cgroupRoot  string
	mode        string
	noHost      bool
	ignoreStdin bool
	since       string
	// es, when given, is where samples go instead of stdout.
	es           esOptions
	noDockerFlag bool
}

func newCollectorCommand(d *deps) *cobra.Command {
	var opts collectorOptions
	cmd := &cobra.Command{
		Use:   "collector",
		Short: "Sample benchmark containers' cgroups and the host, as a sidecar for one node",
		Long: `Run the collector beside the benchmark containers of one Docker node: it follows the
engine's events of containers labelled benchrig.run (only --run's when given), samples each
running container's cgroup and the host every --interval, and writes one JSON object a line on
standard output: {"sample":{...}} and {"event":{...}} (create, start, die with its exit code,
oom) as they come, and a final {"cost":{...}} with what the collector itself cost. With --es URL
the samples go to Elasticsearch instead, spooled while it is down ($BENCHRIG_ES_URL alone does
not: a sidecar ships only when told to).

It stops on SIGINT or SIGTERM, or when its standard input ends, so a run that starts it as a
child stops it by closing its stdin (--ignore-stdin for a sidecar started without one). In a
container it needs the host's cgroup tree and /proc mounted read-only (--cgroup-root,
--proc-root) and the host's cgroup namespace (docker run --cgroupns=host), so that
/proc/<pid>/cgroup names the host's paths.`,
		Example: `  benchrig collector --node lab1 --interval 100ms --run 20261206-030000-1a2b
  benchrig collector --docker tcp://10.99.0.11:2375 --node lab1 --ignore-stdin >samples.jsonl
  docker run --cgroupns=host -v /sys/fs/cgroup:/host/cgroup:ro -v /proc:/host/proc:ro ... \
    benchrig collector --cgroup-root /host/cgroup --proc-root /host/proc --ignore-stdin`,
		Args: cobra.NoArgs,
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runCollector(cmd.Context(), d, opts)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&opts.docker, "docker", "", "Docker engine `HOST` to follow (default $DOCKER_HOST, else the local socket)")
	f.BoolVar(&opts.noDockerFlag, "no-docker", false, "follow no Docker engine: sample the host only")
	f.StringVar(&opts.node, "node", "", "node `NAME` on every sample (default the host name)")
	f.StringVar(&opts.arch, "arch", "", "node architecture on every sample (default this binary's)")
	f.DurationVar(&opts.interval, "interval", collect.DefaultInterval, "sampling `INTERVAL`, at least 100ms")
	f.StringVar(&opts.run, "run", "", "follow only the containers of run `ID`")
	f.StringVar(&opts.procRoot, "proc-root", "", "where the host's /proc is mounted (default /proc)")
	f.StringVar(&opts.cgroupRoot, "cgroup-root", "", "where the host's cgroup tree is mounted (default /sys/fs/cgroup)")
	f.StringVar(&opts.mode, "mode", collect.ModeExternal, "how the run started it, for its cost: process (a child of the run) or external")
	f.BoolVar(&opts.noHost, "no-host", false, "take no host samples")
	f.StringVar(&opts.since, "since", "", "replay the engine's container events from `TIME` (RFC 3339), e.g. the start of the run")
	opts.es.addFlags(f)
	f.BoolVar(&opts.ignoreStdin, "ignore-stdin", false, "do not stop when standard input ends")
	return cmd
}

func runCollector(ctx context.Context, d *deps, opts collectorOptions) error {
	if opts.mode != collect.ModeProcess && opts.mode != collect.ModeExternal {
		return usageError{fmt.Errorf("--mode %q: want process or external", opts.mode)}
	}
	// One processor: the collector's work is a short burst per tick on
	// one goroutine, and with a second, idle processor the Go runtime wakes
	// a thread to look for more work at each tick. Measured over 10
	// containers at 1 Hz: 0.10% of a core against 0.14 to 0.19%. A
	// GOMAXPROCS in the environment still wins; the setting is restored
	// on return for in-process callers (tests).
	if d.getenv("GOMAXPROCS") == "" {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	}
	if opts.node == "" {
		opts.node, _ = os.Hostname()
	}
	if opts.arch == "" {
		opts.arch = collect.NormalizeArch(runtime.GOARCH)
	}
	var since time.Time
	if opts.since != "" {
		t, err := time.Parse(time.RFC3339Nano, opts.since)
		if err != nil {
			return usageError{fmt.Errorf("--since %q: want an RFC 3339 time such as 2026-12-06T03:00:00Z", opts.since)}
		}
		since = t
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := collect.NewStreamWriter(d.stdout)
	var sink collect.Sink = out
	// Only --es makes a sidecar ship (not $BENCHRIG_ES_URL, which a shell
	// set for runs may carry): its stdout stream is the default.
	if len(opts.es.urls) > 0 {
		// A sidecar on a node of its own ships its samples itself; its
		// container events stay on stdout (their numbers in a run's log
		// are the run's to give).
		esc, _, err := opts.es.client(d)
		if err != nil {
			return err
		}
		sh, err := esc.NewShipper(ctx, elastic.ShipperOptions{})
		if err != nil {
			return err
		}
		sink = sh
		defer func() {
			cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer ccancel()
			if err := sh.Close(cctx); err != nil {
				fmt.Fprintln(d.stderr, "benchrig collector: warning:", err)
			}
			c := sh.Counters()
			fmt.Fprintf(d.stderr, "benchrig collector: shipped to elasticsearch: %d sent, %d retried, %d spooled, %d failed, %d duplicates\n",
				c.Sent, c.Retried, c.Spooled, c.Failed, c.Duplicates)
		}()
	}
	// The node's GPUs are sampled with its host when nvidia-smi, on the
	// collector's PATH, finds some.
	var gpu collect.SMI
	if !opts.noHost && collect.Accelerators(ctx, collect.ExecSMI{}).Count() > 0 {
		gpu = collect.ExecSMI{}
	}
	c, err := collect.New(collect.Config{
		Interval: opts.interval, Node: opts.node, Arch: opts.arch, Run: opts.run, Mode: opts.mode,
		ProcRoot: opts.procRoot, CgroupRoot: opts.cgroupRoot, Sink: sink, Host: !opts.noHost, GPU: gpu,
	})
	if err != nil {
		return err
	}
	if !opts.ignoreStdin {
		go func() {
			_, _ = io.Copy(io.Discard, d.stdin)
			cancel()
		}()
	}
	watchErr := make(chan error, 1)
	if opts.noDockerFlag {
		watchErr <- nil
	} else {
		host := opts.docker
		if host == "" {
			host = d.getenv("DOCKER_HOST")
		}
		copts := []client.Opt{}
		if host != "" {
			copts = append(copts, client.WithHost(host))
		}
		cli, err := client.New(copts...)
		if err != nil {
			return benchrig.Errorf(benchrig.EInvalid, "collector: docker client for %q: %v", host, err)
		}
		defer cli.Close()
		go func() {
			err := collect.WatchDockerSince(ctx, cli, c, since, func(e collect.ContainerEvent) {
				if err := out.WriteEvent(e); err != nil {
					cancel() // nobody reads us any more
				}
			})
			if err != nil {
				cancel()
			}
			watchErr <- err
		}()
	}
	runErr := c.Run(ctx)
	cancel()
	wErr := <-watchErr
	for _, w := range c.Warnings() {
		fmt.Fprintln(d.stderr, "benchrig collector: warning:", w)
	}
	if err := out.WriteCost(c.Cost()); err != nil {
		return fmt.Errorf("collector: write cost: %w", err)
	}
	if wErr != nil {
		return fmt.Errorf("collector: %w", wErr)
	}
	return runErr
}
