package collect

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/benchrig/benchrig"
)

// StreamRecord is one line of the stream `benchrig collector` writes on
// its standard output: exactly one of its fields is set. A run that starts
// the collector as a child reads it back with DecodeStream.
type StreamRecord struct {
	Sample *benchrig.Sample        `json:"sample,omitempty"`
	Event  *ContainerEvent         `json:"event,omitempty"`
	Cost   *benchrig.CollectorCost `json:"cost,omitempty"`
}

// StreamWriter writes samples, events and costs as JSON lines. It is a
// Sink, and safe for concurrent use.
type StreamWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	enc *json.Encoder
}

var _ Sink = (*StreamWriter)(nil)

// NewStreamWriter writes the stream to w.
func NewStreamWriter(w io.Writer) *StreamWriter {
	// A second's batch at 10 Hz over 10 containers is about 70 KB of
	// lines: a 64 KiB buffer writes it in two system calls, not sixteen.
	bw := bufio.NewWriterSize(w, 64<<10)
	return &StreamWriter{w: bw, enc: json.NewEncoder(bw)}
}

// WriteSamples writes one line per sample and flushes them to the writer.
func (s *StreamWriter) WriteSamples(_ context.Context, samples []benchrig.Sample) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range samples {
		if err := s.enc.Encode(StreamRecord{Sample: &samples[i]}); err != nil {
			return fmt.Errorf("write sample: %w", err)
		}
	}
	return s.w.Flush()
}

// WriteEvent writes one container event line.
func (s *StreamWriter) WriteEvent(e ContainerEvent) error {
	return s.write(StreamRecord{Event: &e})
}

// WriteCost writes the collector's cost line.
func (s *StreamWriter) WriteCost(c benchrig.CollectorCost) error {
	return s.write(StreamRecord{Cost: &c})
}

func (s *StreamWriter) write(r StreamRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enc.Encode(r); err != nil {
		return err
	}
	return s.w.Flush()
}

// maxStreamLine bounds one line of the stream (a sample is under 2 KiB).
const maxStreamLine = 1 << 20

// DecodeStream reads a collector's stream until r ends, calling the
// function for each record's kind (a nil function skips its kind). A line
// that is not a record is an error naming its line number; the records
// before it were delivered.
func DecodeStream(r io.Reader, onSample func(benchrig.Sample), onEvent func(ContainerEvent), onCost func(benchrig.CollectorCost)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxStreamLine)
	for n := 1; sc.Scan(); n++ {
		var rec StreamRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("collector stream line %d: %w", n, err)
		}
		switch {
		case rec.Sample != nil:
			if onSample != nil {
				onSample(*rec.Sample)
			}
		case rec.Event != nil:
			if onEvent != nil {
				onEvent(*rec.Event)
			}
		case rec.Cost != nil:
			if onCost != nil {
				onCost(*rec.Cost)
			}
		default:
			return fmt.Errorf("collector stream line %d: no sample, event or cost", n)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("collector stream: %w", err)
	}
	return nil
}
