package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/benchrig/benchrig/internal/testenv"
)

// What a user types never destroys data: an export never replaces the run
// store, a device or anything but a regular file, and writes through a
// symlink instead of replacing it.
func TestExportsNeverDestroy(t *testing.T) {
	c := newCLI(t)
	spec := c.write("s.yaml", "name: exports\ncommand: [\"true\"]\nrepeat: 2\nwarmup: 0\n")
	store := filepath.Join(c.dir, "store.db")
	if code, _, errOut := c.run(context.Background(), "run", "-q", spec); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, errOut)
	}
	code, _, errOut := c.run(context.Background(), "run", "-q", spec, "--json", store)
	if code != 2 || !strings.Contains(errOut, "it is the run store") {
		t.Errorf("--json onto the store: exit %d\n%s", code, errOut)
	}
	code, _, errOut = c.run(context.Background(), "runs", "show", "latest", "--csv", store)
	if code != 2 || !strings.Contains(errOut, "it is the run store") {
		t.Errorf("runs show --csv onto the store: exit %d\n%s", code, errOut)
	}
	if code, list, _ := c.run(context.Background(), "runs", "list"); code != 0 || !strings.Contains(list, "exports") {
		t.Errorf("the store after the refused exports: exit %d\n%s", code, list)
	}

	if os.Geteuid() != 0 {
		testenv.Skip(t, "making a device node needs root")
	}
	dev := filepath.Join(c.dir, "null")
	if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, 1<<8|3); err != nil { // as /dev/null: 1, 3
		t.Fatal(err)
	}
	code, _, errOut = c.run(context.Background(), "run", "-q", spec, "--md", dev)
	if fi, err := os.Lstat(dev); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("the device node was replaced: %v %v", fi.Mode(), err)
	}
	if code != 2 || !strings.Contains(errOut, "not a regular file") {
		t.Errorf("--md onto a device: exit %d\n%s", code, errOut)
	}

	real := c.write("real.json", "old")
	link := filepath.Join(c.dir, "link.json")
	if err := os.Symlink("real.json", link); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := c.run(context.Background(), "run", "-q", spec, "--json", link); code != 0 {
		t.Fatalf("--json through a symlink: exit %d\n%s", code, errOut)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi.Mode(), err)
	}
	var doc struct {
		RunID string `json:"run_id"`
	}
	data, _ := os.ReadFile(real)
	if err := json.Unmarshal(data, &doc); err != nil || doc.RunID == "" {
		t.Errorf("the symlink's target does not hold the export: %v %.40q", err, data)
	}
}

// Input cannot exhaust the machine: a spec file is read up to a limit, and
// a matrix past the cap is refused before it is expanded.
func TestInputLimits(t *testing.T) {
	c := newCLI(t)
	code, _, errOut := c.run(context.Background(), "validate", "/dev/zero")
	if code != 2 || !strings.Contains(errOut, "/dev/zero: read spec: larger than 1024 KiB") {
		t.Errorf("validate /dev/zero: exit %d\n%s", code, errOut)
	}
	var vals []string
	for i := range 200 {
		vals = append(vals, fmt.Sprint(i))
	}
	list := "[" + strings.Join(vals, ", ") + "]"
	spec := c.write("huge.yaml", "name: huge\ncommand: \"echo {{.a}} {{.b}} {{.c}}\"\nparams:\n  a: "+list+"\n  b: "+list+"\n  c: "+list+"\n")
	code, _, errOut = c.run(context.Background(), "validate", spec)
	if code != 2 || !strings.Contains(errOut, "params: the matrix has 8000000 cases, more than the 10000 allowed") || !strings.Contains(errOut, "--max-cases") {
		t.Errorf("validate of 8,000,000 cases: exit %d\n%s", code, errOut)
	}
	code, _, errOut = c.run(context.Background(), "run", "-q", spec)
	if code != 2 || !strings.Contains(errOut, "8000000 cases") {
		t.Errorf("run of 8,000,000 cases: exit %d\n%s", code, errOut)
	}
	code, out, errOut := c.run(context.Background(), "validate", "--max-cases", "8000000", spec)
	if code != 0 || !strings.Contains(out, "8000000 case(s)") {
		t.Errorf("validate --max-cases 8000000: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = c.run(context.Background(), "validate", spec, "--set", "a=1", "--set", "b=1")
	if code != 0 {
		t.Errorf("narrowed with --set to 200 cases: exit %d\n%s", code, errOut)
	}
}

// runs compare matches cases of one spec: two specs are refused, not
// compared case by case on whatever IDs they happen to share.
func TestCompareRefusesTwoSpecs(t *testing.T) {
	c := newCLI(t)
	for _, name := range []string{"one", "two"} {
		spec := c.write(name+".yaml", "name: "+name+"\ncommand: [\"true\"]\nrepeat: 2\nwarmup: 0\n")
		if code, _, errOut := c.run(context.Background(), "run", "-q", spec); code != 0 {
			t.Fatalf("run %s: exit %d\n%s", name, code, errOut)
		}
	}
	code, out, errOut := c.run(context.Background(), "runs", "compare", "latest~1", "latest")
	if code != 2 || out != "" || !strings.Contains(errOut, "are of different specs (one and two)") {
		t.Errorf("compare of two specs: exit %d\n%s%s", code, out, errOut)
	}
}
