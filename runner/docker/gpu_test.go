package docker

import (
	"testing"

	"github.com/moby/moby/api/types/system"
)

// An engine with CDI lists each GPU by index, by UUID and as "all": only
// the indexes count.
func TestEngineGPUs(t *testing.T) {
	cdi := []system.DeviceInfo{
		{Source: "cdi", ID: "nvidia.com/gpu=0"},
		{Source: "cdi", ID: "nvidia.com/gpu=1"},
		{Source: "cdi", ID: "nvidia.com/gpu=GPU-4e65de01-972e-93cf-b077-181a5378972a"},
		{Source: "cdi", ID: "nvidia.com/gpu=all"},
		{Source: "cdi", ID: "vendor.com/fpga=0"},
	}
	if a := engineGPUs(cdi, nil); a.Count() != 2 || a.Note != "" || a.Source != "engine" {
		t.Errorf("CDI: %+v", a)
	}
	if a := engineGPUs(nil, []string{"io.containerd.runc.v2", "nvidia", "runc"}); a.Count() != 0 ||
		a.String() != "none (the engine reports no GPU (it has the nvidia runtime: declare the node's gpus in the pools file))" {
		t.Errorf("nvidia runtime, no CDI: %q", a)
	}
	if a := engineGPUs(nil, []string{"runc"}); a.String() != "none (the engine reports no GPU)" {
		t.Errorf("nothing: %q", a)
	}
}
