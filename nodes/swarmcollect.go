package nodes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/collect"
	"github.com/benchrig/benchrig/pools"
	"github.com/benchrig/benchrig/runner/docker"
)

// A run's collectors on a Swarm pool are one global service, `benchrig
// collector` on every node of the cluster for the run's duration (a node
// that joins meanwhile gets one too). Its output comes back through the
// manager, as the service's logs, each line tagged with its node's ID: the
// run reads it as it reads a collector child's stream, one stream per
// node. When the run ends the service is told to stop (each collector
// takes its last samples and writes its cost), its logs are read to the
// end, and it is removed.

// SwarmCollectorConfig is one node's collector of a run on a Swarm pool.
type SwarmCollectorConfig struct {
	PoolsFile string
	Node      benchrig.NodeFacts // Swarm, SwarmNodeID and Pool set
	RunID     string
	Interval  time.Duration
	Since     time.Time
}

// stopWait bounds the whole stop: the service told to stop, every node's
// cost line awaited, the tasks asked why a node gave none. The run waits
// 30 s for its node collectors (app's stopNodes); a collector takes well
// under a second to write its cost once told.
const stopWait = 20 * time.Second

// pendingMax bounds the lines kept for a node whose collector the run
// has not started yet (one that joined the pool mid-run).
const pendingMax = 10000

// SwarmCollector is one node's share of the run's collector service. It
// has the methods of app.NodeCollector.
type SwarmCollector struct {
	shared *sharedCollector
	node   benchrig.NodeFacts

	mu       sync.Mutex
	cost     benchrig.CollectorCost
	haveCost bool
	dropped  int64
	warnings []string
	gotCost  chan struct{} // closed with the cost line
	pr       *io.PipeReader
	pw       *io.PipeWriter
	wmu      sync.Mutex // one writer of pw at a time, in order
}

// sharedCollector is a run's collector service on one cluster.
type sharedCollector struct {
	key  string
	pool *pools.Pool
	spec docker.CollectorSpec
	path string

	mu      sync.Mutex
	sw      *docker.Swarm
	svc     string
	err     error
	nodes   map[string]*SwarmCollector // by swarm node ID
	pending map[string][][]byte        // lines of nodes not joined yet, by swarm node ID
	running int
	closed  bool // the stop has begun: nobody joins any more
	stopped bool // the follower was stopped on purpose
	follow  context.CancelFunc
	done    chan struct{} // closed when the follower returned
}

var swarmCollectors = struct {
	sync.Mutex
	m map[string]*sharedCollector
}{m: map[string]*sharedCollector{}}

// NewSwarmCollector returns node's collector for the run. It returns an
// error when the node's pool has no collector image.
func NewSwarmCollector(cfg SwarmCollectorConfig) (*SwarmCollector, error) {
	f, err := pools.Load(cfg.PoolsFile)
	if err != nil {
		return nil, err
	}
	p, err := f.Pool(cfg.Node.Pool)
	if err != nil {
		return nil, err
	}
	if p.Swarm == nil {
		return nil, fmt.Errorf("pool %s is no longer a Swarm pool", p.Name)
	}
	if p.Swarm.CollectorImage == "" {
		return nil, fmt.Errorf("pool %s names no collector image (swarm: {collector: {image: ...}}): no samples from its nodes", p.Name)
	}
	key := cfg.PoolsFile + "\x00" + p.Name + "\x00" + cfg.RunID
	swarmCollectors.Lock()
	defer swarmCollectors.Unlock()
	sh := swarmCollectors.m[key]
	if sh == nil {
		sh = &sharedCollector{key: key, pool: p, path: cfg.PoolsFile, nodes: map[string]*SwarmCollector{},
			spec: docker.CollectorSpec{Image: p.Swarm.CollectorImage, DockerSocket: p.Swarm.DockerSocket, RunID: cfg.RunID, Interval: cfg.Interval, Since: cfg.Since}}
		swarmCollectors.m[key] = sh
	}
	pr, pw := io.Pipe()
	return &SwarmCollector{shared: sh, node: cfg.Node, gotCost: make(chan struct{}), pr: pr, pw: pw}, nil
}

// Run collects the node's samples until ctx ends, then stops (the last
// node of the run to stop stops the service) and returns.
func (c *SwarmCollector) Run(ctx context.Context, sink collect.Sink, onEvent func(collect.ContainerEvent)) error {
	if err := c.shared.join(ctx, c); err != nil {
		return fmt.Errorf("collector of node %s: %w", c.node.Name, err)
	}
	read := make(chan error, 1)
	go func() {
		dropped, decErr, flushErr := collect.ReadStream(c.pr, nodeSink{sink, c.node.Name, c.node.Arch}, onEvent, func(cost benchrig.CollectorCost) {
			c.mu.Lock()
			if !c.haveCost {
				c.cost, c.haveCost = cost, true
				close(c.gotCost)
			}
			c.mu.Unlock()
		}, nil)
		c.mu.Lock()
		c.dropped = dropped
		c.mu.Unlock()
		read <- errors.Join(decErr, flushErr)
	}()
	c.shared.attach(c)
	<-ctx.Done()
	c.shared.leave()
	err := <-read
	if err != nil {
		return fmt.Errorf("collector of node %s: %w", c.node.Name, err)
	}
	return nil
}

// Cost is the node's collector's own figure, as it wrote it when it
// stopped; ok is false when it never did.
func (c *SwarmCollector) Cost() (benchrig.CollectorCost, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cost := c.cost
	cost.Node = c.node.Name // the collector knows its host name only
	cost.Dropped += c.dropped
	return cost, c.haveCost
}

// Warnings are what the node's collector said on its standard error, and
// why its task failed.
func (c *SwarmCollector) Warnings() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.warnings...)
}

func (c *SwarmCollector) warn(w string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.warnings = append(c.warnings, "node "+c.node.Name+": "+w)
}

// join registers node collector c and starts the service and its log
// follower with the first one.
func (sh *sharedCollector) join(ctx context.Context, c *SwarmCollector) (err error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	defer func() {
		if err != nil && sh.running == 0 {
			sh.forget() // a later run of the same ID starts afresh
		}
	}()
	if sh.closed {
		return errors.New("the run's collector service has stopped already")
	}
	if sh.err != nil {
		return sh.err
	}
	if sh.sw == nil {
		sw, err := NewSwarm(sh.pool, sh.path, "")
		if err != nil {
			sh.err = err
			return err
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FactsTimeout)
		id, err := sw.StartCollector(sctx, sh.spec)
		cancel()
		if err != nil {
			sw.Close()
			sh.err = err
			return err
		}
		fctx, stop := context.WithCancel(context.Background())
		logs, err := sw.CollectorLogs(fctx, id)
		if err != nil {
			stop()
			sw.RemoveService(id)
			sw.Close()
			sh.err = err
			return err
		}
		sh.sw, sh.svc, sh.follow = sw, id, stop
		sh.done = make(chan struct{})
		go sh.route(logs)
	}
	sh.running++
	return nil
}

// forget takes the shared collector out of the registry.
func (sh *sharedCollector) forget() {
	swarmCollectors.Lock()
	if swarmCollectors.m[sh.key] == sh {
		delete(swarmCollectors.m, sh.key)
	}
	swarmCollectors.Unlock()
}

// attach routes the node's lines to node collector c from now on, after
// the lines its node wrote before (its collector started with the
// service), in order. c's reader runs.
func (sh *sharedCollector) attach(c *SwarmCollector) {
	c.wmu.Lock() // before c is visible: route's writes to c wait for the backlog
	defer c.wmu.Unlock()
	sh.mu.Lock()
	lines := sh.pending[c.node.SwarmNodeID]
	delete(sh.pending, c.node.SwarmNodeID)
	sh.nodes[c.node.SwarmNodeID] = c
	sh.mu.Unlock()
	for _, l := range lines {
		_, _ = c.pw.Write(l)
	}
}

// route demultiplexes the service's logs to the nodes' streams.
func (sh *sharedCollector) route(logs io.ReadCloser) {
	defer close(sh.done)
	defer logs.Close()
	out := &lineSplitter{line: func(l []byte) { sh.line(l, false) }}
	errw := &lineSplitter{line: func(l []byte) { sh.line(l, true) }}
	_, err := stdcopy.StdCopy(out, errw, logs)
	sh.mu.Lock()
	early := !sh.stopped
	nodes := make([]*SwarmCollector, 0, len(sh.nodes))
	for _, c := range sh.nodes {
		nodes = append(nodes, c)
	}
	sh.mu.Unlock()
	if early {
		for _, c := range nodes {
			c.warn(fmt.Sprintf("the collector service's log stream through the manager ended before the run (%v): later samples of the node are lost", err))
		}
	}
}

// line hands one line of the logs ("details message") to its node.
func (sh *sharedCollector) line(l []byte, stderr bool) {
	details, msg, ok := bytes.Cut(l, []byte(" "))
	if !ok {
		return
	}
	var nodeID string
	for _, kv := range strings.Split(string(details), ",") {
		if v, ok := strings.CutPrefix(kv, "com.docker.swarm.node.id="); ok {
			nodeID = v
		}
	}
	sh.mu.Lock()
	c := sh.nodes[nodeID]
	if c == nil {
		// A node the run does not use, or not yet: kept a while.
		if !stderr && nodeID != "" && len(sh.pending[nodeID]) < pendingMax {
			if sh.pending == nil {
				sh.pending = map[string][][]byte{}
			}
			sh.pending[nodeID] = append(sh.pending[nodeID], append(msg, '\n'))
		}
		sh.mu.Unlock()
		return
	}
	sh.mu.Unlock()
	if stderr {
		if w := strings.TrimSpace(strings.TrimPrefix(string(msg), "benchrig collector: ")); w != "" {
			c.warn(w)
		}
		return
	}
	// The reader is gone only once the stream is closed: a write never
	// blocks forever.
	c.wmu.Lock()
	_, _ = c.pw.Write(append(msg, '\n'))
	c.wmu.Unlock()
}

// leave is called by each node collector when the run ends; the last one
// stops the service, waits for every node's cost (or stopWait), closes the
// nodes' streams and removes the service.
func (sh *sharedCollector) leave() {
	sh.mu.Lock()
	sh.running--
	last := sh.running == 0 && !sh.closed
	if last {
		sh.closed = true
	}
	sh.mu.Unlock()
	if !last {
		return
	}
	defer sh.forget()
	ctx, cancel := context.WithTimeout(context.Background(), stopWait)
	defer cancel()
	sh.mu.Lock()
	nodes := make([]*SwarmCollector, 0, len(sh.nodes))
	for _, c := range sh.nodes {
		nodes = append(nodes, c)
	}
	sh.mu.Unlock()
	if err := sh.sw.StopCollector(ctx, sh.svc); err != nil {
		for _, c := range nodes {
			c.warn(fmt.Sprintf("could not stop its collector: %v", err))
		}
	}
	for _, c := range nodes {
		select {
		case <-c.gotCost:
		case <-ctx.Done():
		}
	}
	// Why a node's collector gave nothing: its task's state.
	tctx, tcancel := context.WithTimeout(context.Background(), 5*time.Second)
	tasks, _ := sh.sw.CollectorTasks(tctx, sh.svc)
	tcancel()
	for _, c := range nodes {
		select {
		case <-c.gotCost:
			continue
		default:
		}
		for _, t := range tasks {
			if t.NodeID == c.node.SwarmNodeID && t.Err != "" {
				c.warn(fmt.Sprintf("its collector task ended %s: %s", t.State, t.Err))
				break
			}
		}
	}
	sh.mu.Lock()
	sh.stopped = true
	sh.mu.Unlock()
	sh.follow()
	<-sh.done
	for _, c := range nodes {
		c.pw.Close()
	}
	sh.sw.RemoveService(sh.svc)
	sh.sw.Close()
}

// lineSplitter calls line with each complete line written to it.
type lineSplitter struct {
	buf  []byte
	line func([]byte)
}

func (w *lineSplitter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.line(bytes.Clone(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

// nodeSink puts the node's name and architecture (declared, for an
// emulated node) on its samples: one collector image serves every node,
// it knows only the engine's architecture, and its name for the node is
// the host name, which benchrig's differs from when two nodes share one.
type nodeSink struct {
	collect.Sink
	node, arch string
}

func (s nodeSink) WriteSamples(ctx context.Context, samples []benchrig.Sample) error {
	for i := range samples {
		samples[i].Node = s.node
		if s.arch != "" {
			samples[i].Arch = s.arch
		}
	}
	return s.Sink.WriteSamples(ctx, samples)
}
