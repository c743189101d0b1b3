package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
)

// journal writes what happens in a run to the Recorder as it happens, in
// order, from one goroutine: the event log (in batches), case notes, node
// events and the heartbeat. The scheduler only queues (under its lock, a
// slice append); it never waits for the store. Trials are not written
// here: a worker records its own trial before it takes the next, so that
// no store write overlaps the next trial's measurement on a one-slot node.
type journal struct {
	rec   Recorder
	runID string
	now   func() time.Time
	every time.Duration // heartbeat interval

	mu   sync.Mutex
	ops  []journalOp
	err  error // the first write that failed for good
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

// journalOp is one queued write: events, a note or node events.
type journalOp struct {
	events []benchrig.Event
	note   *[2]string // case ID, text
	stop   *caseStop
	nodes  *nodeSnapshot
}

type caseStop struct {
	caseID string
	stop   benchrig.Stop
}

type nodeSnapshot struct {
	facts  []benchrig.NodeFacts
	events []benchrig.NodeEvent
}

// journalFlushEvery is how often queued writes go to the store. Batching
// keeps the store's fsyncs few (one per batch, not three per trial), so
// they rarely overlap a timed command; the cost is that a crash may lose
// the events of the last half second, never a trial (trials are written
// by their workers) nor a note for long (notes are rewritten whole).
const journalFlushEvery = 500 * time.Millisecond

// journalWakeOps is how many queued writes make the journal flush before
// its next tick, so a burst (a thousand trials planned at start) is not
// held in memory.
const journalWakeOps = 512

// journalRetries is how many times a failed write is tried again (each at
// the next wake or heartbeat) before the run is told it failed: SQLite
// fails for a moment when another process holds a long write lock, and
// for good when the disk is full.
const journalRetries = 5

func startJournal(rec Recorder, runID string, now func() time.Time, every time.Duration) *journal {
	j := &journal{rec: rec, runID: runID, now: now, every: every,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go j.loop()
	return j
}

func (j *journal) push(op journalOp) {
	j.mu.Lock()
	j.ops = append(j.ops, op)
	n := len(j.ops)
	j.mu.Unlock()
	if n >= journalWakeOps {
		select {
		case j.wake <- struct{}{}:
		default:
		}
	}
}

func (j *journal) addEvents(es []benchrig.Event) { j.push(journalOp{events: es}) }

func (j *journal) setNote(caseID, text string) { j.push(journalOp{note: &[2]string{caseID, text}}) }

func (j *journal) setStop(caseID string, s benchrig.Stop) {
	j.push(journalOp{stop: &caseStop{caseID, s}})
}

func (j *journal) setNodes(facts []benchrig.NodeFacts, events []benchrig.NodeEvent) {
	j.push(journalOp{nodes: &nodeSnapshot{facts: append([]benchrig.NodeFacts(nil), facts...), events: append([]benchrig.NodeEvent(nil), events...)}})
}

func (j *journal) loop() {
	defer close(j.done)
	t := time.NewTicker(j.every)
	defer t.Stop()
	flush := time.NewTicker(journalFlushEvery)
	defer flush.Stop()
	failures := 0
	for {
		stopping := false
		select {
		case <-j.wake:
		case <-flush.C:
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), j.every*5)
			if err := j.rec.Heartbeat(ctx, j.runID, j.now()); err != nil {
				j.fail(fmt.Errorf("heartbeat of run %s: %w", j.runID, err))
			}
			cancel()
		case <-j.stop:
			stopping = true
		}
		if err := j.flush(); err != nil {
			failures++
			if failures > journalRetries || stopping {
				j.fail(err)
				j.mu.Lock()
				j.ops = nil // given up: the error reaches the run
				j.mu.Unlock()
			}
		} else {
			failures = 0
		}
		if stopping {
			return
		}
	}
}

func (j *journal) fail(err error) {
	j.mu.Lock()
	if j.err == nil {
		j.err = err
	}
	j.mu.Unlock()
}

// flush writes the queued ops in order; on error the unwritten ones stay
// queued, in front of newer ones.
func (j *journal) flush() error {
	j.mu.Lock()
	ops := j.ops
	j.ops = nil
	j.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < len(ops); i++ {
		var err error
		switch op := ops[i]; {
		case op.events != nil:
			// Consecutive event batches go in one write.
			batch := op.events
			k := i + 1
			for ; k < len(ops) && ops[k].events != nil; k++ {
				batch = append(batch, ops[k].events...)
			}
			if err = j.rec.AddEvents(ctx, batch); err == nil {
				i = k - 1
			} else {
				err = fmt.Errorf("record events of run %s: %w", j.runID, err)
			}
		case op.note != nil:
			if err = j.rec.SetNote(ctx, j.runID, op.note[0], op.note[1]); err != nil {
				err = fmt.Errorf("record note of case %s: %w", op.note[0], err)
			}
		case op.stop != nil:
			if err = j.rec.SetStop(ctx, j.runID, op.stop.caseID, op.stop.stop); err != nil {
				err = fmt.Errorf("record stop of case %s: %w", op.stop.caseID, err)
			}
		case op.nodes != nil:
			if err = j.rec.RecordNodeEvents(ctx, j.runID, op.nodes.facts, op.nodes.events); err != nil {
				err = fmt.Errorf("record node events of run %s: %w", j.runID, err)
			}
		}
		if err != nil {
			j.mu.Lock()
			j.ops = append(ops[i:len(ops):len(ops)], j.ops...)
			j.mu.Unlock()
			return err
		}
	}
	return nil
}

// close writes what is queued and stops the heartbeat. It returns the
// first write that failed for good, if any.
func (j *journal) close() error {
	close(j.stop)
	<-j.done
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}
