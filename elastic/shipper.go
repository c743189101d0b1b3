package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esutil"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/collect"
)

var _ collect.Sink = (*Shipper)(nil)

// ShipperOptions tune one shipper.
type ShipperOptions struct {
	// Refresh is the bulk API's refresh parameter ("" for the server's
	// default; tests that read back at once use "wait_for").
	Refresh string
}

// item is one document on its way.
type item struct {
	index, id string
	op        op
	body      []byte
	seg       *segment // the spool segment it was replayed from; nil if none
	attempts  int      // item-level retries so far (429, 5xx in a bulk response)
	due       time.Time
}

// op is a document's bulk action. Events, samples and trials are events:
// created once (a 409 says it is already stored, so a replay doubles
// nothing). Run and case documents are state: indexed, so that a resumed
// run's final status and statistics replace those of its first part.
type op string

const (
	opCreate op = "" // the zero value, and what a spool record without "o" means
	opIndex  op = "index"
)

func (o op) action() string {
	if o == opIndex {
		return "index"
	}
	return "create"
}

// maxItemRetries: item-level retries of one document on 429/5xx before it
// goes to the spool (replayed later) instead of holding memory.
const maxItemRetries = 8

// Shipper sends documents to Elasticsearch in bulk without blocking its
// callers: the Write methods encode and hand documents over to a bounded
// in-memory queue, or, when the queue is full or the server unreachable,
// append them to the disk spool (fsync'd before the Write returns). Its
// methods may be called concurrently. Documents still in the in-memory
// queue or in a bulk request when the process is killed are lost to this
// process; the spool keeps what it holds for Replay.
type Shipper struct {
	c   *Client
	cfg Config
	opt ShipperOptions
	bi  esutil.BulkIndexer
	dir string
	lk  *os.File

	q     chan *item
	space chan struct{} // a slot freed in q
	avail chan struct{} // a document put in q
	wake  chan struct{} // spooling started, or Close asks for a replay
	stop  chan struct{}
	quit  context.Context // ends when stop is closed: cuts a background probe short
	wg    sync.WaitGroup

	queued  atomic.Int64 // bytes in q
	pending atomic.Int64 // documents in q, in the indexer or waiting to retry

	mu          sync.Mutex // guards the fields below; spool appends are made under it to keep their order
	spooling    bool       // new documents go to the spool (it is not empty)
	down        bool       // the last contact with the server failed
	templatesOK bool
	closing     bool // Close was called
	closed      bool // no more hand-overs
	sw          *spoolWriter
	segN        int
	segs        []*segment // closed segments waiting for replay, in order
	retries     []*item
	rejects     *os.File
	spoolErr    error

	sent, dups, spooled, failed, itemRetried atomic.Int64
	retriedBase                              int64

	rates rates
}

// probeTimeout bounds one check of the server in NewShipper and Close (the
// template install, with the transport's retries): a run must not wait on
// a server that does not answer; its documents go to the spool instead and
// the background replayer keeps probing.
const probeTimeout = 2 * time.Second

// NewShipper starts a shipper. It installs the index templates when the
// server answers within probeTimeout; when it does not, documents go to
// the spool until it does (and the templates are installed first).
func (c *Client) NewShipper(ctx context.Context, opt ShipperOptions) (*Shipper, error) {
	if c.cfg.SpoolDir == "" {
		return nil, benchrig.Errorf(benchrig.EInvalid, "elasticsearch: no spool directory")
	}
	s, err := c.newShipper(opt)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	err = c.EnsureTemplates(pctx)
	cancel()
	if err != nil {
		if benchrig.ErrorCode(err) != benchrig.EUnavailable {
			s.abort()
			return nil, err
		}
		s.down, s.spooling = true, true
	} else {
		s.templatesOK = true
	}
	s.start()
	return s, nil
}

func (c *Client) newShipper(opt ShipperOptions) (*Shipper, error) {
	cfg := c.cfg
	dir := filepath.Join(cfg.SpoolDir, fmt.Sprintf("%d-%d", time.Now().UnixNano(), os.Getpid()))
	// Spooled documents are whole documents (commands, hosts, outputs'
	// sizes): the spool is its owner's alone.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	lk, err := lockOwn(dir)
	if err != nil {
		return nil, err
	}
	s := &Shipper{
		c: c, cfg: cfg, opt: opt, dir: dir, lk: lk,
		// A document count bound as well as the byte bound: at least
		// 1,024, about one slot per 256 bytes of the byte bound.
		q:           make(chan *item, max(1024, cfg.QueueBytes/256)),
		space:       make(chan struct{}, 1),
		avail:       make(chan struct{}, 1),
		wake:        make(chan struct{}, 1),
		stop:        make(chan struct{}),
		retriedBase: c.retried.Load(),
		rates:       newRates(),
	}
	if s.sw, err = openSpool(dir, 0); err != nil {
		s.abort()
		return nil, err
	}
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:        c.es,
		NumWorkers:    cfg.Workers,
		FlushBytes:    cfg.FlushBytes,
		FlushInterval: cfg.FlushInterval,
		Refresh:       opt.Refresh,
		FilterPath:    []string{"errors", "items.*.status", "items.*.error.type", "items.*.error.reason"},
	})
	if err != nil {
		s.abort()
		return nil, fmt.Errorf("elasticsearch: %w", err)
	}
	s.bi = bi
	return s, nil
}

func (s *Shipper) abort() {
	if s.sw != nil {
		s.sw.f.Close()
		os.Remove(s.sw.seg.path)
	}
	s.lk.Close()
	removeIfEmpty(s.dir)
}

func (s *Shipper) start() {
	quit, cancel := context.WithCancel(context.Background())
	s.quit = quit
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		<-s.stop
		cancel()
	}()
	go s.send()
	go s.replay()
	if s.spooling {
		s.signal(s.wake)
	}
}

func (s *Shipper) signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// hand gives documents to the queue, or to the spool when it is in use or
// the queue is full. It never waits for the server. Its error is this
// call's own: a document it could not spool (counted Failed), or an fsync
// of the spool that failed after it spooled some; a failure of an earlier
// call or of the rejects file is reported by Close.
func (s *Shipper) hand(items []*item) error {
	s.mu.Lock()
	var drained []*item
	defer func() {
		for _, it := range drained {
			s.settle(it)
		}
	}()
	defer s.mu.Unlock()
	if s.closed {
		return benchrig.Errorf(benchrig.EInternal, "elasticsearch: shipper closed")
	}
	var first error
	lost, spooled := 0, 0
	for _, it := range items {
		if !s.spooling && s.tryQueue(it) {
			s.pending.Add(1)
			continue
		}
		if !s.spooling {
			drained = s.startSpoolingLocked()
			spooled += len(drained)
		}
		if err := s.spoolLocked(it); err != nil {
			if first == nil {
				first = err
			}
			lost++
			continue
		}
		spooled++
	}
	if spooled > 0 {
		if err := s.sw.sync(); err != nil {
			s.noteLocked(err)
			if first == nil {
				first = err
			}
		}
	}
	if first != nil && lost > 0 {
		return fmt.Errorf("%d of %d documents lost: %w", lost, len(items), first)
	}
	return first
}

// startSpoolingLocked sends new documents to the spool from now on, after
// the ones still waiting in q (older, so first in the spool); mu held.
// The caller settles the returned documents once it unlocks mu.
func (s *Shipper) startSpoolingLocked() []*item {
	s.spooling = true
	s.signal(s.wake)
	var out []*item
	for {
		select {
		case it := <-s.q:
			s.queued.Add(-int64(len(it.body)))
			s.spoolLocked(it) // a failure is counted and kept for Close
			out = append(out, it)
			continue
		default:
		}
		break
	}
	if len(out) > 0 {
		s.signal(s.space)
	}
	return out
}

// noteLocked keeps the first failure of the spool for Close; mu held.
func (s *Shipper) noteLocked(err error) {
	if s.spoolErr == nil {
		s.spoolErr = err
	}
}

// tryQueue puts it in q if both bounds allow; called with mu held (every
// send to q is, so a send found room cannot block).
func (s *Shipper) tryQueue(it *item) bool {
	if len(s.q) >= cap(s.q) || s.queued.Load()+int64(len(it.body)) > int64(s.cfg.QueueBytes) {
		return false
	}
	s.queued.Add(int64(len(it.body)))
	s.q <- it
	s.signal(s.avail)
	return true
}

// spoolLocked appends it to the spool; called with mu held. A document it
// cannot append is lost: it counts as Failed, and the error is kept for
// Close as well as returned.
func (s *Shipper) spoolLocked(it *item) error {
	if err := s.sw.append(it); err != nil {
		s.failed.Add(1)
		s.noteLocked(err)
		return err
	}
	s.spooled.Add(1)
	if s.sw.bytes >= maxSegBytes {
		s.roll()
	}
	return nil
}

// respool sends an in-flight document (it was counted in pending) to the
// spool and settles it.
func (s *Shipper) respool(it *item, down bool) {
	s.mu.Lock()
	if down {
		s.down = true
	}
	s.spoolLocked(it) // a failure is counted and kept for Close
	var drained []*item
	if !s.spooling {
		drained = s.startSpoolingLocked()
	}
	s.mu.Unlock()
	s.settle(it)
	for _, d := range drained {
		s.settle(d)
	}
}

// settle ends an in-flight document's life in memory.
func (s *Shipper) settle(it *item) {
	s.pending.Add(-1)
	if it.seg == nil {
		return
	}
	s.mu.Lock()
	it.seg.outstanding--
	done := it.seg.fullyRead && it.seg.outstanding == 0
	s.mu.Unlock()
	if done {
		s.removeSegment(it.seg)
	}
}

// removeSegment deletes a replayed segment once every document in it is
// settled, after an fsync of the current one: documents of the old
// segment that went back to the spool must be on disk before it goes.
func (s *Shipper) removeSegment(seg *segment) {
	s.mu.Lock()
	err := s.sw.sync()
	if err != nil {
		s.noteLocked(err)
	}
	s.mu.Unlock()
	if err == nil {
		os.Remove(seg.path)
	}
}

// send moves documents from q to the bulk indexer, or to the spool while
// the server is down, and requeues item-level retries when they are due.
func (s *Shipper) send() {
	defer s.wg.Done()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.avail:
			// Taken from q under mu, so that a document is either in q or
			// decided (spooled in order, or given to the indexer) when
			// hand or respool drain q to start spooling.
			for {
				select {
				case <-s.stop:
					return
				default:
				}
				s.mu.Lock()
				var it *item
				select {
				case it = <-s.q:
				default:
				}
				if it == nil {
					s.mu.Unlock()
					break
				}
				s.queued.Add(-int64(len(it.body)))
				s.signal(s.space)
				if s.down {
					s.spoolLocked(it) // a failure is counted and kept for Close
					s.mu.Unlock()
					s.settle(it)
					continue
				}
				s.mu.Unlock()
				s.add(it)
			}
		case now := <-tick.C:
			s.mu.Lock()
			var due []*item
			keep := s.retries[:0]
			for _, it := range s.retries {
				if now.After(it.due) {
					due = append(due, it)
				} else {
					keep = append(keep, it)
				}
			}
			s.retries = keep
			for _, it := range due {
				if !s.tryQueue(it) {
					s.mu.Unlock()
					s.respool(it, false)
					s.mu.Lock()
				}
			}
			if err := s.sw.sync(); err != nil {
				s.noteLocked(err)
			}
			s.mu.Unlock()
		}
	}
}

func (s *Shipper) add(it *item) {
	err := s.bi.Add(context.Background(), esutil.BulkIndexerItem{
		Index:      it.index,
		Action:     it.op.action(),
		DocumentID: it.id,
		Body:       bytes.NewReader(it.body),
		OnSuccess: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem) {
			s.sent.Add(1)
			s.settle(it)
		},
		OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
			s.failure(it, res, err)
		},
	})
	if err != nil {
		// The indexer is closed: keep the document for replay.
		s.respool(it, false)
	}
}

func (s *Shipper) failure(it *item, res esutil.BulkIndexerResponseItem, err error) {
	switch {
	case err != nil:
		// The request failed as a whole after the transport's retries: the
		// server is unreachable or refusing bulk requests.
		s.respool(it, true)
	case res.Status == 409:
		s.sent.Add(1)
		s.dups.Add(1)
		s.settle(it)
	case res.Status == 429 || res.Status >= 500:
		it.attempts++
		if it.attempts > maxItemRetries {
			s.respool(it, false)
			return
		}
		s.itemRetried.Add(1)
		it.due = time.Now().Add(backoff(100*time.Millisecond, 5*time.Second)(it.attempts))
		s.mu.Lock()
		s.retries = append(s.retries, it)
		s.mu.Unlock()
	default:
		s.failed.Add(1)
		s.reject(it, res.Status, res.Error.Type, res.Error.Reason)
		s.settle(it)
	}
}

// reject keeps a document refused for good, by the server or (status 0)
// by the shipper itself, in the rejects file.
func (s *Shipper) reject(it *item, status int, errType, reason string) {
	line, _ := json.Marshal(struct {
		record
		Status int    `json:"status"`
		Type   string `json:"error_type"`
		Reason string `json:"error_reason"`
	}{record{it.index, it.id, it.op, it.body}, status, errType, reason})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rejects == nil {
		f, err := os.OpenFile(filepath.Join(s.dir, "rejects.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			// Not the hand-over's business: Close reports it.
			s.noteLocked(fmt.Errorf("rejects: %w", err))
			return
		}
		s.rejects = f
	}
	if _, err := s.rejects.Write(append(line, '\n')); err != nil {
		s.noteLocked(fmt.Errorf("rejects: %w", err))
	}
}

// replay waits for the spool to be used, then, once the server answers,
// hands the spooled documents to the queue in order, until the spool is
// empty and new documents can go to the queue again.
func (s *Shipper) replay() {
	defer s.wg.Done()
	wait := 250 * time.Millisecond
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			spooling, down, tmplOK := s.spooling, s.down, s.templatesOK
			s.mu.Unlock()
			if !spooling {
				break
			}
			if down || !tmplOK {
				if s.probe(s.quit, 10*time.Second) {
					wait = 250 * time.Millisecond
				} else {
					select {
					case <-s.stop:
						return
					case <-s.wake:
					case <-time.After(wait):
					}
					wait = min(2*wait, 5*time.Second)
					continue
				}
			}
			if !s.replayNext() {
				return
			}
		}
	}
}

// probe checks the server (installing the templates if not done yet),
// waiting at most timeout, and clears down when it answers.
func (s *Shipper) probe(ctx context.Context, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.c.EnsureTemplates(ctx); err != nil {
		return false
	}
	s.mu.Lock()
	s.down, s.templatesOK = false, true
	s.mu.Unlock()
	return true
}

// replayNext replays the oldest segment (rolling the current one when no
// closed one is left), or ends spooling when the spool is empty. It
// returns false when the shipper stops.
func (s *Shipper) replayNext() bool {
	s.mu.Lock()
	if len(s.segs) == 0 {
		if s.sw.records == 0 {
			s.spooling = false
			s.mu.Unlock()
			return true
		}
		if err := s.roll(); err != nil {
			s.mu.Unlock()
			return false
		}
	}
	seg := s.segs[0]
	skip := seg.read
	s.mu.Unlock()

	// A segment that cannot be read to its end (it cannot be opened, a
	// line is over-long) is kept on disk for "benchrig es replay" and
	// the error reported by Close; what could be read is sent (a second
	// send of it is a duplicate, not a loss), the rest is never deleted.
	recs, readErr := readSegment(seg.path, skip)
	if readErr != nil {
		s.mu.Lock()
		s.noteLocked(readErr)
		s.mu.Unlock()
	}
	for _, r := range recs {
		s.mu.Lock()
		down := s.down
		s.mu.Unlock()
		if down {
			return true // the segment resumes at seg.read
		}
		it := &item{index: r.Index, id: r.ID, op: r.Op, body: r.Body, seg: seg}
		if !ownIndex(r.Index) {
			// A spool file is only trusted to name benchrig's own indices.
			s.failed.Add(1)
			s.reject(it, 0, "not_a_benchrig_index", "replay sends only to the "+MetricsPrefix+"-, "+ResultsPrefix+"- and "+EventsPrefix+"- daily indices")
			s.mu.Lock()
			seg.read++
			s.mu.Unlock()
			continue
		}
		for {
			s.mu.Lock()
			ok := s.tryQueue(it)
			if ok {
				s.pending.Add(1)
				seg.read++
				seg.outstanding++
			}
			s.mu.Unlock()
			if ok {
				break
			}
			select {
			case <-s.stop:
				return false
			case <-s.space:
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	s.mu.Lock()
	s.segs = s.segs[1:]
	if readErr != nil {
		s.mu.Unlock()
		return true // never fullyRead: settle leaves the file alone
	}
	seg.fullyRead = true
	done := seg.outstanding == 0
	s.mu.Unlock()
	if done {
		s.removeSegment(seg)
	}
	return true
}

// roll closes the current segment for replay and opens the next; mu held.
func (s *Shipper) roll() error {
	if err := s.sw.close(); err != nil {
		s.spoolErr = err
		return err
	}
	s.segs = append(s.segs, s.sw.seg)
	s.segN++
	sw, err := openSpool(s.dir, s.segN)
	if err != nil {
		s.spoolErr = err
		return err
	}
	s.sw = sw
	return nil
}

// Counters are what the shipper did so far. Sent counts documents stored,
// Duplicates among them (already there: a 409); Retried counts failed bulk
// requests (429, 502-504, network errors) plus item-level retries;
// Spooled counts writes to the disk spool (server unreachable, or the
// queue full), a document spooled twice counting twice; Failed counts
// documents refused for good, kept in the spool directory's rejects.jsonl,
// and documents lost because the spool could not be written.
func (s *Shipper) Counters() benchrig.ShipCounters {
	return benchrig.ShipCounters{
		Sent:       s.sent.Load(),
		Retried:    s.c.retried.Load() - s.retriedBase + s.itemRetried.Load(),
		Spooled:    s.spooled.Load(),
		Failed:     s.failed.Load(),
		Duplicates: s.dups.Load(),
	}
}

// SpoolDir is this shipper's own spool directory.
func (s *Shipper) SpoolDir() string { return s.dir }

// Close sends what it can: it waits (until ctx ends) for the queue to
// drain and, when the server answers, for the spool to be replayed. What
// could not be sent stays in the spool for Replay ("benchrig es replay");
// the error then says how many documents wait there.
func (s *Shipper) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	s.mu.Unlock()
	// One more chance for a server that came back while the replayer
	// waits out its backoff; bounded, for a server that does not answer.
	s.mu.Lock()
	if s.spooling && s.down {
		s.mu.Unlock()
		s.probe(ctx, probeTimeout)
		s.signal(s.wake)
	} else {
		s.mu.Unlock()
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		s.mu.Lock()
		idle := s.pending.Load() == 0 && (!s.spooling || s.down)
		s.mu.Unlock()
		if idle {
			break
		}
		select {
		case <-ctx.Done():
			break wait
		case <-tick.C:
		}
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	// Whatever is left in memory goes to the spool.
	for {
		select {
		case it := <-s.q:
			s.queued.Add(-int64(len(it.body)))
			s.respool(it, false)
			continue
		default:
		}
		break
	}
	// The indexer's last flush gets its own deadline even when ctx has
	// ended: its items must be stored or spooled before the spool closes,
	// and the transport's retries bound it (about 1.5 s when the server is
	// down).
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	biErr := s.bi.Close(cctx)
	cancel()
	// Retries waiting for their backoff go to the spool too, settled like
	// any other respooled document: a replayed segment they came from is
	// then removed, not replayed a second time later.
	s.mu.Lock()
	retries := s.retries
	s.retries = nil
	s.mu.Unlock()
	for _, it := range retries {
		s.respool(it, false)
	}
	s.mu.Lock()
	err := s.sw.close()
	if s.sw.records == 0 {
		os.Remove(s.sw.seg.path)
	}
	if s.rejects != nil {
		s.rejects.Close()
	}
	spoolErr := s.spoolErr
	s.mu.Unlock()
	s.lk.Close()
	removeIfEmpty(s.dir)
	if spoolErr != nil {
		return spoolErr
	}
	if err != nil {
		return err
	}
	if n := countSpooled(s.dir); n > 0 {
		return &benchrig.Error{Code: benchrig.EUnavailable, Retryable: true,
			Msg: strconv.Itoa(n) + " documents wait in the spool " + s.dir + " (benchrig es replay)"}
	}
	if biErr != nil && !errors.Is(biErr, context.Canceled) {
		return fmt.Errorf("elasticsearch: %w", biErr)
	}
	return nil
}

// countSpooled counts the records in dir's segments.
func countSpooled(dir string) int {
	segs, err := segmentsIn(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, p := range segs {
		recs, _ := readSegment(p, 0)
		n += len(recs)
	}
	return n
}

// Replay ships what shippers left in spoolDir (a crashed process, or a
// server that was down when they closed), in order, and removes what was
// stored. Spools of shippers still running are left alone. Documents
// already stored count as Duplicates, not twice.
func Replay(ctx context.Context, c *Client, spoolDir string) (benchrig.ShipCounters, error) {
	if spoolDir == "" {
		return benchrig.ShipCounters{}, benchrig.Errorf(benchrig.EInvalid, "elasticsearch: no spool directory")
	}
	ents, err := os.ReadDir(spoolDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return benchrig.ShipCounters{}, nil
		}
		return benchrig.ShipCounters{}, fmt.Errorf("spool: %w", err)
	}
	s, err := c.newShipper(ShipperOptions{})
	if err != nil {
		return benchrig.ShipCounters{}, err
	}
	var locks []*os.File
	var dirs []string
	for _, e := range ents {
		d := filepath.Join(spoolDir, e.Name())
		if !e.IsDir() || d == s.dir {
			continue
		}
		lk, ok, err := lockDir(d)
		if err != nil || !ok {
			continue // a live shipper's
		}
		locks = append(locks, lk)
		dirs = append(dirs, d)
		segs, _ := segmentsIn(d)
		for _, p := range segs {
			s.segs = append(s.segs, &segment{path: p})
		}
	}
	s.spooling, s.down = len(s.segs) > 0, len(s.segs) > 0
	s.start()
	err = s.Close(ctx)
	left := 0
	for i, lk := range locks {
		left += countSpooled(dirs[i])
		lk.Close()
		removeIfEmpty(dirs[i])
	}
	if err == nil && left > 0 {
		err = &benchrig.Error{Code: benchrig.EUnavailable, Retryable: true,
			Msg: strconv.Itoa(left) + " documents still wait in the spool " + spoolDir}
	}
	return s.Counters(), err
}

// PendingSpools counts what earlier shippers left in spoolDir for Replay:
// the spool directories no live process holds that still hold documents,
// and those documents. A missing spoolDir holds none.
func PendingSpools(spoolDir string) (dirs int, docs int, err error) {
	ents, err := os.ReadDir(spoolDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, 0, nil
		}
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		d := filepath.Join(spoolDir, e.Name())
		lk, ok, err := lockDir(d)
		if err != nil {
			return dirs, docs, err
		}
		if !ok {
			continue // a live shipper's
		}
		n := countSpooled(d)
		lk.Close()
		if n > 0 {
			dirs++
			docs += n
		}
	}
	return dirs, docs, nil
}
