package runner

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/benchrig/benchrig"
)

// Node is one place trials run: a container engine of a pool, with the
// executor that talks to it. The local executor is one implicit node.
type Node struct {
	Name string
	Pool string
	// Facts are what the engine said of itself when first contacted;
	// Facts.Arch is the architecture trials run as (declared or the
	// engine's) and Facts.ArchDeclared says whether containers must be
	// started with that platform.
	Facts benchrig.NodeFacts
	// Labels are the node's labels, the pools file's over the engine's:
	// placement constraints are judged on them.
	Labels map[string]string
	// ClassLabels are the labels that make nodes interchangeable, the
	// pools file's: engines often carry labels unique to each node (its
	// name), which would make every node a class of its own. nil means
	// Labels.
	ClassLabels map[string]string
	// MaxTrials is the node's own cap on trials at once.
	MaxTrials int
	Policy    benchrig.PoolPolicy // what the node's pool allows of its host
	Executor  Executor
	// Down, when set, says the node is still listed but its engine does
	// not answer (a periodic health check failed): the runner treats it
	// as lost, as when its trials fail to run.
	Down string
}

// class is what makes two nodes interchangeable for a case: the same
// architecture and the same labels. A lost node's cases move only to a
// node of its class, so a case's numbers never mix unlike hardware.
func (n *Node) class() string {
	labels := n.ClassLabels
	if labels == nil {
		labels = n.Labels
	}
	var b strings.Builder
	b.WriteString(n.Facts.Arch)
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		b.WriteString("\x00" + k + "=" + labels[k])
	}
	return b.String()
}

// Discoverer tells the runner which nodes there are now.
//
// Nodes is called once when a run starts and then every Config.Refresh
// while it runs, from one goroutine at a time; it returns every reachable
// node of the run's pools (the runner applies the spec's placement
// constraints). A node missing from a later answer has been removed from
// its pool: the runner lets its trials in flight finish and moves its
// remaining work; one whose Down is set is lost. A node should keep its name and Executor across calls.
// An error leaves the runner with the nodes it has; ctx ends with the run.
type Discoverer interface {
	Nodes(ctx context.Context) ([]*Node, error)
}

// matches reports whether node n satisfies the spec's placement
// constraints, and if not why.
func matches(pl benchrig.Placement, n *Node) string {
	if len(pl.Nodes) > 0 && !slices.Contains(pl.Nodes, n.Name) {
		return "not in placement.nodes"
	}
	if len(pl.Arch) > 0 && !slices.Contains(pl.Arch, n.Facts.Arch) {
		return fmt.Sprintf("architecture %s not in placement.arch", n.Facts.Arch)
	}
	for _, k := range slices.Sorted(maps.Keys(pl.Labels)) {
		if v, ok := n.Labels[k]; !ok || v != pl.Labels[k] {
			return fmt.Sprintf("lacks label %s=%s", k, pl.Labels[k])
		}
	}
	return ""
}

// placeNodes picks, from the nodes there are, the ones the spec's cases
// are planned on, and returns the placement param (node or arch) whose
// values name them, with the home node of each value. No node to place
// on is EUnavailable: the run could not run (no node of the pools can
// take it now), which is not bad input.
func placeNodes(spec *benchrig.Spec, all []*Node) (benchrig.Param, map[string]*Node, error) {
	pl := spec.Placement
	var picked []*Node
	var why []string
	needGPUs, gpuField := constGPUs(spec)
	for _, n := range all {
		if reason := matches(pl, n); reason != "" {
			why = append(why, n.Name+": "+reason)
			continue
		}
		if have := n.Facts.Accelerators.Count(); have < needGPUs {
			why = append(why, fmt.Sprintf("%s: has %s, %s asks for %d", n.Name, haveGPUs(n.Facts.Accelerators), gpuField, needGPUs))
			continue
		}
		picked = append(picked, n)
	}
	for _, name := range pl.Nodes {
		if !slices.ContainsFunc(all, func(n *Node) bool { return n.Name == name }) {
			return benchrig.Param{}, nil, &benchrig.Error{Code: benchrig.EUnavailable, File: spec.File, Field: "placement.nodes",
				Msg: fmt.Sprintf("no reachable node %q in the pools (nodes: %s)", name, nodeNames(all))}
		}
	}
	if len(picked) == 0 {
		msg := "no node matches the placement"
		if len(all) == 0 {
			msg = "no reachable node in the pools"
		}
		if len(why) > 0 {
			msg += " (" + strings.Join(why, "; ") + ")"
		}
		return benchrig.Param{}, nil, &benchrig.Error{Code: benchrig.EUnavailable, File: spec.File, Field: "placement", Msg: msg}
	}
	home := map[string]*Node{}
	if pl.Per == benchrig.PerArch {
		p := benchrig.Param{Name: benchrig.PerArch}
		for _, n := range picked {
			if _, ok := home[n.Facts.Arch]; !ok {
				home[n.Facts.Arch] = n
				p.Values = append(p.Values, n.Facts.Arch)
			}
		}
		sort.Strings(p.Values)
		return p, home, nil
	}
	p := benchrig.Param{Name: benchrig.PerNode}
	for _, n := range picked {
		home[n.Name] = n
		p.Values = append(p.Values, n.Name)
	}
	return p, home, nil
}

func nodeNames(ns []*Node) string {
	if len(ns) == 0 {
		return "none"
	}
	names := make([]string, len(ns))
	for i, n := range ns {
		names[i] = n.Name
	}
	return strings.Join(names, ", ")
}

// checkPolicy refuses, before anything runs, container options that a
// picked node's pool does not allow (PoolPolicy.Check, as the executor
// checks each container again with its mounts expanded). Each refusal
// names the spec's file and field, the node, its pool and the rule.
func checkPolicy(spec *benchrig.Spec, nodes map[string]*Node) error {
	var errs benchrig.Errors
	for _, key := range slices.Sorted(maps.Keys(nodes)) {
		n := nodes[key]
		errs = append(errs, policyRefusals(spec, n.Pool, n.Name, n.Policy)...)
	}
	return errs.Err()
}

// CheckPolicy refuses the container options of spec that pool's policy
// does not allow, before any node is contacted: what a server checks when
// a spec is submitted. Every run checks again on the nodes it picks, and
// the executor on each container, through the same PoolPolicy.Check.
func CheckPolicy(spec *benchrig.Spec, pool string, pol benchrig.PoolPolicy) error {
	return policyRefusals(spec, pool, "", pol).Err()
}

// policyRefusals is pol's judgement of what spec asks of a container on
// node ("" before one is picked) of pool, located in spec's file.
func policyRefusals(spec *benchrig.Spec, pool, node string, pol benchrig.PoolPolicy) benchrig.Errors {
	c := spec.Container
	ask := benchrig.HostAccess{Privileged: c.Privileged, Network: c.Network, Devices: c.Devices, Mounts: c.Mounts, Unexpanded: true}
	errs := pol.Check(pool, node, ask)
	for _, e := range errs {
		e.File = spec.File
	}
	return errs
}

// containerOf builds the container part of a job for a case on node n.
func containerOf(spec *benchrig.Spec, n *Node, image string, labels map[string]string, vars map[string]string, dir string) (*Container, string, error) {
	c := &Container{
		Image:       image,
		Labels:      labels,
		CPUs:        spec.Resources.CPUs,
		CPUSet:      spec.Resources.CPUSet,
		MemoryBytes: spec.Resources.MemoryBytes,
		Network:     spec.Container.Network,
		Privileged:  spec.Container.Privileged,
		Devices:     spec.Container.Devices,
	}
	if c.Network == "" {
		c.Network = "none"
	}
	gpus, field, err := neededGPUs(spec.Requires, vars)
	if err != nil {
		return nil, field, err
	}
	c.GPUs = gpus
	if n.Facts.ArchDeclared {
		c.Platform = "linux/" + n.Facts.Arch
	}
	for i, m := range spec.Container.Mounts {
		field := fmt.Sprintf("container.mounts[%d]", i)
		src, err := benchrig.Expand(m.Source, vars)
		if err != nil {
			return nil, field + ".source", err
		}
		src = resolve(dir, src)
		dst := src
		if m.Target != "" {
			if dst, err = benchrig.Expand(m.Target, vars); err != nil {
				return nil, field + ".target", err
			}
			if !filepath.IsAbs(dst) {
				return nil, field + ".target", fmt.Errorf("target %q is not an absolute path", dst)
			}
		}
		c.Mounts = append(c.Mounts, Mount{Source: src, Target: dst, ReadOnly: m.ReadOnly})
	}
	return c, "", nil
}

// imageFor resolves the spec's image for an architecture: images[arch],
// else image. "" means the architecture has none.
func imageFor(spec *benchrig.Spec, arch string) string {
	if img, ok := spec.Images[arch]; ok {
		return img
	}
	return spec.Image
}
