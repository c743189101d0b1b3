package reports

import (
	"strings"
	"testing"
	"time"

	"github.com/benchrig/benchrig"
)

func TestCollectionLine(t *testing.T) {
	cost := benchrig.CollectorCost{Node: "local", Mode: "in-process", Interval: 100 * time.Millisecond, Wall: 3900 * time.Millisecond,
		CPU: 12 * time.Millisecond, MemoryBytes: 8 << 20, Samples: 41}
	for _, tc := range []struct {
		name string
		c    *benchrig.Collection
		want string
	}{
		{"none recorded", nil, "collector: off"},
		{"off, results shipped", &benchrig.Collection{Sink: "elasticsearch http://es:9200", Shipping: benchrig.ShipCounters{Sent: 12}},
			"collector: off; shipped to elasticsearch http://es:9200: 12 sent"},
		{"one collector", &benchrig.Collection{Interval: 100 * time.Millisecond, Sink: "store", Collectors: []benchrig.CollectorCost{cost},
			Shipping: benchrig.ShipCounters{Sent: 41}},
			"collector: 0.308% of one core (CPU 12.0 ms over 3.90 s), every 100ms, 41 samples, 8.39 MB; shipped to store: 41 sent"},
		{"counters", &benchrig.Collection{Interval: time.Second, Sink: "es", Collectors: []benchrig.CollectorCost{{Wall: time.Second, Samples: 3, Dropped: 2}},
			Shipping: benchrig.ShipCounters{Sent: 1, Retried: 2, Spooled: 3, Failed: 4, Duplicates: 5}},
			"collector: 0% of one core (CPU 0 s over 1.00 s), every 1s, 3 samples, 2 dropped; shipped to es: 1 sent, 2 retried, 3 spooled, 4 failed, 5 duplicates"},
		{"none ran", &benchrig.Collection{Interval: time.Second, Sink: "store", Shipping: benchrig.ShipCounters{Sent: 4}},
			"collector: every 1s, none ran; shipped to store: 4 sent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CollectionLine(tc.c); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// noisyCase is a case of measured trials of the given walls (ms), those
// marked disturbed with an other-CPU share of other and a steal share.
func noisyCase(walls []float64, disturbed []bool, other, steal float64) *benchrig.Run {
	run := &benchrig.Run{ID: "r", Cases: benchrig.Matrix(nil)}
	for i, w := range walls {
		wall := ms(w)
		n := benchrig.Noise{Window: wall, CPUs: 2, OtherCPU: wall / 100}
		if disturbed[i] {
			n.OtherCPU = time.Duration(other * 2 * float64(wall))
			n.Steal = time.Duration(steal * 2 * float64(wall))
		}
		n = n.Judge()
		run.Trials = append(run.Trials, benchrig.Trial{RunID: "r", CaseID: "default", Seq: i, Index: i, Node: "local",
			Measurement: benchrig.Measurement{Wall: wall, Noise: &n}})
	}
	return run
}

func TestNoisyNeighbour(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name      string
		walls     []float64
		disturbed []bool
		other     float64
		steal     float64
		detail    string
		action    string
	}{
		{"quiet", []float64{39, 40, 41}, []bool{no, no, no}, 0, 0, "", ""},
		{"slow ones", []float64{39, 52, 40, 55, 41, 39}, []bool{no, yes, no, yes, no, no}, 0.3, 0, "2 of 6 disturbed, up to 30% other CPU, 35% slower",
			"were the slow ones: the slowdown is the neighbour's"},
		{"not slower", []float64{39, 40, 41, 40}, []bool{no, yes, no, no}, 0.2, 0, "1 of 4 disturbed, up to 20% other CPU, not slower",
			"not slower than the others"},
		{"all", []float64{50, 52}, []bool{yes, yes}, 0.5, 0, "2 of 2 disturbed, up to 50% other CPU, all of them",
			"every trial of default was disturbed"},
		// 30% of 2 x 50 ms is 3 ticks of steal: more than the one tick
		// Judge forgives.
		{"steal", []float64{39, 50}, []bool{no, yes}, 0.05, 0.3, "1 of 2 disturbed, up to 5% other CPU, 30% stolen, 28% slower",
			"steal time means other virtual machines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Build(noisyCase(tc.walls, tc.disturbed, tc.other, tc.steal))
			var g *WarningGroup
			for _, wg := range GroupWarnings(r) {
				if wg.Code == WNoisy {
					g = &wg
				}
			}
			if tc.detail == "" {
				if g != nil {
					t.Fatalf("warning on a quiet case: %+v", g)
				}
				return
			}
			if g == nil {
				t.Fatalf("no %s warning: %+v", WNoisy, r.Cases[0].Warnings)
			}
			if g.Details[0] != tc.detail || !strings.Contains(g.Action, tc.action) {
				t.Errorf("detail %q\naction %q\nwant %q and %q", g.Details[0], g.Action, tc.detail, tc.action)
			}
		})
	}
}
