package profiling

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// svgFrame is one frame read back from a flame graph.
type svgFrame struct {
	title, label, fill string
	x, y, w            float64
}

// readSVG decodes the whole document (failing the test if it is not
// well-formed XML) and returns its frames and the text of every element
// outside them.
func readSVG(t *testing.T, doc []byte) (frames []svgFrame, texts []string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var (
		inFrames bool
		depth    int // element depth inside #frames
		cur      *svgFrame
		stack    []string
		text     strings.Builder
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			stack = append(stack, e.Name.Local)
			text.Reset()
			attr := func(name string) string {
				for _, a := range e.Attr {
					if a.Name.Local == name && a.Name.Space == "" {
						return a.Value
					}
				}
				return ""
			}
			num := func(name string) float64 {
				v, err := strconv.ParseFloat(attr(name), 64)
				if err != nil {
					t.Fatalf("<%s %s=%q>: %v", e.Name.Local, name, attr(name), err)
				}
				return v
			}
			switch {
			case e.Name.Local == "g" && attr("id") == "frames":
				inFrames, depth = true, 0
			case inFrames && e.Name.Local == "g":
				cur = &svgFrame{}
			case cur != nil && e.Name.Local == "rect":
				cur.x, cur.y, cur.w, cur.fill = num("x"), num("y"), num("width"), attr("fill")
			}
			if inFrames {
				depth++
			}
		case xml.CharData:
			text.Write(e)
		case xml.EndElement:
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch {
			case cur != nil && name == "title":
				cur.title = text.String()
			case cur != nil && name == "text":
				cur.label = text.String()
			case cur != nil && name == "g":
				frames = append(frames, *cur)
				cur = nil
			case !inFrames && (name == "text" || name == "title"):
				texts = append(texts, text.String())
			}
			text.Reset()
			if inFrames {
				depth--
				if depth == 0 {
					inFrames = false
				}
			}
		}
	}
	return frames, texts
}

var samplesRE = regexp.MustCompile(`\((?:after )?(\d+) samples`)

// samplesOf reads a frame's sample count from its title.
func samplesOf(t *testing.T, f svgFrame) int64 {
	t.Helper()
	m := samplesRE.FindStringSubmatch(f.title)
	if m == nil {
		t.Fatalf("title %q has no sample count", f.title)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

func flameSVG(t *testing.T, s Stacks, o SVGOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteFlameSVG(&buf, s, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func diffSVG(t *testing.T, before, after Stacks, o SVGOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteDiffSVG(&buf, before, after, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// handmadeAfter is the handmade fixture changed: grep's search grew, the
// kernel page clearing shrank, sh is gone and a new process came.
func handmadeAfter(t *testing.T) Stacks {
	after := readFixture(t, "handmade.perf-script")
	for k := range after {
		switch {
		case strings.HasPrefix(k, "grep;_start;__libc_start_main;grep+"):
			after[k] += 6
		case strings.HasPrefix(k, "sh;"):
			delete(after, k)
		}
	}
	after["gzip;main;deflate"] = 2
	return after
}

func TestFlameSVGGolden(t *testing.T) {
	s := readFixture(t, "handmade.perf-script")
	o := SVGOptions{Title: "handmade", Subtitle: "cpu-clock at 999 Hz"}
	golden(t, "handmade.svg", flameSVG(t, s, o))
	golden(t, "handmade.diff.svg", diffSVG(t, s, handmadeAfter(t), SVGOptions{Subtitle: "normalised by total samples"}))
	o.ScriptHref = "/static/flame.js?v=1&x=<2>"
	golden(t, "handmade.href.svg", flameSVG(t, s, o))
}

func TestFlameSVGWellFormed(t *testing.T) {
	for _, name := range []string{"handmade.perf-script", "nocallchain.perf-script"} {
		s := readFixture(t, name)
		frames, _ := readSVG(t, flameSVG(t, s, SVGOptions{}))
		if len(frames) == 0 {
			t.Errorf("%s: no frames drawn", name)
		}
		readSVG(t, diffSVG(t, s, Stacks{}, SVGOptions{}))
		readSVG(t, diffSVG(t, Stacks{}, s, SVGOptions{}))
	}
	readSVG(t, flameSVG(t, Stacks{}, SVGOptions{}))
}

func TestFlameSVGEscaping(t *testing.T) {
	nasty := `<script>alert("x")</script> & 'q' ]]> operator<<`
	bad := "bad\x00utf8\xff"
	s := Stacks{"p;" + nasty: 3, "p;" + bad: 1}
	title := `Title <&> "quoted"`
	for _, doc := range [][]byte{
		flameSVG(t, s, SVGOptions{Title: title, Subtitle: "a & b"}),
		diffSVG(t, Stacks{"p;gone <&>": 5, "p;x": 1}, s, SVGOptions{Title: title}),
	} {
		frames, texts := readSVG(t, doc)
		var found, foundBad bool
		for _, f := range frames {
			if strings.HasPrefix(f.title, nasty+" (") {
				found = true
			}
			if strings.HasPrefix(f.title, "bad\uFFFDutf8\uFFFD (") {
				foundBad = true
			}
		}
		if !found || !foundBad {
			t.Errorf("frame titles lack the escaped names (found %v, %v): %v", found, foundBad, frames)
		}
		if !strings.Contains(strings.Join(texts, "\n"), title) {
			t.Errorf("title %q not in %q", title, texts)
		}
		if bytes.Contains(doc, []byte("<script>alert")) {
			t.Error("a frame name reached the document unescaped")
		}
	}
}

func TestFlameSVGWidths(t *testing.T) {
	s := readFixture(t, "handmade.perf-script")
	s["p;tiny"] = 1 // 1 in 10008: under the default 0.1%
	s["p;big"] = 10000
	total := s.Total()
	for _, o := range []SVGOptions{{}, {Width: 800, MinFraction: -1}} {
		t.Run(fmt.Sprint(o.Width), func(t *testing.T) {
			frames, _ := readSVG(t, flameSVG(t, s, o))
			width := float64(defaultSVGWidth - 2*svgPad)
			if o.Width > 0 {
				width = float64(o.Width - 2*svgPad)
			}
			scale := width / float64(total)
			root := frames[0]
			if !strings.HasPrefix(root.title, "all (") || samplesOf(t, root) != total || math.Abs(root.w-width) > 0.01 {
				t.Fatalf("root %+v, want all %d samples %.2f wide", root, total, width)
			}
			var tiny bool
			for i, f := range frames {
				n := samplesOf(t, f)
				if math.Abs(f.w-float64(n)*scale) > 0.011 {
					t.Errorf("%q: %.2f px for %d samples, want %.2f", f.title, f.w, n, float64(n)*scale)
				}
				if strings.HasPrefix(f.title, "tiny (") {
					tiny = true
				}
				// Callees sit on their caller, within its edges, and
				// add up to no more than it.
				var sum int64
				for _, c := range frames[i+1:] {
					if c.y == f.y-float64(defaultFrameH) && c.x >= f.x-1e-9 && c.x+c.w <= f.x+f.w+1e-9 {
						sum += samplesOf(t, c)
					}
				}
				if sum > n {
					t.Errorf("%q: callees have %d samples, more than its %d", f.title, sum, n)
				}
			}
			if drawAll := o.MinFraction < 0; tiny != drawAll {
				t.Errorf("tiny frame drawn: %v, want %v", tiny, drawAll)
			}
		})
	}
}

func TestDiffSVGColours(t *testing.T) {
	before := Stacks{"p;grew": 25, "p;shrank": 50, "p;same": 25, "p;gone;deep": 10, "q;x": 0}
	after := Stacks{"p;grew": 100, "p;shrank": 25, "p;same": 50, "p;new": 25}
	// Normalised: grew 25/110→100/200, shrank 50/110→25/200,
	// same 25/110→50/200 (+2 points), new 0→25/200.
	frames, texts := readSVG(t, diffSVG(t, before, after, SVGOptions{}))
	colour := map[string][3]int{}
	for _, f := range frames {
		name := f.title[:strings.LastIndex(f.title, " (")]
		var c [3]int
		if _, err := fmt.Sscanf(f.fill, "rgb(%d,%d,%d)", &c[0], &c[1], &c[2]); err != nil {
			t.Fatalf("%q fill %q: %v", f.title, f.fill, err)
		}
		colour[name] = c
	}
	red := func(c [3]int) bool { return c[0] > c[2]+60 }
	blue := func(c [3]int) bool { return c[2] > c[0]+60 }
	if c := colour["grew"]; !red(c) {
		t.Errorf("grew is %v, want red", c)
	}
	if c := colour["new"]; !red(c) {
		t.Errorf("new is %v, want red", c)
	}
	if c := colour["shrank"]; !blue(c) {
		t.Errorf("shrank is %v, want blue", c)
	}
	if c := colour["grew"]; c[1] >= colour["same"][1] {
		t.Errorf("grew (%v) is not a deeper red than same (+2 points, %v)", c, colour["same"])
	}
	joined := strings.Join(texts, "\n")
	if !strings.Contains(joined, "p;gone") || strings.Contains(joined, "p;gone;deep") {
		t.Errorf("the vanished path p;gone (and not its callee) should be listed:\n%s", joined)
	}
	if colour["all"] != [3]int{235, 235, 235} {
		t.Errorf("the root did not change share and is %v, want neutral", colour["all"])
	}
	var grewTitle string
	for _, f := range frames {
		if strings.HasPrefix(f.title, "grew (") {
			grewTitle = f.title
		}
	}
	if want := "grew (after 100 samples, 50.00%; before 25 samples, 22.73%; +27.27 points)"; grewTitle != want {
		t.Errorf("title %q, want %q", grewTitle, want)
	}
}

func TestFlameSVGScript(t *testing.T) {
	s := Stacks{"p;f": 1}
	inline := string(flameSVG(t, s, SVGOptions{}))
	if !strings.Contains(inline, FlameScript) || strings.Contains(inline, "href=") {
		t.Error("the default SVG should inline FlameScript")
	}
	if strings.Contains(FlameScript, "]]>") {
		t.Error("FlameScript holds ]]> and cannot sit in CDATA")
	}
	ext := string(flameSVG(t, s, SVGOptions{ScriptHref: "/flame.js"}))
	if strings.Contains(ext, "CDATA") || !strings.Contains(ext, `<script href="/flame.js" xlink:href="/flame.js"/>`) {
		t.Errorf("with ScriptHref the SVG should reference the script, not inline it:\n%s", ext)
	}
	// A strict CSP forbids inline handlers and styles.
	for _, forbidden := range []string{"onclick", "onload", "onmouseover", "style=", "<style"} {
		if strings.Contains(ext, forbidden) {
			t.Errorf("SVG holds %q, which a strict Content-Security-Policy blocks", forbidden)
		}
	}
}

func TestFitLabel(t *testing.T) {
	tests := []struct {
		name string
		w    float64
		want string
	}{
		{"main", 100, "main"},
		{"a_rather_long_function_name", 80, "a_rather.."},
		{"abc", 20, ""},
		{"ab", 22, "ab"},
		{"ünïcödé_name", 50, "ünïc.."},
	}
	for _, tt := range tests {
		if got := fitLabel(tt.name, tt.w); got != tt.want {
			t.Errorf("fitLabel(%q, %v) = %q, want %q", tt.name, tt.w, got, tt.want)
		}
	}
}

// FuzzWriteSVG checks that any stacks give well-formed flame graphs, plain
// and differential, whose root spans the samples.
func FuzzWriteSVG(f *testing.F) {
	f.Add("p;<f> 3\np;a&b 1\nq 2\n", "p;<f> 1\nr;gone 4\n")
	f.Add("a 1\n", "")
	f.Fuzz(func(t *testing.T, after, before string) {
		a, err := ReadFolded(strings.NewReader(after))
		if err != nil {
			return
		}
		b, err := ReadFolded(strings.NewReader(before))
		if err != nil {
			return
		}
		frames, _ := readSVG(t, flameSVG(t, a, SVGOptions{Title: after}))
		if a.Total() > 0 && (len(frames) == 0 || samplesOf(t, frames[0]) != a.Total()) {
			t.Fatalf("root %v, want %d samples", frames, a.Total())
		}
		readSVG(t, diffSVG(t, b, a, SVGOptions{Subtitle: before}))
	})
}
