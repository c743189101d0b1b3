package chart

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// A spike of one point among a million stays in the reduced series, and
// the reduction has at most one bucket per pixel.
func TestMinMaxKeepsPeaks(t *testing.T) {
	const n = 1_000_000
	m := NewMinMax(0, n, 640)
	for i := range n {
		y := float64(i % 7)
		switch i {
		case 123_457:
			y = 1000 // a peak
		case 876_543:
			y = -50 // a trough
		}
		m.Add(float64(i), y)
	}
	s := m.Series("x", 0)
	if len(s.X) != 640 {
		t.Fatalf("%d buckets, want 640", len(s.X))
	}
	if !slices.Contains(s.Hi, 1000) || !slices.Contains(s.Lo, -50) {
		t.Errorf("peak or trough lost: max %v, min %v", slices.Max(s.Hi), slices.Min(s.Lo))
	}
	if !slices.IsSorted(s.X) {
		t.Error("buckets out of x order")
	}
}

func TestMinMaxOutOfOrder(t *testing.T) {
	m := NewMinMax(0, 10, 10)
	for _, x := range []float64{5, 1, 9, 1.5, 5.2} {
		m.Add(x, x)
	}
	m.Add(3, math.NaN()) // left out
	s := m.Series("x", 0)
	if want := []float64{1.25, 5.1, 9}; !slices.Equal(s.X, want) {
		t.Errorf("X = %v, want %v", s.X, want)
	}
	if want := []float64{1, 5, 9}; !slices.Equal(s.Lo, want) {
		t.Errorf("Lo = %v, want %v", s.Lo, want)
	}
}

func TestTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   []float64
	}{
		{0, 10, []float64{0, 2, 4, 6, 8, 10}},
		{0, 1, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{0, 419e6, []float64{0, 100e6, 200e6, 300e6, 400e6}},
	} {
		if got := Ticks(tc.lo, tc.hi, 5); !slices.Equal(got, tc.want) {
			t.Errorf("Ticks(%v, %v) = %v, want %v", tc.lo, tc.hi, got, tc.want)
		}
	}
}

// Charts carry their title for assistive technology, escape every text,
// and use no style attribute or element (the CSP would block them).
func TestChartsAccessibleEscapedNoStyle(t *testing.T) {
	evil := `<script>x</script>"'&`
	svgs := map[string]string{
		"bar": string(BarChart{Title: evil, Axis: evil, Bars: []Bar{{Group: evil, Label: evil, Value: 1, Lo: 0.9, Hi: 1.1, Note: evil}, {Label: "b", Value: math.NaN()}}, Ref: 1, RefSet: true}.SVG()),
		"line": string(LineChart{Title: evil, XAxis: evil, YAxis: evil, Legend: true, Marks: []Mark{{X: 1, Y: 1, Label: evil}},
			VLines: []VLine{{X: 0.5, Label: evil, Title: evil, Link: `/runs/"><x`}, {X: 7, Label: "off the axis"}},
			Series: []Series{{Name: evil, X: []float64{0, 1}, Y: []float64{1, 2}, Points: true, Links: []string{`/runs/"><x`, ""}}, {Name: "band", X: []float64{0, 1}, Lo: []float64{0, 1}, Hi: []float64{1, 2}, Y: []float64{0.5, 1.5}}}}.SVG()),
	}
	for name, svg := range svgs {
		if strings.Contains(svg, "<script>") || strings.Contains(svg, `"><x`) {
			t.Errorf("%s: unescaped text:\n%s", name, svg)
		}
		if strings.Contains(svg, "style=") || strings.Contains(svg, "<style") {
			t.Errorf("%s: uses styles, which the CSP blocks", name)
		}
		if !strings.Contains(svg, `role="img" aria-label="&lt;script&gt;`) || !strings.Contains(svg, "<title>&lt;script&gt;x&lt;/script&gt;") {
			t.Errorf("%s: no escaped title and aria-label", name)
		}
	}
	if n := strings.Count(svgs["bar"], "<rect"); n != 1 {
		t.Errorf("bar chart: %d bars, want 1 (the other has no value)", n)
	}
	if !strings.Contains(svgs["bar"], "no data") {
		t.Error("bar chart: a bar without value does not say so")
	}
	if !strings.Contains(svgs["line"], `class="band"`) || !strings.Contains(svgs["line"], `class="mark"`) {
		t.Error("line chart: no band or no mark")
	}
	if n := strings.Count(svgs["line"], `<g class="vline">`); n != 1 || !strings.Contains(svgs["line"], `<a href="/runs/&#34;&gt;&lt;x"><g class="vline"><title>&lt;script&gt;`) {
		t.Errorf("line chart: %d vertical markers, want 1 linked and escaped (the other is off the x axis)", n)
	}
}

func TestTimeTicks(t *testing.T) {
	// 10:00 to 13:00 UTC: one an hour, on the hour.
	lo := float64(1772359200) // 2026-03-01 10:00 UTC
	if got, want := TimeTicks(lo, lo+3*3600, 4), []float64{lo, lo + 3600, lo + 7200, lo + 10800}; !slices.Equal(got, want) {
		t.Errorf("TimeTicks = %v, want %v", got, want)
	}
}
