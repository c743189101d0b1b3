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
	"io"
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
	hold := fs.Bool("hold", false, "start the command on a line on stdin, and exit after the result only at stdin's end (a profiler attaches before, and reads the container's files after)")
	if err := fs.Parse(args); err != nil {
		return 125
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: benchrig-shim [flags] -- command [args...]")
		return 125
	}
	o := shimrun.Options{
		Argv:         fs.Args(),
		Timeout:      *timeout,
		TailBytes:    *tail,
		DigestStdout: *digest,
		CgroupRoot:   *cgroupRoot,
		Init:         *initMode,
		ShimStart:    start,
	}
	if *hold {
		o.Hold = os.Stdin
	}
	r := shimrun.Run(o)
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "benchrig-shim:", err)
		return 125
	}
	if *hold {
		// The container, its files and this process stay until the
		// executor has read the profile: /proc/<this pid>/root is where
		// perf finds the binaries that ran.
		_, _ = io.Copy(io.Discard, os.Stdin)
	}
	return 0
}
