package main

import (
	"math"
	"math/bits"
	"slices"
	"time"
)

// Histogram records durations in bounded memory with under 1% error, in
// the manner of HdrHistogram: values below 2^(subBits+1) ns are exact, and
// each power of two above is split into 2^subBits linear buckets.
type Histogram struct {
	counts   []uint64
	n        uint64
	min, max time.Duration
}

const subBits = 7 // 128 buckets per power of two: relative error < 0.8%

func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, (65-subBits)<<subBits), min: math.MaxInt64}
}

func bucketOf(v uint64) int {
	if v < 1<<(subBits+1) {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return shift<<subBits + int(v>>shift)
}

// bucketMid is the middle of bucket i's value range.
func bucketMid(i int) uint64 {
	if i < 1<<(subBits+1) {
		return uint64(i)
	}
	shift := i>>subBits - 1
	low := uint64(i-shift<<subBits) << shift
	return low + (uint64(1)<<shift)/2
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	h.min = min(h.min, d)
	h.max = max(h.max, d)
}

// Merge adds o's samples to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count is the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest sample, exactly.
func (h *Histogram) Max() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.max
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1), within the bucket error.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			d := time.Duration(bucketMid(i))
			return min(max(d, h.min), h.max)
		}
	}
	return h.max
}

// quantile returns the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// durationStats summarises a set of durations.
type durationStats struct {
	N      int     `json:"n"`
	MinMS  float64 `json:"min_ms"`
	P50MS  float64 `json:"p50_ms"`
	P90MS  float64 `json:"p90_ms"`
	P99MS  float64 `json:"p99_ms"`
	MaxMS  float64 `json:"max_ms"`
	MeanMS float64 `json:"mean_ms"`
}

func summarize(ds []time.Duration) durationStats {
	if len(ds) == 0 {
		return durationStats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return durationStats{N: len(s), MinMS: ms(s[0]), P50MS: ms(quantile(s, .5)), P90MS: ms(quantile(s, .9)),
		P99MS: ms(quantile(s, .99)), MaxMS: ms(s[len(s)-1]), MeanMS: ms(sum / time.Duration(len(s)))}
}

// median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ms converts to float milliseconds, the unit reports use.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// verdict renders a target check.
func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "MISSED"
}
