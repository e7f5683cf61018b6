package order

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/fynlo/fynlo/internal/apperr"
)

// maxParts is the most ways a check may be split: more guests than any
// table seats.
const maxParts = 100

// SplitEqual divides total into n parts (1..100); the remainder pennies go one each to the first parts.
// Errors: apperr.Invalid on "parts", or on "total" when it is negative or over a check's limit (1e15).
func SplitEqual(total int64, n int) ([]int64, error) {
	var f apperr.Fields
	if n < 1 || n > maxParts {
		f.Add("parts", "must be between 1 and "+strconv.Itoa(maxParts))
	}
	if total < 0 || total > maxCheck {
		f.Add("total", "must be between 0 and "+strconv.FormatInt(maxCheck, 10))
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	parts := make([]int64, n)
	spread(parts, total, 0)
	return parts, nil
}

// SplitShares sums line totals into groups. groupOf[i] is the group (0..groups-1) of line i, or -1 for a
// line shared by every group (a bottle for the table), whose total is divided equally among the groups.
// The remainder pennies of the k-th shared line (counting shared lines only, from 0) go one each to the
// groups from group k mod groups on, wrapping, so one guest does not pay every odd penny.
// The result always sums to Σ lineTotals.
// Errors: apperr.Invalid on "groups" (1..100), "group_of" (one per line), "group_of[i]",
// "line_totals[i]" (negative) and "line_totals" (over a check's limit, 1e15).
func SplitShares(lineTotals []int64, groupOf []int, groups int) ([]int64, error) {
	if err := validateShares(lineTotals, groupOf, groups); err != nil {
		return nil, err
	}
	parts := make([]int64, groups)
	shared := 0
	for i, t := range lineTotals {
		if g := groupOf[i]; g >= 0 {
			parts[g] += t
			continue
		}
		spread(parts, t, shared%groups)
		shared++
	}
	return parts, nil
}

// validateShares checks SplitShares' input, every bad field at once.
func validateShares(lineTotals []int64, groupOf []int, groups int) error {
	var f apperr.Fields
	if groups < 1 || groups > maxParts {
		f.Add("groups", "must be between 1 and "+strconv.Itoa(maxParts))
		return f.Err() // the lines' groups cannot be checked against it
	}
	if len(groupOf) != len(lineTotals) {
		f.Add("group_of", "must name a group for each of the "+strconv.Itoa(len(lineTotals))+" lines")
		return f.Err()
	}
	var sum int64
	for i, t := range lineTotals {
		if t < 0 {
			f.Add("line_totals["+strconv.Itoa(i)+"]", "must not be negative")
		} else if sum += t; sum > maxCheck { // checked as it grows, so the sum never overflows
			f.Add("line_totals", "the check is too large")
			break
		}
		if g := groupOf[i]; g < -1 || g >= groups {
			f.Add("group_of["+strconv.Itoa(i)+"]", "must be -1 (shared) or a group from 0 to "+strconv.Itoa(groups-1))
		}
	}
	return f.Err()
}

// CheckAmounts verifies custom split amounts: each ≥ 1 and they sum to total exactly.
// Errors: apperr.Invalid with code split_does_not_cover and field "amounts" naming what the sum is
// versus the total; apperr.Invalid on "amounts" (1..100 of them) or "amounts[i]" (each 1..1e15).
func CheckAmounts(total int64, amounts []int64) error {
	var f apperr.Fields
	if len(amounts) < 1 || len(amounts) > maxParts {
		f.Add("amounts", "must have between 1 and "+strconv.Itoa(maxParts)+" parts")
	}
	var sum int64
	for i, a := range amounts {
		if a < 1 || a > maxCheck { // the bound keeps the sum of 100 far from overflowing
			f.Add("amounts["+strconv.Itoa(i)+"]", "must be between 1 and "+strconv.FormatInt(maxCheck, 10))
		}
		sum += a
	}
	if err := f.Err(); err != nil {
		return err
	}
	if sum == total {
		return nil
	}
	diff, side := total-sum, " short of"
	if diff < 0 {
		diff, side = -diff, " over"
	}
	reason := "sum to " + strconv.FormatInt(sum, 10) + ", " + strconv.FormatInt(diff, 10) + side +
		" the total of " + strconv.FormatInt(total, 10)
	e := apperr.New(apperr.Invalid, "split_does_not_cover", "the amounts "+reason)
	e.Fields = []apperr.FieldError{{Field: "amounts", Reason: reason}}
	return e
}

// allocate divides total (≥ 0) among the weights (≥ 0, their sum within
// int64) in proportion, by the largest-remainder method: each share is
// floor(total × weight / Σ weights), and the pennies left over go one each
// to the shares with the largest remainders, ties to the earlier index. The
// shares sum to total exactly and a zero weight gets nothing. When every
// weight is 0 the total is spread equally, remainder to the first shares,
// as SplitEqual does. With no weights there is nothing to give to.
func allocate(total int64, weights []int64) []int64 {
	n := len(weights)
	shares, rem, order := make([]int64, n), make([]int64, n), make([]int, n)
	allocateInto(shares, weights, rem, order, total)
	return shares
}

// allocateInto is allocate writing the shares into dst, with rem and order
// as scratch space; all four slices have the same length.
func allocateInto(dst, weights, rem []int64, order []int, total int64) {
	var sum int64
	for _, w := range weights {
		sum += w
	}
	if sum == 0 {
		clear(dst)
		spread(dst, total, 0)
		return
	}
	left := total
	for i, w := range weights {
		dst[i], rem[i] = mulDiv(total, w, sum)
		left -= dst[i]
	}
	if left == 0 {
		return
	}
	// Σ rem = left × sum and each rem < sum, so more than left remainders
	// are positive: the pennies go only to weights above 0.
	if left <= fewPennies {
		givePennies(dst, rem, left)
		return
	}
	order = order[:0]
	for i, r := range rem {
		if r > 0 {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(rem[b], rem[a]); c != 0 {
			return c
		}
		return a - b
	})
	for _, i := range order[:left] {
		dst[i]++
	}
}

// fewPennies is how many left-over pennies allocateInto hands out by
// scanning for the largest remainder each time rather than by sorting:
// fewer scans than a sort needs comparisons on a typical check.
const fewPennies = 4

// givePennies gives left pennies, one at a time, to the share with the
// largest remainder not yet served, the earlier on a tie; it marks a
// served remainder -1, so rem is spent.
func givePennies(dst, rem []int64, left int64) {
	for range left {
		best := 0
		for i, r := range rem {
			if r > rem[best] {
				best = i
			}
		}
		dst[best]++
		rem[best] = -1
	}
}

// spread adds total (≥ 0) to parts equally; the remainder pennies go one
// each to the parts from index start on, wrapping round.
func spread(parts []int64, total int64, start int) {
	n := int64(len(parts))
	if n == 0 {
		return
	}
	each, extra := total/n, int(total%n)
	for i := range parts {
		parts[i] += each
	}
	for k := range extra {
		parts[(start+k)%len(parts)]++
	}
}
