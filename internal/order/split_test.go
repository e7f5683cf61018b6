package order

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fynlo/fynlo/internal/apperr"
)

func TestSplitEqual(t *testing.T) {
	for _, c := range []struct {
		total int64
		n     int
		want  []int64
	}{
		{1000, 3, []int64{334, 333, 333}},
		{1001, 3, []int64{334, 334, 333}},
		{999, 3, []int64{333, 333, 333}},
		{5, 1, []int64{5}},
		{2, 4, []int64{1, 1, 0, 0}},
		{0, 2, []int64{0, 0}},
		{maxCheck, 100, slices.Repeat([]int64{maxCheck / 100}, 100)},
	} {
		got, err := SplitEqual(c.total, c.n)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("SplitEqual(%d, %d) = %v, %v; want %v", c.total, c.n, got, err, c.want)
		}
	}
	for _, c := range []struct {
		total int64
		n     int
		field string
	}{{100, 0, "parts"}, {100, 101, "parts"}, {100, -1, "parts"}, {-1, 2, "total"}, {maxCheck + 1, 2, "total"}} {
		_, err := SplitEqual(c.total, c.n)
		wantField(t, fmt.Sprintf("SplitEqual(%d, %d)", c.total, c.n), err, c.field, "")
	}
}

func TestSplitShares(t *testing.T) {
	for _, c := range []struct {
		name    string
		totals  []int64
		groupOf []int
		groups  int
		want    []int64
	}{
		{"own lines only", []int64{1250, 800, 450}, []int{0, 1, 0}, 2, []int64{1700, 800}},
		{"a shared bottle", []int64{1000, 2401}, []int{1, -1}, 3, []int64{801, 1800, 800}},
		// Shared lines 0, 1 and 2 each leave a penny over: it goes to
		// group 0, then 1, then 0 again, not always to group 0.
		{"odd pennies rotate", []int64{1000, 500, 1001, 1001, 7}, []int{0, 1, -1, -1, -1}, 2, []int64{2005, 1504}},
		{"two pennies over three groups", []int64{200, 200}, []int{-1, -1}, 3, []int64{133, 134, 133}},
		{"a group with nothing", []int64{900}, []int{0}, 2, []int64{900, 0}},
		{"no lines", nil, nil, 2, []int64{0, 0}},
	} {
		got, err := SplitShares(c.totals, c.groupOf, c.groups)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: SplitShares = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	for _, c := range []struct {
		name    string
		totals  []int64
		groupOf []int
		groups  int
		field   string
	}{
		{"no groups", []int64{100}, []int{0}, 0, "groups"},
		{"too many groups", []int64{100}, []int{0}, 101, "groups"},
		{"a group short", []int64{100, 200}, []int{0}, 2, "group_of"},
		{"group out of range", []int64{100, 200}, []int{0, 2}, 2, "group_of[1]"},
		{"group below -1", []int64{100, 200}, []int{-2, 0}, 2, "group_of[0]"},
		{"negative line", []int64{-100}, []int{0}, 1, "line_totals[0]"},
		{"too large", []int64{maxCheck, 1}, []int{0, 0}, 1, "line_totals"},
	} {
		_, err := SplitShares(c.totals, c.groupOf, c.groups)
		wantField(t, c.name, err, c.field, "")
	}
}

func TestCheckAmounts(t *testing.T) {
	if err := CheckAmounts(2500, []int64{1000, 1000, 500}); err != nil {
		t.Fatalf("exact amounts: %v", err)
	}
	for _, c := range []struct {
		amounts []int64
		reason  string
	}{
		{[]int64{1000, 1000}, "sum to 2000, 500 short of the total of 2500"},
		{[]int64{2000, 1000}, "sum to 3000, 500 over the total of 2500"},
	} {
		err := CheckAmounts(2500, c.amounts)
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Kind != apperr.Invalid || ae.Code != "split_does_not_cover" {
			t.Fatalf("CheckAmounts(2500, %v) = %v; want Invalid split_does_not_cover", c.amounts, err)
		}
		wantField(t, fmt.Sprint(c.amounts), err, "amounts", c.reason)
	}
	for _, c := range []struct {
		amounts []int64
		field   string
	}{
		{nil, "amounts"},
		{slices.Repeat([]int64{25}, 101), "amounts"},
		{[]int64{2500, 0}, "amounts[1]"},
		{[]int64{-100, 2600}, "amounts[0]"},
		{[]int64{maxCheck + 1, 1}, "amounts[0]"},
	} {
		wantField(t, fmt.Sprint(c.amounts), CheckAmounts(2500, c.amounts), c.field, "")
	}
}

func TestAllocate(t *testing.T) {
	for _, c := range []struct {
		total   int64
		weights []int64
		want    []int64
	}{
		{10, []int64{1, 2, 3, 4}, []int64{1, 2, 3, 4}}, // exact
		{10, []int64{1, 1, 1}, []int64{4, 3, 3}},       // a tie: the earlier line
		{1, []int64{1, 1}, []int64{1, 0}},              //
		{10, []int64{3, 3, 1}, []int64{4, 4, 2}},       // 4.29, 4.29, 1.43: the largest remainder wins over the earlier line
		{99, []int64{999, 0, 1}, []int64{99, 0, 0}},    // 98.9, 0, 0.099
		{2, []int64{0, 1, 1, 0}, []int64{0, 1, 1, 0}},  // zero weights get nothing
		{5, []int64{0, 0}, []int64{3, 2}},              // all zero: equal parts
		{0, []int64{0, 0}, []int64{0, 0}},              //
		{0, []int64{7, 3}, []int64{0, 0}},              //
		{7, nil, []int64{}},                            // nothing to give to
		{maxCheck, []int64{1e13, 1e13, 1e13}, []int64{333333333333334, 333333333333333, 333333333333333}}, // 128-bit products
	} {
		if got := allocate(c.total, c.weights); !slices.Equal(got, c.want) {
			t.Errorf("allocate(%d, %v) = %v; want %v", c.total, c.weights, got, c.want)
		}
	}
}

// TestAllocateProperties checks the largest-remainder method on random
// input: shares sum to the total, each is its quota rounded down or up,
// and the pennies went to the largest remainders, ties to the earlier.
func TestAllocateProperties(t *testing.T) {
	seed := *seedFlag
	rng := rand.New(rand.NewPCG(seed, 0))
	for k := range 20_000 {
		total := rng.Int64N(1_000_000)
		weights := make([]int64, 1+rng.IntN(20))
		for i := range weights {
			if rng.IntN(4) > 0 {
				weights[i] = rng.Int64N(100_000)
			}
		}
		if err := checkAllocation(total, weights, allocate(total, weights)); err != nil {
			t.Fatalf("seed %d, case %d: allocate(%d, %v): %v", seed, k, total, weights, err)
		}
	}
}

// checkAllocation checks shares in int64: the test keeps total × weight small.
func checkAllocation(total int64, weights, shares []int64) error {
	var sum, given int64
	for i, w := range weights {
		sum += w
		given += shares[i]
	}
	if given != total {
		return fmt.Errorf("shares %v sum to %d", shares, given)
	}
	if sum == 0 {
		return nil // equal parts, tested by TestAllocate
	}
	// Rounded up: the smallest remainder of a share that got a penny; rounded
	// down: the largest remainder of one that did not. The first must beat
	// the second, or tie with it from an earlier index.
	minUp, upAt, maxDown, downAt := sum, -1, int64(-1), -1
	for i, w := range weights {
		quota, rem := total*w/sum, total*w%sum
		switch shares[i] {
		case quota:
			if rem > maxDown {
				maxDown, downAt = rem, i
			}
		case quota + 1:
			if rem == 0 {
				return fmt.Errorf("share %d got a penny with no remainder", i)
			}
			if rem <= minUp {
				minUp, upAt = rem, i
			}
		default:
			return fmt.Errorf("share %d is %d; its quota is %d", i, shares[i], quota)
		}
	}
	if upAt >= 0 && downAt >= 0 && (minUp < maxDown || minUp == maxDown && upAt > downAt) {
		return fmt.Errorf("share %d (remainder %d) got a penny before share %d (remainder %d)", upAt, minUp, downAt, maxDown)
	}
	return nil
}

func ExampleSplitShares() {
	// Two guests: a steak each, and a £24.01 bottle shared.
	parts, _ := SplitShares([]int64{2200, 2450, 2401}, []int{0, 1, -1}, 2)
	fmt.Println(parts)
	// Output: [3401 3650]
}

func ExampleSplitEqual() {
	parts, _ := SplitEqual(10000, 3)
	fmt.Println(parts)
	// Output: [3334 3333 3333]
}

// wantField fails unless err is an apperr.Invalid naming field (and, when
// reason is not empty, giving that reason).
func wantField(t *testing.T, what string, err error, field, reason string) {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.Invalid {
		t.Errorf("%s: error %v; want Invalid on %s", what, err, field)
		return
	}
	for _, f := range ae.Fields {
		if f.Field == field && (reason == "" || f.Reason == reason) {
			return
		}
	}
	t.Errorf("%s: fields %+v; want %s %q", what, ae.Fields, field, reason)
}
