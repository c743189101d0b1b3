package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchrig/benchrig"
)

// FuzzParse checks that Parse never panics, that every failure is a list of
// located invalid-input errors, and that every spec it accepts holds what
// validation promises.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(specs, "*", "*.yaml"))
	top, _ := filepath.Glob(filepath.Join(specs, "*.yaml"))
	for _, path := range append(seeds, top...) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.yaml", data)
		if err != nil {
			if s != nil {
				t.Fatalf("spec returned with error %v", err)
			}
			var errs benchrig.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %T is not a non-empty benchrig.Errors: %v", err, err)
			}
			// YAML breaks lines at \n, \r, NEL, LS and PS; \r\n counts
			// twice here, which only loosens the bound.
			lines := 2
			for _, br := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
				lines += strings.Count(string(data), br)
			}
			for i, e := range errs {
				if e.Code != benchrig.EInvalid || e.File != "f.yaml" || e.Msg == "" {
					t.Fatalf("bad error %#v", e)
				}
				if e.Line < 0 || e.Line > lines {
					t.Fatalf("line %d out of range 0..%d: %v", e.Line, lines, e)
				}
				if i > 0 && e.Line < errs[i-1].Line {
					t.Fatalf("errors not sorted by line: %v", err)
				}
			}
			return
		}
		checkValid(t, s)
	})
}

// checkValid asserts the invariants of a parsed spec.
func checkValid(t *testing.T, s *benchrig.Spec) {
	t.Helper()
	if !nameRE.MatchString(s.Name) {
		t.Fatalf("bad name %q accepted", s.Name)
	}
	if s.Command.IsZero() || (s.Command.Shell != "" && len(s.Command.Argv) > 0) {
		t.Fatalf("bad command %+v accepted", s.Command)
	}
	if s.Repeat.Min < 1 || s.Repeat.Min > s.Repeat.Max || s.Repeat.UntilCI < 0 || s.Repeat.UntilCI > 0.5 || s.Repeat.MaxTime < 0 {
		t.Fatalf("bad repeat %+v accepted", s.Repeat)
	}
	if s.Warmup < 0 || s.Timeout < 0 {
		t.Fatalf("bad warmup %d or timeout %v accepted", s.Warmup, s.Timeout)
	}
	if s.Order != benchrig.Interleaved && s.Order != benchrig.Sequential {
		t.Fatalf("bad order %q accepted", s.Order)
	}
	sample := map[string]string{}
	for _, p := range s.Params {
		if !paramNameRE.MatchString(p.Name) || len(p.Values) == 0 {
			t.Fatalf("bad param %+v accepted", p)
		}
		sample[p.Name] = p.Values[0]
	}
	expand := func(what, tmpl string) {
		if _, err := benchrig.Expand(tmpl, sample); err != nil {
			t.Fatalf("%s %q accepted but does not expand: %v", what, tmpl, err)
		}
	}
	for _, a := range s.Command.Argv {
		expand("argument", a)
	}
	expand("command", s.Command.Shell)
	expand("workdir", s.Workdir)
	for _, v := range s.Env {
		expand("env value", v)
	}
	if tp := s.Throughput; tp != nil {
		if (tp.Value == "") == (len(tp.Files) == 0) {
			t.Fatalf("throughput %+v accepted", tp)
		}
		expand("throughput", tp.Value)
		for _, g := range tp.Files {
			expand("glob", g)
		}
	}
	if probs := checkBaseline(s.Params, s.Baseline); len(probs) > 0 {
		t.Fatalf("baseline %v accepted: %v", s.Baseline, probs)
	}
	for _, r := range s.Requires {
		if (r.Program == "") == (len(r.Files) == 0) {
			t.Fatalf("requirement %+v accepted: want a program or files", r)
		}
	}
	for _, e := range s.Exclude {
		if len(e) == 0 {
			t.Fatalf("empty exclude entry accepted")
		}
		if probs := checkBaseline(s.Params, e); len(probs) > 0 {
			t.Fatalf("exclude entry %v accepted: %v", e, probs)
		}
	}
	if benchrig.CountCases(s.Params, s.Exclude) == 0 {
		t.Fatalf("a matrix without cases accepted: params %v, exclude %v", s.Params, s.Exclude)
	}
	for _, sel := range []map[string]string{s.Baseline, s.Ceiling} {
		if len(sel) > 0 && len(checkBaseline(s.Params, sel)) == 0 && !Selects(s.Params, s.Exclude, sel) {
			t.Fatalf("baseline or ceiling %v that exclude %v removes accepted", sel, s.Exclude)
		}
	}
	if e := s.Expect; e != nil {
		for _, c := range e.Exit {
			if c < 0 || c > 255 {
				t.Fatalf("exit code %d accepted", c)
			}
		}
		if m := e.Stdout.Match; !strings.Contains(m, "{{") {
			if _, err := benchrig.CompileMatch(m); err != nil {
				t.Fatalf("match %q accepted: %v", m, err)
			}
		}
		if l := e.Stdout.Lines; l != "" && !strings.Contains(l, "{{") {
			if _, err := benchrig.ParseLineRange(l); err != nil {
				t.Fatalf("lines %q accepted: %v", l, err)
			}
		}
	}
}
