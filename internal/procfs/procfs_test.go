package procfs

import "testing"

func TestCPUTicks(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       [NumCPUTimes]uint64
		cpus       int
		bad        bool
	}{
		{"current kernel", "cpu  100 5 50 1000 7 3 2 4 0 0\ncpu0 50 2 25 500 3 1 1 2 0 0\ncpu1 50 3 25 500 4 2 1 2 0 0\nintr 1\n",
			[NumCPUTimes]uint64{100, 5, 50, 1000, 7, 3, 2, 4}, 2, false},
		{"older kernel", "cpu 1 2 3 4\ncpu0 1 2 3 4\n", [NumCPUTimes]uint64{1, 2, 3, 4}, 1, false},
		{"short line", "cpu 1 2 3\n", [NumCPUTimes]uint64{}, 0, true},
		{"no cpu line", "intr 1\n", [NumCPUTimes]uint64{}, 0, true},
		{"not a number", "cpu 1 x 3 4\n", [NumCPUTimes]uint64{}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CPUTicks([]byte(tc.stat))
			if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
				t.Errorf("CPUTicks = %v, %v; want %v (error %v)", got, err, tc.want, tc.bad)
			}
			if !tc.bad && CountCPUs([]byte(tc.stat)) != tc.cpus {
				t.Errorf("CountCPUs = %d, want %d", CountCPUs([]byte(tc.stat)), tc.cpus)
			}
		})
	}
}
