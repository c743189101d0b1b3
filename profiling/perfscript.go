package profiling

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// maxPerfScriptLine bounds one line of perf script output. Frame lines are
// short; a C++ or Rust symbol with deep templates can reach a few KB, so
// 1 MiB is far above anything real while still bounding memory on garbage.
const maxPerfScriptLine = 1 << 20

// kernelSuffix marks frames that ran in the kernel, as flamegraph.pl's
// stackcollapse-perf.pl --kernel does, so kernel time is told apart from a
// user symbol of the same name and coloured apart in the flame graphs.
const kernelSuffix = "_[k]"

// unknownFrame is a frame of which perf knew neither symbol nor module.
const unknownFrame = "[unknown]"

// ParsePerfScript folds the output of `perf script` (its default output
// format, for samples recorded with or without -g) into Stacks, each sample
// counting once whatever its period.
//
// A sample is a header line (comm, pid[/tid], optional [cpu], time, optional
// period, event) followed by its call chain, one tab-indented frame a line,
// leaf first, and a blank line. Each folded stack is the comm, then the
// frames root first. A frame is its symbol without the +0xOFF offset;
// a frame perf could not symbolise is "MODULE+0xADDR" (the base name of its
// dso and the address perf printed, e.g. "grep+0x14124"), or "[unknown]"
// when perf knew no module either. (In call chains perf 6.1 prints the
// address within the file for a position-independent binary, stable from
// run to run; in the header of a sample without call chain it prints the
// run's address.) Frames in [kernel.kallsyms] keep their symbol (or are
// "[unknown]") and get the suffix "_[k]". Consecutive "[unknown]" frames
// fold to one. A ';' inside a name (Rust's
// "[u8; 32]") becomes ':' since ';' separates frames. A sample without a
// call chain folds to its comm and, when the header names the sampled
// symbol (perf record without -g), that symbol.
//
// Header lines are read leniently: the comm is everything before the
// pid[/tid] that precedes the time stamp (so a comm may hold spaces), and a
// header in an unknown layout falls back to its first word. Lines starting
// with '#' (perf script --header) and side-band records ("PERF_RECORD_...",
// from --show-task-events and the like) are skipped; lost samples are not
// in perf script's output, so Profile.Lost comes from elsewhere (perf
// record's warnings, perf report --stats). The error names the line for
// input that is not perf script output: a frame before any header, or a
// frame line that holds neither an address nor a "(module)".
func ParsePerfScript(r io.Reader) (Stacks, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxPerfScriptLine)
	out := Stacks{}
	var cur perfSample
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r\n")
		switch {
		case strings.TrimSpace(line) == "":
			cur.flush(out)
		case line[0] == '#':
			// perf script --header comments.
		case line[0] == '\t' || (line[0] == ' ' && cur.open && cur.inlineLeaf == ""):
			// A call-chain frame: perf indents them with a tab; a copy
			// whose tabs became spaces still has the header above it.
			if !cur.open {
				return nil, fmt.Errorf("perf script line %d: call-chain frame outside a sample: %q", lineNo, clip(line))
			}
			f, ok := parsePerfFrame(line)
			if !ok {
				return nil, fmt.Errorf("perf script line %d: malformed call-chain frame: %q", lineNo, clip(line))
			}
			cur.frames = append(cur.frames, f)
		case strings.Contains(line, " PERF_RECORD_"):
			// A side-band record that perf script --show-*-events
			// prints (COMM, MMAP, LOST...): not a sample.
			cur.flush(out)
		default:
			// A header starts the next sample; samples recorded without
			// -g have no blank line between them.
			cur.flush(out)
			cur.start(line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("perf script line %d: %w", lineNo+1, err)
	}
	cur.flush(out)
	return out, nil
}

// perfSample is the sample being read: its header's comm and, leaf first,
// the frames of its call chain.
type perfSample struct {
	open   bool
	comm   string
	frames []string
	// inlineLeaf is the frame a header without call chain names ("" when
	// it names none).
	inlineLeaf string
}

func (s *perfSample) start(header string) {
	s.open = true
	s.comm, s.inlineLeaf = parsePerfHeader(header)
	s.frames = s.frames[:0]
}

// flush folds the open sample, if any, into out.
func (s *perfSample) flush(out Stacks) {
	if !s.open {
		return
	}
	s.open = false
	var b strings.Builder
	b.WriteString(s.comm)
	switch {
	case len(s.frames) > 0:
		for i := len(s.frames) - 1; i >= 0; i-- {
			// A run of "[unknown]" frames is one: perf walking the
			// frame pointers of code built without them (Debian's
			// busybox-static) yields chains of a hundred, which say
			// nothing more than one and bury the graph.
			if s.frames[i] == unknownFrame && i < len(s.frames)-1 && s.frames[i+1] == unknownFrame {
				continue
			}
			b.WriteByte(';')
			b.WriteString(s.frames[i])
		}
	case s.inlineLeaf != "":
		b.WriteByte(';')
		b.WriteString(s.inlineLeaf)
	}
	out[b.String()]++
}

// parsePerfHeader returns a header line's comm and, for a sample recorded
// without call chains, the frame it names.
//
// The default header is
//
//	comm pid[/tid] [cpu] secs.usecs: [period] event: [ip sym+off (dso)]
//
// with comm left-aligned (or right-aligned in 16 columns without call
// chains) and possibly holding spaces. The time stamp anchors the parse:
// the token before it (or before the [cpu] before it) is pid[/tid], and
// the comm is all that precedes. Without a time stamp the first pid-like
// token anchors it; failing that the comm is the first word.
func parsePerfHeader(line string) (comm, leaf string) {
	toks := fieldsWithOffsets(line)
	timeAt := -1
	for i := 1; i < len(toks); i++ {
		if isPerfTime(toks[i].s) {
			timeAt = i
			break
		}
	}
	pidAt := -1
	if timeAt > 0 {
		p := timeAt - 1
		if isCPUField(toks[p].s) && p > 1 {
			p--
		}
		if p >= 1 && isPidField(toks[p].s) {
			pidAt = p
		}
	} else {
		for i := 1; i < len(toks); i++ {
			if isPidField(toks[i].s) {
				pidAt = i
				break
			}
		}
	}
	switch {
	case pidAt >= 1:
		comm = strings.TrimSpace(line[:toks[pidAt].off])
	case timeAt >= 1:
		comm = strings.TrimSpace(line[:toks[timeAt].off])
	default:
		comm = toks[0].s
	}
	comm = frameName(comm)
	if timeAt < 0 {
		return comm, ""
	}
	// After the time: an optional period, the event ("cpu-clock:",
	// "cpu-clock:ppp:", "sched:sched_switch:"), then for samples without
	// call chain the sampled ip, symbol and dso.
	i := timeAt + 1
	if i < len(toks) && isDecimal(toks[i].s) {
		i++
	}
	if i < len(toks) && strings.HasSuffix(toks[i].s, ":") {
		i++
	}
	if i >= len(toks) || !isHex(toks[i].s) {
		return comm, ""
	}
	if f, ok := parsePerfFrame(line[toks[i].off:]); ok {
		leaf = f
	}
	return comm, leaf
}

// parsePerfFrame turns one call-chain line, "addr sym+0xoff (dso)", into
// a frame name; ok is false when the line holds neither an address nor a
// "(dso)".
func parsePerfFrame(line string) (frame string, ok bool) {
	rest := strings.TrimSpace(line)
	addr := ""
	if sp := strings.IndexAny(rest, " \t"); sp < 0 {
		if isHex(rest) {
			addr, rest = rest, ""
		}
	} else if isHex(rest[:sp]) {
		addr, rest = rest[:sp], strings.TrimSpace(rest[sp+1:])
	}
	sym, dso := rest, ""
	if strings.HasSuffix(rest, ")") {
		if open := strings.LastIndex(rest, " ("); open >= 0 {
			sym, dso = strings.TrimSpace(rest[:open]), rest[open+2:len(rest)-1]
		} else if strings.HasPrefix(rest, "(") {
			sym, dso = "", rest[1:len(rest)-1]
		}
	}
	if addr == "" && dso == "" {
		return "", false
	}
	sym = stripOffset(sym)
	kernel := dso == "[kernel.kallsyms]" || strings.HasPrefix(dso, "[kernel.")
	var name string
	switch {
	case sym != "" && sym != unknownFrame:
		name = sym
	case dso == "" || dso == unknownFrame || kernel:
		// An unsymbolised kernel address is most often a stale one on
		// the stack; its address would only split identical stacks.
		name = unknownFrame
	default:
		// perf 6.1 has no -F dsoff: the address it printed is the best
		// there is; a "dso+0xoff" form, printed by later perf with
		// -F +dsoff, is used as it is.
		base := path.Base(dso)
		if strings.Contains(base, "+0x") {
			name = base
		} else if addr != "" {
			name = base + "+0x" + strings.TrimLeft(strings.ToLower(addr), "0")
			if strings.HasSuffix(name, "+0x") {
				name += "0"
			}
		} else {
			name = base
		}
	}
	name = frameName(name)
	if kernel {
		name += kernelSuffix
	}
	return name, true
}

// frameName makes s safe as one frame of a folded stack: no ';' (the
// frame separator), no '\r' (a folded line's end), not blank.
func frameName(s string) string {
	if strings.ContainsAny(s, ";\r") {
		s = strings.ReplaceAll(strings.ReplaceAll(s, ";", ":"), "\r", " ")
	}
	if strings.TrimSpace(s) == "" {
		return unknownFrame
	}
	return s
}

// stripOffset drops a trailing "+0x1f" from a symbol.
func stripOffset(sym string) string {
	i := strings.LastIndex(sym, "+0x")
	if i <= 0 || !isHex(sym[i+3:]) {
		return sym
	}
	return sym[:i]
}

type token struct {
	s   string
	off int
}

// fieldsWithOffsets splits s at runs of blanks, keeping where each field
// starts so a comm with spaces can be cut out of the line as it was.
func fieldsWithOffsets(s string) []token {
	var out []token
	start := -1
	for i := 0; i <= len(s); i++ {
		blank := i == len(s) || s[i] == ' ' || s[i] == '\t'
		switch {
		case blank && start >= 0:
			out = append(out, token{s[start:i], start})
			start = -1
		case !blank && start < 0:
			start = i
		}
	}
	return out
}

// isPerfTime reports whether s is a "secs.usecs:" time stamp.
func isPerfTime(s string) bool {
	if !strings.HasSuffix(s, ":") {
		return false
	}
	secs, frac, found := strings.Cut(s[:len(s)-1], ".")
	return found && isDecimal(secs) && isDecimal(frac)
}

// isPidField reports whether s is "pid" or "pid/tid".
func isPidField(s string) bool {
	pid, tid, found := strings.Cut(s, "/")
	if !isDecimal(pid) {
		return false
	}
	return !found || isDecimal(tid)
}

// isCPUField reports whether s is "[cpu]".
func isCPUField(s string) bool {
	return len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' && isDecimal(s[1:len(s)-1])
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// clip shortens a line quoted in an error.
func clip(s string) string {
	const limit = 120
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
