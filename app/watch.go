package app

import (
	"context"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
)

// feedKeep is how many of a run's latest events its feed holds for
// watchers: minutes of a busy run, far more than the store's event log
// lags behind (the journal writes every half second), so a watcher that
// falls further behind reads the rest from the store, by Seq. ~200 bytes
// each.
const feedKeep = 4096

// watchBuffer is each watcher's channel: a burst of events waits there
// while the watcher's reader (an HTTP stream) writes.
const watchBuffer = 256

// storeLagWait is how long a watcher waits before reading the store again
// when the events it misses are not recorded yet.
const storeLagWait = 100 * time.Millisecond

// feed is one queued or running run's live events, for any number of
// watchers: the run's subscriber appends (never blocking the run), and
// every watcher reads at its own pace from its own goroutine, woken by
// the close of changed.
type feed struct {
	mu      sync.Mutex
	events  []benchrig.Event // the latest, by Seq
	changed chan struct{}
	closed  bool
}

func newFeed() *feed { return &feed{changed: make(chan struct{})} }

func (f *feed) add(e benchrig.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if len(f.events) >= feedKeep {
		n := copy(f.events, f.events[len(f.events)-feedKeep/2:])
		clear(f.events[n:])
		f.events = f.events[:n]
	}
	f.events = append(f.events, e)
	close(f.changed)
	f.changed = make(chan struct{})
}

// close says no more events come (the run ended).
func (f *feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.changed)
	}
}

// since returns the held events with Seq > after, whether the first of
// them follows after directly (no gap), and what to wait on for more.
func (f *feed) since(after int64) (evs []benchrig.Event, gap bool, changed <-chan struct{}, closed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := len(f.events)
	for i > 0 && f.events[i-1].Seq > after {
		i--
	}
	evs = append([]benchrig.Event(nil), f.events[i:]...)
	gap = len(evs) > 0 && evs[0].Seq != after+1
	return evs, gap, f.changed, f.closed
}

// Watch follows a run's events with Seq > after: those recorded, then live
// ones, without gap or duplicate, until the channel is closed after the
// run's last run-finished (or when ctx ends). A queued run's watcher
// waits for it to start. A run the queue does not hold (ended, or another
// process's) is followed from the store alone.
func (q *Queue) Watch(ctx context.Context, runID string, after int64) (<-chan benchrig.Event, error) {
	q.mu.Lock()
	f := q.feeds[runID]
	q.mu.Unlock()
	var run *benchrig.Run
	if f == nil {
		var err error
		if run, err = q.a.Store.GetRun(ctx, runID); err != nil {
			return nil, err
		}
		runID = run.ID
	}
	out := make(chan benchrig.Event, watchBuffer)
	go func() {
		defer close(out)
		w := watcher{q: q, ctx: ctx, runID: runID, last: after, out: out}
		if f != nil {
			w.follow(f)
		} else {
			w.poll(run.Status)
		}
	}()
	return out, nil
}

// watcher is one Watch call's goroutine.
type watcher struct {
	q     *Queue
	ctx   context.Context
	runID string
	last  int64
	out   chan<- benchrig.Event
}

func (w *watcher) send(evs []benchrig.Event) bool {
	for _, e := range evs {
		if e.Seq <= w.last {
			continue
		}
		select {
		case w.out <- e:
		case <-w.ctx.Done():
			return false
		}
		w.last = e.Seq
	}
	return true
}

// fromStore sends what the store holds after w.last.
func (w *watcher) fromStore() bool {
	evs, err := w.q.a.Store.Events(w.ctx, w.runID, w.last)
	if err != nil {
		return false
	}
	return w.send(evs)
}

// follow sends the recorded events, then the feed's; a gap between them
// (the watcher fell behind the feed's window, or the store lags the
// feed) is filled from the store.
func (w *watcher) follow(f *feed) {
	if !w.fromStore() {
		return
	}
	for {
		evs, gap, changed, closed := f.since(w.last)
		if gap {
			if !w.fromStore() {
				return
			}
			if evs, gap, changed, closed = f.since(w.last); gap {
				select { // the store has not caught up yet
				case <-time.After(storeLagWait):
					continue
				case <-w.ctx.Done():
					return
				}
			}
		}
		if !w.send(evs) {
			return
		}
		if closed {
			// The run ended: what the store has beyond the feed (the
			// queue's own last words) and then done.
			w.fromStore()
			return
		}
		select {
		case <-changed:
		case <-w.ctx.Done():
			return
		}
	}
}

// watchPoll is how often a run the queue does not hold is read again.
const watchPoll = 500 * time.Millisecond

// poll follows a run from the store alone: an ended run's events at
// once, another process's running run until it ends.
func (w *watcher) poll(status benchrig.RunStatus) {
	for {
		if !w.fromStore() {
			return
		}
		switch status {
		case benchrig.RunRunning, benchrig.RunQueued:
		default:
			return
		}
		select {
		case <-time.After(watchPoll):
		case <-w.ctx.Done():
			return
		}
		run, err := w.q.a.Store.GetRun(w.ctx, w.runID)
		if err != nil {
			return
		}
		status = run.Status
	}
}
