package benchrig

import "testing"

func TestParseTrialRef(t *testing.T) {
	good := []TrialRef{
		{Run: "20261206-022600-00ab", Case: "default", Rep: 0},
		{Run: "r1", Case: "impl=gnu,path=/tmp/a#b", Rep: 12, Attempt: 2},
		{Run: "r1", Case: "x", Rep: 3, Attempt: 1},
	}
	for _, want := range good {
		t.Run(want.String(), func(t *testing.T) {
			got, err := ParseTrialRef(want.String())
			if err != nil || got != want {
				t.Fatalf("ParseTrialRef(%q) = %+v, %v; want %+v", want.String(), got, err, want)
			}
		})
	}
	for _, bad := range []string{"", "setup", "prepare", "r1/case", "/case#1", "r1/#1", "r1/c#x", "r1/c#-1", "r1/c#1.", "r1/c#1.0", "r1/c#1.x"} {
		t.Run("bad "+bad, func(t *testing.T) {
			if ref, err := ParseTrialRef(bad); err == nil || ErrorCode(err) != EInvalid {
				t.Fatalf("ParseTrialRef(%q) = %+v, %v; want EInvalid", bad, ref, err)
			}
		})
	}
}
