// Command benchrig runs benchmark specs and reports honest comparisons.
// This package is the only one that touches the process: arguments,
// environment, standard streams, signals and exit codes. It wires the
// adapters (local executor, SQLite store) into the runner.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
