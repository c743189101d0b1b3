// Package chart draws the dashboards' charts as small SVG documents, on
// the server, to be inlined in a page: bar charts with CI whiskers, line
// charts (speedup against N with the ideal line and the knee; metric time
// series) and min/max downsampling for long series.
//
// It is hand-written rather than gonum.org/v1/plot's vgsvg or
// github.com/go-analyze/charts because both style every element with a
// style="..." attribute (39 and 32 of them in a six-bar chart), which the
// dashboards' Content-Security-Policy (style-src 'self') blocks in inline
// SVG; go-analyze also names a web font. Here every element uses SVG
// presentation attributes (fill=, stroke=, font-size=), which are not
// styles, and classes that /static/style.css may refine. Text is escaped;
// each chart has a <title> and an aria-label, and the pages show the same
// numbers in a table.
package chart

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Palette is the series colours: Okabe and Ito's, told apart by the
// colour blind; series beyond it reuse it.
var Palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"}

// Color is the palette's colour i (wrapping).
func Color(i int) string { return Palette[((i%len(Palette))+len(Palette))%len(Palette)] }

const (
	ink   = "#1d2430"
	muted = "#5b6576"
	grid  = "#e3e7ee"
	font  = "system-ui, sans-serif"
)

// svgBuf builds one SVG document.
type svgBuf struct{ strings.Builder }

func (b *svgBuf) f(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }

// esc escapes text for SVG content and attribute values.
func esc(s string) string { return template.HTMLEscapeString(s) }

// n renders a coordinate with one decimal at most: enough for a screen,
// and what keeps a long series' path small.
func n(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

func (b *svgBuf) open(class, title string, w, h int) {
	b.f(`<svg xmlns="http://www.w3.org/2000/svg" class="chart %s" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" font-family="%s" font-size="13" fill="%s">`,
		esc(class), w, h, w, h, esc(title), font, ink)
	b.f(`<title>%s</title>`, esc(title))
}

func (b *svgBuf) text(x, y float64, anchor, class, s string) {
	b.f(`<text x="%s" y="%s" text-anchor="%s"%s>%s</text>`, n(x), n(y), anchor, classAttr(class), esc(s))
}

func classAttr(c string) string {
	if c == "" {
		return ""
	}
	return ` class="` + esc(c) + `"`
}

// Ticks returns about count round values spanning [lo, hi].
func Ticks(lo, hi float64, count int) []float64 {
	if !(hi > lo) || count < 1 {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(count)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for k := math.Ceil(lo / step); k*step <= hi+step*1e-9; k++ {
		// 12 significant digits drop the binary noise (0.6000000000000001).
		v, _ := strconv.ParseFloat(strconv.FormatFloat(k*step, 'g', 12, 64), 64)
		out = append(out, v)
	}
	return out
}

// niceMax rounds hi up to the next tick, so the axis ends on a label.
func niceMax(hi float64, count int) float64 {
	if hi <= 0 || math.IsNaN(hi) {
		return 1
	}
	t := Ticks(0, hi, count)
	if last := t[len(t)-1]; last >= hi {
		return last
	}
	if len(t) > 1 {
		return t[len(t)-1] + (t[1] - t[0])
	}
	return hi
}

// Num formats an axis value compactly: 3 significant digits, k/M/G
// suffixes for large ones.
func Num(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 1e9:
		return trim(v/1e9) + "G"
	case a >= 1e6:
		return trim(v/1e6) + "M"
	case a >= 1e4:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

func trim(v float64) string {
	s := strconv.FormatFloat(v, 'g', 3, 64)
	if strings.Contains(s, "e") {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return s
}

// textWidth estimates the width of s at font-size 12: good enough to lay
// out labels without measuring fonts (none is fetched or embedded).
func textWidth(s string) float64 { return 7.4 * float64(len([]rune(s))) }
