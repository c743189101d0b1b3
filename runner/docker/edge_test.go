package docker

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/benchrig/benchrig"
)

// countingProxy forwards to target and counts, in what the client sends,
// the occurrences of each of the given substrings (request lines).
type countingProxy struct {
	ln     net.Listener
	counts map[string]*atomic.Int64
}

func newCountingProxy(t *testing.T, target string, pats ...string) *countingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln, counts: map[string]*atomic.Int64{}}
	for _, s := range pats {
		p.counts[s] = new(atomic.Int64)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() {
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						for s, ctr := range p.counts {
							ctr.Add(int64(bytes.Count(buf[:n], []byte(s))))
						}
						if _, werr := u.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				u.Close()
			}()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

// Was a bug: a *url.Error implements net.Error, so isTransport is true for a
// call cut by the caller's cancellation: the executor reports a cancelled
// Facts (health check, first contact), Reap or RemoveRun as a lost,
// retryable node.
func TestCancelledIsNotUnavailable(t *testing.T) {
	if isTransport(&url.Error{Op: "Get", URL: "http://10.99.0.11:2375/_ping", Err: context.Canceled}) {
		t.Errorf("isTransport(url.Error{context.Canceled}) = true")
	}
	host := labHost(t, "DOCKER_HOST")
	e := labExecutor(t, "lab1", host, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.Facts(ctx)
	if c := benchrig.ErrorCode(err); c != benchrig.ECancelled {
		t.Errorf("Facts on a cancelled context: code %s (%v), want %s", c, err, benchrig.ECancelled)
	}
}

// Was a bug: waitRemovals makes concurrent trials of one node wait for each
// other's removals before their start, although with max_trials > 1 a
// removal overlaps the other trials' commands anyway.
func TestConcurrentTrialsDoNotWaitForEachOthersRemovals(t *testing.T) {
	host := labHost(t, "DOCKER_HOST")
	e := labExecutor(t, "lab1", host, "")
	const workers, per = 4, 5
	var mu sync.Mutex
	var waited, total float64
	var nwait int
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				m, err := e.Run(context.Background(), job(t, "benchrig/busybox:amd64", "true"))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if w := m.Metrics["removal_wait_s"]; w > 0 {
					waited += w
					nwait++
				}
				total += m.Metrics["trial_total_s"]
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if nwait > 0 {
		t.Errorf("%d of %d concurrent trials waited %.3fs in all for other trials' removals (trial_total_s summed %.3fs)", nwait, workers*per, waited, total)
	}
}

// Was a bug: any start failure that is not a transport error, on the first
// attempt, forgets the node's shim volume and fills it again (a helper
// container and a 2 MB upload) although the volume is fine, and the refill
// replaces /.benchrig/shim (remove, then link) under the trials running
// from it.
func TestBadStartDoesNotRefillTheVolume(t *testing.T) {
	host := labHost(t, "DOCKER_HOST")
	p := newCountingProxy(t, strings.TrimPrefix(host, "tcp://"), "/archive?", "PUT /v")
	e, err := New(Config{Node: "lab1-counted", Host: "tcp://" + p.ln.Addr().String(), ShimDir: testShimDir, Policy: Policy{Devices: true}})
	if err != nil {
		t.Fatal(err)
	}
	runID := testRunID(t)
	t.Cleanup(func() { e.Close(); cleanupRun(host, runID) })
	if m, err := e.Run(context.Background(), job(t, "benchrig/busybox:amd64", "true")); err != nil || m.ExitCode != 0 {
		t.Fatalf("first trial: %v %+v", err, m)
	}
	before := p.counts["PUT /v"].Load()
	j := job(t, "benchrig/busybox:amd64", "true")
	j.Container.Devices = []string{"/dev/benchrig-no-such-device"}
	_, err = e.Run(context.Background(), j)
	t.Logf("bad device: %v (code %s)", err, benchrig.ErrorCode(err))
	if after := p.counts["PUT /v"].Load(); after != before {
		t.Errorf("a trial with a bad device uploaded the shim %d more time(s): the good volume was refilled", after-before)
	}
}
