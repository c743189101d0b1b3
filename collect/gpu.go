package collect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/benchrig/benchrig"
)

// SMI runs nvidia-smi. ExecSMI runs the real one; tests feed recorded
// outputs (testdata/nvidia-smi).
type SMI interface {
	// Output runs nvidia-smi with args until it exits and returns its
	// standard output. A host without nvidia-smi gives ErrNoSMI.
	Output(ctx context.Context, args ...string) ([]byte, error)
	// Stream starts a long-running nvidia-smi (a --loop-ms query) and
	// returns its standard output as it comes; the process ends, and the
	// reader with it, when ctx ends. Closing the reader ends it too.
	Stream(ctx context.Context, args ...string) (io.ReadCloser, error)
}

// ErrNoSMI says nvidia-smi is not installed: the host has no NVIDIA GPU
// benchrig can see.
var ErrNoSMI = errors.New("nvidia-smi not found")

// ExecSMI runs nvidia-smi from PATH (or Path).
type ExecSMI struct{ Path string }

var _ SMI = ExecSMI{}

func (e ExecSMI) path() (string, error) {
	if e.Path != "" {
		return e.Path, nil
	}
	p, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return "", ErrNoSMI
	}
	return p, nil
}

func (e ExecSMI) Output(ctx context.Context, args ...string) ([]byte, error) {
	p, err := e.path()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// nvidia-smi says what is wrong on stdout as often as on stderr
		// ("NVIDIA-SMI has failed because it couldn't communicate with
		// the NVIDIA driver").
		msg := strings.TrimSpace(stderr.String() + " " + string(out))
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return nil, fmt.Errorf("nvidia-smi %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return out, nil
}

func (e ExecSMI) Stream(ctx context.Context, args ...string) (io.ReadCloser, error) {
	p, err := e.path()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, p, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nvidia-smi: %w", err)
	}
	return &streamProc{ReadCloser: out, cmd: cmd}, nil
}

// streamProc is a running nvidia-smi's output; Close ends the process.
type streamProc struct {
	io.ReadCloser
	cmd  *exec.Cmd
	once sync.Once
}

func (s *streamProc) Close() error {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill() // it loops until killed
		_ = s.ReadCloser.Close()
		_ = s.cmd.Wait() // reaps it; its exit status is that of the kill
	})
	return nil
}

// smiTimeout bounds one nvidia-smi fact query: it answers in well under a
// second on a healthy host, and takes seconds when the driver is wedged,
// which must not hold up a run.
const smiTimeout = 10 * time.Second

// Accelerators asks nvidia-smi for the host's GPUs: `nvidia-smi -q -x`,
// and, should that fail or say nothing of CUDA, the header of plain
// `nvidia-smi`. A host without nvidia-smi has none, which is not an error;
// nvidia-smi failing (a driver that does not answer) gives none too, with
// the failure in Note.
func Accelerators(ctx context.Context, smi SMI) *benchrig.Accelerators {
	ctx, cancel := context.WithTimeout(ctx, smiTimeout)
	defer cancel()
	out, err := smi.Output(ctx, "-q", "-x")
	if errors.Is(err, ErrNoSMI) {
		return &benchrig.Accelerators{Source: benchrig.AccelSMI, GPUs: []benchrig.GPU{}, Note: ErrNoSMI.Error()}
	}
	var a *benchrig.Accelerators
	if err == nil {
		a, err = ParseSMIXML(out)
	}
	if err != nil || a.CUDA == "" {
		table, terr := smi.Output(ctx)
		if terr == nil {
			if t, perr := ParseSMITable(table); perr == nil {
				if a == nil {
					a = t
				} else {
					a.CUDA = t.CUDA
				}
				err = nil
			}
		}
	}
	if a == nil {
		return &benchrig.Accelerators{Source: benchrig.AccelSMI, GPUs: []benchrig.GPU{}, Note: err.Error()}
	}
	return a
}

// smiLog is the part of `nvidia-smi -q -x` that benchrig reads.
type smiLog struct {
	Driver string `xml:"driver_version"`
	CUDA   string `xml:"cuda_version"`
	GPUs   []struct {
		ID      string `xml:"id,attr"`
		Name    string `xml:"product_name"`
		UUID    string `xml:"uuid"`
		MinorNo string `xml:"minor_number"`
		BusID   string `xml:"pci>pci_bus_id"`
		FBTotal string `xml:"fb_memory_usage>total"`
		MIG     string `xml:"mig_mode>current_mig"`
		MIGDevs []struct {
			Index string `xml:"index"`
		} `xml:"mig_devices>mig_device"`
	} `xml:"gpu"`
}

// ParseSMIXML reads the output of `nvidia-smi -q -x`. GPUs are numbered in
// the order listed, which is nvidia-smi's index order.
func ParseSMIXML(b []byte) (*benchrig.Accelerators, error) {
	var l smiLog
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false // the DOCTYPE names a DTD file that is not there
	if err := d.Decode(&l); err != nil {
		return nil, fmt.Errorf("nvidia-smi -q -x: %w", err)
	}
	a := &benchrig.Accelerators{Source: benchrig.AccelSMI, Driver: na(l.Driver), CUDA: na(l.CUDA), GPUs: []benchrig.GPU{}}
	for i, g := range l.GPUs {
		gpu := benchrig.GPU{Index: i, Name: na(g.Name), UUID: na(g.UUID), BusID: or(na(g.BusID), g.ID)}
		gpu.MemoryBytes, _ = parseMiB(g.FBTotal)
		gpu.MIG = strings.EqualFold(strings.TrimSpace(g.MIG), "Enabled")
		gpu.MIGDevices = len(g.MIGDevs)
		a.GPUs = append(a.GPUs, gpu)
	}
	return a, nil
}

// na is s trimmed, "" for nvidia-smi's N/A.
func na(s string) string {
	s = strings.TrimSpace(s)
	if s == "N/A" || strings.HasPrefix(s, "[") { // [N/A], [Not Supported]
		return ""
	}
	return s
}

// parseMiB reads "16384 MiB" (or a bare number of MiB) as bytes.
func parseMiB(s string) (int64, bool) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "MiB"))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return n << 20, true
}

var (
	smiHeaderRE = regexp.MustCompile(`NVIDIA-SMI\s+(\S+)\s+Driver Version:\s*(\S+)(?:\s+CUDA Version:\s*(\S+))?`)
	// A GPU's first row: "|   0  NVIDIA A40   On  |   00000000:4F:00.0 Off |".
	smiGPURowRE = regexp.MustCompile(`^\|\s+(\d+)\s+(.+?)\s+(?:On|Off)\s*\|\s*([0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f]+\.[0-9A-Fa-f])`)
	smiMemRE    = regexp.MustCompile(`\|\s*\d+MiB\s*/\s*(\d+)MiB\s*\|`)
	smiMIGRowRE = regexp.MustCompile(`^\|\s+(\d+)\s+\d+\s+\d+\s+\d+\s+\|`)
)

// ParseSMITable reads the summary plain `nvidia-smi` prints: the driver
// and CUDA versions from its header (drivers before 410 print no CUDA
// version), and each GPU's index, name, bus and memory from its table.
// Names are cut to the table's column by nvidia-smi itself.
func ParseSMITable(b []byte) (*benchrig.Accelerators, error) {
	m := smiHeaderRE.FindSubmatch(b)
	if m == nil {
		return nil, errors.New("nvidia-smi: no \"NVIDIA-SMI ... Driver Version\" header in its output")
	}
	a := &benchrig.Accelerators{Source: benchrig.AccelSMI, Driver: string(m[2]), CUDA: string(m[3]), GPUs: []benchrig.GPU{}}
	section := 0 // 0: the GPU table, 1: the MIG devices table, 2: after
	var cur *benchrig.GPU
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " ")
		switch {
		case strings.Contains(line, "MIG devices:"):
			section = 1
			continue
		case strings.Contains(line, "Processes:"):
			section = 2
		}
		switch section {
		case 0:
			if g := smiGPURowRE.FindStringSubmatch(line); g != nil {
				idx, _ := strconv.Atoi(g[1])
				a.GPUs = append(a.GPUs, benchrig.GPU{Index: idx, Name: g[2], BusID: g[3]})
				cur = &a.GPUs[len(a.GPUs)-1]
				continue
			}
			if cur != nil && cur.MemoryBytes == 0 {
				if mm := smiMemRE.FindStringSubmatch(line); mm != nil {
					cur.MemoryBytes, _ = parseMiB(mm[1])
				}
			}
			// The third row of a GPU on drivers with MIG: "| ... | Enabled |".
			if cur != nil && strings.HasSuffix(line, "Enabled |") {
				cur.MIG = true
			}
		case 1:
			if g := smiMIGRowRE.FindStringSubmatch(line); g != nil {
				idx, _ := strconv.Atoi(g[1])
				if i := slices.IndexFunc(a.GPUs, func(x benchrig.GPU) bool { return x.Index == idx }); i >= 0 {
					a.GPUs[i].MIGDevices++
					a.GPUs[i].MIG = true
				}
			}
		}
	}
	return a, nil
}

// QueryRows reads the CSV `nvidia-smi --query-gpu=FIELDS --format=csv`
// prints, with or without its header and units: each row as a map from
// the field name (as queried, without the unit the header appends:
// "utilization.gpu [%]" is utilization.gpu) to the value without its unit
// ("26 %" is "26"). Without a header, fields names the columns. A header
// line again in the middle (some drivers repeat it in a loop) is skipped.
func QueryRows(r io.Reader, fields []string, row func(map[string]string)) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	var names []string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("nvidia-smi csv: %w", err)
		}
		if isQueryHeader(rec) {
			names = names[:0]
			for _, h := range rec {
				name, _, _ := strings.Cut(strings.TrimSpace(h), " [")
				names = append(names, name)
			}
			continue
		}
		cols := names
		if len(cols) == 0 {
			cols = fields
		}
		m := make(map[string]string, len(rec))
		for i, v := range rec {
			if i < len(cols) {
				m[cols[i]] = trimUnit(v)
			}
		}
		row(m)
	}
}

// isQueryHeader says whether a CSV record is the header nvidia-smi prints:
// field names, which hold a dot or are a known bare name, never spaces
// outside a "[unit]".
func isQueryHeader(rec []string) bool {
	for _, h := range rec {
		name, _, _ := strings.Cut(strings.TrimSpace(h), " [")
		if name == "" || strings.ContainsAny(name, " %") {
			return false
		}
		if !strings.Contains(name, ".") && !slices.Contains([]string{"index", "name", "uuid", "count", "pstate", "serial", "timestamp", "driver_version", "gpu_name", "gpu_uuid", "gpu_bus_id", "vbios_version"}, name) {
			return false
		}
	}
	return len(rec) > 0
}

// trimUnit drops the unit nvidia-smi prints after a number ("26 %",
// "83.92 W", "1320 MHz", "0 MiB"): the header names it.
func trimUnit(v string) string {
	v = strings.TrimSpace(v)
	if num, unit, ok := strings.Cut(v, " "); ok {
		if _, err := strconv.ParseFloat(num, 64); err == nil && !strings.Contains(unit, " ") {
			return num
		}
	}
	return v
}

// gpuQuery is what the GPU sampler asks nvidia-smi for at every loop.
var gpuQuery = []string{"index", "uuid", "utilization.gpu", "utilization.memory", "memory.used", "memory.total", "power.draw", "temperature.gpu"}

// gpuSample turns one row of gpuQuery (or of any query holding some of its
// fields) into a GPUSample; ok is false without an index.
func gpuSample(m map[string]string) (benchrig.GPUSample, bool) {
	idx, err := strconv.Atoi(m["index"])
	if err != nil {
		return benchrig.GPUSample{}, false
	}
	s := benchrig.GPUSample{Index: idx, UUID: na(m["uuid"])}
	f := func(k string) *float64 {
		v, err := strconv.ParseFloat(na(m[k]), 64)
		if err != nil {
			return nil
		}
		return &v
	}
	mib := func(k string) *int64 {
		v, ok := parseMiB(na(m[k]))
		if !ok {
			return nil
		}
		return &v
	}
	s.Utilization, s.MemoryUtilization = f("utilization.gpu"), f("utilization.memory")
	s.MemoryUsed, s.MemoryTotal = mib("memory.used"), mib("memory.total")
	s.PowerWatts, s.TemperatureC = f("power.draw"), f("temperature.gpu")
	return s, true
}

// gpuSampler keeps the latest reading of each GPU from one long-running
// `nvidia-smi --query-gpu=... --format=csv,nounits --loop-ms=INTERVAL`,
// and the collector copies them into each host sample. One process for
// the whole run costs far less than starting nvidia-smi at every interval
// (each start initialises NVML, tens of milliseconds of CPU); its CPU is
// nvidia-smi's own, not in the collector's cost figure.
type gpuSampler struct {
	smi      SMI
	interval time.Duration

	mu     sync.Mutex
	latest map[int]benchrig.GPUSample
	err    error
}

func newGPUSampler(smi SMI, interval time.Duration) *gpuSampler {
	return &gpuSampler{smi: smi, interval: interval, latest: map[int]benchrig.GPUSample{}}
}

// run reads nvidia-smi's loop until ctx ends or the process does; what
// went wrong is kept for the samples (see fill).
func (g *gpuSampler) run(ctx context.Context) {
	ms := max(100, int(g.interval/time.Millisecond))
	r, err := g.smi.Stream(ctx, "--query-gpu="+strings.Join(gpuQuery, ","), "--format=csv,nounits", "--loop-ms="+strconv.Itoa(ms))
	if err != nil {
		g.setErr(err)
		return
	}
	defer r.Close()
	err = QueryRows(r, gpuQuery, func(m map[string]string) {
		if s, ok := gpuSample(m); ok {
			g.mu.Lock()
			g.latest[s.Index] = s
			g.mu.Unlock()
		}
	})
	if ctx.Err() == nil {
		if err == nil {
			err = errors.New("nvidia-smi loop ended")
		}
		g.setErr(err)
	}
}

func (g *gpuSampler) setErr(err error) {
	g.mu.Lock()
	g.err = err
	g.mu.Unlock()
}

// fill puts the latest reading of every GPU into host sample s, in index
// order; the error is why there is none.
func (g *gpuSampler) fill(s *benchrig.Sample) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.latest) > 0 {
		s.GPUs = make([]benchrig.GPUSample, 0, len(g.latest))
		for _, gs := range g.latest {
			s.GPUs = append(s.GPUs, gs)
		}
		slices.SortFunc(s.GPUs, func(a, b benchrig.GPUSample) int { return a.Index - b.Index })
	}
	if g.err != nil {
		return fmt.Errorf("gpu: %w", g.err)
	}
	return nil
}
