package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

var update = flag.Bool("update", false, "rewrite the golden .err files of testdata/specs")

const specs = "../testdata/specs"

func TestParseGood(t *testing.T) {
	tests := []struct {
		file string
		want benchrig.Spec
	}{
		{"minimal.yaml", benchrig.Spec{
			Name:    "minimal",
			Command: benchrig.Command{Shell: "sleep 0.01"},
			Repeat:  benchrig.Repeat{Min: 10, Max: 10},
			Warmup:  1,
			Order:   benchrig.Interleaved,
		}},
		{"matrix.yaml", benchrig.Spec{
			Name:        "sort.threads",
			Description: "GNU sort with more threads",
			Command:     benchrig.Command{Argv: []string{"sort", "--parallel={{.threads}}", "-o", "/dev/null", "{{.input}}"}},
			Params: []benchrig.Param{
				{Name: "threads", Values: []string{"1", "2", "4"}},
				{Name: "input", Values: []string{"small.txt", "big.txt"}},
				{Name: "stable", Values: []string{"true", "false"}},
			},
			Repeat:   benchrig.Repeat{Min: 3, Max: 3},
			Warmup:   0,
			Timeout:  90 * time.Second,
			Workdir:  "/tmp/{{.input}}.d",
			Baseline: map[string]string{"threads": "1", "input": "big.txt", "stable": "true"},
			Order:    benchrig.Sequential,
			Scaling:  "threads",
		}},
		{"adaptive.yaml", benchrig.Spec{
			Name:       "json_decode",
			Command:    benchrig.Command{Shell: "./decode -n {{.n}}"},
			Params:     []benchrig.Param{{Name: "n", Values: []string{"1000", "1e6"}}},
			Repeat:     benchrig.Repeat{Min: 5, Max: 50, UntilCI: 0.05},
			Warmup:     1,
			Throughput: &benchrig.Throughput{Unit: benchrig.Items, Value: "{{.n}}"},
			Images:     map[string]string{"amd64": "amd64/alpine:3.20", "arm64": "arm64v8/alpine:3.20"},
			Order:      benchrig.Interleaved,
		}},
		{"anchors.yaml", benchrig.Spec{
			Name:     "anchors",
			Command:  benchrig.Command{Argv: []string{"true"}},
			Setup:    &benchrig.Command{Argv: []string{"true"}},
			Env:      map[string]string{"LC_ALL": "C", "TZ": "Europe/Paris"},
			Params:   []benchrig.Param{{Name: "impl", Values: []string{"gnu", "busybox"}}},
			Baseline: map[string]string{"impl": "busybox"},
			Repeat:   benchrig.Repeat{Min: 10, Max: 10},
			Warmup:   1,
			Order:    benchrig.Interleaved,
		}},
		{"commands.yaml", benchrig.Spec{
			Name:       "cp-1g",
			Command:    benchrig.Command{Shell: "cp big.bin copy.bin"},
			Setup:      &benchrig.Command{Shell: "head -c 1073741824 /dev/zero > big.bin"},
			Cleanup:    &benchrig.Command{Argv: []string{"rm", "-f", "big.bin", "copy.bin"}},
			Env:        map[string]string{"GOMAXPROCS": "2", "EMPTY": ""},
			Warmup:     3,
			Repeat:     benchrig.Repeat{Min: 2, Max: 2},
			Throughput: &benchrig.Throughput{Unit: benchrig.Bytes, Value: "1073741824"},
			Image:      "alpine",
			Order:      benchrig.Interleaved,
		}},
		{"exclude.yaml", benchrig.Spec{
			Name:    "grep-exclude",
			Command: benchrig.Command{Argv: []string{"sh", "-c", "exec {{.impl}} -c {{.pattern}} {{.data}}/*.smi"}},
			Params: []benchrig.Param{
				{Name: "impl", Values: []string{"grep", "busybox", "cat"}},
				{Name: "pattern", Values: []string{"C", "N"}},
				{Name: "data", Values: []string{".bench/data/smiles"}},
			},
			Exclude: []map[string]string{{"impl": "cat", "pattern": "N"}, {"impl": "busybox", "arch": "arm64"}},
			Requires: []benchrig.Requirement{
				{Files: []string{"{{.data}}/smiles-*.smi"}, Hint: "benchrig data smiles --out {{.data}}"},
				{Program: "{{.impl}}"},
			},
			Baseline: map[string]string{"impl": "grep"},
			Ceiling:  map[string]string{"impl": "cat"},
			Repeat:   benchrig.Repeat{Min: 10, Max: 10},
			Warmup:   1,
			Order:    benchrig.Interleaved,
		}},
		{"../annotated.yaml", benchrig.Spec{
			Name:        "grep-locale",
			Description: "GNU grep -c over a 100 MiB log, C vs UTF-8 locale, two patterns",
			Command:     benchrig.Command{Argv: []string{"grep", "-c", "-E", "{{.pattern}}", "{{.file}}"}},
			Params: []benchrig.Param{
				{Name: "locale", Values: []string{"C", "C.UTF-8"}},
				{Name: "pattern", Values: []string{"ERROR", "timeout after [0-9]+ms"}},
				{Name: "file", Values: []string{"/tmp/benchrig-grep.log"}},
			},
			Repeat:  benchrig.Repeat{Min: 5, Max: 30, UntilCI: 0.02, MaxTime: 2 * time.Minute},
			Warmup:  1,
			Timeout: 30 * time.Second,
			Env:     map[string]string{"LC_ALL": "{{.locale}}", "GREP_COLORS": ""},
			Workdir: "/tmp",
			Setup: &benchrig.Command{Shell: `test -s {{.file}} || awk 'BEGIN { for (i = 0; i < 3400000; i++) ` +
				`print (i % 50 ? "INFO request " i " ok in 3ms" : "ERROR request " i " timeout after 250ms") }' > {{.file}}`},
			Cleanup:    &benchrig.Command{Argv: []string{"sync"}},
			Throughput: &benchrig.Throughput{Unit: benchrig.Bytes, Files: []string{"{{.file}}"}},
			Image:      "debian:bookworm",
			Images:     map[string]string{"amd64": "debian:bookworm", "arm64": "arm64v8/debian:bookworm"},
			Baseline:   map[string]string{"locale": "C", "pattern": "ERROR"},
			Order:      benchrig.Interleaved,
			Expect: &benchrig.Expect{
				Exit:   []int{0},
				Stdout: benchrig.StdoutExpect{Match: "^[0-9]+$", Lines: "1"},
				Agree:  &benchrig.Agree{By: []string{"pattern"}},
			},
		}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[filepath.Base(tt.file)] = true
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(specs, "good", tt.file)
			got, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			data, _ := os.ReadFile(path)
			sum := sha256.Sum256(data)
			if got.File != path || got.Hash != hex.EncodeToString(sum[:]) || string(got.Source) != string(data) {
				t.Errorf("File, Hash, Source = %q, %q, %d bytes; want %q, sha256 of the file, its %d bytes",
					got.File, got.Hash, len(got.Source), path, len(data))
			}
			got.File, got.Hash, got.Source = "", "", nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("spec mismatch\n got: %+v\nwant: %+v", *got, tt.want)
			}
		})
	}
	// Every good file must be in the table, so none is only checked for
	// parsing.
	files, _ := filepath.Glob(filepath.Join(specs, "good", "*.yaml"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s has no entry in the table", f)
		}
	}
}

// TestParseBad checks each spec of testdata/specs/bad, which has exactly one
// problem, against the message in the .err file beside it.
func TestParseBad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(specs, "bad", "*.yaml"))
	if err != nil || len(files) < 20 {
		t.Fatalf("want at least 20 bad specs, got %d (%v)", len(files), err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			errs := parseErrors(t, path)
			if len(errs) != 1 {
				t.Errorf("want exactly one problem, got %d:\n%v", len(errs), errs)
			}
			golden(t, strings.TrimSuffix(path, ".yaml")+".err", errs.Error()+"\n")
		})
	}
}

// TestParseManyErrors checks that every problem of a spec is reported, in
// line order.
func TestParseManyErrors(t *testing.T) {
	path := filepath.Join(specs, "many-errors.yaml")
	errs := parseErrors(t, path)
	golden(t, filepath.Join(specs, "many-errors.err"), errs.Error()+"\n")
	if len(errs) < 10 {
		t.Errorf("want at least 10 problems, got %d", len(errs))
	}
	for i := 1; i < len(errs); i++ {
		if errs[i].Line < errs[i-1].Line {
			t.Errorf("errors not sorted by line: %d after %d", errs[i].Line, errs[i-1].Line)
		}
	}
}

// parseErrors loads path, which must fail, and checks the shape of every
// error before returning them.
func parseErrors(t *testing.T, path string) benchrig.Errors {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(filepath.Base(path), data)
	if err == nil {
		t.Fatalf("parsed without error: %+v", s)
	}
	if s != nil {
		t.Errorf("returned a spec along with an error")
	}
	var errs benchrig.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, want benchrig.Errors: %v", err, err)
	}
	for _, e := range errs {
		if e.Code != benchrig.EInvalid || e.File != filepath.Base(path) || e.Msg == "" {
			t.Errorf("error %+v: want code invalid, file %s and a message", e, filepath.Base(path))
		}
		if e.Msg != strings.ToLower(e.Msg[:1])+e.Msg[1:] {
			t.Errorf("message %q does not start in lower case", e.Msg)
		}
	}
	return errs
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("error mismatch\n got: %s\nwant: %s", got, want)
	}
}

func TestParseErrorFields(t *testing.T) {
	tests := []struct {
		name, yaml string
		line       int
		field      string
	}{
		{"param value", "name: x\ncommand: a\nparams:\n  n: [1, 2,\n    2]\n", 5, "params.n[2]"},
		{"until_ci", "name: x\ncommand: a\nrepeat:\n  until_ci: 0%\n", 4, "repeat.until_ci"},
		{"env", "name: x\ncommand: a\nenv:\n  A: b\n  LC_ALL: '{{.x}}'\n", 5, "env.LC_ALL"},
		{"argv item", "name: x\ncommand:\n  - a\n  - {b: c}\n", 4, "command[1]"},
		{"files glob", "name: x\ncommand: a\nthroughput:\n  files:\n    - ok\n    - '{{'\n", 6, "throughput.files[1]"},
		{"missing name", "\n\ncommand: a\n", 3, "name"},
		{"alias to bad value", "name: x\nbad: &b -1\ncommand: a\nwarmup: *b\n", 2, "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tt.yaml))
			var errs benchrig.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("want benchrig.Errors, got %v", err)
			}
			if errs[0].Line != tt.line || errs[0].Field != tt.field {
				t.Errorf("first error at line %d field %q, want line %d field %q: %v", errs[0].Line, errs[0].Field, tt.line, tt.field, err)
			}
		})
	}
}

func TestParseDefaultsAndConversions(t *testing.T) {
	tests := []struct {
		name, yaml string
		check      func(*benchrig.Spec) bool
	}{
		{"until_ci fraction", "name: x\ncommand: a\nrepeat: {until_ci: 0.5}", func(s *benchrig.Spec) bool {
			return s.Repeat == benchrig.Repeat{Min: 5, Max: 30, UntilCI: 0.5}
		}},
		{"until_ci percent", "name: x\ncommand: a\nrepeat: {until_ci: 12.5%, min: 30}", func(s *benchrig.Spec) bool {
			return s.Repeat == benchrig.Repeat{Min: 30, Max: 30, UntilCI: 0.125}
		}},
		{"timeout zero is none", "name: x\ncommand: a\ntimeout: 0s", func(s *benchrig.Spec) bool { return s.Timeout == 0 }},
		{"null optional fields are absent", "name: x\ncommand: a\nenv:\nsetup: ~\norder:", func(s *benchrig.Spec) bool {
			return s.Env == nil && s.Setup == nil && s.Order == benchrig.Interleaved
		}},
		{"empty baseline is the default", "name: x\ncommand: a\nparams: {n: [1, 2]}\nbaseline: {}", func(s *benchrig.Spec) bool {
			return s.Baseline == nil
		}},
		{"scalar types become strings", "name: x\ncommand: a\nparams: {v: [1, 1.50, true, null_, 0x1F, '']}", func(s *benchrig.Spec) bool {
			return reflect.DeepEqual(s.Params[0].Values, []string{"1", "1.50", "true", "null_", "0x1F", ""})
		}},
		{"quoted numeric throughput", "name: x\ncommand: a\nthroughput: {bytes: '4096'}", func(s *benchrig.Spec) bool {
			return reflect.DeepEqual(*s.Throughput, benchrig.Throughput{Unit: benchrig.Bytes, Value: "4096"})
		}},
		{"template with no params but no refs", "name: x\ncommand: 'echo {{\"{{\"}}'", func(s *benchrig.Spec) bool {
			return s.Command.Shell == `echo {{"{{"}}`
		}},
		{"$ reference", "name: x\ncommand: 'echo {{$.n}}'\nparams: {n: [1]}", func(s *benchrig.Spec) bool { return s.Command.Shell == "echo {{$.n}}" }},
		{"expect in full", "name: x\ncommand: a\nparams: {impl: [gnu, cat], pattern: [C]}\nexpect:\n  exit: [0, 1]\n  stdout: {match: '^{{.pattern}}', lines: '>=1', nonempty: true}\n  check: [wc, -l]\n  agree: {by: [pattern], except: {impl: cat}}", func(s *benchrig.Spec) bool {
			return reflect.DeepEqual(*s.Expect, benchrig.Expect{
				Exit:   []int{0, 1},
				Stdout: benchrig.StdoutExpect{Match: "^{{.pattern}}", Lines: ">=1", NonEmpty: true},
				Check:  &benchrig.Command{Argv: []string{"wc", "-l"}},
				Agree:  &benchrig.Agree{By: []string{"pattern"}, Except: map[string]string{"impl": "cat"}},
			})
		}},
		{"expect exit scalar, lines integer", "name: x\ncommand: a\nexpect: {exit: 1, stdout: {lines: 12}}", func(s *benchrig.Spec) bool {
			return reflect.DeepEqual(s.Expect.Exit, []int{1}) && s.Expect.Stdout.Lines == "12"
		}},
		{"expect agree [] is one group of every case", "name: x\ncommand: a\nexpect: {agree: []}", func(s *benchrig.Spec) bool {
			return s.Expect.Agree != nil && s.Expect.Agree.By != nil && len(s.Expect.Agree.By) == 0
		}},
		{"expect agree by the placement's param", "name: x\ncommand: a\nparams: {n: [1]}\nexpect: {agree: [node]}", func(s *benchrig.Spec) bool {
			return reflect.DeepEqual(s.Expect.Agree.By, []string{"node"})
		}},
		{"expect templates may expand to nothing for some cases", "name: x\ncommand: a\nparams: {impl: [cat, gnu]}\nexpect: {stdout: {lines: '{{if ne .impl \"cat\"}}1{{end}}', match: '{{if ne .impl \"cat\"}}^1${{end}}'}}", func(s *benchrig.Spec) bool {
			return s.Expect.Stdout.Lines != "" && s.Expect.Stdout.Match != ""
		}},
		{"null expect is none", "name: x\ncommand: a\nexpect:", func(s *benchrig.Spec) bool { return s.Expect == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(s) {
				t.Errorf("unexpected spec: %+v", *s)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path)
	var e *benchrig.Error
	if !errors.As(err, &e) || e.Code != benchrig.EInvalid || e.File != path {
		t.Fatalf("want an invalid error naming %s, got %#v", path, err)
	}
	if want := path + ": read spec: no such file or directory"; err.Error() != want {
		t.Errorf("got %q, want %q", err.Error(), want)
	}
}

// TestAliasCycle makes sure a mapping that contains itself through an
// anchor neither hangs nor recurses without end.
func TestAliasCycle(t *testing.T) {
	tests := []struct{ src, want string }{
		{"name: x\ncommand: a\nenv: &e\n  <<: *e\n", "s.yaml:4: env: merge key (<<) merges a mapping into itself"},
		{"name: x\ncommand: a\nparams: &p\n  n: *p\n", "s.yaml:3: params.n: expected a list of values, got a mapping"},
		{"&top\nname: x\ncommand: a\n<<: *top\n", "s.yaml:4: merge key (<<) merges a mapping into itself"},
		{"name: x\ncommand: a\nenv: &e\n  A: b\n  <<: [*e, *e]\n",
			"s.yaml:5: env: merge key (<<) merges a mapping into itself\ns.yaml:5: env: merge key (<<) merges a mapping into itself"},
	}
	for _, tt := range tests {
		_, err := Parse("s.yaml", []byte(tt.src))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: got error %v, want %q", tt.src, err, tt.want)
		}
	}
}

// TestYAMLErrorLines checks the line of yaml syntax errors, scanner and
// parser ones alike, against where the problem is.
func TestYAMLErrorLines(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
	}{
		{"unclosed flow sequence", "name: x\ncommand: [a, b\nwarmup: 1\n", 2},
		{"unclosed flow mapping", "name: x\nenv: {A: b\ncommand: c\n", 2},
		{"sequence in mapping", "name: x\n- b\n", 2},
		{"bad indentation", "name: x\ncommand:\n  - x\n  y: 2\n", 3},
		{"block scalar dedent", "name: x\ncommand: |\n  x\n y\n", 4},
		{"extra bracket", "name: x\ncommand: [a, b]]\n", 2},
		{"mapping in scalar", "name: x\ncommand: a: b\n", 2},
		{"tab", "name: x\n\tcommand: a\n", 2},
		{"unterminated quote", "name: x\ncommand: 'abc\n", 2},
		{"bad token", "name: x\ncommand: @x\n", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tt.src))
			var errs benchrig.Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("want one error, got %v", err)
			}
			if errs[0].Line != tt.line || !strings.HasPrefix(errs[0].Msg, "malformed yaml: ") {
				t.Errorf("got %v, want a malformed yaml error at line %d", err, tt.line)
			}
		})
	}
}

// TestParseMessages pins messages of problems not covered by a bad/ file.
func TestParseMessages(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"name is a list", "name: [a]\ncommand: a", "s.yaml:1: name: expected a name, got a list"},
		{"warmup is a float", "name: x\ncommand: a\nwarmup: 1.5", "s.yaml:3: warmup: expected an integer, got a number 1.5"},
		{"description is a mapping", "name: x\ncommand: a\ndescription: {a: b}", "s.yaml:3: description: expected a string, got a mapping"},
		{"params is a list", "name: x\ncommand: a\nparams: [a, b]", "s.yaml:3: params: expected a mapping of param name to list of values, got a list"},
		{"param is a scalar", "name: x\ncommand: a\nparams: {n: 4}", "s.yaml:3: params.n: expected a list of values, got an integer 4"},
		{"null param value", "name: x\ncommand: a\nparams:\n  n: [1, ~]", "s.yaml:4: params.n[1]: expected a value, got null"},
		{"non-scalar key", "name: x\ncommand: a\n? [k]\n: v", "s.yaml:3: expected a string key, got a list"},
		{"blank shell command", "name: x\ncommand: '  '", "s.yaml:2: command: command is empty"},
		{"blank program", "name: x\ncommand: ['', a]", "s.yaml:2: command[0]: program name is empty"},
		{"null name", "name:\ncommand: a", "s.yaml:1: name: required field is empty"},
		{"null params", "name: x\ncommand: a\nparams:", "s.yaml:3: params: no params given; give each param a list of values, or omit params for a single case"},
		{"until_ci zero", "name: x\ncommand: a\nrepeat: {until_ci: 0%}", "s.yaml:3: repeat.until_ci: must be more than 0 and at most 0.5 (50%), got 0%"},
		{"until_ci word", "name: x\ncommand: a\nrepeat: {until_ci: tight}", `s.yaml:3: repeat.until_ci: expected a fraction like 0.02 or a percentage like 2%, got a string "tight"`},
		{"min and max", "name: x\ncommand: a\nrepeat: {min: 9, max: 3}", "s.yaml:3: repeat: min 9 is greater than max 3"},
		{"throughput files not a list", "name: x\ncommand: a\nthroughput: {files: a.bin}", `s.yaml:3: throughput.files: expected a list of file globs, got a string "a.bin"`},
		{"throughput infinite", "name: x\ncommand: a\nthroughput: {bytes: .inf}", "s.yaml:3: throughput.bytes: must be a positive finite number, got .inf"},
		{"env bad name", "name: x\ncommand: a\nenv: {'A=B': c}", `s.yaml:3: env.A=B: bad variable name "A=B": it must be non-empty and contain no '='`},
		{"merge of a scalar", "name: x\ncommand: a\nenv: {<<: 1}", "s.yaml:3: env: merge key (<<) expects a mapping or a list of mappings, got an integer 1"},
		{"baseline without params", "name: x\ncommand: a\nbaseline: {n: 1}", `s.yaml:3: baseline.n: unknown param "n" (the spec has no params)`},
		{"image empty", "name: x\ncommand: a\nimage: ''", "s.yaml:3: image: image is empty"},
		{"only a document marker", "---\n", "s.yaml:1: spec is empty"},
		{"expect stdout is a list", "name: x\ncommand: a\nexpect: {stdout: [1]}", "s.yaml:3: expect.stdout: expected a mapping of match, lines, nonempty, got a list"},
		{"expect exit is a float", "name: x\ncommand: a\nexpect: {exit: 0.5}", "s.yaml:3: expect.exit: expected an integer, got a number 0.5"},
		{"expect exit duplicate", "name: x\ncommand: a\nexpect: {exit: [1, 1]}", "s.yaml:3: expect.exit[1]: duplicate exit code 1"},
		{"expect agree by is a string", "name: x\ncommand: a\nparams: {n: [1]}\nexpect: {agree: {by: n}}", `s.yaml:4: expect.agree.by: expected a list of param names, got a string "n"`},
		{"expect agree duplicate", "name: x\ncommand: a\nparams: {n: [1]}\nexpect: {agree: [n, n]}", `s.yaml:4: expect.agree[1]: duplicate param "n"`},
		{"expect agree unknown field", "name: x\ncommand: a\nexpect: {agree: {except: {}, bye: []}}", `s.yaml:3: expect.agree.bye: unknown field "bye" (did you mean "by"? known fields: by, except)`},
		{"expect match template makes a bad regex", "name: x\ncommand: a\nparams: {p: ['(']}\nexpect: {stdout: {match: 'x{{.p}}'}}", "s.yaml:4: expect.stdout.match: bad regular expression: missing closing ): `x(`"},
		{"typo in nested field", "name: x\ncommand: a\nrepeat: {mni: 2}", `s.yaml:3: repeat.mni: unknown field "mni" (did you mean "min"? known fields: min, max, until_ci, max_time)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tt.src))
			if err == nil || err.Error() != tt.want {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}
