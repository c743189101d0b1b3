package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startServe runs benchrig serve in-process with env and returns its URL
// and a stop function that fails the test unless serve exits 0.
func startServe(t *testing.T, c *cli, args ...string) string {
	t.Helper()
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- execute(ctx, c.deps(&stdout, &stderr), append([]string{"serve", "--listen", "127.0.0.1:0"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case n := <-code:
			if n != 0 {
				t.Errorf("serve: exit %d\n%s", n, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		sc := bufio.NewScanner(strings.NewReader(stdout.String()))
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "benchrig serve: listening on "); ok {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening line\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServeAPIRefusesRiskySpecs submits, over HTTP to the real server and
// queue, specs that ask for what the pool's policy forbids: 400 with the
// field-precise errors, and nothing queued.
func TestServeAPIRefusesRiskySpecs(t *testing.T) {
	c := newCLI(t)
	const tok = "serve-api-test-token-0123456789"
	c.env = map[string]string{
		"BENCHRIG_POOLS": c.write("pools.yaml", "pools:\n  lab:\n    policy: {host_mounts: [/srv/bench-data]}\n    nodes:\n      - {name: n1, host: 'tcp://127.0.0.1:1'}\n"),
		"BENCHRIG_TOKEN": tok,
	}
	u := startServe(t, c)
	for _, tc := range []struct {
		name, spec, field, msg string
	}{
		{"privileged", "container: {privileged: true}\n", "container.privileged", "a privileged container refused: pool lab does not allow it"},
		{"a mount outside the allowed paths", "container: {mounts: ['/etc:/data:ro']}\n", "container.mounts[0]", "/etc is not under the host paths it allows"},
		{"a read-write mount", "container: {mounts: ['/srv/bench-data/x:/data:rw']}\n", "container.mounts[0]", "read-only mounts only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := "name: risky\ncommand: 'true'\nimage: 'benchrig/busybox:{{.arch}}'\npools: [lab]\n" + tc.spec
			req, _ := http.NewRequest("POST", u+"/api/v1/runs?name=risky.yaml", strings.NewReader(spec))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/yaml")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			var e struct {
				Error struct {
					Errors []struct{ File, Field, Message string }
				}
			}
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, fe := range e.Error.Errors {
				if fe.File == "risky.yaml" && fe.Field == tc.field && strings.Contains(fe.Message, tc.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("errors %+v, want %s in risky.yaml: %q", e.Error.Errors, tc.field, tc.msg)
			}
		})
	}
	req, _ := http.NewRequest("GET", u+"/api/v1/runs", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Runs []struct{ ID string } }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Runs) != 0 {
		t.Errorf("runs after refusals: %+v (%v), want none", list.Runs, err)
	}
}
