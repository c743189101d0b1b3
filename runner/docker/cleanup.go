package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
)

var (
	cerrdefsIsNotFound = cerrdefs.IsNotFound
	normalizeArch      = benchrig.NormalizeArch
)

// removalWaitMax bounds how long a trial waits for earlier removals before
// its start; past it, the trial starts anyway (and removal_wait_s says so).
const removalWaitMax = 10 * time.Second

// remove force-removes a container; one already gone is not an error.
func (e *Executor) remove(ctx context.Context, id string) error {
	_, err := e.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		e.mu.Lock()
		e.unremoved[id] = err
		e.mu.Unlock()
		return err
	}
	e.mu.Lock()
	delete(e.unremoved, id)
	e.mu.Unlock()
	return nil
}

// removeNow removes a container best-effort on a short context of its own:
// the caller's may be cancelled already, and the engine may be gone. A
// failure is kept for Reap and Close.
func (e *Executor) removeNow(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_ = e.remove(ctx, id)
}

// exitGrace is how long a container whose result was read is given to exit
// by itself before its removal kills it: the shim prints its result line,
// then exits within milliseconds, but a loaded engine may take longer, and
// a container killed there would show as "die (exit 137)" in the run's
// container events although its trial succeeded.
const exitGrace = 2 * time.Second

// awaitExit waits, at most exitGrace, for container id to stop running.
func (e *Executor) awaitExit(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), exitGrace)
	defer cancel()
	wait := e.cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-wait.Result:
	case <-wait.Error:
	case <-ctx.Done():
	}
}

// removeLater removes a container in the background, once it has exited
// (or exitGrace has passed); the next trial's
// start waits for it (waitRemovals) and Close waits for all.
func (e *Executor) removeLater(id string) {
	done := make(chan struct{})
	e.mu.Lock()
	e.pending[id] = done
	e.mu.Unlock()
	e.removals.Add(1)
	go func() {
		defer e.removals.Done()
		e.awaitExit(id)
		e.removeNow(id)
		e.mu.Lock()
		delete(e.pending, id)
		e.mu.Unlock()
		close(done)
	}()
}

// waitRemovals waits for the removals pending now, so that none overlaps
// the command about to start; it returns how long it waited.
func (e *Executor) waitRemovals(ctx context.Context) time.Duration {
	e.mu.Lock()
	if e.inflight > 1 {
		// Other trials run on this node: removals overlap their commands
		// whatever this one does, so waiting would only delay its start.
		e.mu.Unlock()
		return 0
	}
	chans := make([]chan struct{}, 0, len(e.pending))
	for _, ch := range e.pending {
		chans = append(chans, ch)
	}
	e.mu.Unlock()
	if len(chans) == 0 {
		return 0
	}
	t0 := time.Now()
	limit := time.NewTimer(removalWaitMax)
	defer limit.Stop()
	for _, ch := range chans {
		select {
		case <-ch:
		case <-limit.C:
			return time.Since(t0)
		case <-ctx.Done():
			return time.Since(t0)
		}
	}
	return time.Since(t0)
}

// RemoveRun force-removes every container of run runID on this node (any
// owner's: used when a run is cancelled) and returns how many it removed.
func (e *Executor) RemoveRun(ctx context.Context, runID string) (int, error) {
	if runID == "" {
		return 0, e.invalid("remove run: no run ID")
	}
	return e.removeWhere(ctx, runner.LabelRun+"="+runID, nil)
}

// Reap force-removes the containers that benchrig processes on this host
// left behind when they died (their benchrig.owner names a pid that is
// gone, or one whose start time differs), and those this executor failed
// to remove earlier. Containers of live owners, and of owners on other
// hosts, are left alone. It returns how many it removed.
func (e *Executor) Reap(ctx context.Context) (int, error) {
	host, _ := os.Hostname()
	n, err := e.removeWhere(ctx, runner.LabelOwner, func(labels map[string]string) bool {
		return ownerDead(labels[runner.LabelOwner], e.owner, host, "/proc")
	})
	e.mu.Lock()
	ids := keys(e.unremoved)
	e.mu.Unlock()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, id := range ids {
		if rerr := e.remove(ctx, id); rerr != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", short(id), rerr))
		} else {
			n++
		}
	}
	return n, errors.Join(errs...)
}

func (e *Executor) removeWhere(ctx context.Context, label string, keep func(map[string]string) bool) (int, error) {
	list, err := e.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", label)})
	if err != nil {
		return 0, e.apiErr(ctx, "list containers", err)
	}
	n := 0
	var errs []error
	for _, c := range list.Items {
		if keep != nil && !keep(c.Labels) {
			continue
		}
		if err := e.remove(ctx, c.ID); err != nil {
			errs = append(errs, e.apiErr(ctx, "remove container "+short(c.ID), err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// ownerDead reports whether owner ("host/pid/start") is a benchrig process
// on this host that no longer runs.
func ownerDead(owner, self, host, procRoot string) bool {
	if owner == "" || owner == self {
		return false
	}
	parts := strings.Split(owner, "/")
	if len(parts) != 3 || parts[0] != host {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return false
	}
	start, err := procStart(procRoot, pid)
	if err != nil {
		return os.IsNotExist(err)
	}
	return start != parts[2]
}

// procStart returns a process's start time (field 22 of /proc/pid/stat,
// clock ticks since boot) as a string.
func procStart(procRoot string, pid int) (string, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", fmt.Errorf("%s/%d/stat: no command", procRoot, pid)
	}
	f := strings.Fields(s[i+1:])
	// After ")": state is field 3, so starttime (22) is f[19].
	if len(f) < 20 {
		return "", fmt.Errorf("%s/%d/stat: too short", procRoot, pid)
	}
	return f[19], nil
}
