package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeEngine answers the calls a node's first contact makes: ping, info,
// container list.
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

func TestMissingShimFailsTheRunUpFront(t *testing.T) {
	srv := fakeEngine(t)
	c := newCLI(t)
	c.env = map[string]string{
		"BENCHRIG_POOLS":    c.write("pools.yaml", "pools:\n  lab:\n    nodes:\n      - {name: n1, host: \"tcp://"+strings.TrimPrefix(srv.URL, "http://")+"\"}\n"),
		"BENCHRIG_SHIM_DIR": t.TempDir(),
	}
	spec := c.write("s.yaml", "name: s\ncommand: [\"true\"]\nimage: busybox\n")
	code, _, stderr := c.run(context.Background(), "run", spec, "--pool", "lab")
	if code != 2 || !strings.Contains(stderr, "no timing shim for amd64") || !strings.Contains(stderr, "make build") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}
