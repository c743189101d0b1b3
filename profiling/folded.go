package profiling

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// maxFoldedLine bounds one line of a folded file: a stack of a few hundred
// frames of long C++ names stays far below it.
const maxFoldedLine = 4 << 20

// Total is the number of samples in s.
func (s Stacks) Total() int64 {
	var n int64
	for _, c := range s {
		n += c
	}
	return n
}

// Merge adds o's samples to s (a case's profile from its trials').
func (s Stacks) Merge(o Stacks) {
	for k, c := range o {
		s[k] += c
	}
}

// sortedKeys returns s's stacks in byte order, the order every output of
// this package uses so the same profile always writes the same bytes.
func (s Stacks) sortedKeys() []string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// WriteFolded writes s as folded stacks, one "frame;frame;frame COUNT" line
// per stack, sorted by stack, the format flamegraph.pl and speedscope read.
// A stack that is empty or holds a newline cannot be written as a line and
// is an error; so is a negative count.
func WriteFolded(w io.Writer, s Stacks) error {
	bw := bufio.NewWriter(w)
	for _, k := range s.sortedKeys() {
		if k == "" || strings.ContainsAny(k, "\n\r") {
			return fmt.Errorf("write folded stacks: stack %q cannot be one line", clip(k))
		}
		if s[k] < 0 {
			return fmt.Errorf("write folded stacks: stack %q has negative count %d", clip(k), s[k])
		}
		bw.WriteString(k)
		bw.WriteByte(' ')
		bw.WriteString(strconv.FormatInt(s[k], 10))
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write folded stacks: %w", err)
	}
	return nil
}

// ReadFolded reads folded stacks as WriteFolded writes them. The count is
// what follows the last space, so frames may hold spaces. Blank lines are
// skipped and a stack seen twice adds up. A line without a count, with a
// count that is not a non-negative integer (as difffolded.pl's two-column
// output), or with an empty stack is an error naming the line.
func ReadFolded(r io.Reader) (Stacks, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxFoldedLine)
	out := Stacks{}
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("folded stacks line %d: no sample count: %q", lineNo, clip(line))
		}
		stack, num := line[:i], line[i+1:]
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("folded stacks line %d: sample count %q is not a non-negative integer", lineNo, clip(num))
		}
		if strings.TrimSpace(stack) == "" {
			return nil, fmt.Errorf("folded stacks line %d: empty stack", lineNo)
		}
		out[stack] += n
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("folded stacks line %d: %w", lineNo+1, err)
	}
	return out, nil
}

// processOf is a stack's first frame: the process name.
func processOf(stack string) string {
	p, _, _ := strings.Cut(stack, ";")
	return p
}

// Breakdown is each process name's samples and share of s, largest first,
// ties by name. It is empty for a profile without samples.
func Breakdown(s Stacks) []ProcessShare {
	per := map[string]int64{}
	var total int64
	for k, c := range s {
		per[processOf(k)] += c
		total += c
	}
	out := make([]ProcessShare, 0, len(per))
	if total <= 0 {
		return out
	}
	for p, c := range per {
		out = append(out, ProcessShare{Process: p, Samples: c, Share: float64(c) / float64(total)})
	}
	slices.SortFunc(out, func(a, b ProcessShare) int {
		if c := cmp.Compare(b.Samples, a.Samples); c != 0 {
			return c
		}
		return cmp.Compare(a.Process, b.Process)
	})
	return out
}
