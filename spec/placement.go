package spec

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/yamlnode"
	"gopkg.in/yaml.v3"
)

var (
	placementFields = []string{"per", "nodes", "arch", "labels", "trials_per_node"}
	containerFields = []string{"network", "privileged", "mounts", "devices"}
	mountFields     = []string{"source", "target", "readonly"}

	cpusetRE = regexp.MustCompile(`^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$`)
)

// maxTrialsPerNode bounds placement.trials_per_node: more trials at once
// on one node than this measure contention, not the program.
const maxTrialsPerNode = 64

// names decodes a list of names (pools, nodes): a list of strings, or one
// string for a single name.
func (p *parser) names(n *yaml.Node, field, what string) []string {
	if n.Kind == yaml.ScalarNode {
		v, ok := p.Scalar(n, field, what)
		if !ok || strings.TrimSpace(v) == "" {
			p.Errorf(n, field, "expected %s or a list of them, got %s", what, yamlnode.Describe(n))
			return nil
		}
		return []string{v}
	}
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.Errorf(n, field, "expected a list of %ss, got %s", strings.TrimPrefix(what, "a "), yamlnode.Describe(n))
		return nil
	}
	var out []string
	for i, item := range n.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		v, ok := p.Scalar(yamlnode.Deref(item), f, what)
		if !ok {
			continue
		}
		if !nameRE.MatchString(v) {
			p.Errorf(item, f, "bad name %q: use letters, digits, '.', '_' and '-' only", v)
			continue
		}
		if contains(out, v) {
			p.Errorf(item, f, "duplicate name %q", v)
			continue
		}
		out = append(out, v)
	}
	return out
}

func (p *parser) placement(n *yaml.Node, pl *benchrig.Placement) {
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "placement", "expected a mapping of %s, got %s", strings.Join(placementFields, ", "), yamlnode.Describe(n))
		return
	}
	for _, kv := range p.mapping(n, "placement") {
		field := "placement." + kv.key
		if yamlnode.IsNull(kv.v) && contains(placementFields, kv.key) {
			continue
		}
		switch kv.key {
		case "per":
			v, ok := p.Scalar(kv.v, field, "node or arch")
			if !ok {
				continue
			}
			if v != benchrig.PerNode && v != benchrig.PerArch {
				p.Errorf(kv.v, field, "unknown placement %q (want node: every case on every matching node, or arch: on one node per architecture)", v)
				continue
			}
			pl.Per = v
		case "nodes":
			pl.Nodes = p.names(kv.v, field, "a node name")
		case "arch":
			for i, a := range p.names(kv.v, field, "an architecture") {
				arch, ok := NormalizeArch(a)
				if !ok {
					p.Errorf(kv.v, fmt.Sprintf("%s[%d]", field, i), "unknown architecture %q (known: %s)", a, strings.Join(benchrig.KnownArchs, ", "))
					continue
				}
				pl.Arch = append(pl.Arch, arch)
			}
		case "labels":
			if kv.v.Kind != yaml.MappingNode {
				p.Errorf(kv.v, field, "expected a mapping of label to value, got %s", yamlnode.Describe(kv.v))
				continue
			}
			pl.Labels = map[string]string{}
			for _, lv := range p.mapping(kv.v, field) {
				if v, ok := p.Scalar(yamlnode.Deref(lv.v), field+"."+lv.key, "a label value"); ok {
					pl.Labels[lv.key] = v
				}
			}
		case "trials_per_node":
			v, ok := p.Int(kv.v, field)
			if !ok {
				continue
			}
			if v < 1 || v > maxTrialsPerNode {
				p.Errorf(kv.v, field, "must be from 1 to %d, got %d", maxTrialsPerNode, v)
				continue
			}
			pl.TrialsPerNode = v
		default:
			p.UnknownField(kv.k, kv.key, "placement", placementFields)
		}
	}
}

func (p *parser) container(n *yaml.Node) benchrig.ContainerSpec {
	var c benchrig.ContainerSpec
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "container", "expected a mapping of %s, got %s", strings.Join(containerFields, ", "), yamlnode.Describe(n))
		return c
	}
	for _, kv := range p.mapping(n, "container") {
		field := "container." + kv.key
		if yamlnode.IsNull(kv.v) && contains(containerFields, kv.key) {
			continue
		}
		switch kv.key {
		case "network":
			v, ok := p.Scalar(kv.v, field, "a network")
			if !ok {
				continue
			}
			switch v {
			case "none", "bridge", "host":
				c.Network = v
			default:
				p.Errorf(kv.v, field, "unknown network %q (want none, bridge or host)", v)
			}
		case "privileged":
			c.Privileged, _ = p.Bool(kv.v, field)
		case "mounts":
			c.Mounts = p.mounts(kv.v, field)
		case "devices":
			if kv.v.Kind != yaml.SequenceNode {
				p.Errorf(kv.v, field, "expected a list of device nodes, got %s", yamlnode.Describe(kv.v))
				continue
			}
			for i, item := range kv.v.Content {
				f := fmt.Sprintf("%s[%d]", field, i)
				v, ok := p.Scalar(yamlnode.Deref(item), f, "a device node")
				if !ok {
					continue
				}
				if !strings.HasPrefix(v, "/dev/") {
					p.Errorf(item, f, "expected a device node under /dev (optionally /dev/x:/dev/y), got %q", v)
					continue
				}
				c.Devices = append(c.Devices, v)
			}
		default:
			p.UnknownField(kv.k, kv.key, "container", containerFields)
		}
	}
	return c
}

// mounts decodes a list of mounts, each "SOURCE[:TARGET][:ro]" or
// {source, target, readonly}. Mounts are read-only unless they say
// readonly: false (or :rw): a benchmark reads its data, it should not
// change it.
func (p *parser) mounts(n *yaml.Node, field string) []benchrig.Mount {
	if n.Kind != yaml.SequenceNode {
		p.Errorf(n, field, "expected a list of mounts, got %s", yamlnode.Describe(n))
		return nil
	}
	var out []benchrig.Mount
	for i, item := range n.Content {
		item = yamlnode.Deref(item)
		f := fmt.Sprintf("%s[%d]", field, i)
		m := benchrig.Mount{ReadOnly: true}
		switch item.Kind {
		case yaml.ScalarNode:
			v, _ := p.Scalar(item, f, "a mount")
			parts := strings.Split(v, ":")
			if last := parts[len(parts)-1]; len(parts) > 1 && (last == "ro" || last == "rw") {
				m.ReadOnly = last == "ro"
				parts = parts[:len(parts)-1]
			}
			if len(parts) > 2 {
				p.Errorf(item, f, "expected SOURCE[:TARGET][:ro|rw], got %q", v)
				continue
			}
			m.Source = parts[0]
			if len(parts) == 2 {
				m.Target = parts[1]
			}
		case yaml.MappingNode:
			for _, kv := range p.mapping(item, f) {
				switch kv.key {
				case "source":
					m.Source, _ = p.Scalar(kv.v, f+".source", "a host path")
				case "target":
					m.Target, _ = p.Scalar(kv.v, f+".target", "a path in the container")
				case "readonly":
					if v, ok := p.Bool(kv.v, f+".readonly"); ok {
						m.ReadOnly = v
					}
				default:
					p.UnknownField(kv.k, kv.key, f, mountFields)
				}
			}
		default:
			p.Errorf(item, f, "expected SOURCE[:TARGET][:ro|rw] or {source, target, readonly}, got %s", yamlnode.Describe(item))
			continue
		}
		if strings.TrimSpace(m.Source) == "" {
			p.Errorf(item, f, "mount source is empty")
			continue
		}
		p.template(item, f+".source", m.Source)
		if m.Target != "" {
			if out, ok := p.template(item, f+".target", m.Target); ok && !strings.HasPrefix(out, "/") && !strings.Contains(m.Target, "{{") {
				p.Errorf(item, f+".target", "target %q must be an absolute path in the container", m.Target)
				continue
			}
		}
		out = append(out, m)
	}
	return out
}
