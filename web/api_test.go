package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/reports"
	"github.com/benchrig/benchrig/sqlite"
)

// fakeRuns is the queue as the API sees it; each test sets what it needs.
type fakeRuns struct {
	submit func(ctx context.Context, sub benchrig.Submission) (*benchrig.Run, error)
	cancel func(ctx context.Context, id string) error
	watch  func(ctx context.Context, id string, after int64) (<-chan benchrig.Event, error)
	stats  func() benchrig.QueueStats
}

var _ Runs = (*fakeRuns)(nil)

func (f *fakeRuns) Submit(ctx context.Context, sub benchrig.Submission) (*benchrig.Run, error) {
	if f.submit == nil {
		return nil, fmt.Errorf("fake: submit not expected")
	}
	return f.submit(ctx, sub)
}

func (f *fakeRuns) Cancel(ctx context.Context, id string) error {
	if f.cancel == nil {
		return fmt.Errorf("fake: cancel not expected")
	}
	return f.cancel(ctx, id)
}

func (f *fakeRuns) Watch(ctx context.Context, id string, after int64) (<-chan benchrig.Event, error) {
	if f.watch == nil {
		return nil, fmt.Errorf("fake: watch not expected")
	}
	return f.watch(ctx, id, after)
}

func (f *fakeRuns) Stats() benchrig.QueueStats {
	if f.stats == nil {
		return benchrig.QueueStats{}
	}
	return f.stats()
}

type fakePools struct {
	pools func(ctx context.Context, refresh bool) ([]benchrig.PoolStatus, error)
}

var _ Pools = (*fakePools)(nil)

func (f *fakePools) Pools(ctx context.Context, refresh bool) ([]benchrig.PoolStatus, error) {
	return f.pools(ctx, refresh)
}

const (
	readSecret   = "read-secret-0123456789"
	submitSecret = "submit-secret-0123456789"
)

var testTokens = Tokens{NewToken("dashboards", RoleRead, readSecret), NewToken("ci", RoleSubmit, submitSecret)}

// testServer serves web.New(cfg, deps) with the test tokens and a real
// store in t.TempDir(), which deps.Store and deps.Shares default to.
func testServer(t *testing.T, cfg Config, deps Deps) (*Server, *httptest.Server, *sqlite.DB) {
	t.Helper()
	db := openStore(t)
	if deps.Store == nil {
		deps.Store = db
	}
	if deps.Shares == nil {
		deps.Shares = db
	}
	if cfg.Tokens == nil {
		cfg.Tokens = testTokens
	}
	s := New(cfg, deps)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts, db
}

// do sends a request with token (or none) and returns the answer, read.
func do(t *testing.T, method, u, token, ctype string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
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

func decodeError(t *testing.T, b []byte) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	return e
}

func storeRun(t *testing.T, db *sqlite.DB, id, spec string, status benchrig.RunStatus, started time.Time, labels map[string]string) *benchrig.Run {
	t.Helper()
	run := &benchrig.Run{
		ID: id, SpecName: spec, SpecHash: "9f86d081884c7d65", SpecFile: spec + ".yaml",
		SpecSource: []byte("name: " + spec + "\n"), Status: status, Started: started, Labels: labels,
		Fingerprint: benchrig.Fingerprint{Hostname: "bench1", OS: "linux", Arch: "amd64", CPUs: 2},
		Cases:       benchrig.Matrix([]benchrig.Param{{Name: "n", Values: []string{"1", "2"}}}),
	}
	if status != benchrig.RunRunning && status != benchrig.RunQueued {
		run.Finished = started.Add(time.Minute)
	}
	if err := db.CreateRun(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	return run
}

func TestAPIAuth(t *testing.T) {
	runs := &fakeRuns{
		submit: func(ctx context.Context, sub benchrig.Submission) (*benchrig.Run, error) {
			return &benchrig.Run{ID: "r1", Status: benchrig.RunQueued}, nil
		},
		cancel: func(ctx context.Context, id string) error { return nil },
	}
	_, ts, _ := testServer(t, Config{}, Deps{Runs: runs})
	cases := []struct {
		name, method, path, token string
		want                      int
	}{
		{"list without a token", "GET", "/api/v1/runs", "", 401},
		{"submit without a token", "POST", "/api/v1/runs", "", 401},
		{"cancel without a token", "POST", "/api/v1/runs/r1/cancel", "", 401},
		{"metrics without a token", "GET", "/metrics", "", 401},
		{"an unknown token", "GET", "/api/v1/runs", "not-a-token-at-all", 401},
		{"submit with a read token", "POST", "/api/v1/runs", readSecret, 403},
		{"cancel with a read token", "POST", "/api/v1/runs/r1/cancel", readSecret, 403},
		{"list with a read token", "GET", "/api/v1/runs", readSecret, 200},
		{"submit with a submit token", "POST", "/api/v1/runs", submitSecret, 201},
		{"health without a token", "GET", "/healthz", "", 200},
		{"openapi without a token", "GET", "/api/v1/openapi.yaml", "", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, b := do(t, c.method, ts.URL+c.path, c.token, "application/yaml", strings.NewReader("name: x\n"))
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, b)
			}
			if c.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: %v", resp.Header)
			}
			if c.want >= 400 {
				if e := decodeError(t, b); e.Error.Message == "" {
					t.Errorf("error without a message: %s", b)
				}
			}
		})
	}
}

func TestSubmit(t *testing.T) {
	var mu sync.Mutex
	var got []benchrig.Submission
	runs := &fakeRuns{submit: func(ctx context.Context, sub benchrig.Submission) (*benchrig.Run, error) {
		mu.Lock()
		got = append(got, sub)
		mu.Unlock()
		if strings.Contains(string(sub.Spec), "privileged") {
			return nil, benchrig.Errors{
				{Code: benchrig.EInvalid, File: sub.SpecName, Line: 3, Field: "container.privileged", Msg: "pool lab does not allow privileged containers"},
				{Code: benchrig.EInvalid, File: sub.SpecName, Line: 5, Field: "repeat", Msg: "must be at least 1"},
			}
		}
		return &benchrig.Run{ID: "20260101-abc", Status: benchrig.RunQueued}, nil
	}}
	_, ts, _ := testServer(t, Config{BaseURL: "https://bench.example/"}, Deps{Runs: runs})
	last := func() benchrig.Submission {
		mu.Lock()
		defer mu.Unlock()
		return got[len(got)-1]
	}

	t.Run("yaml", func(t *testing.T) {
		resp, b := do(t, "POST", ts.URL+"/api/v1/runs?name=ci.yaml", submitSecret, "application/yaml; charset=utf-8", strings.NewReader("name: sort\n"))
		if resp.StatusCode != 201 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		var ans Submitted
		if err := json.Unmarshal(b, &ans); err != nil {
			t.Fatal(err)
		}
		want := Submitted{ID: "20260101-abc", Status: benchrig.RunQueued, URL: "https://bench.example/runs/20260101-abc", API: "https://bench.example/api/v1/runs/20260101-abc"}
		if ans != want {
			t.Errorf("answer %+v, want %+v", ans, want)
		}
		if loc := resp.Header.Get("Location"); loc != want.API {
			t.Errorf("Location %q, want %q", loc, want.API)
		}
		sub := last()
		if string(sub.Spec) != "name: sort\n" || sub.SpecName != "ci.yaml" || sub.By != "ci" {
			t.Errorf("submission %+v", sub)
		}
	})
	t.Run("json", func(t *testing.T) {
		body := `{"spec": "name: sort\n", "set": ["n=1,2"], "repeat": 3, "pools": ["lab"], "labels": {"branch": "main"}}`
		resp, b := do(t, "POST", ts.URL+"/api/v1/runs", submitSecret, "application/json", strings.NewReader(body))
		if resp.StatusCode != 201 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		sub := last()
		if string(sub.Spec) != "name: sort\n" || sub.SpecName != submittedName || sub.Request.Repeat != 3 ||
			!slices.Equal(sub.Request.Sets, []string{"n=1,2"}) || !slices.Equal(sub.Request.Pools, []string{"lab"}) ||
			sub.Request.Labels["branch"] != "main" {
			t.Errorf("submission %+v", sub)
		}
	})
	t.Run("field errors", func(t *testing.T) {
		resp, b := do(t, "POST", ts.URL+"/api/v1/runs", submitSecret, "text/yaml", strings.NewReader("name: x\ncontainer:\n  privileged: true\n"))
		if resp.StatusCode != 400 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		e := decodeError(t, b)
		if len(e.Error.Errors) != 2 || e.Error.Errors[0].Field != "container.privileged" || e.Error.Errors[0].Line != 3 ||
			e.Error.Errors[0].File != submittedName || e.Error.Errors[1].Field != "repeat" {
			t.Errorf("errors %+v", e.Error.Errors)
		}
	})
	for _, c := range []struct{ name, ctype, body, field string }{
		{"json without a spec", "application/json", `{"set": ["n=1"]}`, "spec"},
		{"json with an unknown field", "application/json", `{"spec": "name: x", "privileged": true}`, ""},
		{"json that is not", "application/json", `name: x`, ""},
		{"a negative repeat", "application/json", `{"spec": "name: x", "repeat": -1}`, "repeat"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, b := do(t, "POST", ts.URL+"/api/v1/runs", submitSecret, c.ctype, strings.NewReader(c.body))
			if resp.StatusCode != 400 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			e := decodeError(t, b)
			if len(e.Error.Errors) != 1 || e.Error.Errors[0].Field != c.field {
				t.Errorf("errors %+v, want one naming %q", e.Error.Errors, c.field)
			}
		})
	}
	t.Run("another media type", func(t *testing.T) {
		n := len(got)
		resp, b := do(t, "POST", ts.URL+"/api/v1/runs", submitSecret, "text/plain", strings.NewReader("name: x\n"))
		if resp.StatusCode != 415 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		if len(got) != n {
			t.Error("submitted anyway")
		}
	})
}

func TestSubmitTooLarge(t *testing.T) {
	called := make(chan struct{}, 10)
	runs := &fakeRuns{submit: func(ctx context.Context, sub benchrig.Submission) (*benchrig.Run, error) {
		called <- struct{}{}
		return &benchrig.Run{ID: "r", Status: benchrig.RunQueued}, nil
	}}
	_, ts, _ := testServer(t, Config{MaxBody: 1024}, Deps{Runs: runs})
	big := "name: x\n# " + strings.Repeat("a", 2048) + "\n"
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			req, err := http.NewRequest("POST", ts.URL+"/api/v1/runs", strings.NewReader(big))
			if err != nil {
				t.Fatal(err)
			}
			if chunked {
				// A reader of unknown length is sent chunked, without
				// Content-Length: the limit must stop it while reading.
				req.Body = io.NopCloser(io.MultiReader(strings.NewReader(big)))
				req.ContentLength = -1
			}
			req.Header.Set("Authorization", "Bearer "+submitSecret)
			req.Header.Set("Content-Type", "application/yaml")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 413 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
		})
	}
	select {
	case <-called:
		t.Error("an oversized spec was submitted")
	default:
	}
	// Within the limit it goes through, so the 413s above are the limit's.
	resp, b := do(t, "POST", ts.URL+"/api/v1/runs", submitSecret, "application/yaml", strings.NewReader("name: x\n"))
	if resp.StatusCode != 201 {
		t.Fatalf("small spec: status %d: %s", resp.StatusCode, b)
	}
}

func TestRunsHTMLNameStaysText(t *testing.T) {
	_, ts, db := testServer(t, Config{PublicRead: true}, Deps{})
	name := `<script>alert("x")</script><b>`
	storeRun(t, db, "run-html", name, benchrig.RunFinished, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), nil)

	resp, b := do(t, "GET", ts.URL+"/api/v1/runs", "", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff: a browser could sniff the JSON as HTML")
	}
	if bytes.Contains(b, []byte("<script>")) {
		t.Errorf("raw markup in the JSON: %s", b)
	}
	var list runList
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Runs) != 1 || list.Runs[0].Spec != name {
		t.Fatalf("runs %+v, want the name %q back", list.Runs, name)
	}
	_, b = do(t, "GET", ts.URL+"/api/v1/runs/run-html", "", "", nil)
	var doc struct {
		Spec struct{ Name string } `json:"spec"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Spec.Name != name || bytes.Contains(b, []byte("<script>")) {
		t.Errorf("export spec name %q: %s", doc.Spec.Name, b)
	}
}

func TestListRuns(t *testing.T) {
	_, ts, db := testServer(t, Config{}, Deps{})
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	storeRun(t, db, "a", "sort", benchrig.RunFinished, t0, map[string]string{"branch": "main"})
	storeRun(t, db, "b", "sort", benchrig.RunFailed, t0.Add(time.Hour), map[string]string{"branch": "dev"})
	storeRun(t, db, "c", "grep", benchrig.RunFinished, t0.Add(2*time.Hour), map[string]string{"branch": "main"})

	ids := func(q string) ([]string, string) {
		t.Helper()
		resp, b := do(t, "GET", ts.URL+"/api/v1/runs?"+q, readSecret, "", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", q, resp.StatusCode, b)
		}
		var l runList
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range l.Runs {
			out = append(out, r.ID)
		}
		return out, l.Next
	}
	for _, c := range []struct {
		name, q string
		want    []string
	}{
		{"all, newest first", "", []string{"c", "b", "a"}},
		{"by spec", "spec=sort", []string{"b", "a"}},
		{"by status", "status=failed", []string{"b"}},
		{"statuses as a list", "status=failed,finished&spec=sort", []string{"b", "a"}},
		{"statuses repeated", "status=failed&status=finished&spec=grep", []string{"c"}},
		{"by label", "label=branch%3Dmain", []string{"c", "a"}},
		{"by arch", "arch=amd64&spec=grep", []string{"c"}},
		{"since", "since=" + url.QueryEscape(t0.Add(30*time.Minute).Format(time.RFC3339)), []string{"c", "b"}},
		{"until", "until=" + url.QueryEscape(t0.Add(30*time.Minute).Format(time.RFC3339)), []string{"a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, _ := ids(c.q)
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	t.Run("paging", func(t *testing.T) {
		var all []string
		q := "limit=2"
		for range 5 {
			page, next := ids(q)
			all = append(all, page...)
			if next == "" {
				break
			}
			q = "limit=2&cursor=" + url.QueryEscape(next)
		}
		if !slices.Equal(all, []string{"c", "b", "a"}) {
			t.Errorf("pages gave %v", all)
		}
	})
	for _, c := range []struct{ q, param string }{
		{"status=bogus", "status"},
		{"since=yesterday", "since"},
		{"until=2026-13-01", "until"},
		{"limit=0", "limit"},
		{"limit=many", "limit"},
		{"label=nokey", "label"},
		{"cursor=%21%21", ""},
	} {
		t.Run("bad "+c.q, func(t *testing.T) {
			resp, b := do(t, "GET", ts.URL+"/api/v1/runs?"+c.q, readSecret, "", nil)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			e := decodeError(t, b)
			if c.param != "" && (len(e.Error.Errors) != 1 || e.Error.Errors[0].Field != c.param) {
				t.Errorf("errors %+v, want one naming %q", e.Error.Errors, c.param)
			}
		})
	}
}

func TestGetRunIsTheExport(t *testing.T) {
	_, ts, db := testServer(t, Config{}, Deps{})
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	run := storeRun(t, db, "run-1", "sort", benchrig.RunRunning, t0, nil)
	trials := []benchrig.Trial{
		{RunID: run.ID, CaseID: run.Cases[0].ID, Seq: 0, Index: 0, Number: 1, Node: "local", Outcome: benchrig.OutcomeOK,
			Measurement: benchrig.Measurement{Start: t0, Wall: time.Second, ExitCode: 0}},
		{RunID: run.ID, CaseID: run.Cases[1].ID, Seq: 1, Index: 0, Number: 1, Node: "local", Outcome: benchrig.OutcomeOK,
			Measurement: benchrig.Measurement{Start: t0.Add(time.Second), Wall: 2 * time.Second, ExitCode: 0}},
	}
	if err := db.AddTrials(context.Background(), trials); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishRun(context.Background(), run.ID, benchrig.RunFinished, t0.Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	stored, err := db.GetRun(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := reports.WriteJSON(&want, reports.Build(stored)); err != nil {
		t.Fatal(err)
	}
	resp, b := do(t, "GET", ts.URL+"/api/v1/runs/run-1", readSecret, "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if !bytes.Equal(b, want.Bytes()) {
		t.Errorf("the API's run differs from the export:\n%s\nwant\n%s", b, want.Bytes())
	}

	t.Run("queued, no trials yet", func(t *testing.T) {
		storeRun(t, db, "run-q", "sort", benchrig.RunQueued, time.Time{}, nil)
		resp, b := do(t, "GET", ts.URL+"/api/v1/runs/run-q", readSecret, "", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if doc["status"] != "queued" || doc["run_id"] != "run-q" {
			t.Errorf("queued run: %s", b)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		resp, b := do(t, "GET", ts.URL+"/api/v1/runs/nope", readSecret, "", nil)
		if resp.StatusCode != 404 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
	})
}

func TestCancelRun(t *testing.T) {
	runs := &fakeRuns{cancel: func(ctx context.Context, id string) error {
		switch id {
		case "ended":
			return &benchrig.Error{Code: benchrig.EInvalid, Msg: "run ended already (finished)"}
		case "run-1":
			return nil
		}
		return &benchrig.Error{Code: benchrig.ENotFound, Msg: "no run " + id}
	}}
	_, ts, db := testServer(t, Config{}, Deps{Runs: runs})
	storeRun(t, db, "run-1", "sort", benchrig.RunCancelled, time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), nil)
	for _, c := range []struct {
		id     string
		want   int
		status benchrig.RunStatus
	}{{"run-1", 202, benchrig.RunCancelled}, {"ended", 409, ""}, {"gone", 404, ""}} {
		resp, b := do(t, "POST", ts.URL+"/api/v1/runs/"+c.id+"/cancel", submitSecret, "", nil)
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d: %s", c.id, resp.StatusCode, c.want, b)
			continue
		}
		if c.status != "" {
			var ans cancelled
			if err := json.Unmarshal(b, &ans); err != nil || ans.Status != c.status || ans.ID != c.id {
				t.Errorf("%s: answer %s (%v)", c.id, b, err)
			}
		}
	}
}

// eventsOf is a run's recorded events: started, three trials, finished.
func eventsOf(run string) []benchrig.Event {
	kinds := []benchrig.EventKind{benchrig.EventRunStarted, benchrig.EventTrialStarted, benchrig.EventTrialFinished,
		benchrig.EventTrialStarted, benchrig.EventTrialFinished, benchrig.EventRunFinished}
	var out []benchrig.Event
	for i, k := range kinds {
		out = append(out, benchrig.Event{Run: run, Seq: int64(i + 1), Kind: k, Time: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), Msg: `<b>"quoted"</b>`})
	}
	return out
}

// replayRuns watches by replaying eventsOf(id) after `after`, closing
// after run-finished as the queue's Watch does.
func replayRuns() *fakeRuns {
	return &fakeRuns{watch: func(ctx context.Context, id string, after int64) (<-chan benchrig.Event, error) {
		if id != "run-1" {
			return nil, &benchrig.Error{Code: benchrig.ENotFound, Msg: "no run " + id}
		}
		ch := make(chan benchrig.Event)
		go func() {
			defer close(ch)
			for _, ev := range eventsOf(id) {
				if ev.Seq <= after {
					continue
				}
				select {
				case ch <- ev:
				case <-ctx.Done():
					return
				}
			}
		}()
		return ch, nil
	}}
}

type sseEvent struct {
	id, event, data string
}

// readSSE reads a stream to its end.
func readSSE(t *testing.T, r io.Reader) (events []sseEvent, comments int) {
	t.Helper()
	sc := bufio.NewScanner(r)
	var cur sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur != (sseEvent{}) {
				events = append(events, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, ":"):
			comments++
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		case strings.HasPrefix(line, "retry: "):
		default:
			t.Errorf("unexpected line %q", line)
		}
	}
	return events, comments
}

// getEvents opens an event stream with a read token, resuming after
// lastID when it is not "".
func getEvents(t *testing.T, u, lastID string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+readSecret)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestRunEventsResume(t *testing.T) {
	_, ts, _ := testServer(t, Config{}, Deps{Runs: replayRuns()})
	for _, c := range []struct {
		name   string
		header string
		query  string
		first  int64
	}{
		{"from the start", "", "", 1},
		{"Last-Event-ID", "2", "", 3},
		{"after", "", "?after=4", 5},
		{"the header wins", "5", "?after=1", 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := getEvents(t, ts.URL+"/api/v1/runs/run-1/events"+c.query, c.header)
			defer resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("status %d, %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			events, _ := readSSE(t, resp.Body)
			all := eventsOf("run-1")
			want := all[c.first-1:]
			if len(events) != len(want)+1 {
				t.Fatalf("got %d events, want %d and end: %+v", len(events), len(want), events)
			}
			for i, w := range want {
				var got benchrig.Event
				if err := json.Unmarshal([]byte(events[i].data), &got); err != nil {
					t.Fatal(err)
				}
				if events[i].id != fmt.Sprint(w.Seq) || events[i].event != w.Kind.String() || got.Seq != w.Seq || got.Msg != w.Msg {
					t.Errorf("event %d: %+v, want seq %d %s", i, events[i], w.Seq, w.Kind)
				}
			}
			if end := events[len(events)-1]; end.event != "end" || end.id != "" {
				t.Errorf("last event %+v, want end", end)
			}
		})
	}
	for _, c := range []struct{ name, header, query string }{{"bad header", "x", ""}, {"bad after", "", "?after=-1"}} {
		t.Run(c.name, func(t *testing.T) {
			resp := getEvents(t, ts.URL+"/api/v1/runs/run-1/events"+c.query, c.header)
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	resp, b := do(t, "GET", ts.URL+"/api/v1/runs/nope/events", readSecret, "", nil)
	if resp.StatusCode != 404 {
		t.Errorf("unknown run: status %d: %s", resp.StatusCode, b)
	}
}

func TestRunEventsStopWhenClientLeaves(t *testing.T) {
	watching := make(chan struct{})
	stopped := make(chan struct{})
	runs := &fakeRuns{watch: func(ctx context.Context, id string, after int64) (<-chan benchrig.Event, error) {
		ch := make(chan benchrig.Event, 1)
		ch <- benchrig.Event{Run: id, Seq: 1, Kind: benchrig.EventRunStarted}
		go func() {
			close(watching)
			<-ctx.Done() // a live run: nothing more until the watcher goes
			close(stopped)
		}()
		return ch, nil
	}}
	_, ts, _ := testServer(t, Config{}, Deps{Runs: runs})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/v1/runs/run-1/events", nil)
	req.Header.Set("Authorization", "Bearer "+readSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before the first event: %v", err)
		}
		if line == "id: 1\n" {
			break
		}
	}
	<-watching
	select {
	case <-stopped:
		t.Fatal("the watch stopped while the client was still there")
	default:
	}
	cancel() // the client goes away
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("the watch went on after the client left")
	}
}

func TestRunEventsKeepAlive(t *testing.T) {
	release := make(chan struct{})
	runs := &fakeRuns{watch: func(ctx context.Context, id string, after int64) (<-chan benchrig.Event, error) {
		ch := make(chan benchrig.Event)
		go func() {
			defer close(ch)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}()
		return ch, nil
	}}
	s := New(Config{Tokens: testTokens}, Deps{Runs: runs})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.SetPathValue("id", "run-1")
		s.streamEvents(w, r, 5*time.Millisecond)
	}))
	defer ts.Close()
	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	comments := 0
	for comments < 2 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		if strings.HasPrefix(line, ":") {
			comments++
		}
	}
	close(release) // the watch ends without run-finished: the stream still ends
	events, _ := readSSE(t, br)
	if len(events) != 1 || events[0].event != "end" {
		t.Errorf("after the watch closed: %+v, want end", events)
	}
}

func TestPoolsAndHealth(t *testing.T) {
	var gotRefresh []bool
	var mu sync.Mutex
	pools := &fakePools{pools: func(ctx context.Context, refresh bool) ([]benchrig.PoolStatus, error) {
		mu.Lock()
		gotRefresh = append(gotRefresh, refresh)
		mu.Unlock()
		return []benchrig.PoolStatus{{Name: "lab", Limit: 2, Policy: benchrig.PoolPolicy{HostMounts: []string{"/data"}},
			Nodes: []benchrig.NodeStatus{{Name: "n1", Healthy: true}}}}, nil
	}}
	readyErr := error(nil)
	ready := func(ctx context.Context) error { mu.Lock(); defer mu.Unlock(); return readyErr }
	_, ts, _ := testServer(t, Config{}, Deps{Pools: pools, Ready: ready})

	for _, q := range []string{"", "?refresh=1"} {
		resp, b := do(t, "GET", ts.URL+"/api/v1/pools"+q, readSecret, "", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		var ans struct{ Pools []benchrig.PoolStatus }
		if err := json.Unmarshal(b, &ans); err != nil || len(ans.Pools) != 1 || ans.Pools[0].Policy.HostMounts[0] != "/data" {
			t.Errorf("pools %s (%v)", b, err)
		}
	}
	if !slices.Equal(gotRefresh, []bool{false, true}) {
		t.Errorf("refresh %v", gotRefresh)
	}
	if resp, _ := do(t, "GET", ts.URL+"/api/v1/pools?refresh=maybe", readSecret, "", nil); resp.StatusCode != 400 {
		t.Errorf("bad refresh: status %d", resp.StatusCode)
	}

	resp, b := do(t, "GET", ts.URL+"/healthz", "", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"ok"`) {
		t.Errorf("healthy: %d %s", resp.StatusCode, b)
	}
	mu.Lock()
	readyErr = fmt.Errorf("store: database is locked")
	mu.Unlock()
	resp, b = do(t, "GET", ts.URL+"/healthz", "", "", nil)
	var h map[string]string
	if err := json.Unmarshal(b, &h); err != nil || resp.StatusCode != 503 || h["reason"] != "store: database is locked" {
		t.Errorf("unhealthy: %d %s", resp.StatusCode, b)
	}
}

// TestSecurityHeadersOnEveryRoute requests every route, authorized and
// not, and checks the CSP is on every answer.
func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	runs := replayRuns()
	runs.submit = func(ctx context.Context, sub benchrig.Submission) (*benchrig.Run, error) {
		return &benchrig.Run{ID: "run-1", Status: benchrig.RunQueued}, nil
	}
	runs.cancel = func(ctx context.Context, id string) error { return nil }
	s, ts, _ := testServer(t, Config{}, Deps{Runs: runs})
	for _, rt := range s.Routes() {
		path := strings.NewReplacer("{id}", "run-1", "{key}", "k", "{$}", "").Replace(rt.Pattern)
		switch {
		case path == "/static/":
			path += "style.css"
		case path == "/":
			path = "/no/such/page"
		}
		for _, tok := range []string{"", submitSecret} {
			resp, _ := do(t, rt.Method, ts.URL+path, tok, "application/yaml", strings.NewReader("name: x\n"))
			if got := resp.Header.Get("Content-Security-Policy"); got != contentSecurityPolicy {
				t.Errorf("%s %s (token %v): status %d, CSP %q", rt.Method, rt.Pattern, tok != "", resp.StatusCode, got)
			}
		}
	}
}
