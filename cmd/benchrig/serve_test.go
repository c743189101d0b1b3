package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/app"
	"github.com/benchrig/benchrig/nodes"
	"github.com/benchrig/benchrig/sqlite"
	"github.com/benchrig/benchrig/web"
)

// The server's run lifecycle on the real lab: a spec submitted to the
// queue (as POST /api/v1/runs does) is recorded queued, runs in
// containers on its pool, and its watchers see every event once, in
// order, to run-finished; a second watcher from the middle of the log
// gets the rest. A privileged spec is refused at submit by the pools
// file's policy.
func TestServeQueueOnLab(t *testing.T) {
	needLab(t)
	c := labCLI(t, labNodes)
	var stderr syncBuffer
	d := c.deps(io.Discard, &stderr)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(c.dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := app.NewQueue(app.QueueConfig{App: d.newApp(db), DataDir: filepath.Join(c.dir, "server"),
		PoolsFile: c.env["BENCHRIG_POOLS"], Policies: nodes.Policies, Limits: map[string]int{"lab": 1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.New(web.Config{}, web.Deps{Store: db, Runs: q}).Handler())
	defer srv.Close()

	_, err = q.Submit(ctx, benchrig.Submission{SpecName: "priv.yaml", Spec: []byte("name: priv\ncommand: 'true'\nimage: 'benchrig/busybox:{{.arch}}'\npools: [lab]\ncontainer: {privileged: true}\n")})
	if benchrig.ErrorCode(err) != benchrig.EInvalid || !strings.Contains(err.Error(), "priv.yaml") || !strings.Contains(err.Error(), "container.privileged") {
		t.Fatalf("privileged spec: %v, want EInvalid naming priv.yaml and container.privileged", err)
	}

	spec := "name: served\ncommand: 'sleep 0.1'\nimage: 'benchrig/busybox:{{.arch}}'\nrepeat: 2\nwarmup: 0\npools: [lab]\nplacement: {nodes: [lab1, lab2]}\n"
	run, err := q.Submit(ctx, benchrig.Submission{SpecName: "served.yaml", Spec: []byte(spec), By: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != benchrig.RunQueued {
		t.Fatalf("submitted run is %s", run.Status)
	}
	watch, err := q.Watch(ctx, run.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	qctx, stop := context.WithCancel(ctx)
	qdone := make(chan error, 1)
	go func() { qdone <- q.Run(qctx) }()
	defer func() {
		stop()
		if err := <-qdone; err != nil {
			t.Errorf("queue: %v", err)
		}
	}()
	var evs []benchrig.Event
	var midway <-chan benchrig.Event
	timeout := time.After(3 * time.Minute)
	for done := false; !done; {
		select {
		case e, ok := <-watch:
			if !ok {
				done = true
				break
			}
			evs = append(evs, e)
			if e.Kind == benchrig.EventTrialFinished && midway == nil {
				if midway, err = q.Watch(ctx, run.ID, e.Seq); err != nil {
					t.Fatal(err)
				}
			}
		case <-timeout:
			t.Fatalf("run did not end; events so far %v\n%s", evs, stderr.String())
		}
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: %v", i, e.Seq, evs)
		}
	}
	if last := evs[len(evs)-1]; last.Kind != benchrig.EventRunFinished || last.Msg != string(benchrig.RunFinished) {
		t.Fatalf("last event %v, want run-finished: finished", last)
	}
	if midway == nil {
		t.Fatal("no trial finished")
	}
	var rest []benchrig.Event
	for e := range midway {
		rest = append(rest, e)
	}
	if len(rest) == 0 || rest[0].Seq <= 1 || rest[len(rest)-1].Seq != evs[len(evs)-1].Seq {
		t.Errorf("midway watcher got %v", rest)
	}
	got, err := db.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != benchrig.RunFinished || got.By != "ci" || len(got.Trials) != 4 {
		t.Errorf("run %s: %s by %q with %d trials, want finished by ci with 2 trials on each of 2 nodes", got.ID, got.Status, got.By, len(got.Trials))
	}
	for _, tr := range got.Trials {
		if tr.Node != "lab1" && tr.Node != "lab2" {
			t.Errorf("trial on %s", tr.Node)
		}
	}
	// The dashboards' store reads it as any other run.
	resp, err := http.Get(srv.URL + "/static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /static/style.css: %s", resp.Status)
	}
}

// benchrig serve starts, says where it listens and warns that without a
// token nothing can change state, serves, and stops cleanly when its
// context ends (SIGINT/SIGTERM in main).
func TestServeCommand(t *testing.T) {
	c := newCLI(t)
	c.env = map[string]string{"BENCHRIG_POOLS": c.write("pools.yaml", "pools:\n  lab:\n    nodes:\n      - {name: n1, host: 'tcp://127.0.0.1:1'}\n")}
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- execute(ctx, c.deps(&stdout, &stderr), []string{"serve", "--listen", "127.0.0.1:0", "--pool-limit", "lab=2"})
	}()
	var addr string
	deadline := time.Now().Add(20 * time.Second)
	for addr == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no listening line\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		sc := bufio.NewScanner(strings.NewReader(stdout.String()))
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "benchrig serve: listening on "); ok {
				addr = a
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Get(addr + "/static/app.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /static/app.js: %s", resp.Status)
	}
	cancel()
	select {
	case n := <-code:
		if n != 0 {
			t.Errorf("exit %d\n%s", n, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	out := stdout.String()
	for _, want := range []string{"store:  " + filepath.Join(c.dir, "store.db"), "pools:  " + c.env["BENCHRIG_POOLS"] + ": lab (2 at once)", "reads:  need a read or submit token",
		"specs:  " + filepath.Join(c.dir, "server")} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr.String(), "WARNING: no tokens") {
		t.Errorf("stderr lacks the no-token warning:\n%s", stderr.String())
	}
}

func TestServeFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--pool-limit", "lab"}, "want POOL=N"},
		{[]string{"serve", "--pool-limit", "lab=0"}, "want POOL=N"},
		{[]string{"serve", "--pool-limit", "local=2"}, "one run at a time"},
	} {
		c := newCLI(t)
		code, _, stderr := c.run(context.Background(), tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	// BENCHRIG_TOKEN alone is one submit token named env.
	c := newCLI(t)
	c.env = map[string]string{"BENCHRIG_TOKEN": "0123456789abcdef0123"}
	ts, err := serveTokens(c.deps(io.Discard, io.Discard), "")
	if err != nil {
		t.Fatal(err)
	}
	if tok, ok := ts.Lookup("0123456789abcdef0123"); !ok || tok.Name != "env" || tok.Role != web.RoleSubmit || len(ts) != 1 {
		t.Errorf("tokens %+v", ts)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
