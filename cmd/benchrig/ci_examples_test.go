package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/gate"
	"github.com/benchrig/benchrig/internal/testenv"
	"github.com/benchrig/benchrig/profiling"
	"github.com/benchrig/benchrig/spec"
	"github.com/benchrig/benchrig/sqlite"
	webclient "github.com/benchrig/benchrig/web/client"
)

// Two specs of one name (so each is the other's baseline): the candidate
// sleeps three times as long, a regression no noise hides. Sleeps, not a
// CPU loop: their times hold on a loaded machine, and this is a test of
// the plumbing (flags, API, exit codes, files); package gate tests the
// statistics.
const (
	ciFast = "name: ci-gate\ncommand: sleep 0.05\nrepeat: 8\nwarmup: 1\n"
	ciSlow = "name: ci-gate\ncommand: sleep 0.15\nrepeat: 8\nwarmup: 1\n"
)

const ciToken = "ci-examples-test-token-0123456789"

// ciServer starts benchrig serve, letting specs without pools run on this
// host, with ciToken as its submit token (also the client's).
func ciServer(t *testing.T) (*cli, string) {
	c := newCLI(t)
	c.env = map[string]string{"BENCHRIG_TOKEN": ciToken, "BENCHRIG_POOLS": filepath.Join(c.dir, "no-pools.yaml")}
	return c, startServe(t, c, "--allow-local")
}

// junitCase is a JUnit test case as CI servers read it.
type junitCase struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
}

// readJUnit returns every testcase of a JUnit file, whether its root is
// <testsuites> or <testsuite>.
func readJUnit(t *testing.T, path string) []junitCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var out []junitCase
	roots := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: not XML: %v\n%s", path, err, b)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "testsuites", "testsuite":
			roots++
		case "testcase":
			var tc junitCase
			if err := dec.DecodeElement(&tc, &se); err != nil {
				t.Fatalf("%s: testcase: %v", path, err)
			}
			out = append(out, tc)
		}
	}
	if roots == 0 || len(out) == 0 {
		t.Fatalf("%s: no testsuite with test cases:\n%s", path, b)
	}
	return out
}

// The numbers of a regression, as the gate words them: a percentage and
// the medians' times.
var regressionNumbers = regexp.MustCompile(`\+\d+(\.\d+)?%.*\d+(\.\d+)? ?ms`)

// TestCIExamplesAgainstAServer runs the CI paths against a real benchrig
// serve: benchrig submit --wait with the gate and --junit, and
// examples/ci/curl.sh (bash, curl and jq, real processes). An A/A run
// passes (exit 0); a candidate three times slower is a regression,
// confirmed by a re-run (exit 1), with a JUnit failure carrying the
// numbers.
func TestCIExamplesAgainstAServer(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "%s not installed: examples/ci/curl.sh needs bash, curl and jq", tool)
		}
	}
	c, u := ciServer(t)
	fast := c.write("fast.yaml", ciFast)
	slow := c.write("slow.yaml", ciSlow)
	ctx := context.Background()
	submit := func(args ...string) (int, string, string) {
		return c.run(ctx, append([]string{"submit", "--server", u, "--wait"}, args...)...)
	}

	t.Run("submit", func(t *testing.T) {
		if code, out, errOut := submit(fast, "-q"); code != 0 {
			t.Fatalf("the first run (no gate): exit %d\n%s\n%s", code, out, errOut)
		}
		j1, md := filepath.Join(c.dir, "aa.xml"), filepath.Join(c.dir, "aa.md")
		code, out, errOut := submit(fast, "--baseline", "last", "--junit", j1, "--md", md)
		if code != 0 {
			t.Fatalf("A/A: exit %d, want 0\n%s\n%s", code, out, errOut)
		}
		if !strings.Contains(errOut, "gate: ") || !strings.Contains(errOut, "[9/9]") {
			t.Errorf("A/A: the progress lacks the trials or the gate's verdict:\n%s", errOut)
		}
		for _, tc := range readJUnit(t, j1) {
			if tc.Failure != nil {
				t.Errorf("A/A: JUnit failure %+v", tc.Failure)
			}
		}
		if b, err := os.ReadFile(md); err != nil || len(b) == 0 {
			t.Errorf("A/A: --md wrote %q (%v)", b, err)
		}

		j2 := filepath.Join(c.dir, "slow.xml")
		// A baseline noisier than the default 10% is inconclusive, not a
		// regression: on a machine loaded 4x over (CI with -race) sleeps
		// of 0.05 s started by the server varied that much.
		code, out, errOut = submit(slow, "--baseline", "last", "--max-regression", "5%", "--max-baseline-cv", "50%", "--junit", j2)
		if code != 1 {
			t.Fatalf("a run three times slower: exit %d, want 1\n%s\n%s", code, out, errOut)
		}
		if !strings.Contains(errOut, "gate failed: regression") || !strings.Contains(errOut, "confirm") {
			t.Errorf("stderr does not say the regression and its confirmation:\n%s", errOut)
		}
		cases := readJUnit(t, j2)
		if len(cases) != 1 || cases[0].Failure == nil {
			t.Fatalf("JUnit: %+v, want one failed test case", cases)
		}
		if f := cases[0].Failure.Message + " " + cases[0].Failure.Text; !regressionNumbers.MatchString(f) || !strings.Contains(f, "confirm") {
			t.Errorf("the JUnit failure lacks the numbers or the confirmation: %q", f)
		}
	})

	t.Run("curl.sh", func(t *testing.T) {
		curl := func(spec string, args ...string) (int, string, string) {
			return curlSh(t, u, ciToken, filepath.Join(c.dir, "curl-"+filepath.Base(spec)+".xml"), append([]string{spec}, args...)...)
		}
		// The latest run is slow's: slow again is A/A.
		if code, out, errOut := curl(slow); code != 0 || !strings.Contains(errOut, "gate passed: true") {
			t.Fatalf("A/A: exit %d, want 0\n%s\n%s", code, out, errOut)
		}
		if code, out, errOut := curl(fast, "last", "0.05"); code != 0 {
			t.Fatalf("faster: exit %d, want 0\n%s\n%s", code, out, errOut)
		}
		code, out, errOut := curl(slow, "last", "0.05", "0.5")
		if code != 1 || !strings.Contains(errOut, "gate passed: false") || !strings.Contains(errOut, "[9/9]") {
			t.Fatalf("slower: exit %d, want 1 with the trials shown\n%s\n%s", code, out, errOut)
		}
		cases := readJUnit(t, filepath.Join(c.dir, "curl-slow.yaml.xml"))
		if len(cases) != 1 || cases[0].Failure == nil || !regressionNumbers.MatchString(cases[0].Failure.Message+" "+cases[0].Failure.Text) {
			t.Errorf("JUnit from the API: %+v, want one failure with the numbers", cases)
		}
		if code, _, errOut := curl(fast, "label:"); code != 2 || !strings.Contains(errOut, "baseline") {
			t.Errorf("a bad baseline: exit %d, want 2 naming it\n%s", code, errOut)
		}
		if code, _, errOut := curlSh(t, u, "wrong-token", filepath.Join(c.dir, "j.xml"), fast); code != 2 {
			t.Errorf("a wrong token: exit %d, want 2\n%s", code, errOut)
		}
		if code, _, errOut := curlSh(t, "http://127.0.0.1:1", ciToken, filepath.Join(c.dir, "j.xml"), fast); code != 3 {
			t.Errorf("no server: exit %d, want 3\n%s", code, errOut)
		}
	})
}

// curlSh runs examples/ci/curl.sh ARGS against server with token, its
// JUnit file at junit.
func curlSh(t *testing.T, server, token, junit string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"../../examples/ci/curl.sh"}, args...)...)
	cmd.Env = append(os.Environ(), "BENCHRIG_SERVER="+server, "BENCHRIG_TOKEN="+token,
		"BENCHRIG_JUNIT="+junit, "BENCHRIG_MD="+filepath.Join(filepath.Dir(junit), "summary.md"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

// Every exit code of submit, against a real server: bad input (a bad
// spec, flag or path: no request is sent), a refused token, a bad
// baseline, failed trials, an unreachable server, a cancelled wait (the
// run is cancelled on the server too).
func TestSubmitExitCodes(t *testing.T) {
	c, u := ciServer(t)
	good := c.write("good.yaml", ciFast)
	bad := c.write("bad.yaml", "name: bad\nrepeat: 0\n")
	failing := c.write("failing.yaml", "name: f\ncommand: \"echo boom >&2; exit 3\"\nrepeat: 2\nwarmup: 0\n")
	runs := func() int {
		req, _ := http.NewRequest("GET", u+"/api/v1/runs", nil)
		req.Header.Set("Authorization", "Bearer "+ciToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var list struct{ Runs []struct{ ID string } }
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			t.Fatal(err)
		}
		return len(list.Runs)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		token    string // "" keeps ciToken
		code     int
		inStderr string
		sent     bool // a run reached the server
	}{
		{"bad spec", []string{"submit", bad, "--server", u, "--wait"}, "", 2, "bad.yaml", false},
		{"unknown --set param", []string{"submit", good, "--server", u, "--set", "zz=1"}, "", 2, "zz", false},
		{"gate flag without --baseline", []string{"submit", good, "--server", u, "--wait", "--max-regression", "5%"}, "", 2, "--max-regression needs --baseline", false},
		{"bad --max-regression", []string{"submit", good, "--server", u, "--wait", "--baseline", "last", "--max-regression", "five"}, "", 2, "--max-regression", false},
		{"junit dir missing", []string{"submit", good, "--server", u, "--wait", "--junit", "/nonexistent/dir/j.xml"}, "", 2, "/nonexistent/dir/j.xml", false},
		{"junit without --wait", []string{"submit", good, "--server", u, "--junit", "j.xml"}, "", 2, "--junit needs --wait", false},
		{"no server", []string{"submit", good}, "", 2, "--server is required", false},
		{"bad --profile", []string{"submit", good, "--server", u, "--profile", "gpu"}, "", 2, "--profile must be cpu or off", false},
		{"bad --profile-freq", []string{"submit", good, "--server", u, "--profile", "cpu", "--profile-freq", "20000"}, "", 2, "--profile-freq must be between", false},
		{"refused token", []string{"submit", good, "--server", u, "--wait"}, "not-a-token-of-this-server", 2, "token", false},
		{"bad baseline", []string{"submit", good, "--server", u, "--wait", "--baseline", "label:"}, "", 2, "baseline", false},
		{"unreachable server", []string{"submit", good, "--server", "http://127.0.0.1:1", "--wait"}, "", 3, "cannot reach the benchrig server", false},
		{"failed trials", []string{"submit", failing, "--server", u, "--wait", "-q"}, "", 1, "some trials failed", true},
		{"queued, not waited for", []string{"submit", good, "--server", u}, "", 0, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runs()
			c.env["BENCHRIG_TOKEN"] = ciToken
			if tc.token != "" {
				c.env["BENCHRIG_TOKEN"] = tc.token
			}
			code, out, errOut := c.run(context.Background(), tc.args...)
			c.env["BENCHRIG_TOKEN"] = ciToken
			if code != tc.code || !strings.Contains(errOut, tc.inStderr) {
				t.Errorf("exit %d, want %d with %q in stderr\nstdout:\n%s\nstderr:\n%s", code, tc.code, tc.inStderr, out, errOut)
			}
			if sent := runs() > before; sent != tc.sent {
				t.Errorf("a run reached the server: %v, want %v", sent, tc.sent)
			}
		})
	}

	// Profiled on the server: the run's JSON says how, and the API lists
	// each case's profile.
	t.Run("profiled", func(t *testing.T) {
		if _, err := (profiling.Perf{}).Check(context.Background(), profiling.Sampling{Event: "cpu-clock", Freq: 99}); err != nil {
			testenv.Skipf(t, "perf cannot record here: %v", err)
		}
		j := filepath.Join(c.dir, "profiled.json")
		code, out, errOut := c.run(context.Background(), "submit", good, "--server", u, "--wait", "-q", "--profile", "cpu", "--profile-freq", "499", "--json", j)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		b, err := os.ReadFile(j)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			RunID     string `json:"run_id"`
			Profiling *struct {
				Event  string `json:"event"`
				FreqHz int    `json:"freq_hz"`
			} `json:"profiling"`
		}
		if err := json.Unmarshal(b, &doc); err != nil || doc.Profiling == nil || doc.Profiling.FreqHz != 499 {
			t.Fatalf("the run's JSON: %v, profiling %+v", err, doc.Profiling)
		}
		req, _ := http.NewRequest("GET", u+"/api/v1/runs/"+doc.RunID+"/profiles", nil)
		req.Header.Set("Authorization", "Bearer "+ciToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var ps struct{ Cases []struct{ Case string } }
		if resp.StatusCode != 200 || json.Unmarshal(body, &ps) != nil || len(ps.Cases) == 0 {
			t.Errorf("GET profiles: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		slow := c.write("slow.yaml", "name: slow\ncommand: [sleep, '0.2']\nrepeat: 50\nwarmup: 0\n")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		code, _, errOut := c.runWatching(ctx, func(line string) {
			if strings.HasPrefix(line, "[1/") {
				cancel()
			}
		}, "submit", slow, "--server", u, "--wait")
		if code != 130 || !strings.Contains(errOut, "cancelled") {
			t.Fatalf("exit %d, want 130\n%s", code, errOut)
		}
		// The cancel is asked and the run stops shortly after; the store
		// records its end just after its events say so: wait for that
		// as submit does (endedRun) before reading its status.
		m := regexp.MustCompile(`(?m)^run (\S+) \w+: `).FindStringSubmatch(errOut)
		if m == nil {
			t.Fatalf("no run ID in the output:\n%s", errOut)
		}
		wc, err := webclient.New(u, ciToken, "--server")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := endedRun(context.Background(), wc, m[1]); err != nil {
			t.Fatalf("run %s: %v", m[1], err)
		}
		code, out, errOut := c.run(context.Background(), "runs", "list", "--spec", "slow")
		if code != 0 || !strings.Contains(out, "cancelled") {
			t.Errorf("the run on the server is not cancelled: exit %d\n%s%s", code, out, errOut)
		}
	})
}

// The gate on a local run: A/A passes, a candidate three times slower
// fails with exit 1 and a JUnit failure, a baseline run that does not
// exist is bad input; labels from the CI's variables go on the run, under
// --label.
func TestRunGate(t *testing.T) {
	c := newCLI(t)
	c.env = map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SHA": "abc123", "GITHUB_REF_NAME": "feature"}
	fast := c.write("fast.yaml", ciFast)
	slow := c.write("slow.yaml", ciSlow)
	ctx := context.Background()
	if code, out, errOut := c.run(ctx, "run", fast, "-q", "--label", "branch=main"); code != 0 {
		t.Fatalf("baseline: exit %d\n%s%s", code, out, errOut)
	}
	run := latestRun(t, filepath.Join(c.dir, "store.db"))
	if run.Labels["branch"] != "main" || run.Labels["commit"] != "abc123" || run.Labels["ci"] != "github" {
		t.Errorf("labels %v: want the CI's, with --label's branch over GITHUB_REF_NAME", run.Labels)
	}
	aaJSON := filepath.Join(c.dir, "aa.json")
	if code, out, errOut := c.run(ctx, "run", fast, "-q", "--baseline", "label:branch=main", "--json", aaJSON); code != 0 {
		t.Fatalf("A/A: exit %d\n%s%s", code, out, errOut)
	}
	// The A/A run by its ID: when noise made a case suspect, the latest
	// run is its confirmation run.
	var aa struct {
		RunID string `json:"run_id"`
	}
	readJSON(t, aaJSON, &aa)
	if got := runByID(t, filepath.Join(c.dir, "store.db"), aa.RunID); got.Gate == nil || !got.Gate.Passed || got.Gate.BaselineRun != run.ID {
		t.Errorf("A/A gate %+v, want passed against %s", got.Gate, run.ID)
	}
	junit := filepath.Join(c.dir, "gate.xml")
	jsonOut := filepath.Join(c.dir, "gate.json")
	// --max-baseline-cv 50%: see TestCIExamplesAgainstAServer.
	code, out, errOut := c.run(ctx, "run", slow, "-q", "--baseline", "label:branch=main", "--max-baseline-cv", "50%", "--junit", junit, "--json", jsonOut)
	if code != 1 || !strings.Contains(errOut, "gate failed: regression") {
		t.Fatalf("slower: exit %d, want 1\n%s%s", code, out, errOut)
	}
	cases := readJUnit(t, junit)
	if len(cases) != 1 || cases[0].Failure == nil || !regressionNumbers.MatchString(cases[0].Failure.Message+" "+cases[0].Failure.Text) {
		t.Errorf("JUnit %+v, want one failure with the numbers", cases)
	}
	var doc struct {
		Gate *struct {
			Verdict string `json:"verdict"`
			Passed  bool   `json:"passed"`
		} `json:"gate"`
	}
	readJSON(t, jsonOut, &doc)
	if doc.Gate == nil || doc.Gate.Verdict != "regression" || doc.Gate.Passed {
		t.Errorf("--json gate %+v, want a regression", doc.Gate)
	}
	if code, _, errOut := c.run(ctx, "run", fast, "-q", "--baseline", "20200101-000000-0000"); code != 2 || !strings.Contains(errOut, "baseline") {
		t.Errorf("a baseline run that does not exist: exit %d, want 2\n%s", code, errOut)
	}
	if code, _, errOut := c.run(ctx, "run", fast, "-q", "--strict"); code != 2 || !strings.Contains(errOut, "--strict needs --baseline") {
		t.Errorf("--strict without --baseline: exit %d, want 2\n%s", code, errOut)
	}
}

// The CI examples that cannot run here (Jenkins, GitHub Actions) are
// checked statically: the workflow is YAML with the steps it promises,
// the Jenkinsfile has its junit step, and every benchrig command line of
// both parses with the flags benchrig has, on specs that exist.
func TestCIExamplesStatic(t *testing.T) {
	root := "../.."
	wf, err := os.ReadFile(filepath.Join(root, "examples/ci/github-actions.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		On   map[string]any `yaml:"on"`
		Jobs map[string]struct {
			Steps []struct {
				Name string            `yaml:"name"`
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				If   string            `yaml:"if"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(wf, &doc); err != nil {
		t.Fatalf("github-actions.yml: %v", err)
	}
	if _, ok := doc.On["pull_request"]; !ok {
		t.Error("the workflow does not run on pull requests")
	}
	var lines []string
	summary, upload := false, false
	for _, job := range doc.Jobs {
		for _, st := range job.Steps {
			lines = append(lines, benchrigLines(st.Run)...)
			if strings.Contains(st.Run, "$GITHUB_STEP_SUMMARY") && strings.Contains(st.Run, "summary.md") && st.If == "always()" {
				summary = true
			}
			if strings.HasPrefix(st.Uses, "actions/upload-artifact@") && st.With["path"] == "benchrig.xml" && st.If == "always()" {
				upload = true
			}
		}
	}
	if !summary || !upload {
		t.Errorf("workflow: step summary from --md %v, JUnit uploaded %v; want both, always", summary, upload)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], " run ") || !strings.Contains(lines[0], "--md summary.md") || !strings.Contains(lines[0], "--junit benchrig.xml") {
		t.Errorf("workflow's benchrig lines %q, want one run with --junit benchrig.xml --md summary.md", lines)
	}

	jf, err := os.ReadFile(filepath.Join(root, "examples/ci/Jenkinsfile"))
	if err != nil {
		t.Fatal(err)
	}
	jenkins := string(jf)
	for _, want := range []string{"pipeline {", "credentials('benchrig-token')", "testResults: 'benchrig.xml'", "post {", "always {"} {
		if !strings.Contains(jenkins, want) {
			t.Errorf("Jenkinsfile lacks %q", want)
		}
	}
	var jlines []string
	for _, block := range regexp.MustCompile(`(?s)sh '''(.*?)'''`).FindAllStringSubmatch(jenkins, -1) {
		jlines = append(jlines, benchrigLines(block[1])...)
	}
	if len(jlines) != 1 || !strings.Contains(jlines[0], " submit ") || !strings.Contains(jlines[0], "--wait") || !strings.Contains(jlines[0], "--junit benchrig.xml") {
		t.Errorf("Jenkinsfile's benchrig lines %q, want one submit --wait --junit benchrig.xml", jlines)
	}

	for _, line := range append(lines, jlines...) {
		args := strings.Fields(line)[1:] // after bin/benchrig
		d := defaultDeps(io.Discard, io.Discard)
		cmd, rest, err := newRootCommand(d).Find(args)
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
			t.Errorf("%q: %v", line, err)
		}
		for _, f := range cmd.Flags().Args() {
			if _, err := spec.Load(filepath.Join(root, f)); err != nil {
				t.Errorf("%q: spec %s: %v", line, f, err)
			}
		}
		if v, err := cmd.Flags().GetStringArray("max-regression"); err != nil || len(v) == 0 {
			t.Errorf("%q: no --max-regression", line)
		} else if _, _, err := gate.ParseMaxRegression(v); err != nil {
			t.Errorf("%q: %v", line, err)
		}
	}
}

// benchrigLines are the benchrig command lines of a shell script, with
// their continuation lines joined.
func benchrigLines(script string) []string {
	var out []string
	joined := strings.ReplaceAll(script, "\\\n", " ")
	for _, l := range strings.Split(joined, "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if strings.HasPrefix(l, "bin/benchrig ") || strings.HasPrefix(l, "benchrig ") {
			out = append(out, l)
		}
	}
	return out
}

// runByID reads run id from the store at path.
func runByID(t *testing.T, path, id string) *benchrig.Run {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	run, err := db.GetRun(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return run
}
