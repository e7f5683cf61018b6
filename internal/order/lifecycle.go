package order

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/tenant"
)

// Whole-check actions carry the version the caller last read: unlike line
// operations, which commute, sending, splitting, moving or closing a check
// someone else just changed would act on a check the caller has not seen.

// checkVersion refuses a stale version with the check as it is.
func checkVersion(o *Order, version int64) error {
	if version != o.Version {
		return apperr.StaleVersion(o)
	}
	return nil
}

// errHasPayments refuses to throw away a check money was taken for.
var errHasPayments = apperr.New(apperr.Conflict, "has_payments", "money has been taken for this check; refund the payments first")

// reason trims and checks a reason.
func reason(r string) (string, error) {
	r = strings.TrimSpace(r)
	if r == "" || utf8.RuneCountInString(r) > 200 {
		return "", apperr.Field("reason", "must say why, in 1 to 200 characters")
	}
	return r, nil
}

// Update applies a whole-check action: it checks the version, lets act
// change the check, reprices it and saves it with its event. Other
// domains (the kitchen, payments) use it for their own actions.
func (s *Service) Update(ctx context.Context, a Actor, orderID string, version int64, act func(o *Order, loc *tenant.Location) (*Change, error)) (*Order, error) {
	cur, err := s.store.FindOrder(ctx, a.OrgID, orderID)
	if err != nil {
		return nil, err
	}
	if err := a.atLocation(cur.LocationID); err != nil {
		return nil, err
	}
	loc, err := s.locations.Location(ctx, a.OrgID, cur.LocationID)
	if err != nil {
		return nil, err
	}
	var ch *Change
	o, err := s.store.UpdateOrder(ctx, a.OrgID, orderID, func(o *Order) (_ *Change, err error) {
		if err := checkVersion(o, version); err != nil {
			return nil, err
		}
		ch, err = act(o, loc)
		if err != nil {
			return nil, err
		}
		if ch.Event == "" {
			ch.Event = EventOrderUpdated
		}
		if err := o.Reprice(loc); err != nil {
			return nil, err
		}
		if o.Split != nil && !o.Split.covers(o.Totals.Total.Amount) {
			// The action moved the total (covers bringing the service charge
			// in, a void): the parts of the old total would be paid wrong.
			o.Split = nil
		}
		o.Version++
		o.UpdatedAt = s.now().UTC()
		return ch, nil
	})
	if err != nil {
		return nil, err
	}
	s.StockMoved(a.OrgID, ch)
	return o, nil
}

// covers reports whether the split's parts add up to total.
func (sp *Split) covers(total int64) bool {
	var sum int64
	for _, p := range sp.Parts {
		sum += p.Amount.Amount
	}
	return sum == total
}

// Cancel abandons a check nothing of which was sent or paid.
func (s *Service) Cancel(ctx context.Context, a Actor, orderID string, version int64, why string) (*Order, error) {
	why, err := reason(why)
	if err != nil {
		return nil, err
	}
	return s.Update(ctx, a, orderID, version, func(o *Order, _ *tenant.Location) (*Change, error) {
		to, err := o.Status.Move(ActCancel)
		if err != nil {
			return nil, err
		}
		if o.Payments.any() {
			return nil, errHasPayments
		}
		ch := &Change{}
		o.voidAll(a, why, ch, s.now().UTC())
		o.Status, o.Reason = to, why
		return ch, nil
	})
}

// Void abandons a check after sending: every line is voided (stock put
// back). The API asks for order.void first. A paid check cannot be voided;
// refund it.
func (s *Service) Void(ctx context.Context, a Actor, orderID string, version int64, why string) (*Order, error) {
	why, err := reason(why)
	if err != nil {
		return nil, err
	}
	return s.Update(ctx, a, orderID, version, func(o *Order, _ *tenant.Location) (*Change, error) {
		to, err := o.Status.Move(ActVoid)
		if err != nil {
			return nil, err
		}
		if o.Payments.any() {
			return nil, errHasPayments
		}
		ch := &Change{}
		o.voidAll(a, why, ch, s.now().UTC())
		o.Status, o.Reason = to, why
		return ch, nil
	})
}

// voidAll voids every live line, putting counted stock back.
func (o *Order) voidAll(a Actor, why string, ch *Change, now time.Time) {
	for _, l := range o.Lines {
		if !l.live() {
			continue
		}
		l.KitchenState, l.Void, l.UpdatedAt = LineVoided, &Mark{Reason: why, By: a.UserID, At: now}, now
		if l.StockCounted {
			ch.Stock = append(ch.Stock, StockMove{ItemID: l.ItemID, Delta: l.Quantity})
		}
		ch.touch(l)
	}
}

// Close closes a paid check, or one with nothing to pay.
func (s *Service) Close(ctx context.Context, a Actor, orderID string, version int64) (*Order, error) {
	return s.Update(ctx, a, orderID, version, func(o *Order, _ *tenant.Location) (*Change, error) {
		if o.Status != StatusPaid && o.Totals.Total.Amount != 0 {
			return nil, apperr.New(apperr.Conflict, "balance_due", "the check still has a balance to pay")
		}
		to, err := o.Status.Move(ActClose)
		if err != nil {
			return nil, err
		}
		now := s.now().UTC()
		o.Status, o.ClosedAt = to, &now
		return &Change{}, nil
	})
}

// Reopen puts a closed check back in service, with a reason. The API asks
// for order.reopen first.
func (s *Service) Reopen(ctx context.Context, a Actor, orderID string, version int64, why string) (*Order, error) {
	why, err := reason(why)
	if err != nil {
		return nil, err
	}
	return s.Update(ctx, a, orderID, version, func(o *Order, _ *tenant.Location) (*Change, error) {
		to, err := o.Status.Move(ActReopen)
		if err != nil {
			return nil, err
		}
		if o.SentAt != nil {
			to = StatusSent // the kitchen has had some of it
		}
		o.Status, o.Reason, o.ClosedAt = to, why, nil
		return &Change{}, nil
	})
}

// TransferInput moves a check to another table or server; nil leaves a
// field as it is.
type TransferInput struct {
	TableID  *string // "" takes it off any table
	ServerID *string
	Covers   *int
	Type     *string
}

// Transfer moves a check to another table or server, or changes its covers
// or its order type (which changes the VAT of lines that follow it).
func (s *Service) Transfer(ctx context.Context, a Actor, orderID string, version int64, in TransferInput) (*Order, error) {
	tableLocation := ""
	if in.TableID != nil && *in.TableID != "" {
		t, err := s.tables.FindTable(ctx, a.OrgID, *in.TableID)
		if apperr.Is(err, apperr.NotFound) {
			return nil, apperr.Field("table_id", "is not a table of this organization")
		}
		if err != nil {
			return nil, err
		}
		if t.Archived {
			return nil, apperr.Field("table_id", "is no longer in use")
		}
		tableLocation = t.LocationID
	}
	if in.ServerID != nil && *in.ServerID != "" && *in.ServerID != a.UserID {
		if err := s.checkServer(ctx, a.OrgID, *in.ServerID); err != nil {
			return nil, err
		}
	}
	if in.Covers != nil && (*in.Covers < 0 || *in.Covers > 500) {
		return nil, apperr.Field("covers", "must be 0 to 500")
	}
	if in.Type != nil && !oneOf(*in.Type, Types) {
		return nil, apperr.Field("type", "must be one of "+strings.Join(Types, ", "))
	}
	return s.Update(ctx, a, orderID, version, func(o *Order, loc *tenant.Location) (*Change, error) {
		if !o.Status.editable() {
			return nil, apperr.New(apperr.Conflict, "order_not_open", "a check that is "+string(o.Status)+" cannot be moved")
		}
		if in.TableID != nil {
			if *in.TableID != "" && tableLocation != o.LocationID {
				return nil, apperr.Field("table_id", "is a table of another location")
			}
			o.TableID = *in.TableID
		}
		if in.ServerID != nil {
			o.ServerID = *in.ServerID
		}
		if in.Covers != nil {
			o.Covers = *in.Covers
		}
		if in.Type != nil {
			o.Type = *in.Type
		}
		if in.Covers != nil || in.Type != nil {
			o.ServiceCharge.RateBP = loc.ServiceChargeFor(o.Type, o.Covers)
		}
		return &Change{}, nil
	})
}
