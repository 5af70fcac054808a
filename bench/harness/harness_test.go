package main

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i))
	}
	for _, tc := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 0.5, 0},
		{[]time.Duration{7}, 0.99, 7},
		{[]time.Duration{1, 2}, 0.5, 1},
		{[]time.Duration{1, 2, 3}, 0.5, 2},
		{hundred, 0.50, 50},
		{hundred, 0.90, 90},
		{hundred, 0.99, 99},
		{hundred, 1, 100},
		{hundred, 0.001, 1},
	} {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("percentile(%d samples, %v) = %v, want %v", len(tc.sorted), tc.p, got, tc.want)
		}
	}
}

func TestSummarizeSorts(t *testing.T) {
	s := summarize([]time.Duration{5, 1, 4, 2, 3})
	if s.Count != 5 || s.P50 != 3 || s.Max != 5 {
		t.Errorf("summarize = %+v, want count 5, p50 3, max 5", s)
	}
}

func TestWriteQueryFileUniform(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.txt")
	n, err := writeQueryFile(path, "w", "lb.test.", 7, 20, 1)
	if err != nil {
		t.Fatal(err)
	}
	if n != 21 { // three passes of seven names
		t.Errorf("wrote %d lines, want 21", n)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[string]int{}
	lines := 0
	for sc := bufio.NewScanner(f); sc.Scan(); lines++ {
		counts[sc.Text()]++
	}
	if lines != n || len(counts) != 7 {
		t.Fatalf("%d lines over %d names, want %d over 7", lines, len(counts), n)
	}
	for q, c := range counts {
		if c != 3 {
			t.Errorf("%q appears %d times, want 3", q, c)
		}
	}
	if counts["w0.lb.test A"] != 3 {
		t.Errorf("query lines are not of the form %q: %v", "w0.lb.test A", counts)
	}
}
