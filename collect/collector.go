package collect

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/internal/cgroup"
	"github.com/benchrig/benchrig/runner"
)

// Sampling and batching defaults.
const (
	// DefaultInterval samples once a second: enough to draw a run's
	// timeline, while each trial's totals come from its Final sample.
	DefaultInterval = time.Second
	// MinInterval is the shortest interval accepted: at 10 Hz over 10
	// containers the collector stays far below its budget of 0.5% of a
	// core, and shorter periods measure the sampler more than the trials.
	MinInterval = 100 * time.Millisecond
	// DefaultBuffer holds 4096 samples waiting for the sink: at 10 Hz over
	// 10 containers plus host and collector samples (about 120 a second)
	// that is over 30 s of a stalled sink, far more than a sink's retry
	// backoff (the Elasticsearch sink spools to disk itself when its server
	// is down), for about 4 MiB of memory at worst (a sample with its
	// cgroup figures is under 1 KiB).
	DefaultBuffer = 4096
	// DefaultFlushEvery ships buffered samples once a second, or sooner
	// when the buffer is half full: one bulk request a second keeps a
	// sink's requests few without delaying a live view by much.
	DefaultFlushEvery = time.Second
	// DefaultCostEvery emits a collector sample every 10 intervals, so a
	// run's timeline shows the collector's cost without doubling the
	// number of samples.
	DefaultCostEvery = 10
	// FullEvery is how often the collector reads every figure of each
	// target and of the host. At the ticks in between (intervals under a
	// second) it reads only the hot figures, which move fast and cost
	// little: a cgroup's CPU total, throttling and memory current (2 to 3
	// small files, against 13 on a hybrid host: its pressure, block IO and
	// pids files are the costly ones for the kernel to generate), and the
	// host's CPU times, load and memory (its disk and network counters
	// are carried from the last full sample). So every figure is in a
	// sample at least once a second, which is the default interval, and
	// in every Final sample and a container's first, which are always full;
	// at 10 Hz this reads a quarter of the files. Measured with
	// TestBenchCollectorVsStats.
	FullEvery = time.Second
	// DefaultFlushTimeout bounds the final flush after the collector stops,
	// so a dead sink cannot hold a run's end forever.
	DefaultFlushTimeout = 30 * time.Second
)

// Collector modes (CollectorCost.Mode).
const (
	ModeInProcess = "in-process"
	ModeProcess   = "process"
	ModeExternal  = "external"
)

// Config configures a Collector.
type Config struct {
	// Interval between periodic samples: DefaultInterval when 0; less than
	// MinInterval is refused.
	Interval time.Duration
	// Node and Arch say where the collector runs (host.name,
	// host.architecture; Arch defaults to this binary's); Run, when set, is the run every sample belongs
	// to (else a trial's own run, or "" for host samples of a sidecar that
	// serves any run).
	Node, Arch, Run string
	// Mode is ModeInProcess (the default), ModeProcess or ModeExternal. It
	// says how the collector's cost is measured: in-process, the CPU of its
	// own threads (sampling, flushing, and the TrialStarted, TrialExited
	// and Watch calls); otherwise the whole process's CPU and peak RSS.
	Mode string
	// ProcRoot and CgroupRoot are where /proc and /sys/fs/cgroup are; ""
	// means the real ones.
	ProcRoot, CgroupRoot string
	// Sink receives the samples, from the flusher goroutine only.
	Sink Sink
	// Host enables host samples (gopsutil) every interval.
	Host bool
	// GPU, with Host, adds each GPU's utilisation and memory to the host
	// samples, read from one nvidia-smi loop for the whole run (see
	// gpuSampler); nil for none (a host without GPUs).
	GPU SMI
	// Buffer is how many samples may wait for the sink (DefaultBuffer when
	// 0); beyond it samples are dropped and counted.
	Buffer int
	// FlushEvery is the period of the flusher (DefaultFlushEvery when 0).
	FlushEvery time.Duration
	// CostEvery is how many intervals pass between collector samples
	// (DefaultCostEvery when 0).
	CostEvery int
	// FlushTimeout bounds the final flush (DefaultFlushTimeout when 0).
	FlushTimeout time.Duration
}

// Collector samples trials' and containers' cgroups and the host beside a
// run, and ships the samples to a Sink in batches without ever blocking
// the sampling on the sink. It implements runner.Watcher.
//
// Run samples periodically and must be running for periodic samples and
// shipping; TrialStarted, TrialExited, Watch, Unwatch and Cost may be
// called from any goroutine, before, during and after Run.
type Collector struct {
	cfg   Config
	root  cgroup.Root
	host  *hostSampler // host samples when cfg.Host, and steal time for noise always
	gpu   *gpuSampler  // GPU figures for host samples; nil without cfg.GPU
	start time.Time

	mu        sync.Mutex // guards what follows; never held across I/O
	targets   map[string]*target
	buf       []benchrig.Sample
	peakBuf   int
	samples   int64
	dropped   int64
	nTargets  int64
	hostSeq   int64
	collSeq   int64
	warnings  []string
	lostWarns int
	ended     time.Time
	closed    bool // Run returned: nothing more is shipped

	running atomic.Bool
	kick    chan struct{}
	scratch []*target // the sampling goroutine's list of targets, reused
	// CPU time of the collector's own threads, in-process mode.
	samplerCPU, flusherCPU, callCPU atomic.Int64
}

// target is one cgroup being sampled: a local trial or a container.
type target struct {
	key      string
	run      string
	ref      *benchrig.TrialRef
	params   map[string]string
	contID   string
	contName string
	sampler  Sampler
	reader   *cgroup.Reader // the cgroup's open files, closed when it is done
	seq      int64
	exited   bool
	base     noiseBase
	hasBase  bool
}

// setCgroup makes t sample the cgroup d through its open files.
func (t *target) setCgroup(d cgroup.Dirs) {
	g := newCgroupSampler(d)
	t.sampler, t.reader = g, g.r
}

// close closes the target's cgroup files. A sampler still reading them
// gets an error, and its reading is discarded since the target is done.
func (t *target) close() {
	if t.reader != nil {
		_ = t.reader.Close() // read-only files: nothing to lose
	}
}

// noiseBase is what noise attribution reads when a trial starts.
type noiseBase struct {
	at       time.Time
	hostCPU  time.Duration
	trialCPU time.Duration
	steal    time.Duration
}

var _ runner.Watcher = (*Collector)(nil)

// New checks cfg and returns a collector. It detects the cgroup layout
// under CgroupRoot once.
func New(cfg Config) (*Collector, error) {
	switch {
	case cfg.Interval == 0:
		cfg.Interval = DefaultInterval
	case cfg.Interval < MinInterval:
		return nil, benchrig.Errorf(benchrig.EInvalid, "collector interval %s is below the minimum of %s", cfg.Interval, MinInterval)
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = ModeInProcess
	case ModeInProcess, ModeProcess, ModeExternal:
	default:
		return nil, benchrig.Errorf(benchrig.EInvalid, "collector mode %q: want %s, %s or %s", cfg.Mode, ModeInProcess, ModeProcess, ModeExternal)
	}
	if cfg.Arch == "" {
		cfg.Arch = NormalizeArch(runtime.GOARCH)
	}
	if cfg.Sink == nil {
		return nil, benchrig.Errorf(benchrig.EInvalid, "collector: no sink")
	}
	if cfg.Buffer < 0 || cfg.FlushEvery < 0 || cfg.CostEvery < 0 || cfg.FlushTimeout < 0 {
		return nil, benchrig.Errorf(benchrig.EInvalid, "collector: negative buffer, flush period, cost period or flush timeout")
	}
	if cfg.Buffer == 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.FlushEvery == 0 {
		cfg.FlushEvery = DefaultFlushEvery
	}
	if cfg.CostEvery == 0 {
		cfg.CostEvery = DefaultCostEvery
	}
	if cfg.FlushTimeout == 0 {
		cfg.FlushTimeout = DefaultFlushTimeout
	}
	root, err := cgroup.Detect(cfg.CgroupRoot)
	if err != nil {
		return nil, fmt.Errorf("collector: cgroup root: %w", err)
	}
	c := &Collector{
		cfg: cfg, root: root, host: newHostSampler(cfg.ProcRoot),
		targets: map[string]*target{}, kick: make(chan struct{}, 1),
	}
	if c.host.cpus == 0 {
		c.host.cpus = runtime.NumCPU()
	}
	if cfg.GPU != nil && cfg.Host {
		c.gpu = newGPUSampler(cfg.GPU, cfg.Interval)
	}
	return c, nil
}

// Run samples every Interval until ctx ends; then it takes the final host
// and collector samples (Seq 0), ships what is buffered to the sink within
// FlushTimeout, and returns. Targets still watched at the end get no final
// sample: they have not exited. Run may be called once; the error is the
// final flush's, or a second call's.
func (c *Collector) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("collector: Run called twice")
	}
	c.mu.Lock()
	c.start = time.Now()
	c.mu.Unlock()

	// Flushes outlive ctx (a flush in progress when the run ends is not
	// cut short), but not FlushTimeout past its end.
	flushCtx, cancelFlush := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelFlush()
	stop, flushed := make(chan struct{}), make(chan error, 1)
	go c.flusher(flushCtx, stop, flushed)
	if c.gpu != nil {
		gctx, cancelGPU := context.WithCancel(ctx)
		gdone := make(chan struct{})
		go func() { defer close(gdone); c.gpu.run(gctx) }()
		defer func() { cancelGPU(); <-gdone }()
	}

	tick := time.NewTicker(c.cfg.Interval)
	defer tick.Stop()
	fullEvery := max(1, int(FullEvery/c.cfg.Interval))
	flushEvery := max(1, int(c.cfg.FlushEvery/c.cfg.Interval))
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			c.samplerCPU.Add(int64(threadCPUOf(func() { c.finalSamples(ctx) })))
			close(stop)
			timer := time.AfterFunc(c.cfg.FlushTimeout, cancelFlush)
			err := <-flushed
			timer.Stop()
			c.mu.Lock()
			c.ended = time.Now()
			// What came after the final flush took the buffer (a Watch or
			// TrialExited racing the stop) will never be shipped: counted.
			c.closed = true
			c.dropped += int64(len(c.buf))
			c.buf = c.buf[:0]
			c.mu.Unlock()
			return err
		case <-tick.C:
		}
		// The thread is locked to the goroutine only while it works, to
		// read its CPU clock: a goroutine locked while it waits makes
		// the runtime wake that very thread at each tick, and hand its
		// processor over, which cost more than the sampling.
		c.samplerCPU.Add(int64(threadCPUOf(func() {
			c.sampleAll(ctx, n%c.cfg.CostEvery == 0, (n-1)%fullEvery == 0) // the first tick is full
		})))
		if n%flushEvery == 0 {
			c.kickFlusher()
		}
	}
}

// threadCPUOf runs f on the calling goroutine's thread, locked to it, and
// returns the thread's CPU time f used.
func threadCPUOf(f func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := threadCPU()
	f()
	return threadCPU() - t0
}

func (c *Collector) kickFlusher() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// sampleAll takes one periodic sample of every target and of the host,
// and one of the collector when withCost; of every figure when full, else
// of the hot ones (see FullEvery).
func (c *Collector) sampleAll(ctx context.Context, withCost, full bool) {
	now := time.Now()
	c.mu.Lock()
	targets := c.scratch[:0]
	for _, t := range c.targets {
		targets = append(targets, t)
	}
	c.mu.Unlock()
	defer func() {
		clear(targets) // let targets that end be collected
		c.scratch = targets[:0]
	}()
	for _, t := range targets {
		s := c.trialSample(t, now)
		err := c.readTier(ctx, t.sampler, &s, full)
		c.mu.Lock()
		switch {
		case t.exited:
			// A target that exited meanwhile has its Final sample (a
			// trial) or is gone (a container): a reading taken around its
			// removal would be a worse one.
		case t.contID != "" && errors.Is(err, errNoFigures):
			// Docker removes a container's cgroup before its die event
			// arrives: the container is gone, not failing to be read.
			t.exited = true
			delete(c.targets, t.key)
			t.close()
		default:
			t.seq++
			s.Seq = t.seq
			c.addLocked(s)
		}
		c.mu.Unlock()
	}
	if c.cfg.Host {
		s := c.sample(benchrig.SampleHost, now)
		c.readTier(ctx, c.host, &s, full)
		c.fillGPU(&s)
		c.mu.Lock()
		c.hostSeq++
		s.Seq = c.hostSeq
		c.addLocked(s)
		c.mu.Unlock()
	}
	if withCost {
		c.costSample(false)
	}
}

// fillGPU adds the GPUs' latest figures to host sample s; why they are
// missing goes to its Error, beside the host's own.
func (c *Collector) fillGPU(s *benchrig.Sample) {
	if c.gpu == nil {
		return
	}
	if err := c.gpu.fill(s); err != nil {
		s.Error = joinReasons(s.Error, err.Error())
	}
}

func joinReasons(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// finalSamples takes the Final host and collector samples.
func (c *Collector) finalSamples(ctx context.Context) {
	if c.cfg.Host {
		s := c.sample(benchrig.SampleHost, time.Now())
		s.Final = true
		c.read(ctx, c.host, &s)
		c.fillGPU(&s)
		c.add(s)
	}
	c.costSample(true)
}

func (c *Collector) costSample(final bool) {
	s := c.sample(benchrig.SampleCollector, time.Now())
	cost := c.Cost()
	s.Collector = &benchrig.CollectorSample{CollectorCost: cost}
	c.mu.Lock()
	defer c.mu.Unlock()
	if final {
		s.Final = true
	} else {
		c.collSeq++
		s.Seq = c.collSeq
	}
	c.addLocked(s)
}

// sample returns a sample of kind with the collector's identity.
func (c *Collector) sample(kind benchrig.SampleKind, now time.Time) benchrig.Sample {
	return benchrig.Sample{Time: now, Run: c.cfg.Run, Node: c.cfg.Node, Arch: c.cfg.Arch, Kind: kind}
}

func (c *Collector) trialSample(t *target, now time.Time) benchrig.Sample {
	s := c.sample(benchrig.SampleTrial, now)
	if s.Run == "" {
		s.Run = t.run
	}
	s.Trial, s.Params, s.ContainerID, s.ContainerName = t.ref, t.params, t.contID, t.contName
	return s
}

// read fills s with sampler's figures; a failure is kept on the sample,
// and returned.
func (c *Collector) read(ctx context.Context, sm Sampler, s *benchrig.Sample) error {
	err := sm.Sample(ctx, s)
	if err != nil {
		s.Error = err.Error()
	}
	return err
}

// hotSampler is a Sampler that can read only its hot figures, cheaply,
// for the ticks between full samples (FullEvery). Its figures that it does
// not read are absent (nil), or for the host's disk and network counters
// carried from its last full sample.
type hotSampler interface {
	SampleHot(ctx context.Context, s *benchrig.Sample) error
}

// readTier is read of every figure when full, else of sm's hot figures
// when it has them.
func (c *Collector) readTier(ctx context.Context, sm Sampler, s *benchrig.Sample, full bool) error {
	if h, ok := sm.(hotSampler); ok && !full {
		err := h.SampleHot(ctx, s)
		if err != nil {
			s.Error = err.Error()
		}
		return err
	}
	return c.read(ctx, sm, s)
}

func (c *Collector) add(s benchrig.Sample) {
	c.mu.Lock()
	c.addLocked(s)
	c.mu.Unlock()
}

// addLocked buffers s, or counts it dropped when the buffer is full: the
// sampler never waits for the sink.
func (c *Collector) addLocked(s benchrig.Sample) {
	c.samples++
	if c.closed || len(c.buf) >= c.cfg.Buffer {
		c.dropped++
		return
	}
	c.buf = append(c.buf, s)
	c.peakBuf = max(c.peakBuf, len(c.buf))
	if len(c.buf) >= c.cfg.Buffer/2 {
		c.kickFlusher()
	}
}

// flusher ships the buffer when kicked: every FlushEvery by the sampling
// loop (so the process wakes once per tick, not once more for a timer of
// its own), or when the buffer is half full; by its own ticker only when
// FlushEvery is shorter than the interval. It ships once more when stop
// closes, and sends that final flush's error on done.
func (c *Collector) flusher(ctx context.Context, stop <-chan struct{}, done chan<- error) {
	var tickC <-chan time.Time
	if c.cfg.FlushEvery < c.cfg.Interval {
		tick := time.NewTicker(c.cfg.FlushEvery)
		defer tick.Stop()
		tickC = tick.C
	}
	for {
		select {
		case <-tickC:
		case <-c.kick:
		case <-stop:
			var err error
			c.flusherCPU.Add(int64(threadCPUOf(func() { err = c.flush(ctx) })))
			done <- err
			return
		}
		// flush counts a failure and keeps it as a warning.
		c.flusherCPU.Add(int64(threadCPUOf(func() { _ = c.flush(ctx) })))
	}
}

// flush hands the buffered samples to the sink. A batch the sink refused
// is lost: it is counted as Dropped and said in a warning.
func (c *Collector) flush(ctx context.Context) error {
	c.mu.Lock()
	batch := c.buf
	if len(batch) == 0 {
		c.mu.Unlock()
		return nil
	}
	// The next batch will be about as large: one allocation instead of
	// a slice grown from nothing by doubling (10 Hz over 10 containers
	// is a thousand samples a second). The sink may keep batch.
	c.buf = make([]benchrig.Sample, 0, min(c.cfg.Buffer, len(batch)))
	c.mu.Unlock()
	err := c.cfg.Sink.WriteSamples(ctx, batch)
	if err == nil {
		return nil
	}
	err = fmt.Errorf("collector sink: %d samples lost: %w", len(batch), err)
	c.mu.Lock()
	c.dropped += int64(len(batch))
	c.warnLocked(err.Error())
	c.mu.Unlock()
	return err
}

// maxWarnings keeps a failing sink from filling memory with its errors.
const maxWarnings = 10

func (c *Collector) warnLocked(w string) {
	if len(c.warnings) < maxWarnings {
		c.warnings = append(c.warnings, w)
		return
	}
	c.lostWarns++
}

// warnOnce is warn for a warning that may recur: kept once.
func (c *Collector) warnOnce(w string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(c.warnings, w) {
		c.warnLocked(w)
	}
}

func (c *Collector) warn(w string) {
	c.mu.Lock()
	c.warnLocked(w)
	c.mu.Unlock()
}

// Warnings says what went wrong while collecting (a sink that refused
// batches), for the run to keep with its collection.
func (c *Collector) Warnings() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := append([]string(nil), c.warnings...)
	if c.lostWarns > 0 {
		w = append(w, fmt.Sprintf("%d more collector warnings", c.lostWarns))
	}
	return w
}

// measureCall adds the CPU time of f, run on the caller's thread, to the
// collector's own cost.
func (c *Collector) measureCall(f func()) {
	c.callCPU.Add(int64(threadCPUOf(f)))
}

// TrialStarted starts sampling a local trial's cgroup and reads the
// baseline of its noise: the host's CPU total, the trial's CPU and the
// steal time, at once. It reads files only.
func (c *Collector) TrialStarted(ref benchrig.TrialRef, t runner.Target) {
	c.measureCall(func() {
		r := ref
		tg := &target{
			key: "trial " + ref.String(), run: ref.Run, ref: &r, params: maps.Clone(t.Params),
		}
		tg.setCgroup(t.Cgroup)
		tg.base, tg.hasBase = c.noiseBase(tg.reader)
		c.mu.Lock()
		if old := c.targets[tg.key]; old != nil {
			old.exited = true
			old.close()
		}
		c.targets[tg.key] = tg
		c.nTargets++
		c.mu.Unlock()
	})
}

// noiseBase reads the host's and the trial's CPU and the steal time now.
func (c *Collector) noiseBase(r *cgroup.Reader) (noiseBase, bool) {
	host, err := c.root.HostCPU()
	if err != nil {
		return noiseBase{}, false
	}
	st, _ := r.ReadHot()
	if st.CPU == cgroup.NA {
		return noiseBase{}, false
	}
	b := noiseBase{at: time.Now(), hostCPU: host, trialCPU: st.CPU}
	if ts, err := c.host.cpuTimes(); err == nil {
		b.steal = secs(ts.Steal)
	}
	return b, true
}

// TrialExited takes the trial's Final sample (Seq 0) now, before the
// caller removes its cgroup, and returns what else used the host while it
// ran: the root cgroup's CPU minus the trial's over the window between
// TrialStarted and now, and the steal time, judged against the bounds.
// The window runs from just after the trial's start to just after its
// exit, so it includes the executor's reaping: a few hundred microseconds
// of its own CPU count as other. Nil when the trial was not started here or
// a figure could not be read.
func (c *Collector) TrialExited(ref benchrig.TrialRef) *benchrig.Noise {
	var noise *benchrig.Noise
	c.measureCall(func() {
		key := "trial " + ref.String()
		c.mu.Lock()
		tg := c.targets[key]
		delete(c.targets, key)
		if tg != nil {
			tg.exited = true
		}
		c.mu.Unlock()
		if tg == nil {
			return
		}
		s := c.trialSample(tg, time.Now())
		s.Final = true
		c.read(context.Background(), tg.sampler, &s)
		c.add(s)
		defer tg.close() // before the caller removes the cgroup
		if !tg.hasBase || s.Cgroup == nil || s.Cgroup.CPU == nil {
			return
		}
		end, ok := c.noiseBase(tg.reader)
		if !ok {
			return
		}
		n := benchrig.Noise{
			Window:   end.at.Sub(tg.base.at),
			CPUs:     c.host.cpus,
			OtherCPU: max(0, (end.hostCPU-tg.base.hostCPU)-(end.trialCPU-tg.base.trialCPU)),
			Steal:    max(0, end.steal-tg.base.steal),
		}
		if !c.root.HostCPUPrecise() {
			n.Resolution = cgroup.HostCPUTick * time.Duration(c.host.cpus)
		}
		n = n.Judge()
		noise = &n
	})
	return noise
}

// ContainerTarget is a container found on the collector's node.
type ContainerTarget struct {
	ID, Name string
	// PID is the container's first process, as the host sees it: its
	// /proc/<pid>/cgroup (under ProcRoot) says where the cgroup is.
	PID int
	// Ref is the trial the container runs (its benchrig.trial label).
	Ref    benchrig.TrialRef
	Params map[string]string
}

// Watch starts sampling a running container's cgroup and takes its first
// sample at once, so that a container shorter than the interval has one.
// Watching a watched container again does nothing.
func (c *Collector) Watch(t ContainerTarget) error {
	if t.Ref.IsZero() {
		return fmt.Errorf("watch container %s: no trial reference", t.ID)
	}
	var err error
	c.measureCall(func() {
		key := "container " + t.ID
		c.mu.Lock()
		_, dup := c.targets[key]
		c.mu.Unlock()
		if dup {
			return
		}
		var ps cgroup.Paths
		if ps, err = cgroup.ReadPaths(c.cfg.ProcRoot, t.PID); err != nil {
			err = fmt.Errorf("watch container %s: %w", t.ID, err)
			return
		}
		r := t.Ref
		tg := &target{
			key: key, run: t.Ref.Run, ref: &r, params: maps.Clone(t.Params),
			contID: t.ID, contName: t.Name,
		}
		tg.setCgroup(c.root.Dirs(ps))
		s := c.trialSample(tg, time.Now())
		c.read(context.Background(), tg.sampler, &s)
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, dup := c.targets[key]; dup {
			tg.close()
			return
		}
		c.targets[key] = tg
		c.nTargets++
		tg.seq = 1
		s.Seq = 1
		c.addLocked(s)
	})
	return err
}

// Unwatch stops sampling container id. It takes no final sample: Docker
// removes a container's cgroup before its die event arrives, so the
// container's totals come from the in-container timing shim, and its last
// periodic sample is the collector's last word.
func (c *Collector) Unwatch(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := "container " + id
	if t, ok := c.targets[key]; ok {
		t.exited = true
		delete(c.targets, key)
		t.close()
	}
}

// sampleBytes approximates the memory one buffered sample holds: the
// sample, its cgroup figures and their boxed values.
const sampleBytes = int64(unsafe.Sizeof(benchrig.Sample{}) + unsafe.Sizeof(benchrig.CgroupSample{}) + 20*8)

// Cost is what the collector cost so far, or in total once Run returned.
// In-process its CPU is what its sampling (each tick's work), flushing
// and the calls made to it used on their threads (nanosecond-precise
// thread clocks read around each piece of work; the Go runtime's timers
// and scheduling between them are the process's, as in any program that
// wakes ten times a second, and are counted in the process mode), and its memory
// the most samples it buffered at once times their size; as a process, the
// process's CPU and peak resident set (getrusage).
func (c *Collector) Cost() benchrig.CollectorCost {
	c.mu.Lock()
	cost := benchrig.CollectorCost{
		Node: c.cfg.Node, Mode: c.cfg.Mode, Interval: c.cfg.Interval,
		Samples: c.samples, Targets: c.nTargets, Dropped: c.dropped,
		MemoryBytes: int64(c.peakBuf) * sampleBytes,
	}
	switch {
	case c.start.IsZero():
	case c.ended.IsZero():
		cost.Wall = time.Since(c.start)
	default:
		cost.Wall = c.ended.Sub(c.start)
	}
	c.mu.Unlock()
	if c.cfg.Mode == ModeInProcess {
		cost.CPU = time.Duration(c.samplerCPU.Load() + c.flusherCPU.Load() + c.callCPU.Load())
	} else {
		cost.CPU, cost.MemoryBytes = processCost()
	}
	return cost
}
