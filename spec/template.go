package spec

import (
	"errors"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/benchrig/benchrig"
	"gopkg.in/yaml.v3"
)

// maxTemplateOutput bounds what a template may expand to while it is
// checked, so a runaway {{range}} fails instead of eating memory.
const maxTemplateOutput = 1 << 20

var errTooLong = errors.New("expands to more than 1 MiB")

// template checks that s, a templated field, parses and refers only to
// known params, the way benchrig.Expand will treat it for every case. It
// returns s expanded against the first value of each param, and whether
// that worked.
func (p *parser) template(n *yaml.Node, field, s string) (string, bool) {
	return p.checkTemplate(n, field, s, false)
}

// shellTemplate is template for the text of a shell-form command, whose
// values benchrig.ExpandShell quotes for the shell: it also checks that
// every action stands where a value can be quoted, and returns the
// expansion quoted.
func (p *parser) shellTemplate(n *yaml.Node, field, s string) (string, bool) {
	return p.checkTemplate(n, field, s, true)
}

func (p *parser) checkTemplate(n *yaml.Node, field, s string, shell bool) (string, bool) {
	if !strings.Contains(s, "{{") {
		// benchrig.Expand leaves such strings alone.
		return s, true
	}
	t, err := benchrig.ParseTemplate(field, s)
	if err != nil {
		p.Errorf(n, field, "bad template: %s", cleanTemplateError(field, err))
		return "", false
	}
	refs := inspect(t)
	if refs.ranges {
		// Every param is a string, so a range can only loop over a number,
		// and a large one would stall validation and every trial alike.
		p.Errorf(n, field, "bad template: {{range}} is not supported in spec templates")
		return "", false
	}
	if !p.namesKnown {
		// Params is not even a mapping: whatever this template says about
		// them would be noise.
		return "", false
	}
	if unknown := refs.unknown(p.sample); len(unknown) > 0 {
		quoted := make([]string, len(unknown))
		for i, u := range unknown {
			quoted[i] = `"` + u + `"`
		}
		noun := "param"
		if len(unknown) > 1 {
			noun = "params"
		}
		p.Errorf(n, field, "template refers to unknown %s %s (%s)", noun, strings.Join(quoted, ", "), knownParams(p.params))
		return "", false
	}
	if shell {
		if err := benchrig.QuoteForShell(t); err != nil {
			p.Errorf(n, field, "bad template: %s", cleanTemplateError(field, err))
			return "", false
		}
	}
	w := &limitedWriter{max: maxTemplateOutput}
	if err := t.Execute(w, p.sample); err != nil {
		p.Errorf(n, field, "bad template: %s", cleanTemplateError(field, err))
		return "", false
	}
	return w.b.String(), true
}

// templateRefs is what a template refers to.
type templateRefs struct {
	names  map[string]bool // of {{.name}} and {{$.name}} references
	ranges bool            // whether it has a {{range}}
}

// unknown returns the referenced names that are not keys of params, sorted.
// References inside {{with}} may mean something else, but on a map of
// strings they cannot be valid either.
func (r templateRefs) unknown(params map[string]string) []string {
	var names []string
	for name := range r.names {
		if _, ok := params[name]; !ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// inspect walks the parse trees of t and its associated templates.
func inspect(t *template.Template) templateRefs {
	refs := templateRefs{names: map[string]bool{}}
	var walk func(n parse.Node)
	check := func(idents []string) {
		if len(idents) > 0 {
			refs.names[idents[0]] = true
		}
	}
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			refs.ranges = true
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.ChainNode:
			walk(n.Node)
		case *parse.FieldNode:
			check(n.Ident)
		case *parse.VariableNode:
			if len(n.Ident) > 1 && n.Ident[0] == "$" {
				check(n.Ident[1:])
			}
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			walk(tt.Tree.Root)
		}
	}
	return refs
}

// cleanTemplateError drops the "template: NAME:LINE:COL:" prefix that
// text/template puts on its errors: the spec error already names the field.
func cleanTemplateError(name string, err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "template: ")
	msg = strings.TrimPrefix(msg, name+":")
	for i := 0; i < 2; i++ {
		j := 0
		for j < len(msg) && msg[j] >= '0' && msg[j] <= '9' {
			j++
		}
		if j == 0 || j >= len(msg) || msg[j] != ':' {
			break
		}
		msg = msg[j+1:]
	}
	msg = strings.TrimSpace(msg)
	msg = strings.TrimPrefix(msg, "executing \""+name+"\" at ")
	return msg
}

type limitedWriter struct {
	b   strings.Builder
	max int
}

func (w *limitedWriter) Write(b []byte) (int, error) {
	if w.b.Len()+len(b) > w.max {
		return 0, errTooLong
	}
	return w.b.Write(b)
}
