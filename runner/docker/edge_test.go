package docker

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

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
//
// It flaked under load when the trials were only workers in a loop: they
// drift apart, and a trial that found itself alone on the node (the others
// between two Runs, or done) rightly waited for their removals. So a long
// trial holds the node for the whole test: every short trial then runs
// concurrently with it, and none may wait.
func TestConcurrentTrialsDoNotWaitForEachOthersRemovals(t *testing.T) {
	host := labHost(t, "DOCKER_HOST")
	e := labExecutor(t, "lab1", host, "")
	holdCtx, release := context.WithCancel(context.Background())
	held := make(chan error, 1)
	go func() {
		_, err := e.Run(holdCtx, job(t, "benchrig/busybox:amd64", "sleep", "300"))
		held <- err
	}()
	defer func() {
		release()
		if err := <-held; err != nil {
			t.Errorf("holding trial: %v", err)
		}
	}()
	// In flight once its container exists (a real condition, polled: the
	// engine has no event for us here).
	for end := time.Now().Add(30 * time.Second); countRun(t, host, testRunID(t)) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the holding trial's container never appeared")
		}
	}
	const workers, per = 3, 4
	var mu sync.Mutex
	var waited float64
	var nwait int
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range per {
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
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if nwait > 0 {
		t.Errorf("%d of %d trials running next to another waited %.3fs in all for other trials' removals", nwait, workers*per, waited)
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
	e, err := New(Config{Node: "lab1-counted", Host: "tcp://" + p.addr(), ShimDir: testShimDir, Policy: benchrig.PoolPolicy{Devices: true}})
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

// Was a bug: every executor filled the node's shim volume on its first
// trial, even when the shim was there, and a fill replaces /.benchrig/shim
// (the engine removes the name, then links the new file). Trials of other
// executors and processes starting from the shared volume in that instant
// failed with `exec: "/.benchrig/shim": stat /.benchrig/shim: no such file
// or directory`; the runner took that for a node that cannot run the case
// and gave the case up (CI: lab3's busybox count-c, 0 of 3 trials). Now a
// volume is filled once: by the executor whose create the engine kept, the
// others wait for its shim, and nobody fills a volume holding the shim.
func TestShimVolumeFilledOnce(t *testing.T) {
	host := labHost(t, "DOCKER_HOST")
	// A shim of its own (trailing bytes do not change what an ELF runs),
	// so the volume is new, as on a fresh node.
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(testShimDir, ShimName("amd64")))
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, []byte(testRunID(t)+time.Now().String())...)
	if err := os.WriteFile(filepath.Join(dir, ShimName("amd64")), data, 0o755); err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, strings.TrimPrefix(host, "tcp://"), "PUT /v")
	runID := testRunID(t)
	var volMu sync.Mutex
	var vol string
	t.Cleanup(func() {
		cleanupRun(host, runID)
		if vol != "" {
			_, _ = rawClient(t, host).VolumeRemove(context.Background(), vol, client.VolumeRemoveOptions{Force: true})
		}
	})
	// Executors of several processes first use the node at once; then
	// one more comes when the volume is full.
	const first = 4
	var wg sync.WaitGroup
	run := func() {
		e, err := New(Config{Node: "lab1-counted", Host: "tcp://" + p.addr(), ShimDir: dir})
		if err != nil {
			t.Error(err)
			return
		}
		defer e.Close()
		if m, err := e.Run(context.Background(), job(t, "benchrig/busybox:amd64", "true")); err != nil || m.ExitCode != 0 {
			t.Errorf("trial: %v %+v", err, m)
		}
		if s, err := e.shim("amd64"); err == nil {
			volMu.Lock()
			vol = shimVolumeName(s) // the same for all
			volMu.Unlock()
		}
	}
	start := make(chan struct{})
	for range first {
		wg.Go(func() {
			<-start
			run()
		})
	}
	close(start)
	wg.Wait()
	if n := p.counts["PUT /v"].Load(); n != 1 {
		t.Errorf("%d executors starting at once uploaded the shim %d times, want once", first, n)
	}
	run()
	if n := p.counts["PUT /v"].Load(); n != 1 {
		t.Errorf("an executor arriving at a full volume uploaded the shim again (%d uploads in all)", n)
	}
}
