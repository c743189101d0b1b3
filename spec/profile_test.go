package spec

import (
	"testing"

	"github.com/benchrig/benchrig"
)

func TestProfile(t *testing.T) {
	for _, tc := range []struct {
		name, block string
		want        benchrig.Profiling
		event       string
		hz, extra   int
	}{
		{"absent", "", benchrig.Profiling{}, "cpu-clock", 99, 0},
		{"cpu", "profile: cpu\n", benchrig.Profiling{Enabled: true}, "cpu-clock", 99, 1},
		{"empty mapping", "profile: {}\n", benchrig.Profiling{Enabled: true}, "cpu-clock", 99, 1},
		{"every field", "profile: {event: task-clock, freq: 999, trials: 3, in: extra, call_graph: dwarf}\n",
			benchrig.Profiling{Enabled: true, Event: "task-clock", Freq: 999, Trials: 3, CallGraph: "dwarf"}, "task-clock", 999, 3},
		{"measured", "profile:\n  in: measured\n  freq: 1\n", benchrig.Profiling{Enabled: true, Freq: 1, InMeasured: true}, "cpu-clock", 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("s.yaml", []byte("name: x\ncommand: [\"true\"]\n"+tc.block))
			if err != nil {
				t.Fatal(err)
			}
			p := s.Profile
			if p != tc.want || p.EventName() != tc.event || p.Hz() != tc.hz || p.ExtraTrials() != tc.extra {
				t.Errorf("Profile = %+v (%s at %d Hz, %d extra), want %+v (%s at %d Hz, %d extra)",
					p, p.EventName(), p.Hz(), p.ExtraTrials(), tc.want, tc.event, tc.hz, tc.extra)
			}
		})
	}
	_, err := Parse("s.yaml", []byte("name: x\ncommand: [\"true\"]\nprofile: {frequency: 99}\n"))
	if err == nil || err.Error() != `s.yaml:3: profile.frequency: unknown field "frequency" (known fields: event, freq, trials, in, call_graph)` {
		t.Errorf("unknown field: %v", err)
	}
	_, err = Parse("s.yaml", []byte("name: x\ncommand: [\"true\"]\nprofile: {call_graph: lbr}\n"))
	if err == nil || err.Error() != `s.yaml:3: profile.call_graph: expected fp (frame pointers) or dwarf (unwinding from the binaries' .eh_frame), got "lbr"` {
		t.Errorf("bad call_graph: %v", err)
	}
}
