// Package pipes drains a command's stdout and stderr the way benchrig
// measures them, for the local executor and the in-container timing shim
// alike: every byte is read from a real pipe and counted (never
// /dev/null, which changes what some programs do), and the last bytes of
// one may be kept for the user to read.
package pipes

import (
	"context"
	"io"
	"time"
	"unicode/utf8"
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

// Drain reads one pipe to its end in its own goroutine, counting bytes.
// N and Tail may be read once Done is closed.
type Drain struct {
	N    int64
	Tail *Tail // nil: keep nothing
	Done chan struct{}
}

// Start drains r, keeping the last tail bytes when tail > 0.
func Start(r io.Reader, tail int) *Drain {
	d := &Drain{Done: make(chan struct{})}
	if tail > 0 {
		d.Tail = &Tail{Max: tail}
	}
	go func() {
		defer close(d.Done)
		buf := make([]byte, 64<<10) // the default pipe capacity
		for {
			n, err := r.Read(buf)
			d.N += int64(n)
			if d.Tail != nil && n > 0 {
				d.Tail.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	return d
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
