package nodes

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/pools"
	"github.com/benchrig/benchrig/runner"
	"github.com/benchrig/benchrig/runner/docker"
)

// swarmPool is a pool backed by a Swarm cluster, as a run sees it: the
// cluster and the nodes met so far, by swarm node ID.
type swarmPool struct {
	name   string
	entry  pools.Swarm
	policy benchrig.PoolPolicy
	sw     *docker.Swarm
	known  map[string]*runner.Node
	// failures counts the node lists in a row the manager did not answer;
	// at healthFailures every node of the pool is down.
	failures int
	// left are the nodes reported left out, with why, to say it once.
	left map[string]string
	// notReady counts, by node ID, the listings in a row in which Swarm
	// said a known node was not ready: at healthFailures it is down.
	notReady map[string]int
	// last is the last answer given, kept for when the manager does not
	// answer.
	last []*runner.Node
}

// NewSwarm makes the cluster of a pools-file Swarm pool; TLS files are
// resolved against the pools file's directory.
func NewSwarm(p *pools.Pool, poolsPath, shimDir string) (*docker.Swarm, error) {
	sw := p.Swarm
	cfg := docker.SwarmConfig{Pool: p.Name, Manager: sw.Manager, Policy: p.Policy, ShimDir: shimDir, CollectorImage: sw.CollectorImage, DockerSocket: sw.DockerSocket}
	if sw.TLS != nil {
		t := sw.TLS.Resolve(filepath.Dir(poolsPath))
		cfg.TLS = &docker.TLS{CA: t.CA, Cert: t.Cert, Key: t.Key}
	}
	return docker.NewSwarm(cfg)
}

// sameSwarm reports whether two entries of a Swarm pool are the same
// (the collector's image and socket included, which the cluster's
// executors use for profiled trials).
func sameSwarm(a, b pools.Swarm) bool {
	return a.Manager == b.Manager && a.MaxTrials == b.MaxTrials && a.CollectorImage == b.CollectorImage && a.DockerSocket == b.DockerSocket &&
		(a.TLS == nil) == (b.TLS == nil) && (a.TLS == nil || *a.TLS == *b.TLS)
}

// swarmNodes returns the nodes of a Swarm pool a run may use now: the
// cluster's active, ready nodes. A drained or paused node is left out (the
// runner moves its remaining work; Swarm shuts down its tasks, which come
// back to the runner as retryable); a node Swarm says is down, or every
// node when the manager stops answering, is kept and marked Down (lost).
func (d *Docker) swarmNodes(ctx context.Context, sp *swarmPool, first bool) []*runner.Node {
	fctx, cancel := context.WithTimeout(ctx, FactsTimeout)
	defer cancel()
	if first {
		if n, err := sp.sw.Reap(fctx); err != nil {
			d.warnf("pool %s: removed %d service(s) left by benchrig processes that died (some could not be removed: %v)", sp.name, n, err)
		} else if n > 0 {
			d.warnf("pool %s: removed %d service(s) left by benchrig processes that died", sp.name, n)
		}
	}
	listed, err := sp.sw.Nodes(fctx)
	if err != nil {
		sp.failures++
		if len(sp.known) == 0 {
			if sp.left["*"] != err.Error() {
				d.warnf("pool %s (swarm manager %s) left out: %v", sp.name, sp.entry.Manager, err)
				sp.left["*"] = err.Error()
			}
			return nil
		}
		// The last answer stands (nodes removed since stay removed);
		// after healthFailures failures in a row its nodes are lost.
		for _, n := range sp.last {
			if sp.failures >= healthFailures && n.Down == "" {
				n.Down = fmt.Sprintf("the swarm manager %s did not answer %d times in a row: %v", sp.entry.Manager, sp.failures, err)
			}
		}
		return sp.last
	}
	sp.failures = 0
	delete(sp.left, "*")
	var out []*runner.Node
	for _, sn := range listed {
		name := sn.Facts.Name
		known := sp.known[sn.ID]
		why := ""
		switch {
		case sn.State != "ready":
			why = "Swarm says it is " + sn.State
		case sn.Availability != "active":
			why = "its availability is " + sn.Availability
		}
		if sn.State == "ready" {
			delete(sp.notReady, sn.ID)
		}
		if why != "" {
			if known != nil && sn.State != "ready" {
				// One listing is not enough: a new leader lists every
				// node as unknown until it reports again.
				if sp.notReady[sn.ID]++; sp.notReady[sn.ID] >= healthFailures && known.Down == "" {
					known.Down = why
				}
				out = append(out, known) // lost once Down: its trials are moved or recorded
				continue
			}
			if sp.left[sn.ID] != why {
				d.warnf("swarm node %s of pool %s left out: %s", name, sp.name, why)
				sp.left[sn.ID] = why
			}
			continue // drained or paused: removed from the pool for now
		}
		delete(sp.left, sn.ID)
		if known != nil {
			known.Down = ""
			out = append(out, known)
			continue
		}
		if shim := filepath.Join(d.shimDir, docker.ShimName(sn.Facts.Arch)); !fileExists(shim) {
			why := fmt.Sprintf("no timing shim for %s at %s: build it with make build (bin/), or set BENCHRIG_SHIM_DIR", sn.Facts.Arch, shim)
			if sp.left[sn.ID] != why {
				d.warnf("swarm node %s of pool %s left out: %s", name, sp.name, why)
				sp.left[sn.ID] = why
			}
			continue
		}
		exec := sp.sw.Executor(sn)
		n := &runner.Node{
			Name: name, Pool: sp.name, Facts: sn.Facts, Labels: sn.Labels, MaxTrials: sp.entry.MaxTrials,
			Executor: exec, Policy: sp.policy,
			// The node's own swarm labels make its class, as a pools
			// file's labels do: engine labels name each node.
			ClassLabels: classLabels(maps.Clone(sn.NodeLabels)),
		}
		sp.known[sn.ID] = n
		out = append(out, n)
	}
	sp.last = out
	return out
}

// ProbeSwarm lists the nodes of a Swarm pool as its manager describes
// them, for benchrig pool check and the server's pools view: a node is
// Healthy when Swarm says it is ready; its Availability says whether it
// takes trials. ctx bounds the contact.
func ProbeSwarm(ctx context.Context, p *pools.Pool, poolsPath string) ([]benchrig.NodeStatus, error) {
	sw, err := NewSwarm(p, poolsPath, "")
	if err != nil {
		return nil, err
	}
	defer sw.Close()
	listed, err := sw.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]benchrig.NodeStatus, 0, len(listed))
	for _, sn := range listed {
		f := sn.Facts
		st := benchrig.NodeStatus{Name: f.Name, Host: f.Host, Checked: now, Healthy: sn.State == "ready", Facts: &f, Availability: sn.Availability}
		if !st.Healthy {
			st.Error = "Swarm says the node is " + sn.State
		}
		out = append(out, st)
	}
	return out, nil
}
