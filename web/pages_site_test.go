package web

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/sqlite"
)

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// siteDo sends a request with token (or none) and returns the answer, read.
func siteDo(t *testing.T, method, u, token string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// siteRun records a run of spec in db.
func siteRun(t *testing.T, db *sqlite.DB, id, spec string, status benchrig.RunStatus, started time.Time, labels map[string]string) *benchrig.Run {
	t.Helper()
	run := &benchrig.Run{
		ID: id, SpecName: spec, SpecHash: "h-" + spec, SpecFile: "spec.yaml",
		SpecSource: []byte("name: " + spec + "\ncommand: sleep 0\n"), Status: status, Started: started, Labels: labels,
		Overrides:   []string{"--set n=1,2", "--pool lab"},
		Fingerprint: benchrig.Fingerprint{Hostname: "bench1", OS: "linux", Arch: "amd64", CPUs: 2},
		Nodes:       []benchrig.NodeFacts{{Name: "node-a", Arch: "arm64"}},
		Cases:       benchrig.Matrix([]benchrig.Param{{Name: "n", Values: []string{"1", "2"}}}),
	}
	if status != benchrig.RunRunning && status != benchrig.RunQueued {
		run.Finished = started.Add(90 * time.Second)
	}
	if err := db.CreateRun(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	return run
}

// sitePools is a fake Pools.
type sitePools struct {
	pools []benchrig.PoolStatus
	err   error
}

var _ Pools = (*sitePools)(nil)

func (f *sitePools) Pools(ctx context.Context, refresh bool) ([]benchrig.PoolStatus, error) {
	return f.pools, f.err
}

// siteSchedules is a fake Schedules that lists its schedules.
type siteSchedules struct{ list []benchrig.Schedule }

var _ Schedules = (*siteSchedules)(nil)

func (f *siteSchedules) List(ctx context.Context) ([]benchrig.Schedule, error) { return f.list, nil }
func (f *siteSchedules) Get(ctx context.Context, id string) (*benchrig.Schedule, error) {
	return nil, benchrig.Errorf(benchrig.ENotFound, "no schedule %s", id)
}
func (f *siteSchedules) Create(ctx context.Context, s benchrig.Schedule) (*benchrig.Schedule, error) {
	return nil, benchrig.Errorf(benchrig.EInvalid, "read-only fake")
}
func (f *siteSchedules) Update(ctx context.Context, id string, p benchrig.SchedulePatch) (*benchrig.Schedule, error) {
	return nil, benchrig.Errorf(benchrig.EInvalid, "read-only fake")
}
func (f *siteSchedules) Delete(ctx context.Context, id string) error {
	return benchrig.Errorf(benchrig.EInvalid, "read-only fake")
}

const htmlName = `<script>alert(1)</script>`

// A spec name (and a node, pool and schedule name) with HTML in it shows
// as text on every page of the site: the runs list, its polled rows, the
// pools, the schedules and a shared run and comparison.
func TestSitePagesEscapeHTML(t *testing.T) {
	started := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	pools := &sitePools{pools: []benchrig.PoolStatus{{
		Name: htmlName, Limit: 2, Running: []string{htmlName}, Queued: 1,
		Policy: benchrig.PoolPolicy{HostMounts: []string{htmlName}},
		Nodes: []benchrig.NodeStatus{{Name: htmlName, Host: htmlName, Healthy: false, Error: htmlName,
			Checked: started, Running: []string{htmlName},
			Facts: &benchrig.NodeFacts{Name: htmlName, Arch: htmlName, OS: htmlName, CPUs: 4,
				Accelerators: &benchrig.Accelerators{GPUs: []benchrig.GPU{{Name: htmlName}}}}}},
	}}}
	scheds := &siteSchedules{list: []benchrig.Schedule{{ID: "s1", Name: htmlName, Cron: htmlName, TimeZone: "Europe/Paris",
		Enabled: true, LastRun: htmlName, LastTime: started, Next: started.Add(time.Hour),
		History: []benchrig.ScheduleFiring{{Time: started, Skipped: htmlName}}}}}
	_, ts, db := testServer(t, Config{PublicRead: true}, Deps{Pools: pools, Schedules: scheds})
	a := siteRun(t, db, "run-a", htmlName, benchrig.RunFinished, started, nil)
	b := siteRun(t, db, "run-b", htmlName, benchrig.RunRunning, started.Add(time.Hour), nil)
	ctx := context.Background()
	runKey, err := db.Share(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	cmpKey, err := db.Share(ctx, compareWhat(a.ID, b.ID))
	if err != nil {
		t.Fatal(err)
	}

	for _, path := range []string{"/runs", "/runs?part=rows", "/runs?spec=" + url.QueryEscape(htmlName), "/pools", "/schedules",
		"/s/" + runKey, "/s/" + cmpKey} {
		t.Run(path, func(t *testing.T) {
			resp, body := siteDo(t, "GET", ts.URL+path, "", nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if strings.Contains(body, "<script>alert") {
				t.Errorf("the name is markup on the page:\n%s", body)
			}
			if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("the name is not shown as text:\n%s", body)
			}
		})
	}
}

// The runs list shows each run's status, spec, time, nodes and verdict,
// filters by the form's fields, pages by cursor, and asks app.js to poll
// its rows only while a run on it is queued or running.
func TestRunsList(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	_, ts, db := testServer(t, Config{PublicRead: true}, Deps{Now: func() time.Time { return now }})
	for i := range 55 {
		siteRun(t, db, fmt.Sprintf("old-%02d", i), "sort", benchrig.RunFinished, now.Add(-time.Duration(100-i)*time.Hour), map[string]string{"branch": "main"})
	}
	siteRun(t, db, "fails", "grep", benchrig.RunFailed, now.Add(-10*time.Minute), map[string]string{"branch": "dev"})

	_, body := siteDo(t, "GET", ts.URL+"/runs", "", nil)
	for _, want := range []string{`href="/runs/fails"`, ">grep<", "10 min ago", "node-a (arm64)", "0 of 0 trials failed", "took 1 min 30 s", `rel="next"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	if strings.Contains(body, "data-poll=") {
		t.Error("the list polls though no run is active")
	}
	if got := strings.Count(body, `<td class="spec">`); got != 50 {
		t.Errorf("%d rows on the first page, want 50", got)
	}

	// The next page, then the end.
	i := strings.Index(body, `rel="next"`)
	j := strings.LastIndex(body[:i], `href="`)
	next := strings.ReplaceAll(body[j+len(`href="`):i-2], "&amp;", "&")
	_, page2 := siteDo(t, "GET", ts.URL+next, "", nil)
	if n := strings.Count(page2, `<td class="spec">`); n != 6 {
		t.Errorf("%d rows on the second page, want 6", n)
	}
	if strings.Contains(page2, `rel="next"`) || !strings.Contains(page2, "newest") {
		t.Error("the last page links further, or not back to the newest")
	}

	for _, tt := range []struct {
		name, query string
		rows        int
	}{
		{"spec", "spec=grep", 1},
		{"status", "status=failed", 1},
		{"label", "label=branch%3Ddev", 1},
		{"label and spec", "label=branch%3Dmain&spec=grep", 0},
		{"arch", "arch=arm64", 50},
		{"node", "node=node-zz", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := siteDo(t, "GET", ts.URL+"/runs?"+tt.query, "", nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if n := strings.Count(body, `<td class="spec">`); n != tt.rows {
				t.Errorf("%d rows, want %d", n, tt.rows)
			}
		})
	}

	resp, body := siteDo(t, "GET", ts.URL+"/runs?label=nokey", "", nil)
	if resp.StatusCode != 400 || !strings.Contains(body, "label") || !strings.Contains(body, "key=value") {
		t.Errorf("a bad label filter: %d %s", resp.StatusCode, body)
	}

	// A running run makes the page poll its rows, which come alone.
	siteRun(t, db, "live", "sort", benchrig.RunRunning, now.Add(-time.Minute), nil)
	_, body = siteDo(t, "GET", ts.URL+"/runs?spec=sort", "", nil)
	if !strings.Contains(body, `data-poll="/runs?part=rows&amp;spec=sort"`) {
		t.Errorf("no poll of the rows with the filter:\n%s", body)
	}
	resp, rows := siteDo(t, "GET", ts.URL+"/runs?part=rows&spec=sort", "", nil)
	if resp.StatusCode != 200 || strings.Contains(rows, "<html") || !strings.Contains(rows, "<tr data-active") || !strings.Contains(rows, "so far") {
		t.Errorf("the rows part: %d\n%s", resp.StatusCode, rows)
	}
}

// The runs list needs a read token unless reads are public: a browser
// without one goes to the login page, which sends it back.
func TestRunsListNeedsLogin(t *testing.T) {
	_, ts, _ := testServer(t, Config{}, Deps{})
	resp, _ := siteDo(t, "GET", ts.URL+"/runs?spec=a", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next="+url.QueryEscape("/runs?spec=a") {
		t.Fatalf("without a token: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := siteDo(t, "GET", ts.URL+"/login?next="+url.QueryEscape("/runs?spec=a"), "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `name="next" value="/runs?spec=a"`) {
		t.Fatalf("the login page: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = siteDo(t, "GET", ts.URL+"/", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/runs" {
		t.Errorf("/ goes to %d %q, want /runs", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func postLogin(t *testing.T, h http.Handler, token, next string, tlsConn bool) *http.Response {
	t.Helper()
	form := url.Values{"token": {token}, "next": {next}}
	req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if tlsConn {
		req.TLS = &tls.ConnectionState{}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

// Logging in sets the token cookie HttpOnly, SameSite=Strict, on / and
// Secure over TLS, and goes to next only when it is a local path.
func TestLogin(t *testing.T) {
	s, ts, _ := testServer(t, Config{}, Deps{})
	h := s.Handler()

	resp := postLogin(t, h, readSecret, "/runs?spec=a", false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/runs?spec=a" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cs := resp.Cookies()
	if len(cs) != 1 {
		t.Fatalf("cookies %v", cs)
	}
	c := cs[0]
	if c.Name != tokenCookie || c.Value != readSecret || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
		t.Errorf("cookie %+v", c)
	}
	if c := postLogin(t, h, readSecret, "/runs", true).Cookies()[0]; !c.Secure {
		t.Errorf("over TLS the cookie is not Secure: %+v", c)
	}

	// The cookie opens the dashboards.
	req, _ := http.NewRequest("GET", ts.URL+"/runs", nil)
	req.AddCookie(c)
	if r, err := noRedirects.Do(req); err != nil || r.StatusCode != 200 {
		t.Fatalf("with the cookie: %v %v", r, err)
	}

	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
		"javascript:alert(1)", "evil.example", "/\t/evil.example", "http:/evil.example", ""} {
		resp := postLogin(t, h, readSecret, next, false)
		if loc := resp.Header.Get("Location"); loc != "/runs" {
			t.Errorf("next %q: sent to %q, want /runs", next, loc)
		}
	}

	resp = postLogin(t, h, "not-a-token", "/runs", false)
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Errorf("a wrong token: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "unknown token") {
		t.Errorf("a wrong token's page: %s", b)
	}

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/logout", nil))
	if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].Name != tokenCookie || cs[0].MaxAge >= 0 {
		t.Errorf("logout cookies %+v", cs)
	}
}

// Sharing a run gives a stable link that needs no token; unsharing kills
// it; sharing needs a submit token; a private run is never reachable
// through /s/, whatever the key.
func TestShareRun(t *testing.T) {
	_, ts, db := testServer(t, Config{BaseURL: "https://bench.example/"}, Deps{})
	started := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	run := siteRun(t, db, "run-shared-1", "sort", benchrig.RunFinished, started, nil)
	private := siteRun(t, db, "run-private-1", "secret-spec", benchrig.RunFinished, started, nil)
	base := siteRun(t, db, "run-base-1", "sort", benchrig.RunFinished, started.Add(-time.Hour), nil)

	share := func(method, path, token, body string) (int, shared) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		resp, b := siteDo(t, method, ts.URL+path, token, rd)
		var sh shared
		if resp.StatusCode == 200 {
			if err := json.Unmarshal([]byte(b), &sh); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
		}
		return resp.StatusCode, sh
	}

	if st, _ := share("POST", "/api/v1/runs/run-shared-1/share", "", ""); st != 401 {
		t.Errorf("sharing without a token: %d", st)
	}
	if st, _ := share("POST", "/api/v1/runs/run-shared-1/share", readSecret, ""); st != 403 {
		t.Errorf("sharing with a read token: %d", st)
	}
	if st, _ := share("POST", "/api/v1/runs/nope/share", submitSecret, ""); st != 404 {
		t.Errorf("sharing an unknown run: %d", st)
	}
	st, sh := share("POST", "/api/v1/runs/run-shared-1/share", submitSecret, "")
	if st != 200 || sh.Key == "" || sh.URL != "https://bench.example/s/"+sh.Key {
		t.Fatalf("share: %d %+v", st, sh)
	}
	if _, again := share("POST", "/api/v1/runs/run-shared-1/share", submitSecret, ""); again != sh {
		t.Errorf("sharing again gave %+v, want %+v", again, sh)
	}

	resp, body := siteDo(t, "GET", ts.URL+"/s/"+sh.Key, "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("the shared page: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{"run-shared-1", "Run it yourself", "benchrig run spec.yaml --set n=1,2", "command: sleep 0",
		`href="/s/` + sh.Key + `/spec.yaml"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the shared page lacks %q", want)
		}
	}
	for _, private := range []string{`href="/"`, `href="/runs`, `href="/pools`, `href="/submit`, "--pool"} {
		if strings.Contains(body, private) {
			t.Errorf("the shared page shows %q", private)
		}
	}
	resp, spec := siteDo(t, "GET", ts.URL+"/s/"+sh.Key+"/spec.yaml", "", nil)
	if resp.StatusCode != 200 || spec != string(run.SpecSource) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/yaml") {
		t.Errorf("spec.yaml: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), spec)
	}

	// A comparison is shared on its own.
	st, csh := share("POST", "/api/v1/compare/share", submitSecret, `{"a":"run-base-1","b":"run-shared-1"}`)
	if st != 200 || csh.Key == sh.Key {
		t.Fatalf("compare share: %d %+v", st, csh)
	}
	resp, body = siteDo(t, "GET", ts.URL+"/s/"+csh.Key, "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "two runs compared") || !strings.Contains(body, base.ID) {
		t.Errorf("the shared comparison: %d\n%s", resp.StatusCode, body)
	}
	if st, _ := share("POST", "/api/v1/compare/share", submitSecret, `{"a":"run-base-1"}`); st != 400 {
		t.Errorf("a comparison without b: %d", st)
	}

	// Revoked: the link is dead, sharing anew makes another.
	if resp, _ := siteDo(t, "DELETE", ts.URL+"/api/v1/runs/run-shared-1/share", submitSecret, nil); resp.StatusCode != 204 {
		t.Fatalf("unshare: %d", resp.StatusCode)
	}
	for _, p := range []string{"/s/" + sh.Key, "/s/" + sh.Key + "/spec.yaml"} {
		if resp, _ := siteDo(t, "GET", ts.URL+p, "", nil); resp.StatusCode != 404 {
			t.Errorf("%s after unsharing: %d", p, resp.StatusCode)
		}
	}
	if _, renewed := share("POST", "/api/v1/runs/run-shared-1/share", submitSecret, ""); renewed.Key == sh.Key || renewed.Key == "" {
		t.Errorf("sharing after a revoke gave the old key")
	}
	if resp, _ := siteDo(t, "DELETE", ts.URL+"/api/v1/compare/share", submitSecret, strings.NewReader(`{"a":"run-base-1","b":"run-shared-1"}`)); resp.StatusCode != 204 {
		t.Errorf("unshare the comparison: %d", resp.StatusCode)
	}
	if resp, _ := siteDo(t, "GET", ts.URL+"/s/"+csh.Key, "", nil); resp.StatusCode != 404 {
		t.Errorf("the comparison after unsharing: %d", resp.StatusCode)
	}

	// The private run: not by its ID, not by a made-up key, and not by a
	// share that names a part of its ID (the store resolves parts of IDs;
	// a share must not).
	ctx := context.Background()
	partKey, err := db.Share(ctx, "run-private")
	if err != nil {
		t.Fatal(err)
	}
	latestKey, err := db.Share(ctx, "latest")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{private.ID, "AAAAAAAAAAAAAAAAAAAAAA", partKey, latestKey, url.PathEscape(private.ID + "/spec.yaml")} {
		for _, p := range []string{"/s/" + key, "/s/" + key + "/spec.yaml"} {
			resp, body := siteDo(t, "GET", ts.URL+p, "", nil)
			if resp.StatusCode != 404 || strings.Contains(body, "secret-spec") {
				t.Errorf("%s: %d %s", p, resp.StatusCode, body)
			}
		}
	}
}

// Pages of parts the server runs without say so instead of failing.
func TestSitePagesWithoutParts(t *testing.T) {
	_, ts, _ := testServer(t, Config{PublicRead: true}, Deps{})
	for path, want := range map[string]string{
		"/pools":     "No pools configured",
		"/schedules": "This server runs no schedules",
		"/submit":    "This server does not queue runs",
	} {
		resp, body := siteDo(t, "GET", ts.URL+path, "", nil)
		if resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want %q in\n%s", path, resp.StatusCode, want, body)
		}
	}
	if resp, _ := siteDo(t, "POST", ts.URL+"/api/v1/runs/x/share", submitSecret, nil); resp.StatusCode != 404 {
		// Shares default to the store here: an unknown run is 404.
		t.Errorf("share of an unknown run: %d", resp.StatusCode)
	}
}

// The pools page shows the pools' nodes, health, limits and what runs
// where; the schedules page the cron, time zone, next time and skips.
func TestPoolsAndSchedulesPages(t *testing.T) {
	checked := time.Date(2026, 12, 6, 11, 59, 0, 0, time.UTC)
	pools := &sitePools{pools: []benchrig.PoolStatus{{
		Name: "lab", Limit: 2, Running: []string{"run-7"}, Queued: 3,
		Nodes: []benchrig.NodeStatus{
			{Name: "n1", Host: "tcp://10.0.0.1:2375", Healthy: true, Checked: checked, Running: []string{"run-7/n=1#2"},
				Facts: &benchrig.NodeFacts{Arch: "arm64", EngineArch: "amd64", OS: "linux", Kernel: "6.1", CPUs: 8, MemoryBytes: 16 << 30,
					Accelerators: &benchrig.Accelerators{Source: benchrig.AccelPools, GPUs: []benchrig.GPU{{Index: 0}, {Index: 1}}}}},
			{Name: "n2", Host: "tcp://10.0.0.2:2375", Healthy: false, Error: "connection refused", Checked: checked},
		},
	}}}
	scheds := &siteSchedules{list: []benchrig.Schedule{{ID: "s1", Name: "nightly", Cron: "0 3 * * *", TimeZone: "Europe/Paris",
		Enabled: true, LastRun: "run-7", LastTime: time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC), Next: time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC),
		History: []benchrig.ScheduleFiring{{Time: time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC), Skipped: "the previous run was still going"}}}}}
	_, ts, _ := testServer(t, Config{PublicRead: true}, Deps{Pools: pools, Schedules: scheds, Now: func() time.Time { return checked.Add(time.Minute) }})
	_, body := siteDo(t, "GET", ts.URL+"/pools", "", nil)
	for _, want := range []string{"lab", "At most <strong>2</strong> runs", "3 queued", `href="/runs/run-7"`, "arm64 (emulated on amd64)",
		"healthy", "down", "connection refused", "17.2 GB", "run-7/n=1#2", "checked 1 min ago", "nothing privileged",
		"2 x GPU (pools file)"} {
		if !strings.Contains(body, want) {
			t.Errorf("pools page lacks %q", want)
		}
	}
	_, body = siteDo(t, "GET", ts.URL+"/schedules", "", nil)
	for _, want := range []string{"nightly", "0 3 * * *", "Europe/Paris", "enabled", `href="/runs/run-7"`,
		"2026-12-06 03:00 CET", "2026-12-07 03:00 CET", "the previous run was still going", "if still running: skip"} {
		if !strings.Contains(body, want) {
			t.Errorf("schedules page lacks %q", want)
		}
	}
	pools.err = benchrig.Errorf(benchrig.EInvalid, "pools file: bad")
	_, body = siteDo(t, "GET", ts.URL+"/pools", "", nil)
	if !strings.Contains(body, "pools file: bad") {
		t.Errorf("pools error not shown:\n%s", body)
	}
}

// BenchmarkRunsPage measures GET /runs (a page of 50 of 2,000 runs) and
// its polled rows, served from a real store.
func BenchmarkRunsPage(b *testing.B) {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "runs.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	for i := range 2000 {
		run := &benchrig.Run{ID: fmt.Sprintf("run-%05d", i), SpecName: fmt.Sprintf("spec-%d", i%7), SpecHash: "h", SpecFile: "s.yaml",
			Status: benchrig.RunFinished, Started: now.Add(-time.Duration(i) * time.Minute), Finished: now.Add(-time.Duration(i)*time.Minute + time.Second),
			Nodes: []benchrig.NodeFacts{{Name: "n1", Arch: "amd64"}, {Name: "n2", Arch: "arm64"}}}
		if err := db.CreateRun(context.Background(), run); err != nil {
			b.Fatal(err)
		}
	}
	s := New(Config{PublicRead: true}, Deps{Store: db, Shares: db})
	h := s.Handler()
	for _, path := range []string{"/runs", "/runs?part=rows", "/runs?spec=spec-3"} {
		b.Run(path, func(b *testing.B) {
			var n int
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
				n = w.Body.Len()
			}
			b.ReportMetric(float64(n), "bytes/page")
		})
	}
}
