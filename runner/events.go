package runner

import (
	"sync"
	"sync/atomic"

	"github.com/benchrig/benchrig"
)

// Subscriber receives a run's events in order, from a goroutine of its
// own: Handle may be slow, but never delays a trial. Events that arrive
// while its buffer is full are dropped and counted; the run reports the
// count as a warning when it ends.
type Subscriber struct {
	Name   string // names it in the dropped-events warning
	Buffer int    // events held while Handle is busy; default 4096
	Handle func(benchrig.Event)
}

// DefaultSubscriberBuffer holds several minutes of a busy run's events
// (a few per trial) while a subscriber catches up, at ~200 bytes each.
const DefaultSubscriberBuffer = 4096

// bus fans events out to subscribers. publish never blocks: it appends to
// a queue that one dispatcher goroutine drains, handing each event to every
// subscriber's buffered channel without waiting. The journal (the store's
// event log) is fed from the same dispatcher through an unbounded queue of
// its own, since the durable log must never drop an event.
type bus struct {
	mu     sync.Mutex
	queue  []benchrig.Event
	closed bool
	wake   chan struct{}
	done   chan struct{}
	subs   []*subscription
	sink   func([]benchrig.Event) // the journal, fed in batches; nil for none
}

type subscription struct {
	Subscriber
	ch      chan benchrig.Event
	dropped atomic.Int64
	done    chan struct{}
}

func newBus(subs []Subscriber, sink func([]benchrig.Event)) *bus {
	b := &bus{wake: make(chan struct{}, 1), done: make(chan struct{}), sink: sink}
	for _, s := range subs {
		if s.Buffer <= 0 {
			s.Buffer = DefaultSubscriberBuffer
		}
		sub := &subscription{Subscriber: s, ch: make(chan benchrig.Event, s.Buffer), done: make(chan struct{})}
		b.subs = append(b.subs, sub)
		go func() {
			defer close(sub.done)
			for e := range sub.ch {
				if sub.Handle != nil {
					sub.Handle(e)
				}
			}
		}()
	}
	go b.dispatch()
	return b
}

// publish queues e for every subscriber. It never blocks on them.
func (b *bus) publish(e benchrig.Event) {
	b.mu.Lock()
	if !b.closed {
		b.queue = append(b.queue, e)
	}
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *bus) dispatch() {
	defer close(b.done)
	for {
		<-b.wake
		b.mu.Lock()
		batch, closed := b.queue, b.closed
		b.queue = nil
		b.mu.Unlock()
		if len(batch) > 0 && b.sink != nil {
			b.sink(batch)
		}
		for _, e := range batch {
			for _, s := range b.subs {
				select {
				case s.ch <- e:
				default:
					s.dropped.Add(1)
				}
			}
		}
		if closed {
			for _, s := range b.subs {
				close(s.ch)
			}
			return
		}
	}
}

// close delivers what is queued, then ends every subscriber's channel. It
// returns once the dispatcher is done; wait waits for the subscribers.
func (b *bus) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	<-b.done
}

// dropped returns, per subscriber name, how many events it lost.
func (b *bus) dropped() map[string]int64 {
	out := map[string]int64{}
	for _, s := range b.subs {
		if n := s.dropped.Load(); n > 0 {
			out[s.Name] += n
		}
	}
	return out
}

// waitSubscribers waits until every subscriber handled what it was given,
// or until stop is closed (a stuck subscriber must not hold the run).
func (b *bus) waitSubscribers(stop <-chan struct{}) bool {
	for _, s := range b.subs {
		select {
		case <-s.done:
		case <-stop:
			return false
		}
	}
	return true
}
