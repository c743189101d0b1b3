// Package nodes owns the node drivers: how a run finds the nodes of its
// pools, contacts and health-checks them, and cleans up what runs left on
// them. The Docker driver reads the pools file and talks to each node's
// Docker engine, and for a pool backed by a Swarm cluster its manager
// (swarm.go: the cluster's nodes, swarmcollect.go: the run's collector
// service). The runner sees only
// runner.Discoverer.
package nodes

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/pools"
	"github.com/benchrig/benchrig/runner"
	"github.com/benchrig/benchrig/runner/docker"
)

// FactsTimeout bounds the first contact with a node: a node that does not
// answer within it is left out of the run (and reported), not waited for.
const FactsTimeout = 5 * time.Second

// Docker is the runner's Discoverer over the pools file: each call
// re-reads the file, so nodes added or removed while a run is in progress
// (benchrig pool add|remove, or an edit) are seen, and contacts nodes it
// has not met yet. A node keeps its executor while its entry is unchanged.
type Docker struct {
	path    string
	pools   []string
	shimDir string

	mu    sync.Mutex
	known map[string]*knownNode // by node name
	// retired are nodes whose entry changed during the run: the runner
	// may still hold their executors, so they are closed only by close.
	retired []*knownNode
	// unreachable are nodes whose first contact failed: when, and why.
	// They are tried again every healthEvery, not at every refresh, and
	// reported again only when the reason changes.
	unreachable map[string]failedContact
	wmu         sync.Mutex // guards warnings: nodes are contacted and closed concurrently
	warnings    []string
	// swarms are the selected pools backed by Swarm clusters, by pool
	// name; retiredSwarms those whose entry changed during the run.
	swarms        map[string]*swarmPool
	retiredSwarms []*swarmPool
}

// NewDocker returns the driver of the named pools of the pools file at
// path (absolute); shimDir holds the in-container timing shims.
func NewDocker(path string, pools []string, shimDir string) *Docker {
	return &Docker{path: path, pools: pools, shimDir: shimDir}
}

type failedContact struct {
	at  time.Time
	err string
}

// warnf keeps a warning for the run (see Warnings).
func (d *Docker) warnf(format string, args ...any) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	d.warnings = append(d.warnings, fmt.Sprintf(format, args...))
}

// Warnings returns and forgets what went wrong since the last call: nodes
// left out, containers of dead processes removed. The runner keeps them
// as warnings on the run.
func (d *Docker) Warnings() []string {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	w := d.warnings
	d.warnings = nil
	return w
}

type knownNode struct {
	entry pools.Node
	pool  string
	node  *runner.Node
	exec  *docker.Executor
	// checked is when the node last answered a health check; failures
	// counts the checks in a row it did not answer.
	checked  time.Time
	failures int
}

// Health checks of known nodes during a run: every healthEvery, and a
// node is down after healthFailures checks in a row without an answer
// (one lost packet is not a lost node). A node whose trials fail to run
// is found sooner, by the runner.
const (
	healthEvery    = 30 * time.Second
	healthFailures = 2
)

var (
	_ runner.Discoverer    = (*Docker)(nil)
	_ runner.WarningSource = (*Docker)(nil)
)

// selected returns the nodes of the selected pools, in file order, with
// their pool and its policy, and the selected pools backed by Swarm.
func (d *Docker) selected() ([]pools.Node, []string, []benchrig.PoolPolicy, []*pools.Pool, error) {
	f, err := pools.Load(d.path)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var nodes []pools.Node
	var names []string
	var policies []benchrig.PoolPolicy
	var swarms []*pools.Pool
	for _, name := range d.pools {
		p, err := f.Pool(name)
		if err != nil {
			return nil, nil, nil, nil, &benchrig.Error{Code: benchrig.EInvalid, File: d.path, Field: "pools", Msg: err.Error()}
		}
		if p.Swarm != nil {
			swarms = append(swarms, p)
			continue
		}
		for _, n := range p.Nodes {
			nodes = append(nodes, n)
			names = append(names, p.Name)
			policies = append(policies, p.Policy)
		}
	}
	return nodes, names, policies, swarms, nil
}

func (d *Docker) Nodes(ctx context.Context) ([]*runner.Node, error) {
	entries, poolNames, policies, swarmPools, err := d.selected()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.known == nil {
		d.known = map[string]*knownNode{}
	}
	var out []*runner.Node
	var wg sync.WaitGroup
	fresh := make([]*knownNode, len(entries))
	errs := make([]error, len(entries))
	for i, e := range entries {
		if k, ok := d.known[e.Name]; ok && sameEntry(k.entry, e) && k.pool == poolNames[i] {
			if time.Since(k.checked) >= healthEvery {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.check(ctx, k)
				}()
			}
			continue
		}
		if f, ok := d.unreachable[e.Name]; ok && time.Since(f.at) < healthEvery {
			errs[i] = errRetryLater
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fresh[i], errs[i] = d.contact(ctx, e, poolNames[i], policies[i])
		}()
	}
	wg.Wait()
	for i, e := range entries {
		if errs[i] == errRetryLater {
			continue
		}
		if benchrig.ErrorCode(errs[i]) == benchrig.EInvalid {
			return nil, errs[i] // benchrig's own setup is wrong, not the node
		}
		if errs[i] != nil {
			if d.unreachable == nil {
				d.unreachable = map[string]failedContact{}
			}
			msg := errs[i].Error()
			if d.unreachable[e.Name].err != msg {
				d.warnf("node %s (%s) left out: %s", e.Name, e.Host, msg)
			}
			d.unreachable[e.Name] = failedContact{at: time.Now(), err: msg}
			continue
		}
		delete(d.unreachable, e.Name)
		if fresh[i] != nil {
			if old := d.known[e.Name]; old != nil {
				d.retired = append(d.retired, old) // its entry changed; the runner may still use it
			}
			d.known[e.Name] = fresh[i]
		}
		out = append(out, d.known[e.Name].node)
	}
	for _, p := range swarmPools {
		sp := d.swarms[p.Name]
		first := false
		if sp == nil || !sameSwarm(sp.entry, *p.Swarm) || !reflect.DeepEqual(sp.policy, p.Policy) {
			sw, err := NewSwarm(p, d.path, d.shimDir)
			if err != nil {
				return nil, err
			}
			if sp != nil {
				d.retiredSwarms = append(d.retiredSwarms, sp)
			}
			sp = &swarmPool{name: p.Name, entry: *p.Swarm, policy: p.Policy, sw: sw, known: map[string]*runner.Node{}, left: map[string]string{}, notReady: map[string]int{}}
			if d.swarms == nil {
				d.swarms = map[string]*swarmPool{}
			}
			d.swarms[p.Name] = sp
			first = true
		}
		for _, n := range d.swarmNodes(ctx, sp, first) {
			// Node names identify nodes in the run: a swarm node named
			// like a node of another selected pool is left out.
			if other := slices.IndexFunc(out, func(o *runner.Node) bool { return o.Name == n.Name }); other >= 0 {
				why := fmt.Sprintf("its name is taken by node %s of pool %s", n.Name, out[other].Pool)
				if sp.left["name:"+n.Name] != why {
					d.warnf("swarm node %s of pool %s left out: %s (run the pools one at a time)", n.Name, sp.name, why)
					sp.left["name:"+n.Name] = why
				}
				continue
			}
			out = append(out, n)
		}
	}
	return out, nil
}

// allSwarms returns every cluster the driver made, retired ones included.
func (d *Docker) allSwarms() []*docker.Swarm {
	var out []*docker.Swarm
	for _, sp := range append(slices.Collect(maps.Values(d.swarms)), d.retiredSwarms...) {
		out = append(out, sp.sw)
	}
	return out
}

// errRetryLater marks a node whose last contact failed too recently to try
// again.
var errRetryLater = errors.New("contact failed recently")

func sameEntry(a, b pools.Node) bool {
	return a.Host == b.Host && a.Arch == b.Arch && a.MaxTrials == b.MaxTrials && a.GPUs == b.GPUs &&
		maps.Equal(a.Labels, b.Labels) && (a.TLS == nil) == (b.TLS == nil) && (a.TLS == nil || *a.TLS == *b.TLS)
}

// contact makes an executor for a node, fingerprints it and removes what
// dead benchrig processes left on it.
func (d *Docker) contact(ctx context.Context, e pools.Node, pool string, pol benchrig.PoolPolicy) (*knownNode, error) {
	exec, err := NewDockerExecutor(e, pool, pol, d.path, d.shimDir)
	if err != nil {
		return nil, err
	}
	fctx, cancel := context.WithTimeout(ctx, FactsTimeout)
	defer cancel()
	facts, err := exec.Facts(fctx)
	if err != nil {
		exec.Close()
		return nil, err
	}
	facts.Pool = pool
	declareGPUs(&facts, e)
	// Without a timing shim for the node's architecture no trial can run
	// there: say so once, before the run, not in every case.
	if shim := filepath.Join(d.shimDir, docker.ShimName(facts.Arch)); !fileExists(shim) {
		exec.Close()
		return nil, &benchrig.Error{Code: benchrig.EInvalid, Field: "node " + e.Name,
			Msg: fmt.Sprintf("no timing shim for %s at %s: build it with make build (bin/), or set BENCHRIG_SHIM_DIR to where it is", facts.Arch, shim)}
	}
	labels := maps.Clone(facts.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, e.Labels) // the pools file's labels win
	facts.Labels = labels
	if n, err := exec.Reap(fctx); err != nil {
		d.warnf("node %s: removed %d container(s) left by benchrig processes that died (some could not be removed: %v)", e.Name, n, err)
	} else if n > 0 {
		d.warnf("node %s: removed %d container(s) left by benchrig processes that died", e.Name, n)
	}
	node := &runner.Node{
		Name: e.Name, Pool: pool, Facts: facts, Labels: labels, MaxTrials: e.MaxTrials, Executor: exec,
		ClassLabels: classLabels(e.Labels),
		Policy:      pol,
	}
	return &knownNode{entry: e, pool: pool, node: node, exec: exec, checked: time.Now()}, nil
}

// check pings a known node again and marks it down after healthFailures
// failed checks in a row. Each answer is a fresh fingerprint; the run
// keeps the facts of first contact.
func (d *Docker) check(ctx context.Context, k *knownNode) {
	fctx, cancel := context.WithTimeout(ctx, FactsTimeout)
	defer cancel()
	_, err := k.exec.Facts(fctx)
	k.checked = time.Now()
	if err == nil {
		k.failures = 0
		return
	}
	k.failures++
	if k.failures >= healthFailures {
		k.node.Down = fmt.Sprintf("health check failed %d times in a row: %v", k.failures, err)
	}
}

// NewDockerExecutor makes the executor of one pools-file node, with its
// pool's name and policy; TLS files are resolved against the pools file's
// directory.
func NewDockerExecutor(e pools.Node, pool string, pol benchrig.PoolPolicy, poolsPath, shimDir string) (*docker.Executor, error) {
	cfg := docker.Config{Node: e.Name, Pool: pool, Host: e.Host, Arch: e.Arch, ShimDir: shimDir, Policy: pol}
	if e.TLS != nil {
		t := e.TLS.Resolve(filepath.Dir(poolsPath))
		cfg.TLS = &docker.TLS{CA: t.CA, Cert: t.Cert, Key: t.Key}
	}
	return docker.New(cfg)
}

// RemoveRun removes every container of run runID from every node this
// driver contacted, and returns how many it removed.
func (d *Docker) RemoveRun(ctx context.Context, runID string) (int, error) {
	d.mu.Lock()
	known := append(slices.Collect(maps.Values(d.known)), d.retired...)
	swarms := d.allSwarms()
	d.mu.Unlock()
	total := 0
	var errs []error
	for _, k := range known {
		n, err := k.exec.RemoveRun(ctx, runID)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("node %s: removing the containers of run %s: %w", k.node.Name, runID, err))
		}
	}
	for _, sw := range swarms {
		n, err := sw.RemoveRun(ctx, runID)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("removing the services of run %s: %w", runID, err))
		}
	}
	return total, errors.Join(errs...)
}

// Settle waits until the containers of trials that ended are removed, so
// that everything the engines will say about them (their die and destroy
// events) has been said. The driver stays usable.
func (d *Docker) Settle() {
	d.mu.Lock()
	execs := make([]*docker.Executor, 0, len(d.known)+len(d.retired))
	for _, k := range append(slices.Collect(maps.Values(d.known)), d.retired...) {
		execs = append(execs, k.exec)
	}
	swarms := d.allSwarms()
	d.mu.Unlock()
	for _, e := range execs {
		e.Settle()
	}
	for _, sw := range swarms {
		sw.Settle()
	}
}

// Close waits for every executor's pending container removals.
func (d *Docker) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, 0)
	var emu sync.Mutex
	for _, k := range append(slices.Collect(maps.Values(d.known)), d.retired...) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := k.exec.Close(); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	for _, sw := range d.allSwarms() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sw.Close(); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// classLabels are the pools file's labels of a node, never nil: two nodes
// of one architecture whose file entries carry the same labels can stand
// in for each other when one is lost.
func classLabels(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
