package pipes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

func TestTail(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{name: "fits", max: 8, writes: []string{"ab", "cd"}, want: "abcd"},
		{name: "overflow across writes", max: 4, writes: []string{"abc", "def"}, want: "cdef"},
		{name: "one big write", max: 3, writes: []string{"abcdefgh"}, want: "fgh"},
		{name: "cut rune dropped", max: 4, writes: []string{"xé€"}, want: "€"}, // é is 2 bytes, € 3
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &Tail{Max: tt.max}
			for _, w := range tt.writes {
				b.Write([]byte(w))
			}
			if got := b.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDrainCountsEveryByteAndKeepsTheTail(t *testing.T) {
	big := strings.Repeat("x", 200<<10) + "the end"
	d := Start(strings.NewReader(big), 7, false)
	quiet := Start(strings.NewReader("abc"), 0, false)
	if !Wait(context.Background(), time.Second, d, quiet) {
		t.Fatal("drains did not reach EOF")
	}
	if d.N != int64(len(big)) || d.TailString() != "the end" {
		t.Errorf("N %d tail %q, want %d and %q", d.N, d.TailString(), len(big), "the end")
	}
	if quiet.N != 3 || quiet.TailString() != "" {
		t.Errorf("N %d tail %q, want 3 and none kept", quiet.N, quiet.TailString())
	}
}

func TestWaitGivesUpOnAPipeHeldOpen(t *testing.T) {
	r, w := io.Pipe() // a grandchild still holding the write end
	defer w.Close()
	d := Start(r, 0, false)
	if Wait(context.Background(), 20*time.Millisecond, d) {
		t.Error("Wait reported EOF on a pipe still open")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Wait(ctx, time.Minute, d) {
		t.Error("Wait ignored its cancelled context")
	}
}

func TestDigest(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 5000) // 80000 bytes, more than the head
	tests := []struct {
		name         string
		writes       []string
		lines, blank int64
		head         string
	}{
		{name: "nothing", writes: nil, lines: 0, blank: 0},
		{name: "one line", writes: []string{"42\n"}, lines: 1, head: "42\n"},
		{name: "last line without newline", writes: []string{"a\nb"}, lines: 2, head: "a\nb"},
		{name: "one newline is one blank line", writes: []string{"\n"}, lines: 1, blank: 1, head: "\n"},
		// mawk's `print cid, smiles` with neither field found prints a
		// lone space per record: blank, not text.
		{name: "spaces tabs and CR are blank", writes: []string{" \n\t \r\nx\n"}, lines: 3, blank: 2, head: " \n\t \r\nx\n"},
		{name: "line split across writes", writes: []string{"  ", "  x", "\n", " ", "\n"}, lines: 2, blank: 1, head: "    x\n \n"},
		{name: "blank then text in a later write", writes: []string{"\t", "", "y"}, lines: 1, blank: 0, head: "\ty"},
		{name: "unfinished blank line", writes: []string{"a\n  "}, lines: 2, blank: 1, head: "a\n  "},
		{name: "head keeps the first 64 KiB", writes: []string{long, "\n"}, lines: 1, head: long[:benchrig.HeadMax]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDigester()
			all := ""
			for _, w := range tt.writes {
				d.Write([]byte(w))
				all += w
			}
			got := d.Digest()
			sum := sha256.Sum256([]byte(all))
			if got.Bytes != int64(len(all)) || got.Lines != tt.lines || got.BlankLines != tt.blank ||
				got.SHA256 != hex.EncodeToString(sum[:]) || string(got.Head) != tt.head {
				t.Errorf("got %d bytes, %d lines, %d blank, sha %s, head %d bytes; want %d, %d, %d, %x, %d",
					got.Bytes, got.Lines, got.BlankLines, got.SHA256, len(got.Head), len(all), tt.lines, tt.blank, sum, len(tt.head))
			}
			if got.Truncated() != (len(all) > benchrig.HeadMax) {
				t.Errorf("Truncated() = %v for %d bytes", got.Truncated(), len(all))
			}
		})
	}
}

func TestDrainDigestsOnlyWhenAsked(t *testing.T) {
	plain := Start(strings.NewReader("a\n\nb\n"), 0, false)
	digested := Start(strings.NewReader("a\n\nb\n"), 0, true)
	if !Wait(context.Background(), time.Second, plain, digested) {
		t.Fatal("drains did not reach EOF")
	}
	if plain.Digest() != nil {
		t.Errorf("digest %+v computed without being asked", plain.Digest())
	}
	if d := digested.Digest(); d == nil || d.Bytes != 5 || d.Lines != 3 || d.BlankLines != 1 || string(d.Head) != "a\n\nb\n" {
		t.Errorf("digest %+v, want 5 bytes, 3 lines, 1 blank", d)
	}
}

// BenchmarkDrain compares a drain that only counts with one that also
// digests, over 100 MB written through a real pipe: SMILES-like lines of
// ~50 bytes (the per-line work) and bytes without newlines.
//
//	go test -run XXX -bench Drain -benchtime 10x -count 5 ./internal/pipes/
func BenchmarkDrain(b *testing.B) {
	const total = 100 << 20
	line := []byte("123456789\tCC(=O)Nc1ccc(O)cc1C(=O)OC1CCN(C)CC1\n")
	shapes := map[string][]byte{
		"lines":    bytes.Repeat(line, (64<<10)/len(line)),
		"no-lines": bytes.Repeat([]byte{'x'}, 64<<10),
	}
	for _, shape := range []string{"lines", "no-lines"} {
		chunk := shapes[shape]
		for _, digest := range []bool{false, true} {
			name := shape + "/count"
			if digest {
				name = shape + "/digest"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(total)
				for range b.N {
					r, w, err := os.Pipe()
					if err != nil {
						b.Fatal(err)
					}
					d := Start(r, 0, digest)
					for written := 0; written < total; written += len(chunk) {
						if _, err := w.Write(chunk); err != nil {
							b.Fatal(err)
						}
					}
					w.Close()
					<-d.Done
					r.Close()
					if d.N < total {
						b.Fatalf("drained %d bytes", d.N)
					}
				}
			})
		}
	}
}
