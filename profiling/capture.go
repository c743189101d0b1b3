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
	// Root, when set, is the root directory the recorded processes saw:
	// a container's, /proc/PID/root of one of its processes still alive
	// when Read runs. Read finds the files they mapped there, and those
	// it cannot find there (an emulator binfmt_misc opened on the host)
	// on this host. perf's own namespace support cannot do it: it needs
	// each sampled process alive, and a trial's have exited.
	Root string
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

// Sampling is how perf samples: the event, the rate and how call stacks
// are unwound.
type Sampling struct {
	Event string // e.g. cpu-clock
	Freq  int    // Hz
	// CallGraph is "fp" (frame pointers: perf -g, the default when "")
	// or "dwarf" (a copy of each sample's user stack, unwound by perf
	// script from the binaries' .eh_frame: whole call chains for code
	// built without frame pointers, most of a distribution's; larger
	// recordings and a slower read).
	CallGraph string
}

// RecordOptions are perf record's options for s, wherever perf runs
// (RecordArgs, AttachArgs, the node profiler's script): the event, the
// rate and the call graph mode, after these. Quiet (-q): perf's own
// messages would otherwise mix with the command's stderr.
// --no-bpf-event: perf's side-band thread for BPF events polls with a 1 s
// timeout and keeps perf alive up to a second after the command exited
// (perf 6.1), which the trial's wall time would include; trials load no
// BPF programs. -B -N: no build-ids collected after the command (a second
// pass over the recording and every binary it touched, about 70 ms here)
// and nothing copied into ~/.debug; the recording is read at once, while
// the binaries it names are still the ones that ran, and a harness
// leaves no cache behind.
func (s Sampling) RecordOptions() []string {
	a := []string{"-q", "--no-bpf-event", "-B", "-N", "-e", s.Event, "-F", strconv.Itoa(s.Freq)}
	if s.CallGraph == "dwarf" {
		return append(a, "--call-graph", "dwarf")
	}
	return append(a, "-g")
}

// Check records s once around `true`, so that a perf that is missing,
// not permitted (perf_event_paranoid) or without the event (or the call
// graph mode) is known before any trial runs. The error says why, in perf's own words where it has
// some. The cost is what that took: perf's fixed start-up and tear-down
// (reading /proc/kallsyms, writing the recording), the least it adds to a
// profiled trial whatever the command.
func (p Perf) Check(ctx context.Context, s Sampling) (Cost, error) {
	path, err := p.Program()
	if err != nil {
		return Cost{}, err
	}
	dir, err := os.MkdirTemp("", "benchrig-perf-check-")
	if err != nil {
		return Cost{}, fmt.Errorf("perf check: %w", err)
	}
	defer os.RemoveAll(dir)
	argv := RecordArgs(path, s, filepath.Join(dir, "perf.data"), []string{"true"})
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		if msg := lastLines(out.String(), 2); msg != "" {
			return Cost{}, fmt.Errorf("%s record -e %s: %s", path, s.Event, msg)
		}
		return Cost{}, fmt.Errorf("%s record -e %s: %w", path, s.Event, err)
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
// as s says (RecordOptions) into file.
func RecordArgs(perf string, s Sampling, file string, argv []string) []string {
	args := append([]string{perf, "record"}, s.RecordOptions()...)
	args = append(args, "-o", file, "--")
	return append(args, argv...)
}

// Recording is what Read takes from a perf recording.
type Recording struct {
	Stacks Stacks
	// Lost counts the samples perf lost (its ring buffer was full).
	Lost int64
	// Span is the command's own wall time, from the exec of the process
	// perf started to that process's exit, as perf's task events have
	// them: the trial without perf's start-up and tear-down (about 0.2 s
	// here, whatever the command). Zero when either event is missing.
	Span time.Duration
}

// AttachArgs is the command line that samples the running process pid
// (every thread, and every child it starts from then on) as s says into
// file, as RecordArgs does for a command perf starts. perf reads commands from the descriptor ctlFD and
// acknowledges them on ackFD (--control): an acknowledged "ping" says
// the events are open, so nothing the process does after it is missed.
// perf stops when the process exits, or on SIGINT.
func AttachArgs(perf string, s Sampling, file string, pid, ctlFD, ackFD int) []string {
	args := append([]string{perf, "record"}, s.RecordOptions()...)
	return append(args, "-o", file, "-p", strconv.Itoa(pid), "--control", fmt.Sprintf("fd:%d,%d", ctlFD, ackFD))
}

// Read turns a recording into stacks with `perf script`, parsed by
// ParsePerfScript, counts the samples perf lost (--show-lost-events,
// "PERF_RECORD_LOST lost N" lines, which the parser skips) and finds the
// command's span (--show-task-events: its COMM exec and EXIT records).
// Frames perf cannot resolve keep their module and offset.
func (p Perf) Read(ctx context.Context, file string) (Recording, error) {
	path, err := p.Program()
	if err != nil {
		return Recording{}, err
	}
	args := []string{"script", "--show-lost-events", "--show-task-events", "-i", file}
	if p.Root != "" {
		symfs, err := os.MkdirTemp("", "benchrig-symfs-")
		if err != nil {
			return Recording{}, fmt.Errorf("perf script: %w", err)
		}
		defer os.RemoveAll(symfs)
		if err := p.linkMapped(ctx, path, file, symfs); err != nil {
			return Recording{}, err
		}
		// With --symfs perf looks for kallsyms there too: this host's.
		args = append(args, "--symfs", symfs, "--kallsyms", "/proc/kallsyms")
	}
	cmd := exec.CommandContext(ctx, path, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Recording{}, fmt.Errorf("perf script: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return Recording{}, fmt.Errorf("perf script: %w", err)
	}
	rec, perr := ParseScript(out)
	if perr != nil {
		// Drain, so that perf is not left blocked on a full pipe.
		_, _ = io.Copy(io.Discard, out)
	}
	werr := cmd.Wait()
	switch {
	case perr != nil:
		return Recording{}, perr
	case werr != nil:
		if msg := lastLines(stderr.String(), 2); msg != "" {
			return Recording{}, fmt.Errorf("perf script: %s", msg)
		}
		return Recording{}, fmt.Errorf("perf script: %w", werr)
	}
	return rec, nil
}

// ParseScript reads the output of `perf script --show-lost-events
// --show-task-events` (Read's, or perf run elsewhere, as on a node):
// the stacks, the lost samples and the command's span.
func ParseScript(r io.Reader) (Recording, error) {
	var side sideband
	stacks, err := ParsePerfScript(io.TeeReader(r, &side))
	if err != nil {
		return Recording{}, fmt.Errorf("parse perf script output: %w", err)
	}
	side.Write([]byte("\n")) // a last line without its newline
	return Recording{Stacks: stacks, Lost: side.lost, Span: side.span()}, nil
}

// linkMapped makes symfs a tree of links to the files the recording's
// processes mapped (its PERF_RECORD_MMAP2 lines, as a quick pass of perf
// script without symbols prints them), each under p.Root where it is
// there, else on this host.
func (p Perf) linkMapped(ctx context.Context, perf, file, symfs string) error {
	cmd := exec.CommandContext(ctx, perf, "script", "-F", "comm", "--show-mmap-events", "-i", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := lastLines(stderr.String(), 2); msg != "" {
			return fmt.Errorf("perf script --show-mmap-events: %s", msg)
		}
		return fmt.Errorf("perf script --show-mmap-events: %w", err)
	}
	for _, f := range MappedFiles(out) {
		target := filepath.Join(p.Root, f)
		if _, err := os.Stat(target); err != nil {
			if _, err := os.Stat(f); err != nil {
				continue // gone: its frames keep module+offset
			}
			target = f
		}
		link := filepath.Join(symfs, f)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return fmt.Errorf("symbol tree: %w", err)
		}
		if err := os.Symlink(target, link); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("symbol tree: %w", err)
		}
	}
	return nil
}

// MappedFiles lists, once each, the absolute, clean paths of the files in
// perf script's "PERF_RECORD_MMAP2 ...: [...]: PROT PATH" lines; anonymous
// and special mappings ([vdso], //anon) and deleted files are left out.
func MappedFiles(out []byte) []string {
	var files []string
	seen := map[string]bool{}
	for _, line := range bytes.Split(out, []byte("\n")) {
		_, rec, ok := bytes.Cut(line, []byte(" PERF_RECORD_MMAP"))
		if !ok {
			continue
		}
		i := bytes.LastIndex(rec, []byte("]: "))
		if i < 0 {
			continue
		}
		_, f, ok := strings.Cut(string(rec[i+len("]: "):]), " ")
		if !ok || !filepath.IsAbs(f) || filepath.Clean(f) != f || strings.HasSuffix(f, " (deleted)") || seen[f] {
			continue
		}
		seen[f] = true
		files = append(files, f)
	}
	return files
}

// sideband reads perf script's side-band lines as they are written to it:
// it adds up the N of "PERF_RECORD_LOST lost N" lines, and keeps the time
// of the first "PERF_RECORD_COMM exec" (the command perf started) and of
// that process's "PERF_RECORD_EXIT(pid:pid)".
type sideband struct {
	line []byte // the line so far, up to maxSideLine bytes
	long bool   // the line so far is longer: not a side-band record
	lost int64

	pid           int64 // the command's process, once its exec is seen
	execAt, endAt time.Duration
	exec, exit    bool
}

// maxSideLine bounds the part of a line kept: a side-band record's line
// is a header and a few numbers, well under this.
const maxSideLine = 4096

func (c *sideband) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if len(c.line)+len(chunk) > maxSideLine {
			c.long = true
		} else if !c.long {
			c.line = append(c.line, chunk...)
		}
		if i < 0 {
			break
		}
		if !c.long {
			c.record(c.line)
		}
		c.line, c.long = c.line[:0], false
		p = p[i+1:]
	}
	return n, nil
}

// record reads one line: "COMM PID TIME: PERF_RECORD_KIND ...".
func (c *sideband) record(line []byte) {
	head, rec, ok := bytes.Cut(line, []byte(" PERF_RECORD_"))
	if !ok {
		return
	}
	switch {
	case bytes.HasPrefix(rec, []byte("LOST lost ")):
		n, err := strconv.ParseInt(string(bytes.TrimSpace(rec[len("LOST lost "):])), 10, 64)
		if err == nil && n > 0 {
			c.lost += n
		}
	case bytes.HasPrefix(rec, []byte("COMM exec: ")) && !c.exec:
		// "COMM exec: sleep:2030/2030": the name may hold ':'.
		i := bytes.LastIndexByte(rec, ':')
		pid, tid, ok := pidTid(rec[i+1:], '/')
		at, tok := recordTime(head)
		if ok && tok && pid == tid {
			c.pid, c.execAt, c.exec = pid, at, true
		}
	case bytes.HasPrefix(rec, []byte("EXIT(")) && c.exec && !c.exit:
		// "EXIT(2030:2030):(2029:2029)": the process, then its parent.
		ids, _, _ := bytes.Cut(rec[len("EXIT("):], []byte(")"))
		pid, tid, ok := pidTid(ids, ':')
		at, tok := recordTime(head)
		if ok && tok && pid == c.pid && tid == pid && at >= c.execAt {
			c.endAt, c.exit = at, true
		}
	}
}

// span is the command's exec to its exit, 0 unless both were seen.
func (c *sideband) span() time.Duration {
	if !c.exec || !c.exit {
		return 0
	}
	return c.endAt - c.execAt
}

// pidTid reads "PID<sep>TID".
func pidTid(b []byte, sep byte) (pid, tid int64, ok bool) {
	a, z, found := bytes.Cut(bytes.TrimSpace(b), []byte{sep})
	if !found {
		return 0, 0, false
	}
	pid, err1 := strconv.ParseInt(string(a), 10, 64)
	tid, err2 := strconv.ParseInt(string(z), 10, 64)
	return pid, tid, err1 == nil && err2 == nil
}

// recordTime is the time field, "SECONDS.FRACTION:", that ends a record's
// header, as a duration since perf's clock origin.
func recordTime(head []byte) (time.Duration, bool) {
	f := bytes.Fields(head)
	if len(f) == 0 {
		return 0, false
	}
	t, ok := bytes.CutSuffix(f[len(f)-1], []byte(":"))
	if !ok {
		return 0, false
	}
	sec, frac, _ := bytes.Cut(t, []byte("."))
	s, err := strconv.ParseInt(string(sec), 10, 64)
	if err != nil || s < 0 || s > 1<<32 || len(frac) > 9 {
		return 0, false
	}
	ns := int64(0)
	for i := 0; i < 9; i++ {
		d := byte('0')
		if i < len(frac) {
			d = frac[i]
		}
		if d < '0' || d > '9' {
			return 0, false
		}
		ns = ns*10 + int64(d-'0')
	}
	return time.Duration(s)*time.Second + time.Duration(ns), true
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
