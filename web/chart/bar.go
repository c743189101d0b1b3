package chart

import (
	"html/template"
	"math"
)

// Bar is one bar: a value with its confidence interval.
type Bar struct {
	Group string  // bars of one group are drawn together under its name ("" none)
	Label string  // the bar's own name within its group
	Value float64 // NaN: no value (drawn as "no data")
	// Lo..Hi is the CI drawn as a whisker; NaN when none.
	Lo, Hi float64
	Color  int    // palette index
	Class  string // e.g. "regression": a hook for the stylesheet
	Note   string // a word after the value ("slower"): not colour alone
}

// BarChart is a horizontal bar chart: one row per bar, grouped, the value
// axis at the bottom. Horizontal bars keep long case names readable at a
// phone's width.
type BarChart struct {
	Title string
	Axis  string // the value axis's name with its unit: "median (s)"
	Bars  []Bar
	// Ref draws a vertical reference line at this value (1 for ratios);
	// NaN or 0 with RefSet false: none.
	Ref    float64
	RefSet bool
	// Format renders values on the axis and beside bars; nil: Num.
	Format func(float64) string
	Width  int // of the viewBox; 0: 720
}

// SVG draws the chart.
func (c BarChart) SVG() template.HTML {
	const (
		rowH   = 22.0
		groupH = 20.0
		top    = 8.0
		axisH  = 40.0
	)
	w := float64(c.Width)
	if w == 0 {
		w = 720
	}
	format := c.Format
	if format == nil {
		format = Num
	}
	labelW := 40.0
	hi := 0.0
	groups := 0
	for i, b := range c.Bars {
		labelW = max(labelW, textWidth(b.Label)+12)
		for _, v := range []float64{b.Value, b.Hi} {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				hi = max(hi, v)
			}
		}
		if i == 0 || b.Group != c.Bars[i-1].Group {
			if b.Group != "" {
				groups++
			}
		}
	}
	if c.RefSet {
		hi = max(hi, c.Ref)
	}
	labelW = min(labelW, w*0.4)
	right := 96.0 // the value and its note beside the longest bar
	x0, x1 := labelW, w-right
	hi = niceMax(hi, 5)
	xs := func(v float64) float64 { return x0 + (x1-x0)*v/hi }
	h := top + float64(len(c.Bars))*rowH + float64(groups)*groupH + axisH

	var b svgBuf
	b.open("bar", c.Title, int(w), int(h))
	plotTop, plotBot := top, h-axisH+4
	for _, t := range Ticks(0, hi, 5) {
		x := xs(t)
		b.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, n(x), n(plotTop), n(x), n(plotBot), grid)
		b.text(x, plotBot+14, "middle", "tick", format(t))
	}
	b.text((x0+x1)/2, h-6, "middle", "axis", c.Axis)
	y := top
	for i, bar := range c.Bars {
		if bar.Group != "" && (i == 0 || bar.Group != c.Bars[i-1].Group) {
			b.f(`<text x="4" y="%s" font-weight="600" class="group">%s</text>`, n(y+14), esc(bar.Group))
			y += groupH
		}
		mid := y + rowH/2
		b.f(`<g%s>`, classAttr(bar.Class))
		b.text(x0-6, mid+4, "end", "label", clip(bar.Label, x0-10))
		if math.IsNaN(bar.Value) {
			b.text(x0+4, mid+4, "start", "nodata", "no data")
		} else {
			col := Color(bar.Color)
			b.f(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity="0.85"><title>%s: %s</title></rect>`,
				n(x0), n(y+4), n(max(xs(bar.Value)-x0, 1)), n(rowH-8), col, esc(bar.Label), esc(format(bar.Value)))
			end := xs(bar.Value)
			if !math.IsNaN(bar.Lo) && !math.IsNaN(bar.Hi) {
				lo, hiX := xs(bar.Lo), xs(bar.Hi)
				b.f(`<path d="M%s %sH%sM%s %sV%sM%s %sV%s" stroke="%s" stroke-width="1.5" fill="none" class="whisker"/>`,
					n(lo), n(mid), n(hiX), n(lo), n(mid-5), n(mid+5), n(hiX), n(mid-5), n(mid+5), ink)
				end = max(end, hiX)
			}
			label := format(bar.Value)
			if bar.Note != "" {
				label += " " + bar.Note
			}
			b.text(end+5, mid+4, "start", "value", label)
		}
		b.f(`</g>`)
		y += rowH
	}
	if c.RefSet {
		x := xs(c.Ref)
		b.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-dasharray="4 3" class="ref"/>`, n(x), n(plotTop), n(x), n(plotBot), muted)
	}
	b.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, n(x0), n(plotTop), n(x0), n(plotBot), muted)
	b.f(`</svg>`)
	return template.HTML(b.String()) // every text in it went through esc
}

// clip shortens s to fit width px, with an ellipsis.
func clip(s string, width float64) string {
	r := []rune(s)
	maxRunes := int(width / 7.4)
	if len(r) <= maxRunes || maxRunes < 2 {
		return s
	}
	return string(r[:maxRunes-1]) + "…"
}
