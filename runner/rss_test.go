package runner

import "testing"

func TestOwnMaxRSS(t *testing.T) {
	for _, tc := range []struct {
		name               string
		maxrss, floor, out int64
	}{
		{"above the starter's", 100 << 20, 16 << 20, 100 << 20},
		{"equal to the starter's", 16 << 20, 16 << 20, 0},
		{"below the starter's", 2 << 20, 16 << 20, 0},
		{"starter's unknown", 100 << 20, -1, 0},
		{"starter's not recorded", 100 << 20, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := OwnMaxRSS(tc.maxrss, tc.floor); got != tc.out {
				t.Errorf("OwnMaxRSS(%d, %d) = %d, want %d", tc.maxrss, tc.floor, got, tc.out)
			}
		})
	}
}
