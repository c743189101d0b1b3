package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A param value in a shell-form command is one literal argument: what it
// says is never run, whether it comes from --set or from the spec, and
// wherever the command, prepare, setup or check splices it. {{raw}} splices
// shell syntax on purpose.
func TestShellValuesAreQuoted(t *testing.T) {
	const spec = `name: quote
params:
  v: ["plain"]
setup: ": {{.v}}"
prepare: 'rm -f out.txt; : "{{.v}}"'
command: "printf %s {{.v}} > out.txt"
expect:
  check: "test \"$(cat out.txt)\" = '{{.v}}'"
repeat: 1
warmup: 0
`
	tests := []struct {
		name string
		v    string // the value of v
		set  bool   // given with --set, not in the spec
	}{
		{"substitution by --set", "$(touch pwned)", true},
		{"substitution in the spec", "$(touch pwned)", false},
		{"backquotes by --set", "`touch pwned`", true},
		{"separator by --set", "x; touch pwned", true},
		{"quotes by --set", `it's "$(touch pwned)"`, true},
		{"spaces by --set", "  a  b  ", true},
		{"newline in the spec", "a\ntouch pwned", false},
		{"empty in the spec", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			src := spec
			args := []string{"run", "-q"}
			if tt.set {
				args = append(args, "--set", "v="+tt.v)
			} else {
				src = strings.Replace(src, `v: ["plain"]`, "v: ["+yamlString(tt.v)+"]", 1)
			}
			file := c.write("quote.yaml", src)
			code, out, errOut := c.run(context.Background(), append(args, file)...)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			got, err := os.ReadFile(filepath.Join(c.dir, "out.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.v {
				t.Errorf("printf %%s {{.v}} wrote %q, want %q", got, tt.v)
			}
			if _, err := os.Stat(filepath.Join(c.dir, "pwned")); err == nil {
				t.Errorf("the value's command ran")
			}
		})
	}
}

func TestShellRawSplices(t *testing.T) {
	c := newCLI(t)
	file := c.write("raw.yaml", `name: raw
params:
  files: ["a b"]
command: "touch {{raw .files}}"
repeat: 1
warmup: 0
`)
	if code, out, errOut := c.run(context.Background(), "run", "-q", file); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, name := range []string{"a", "b"} {
		if _, err := os.Stat(filepath.Join(c.dir, name)); err != nil {
			t.Errorf("raw did not split %q for the shell: %v", "a b", err)
		}
	}
}

func TestDryRunShowsQuotedCommand(t *testing.T) {
	c := newCLI(t)
	file := c.write("dry.yaml", `name: dry
params:
  level: [1]
  v: ["$(touch pwned)"]
command: |
  gzip -{{.level}} < /dev/null
  printf %s {{.v}}
`)
	code, out, errOut := c.run(context.Background(), "run", "--dry-run", file)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if want := "  command:  gzip -1 < /dev/null\n            printf %s '$(touch pwned)'\n  workdir:"; !strings.Contains(out, want) {
		t.Errorf("dry run does not show %q:\n%s", want, out)
	}
}

// yamlString writes s as a double-quoted YAML scalar.
func yamlString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
