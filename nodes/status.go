package nodes

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/pools"
)

// Probe contacts one pools-file node and returns its facts, with the
// pools file's labels over the engine's: what benchrig pool check prints
// and the server's pools view shows. ctx bounds the contact; the caller
// adds FactsTimeout.
func Probe(ctx context.Context, n pools.Node, pool *pools.Pool, poolsPath string) (benchrig.NodeFacts, error) {
	exec, err := NewDockerExecutor(n, pool.Name, pool.Policy, poolsPath, "")
	if err != nil {
		return benchrig.NodeFacts{}, err
	}
	defer exec.Close()
	facts, err := exec.Facts(ctx)
	if err != nil {
		return benchrig.NodeFacts{}, err
	}
	facts.Pool = pool.Name
	declareGPUs(&facts, n)
	if len(n.Labels) > 0 && facts.Labels == nil {
		facts.Labels = map[string]string{}
	}
	for k, v := range n.Labels {
		facts.Labels[k] = v
	}
	return facts, nil
}

// declareGPUs puts the GPUs the pools file declares for node e (gpus: N)
// over what its engine reported, which often is nothing: an engine
// reports GPUs only as CDI devices.
func declareGPUs(f *benchrig.NodeFacts, e pools.Node) {
	if e.GPUs <= 0 {
		return
	}
	a := &benchrig.Accelerators{Source: benchrig.AccelPools, GPUs: make([]benchrig.GPU, e.GPUs)}
	for i := range a.GPUs {
		a.GPUs[i].Index = i
	}
	if r := f.Accelerators; r.Count() == e.GPUs {
		a.GPUs = r.GPUs // the engine's own (names, when it gave them) agree
	}
	f.Accelerators = a
}

// Policies loads the policies of the named pools of a pools file, for the
// check of a submitted spec before any node is contacted
// (runner.CheckPolicy). An unknown pool is EInvalid.
func Policies(poolsFile string, names []string) (map[string]benchrig.PoolPolicy, error) {
	f, err := pools.Load(poolsFile)
	if err != nil {
		return nil, err
	}
	out := make(map[string]benchrig.PoolPolicy, len(names))
	for _, name := range names {
		p, err := f.Pool(name)
		if err != nil {
			return nil, &benchrig.Error{Code: benchrig.EInvalid, File: poolsFile, Field: "pools", Msg: err.Error()}
		}
		out[name] = p.Policy
	}
	return out, nil
}

// Status is the server's view of the pools (web.Pools): every pool of a
// pools file with its policy, its nodes' facts and health as last
// checked, and what the queue runs on it. The file is read on every call,
// so an edit shows at once; nodes are contacted when first seen and on a
// refresh, never more often than MinRefresh, each within FactsTimeout, all
// at once. Safe for concurrent use.
type Status struct {
	path string
	// Load says what the queue has on each pool (its Stats); nil leaves
	// Limit, Running and Queued zero.
	load func() benchrig.QueueStats
	// MinRefresh is how old a node's check must be before a refresh
	// contacts it again, so that many viewers asking to refresh do not
	// make many contacts. 2 s unless set before the first call.
	MinRefresh time.Duration
	now        func() time.Time

	mu    sync.Mutex // guards cache (never held while contacting a node)
	cache map[nodeKey]benchrig.NodeStatus
	// swarms caches each Swarm pool's node list, by pool and manager.
	swarms map[nodeKey]swarmStatus
}

// swarmStatus is a Swarm pool's nodes as last listed, or why not.
type swarmStatus struct {
	checked time.Time
	nodes   []benchrig.NodeStatus
	err     string
}

// nodeKey is a node as the pools file has it: an edit of its host is a
// new node, checked afresh.
type nodeKey struct{ pool, name, host string }

// NewStatus serves the pools of the pools file at path, with the queue's
// load from stats (nil: none).
func NewStatus(path string, stats func() benchrig.QueueStats) *Status {
	return &Status{path: path, load: stats, MinRefresh: 2 * time.Second, now: time.Now, cache: map[nodeKey]benchrig.NodeStatus{}}
}

// Pools lists every pool, in name order, with its nodes in file order.
// refresh contacts each node checked more than MinRefresh ago; nodes never
// checked are contacted either way. An unreachable node is Healthy false
// with the reason; a pools file that does not load is the error.
func (s *Status) Pools(ctx context.Context, refresh bool) ([]benchrig.PoolStatus, error) {
	f, err := pools.Load(s.path)
	if err != nil {
		return nil, err
	}
	now := s.now()
	type probe struct {
		key  nodeKey
		node pools.Node
		pool *pools.Pool
	}
	var probes []probe
	var swarmProbes []probe
	s.mu.Lock()
	for _, name := range f.Names() {
		p := f.Pools[name]
		if p.Swarm != nil {
			k := nodeKey{p.Name, "", p.Swarm.Manager}
			st, ok := s.swarms[k]
			if !ok || (refresh && now.Sub(st.checked) >= s.MinRefresh) {
				swarmProbes = append(swarmProbes, probe{key: k, pool: p})
			}
		}
		for _, n := range p.Nodes {
			k := nodeKey{p.Name, n.Name, n.Host}
			st, ok := s.cache[k]
			if !ok || (refresh && now.Sub(st.Checked) >= s.MinRefresh) {
				probes = append(probes, probe{k, n, p})
			}
		}
	}
	s.mu.Unlock()

	results := make([]benchrig.NodeStatus, len(probes))
	var wg sync.WaitGroup
	for i, pr := range probes {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, FactsTimeout)
			defer cancel()
			facts, err := Probe(pctx, pr.node, pr.pool, s.path)
			st := benchrig.NodeStatus{Name: pr.node.Name, Host: pr.node.Host, Checked: s.now(), Healthy: err == nil}
			if err != nil {
				st.Error = err.Error()
			} else {
				st.Facts = &facts
			}
			results[i] = st
		})
	}
	swarmResults := make([]swarmStatus, len(swarmProbes))
	for i, pr := range swarmProbes {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, FactsTimeout)
			defer cancel()
			list, err := ProbeSwarm(pctx, pr.pool, s.path)
			swarmResults[i] = swarmStatus{checked: s.now(), nodes: list}
			if err != nil {
				swarmResults[i].err = err.Error()
			}
		})
	}
	wg.Wait()

	var load benchrig.QueueStats
	if s.load != nil {
		load = s.load()
	}
	out := make([]benchrig.PoolStatus, 0, len(f.Pools))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, pr := range probes {
		if ctx.Err() != nil && !results[i].Healthy {
			continue // cut short by the caller, not the node's fault: keep what was known
		}
		s.cache[pr.key] = results[i]
	}
	if s.swarms == nil {
		s.swarms = map[nodeKey]swarmStatus{}
	}
	for i, pr := range swarmProbes {
		if ctx.Err() != nil && swarmResults[i].err != "" {
			continue
		}
		s.swarms[pr.key] = swarmResults[i]
	}
	live := map[nodeKey]bool{}
	for _, name := range f.Names() {
		p := f.Pools[name]
		ps := benchrig.PoolStatus{Name: p.Name, Policy: p.Policy, Limit: load.Limits[p.Name],
			Running: slices.Clone(load.RunningRuns[p.Name]), Queued: load.QueuedByPool[p.Name], Nodes: []benchrig.NodeStatus{}}
		if p.Swarm != nil {
			ps.Swarm = p.Swarm.Manager
			k := nodeKey{p.Name, "", p.Swarm.Manager}
			live[k] = true
			st, ok := s.swarms[k]
			switch {
			case !ok:
				ps.Nodes = append(ps.Nodes, benchrig.NodeStatus{Name: "(swarm)", Host: p.Swarm.Manager, Error: "not checked yet"})
			case st.err != "":
				ps.Nodes = append(ps.Nodes, benchrig.NodeStatus{Name: "(swarm)", Host: p.Swarm.Manager, Checked: st.checked, Error: st.err})
			default:
				ps.Nodes = append(ps.Nodes, st.nodes...)
			}
		}
		for _, n := range p.Nodes {
			k := nodeKey{p.Name, n.Name, n.Host}
			live[k] = true
			st, ok := s.cache[k]
			if !ok {
				st = benchrig.NodeStatus{Name: n.Name, Host: n.Host, Error: "not checked yet"}
				if ctx.Err() != nil {
					st.Error += ": " + ctx.Err().Error()
				}
			}
			ps.Nodes = append(ps.Nodes, st)
		}
		out = append(out, ps)
	}
	for k := range s.cache {
		if !live[k] {
			delete(s.cache, k) // removed from the file
		}
	}
	for k := range s.swarms {
		if !live[k] {
			delete(s.swarms, k)
		}
	}
	return out, nil
}
