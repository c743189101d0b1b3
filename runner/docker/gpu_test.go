package docker

import (
	"reflect"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/system"

	"github.com/benchrig/benchrig/runner"
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

// A container of a case that requires GPUs gets them as docker run --gpus
// N would ask; others get none.
func TestContainerConfigGPUs(t *testing.T) {
	e, err := New(Config{Node: "n", Host: "tcp://127.0.0.1:1", Owner: "h/1/2"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	j := runner.Job{Argv: []string{"nvidia-smi"}, Container: &runner.Container{Image: "img"}}
	if _, hc := e.containerConfig(j, "vol", false); len(hc.DeviceRequests) != 0 {
		t.Errorf("no GPU asked, device requests %+v", hc.DeviceRequests)
	}
	j.Container.GPUs = 2
	_, hc := e.containerConfig(j, "vol", false)
	want := []container.DeviceRequest{{Count: 2, Capabilities: [][]string{{"gpu"}}}}
	if !reflect.DeepEqual(hc.DeviceRequests, want) {
		t.Errorf("device requests %+v, want %+v", hc.DeviceRequests, want)
	}
}
