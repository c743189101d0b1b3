package benchrig

import (
	"testing"
	"time"
)

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "4096", want: 4096},
		{in: "55MB", want: 55_000_000},
		{in: "1.15MB", want: 1_150_000},
		{in: "64MiB", want: 64 << 20},
		{in: " 128m ", want: 128_000_000},
		{in: "2 GiB", want: 2 << 30},
		{in: "10kB", want: 10_000},
		{in: "0", want: 0},
		{in: "", bad: true},
		{in: "MB", bad: true},
		{in: "-1MB", bad: true},
		{in: "12 parsecs", bad: true},
		{in: "NaN", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseBytes(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseBytes(%q) = %d, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{
		999:         "999 B",
		55_000_000:  "55.0 MB",
		660_000_000: "660 MB",
		1_150_000:   "1.15 MB",
	} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    time.Duration
		want string
	}{
		{"as measured, not rounded to 100 ms", 837 * time.Millisecond, "837 ms"},
		{"tens of ms, not 0s", 36*time.Millisecond + 200*time.Microsecond, "36.2 ms"},
		{"microseconds", 412 * time.Microsecond, "412 µs"},
		{"nanoseconds", 15, "15.0 ns"},
		{"zero", 0, "0 s"},
		{"seconds", 1234 * time.Millisecond, "1.23 s"},
		{"rounding adds a digit", 9999 * time.Microsecond, "10.0 ms"},
		{"under a minute", 59*time.Second + 400*time.Millisecond, "59.4 s"},
		{"minutes", 123500 * time.Millisecond, "2 min 4 s"},
		{"hours", 3*time.Hour + 4*time.Minute + 40*time.Second, "3 h 5 min"},
		{"minutes round up to the hour", 3*time.Hour + 59*time.Minute + 40*time.Second, "4 h 0 min"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatDuration(tc.d); got != tc.want {
				t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}
