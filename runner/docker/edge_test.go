package docker

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/benchrig/benchrig"
)

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
	p := newProxy(t, strings.TrimPrefix(host, "tcp://"), "PUT /v")
	e, err := New(Config{Node: "lab1-counted", Host: "tcp://" + p.addr(), ShimDir: testShimDir, Policy: Policy{Devices: true}})
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
