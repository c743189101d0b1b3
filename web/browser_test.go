package web

// The browser harness: tests that check the dashboards as a user would,
// in Debian's headless Chromium driven through chromedp. Each test gets
// its own browser (newBrowser), fails on any JavaScript error or
// Content-Security-Policy violation the page reports, and may save
// screenshots at a desktop and a phone width (screenshot).

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/benchrig/benchrig/internal/testenv"
)

// Widths the dashboards must read well at: a laptop and a phone.
const (
	desktopWidth = 1280
	phoneWidth   = 390
)

// browserTimeout bounds one test's use of the browser (start, navigate,
// wait): generous, because a loaded CI machine starts Chromium slowly, and
// only a hung browser ever reaches it.
const browserTimeout = 60 * time.Second

// chromiumPath finds the browser: $BENCHRIG_CHROMIUM, else Debian's
// chromium (apt-get install chromium; make testenv installs it), else a
// chromium-browser or google-chrome on PATH.
func chromiumPath() (string, bool) {
	if p := os.Getenv("BENCHRIG_CHROMIUM"); p != "" {
		return p, true
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// consoleLog collects what a page reports that a test must not ignore:
// uncaught exceptions, console.error calls and browser log errors (a CSP
// violation is one, with source "security"; a failed load of a script or
// stylesheet is one with source "network"). Everything else is kept to be
// logged.
type consoleLog struct {
	mu      sync.Mutex
	msgs    []chromedp.ConsoleMessage
	allowed []string // URLs whose failed loads are expected (see allowFailedLoads)
}

func (c *consoleLog) add(m chromedp.ConsoleMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
}

func consoleLine(m chromedp.ConsoleMessage) string {
	line := fmt.Sprintf("%s: %s", m.Type, m.Text)
	if m.Source != "" {
		line = fmt.Sprintf("%s (%s): %s", m.Type, m.Source, m.Text)
	}
	if m.URL != "" {
		line += fmt.Sprintf(" [%s:%d]", m.URL, m.Line+1)
	}
	return line
}

// allowFailedLoads tells the collector of ctx's browser that a request to
// a URL ending in path may answer an error status (the browser logs each
// as an error): a page that shows a 400's field errors, or asks for a
// token on a 401, expects them. Anything else stays a problem.
func allowFailedLoads(ctx context.Context, path string) {
	c := consoleOf(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.allowed = append(c.allowed, path)
}

// isProblem is whether a console message fails a test: an exception, an
// error of the console API or the browser log, or anything about the
// Content-Security-Policy whatever its level. A missing favicon is not
// one.
func isProblem(m chromedp.ConsoleMessage) bool {
	switch {
	case m.Source == "network" && strings.HasSuffix(m.URL, "/favicon.ico"):
		// The browser asks for it on its own; a page has no say in it.
		return false
	case m.IsException(), m.Type == chromedp.ConsoleError:
		return true
	case m.Source == "security" || m.Source == "violation":
		return strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Content-Security-Policy")
	}
	return strings.Contains(m.Text, "Content Security Policy")
}

// Problems is what the page reported so far that fails a test.
func (c *consoleLog) Problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if !isProblem(m) {
			continue
		}
		if m.Source == "network" && slices.ContainsFunc(c.allowed, func(p string) bool { return strings.HasSuffix(m.URL, p) }) {
			continue
		}
		out = append(out, consoleLine(m))
	}
	return out
}

// Messages is everything the page reported so far.
func (c *consoleLog) Messages() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		out = append(out, consoleLine(m))
	}
	return out
}

type consoleKey struct{}

// consoleOf is the console collector of a browser context from
// startBrowser or newBrowser.
func consoleOf(ctx context.Context) *consoleLog {
	c, _ := ctx.Value(consoleKey{}).(*consoleLog)
	return c
}

// newBrowser starts a headless Chromium for t and returns the context of
// its tab. The browser stops when t ends; t fails then if the page
// reported a JavaScript error or a CSP violation at any time (call
// checkConsole to fail earlier, at a step). Without Chromium t skips, or
// fails under CI=true.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	ctx, c := startBrowser(t)
	t.Cleanup(func() {
		for _, m := range c.Messages() {
			t.Logf("browser console: %s", m)
		}
		for _, p := range c.Problems() {
			t.Errorf("the page reported: %s", p)
		}
	})
	return ctx
}

// startBrowser is newBrowser without the final check, for tests of the
// harness itself.
func startBrowser(t *testing.T) (context.Context, *consoleLog) {
	t.Helper()
	path, ok := chromiumPath()
	if !ok {
		testenv.Skip(t, "no chromium (apt-get install chromium, or set BENCHRIG_CHROMIUM)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		// Chromium refuses to start as root with its sandbox on, and the
		// sandbox needs user namespaces that containers often lack.
		chromedp.NoSandbox,
		// No GPU in a container; software rendering is what screenshots use.
		chromedp.DisableGPU,
		chromedp.WindowSize(desktopWidth, 900),
		chromedp.Flag("hide-scrollbars", true),
	)
	c := &consoleLog{}
	base := context.WithValue(context.Background(), consoleKey{}, c)
	base, cancelTimeout := context.WithTimeout(base, browserTimeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
	})
	// Start the browser and the tab now, so that the console subscription
	// below sees the first page's messages.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.add(m)
		}
	}()
	return ctx, c
}

// checkConsole fails t now if the page reported a problem so far.
func checkConsole(t *testing.T, ctx context.Context) {
	t.Helper()
	for _, p := range consoleOf(ctx).Problems() {
		t.Fatalf("the page reported: %s", p)
	}
}

// navigate loads url in the tab and waits for its body.
func navigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatalf("navigate to %s: %v", url, err)
	}
}

// screenshotDir is where screenshots go: $BENCHRIG_SCREENSHOTS (kept
// after the test, for a person to look at), or a directory of t's.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BENCHRIG_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshots: %v", err)
	}
	return dir
}

// screenshot loads url at width (CSS pixels; 900 high, the page's full
// height captured) and writes the page as NAME-WIDTH.png, logging its
// path. It returns the path. An empty url shoots the page as it is.
func screenshot(t *testing.T, ctx context.Context, url, name string, width int) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), 900)); err != nil {
		t.Fatalf("viewport %d: %v", width, err)
	}
	if url != "" {
		navigate(t, ctx, url)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s at %d px: %v", name, width, err)
	}
	path := filepath.Join(screenshotDir(t), fmt.Sprintf("%s-%d.png", name, width))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	t.Logf("screenshot %s", path)
	return path
}

// waitFor polls a JavaScript condition in the page until it is true, or
// fails t with what after the browser's deadline.
func waitFor(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s (%s): %v (last error: %v)", what, js, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// textOf is the visible text of the first element matching css.
func textOf(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// The harness itself: a clean page passes, and an inline script (which
// the server's CSP forbids), a thrown error and console.error are each
// caught.
func TestBrowserHarness(t *testing.T) {
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><html><head><title>t</title>%s</head><body><h1>hello</h1></body></html>", body)
		}
	}
	mux.HandleFunc("/clean", page(`<script src="/ok.js"></script>`))
	mux.HandleFunc("/ok.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `document.title = "ran"; console.log("hi");`)
	})
	mux.HandleFunc("/inline", page(`<script>document.title = "inline"</script>`))
	mux.HandleFunc("/inline-style", page(`<style>h1{color:red}</style>`))
	mux.HandleFunc("/throws", page(`<script src="/throws.js"></script>`))
	mux.HandleFunc("/throws.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `throw new Error("boom")`)
	})
	mux.HandleFunc("/logs-error", page(`<script src="/err.js"></script>`))
	mux.HandleFunc("/err.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `console.error("bad thing")`)
	})
	mux.HandleFunc("/fetches", page(`<script src="/fetch.js"></script>`))
	mux.HandleFunc("/fetch.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `fetch("/api/missing").then(function () { document.title = "fetched"; });`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A failed request is a problem, unless the test expects it.
	t.Run("failed-fetch", func(t *testing.T) {
		for _, allow := range []bool{false, true} {
			ctx, c := startBrowser(t)
			if allow {
				allowFailedLoads(ctx, "/api/missing")
			}
			navigate(t, ctx, srv.URL+"/fetches")
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(strings.Join(c.Messages(), "\n"), "/api/missing") {
				if time.Now().After(deadline) {
					t.Fatalf("the failed fetch was not logged: %q", c.Messages())
				}
				time.Sleep(20 * time.Millisecond)
			}
			if p := c.Problems(); allow != (len(p) == 0) {
				t.Errorf("allowed %v: problems %q", allow, p)
			}
		}
	})

	tests := []struct {
		path string
		want string // in a problem; "" for none
	}{
		{"/clean", ""},
		{"/inline", "Content Security Policy"},
		{"/inline-style", "Content Security Policy"},
		{"/throws", "boom"},
		{"/logs-error", "bad thing"},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			ctx, c := startBrowser(t)
			navigate(t, ctx, srv.URL+tt.path)
			if tt.want == "" {
				waitFor(t, ctx, "the script", `document.title === "ran"`)
				// The page's own console.log reached the collector, and
				// it is no problem.
				deadline := time.Now().Add(10 * time.Second)
				for !strings.Contains(strings.Join(c.Messages(), "\n"), "hi") {
					if time.Now().After(deadline) {
						t.Fatalf("console.log not collected: %q", c.Messages())
					}
					time.Sleep(20 * time.Millisecond)
				}
				if p := c.Problems(); len(p) > 0 {
					t.Fatalf("a clean page had problems: %q", p)
				}
				if p := screenshot(t, ctx, "", "harness", phoneWidth); p == "" {
					t.Fatal("no screenshot")
				}
				return
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				p := c.Problems()
				if strings.Contains(strings.Join(p, "\n"), tt.want) {
					t.Logf("caught: %q", p)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no problem with %q reported; console: %q", tt.want, c.Messages())
				}
				time.Sleep(20 * time.Millisecond)
			}
			if tt.path == "/inline" {
				if title, _ := chromedp.Run(ctx, chromedp.Title()); title == "inline" {
					t.Fatal("the inline script ran despite the CSP")
				}
			}
		})
	}
}
