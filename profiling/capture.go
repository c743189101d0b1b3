package profiling

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Perf captures call stacks with Linux perf: a command runs under
// `perf record`, which follows every process the command starts (the
// whole tree: pipelines, xargs workers), and `perf script` turns the
// recording into stacks. The zero value looks perf up in PATH.
type Perf struct {
	// Path is the perf program; "" means "perf" looked up in PATH.
	Path string
}

// Program is the path of the perf program, looked up in PATH when Path is
// not set.
func (p Perf) Program() (string, error) {
	if p.Path != "" {
		return p.Path, nil
	}
	path, err := exec.LookPath("perf")
	if err != nil {
		return "", fmt.Errorf("perf not found in PATH (Debian: apt-get install linux-perf)")
	}
	return path, nil
}

// Check records event once around `true`, so that a perf that is missing,
// not permitted (perf_event_paranoid) or without the event is known before
// any trial runs. The error says why, in perf's own words where it has
// some. The cost is what that took: perf's fixed start-up and tear-down
// (reading /proc/kallsyms, writing the recording), the least it adds to a
// profiled trial whatever the command.
func (p Perf) Check(ctx context.Context, event string) (Cost, error) {
	path, err := p.Program()
	if err != nil {
		return Cost{}, err
	}
	dir, err := os.MkdirTemp("", "benchrig-perf-check-")
	if err != nil {
		return Cost{}, fmt.Errorf("perf check: %w", err)
	}
	defer os.RemoveAll(dir)
	argv := RecordArgs(path, event, 99, filepath.Join(dir, "perf.data"), []string{"true"})
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		if msg := lastLines(out.String(), 2); msg != "" {
			return Cost{}, fmt.Errorf("%s record -e %s: %s", path, event, msg)
		}
		return Cost{}, fmt.Errorf("%s record -e %s: %w", path, event, err)
	}
	wall := time.Since(start)
	st := cmd.ProcessState
	return Cost{Wall: wall, CPU: st.UserTime() + st.SystemTime()}, nil
}

// Cost is what perf took around a command that does nothing: wall time,
// and CPU time (perf's own, with the command's next to nothing).
type Cost struct {
	Wall, CPU time.Duration
}

// RecordArgs is the command line that runs argv under perf record, sampling
// event at freq Hz with call graphs into file. Quiet (-q): perf's own
// messages would otherwise mix with the command's stderr. --no-bpf-event:
// perf's side-band thread for BPF events polls with a 1 s timeout and
// keeps perf alive up to a second after the command exited (perf 6.1),
// which the trial's wall time would include; trials load no BPF programs.
// -B -N: no build-ids collected after the command (a second pass over the
// recording and every binary it touched, about 70 ms here) and nothing
// copied into ~/.debug; the recording is read at once, while the binaries
// it names are still the ones that ran, and a harness leaves no cache
// behind.
func RecordArgs(perf, event string, freq int, file string, argv []string) []string {
	args := []string{perf, "record", "-q", "--no-bpf-event", "-B", "-N", "-e", event, "-F", strconv.Itoa(freq), "-g", "-o", file, "--"}
	return append(args, argv...)
}

// Read turns a recording into stacks with `perf script`, parsed by
// ParsePerfScript, and counts the samples perf lost (its ring buffer was
// full: --show-lost-events, "PERF_RECORD_LOST lost N" lines, which the
// parser skips). Frames perf cannot resolve keep their module and offset.
func (p Perf) Read(ctx context.Context, file string) (Stacks, int64, error) {
	path, err := p.Program()
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.CommandContext(ctx, path, "script", "--show-lost-events", "-i", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, fmt.Errorf("perf script: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("perf script: %w", err)
	}
	var lost lostCounter
	in := io.TeeReader(out, &lost)
	stacks, perr := ParsePerfScript(in)
	if perr != nil {
		// Drain, so that perf is not left blocked on a full pipe.
		_, _ = io.Copy(io.Discard, out)
	}
	werr := cmd.Wait()
	switch {
	case perr != nil:
		return nil, 0, fmt.Errorf("parse perf script output: %w", perr)
	case werr != nil:
		if msg := lastLines(stderr.String(), 2); msg != "" {
			return nil, 0, fmt.Errorf("perf script: %s", msg)
		}
		return nil, 0, fmt.Errorf("perf script: %w", werr)
	}
	lost.Write([]byte("\n")) // a last line without its newline
	return stacks, lost.n, nil
}

// lostCounter adds up the N of perf script's "PERF_RECORD_LOST lost N"
// lines written to it.
type lostCounter struct {
	line []byte // the line so far, up to maxLostLine bytes
	long bool   // the line so far is longer: not a lost record
	n    int64
}

// maxLostLine bounds the part of a line kept: a lost record's line is a
// header and a count, well under this.
const maxLostLine = 4096

func (c *lostCounter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if len(c.line)+len(chunk) > maxLostLine {
			c.long = true
		} else if !c.long {
			c.line = append(c.line, chunk...)
		}
		if i < 0 {
			break
		}
		if !c.long {
			c.n += lostIn(c.line)
		}
		c.line, c.long = c.line[:0], false
		p = p[i+1:]
	}
	return n, nil
}

// lostIn is N for a "... PERF_RECORD_LOST lost N" line, else 0.
func lostIn(line []byte) int64 {
	_, after, ok := bytes.Cut(line, []byte("PERF_RECORD_LOST lost "))
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(after)), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// ErrNoRecording is Read's error when perf left no recording (the command
// did not start, or perf was killed before it wrote one).
var ErrNoRecording = errors.New("perf left no recording")

// lastLines is the last n non-empty lines of s, joined by "; ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}
