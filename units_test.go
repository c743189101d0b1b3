package benchrig

import "testing"

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
