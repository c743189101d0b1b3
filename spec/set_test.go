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
			name:    "baseline value no longer present",
			sets:    []string{"impl=busybox"},
			wantErr: `spec.yaml: baseline.impl: after --set: "gnu" is not a value of param impl (values: busybox)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("spec.yaml", []byte(setSpec))
			if err != nil {
				t.Fatal(err)
			}
			before := append([]benchrig.Param(nil), s.Params...)
			err = ApplySet(s, tt.sets)
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
	err = ApplySet(s, []string{"n=1"})
	want := `--set: unknown param "n" in "n=1" (the spec has no params)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if err := ApplySet(s, nil); err != nil {
		t.Errorf("no sets: %v", err)
	}
}

// With the default baseline (the first case), any override is fine.
func TestApplySetDefaultBaseline(t *testing.T) {
	s, err := Parse("", []byte("name: x\ncommand: a\nparams: {n: [1, 2]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ApplySet(s, []string{"n=3,4"}); err != nil {
		t.Fatal(err)
	}
	if got := benchrig.Matrix(s.Params); len(got) != 2 || got[0].ID != "n=3" {
		t.Errorf("matrix after --set: %v", got)
	}
}

func prm(name string, values ...string) benchrig.Param {
	return benchrig.Param{Name: name, Values: values}
}

func TestApplySetChecksTheCeiling(t *testing.T) {
	s, err := Parse("spec.yaml", []byte("name: s\ncommand: [cat]\nparams:\n  impl: [cat, grep]\nceiling: {impl: cat}\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = ApplySet(s, []string{"impl=grep"})
	want := `spec.yaml: ceiling.impl: after --set: "cat" is not a value of param impl (values: grep)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}
