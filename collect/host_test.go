package collect

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/benchrig/benchrig/internal/testenv"
)

func TestHostFixture(t *testing.T) {
	f := Host(Roots{Proc: "testdata/host/proc", Etc: "testdata/host/etc"})
	if f.Kernel != "6.1.0-test-amd64" {
		t.Errorf("kernel = %q", f.Kernel)
	}
	if f.OS != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("os = %q", f.OS)
	}
	if f.MemoryBytes != 24576000*1024 {
		t.Errorf("memory = %d", f.MemoryBytes)
	}
	if f.CPUModel == "" {
		t.Error("cpu model empty")
	}
	if f.CPUs != runtime.NumCPU() || f.Version == "" || f.Hostname == "" {
		t.Errorf("fingerprint incomplete: %+v", f)
	}
}

func TestCPUModelArm64(t *testing.T) {
	b, err := os.ReadFile("testdata/host-arm64/proc/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cpuModel(b), "implementer 0x41 part 0xd08"; got != want {
		t.Errorf("cpuModel = %q, want %q", got, want)
	}
}

func TestNormalizeArch(t *testing.T) {
	for in, want := range map[string]string{"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "riscv64": "riscv64"} {
		if got := NormalizeArch(in); got != want {
			t.Errorf("NormalizeArch(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGitCommit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Skip(t, "git not installed")
	}
	dir := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if c, _ := GitCommit(context.Background(), dir, "spec.yaml"); c != "" {
		t.Fatalf("commit outside a repository = %q", c)
	}
	git("init", "-q")
	spec := filepath.Join(dir, "spec.yaml")
	os.WriteFile(spec, []byte("name: a\n"), 0o644)
	git("add", "spec.yaml")
	git("commit", "-qm", "x")
	c, dirty := GitCommit(context.Background(), dir, "spec.yaml")
	if len(c) != 40 || dirty {
		t.Fatalf("commit = %q dirty = %v, want a clean 40-hex commit", c, dirty)
	}
	os.WriteFile(spec, []byte("name: b\n"), 0o644)
	if _, dirty := GitCommit(context.Background(), dir, "spec.yaml"); !dirty {
		t.Fatal("modified spec not reported dirty")
	}
}
