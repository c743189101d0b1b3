package spec

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/benchrig/benchrig"
)

// AdHoc makes the spec of commands given on the command line (run -c, as
// in hyperfine): one case per command, run by /bin/sh -c, named by its text
// or by names[i]. It returns the spec's YAML source, so that the run keeps
// it like any spec, and the parsed spec.
func AdHoc(commands, names []string) (*benchrig.Spec, error) {
	src, err := adHocSource(commands, names)
	if err != nil {
		return nil, err
	}
	return Parse("", src)
}

func adHocSource(commands, names []string) ([]byte, error) {
	bad := func(format string, args ...any) error {
		return &benchrig.Error{Code: benchrig.EInvalid, Field: "-c", Msg: fmt.Sprintf(format, args...)}
	}
	if len(names) > 0 && len(names) != len(commands) {
		return nil, bad("%d --name for %d commands: give one name per -c, or none", len(names), len(commands))
	}
	seen := map[string]bool{}
	for i, c := range commands {
		if strings.TrimSpace(c) == "" {
			return nil, bad("command %d is empty", i+1)
		}
		// The case's command is a template like a spec's: braces that
		// open one would be read as template code, not shell.
		if strings.Contains(c, "{{") {
			return nil, bad("command %q contains {{, which benchrig reads as a template: write a spec file for it", c)
		}
		key := c
		if len(names) > 0 {
			key = names[i]
		}
		if seen[key] {
			return nil, bad("%q is given twice: each -c (or --name) names one case", key)
		}
		seen[key] = true
	}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) } // a JSON string is a YAML string
	var b strings.Builder
	b.WriteString("name: adhoc\ndescription: commands given with run -c\n")
	if len(names) == 0 {
		// The command is shell text, spliced as it is.
		b.WriteString("command: \"{{raw .command}}\"\nparams:\n  command:\n")
		for _, c := range commands {
			b.WriteString("    - " + q(c) + "\n")
		}
		return []byte(b.String()), nil
	}
	// Named: the case's param is its name, and the command its name picks.
	var t strings.Builder
	for i, c := range commands {
		if i > 0 {
			t.WriteString("{{else if eq .command " + q(names[i]) + "}}")
		} else {
			t.WriteString("{{if eq .command " + q(names[i]) + "}}")
		}
		t.WriteString(c)
	}
	t.WriteString("{{end}}")
	b.WriteString("command: " + q(t.String()) + "\nparams:\n  command:\n")
	for _, n := range names {
		b.WriteString("    - " + q(n) + "\n")
	}
	return []byte(b.String()), nil
}
