package spec

import (
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// TestCollect checks the collect block's values and defaults; its bad
// values are in testdata/specs/bad/collect-*.
func TestCollect(t *testing.T) {
	for _, tc := range []struct {
		name, block string
		want        benchrig.Collect
		every       time.Duration
	}{
		{"absent", "", benchrig.Collect{}, time.Second},
		{"null", "collect:\n", benchrig.Collect{}, time.Second},
		{"interval", "collect: {interval: 100ms}\n", benchrig.Collect{Interval: 100 * time.Millisecond}, 100 * time.Millisecond},
		{"off", "collect: {enabled: false}\n", benchrig.Collect{Disabled: true}, time.Second},
		{"on with interval", "collect:\n  enabled: true\n  interval: 2s\n", benchrig.Collect{Interval: 2 * time.Second}, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("s.yaml", []byte("name: x\ncommand: [\"true\"]\n"+tc.block))
			if err != nil {
				t.Fatal(err)
			}
			if s.Collect != tc.want || s.Collect.Every() != tc.every {
				t.Errorf("Collect = %+v (every %v), want %+v (every %v)", s.Collect, s.Collect.Every(), tc.want, tc.every)
			}
		})
	}
	_, err := Parse("s.yaml", []byte("name: x\ncommand: [\"true\"]\ncollect: {intervall: 1s}\n"))
	if err == nil || err.Error() != `s.yaml:3: collect.intervall: unknown field "intervall" (did you mean "interval"? known fields: enabled, interval)` {
		t.Errorf("unknown field: %v", err)
	}
}
