package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// fakeT records what skip asks of a test instead of ending it.
type fakeT struct {
	testing.TB
	name            string
	skipped, failed string
}

func (f *fakeT) Helper()                        {}
func (f *fakeT) Name() string                   { return f.name }
func (f *fakeT) Skip(args ...any)               { f.skipped = fmt.Sprint(args...) }
func (f *fakeT) Skipf(format string, a ...any)  { f.skipped = fmt.Sprintf(format, a...) }
func (f *fakeT) Fatalf(format string, a ...any) { f.failed = fmt.Sprintf(format, a...) }

func TestSkip(t *testing.T) {
	tests := []struct {
		name    string
		ci      string
		test    string
		skipped string // substring; "" means not skipped
		failed  string // substring; "" means not failed
	}{
		{name: "outside CI any test skips", ci: "", test: "TestLabRun", skipped: "no lab"},
		{name: "CI=false is outside CI", ci: "false", test: "TestLabRun", skipped: "no lab"},
		{name: "in CI an unlisted test fails", ci: "true", test: "TestLabRun", failed: "no lab\nCI=true: a skipped test is a failure"},
		{name: "in CI a listed test skips with why", ci: "true", test: "TestBenchTrialCost", skipped: "no lab (CI may skip it: a measurement"},
		{name: "a listed test's subtest skips", ci: "true", test: "TestBenchTrialCost/sub", skipped: "CI may skip it"},
		{name: "a prefix of a listed name is not listed", ci: "true", test: "TestBenchTrial", failed: "CI=true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			f := &fakeT{name: tt.test}
			Skipf(f, "no %s", "lab")
			if tt.skipped == "" && f.skipped != "" || !strings.Contains(f.skipped, tt.skipped) {
				t.Errorf("skipped %q, want it to contain %q", f.skipped, tt.skipped)
			}
			if tt.failed == "" && f.failed != "" || !strings.Contains(f.failed, tt.failed) {
				t.Errorf("failed %q, want it to contain %q", f.failed, tt.failed)
			}
		})
	}
}

// Every test CI may skip says why, in words.
func TestMaySkipReasons(t *testing.T) {
	for name, why := range mayskip {
		if !strings.HasPrefix(name, "Test") || strings.Contains(name, "/") || len(why) < 20 {
			t.Errorf("mayskip[%q] = %q: want a top-level test name and a reason", name, why)
		}
	}
}
