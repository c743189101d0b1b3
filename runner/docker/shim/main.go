// Command benchrig-shim is the docker executor's timing shim. It runs as a
// trial container's entrypoint, /.benchrig/shim [flags] -- argv..., and
// times the command itself, so that a trial's Wall excludes the
// container's creation and start. It prints one JSON object (see
// runner/docker/internal/shimrun.Result) on its stdout and nothing else;
// the command's own output goes to counted pipes.
//
// It is static and pure Go, cross-built per architecture:
//
//	CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags='-s -w' \
//	    -o bin/benchrig-shim-linux-$arch ./runner/docker/shim
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/benchrig/benchrig/runner/docker/internal/shimrun"
)

func main() {
	start := time.Now()
	os.Exit(run(start, os.Args[1:]))
}

func run(start time.Time, args []string) int {
	fs := flag.NewFlagSet("benchrig-shim", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 0, "kill the command's process group after this long (0: never)")
	tail := fs.Int("tail", 4096, "bytes of stderr to keep")
	cgroupRoot := fs.String("cgroup-root", "/sys/fs/cgroup", `the container's cgroup mount ("" reads none)`)
	digest := fs.Bool("digest", false, "report a digest of the command's stdout (counts, SHA-256, first 64 KiB)")
	initMode := fs.Bool("init", os.Getpid() == 1, "reap orphans and kill leftovers (default when PID 1)")
	if err := fs.Parse(args); err != nil {
		return 125
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: benchrig-shim [flags] -- command [args...]")
		return 125
	}
	r := shimrun.Run(shimrun.Options{
		Argv:         fs.Args(),
		Timeout:      *timeout,
		TailBytes:    *tail,
		DigestStdout: *digest,
		CgroupRoot:   *cgroupRoot,
		Init:         *initMode,
		ShimStart:    start,
	})
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "benchrig-shim:", err)
		return 125
	}
	return 0
}
