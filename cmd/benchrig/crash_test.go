package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/sqlite"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// benchrigBinary builds the benchrig command once per test process, for
// tests that need a real process to kill.
func benchrigBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "benchrig-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "benchrig")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// waitFor polls cond until it holds or the deadline passes. It is for
// conditions only another process can change (a store it writes, a
// heartbeat going stale), where no event reaches this process.
func waitFor(t *testing.T, what string, deadline time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s", deadline, what)
		}
		<-tick.C
	}
}

// latestRun reads the newest run of the store at path, or nil.
func latestRun(t *testing.T, path string) *benchrig.Run {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	run, err := db.GetRun(context.Background(), "latest")
	if benchrig.ErrorCode(err) == benchrig.ENotFound {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// startKilled starts a real benchrig run of spec in c's directory, waits
// until it recorded at least n trials, and kills it with SIGKILL: no
// deferred function, no signal handler runs.
func startKilled(t *testing.T, c *cli, n int, args ...string) *benchrig.Run {
	t.Helper()
	store := filepath.Join(c.dir, "store.db")
	cmd := exec.Command(benchrigBinary(t), append([]string{"run", "-q"}, args...)...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "BENCHRIG_STORE="+store)
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitFor(t, fmt.Sprintf("%d recorded trials", n), 60*time.Second, func() bool {
		select {
		case err := <-exited:
			t.Fatalf("benchrig exited before it was killed: %v\n%s", err, out.String())
		default:
		}
		r := latestRun(t, store)
		return r != nil && len(r.Trials) >= n
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	return latestRun(t, store)
}

// A run whose process is killed with SIGKILL shows as interrupted once its
// heartbeat is stale, keeps every finished trial, and runs resume
// completes it with exactly the planned trials.
func TestCrashThenResume(t *testing.T) {
	// Not parallel: its resume runs a local executor in this process, and
	// two local executors at once in one process once left a trial cgroup
	// busy (EBUSY on removal); a benchrig process has one.
	c := newCLI(t)
	spec := c.write("slow.yaml", `name: crash
command: "sleep 0.{{.n}}"
params:
  n: [1, 2]
repeat: 6
warmup: 1
`)
	killed := startKilled(t, c, 4, spec)
	kept := len(killed.Trials)
	if killed.Status != benchrig.RunRunning {
		t.Fatalf("right after the kill: status %s, want running (its heartbeat is fresh)", killed.Status)
	}
	var list string
	waitFor(t, "runs list to show the run interrupted", benchrig.HeartbeatStale+20*time.Second, func() bool {
		_, list, _ = c.run(context.Background(), "runs", "list")
		return strings.Contains(list, "interrupted")
	})
	if !strings.Contains(list, killed.ID) {
		t.Errorf("runs list:\n%s", list)
	}
	_, show, _ := c.run(context.Background(), "runs", "show", killed.ID)
	if !strings.Contains(show, "interrupted") || !strings.Contains(show, "benchrig runs resume "+killed.ID) {
		t.Errorf("runs show:\n%s", show)
	}
	after := latestRun(t, filepath.Join(c.dir, "store.db"))
	if len(after.Trials) != kept {
		t.Errorf("%d trials after marking it interrupted, %d before", len(after.Trials), kept)
	}

	code, out, errOut := c.run(context.Background(), "runs", "resume", "-q", killed.ID)
	if code != 0 {
		t.Fatalf("resume exit %d\n%s\n%s", code, out, errOut)
	}
	done := latestRun(t, filepath.Join(c.dir, "store.db"))
	if done.ID != killed.ID || done.Status != benchrig.RunFinished {
		t.Errorf("after resume: run %s %s", done.ID, done.Status)
	}
	if len(done.Trials) != 2*(1+6) {
		t.Errorf("%d trials after resume, want exactly the 14 planned", len(done.Trials))
	}
	seen := map[string]bool{}
	for _, tr := range done.Trials {
		key := fmt.Sprintf("%s#%d", tr.CaseID, tr.Index)
		if seen[key] {
			t.Errorf("repetition %s recorded twice", key)
		}
		seen[key] = true
		if tr.Failed() {
			t.Errorf("trial %s failed: %s", key, tr.Error)
		}
	}
	// The event log tells the story: two starts, one finish.
	_, events, _ := c.run(context.Background(), "runs", "events", killed.ID, "--json")
	kinds := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(events), "\n") {
		var e struct{ Kind string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("events line %q: %v", line, err)
		}
		kinds[e.Kind]++
	}
	if kinds["run-started"] != 2 || kinds["run-finished"] != 1 || kinds["trial-finished"] < 14-kept {
		t.Errorf("event kinds %v", kinds)
	}
	// Resuming a finished run is refused with exit 2.
	if code, _, errOut := c.run(context.Background(), "runs", "resume", killed.ID); code != 2 || !strings.Contains(errOut, "finished") {
		t.Errorf("resume of a finished run: exit %d\n%s", code, errOut)
	}
}

// Resume refuses a spec file that changed since, unless --force.
func TestResumeRefusesAChangedSpec(t *testing.T) {
	// Not parallel, as TestCrashThenResume.
	c := newCLI(t)
	spec := c.write("slow.yaml", "name: crash2\ncommand: \"sleep 0.1\"\nrepeat: 8\nwarmup: 0\n")
	killed := startKilled(t, c, 2, spec)
	waitFor(t, "the run to read as interrupted", benchrig.HeartbeatStale+20*time.Second, func() bool {
		return latestRun(t, filepath.Join(c.dir, "store.db")).Status == benchrig.RunInterrupted
	})
	c.write("slow.yaml", "name: crash2\ncommand: \"sleep 0.1\"\nrepeat: 9\nwarmup: 0\n")
	code, _, errOut := c.run(context.Background(), "runs", "resume", "-q", killed.ID)
	if code != 2 || !strings.Contains(errOut, "changed since run "+killed.ID) || !strings.Contains(errOut, "--force") {
		t.Fatalf("resume of a changed spec: exit %d\n%s", code, errOut)
	}
	if code, out, errOut := c.run(context.Background(), "runs", "resume", "-q", "--force", killed.ID); code != 0 {
		t.Fatalf("resume --force: exit %d\n%s\n%s", code, out, errOut)
	}
	if done := latestRun(t, filepath.Join(c.dir, "store.db")); len(done.Trials) != 8 || done.Status != benchrig.RunFinished {
		t.Errorf("after resume --force: %d trials, %s; want the recorded spec's 8, finished", len(done.Trials), done.Status)
	}
}

// runContainers lists the containers of run runID on a lab node, with
// their labels.
func runContainers(t *testing.T, host, runID string) []map[string]string {
	t.Helper()
	out, err := exec.Command("docker", "-H", host, "ps", "-a", "--filter", "label=benchrig.run="+runID, "--format", "{{json .Labels}}").CombinedOutput()
	if err != nil {
		t.Fatalf("docker -H %s ps: %v\n%s", host, err, out)
	}
	var all []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var s string
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("labels %q: %v", line, err)
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(s, ",") {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = v
		}
		all = append(all, labels)
	}
	return all
}

// A lab run killed with SIGKILL leaves its containers on its nodes; once
// the run reads as interrupted, they are gone.
func TestLabCrashRemovesItsContainers(t *testing.T) {
	needLab(t)
	t.Parallel()
	c := labCLI(t, map[string]string{"lab1": labNodes["lab1"]})
	spec := c.write("slow.yaml", "name: lab-crash\ncommand: \"sleep 0.5\"\nrepeat: 20\nwarmup: 0\nimage: 'benchrig/busybox:{{.arch}}'\n")
	killed := startKilled(t, c, 2, spec, "--pool", "lab")
	host := labNodes["lab1"]
	t.Logf("containers of the killed run right after the kill: %d", len(runContainers(t, host, killed.ID)))
	waitFor(t, "runs list to show the run interrupted", benchrig.HeartbeatStale+20*time.Second, func() bool {
		_, list, _ := c.run(context.Background(), "runs", "list")
		return strings.Contains(list, "interrupted")
	})
	if left := runContainers(t, host, killed.ID); len(left) > 0 {
		t.Errorf("containers of the interrupted run left on lab1: %v", left)
	}
}

// The labels of a trial's container name the trial the store records.
func TestLabContainerLabelsNameTheStoredTrial(t *testing.T) {
	needLab(t)
	t.Parallel()
	c := labCLI(t, map[string]string{"lab1": labNodes["lab1"]})
	spec := c.write("labels.yaml", "name: lab-labels\ncommand: \"sleep 0.4\"\nparams:\n  n: [a, b]\nrepeat: 3\nwarmup: 1\nimage: 'benchrig/busybox:{{.arch}}'\n")
	// Watch lab1 for this test's containers while the run goes on.
	seen := map[string]map[string]string{} // trial label -> labels
	ctx, stop := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			out, err := exec.Command("docker", "-H", labNodes["lab1"], "ps", "-a", "--filter", "label=benchrig.spec=lab-labels", "--format", "{{.Label \"benchrig.trial\"}}|{{.Label \"benchrig.run\"}}|{{.Label \"benchrig.case\"}}").Output()
			if err == nil {
				for _, line := range strings.Fields(string(out)) {
					p := strings.Split(line, "|")
					if len(p) == 3 {
						seen[p[0]] = map[string]string{"run": p[1], "case": p[2]}
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}()
	code, out, errOut := c.run(context.Background(), "run", "-q", spec, "--pool", "lab")
	stop()
	<-watched
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	run := latestRun(t, filepath.Join(c.dir, "store.db"))
	stored := map[string]benchrig.Trial{}
	for _, tr := range run.Trials {
		stored[tr.Ref().String()] = tr
	}
	matched := 0
	for label, l := range seen {
		if label == "setup" || label == "cleanup" {
			continue
		}
		tr, ok := stored[label]
		if !ok {
			t.Errorf("a container labelled trial %q (run %s, case %s) is not a stored trial", label, l["run"], l["case"])
			continue
		}
		if l["run"] != tr.RunID || l["case"] != tr.CaseID {
			t.Errorf("container of %s labelled run %s case %s; the store has run %s case %s", label, l["run"], l["case"], tr.RunID, tr.CaseID)
		}
		matched++
	}
	if matched == 0 {
		t.Fatalf("saw no trial container during the run (seen %v)", seen)
	}
	t.Logf("%d of %d stored trials seen as containers, every one labelled as stored", matched, len(stored))
}
