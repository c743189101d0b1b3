package spec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/yamlnode"
	"gopkg.in/yaml.v3"
)

var (
	expectFields = []string{"exit", "stdout", "check", "agree"}
	stdoutFields = []string{"match", "lines", "nonempty"}
	agreeFields  = []string{"by", "except"}
)

// expect decodes what a trial's output must satisfy. Templated values
// (match, lines, check) are checked against the first value of each param,
// as every other template is.
func (p *parser) expect(n *yaml.Node) *benchrig.Expect {
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "expect", "expected a mapping of %s, got %s", strings.Join(expectFields, ", "), yamlnode.Describe(n))
		return nil
	}
	e := &benchrig.Expect{}
	for _, kv := range p.mapping(n, "expect") {
		field := "expect." + kv.key
		if yamlnode.IsNull(kv.v) && contains(expectFields, kv.key) {
			continue
		}
		switch kv.key {
		case "exit":
			e.Exit = p.exitCodes(kv.v, field)
		case "stdout":
			e.Stdout = p.stdoutExpect(kv.v, field)
		case "check":
			e.Check = p.command(kv.v, field)
		case "agree":
			e.Agree = p.agree(kv.v, field)
		default:
			p.UnknownField(kv.k, kv.key, "expect", expectFields)
		}
	}
	return e
}

// exitCodes decodes one exit code or a list of them.
func (p *parser) exitCodes(n *yaml.Node, field string) []int {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		if len(n.Content) == 0 {
			p.Errorf(n, field, "empty list of exit codes; omit exit for the default, 0")
			return nil
		}
		items = n.Content
	}
	var codes []int
	for i, item := range items {
		f := field
		if n.Kind == yaml.SequenceNode {
			f = fmt.Sprintf("%s[%d]", field, i)
		}
		c, ok := p.Int(item, f)
		if !ok {
			continue
		}
		if c < 0 || c > 255 {
			p.Errorf(item, f, "exit codes are from 0 to 255, got %d", c)
			continue
		}
		if slices.Contains(codes, c) {
			p.Errorf(item, f, "duplicate exit code %d", c)
			continue
		}
		codes = append(codes, c)
	}
	return codes
}

func (p *parser) stdoutExpect(n *yaml.Node, field string) benchrig.StdoutExpect {
	var s benchrig.StdoutExpect
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, field, "expected a mapping of %s, got %s", strings.Join(stdoutFields, ", "), yamlnode.Describe(n))
		return s
	}
	for _, kv := range p.mapping(n, field) {
		f := field + "." + kv.key
		if yamlnode.IsNull(kv.v) && contains(stdoutFields, kv.key) {
			continue
		}
		switch kv.key {
		case "match":
			v, ok := p.Scalar(kv.v, f, "a regular expression")
			if !ok {
				continue
			}
			// A template may expand to nothing for some cases: no check.
			if out, ok := p.template(kv.v, f, v); ok && p.paramsOK && out != "" {
				if _, err := benchrig.CompileMatch(out); err != nil {
					p.Errorf(kv.v, f, "%v", err)
					continue
				}
			}
			s.Match = v
		case "lines":
			v, ok := p.Scalar(kv.v, f, "a line count")
			if !ok {
				continue
			}
			if out, ok := p.template(kv.v, f, v); ok && p.paramsOK && (strings.TrimSpace(out) != "" || !strings.Contains(v, "{{")) {
				if _, err := benchrig.ParseLineRange(out); err != nil {
					p.Errorf(kv.v, f, "%v", err)
					continue
				}
			}
			s.Lines = v
		case "nonempty":
			s.NonEmpty, _ = p.Bool(kv.v, f)
		default:
			p.UnknownField(kv.k, kv.key, field, stdoutFields)
		}
	}
	return s
}

// agree decodes a list of param names, or {by: [names], except: {param:
// value}}.
func (p *parser) agree(n *yaml.Node, field string) *benchrig.Agree {
	a := &benchrig.Agree{}
	switch n.Kind {
	case yaml.SequenceNode:
		a.By = p.agreeBy(n, field)
	case yaml.MappingNode:
		for _, kv := range p.mapping(n, field) {
			f := field + "." + kv.key
			if yamlnode.IsNull(kv.v) && contains(agreeFields, kv.key) {
				continue
			}
			switch kv.key {
			case "by":
				if kv.v.Kind != yaml.SequenceNode {
					p.Errorf(kv.v, f, "expected a list of param names, got %s", yamlnode.Describe(kv.v))
					continue
				}
				a.By = p.agreeBy(kv.v, f)
			case "except":
				a.Except = p.caseSelector(kv.v, f)
			default:
				p.UnknownField(kv.k, kv.key, field, agreeFields)
			}
		}
	default:
		p.Errorf(n, field, "expected a list of param names or a mapping of by and except, got %s", yamlnode.Describe(n))
		return nil
	}
	return a
}

// agreeBy decodes the params whose values group the cases that agree.
func (p *parser) agreeBy(n *yaml.Node, field string) []string {
	by := []string{} // an empty list is one group of every case
	for i, item := range n.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		name, ok := p.Scalar(yamlnode.Deref(item), f, "a param name")
		if !ok {
			continue
		}
		if contains(by, name) {
			p.Errorf(item, f, "duplicate param %q", name)
			continue
		}
		placement := name == benchrig.PerNode || name == benchrig.PerArch
		if p.paramsOK && !placement && paramIndex(p.params, name) < 0 {
			p.Errorf(item, f, "unknown param %q (%s)", name, knownParams(p.params))
			continue
		}
		by = append(by, name)
	}
	return by
}
