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

func TestCasesExclude(t *testing.T) {
	impl := Param{"impl", []string{"gnu", "bb", "cat"}}
	pat := Param{"pattern", []string{"a", "b", "c"}}
	for _, tc := range []struct {
		name    string
		params  []Param
		exclude []map[string]string
		want    []string
	}{
		{"no entries keeps the matrix", []Param{impl}, nil, []string{"impl=gnu", "impl=bb", "impl=cat"}},
		{"one full combination", []Param{impl, pat},
			[]map[string]string{{"impl": "cat", "pattern": "b"}, {"impl": "cat", "pattern": "c"}},
			[]string{"impl=gnu,pattern=a", "impl=gnu,pattern=b", "impl=gnu,pattern=c", "impl=bb,pattern=a", "impl=bb,pattern=b", "impl=bb,pattern=c", "impl=cat,pattern=a"}},
		{"a partial entry removes a row", []Param{impl, pat},
			[]map[string]string{{"pattern": "a"}},
			[]string{"impl=gnu,pattern=b", "impl=gnu,pattern=c", "impl=bb,pattern=b", "impl=bb,pattern=c", "impl=cat,pattern=b", "impl=cat,pattern=c"}},
		{"overlapping entries count once", []Param{impl, pat},
			[]map[string]string{{"pattern": "a"}, {"impl": "gnu"}, {"impl": "gnu", "pattern": "a"}},
			[]string{"impl=bb,pattern=b", "impl=bb,pattern=c", "impl=cat,pattern=b", "impl=cat,pattern=c"}},
		{"an entry naming an absent param matches nothing", []Param{impl},
			[]map[string]string{{"impl": "gnu", "arch": "arm64"}}, []string{"impl=gnu", "impl=bb", "impl=cat"}},
		{"an entry naming an absent value matches nothing", []Param{impl},
			[]map[string]string{{"impl": "musl"}}, []string{"impl=gnu", "impl=bb", "impl=cat"}},
		{"everything excluded", []Param{impl}, []map[string]string{{"impl": "gnu"}, {"impl": "bb"}, {"impl": "cat"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cases := Cases(tc.params, tc.exclude)
			var ids []string
			for i, c := range cases {
				ids = append(ids, c.ID)
				if c.Index != i {
					t.Errorf("case %s: index %d, want %d", c.ID, c.Index, i)
				}
			}
			if strings.Join(ids, " ") != strings.Join(tc.want, " ") {
				t.Errorf("cases = %v, want %v", ids, tc.want)
			}
			if n := CountCases(tc.params, tc.exclude); n != len(tc.want) {
				t.Errorf("CountCases = %d, want %d", n, len(tc.want))
			}
		})
	}
}

// TestCountCasesAgreesWithExpansion compares the count without expansion
// with the expansion over many small matrices and exclude lists.
func TestCountCasesAgreesWithExpansion(t *testing.T) {
	vals := []string{"0", "1", "2"}
	params := []Param{{"a", vals}, {"b", vals[:2]}, {"c", vals}}
	var entries []map[string]string
	for _, a := range append(vals, "") {
		for _, b := range append(vals[:2:2], "") {
			for _, c := range append(vals, "") {
				e := map[string]string{}
				for k, v := range map[string]string{"a": a, "b": b, "c": c} {
					if v != "" {
						e[k] = v
					}
				}
				if len(e) > 0 {
					entries = append(entries, e)
				}
			}
		}
	}
	for i := range entries {
		for j := i; j < len(entries); j += 7 {
			ex := []map[string]string{entries[i], entries[j], entries[(i*j)%len(entries)]}
			if got, want := CountCases(params, ex), len(Cases(params, ex)); got != want {
				t.Fatalf("exclude %v: CountCases = %d, expansion has %d", ex, got, want)
			}
		}
	}
}

func TestCountCasesHugeMatrix(t *testing.T) {
	big := make([]string, 200)
	for i := range big {
		big[i] = fmt.Sprint(i)
	}
	params := []Param{{"a", big}, {"b", big}, {"c", big}}
	if got := CountCases(params, []map[string]string{{"a": "0"}, {"b": "1", "c": "2"}}); got != 8000000-40000-200+1 {
		t.Errorf("CountCases = %d", got)
	}
	// Excluding all but one value of a and of b leaves 200 cases, made
	// without walking the 8,000,000 combinations.
	var ex []map[string]string
	for _, v := range big[1:] {
		ex = append(ex, map[string]string{"a": v}, map[string]string{"b": v})
	}
	if got := Cases(params, ex); len(got) != 200 || got[199].ID != "a=0,b=0,c=199" || CountCases(params, ex) != 200 {
		t.Errorf("%d cases (count %d), want 200", len(got), CountCases(params, ex))
	}
	n := 0
	for range EachCase(params, nil) {
		if n++; n == 3 {
			break // a lazy walk stops when asked
		}
	}
}

// TestCountCasesGivesUpOnIntricateExcludes checks that an exclude list
// whose exact count would take exponential work is counted as the whole
// matrix (an upper bound) within bounded time, not stalled on.
func TestCountCasesGivesUpOnIntricateExcludes(t *testing.T) {
	var params []Param
	for i := range 40 {
		params = append(params, Param{fmt.Sprint("p", i), []string{"a", "b", "c"}})
	}
	var ex []map[string]string
	for i := range 39 {
		for _, v := range []string{"a", "b"} {
			ex = append(ex, map[string]string{fmt.Sprint("p", i): v, fmt.Sprint("p", i+1): "c", fmt.Sprint("p", (i+5)%40): "b"})
		}
	}
	if got := CountCases(params, ex); got != product(params) {
		t.Errorf("CountCases = %d, want the upper bound %d", got, product(params))
	}
}

// FuzzCountCases checks that counting without expansion agrees with the
// expansion, for matrices and exclude lists drawn from the input.
func FuzzCountCases(f *testing.F) {
	f.Add([]byte{3, 2, 2, 0, 1, 255, 1, 0, 0})
	f.Add([]byte{2, 3, 3, 1, 255, 2, 255, 0, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		// data[0]: how many params (1-4); then their value counts (1-4);
		// then exclude entries, one byte per param each (255: not named).
		np := int(data[0])%4 + 1
		data = data[1:]
		var params []Param
		for i := 0; i < np; i++ {
			n := 1
			if i < len(data) {
				n = int(data[i])%4 + 1
			}
			p := Param{Name: fmt.Sprint("p", i)}
			for v := 0; v < n; v++ {
				p.Values = append(p.Values, fmt.Sprint(v))
			}
			params = append(params, p)
		}
		if len(data) > np {
			data = data[np:]
		} else {
			data = nil
		}
		var exclude []map[string]string
		for len(data) >= np {
			e := map[string]string{}
			for i := 0; i < np; i++ {
				if data[i] != 255 {
					e[fmt.Sprint("p", i)] = fmt.Sprint(int(data[i]) % 5) // 4 is no value
				}
			}
			exclude = append(exclude, e)
			data = data[np:]
		}
		cases := Cases(params, exclude)
		if got := CountCases(params, exclude); got != len(cases) {
			t.Fatalf("CountCases = %d, expansion has %d (params %v, exclude %v)", got, len(cases), params, exclude)
		}
		seen := 0
		for _, c := range Matrix(params) {
			if !Excluded(c.Params, exclude) {
				if seen >= len(cases) || cases[seen].ID != c.ID || cases[seen].Index != seen {
					t.Fatalf("case %d: %s not the next of the expansion %v", seen, c.ID, cases)
				}
				seen++
			}
		}
		if seen != len(cases) {
			t.Fatalf("the expansion has %d cases, the filter %d", len(cases), seen)
		}
	})
}
