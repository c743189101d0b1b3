package nodes

import (
	"testing"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/pools"
)

func TestDeclaredGPUsWin(t *testing.T) {
	engine := &benchrig.Accelerators{Source: benchrig.AccelEngine, GPUs: []benchrig.GPU{}, Note: "the engine reports no GPU"}
	f := benchrig.NodeFacts{Accelerators: engine}
	declareGPUs(&f, pools.Node{Name: "n"}) // nothing declared: the engine's stay
	if f.Accelerators != engine {
		t.Errorf("undeclared: %v", f.Accelerators)
	}
	declareGPUs(&f, pools.Node{Name: "n", GPUs: 2})
	if a := f.Accelerators; a.Count() != 2 || a.Source != benchrig.AccelPools || a.String() != "2 x GPU (pools file)" {
		t.Errorf("declared: %q %+v", a, a)
	}
}
