package elastic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// fakeES is a fake Elasticsearch: templates and version answer OK, and
// bulk requests go to bulk, which says the HTTP status of the request and,
// for a 200, each item's status. It stores ids and bodies, so a second
// create of an id is a 409 as on the real server, and an index replaces.
type fakeES struct {
	bulk func(n int, ids []string) (status int, items []int)

	mu       sync.Mutex
	stored   map[string]bool
	bodies   map[string]string
	order    []string // ids in the order they were first stored
	requests int
}

func (f *fakeES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasPrefix(r.URL.Path, "/_index_template/"):
		if r.Method == http.MethodGet {
			w.WriteHeader(404)
			fmt.Fprint(w, `{}`)
			return
		}
		fmt.Fprint(w, `{"acknowledged":true}`)
	case strings.HasSuffix(r.URL.Path, "/_mapping") && r.Method == http.MethodPut:
		fmt.Fprint(w, `{"acknowledged":true}`)
	case strings.HasPrefix(r.URL.Path, "/_nodes"):
		fmt.Fprint(w, `{"nodes":{"n1":{"version":"8.19.7"}}}`)
	case strings.HasSuffix(r.URL.Path, "/_bulk"):
		var ids, actions, bodies []string
		sc := bufio.NewScanner(r.Body)
		sc.Buffer(nil, 64<<20)
		for i := 0; sc.Scan(); i++ {
			if i%2 == 1 {
				bodies = append(bodies, sc.Text())
				continue
			}
			var meta map[string]struct {
				ID string `json:"_id"`
			}
			json.Unmarshal(sc.Bytes(), &meta)
			for a, m := range meta {
				actions = append(actions, a)
				ids = append(ids, m.ID)
			}
		}
		f.mu.Lock()
		f.requests++
		n := f.requests
		if f.stored == nil {
			f.stored, f.bodies = map[string]bool{}, map[string]string{}
		}
		f.mu.Unlock()
		status, items := 200, []int(nil)
		if f.bulk != nil {
			status, items = f.bulk(n, ids)
		}
		if status != 200 {
			w.WriteHeader(status)
			fmt.Fprint(w, `{"error":"fake"}`)
			return
		}
		var out []map[string]any
		f.mu.Lock()
		for i, id := range ids {
			st := 201
			if i < len(items) && items[i] != 0 {
				st = items[i]
			}
			if st == 201 && f.stored[id] {
				st = 409
				if actions[i] == "index" {
					st = 200
				}
			}
			res := map[string]any{"status": st}
			switch {
			case st == 200 || st == 201:
				if !f.stored[id] {
					f.order = append(f.order, id)
				}
				f.stored[id] = true
				f.bodies[id] = bodies[i]
			case st == 409:
				res["error"] = map[string]any{"type": "version_conflict_engine_exception", "reason": "exists"}
			default:
				res["error"] = map[string]any{"type": "fake_error", "reason": fmt.Sprint(st)}
			}
			out = append(out, map[string]any{actions[i]: res})
		}
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"errors": true, "items": out})
	default:
		w.WriteHeader(404)
		fmt.Fprint(w, `{}`)
	}
}

func (f *fakeES) body(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[id]
}

func (f *fakeES) storedIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.order...)
}

// testConfig is one worker (so requests keep the order of the queue), a
// short flush interval and quick retries.
func testConfig(url, spool string) Config {
	return Config{URLs: []string{url}, SpoolDir: spool, Workers: 1, FlushInterval: 20 * time.Millisecond, MaxRetries: 2}
}

func hostSamples(run string, from, n int) []benchrig.Sample {
	out := make([]benchrig.Sample, n)
	for i := range out {
		out[i] = benchrig.Sample{Time: time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC), Run: run, Node: "n1", Kind: benchrig.SampleHost,
			Seq: int64(from + i), Host: &benchrig.HostSample{CPUs: 2}}
	}
	return out
}

func newTestShipper(t *testing.T, cfg Config) (*Client, *Shipper) {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewShipper(context.Background(), ShipperOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name string
		bulk func(n int, ids []string) (int, []int)
	}{
		{"503 twice, then ok", func(n int, ids []string) (int, []int) {
			if n <= 2 {
				return 503, nil
			}
			return 200, nil
		}},
		{"429 twice, then ok", func(n int, ids []string) (int, []int) {
			if n <= 2 {
				return 429, nil
			}
			return 200, nil
		}},
		{"items 429 then ok", func(n int, ids []string) (int, []int) {
			if n == 1 {
				items := make([]int, len(ids))
				for i := range items {
					items[i] = 429
				}
				return 200, items
			}
			return 200, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeES{bulk: tc.bulk}
			srv := httptest.NewServer(f)
			defer srv.Close()
			_, s := newTestShipper(t, testConfig(srv.URL, t.TempDir()))
			if err := s.WriteSamples(context.Background(), hostSamples("r", 1, 50)); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := s.Counters()
			if got.Sent != 50 || got.Retried < 2 || got.Failed != 0 || got.Duplicates != 0 {
				t.Errorf("counters %+v, want sent 50, retried >= 2", got)
			}
			if n := len(f.storedIDs()); n != 50 {
				t.Errorf("%d stored, want 50", n)
			}
		})
	}
}

func TestDuplicatesAndRejects(t *testing.T) {
	f := &fakeES{bulk: func(n int, ids []string) (int, []int) {
		items := make([]int, len(ids))
		for i, id := range ids {
			if strings.HasSuffix(id, "/7") {
				items[i] = 400 // a mapping error
			}
		}
		return 200, items
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	spool := t.TempDir()
	_, s := newTestShipper(t, testConfig(srv.URL, spool))
	ctx := context.Background()
	s.WriteSamples(ctx, hostSamples("r", 1, 10))
	s.WriteSamples(ctx, hostSamples("r", 1, 4)) // again: 409s
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := s.Counters()
	want := benchrig.ShipCounters{Sent: 13, Duplicates: 4, Failed: 1}
	if got != want {
		t.Errorf("counters %+v, want %+v", got, want)
	}
	rej, err := os.ReadFile(filepath.Join(s.SpoolDir(), "rejects.jsonl"))
	if err != nil || !bytes.Contains(rej, []byte(`"d":"r/n1/host/7"`)) || !bytes.Contains(rej, []byte(`"status":400`)) {
		t.Errorf("rejects file: %s, %v", rej, err)
	}
}

// TestSpoolAndReplayInOrder: with the server unreachable (connection
// refused) everything goes to the spool; Close says so; Replay against a
// server that answers ships it in the order written.
func TestSpoolAndReplayInOrder(t *testing.T) {
	spool := t.TempDir()
	_, s := newTestShipper(t, testConfig(deadURL(t), spool))
	ctx := context.Background()
	var want []string
	for b := 0; b < 5; b++ {
		batch := hostSamples("r", 1+b*100, 100)
		for i := range batch {
			want = append(want, batch[i].ID())
		}
		if err := s.WriteSamples(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Close(ctx)
	if benchrig.ErrorCode(err) != benchrig.EUnavailable || !strings.Contains(err.Error(), "500 documents wait") {
		t.Fatalf("close: %v, want 500 documents waiting in the spool", err)
	}
	if got := s.Counters(); got.Spooled != 500 || got.Sent != 0 {
		t.Errorf("counters %+v, want 500 spooled", got)
	}

	f := &fakeES{}
	c := fakeClient(t, f, spool)
	got, err := Replay(ctx, c, spool)
	if err != nil {
		t.Fatal(err)
	}
	if got.Sent != 500 || got.Failed != 0 {
		t.Errorf("replay counters %+v, want 500 sent", got)
	}
	if ids := f.storedIDs(); strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("replayed %d documents out of order or incomplete: first %v", len(ids), ids[:min(5, len(ids))])
	}
	if ents, _ := os.ReadDir(spool); len(ents) != 0 {
		t.Errorf("spool not empty after replay: %v", ents)
	}
	// A second replay finds nothing: nothing doubled.
	if got, err := Replay(ctx, c, spool); err != nil || got.Sent != 0 {
		t.Errorf("second replay: %+v, %v", got, err)
	}
}

// TestBoundedMemory: while the server does not answer bulk requests,
// writers are never blocked and the queue never holds more than its bound;
// the rest waits in the spool and is shipped once the server answers.
func TestBoundedMemory(t *testing.T) {
	release := make(chan struct{})
	f := &fakeES{bulk: func(n int, ids []string) (int, []int) {
		<-release
		return 200, nil
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := testConfig(srv.URL, t.TempDir())
	cfg.QueueBytes = 64 << 10
	_, s := newTestShipper(t, cfg)
	ctx := context.Background()
	for b := 0; b < 50; b++ {
		if err := s.WriteSamples(ctx, hostSamples("r", 1+b*100, 100)); err != nil {
			t.Fatal(err)
		}
		if q := s.queued.Load(); q > int64(cfg.QueueBytes) {
			t.Fatalf("queue holds %d bytes, bound %d", q, cfg.QueueBytes)
		}
	}
	if got := s.Counters(); got.Spooled == 0 {
		t.Errorf("nothing spooled past the bound: %+v", got)
	}
	close(release)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.Counters(); got.Sent != 5000 || len(f.storedIDs()) != 5000 {
		t.Errorf("counters %+v, stored %d, want 5000", got, len(f.storedIDs()))
	}
}

func TestCheck(t *testing.T) {
	srv := httptest.NewServer(&fakeES{})
	defer srv.Close()
	c, _ := New(testConfig(srv.URL, t.TempDir()))
	st, err := c.Check(context.Background())
	if err != nil || !st.Reachable || st.Version != "8.19.7" || len(st.Templates) != 3 || st.Templates[0].Installed {
		t.Errorf("check: %+v, %v", st, err)
	}
	srv.Close()
	st, err = c.Check(context.Background())
	if benchrig.ErrorCode(err) != benchrig.EUnavailable || st.Reachable {
		t.Errorf("check of a closed server: %+v, %v", st, err)
	}
}

func TestDocID(t *testing.T) {
	long := strings.Repeat("x", 600)
	if id := docID(long); len(id) > maxIDBytes || id != docID(long) {
		t.Errorf("docID of 600 bytes: %q", id)
	}
	if docID("a/b") != "a/b" {
		t.Error("short id changed")
	}
}

// fakeClient is a client of f, served until the test ends, spooling
// under spool.
func fakeClient(t *testing.T, f *fakeES, spool string) *Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(testConfig(srv.URL, spool))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// deadURL is a server address that refuses connections.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	return "http://" + ln.Addr().String()
}

// TestHandErrorsAreTheCallsOwn: a rejects file that cannot be written is
// reported by Close, not by every later Write; a document that cannot be
// spooled fails its own Write and counts as Failed, and later Writes that
// spool fine return nil.
func TestHandErrorsAreTheCallsOwn(t *testing.T) {
	t.Run("rejects file", func(t *testing.T) {
		f := &fakeES{bulk: func(n int, ids []string) (int, []int) {
			items := make([]int, len(ids))
			for i, id := range ids {
				if strings.HasSuffix(id, "/1") {
					items[i] = 400
				}
			}
			return 200, items
		}}
		srv := httptest.NewServer(f)
		defer srv.Close()
		_, s := newTestShipper(t, testConfig(srv.URL, t.TempDir()))
		// rejects.jsonl cannot be opened: a directory has its name.
		if err := os.Mkdir(filepath.Join(s.SpoolDir(), "rejects.jsonl"), 0o700); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := s.WriteSamples(ctx, hostSamples("r", 1, 5)); err != nil {
			t.Fatal(err)
		}
		for s.Counters().Failed == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		if err := s.WriteSamples(ctx, hostSamples("r", 6, 5)); err != nil {
			t.Errorf("write after a rejects failure: %v, want nil (its documents were queued)", err)
		}
		err := s.Close(ctx)
		if err == nil || !strings.Contains(err.Error(), "rejects") {
			t.Errorf("close: %v, want the rejects error", err)
		}
		if got := s.Counters(); got.Sent != 9 || got.Failed != 1 {
			t.Errorf("counters %+v, want 9 sent, 1 failed", got)
		}
		os.RemoveAll(s.SpoolDir())
	})
	t.Run("spool write", func(t *testing.T) {
		_, s := newTestShipper(t, testConfig(deadURL(t), t.TempDir()))
		ctx := context.Background()
		// Break the spool: its file closed, its buffer smaller than a record.
		s.mu.Lock()
		good := s.sw
		s.sw = &spoolWriter{seg: &segment{path: good.seg.path + ".broken"}, f: good.f}
		s.sw.w = bufio.NewWriterSize(closedFile(t), 16)
		s.mu.Unlock()
		if err := s.WriteSamples(ctx, hostSamples("r", 1, 3)); err == nil {
			t.Error("write to a broken spool: nil error")
		}
		if got := s.Counters(); got.Failed != 3 || got.Spooled != 0 {
			t.Errorf("counters %+v, want 3 failed", got)
		}
		s.mu.Lock()
		s.sw = good
		s.mu.Unlock()
		if err := s.WriteSamples(ctx, hostSamples("r", 4, 3)); err != nil {
			t.Errorf("write after the spool recovered: %v, want nil", err)
		}
		if got := s.Counters(); got.Failed != 3 || got.Spooled != 3 {
			t.Errorf("counters %+v, want 3 failed, 3 spooled", got)
		}
		s.Close(ctx)
	})
}

func closedFile(t *testing.T) *os.File {
	f, err := os.Create(filepath.Join(t.TempDir(), "closed"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return f
}

// writeSpool leaves a spool directory as a crashed shipper would: one
// segment with recs, one line each (raw lines as given).
func writeSpool(t *testing.T, spool string, lines ...string) string {
	t.Helper()
	dir := filepath.Join(spool, "1-1")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := segPath(dir, 0)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func recLine(index, id string) string {
	b, _ := json.Marshal(record{Index: index, ID: id, Body: json.RawMessage(`{"benchrig":{"doc":"host"}}`)})
	return string(b)
}

// TestUnreadableSegmentKept: a segment whose reading fails (an over-long
// line) is not removed: its unread documents wait for the next replay.
func TestUnreadableSegmentKept(t *testing.T) {
	defer func(n int) { maxRecordBytes = n }(maxRecordBytes)
	maxRecordBytes = 4 << 10
	ix := IndexFor(MetricsPrefix, time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	spool := t.TempDir()
	long := `{"i":"` + ix + `","d":"long","b":{"x":"` + strings.Repeat("x", 8<<10) + `"}}`
	p := writeSpool(t, spool, recLine(ix, "a"), long, recLine(ix, "b"))
	f := &fakeES{}
	c := fakeClient(t, f, spool)
	if _, err := Replay(context.Background(), c, spool); err == nil {
		t.Error("replay of an unreadable segment: nil error")
	}
	if _, err := os.Stat(p); err != nil {
		t.Errorf("unreadable segment removed: %v", err)
	}
}

// TestRunAndCaseDocumentsReplace: run and case documents are state; a
// resumed run's second WriteRun replaces the first one's status and
// statistics (and counts as Sent, not as a duplicate), while samples,
// trials and events stay create-once.
func TestRunAndCaseDocumentsReplace(t *testing.T) {
	f := &fakeES{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	_, s := newTestShipper(t, testConfig(srv.URL, t.TempDir()))
	ctx := context.Background()
	start := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	run := &benchrig.Run{ID: "r1", SpecName: "s", Started: start, Status: benchrig.RunInterrupted,
		Cases: []benchrig.Case{{ID: "c1"}}}
	if err := s.WriteRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteSamples(ctx, hostSamples("r1", 1, 2)); err != nil {
		t.Fatal(err)
	}
	for s.Counters().Sent < 4 {
		time.Sleep(10 * time.Millisecond)
	}
	firstCase := f.body("case/r1/c1")
	run.Status = benchrig.RunFinished
	run.Trials = []benchrig.Trial{{RunID: "r1", CaseID: "c1"}}
	if err := s.WriteRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteSamples(ctx, hostSamples("r1", 1, 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Counters(), (benchrig.ShipCounters{Sent: 8, Duplicates: 2}); got != want {
		t.Errorf("counters %+v, want %+v", got, want)
	}
	if b := f.body("run/r1"); !strings.Contains(b, `"status":"`+string(benchrig.RunFinished)+`"`) {
		t.Errorf("run document after the second write: %s", b)
	}
	if b := f.body("case/r1/c1"); b == firstCase || firstCase == "" {
		t.Errorf("case document after the second write: %s", b)
	}
}

// TestSpoolIsPrivate: spool directories, segments and the rejects file are
// their owner's alone (they hold whole documents).
func TestSpoolIsPrivate(t *testing.T) {
	defer syscallUmask(0)()
	spool := filepath.Join(t.TempDir(), "spool")
	_, s := newTestShipper(t, testConfig(deadURL(t), spool))
	ctx := context.Background()
	run := &benchrig.Run{ID: "r1", Started: time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)}
	if err := s.WriteRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	s.reject(&item{index: "x", id: "y", body: []byte(`{}`)}, 400, "t", "r")
	want := map[string]os.FileMode{spool: 0o700, s.SpoolDir(): 0o700, filepath.Join(s.SpoolDir(), "rejects.jsonl"): 0o600,
		segPath(s.SpoolDir(), 0): 0o600, filepath.Join(s.SpoolDir(), "lock"): 0o600}
	for p, mode := range want {
		fi, err := os.Stat(p)
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), mode)
		}
	}
	s.Close(ctx)
	// The spool keeps the run document's op: state, indexed on replay.
	seg, _ := os.ReadFile(segPath(s.SpoolDir(), 0))
	if !bytes.Contains(seg, []byte(`"o":"index"`)) {
		t.Errorf("spooled run document without its op: %s", seg)
	}
}

// TestReplayOnlyOwnIndices: a spool record naming another index is not
// sent; it counts as Failed and goes to the rejects file.
func TestReplayOnlyOwnIndices(t *testing.T) {
	ix := IndexFor(MetricsPrefix, time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	spool := t.TempDir()
	writeSpool(t, spool, recLine(ix, "a"), recLine(".security-7", "evil"), recLine("benchrig-metrics-x", "odd"),
		recLine(IndexFor(EventsPrefix, time.Now()), "b"))
	f := &fakeES{}
	c := fakeClient(t, f, spool)
	got, err := Replay(context.Background(), c, spool)
	if err != nil {
		t.Fatal(err)
	}
	if got.Sent != 2 || got.Failed != 2 {
		t.Errorf("counters %+v, want 2 sent, 2 failed", got)
	}
	if ids := strings.Join(f.storedIDs(), " "); ids != "a b" {
		t.Errorf("stored %q, want a b", ids)
	}
	rej, _ := filepath.Glob(filepath.Join(spool, "*", "rejects.jsonl"))
	if len(rej) != 1 {
		t.Fatalf("rejects files %v", rej)
	}
	b, _ := os.ReadFile(rej[0])
	if !bytes.Contains(b, []byte(`"d":"evil"`)) || !bytes.Contains(b, []byte(`"d":"odd"`)) {
		t.Errorf("rejects: %s", b)
	}
}

func syscallUmask(m int) func() {
	old := syscall.Umask(m)
	return func() { syscall.Umask(old) }
}

// TestCloseSettlesRetries: documents replayed from a segment and waiting
// to retry (429s) when Close's deadline ends are spooled again and their
// old segment removed: the spool holds each document once.
func TestCloseSettlesRetries(t *testing.T) {
	ix := IndexFor(MetricsPrefix, time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	spool := t.TempDir()
	var lines []string
	for i := 0; i < 20; i++ {
		lines = append(lines, recLine(ix, fmt.Sprint("d", i)))
	}
	old := writeSpool(t, spool, lines...)
	f := &fakeES{bulk: func(n int, ids []string) (int, []int) {
		items := make([]int, len(ids))
		for i := range items {
			items[i] = 429
		}
		return 200, items
	}}
	c := fakeClient(t, f, spool)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := Replay(ctx, c, spool); benchrig.ErrorCode(err) != benchrig.EUnavailable {
		t.Errorf("replay: %v, want documents waiting", err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("replayed segment still there (%v): its documents would be replayed twice", err)
	}
	n := 0
	dirs, _ := os.ReadDir(spool)
	for _, d := range dirs {
		n += countSpooled(filepath.Join(spool, d.Name()))
	}
	if n != 20 {
		t.Errorf("%d documents in the spool, want 20", n)
	}
}

// TestSpoolKeepsOrderWhenSwitching: documents still in the in-memory
// queue when the shipper starts spooling (the queue full, then the server
// down) go to the spool before the newer ones, so replay keeps the order
// in which they were handed over.
func TestSpoolKeepsOrderWhenSwitching(t *testing.T) {
	cfg := testConfig(deadURL(t), t.TempDir())
	cfg.QueueBytes = 2 << 10 // a few documents
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.newShipper(ShipperOptions{}) // not started: the queue keeps what it is given
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var want []string
	write := func(from, n int) {
		batch := hostSamples("r", from, n)
		for i := range batch {
			want = append(want, docID(batch[i].ID()))
		}
		if err := s.WriteSamples(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	write(1, 20) // a few queued, the rest past the bound: spooling starts
	s.mu.Lock()
	s.down = true // and the server goes away
	s.mu.Unlock()
	write(21, 20)
	s.start()
	if err := s.Close(ctx); benchrig.ErrorCode(err) != benchrig.EUnavailable {
		t.Fatalf("close: %v, want documents waiting", err)
	}
	segs, _ := segmentsIn(s.SpoolDir())
	var got []string
	for _, p := range segs {
		recs, err := readSegment(p, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			got = append(got, r.ID)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("spool order:\n%v\nwant\n%v", got, want)
	}
}

// TestUnansweringServerIsQuick: a server that accepts connections and
// never answers costs a run about probeTimeout at the start and at Close,
// not the transport's retries and timeouts; its documents are spooled.
func TestUnansweringServerIsQuick(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	cfg := testConfig("http://"+ln.Addr().String(), t.TempDir())
	cfg.MaxRetries = DefaultMaxRetries
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Now()
	s, err := c.NewShipper(ctx, ShipperOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > probeTimeout+time.Second {
		t.Errorf("NewShipper took %v", d)
	}
	if err := s.WriteSamples(ctx, hostSamples("r", 1, 10)); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	if err := s.Close(ctx); benchrig.ErrorCode(err) != benchrig.EUnavailable {
		t.Errorf("close: %v, want documents waiting", err)
	}
	if d := time.Since(t1); d > probeTimeout+time.Second {
		t.Errorf("Close took %v", d)
	}
	if got := s.Counters(); got.Spooled != 10 {
		t.Errorf("counters %+v, want 10 spooled", got)
	}
}

func TestLockedSpoolDirError(t *testing.T) {
	dir := t.TempDir()
	lk, err := lockOwn(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	if _, err := lockOwn(dir); err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("second lock: %v, want locked by another process", err)
	}
}

func TestPendingSpools(t *testing.T) {
	spool := t.TempDir()
	if d, n, err := PendingSpools(filepath.Join(spool, "none")); d != 0 || n != 0 || err != nil {
		t.Errorf("missing spool dir: %d, %d, %v", d, n, err)
	}
	// A closed shipper's spool (the server was down): pending.
	ctx := context.Background()
	_, s := newTestShipper(t, testConfig(deadURL(t), spool))
	s.WriteSamples(ctx, hostSamples("r", 1, 7))
	s.Close(ctx)
	// A live shipper's spool: not counted.
	_, live := newTestShipper(t, testConfig(deadURL(t), spool))
	defer live.Close(ctx)
	live.WriteSamples(ctx, hostSamples("r", 100, 5))
	if d, n, err := PendingSpools(spool); d != 1 || n != 7 || err != nil {
		t.Errorf("PendingSpools: %d dirs, %d documents, %v; want 1, 7", d, n, err)
	}
	// The check holds no lock once it returns: Replay still can take it.
	lk, ok, err := lockDir(s.SpoolDir())
	if !ok || err != nil {
		t.Errorf("spool dir still locked after PendingSpools: %v", err)
	} else {
		lk.Close()
	}
}
