package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/app"
	"github.com/benchrig/benchrig/sqlite"
	"github.com/benchrig/benchrig/web"
)

var _ web.Schedules = (*app.Scheduler)(nil)

// schedSubmitter stands for the queue: it hands out run IDs.
type schedSubmitter struct {
	mu sync.Mutex
	n  int
}

func (s *schedSubmitter) Submit(ctx context.Context, sub benchrig.Submission) (*benchrig.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return &benchrig.Run{ID: fmt.Sprintf("run-%d", s.n), Status: benchrig.RunQueued}, nil
}

const (
	schedReadToken   = "read-token-for-the-cli-tests"
	schedSubmitToken = "submit-token-for-the-cli-tests"
)

// scheduleCLI is a CLI whose BENCHRIG_SERVER is an in-process server with
// a real scheduler on a temp store; it carries the submit token.
func scheduleCLI(t *testing.T) *cli {
	t.Helper()
	c := newCLI(t)
	db, err := sqlite.Open(context.Background(), filepath.Join(c.dir, "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sched := app.NewScheduler(app.SchedulerConfig{Store: db, Submit: &schedSubmitter{}})
	tokens := web.Tokens{web.NewToken("dash", web.RoleRead, schedReadToken), web.NewToken("ci", web.RoleSubmit, schedSubmitToken)}
	srv := httptest.NewServer(web.New(web.Config{Tokens: tokens}, web.Deps{Store: db, Schedules: sched}).Handler())
	t.Cleanup(srv.Close)
	c.env = map[string]string{"BENCHRIG_SERVER": srv.URL, "BENCHRIG_TOKEN": schedSubmitToken}
	return c
}

func TestScheduleCommands(t *testing.T) {
	ctx := context.Background()
	c := scheduleCLI(t)
	spec := c.write("nightly.yaml", twoCases)

	code, out, errOut := c.run(ctx, "schedule", "add", spec, "--cron", "0 3 * * *", "--tz", "Europe/Paris",
		"--set", "n=1000", "--label", "branch=main", "--name", "nightly-cli")
	if code != 0 {
		t.Fatalf("add: exit %d\n%s%s", code, out, errOut)
	}
	// 03:00 in Paris is 02:00 UTC in winter; the date depends on today.
	var id string
	if _, err := fmt.Sscanf(out, "created schedule %s", &id); err != nil || !strings.Contains(out, "(nightly-cli): 0 3 * * * Europe/Paris, next ") ||
		!strings.Contains(out, ", overlap skip") {
		t.Fatalf("add printed %q", out)
	}
	code, out, errOut = c.run(ctx, "schedule", "add", spec, "--cron", "@every 10s", "--disabled", "--overlap", "queue")
	if code != 0 || !strings.Contains(out, "(cli-test): @every 10s UTC, disabled, overlap queue") {
		t.Fatalf("add disabled: exit %d %q %s", code, out, errOut)
	}

	// list reads with the read token.
	c.env["BENCHRIG_TOKEN"] = schedReadToken
	code, out, errOut = c.run(ctx, "schedule", "list")
	if code != 0 {
		t.Fatalf("list: exit %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "LAST RUN") {
		t.Fatalf("list:\n%s", out)
	}
	if f := strings.Fields(lines[1]); f[0] != id || f[1] != "nightly-cli" || strings.Join(f[2:7], " ") != "0 3 * * *" ||
		f[7] != "Europe/Paris" || f[8] != "yes" || f[9] != "-" || !strings.HasSuffix(lines[1], "Z") {
		t.Errorf("list row %q", lines[1])
	}
	if f := strings.Fields(lines[2]); f[1] != "cli-test" || f[5] != "no" || f[len(f)-1] != "-" {
		t.Errorf("list row of the disabled one %q", lines[2])
	}
	code, out, _ = c.run(ctx, "schedule", "list", "--json")
	var list web.ScheduleList
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list.Schedules) != 2 || list.Schedules[0].Sets[0] != "n=1000" ||
		list.Schedules[0].Labels["branch"] != "main" || list.Schedules[0].Spec != twoCases {
		t.Errorf("list --json: exit %d\n%s", code, out)
	}

	// A read token cannot change anything: exit 2, with what to do.
	code, _, errOut = c.run(ctx, "schedule", "disable", id)
	if code != 2 || !strings.Contains(errOut, `token "dash" is read-only`) || !strings.Contains(errOut, "use a submit token (--token or $BENCHRIG_TOKEN)") {
		t.Errorf("disable with a read token: exit %d %s", code, errOut)
	}
	// --token wins over $BENCHRIG_TOKEN.
	code, out, errOut = c.run(ctx, "schedule", "disable", id, "--token", schedSubmitToken)
	if code != 0 || out != "schedule "+id+" disabled, next -\n" {
		t.Errorf("disable: exit %d %q %s", code, out, errOut)
	}
	c.env["BENCHRIG_TOKEN"] = schedSubmitToken
	code, out, errOut = c.run(ctx, "schedule", "enable", id)
	if code != 0 || !strings.HasPrefix(out, "schedule "+id+" enabled, next 20") {
		t.Errorf("enable: exit %d %q %s", code, out, errOut)
	}
	code, out, errOut = c.run(ctx, "schedule", "remove", id)
	if code != 0 || out != "removed schedule "+id+"\n" {
		t.Errorf("remove: exit %d %q %s", code, out, errOut)
	}
	code, _, errOut = c.run(ctx, "schedule", "remove", id)
	if code != 2 || !strings.Contains(errOut, "schedule "+id+" not found") {
		t.Errorf("remove twice: exit %d %s", code, errOut)
	}
	_, out, _ = c.run(ctx, "schedule", "list")
	if strings.Contains(out, id) || !strings.Contains(out, "cli-test") {
		t.Errorf("list after remove:\n%s", out)
	}
}

func TestScheduleCommandErrors(t *testing.T) {
	ctx := context.Background()
	c := scheduleCLI(t)
	good := c.write("good.yaml", twoCases)
	bad := c.write("bad.yaml", "name: bad\ncommand: true\nrepeat: 3\nwarmup: lots\n")
	// A port nothing listens on: bind one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	for _, tc := range []struct {
		name  string
		env   map[string]string // replaces these variables
		args  []string
		code  int
		wants []string
	}{
		{"malformed cron", nil, []string{"schedule", "add", good, "--cron", "61 * * *"}, 2,
			[]string{`benchrig: cron: "61 * * *": expected exactly 5 fields, found 4`}},
		{"unknown zone", nil, []string{"schedule", "add", good, "--cron", "@daily", "--tz", "Mars/Olympus"}, 2,
			[]string{`time_zone: "Mars/Olympus" is not an IANA time zone`}},
		{"bad spec, named by the schedule", nil, []string{"schedule", "add", bad, "--cron", "@daily", "--name", "nightly"}, 2,
			[]string{"nightly:4: warmup: "}},
		{"bad overlap", nil, []string{"schedule", "add", good, "--cron", "@daily", "--overlap", "wait"}, 2,
			[]string{`overlap: "wait" is not skip (the default) or queue`}},
		{"missing spec file", nil, []string{"schedule", "add", "nope.yaml", "--cron", "@daily"}, 2,
			[]string{"nope.yaml: read spec: no such file or directory"}},
		{"no cron", nil, []string{"schedule", "add", good}, 2, []string{`required flag(s) "cron" not set`}},
		{"bad label", nil, []string{"schedule", "add", good, "--cron", "@daily", "--label", "x"}, 2, []string{`--label "x": want key=value`}},
		{"no token", map[string]string{"BENCHRIG_TOKEN": ""}, []string{"schedule", "list"}, 2,
			[]string{"server refused: this needs a bearer token", "give a token with --token or $BENCHRIG_TOKEN"}},
		{"unreachable", map[string]string{"BENCHRIG_SERVER": closed}, []string{"schedule", "list"}, 3,
			[]string{"cannot reach the benchrig server at " + closed}},
		{"not a URL", nil, []string{"schedule", "list", "--server", "127.0.0.1:8080"}, 2,
			[]string{`--server: "127.0.0.1:8080" is not a server URL`}},
		{"unknown subcommand", nil, []string{"schedule", "pause"}, 2, []string{`unknown schedule command "pause"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved := map[string]string{}
			for k, v := range tc.env {
				saved[k] = c.env[k]
				c.env[k] = v
			}
			defer func() {
				for k, v := range saved {
					c.env[k] = v
				}
			}()
			code, out, errOut := c.run(ctx, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			for _, w := range tc.wants {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
	if _, out, _ := c.run(ctx, "schedule", "list"); !strings.Contains(out, "no schedules on") {
		t.Errorf("the refusals created schedules:\n%s", out)
	}
}
