package benchrig

import (
	"testing"
	"time"
)

// TestNoiseJudge: the bounds, and the counters' granularity forgiven: one
// tick of steal, or other CPU within the host total's resolution, does
// not make a short trial disturbed.
func TestNoiseJudge(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		n    Noise
		want bool
	}{
		{"quiet", Noise{Window: 40 * ms, CPUs: 2, OtherCPU: 2 * ms}, false},
		{"busy neighbour", Noise{Window: 40 * ms, CPUs: 2, OtherCPU: 20 * ms}, true},
		{"within resolution", Noise{Window: 40 * ms, CPUs: 2, OtherCPU: 12 * ms, Resolution: 10 * ms}, false},
		{"beyond resolution", Noise{Window: 40 * ms, CPUs: 2, OtherCPU: 30 * ms, Resolution: 10 * ms}, true},
		{"one tick of steal", Noise{Window: 40 * ms, CPUs: 2, Steal: 10 * ms}, false},
		{"steal", Noise{Window: 40 * ms, CPUs: 2, Steal: 20 * ms}, true},
		{"no window", Noise{CPUs: 2, OtherCPU: time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.n.Judge().Disturbed; got != tc.want {
				t.Errorf("Judge(%+v).Disturbed = %v, want %v", tc.n, got, tc.want)
			}
		})
	}
}
