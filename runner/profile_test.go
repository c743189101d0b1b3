package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/profiling"
)

// fakeProfiler is an executor that can profile: each profiled job's
// profile is one stack naming its argv.
type fakeProfiler struct {
	fakeExec
	check    error
	mu       sync.Mutex
	profiled []benchrig.TrialRef
}

var _ Profiler = (*fakeProfiler)(nil)

func (f *fakeProfiler) CheckProfiling(context.Context, profiling.Sampling) (time.Duration, time.Duration, error) {
	return 250 * time.Millisecond, 200 * time.Millisecond, f.check
}

func (f *fakeProfiler) RunProfiled(ctx context.Context, job Job, s profiling.Sampling) (benchrig.Measurement, *benchrig.TrialProfile, error, error) {
	event, freq := s.Event, s.Freq
	m, err := f.run(ctx, job)
	f.mu.Lock()
	f.profiled = append(f.profiled, job.Ref)
	f.mu.Unlock()
	return m, &benchrig.TrialProfile{Event: event, Freq: freq, Duration: m.Wall, Stacks: map[string]int64{strings.Join(job.Argv, ";"): 7}}, nil, err
}

// memProfiles is a benchrig.ProfileStore in memory.
type memProfiles struct {
	mu sync.Mutex
	ps []benchrig.TrialProfile
}

func (m *memProfiles) AddProfile(_ context.Context, p *benchrig.TrialProfile) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ps = append(m.ps, *p)
	return nil
}

func (m *memProfiles) Profiles(context.Context, string) ([]benchrig.TrialProfile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]benchrig.TrialProfile(nil), m.ps...), nil
}

func TestProfileExtraTrials(t *testing.T) {
	var calls []string
	exec := &fakeProfiler{fakeExec: *constant(time.Millisecond, &calls)}
	rec, profs := &memRecorder{}, &memProfiles{}
	cfg := testConfig(exec, rec)
	cfg.Profiles = profs
	s := testSpec()
	s.Profile = benchrig.Profiling{Enabled: true, Freq: 199, Trials: 2}
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if run.Profiling == nil || run.Profiling.Event != "cpu-clock" || run.Profiling.Freq != 199 || run.Profiling.Trials != 2 || run.Profiling.Startup != 250*time.Millisecond || run.Profiling.StartupCPU != 200*time.Millisecond {
		t.Errorf("run.Profiling = %+v", run.Profiling)
	}
	// 2 cases x (1 warmup + 3 measured + 2 profiled), the profiled last.
	if len(run.Trials) != 12 || len(rec.trials) != 12 {
		t.Fatalf("%d trials (%d recorded), want 12", len(run.Trials), len(rec.trials))
	}
	for i, tr := range run.Trials {
		extra := i >= 8
		if tr.ProfileOnly != extra || tr.Profiled != extra {
			t.Errorf("trial %d (%s rep %d): profile_only %v, profiled %v; want %v", i, tr.CaseID, tr.Index, tr.ProfileOnly, tr.Profiled, extra)
		}
		if extra && (tr.Index != 4 && tr.Index != 5) {
			t.Errorf("profiled trial %d has rep %d, want 4 or 5 (after 1 warmup and 3 measured)", i, tr.Index)
		}
	}
	if len(exec.profiled) != 4 || len(profs.ps) != 4 {
		t.Fatalf("%d jobs profiled, %d profiles kept; want 4", len(exec.profiled), len(profs.ps))
	}
	for _, p := range profs.ps {
		if p.Run != run.ID || p.Rep < 4 || p.Event != "cpu-clock" || p.Freq != 199 || len(p.Stacks) != 1 {
			t.Errorf("profile %+v", p)
		}
	}
	if run.Status != benchrig.RunFinished {
		t.Errorf("status %s", run.Status)
	}
	// Progress counts the profiled trials from the start.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, e := range rec.events {
		if e.Total != 12 {
			t.Errorf("event %d (%s): %d/%d, want a total of 12", e.Seq, e.Kind, e.Done, e.Total)
			break
		}
	}
	profiledEvents := 0
	for _, e := range rec.events {
		if e.Profiled {
			profiledEvents++
			if e.Number != e.Trial.Rep-3 {
				t.Errorf("event %s: number %d, want %d", e, e.Number, e.Trial.Rep-3)
			}
		}
	}
	if profiledEvents != 8 {
		t.Errorf("%d events of profiled trials, want 8 (started and finished)", profiledEvents)
	}
}

func TestProfileMeasuredTrials(t *testing.T) {
	var calls []string
	exec := &fakeProfiler{fakeExec: *constant(time.Millisecond, &calls)}
	rec, profs := &memRecorder{}, &memProfiles{}
	cfg := testConfig(exec, rec)
	cfg.Profiles = profs
	s := testSpec()
	s.Profile = benchrig.Profiling{Enabled: true, InMeasured: true}
	run, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Trials) != 8 || len(profs.ps) != 8 {
		t.Fatalf("%d trials, %d profiles; want 8 of each (warmups profiled too)", len(run.Trials), len(profs.ps))
	}
	for _, tr := range run.Trials {
		if tr.ProfileOnly || !tr.Profiled {
			t.Errorf("trial %s rep %d: profile_only %v, profiled %v", tr.CaseID, tr.Index, tr.ProfileOnly, tr.Profiled)
		}
	}
	if !strings.Contains(strings.Join(run.Warnings, "\n"), "measured trials were profiled") {
		t.Errorf("warnings = %q", run.Warnings)
	}
}

func TestProfileUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		exec Executor
		prof benchrig.ProfileStore
		want string
	}{
		{"executor cannot", constant(time.Millisecond, new([]string)), &memProfiles{}, "profiling asked for but this executor cannot profile"},
		{"perf missing", &fakeProfiler{fakeExec: *constant(time.Millisecond, new([]string)), check: errors.New("perf not found in PATH")}, &memProfiles{},
			"profiling asked for but perf is not available: perf not found in PATH: the run goes on unprofiled"},
		{"store cannot", &fakeProfiler{fakeExec: *constant(time.Millisecond, new([]string))}, nil, "profiling asked for but the run store cannot keep profiles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(tc.exec, &memRecorder{})
			cfg.Profiles = tc.prof
			s := testSpec()
			s.Profile = benchrig.Profiling{Enabled: true}
			run, err := Run(context.Background(), cfg, s)
			if err != nil {
				t.Fatal(err)
			}
			if run.Profiling != nil || len(run.Trials) != 8 {
				t.Errorf("profiling %+v, %d trials; want none and 8 trials", run.Profiling, len(run.Trials))
			}
			if !strings.Contains(strings.Join(run.Warnings, "\n"), tc.want) {
				t.Errorf("warnings = %q, want %q", run.Warnings, tc.want)
			}
		})
	}
}

// TestProfileResume: a resumed run does not run again the profiled trials
// it has, and does not count them as measured.
func TestProfileResume(t *testing.T) {
	var calls []string
	exec := &fakeProfiler{fakeExec: *constant(time.Millisecond, &calls)}
	rec, profs := &memRecorder{}, &memProfiles{}
	cfg := testConfig(exec, rec)
	cfg.Profiles = profs
	s := testSpec()
	s.Profile = benchrig.Profiling{Enabled: true}
	first, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	// Drop case b's profiled trial, as if the run died before it.
	res := *first
	res.Status = benchrig.RunInterrupted
	res.Trials = nil
	for _, tr := range first.Trials {
		if !(tr.CaseID == "impl=b" && tr.ProfileOnly) {
			res.Trials = append(res.Trials, tr)
		}
	}
	exec.profiled = nil
	cfg.Resume = &res
	again, err := Run(context.Background(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Trials) != 10 {
		t.Errorf("%d trials after resume, want 10", len(again.Trials))
	}
	if len(exec.profiled) != 1 || exec.profiled[0].Case != "impl=b" {
		t.Errorf("resume profiled %v, want impl=b's trial only", exec.profiled)
	}
	if fmt.Sprint(again.Status) != "finished" {
		t.Errorf("status %s", again.Status)
	}
}
