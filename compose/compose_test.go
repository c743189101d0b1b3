package compose_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"

	"github.com/benchrig/benchrig/internal/testenv"
)

// root is the repository's top directory, where docker-compose.yml is.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// secrets are the variables docker-compose.yml requires (${VAR:?...});
// config fails without them, which TestConfigNeedsSecrets checks.
var secrets = map[string]string{
	"BENCHRIG_TOKEN":       "compose-test-token-0123456789abcdef",
	"ELASTIC_PASSWORD":     "compose-test-elastic",
	"KIBANA_PASSWORD":      "compose-test-kibana",
	"BENCHRIG_ES_PASSWORD": "compose-test-benchrig",
}

// env is the process environment without the variables the compose files
// read, then vars: a developer's own BENCHRIG_TOKEN does not leak in.
func env(vars map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := secrets[k]; ok || strings.HasPrefix(k, "BENCHRIG_") || strings.HasPrefix(k, "COMPOSE_") {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

func merged(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func needCompose(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker-compose"); err != nil {
		testenv.Skip(t, "docker-compose is not installed (make testenv installs it)")
	}
}

// compose runs docker-compose on the top-level file (and files) in the
// repository's directory.
func compose(ctx context.Context, t *testing.T, vars map[string]string, files []string, args ...string) ([]byte, error) {
	t.Helper()
	dir := root(t)
	all := []string{"-f", filepath.Join(dir, "docker-compose.yml")}
	for _, f := range files {
		all = append(all, "-f", filepath.Join(dir, f))
	}
	all = append(all, "--project-directory", dir)
	cmd := exec.CommandContext(ctx, "docker-compose", append(all, args...)...)
	cmd.Dir = dir
	cmd.Env = env(vars)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// service is the part of `docker-compose config`'s output the tests read.
type service struct {
	Image       string
	Command     []string
	Environment map[string]string
	DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
	Healthcheck *struct{ Test []string }
	Volumes     []volume
	GroupAdd    []string `yaml:"group_add"`
	ReadOnly    bool     `yaml:"read_only"`
	CapDrop     []string `yaml:"cap_drop"`
	User        string
	Privileged  bool
	NetworkMode string `yaml:"network_mode"`
}

// volume is a service's mount, from either syntax of `config`'s output:
// docker-compose 1.29 prints "SOURCE:TARGET:MODE", Compose v2 a mapping.
type volume struct {
	Type, Source, Target string
	ReadOnly             bool `yaml:"read_only"`
}

func (v *volume) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		type plain volume
		return n.Decode((*plain)(v))
	}
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	parts := strings.Split(s, ":")
	switch len(parts) {
	case 1:
		v.Target = parts[0]
	case 2:
		v.Source, v.Target = parts[0], parts[1]
	default:
		v.Source, v.Target = parts[0], parts[1]
		v.ReadOnly = slices.Contains(strings.Split(parts[2], ","), "ro")
	}
	v.Type = "volume"
	if strings.HasPrefix(v.Source, "/") || strings.HasPrefix(v.Source, ".") {
		v.Type = "bind"
	}
	return nil
}

func config(t *testing.T, vars map[string]string, files ...string) map[string]service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := compose(ctx, t, vars, files, "config")
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	var f struct{ Services map[string]service }
	if err := yaml.Unmarshal(out, &f); err != nil {
		t.Fatalf("docker-compose config printed what is not YAML: %v\n%s", err, out)
	}
	return f.Services
}

// TestConfig validates docker-compose.yml with Debian's docker-compose
// (config -q fails on an unknown key, a bad type or an undefined service)
// and checks what the installation relies on: the services, their order
// of start on health, and that only the collector sees the host.
func TestConfig(t *testing.T) {
	needCompose(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := compose(ctx, t, secrets, nil, "config", "-q"); err != nil {
		t.Fatalf("docker-compose config -q: %v\n%s", err, out)
	}
	svcs := config(t, secrets)
	var names []string
	for n := range svcs {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"benchrig", "collector", "elasticsearch", "es-setup", "kibana"}; !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	for _, n := range []string{"benchrig", "elasticsearch", "kibana"} {
		if svcs[n].Healthcheck == nil || len(svcs[n].Healthcheck.Test) == 0 {
			t.Errorf("%s: no healthcheck", n)
		}
	}
	if hc := strings.Join(svcs["benchrig"].Healthcheck.Test, " "); !strings.Contains(hc, "/healthz") {
		t.Errorf("benchrig's healthcheck does not ask /healthz: %s", hc)
	}
	deps := []struct{ svc, on, cond string }{
		{"benchrig", "elasticsearch", "service_healthy"},
		{"collector", "elasticsearch", "service_healthy"},
		{"es-setup", "elasticsearch", "service_healthy"},
		{"kibana", "elasticsearch", "service_healthy"},
		{"kibana", "es-setup", "service_completed_successfully"},
	}
	for _, d := range deps {
		if got := svcs[d.svc].DependsOn[d.on].Condition; got != d.cond {
			t.Errorf("%s depends on %s with condition %q, want %q", d.svc, d.on, got, d.cond)
		}
	}
	for _, n := range []string{"elasticsearch", "es-setup", "kibana"} {
		if !strings.HasSuffix(svcs[n].Image, ":8.19.7") {
			t.Errorf("%s: image %s, want version 8.19.7", n, svcs[n].Image)
		}
	}
	srv := strings.Join(svcs["benchrig"].Command, " ")
	for _, want := range []string{"serve", "--listen 0.0.0.0:8080", "--store /data/benchrig.db", "--es http://elasticsearch:9200"} {
		if !strings.Contains(srv, want) {
			t.Errorf("benchrig's command %q lacks %q", srv, want)
		}
	}
	if got := svcs["benchrig"].Environment["BENCHRIG_TOKEN"]; got != secrets["BENCHRIG_TOKEN"] {
		t.Errorf("benchrig's BENCHRIG_TOKEN is %q, want the one from the environment", got)
	}
	// The server: its data volume only, no host path, no privilege.
	for _, v := range svcs["benchrig"].Volumes {
		if v.Type != "volume" {
			t.Errorf("benchrig mounts %s %s at %s: the server needs only its data volume", v.Type, v.Source, v.Target)
		}
	}
	for _, n := range []string{"benchrig", "collector"} {
		s := svcs[n]
		if s.Privileged || (s.User != "" && s.User != "benchrig" && !strings.HasPrefix(s.User, "10001")) {
			t.Errorf("%s: privileged %v, user %q: want the image's non-root user", n, s.Privileged, s.User)
		}
		if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") {
			t.Errorf("%s: read_only %v, cap_drop %v: want a read-only root and no capabilities", n, s.ReadOnly, s.CapDrop)
		}
	}
	// The collector: the socket, /proc and the cgroup tree, each read-only.
	binds := map[string]bool{}
	for _, v := range svcs["collector"].Volumes {
		if v.Type == "bind" {
			binds[v.Source+":"+v.Target] = v.ReadOnly
		}
	}
	for _, b := range []string{"/var/run/docker.sock:/var/run/docker.sock", "/proc:/host/proc", "/sys/fs/cgroup:/host/sys/fs/cgroup"} {
		ro, ok := binds[b]
		switch {
		case !ok:
			t.Errorf("collector does not mount %s (mounts %v)", b, binds)
		case !ro:
			t.Errorf("collector mounts %s read-write, want read-only", b)
		}
	}
	col := strings.Join(svcs["collector"].Command, " ")
	for _, want := range []string{"collector", "--mode external", "--es http://elasticsearch:9200", "--docker unix:///var/run/docker.sock",
		"--proc-root /host/proc", "--cgroup-root /host/sys/fs/cgroup", "--ignore-stdin"} {
		if !strings.Contains(col, want) {
			t.Errorf("collector's command %q lacks %q", col, want)
		}
	}
}

// TestConfigNeedsSecrets: without a token or the Elasticsearch passwords
// the file does not start with empty ones; config says which is missing.
func TestConfigNeedsSecrets(t *testing.T) {
	needCompose(t)
	for name := range secrets {
		t.Run(name, func(t *testing.T) {
			vars := merged(secrets, nil)
			delete(vars, name)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := compose(ctx, t, vars, nil, "config", "-q")
			if err == nil {
				t.Fatalf("docker-compose config -q passed without %s", name)
			}
			if !strings.Contains(string(out), name) {
				t.Fatalf("docker-compose config -q without %s failed without naming it:\n%s", name, out)
			}
		})
	}
}

// TestConfigLabOverride validates the lab's override with the file it
// overrides, and checks what it changes: the engine socket and the
// network, nothing else of the collector's mounts.
func TestConfigLabOverride(t *testing.T) {
	needCompose(t)
	vars := merged(secrets, map[string]string{
		"BENCHRIG_TEST_CONTEXT":     t.TempDir(),
		"BENCHRIG_TEST_ES_URL":      "http://10.99.0.1:9999",
		"BENCHRIG_TEST_DOCKER_SOCK": "/run/benchrig-lab1.sock",
		"BENCHRIG_NODE":             "lab1",
		"BENCHRIG_TEST_RUN":         "compose-run",
	})
	svcs := config(t, vars, "compose/testdata/lab.override.yml")
	var socks []string
	for _, v := range svcs["collector"].Volumes {
		if v.Target == "/var/run/docker.sock" {
			socks = append(socks, v.Source)
		}
	}
	if !slices.Equal(socks, []string{"/run/benchrig-lab1.sock"}) {
		t.Errorf("collector's /var/run/docker.sock comes from %v, want only the lab node's socket", socks)
	}
	for _, n := range []string{"benchrig", "collector"} {
		if svcs[n].NetworkMode != "" {
			t.Errorf("%s: network_mode %q, want the compose network, as without the override", n, svcs[n].NetworkMode)
		}
		if !strings.Contains(strings.Join(svcs[n].Command, " "), "--es http://10.99.0.1:9999") {
			t.Errorf("%s: command %v does not use BENCHRIG_TEST_ES_URL", n, svcs[n].Command)
		}
	}
}

// labLock serializes the lab test across packages and clones: it uses a
// fixed compose project and port 8080 in the first node's namespace.
var labLock = filepath.Join(os.TempDir(), "benchrig-test-compose.lock")

func lockLab(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(labLock, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("lock %s: %v", labLock, err)
	}
	t.Cleanup(func() { f.Close() })
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// run runs a command with vars added to the environment and fails t when
// it fails.
func run(ctx context.Context, t *testing.T, vars map[string]string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// listenIn listens on addr inside the network namespace netns (a file
// such as /run/netns/lab1): a socket belongs to the namespace of the thread
// that created it, and keeps it. The goroutine's thread is locked while it
// is in the other namespace; were the switch back to fail, the thread ends
// with the goroutine (still locked) instead of serving other goroutines in
// the wrong namespace.
func listenIn(netns, addr string) (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open(fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid()))
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer own.Close()
		target, err := os.Open(netns)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("setns %s: %w", netns, err)}
			return
		}
		ln, lerr := net.Listen("tcp", addr)
		if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
			if ln != nil {
				ln.Close()
			}
			ch <- result{err: fmt.Errorf("setns back: %w", err)}
			return // the thread stays locked and ends with this goroutine
		}
		runtime.UnlockOSThread()
		ch <- result{ln, lerr}
	}()
	r := <-ch
	return r.ln, r.err
}

// proxy forwards TCP connections from addr, in the network namespace
// netns, to target until t ends: the test Elasticsearch listens on
// 127.0.0.1 of this machine, which a lab node's containers cannot reach;
// a port on the node's own address they can.
func proxy(t *testing.T, netns, addr, target string) string {
	t.Helper()
	ln, err := listenIn(netns, addr)
	if err != nil {
		t.Fatalf("proxy to Elasticsearch on %s in %s: %v", addr, netns, err)
	}
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	var wg sync.WaitGroup
	track := func(c net.Conn, add bool) {
		mu.Lock()
		defer mu.Unlock()
		if add {
			conns[c] = true
		} else {
			delete(conns, c)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				track(c, true)
				track(up, true)
				defer track(c, false)
				defer track(up, false)
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// esCount counts the documents of benchrig-metrics-* that query matches.
func esCount(t *testing.T, esURL, query string) int {
	t.Helper()
	base := strings.TrimRight(esURL, "/")
	post := func(path, body string) []byte {
		res, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("elasticsearch %s: %v", path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 300 {
			t.Fatalf("elasticsearch %s: %s %s", path, res.Status, b)
		}
		return b
	}
	post("/benchrig-metrics-*/_refresh?ignore_unavailable=true&allow_no_indices=true", "")
	var r struct{ Count int }
	if err := json.Unmarshal(post("/benchrig-metrics-*/_count?ignore_unavailable=true&allow_no_indices=true", query), &r); err != nil {
		t.Fatal(err)
	}
	return r.Count
}

// waitFor polls cond every half second until it holds or the deadline
// passes; on timeout it fails t with what and the services' logs.
func waitFor(t *testing.T, d time.Duration, what string, logs func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v; the services' logs:\n%s", what, d, logs())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestLab builds the benchrig image on the lab's first engine (DOCKER_HOST)
// from the real Dockerfile, starts the collector (and the server, once
// benchrig has serve) with docker-compose and the lab override, and checks
// that the collector ships the node's host samples and a labelled
// container's samples to the test Elasticsearch.
func TestLab(t *testing.T) {
	needCompose(t)
	dockerHost, esURL := os.Getenv("DOCKER_HOST"), os.Getenv("BENCHRIG_ES_URL")
	if dockerHost == "" || esURL == "" {
		testenv.Skip(t, "DOCKER_HOST and BENCHRIG_ES_URL are not set (make testenv starts the lab and Elasticsearch)")
	}
	for _, tool := range []string{"docker", "make", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "%s is not installed", tool)
		}
	}
	lockLab(t)
	testenv.LockElasticsearch(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := root(t)
	start := time.Now()

	// The build context: the Dockerfile and .dockerignore of the
	// repository and the static binaries, built by the Makefile's recipe
	// into a directory of the test's own (bin/ stays untouched).
	bctx := t.TempDir()
	for _, f := range []string{"Dockerfile", ".dockerignore"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bctx, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(ctx, t, nil, "make", "-s", "-C", dir, "image-bin", "IMAGE_BIN="+filepath.Join(bctx, "bin", "image"))
	t.Logf("image binaries built in %v", time.Since(start).Round(time.Millisecond))

	// The lab node behind DOCKER_HOST (scripts/lab.sh): its address, its
	// network namespace (/run/netns/NAME), its engine's socket
	// (/run/benchrig-NAME.sock) and the socket's group.
	du, err := url.Parse(dockerHost)
	if err != nil || du.Scheme != "tcp" {
		t.Fatalf("DOCKER_HOST %q: want tcp://ADDRESS:PORT, the lab's first node", dockerHost)
	}
	nodeIP := du.Hostname()
	name := run(ctx, t, nil, "docker", "info", "-f", "{{.Name}}")
	sock := "/run/benchrig-" + name + ".sock"
	st, err := os.Stat(sock)
	if err != nil {
		t.Fatalf("the engine %s (%s) has no socket at %s: %v", name, dockerHost, sock, err)
	}
	gid := st.Sys().(*syscall.Stat_t).Gid

	eu, err := url.Parse(esURL)
	if err != nil {
		t.Fatalf("BENCHRIG_ES_URL %q: %v", esURL, err)
	}
	_, esPort, err := net.SplitHostPort(proxy(t, "/run/netns/"+name, net.JoinHostPort(nodeIP, "0"), eu.Host))
	if err != nil {
		t.Fatal(err)
	}
	esProxy := "http://" + net.JoinHostPort(nodeIP, esPort)

	node := "compose-" + randHex(4)
	runID := "compose-" + randHex(6)
	vars := merged(secrets, map[string]string{
		"DOCKER_HOST":               dockerHost,
		"COMPOSE_PROJECT_NAME":      "benchrigtest",
		"BENCHRIG_IMAGE":            "benchrig/benchrig:compose-test",
		"BENCHRIG_BASE_IMAGE":       "benchrig/debian:amd64",
		"BENCHRIG_TEST_CONTEXT":     bctx,
		"BENCHRIG_TEST_ES_URL":      esProxy,
		"BENCHRIG_TEST_DOCKER_SOCK": sock,
		"BENCHRIG_DOCKER_GID":       fmt.Sprint(gid),
		"BENCHRIG_NODE":             node,
		"BENCHRIG_TEST_RUN":         runID,
		// The server's port on the lab node's address.
		"BENCHRIG_PUBLISH": net.JoinHostPort(nodeIP, "8080"),
	})
	files := []string{"compose/testdata/lab.override.yml"}
	dc := func(args ...string) string {
		t.Helper()
		out, err := compose(ctx, t, vars, files, args...)
		if err != nil {
			t.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	logs := func() string {
		out, _ := compose(context.Background(), t, vars, files, "logs", "--no-color", "--tail", "50")
		return string(out)
	}
	// Down first, so a project a killed test left behind is gone, and
	// down again at the end, volumes included.
	dc("down", "-v", "--remove-orphans")
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer dcancel()
		if out, err := compose(dctx, t, vars, files, "down", "-v", "--remove-orphans"); err != nil {
			t.Errorf("docker-compose down -v: %v\n%s", err, out)
		}
	})

	services := []string{"collector", "benchrig"}
	built := time.Now()
	dc(append([]string{"build"}, services...)...)
	t.Logf("image built in %v", time.Since(built).Round(time.Millisecond))
	// --no-deps: the elasticsearch service is replaced by the test one.
	dc(append([]string{"up", "-d", "--no-deps"}, services...)...)

	hostQ := fmt.Sprintf(`{"query":{"bool":{"filter":[{"term":{"host.name":%q}},{"term":{"benchrig.doc":"host"}}]}}}`, node)
	waitFor(t, 2*time.Minute, "host samples of node "+node+" in benchrig-metrics-*", logs, func() bool {
		return esCount(t, esURL, hostQ) > 0
	})

	// A trial's container, labelled as a run labels it (runner.Label*):
	// the collector finds it through the engine's socket and samples its
	// cgroup through the host's /proc and cgroup tree.
	cid := run(ctx, t, nil, "docker", "run", "-d", "--network", "none",
		"--label", "benchrig.run="+runID, "--label", "benchrig.case=impl=a", "--label", "benchrig.trial="+runID+"/impl=a#0",
		"benchrig/busybox:amd64", "sleep", "300")
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", cid).Run() })
	runQ := fmt.Sprintf(`{"query":{"bool":{"filter":[{"term":{"host.name":%q}},{"term":{"benchrig.run.id":%q}}]}}}`, node, runID)
	waitFor(t, 2*time.Minute, "samples of container "+cid[:12]+" (run "+runID+") in benchrig-metrics-*", logs, func() bool {
		return esCount(t, esURL, runQ) > 0
	})
	checkServer(t, dc, nodeIP, logs)
	t.Logf("TestLab took %v", time.Since(start).Round(time.Millisecond))
}

// checkServer waits until Docker calls the server's container healthy (its
// healthcheck asks /healthz from inside), then asks /healthz from here, on
// the lab node's address.
func checkServer(t *testing.T, dc func(...string) string, nodeIP string, logs func() string) {
	t.Helper()
	id := dc("ps", "-q", "benchrig")
	if id == "" {
		t.Fatalf("no benchrig container; logs:\n%s", logs())
	}
	var status string
	waitFor(t, 2*time.Minute, "healthy benchrig container", func() string { return "health: " + status + "\n" + logs() }, func() bool {
		out, err := exec.Command("docker", "inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", id).CombinedOutput()
		if err != nil {
			t.Fatalf("docker inspect %s: %v\n%s", id, err, out)
		}
		status = strings.TrimSpace(string(out))
		if strings.HasPrefix(status, "exited") || strings.HasSuffix(status, "unhealthy") {
			health, _ := exec.Command("docker", "inspect", "-f", "{{json .State.Health}}", id).CombinedOutput()
			t.Fatalf("benchrig container is %s; its health checks: %s\nlogs:\n%s", status, health, logs())
		}
		return status == "running healthy"
	})
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get("http://" + net.JoinHostPort(nodeIP, "8080") + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz on the lab node: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz on the lab node: %s %s", res.Status, body)
	}
}
