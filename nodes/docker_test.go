package nodes

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/runner"
)

// fakeEngine answers the calls contact makes: ping, info, container list.
func fakeEngine(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.45")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			w.Write([]byte("OK"))
		case strings.HasSuffix(r.URL.Path, "/info"):
			w.Write([]byte(`{"Architecture":"x86_64","OSType":"linux","Name":"fake"}`))
		case strings.HasSuffix(r.URL.Path, "/containers/json"):
			w.Write([]byte(`[]`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Editing a node's entry mid-run (its labels, here) makes poolNodes close
// the executor the runner still holds for that node: the runner keeps a
// known node's first *Node and ignores the new one, so every later trial
// on it fails with "executor is closed".
func TestEditedEntryKeepsTheRunnersExecutorOpen(t *testing.T) {
	srv := fakeEngine(t)
	host := "tcp://" + strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	path := filepath.Join(dir, "pools.yaml")
	write := func(labels string) {
		y := "pools:\n  lab:\n    nodes:\n      - name: n1\n        host: " + host + "\n        labels: {" + labels + "}\n"
		if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("site: lab")
	shims := t.TempDir()
	if err := os.WriteFile(filepath.Join(shims, "benchrig-shim-linux-amd64"), []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := NewDocker(path, []string{"lab"}, shims)
	defer d.Close()
	first, err := d.Nodes(context.Background())
	if err != nil || len(first) != 1 {
		t.Fatalf("%v %v %s", first, err, d.Warnings())
	}
	held := first[0]             // what the runner keeps for n1 for the rest of the run
	write("site: lab, rack: r2") // an edit while the run goes on
	if _, err := d.Nodes(context.Background()); err != nil {
		t.Fatal(err)
	}
	job := runner.Job{Argv: []string{"true"}, Container: &runner.Container{Image: "busybox"}}
	for range 100 { // the close runs in a goroutine
		_, err = held.Executor.Run(context.Background(), job)
		if err != nil && strings.Contains(err.Error(), "closed") {
			break
		}
	}
	if err != nil && strings.Contains(err.Error(), "closed") {
		t.Fatalf("the runner's executor for n1 was closed by a refresh: %v", err)
	}
}

// A node whose architecture has no timing shim stops the run before it
// starts (exit 2 in the CLI), saying how to build the shim.
func TestMissingShimIsInvalid(t *testing.T) {
	srv := fakeEngine(t)
	path := filepath.Join(t.TempDir(), "pools.yaml")
	y := "pools:\n  lab:\n    nodes:\n      - {name: n1, host: \"tcp://" + strings.TrimPrefix(srv.URL, "http://") + "\"}\n"
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	d := NewDocker(path, []string{"lab"}, t.TempDir())
	defer d.Close()
	_, err := d.Nodes(context.Background())
	if benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), "no timing shim for amd64") || !strings.Contains(err.Error(), "make build") {
		t.Errorf("err = %v", err)
	}
}
