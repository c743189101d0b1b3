package docker

import (
	"encoding/json"
	"io"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner/docker/internal/shimrun"
)

// TestShimRun runs the shim's logic in-process on local child processes
// (not as PID 1: no orphan reaping, no killing of everything else).
func TestShimRun(t *testing.T) {
	tests := []struct {
		name       string
		argv       []string
		timeout    time.Duration
		tail       int
		exit       int
		err        string
		stdout     int64
		stderr     int64
		tailSuffix string
		tailLen    int
		maxWall    time.Duration
	}{
		{name: "true", argv: []string{"true"}, exit: 0},
		{name: "bytes exit and tail", argv: []string{"sh", "-c", "echo hi; echo err >&2; exit 3"}, exit: 3, stdout: 3, stderr: 4, tailSuffix: "err\n", tailLen: 4},
		{name: "large output counted", argv: []string{"sh", "-c", "head -c 1000000 /dev/zero; head -c 70000 /dev/zero >&2; echo END >&2"}, stdout: 1000000, stderr: 70004, tailSuffix: "END\n", tailLen: 4096},
		{name: "short tail", argv: []string{"sh", "-c", "echo abcdefgh >&2"}, tail: 4, stderr: 9, tailSuffix: "fgh\n", tailLen: 4},
		{name: "timeout kills the group", argv: []string{"sh", "-c", "sleep 10 & sleep 10"}, timeout: 200 * time.Millisecond, exit: -1, err: "timeout", maxWall: 3 * time.Second},
		{name: "signal", argv: []string{"sh", "-c", "kill -9 $$"}, exit: -1, err: "signal: killed"},
		{name: "missing program", argv: []string{"no-such-program-benchrig"}, exit: -1, err: "start: no-such-program-benchrig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Now()
			r := shimrun.Run(shimrun.Options{Argv: tt.argv, Timeout: tt.timeout, TailBytes: tt.tail, CgroupRoot: cgroupFixtures + "container-v2"})
			took := time.Since(t0)
			if r.Version != shimrun.FormatVersion || r.ExitCode != tt.exit || r.Error != tt.err && !(tt.err != "" && strings.HasPrefix(r.Error, tt.err)) {
				t.Fatalf("exit %d error %q, want %d %q", r.ExitCode, r.Error, tt.exit, tt.err)
			}
			if r.StdoutBytes != tt.stdout || r.StderrBytes != tt.stderr {
				t.Errorf("stdout %d stderr %d bytes, want %d %d", r.StdoutBytes, r.StderrBytes, tt.stdout, tt.stderr)
			}
			if tt.tailLen > 0 && (len(r.StderrTail) != tt.tailLen || !strings.HasSuffix(r.StderrTail, tt.tailSuffix)) {
				t.Errorf("tail %q (%d bytes), want %d bytes ending %q", r.StderrTail, len(r.StderrTail), tt.tailLen, tt.tailSuffix)
			}
			if tt.err == "" || tt.err == "timeout" || strings.HasPrefix(tt.err, "signal") {
				if r.Wall <= 0 || time.Duration(r.Wall) > took || r.StartUnix < r.ShimStart {
					t.Errorf("wall %v (call took %v), start %d shim start %d", time.Duration(r.Wall), took, r.StartUnix, r.ShimStart)
				}
			}
			if tt.timeout > 0 && (time.Duration(r.Wall) < tt.timeout || took > tt.maxWall) {
				t.Errorf("timeout %v: wall %v, call took %v", tt.timeout, time.Duration(r.Wall), took)
			}
			if r.Leftover != -1 {
				t.Errorf("leftover %d outside init mode, want -1 (unknown)", r.Leftover)
			}
			if r.Cgroup == nil || r.Cgroup.Version != 2 || r.ShimMaxRSS <= 0 {
				t.Errorf("cgroup %+v shim maxrss %d", r.Cgroup, r.ShimMaxRSS)
			}
		})
	}
}

// TestShimRunDigest checks that the shim digests stdout only when asked,
// and that its result line carries the digest to the executor intact.
func TestShimRunDigest(t *testing.T) {
	argv := []string{"sh", "-c", `printf '1 C\n \n'; head -c 70000 /dev/zero`}
	if r := shimrun.Run(shimrun.Options{Argv: argv}); r.Stdout != nil {
		t.Errorf("digest %+v without DigestStdout", r.Stdout)
	}
	r := shimrun.Run(shimrun.Options{Argv: argv, DigestStdout: true})
	d := r.Stdout
	if d == nil {
		t.Fatal("no digest with DigestStdout")
	}
	if d.Bytes != 70006 || d.Lines != 3 || d.BlankLines != 1 || len(d.Head) != benchrig.HeadMax || !d.Truncated() {
		t.Fatalf("digest of %d bytes, %d lines, %d blank, a %d-byte head; want 70006, 3, 1 and a truncated 64 KiB head", d.Bytes, d.Lines, d.BlankLines, len(d.Head))
	}
	line, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	back, err := shimrun.Parse(line)
	if err != nil || !reflect.DeepEqual(back.Stdout, d) {
		t.Errorf("the digest did not survive the result line (%v)", err)
	}
}

// TestShimRunCPU checks that the child's CPU time is measured: about what
// the same loop costs when this test runs it itself (a yardstick taken
// here and now, not a number of milliseconds from one machine).
func TestShimRunCPU(t *testing.T) {
	const loop = "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"
	ref := exec.Command("sh", "-c", loop)
	if err := ref.Run(); err != nil {
		t.Fatal(err)
	}
	refCPU := int64(ref.ProcessState.UserTime() + ref.ProcessState.SystemTime())
	r := shimrun.Run(shimrun.Options{Argv: []string{"sh", "-c", loop}})
	cpu := r.User + r.Sys
	t.Logf("shim: cpu %v wall %v; the loop run here: cpu %v", time.Duration(cpu), time.Duration(r.Wall), time.Duration(refCPU))
	if r.ExitCode != 0 || refCPU <= 0 || cpu < refCPU/2 || cpu > refCPU*2+int64(20*time.Millisecond) || cpu > r.Wall*11/10+int64(10*time.Millisecond) || r.MaxRSS <= 0 {
		t.Errorf("user %v sys %v wall %v maxrss %d; want cpu about the loop's own %v, within the wall", time.Duration(r.User), time.Duration(r.Sys), time.Duration(r.Wall), r.MaxRSS, time.Duration(refCPU))
	}
}

// TestShimRunHold holds the command until a line arrives: it starts after
// the release, and the wait is Held, not Setup.
func TestShimRunHold(t *testing.T) {
	pr, pw := io.Pipe()
	done := make(chan shimrun.Result, 1)
	go func() {
		done <- shimrun.Run(shimrun.Options{Argv: []string{"true"}, Hold: pr})
	}()
	// The write returns once the shim has read the line: it is waiting.
	released := time.Now()
	if _, err := pw.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.ExitCode != 0 || r.Error != "" {
		t.Fatalf("exit %d error %q", r.ExitCode, r.Error)
	}
	if r.StartUnix < released.UnixNano() {
		t.Errorf("command started %v before the release", time.Duration(released.UnixNano()-r.StartUnix))
	}
	if r.Held <= 0 || r.Setup < 0 || r.Setup > r.Held+int64(time.Since(released)) {
		t.Errorf("held %v setup %v: want the wait in Held, not in Setup", time.Duration(r.Held), time.Duration(r.Setup))
	}
}
