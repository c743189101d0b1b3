package docker

import (
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/system"

	"github.com/benchrig/benchrig"
)

// engineGPUs counts the NVIDIA GPUs among the CDI devices an engine
// discovered (nvidia.com/gpu=0, =1, ...; the same GPUs by UUID, and "all",
// are aliases and not counted). An engine without CDI reports none, even
// with the nvidia runtime: the note says to declare them in the pools
// file.
func engineGPUs(devs []system.DeviceInfo, runtimes []string) *benchrig.Accelerators {
	a := &benchrig.Accelerators{Source: benchrig.AccelEngine, GPUs: []benchrig.GPU{}}
	for _, d := range devs {
		kind, name, ok := strings.Cut(d.ID, "=")
		if !ok || kind != "nvidia.com/gpu" {
			continue
		}
		if i, err := strconv.Atoi(name); err == nil {
			a.GPUs = append(a.GPUs, benchrig.GPU{Index: i})
		}
	}
	if len(a.GPUs) == 0 {
		a.Note = "the engine reports no GPU"
		if slices.Contains(runtimes, "nvidia") {
			a.Note += " (it has the nvidia runtime: declare the node's gpus in the pools file)"
		}
	}
	return a
}
