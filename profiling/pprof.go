package profiling

import (
	"fmt"
	"strings"

	"github.com/google/pprof/profile"
)

// ToPprof converts p to a pprof profile, for `go tool pprof` and every
// viewer of its protobuf format.
//
// Each sample has two values: samples/count and cpu/nanoseconds, the count
// times the sampling period 1e9/Freq (0 when Freq is not positive). Every
// distinct frame name is one Function and one Location (pprof has no
// addresses to offer: perf resolved them already), and a stack's process
// name is its root-most location, so pprof's views group by process as the
// flame graphs do; the process is also the sample's "process" label, for
// -tagfocus. The event, frequency and lost samples are comments.
//
// Stacks are visited in sorted order, so the same p gives the same profile.
func ToPprof(p *Profile) *profile.Profile {
	var period int64
	if p.Freq > 0 {
		period = int64(1e9) / int64(p.Freq)
	}
	out := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "samples", Unit: "count"},
			{Type: "cpu", Unit: "nanoseconds"},
		},
		DefaultSampleType: "cpu",
		PeriodType:        &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:            period,
		DurationNanos:     p.Duration.Nanoseconds(),
		Comments:          []string{fmt.Sprintf("event=%s freq=%dHz", p.Event, p.Freq)},
	}
	if p.Lost > 0 {
		out.Comments = append(out.Comments, fmt.Sprintf("lost=%d samples", p.Lost))
	}
	locs := map[string]*profile.Location{}
	location := func(name string) *profile.Location {
		if l, ok := locs[name]; ok {
			return l
		}
		id := uint64(len(locs) + 1)
		fn := &profile.Function{ID: id, Name: name, SystemName: name}
		l := &profile.Location{ID: id, Line: []profile.Line{{Function: fn}}}
		out.Function = append(out.Function, fn)
		out.Location = append(out.Location, l)
		locs[name] = l
		return l
	}
	for _, k := range p.Stacks.sortedKeys() {
		n := p.Stacks[k]
		if n <= 0 {
			continue
		}
		frames := strings.Split(k, ";")
		s := &profile.Sample{
			Value: []int64{n, n * period},
			Label: map[string][]string{"process": {frames[0]}},
		}
		// pprof lists a sample's locations leaf first.
		for i := len(frames) - 1; i >= 0; i-- {
			s.Location = append(s.Location, location(frames[i]))
		}
		out.Sample = append(out.Sample, s)
	}
	return out
}
