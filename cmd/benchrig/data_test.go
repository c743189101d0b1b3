package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchrig/benchrig/data"
	"github.com/benchrig/benchrig/internal/testenv"
)

func TestDataSmiles(t *testing.T) {
	c := newCLI(t)
	ctx := context.Background()
	// Default --out, relative to the working directory.
	code, out, errOut := c.run(ctx, "data", "smiles", "--size", "300kB", "--chunk", "100kB")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	dir := filepath.Join(c.dir, ".bench", "data", "smiles")
	m, err := data.ReadManifest(dir)
	if err != nil || m == nil {
		t.Fatalf("manifest: %v, %v", m, err)
	}
	if len(m.Files) != 3 || m.Params.Size != 300_000 || m.Params.Chunk != 100_000 || m.Params.Seed != 1 {
		t.Errorf("manifest %+v", m)
	}
	if !strings.Contains(out, "wrote 3 of 3 files") || !strings.Contains(out, "MB/s") {
		t.Errorf("closing line missing:\n%s", out)
	}
	if !strings.Contains(errOut, "[3/3] smiles-000") {
		t.Errorf("plain progress lines missing on a non-terminal:\n%s", errOut)
	}

	code, out, _ = c.run(ctx, "data", "smiles", "--size", "300kB", "--chunk", "100kB", "--verify")
	if code != 0 || !strings.HasPrefix(out, "up to date: .bench/data/smiles holds 3 files") {
		t.Errorf("second run: exit %d, stdout:\n%s", code, out)
	}

	// Other parameters: refused, then allowed with --replace.
	code, _, errOut = c.run(ctx, "data", "smiles", "--size", "300kB", "--chunk", "100kB", "--seed", "2")
	if code != 2 || !strings.Contains(errOut, "seed 1, now 2") || !strings.Contains(errOut, "--replace") {
		t.Errorf("changed seed: exit %d, stderr:\n%s", code, errOut)
	}
	code, out, errOut = c.run(ctx, "data", "smiles", "--size", "300kB", "--chunk", "100kB", "--seed", "2", "--replace", "-q")
	if code != 0 || !strings.Contains(out, "wrote 3 of 3 files") || errOut != "note: removed 3 file(s) of the previous data (seed 1, now 2)\n" {
		t.Errorf("--replace: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// More of the same (whole chunks): files are added, no --replace.
	code, out, errOut = c.run(ctx, "data", "smiles", "--size", "500kB", "--chunk", "100kB", "--seed", "2", "-q")
	if code != 0 || !strings.Contains(out, "wrote 2 of 5 files") || errOut != "note: adding 2 file(s) to the 3 already there (size 300000, now 500000; those keep their bytes)\n" {
		t.Errorf("growing: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

func TestDataRefusesForeignFile(t *testing.T) {
	c := newCLI(t)
	dir := filepath.Join(c.dir, "mine")
	os.MkdirAll(dir, 0o755)
	mine := filepath.Join(dir, "smiles-0002.smi")
	os.WriteFile(mine, []byte("precious\n"), 0o644)
	code, _, errOut := c.run(context.Background(), "data", "smiles", "--out", dir, "--size", "300kB", "--chunk", "100kB", "--replace")
	if code != 2 || !strings.Contains(errOut, mine) || !strings.Contains(errOut, "refusing to overwrite") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if b, _ := os.ReadFile(mine); string(b) != "precious\n" {
		t.Error("the user's file was overwritten")
	}
}

func TestDataBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad size", []string{"data", "smiles", "--size", "10XB"}, `--size: "10XB" is not a size`},
		{"bad chunk", []string{"data", "smiles", "--chunk", "lots"}, `--chunk: "lots" is not a size`},
		{"tiny chunk", []string{"data", "smiles", "--chunk", "5"}, "chunk: must be at least 1000 bytes"},
		{"too many files", []string{"data", "smiles", "--size", "1TB", "--chunk", "1MB"}, "more than 100000"},
		{"unknown data set", []string{"data", "smile"}, `unknown data set "smile"`},
		{"unknown flag", []string{"data", "smiles", "--files", "3"}, "unknown flag: --files"},
		{"bad files", []string{"data", "sdf", "--files", "0"}, "files: must be 1 to"},
		{"bad seed", []string{"data", "sdf", "--seed", "-1"}, "invalid argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			code, _, errOut := c.run(context.Background(), tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, errOut, tc.want)
			}
			if entries, _ := os.ReadDir(c.dir); len(entries) != 0 {
				t.Errorf("bad flags left files behind: %v", entries)
			}
		})
	}
}

func TestDataSDF(t *testing.T) {
	if _, err := exec.LookPath("obabel"); err != nil {
		testenv.Skip(t, "obabel not installed (apt-get install openbabel): skipping the SDF command test")
	}
	c := newCLI(t)
	ctx := context.Background()
	args := []string{"data", "sdf", "--files", "2", "--molecules", "50", "--corpus", "40", "--cache", filepath.Join(c.dir, "cache")}
	code, out, errOut := c.run(ctx, args...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "note: making 2D molfiles of 40 corpus molecules") || !strings.Contains(out, "wrote 2 of 2 files") || !strings.Contains(out, "100 molecules") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	for _, f := range []string{"compound-0001.sdf.gz", "compound-0002.sdf.gz"} {
		if _, err := os.Stat(filepath.Join(c.dir, ".bench", "data", "sdf", f)); err != nil {
			t.Error(err)
		}
	}
	code, out, _ = c.run(ctx, args...)
	if code != 0 || !strings.HasPrefix(out, "up to date") {
		t.Errorf("second run: exit %d, stdout:\n%s", code, out)
	}
}

func TestDataSDFWithoutOBabel(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	c := newCLI(t)
	code, _, errOut := c.run(context.Background(), "data", "sdf")
	if code != 2 || !strings.Contains(errOut, "apt-get install openbabel") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

// data sdf on a non-terminal says what it does during its long first step
// (the molfile cache) and writes a line per file, each with an ETA until
// the last.
func TestDataSDFProgressLines(t *testing.T) {
	if _, err := exec.LookPath("obabel"); err != nil {
		testenv.Skip(t, "obabel not installed (apt-get install openbabel)")
	}
	c := newCLI(t)
	code, out, errOut := c.run(context.Background(), "data", "sdf", "--files", "3", "--molecules", "10", "--corpus", "40",
		"--cache", filepath.Join(c.dir, "cache"), "--out", "sdf")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"note: making 2D molfiles of 40 corpus molecules",
		"molfile cache: 40/40 molecules laid out (100%)\n",
		"[1/3] compound-000",
		"[3/3] compound-000", // files finish in any order
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
		last := strings.HasPrefix(l, "[3/3]") || strings.Contains(l, "(100%)")
		if strings.HasPrefix(l, "[") || strings.HasPrefix(l, "molfile cache:") {
			if hasETA := strings.Contains(l, ", ETA "); hasETA == last {
				t.Errorf("line %q: want an ETA on every progress line but the last of its phase", l)
			}
		}
	}
}
