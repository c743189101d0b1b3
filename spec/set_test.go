package spec

import (
	"errors"
	"reflect"
	"testing"

	"github.com/benchrig/benchrig"
)

const setSpec = `name: s
command: "echo {{.impl}} {{.n}} {{.expr}}"
params:
  impl: [gnu, busybox]
  n: [1, 2, 4]
  expr: ["a=b"]
baseline: {impl: gnu, n: 1}
`

func TestApplySet(t *testing.T) {
	tests := []struct {
		name    string
		sets    []string
		want    []benchrig.Param // when the sets are valid
		wantErr string           // else the whole error text
		notes   []string
	}{
		{
			name: "narrow",
			sets: []string{"n=1,4"},
			want: []benchrig.Param{prm("impl", "gnu", "busybox"), prm("n", "1", "4"), prm("expr", "a=b")},
		},
		{
			name: "override with new values, repeated flag, '=' in a value",
			sets: []string{"n=1,8,16", "expr=x=y", "impl=gnu"},
			want: []benchrig.Param{prm("impl", "gnu"), prm("n", "1", "8", "16"), prm("expr", "x=y")},
		},
		{
			name: "value that is only '='",
			sets: []string{"expr=="},
			want: []benchrig.Param{prm("impl", "gnu", "busybox"), prm("n", "1", "2", "4"), prm("expr", "=")},
		},
		{
			name: "later item for a key wins",
			sets: []string{"n=2", "n=1"},
			want: []benchrig.Param{prm("impl", "gnu", "busybox"), prm("n", "1"), prm("expr", "a=b")},
		},
		{
			name:    "unknown key",
			sets:    []string{"threads=1"},
			wantErr: `--set: unknown param "threads" in "threads=1" (known params: impl, n, expr)`,
		},
		{
			name:    "empty values",
			sets:    []string{"n="},
			wantErr: `--set: no values for param n in "n=" (known params: impl, n, expr)`,
		},
		{
			name:    "empty value among others",
			sets:    []string{"n=1,,2"},
			wantErr: `--set: empty value for param n in "n=1,,2" (known params: impl, n, expr)`,
		},
		{
			name:    "duplicate value",
			sets:    []string{"n=2,2"},
			wantErr: `--set: duplicate value "2" for param n in "n=2,2" (known params: impl, n, expr)`,
		},
		{
			name:    "malformed item",
			sets:    []string{"n"},
			wantErr: `--set: expected param=value[,value...], got "n" (known params: impl, n, expr)`,
		},
		{
			name:    "no key",
			sets:    []string{"=1"},
			wantErr: `--set: expected param=value[,value...], got "=1" (known params: impl, n, expr)`,
		},
		{
			name: "every bad item is reported",
			sets: []string{"x=1", "n=1", "y"},
			wantErr: `--set: unknown param "x" in "x=1" (known params: impl, n, expr)` + "\n" +
				`--set: expected param=value[,value...], got "y" (known params: impl, n, expr)`,
		},
		{
			name:  "narrowing keeps the baseline's values, first",
			sets:  []string{"impl=busybox", "n=2,4"},
			want:  []benchrig.Param{prm("impl", "gnu", "busybox"), prm("n", "1", "2", "4"), prm("expr", "a=b")},
			notes: []string{"kept impl=gnu,n=1, the spec's baseline, beside --set impl=busybox --set n=2,4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("spec.yaml", []byte(setSpec))
			if err != nil {
				t.Fatal(err)
			}
			before := append([]benchrig.Param(nil), s.Params...)
			notes, err := ApplySet(s, tt.sets)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got error %v\nwant %s", err, tt.wantErr)
				}
				var errs benchrig.Errors
				if !errors.As(err, &errs) {
					t.Fatalf("error is %T, want benchrig.Errors", err)
				}
				for _, e := range errs {
					if e.Code != benchrig.EInvalid {
						t.Errorf("code %q, want invalid", e.Code)
					}
				}
				if !reflect.DeepEqual(s.Params, before) {
					t.Errorf("params changed by a failed ApplySet: %v", s.Params)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Params, tt.want) {
				t.Errorf("params = %v, want %v", s.Params, tt.want)
			}
			if !reflect.DeepEqual(notes, tt.notes) {
				t.Errorf("notes = %q, want %q", notes, tt.notes)
			}
			// The spec's params before the call must be left intact: the
			// caller may keep the original.
			if !reflect.DeepEqual(before[1].Values, []string{"1", "2", "4"}) {
				t.Errorf("original values were modified: %v", before)
			}
		})
	}
}

func TestApplySetNoParams(t *testing.T) {
	s, err := Parse("", []byte("name: x\ncommand: a\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ApplySet(s, []string{"n=1"})
	want := `--set: unknown param "n" in "n=1" (the spec has no params)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if _, err := ApplySet(s, nil); err != nil {
		t.Errorf("no sets: %v", err)
	}
}

// With the default baseline (the first case), any override is fine.
func TestApplySetDefaultBaseline(t *testing.T) {
	s, err := Parse("", []byte("name: x\ncommand: a\nparams: {n: [1, 2]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ApplySet(s, []string{"n=3,4"}); err != nil {
		t.Fatal(err)
	}
	if got := benchrig.Matrix(s.Params); len(got) != 2 || got[0].ID != "n=3" {
		t.Errorf("matrix after --set: %v", got)
	}
}

func prm(name string, values ...string) benchrig.Param {
	return benchrig.Param{Name: name, Values: values}
}

// TestApplySetKeepsTheCeiling checks that narrowing keeps the ceiling's
// case, also when exclude would have removed it.
func TestApplySetKeepsTheCeiling(t *testing.T) {
	const src = `name: s
command: [cat]
params:
  impl: [gnu, busybox, cat]
  pattern: [a, b, c]
exclude:
  - {impl: cat, pattern: b}
  - {impl: cat, pattern: c}
baseline: {impl: gnu}
ceiling: {impl: cat}
`
	for _, tc := range []struct {
		name    string
		sets    []string
		cases   []string
		exclude int
		notes   []string
	}{
		{"impl narrowed", []string{"impl=busybox"},
			[]string{"impl=gnu,pattern=a", "impl=gnu,pattern=b", "impl=gnu,pattern=c", "impl=busybox,pattern=a", "impl=busybox,pattern=b", "impl=busybox,pattern=c", "impl=cat,pattern=a"}, 2,
			[]string{"kept impl=gnu, the spec's baseline, beside --set impl=busybox", "kept impl=cat, the spec's ceiling, beside --set impl=busybox"}},
		{"pattern narrowed to one cat excludes", []string{"pattern=c"},
			[]string{"impl=gnu,pattern=c", "impl=busybox,pattern=c", "impl=cat,pattern=c"}, 1,
			[]string{"kept the spec's ceiling {impl: cat} after --set: exclude {impl: cat, pattern: c} no longer applies"}},
		{"cat runs once for two patterns", []string{"pattern=b,c", "impl=gnu"},
			[]string{"impl=gnu,pattern=b", "impl=gnu,pattern=c", "impl=cat,pattern=b"}, 1,
			[]string{"kept impl=cat, the spec's ceiling, beside --set impl=gnu", "kept the spec's ceiling {impl: cat} after --set: exclude {impl: cat, pattern: b} no longer applies"}},
		{"nothing to keep", []string{"pattern=a"},
			[]string{"impl=gnu,pattern=a", "impl=busybox,pattern=a", "impl=cat,pattern=a"}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("spec.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			notes, err := ApplySet(s, tc.sets)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range benchrig.Cases(s.Params, s.Exclude) {
				ids = append(ids, c.ID)
			}
			if !reflect.DeepEqual(ids, tc.cases) {
				t.Errorf("cases = %v\nwant %v", ids, tc.cases)
			}
			if len(s.Exclude) != tc.exclude {
				t.Errorf("exclude = %v, want %d entries", s.Exclude, tc.exclude)
			}
			if !reflect.DeepEqual(notes, tc.notes) {
				t.Errorf("notes = %q\nwant %q", notes, tc.notes)
			}
		})
	}
}
