package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// summary describes a sample of durations by nearest-rank percentiles of
// the sorted sample.
type summary struct {
	Count         int
	P50, P90, P99 time.Duration
	Max           time.Duration
}

// summarize sorts samples in place and returns their summary; an empty
// sample gives a zero summary.
func summarize(samples []time.Duration) summary {
	slices.Sort(samples)
	return summary{
		Count: len(samples),
		P50:   percentile(samples, 0.50),
		P90:   percentile(samples, 0.90),
		P99:   percentile(samples, 0.99),
		Max:   percentile(samples, 1),
	}
}

// percentile returns the nearest-rank p-quantile (0 < p <= 1) of sorted:
// the smallest sample with at least p of the samples at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// MarshalJSON writes the durations as milliseconds, the unit of the
// targets.
func (s summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Count int     `json:"count"`
		P50   float64 `json:"p50_ms"`
		P90   float64 `json:"p90_ms"`
		P99   float64 `json:"p99_ms"`
		Max   float64 `json:"max_ms"`
	}{s.Count, ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max)})
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fmtMS formats d as milliseconds with three decimals (microseconds).
func fmtMS(d time.Duration) string { return fmt.Sprintf("%.3f", ms(d)) }

// writeSummaries prints one table row per named summary, in milliseconds.
func writeSummaries(w io.Writer, names []string, sums []summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join([]string{"", "count", "p50 ms", "p90 ms", "p99 ms", "max ms", ""}, "\t"))
	for i, s := range sums {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", names[i], s.Count, fmtMS(s.P50), fmtMS(s.P90), fmtMS(s.P99), fmtMS(s.Max))
	}
	return tw.Flush()
}
