// Package labshim gives the lab's integration tests the Docker executor's
// timing shims for every architecture the lab has, built once per test
// binary. (runner/docker's own tests build theirs in TestMain: they cannot
// import this package, which imports theirs.)
package labshim

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/benchrig/benchrig/runner/docker"
)

// Archs are the architectures of the lab's nodes.
var Archs = []string{"amd64", "arm64"}

var (
	once sync.Once
	path string
	err  error
)

// Dir returns a directory with the timing shims for Archs:
// $BENCHRIG_SHIM_DIR when it has them all (make build), else built here
// into a temporary directory, once per process. A build failure fails t.
func Dir(t testing.TB) string {
	t.Helper()
	once.Do(func() { path, err = dir() })
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func dir() (string, error) {
	if d := os.Getenv("BENCHRIG_SHIM_DIR"); d != "" && hasAll(d) {
		return d, nil
	}
	d, err := os.MkdirTemp("", "benchrig-shims-")
	if err != nil {
		return "", err
	}
	for _, arch := range Archs {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(d, docker.ShimName(arch)), "github.com/benchrig/benchrig/runner/docker/shim")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build shim for %s: %v\n%s", arch, err, out)
		}
	}
	return d, nil
}

// hasAll reports whether d holds the shim of every one of Archs.
func hasAll(d string) bool {
	for _, arch := range Archs {
		if _, err := os.Stat(filepath.Join(d, docker.ShimName(arch))); err != nil {
			return false
		}
	}
	return true
}
