package spec

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// deref follows an alias to the node it names. Alias targets are never
// aliases themselves, but the loop is bounded anyway.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; i < 8 && n != nil && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
	default:
		return "an unknown yaml node"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!str":
		return "a string " + strconv.Quote(v)
	case "!!int":
		return "an integer " + v
	case "!!float":
		return "a number " + v
	case "!!bool":
		return "a boolean " + v
	case "!!timestamp":
		return "a timestamp " + v
	default:
		return fmt.Sprintf("a %s value %q", n.ShortTag(), v)
	}
}

// scalar returns the text of a scalar of any type: a name, a string, or a
// param value, where 1 and true mean "1" and "true". what says what was
// expected when n is not one.
func (p *parser) scalar(n *yaml.Node, field, what string) (string, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		p.errorf(n, field, "expected %s, got %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) int(n *yaml.Node, field string) (int, bool) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		var v int
		if err := n.Decode(&v); err == nil {
			return v, true
		}
	}
	p.errorf(n, field, "expected an integer, got %s", describe(n))
	return 0, false
}

// duration decodes a Go duration such as 30s or 1m30s; 0 means none and a
// negative one is an error.
func (p *parser) duration(n *yaml.Node, field string) (time.Duration, bool) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode && !isNull(n) {
		d, err := time.ParseDuration(strings.TrimSpace(n.Value))
		if err == nil {
			if d < 0 {
				p.errorf(n, field, "must not be negative, got %s", n.Value)
				return 0, false
			}
			return d, true
		}
	}
	p.errorf(n, field, "expected a duration like 30s, 1m30s or 500ms, got %s", describe(n))
	return 0, false
}

// pair is one key and value of a mapping.
type pair struct {
	key  string
	k, v *yaml.Node
}

// maxMergeDepth bounds how deeply merge keys (<<) may nest; anchors can make
// a mapping merge itself.
const maxMergeDepth = 8

// mapping returns the pairs of mapping n in file order, with values
// dereferenced and merge keys (<<: *anchor) expanded, keys written in n
// taking precedence over merged ones. It reports duplicate and non-scalar
// keys. path is the field path of n.
func (p *parser) mapping(n *yaml.Node, path string) []pair {
	var out []pair
	seen := map[string]*yaml.Node{}
	p.collect(n, path, &out, seen, map[*yaml.Node]bool{}, true)
	return out
}

// collect adds the pairs of n to out. stack holds the mappings being
// merged, to stop an anchor that merges the mapping containing it.
func (p *parser) collect(n *yaml.Node, path string, out *[]pair, seen map[string]*yaml.Node, stack map[*yaml.Node]bool, explicit bool) {
	stack[n] = true
	defer delete(stack, n)
	var merges []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			p.errorf(k, path, "expected a string key, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, pair{k: k, v: v})
			continue
		}
		if first, dup := seen[k.Value]; dup {
			if explicit {
				p.errorf(k, join(path, k.Value), "duplicate key %q (first at line %d)", k.Value, first.Line)
			}
			continue
		}
		seen[k.Value] = k
		*out = append(*out, pair{key: k.Value, k: k, v: v})
	}
	for _, mp := range merges {
		at, m := mp.k, mp.v
		if len(stack) > maxMergeDepth {
			p.errorf(at, path, "merge keys (<<) nest more than %d deep", maxMergeDepth)
			return
		}
		var sources []*yaml.Node
		switch m.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{m}
		case yaml.SequenceNode:
			for _, s := range m.Content {
				sources = append(sources, deref(s))
			}
		}
		for _, s := range sources {
			if s == nil || s.Kind != yaml.MappingNode {
				p.errorf(at, path, "merge key (<<) expects a mapping or a list of mappings, got %s", describe(s))
				continue
			}
			if stack[s] {
				p.errorf(at, path, "merge key (<<) merges a mapping into itself")
				continue
			}
			p.collect(s, path, out, seen, stack, false)
		}
		if len(sources) == 0 && m.Kind != yaml.SequenceNode {
			p.errorf(at, path, "merge key (<<) expects a mapping or a list of mappings, got %s", describe(m))
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// unknownField reports a key that is not one of known.
func (p *parser) unknownField(kv pair, path string, known []string) {
	hint := ""
	if s := suggest(kv.key, known); s != "" {
		hint = fmt.Sprintf("did you mean %q? ", s)
	}
	p.errorf(kv.k, join(path, kv.key), "unknown field %q (%sknown fields: %s)", kv.key, hint, strings.Join(known, ", "))
}

// suggest returns the known name closest to s when it is a likely typo.
func suggest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(s), k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// matchGlob checks a glob's syntax without touching the file system.
func matchGlob(pattern string) (bool, error) {
	return filepath.Match(pattern, "")
}
