package expect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/benchrig/benchrig"
)

// digest builds the digest an executor would report for out, keeping at
// most head bytes of it (benchrig.HeadMax when head is 0).
func digest(out string, head int) *benchrig.OutputDigest {
	if head == 0 {
		head = benchrig.HeadMax
	}
	sum := sha256.Sum256([]byte(out))
	d := &benchrig.OutputDigest{Bytes: int64(len(out)), SHA256: hex.EncodeToString(sum[:]), Head: []byte(out[:min(head, len(out))])}
	lines := strings.SplitAfter(out, "\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		d.Lines++
		if strings.Trim(l, " \t\r\n") == "" {
			d.BlankLines++
		}
	}
	return d
}

func ok(out string) benchrig.Measurement {
	return benchrig.Measurement{ExitCode: 0, Stdout: digest(out, 0)}
}

func TestResolve(t *testing.T) {
	grepCase := benchrig.Case{ID: "impl=gnu,pattern=C", Params: []benchrig.KV{{Name: "impl", Value: "gnu"}, {Name: "pattern", Value: "C"}}}
	catCase := benchrig.Case{ID: "impl=cat,pattern=C", Params: []benchrig.KV{{Name: "impl", Value: "cat"}, {Name: "pattern", Value: "C"}}}
	vars := func(c benchrig.Case, instance string) map[string]string {
		m := c.Map()
		m["instance"], m["spec_dir"], m["node"], m["arch"] = instance, "/specs", "local", "amd64"
		return m
	}
	full := &benchrig.Expect{
		Exit:   []int{0, 1},
		Stdout: benchrig.StdoutExpect{Match: `^{{.pattern}}:[0-9]+$`, Lines: `{{if eq .impl "cat"}}0{{else}}>=1{{end}}`, NonEmpty: true},
		Check:  &benchrig.Command{Shell: `test "$BENCHRIG_STDOUT_LINES" -le {{.instance}}`},
		Agree:  &benchrig.Agree{By: []string{"pattern"}, Except: map[string]string{"impl": "cat"}},
	}
	tests := []struct {
		name    string
		e       *benchrig.Expect
		c       benchrig.Case
		inst    string
		want    Rules
		needs   bool
		wantErr string
	}{
		{name: "no expect is exit 0 only", c: grepCase, inst: "1",
			want: Rules{Case: grepCase.ID, Instance: 1, Codes: []int{0}}},
		{name: "templates expanded per case", e: full, c: grepCase, inst: "2", needs: true,
			want: Rules{Case: grepCase.ID, Instance: 2, Codes: []int{0, 1}, MatchSrc: "^C:[0-9]+$", Lines: &benchrig.LineRange{Min: 1, Max: -1}, NonEmpty: true,
				Check: &CheckJob{Name: `test "$BENCHRIG_STDOUT_LINES" -le 2`, Argv: []string{"/bin/sh", "-c", `test "$BENCHRIG_STDOUT_LINES" -le 2`}, Env: []string{"LC_ALL=C"}, Dir: "/w"},
				Group: "pattern=C"}},
		{name: "except leaves the ceiling out of agreement", e: full, c: catCase, inst: "1", needs: true,
			want: Rules{Case: catCase.ID, Instance: 1, Codes: []int{0, 1}, MatchSrc: "^C:[0-9]+$", Lines: &benchrig.LineRange{Min: 0, Max: 0}, NonEmpty: true,
				Check: &CheckJob{Name: `test "$BENCHRIG_STDOUT_LINES" -le 1`, Argv: []string{"/bin/sh", "-c", `test "$BENCHRIG_STDOUT_LINES" -le 1`}, Env: []string{"LC_ALL=C"}, Dir: "/w"}}},
		{name: "agree by nothing is one group", e: &benchrig.Expect{Agree: &benchrig.Agree{By: []string{}}}, c: grepCase, inst: "1", needs: true,
			want: Rules{Case: grepCase.ID, Instance: 1, Codes: []int{0}, Group: "every case"}},
		{name: "agree by the node", e: &benchrig.Expect{Agree: &benchrig.Agree{By: []string{"node", "pattern"}}}, c: grepCase, inst: "1", needs: true,
			want: Rules{Case: grepCase.ID, Instance: 1, Codes: []int{0}, Group: "node=local,pattern=C"}},
		{name: "argv check", e: &benchrig.Expect{Check: &benchrig.Command{Argv: []string{"{{.spec_dir}}/check.sh", "{{.pattern}}"}}}, c: grepCase, inst: "1", needs: true,
			want: Rules{Case: grepCase.ID, Instance: 1, Codes: []int{0}, Check: &CheckJob{Name: "/specs/check.sh C", Argv: []string{"/specs/check.sh", "C"}, Env: []string{"LC_ALL=C"}, Dir: "/w"}}},
		{name: "templates that expand to nothing check nothing", e: &benchrig.Expect{Stdout: benchrig.StdoutExpect{Match: `{{if ne .impl "gnu"}}x{{end}}`, Lines: `{{if ne .impl "gnu"}}1{{end}}`}}, c: grepCase, inst: "1",
			want: Rules{Case: grepCase.ID, Instance: 1, Codes: []int{0}}},
		{name: "a value makes a bad line count", e: &benchrig.Expect{Stdout: benchrig.StdoutExpect{Lines: "{{.impl}}"}}, c: grepCase, inst: "1",
			wantErr: `expect.stdout.lines: case impl=gnu,pattern=C: "gnu" is not a line count`},
		{name: "a value makes a bad regex", e: &benchrig.Expect{Stdout: benchrig.StdoutExpect{Match: "({{.impl}}"}}, c: grepCase, inst: "1",
			wantErr: "expect.stdout.match: case impl=gnu,pattern=C: bad regular expression: missing closing )"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.e, tt.c, vars(tt.c, tt.inst), []string{"LC_ALL=C"}, "/w")
			if tt.wantErr != "" {
				var be *benchrig.Error
				if !errors.As(err, &be) || be.Code != benchrig.EInvalid || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want an invalid error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.NeedsDigest() != tt.needs {
				t.Errorf("NeedsDigest %v, want %v", got.NeedsDigest(), tt.needs)
			}
			if (got.Match == nil) != (tt.want.MatchSrc == "") {
				t.Errorf("Match %v for source %q", got.Match, tt.want.MatchSrc)
			}
			got.Match = nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	mustRules := func(e *benchrig.Expect) *Rules {
		r, err := Resolve(e, benchrig.Case{ID: "c"}, map[string]string{"instance": "1"}, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	extractor := mustRules(&benchrig.Expect{Stdout: benchrig.StdoutExpect{Lines: "3", NonEmpty: true}})
	grepc := mustRules(&benchrig.Expect{Exit: []int{0, 1}, Stdout: benchrig.StdoutExpect{Match: `^[0-9]+$`}})
	plain := mustRules(nil)
	long := strings.Repeat("x", benchrig.HeadMax) + "\n42\n"
	tests := []struct {
		name   string
		r      *Rules
		m      benchrig.Measurement
		want   benchrig.Outcome
		reason string // a substring of the reason; "" wants none
	}{
		{name: "no expect, exit 0", r: plain, m: benchrig.Measurement{}, want: benchrig.OutcomeOK},
		{name: "no expect needs no digest", r: plain, m: benchrig.Measurement{ExitCode: 0}, want: benchrig.OutcomeOK},
		{name: "no expect, exit 1 failed", r: plain, m: benchrig.Measurement{ExitCode: 1}, want: benchrig.OutcomeFailed, reason: "exit status 1 (success is 0)"},
		{name: "timeout stays timeout", r: extractor, m: benchrig.Measurement{ExitCode: -1, Error: benchrig.ReasonTimeout}, want: benchrig.OutcomeTimeout, reason: "timeout"},
		{name: "cancelled stays cancelled", r: extractor, m: benchrig.Measurement{ExitCode: -1, Error: benchrig.ReasonCancelled}, want: benchrig.OutcomeCancelled, reason: "cancelled"},
		{name: "signal is failed", r: extractor, m: benchrig.Measurement{ExitCode: -1, Error: "signal: killed"}, want: benchrig.OutcomeFailed, reason: "signal: killed"},
		{name: "grep -c exit 1 allowed", r: grepc, m: benchrig.Measurement{ExitCode: 1, Stdout: digest("0\n", 0)}, want: benchrig.OutcomeOK},
		{name: "grep exit 2 not allowed", r: grepc, m: benchrig.Measurement{ExitCode: 2, Stdout: digest("", 0)}, want: benchrig.OutcomeFailed, reason: "exit status 2 (success is 0 or 1)"},
		{name: "digest missing", r: extractor, m: benchrig.Measurement{}, want: benchrig.OutcomeExecutor, reason: "no stdout digest"},
		{name: "one non-empty line per molecule", r: extractor, m: ok("1 C\n2 N\n3 O\n"), want: benchrig.OutcomeOK},
		{name: "extractor trap: blank lines at full speed", r: extractor, m: ok(" \n \n \n"), want: benchrig.OutcomeWrongOutput,
			reason: `stdout has 3 blank line(s) of 3 (expect.stdout.nonempty), the first is line 1: " "`},
		{name: "a blank line in the middle", r: extractor, m: ok("1 C\n\n3 O\n"), want: benchrig.OutcomeWrongOutput, reason: `the first is line 2: ""`},
		{name: "nothing printed", r: extractor, m: ok(""), want: benchrig.OutcomeWrongOutput, reason: "stdout has 0 lines, expected 3 (expect.stdout.lines)"},
		{name: "too many lines", r: extractor, m: ok("1\n2\n3\n4"), want: benchrig.OutcomeWrongOutput, reason: "stdout has 4 lines, expected 3"},
		{name: "match on a later line", r: grepc, m: ok("header\n42\n"), want: benchrig.OutcomeOK},
		{name: "no match", r: grepc, m: ok("grep: x: No such file\n"), want: benchrig.OutcomeWrongOutput, reason: `stdout does not match "^[0-9]+$" (expect.stdout.match)`},
		{name: "no match in the kept head says so", r: grepc, m: ok(long), want: benchrig.OutcomeWrongOutput,
			reason: "in its first 65.5 kB kept, of 65.5 kB: the rest was not kept"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, reason := Check(tt.r, tt.m)
			if o != tt.want || (tt.reason == "") != (reason == "") || !strings.Contains(reason, tt.reason) {
				t.Errorf("got %s %q, want %s with %q", o, reason, tt.want, tt.reason)
			}
		})
	}
}

// FakeChecks is a CheckRunner of function fields.
type FakeChecks struct {
	RunCheckFn func(ctx context.Context, job CheckJob) (CheckResult, error)
}

var _ CheckRunner = (*FakeChecks)(nil)

func (f *FakeChecks) RunCheck(ctx context.Context, job CheckJob) (CheckResult, error) {
	return f.RunCheckFn(ctx, job)
}

func TestRunCheckHandsOverOutputAndDigest(t *testing.T) {
	r, err := Resolve(&benchrig.Expect{Check: &benchrig.Command{Argv: []string{"verify", "{{.n}}"}}}, benchrig.Case{ID: "n=3"},
		map[string]string{"n": "3", "instance": "1"}, []string{"PATH=/bin"}, "/data")
	if err != nil {
		t.Fatal(err)
	}
	var got CheckJob
	fake := &FakeChecks{RunCheckFn: func(ctx context.Context, job CheckJob) (CheckResult, error) {
		got = job
		return CheckResult{ExitCode: 0}, nil
	}}
	m := ok("a\n\nb\n")
	if o, reason := RunCheck(context.Background(), fake, r, m); o != benchrig.OutcomeOK || reason != "" {
		t.Fatalf("got %s %q", o, reason)
	}
	wantEnv := []string{"PATH=/bin", "BENCHRIG_STDOUT_BYTES=5", "BENCHRIG_STDOUT_LINES=3", "BENCHRIG_STDOUT_BLANK_LINES=1",
		"BENCHRIG_STDOUT_SHA256=" + m.Stdout.SHA256, "BENCHRIG_STDOUT_TRUNCATED=0"}
	if !reflect.DeepEqual(got.Argv, []string{"verify", "3"}) || got.Dir != "/data" || string(got.Stdin) != "a\n\nb\n" || !reflect.DeepEqual(got.Env, wantEnv) {
		t.Errorf("job %+v", got)
	}
	if len(r.Check.Env) != 1 {
		t.Errorf("the rules' env grew to %v: concurrent trials share it", r.Check.Env)
	}
}

func TestRunCheck(t *testing.T) {
	resolve := func(check string) *Rules {
		r, err := Resolve(&benchrig.Expect{Check: &benchrig.Command{Shell: check}}, benchrig.Case{ID: "c"}, map[string]string{"instance": "1"}, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	long := strings.Repeat("1 C\n", 20000) // 80000 bytes: more than the head
	tests := []struct {
		name   string
		check  string
		m      benchrig.Measurement
		want   benchrig.Outcome
		reason string
	}{
		{name: "passing check reads stdin", check: `test "$(wc -l)" -eq 2`, m: ok("1\n2\n"), want: benchrig.OutcomeOK},
		{name: "failing check: its stderr is the reason", check: `echo "want 5000 records, got $(wc -l)" >&2; exit 3`, m: ok("1\n2\n"), want: benchrig.OutcomeWrongOutput,
			reason: `check "echo \"want 5000 records, got $(wc -l)\" >&2; exit 3" exited 3: want 5000 records, got 2`},
		{name: "failing check without stderr: its stdout", check: `diff - /dev/null`, m: ok("x\n"), want: benchrig.OutcomeWrongOutput, reason: "exited 1: 1d0\n< x"},
		{name: "a check of more than was kept says so", check: `test "$(wc -l)" -eq "$BENCHRIG_STDOUT_LINES"`, m: ok(long), want: benchrig.OutcomeWrongOutput,
			reason: "(the check read only the first 65.5 kB of 80.0 kB of stdout: no more is kept)"},
		{name: "the environment says what was kept", check: `test "$BENCHRIG_STDOUT_TRUNCATED" = 1 && test "$BENCHRIG_STDOUT_LINES" = 20000`, m: ok(long), want: benchrig.OutcomeOK},
		{name: "a shell check whose program is missing exits 127", check: `exec /nonexistent/checker`, m: ok("1\n"), want: benchrig.OutcomeWrongOutput, reason: "exited 127"},
		{name: "killed check is not a verdict", check: `kill -9 $$`, m: ok("1\n"), want: benchrig.OutcomeExecutor, reason: "did not run to its end: signal: killed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, reason := RunCheck(context.Background(), Exec, resolve(tt.check), tt.m)
			if o != tt.want || (tt.reason == "") != (reason == "") || !strings.Contains(reason, tt.reason) {
				t.Errorf("got %s %q, want %s with %q", o, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestExecCheck(t *testing.T) {
	tests := []struct {
		name string
		job  CheckJob
		want CheckResult
	}{
		{name: "exit code", job: CheckJob{Argv: []string{"sh", "-c", "exit 4"}}, want: CheckResult{ExitCode: 4}},
		{name: "cannot start", job: CheckJob{Argv: []string{"/nonexistent/checker"}}, want: CheckResult{ExitCode: -1, Error: "start: fork/exec /nonexistent/checker: no such file or directory"}},
		{name: "timeout", job: CheckJob{Argv: []string{"sleep", "10"}, Timeout: 50_000_000}, want: CheckResult{ExitCode: -1, Error: "timeout after 50ms"}},
		{name: "stderr tail", job: CheckJob{Argv: []string{"sh", "-c", "head -c 5000 /dev/zero | tr '\\0' a >&2; echo END >&2; exit 1"}},
			want: CheckResult{ExitCode: 1, Output: strings.Repeat("a", 1020) + "END"}},
		{name: "stdin and env", job: CheckJob{Argv: []string{"sh", "-c", `read x; test "$x$Y" = 12`}, Stdin: []byte("1\n"), Env: []string{"Y=2"}}, want: CheckResult{ExitCode: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Exec.RunCheck(context.Background(), tt.job)
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, _ := Exec.RunCheck(ctx, CheckJob{Argv: []string{"sleep", "10"}}); got.Error != benchrig.ReasonCancelled {
		t.Errorf("cancelled: got %+v", got)
	}
}

func TestTracker(t *testing.T) {
	// grep-impl's shape: per pattern, gnu (the baseline), busybox and
	// musl agree; cat is the ceiling and takes no part.
	cases := benchrig.Matrix([]benchrig.Param{{Name: "impl", Values: []string{"busybox", "gnu", "musl", "cat"}}, {Name: "pattern", Values: []string{"C", "N"}}})
	groupOf := map[string]string{}
	rules := map[string][]*Rules{}
	for _, c := range cases {
		if impl, _ := c.Get("impl"); impl != "cat" {
			p, _ := c.Get("pattern")
			groupOf[c.ID] = "pattern=" + p
		}
		for i := 1; i <= 2; i++ {
			rules[c.ID] = append(rules[c.ID], &Rules{Case: c.ID, Instance: i, Group: groupOf[c.ID]})
		}
	}
	baselineOf := func(id string) string {
		p := id[strings.LastIndex(id, "=")+1:]
		return "impl=gnu,pattern=" + p
	}
	type obs struct {
		c, out string
		inst   int
		want   benchrig.Outcome
		reason string // substring
		warn   string // substring; "" wants none
	}
	const bb, gnu, musl = "impl=busybox,pattern=C", "impl=gnu,pattern=C", "impl=musl,pattern=C"
	tests := []struct {
		name string
		seq  []obs
	}{
		{name: "all agree", seq: []obs{
			{c: gnu, out: "a:12\nb:3\n"}, {c: bb, out: "a:12\nb:3\n"}, {c: musl, out: "a:12\nb:3\n"},
		}},
		{name: "reference first: a differing case is wrong", seq: []obs{
			{c: gnu, out: "a:12\nb:3\n"},
			{c: bb, out: "a:12\nb:4\n", want: benchrig.OutcomeWrongOutput,
				reason: `stdout differs from case impl=gnu,pattern=C, the reference of agree group pattern=C: 2 lines vs 2, 9 vs 9 bytes, sha256 `},
			{c: bb, out: "a:12\nb:4\n", want: benchrig.OutcomeWrongOutput, reason: `first difference at line 2: "b:4" vs "b:3"`},
		}},
		{name: "the reference must agree with itself", seq: []obs{
			{c: gnu, out: "1\n"}, {c: gnu, out: "2\n", want: benchrig.OutcomeWrongOutput, reason: "differs from case impl=gnu,pattern=C, the reference"},
		}},
		{name: "before the reference: the first to report stands in", seq: []obs{
			{c: bb, out: "1\n"},
			{c: musl, out: "2\n", want: benchrig.OutcomeWrongOutput, reason: "differs from case impl=busybox,pattern=C, the first of agree group pattern=C to report (its reference impl=gnu,pattern=C has not yet)"},
			{c: gnu, out: "1\n"},
			{c: musl, out: "2\n", want: benchrig.OutcomeWrongOutput, reason: "the reference"},
		}},
		{name: "a reference that differs from the stand-in warns and wins", seq: []obs{
			{c: bb, out: "1\n"}, {c: bb, out: "1\n"},
			{c: gnu, out: "2\n", warn: "agree group pattern=C: stdout of the reference case impl=gnu,pattern=C differs from that of impl=busybox,pattern=C, recorded before it"},
			{c: bb, out: "1\n", want: benchrig.OutcomeWrongOutput, reason: "differs from case impl=gnu,pattern=C, the reference"},
			{c: musl, out: "2\n"},
		}},
		{name: "patterns are separate groups", seq: []obs{
			{c: gnu, out: "1\n"}, {c: "impl=gnu,pattern=N", out: "2\n"}, {c: "impl=busybox,pattern=N", out: "2\n"},
		}},
		{name: "instances are compared with the same instance", seq: []obs{
			{c: gnu, out: "file1\n", inst: 1}, {c: gnu, out: "file2\n", inst: 2},
			{c: bb, out: "file2\n", inst: 2}, {c: bb, out: "file2\n", inst: 1, want: benchrig.OutcomeWrongOutput, reason: "differs from case impl=gnu,pattern=C"},
			{c: musl, out: "file1\n", inst: 2, want: benchrig.OutcomeWrongOutput, reason: "stdout (instance 2) differs"},
		}},
		{name: "cases outside any group are not judged", seq: []obs{
			{c: gnu, out: "1\n"}, {c: "impl=cat,pattern=C", out: ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(cases, rules, baselineOf)
			if ref := tr.Reference("pattern=C", 2); ref != gnu {
				t.Fatalf("reference %q, want the baseline %q", ref, gnu)
			}
			for i, o := range tt.seq {
				if o.want == benchrig.OutcomeUnknown {
					o.want = benchrig.OutcomeOK // the table leaves ok out
				}
				inst := max(o.inst, 1)
				got, reason, warn := tr.Observe(groupOf[o.c], o.c, inst, digest(o.out, 0))
				if got != o.want || (o.reason == "") != (reason == "") || !strings.Contains(reason, o.reason) ||
					(o.warn == "") != (warn == "") || !strings.Contains(warn, o.warn) {
					t.Errorf("step %d (%s %q): got %s %q, warning %q; want %s %q, warning %q", i, o.c, o.out, got, reason, warn, o.want, o.reason, o.warn)
				}
			}
		})
	}
}

func TestTrackerReference(t *testing.T) {
	// The extractor's shape: n instances per case, a baseline per n.
	cases := benchrig.Matrix([]benchrig.Param{{Name: "tool", Values: []string{"mawk", "perl"}}, {Name: "n", Values: []string{"1", "2"}}})
	rules := map[string][]*Rules{}
	for _, c := range cases {
		n, _ := c.Get("n")
		for i := 1; i <= int(n[0]-'0'); i++ {
			rules[c.ID] = append(rules[c.ID], &Rules{Case: c.ID, Instance: i, Group: "every case"})
		}
	}
	tests := []struct {
		name     string
		baseline func(string) string
		instance int
		want     string
	}{
		{name: "the first baseline in matrix order", baseline: func(id string) string { return "tool=mawk," + id[strings.Index(id, ",")+1:] },
			instance: 1, want: "tool=mawk,n=1"},
		{name: "the first baseline that runs the instance", baseline: func(id string) string { return "tool=mawk," + id[strings.Index(id, ",")+1:] },
			instance: 2, want: "tool=mawk,n=2"},
		{name: "no baseline in the group: its first case", baseline: func(string) string { return "elsewhere" }, instance: 1, want: "tool=mawk,n=1"},
		{name: "no baseline runs it: the first case that does", baseline: func(string) string { return "tool=perl,n=1" }, instance: 2, want: "tool=mawk,n=2"},
		{name: "nobody runs it", baseline: func(string) string { return "" }, instance: 3, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewTracker(cases, rules, tt.baseline).Reference("every case", tt.instance); got != tt.want {
				t.Errorf("reference %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	cases := benchrig.Matrix([]benchrig.Param{{Name: "tool", Values: []string{"mawk", "perl"}}})
	rules := map[string][]*Rules{}
	e := &benchrig.Expect{Stdout: benchrig.StdoutExpect{Lines: "2", NonEmpty: true}, Check: &benchrig.Command{Shell: "grep -q ."}, Agree: &benchrig.Agree{By: []string{}}}
	for _, c := range cases {
		for i := 1; i <= 2; i++ {
			r, err := Resolve(e, c, map[string]string{"tool": c.Params[0].Value, "instance": string(rune('0' + i))}, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			rules[c.ID] = append(rules[c.ID], r)
		}
	}
	var checked []string
	j := &Judge{Agree: NewTracker(cases, rules, func(string) string { return "tool=mawk" }), Checks: &FakeChecks{RunCheckFn: func(ctx context.Context, job CheckJob) (CheckResult, error) {
		checked = append(checked, string(job.Stdin))
		return CheckResult{ExitCode: 0}, nil
	}}}
	tests := []struct {
		name    string
		c       string
		outs    []string
		want    benchrig.Outcome
		reason  string
		checked int
	}{
		{name: "reference sets the digests", c: "tool=mawk", outs: []string{"1 C\n2 N\n", "3 O\n4 S\n"}, checked: 2},
		{name: "an instance's blank lines fail the trial before its check runs", c: "tool=perl", outs: []string{"1 C\n2 N\n", " \n \n"},
			want: benchrig.OutcomeWrongOutput, reason: "instance 2: stdout has 2 blank line(s) of 2"},
		{name: "a second instance that disagrees", c: "tool=perl", outs: []string{"1 C\n2 N\n", "3 O\n4 Cl\n"}, checked: 2,
			want: benchrig.OutcomeWrongOutput, reason: "stdout (instance 2) differs from case tool=mawk"},
		{name: "agreeing trial", c: "tool=perl", outs: []string{"1 C\n2 N\n", "3 O\n4 S\n"}, checked: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checked = nil
			if tt.want == benchrig.OutcomeUnknown {
				tt.want = benchrig.OutcomeOK // the table leaves ok out
			}
			ms := []benchrig.Measurement{ok(tt.outs[0]), ok(tt.outs[1])}
			v := j.Trial(context.Background(), rules[tt.c], ms)
			if v.Outcome != tt.want || !strings.Contains(v.Reason, tt.reason) || (tt.reason == "") != (v.Reason == "") || len(checked) != tt.checked {
				t.Errorf("got %+v after %d checks; want %s %q after %d", v, len(checked), tt.want, tt.reason, tt.checked)
			}
			if !slices.Equal(checked, tt.outs[:tt.checked]) {
				t.Errorf("checks read %q", checked)
			}
		})
	}
}
