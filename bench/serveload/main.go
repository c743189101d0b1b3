// Command serveload puts a benchrig server under the load the issue names:
// many API clients and many live-event watchers at once, for a while, and
// reports requests, errors and latency percentiles.
//
//	go run ./bench/serveload -url http://127.0.0.1:8080 -token READ [-submit-token T -spec FILE] \
//	    -clients 200 -watchers 100 -duration 60s
//
// Each client loops over a mix of GET /api/v1/runs, GET /api/v1/runs/{id}
// and GET /healthz, plus a small share of POST /api/v1/runs when a submit
// token and a spec are given. Each watcher follows a run's events (the
// -run given, else a running run, else the newest) and, when its stream
// ends, waits the retry time and reconnects with Last-Event-ID, as a
// browser's EventSource does. Any answer other than the expected 2xx, and
// any transport error, is an error; the exit status is 1 if there was one.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	url         string
	token       string
	submitToken string
	spec        string
	runID       string
	clients     int
	watchers    int
	duration    time.Duration
	submitShare float64
	retry       time.Duration
	timeout     time.Duration
	think       time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serveload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "the server's base URL")
	fs.StringVar(&o.token, "token", "", "a read (or submit) token; \"\" for a server whose reads are public")
	fs.StringVar(&o.submitToken, "submit-token", "", "a submit token: clients also submit -spec")
	fs.StringVar(&o.spec, "spec", "", "the spec `FILE` clients submit (with -submit-token)")
	fs.StringVar(&o.runID, "run", "", "the run watchers follow; default a running run, else the newest")
	fs.IntVar(&o.clients, "clients", 200, "concurrent API clients")
	fs.IntVar(&o.watchers, "watchers", 100, "concurrent live-event watchers")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "how long to load the server")
	fs.Float64Var(&o.submitShare, "submit-share", 0.01, "share of client requests that submit (with -submit-token and -spec)")
	fs.DurationVar(&o.retry, "retry", 2*time.Second, "how long a watcher waits before reconnecting after its stream ended (the server's retry)")
	fs.DurationVar(&o.think, "think", 0, "mean pause of a client between its requests (uniform in [0, 2*think]): 0 is a closed loop that saturates the server, where latency is clients/throughput; 1s is a person or dashboard that asks once a second")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "a request's time limit (to its answer's headers for a watcher)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.clients < 0 || o.watchers < 0 || o.duration <= 0 || o.submitShare < 0 || o.submitShare > 1 {
		fmt.Fprintln(stderr, "serveload: -clients and -watchers must be >= 0, -duration > 0, -submit-share in [0, 1]")
		return 2
	}
	o.url = strings.TrimRight(o.url, "/")
	var spec []byte
	if o.submitToken != "" && o.spec != "" {
		b, err := os.ReadFile(o.spec)
		if err != nil {
			fmt.Fprintf(stderr, "serveload: %v\n", err)
			return 2
		}
		spec = b
	}
	l := newLoad(o, spec)
	if err := l.prepare(ctx); err != nil {
		fmt.Fprintf(stderr, "serveload: %v\n", err)
		return 1
	}
	res := l.run(ctx)
	res.print(stdout, o)
	for _, e := range res.samples {
		fmt.Fprintf(stderr, "error: %s\n", e)
	}
	if res.errors > 0 {
		return 1
	}
	return 0
}

// load is one run of the benchmark.
type load struct {
	o      options
	spec   []byte
	client *http.Client
	ids    []string // runs clients read
	watch  string   // the run watchers follow

	requests, errors, events, reconnects, submits atomic.Int64
	mu                                            sync.Mutex
	lat                                           []time.Duration
	byOp                                          map[string][]time.Duration // "GET /api/v1/runs" -> latencies
	samples                                       []string                   // the first few errors, for the reader
}

const maxSamples = 10

func newLoad(o options, spec []byte) *load {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = o.clients + o.watchers + 10
	tr.MaxIdleConnsPerHost = o.clients + o.watchers + 10
	return &load{o: o, spec: spec, client: &http.Client{Transport: tr}, byOp: map[string][]time.Duration{}}
}

func (l *load) request(ctx context.Context, method, path, token string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.o.url+path, r)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/yaml")
	}
	return req, nil
}

// prepare finds the runs clients read and the run watchers follow.
func (l *load) prepare(ctx context.Context) error {
	list := func(q string) ([]string, error) {
		req, err := l.request(ctx, "GET", "/api/v1/runs?"+q, l.o.token, nil)
		if err != nil {
			return nil, err
		}
		resp, err := l.client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return nil, fmt.Errorf("GET /api/v1/runs?%s: %s: %s", q, resp.Status, b)
		}
		var page struct {
			Runs []struct {
				ID string `json:"id"`
			} `json:"runs"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			return nil, fmt.Errorf("GET /api/v1/runs: %w", err)
		}
		var ids []string
		for _, r := range page.Runs {
			ids = append(ids, r.ID)
		}
		return ids, nil
	}
	ids, err := list("limit=50")
	if err != nil {
		return err
	}
	l.ids = ids
	l.watch = l.o.runID
	if l.watch == "" {
		running, err := list("status=running&limit=1")
		if err != nil {
			return err
		}
		switch {
		case len(running) > 0:
			l.watch = running[0]
		case len(ids) > 0:
			l.watch = ids[0]
		}
	}
	if l.watch == "" && l.o.watchers > 0 {
		return errors.New("no run to watch: the store has none (submit one, or give -run)")
	}
	if len(l.ids) == 0 && l.watch != "" {
		l.ids = []string{l.watch}
	}
	return nil
}

func (l *load) observe(op string, d time.Duration) {
	l.requests.Add(1)
	l.mu.Lock()
	l.lat = append(l.lat, d)
	l.byOp[op] = append(l.byOp[op], d)
	l.mu.Unlock()
}

func (l *load) fail(format string, args ...any) {
	l.errors.Add(1)
	l.mu.Lock()
	if len(l.samples) < maxSamples {
		l.samples = append(l.samples, fmt.Sprintf(format, args...))
	}
	l.mu.Unlock()
}

// run loads the server for the duration and returns what was measured.
func (l *load) run(ctx context.Context) result {
	ctx, cancel := context.WithTimeout(ctx, l.o.duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range l.o.clients {
		wg.Go(func() { l.clientLoop(ctx, uint64(i)) })
	}
	for range l.o.watchers {
		wg.Go(func() { l.watchLoop(ctx) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.lat)
	for _, v := range l.byOp {
		slices.Sort(v)
	}
	return result{elapsed: elapsed, requests: l.requests.Load(), errors: l.errors.Load(), submits: l.submits.Load(),
		events: l.events.Load(), reconnects: l.reconnects.Load(), lat: l.lat, byOp: l.byOp, samples: l.samples}
}

// ended says whether err is the end of the duration rather than a
// failure of the server.
func ended(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

func (l *load) clientLoop(ctx context.Context, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5e4e))
	for ctx.Err() == nil {
		var method, path, token, op string
		var body []byte
		want := http.StatusOK
		switch p := rng.Float64(); {
		case l.spec != nil && p < l.o.submitShare:
			method, path, token, body, want = "POST", "/api/v1/runs?name=serveload.yaml", l.o.submitToken, l.spec, http.StatusCreated
			op = "POST /api/v1/runs"
		case p < 0.45:
			method, path, token = "GET", "/api/v1/runs?limit=20", l.o.token
			op = "GET /api/v1/runs"
		case p < 0.85 && len(l.ids) > 0:
			method, path, token = "GET", "/api/v1/runs/"+url.PathEscape(l.ids[rng.IntN(len(l.ids))]), l.o.token
			op = "GET /api/v1/runs/{id}"
		default:
			method, path = "GET", "/healthz"
			op = "GET /healthz"
		}
		rctx, cancel := context.WithTimeout(ctx, l.o.timeout)
		req, err := l.request(rctx, method, path, token, body)
		if err != nil {
			cancel()
			l.fail("%s %s: %v", method, path, err)
			return
		}
		t0 := time.Now()
		resp, err := l.client.Do(req)
		if err != nil {
			cancel()
			if ended(ctx, err) {
				return
			}
			l.fail("%s %s: %v", method, path, err)
			continue
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		cancel()
		if err != nil && ended(ctx, err) {
			return
		}
		l.observe(op, d)
		if method == "POST" {
			l.submits.Add(1)
		}
		if resp.StatusCode != want || err != nil {
			l.fail("%s %s: %s (%v)", method, path, resp.Status, err)
		}
		if l.o.think > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(rng.Float64() * 2 * float64(l.o.think))):
			}
		}
	}
}

// watchLoop follows the run's events like an EventSource: it reconnects
// with Last-Event-ID after each stream ends, waiting the retry time.
func (l *load) watchLoop(ctx context.Context) {
	var last int64
	first := true
	for ctx.Err() == nil {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-time.After(l.o.retry):
			}
			l.reconnects.Add(1)
		}
		first = false
		path := "/api/v1/runs/" + url.PathEscape(l.watch) + "/events"
		// The time limit is on the answer's headers; the stream itself
		// lasts as long as the run.
		sctx, scancel := context.WithCancel(ctx)
		req, err := l.request(sctx, "GET", path, l.o.token, nil)
		if err != nil {
			scancel()
			l.fail("GET %s: %v", path, err)
			return
		}
		req.Header.Set("Accept", "text/event-stream")
		if last > 0 {
			req.Header.Set("Last-Event-ID", strconv.FormatInt(last, 10))
		}
		t0 := time.Now()
		timer := time.AfterFunc(l.o.timeout, scancel)
		resp, err := l.client.Do(req)
		inTime := timer.Stop()
		if err != nil {
			scancel()
			if ended(ctx, err) {
				return
			}
			if !inTime {
				err = fmt.Errorf("no answer within %s", l.o.timeout)
			}
			l.fail("GET %s: %v", path, err)
			continue
		}
		l.observe("GET /api/v1/runs/{id}/events (to headers)", time.Since(t0))
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			scancel()
			l.fail("GET %s: %s", path, resp.Status)
			continue
		}
		seq, _, err := l.readStream(resp.Body, last)
		resp.Body.Close()
		scancel()
		last = seq
		// A stream that closes without its end event is the server
		// saying "come back" (its watch failed, or the run is still
		// going): the watcher reconnects with Last-Event-ID, as an
		// EventSource does; readStream checks that no event is lost.
		if err != nil && !ended(ctx, err) {
			l.fail("GET %s: reading the stream: %v", path, err)
		}
	}
}

// readStream reads events until the stream ends, checking that their ids
// follow after; it returns the last id and whether the end event came.
func (l *load) readStream(r io.Reader, after int64) (int64, bool, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	last := after
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			n, err := strconv.ParseInt(line[4:], 10, 64)
			if err != nil {
				return last, false, fmt.Errorf("bad id line %q", line)
			}
			if n <= last {
				return last, false, fmt.Errorf("event %d after %d: resumed at the wrong place", n, last)
			}
			last = n
			l.events.Add(1)
		case line == "event: end":
			return last, true, nil
		}
	}
	return last, false, sc.Err()
}

type result struct {
	elapsed                                       time.Duration
	requests, errors, submits, events, reconnects int64
	lat                                           []time.Duration
	byOp                                          map[string][]time.Duration
	samples                                       []string
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (r result) print(w io.Writer, o options) {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }
	fmt.Fprintf(w, "serveload: %d clients (think %s), %d watchers, %s against %s\n", o.clients, o.think, o.watchers, r.elapsed.Round(time.Millisecond), o.url)
	fmt.Fprintf(w, "requests    %d (%.0f/s, %d submits)\n", r.requests, float64(r.requests)/r.elapsed.Seconds(), r.submits)
	fmt.Fprintf(w, "errors      %d\n", r.errors)
	var maxLat time.Duration
	if len(r.lat) > 0 {
		maxLat = r.lat[len(r.lat)-1]
	}
	fmt.Fprintf(w, "latency     p50 %s  p90 %s  p99 %s  max %s\n", ms(percentile(r.lat, 0.5)), ms(percentile(r.lat, 0.9)), ms(percentile(r.lat, 0.99)), ms(maxLat))
	ops := make([]string, 0, len(r.byOp))
	for op := range r.byOp {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for _, op := range ops {
		v := r.byOp[op]
		fmt.Fprintf(w, "  %-46s n %-7d p50 %s  p99 %s  max %s\n", op, len(v), ms(percentile(v, 0.5)), ms(percentile(v, 0.99)), ms(v[len(v)-1]))
	}
	fmt.Fprintf(w, "sse events  %d\n", r.events)
	fmt.Fprintf(w, "reconnects  %d\n", r.reconnects)
}
