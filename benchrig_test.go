package benchrig

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestMatrix(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params []Param
		want   []string
	}{
		{"no params is one case", nil, []string{"default"}},
		{"one param", []Param{{"n", []string{"1", "2"}}}, []string{"n=1", "n=2"}},
		{"first param varies slowest", []Param{{"impl", []string{"gnu", "bb"}}, {"n", []string{"1", "2", "4"}}},
			[]string{"impl=gnu,n=1", "impl=gnu,n=2", "impl=gnu,n=4", "impl=bb,n=1", "impl=bb,n=2", "impl=bb,n=4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cases := Matrix(tc.params)
			var ids []string
			for i, c := range cases {
				ids = append(ids, c.ID)
				if c.Index != i || CaseID(c.Params) != c.ID {
					t.Errorf("case %d: index %d, id %q", i, c.Index, c.ID)
				}
			}
			if strings.Join(ids, " ") != strings.Join(tc.want, " ") {
				t.Errorf("cases = %v, want %v", ids, tc.want)
			}
		})
	}
	// Cases must not share their Params backing arrays.
	cases := Matrix([]Param{{"a", []string{"1", "2"}}, {"b", []string{"x", "y"}}})
	cases[0].Params[1].Value = "changed"
	if cases[1].Params[1].Value != "y" {
		t.Error("cases share params")
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"n": "4", "file": "a b.txt"}
	for _, tc := range []struct {
		in, want, err string
	}{
		{"plain", "plain", ""},
		{"xargs -P {{.n}} grep x '{{.file}}'", "xargs -P 4 grep x 'a b.txt'", ""},
		{"{{.missing}}", "", `map has no entry for key "missing"`},
		{"{{.n", "", "unclosed action"},
	} {
		got, err := Expand(tc.in, vars)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Expand(%q) err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	e := &Error{Code: EInvalid, File: "spec.yaml", Line: 3, Field: "repeat", Msg: "must be at least 1, got 0"}
	if got, want := e.Error(), "spec.yaml:3: repeat: must be at least 1, got 0"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	wrapped := fmt.Errorf("load: %w", Errors{e, {Code: ENotFound, Msg: "x"}})
	if ErrorCode(wrapped) != EInvalid {
		t.Errorf("ErrorCode of wrapped list = %q, want the first error's code", ErrorCode(wrapped))
	}
	if ErrorCode(errors.New("plain")) != EInternal || ErrorCode(nil) != "" {
		t.Error("ErrorCode of plain/nil errors")
	}
	if (Errors{}).Err() != nil {
		t.Error("empty Errors is not nil")
	}
	inner := errors.New("permission denied")
	if got := (&Error{Code: EInvalid, File: "db", Msg: "cannot write", Err: inner}).Error(); got != "db: cannot write: permission denied" || !errors.Is(&Error{Err: inner}, inner) {
		t.Errorf("wrapped Error() = %q", got)
	}
}

func TestCaseCount(t *testing.T) {
	vals := func(n int) []string { return make([]string, n) }
	for _, tc := range []struct {
		name   string
		params []Param
		want   int
	}{
		{"no params is one case", nil, 1},
		{"product", []Param{{"a", vals(3)}, {"b", vals(4)}}, 12},
		{"an empty param is none", []Param{{"a", vals(3)}, {"b", nil}}, 0},
		{"saturates instead of overflowing", []Param{{"a", vals(1 << 16)}, {"b", vals(1 << 16)}, {"c", vals(1 << 16)}, {"d", vals(1 << 16)}}, math.MaxInt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CaseCount(tc.params); got != tc.want {
				t.Errorf("CaseCount = %d, want %d", got, tc.want)
			}
		})
	}
}
