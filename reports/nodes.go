package reports

import (
	"fmt"
	"slices"
	"strings"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/stats"
)

// WMixedNodes warns that a case's measured trials ran on more than one
// node (its node was lost mid-run and its work moved, or it was placed
// on several): its statistics, and any comparison with it, pool samples
// of different machines, which may differ more than the cases do.
const WMixedNodes = "mixed-nodes"

// NodeShare is the part of a case's successful measured trials that ran
// on one node, with their own statistics.
type NodeShare struct {
	Node    string
	Samples []float64 // wall seconds, in execution order
	Stats   stats.Summary
}

// splitByNode returns the case's successful measured samples per node, in
// order of each node's first trial, when they come from two nodes or
// more; nil otherwise (trials without a node, as on the local executor,
// are one node).
func splitByNode(trials []benchrig.Trial) []NodeShare {
	var out []NodeShare
	for _, t := range trials {
		if t.Excluded() || t.Failed() {
			continue
		}
		i := slices.IndexFunc(out, func(s NodeShare) bool { return s.Node == t.Node })
		if i < 0 {
			i = len(out)
			out = append(out, NodeShare{Node: t.Node})
		}
		out[i].Samples = append(out[i].Samples, t.Wall.Seconds())
	}
	if len(out) < 2 {
		return nil
	}
	for i := range out {
		out[i].Stats = stats.Summarize(out[i].Samples)
	}
	return out
}

// markMixedNodes warns, with each node's count and median, when cr's
// samples come from several nodes, so that pooled statistics are never
// shown as if from one machine. With enough trials on two nodes it also
// says whether they differ (the same rank test as the verdicts).
func markMixedNodes(cr *CaseReport) {
	shares := splitByNode(cr.Trials)
	if shares == nil {
		return
	}
	counts := make([]string, len(shares))
	medians := make([]string, len(shares))
	for i, s := range shares {
		name := s.Node
		if name == "" {
			name = "(no node)"
		}
		counts[i] = fmt.Sprintf("%s %d", name, s.Stats.N)
		medians[i] = fmt.Sprintf("%s on %s", formatSeconds(s.Stats.Median), name)
	}
	msg := fmt.Sprintf("trials from %d nodes: %s (medians %s)", len(shares), strings.Join(counts, ", "), strings.Join(medians, ", "))
	if len(shares) == 2 {
		c := stats.Compare(shares[0].Samples, shares[1].Samples)
		slow, fast, ratio := shares[1].Node, shares[0].Node, c.Ratio
		if ratio < 1 {
			slow, fast, ratio = fast, slow, 1/ratio
		}
		if c.Verdict == stats.Faster || c.Verdict == stats.Slower {
			msg += fmt.Sprintf("; the nodes differ: %s is %sx slower than %s (%s)", slow, formatRatio(ratio), fast, formatP(c.P))
		}
	}
	msg += ": the case's statistics, and comparisons with it, pool them; rerun on a pool of one node to compare the cases alone"
	// First: it is the cause of what the other warnings may show (a
	// spread, outliers, two modes).
	cr.Warnings = append([]Warning{{WMixedNodes, msg}}, cr.Warnings...)
}

// pooledNodes is the nodes whose trials a comparison of sides pools when
// any side's successful measured trials ran on several nodes, sorted; nil
// when each side ran on one node (the sides may differ: that is what
// node-placed cases compare).
func pooledNodes(sides ...*CaseReport) []string {
	var out []string
	for _, cr := range sides {
		for _, s := range splitByNode(cr.Trials) {
			name := s.Node
			if name == "" {
				name = "(no node)"
			}
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// pooledText says that a verdict pools trials of several nodes:
// "; pools trials from 2 nodes (lab1, lab2)"; "" for none.
func pooledText(nodes []string) string {
	if len(nodes) == 0 {
		return ""
	}
	return fmt.Sprintf("; pools trials from %d nodes (%s)", len(nodes), strings.Join(nodes, ", "))
}

// verdictCell is a comparison's verdict for a table, marked when it pools
// trials of several nodes: "slower (pools 2 nodes)".
func verdictCell(c Comparison) string {
	if len(c.MixedNodes) == 0 {
		return c.Verdict
	}
	return fmt.Sprintf("%s (pools %d nodes)", c.Verdict, len(c.MixedNodes))
}
