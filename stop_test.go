package benchrig

import (
	"math"
	"testing"
	"time"
)

func TestStop(t *testing.T) {
	rep := Repeat{Min: 3, Max: 12, UntilCI: 0.02, MaxTime: 30 * time.Second}
	tests := []struct {
		name     string
		stop     Stop
		notMet   bool
		wantNote string
	}{
		{"met", Stop{StopCIMet, 6, 0.0154}, false, "ci-met: CI half-width 1.5% after 6 trials (target 2.0%)"},
		{"max", Stop{StopMax, 12, 0.041}, true, "ci-not-met: reached max 12 trials with CI half-width 4.1% (target 2.0%)"},
		{"max_time", Stop{StopMaxTime, 3, math.Inf(1)}, true, "ci-not-met: max_time 30s reached after 3 trials with CI half-width unknown (too few successful trials)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.stop.Note(rep); got != tc.wantNote {
				t.Errorf("note %q, want %q", got, tc.wantNote)
			}
			if tc.stop.Reason.CINotMet() != tc.notMet {
				t.Errorf("CINotMet = %v, want %v", !tc.notMet, tc.notMet)
			}
			b, err := tc.stop.Reason.MarshalText()
			if err != nil {
				t.Fatal(err)
			}
			var back StopReason
			if err := back.UnmarshalText(b); err != nil || back != tc.stop.Reason {
				t.Errorf("%q read back as %v, %v", b, back, err)
			}
		})
	}
	var r StopReason
	if err := r.UnmarshalText([]byte("later")); err == nil {
		t.Error("unknown stop reason read without error")
	}
	if _, err := StopReason(0).MarshalText(); err == nil {
		t.Error("zero stop reason stored without error")
	}
}
