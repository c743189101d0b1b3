package chart

import (
	"html/template"
	"math"
	"strings"
)

// Series is one line of a LineChart. With Lo and Hi (aligned with X) it
// is drawn as the band between them: a min/max-downsampled series, whose
// peaks stay visible however many points it had.
type Series struct {
	Name   string
	Color  int
	Dashed bool // e.g. the ideal line
	Points bool // mark each point (sparse series: a sweep, a history)
	X, Y   []float64
	Lo, Hi []float64
	// Links, when set, aligned with X, make each point a link (a history
	// point links to its run).
	Links []string
}

// Mark is an annotated point, e.g. the knee of a speedup curve.
type Mark struct {
	X, Y  float64
	Label string
}

// VLine is a vertical marker across the plot at X, e.g. a change point
// of a history, labelled at the top and, with Link, a link.
type VLine struct {
	X     float64
	Label string
	Title string // the tooltip: the marker in words
	Link  string
}

// LineChart plots series against a numeric x axis.
type LineChart struct {
	Title, XAxis, YAxis string
	Series              []Series
	Marks               []Mark
	VLines              []VLine
	XFormat, YFormat    func(float64) string // nil: Num
	// XTicks places the x axis's ticks (TimeTicks for Unix seconds);
	// nil: Ticks.
	XTicks        func(lo, hi float64, count int) []float64
	Width, Height int // of the viewBox; 0: 720 x 260
	// XFrom..XTo is the x axis's span when XRange; otherwise the
	// series' own.
	XFrom, XTo float64
	XRange     bool
	// Legend lists the series' names under the plot; pages with many
	// series (one per trial) put their legend in HTML instead.
	Legend bool
}

// PlotWidth is the width in px of the plot area of a chart Width wide:
// what a series is downsampled to.
func PlotWidth(width int) int {
	if width == 0 {
		width = 720
	}
	return width - 64 - 36
}

// TimeTicks places about count ticks on an axis of Unix seconds at round
// times: whole minutes, hours or days (UTC).
func TimeTicks(lo, hi float64, count int) []float64 {
	steps := []float64{60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400}
	step := steps[len(steps)-1]
	for _, st := range steps {
		if (hi-lo)/st <= float64(count) {
			step = st
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		out = append(out, v)
	}
	return out
}

// SVG draws the chart.
func (c LineChart) SVG() template.HTML {
	w, h := float64(c.Width), float64(c.Height)
	if w == 0 {
		w = 720
	}
	if h == 0 {
		h = 260
	}
	xf, yf := c.XFormat, c.YFormat
	if xf == nil {
		xf = Num
	}
	if yf == nil {
		yf = Num
	}
	legendH := 0.0
	if c.Legend {
		legendH = 20
	}
	left, right, top, bottom := 64.0, w-36, 10.0, h-40-legendH // right: room for the last x label
	xlo, xhi := math.Inf(1), math.Inf(-1)
	yhi := 0.0
	for _, s := range c.Series {
		for i, x := range s.X {
			xlo, xhi = math.Min(xlo, x), math.Max(xhi, x)
			for _, v := range []float64{at(s.Y, i), at(s.Hi, i)} {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					yhi = math.Max(yhi, v)
				}
			}
		}
	}
	for _, m := range c.Marks {
		yhi = math.Max(yhi, m.Y)
	}
	if math.IsInf(xlo, 0) {
		xlo, xhi = 0, 1
	}
	if c.XRange {
		xlo, xhi = c.XFrom, c.XTo
	}
	if xhi == xlo {
		xlo, xhi = xlo-1, xhi+1
	}
	yhi = niceMax(yhi, 4)
	xs := func(v float64) float64 { return left + (right-left)*(v-xlo)/(xhi-xlo) }
	ys := func(v float64) float64 { return bottom - (bottom-top)*v/yhi }

	var b svgBuf
	b.open("line", c.Title, int(w), int(h))
	for _, t := range Ticks(0, yhi, 4) {
		y := ys(t)
		b.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, n(left), n(y), n(right), n(y), grid)
		b.text(left-6, y+4, "end", "tick", yf(t))
	}
	xticks := c.XTicks
	if xticks == nil {
		xticks = Ticks
	}
	for _, t := range xticks(xlo, xhi, max(2, int((right-left)/120))) {
		x := xs(t)
		b.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, n(x), n(bottom), n(x), n(bottom+4), muted)
		b.text(x, bottom+17, "middle", "tick", xf(t))
	}
	b.f(`<path d="M%s %sV%sH%s" stroke="%s" fill="none"/>`, n(left), n(top), n(bottom), n(right), muted)
	b.text((left+right)/2, bottom+34, "middle", "axis", c.XAxis)
	b.f(`<text x="12" y="%s" text-anchor="middle" transform="rotate(-90 12 %s)" class="axis">%s</text>`, n((top+bottom)/2), n((top+bottom)/2), esc(c.YAxis))

	for _, s := range c.Series {
		if len(s.X) == 0 {
			continue
		}
		col := Color(s.Color)
		if len(s.Lo) == len(s.X) && len(s.Hi) == len(s.X) && len(s.X) > 0 {
			// The band: along the maxima, back along the minima.
			var d strings.Builder
			for i, x := range s.X {
				d.WriteString(cmd(i == 0) + n(xs(x)) + " " + n(ys(s.Hi[i])))
			}
			for i := len(s.X) - 1; i >= 0; i-- {
				d.WriteString("L" + n(xs(s.X[i])) + " " + n(ys(s.Lo[i])))
			}
			b.f(`<path d="%sZ" fill="%s" fill-opacity="0.35" stroke="%s" stroke-width="1" stroke-linejoin="round" class="band"><title>%s</title></path>`, d.String(), col, col, esc(s.Name))
			continue
		}
		var d strings.Builder
		pen := true
		for i, x := range s.X {
			y := at(s.Y, i)
			if math.IsNaN(y) {
				pen = true
				continue
			}
			d.WriteString(cmd(pen) + n(xs(x)) + " " + n(ys(y)))
			pen = false
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="5 4"`
		}
		b.f(`<path d="%s" fill="none" stroke="%s" stroke-width="2"%s class="series"><title>%s</title></path>`, d.String(), col, dash, esc(s.Name))
		if s.Points {
			for i, x := range s.X {
				y := at(s.Y, i)
				if math.IsNaN(y) {
					continue
				}
				dot := `<circle cx="` + n(xs(x)) + `" cy="` + n(ys(y)) + `" r="3.5" fill="` + col + `"><title>` + esc(s.Name+": "+xf(x)+", "+yf(y)) + `</title></circle>`
				if i < len(s.Links) && s.Links[i] != "" {
					dot = `<a href="` + esc(s.Links[i]) + `">` + dot + `</a>`
				}
				b.WriteString(dot)
			}
		}
	}
	for _, v := range c.VLines {
		x := xs(v.X)
		if x < left || x > right {
			continue
		}
		mark := `<g class="vline"><title>` + esc(v.Title) + `</title>` +
			`<line x1="` + n(x) + `" y1="` + n(top) + `" x2="` + n(x) + `" y2="` + n(bottom) + `" stroke="` + ink + `" stroke-width="1.5" stroke-dasharray="3 3"/>`
		anchor, tx := "start", x+4
		if x > (left+right)/2 {
			anchor, tx = "end", x-4
		}
		mark += `<text x="` + n(tx) + `" y="` + n(top+12) + `" text-anchor="` + anchor + `" class="mark-label">` + esc(v.Label) + `</text></g>`
		if v.Link != "" {
			mark = `<a href="` + esc(v.Link) + `">` + mark + `</a>`
		}
		b.WriteString(mark)
	}
	for _, m := range c.Marks {
		x, y := xs(m.X), ys(m.Y)
		b.f(`<g class="mark"><circle cx="%s" cy="%s" r="6" fill="none" stroke="%s" stroke-width="2"/>`, n(x), n(y), ink)
		anchor := "start"
		tx := x + 9
		if x > (left+right)/2 {
			anchor, tx = "end", x-9
		}
		b.text(tx, y-9, anchor, "mark-label", m.Label)
		b.f(`</g>`)
	}
	if c.Legend {
		x := left
		for _, s := range c.Series {
			dash := ""
			if s.Dashed {
				dash = ` stroke-dasharray="5 4"`
			}
			b.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"%s/>`, n(x), n(h-8), n(x+18), n(h-8), Color(s.Color), dash)
			b.text(x+22, h-4, "start", "legend", s.Name)
			x += 22 + textWidth(s.Name) + 16
		}
	}
	b.f(`</svg>`)
	return template.HTML(b.String()) // every text in it went through esc
}

func cmd(move bool) string {
	if move {
		return "M"
	}
	return "L"
}

func at(v []float64, i int) float64 {
	if i < len(v) {
		return v[i]
	}
	return math.NaN()
}

// MinMax reduces a long series to at most one bucket per pixel: x is cut
// into buckets equal parts of [x0, x1], and each bucket that has points
// keeps their minimum, maximum and mean. Unlike LTTB, which keeps one
// chosen point per bucket, it keeps every peak and every trough: a memory
// spike of one sample stays on the chart. It runs in one pass, in
// O(buckets) memory per series when points come in x order.
type MinMax struct {
	x0, width float64
	buckets   int
	b         []bucket
}

type bucket struct {
	i           int
	lo, hi, sum float64
	count       int
	xsum        float64
}

// NewMinMax reduces x in [x0, x1] to buckets buckets.
func NewMinMax(x0, x1 float64, buckets int) *MinMax {
	if buckets < 1 {
		buckets = 1
	}
	return &MinMax{x0: x0, width: (x1 - x0) / float64(buckets), buckets: buckets}
}

// Add adds one point; NaN values are left out.
func (m *MinMax) Add(x, y float64) {
	if y != y || x != x { // NaN
		return
	}
	i := 0
	if m.width > 0 {
		i = int((x - m.x0) / m.width)
	}
	i = max(0, min(i, m.buckets-1))
	k := len(m.b) - 1
	if k < 0 || m.b[k].i != i {
		for k >= 0 && m.b[k].i > i { // out of order: rare; find its place
			k--
		}
		if k < 0 || m.b[k].i != i {
			m.b = append(m.b, bucket{})
			copy(m.b[k+2:], m.b[k+1:])
			m.b[k+1] = bucket{i: i, lo: y, hi: y}
			k++
		}
	}
	bk := &m.b[k]
	if y < bk.lo {
		bk.lo = y
	}
	if y > bk.hi {
		bk.hi = y
	}
	bk.sum += y
	bk.xsum += x
	bk.count++
}

// Len is the number of non-empty buckets.
func (m *MinMax) Len() int { return len(m.b) }

// Series returns the buckets as a band series (X the mean x of each
// bucket's points, Y their mean, Lo and Hi their extremes).
func (m *MinMax) Series(name string, color int) Series {
	s := Series{Name: name, Color: color, X: make([]float64, len(m.b)), Y: make([]float64, len(m.b)),
		Lo: make([]float64, len(m.b)), Hi: make([]float64, len(m.b))}
	for i, bk := range m.b {
		s.X[i] = bk.xsum / float64(bk.count)
		s.Y[i] = bk.sum / float64(bk.count)
		s.Lo[i], s.Hi[i] = bk.lo, bk.hi
	}
	return s
}
