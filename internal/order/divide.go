package order

import (
	"context"
	"slices"
	"strconv"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/tenant"
)

// Ways to split a bill.
const (
	SplitBySeat    = "seat"    // each guest pays their seat's lines; lines on seat 0 are shared equally
	SplitByItem    = "item"    // the caller groups the lines; lines in no group are shared equally
	SplitEvenly    = "equal"   // N equal parts, the odd pennies to the first parts
	SplitByAmounts = "amounts" // amounts the caller chooses, which must add up to the total
)

// Split is how a check's bill is divided for paying. Every part is a sum
// of the lines' shares of the total (or of equal or chosen amounts), so the
// parts always add up to the check's total exactly. Any change to the
// check's lines drops the split: it would no longer add up.
type Split struct {
	By    string      `json:"by" enum:"seat,item,equal,amounts"`
	Parts []SplitPart `json:"parts"`
}

// SplitPart is one guest's share.
type SplitPart struct {
	Label   string      `json:"label" example:"Seat 2"`
	LineIDs []string    `json:"line_ids" doc:"the lines wholly in this part (shared lines are in every part, divided)"`
	Amount  money.Money `json:"amount"`
}

// SplitInput says how to split.
type SplitInput struct {
	By      string
	Parts   int        // for equal
	Amounts []int64    // for amounts, minor units
	Groups  [][]string // for item: line IDs per part
}

// SplitCheck divides a check's bill. Errors: Invalid (a split that does
// not cover the check: code split_does_not_cover), Conflict.
func (s *Service) SplitCheck(ctx context.Context, a Actor, orderID string, version int64, in SplitInput) (*Order, error) {
	return s.Update(ctx, a, orderID, version, func(o *Order, _ *tenant.Location) (*Change, error) {
		if !o.Status.editable() {
			return nil, apperr.New(apperr.Conflict, "order_not_open", "a check that is "+string(o.Status)+" cannot be split")
		}
		if err := o.Reprice(nil); err != nil { // the split divides the total as it is now
			return nil, err
		}
		sp, err := o.split(in)
		if err != nil {
			return nil, err
		}
		o.Split = sp
		return &Change{}, nil
	})
}

// split works out the parts from the check's priced lines.
func (o *Order) split(in SplitInput) (*Split, error) {
	total := o.Totals.Total.Amount
	var live []*Line
	for _, l := range o.Lines {
		if l.live() {
			live = append(live, l)
		}
	}
	sp := &Split{By: in.By}
	switch in.By {
	case SplitEvenly:
		amounts, err := SplitEqual(total, in.Parts)
		if err != nil {
			return nil, err
		}
		for i, amt := range amounts {
			sp.Parts = append(sp.Parts, SplitPart{Label: "Part " + strconv.Itoa(i+1), LineIDs: []string{}, Amount: o.money(amt)})
		}
	case SplitByAmounts:
		if err := CheckAmounts(total, in.Amounts); err != nil {
			return nil, err
		}
		for i, amt := range in.Amounts {
			sp.Parts = append(sp.Parts, SplitPart{Label: "Part " + strconv.Itoa(i+1), LineIDs: []string{}, Amount: o.money(amt)})
		}
	case SplitBySeat, SplitByItem:
		var groups [][]string
		var labels []string
		if in.By == SplitBySeat {
			var seats []int
			for _, l := range live {
				if l.Seat > 0 && !slices.Contains(seats, l.Seat) {
					seats = append(seats, l.Seat)
				}
			}
			slices.Sort(seats)
			if len(seats) == 0 {
				return nil, apperr.New(apperr.Invalid, "split_does_not_cover", "no line has a seat: give lines seats, or split equally")
			}
			for _, seat := range seats {
				var ids []string
				for _, l := range live {
					if l.Seat == seat {
						ids = append(ids, l.ID)
					}
				}
				groups = append(groups, ids)
				labels = append(labels, "Seat "+strconv.Itoa(seat))
			}
		} else {
			if len(in.Groups) < 1 || len(in.Groups) > 100 {
				return nil, apperr.Field("groups", "must hold 1 to 100 groups of line IDs")
			}
			seen := map[string]bool{}
			for gi, g := range in.Groups {
				for _, lid := range g {
					l := o.Line(lid)
					if l == nil || !l.live() {
						return nil, apperr.Field("groups["+strconv.Itoa(gi)+"]", lid+" is not a live line of this check")
					}
					if seen[lid] {
						return nil, apperr.Field("groups["+strconv.Itoa(gi)+"]", lid+" is in two groups")
					}
					seen[lid] = true
				}
				groups = append(groups, g)
				labels = append(labels, "Part "+strconv.Itoa(gi+1))
			}
		}
		groupOf := make([]int, len(live))
		totals := make([]int64, len(live))
		for i, l := range live {
			groupOf[i] = -1 // shared unless a group has it
			totals[i] = l.Price.Total.Amount
			for gi, g := range groups {
				if slices.Contains(g, l.ID) {
					groupOf[i] = gi
				}
			}
		}
		amounts, err := SplitShares(totals, groupOf, len(groups))
		if err != nil {
			return nil, err
		}
		for gi, amt := range amounts {
			sp.Parts = append(sp.Parts, SplitPart{Label: labels[gi], LineIDs: append([]string{}, groups[gi]...), Amount: o.money(amt)})
		}
	default:
		return nil, apperr.Field("by", "must be seat, item, equal or amounts")
	}
	return sp, nil
}

// MoveLines moves lines from one check to another of the same location,
// with their kitchen state: a guest changing tables keeps their order.
func (s *Service) MoveLines(ctx context.Context, a Actor, fromID string, fromVersion int64, lineIDs []string, toID string, toVersion int64) (*Order, *Order, error) {
	if len(lineIDs) == 0 {
		return nil, nil, apperr.Field("line_ids", "must name at least one line")
	}
	return s.updatePair(ctx, a, fromID, fromVersion, toID, toVersion, func(from, to *Order) (*Change, *Change, error) {
		chFrom, chTo := &Change{}, &Change{}
		for i, lid := range lineIDs {
			l := from.Line(lid)
			if l == nil || !l.live() {
				return nil, nil, apperr.Field("line_ids["+strconv.Itoa(i)+"]", "is not a live line of the check")
			}
			from.Lines = slices.DeleteFunc(from.Lines, func(x *Line) bool { return x == l })
			to.Lines = append(to.Lines, l)
			chTo.touch(l)
		}
		return chFrom, chTo, nil
	})
}

// Merge moves every line of one check onto another and closes the first
// as merged (cancelled, with the reason).
func (s *Service) Merge(ctx context.Context, a Actor, intoID string, intoVersion int64, fromID string, fromVersion int64) (*Order, *Order, error) {
	into, from, err := s.updatePair(ctx, a, fromID, fromVersion, intoID, intoVersion, func(from, into *Order) (*Change, *Change, error) {
		st, err := from.Status.Move(ActMerge)
		if err != nil {
			return nil, nil, err
		}
		if from.Payments.any() {
			return nil, nil, errHasPayments // its payments would be left on a cancelled check
		}
		chInto := &Change{}
		for _, l := range from.Lines {
			into.Lines = append(into.Lines, l)
			chInto.touch(l)
		}
		from.Lines = []*Line{}
		from.Status, from.Reason = st, "merged into check "+strconv.Itoa(into.Number)
		if into.SentAt == nil && from.SentAt != nil {
			into.SentAt, into.Status = from.SentAt, StatusSent
		}
		return &Change{}, chInto, nil
	})
	return from, into, err // updatePair returns (first, second) = (from, into)
}

// updatePair applies a change to two checks of one location in one
// transaction, both versions checked.
func (s *Service) updatePair(ctx context.Context, a Actor, aID string, aVersion int64, bID string, bVersion int64,
	act func(x, y *Order) (*Change, *Change, error)) (*Order, *Order, error) {
	if aID == bID {
		return nil, nil, apperr.Field("order_id", "must be another check")
	}
	cur, err := s.store.FindOrder(ctx, a.OrgID, aID)
	if err != nil {
		return nil, nil, err
	}
	if err := a.atLocation(cur.LocationID); err != nil {
		return nil, nil, err
	}
	loc, err := s.locations.Location(ctx, a.OrgID, cur.LocationID)
	if err != nil {
		return nil, nil, err
	}
	now := s.now().UTC()
	x, y, err := s.store.UpdateOrders(ctx, a.OrgID, aID, bID, func(x, y *Order) (*Change, *Change, error) {
		if err := checkVersion(x, aVersion); err != nil {
			return nil, nil, err
		}
		if err := checkVersion(y, bVersion); err != nil {
			return nil, nil, err
		}
		if y.LocationID != x.LocationID {
			return nil, nil, apperr.Field("order_id", "is a check of another location")
		}
		for _, o := range []*Order{x, y} {
			if !o.Status.editable() {
				return nil, nil, apperr.New(apperr.Conflict, "order_not_open", "check "+strconv.Itoa(o.Number)+" is "+string(o.Status))
			}
		}
		cx, cy, err := act(x, y)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range []struct {
			o  *Order
			ch *Change
		}{{x, cx}, {y, cy}} {
			p.o.Split = nil // the lines changed: a split would no longer add up
			if err := p.o.Reprice(loc); err != nil {
				return nil, nil, err
			}
			p.o.Version++
			p.o.UpdatedAt = now
			p.ch.Event = EventOrderUpdated
		}
		return cx, cy, nil
	})
	return x, y, err
}
