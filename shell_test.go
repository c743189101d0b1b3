package benchrig

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestShellQuote(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"word", "gzip", "gzip"},
		{"flag", "-1", "-1"},
		{"path", "./data/x_1.smi", "./data/x_1.smi"},
		{"every safe byte", "aZ09@%+=:,./_-", "aZ09@%+=:,./_-"},
		{"empty", "", "''"},
		{"space", "a b", "'a b'"},
		{"single quote", "it's", `'it'\''s'`},
		{"substitution", "$(touch x)", "'$(touch x)'"},
		{"glob", "smiles-*.smi", "'smiles-*.smi'"},
		{"newline", "a\nb", "'a\nb'"},
		{"non-ASCII", "café", "'café'"},
		{"tilde", "~", "'~'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShellQuote(tt.in); got != tt.want {
				t.Errorf("ShellQuote(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestExpandShell(t *testing.T) {
	params := map[string]string{
		"v":     "a b",
		"q":     `it's "$HOME" \ ` + "`x`",
		"nl":    "one\ntwo",
		"level": "1",
		"glob":  "*.smi",
		"empty": "",
		"impl":  "cat",
	}
	tests := []struct {
		name, in, want string
	}{
		{"no template", "echo hi", "echo hi"},
		{"bare safe value stays bare", "gzip -{{.level}}", "gzip -1"},
		{"bare", "printf %s {{.v}}", "printf %s 'a b'"},
		{"bare empty", "printf %s {{.empty}}", "printf %s ''"},
		{"bare quotes", "printf %s {{.q}}", `printf %s 'it'\''s "$HOME" \ ` + "`x`'"},
		{"in single quotes", "printf %s '{{.q}}'", `printf %s 'it'\''s "$HOME" \ ` + "`x`'"},
		{"in double quotes", `printf %s "{{.q}}"`, `printf %s "it's \"\$HOME\" \\ ` + "\\`x\\`\""},
		{"in double quotes, safe", `printf %s "x{{.v}}y"`, `printf %s "xa by"`},
		{"command substitution in double quotes", `echo "$(printf %s {{.v}})"`, `echo "$(printf %s 'a b')"`},
		{"after a closed quote", `echo 'x' {{.v}}`, `echo 'x' 'a b'`},
		{"dollar in single quotes", `echo '${{.v}}'`, `echo '$a b'`},
		{"escaped dollar", `echo \${{.v}}`, `echo \$'a b'`},
		{"escaped quote is not a quote", `echo \' {{.v}}`, `echo \' 'a b'`},
		{"comment", "true # {{.nl}}\necho {{.v}}", "true # one two\necho 'a b'"},
		{"hash inside a word is no comment", "echo x#{{.v}}", "echo x#'a b'"},
		{"raw", "cat {{raw .glob}}", "cat *.smi"},
		{"raw piped", "cat {{.glob | raw}}", "cat *.smi"},
		{"printf is quoted too", `f=x-{{printf "%04s" .level}}`, "f=x-0001"},
		{"condition compares the raw value", `{{if eq .v "a b"}}echo yes{{end}}`, "echo yes"},
		{"else if", `{{if eq .impl "gnu"}}grep{{else if eq .impl "cat"}}cat {{.v}}{{end}}`, "cat 'a b'"},
		{"with", `{{with .v}}echo {{.}}{{end}}`, "echo 'a b'"},
		{"variable", `{{$x := .v}}echo {{$x}}`, "echo 'a b'"},
		{"after a here-document", "cat <<EOF\nhello 'world\nEOF\necho {{.v}}", "cat <<EOF\nhello 'world\nEOF\necho 'a b'"},
		{"after a tab-stripped here-document", "cat <<-'END'\n\thi\n\tEND\necho {{.v}}", "cat <<-'END'\n\thi\n\tEND\necho 'a b'"},
		{"here-string is no here-document", "cat <<< {{.v}}", "cat <<< 'a b'"},
		{"subshell", "(cd / && echo {{.v}})", "(cd / && echo 'a b')"},
		{"after ANSI-C quotes", `printf $'\'x' {{.v}}`, `printf $'\'x' 'a b'`},
		{"branches may disagree when no value follows", `{{if eq .impl "cat"}}cat x # no grep{{else}}grep x{{end}}`, "cat x # no grep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExpandShell(tt.in, params)
			if err != nil {
				t.Fatalf("ExpandShell(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ExpandShell(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestExpandShellRuns runs expanded commands with /bin/sh, and with bash
// and busybox sh (as in Alpine images) where they are installed: a value,
// wherever it stands, arrives as its exact text, and what it says is never
// run.
func TestExpandShellRuns(t *testing.T) {
	shells := [][]string{{"/bin/sh", "-c"}}
	for _, sh := range [][]string{{"bash", "-c"}, {"busybox", "sh", "-c"}} {
		if _, err := exec.LookPath(sh[0]); err == nil {
			shells = append(shells, sh)
		}
	}
	values := []struct{ name, v string }{
		{"substitution", "$(touch pwned)"},
		{"backquotes", "`touch pwned`"},
		{"separator", "; touch pwned"},
		{"closing single quote", "'; touch pwned; '"},
		{"closing double quote", `"; touch pwned; "`},
		{"newline", "x\ntouch pwned"},
		{"spaces", "  a  b  "},
		{"empty", ""},
		{"backslashes", `\\ \n \`},
		{"escaped quote", `\'; touch pwned; '`},
		{"glob", "*"},
		{"variable", "$HOME ${PATH}"},
		{"non-ASCII", "héllo wörld"},
	}
	commands := []struct{ name, tmpl string }{
		{"bare", `printf '%s|' {{.v}}`},
		{"single quotes", `printf '%s|' '{{.v}}'`},
		{"double quotes", `printf '%s|' "{{.v}}"`},
		{"inside a word", `printf '%s|' x{{.v}}y`},
		{"command substitution", `printf '%s|' "$(printf '%s|' {{.v}})"`},
	}
	for _, sh := range shells {
		for _, c := range commands {
			for _, v := range values {
				t.Run(sh[0]+"/"+c.name+"/"+v.name, func(t *testing.T) {
					dir := t.TempDir()
					script, err := ExpandShell(c.tmpl, map[string]string{"v": v.v})
					if err != nil {
						t.Fatal(err)
					}
					cmd := exec.Command(sh[0], append(sh[1:], script)...)
					cmd.Dir = dir
					out, err := cmd.Output()
					if err != nil {
						t.Fatalf("%s: %v", script, err)
					}
					want := v.v + "|"
					switch c.name {
					case "inside a word":
						want = "x" + v.v + "y|"
					case "command substitution":
						want = v.v + "||"
					}
					if string(out) != want {
						t.Errorf("%s printed %q, want %q", script, out, want)
					}
					if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
						t.Errorf("%s ran the value's command", script)
					}
				})
			}
		}
	}
}

// TestQuoteForShellCaseAtTop: a case statement outside any $( ) or ( )
// keeps working: its pattern's ) closes nothing this lexer tracks.
func TestQuoteForShellCaseAtTop(t *testing.T) {
	for _, in := range []string{
		"case {{.v}} in x) echo {{.v}} ;; esac",
		"echo \"$(date)\"; case x in x) echo {{.v}};; esac",
		"echo \"$(echo showcase {{.v}})\"",
		"echo $(( 1 + 2 )) {{.v}}",
	} {
		got, err := ExpandShell(in, map[string]string{"v": "a b"})
		if err != nil {
			t.Errorf("ExpandShell(%q): %v", in, err)
			continue
		}
		if !strings.Contains(got, "'a b'") {
			t.Errorf("ExpandShell(%q) = %q, want the value quoted", in, got)
		}
	}
}

func TestQuoteForShellErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"backquotes", "echo `echo {{.v}}`", "{{.v}} is inside `...`"},
		{"here-document body", "cat <<EOF\n{{.v}}\nEOF", "{{.v}} is in a here-document"},
		{"here-document delimiter", "cat <<{{.v}}\nx\n", "{{.v}} is in a here-document's delimiter"},
		{"ANSI-C quotes", `echo $'\t{{.v}}'`, "{{.v}} is inside $'...', where a param value cannot be quoted: shells read $'...' differently"},
		{"after a dollar", `echo ${{.v}}`, "{{.v}} is right after $, where a param value cannot be quoted"},
		{"after a dollar in double quotes", `echo "${{.v}}"`, "{{.v}} is right after $"},
		{"after a backslash", `echo \{{.v}}`, `{{.v}} is right after a backslash`},
		{"after a backslash in double quotes", `echo "\{{.v}}"`, `{{.v}} is right after a backslash`},
		{"branches open different quotes", `echo {{if .v}}'{{end}}x {{.v}}`, "{{.v}} is after {{if .v}}...{{end}}, whose branches leave the shell in different quoting states (inside '...', bare text)"},
		{"with", `echo {{with .v}}'{{end}}x {{.v}}`, "{{.v}} is after {{with .v}}...{{end}}"},
		{"branch ends in a dollar", `echo {{if .v}}${{end}}(x) {{.v}}`, "{{.v}} is after {{if .v}}...{{end}}, whose branches leave the shell in different quoting states (right after $, bare text)"},
		{"maybe a comment", "echo {{if .v}}x{{else}} {{end}}# {{.v}}", "{{.v}} is after a # that begins a comment or not"},
		{"define", `{{define "x"}}y{{end}}echo {{.v}}`, "{{define}} and {{block}} are not supported"},
		{"template", `echo {{template "x"}}`, "{{template}} is not supported"},
		{"range", `echo {{range .v}}x{{end}}`, "{{range}} is not supported"},
		// Shells expand $(...) inside arithmetic even within quotes.
		{"arithmetic", `echo $((1+{{.v}}))`, "{{.v}} is inside $((...)) or ((...))"},
		{"arithmetic quoted", `echo "$((1+{{.v}}))"`, "{{.v}} is inside $((...))"},
		{"arithmetic nested", `echo $((1+(2*{{.v}})))`, "{{.v}} is inside $((...))"},
		{"arithmetic command", `((x={{.v}}))`, "{{.v}} is inside $((...))"},
		// A case pattern's ) inside "$(...)" would be taken for the end of
		// the substitution, and the value quoted as if inside "...".
		{"case inside a substitution", `echo "$(case x in x) echo {{.v}};; esac)"`, "{{.v}} is after a case statement inside $(...) or (...)"},
		{"case inside a subshell", `(case x in x) echo {{.v}};; esac)`, "after a case statement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := ParseTemplate("command", tt.in)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			err = QuoteForShell(tmpl)
			if err == nil {
				t.Fatalf("QuoteForShell(%q) = nil, want an error containing %q", tt.in, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("QuoteForShell(%q) = %q, want it to contain %q", tt.in, err, tt.want)
			}
			if _, err := ExpandShell(tt.in, map[string]string{"v": "x"}); err == nil {
				t.Errorf("ExpandShell(%q) expanded it", tt.in)
			}
		})
	}
}

// FuzzShellQuote checks that the shell reads back every value exactly,
// bare, in '...' and in "...".
func FuzzShellQuote(f *testing.F) {
	for _, s := range []string{"", "a b", "it's", `"$x"`, "`x`", `\`, "a\nb", "$(touch x)", "-1", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.IndexByte(v, 0) >= 0 {
			return // no argument can hold a NUL byte
		}
		script, err := ExpandShell(`printf '%s|' {{.v}} '{{.v}}' "{{.v}}"`, map[string]string{"v": v})
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Dir = t.TempDir()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%q: %v", script, err)
		}
		if want := v + "|" + v + "|" + v + "|"; string(out) != want {
			t.Errorf("%q printed %q, want %q", script, out, want)
		}
	})
}

// FuzzQuoteForShell feeds the shell reader any template: it never panics,
// and a template it accepts expands.
func FuzzQuoteForShell(f *testing.F) {
	for _, s := range []string{
		"echo {{.v}}", "echo '{{.v}}' \"{{.v}}\"", "cat <<-EOF\n\tx\n\tEOF\n{{.v}}", "echo `{{.v}}`",
		"{{if .v}}'{{else}}\"{{end}}{{.v}}", "# {{.v}}\n$(( {{.v}} ))", "echo \\{{.v}}", "x <<<{{.v}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := ParseTemplate("command", s)
		if err != nil {
			return
		}
		if err := QuoteForShell(tmpl); err != nil {
			return
		}
		var b strings.Builder
		_ = tmpl.Execute(&b, map[string]string{"v": "$(touch x)"}) // a bad call of a function may fail; it must not panic
	})
}
