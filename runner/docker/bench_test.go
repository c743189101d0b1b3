package docker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/benchrig/benchrig/internal/testenv"
)

// TestBenchTrialCost measures what one trial of `true` costs, in one
// session, interleaving rounds of: Executor.Run with the shim volume (the
// default), Executor.Run copying the shim into each container, and
// `docker run --rm --network none` through the CLI. It is a measurement,
// not a timed test: it runs only with BENCHRIG_BENCH=1 and prints a table.
//
//	BENCHRIG_BENCH=1 DOCKER_HOST=tcp://10.99.0.11:2375 go test -run TestBenchTrialCost -v ./runner/docker/
//
// BENCHRIG_BENCH_ROUNDS sets the number of rounds (default 15).
func TestBenchTrialCost(t *testing.T) {
	if os.Getenv("BENCHRIG_BENCH") != "1" {
		testenv.Skip(t, "a measurement, not a test: set BENCHRIG_BENCH=1 to run it")
	}
	host := labHost(t, "DOCKER_HOST")
	rounds := 15
	if s := os.Getenv("BENCHRIG_BENCH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("BENCHRIG_BENCH_ROUNDS=%q", s)
		}
		rounds = n
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal("the docker CLI is needed for the comparison:", err)
	}
	const image = "benchrig/busybox:amd64"
	vol := labExecutor(t, "lab1", host, "")
	cp := labExecutor(t, "lab1", host, "")
	cp.mode = shimCopy
	ctx := context.Background()
	j := job(t, image, "true")
	// Warm up: volume filled, image architecture known, connections open.
	for _, e := range []*Executor{vol, cp} {
		if _, err := e.Run(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	cli := func() time.Duration {
		t0 := time.Now()
		out, err := exec.Command(docker, "-H", host, "run", "--rm", "--network", "none", image, "true").CombinedOutput()
		if err != nil {
			t.Fatalf("docker run: %v\n%s", err, out)
		}
		return time.Since(t0)
	}
	cli()

	var volCall, cpCall, cliCall, shimWall, volTotal, cpTotal, removalWait, volStart, volRun []float64
	for range rounds {
		t0 := time.Now()
		m, err := vol.Run(ctx, j)
		if err != nil || m.ExitCode != 0 {
			t.Fatalf("run: %v %+v", err, m)
		}
		volCall = append(volCall, time.Since(t0).Seconds())
		shimWall = append(shimWall, m.Wall.Seconds())
		volTotal = append(volTotal, m.Metrics["trial_total_s"])
		removalWait = append(removalWait, m.Metrics["removal_wait_s"])
		volStart = append(volStart, m.Metrics["container_start_s"])
		volRun = append(volRun, m.Metrics["container_run_s"])

		t0 = time.Now()
		m, err = cp.Run(ctx, j)
		if err != nil || m.ExitCode != 0 {
			t.Fatalf("run (copy): %v %+v", err, m)
		}
		cpCall = append(cpCall, time.Since(t0).Seconds())
		cpTotal = append(cpTotal, m.Metrics["trial_total_s"])

		cliCall = append(cliCall, cli().Seconds())
	}

	// Back to back, removals included: rounds trials, then Close waits for
	// the last removals.
	b2b, err := New(Config{Node: "lab1", Host: host, ShimDir: testShimDir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b2b.Run(ctx, j); err != nil {
		t.Fatal(err)
	}
	b2b.removals.Wait()
	var b2bWait, b2bCall []float64
	t0 := time.Now()
	for range rounds {
		t1 := time.Now()
		m, err := b2b.Run(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		b2bCall = append(b2bCall, time.Since(t1).Seconds())
		b2bWait = append(b2bWait, m.Metrics["removal_wait_s"])
	}
	if err := b2b.Close(); err != nil {
		t.Fatal(err)
	}
	perTrial := time.Since(t0).Seconds() / float64(rounds)

	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%d rounds, interleaved, on %s\tmedian\tmin\tmax\t\n", rounds, host)
	row := func(name string, xs []float64, unit float64, u string) {
		fmt.Fprintf(tw, "%s\t%.2f %s\t%.2f %s\t%.2f %s\t\n", name, median(xs)*unit, u, slices.Min(xs)*unit, u, slices.Max(xs)*unit, u)
	}
	row("benchrig Run, shim volume (call to return)", volCall, 1e3, "ms")
	row("  of which container_start_s", volStart, 1e3, "ms")
	row("  of which container_run_s (start returned to exit seen)", volRun, 1e3, "ms")
	row("  of which removal_wait_s (previous trial's removal)", removalWait, 1e3, "ms")
	row("  trial_total_s (create to result)", volTotal, 1e3, "ms")
	row("benchrig Run, shim copied per trial (call to return)", cpCall, 1e3, "ms")
	row("  trial_total_s", cpTotal, 1e3, "ms")
	row("docker run --rm --network none (CLI)", cliCall, 1e3, "ms")
	row("shim wall of `true` in the container", shimWall, 1e3, "ms")
	row("back-to-back Run (call to return)", b2bCall, 1e3, "ms")
	row("  of which removal_wait_s (previous trial's removal)", b2bWait, 1e3, "ms")
	fmt.Fprintf(tw, "back-to-back Run, removals included (%d trials + Close)\t%.2f ms/trial\t\t\t\n", rounds, perTrial*1e3)
	fmt.Fprintf(tw, "ratio of medians, benchrig (volume) / CLI\t%.2fx\t\t\t\n", median(volCall)/median(cliCall))
	fmt.Fprintf(tw, "ratio of medians, benchrig (copy) / CLI\t%.2fx\t\t\t\n", median(cpCall)/median(cliCall))
	fmt.Fprintf(tw, "ratio, back-to-back benchrig / CLI median\t%.2fx\t\t\t\n", perTrial/median(cliCall))
	tw.Flush()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
