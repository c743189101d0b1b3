package elastic

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"time"

	"github.com/benchrig/benchrig"
)

// Index name prefixes; a document goes to PREFIX-YYYY.MM.DD of its own
// time (a sample's Time, a trial's Start, an event's Time), UTC day.
const (
	MetricsPrefix = "benchrig-metrics"
	ResultsPrefix = "benchrig-results"
	EventsPrefix  = "benchrig-events"
)

// ownIndexRE matches the daily indices of the three prefixes.
var ownIndexRE = regexp.MustCompile(`^(` + regexp.QuoteMeta(MetricsPrefix) + `|` + regexp.QuoteMeta(ResultsPrefix) + `|` +
	regexp.QuoteMeta(EventsPrefix) + `)-[0-9]{4}\.[0-9]{2}\.[0-9]{2}$`)

// ownIndex reports whether index is one that IndexFor makes.
func ownIndex(index string) bool { return ownIndexRE.MatchString(index) }

// IndexFor is the daily index of prefix for time t.
func IndexFor(prefix string, t time.Time) string {
	return prefix + "-" + t.UTC().Format("2006.01.02")
}

// doc is the one shape of every document in the three indices: ECS fields
// where ECS has them, benchrig.* for the rest. Its JSON tags are the
// mapping (see mappingOf): a field added here is mapped, and a field not
// here cannot be sent (dynamic: strict), so documents and templates cannot
// drift apart.
type doc struct {
	Timestamp time.Time     `json:"@timestamp"`
	Host      *ecsHost      `json:"host,omitempty"`
	Container *ecsContainer `json:"container,omitempty"`
	Event     *ecsEvent     `json:"event,omitempty"`
	Message   string        `json:"message,omitempty" es:"text"`
	Benchrig  brFields      `json:"benchrig"`
}

type ecsHost struct {
	Name         string `json:"name,omitempty"`
	Architecture string `json:"architecture,omitempty"`
}

type ecsContainer struct {
	ID   string  `json:"id,omitempty"`
	Name string  `json:"name,omitempty"`
	CPU  *ecsCPU `json:"cpu,omitempty"`
	// container.memory.usage (ECS: a share of the limit) is not sent: a
	// sample does not know the container's memory limit. The bytes are
	// benchrig.cgroup.memory_current_bytes.
}

// ecsCPU.Usage is ECS container.cpu.usage: the share of the host's CPU
// capacity used since the target's previous sample, normalised by the
// host's CPUs (0-1). Sent when the host's CPU count is known.
type ecsCPU struct {
	Usage *float64 `json:"usage,omitempty"`
}

type ecsEvent struct {
	Kind     string `json:"kind,omitempty"`   // metric, event, state
	Action   string `json:"action,omitempty"` // the benchrig event kind
	Dataset  string `json:"dataset,omitempty"`
	Outcome  string `json:"outcome,omitempty"`
	Sequence int64  `json:"sequence,omitempty"`
	Duration int64  `json:"duration,omitempty"` // ns, as ECS has it
}

type brFields struct {
	// Doc says what the document is: trial, host or collector (samples),
	// trial-result, case, run or event.
	Doc    string            `json:"doc"`
	Run    brRun             `json:"run"`
	Case   string            `json:"case,omitempty"`
	Trial  *brTrial          `json:"trial,omitempty"`
	Params map[string]string `json:"params,omitempty" es:"params"`
	Node   string            `json:"node,omitempty"`

	// Samples.
	Seq       int64                    `json:"seq,omitempty"`
	Final     bool                     `json:"final,omitempty"`
	Cgroup    *benchrig.CgroupSample   `json:"cgroup,omitempty"`
	CPUCores  *float64                 `json:"cpu_cores,omitempty"` // cores used since the previous sample
	HostM     *hostFields              `json:"host,omitempty"`
	Collector *benchrig.CollectorCost  `json:"collector,omitempty"`
	Error     string                   `json:"error,omitempty" es:"text"`
	Result    *trialFields             `json:"result,omitempty"`
	Stats     *statsFields             `json:"stats,omitempty"`
	Noise     *benchrig.Noise          `json:"noise,omitempty"`
	Metrics   map[string]float64       `json:"metrics,omitempty" es:"metrics"`
	Shipping  *benchrig.ShipCounters   `json:"shipping,omitempty"`
	Costs     []benchrig.CollectorCost `json:"collectors,omitempty"`
}

type brRun struct {
	ID       string     `json:"id"`
	Spec     string     `json:"spec,omitempty"`
	SpecHash string     `json:"spec_hash,omitempty"`
	Status   string     `json:"status,omitempty"`
	Started  *time.Time `json:"started,omitempty"`
	Finished *time.Time `json:"finished,omitempty"`
	Trials   int        `json:"trials,omitempty"`
	Cases    int        `json:"cases,omitempty"`
	Warnings []string   `json:"warnings,omitempty" es:"text"`
}

type brTrial struct {
	Ref     string `json:"ref"` // TrialRef.String()
	Rep     int    `json:"rep"`
	Attempt int    `json:"attempt"`
	Number  int    `json:"number,omitempty"`
	Warmup  bool   `json:"warmup,omitempty"`
}

// hostFields is a host sample with the busy share the shipper derives.
type hostFields struct {
	benchrig.HostSample
	// CPUBusy is the host's busy share (0-1) since its previous sample.
	CPUBusy *float64 `json:"cpu_busy,omitempty"`
	// GPUs are the sample's GPUs (benchrig.Sample.GPUs).
	GPUs []benchrig.GPUSample `json:"gpus,omitempty"`
}

type trialFields struct {
	Outcome     string        `json:"outcome"`
	Reason      string        `json:"reason,omitempty" es:"text"`
	Wall        time.Duration `json:"wall_ns"`
	User        time.Duration `json:"user_ns"`
	Sys         time.Duration `json:"sys_ns"`
	CPU         time.Duration `json:"cpu_ns"`
	MaxRSS      int64         `json:"max_rss_bytes"`
	ExitCode    int           `json:"exit_code"`
	StdoutBytes int64         `json:"stdout_bytes"`
	StderrBytes int64         `json:"stderr_bytes"`
	Source      string        `json:"source,omitempty"`
	Seq         int           `json:"seq"`
}

// statsFields are a case's statistics over its measured, successful trials'
// wall times, in seconds.
type statsFields struct {
	N         int     `json:"n"`
	Failed    int     `json:"failed"`
	Median    float64 `json:"median_s"`
	Mean      float64 `json:"mean_s"`
	Stddev    float64 `json:"stddev_s"`
	Min       float64 `json:"min_s"`
	Max       float64 `json:"max_s"`
	CILow     float64 `json:"ci_low_s"`
	CIHigh    float64 `json:"ci_high_s"`
	CIMethod  string  `json:"ci_method,omitempty"`
	CV        float64 `json:"cv"`
	Outliers  int     `json:"outliers"`
	Bimodal   bool    `json:"bimodal,omitempty"`
	Baseline  bool    `json:"baseline,omitempty"`
	Skipped   string  `json:"skipped,omitempty" es:"text"`
	Note      string  `json:"note,omitempty" es:"text"`
	Disturbed int     `json:"disturbed"` // trials flagged by noise attribution
}

// maxIDBytes is Elasticsearch's limit on _id.
const maxIDBytes = 512

// docID returns id, or its sha256 when it is longer than Elasticsearch
// allows: still deterministic, so a resend is still a 409.
func docID(id string) string {
	if len(id) <= maxIDBytes {
		return id
	}
	h := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(h[:])
}
