package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
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

// A store benchrig cannot use is bad input (exit 2) named with its path
// and the reason, before anything runs: a directory, a parent that cannot
// be created, and a store on a read-only mount (was: exit 1, "attempt to
// write a readonly database (8)" at the first write). The store is intact
// afterwards.
func TestStorePathErrors(t *testing.T) {
	c := newCLI(t)
	ctx := context.Background()
	file := c.write("file", "x")
	for _, tc := range []struct {
		name, store, want string
	}{
		{"a directory", c.dir, "is a directory"},
		{"a parent that is a file", filepath.Join(file, "sub", "s.db"), "create run store directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := c.run(ctx, "run", "-q", "-c", "true", "--repeat", "1", "--warmup", "0", "--store", tc.store)
			if code != 2 || !strings.Contains(errOut, tc.store+": ") || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 naming %s and saying %q", code, errOut, tc.store, tc.want)
			}
		})
	}

	t.Run("read-only", func(t *testing.T) {
		dir := filepath.Join(c.dir, "ro")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		store := filepath.Join(dir, "s.db")
		if code, _, errOut := c.run(ctx, "run", "-q", "-c", "true", "--repeat", "1", "--warmup", "0", "--store", store); code != 0 {
			t.Fatalf("making the store: exit %d\n%s", code, errOut)
		}
		// readOnly runs the CLI with store's directory read-only and
		// returns its exit code and output (stdout and stderr).
		readOnly := func(args ...string) (int, string) {
			if os.Geteuid() != 0 {
				code, out, errOut := c.run(ctx, args...)
				return code, out + errOut
			}
			// Root writes whatever the modes say; a read-only bind
			// mount in a mount namespace of its own binds it.
			bin, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			script := `mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"`
			cmd := exec.Command("unshare", append([]string{"-m", "sh", "-c", script, "sh", dir, bin}, args...)...)
			cmd.Env = append(os.Environ(), "BENCHRIG_TEST_AS_CLI=1")
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			switch {
			case errors.As(err, &ee):
				return ee.ExitCode(), string(out)
			case err != nil:
				t.Fatalf("unshare: %v\n%s", err, out)
			}
			return 0, string(out)
		}
		if os.Geteuid() != 0 {
			if err := os.Chmod(store, 0o444); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o555); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o755) })
		}
		code, errOut := readOnly("run", "-q", "-c", "true", "--repeat", "1", "--warmup", "0", "--store", store)
		if code != 2 || !strings.Contains(errOut, store+": run store is read-only") {
			t.Errorf("run on a read-only store: exit %d\n%s\nwant exit 2, %s: run store is read-only", code, errOut, store)
		}
		// Reading needs no writes: not even SQLite's -shm file.
		if code, out := readOnly("runs", "list", "--store", store); code != 0 || !strings.Contains(out, "adhoc") {
			t.Errorf("runs list of a read-only store: exit %d\n%s", code, out)
		}
		if code, out := readOnly("runs", "show", "latest", "--store", store); code != 0 || !strings.Contains(out, "adhoc") {
			t.Errorf("runs show of a read-only store: exit %d\n%s", code, out)
		}
		if os.Geteuid() != 0 {
			os.Chmod(dir, 0o755)
		}
		if code, list, errOut := c.run(ctx, "runs", "list", "--store", store); code != 0 || !strings.Contains(list, "adhoc") {
			t.Errorf("runs list of the store afterwards: exit %d\n%s%s", code, list, errOut)
		}
	})
}
