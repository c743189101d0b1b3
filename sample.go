package benchrig

import (
	"strconv"
	"time"
)

// SampleKind says what a collector sample describes.
type SampleKind int

const (
	// SampleTrial is one trial's cgroup (a local trial's own cgroup, or
	// its container's), with Trial set.
	SampleTrial SampleKind = iota + 1
	// SampleHost is the whole host (node) the trials run on.
	SampleHost
	// SampleCollector is the collector's own cost so far.
	SampleCollector
)

var sampleKindNames = map[SampleKind]string{
	SampleTrial:     "trial",
	SampleHost:      "host",
	SampleCollector: "collector",
}

func (k SampleKind) String() string {
	if s, ok := sampleKindNames[k]; ok {
		return s
	}
	return "sample(" + strconv.Itoa(int(k)) + ")"
}

func (k SampleKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

func (k *SampleKind) UnmarshalText(b []byte) error {
	for kind, n := range sampleKindNames {
		if n == string(b) {
			*k = kind
			return nil
		}
	}
	return Errorf(EInvalid, "unknown sample kind %q", b)
}

// Sample is one reading taken by the collector beside a run. Counters
// (CPU, IO, pressure totals) are cumulative since the target started, so
// any two samples of a target give its usage between them and a Final
// sample gives its totals. A figure that could not be read is absent
// (nil pointer or omitted), never 0.
//
// A sample's identity is (Run, Epoch, Node, Kind, Trial, Seq): ID renders
// it, so a sample sent twice is stored once.
type Sample struct {
	Time time.Time  `json:"time"`
	Run  string     `json:"run"`
	Node string     `json:"node"` // host.name: the node the target runs on
	Arch string     `json:"arch"` // host.architecture (GOARCH name)
	Kind SampleKind `json:"kind"`
	// Seq numbers the samples of one target (one trial, or the host, or
	// the collector) within the run, from 1.
	Seq int64 `json:"seq"`
	// Epoch tells apart the parts of a resumed run (each part's collectors
	// number their samples from 1 again, and a trial cancelled in one part
	// runs again under its reference in the next): the start of the part,
	// in Unix nanoseconds; 0 for none.
	Epoch int64 `json:"epoch,omitempty"`
	// Final marks the reading taken when the target exited (for a trial)
	// or the collector stopped (host, collector): its counters are the
	// totals even when the target lived less than one interval.
	Final bool `json:"final,omitempty"`

	Trial  *TrialRef         `json:"trial,omitempty"`
	Params map[string]string `json:"params,omitempty"` // the trial's case params

	ContainerID   string `json:"container_id,omitempty"`
	ContainerName string `json:"container_name,omitempty"`

	Cgroup    *CgroupSample    `json:"cgroup,omitempty"`
	Host      *HostSample      `json:"host,omitempty"`
	Collector *CollectorSample `json:"collector,omitempty"`
	// GPUs are a host sample's GPUs, when the host has some and
	// nvidia-smi runs (beside Host, which stays comparable).
	GPUs []GPUSample `json:"gpus,omitempty"`
	// Error says why some figures are missing (a file that could not be
	// read); the sample is still kept: a failed read is data.
	Error string `json:"error,omitempty"`
}

// ID is the sample's stable identity, used as the document id in
// Elasticsearch and the key in the store.
func (s *Sample) ID() string {
	id := s.Run
	if s.Epoch != 0 {
		id += "@" + strconv.FormatInt(s.Epoch, 10)
	}
	id += "/" + s.Node + "/" + s.Kind.String()
	if s.Trial != nil {
		id += "/" + s.Trial.String()
	}
	return id + "/" + strconv.FormatInt(s.Seq, 10)
}

// CgroupSample is one cgroup's figures. Pointers are nil when the figure is
// not available on the host (no such controller or file).
type CgroupSample struct {
	CPU  *time.Duration `json:"cpu_ns,omitempty"` // total CPU, precise
	User *time.Duration `json:"user_ns,omitempty"`
	Sys  *time.Duration `json:"sys_ns,omitempty"`

	Periods          *int64         `json:"cpu_periods,omitempty"`
	ThrottledPeriods *int64         `json:"cpu_throttled_periods,omitempty"`
	Throttled        *time.Duration `json:"cpu_throttled_ns,omitempty"`

	MemoryCurrent *int64 `json:"memory_current_bytes,omitempty"`
	MemoryPeak    *int64 `json:"memory_peak_bytes,omitempty"`

	IOReadBytes  *int64 `json:"io_read_bytes,omitempty"`
	IOWriteBytes *int64 `json:"io_write_bytes,omitempty"`
	IOReadOps    *int64 `json:"io_read_ops,omitempty"`
	IOWriteOps   *int64 `json:"io_write_ops,omitempty"`

	PidsCurrent *int64 `json:"pids_current,omitempty"`
	PidsPeak    *int64 `json:"pids_peak,omitempty"`

	// Pressure (PSI), where the kernel has it: share of the last 10 s in
	// which some task stalled (percent), and total stall time.
	CPUPressureSome10    *float64       `json:"cpu_pressure_some_avg10,omitempty"`
	CPUPressureTotal     *time.Duration `json:"cpu_pressure_some_total_ns,omitempty"`
	MemoryPressureSome10 *float64       `json:"memory_pressure_some_avg10,omitempty"`
	MemoryPressureTotal  *time.Duration `json:"memory_pressure_some_total_ns,omitempty"`
	IOPressureSome10     *float64       `json:"io_pressure_some_avg10,omitempty"`
	IOPressureTotal      *time.Duration `json:"io_pressure_some_total_ns,omitempty"`
}

// HostSample is the host's figures (gopsutil). CPU times are cumulative
// over all CPUs since boot.
type HostSample struct {
	CPUs      int           `json:"cpus"`
	CPUUser   time.Duration `json:"cpu_user_ns"`
	CPUSystem time.Duration `json:"cpu_system_ns"`
	CPUIdle   time.Duration `json:"cpu_idle_ns"`
	CPUIOWait time.Duration `json:"cpu_iowait_ns"`
	CPUSteal  time.Duration `json:"cpu_steal_ns"`
	// CPUTotal is every CPU state summed (the denominator of shares).
	CPUTotal time.Duration `json:"cpu_total_ns"`

	Load1  float64 `json:"load_1"`
	Load5  float64 `json:"load_5"`
	Load15 float64 `json:"load_15"`

	MemoryTotal     uint64 `json:"memory_total_bytes"`
	MemoryUsed      uint64 `json:"memory_used_bytes"`
	MemoryAvailable uint64 `json:"memory_available_bytes"`

	DiskReadBytes  uint64 `json:"disk_read_bytes"`
	DiskWriteBytes uint64 `json:"disk_write_bytes"`
	DiskReadOps    uint64 `json:"disk_read_ops"`
	DiskWriteOps   uint64 `json:"disk_write_ops"`

	NetRecvBytes uint64 `json:"net_recv_bytes"`
	NetSentBytes uint64 `json:"net_sent_bytes"`
}

// CollectorSample is what the collector has cost so far.
type CollectorSample struct {
	CollectorCost
}

// CollectorCost is what one collector cost while it ran beside a run:
// the overhead of measuring, reported with every result.
type CollectorCost struct {
	Node string `json:"node"`
	// Mode is "in-process" (inside the benchrig process running local
	// trials), "process" (a collector process the run started for a
	// node) or "external" (a sidecar that was already running).
	Mode     string        `json:"mode"`
	Interval time.Duration `json:"interval_ns"`
	Wall     time.Duration `json:"wall_ns"` // how long it collected
	// CPU is the collector's own CPU time. A collector process ("process",
	// "external") counts the whole process: sampling, encoding, shipping.
	// In-process, it counts the collector's own threads (sampling, and
	// handing batches to the sink); a sink's background work (the
	// Elasticsearch shipper's bulk requests) and the Go runtime's share
	// are not in it.
	CPU time.Duration `json:"cpu_ns"`
	// MemoryBytes is its memory: resident set of a collector process, or,
	// in-process, the samples its buffer held at its peak (not a sink's
	// queue).
	MemoryBytes int64 `json:"memory_bytes"`
	Samples     int64 `json:"samples"`
	Targets     int64 `json:"targets"` // trials or containers sampled
	// Dropped counts samples the bounded buffer had to drop because the
	// sink fell behind; they are counted, never silently lost.
	Dropped int64 `json:"dropped"`
}

// CPUShare is CPU over wall time: the share of one core the collector
// used (0.005 is 0.5% of one core).
func (c CollectorCost) CPUShare() float64 {
	if c.Wall <= 0 {
		return 0
	}
	return float64(c.CPU) / float64(c.Wall)
}

// ShipCounters count what a sink did with documents (samples, results,
// events) during a run.
type ShipCounters struct {
	Sent    int64 `json:"sent"`    // stored by the sink (created, or already there: see Duplicates)
	Retried int64 `json:"retried"` // attempts repeated after 429, 5xx or a network error
	Spooled int64 `json:"spooled"` // written to the disk spool while the sink was unreachable
	Failed  int64 `json:"failed"`  // refused for good (a mapping error): kept in the spool's rejects
	// Duplicates were already stored (409 on create): a retry or replay
	// that found its document there, not a second copy.
	Duplicates int64 `json:"duplicates"`
}

// Collection is what was collected beside a run and what it cost, stored
// with the run.
type Collection struct {
	// Interval is the sampling interval; 0 when collection was off.
	Interval time.Duration `json:"interval_ns"`
	// Sink names where samples went: "store" (the run store) or
	// "elasticsearch URL".
	Sink       string          `json:"sink"`
	Collectors []CollectorCost `json:"collectors"`
	Shipping   ShipCounters    `json:"shipping"`
	// Warnings say what could not be collected (a node without a
	// collector, a sink that failed).
	Warnings []string `json:"warnings,omitempty"`
}

// Noise is what else used the host while one trial ran: the host's CPU
// time outside the trial during its window, and the steal time the
// hypervisor reported. It tells a noisy neighbour from a real slowdown.
type Noise struct {
	Window time.Duration `json:"window_ns"` // the trial's wall time the figures cover
	CPUs   int           `json:"cpus"`      // the host's CPUs
	// OtherCPU is host CPU time not spent by the trial's cgroup in the
	// window, over all CPUs (the collector's own included).
	OtherCPU time.Duration `json:"other_cpu_ns"`
	// Steal is CPU time the hypervisor gave to other guests, over all
	// CPUs; absent (0) where the hypervisor does not report it.
	Steal time.Duration `json:"steal_ns"`
	// Resolution is the granularity of the host CPU total OtherCPU was
	// computed from: 0 when it is ns-precise (cgroup v1's cpuacct), a
	// scheduler tick per CPU when it is tick-based (cgroup v2's root
	// cpu.stat on some kernels). Judge gives a trial the benefit of it.
	Resolution time.Duration `json:"resolution_ns,omitempty"`
	// Disturbed says the trial crossed the bound (NoiseBound).
	Disturbed bool `json:"disturbed,omitempty"`
}

// StealTick is the granularity of steal time: /proc/stat counts it in
// USER_HZ ticks (10 ms). One tick in a short window would look like a
// large share, so Judge needs more than one.
const StealTick = 10 * time.Millisecond

// Noise bounds: a trial is disturbed when the rest of the host used more
// than NoiseOtherBound of the host's CPU capacity during its window, or
// the hypervisor stole more than NoiseStealBound of it. 10% of a 2-CPU
// host during a 39 ms trial is 7.8 ms of someone else's CPU: the size of
// the sporadic 47-55 ms outliers seen on an idle-looking machine.
const (
	NoiseOtherBound = 0.10
	NoiseStealBound = 0.02
)

// OtherShare is OtherCPU as a share of the host's capacity in the window.
func (n Noise) OtherShare() float64 { return n.share(n.OtherCPU) }

// StealShare is Steal as a share of the host's capacity in the window.
func (n Noise) StealShare() float64 { return n.share(n.Steal) }

func (n Noise) share(d time.Duration) float64 {
	if n.Window <= 0 || n.CPUs <= 0 {
		return 0
	}
	return float64(d) / (float64(n.Window) * float64(n.CPUs))
}

// Judge sets Disturbed from the bounds and returns n: only what exceeds
// the counters' granularity counts (Resolution for OtherCPU, more than one
// StealTick for Steal), so a short trial is not flagged by rounding.
func (n Noise) Judge() Noise {
	other := n.share(n.OtherCPU - n.Resolution)
	steal := 0.0
	if n.Steal > StealTick {
		steal = n.share(n.Steal - StealTick)
	}
	n.Disturbed = other > NoiseOtherBound || steal > NoiseStealBound
	return n
}
