package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/nodes"
	"github.com/benchrig/benchrig/pools"
)

type poolOptions struct {
	pools string
	json  bool
	// add
	arch                   string
	labels                 []string
	maxTrials              int
	tlsCA, tlsCert, tlsKey string
}

func newPoolCommand(d *deps) *cobra.Command {
	opts := &poolOptions{}
	cmd := &cobra.Command{
		Use:   "pool {list|check|add|remove}",
		Short: "List and change the pools of Docker engines that benchmarks run on",
		Long: `A pools file names pools of nodes; each node is a Docker engine: a local socket
(unix:///var/run/docker.sock), tcp://host:2376 with TLS, or plain tcp on a private lab network.
A node's name identifies it across the whole file. Its architecture comes from its engine
unless the file declares it (an emulated arm64 node on an x86_64 host must declare it).

The file is --pools FILE, else $BENCHRIG_POOLS, else ~/.config/benchrig/pools.yaml.
'pool add' and 'pool remove' rewrite it atomically under a lock, so they are safe while a run
reads it; comments in the file are not kept.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown pool command %q: want list, check, add or remove", args[0])}
			}
			return cmd.Help()
		},
	}
	cmd.PersistentFlags().StringVar(&opts.pools, "pools", "", "pools `FILE` (default $BENCHRIG_POOLS or ~/.config/benchrig/pools.yaml)")
	cmd.AddCommand(newPoolListCommand(d, opts), newPoolCheckCommand(d, opts), newPoolAddCommand(d, opts), newPoolRemoveCommand(d, opts))
	return cmd
}

func (o *poolOptions) path(d *deps) string {
	p := pools.Path(o.pools, d.getenv)
	if !filepath.IsAbs(p) {
		p = filepath.Join(d.cwd, p)
	}
	return p
}

func newPoolListCommand(d *deps, opts *poolOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Show every pool's nodes",
		Example: `  benchrig pool list
  benchrig pool list --pools .testenv/pools.yaml --json`,
		Args: cobra.NoArgs,
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runPoolList(d, opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON: a list of {pool, node, host, arch, max_trials, labels, tls}")
	return cmd
}

// poolRow is one node of the list, in the table and in JSON. Arch is ""
// when the engine is to tell it.
type poolRow struct {
	Pool      string            `json:"pool"`
	Node      string            `json:"node"`
	Host      string            `json:"host"`
	Arch      string            `json:"arch"`
	MaxTrials int               `json:"max_trials"`
	Labels    map[string]string `json:"labels"`
	TLS       bool              `json:"tls"`
	Swarm     bool              `json:"swarm,omitempty"` // Host is a Swarm manager; the nodes are its cluster's
}

func runPoolList(d *deps, opts *poolOptions) error {
	f, err := pools.Load(opts.path(d))
	if err != nil {
		return err
	}
	names := make([]string, 0, len(f.Pools))
	for n := range f.Pools {
		names = append(names, n)
	}
	sort.Strings(names)
	rows := []poolRow{}
	for _, pn := range names {
		if sw := f.Pools[pn].Swarm; sw != nil {
			rows = append(rows, poolRow{Pool: pn, Node: "(swarm: the cluster's nodes)", Host: sw.Manager, MaxTrials: sw.MaxTrials, Labels: map[string]string{}, TLS: sw.TLS != nil, Swarm: true})
		}
		for _, n := range f.Pools[pn].Nodes {
			labels := n.Labels
			if labels == nil {
				labels = map[string]string{}
			}
			rows = append(rows, poolRow{Pool: pn, Node: n.Name, Host: n.Host, Arch: n.Arch, MaxTrials: n.MaxTrials, Labels: labels, TLS: n.TLS != nil})
		}
	}
	if opts.json {
		return printJSON(d.stdout, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(d.stdout, "no pools (add a node with: benchrig pool add POOL NODE HOST)")
		return nil
	}
	tw := tabwriter.NewWriter(d.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POOL\tNODE\tHOST\tARCH\tMAX TRIALS\tLABELS")
	for _, r := range rows {
		arch := r.Arch
		if arch == "" {
			arch = "from engine"
		}
		host := r.Host
		if r.TLS {
			host += " (tls)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", r.Pool, r.Node, host, arch, r.MaxTrials, labelText(r.Labels))
	}
	return tw.Flush()
}

func labelText(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ",")
}

func newPoolAddCommand(d *deps, opts *poolOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add POOL NODE HOST",
		Short: "Add a node (a Docker engine) to a pool, creating the pool if needed",
		Long: `Add node NODE at HOST to pool POOL, creating the pool (and the file) when missing. HOST is
unix:///path/to/docker.sock or tcp://host:port; ssh:// is not supported (tunnel it to a tcp port).
A new pool gets the strict policy: no privileged containers, host mounts, devices or host network.
TLS files are stored as absolute paths.`,
		Example: `  benchrig pool add local local-1 unix:///var/run/docker.sock
  benchrig pool add lab lab-arm64-1 tcp://10.99.0.4:2375 --arch arm64 --label emulated=true
  benchrig pool add lab big-1 tcp://big-1.lab:2376 --max-trials 4 \
      --tls-ca ca.pem --tls-cert cert.pem --tls-key key.pem`,
		Args: cobra.ExactArgs(3),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			n := pools.Node{Name: args[1], Host: args[2], Arch: opts.arch, MaxTrials: opts.maxTrials}
			if opts.maxTrials < 1 {
				return usageError{fmt.Errorf("--max-trials must be at least 1, got %d", opts.maxTrials)}
			}
			for _, l := range opts.labels {
				k, v, ok := strings.Cut(l, "=")
				if !ok || strings.TrimSpace(k) == "" {
					return usageError{fmt.Errorf("--label %q: want key=value", l)}
				}
				if n.Labels == nil {
					n.Labels = map[string]string{}
				}
				n.Labels[k] = v
			}
			if opts.tlsCA != "" || opts.tlsCert != "" || opts.tlsKey != "" {
				if opts.tlsCA == "" || opts.tlsCert == "" || opts.tlsKey == "" {
					return usageError{fmt.Errorf("--tls-ca, --tls-cert and --tls-key go together")}
				}
				n.TLS = &pools.TLS{CA: absFrom(d.cwd, opts.tlsCA), Cert: absFrom(d.cwd, opts.tlsCert), Key: absFrom(d.cwd, opts.tlsKey)}
			}
			path := opts.path(d)
			if err := pools.Update(path, func(f *pools.File) error { return f.Add(args[0], n) }); err != nil {
				return err
			}
			fmt.Fprintf(d.stdout, "added node %s (%s) to pool %s in %s\n", n.Name, n.Host, args[0], path)
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&opts.arch, "arch", "", "declared architecture (amd64, arm64, ...; required for an emulated node); default: the engine's")
	f.StringArrayVar(&opts.labels, "label", nil, "a node label `key=value` (repeatable)")
	f.IntVar(&opts.maxTrials, "max-trials", pools.DefaultMaxTrials, "trials at once on this node (1 keeps numbers clean)")
	f.StringVar(&opts.tlsCA, "tls-ca", "", "CA certificate `FILE` for a tcp engine with TLS")
	f.StringVar(&opts.tlsCert, "tls-cert", "", "client certificate `FILE`")
	f.StringVar(&opts.tlsKey, "tls-key", "", "client key `FILE`")
	return cmd
}

func absFrom(cwd, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(cwd, p)
}

func newPoolRemoveCommand(d *deps, opts *poolOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "remove POOL NODE",
		Short: "Remove a node from a pool (a pool without nodes is removed)",
		Long: `Remove node NODE from pool POOL. A run in progress re-reads the file and stops placing
trials on the node; removing the last node of a pool removes the pool.`,
		Example: `  benchrig pool remove lab lab-arm64-1`,
		Args:    cobra.ExactArgs(2),
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			path := opts.path(d)
			gone := false
			err := pools.Update(path, func(f *pools.File) error {
				if err := f.Remove(args[0], args[1]); err != nil {
					return err
				}
				_, gone = f.Pools[args[0]]
				gone = !gone
				return nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(d.stdout, "removed node %s from pool %s in %s\n", args[1], args[0], path)
			if gone {
				fmt.Fprintf(d.stdout, "pool %s had no nodes left and was removed\n", args[0])
			}
			return nil
		}),
	}
}

func newPoolCheckCommand(d *deps, opts *poolOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check [POOL...]",
		Short: "Contact every node and show its health and facts",
		Long: `Contact every node of the named pools (all pools when none is named): ping its engine and
fingerprint it (architecture, OS, kernel, CPUs, memory, accelerators, engine and API version,
runtimes, labels). A node's GPUs are the pools file's gpus: N when it declares them, else the
NVIDIA CDI devices its engine reports ("none (the engine reports no GPU)" otherwise). A node's
architecture is the one the pools file declares, else its engine's; an
emulated node shows both. Exit status 1 when a node cannot be reached.`,
		Example: `  benchrig pool check
  benchrig pool check lab --pools .testenv/pools.yaml --json`,
		RunE: wrap(func(cmd *cobra.Command, args []string) error {
			return runPoolCheck(cmd.Context(), d, opts, args)
		}),
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON: a list of {pool, node, host, reachable, error, facts}")
	return cmd
}

// checkRow is one node's health, in the table and in JSON.
type checkRow struct {
	Pool      string              `json:"pool"`
	Node      string              `json:"node"`
	Host      string              `json:"host"`
	Reachable bool                `json:"reachable"`
	Error     string              `json:"error,omitempty"`
	Facts     *benchrig.NodeFacts `json:"facts,omitempty"`
	// Availability is a Swarm node's: active, pause or drain.
	Availability string `json:"availability,omitempty"`
}

func runPoolCheck(ctx context.Context, d *deps, opts *poolOptions, names []string) error {
	path := opts.path(d)
	f, err := pools.Load(path)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		names = f.Names()
	}
	var rows []*checkRow
	var wg sync.WaitGroup
	swarmRows := map[string][]*checkRow{} // a Swarm pool's nodes, by pool
	var swarmMu sync.Mutex
	for _, pn := range names {
		p, err := f.Pool(pn)
		if err != nil {
			return err
		}
		if p.Swarm != nil {
			wg.Add(1)
			head := &checkRow{Pool: p.Name, Node: "(swarm)", Host: p.Swarm.Manager}
			rows = append(rows, head)
			go func() {
				defer wg.Done()
				fctx, cancel := context.WithTimeout(ctx, nodes.FactsTimeout)
				defer cancel()
				list, err := nodes.ProbeSwarm(fctx, p, path)
				if err != nil {
					head.Error = err.Error()
					return
				}
				head.Reachable = true
				swarmMu.Lock()
				defer swarmMu.Unlock()
				for _, st := range list {
					swarmRows[p.Name] = append(swarmRows[p.Name], &checkRow{Pool: p.Name, Node: st.Name, Host: st.Host, Reachable: st.Healthy, Error: st.Error, Facts: st.Facts, Availability: st.Availability})
				}
			}()
		}
		for _, n := range p.Nodes {
			row := &checkRow{Pool: p.Name, Node: n.Name, Host: n.Host}
			rows = append(rows, row)
			wg.Add(1)
			go func() {
				defer wg.Done()
				fctx, cancel := context.WithTimeout(ctx, nodes.FactsTimeout)
				defer cancel()
				facts, err := nodes.Probe(fctx, n, p, path)
				if err != nil {
					row.Error = err.Error()
					return
				}
				row.Reachable, row.Facts = true, &facts
			}()
		}
	}
	wg.Wait()
	// A reachable swarm's row gives way to its nodes' rows.
	var all []*checkRow
	for _, r := range rows {
		if r.Node == "(swarm)" && r.Reachable {
			all = append(all, swarmRows[r.Pool]...)
			continue
		}
		all = append(all, r)
	}
	rows = all
	down := 0
	for _, r := range rows {
		if !r.Reachable {
			down++
		}
	}
	if opts.json {
		if err := printJSON(d.stdout, rows); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(d.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "POOL\tNODE\tHOST\tHEALTH\tLATENCY\tENGINE\tARCH\tOS/KERNEL\tCPUS\tMEMORY\tACCELERATORS\tRUNTIMES\tLABELS")
		for _, r := range rows {
			if !r.Reachable {
				fmt.Fprintf(tw, "%s\t%s\t%s\tunreachable\t-\t-\t-\t-\t-\t-\t-\t-\t-\n", r.Pool, r.Node, r.Host)
				continue
			}
			fa := r.Facts
			arch := fa.Arch
			if fa.ArchDeclared && fa.EngineArch != fa.Arch {
				arch += " (declared; engine " + fa.EngineArch + ")"
			}
			health := "ok"
			if r.Availability != "" && r.Availability != "active" {
				health = "ok, " + r.Availability
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s (API %s)\t%s\t%s %s\t%d\t%.1f GiB\t%s\t%s\t%s\n", r.Pool, r.Node, r.Host, health,
				benchrig.FormatDuration(fa.Latency), fa.EngineVersion, fa.APIVersion, arch, fa.OS, fa.Kernel, fa.CPUs,
				float64(fa.MemoryBytes)/(1<<30), fa.Accelerators, strings.Join(fa.Runtimes, ","), labelText(fa.Labels))
		}
		tw.Flush()
		for _, r := range rows {
			if !r.Reachable {
				fmt.Fprintln(d.stderr, r.Error)
			}
		}
	}
	if down > 0 {
		return checkFailed{&benchrig.Error{Code: benchrig.EUnavailable, Msg: fmt.Sprintf("%d of %d node(s) unreachable", down, len(rows))}}
	}
	return nil
}
