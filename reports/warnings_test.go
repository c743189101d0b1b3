package reports

import (
	"slices"
	"testing"

	"github.com/benchrig/benchrig/stats"
)

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want []string
	}{
		{"clean", []float64{1, 1.001, 1.002, 1.003, 1.004, 1.005, 1.006, 1.007, 1.008, 1.009}, nil},
		{"none", nil, []string{WFewSamples}},
		{"three", []float64{1, 1.01, 1.02}, []string{WFewSamples}},
		{"five", []float64{1, 1.01, 1.02, 1.01, 1.0}, []string{WRangeCI}},
		{"noisy", []float64{1, 1.3, 0.8, 1.2, 0.9, 1.1, 0.7, 1.25}, []string{WHighVariance}},
		{"outlier", []float64{1, 1.01, 1.02, 1.01, 1.0, 1.02, 1.01, 1.5}, []string{WHighVariance, WOutliers}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codes(summaryWarnings(stats.Summarize(tt.xs))); !slices.Equal(got, tt.want) {
				t.Errorf("warnings %v, want %v", got, tt.want)
			}
		})
	}
}
