package reports

import (
	"fmt"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
	"github.com/benchrig/benchrig/stats"
)

// TestHistoryOf: points come newest first from the store and go out
// oldest first; a run without a successful trial of the case is a point
// without a median that the change points skip, and a step's point is
// its index among all points.
func TestHistoryOf(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var pts []benchrig.CasePoint // oldest first here, reversed below
	for i := range 12 {
		med := 100 * time.Millisecond
		if i >= 7 {
			med = 120 * time.Millisecond
		}
		med += time.Duration(i%3) * 500 * time.Microsecond
		p := benchrig.CasePoint{RunID: fmt.Sprintf("run%02d", i), Started: t0.Add(time.Duration(i) * time.Hour), Status: benchrig.RunFinished,
			Measured: 5, Median: med}
		if i == 3 {
			p.Measured, p.Failed, p.Median, p.Status = 0, 5, 0, benchrig.RunFailed
		}
		pts = append(pts, p)
	}
	for i, j := 0, len(pts)-1; i < j; i, j = i+1, j-1 {
		pts[i], pts[j] = pts[j], pts[i]
	}
	h := HistoryOf("n=1", "n=1", pts, stats.ChangePointOptions{})
	if len(h.Points) != 12 || h.Points[0].Run != "run00" || h.Points[11].Run != "run11" {
		t.Fatalf("points %+v, want 12 oldest first", h.Points)
	}
	if h.Points[3].N != 0 || h.Points[3].MedianS != 0 || h.Points[3].Failed != 5 {
		t.Errorf("the failed run's point %+v, want no median", h.Points[3])
	}
	if len(h.Changes) != 1 {
		t.Fatalf("changes %+v, want one", h.Changes)
	}
	c := h.Changes[0]
	if c.Point != 7 || c.Run != "run07" || h.Points[7].Change != 0 || c.Magnitude < 0.19 || c.Magnitude > 0.21 || c.P > 0.05 || c.Confidence != 1-c.P {
		t.Errorf("change %+v, want +20%% at run07 (point 7)", c)
	}
	for i, p := range h.Points {
		if i != 7 && p.Change != -1 {
			t.Errorf("point %d marked as a step", i)
		}
	}
	if got := c.Percent(); got != "+20.0%" && got != "+19.9%" && got != "+20.1%" {
		t.Errorf("percent %q", got)
	}
}
