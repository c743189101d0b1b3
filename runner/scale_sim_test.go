package runner

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

// simExec is a simulated node's executor: a trial takes a few
// milliseconds (lognormal, median 2 ms, as an engine's round trip and a
// short command), and one in 200 fails with exit status 1. With
// transientEvery N, one call in N fails before the trial starts, as a
// transport error does (EUnavailable, retryable): the runner must run the
// trial again. It keeps no job: only when each case first ran on it after
// the leave (see simLeave).
type simExec struct {
	name  string
	rng   *rand.Rand
	mu    sync.Mutex
	leave *simLeave
	ran   *atomic.Int64
	// transientEvery and transient: see above; transient counts them.
	transientEvery int
	transient      *atomic.Int64
	// inflight counts this node's trials running now; most is the
	// largest count any node reached.
	inflight atomic.Int32
	most     *atomic.Int32
}

func (e *simExec) Run(ctx context.Context, job Job) (benchrig.Measurement, error) {
	e.mu.Lock()
	d := time.Duration(float64(2*time.Millisecond) * math.Exp(0.5*e.rng.NormFloat64()))
	fail := e.rng.IntN(200) == 0
	transient := e.transientEvery > 0 && e.rng.IntN(e.transientEvery) == 0
	e.mu.Unlock()
	if transient {
		e.transient.Add(1)
		return benchrig.Measurement{}, &benchrig.Error{Code: benchrig.EUnavailable, Retryable: true, Msg: "node " + e.name + ": connection reset by peer"}
	}
	e.leave.started(job.Ref.Case, e.name)
	e.ran.Add(1)
	if n := e.inflight.Add(1); e.most != nil && n > e.most.Load() {
		e.most.Store(n) // racy max: a lower bound, enough to see oversubscription
	}
	defer e.inflight.Add(-1)
	start := time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return benchrig.Measurement{Start: start, ExitCode: -1, Error: "cancelled"}, nil
	}
	m := benchrig.Measurement{Start: start, Wall: d, User: d / 2, Source: "sim"}
	if fail {
		m.ExitCode = 1
	}
	return m, nil
}

func (e *simExec) Facts(context.Context) (benchrig.NodeFacts, error) {
	return benchrig.NodeFacts{Name: e.name}, nil
}

// simLeave is the leave of 10% of the nodes mid-run: when it happened,
// and when each case first started on a node after it.
type simLeave struct {
	mu    sync.Mutex
	at    time.Time
	gone  map[string]bool      // the nodes that left
	first map[string]time.Time // case -> its first start on a node that stayed, after the leave
	where map[string]string    // case -> that node
}

func (l *simLeave) started(caseID, node string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.at.IsZero() || l.gone[node] {
		return
	}
	if _, ok := l.first[caseID]; !ok {
		l.first[caseID] = time.Now()
		if l.where != nil {
			l.where[caseID] = node
		}
	}
}

// simRecorder counts what a store would write, and keeps nothing else:
// the benchmark measures the controller, not an in-memory store.
type simRecorder struct {
	mu      sync.Mutex
	trials  map[string]int // measured trials per case
	failed  int
	statusF benchrig.RunStatus
}

func (m *simRecorder) CreateRun(context.Context, *benchrig.Run) error { return nil }
func (m *simRecorder) AddTrial(_ context.Context, t *benchrig.Trial) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !t.Warmup {
		m.trials[t.CaseID]++
	}
	if t.Failed() {
		m.failed++
	}
	return nil
}
func (m *simRecorder) AddEvents(context.Context, []benchrig.Event) error            { return nil }
func (m *simRecorder) SetNote(context.Context, string, string, string) error        { return nil }
func (m *simRecorder) SetStop(context.Context, string, string, benchrig.Stop) error { return nil }
func (m *simRecorder) RecordNodeEvents(context.Context, string, []benchrig.NodeFacts, []benchrig.NodeEvent) error {
	return nil
}
func (m *simRecorder) Heartbeat(context.Context, string, time.Time) error { return nil }
func (m *simRecorder) ReopenRun(context.Context, string, time.Time) (int64, error) {
	return 0, nil
}
func (m *simRecorder) FinishRun(_ context.Context, _ string, s benchrig.RunStatus, _ time.Time, _ map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.statusF = s
	return nil
}

// simResult is what one simulated run measured.
type simResult struct {
	cases, short, moved, failed int
	joined, toJoined            int   // nodes that joined with the leave; moved cases that went to them
	trials, transient           int64 // trials run; calls failed by a simulated transport error
	wall, cpu, resched          time.Duration
	peakHeap                    uint64 // bytes, sampled
	maxRSS                      int64  // KiB, the process's
	status                      benchrig.RunStatus
}

// simulate plans and runs 2 cases on each of nodesN simulated nodes (70%
// amd64, 30% arm64, four sites), repeat trials a case, one engine call in
// transientEvery failing as a transport error does. When half the
// trials have started, every tenth node leaves its pool, and 5% as many
// new nodes join it; the cases of those that left move to nodes of their
// class.
func simulate(tb testing.TB, nodesN, repeat, transientEvery int) simResult {
	var ran, transient atomic.Int64
	leave := &simLeave{gone: map[string]bool{}, first: map[string]time.Time{}, where: map[string]string{}}
	newNode := func(name string, i int) *Node {
		arch := "amd64"
		if i%10 >= 7 {
			arch = "arm64"
		}
		site := map[string]string{"site": fmt.Sprintf("s%d", i%4)}
		e := &simExec{name: name, rng: rand.New(rand.NewPCG(uint64(i), 1)), leave: leave, ran: &ran, transientEvery: transientEvery, transient: &transient}
		return &Node{Name: name, Pool: "sim", MaxTrials: 1, Executor: e, Labels: site, ClassLabels: site,
			Facts: benchrig.NodeFacts{Name: name, Arch: arch, EngineArch: arch}}
	}
	var nodes []*Node
	for i := range nodesN {
		nodes = append(nodes, newNode(fmt.Sprintf("n%04d", i), i))
	}
	var joined []*Node
	for i := range nodesN / 20 {
		joined = append(joined, newNode(fmt.Sprintf("j%04d", i), i))
	}
	d := &fakeNodes{}
	d.set(nodes...)
	s := containerSpec()
	s.Images = map[string]string{"arm64": "x:arm64", "amd64": "x:amd64"}
	s.Repeat = benchrig.Repeat{Min: repeat, Max: repeat}
	s.Warmup = 0
	rec := &simRecorder{trials: map[string]int{}}
	cfg := nodeConfig(d, rec)
	cfg.Refresh = 100 * time.Millisecond

	// Peak heap, sampled.
	var peak atomic.Uint64
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(2)
	go func() {
		defer bg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	// The leave, at half the trials: polled, as a pool's file changes
	// whenever it does.
	go func() {
		defer bg.Done()
		for ran.Load() < int64(nodesN*repeat) {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
		var stay []*Node
		leave.mu.Lock()
		for i, n := range nodes {
			if i%10 == 3 {
				leave.gone[n.Name] = true
				continue
			}
			stay = append(stay, n)
		}
		leave.at = time.Now()
		leave.mu.Unlock()
		d.set(append(stay, joined...)...)
	}()

	runtime.GC()
	var u0, u1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &u0)
	t0 := time.Now()
	run, err := Run(context.Background(), cfg, s)
	wall := time.Since(t0)
	syscall.Getrusage(syscall.RUSAGE_SELF, &u1)
	close(stop)
	bg.Wait()
	if err != nil {
		tb.Fatal(err)
	}
	r := simResult{joined: len(joined), cases: len(run.Cases), trials: ran.Load(), transient: transient.Load(), wall: wall, peakHeap: peak.Load(), maxRSS: u1.Maxrss, status: rec.statusF, failed: rec.failed,
		cpu: time.Duration((u1.Utime.Nano() + u1.Stime.Nano()) - (u0.Utime.Nano() + u0.Stime.Nano()))}
	for _, c := range run.Cases {
		if rec.trials[c.ID] != repeat {
			r.short++
		}
	}
	// Rescheduling: the cases of the nodes that left, from the leave to
	// their first start elsewhere.
	leave.mu.Lock()
	defer leave.mu.Unlock()
	if leave.at.IsZero() {
		tb.Fatal("the run ended before half its trials started")
	}
	for _, c := range run.Cases {
		if leave.gone[run.Placements[c.ID].Node] {
			r.moved++
			f, ok := leave.first[c.ID]
			if !ok {
				f = time.Now() // never restarted: its trials were all done
			}
			r.resched = max(r.resched, f.Sub(leave.at))
			if strings.HasPrefix(leave.where[c.ID], "j") {
				r.toJoined++
			}
		}
	}
	return r
}

// TestSchedulerSimulation runs the simulation small: when 10% of the
// nodes leave mid-run, their cases move and nothing is lost.
func TestSchedulerSimulation(t *testing.T) {
	r := simulate(t, 100, 10, 100)
	if r.cases != 200 || r.short != 0 || r.moved != 20 {
		t.Errorf("%d cases, %d without their 10 trials, %d moved; want 200, 0, 20 (the cases of the 10 nodes that left)", r.cases, r.short, r.moved)
	}
	if r.transient == 0 {
		t.Error("no simulated transport error: the retry path went untested")
	}
	t.Logf("%d of the %d moved cases went to the %d nodes that joined; %d transport errors", r.toJoined, r.moved, r.joined, r.transient)
}

// BenchmarkScheduler1000Nodes plans and runs 100,000 trials over 1,000
// simulated nodes: 2 cases on each, 50 trials a case. Halfway, 100
// nodes leave. It reports the controller's CPU per trial (the whole
// process: the simulated nodes only sleep; goal at most 0.2 ms), its
// peak heap (goal at most 200 MB), and the time the moved cases took to
// start again elsewhere, and fails if any case lacks a trial.
//
//	go test ./runner -run XXX -bench 1000Nodes -benchtime 1x
func BenchmarkScheduler1000Nodes(b *testing.B) {
	for range b.N {
		r := simulate(b, 1000, 50, 2000)
		if r.cases != 2000 || r.short != 0 {
			b.Errorf("%d cases, %d of them without their 50 trials", r.cases, r.short)
		}
		b.ReportMetric(r.cpu.Seconds()*1e3/float64(r.trials), "ms-cpu/trial")
		b.ReportMetric(float64(r.peakHeap)/(1<<20), "MB-peak-heap")
		b.ReportMetric(r.resched.Seconds(), "s-reschedule")
		b.Logf("%d cases, %d trials run (%d failed: 1 in 200 by design; %d engine calls failed as transport errors, 1 in 2,000, and ran again), %d cases short; wall %v, controller CPU %v (%.3f ms a trial), peak heap %.0f MB, maxrss %d MB; %d cases moved off the 100 nodes that left, all restarted within %v, %d of them on the %d nodes that joined; status %s",
			r.cases, r.trials, r.failed, r.transient, r.short, r.wall.Round(time.Millisecond), r.cpu.Round(time.Millisecond), r.cpu.Seconds()*1e3/float64(r.trials),
			float64(r.peakHeap)/(1<<20), r.maxRSS/1024, r.moved, r.resched.Round(time.Millisecond), r.toJoined, r.joined, r.status)
	}
}

// BenchmarkScheduler1000NodesTwoRuns runs two specs at once over the same
// 1,000 simulated nodes (one slot each), 25 trials a case each, as two
// runs of one pool would with the server's --pool-limit 2: it reports
// how far the second run had got when the first ended (fairness: 1 is
// an even share) and the most trials any node ran at once (the runs do
// not share the nodes' slots).
//
//	go test ./runner -run XXX -bench 1000NodesTwoRuns -benchtime 1x
func BenchmarkScheduler1000NodesTwoRuns(b *testing.B) { twoRuns(b, true) }

// BenchmarkScheduler1000NodesTwoPools runs two specs at once in one
// controller, each on a pool of its own (500 of the 1,000 simulated nodes
// each, 50 trials a case): fairness across pools, which share the
// controller and nothing else. It reports how far the second had got when
// the first ended.
//
//	go test ./runner -run XXX -bench 1000NodesTwoPools -benchtime 1x
func BenchmarkScheduler1000NodesTwoPools(b *testing.B) { twoRuns(b, false) }

// twoRuns is the two benchmarks above: with shared, both runs use all
// 1,000 nodes (25 trials a case); without, each its own half (50 trials a
// case), so that each run has 50,000 trials either way.
func twoRuns(b *testing.B, shared bool) {
	const nodesN = 1000
	repeat := 25
	if !shared {
		repeat = 50
	}
	for range b.N {
		var ran [2]atomic.Int64
		var most atomic.Int32
		leave := &simLeave{gone: map[string]bool{}, first: map[string]time.Time{}} // no leave here
		execs := map[string]*simExec{}
		nodesFor := func(k int) []*Node {
			var nodes []*Node
			for i := range nodesN {
				if !shared && i%2 != k {
					continue // pool k: every other node
				}
				arch := "amd64"
				if i%10 >= 7 {
					arch = "arm64"
				}
				name := fmt.Sprintf("n%04d", i)
				e := execs[name]
				if e == nil {
					e = &simExec{name: name, rng: rand.New(rand.NewPCG(uint64(i), 1)), leave: leave, ran: new(atomic.Int64), most: &most}
					execs[name] = e
				}
				// One executor per node, shared by both runs, counting
				// each run's trials apart.
				nodes = append(nodes, &Node{Name: name, Pool: fmt.Sprintf("sim%d", k), MaxTrials: 1, Executor: countingExec{e, &ran[k]},
					Facts: benchrig.NodeFacts{Name: name, Arch: arch, EngineArch: arch}})
			}
			return nodes
		}
		var wg sync.WaitGroup
		var done [2]time.Time
		var atFirstEnd [2]int64
		var endOnce sync.Once
		t0 := time.Now()
		for k := range 2 {
			d := &fakeNodes{}
			d.set(nodesFor(k)...)
			s := containerSpec()
			s.Name = fmt.Sprintf("spec%d", k)
			s.Images = map[string]string{"arm64": "x:arm64", "amd64": "x:amd64"}
			s.Repeat = benchrig.Repeat{Min: repeat, Max: repeat}
			s.Warmup = 0
			cfg := nodeConfig(d, &simRecorder{trials: map[string]int{}})
			cfg.Refresh = time.Second
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := Run(context.Background(), cfg, s); err != nil {
					b.Error(err)
				}
				done[k] = time.Now()
				endOnce.Do(func() { atFirstEnd = [2]int64{ran[0].Load(), ran[1].Load()} })
			}()
		}
		wg.Wait()
		total := float64(nodesN * 2 * repeat / 2) // each run's
		if shared {
			total = float64(nodesN * 2 * repeat)
		}
		fair := min(float64(atFirstEnd[0]), float64(atFirstEnd[1])) / total
		b.ReportMetric(fair, "share-of-2nd-at-1st-end")
		b.ReportMetric(float64(most.Load()), "max-trials-per-node")
		b.Logf("two runs of %d trials each: ended after %v and %v; when the first ended the runs had run %d and %d trials (the slower at %.0f%%); at most %d trials at once on a node of 1 slot",
			int(total), done[0].Sub(t0).Round(time.Millisecond), done[1].Sub(t0).Round(time.Millisecond), atFirstEnd[0], atFirstEnd[1], fair*100, most.Load())
	}
}

// countingExec counts one run's trials on a shared simulated node.
type countingExec struct {
	*simExec
	n *atomic.Int64
}

func (c countingExec) Run(ctx context.Context, job Job) (benchrig.Measurement, error) {
	c.n.Add(1)
	return c.simExec.Run(ctx, job)
}
