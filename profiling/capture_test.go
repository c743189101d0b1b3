package profiling

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig/internal/testenv"
)

// TestPerfCapture records a real pipeline with the real perf: every
// process of the tree is sampled, and a bad event is refused by Check.
func TestPerfCapture(t *testing.T) {
	ctx := context.Background()
	var p Perf
	path, err := p.Program()
	if err != nil {
		testenv.Skip(t, err)
		return
	}
	cost, err := p.Check(ctx, Sampling{Event: "cpu-clock", Freq: 99})
	if err != nil {
		testenv.Skipf(t, "perf cannot record here: %v", err)
		return
	}
	if cost.Wall <= 0 || cost.CPU <= 0 || cost.CPU > 2*cost.Wall {
		t.Errorf("Check cost %+v, want perf's start-up wall and CPU time", cost)
	}
	if _, err := p.Check(ctx, Sampling{Event: "no-such-event", Freq: 99}); err == nil || !strings.Contains(err.Error(), "no-such-event") {
		t.Errorf("Check of an unknown event: %v, want an error naming it", err)
	}
	file := filepath.Join(t.TempDir(), "perf.data")
	argv := RecordArgs(path, Sampling{Event: "cpu-clock", Freq: 999}, file, []string{"/bin/sh", "-c", "seq 1 200000 | sort -n | md5sum"})
	start := time.Now()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	if len(out) != len("d41d8cd98f00b204e9800998ecf8427e  -\n") {
		t.Errorf("perf record -q printed more than the command's output: %q", out)
	}
	rec, err := p.Read(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	stacks := rec.Stacks
	if rec.Lost != 0 {
		t.Errorf("%d samples lost at 999 Hz", rec.Lost)
	}
	// The command's span is within perf's run, and leaves out at least
	// part of perf's own start-up and tear-down (Check measured those
	// around `true`).
	if rec.Span <= 0 || rec.Span >= wall {
		t.Errorf("span %v, want the command's own time, within perf's %v", rec.Span, wall)
	}
	if stacks.Total() == 0 {
		t.Fatal("no samples")
	}
	procs := map[string]bool{}
	for _, s := range Breakdown(stacks) {
		procs[s.Process] = true
	}
	if !procs["sort"] {
		t.Errorf("processes sampled = %v, want sort among them", procs)
	}
	if _, err := p.Read(ctx, filepath.Join(t.TempDir(), "missing.data")); err == nil {
		t.Error("Read of a missing recording: no error")
	}
}

// TestPerfExitStatus checks that perf record passes the command's exit
// status on: a failing trial must stay a failing trial when profiled.
func TestPerfExitStatus(t *testing.T) {
	var p Perf
	path, err := p.Program()
	if err != nil {
		testenv.Skip(t, err)
		return
	}
	argv := RecordArgs(path, Sampling{Event: "cpu-clock", Freq: 99}, filepath.Join(t.TempDir(), "perf.data"), []string{"/bin/sh", "-c", "exit 3"})
	err = exec.Command(argv[0], argv[1:]...).Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("perf record -- sh -c 'exit 3': %v, want exit status 3", err)
	}
}

// TestSideband reads perf script's side-band lines as perf 6.1 prints
// them with --show-lost-events --show-task-events, whatever the writes'
// boundaries: lost samples add up, and the span runs from the command's
// exec to its own exit (not a child's, not another thread's).
func TestSideband(t *testing.T) {
	out := "perf-exec     0     0.000000: PERF_RECORD_COMM: perf-exec:2064/2064\n" +
		"sh  2064    85.781552: PERF_RECORD_COMM exec: sh:2064/2064\n" +
		":21520 21520  3060.359361: PERF_RECORD_LOST lost 14\n" +
		"sh  2064    85.782303: PERF_RECORD_FORK(2065:2065):(2064:2064)\n" +
		"my: prog  2065    85.782484: PERF_RECORD_COMM exec: my: prog:2065/2065\n" +
		"seq 21520  3060.376363: PERF_RECORD_LOST lost 71\n" +
		"sort 21521  3060.546769: PERF_RECORD_LOST lost 67\n" +
		"sort 21521  3060.546770:     1001001 cpu-clock: \n\t  4a1b2 main+0x12 (/usr/bin/sort)\n\n" +
		"sleep  2065    85.883555: PERF_RECORD_EXIT(2065:2065):(2064:2064)\n" +
		"sh  2064    85.900000: PERF_RECORD_EXIT(2064:2070):(2063:2063)\n" +
		strings.Repeat("x", 5000) + " PERF_RECORD_LOST lost 1000\n" +
		"sh  2064    86.558018: PERF_RECORD_EXIT(2064:2064):(2063:2063)\n" +
		"sh  2064    87.000000: PERF_RECORD_EXIT(2064:2064):(2063:2063)\n" +
		"sh 1 1.0: PERF_RECORD_LOST lost 3"
	for _, size := range []int{1, 7, 64, len(out)} {
		var c sideband
		for i := 0; i < len(out); i += size {
			c.Write([]byte(out[i:min(i+size, len(out))]))
		}
		c.Write([]byte("\n"))
		if c.lost != 14+71+67+3 {
			t.Errorf("writes of %d bytes: lost %d, want %d", size, c.lost, 14+71+67+3)
		}
		if want := 776466 * time.Microsecond; c.span() != want {
			t.Errorf("writes of %d bytes: span %v, want %v", size, c.span(), want)
		}
	}
	var none sideband
	none.Write([]byte("sh  2064    85.781552: PERF_RECORD_COMM exec: sh:2064/2064\n"))
	if none.span() != 0 {
		t.Errorf("span without an exit = %v, want 0", none.span())
	}
}

// TestMappedFiles lists the files of perf 6.1's mmap lines once each,
// without anonymous or special mappings, deleted files, or paths that
// are not absolute and clean (they would lead out of the symbol tree).
func TestMappedFiles(t *testing.T) {
	out := "         swapper PERF_RECORD_MMAP -1/0: [0xffffffff81000000(0x125b140) @ 0xffffffff81000000]: x [kernel.kallsyms]_text\n" +
		"              sh PERF_RECORD_MMAP2 13958/13958: [0x401000(0x184000) @ 0x1000 00:29 5325822 0]: r-xp /bin/busybox\n" +
		"              sh PERF_RECORD_MMAP2 13958/13958: [0x7feeba1b7000(0x2000) @ 0 00:00 0 0]: r-xp [vdso]\n" +
		"              sh\n" +
		"            spin PERF_RECORD_MMAP2 13981/13981: [0x400000(0xa0000) @ 0 fe:00 9978082 2883626321]: r-xp /opt/bench only/spin\n" +
		"              sh PERF_RECORD_MMAP2 13958/13958: [0x401000(0x184000) @ 0x1000 00:29 5325822 0]: r-xp /bin/busybox\n" +
		"              sh PERF_RECORD_MMAP2 13958/13958: [0x7f00(0x1000) @ 0 00:00 0 0]: r-xp //anon\n" +
		"              sh PERF_RECORD_MMAP2 13958/13958: [0x7f00(0x1000) @ 0 00:00 0 0]: r-xp /tmp/x (deleted)\n" +
		"              sh PERF_RECORD_MMAP2 13958/13958: [0x7f00(0x1000) @ 0 00:00 0 0]: r-xp /../../etc/shadow\n" +
		"              sh PERF_RECORD_MMAP2 13958/13958: [0x7f00(0x1000) @ 0 00:00 0 0]: r-xp lib/rel.so\n"
	got := MappedFiles([]byte(out))
	want := []string{"/bin/busybox", "/opt/bench only/spin"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("MappedFiles = %q, want %q", got, want)
	}
}

// TestPerfDwarfCallGraph: with call_graph dwarf, the stacks of a
// distribution binary built without frame pointers (Debian's sort) unwind
// to libc's start of main, which frame pointers do not reach (0 of 106
// samples here, against 22 of 77).
func TestPerfDwarfCallGraph(t *testing.T) {
	ctx := context.Background()
	var p Perf
	path, err := p.Program()
	if err != nil {
		testenv.Skip(t, err)
		return
	}
	count := func(callGraph string) (sort, deep int64) {
		s := Sampling{Event: "cpu-clock", Freq: 999, CallGraph: callGraph}
		if _, err := p.Check(ctx, s); err != nil {
			t.Fatalf("perf cannot record with call graph %q: %v", callGraph, err)
		}
		file := filepath.Join(t.TempDir(), "perf.data")
		argv := RecordArgs(path, s, file, []string{"/bin/sh", "-c", "seq 1 400000 | sort -rn | md5sum"})
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
		rec, err := p.Read(ctx, file)
		if err != nil {
			t.Fatal(err)
		}
		for stack, n := range rec.Stacks {
			if strings.HasPrefix(stack, "sort;") {
				sort += n
				if strings.Contains(stack, ";__libc_start_call_main;") {
					deep += n
				}
			}
		}
		return sort, deep
	}
	fpSort, fpDeep := count("fp")
	dwSort, dwDeep := count("dwarf")
	t.Logf("samples of sort reaching __libc_start_call_main: frame pointers %d of %d, dwarf %d of %d", fpDeep, fpSort, dwDeep, dwSort)
	// A sample's unwinding stops at perf's 8 KiB copy of the stack, so
	// not every one gets there; frame pointers (none here) get fewer.
	if dwSort == 0 || dwDeep*10 < dwSort || dwDeep*fpSort <= fpDeep*dwSort {
		t.Errorf("dwarf: %d of %d samples of sort unwound to __libc_start_call_main (frame pointers: %d of %d), want at least a tenth, and a larger share than frame pointers", dwDeep, dwSort, fpDeep, fpSort)
	}
}
