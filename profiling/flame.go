package profiling

import (
	"bufio"
	"cmp"
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Layout of the flame graphs, in pixels. The numbers are what reads well at
// the default width of 1200 with a 12 px font; FlameScript gets the ones it
// needs from attributes, never from copies of these.
const (
	defaultSVGWidth   = 1200
	minSVGWidth       = 100 // room for the margins and a readable frame
	defaultFrameH     = 16
	defaultMinFrac    = 0.001 // frames under 0.1% of samples are not drawn
	svgPad            = 10    // left and right margin of the frame area
	svgFontSize       = 12
	svgCharW          = 0.59 * svgFontSize // Verdana's mean glyph width
	svgTitleY         = 24
	svgSubtitleY      = 42
	svgNoteLineH      = 16
	svgMaxVanished    = 10 // vanished stacks listed by name in a diff
	svgRootName       = "all"
	svgDetailsDefault = "Click a frame to zoom in; hover for its samples."
)

// SVGOptions set how WriteFlameSVG and WriteDiffSVG draw.
type SVGOptions struct {
	// Title is the heading ("Flame graph" or "Differential flame graph"
	// when empty).
	Title string
	// Subtitle is the line below it: what was sampled and how, e.g.
	// "cpu-clock at 999 Hz, 12345 samples" or, for a diff, "normalised by
	// total samples". None when empty.
	Subtitle string
	// Width is the image's width in pixels (1200 when 0 or less, at
	// least 100).
	Width int
	// FrameHeight is one frame's height in pixels (16 when 0 or less).
	FrameHeight int
	// MinFraction is the share of all samples under which a frame is not
	// drawn, to keep the file small: 0.001 (0.1%) when 0; negative draws
	// every frame. A frame left out still counts in its parent's width,
	// so the widths stay true to the samples.
	MinFraction float64
	// ScriptHref, when set, is the URL of FlameScript, which the SVG then
	// references instead of inlining it (for a server whose
	// Content-Security-Policy forbids inline script).
	ScriptHref string
}

func (o SVGOptions) withDefaults(title string) SVGOptions {
	if o.Title == "" {
		o.Title = title
	}
	if o.Width <= 0 {
		o.Width = defaultSVGWidth
	}
	o.Width = max(o.Width, minSVGWidth)
	if o.FrameHeight <= 0 {
		o.FrameHeight = defaultFrameH
	}
	if o.MinFraction == 0 {
		o.MinFraction = defaultMinFrac
	}
	return o
}

// node is one frame of the merged call tree: its name, its samples
// including its callees', and its callees.
type node struct {
	name  string
	count int64
	kids  map[string]*node
}

func (n *node) child(name string) *node {
	if n.kids == nil {
		n.kids = map[string]*node{}
	}
	c, ok := n.kids[name]
	if !ok {
		c = &node{name: name}
		n.kids[name] = c
	}
	return c
}

// sortedKids are n's callees by name, flamegraph.pl's order, so that the
// same frames sit side by side in two graphs and the output is stable.
func (n *node) sortedKids() []*node {
	out := make([]*node, 0, len(n.kids))
	for _, c := range n.kids {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *node) int { return cmp.Compare(a.name, b.name) })
	return out
}

// buildTree merges s into a call tree under a root named "all".
func buildTree(s Stacks) *node {
	root := &node{name: svgRootName}
	for k, c := range s {
		if c <= 0 {
			continue
		}
		root.count += c
		n := root
		for _, f := range strings.Split(k, ";") {
			n = n.child(f)
			n.count += c
		}
	}
	return root
}

// frame is one drawn rectangle: a node at a depth (0 for the root),
// starting start samples from the left.
type frame struct {
	n      *node
	depth  int
	start  int64
	before *node // the same call path in the "before" tree (diffs only)
}

// layout lists the frames to draw, root first then depth first in name
// order, leaving out those narrower than minCount samples; before, when
// not nil, is walked alongside to pair each frame with its past self.
func layout(root, before *node, minCount float64) []frame {
	var out []frame
	var walk func(n, b *node, depth int, start int64)
	walk = func(n, b *node, depth int, start int64) {
		out = append(out, frame{n: n, depth: depth, start: start, before: b})
		for _, c := range n.sortedKids() {
			if float64(c.count) >= minCount {
				var cb *node
				if b != nil {
					cb = b.kids[c.name]
				}
				walk(c, cb, depth+1, start)
			}
			start += c.count
		}
	}
	walk(root, before, 0, 0)
	return out
}

// svgCanvas holds the geometry shared by the plain and the diff graph.
type svgCanvas struct {
	o        SVGOptions
	total    int64
	scale    float64 // pixels per sample
	framesY  int     // top of the frame area
	maxDepth int
	height   int
}

func newCanvas(o SVGOptions, total int64, frames []frame, noteLines int) svgCanvas {
	c := svgCanvas{o: o, total: total}
	for _, f := range frames {
		c.maxDepth = max(c.maxDepth, f.depth)
	}
	if total > 0 {
		c.scale = float64(o.Width-2*svgPad) / float64(total)
	}
	top := svgTitleY + 8
	if o.Subtitle != "" {
		top = svgSubtitleY + 8
	}
	c.framesY = top + noteLines*svgNoteLineH + 8
	c.height = c.framesY + (c.maxDepth+1)*o.FrameHeight + 2*svgNoteLineH
	return c
}

// round2 rounds to hundredths of a pixel; it is monotonic, so a callee's
// rounded edges stay within its caller's.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

func px(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// fitLabel is the part of name that fits in w pixels, cut as FlameScript
// cuts it.
func fitLabel(name string, w float64) string {
	n := int(math.Floor((w - 6) / svgCharW))
	if n >= utf8.RuneCountInString(name) {
		return name
	}
	if n < 3 {
		return ""
	}
	r := []rune(name)
	return string(r[:n-2]) + ".."
}

// esc is s escaped for XML text and attribute values; invalid UTF-8 and
// characters XML forbids become U+FFFD, so any frame name gives a
// well-formed document.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails
	return b.String()
}

// header writes the document start, title, subtitle and the zoom and
// search controls.
func (c svgCanvas) header(w *bufio.Writer) {
	o := c.o
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8" standalone="no"?>`+"\n")
	fmt.Fprintf(w, `<svg version="1.1" width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" font-family="Verdana, sans-serif" font-size="%d">`+"\n",
		o.Width, c.height, o.Width, c.height, svgFontSize)
	fmt.Fprintf(w, `<rect x="0" y="0" width="%d" height="%d" fill="#f8f8f8"/>`+"\n", o.Width, c.height)
	fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle" font-size="17">%s</text>`+"\n", o.Width/2, svgTitleY, esc(o.Title))
	if o.Subtitle != "" {
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n", o.Width/2, svgSubtitleY, esc(o.Subtitle))
	}
	fmt.Fprintf(w, `<text id="reset" x="%d" y="%d" display="none" cursor="pointer" fill="#06c">Reset zoom</text>`+"\n", svgPad, svgTitleY)
	fmt.Fprintf(w, `<text id="search" x="%d" y="%d" text-anchor="end" cursor="pointer" fill="#06c">Search</text>`+"\n", o.Width-svgPad, svgTitleY)
}

// frameRect writes one frame as <g><title/><rect/><text/></g>.
func (c svgCanvas) frameRect(w *bufio.Writer, f frame, title, fill string) {
	x0 := round2(svgPad + float64(f.start)*c.scale)
	x1 := round2(svgPad + float64(f.start+f.n.count)*c.scale)
	y := c.framesY + (c.maxDepth-f.depth)*c.o.FrameHeight
	fmt.Fprintf(w, `<g><title>%s</title><rect x="%s" y="%d" width="%s" height="%d" fill="%s" rx="2"/><text x="%s" y="%d">%s</text></g>`+"\n",
		esc(title), px(x0), y, px(x1-x0), c.o.FrameHeight-1, fill,
		px(x0+3), y+c.o.FrameHeight-4, esc(fitLabel(f.n.name, x1-x0)))
}

// footer writes the details line, the script and the document end.
func (c svgCanvas) footer(w *bufio.Writer) {
	fmt.Fprintf(w, `<text id="details" x="%d" y="%d" fill="#333">%s</text>`+"\n",
		svgPad, c.height-svgNoteLineH/2, esc(svgDetailsDefault))
	if c.o.ScriptHref != "" {
		fmt.Fprintf(w, `<script href="%s" xlink:href="%s"/>`+"\n", esc(c.o.ScriptHref), esc(c.o.ScriptHref))
	} else {
		// FlameScript holds no "]]>", so CDATA carries it verbatim.
		fmt.Fprintf(w, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n", FlameScript)
	}
	fmt.Fprintf(w, "</svg>\n")
}

func (c svgCanvas) framesOpen(w *bufio.Writer) {
	fmt.Fprintf(w, `<g id="frames" data-left="%d" data-width="%d" data-charw="%s" cursor="pointer">`+"\n",
		svgPad, c.o.Width-2*svgPad, px(svgCharW))
}

func pct(n, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return 100 * float64(n) / float64(total)
}

// drawThreshold is the fewest samples a frame needs to be drawn.
func drawThreshold(o SVGOptions, total int64) float64 {
	if o.MinFraction < 0 {
		return 0
	}
	return o.MinFraction * float64(total)
}

// WriteFlameSVG draws s as an interactive flame graph: the root ("all") at
// the bottom, each frame above its caller, its width proportional to its
// samples (its callees' included), callees left to right by name. Every
// frame has a <title> with its name, samples and share, shown on hover;
// clicking zooms (see FlameScript). Colours come from a hash of the name,
// so a function keeps its colour from graph to graph: warm reds and
// oranges for user code, yellows for kernel frames ("_[k]") and greys for
// frames perf could not symbolise.
func WriteFlameSVG(w io.Writer, s Stacks, o SVGOptions) error {
	o = o.withDefaults("Flame graph")
	root := buildTree(s)
	frames := layout(root, nil, drawThreshold(o, root.count))
	if root.count == 0 {
		frames = nil
	}
	notes := 0
	if len(frames) == 0 {
		notes = 1
	}
	c := newCanvas(o, root.count, frames, notes)
	bw := bufio.NewWriter(w)
	c.header(bw)
	if len(frames) == 0 {
		fmt.Fprintf(bw, `<text x="%d" y="%d">No samples.</text>`+"\n", svgPad, c.framesY-12)
	}
	c.framesOpen(bw)
	for _, f := range frames {
		title := fmt.Sprintf("%s (%d samples, %.2f%%)", f.n.name, f.n.count, pct(f.n.count, root.count))
		c.frameRect(bw, f, title, warmColour(f.n.name, f.depth))
	}
	fmt.Fprintf(bw, "</g>\n")
	c.footer(bw)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write flame graph: %w", err)
	}
	return nil
}

// WriteDiffSVG draws how a profile changed: the shape is after's, each
// frame coloured by how its share of all samples moved from before to
// after (both normalised by their own totals, so runs of different length
// compare): red where it grew, blue where it shrank, pale grey where it
// held, the colour deeper the larger the change (full at the largest
// change, or at 5 points when no change is that large). Each frame's title
// gives both shares and the change in percentage points. Call paths that
// vanished cannot be drawn in after's shape, so the largest are listed
// above the graph with their share of before.
func WriteDiffSVG(w io.Writer, before, after Stacks, o SVGOptions) error {
	o = o.withDefaults("Differential flame graph")
	aRoot, bRoot := buildTree(after), buildTree(before)
	frames := layout(aRoot, bRoot, drawThreshold(o, aRoot.count))
	if aRoot.count == 0 {
		frames = nil
	}
	gone := vanished(aRoot, bRoot, drawThreshold(o, bRoot.count))
	var notes []string
	if len(frames) == 0 {
		notes = append(notes, "No samples after.")
	}
	listed := gone
	if len(listed) > svgMaxVanished {
		listed = listed[:svgMaxVanished]
	}
	if len(gone) > 0 {
		paths := "call paths"
		if len(gone) == 1 {
			paths = "call path"
		}
		notes = append(notes, fmt.Sprintf("Gone since before (%d %s, %.2f%% of before's samples):", len(gone), paths, sumPct(gone, bRoot.count)))
	}
	deltas := make([]float64, len(frames))
	maxDelta := 0.05 // a 5-point change is full colour unless a bigger one sets the scale
	for i, f := range frames {
		deltas[i] = share(f.n, aRoot.count) - share(f.before, bRoot.count)
		maxDelta = max(maxDelta, math.Abs(deltas[i]))
	}
	lines := len(notes) + len(listed)
	if len(gone) > len(listed) {
		lines++
	}
	c := newCanvas(o, aRoot.count, frames, lines)
	bw := bufio.NewWriter(w)
	c.header(bw)
	y := c.framesY - 8 - lines*svgNoteLineH + svgNoteLineH - 4
	for _, n := range notes {
		fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text>`+"\n", svgPad, y, esc(n))
		y += svgNoteLineH
	}
	for _, g := range listed {
		text := fmt.Sprintf("%.2f%%  %s", pct(g.count, bRoot.count), g.path)
		fmt.Fprintf(bw, `<text x="%d" y="%d" fill="#2850c8"><title>%s</title>%s</text>`+"\n", svgPad+10, y,
			esc(fmt.Sprintf("%s (before %d samples, %.2f%%; after none)", g.path, g.count, pct(g.count, bRoot.count))),
			esc(fitLabel(text, float64(o.Width-2*svgPad-10))))
		y += svgNoteLineH
	}
	if len(gone) > len(listed) {
		fmt.Fprintf(bw, `<text x="%d" y="%d" fill="#2850c8">and %d more</text>`+"\n", svgPad+10, y, len(gone)-len(listed))
	}
	c.framesOpen(bw)
	for i, f := range frames {
		var bc int64
		if f.before != nil {
			bc = f.before.count
		}
		title := fmt.Sprintf("%s (after %d samples, %.2f%%; before %d samples, %.2f%%; %+.2f points)",
			f.n.name, f.n.count, pct(f.n.count, aRoot.count), bc, pct(bc, bRoot.count), 100*deltas[i])
		c.frameRect(bw, f, title, diffColour(deltas[i]/maxDelta))
	}
	fmt.Fprintf(bw, "</g>\n")
	c.footer(bw)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write differential flame graph: %w", err)
	}
	return nil
}

// share is n's part of total, 0 for a missing node or an empty profile.
func share(n *node, total int64) float64 {
	if n == nil || total <= 0 {
		return 0
	}
	return float64(n.count) / float64(total)
}

// gonePath is a call path of before that after never reached.
type gonePath struct {
	path  string
	count int64
}

func sumPct(g []gonePath, total int64) float64 {
	var n int64
	for _, p := range g {
		n += p.count
	}
	return pct(n, total)
}

// vanished lists before's call paths with at least minCount samples whose
// frame after lacks, shortest such path only (not its callees), largest
// first, ties by path.
func vanished(after, before *node, minCount float64) []gonePath {
	var out []gonePath
	var walk func(a, b *node, path string)
	walk = func(a, b *node, path string) {
		for _, bc := range b.sortedKids() {
			if bc.count <= 0 || float64(bc.count) < minCount {
				continue
			}
			p := bc.name
			if path != "" {
				p = path + ";" + bc.name
			}
			var ac *node
			if a != nil {
				ac = a.kids[bc.name]
			}
			if ac == nil {
				out = append(out, gonePath{path: p, count: bc.count})
				continue
			}
			walk(ac, bc, p)
		}
	}
	walk(after, before, "")
	slices.SortFunc(out, func(x, y gonePath) int {
		if c := cmp.Compare(y.count, x.count); c != 0 {
			return c
		}
		return cmp.Compare(x.path, y.path)
	})
	return out
}

// warmColour is a frame's fill in the plain graph, from a hash of its name
// so that it is the same in every graph.
func warmColour(name string, depth int) string {
	if depth == 0 {
		return "rgb(200,200,200)"
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	v := h.Sum32()
	a, b, c := int(v&0xff), int(v>>8&0xff), int(v>>16&0xff)
	switch {
	case strings.HasSuffix(name, kernelSuffix):
		// yellows
		return fmt.Sprintf("rgb(%d,%d,%d)", 215+a*40/255, 190+b*45/255, 40+c*60/255)
	case name == unknownFrame || strings.Contains(name, "+0x"):
		// greys with a warm cast: code perf could not name
		g := 170 + a*50/255
		return fmt.Sprintf("rgb(%d,%d,%d)", g+10, g, g-10)
	default:
		// reds and oranges
		return fmt.Sprintf("rgb(%d,%d,%d)", 205+a*50/255, 60+b*160/255, c*55/255)
	}
}

// diffColour is a frame's fill in the diff graph for a change d in -1..1
// of the scale: pale grey at 0, deepening to red as d grows toward 1 and
// to blue toward -1.
func diffColour(d float64) string {
	d = max(-1, min(1, d))
	const base = 235.0
	mix := func(to float64, t float64) int { return int(math.Round(base + (to-base)*t)) }
	t := math.Sqrt(math.Abs(d)) // small changes stay visible
	if d >= 0 {
		return fmt.Sprintf("rgb(%d,%d,%d)", mix(225, t), mix(40, t), mix(40, t))
	}
	return fmt.Sprintf("rgb(%d,%d,%d)", mix(40, t), mix(90, t), mix(225, t))
}
