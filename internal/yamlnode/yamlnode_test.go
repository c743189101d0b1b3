package yamlnode

import (
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/benchrig/benchrig"
)

// value parses src, a mapping, and returns the node of its key v (nil when
// there is none).
func value(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	m := Content(&doc)
	if m == nil || m.Kind != yaml.MappingNode {
		t.Fatalf("%q is not a mapping", src)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "v" {
			return m.Content[i+1]
		}
	}
	return nil
}

// problem returns the one problem p recorded as text, "" when none.
func problem(t *testing.T, p *Problems) string {
	t.Helper()
	switch len(p.Errs) {
	case 0:
		return ""
	case 1:
		if p.Errs[0].Code != benchrig.EInvalid {
			t.Errorf("code %s, want %s", p.Errs[0].Code, benchrig.EInvalid)
		}
		return p.Errs[0].Error()
	}
	t.Fatalf("%d problems, want at most one: %v", len(p.Errs), p.Errs)
	return ""
}

func TestBool(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    bool
		wantErr string // the recorded problem; "" means ok
	}{
		{name: "true", src: "v: true", want: true},
		{name: "false", src: "v: false", want: false},
		{name: "capitalised", src: "v: True", want: true},
		{name: "upper case", src: "v: FALSE", want: false},
		{name: "through an alias", src: "a: &x true\nv: *x", want: true},
		{name: "explicit tag", src: "v: !!bool true", want: true},
		// YAML 1.1's yes/no/on/off are strings in yaml.v3 (YAML 1.2):
		// `readonly: no` must not quietly mean false.
		{name: "yes is a string", src: "v: yes", wantErr: `f.yaml:1: x.v: expected true or false, got a string "yes"`},
		{name: "off is a string", src: "v: off", wantErr: `f.yaml:1: x.v: expected true or false, got a string "off"`},
		{name: "quoted true is a string", src: `v: "true"`, wantErr: `f.yaml:1: x.v: expected true or false, got a string "true"`},
		{name: "an integer", src: "v: 1", wantErr: "f.yaml:1: x.v: expected true or false, got an integer 1"},
		{name: "null", src: "v: ~", wantErr: "f.yaml:1: x.v: expected true or false, got null"},
		{name: "empty", src: "v:", wantErr: "f.yaml:1: x.v: expected true or false, got null"},
		{name: "a mapping", src: "v: {a: true}", wantErr: "f.yaml:1: x.v: expected true or false, got a mapping"},
		{name: "a list on line 2", src: "a: 1\nv: [true]", wantErr: "f.yaml:2: x.v: expected true or false, got a list"},
		{name: "a tagged string that is no boolean", src: "v: !!bool maybe", wantErr: `f.yaml:1: x.v: expected true or false, got a boolean maybe`},
		{name: "absent", src: "a: 1", wantErr: "f.yaml: x.v: expected true or false, got nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Problems{File: "f.yaml"}
			got, ok := p.Bool(value(t, tt.src), "x.v")
			if msg := problem(t, p); msg != tt.wantErr {
				t.Errorf("problem %q, want %q", msg, tt.wantErr)
			}
			if ok != (tt.wantErr == "") || got != tt.want {
				t.Errorf("Bool = %v, %v; want %v, %v", got, ok, tt.want, tt.wantErr == "")
			}
		})
	}
}

func TestInt(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    int
		wantErr string
	}{
		{name: "positive", src: "v: 42", want: 42},
		{name: "zero", src: "v: 0", want: 0},
		{name: "negative", src: "v: -3", want: -3},
		{name: "hex", src: "v: 0x10", want: 16},
		{name: "through an alias", src: "a: &n 7\nv: *n", want: 7},
		{name: "quoted", src: `v: "3"`, wantErr: `f.yaml:1: x.v: expected an integer, got a string "3"`},
		{name: "a float", src: "v: 1.5", wantErr: "f.yaml:1: x.v: expected an integer, got a number 1.5"},
		{name: "too large for int", src: "v: 99999999999999999999", wantErr: "f.yaml:1: x.v: expected an integer, got a number 99999999999999999999"},
		{name: "a boolean", src: "v: true", wantErr: "f.yaml:1: x.v: expected an integer, got a boolean true"},
		{name: "null", src: "v: null", wantErr: "f.yaml:1: x.v: expected an integer, got null"},
		{name: "a list", src: "v: [1]", wantErr: "f.yaml:1: x.v: expected an integer, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Problems{File: "f.yaml"}
			got, ok := p.Int(value(t, tt.src), "x.v")
			if msg := problem(t, p); msg != tt.wantErr {
				t.Errorf("problem %q, want %q", msg, tt.wantErr)
			}
			if ok != (tt.wantErr == "") || got != tt.want {
				t.Errorf("Int = %v, %v; want %v, %v", got, ok, tt.want, tt.wantErr == "")
			}
		})
	}
}

func TestScalar(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    string
		wantErr string
	}{
		{name: "a name", src: "v: gnu", want: "gnu"},
		{name: "a quoted string", src: `v: "a b"`, want: "a b"},
		{name: "an integer is its text", src: "v: 1", want: "1"},
		{name: "a boolean is its text", src: "v: true", want: "true"},
		{name: "a float keeps its spelling", src: "v: 1.50", want: "1.50"},
		{name: "through an alias", src: "a: &s x\nv: *s", want: "x"},
		{name: "null", src: "v: ~", wantErr: "f.yaml:1: x.v: expected a value, got null"},
		{name: "a mapping", src: "v: {a: b}", wantErr: "f.yaml:1: x.v: expected a value, got a mapping"},
		{name: "absent", src: "a: b", wantErr: "f.yaml: x.v: expected a value, got nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Problems{File: "f.yaml"}
			got, ok := p.Scalar(value(t, tt.src), "x.v", "a value")
			if msg := problem(t, p); msg != tt.wantErr {
				t.Errorf("problem %q, want %q", msg, tt.wantErr)
			}
			if ok != (tt.wantErr == "") || got != tt.want {
				t.Errorf("Scalar = %q, %v; want %q, %v", got, ok, tt.want, tt.wantErr == "")
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	unresolved := &yaml.Node{Kind: yaml.AliasNode}
	tests := []struct {
		name string
		node *yaml.Node
		want string
	}{
		{name: "nil", node: nil, want: "nothing"},
		{name: "mapping", node: &yaml.Node{Kind: yaml.MappingNode}, want: "a mapping"},
		{name: "list", node: &yaml.Node{Kind: yaml.SequenceNode}, want: "a list"},
		{name: "document", node: &yaml.Node{Kind: yaml.DocumentNode}, want: "a document"},
		{name: "alias without a target", node: unresolved, want: "an alias"},
		{name: "alias to a string", node: &yaml.Node{Kind: yaml.AliasNode, Alias: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "x"}}, want: `a string "x"`},
		{name: "unknown kind", node: &yaml.Node{Kind: 99}, want: "an unknown yaml node"},
		{name: "null", node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "~"}, want: "null"},
		{name: "string", node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: `say "hi"`}, want: `a string "say \"hi\""`},
		{name: "long string", node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.Repeat("a", 41)}, want: `a string "` + strings.Repeat("a", 37) + `..."`},
		{name: "40 characters are kept", node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.Repeat("b", 40)}, want: `a string "` + strings.Repeat("b", 40) + `"`},
		{name: "integer", node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "7"}, want: "an integer 7"},
		{name: "float", node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: "1e3"}, want: "a number 1e3"},
		{name: "boolean", node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"}, want: "a boolean false"},
		{name: "timestamp", node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!timestamp", Value: "2026-01-02"}, want: "a timestamp 2026-01-02"},
		{name: "untagged plain scalar is resolved", node: &yaml.Node{Kind: yaml.ScalarNode, Value: "12"}, want: "an integer 12"},
		{name: "custom tag", node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!env", Value: "HOME"}, want: `a !env value "HOME"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Describe(tt.node); got != tt.want {
				t.Errorf("Describe = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDeref(t *testing.T) {
	target := &yaml.Node{Kind: yaml.ScalarNode, Value: "x"}
	alias := &yaml.Node{Kind: yaml.AliasNode, Alias: target}
	// Not something yaml.v3 makes, but Deref must not loop on it.
	cycle := &yaml.Node{Kind: yaml.AliasNode}
	cycle.Alias = cycle
	tests := []struct {
		name string
		node *yaml.Node
		want *yaml.Node
	}{
		{name: "nil", node: nil, want: nil},
		{name: "not an alias", node: target, want: target},
		{name: "alias", node: alias, want: target},
		{name: "alias of an alias", node: &yaml.Node{Kind: yaml.AliasNode, Alias: alias}, want: target},
		{name: "alias without a target", node: &yaml.Node{Kind: yaml.AliasNode}, want: nil},
		{name: "a cycle ends", node: cycle, want: cycle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Deref(tt.node)
			if tt.name == "alias without a target" {
				if got != tt.node {
					t.Errorf("Deref = %p, want the alias itself %p", got, tt.node)
				}
				return
			}
			if got != tt.want {
				t.Errorf("Deref = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestIsNull(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want bool
	}{
		{name: "tilde", src: "v: ~", want: true},
		{name: "null", src: "v: null", want: true},
		{name: "empty", src: "v:", want: true},
		{name: "absent", src: "a: 1", want: true},
		{name: "quoted null is a string", src: `v: "null"`, want: false},
		{name: "empty string", src: `v: ""`, want: false},
		{name: "zero", src: "v: 0", want: false},
		{name: "empty mapping", src: "v: {}", want: false},
		{name: "empty list", src: "v: []", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsNull(value(t, tt.src)); got != tt.want {
				t.Errorf("IsNull = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestContent(t *testing.T) {
	parse := func(src string) *yaml.Node {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatal(err)
		}
		return &doc
	}
	tests := []struct {
		name     string
		doc      *yaml.Node
		wantKind yaml.Kind // 0 means nil
	}{
		{name: "nil", doc: nil},
		{name: "empty input", doc: parse("")},
		{name: "a null document", doc: parse("~")},
		{name: "only a comment", doc: parse("# nothing\n")},
		{name: "a mapping", doc: parse("a: 1"), wantKind: yaml.MappingNode},
		{name: "a list", doc: parse("[1]"), wantKind: yaml.SequenceNode},
		{name: "not a document", doc: &yaml.Node{Kind: yaml.MappingNode}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Content(tt.doc)
			if tt.wantKind == 0 && got != nil || tt.wantKind != 0 && (got == nil || got.Kind != tt.wantKind) {
				t.Errorf("Content = %+v, want kind %v", got, tt.wantKind)
			}
		})
	}
}

func TestDocument(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		wantDoc  bool
		wantOK   bool
		wantErrs []string
	}{
		{name: "empty", src: "", wantOK: true},
		{name: "only a comment", src: "# x\n", wantOK: true},
		{name: "one document", src: "a: 1\n", wantDoc: true, wantOK: true},
		{name: "a leading ---", src: "---\na: 1\n", wantDoc: true, wantOK: true},
		{name: "two documents", src: "a: 1\n---\nb: 2\n", wantDoc: true, wantOK: true,
			wantErrs: []string{"f.yaml:2: more than one yaml document; a spec file holds exactly one (remove this ---)"}},
		{name: "syntax error", src: "a: 1\nb: [x, y\nc: 2\n", wantErrs: []string{"f.yaml:2: malformed yaml: did not find expected ',' or ']'"}},
		{name: "syntax error in the second document", src: "a: 1\n---\nb: [x, y\nc: 2\n", wantErrs: []string{"f.yaml:3: malformed yaml: did not find expected ',' or ']'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Problems{File: "f.yaml"}
			doc, ok := p.Document([]byte(tt.src), "a spec file")
			if (doc != nil) != tt.wantDoc || ok != tt.wantOK {
				t.Errorf("Document = %v, %v; want a document %v, ok %v", doc, ok, tt.wantDoc, tt.wantOK)
			}
			var got []string
			for _, e := range p.Errs {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.wantErrs, "\n") {
				t.Errorf("problems\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.wantErrs, "\n"))
			}
		})
	}
}

func TestYAMLError(t *testing.T) {
	tests := []struct {
		name     string
		err      string
		wantLine int
		wantMsg  string
	}{
		{name: "scanner problem keeps its line", err: "yaml: line 3: found character that cannot start any token", wantLine: 3, wantMsg: "malformed yaml: found character that cannot start any token"},
		{name: "parser problem is 0-based", err: "yaml: line 3: did not find expected key", wantLine: 4, wantMsg: "malformed yaml: did not find expected key"},
		{name: "no line", err: "yaml: control characters are not allowed", wantLine: 0, wantMsg: "malformed yaml: control characters are not allowed"},
		{name: "parser problem without a line", err: "yaml: did not find expected key", wantLine: 1, wantMsg: "malformed yaml: did not find expected key"},
		{name: "line 0 is no line", err: "yaml: line 0: x", wantLine: 0, wantMsg: "malformed yaml: line 0: x"},
		{name: "not a number", err: "yaml: line x: y", wantLine: 0, wantMsg: "malformed yaml: line x: y"},
		{name: "no yaml prefix", err: "line 2: found unexpected end of stream", wantLine: 2, wantMsg: "malformed yaml: found unexpected end of stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Problems{File: "f.yaml"}
			p.YAMLError(errors.New(tt.err))
			if len(p.Errs) != 1 || p.Errs[0].Line != tt.wantLine || p.Errs[0].Msg != tt.wantMsg || p.Errs[0].Code != benchrig.EInvalid {
				t.Errorf("problems %v, want line %d %q", p.Errs, tt.wantLine, tt.wantMsg)
			}
		})
	}
}

// The parser's problems, with their real lines: if a yaml.v3 upgrade fixes
// its 0-based lines, this fails instead of every line being off by one.
func TestYAMLErrorParserLines(t *testing.T) {
	tests := []struct {
		name, src string
		wantLine  int
	}{
		{name: "unclosed flow sequence", src: "a: 1\nb: [x, y\nc: 2\n", wantLine: 2},
		{name: "unclosed flow mapping", src: "a: 1\nb: {x: y\nc: 2\n", wantLine: 2},
		{name: "sequence in a mapping", src: "a: 1\n- b\n", wantLine: 2},
		{name: "tab (a scanner problem)", src: "a: 1\n\tb: 2\n", wantLine: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Problems{File: "f.yaml"}
			if _, ok := p.Document([]byte(tt.src), "a file"); ok || len(p.Errs) != 1 {
				t.Fatalf("ok %v, problems %v: want one", ok, p.Errs)
			}
			if p.Errs[0].Line != tt.wantLine {
				t.Errorf("%v: line %d, want %d", p.Errs[0], p.Errs[0].Line, tt.wantLine)
			}
		})
	}
}

func TestErrorf(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		node  *yaml.Node
		field string
		want  string
	}{
		{name: "line and field", file: "f.yaml", node: &yaml.Node{Line: 5}, field: "a.b", want: "f.yaml:5: a.b: bad 1"},
		{name: "nil node", file: "f.yaml", node: nil, field: "a", want: "f.yaml: a: bad 1"},
		{name: "no line", file: "f.yaml", node: &yaml.Node{}, field: "", want: "f.yaml: bad 1"},
		{name: "no file", node: &yaml.Node{Line: 2}, field: "a", want: "a: bad 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Problems{File: tt.file}
			p.Errorf(tt.node, tt.field, "bad %d", 1)
			if got := problem(t, p); got != tt.want {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
}

func TestJoin(t *testing.T) {
	tests := []struct{ name, path, key, want string }{
		{name: "top level", path: "", key: "name", want: "name"},
		{name: "nested", path: "container", key: "image", want: "container.image"},
		{name: "indexed", path: "params.n[1]", key: "x", want: "params.n[1].x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Join(tt.path, tt.key); got != tt.want {
				t.Errorf("Join(%q, %q) = %q, want %q", tt.path, tt.key, got, tt.want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"command", "params", "repeat", "warmup"}
	tests := []struct{ name, s, want string }{
		{name: "one letter missing", s: "comand", want: "command"},
		{name: "two letters swapped", s: "parmas", want: "params"},
		{name: "case is ignored", s: "Repeat", want: "repeat"},
		{name: "exact", s: "warmup", want: "warmup"},
		{name: "three edits is too far", s: "comm", want: ""},
		{name: "nothing alike", s: "image", want: ""},
		{name: "very long names are never close", s: strings.Repeat("c", 65), want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Suggest(tt.s, known); got != tt.want {
				t.Errorf("Suggest(%q) = %q, want %q", tt.s, got, tt.want)
			}
		})
	}
}

func TestUnknownField(t *testing.T) {
	known := []string{"image", "mounts"}
	tests := []struct {
		name, key, path string
		wantHint        string
		want            string
	}{
		{name: "a typo", key: "imgae", path: "container", wantHint: "image",
			want: `f.yaml:4: container.imgae: unknown field "imgae" (did you mean "image"? known fields: image, mounts)`},
		{name: "no likely field", key: "volumes", path: "", wantHint: "",
			want: `f.yaml:4: volumes: unknown field "volumes" (known fields: image, mounts)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Problems{File: "f.yaml"}
			hint := p.UnknownField(&yaml.Node{Line: 4}, tt.key, tt.path, known)
			if got := problem(t, p); got != tt.want || hint != tt.wantHint {
				t.Errorf("%q (hint %q), want %q (hint %q)", got, hint, tt.want, tt.wantHint)
			}
		})
	}
}
