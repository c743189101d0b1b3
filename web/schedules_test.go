package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
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

const (
	schedReadToken   = "read-token-0123456789"
	schedSubmitToken = "submit-token-0123456789"
)

// schedSubmitter queues nothing: it hands out run IDs. The scheduler
// itself is the real one, on a real store.
type schedSubmitter struct {
	mu sync.Mutex
	n  int
}

func (c *schedSubmitter) Submit(ctx context.Context, sub benchrig.Submission) (*benchrig.Run, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return &benchrig.Run{ID: "run-" + string(rune('0'+c.n)), Status: benchrig.RunQueued}, nil
}

// scheduleServer serves the schedules API of a real scheduler on a temp
// store, with a read and a submit token.
func scheduleServer(t *testing.T, cfg web.Config) *httptest.Server {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sched := app.NewScheduler(app.SchedulerConfig{Store: db, Submit: &schedSubmitter{}})
	cfg.Tokens = web.Tokens{web.NewToken("dash", web.RoleRead, schedReadToken), web.NewToken("ci", web.RoleSubmit, schedSubmitToken)}
	srv := httptest.NewServer(web.New(cfg, web.Deps{Store: db, Schedules: sched}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

type schedAPIErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Errors  []struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Field   string `json:"field"`
			Message string `json:"message"`
			Text    string `json:"text"`
		} `json:"errors"`
	} `json:"error"`
}

func schedCall(t *testing.T, srv *httptest.Server, method, path, token, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

const schedSpec = "name: web-nightly\\ncommand: \\\"echo {{.n}}\\\"\\nparams:\\n  n: [1, 2]\\n"

func TestScheduleAPILifecycle(t *testing.T) {
	srv := scheduleServer(t, web.Config{})
	resp, body := schedCall(t, srv, "POST", "/api/v1/schedules", schedSubmitToken,
		`{"cron": "0 3 * * *", "spec": "`+schedSpec+`", "time_zone": "Europe/Paris", "set": ["n=2"], "labels": {"team": "perf"}}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %s %s", resp.Status, body)
	}
	var sc benchrig.Schedule
	if err := json.Unmarshal(body, &sc); err != nil {
		t.Fatal(err)
	}
	if loc := resp.Header.Get("Location"); loc != "/api/v1/schedules/"+sc.ID {
		t.Errorf("Location = %q, want /api/v1/schedules/%s", loc, sc.ID)
	}
	if sc.Name != "web-nightly" || !sc.Enabled || sc.Overlap != benchrig.OverlapSkip || sc.By != "ci" || sc.Next.IsZero() ||
		sc.TimeZone != "Europe/Paris" || sc.Labels["team"] != "perf" || len(sc.Sets) != 1 {
		t.Errorf("created %s", body)
	}
	if !strings.Contains(string(body), `"next"`) || strings.Contains(string(body), "checked") {
		t.Errorf("body shows next and hides checked? %s", body)
	}

	resp, body = schedCall(t, srv, "GET", "/api/v1/schedules", schedReadToken, "")
	var list web.ScheduleList
	if resp.StatusCode != 200 || json.Unmarshal(body, &list) != nil || len(list.Schedules) != 1 || list.Schedules[0].ID != sc.ID {
		t.Errorf("list: %s %s", resp.Status, body)
	}

	resp, body = schedCall(t, srv, "PATCH", "/api/v1/schedules/"+sc.ID, schedSubmitToken, `{"enabled": false, "overlap": "queue"}`)
	var got benchrig.Schedule
	if resp.StatusCode != 200 || json.Unmarshal(body, &got) != nil || got.Enabled || got.Overlap != benchrig.OverlapQueue || !got.Next.IsZero() {
		t.Errorf("patch: %s %s", resp.Status, body)
	}
	resp, body = schedCall(t, srv, "GET", "/api/v1/schedules/"+sc.ID, schedReadToken, "")
	if resp.StatusCode != 200 || json.Unmarshal(body, &got) != nil || got.Enabled {
		t.Errorf("get after patch: %s %s", resp.Status, body)
	}

	if resp, body := schedCall(t, srv, "DELETE", "/api/v1/schedules/"+sc.ID, schedSubmitToken, ""); resp.StatusCode != http.StatusNoContent {
		t.Errorf("delete: %s %s", resp.Status, body)
	}
	if resp, body := schedCall(t, srv, "GET", "/api/v1/schedules/"+sc.ID, schedReadToken, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("get deleted: %s %s", resp.Status, body)
	}
	resp, body = schedCall(t, srv, "GET", "/api/v1/schedules", schedReadToken, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"schedules": []`) {
		t.Errorf("empty list: %s %s", resp.Status, body)
	}
}

func TestScheduleAPIRefuses(t *testing.T) {
	srv := scheduleServer(t, web.Config{MaxBody: 4096})
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		field                           string
		line                            int
		want                            string
	}{
		{"malformed cron", "POST", "/api/v1/schedules", schedSubmitToken, `{"cron": "61 * * *", "spec": "` + schedSpec + `"}`,
			400, "cron", 0, "expected exactly 5 fields, found 4"},
		{"cron out of range", "POST", "/api/v1/schedules", schedSubmitToken, `{"cron": "61 * * * *", "spec": "` + schedSpec + `"}`,
			400, "cron", 0, "end of range (61) above maximum (59)"},
		{"unknown time zone", "POST", "/api/v1/schedules", schedSubmitToken, `{"cron": "@daily", "time_zone": "Europe/Atlantis", "spec": "` + schedSpec + `"}`,
			400, "time_zone", 0, "not an IANA time zone"},
		{"bad spec", "POST", "/api/v1/schedules", schedSubmitToken, `{"cron": "@daily", "name": "nightly", "spec": "name: x\nrepeat: 3\ncommand: true\nwarmup: lots\n"}`,
			400, "warmup", 4, ""},
		{"unknown field", "POST", "/api/v1/schedules", schedSubmitToken, `{"cron": "@daily", "timezone": "UTC", "spec": "` + schedSpec + `"}`,
			400, "body", 0, `unknown field "timezone"`},
		{"wrong type", "POST", "/api/v1/schedules", schedSubmitToken, `{"cron": "@daily", "enabled": "yes", "spec": "` + schedSpec + `"}`,
			400, "enabled", 0, "true or false"},
		{"empty body", "POST", "/api/v1/schedules", schedSubmitToken, ``, 400, "body", 0, "empty"},
		{"too large", "POST", "/api/v1/schedules", schedSubmitToken, `{"cron": "@daily", "spec": "` + strings.Repeat("#", 5000) + `"}`,
			413, "", 0, "larger than 4 KiB"},
		{"read token creates", "POST", "/api/v1/schedules", schedReadToken, `{"cron": "@daily", "spec": "` + schedSpec + `"}`,
			403, "", 0, `token "dash" is read-only`},
		{"no token creates", "POST", "/api/v1/schedules", "", `{"cron": "@daily", "spec": "` + schedSpec + `"}`,
			401, "", 0, "needs a bearer token"},
		{"no token lists", "GET", "/api/v1/schedules", "", ``, 401, "", 0, "needs a bearer token"},
		{"wrong token", "GET", "/api/v1/schedules", "guess-guess-guess", ``, 401, "", 0, "unknown token"},
		{"read token deletes", "DELETE", "/api/v1/schedules/s-1", schedReadToken, ``, 403, "", 0, "read-only"},
		{"patch unknown", "PATCH", "/api/v1/schedules/s-none", schedSubmitToken, `{"enabled": true}`, 404, "", 0, "schedule s-none not found"},
		{"delete unknown", "DELETE", "/api/v1/schedules/s-none", schedSubmitToken, ``, 404, "", 0, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := schedCall(t, srv, tc.method, tc.path, tc.token, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s, want %d: %s", resp.Status, tc.status, body)
			}
			var e schedAPIErr
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if !strings.Contains(e.Error.Message, tc.want) {
				t.Errorf("message %q, want %q", e.Error.Message, tc.want)
			}
			if tc.field == "" {
				return
			}
			for _, fe := range e.Error.Errors {
				if fe.Field == tc.field && fe.Line == tc.line && strings.Contains(fe.Message, tc.want) {
					return
				}
			}
			t.Errorf("no error for field %s line %d with %q: %s", tc.field, tc.line, tc.want, body)
		})
	}
	// Nothing was created by the refusals.
	if _, body := schedCall(t, srv, "GET", "/api/v1/schedules", schedReadToken, ""); !strings.Contains(string(body), `"schedules": []`) {
		t.Errorf("after refusals: %s", body)
	}
}

// Reads need no token when the dashboards are public; changes still do.
func TestScheduleAPIPublicRead(t *testing.T) {
	srv := scheduleServer(t, web.Config{PublicRead: true})
	if resp, body := schedCall(t, srv, "GET", "/api/v1/schedules", "", ""); resp.StatusCode != 200 {
		t.Errorf("public list: %s %s", resp.Status, body)
	}
	if resp, body := schedCall(t, srv, "POST", "/api/v1/schedules", "", `{"cron": "@daily", "spec": "`+schedSpec+`"}`); resp.StatusCode != 401 {
		t.Errorf("public create: %s %s", resp.Status, body)
	}
}

func TestScheduleAPIWithoutScheduler(t *testing.T) {
	srv := httptest.NewServer(web.New(web.Config{PublicRead: true}, web.Deps{}).Handler())
	defer srv.Close()
	if resp, body := schedCall(t, srv, "GET", "/api/v1/schedules", "", ""); resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("without a scheduler: %s %s", resp.Status, body)
	}
}

func TestScheduleRoutesInTable(t *testing.T) {
	s := web.New(web.Config{}, web.Deps{})
	want := map[string]web.Access{
		"GET /api/v1/schedules": web.Read, "POST /api/v1/schedules": web.Submit, "GET /api/v1/schedules/{id}": web.Read,
		"PATCH /api/v1/schedules/{id}": web.Submit, "DELETE /api/v1/schedules/{id}": web.Submit,
	}
	for _, rt := range s.Routes() {
		key := rt.Method + " " + rt.Pattern
		if a, ok := want[key]; ok {
			if a != rt.Access || !rt.API {
				t.Errorf("%s: access %v api %v, want %v api", key, rt.Access, rt.API, a)
			}
			delete(want, key)
		}
	}
	if len(want) != 0 {
		t.Errorf("routes missing: %v", want)
	}
}
