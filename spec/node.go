package spec

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/benchrig/benchrig/internal/yamlnode"
	"gopkg.in/yaml.v3"
)

// duration decodes a Go duration such as 30s or 1m30s; 0 means none and a
// negative one is an error.
func (p *parser) duration(n *yaml.Node, field string) (time.Duration, bool) {
	n = yamlnode.Deref(n)
	if n != nil && n.Kind == yaml.ScalarNode && !yamlnode.IsNull(n) {
		d, err := time.ParseDuration(strings.TrimSpace(n.Value))
		if err == nil {
			if d < 0 {
				p.Errorf(n, field, "must not be negative, got %s", n.Value)
				return 0, false
			}
			return d, true
		}
	}
	p.Errorf(n, field, "expected a duration like 30s, 1m30s or 500ms, got %s", yamlnode.Describe(n))
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
		k, v := yamlnode.Deref(n.Content[i]), yamlnode.Deref(n.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode {
			p.Errorf(k, path, "expected a string key, got %s", yamlnode.Describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, pair{k: k, v: v})
			continue
		}
		if first, dup := seen[k.Value]; dup {
			if explicit {
				p.Errorf(k, yamlnode.Join(path, k.Value), "duplicate key %q (first at line %d)", k.Value, first.Line)
			}
			continue
		}
		seen[k.Value] = k
		*out = append(*out, pair{key: k.Value, k: k, v: v})
	}
	for _, mp := range merges {
		at, m := mp.k, mp.v
		if len(stack) > maxMergeDepth {
			p.Errorf(at, path, "merge keys (<<) nest more than %d deep", maxMergeDepth)
			return
		}
		var sources []*yaml.Node
		switch m.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{m}
		case yaml.SequenceNode:
			for _, s := range m.Content {
				sources = append(sources, yamlnode.Deref(s))
			}
		}
		for _, s := range sources {
			if s == nil || s.Kind != yaml.MappingNode {
				p.Errorf(at, path, "merge key (<<) expects a mapping or a list of mappings, got %s", yamlnode.Describe(s))
				continue
			}
			if stack[s] {
				p.Errorf(at, path, "merge key (<<) merges a mapping into itself")
				continue
			}
			p.collect(s, path, out, seen, stack, false)
		}
		if len(sources) == 0 && m.Kind != yaml.SequenceNode {
			p.Errorf(at, path, "merge key (<<) expects a mapping or a list of mappings, got %s", yamlnode.Describe(m))
		}
	}
}

// matchGlob checks a glob's syntax without touching the file system.
func matchGlob(pattern string) (bool, error) {
	return filepath.Match(pattern, "")
}
