package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/profiling"
	"github.com/benchrig/benchrig/sqlite"
)

// evilProcess is a process name (a frame) with markup in it: it must stay
// text in the pages and the SVGs.
const evilProcess = `<script>alert("frame")</script>`

// profiledCases are two cases whose names have markup in them.
func profiledCases() []testCase {
	return []testCase{
		{params: []benchrig.KV{{Name: "impl", Value: "gnu"}}, walls: sweepCases(1)[0].walls},
		{params: []benchrig.KV{{Name: "impl", Value: `<b>bb</b>`}}, walls: sweepCases(1)[3].walls},
	}
}

// recordProfiledRun records a run of profiledCases with a profile of each
// case in two trials: the pipeline fixture (real perf output, folded) and
// a stack of evilProcess; slow multiplies sort's samples.
func recordProfiledRun(t testing.TB, db *sqlite.DB, id string, started time.Time, slow int64) *benchrig.Run {
	t.Helper()
	run := recordRun(t, db, id, "pipe", started, benchrig.RunFinished, profiledCases())
	f, err := os.Open("../profiling/testdata/pipeline.folded")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fixture, err := profiling.ReadFolded(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range run.Cases {
		for rep := range 2 {
			st := map[string]int64{evilProcess + ";main;<img src=x onerror=alert(1)>": 5}
			for k, v := range fixture {
				if strings.HasPrefix(k, "sort;") {
					v *= slow
				}
				st[k] = v
			}
			p := &benchrig.TrialProfile{Run: id, Case: c.ID, Rep: 7 + rep, Event: "cpu-clock", Freq: 99, Lost: 1,
				Duration: 300 * time.Millisecond, Stacks: st}
			if err := db.AddProfile(context.Background(), p); err != nil {
				t.Fatal(err)
			}
		}
	}
	return run
}

func TestProfileRoutes(t *testing.T) {
	db := openStore(t)
	run := recordProfiledRun(t, db, "p1", runT0, 1)
	recordProfiledRun(t, db, "p2", runT0.Add(time.Hour), 3)
	recordRun(t, db, "plain", "pipe", runT0, benchrig.RunFinished, profiledCases())
	gnu, evil := run.Cases[0].ID, run.Cases[1].ID
	h := publicServer(Deps{Store: db, Profiles: db}).Handler()
	svg, pb := "image/svg+xml", "application/octet-stream"
	for _, tc := range []struct {
		name, path string
		code       int
		ctype      string
		want       []string
	}{
		{"flame graph", profileURL("p1", gnu, ".svg"), 200, svg, []string{`href="/static/flame.js"`, "2 trial(s)", "&lt;script&gt;"}},
		{"flame graph of a case named with markup", profileURL("p1", evil, ".svg"), 200, svg, []string{"&lt;b&gt;bb&lt;/b&gt;"}},
		{"flame graph by the case's label", "/runs/p1/profile/impl=gnu.svg", 200, svg, nil},
		{"pprof", profileURL("p1", gnu, ".pb.gz"), 200, pb, []string{"\x1f\x8b"}},
		{"pprof, other name", profileURL("p1", gnu, ".pprof"), 200, pb, []string{"\x1f\x8b"}},
		{"folded stacks", profileURL("p1", gnu, ".folded"), 200, "text/plain; charset=utf-8", []string{"sort;"}},
		{"diff of two cases of a run", diffURL("p1", gnu, "p1", evil), 200, svg, []string{`href="/static/flame.js"`, "normalised by total samples"}},
		{"diff of a case across runs", diffURL("p1", gnu, "p2", gnu), 200, svg, []string{"of run p2"}},
		{"diff by labels", "/compare/profile.svg?a=p1&case_a=impl%3Dgnu&b=p2&case_b=impl%3Dgnu", 200, svg, nil},
		{"script", flameScriptPath, 200, "text/javascript; charset=utf-8", []string{profiling.FlameScript[:40]}},
		{"unknown case", profileURL("p1", "impl=nope", ".svg"), 404, "text/html; charset=utf-8", []string{"no profile of case", "impl=gnu"}},
		{"unknown run", profileURL("nope", gnu, ".svg"), 404, "text/html; charset=utf-8", []string{"nope"}},
		{"run not profiled", profileURL("plain", gnu, ".svg"), 404, "text/html; charset=utf-8", []string{"was not profiled"}},
		{"unknown format", "/runs/p1/profile/" + gnu + ".txt", 404, "text/html; charset=utf-8", []string{".pb.gz"}},
		{"diff without case_b", "/compare/profile.svg?a=p1&case_a=" + gnu + "&b=p2", 404, "text/html; charset=utf-8", []string{"run b: no case given"}},
		{"diff of a run not profiled", diffURL("p1", gnu, "plain", gnu), 404, "text/html; charset=utf-8", []string{"plain was not profiled"}},
		{"diff of an unknown run", diffURL("nope", gnu, "p1", gnu), 404, "text/html; charset=utf-8", []string{`run a: no run &#34;nope&#34;`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
			body := rec.Body.String()
			if rec.Code != tc.code || rec.Header().Get("Content-Type") != tc.ctype {
				t.Fatalf("GET %s: %d %q, want %d %q\n%.600s", tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.code, tc.ctype, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: no %q in\n%.600s", tc.path, w, body)
				}
			}
			if tc.ctype != "text/plain; charset=utf-8" && (strings.Contains(body, evilProcess) || strings.Contains(body, "<b>bb") || strings.Contains(body, "<img src=x")) {
				t.Errorf("GET %s: markup of a frame or case is not escaped", tc.path)
			}
			switch tc.ctype {
			case svg:
				if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'self'") ||
					!strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self'") ||
					rec.Header().Get("X-Frame-Options") != "SAMEORIGIN" {
					t.Errorf("GET %s: the SVG's policy does not let this origin embed it: %v", tc.path, rec.Header())
				}
				if strings.Contains(body, "<script>") || strings.Contains(body, "<script type") {
					t.Errorf("GET %s: an inline script in the SVG", tc.path)
				}
			case pb:
				if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="p1-impl_gnu.pb.gz"` {
					t.Errorf("GET %s: Content-Disposition %q", tc.path, cd)
				}
			}
		})
	}
}

// TestProfilesAPI: GET /api/v1/runs/{id}/profiles lists each profiled
// case's samples and breakdown with the URLs of its files, which answer;
// a run not profiled has an empty list; a read token is needed.
func TestProfilesAPI(t *testing.T) {
	db := openStore(t)
	run := recordProfiledRun(t, db, "p1", runT0, 1)
	recordRun(t, db, "plain", "pipe", runT0, benchrig.RunFinished, profiledCases())
	ts := httptest.NewServer(New(Config{Tokens: testTokens}, Deps{Store: db, Profiles: db}).Handler())
	defer ts.Close()
	if resp, _ := do(t, "GET", ts.URL+"/api/v1/runs/p1/profiles", "", "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", resp.StatusCode)
	}
	resp, body := do(t, "GET", ts.URL+"/api/v1/runs/p1/profiles", readSecret, "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET profiles: %d\n%s", resp.StatusCode, body)
	}
	var got struct {
		Run      string
		Profiled bool
		Cases    []apiProfile
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if got.Run != "p1" || len(got.Cases) != 2 || got.Cases[0].Case != run.Cases[0].ID || got.Cases[0].Trials != 2 || got.Cases[0].Samples == 0 ||
		got.Cases[0].Lost != 2 || got.Cases[0].Event != "cpu-clock" || len(got.Cases[0].Processes) == 0 {
		t.Fatalf("profiles %+v", got)
	}
	for _, u := range []string{got.Cases[1].SVG, got.Cases[1].Pprof, got.Cases[1].Folded} {
		if !strings.HasPrefix(u, ts.URL+"/runs/p1/profile/") {
			t.Errorf("URL %q is not this server's", u)
			continue
		}
		if resp, _ := do(t, "GET", u, readSecret, "", nil); resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", u, resp.StatusCode)
		}
	}
	resp, body = do(t, "GET", ts.URL+"/api/v1/runs/plain/profiles", readSecret, "", nil)
	got.Cases = nil
	if resp.StatusCode != 200 || json.Unmarshal(body, &got) != nil || got.Profiled || got.Cases == nil || len(got.Cases) != 0 {
		t.Errorf("a run not profiled: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "GET", ts.URL+"/api/v1/runs/nope/profiles", readSecret, "", nil); resp.StatusCode != 404 {
		t.Errorf("an unknown run: %d, want 404", resp.StatusCode)
	}
}

// TestProfilePages: the run page lists each case's flame graph, pprof and
// breakdown, names in it escaped; the compare page embeds the differential
// graphs of the cases both runs profiled; a run not profiled has no
// Profiles section.
func TestProfilePages(t *testing.T) {
	db := openStore(t)
	run := recordProfiledRun(t, db, "p1", runT0, 1)
	recordProfiledRun(t, db, "p2", runT0.Add(time.Hour), 3)
	recordRun(t, db, "plain", "pipe", runT0, benchrig.RunFinished, profiledCases())
	h := publicServer(Deps{Store: db, Profiles: db}).Handler()

	code, body := get(t, h, "/runs/p1")
	if code != 200 {
		t.Fatalf("run page: %d", code)
	}
	for _, want := range []string{
		`<h2>Profiles</h2>`,
		`href="/runs/p1/profile/impl=gnu.svg"`,
		`href="/runs/p1/profile/impl=gnu.pb.gz"`,
		`cpu-clock at 99 Hz: 380 samples over 2 profiled trials`, // (185 fixture + 5) x 2
		`2 lost`,
		`<td>sort</td><td class="num">286</td><td class="num">75.3%</td>`,
		`sort has the largest share (75.3% of the samples): in a pipeline, the stage that limits it.`,
		`&lt;script&gt;alert(&#34;frame&#34;)&lt;/script&gt;`,
		`&lt;b&gt;bb&lt;/b&gt;`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("run page: no %q", want)
		}
	}
	if strings.Contains(body, evilProcess) || strings.Contains(body, "<b>bb") {
		t.Error("run page: a process or case name is not escaped")
	}

	code, body = get(t, h, "/compare?a=p1&b=p2")
	if code != 200 {
		t.Fatalf("compare page: %d", code)
	}
	want := `<object class="flame" type="image/svg+xml" data="/compare/profile.svg?a=p1&amp;b=p2&amp;case_a=impl%3Dgnu&amp;case_b=impl%3Dgnu">`
	if !strings.Contains(body, want) || strings.Count(body, `<object class="flame"`) != 2 {
		t.Errorf("compare page: the differential graphs are not embedded (want 2, one of them %s)", want)
	}

	for _, path := range []string{"/runs/plain", "/compare?a=plain&b=p2"} {
		if _, body := get(t, h, path); strings.Contains(body, `id="profiles"`) {
			t.Errorf("%s: a Profiles section for a run not profiled", path)
		}
	}
	// A server without a profile source shows none and answers 404.
	h = publicServer(Deps{Store: db}).Handler()
	if _, body := get(t, h, "/runs/p1"); strings.Contains(body, `id="profiles"`) {
		t.Error("run page without a profile source: a Profiles section")
	}
	if code, _ := get(t, h, profileURL("p1", run.Cases[0].ID, ".svg")); code != 404 {
		t.Errorf("flame graph without a profile source: %d, want 404", code)
	}
}

// TestProfileRoutesNeedToken: the flame graphs and pprof need a read
// token, as the run page does; the script does not.
func TestProfileRoutesNeedToken(t *testing.T) {
	db := openStore(t)
	run := recordProfiledRun(t, db, "p1", runT0, 1)
	ts := httptest.NewServer(New(Config{Tokens: testTokens}, Deps{Store: db, Profiles: db}).Handler())
	defer ts.Close()
	gnu := run.Cases[0].ID
	for _, path := range []string{profileURL("p1", gnu, ".svg"), profileURL("p1", gnu, ".pb.gz"), diffURL("p1", gnu, "p1", gnu)} {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("GET %s without a token: %d, want 303 to the login page", path, resp.StatusCode)
		}
		if resp, _ := do(t, "GET", ts.URL+path, readSecret, "", nil); resp.StatusCode != 200 {
			t.Errorf("GET %s with a read token: %d, want 200", path, resp.StatusCode)
		}
	}
	if resp, _ := do(t, "GET", ts.URL+flameScriptPath, "", "", nil); resp.StatusCode != 200 {
		t.Errorf("GET %s without a token: %d, want 200 (the SVGs need it)", flameScriptPath, resp.StatusCode)
	}
}

// TestSharedProfiles: a shared run's page links its cases' flame graphs
// under /s/KEY and a shared comparison's its differential ones; they need
// no token, and reach only the share's own runs.
func TestSharedProfiles(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	run := recordProfiledRun(t, db, "p1", runT0, 1)
	recordProfiledRun(t, db, "p2", runT0.Add(time.Hour), 3)
	runKey, err := db.Share(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	cmpKey, err := db.Share(ctx, "p1..p2")
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Tokens: testTokens}, Deps{Store: db, Shares: db, Profiles: db}).Handler()
	gnu := run.Cases[0].ID
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/s/" + runKey, 200, `<a class="flame-link" href="/s/` + runKey + `/profile/impl=gnu.svg">flame graph</a>`},
		{"/s/" + cmpKey, 200, `<a class="flame-link" href="/s/` + cmpKey + `/profile/impl=gnu.svg">differential flame graph</a>`},
		{"/s/" + runKey + "/profile/" + gnu + ".svg", 200, `href="/static/flame.js"`},
		{"/s/" + runKey + "/profile/" + gnu + ".pb.gz", 200, "\x1f\x8b"},
		{"/s/" + cmpKey + "/profile/" + gnu + ".svg", 200, "of run p2 against"},
		{"/s/" + cmpKey + "/profile/" + gnu + ".pb.gz", 404, "differential flame graphs only"},
		{"/s/" + runKey + "/profile/impl=nope.svg", 404, "no profile of case"},
		{"/s/nokey/profile/" + gnu + ".svg", 404, ""},
	} {
		code, body := get(t, h, tc.path)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d, want %d with %q\n%.400s", tc.path, code, tc.code, tc.want, body)
		}
		if strings.Contains(body, evilProcess) || strings.Contains(body, "<b>bb") {
			t.Errorf("GET %s: markup of a frame or case is not escaped", tc.path)
		}
	}
}
