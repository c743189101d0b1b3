package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestValidateCountsAfterExclude checks that the case cap counts the
// matrix after exclude, without expanding it: 200 x 60 is over the cap,
// and excluding 10 of the 60 brings it to it.
func TestValidateCountsAfterExclude(t *testing.T) {
	c := newCLI(t)
	list := func(n int) string {
		var vals []string
		for i := range n {
			vals = append(vals, fmt.Sprint(i))
		}
		return "[" + strings.Join(vals, ", ") + "]"
	}
	var exclude strings.Builder
	for i := range 10 {
		fmt.Fprintf(&exclude, "  - {b: %d}\n", i)
	}
	for _, tc := range []struct {
		name, exclude string
		code          int
		want          string
	}{
		{"over the cap", "", 2, "the matrix has 12000 cases, more than the 10000 allowed"},
		{"at the cap after exclude", "exclude:\n" + exclude.String(), 0, "10000 case(s) (2000 excluded)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := c.write("m.yaml", "name: m\ncommand: \"echo {{.a}} {{.b}}\"\nparams:\n  a: "+list(200)+"\n  b: "+list(60)+"\n"+tc.exclude)
			code, out, errOut := c.run(context.Background(), "validate", spec)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("exit %d, want %d with %q\n%s%s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
}

// TestCollectSetting checks validate shows a spec's collect block, refuses
// a bad interval (exit 2, file, line and field), and that run's flags are
// checked before anything runs.
func TestCollectSetting(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		name, block string
		code        int
		want        string
	}{
		{"default unsaid", "", 0, "trials each, 0 warmup\n"},
		{"interval", "collect: {interval: 250ms}\n", 0, "0 warmup, collector every 250 ms\n"},
		{"off", "collect: {enabled: false}\n", 0, "0 warmup, collector off\n"},
		{"too short", "collect: {interval: 10ms}\n", 2, "c.yaml:4: collect.interval: must be at least 100ms, got 10ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := c.write("c.yaml", "name: c\ncommand: [\"true\"]\nwarmup: 0\n"+tc.block)
			code, out, errOut := c.run(context.Background(), "validate", spec)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("exit %d, want %d with %q\n%s%s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
	spec := c.write("ok.yaml", "name: c\ncommand: [\"true\"]\n")
	for _, args := range [][]string{
		{"--collect-interval", "50ms"},
		{"--collect-interval", "1s", "--no-collect"},
	} {
		code, out, errOut := c.run(context.Background(), append([]string{"run", spec, "--dry-run"}, args...)...)
		if code != 2 || !strings.Contains(errOut, "--collect-interval") {
			t.Errorf("run %v: exit %d, want 2 naming --collect-interval\n%s%s", args, code, out, errOut)
		}
	}
}
