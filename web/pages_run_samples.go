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

// thinReader is a SampleReader that thins in its query (sqlite.DB:
// through an index, so reading a chart's samples of a run with millions
// costs what the chart shows).
type thinReader interface {
	SamplesThinned(ctx context.Context, runID string, max int, kinds ...benchrig.SampleKind) ([]benchrig.Sample, int64, error)
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

func (s *readerSource) Samples(ctx context.Context, runID string, q SampleQuery) ([]benchrig.Sample, int64, error) {
	var out []benchrig.Sample
	stride := int64(1)
	var err error
	if tr, ok := s.r.(thinReader); ok && q.Max > 0 && q.Trial == "" {
		out, stride, err = tr.SamplesThinned(ctx, runID, q.Max, q.Kinds...)
	} else {
		out, err = s.r.Samples(ctx, runID, q.Kinds...)
		if err == nil && q.Trial != "" {
			out = slices.DeleteFunc(out, func(sm benchrig.Sample) bool {
				return sm.Trial == nil || sm.Trial.String() != q.Trial
			})
		}
		if err == nil && q.Max > 0 {
			out, stride = thin(out, q.Max)
		}
	}
	return out, stride, err
}

// thin keeps every stride-th sample of each target with its first and
// final ones, as sqlite.DB.SamplesThinned does in its query, for a
// reader that cannot thin as it reads.
func thin(samples []benchrig.Sample, max int) ([]benchrig.Sample, int64) {
	if len(samples) <= max {
		return samples, 1
	}
	keep := func(sm *benchrig.Sample, stride int64) bool {
		return sm.Final || sm.Seq <= 1 || sm.Seq%stride == 0
	}
	stride := int64(2)
	for {
		n := 0
		for i := range samples {
			if keep(&samples[i], stride) {
				n++
			}
		}
		if n <= max || stride >= 1<<24 {
			break
		}
		stride *= 2
	}
	out := make([]benchrig.Sample, 0, max)
	for i := range samples {
		if keep(&samples[i], stride) {
			out = append(out, samples[i])
		}
	}
	return out, stride
}
