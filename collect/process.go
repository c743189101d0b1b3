package collect

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
)

// Process is a node's collector run as a child process (`benchrig
// collector --mode process`, started by the run that uses the node): it
// starts the command, hands the samples of its stream to a sink in
// batches, its container events to a function, and keeps its final cost
// and its warnings.
type Process struct {
	// Node names the node in warnings and in the cost when the child
	// reported none.
	Node string
	// Path and Args are the command; Env its environment (nil: the
	// parent's).
	Path string
	Args []string
	Env  []string

	mu       sync.Mutex
	cost     benchrig.CollectorCost
	haveCost bool
	dropped  int64 // samples the run's sink refused, beside the child's own
	warnings []string
}

// Batching of the child's samples on their way to the sink: one write per
// processBatch samples or processFlush, whichever comes first. The store
// writes a batch in one transaction (about 1.6 ms for 100), so batches of
// hundreds keep a node at 10 Hz over dozens of containers far below one
// write per sample.
const (
	processBatch = 512
	processFlush = time.Second
)

// Run starts the child and reads its stream until ctx ends; it then closes
// the child's standard input, which makes it take its final samples and
// write its cost, reads the rest, and waits for it. Samples go to sink,
// container events to onEvent (nil: none), from Run's goroutines. It
// returns an error when the child could not start or its stream was
// broken; the child's warnings are kept for Warnings.
func (p *Process) Run(ctx context.Context, sink Sink, onEvent func(ContainerEvent)) error {
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = p.Env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start collector for node %s: %w", p.Node, err)
	}
	go func() {
		<-ctx.Done()
		stdin.Close()
	}()

	var errWG sync.WaitGroup
	errWG.Add(1)
	go func() {
		defer errWG.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "benchrig collector: "))
			if line != "" {
				p.warn(line)
			}
		}
	}()

	dropped, decErr, flushErr := ReadStream(stdout, sink, onEvent, func(c benchrig.CollectorCost) {
		p.mu.Lock()
		p.cost, p.haveCost = c, true
		p.mu.Unlock()
	}, func() {
		// Stop a child whose stream we can no longer read, rather than
		// let it block on a full pipe.
		_ = cmd.Process.Kill()
	})
	p.mu.Lock()
	p.dropped = dropped
	p.mu.Unlock()
	errWG.Wait()
	waitErr := cmd.Wait()
	switch {
	case decErr != nil:
		return fmt.Errorf("collector of node %s: %w", p.Node, decErr)
	case waitErr != nil:
		return fmt.Errorf("collector of node %s: %w", p.Node, waitErr)
	case ctx.Err() == nil:
		return fmt.Errorf("collector of node %s stopped before the run ended", p.Node)
	}
	return flushErr
}

// ReadStream reads a node collector's stream from r (JSON lines, as
// `benchrig collector` writes them) until it ends: samples go to sink in
// batches (processBatch, processFlush), container events to onEvent (nil:
// none), the final cost to onCost. On a line it cannot decode it calls
// stop, drains r and returns the decoding error. dropped counts the
// samples sink refused; flushErr is the sink's last error.
func ReadStream(r io.Reader, sink Sink, onEvent func(ContainerEvent), onCost func(benchrig.CollectorCost), stop func()) (dropped int64, decErr, flushErr error) {
	b := newBatcher(sink)
	decErr = DecodeStream(r, b.add, onEvent, onCost)
	if decErr != nil {
		if stop != nil {
			stop()
		}
		_, _ = io.Copy(io.Discard, r)
	}
	dropped, flushErr = b.close()
	return dropped, decErr, flushErr
}

func (p *Process) warn(w string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.warnings = append(p.warnings, "node "+p.Node+": "+w)
}

// Cost is the child's own figure of its cost, as it reported it when it
// stopped, with the samples the run's sink refused added to Dropped; ok
// is false when it never did (it died).
func (p *Process) Cost() (c benchrig.CollectorCost, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c = p.cost
	if c.Node == "" {
		c.Node = p.Node
	}
	c.Dropped += p.dropped
	return c, p.haveCost
}

// Warnings are what the child said on its standard error.
func (p *Process) Warnings() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.warnings...)
}

// batcher gathers samples for a sink: a write per processBatch samples,
// or per processFlush for a trickle. Writes happen on the goroutine that
// adds, or on the timer's.
type batcher struct {
	sink Sink

	mu      sync.Mutex
	buf     []benchrig.Sample
	timer   *time.Timer
	err     error
	closed  bool
	dropped int64 // samples the sink refused
}

func newBatcher(sink Sink) *batcher {
	b := &batcher{sink: sink}
	b.mu.Lock() // the timer's first tick reads b.timer
	b.timer = time.AfterFunc(processFlush, b.tick)
	b.mu.Unlock()
	return b
}

func (b *batcher) add(s benchrig.Sample) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, s)
	if len(b.buf) >= processBatch {
		b.flushLocked()
	}
}

func (b *batcher) tick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.flushLocked()
	b.timer.Reset(processFlush)
}

// flushLocked writes what waits. The sink is the run's (the store, or the
// shipper that spools): its write is what this lock serialises.
func (b *batcher) flushLocked() {
	if len(b.buf) == 0 || b.sink == nil {
		b.buf = b.buf[:0]
		return
	}
	if err := b.sink.WriteSamples(context.Background(), b.buf); err != nil {
		b.dropped += int64(len(b.buf))
		if b.err == nil {
			b.err = err
		}
	}
	b.buf = nil
}

// close flushes what waits and returns how many samples the sink refused
// in all, and the first reason.
func (b *batcher) close() (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.timer.Stop()
	b.flushLocked()
	if b.dropped > 0 {
		return b.dropped, fmt.Errorf("%d sample(s) not stored: %w", b.dropped, b.err)
	}
	return 0, nil
}
