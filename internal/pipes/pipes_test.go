package pipes

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
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
	d := Start(strings.NewReader(big), 7)
	quiet := Start(strings.NewReader("abc"), 0)
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
	d := Start(r, 0)
	if Wait(context.Background(), 20*time.Millisecond, d) {
		t.Error("Wait reported EOF on a pipe still open")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Wait(ctx, time.Minute, d) {
		t.Error("Wait ignored its cancelled context")
	}
}
