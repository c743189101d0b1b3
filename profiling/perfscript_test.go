package profiling

import (
	"bufio"
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParsePerfScriptGolden folds every perf script fixture of testdata/
// and compares with its .folded golden file. The real fixtures were
// recorded on this project's machines (see testdata/README.md).
func TestParsePerfScriptGolden(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.perf-script"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no testdata/*.perf-script fixtures")
	}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".perf-script")
		t.Run(name, func(t *testing.T) {
			s := readFixture(t, filepath.Base(p))
			if got, want := s.Total(), countHeaders(t, p); got != want {
				t.Errorf("folded %d samples, the fixture has %d sample headers", got, want)
			}
			var buf bytes.Buffer
			if err := WriteFolded(&buf, s); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".folded", buf.Bytes())
		})
	}
}

// countHeaders counts a fixture's sample header lines: those that are not
// blank, comments or indented frames.
func countHeaders(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	inSample := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			inSample = false
		case line[0] == '#':
		case line[0] == '\t':
		case line[0] == ' ' && inSample:
			// A right-aligned comm of a sample without call chain.
			n++
		default:
			n++
			inSample = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestParsePerfScript(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Stacks
	}{
		{
			name: "leaf first becomes root first, offsets stripped",
			in: "prog 12 [000] 1.000001: 1000 cpu-clock: \n" +
				"\t  401000 leaf+0x12 (/opt/prog)\n" +
				"\t  402000 mid+0x1 (/opt/prog)\n" +
				"\t  403000 main+0x30 (/opt/prog)\n\n",
			want: Stacks{"prog;main;mid;leaf": 1},
		},
		{
			name: "samples count once whatever their period",
			in: "a 1 1.0: 5000000 cpu-clock: \n\t 1 f (/x)\n\n" +
				"a 1 1.1: 1 cpu-clock: \n\t 1 f (/x)\n",
			want: Stacks{"a;f": 2},
		},
		{
			name: "unknown symbol in a known module is module and address",
			in:   "grep 7 [001] 2.5: 1 cpu-clock:ppp: \n\t    55d5a1b2c3d4 [unknown] (/usr/bin/grep)\n",
			want: Stacks{"grep;grep+0x55d5a1b2c3d4": 1},
		},
		{
			name: "module offset printed by perf -F +dsoff is kept",
			in:   "grep 7 2.5: cpu-clock: \n\t    55d5a1b2c3d4 [unknown] (/usr/bin/grep+0x1c3d4)\n",
			want: Stacks{"grep;grep+0x1c3d4": 1},
		},
		{
			name: "nothing known stays unknown",
			in:   "x 7 2.5: cpu-clock: \n\t               0 [unknown] ([unknown])\n",
			want: Stacks{"x;[unknown]": 1},
		},
		{
			name: "a run of unknown frames is one (frame pointers walked through code without them)",
			in: "bb 7 2.5: cpu-clock: \n\t  55d5 [unknown] (/bin/busybox)\n\t 0 [unknown] ([unknown])\n\t 0 [unknown] ([unknown])\n" +
				"\t 0 [unknown] ([unknown])\n\t  11 main (/bin/busybox)\n\t 0 [unknown] ([unknown])\n",
			want: Stacks{"bb;[unknown];main;[unknown];busybox+0x55d5": 1},
		},
		{
			name: "kernel frames are marked",
			in: "x 7 2.5: cpu-clock: \n" +
				"\tffffffff8105d1d6 clear_page_erms+0x16 ([kernel.kallsyms])\n" +
				"\tffffffff81000000 [unknown] ([kernel.kallsyms])\n",
			want: Stacks{"x;[unknown]_[k];clear_page_erms_[k]": 1},
		},
		{
			name: "comm with spaces, digits and pid/tid",
			in:   "Web Content 2 77/78 [003] 9.000001: 1 cpu-clock: \n\t 1 f (/x)\n",
			want: Stacks{"Web Content 2;f": 1},
		},
		{
			name: "sample without call chain counts as its comm",
			in:   "python3 5000/5000 [001] 100.004005: cpu-clock:u: \n\n",
			want: Stacks{"python3": 1},
		},
		{
			name: "samples recorded without -g name their leaf in the header",
			in: "            gzip  6001 200.000001:    1001001 cpu-clock:   55d5a1b2c3d4 [unknown] (/usr/bin/gzip)\n" +
				"         swapper     0 200.002003:    1001001 cpu-clock:   ffffffff8105d1d6 default_idle+0x6 ([kernel.kallsyms])\n",
			want: Stacks{"gzip;gzip+0x55d5a1b2c3d4": 1, "swapper;default_idle_[k]": 1},
		},
		{
			name: "semicolons in names cannot split frames",
			in:   "a;b 1 1.0: cpu-clock: \n\t 1 <[u8; 32] as Debug>::fmt+0x4 (/x)\n",
			want: Stacks{"a:b;<[u8: 32] as Debug>::fmt": 1},
		},
		{
			name: "symbols with spaces and parentheses",
			in:   "a 1 1.0: cpu-clock: \n\t 1 operator new(unsigned long)+0x1c (/usr/lib/libstdc++.so.6)\n",
			want: Stacks{"a;operator new(unsigned long)": 1},
		},
		{
			name: "tabs turned to spaces still read",
			in:   "a 1 1.0: cpu-clock: \n        1 f+0x1 (/x)\n        2 main (/x)\n\n",
			want: Stacks{"a;main;f": 1},
		},
		{
			name: "header without time stamp falls back to the pid",
			in:   "my comm 12 cpu-clock: \n\t 1 f (/x)\n",
			want: Stacks{"my comm;f": 1},
		},
		{
			name: "header of unknown layout falls back to its first word",
			in:   "weird header layout\n\t 1 f (/x)\n",
			want: Stacks{"weird;f": 1},
		},
		{
			name: "CRLF line ends and no final blank line",
			in:   "a 1 1.0: cpu-clock: \r\n\t 1 f (/x)\r\n",
			want: Stacks{"a;f": 1},
		},
		{
			name: "frame without address but with module",
			in:   "a 1 1.0: cpu-clock: \n\t f+0x1 (/x)\n",
			want: Stacks{"a;f": 1},
		},
		{
			name: "side-band records are not samples",
			in: "perf 9 [000] 0.5: PERF_RECORD_COMM: perf:9/9\n" +
				"a 1 1.0: cpu-clock: \n\t 1 f (/x)\n\n" +
				"a 1 [000] 1.2: PERF_RECORD_LOST lost 12\n" +
				"a 1 1.3: cpu-clock: \n\t 1 g (/x)\n",
			want: Stacks{"a;f": 1, "a;g": 1},
		},
		{
			name: "comments and empty input",
			in:   "# perf script --header\n#\n\n",
			want: Stacks{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePerfScript(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParsePerfScriptErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"frame before any header", "\t 401000 main (/x)\n", "line 1: call-chain frame outside a sample"},
		{"frame after a blank line", "a 1 1.0: cpu-clock: \n\t 1 f (/x)\n\n\t 2 g (/x)\n", "line 4: call-chain frame outside a sample"},
		{"frame with neither address nor module", "a 1 1.0: cpu-clock: \n\t 1 f (/x)\n\tnot a frame\n", "line 3: malformed call-chain frame"},
		{"line too long", "a 1 1.0: cpu-clock: \n\t" + strings.Repeat("f", maxPerfScriptLine+1) + "\n", "line 2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePerfScript(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// FuzzParsePerfScript checks the parser never panics and that whatever it
// returns is valid folded stacks: no empty frame, and it round-trips
// through WriteFolded and ReadFolded.
func FuzzParsePerfScript(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.perf-script"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 2<<10 {
			b = b[:2<<10]
		}
		f.Add(string(b))
	}
	f.Add("a 1 1.0: cpu-clock: \n\t 1 f (/x)\n\n")
	f.Add("  x  1 1.0: 1 cpu-clock:   1 f+0x1 (/x)\n")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParsePerfScript(strings.NewReader(in))
		if err != nil {
			return
		}
		for k, c := range s {
			if c <= 0 {
				t.Fatalf("stack %q has count %d", k, c)
			}
			for _, fr := range strings.Split(k, ";") {
				if fr == "" {
					t.Fatalf("stack %q has an empty frame", k)
				}
			}
		}
		var buf bytes.Buffer
		if err := WriteFolded(&buf, s); err != nil {
			t.Fatal(err)
		}
		back, err := ReadFolded(&buf)
		if err != nil {
			t.Fatalf("read back: %v\n%s", err, buf.String())
		}
		if !maps.Equal(back, s) {
			t.Fatalf("round trip: got %v, want %v", back, s)
		}
	})
}

// BenchmarkParsePerfScript parses the largest fixture.
func BenchmarkParsePerfScript(b *testing.B) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.perf-script"))
	var data []byte
	for _, p := range paths {
		d, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		if len(d) > len(data) {
			data = d
		}
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePerfScript(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
