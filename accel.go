package benchrig

import (
	"fmt"
	"strconv"
	"strings"
)

// Accelerators are the GPUs of a host or node, and where their facts came
// from. A nil *Accelerators means nobody looked (a run recorded before
// benchrig looked for GPUs); an empty one means there are none, and Note
// says how that was found ("nvidia-smi not found").
type Accelerators struct {
	// Source is how the facts were found: AccelSMI, AccelPools or
	// AccelEngine.
	Source string `json:"source,omitempty"`
	Driver string `json:"driver_version,omitempty"`
	// CUDA is the highest CUDA version the driver supports, as
	// nvidia-smi prints it.
	CUDA string `json:"cuda_version,omitempty"`
	GPUs []GPU  `json:"gpus"`
	// Note says why there are none, or why the facts are partial.
	Note string `json:"note,omitempty"`
}

// Sources of Accelerators.
const (
	AccelSMI    = "nvidia-smi"
	AccelPools  = "pools file" // declared: the node's gpus in the pools file
	AccelEngine = "engine"     // the CDI devices the Docker engine reported
)

// GPU is one physical GPU.
type GPU struct {
	Index       int    `json:"index"`
	Name        string `json:"name,omitempty"`
	UUID        string `json:"uuid,omitempty"`
	BusID       string `json:"bus_id,omitempty"`
	MemoryBytes int64  `json:"memory_bytes,omitempty"` // framebuffer memory; 0 unknown
	// MIG is whether Multi-Instance GPU mode is on; MIGDevices counts the
	// instances it is split into.
	MIG        bool `json:"mig,omitempty"`
	MIGDevices int  `json:"mig_devices,omitempty"`
}

// Count is the number of GPUs; 0 for nil.
func (a *Accelerators) Count() int {
	if a == nil {
		return 0
	}
	return len(a.GPUs)
}

// String is a one-line summary: "none (nvidia-smi not found)",
// "2 x NVIDIA A40 (45.0 GiB), driver 550.127.05, CUDA 12.4". GPUs of the
// same name and memory are counted together.
func (a *Accelerators) String() string {
	if a == nil {
		return "not checked"
	}
	if len(a.GPUs) == 0 {
		if a.Note != "" {
			return "none (" + a.Note + ")"
		}
		return "none"
	}
	type kind struct {
		name string
		mem  int64
	}
	var order []kind
	count := map[kind]int{}
	mig := 0
	for _, g := range a.GPUs {
		k := kind{g.Name, g.MemoryBytes}
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
		mig += g.MIGDevices
	}
	var parts []string
	for _, k := range order {
		name := k.name
		if name == "" {
			name = "GPU"
		}
		s := fmt.Sprintf("%d x %s", count[k], name)
		if k.mem > 0 {
			s += fmt.Sprintf(" (%.1f GiB)", float64(k.mem)/(1<<30))
		}
		parts = append(parts, s)
	}
	s := strings.Join(parts, " + ")
	if mig > 0 {
		s += fmt.Sprintf(", %d MIG devices", mig)
	}
	if a.Driver != "" {
		s += ", driver " + a.Driver
	}
	if a.CUDA != "" {
		s += ", CUDA " + a.CUDA
	}
	if a.Source != "" && a.Source != AccelSMI {
		s += " (" + a.Source + ")"
	}
	return s
}

// ParseGPUCount reads a requirement's GPU count: a non-negative integer,
// or true (1) and false (0); "" is 0.
func ParseGPUCount(s string) (int, error) {
	switch s = strings.TrimSpace(s); s {
	case "", "false":
		return 0, nil
	case "true":
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a number of GPUs (0 or more), true or false; got %q", s)
	}
	return n, nil
}

// GPUSample is one GPU's figures in a host sample, as nvidia-smi reported
// them at its last reading before the sample. Figures it did not report
// ([N/A], [Not Supported]) are nil.
type GPUSample struct {
	Index int    `json:"index"`
	UUID  string `json:"uuid,omitempty"`
	// Utilization is the share of the last sample period (1/6 s to 1 s,
	// by product) in which a kernel ran, in percent; MemoryUtilization
	// the share in which memory was read or written.
	Utilization       *float64 `json:"utilization_pct,omitempty"`
	MemoryUtilization *float64 `json:"memory_utilization_pct,omitempty"`
	MemoryUsed        *int64   `json:"memory_used_bytes,omitempty"`
	MemoryTotal       *int64   `json:"memory_total_bytes,omitempty"`
	PowerWatts        *float64 `json:"power_w,omitempty"`
	TemperatureC      *float64 `json:"temperature_c,omitempty"`
}
