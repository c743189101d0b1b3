// Package testenv owns one rule of benchrig's tests: a test that cannot run
// on this machine (no Docker lab, not root, a tool not installed) skips
// with the reason, except under CI=true, where `make test` has provisioned
// everything the tests need and a skip would hide a test that never ran:
// there it fails. The few tests CI may skip are listed in mayskip, each with
// why, so that the list is read and argued about in one place.
//
// Use Skip or Skipf instead of t.Skip and t.Skipf (the standard library's
// internal/testenv plays the same part for the go command's own tests).
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mayskip names the tests (top-level, as `go test -run` names them) that
// may skip under CI=true, each with why CI may skip it. Keep it as short
// as honest: a test that needs a service or tool belongs in make testenv,
// not here.
var mayskip = map[string]string{
	"TestBenchTrialCost":        "a measurement, not a test: it prints the cost of a trial and asserts nothing; make bench-docker runs it (BENCHRIG_BENCH=1)",
	"TestBenchCollectorVsStats": "a measurement of a minute on the lab (collector against the Docker stats API); run with BENCHRIG_BENCH=1",
	"TestBenchCollectorTruth":   "a measurement (collector's CPU of a container against cpuacct and docker stats); run with BENCHRIG_BENCH=1",
	"TestServeLoadFull":         "a measurement of a minute (200 API clients and 100 watchers against an in-process server); run with BENCHRIG_BENCH=1",
}

// InCI reports whether the tests run under CI=true.
func InCI() bool { return os.Getenv("CI") == "true" }

// Skip skips t with the reason args, or fails it under CI=true unless
// t's test is listed in mayskip.
func Skip(t testing.TB, args ...any) {
	t.Helper()
	skip(t, fmt.Sprint(args...))
}

// Skipf is Skip with a format.
func Skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	skip(t, fmt.Sprintf(format, args...))
}

func skip(t testing.TB, msg string) {
	t.Helper()
	if !InCI() {
		t.Skip(msg)
		return
	}
	if why, ok := MaySkip(t.Name()); ok {
		t.Skipf("%s (CI may skip it: %s)", msg, why)
		return
	}
	t.Fatalf("%s\nCI=true: a skipped test is a failure here (make testenv provides what the tests need; the tests CI may skip are listed in internal/testenv)", msg)
}

// MaySkip reports whether the test named name (a subtest's name counts as
// its top-level test's) may skip under CI, and why.
func MaySkip(name string) (string, bool) {
	top, _, _ := strings.Cut(name, "/")
	why, ok := mayskip[top]
	return why, ok
}

// hostIOLock is the file LockHostIO locks: one per machine, so that test
// binaries of different packages (go test runs them side by side) see it.
var hostIOLock = filepath.Join(os.TempDir(), "benchrig-test-host-io.lock")

// LockHostIO holds, until t ends, the machine-wide lock of tests that drop
// the page cache or time reads from a block device. Both are host-global:
// one test's drop_caches evicts what another's warm read relies on, and a
// cold read of 200 MB slows another's capped read, wherever the tests run.
// Without the lock, package runner/local's read-cap tests and
// cmd/benchrig's cold-cache benchmark failed now and then side by side.
func LockHostIO(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(hostIOLock, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("host IO lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("host IO lock %s: %v", hostIOLock, err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}

// esLock is the file LockElasticsearch locks, one per machine.
var esLock = filepath.Join(os.TempDir(), "benchrig-test-es.lock")

// LockElasticsearch holds, until t ends, the machine-wide lock of tests
// that use the test Elasticsearch server (BENCHRIG_ES_URL): shared for
// tests that only index and query, exclusive for a test that stops and
// starts the server (BENCHRIG_ES_CTL), so that it never takes the server
// away from another package's test running beside it. A test takes it
// once, in one mode (a second flock in the same process would wait on
// the first).
func LockElasticsearch(t testing.TB, exclusive bool) {
	t.Helper()
	f, err := os.OpenFile(esLock, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("elasticsearch lock: %v", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		t.Fatalf("elasticsearch lock %s: %v", esLock, err)
	}
	t.Cleanup(func() { f.Close() })
}
