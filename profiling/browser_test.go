package profiling

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/benchrig/benchrig/internal/testenv"
)

// strictCSP is the policy of benchrig's web server: no inline script or
// style, scripts only from the server itself.
const strictCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:"

// TestFlameScriptInBrowser opens a flame graph in headless Chromium, once
// with the script inline and once by href behind a strict
// Content-Security-Policy, and clicks: zooming to a process must widen it
// to the full width, hide the other processes, dim the root and show the
// reset control; resetting must restore the widths; a search must paint
// the matches and tell their share, and clear. The browser must report no
// error or CSP violation.
//
// Chromium is found as the web package's browser tests find it
// ($BENCHRIG_CHROMIUM, else chromium on PATH; make testenv installs it).
func TestFlameScriptInBrowser(t *testing.T) {
	path := os.Getenv("BENCHRIG_CHROMIUM")
	if path == "" {
		var err error
		if path, err = exec.LookPath("chromium"); err != nil {
			testenv.Skip(t, "no chromium (apt-get install chromium, or set BENCHRIG_CHROMIUM)")
		}
	}
	s := readFixture(t, "pipeline.perf-script")
	svg := func(o SVGOptions) []byte {
		var buf bytes.Buffer
		if err := WriteFlameSVG(&buf, s, o); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	inline, strict := svg(SVGOptions{}), svg(SVGOptions{ScriptHref: "/flame.js"})
	mux := http.NewServeMux()
	mux.HandleFunc("/inline.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write(inline)
	})
	mux.HandleFunc("/strict.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Content-Security-Policy", strictCSP)
		w.Write(strict)
	})
	mux.HandleFunc("/flame.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Header().Set("Content-Security-Policy", strictCSP)
		w.Write([]byte(FlameScript))
	})
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent) // the browser asks on its own
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // as root, and without user namespaces
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	base, cancelTimeout := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelTimeout()
	actx, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(actx)
	defer cancelTab()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	var (
		mu       sync.Mutex
		problems []string
	)
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError || strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				problems = append(problems, string(m.Type)+": "+m.Text)
				mu.Unlock()
			}
		}
	}()

	for _, page := range []string{"/inline.svg", "/strict.svg"} {
		t.Run(strings.TrimPrefix(page, "/"), func(t *testing.T) {
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+page), chromedp.WaitReady(chromedp.CSS("#frames"))); err != nil {
				t.Fatalf("open %s: %v", page, err)
			}
			got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](clickScript))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"zoomed":      "1180.00",
				"uniqDisplay": "none",
				"resetShown":  true,
				"rootDimmed":  "0.5",
				"restored":    true,
				"resetHidden": "none",
				"sortLabel":   true,
				// sort has 143 of the 185 samples.
				"searchFill":    "rgb(230,0,230)",
				"searchDetails": "Matched ^sort$: 77.30% of samples",
				"searchCleared": true,
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %s = %v, want %v (all: %v)", page, k, got[k], v, got)
				}
			}
			if dir := os.Getenv("BENCHRIG_SCREENSHOTS"); dir != "" {
				png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
				if err == nil {
					err = os.WriteFile(filepath.Join(dir, "flame-"+strings.TrimSuffix(page[1:], ".svg")+".png"), png, 0o644)
				}
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // let the last console events arrive
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("the browser reported: %s", p)
	}
}

// clickScript zooms to the sort process by a click, reads the result,
// resets by a click on "Reset zoom" and reads again.
const clickScript = `(function () {
	var gs = document.querySelectorAll("#frames > g");
	function find(prefix) {
		for (var i = 0; i < gs.length; i++) {
			if (gs[i].querySelector("title").textContent.indexOf(prefix) === 0) {
				return gs[i];
			}
		}
		return null;
	}
	function click(el) {
		el.dispatchEvent(new MouseEvent("click", {bubbles: true}));
	}
	var sort = find("sort ("), uniq = find("uniq ("), root = find("all (");
	var reset = document.getElementById("reset");
	var before = sort.querySelector("rect").getAttribute("width");
	click(sort.querySelector("rect"));
	var r = {
		zoomed: sort.querySelector("rect").getAttribute("width"),
		uniqDisplay: uniq.getAttribute("display"),
		resetShown: reset.getAttribute("display") === null,
		rootDimmed: root.getAttribute("opacity"),
		sortLabel: sort.querySelector("text").textContent === "sort"
	};
	click(reset);
	r.restored = sort.querySelector("rect").getAttribute("width") === before && uniq.getAttribute("display") === null;
	r.resetHidden = reset.getAttribute("display");
	window.prompt = function () {
		return "^sort$";
	};
	var search = document.getElementById("search");
	click(search);
	r.searchFill = sort.querySelector("rect").getAttribute("fill");
	r.searchDetails = document.getElementById("details").textContent;
	click(search);
	r.searchCleared = sort.querySelector("rect").getAttribute("fill") !== r.searchFill && search.textContent === "Search";
	return r;
})()`
