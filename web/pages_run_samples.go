package web

import (
	"context"
	"slices"

	"github.com/benchrig/benchrig"
)

// SampleReader reads a run's collector samples of some kinds (all when
// none), in time order: sqlite.DB does, from the store.
type SampleReader interface {
	Samples(ctx context.Context, runID string, kinds ...benchrig.SampleKind) ([]benchrig.Sample, error)
}

// NewSampleSource is the SampleSource of r, named name ("store" or
// "elasticsearch"): cmd wires the store's, or Elasticsearch's when the
// server ships samples there.
func NewSampleSource(name string, r SampleReader) SampleSource {
	return &readerSource{name: name, r: r}
}

type readerSource struct {
	name string
	r    SampleReader
}

func (s *readerSource) Name() string { return s.name }

func (s *readerSource) Samples(ctx context.Context, runID string, q SampleQuery) ([]benchrig.Sample, error) {
	out, err := s.r.Samples(ctx, runID, q.Kinds...)
	if err != nil || q.Trial == "" {
		return out, err
	}
	return slices.DeleteFunc(out, func(sm benchrig.Sample) bool {
		return sm.Trial == nil || sm.Trial.String() != q.Trial
	}), nil
}
