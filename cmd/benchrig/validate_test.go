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
