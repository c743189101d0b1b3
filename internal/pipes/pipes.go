// Package pipes drains a command's stdout and stderr the way benchrig
// measures them, for the local executor and the in-container timing shim
// alike: every byte is read from a real pipe and counted (never
// /dev/null, which changes what some programs do), the last bytes of
// one may be kept for the user to read, and one may be digested for a
// spec's expect checks (benchrig.OutputDigest).
package pipes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"time"
	"unicode/utf8"

	"github.com/benchrig/benchrig"
)

// Tail keeps the last Max bytes written to it.
type Tail struct {
	Max int
	buf []byte
}

func (t *Tail) Write(p []byte) {
	if len(p) >= t.Max {
		t.buf = append(t.buf[:0], p[len(p)-t.Max:]...)
		return
	}
	if over := len(t.buf) + len(p) - t.Max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
}

// String returns the tail, without a UTF-8 sequence cut in half at its
// start.
func (t *Tail) String() string {
	b := t.buf
	for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
		b = b[1:]
	}
	return string(b)
}

// Digester computes a benchrig.OutputDigest of what is written to it:
// line and blank-line counts, a SHA-256 and the first benchrig.HeadMax
// bytes. It costs a SHA-256 pass over the stream (see BenchmarkDrain), so
// drains compute it only when asked.
type Digester struct {
	n      int64
	lines  int64
	blank  int64
	sha    hash.Hash
	head   []byte
	inLine bool // bytes of an unfinished line were seen
	text   bool // the unfinished line has a character other than blanks
}

// NewDigester returns an empty digester.
func NewDigester() *Digester { return &Digester{sha: sha256.New()} }

func (d *Digester) Write(p []byte) {
	d.n += int64(len(p))
	d.sha.Write(p)
	if room := benchrig.HeadMax - len(d.head); room > 0 {
		d.head = append(d.head, p[:min(room, len(p))]...)
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i]
		}
		if !d.text {
			// Only a line's first bytes are looked at, up to its first
			// non-blank: usually one byte per line.
			d.text = hasText(seg)
		}
		d.inLine = d.inLine || len(seg) > 0
		if i < 0 {
			return
		}
		d.lines++
		if !d.text {
			d.blank++
		}
		d.inLine, d.text = false, false
		p = p[i+1:]
	}
}

func hasText(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return true
		}
	}
	return false
}

// Digest returns the digest of everything written so far.
func (d *Digester) Digest() *benchrig.OutputDigest {
	lines, blank := d.lines, d.blank
	if d.inLine {
		lines++
		if !d.text {
			blank++
		}
	}
	return &benchrig.OutputDigest{
		Bytes:      d.n,
		Lines:      lines,
		BlankLines: blank,
		SHA256:     hex.EncodeToString(d.sha.Sum(nil)),
		Head:       bytes.Clone(d.head),
	}
}

// Drain reads one pipe to its end in its own goroutine, counting bytes.
// N, Tail and Digest may be read once Done is closed.
type Drain struct {
	N    int64
	Tail *Tail // nil: keep nothing
	// Digester is set when the drain was asked to digest the stream.
	Digester *Digester
	Done     chan struct{}
}

// Start drains r, keeping the last tail bytes when tail > 0 and digesting
// the stream when digest is true.
func Start(r io.Reader, tail int, digest bool) *Drain {
	d := &Drain{Done: make(chan struct{})}
	if tail > 0 {
		d.Tail = &Tail{Max: tail}
	}
	if digest {
		d.Digester = NewDigester()
	}
	go func() {
		defer close(d.Done)
		buf := make([]byte, 64<<10) // the default pipe capacity
		for {
			n, err := r.Read(buf)
			d.N += int64(n)
			if n > 0 {
				if d.Tail != nil {
					d.Tail.Write(buf[:n])
				}
				if d.Digester != nil {
					d.Digester.Write(buf[:n])
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return d
}

// Digest is the stream's digest, nil when none was asked for.
func (d *Drain) Digest() *benchrig.OutputDigest {
	if d.Digester == nil {
		return nil
	}
	return d.Digester.Digest()
}

// TailString is the kept tail, "" when none is kept.
func (d *Drain) TailString() string {
	if d.Tail == nil {
		return ""
	}
	return d.Tail.String()
}

// Wait waits for every drain to reach EOF, at most timeout or until ctx
// ends, and reports whether they all did. A grandchild that holds a pipe
// open keeps its drain from ending.
func Wait(ctx context.Context, timeout time.Duration, ds ...*Drain) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for _, x := range ds {
		select {
		case <-x.Done:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}
