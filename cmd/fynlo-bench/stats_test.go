package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantilesWithinOnePercent(t *testing.T) {
	h := NewHistogram()
	var all []time.Duration
	for range 100000 {
		d := time.Duration(rand.ExpFloat64() * float64(2*time.Millisecond))
		h.Record(d)
		all = append(all, d)
	}
	slices.Sort(all)
	for _, q := range []float64{.5, .9, .99, .999} {
		want, got := quantile(all, q), h.Quantile(q)
		if diff := float64(got-want) / float64(want); diff > .01 || diff < -.01 {
			t.Errorf("q%v: got %v, want %v (±1%%)", q, got, want)
		}
	}
	if h.Max() != all[len(all)-1] || h.Count() != uint64(len(all)) {
		t.Errorf("max %v count %d, want %v %d", h.Max(), h.Count(), all[len(all)-1], len(all))
	}
}

func TestBucketsAreContiguous(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<20; v++ {
		b := bucketOf(v)
		if b != prev && b != prev+1 {
			t.Fatalf("value %d: bucket %d after %d", v, b, prev)
		}
		if mid := bucketMid(b); bucketOf(mid) != b {
			t.Fatalf("bucket %d: middle %d falls in bucket %d", b, mid, bucketOf(mid))
		}
		prev = b
	}
	if b := bucketOf(1<<63 - 1); b >= len(NewHistogram().counts) {
		t.Fatalf("largest duration lands in bucket %d, past the end", b)
	}
}

func TestFixedJSONSize(t *testing.T) {
	for _, n := range []int{12, 361, 415, 4096} {
		if got := len(fixedJSON(n)); got != n {
			t.Errorf("fixedJSON(%d) is %d bytes", n, got)
		}
	}
}
