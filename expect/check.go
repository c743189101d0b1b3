package expect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/benchrig/benchrig"
)

// DefaultCheckTimeout bounds a check command that says nothing about its
// own time: a check reads at most 64 KiB and should take milliseconds, so
// one that runs a minute is stuck, not slow.
const DefaultCheckTimeout = time.Minute

// checkTail is how much of a failed check's output its reason keeps.
const checkTail = 1024

// CheckJob is one run of a spec's check command.
type CheckJob struct {
	Name  string   // the command as the spec expands it, for reasons
	Argv  []string // a shell check arrives as ["/bin/sh", "-c", script]
	Env   []string // KEY=VALUE, the trial job's plus BENCHRIG_STDOUT_*
	Dir   string   // "" means the current directory
	Stdin []byte   // the trial's kept stdout
	// Timeout kills the check after this long; 0 means DefaultCheckTimeout.
	Timeout time.Duration
}

// CheckResult is how a check command ended.
type CheckResult struct {
	// ExitCode is -1 when the check did not exit by itself (Error says why).
	ExitCode int
	// Error is why the check did not run to an exit: "start: ...",
	// "timeout", "signal: ...". Empty for a check that exited.
	Error string
	// Output is the tail of its stderr, or of its stdout when stderr was
	// empty: what it said about the trial's output.
	Output string
}

// CheckRunner runs check commands. RunCheck may be called from several
// goroutines at once; cancelling ctx kills the check and returns promptly
// with Error "cancelled". err is reserved for failures of the runner
// itself, not of the check.
type CheckRunner interface {
	RunCheck(ctx context.Context, job CheckJob) (CheckResult, error)
}

// RunFunc adapts a function to a CheckRunner.
type RunFunc func(ctx context.Context, job CheckJob) (CheckResult, error)

// RunCheck calls f.
func (f RunFunc) RunCheck(ctx context.Context, job CheckJob) (CheckResult, error) { return f(ctx, job) }

var _ CheckRunner = RunFunc(nil)

// Exec runs check commands as child processes on this host.
var Exec CheckRunner = RunFunc(execCheck)

func execCheck(ctx context.Context, job CheckJob) (CheckResult, error) {
	res := CheckResult{ExitCode: -1}
	if len(job.Argv) == 0 {
		return res, errors.New("check has no command")
	}
	timeout := job.Timeout
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, job.Argv[0], job.Argv[1:]...)
	cmd.Env, cmd.Dir = job.Env, job.Dir
	cmd.Stdin = bytes.NewReader(job.Stdin)
	var stdout, stderr tail
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A grandchild holding the pipes must not hold the trial's verdict.
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	res.Output = stderr.String()
	if strings.TrimSpace(res.Output) == "" {
		res.Output = stdout.String()
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		res.ExitCode = 0
	case ctx.Err() != nil:
		res.Error = benchrig.ReasonCancelled
	case cctx.Err() != nil:
		res.Error = benchrig.ReasonTimeout + " after " + timeout.String()
	case errors.As(err, &ee) && ee.Exited():
		res.ExitCode = ee.ExitCode()
	case errors.As(err, &ee):
		res.Error = ee.Error() // "signal: killed"
	default:
		res.Error = "start: " + err.Error()
	}
	return res, nil
}

// tail keeps the last checkTail bytes written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - checkTail; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	b := t.b
	for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
		b = b[1:]
	}
	return strings.TrimSpace(string(b))
}

// RunCheck runs r's check command on the trial's stdout, when r has one,
// with the digest in its environment: BENCHRIG_STDOUT_BYTES, _LINES,
// _BLANK_LINES, _SHA256 and BENCHRIG_STDOUT_TRUNCATED (1 when its stdin
// holds only the first 64 KiB). A non-zero exit is wrong output; a check
// that could not run to an exit (missing, killed, timed out) is an
// executor error, since the output was not judged. Call it after Check
// passed.
func RunCheck(ctx context.Context, run CheckRunner, r *Rules, m benchrig.Measurement) (benchrig.Outcome, string) {
	if r.Check == nil {
		return benchrig.OutcomeOK, ""
	}
	d := m.Stdout
	if d == nil {
		return benchrig.OutcomeExecutor, "the executor measured no stdout digest, which the check command needs"
	}
	job := *r.Check
	job.Stdin = d.Head
	truncated := "0"
	if d.Truncated() {
		truncated = "1"
	}
	job.Env = append(cloneEnv(job.Env),
		"BENCHRIG_STDOUT_BYTES="+strconv.FormatInt(d.Bytes, 10),
		"BENCHRIG_STDOUT_LINES="+strconv.FormatInt(d.Lines, 10),
		"BENCHRIG_STDOUT_BLANK_LINES="+strconv.FormatInt(d.BlankLines, 10),
		"BENCHRIG_STDOUT_SHA256="+d.SHA256,
		"BENCHRIG_STDOUT_TRUNCATED="+truncated,
	)
	res, err := run.RunCheck(ctx, job)
	switch {
	case err != nil:
		return benchrig.OutcomeExecutor, fmt.Sprintf("check %q: %v", job.Name, err)
	case res.Error == benchrig.ReasonCancelled:
		return benchrig.OutcomeCancelled, benchrig.ReasonCancelled
	case res.Error != "":
		return benchrig.OutcomeExecutor, fmt.Sprintf("check %q did not run to its end: %s", job.Name, res.Error)
	case res.ExitCode != 0:
		reason := fmt.Sprintf("check %q exited %d", job.Name, res.ExitCode)
		if res.Output != "" {
			reason += ": " + res.Output
		}
		if d.Truncated() {
			reason += fmt.Sprintf(" (the check read only the first %s of %s of stdout: no more is kept)", benchrig.FormatBytes(int64(len(d.Head))), benchrig.FormatBytes(d.Bytes))
		}
		return benchrig.OutcomeWrongOutput, reason
	}
	return benchrig.OutcomeOK, ""
}

// cloneEnv copies env so that appending never writes into the rules'
// array, which concurrent trials of the case share.
func cloneEnv(env []string) []string { return append([]string(nil), env...) }
