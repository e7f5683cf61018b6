package payment

import (
	"context"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/order"
)

// Refund statuses.
const (
	RefundPending   = "pending"   // recorded; the provider has not answered
	RefundSucceeded = "succeeded" // the money went back
	RefundFailed    = "failed"    // the provider refused; nothing went back
)

// Refund is money given back from a payment: through the card provider
// for a card, out of a drawer for cash.
type Refund struct {
	ID              string      `json:"id"`
	OrgID           string      `json:"organization_id"`
	LocationID      string      `json:"location_id"`
	PaymentID       string      `json:"payment_id"`
	OrderID         string      `json:"order_id"`
	BusinessDate    string      `json:"business_date" doc:"the day it was refunded, which may not be the day of the sale"`
	Method          Method      `json:"method" enum:"cash,card,open_banking"`
	Status          string      `json:"status" enum:"pending,succeeded,failed"`
	Amount          money.Money `json:"amount"`
	Reason          string      `json:"reason"`
	ProviderRef     string      `json:"provider_ref,omitempty"`
	Failure         *Failure    `json:"failure,omitempty"`
	DrawerSessionID string      `json:"drawer_session_id,omitempty" doc:"the drawer session cash was paid out of"`
	PlatformFee     money.Money `json:"platform_fee" doc:"Fynlo's platform fee given back with it (negative), in the ledger"`
	By              string      `json:"by" doc:"who refunded it"`
	ApprovedBy      string      `json:"approved_by" doc:"who allowed it: the refunder if their role may refund, or the manager whose approval they brought"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
}

// Event types of refunds.
const (
	EventRefundCreated = "refund.created"
	EventRefundUpdated = "refund.updated"
)

// Refunder is what a card provider needs to give money back.
type Refunder interface {
	// Refund gives amount of a captured payment back, once per key.
	Refund(ctx context.Context, ref string, amount money.Money, key string) (RefundResult, error)
}

// RefundResult is the provider's answer to a refund.
type RefundResult struct {
	Ref     string
	Status  string // succeeded, pending or failed
	Failure *Failure
}

// RefundStore persists refunds with their payment and check.
type RefundStore interface {
	// CreateRefund locks the refund's check and payment, lets apply change
	// them and r, and stores all three (a cash refund's drawer session
	// must be open). Errors: Conflict already_exists, Conflict
	// drawer_closed, apply's.
	CreateRefund(ctx context.Context, r *Refund, apply func(r *Refund, p *Payment, o *order.Order) error) error
	// UpdateRefund locks a refund, its payment and check, lets update
	// change them, and saves what it changed.
	UpdateRefund(ctx context.Context, orgID, id string, update func(r *Refund, p *Payment, o *order.Order) error) (*Refund, *Payment, *order.Order, error)
	// FindRefund errors: NotFound.
	FindRefund(ctx context.Context, orgID, id string) (*Refund, error)
	// FindRefundByRef finds a refund by its provider's ID. Errors: NotFound.
	FindRefundByRef(ctx context.Context, orgID, ref string) (*Refund, error)
	// ApplyRefundEvent records a provider event as applied and, the first
	// time only, lets update change the refund (if it is one of org's),
	// its payment and check, in one transaction.
	ApplyRefundEvent(ctx context.Context, orgID, provider, eventID, eventType, refundID string,
		update func(r *Refund, p *Payment, o *order.Order) error) (applied bool, err error)
	// FindRefunds lists refunds oldest first, by ID.
	FindRefunds(ctx context.Context, orgID string, f RefundFilter) ([]*Refund, error)
}

// RefundFilter selects refunds.
type RefundFilter struct {
	PaymentID       string
	LocationID      string
	BusinessDate    string
	DrawerSessionID string
	Status          string
	After           string
	Limit           int
}

// Approver authorizes a decision and says who took it.
type Approver interface {
	Approver(ctx context.Context, p auth.Principal, perm, approval string) (string, error)
}

// RefundInput asks for a refund.
type RefundInput struct {
	ID       string       // the client's ID (rfd_…): a retry with it finds the refund
	Amount   *money.Money // nil for everything not yet refunded
	Reason   string
	DrawerID string // cash: the drawer paid out of; the location's only open one if ""
}

// Refundable is what may still be refunded of a payment.
func (p *Payment) Refundable() int64 {
	return p.Amount.Amount + p.Tip.Amount - p.Refunded.Amount - p.RefundPending.Amount
}

// Refund gives money back from a captured payment: never more than was
// captured less what was refunded, with a reason, by someone allowed to
// (payment.refund) or with a manager's approval. Card refunds go through
// the provider with the refund's ID as the idempotency key; cash is paid
// out of an open drawer.
func (s *Service) Refund(ctx context.Context, a order.Actor, paymentID string, in RefundInput) (*Refund, *Payment, *order.Order, bool, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	var f apperr.Fields
	if in.ID != "" && !id.Valid(id.Refund, in.ID) {
		f.Add("id", "must be rfd_ followed by a ULID")
	}
	if in.Reason == "" || utf8.RuneCountInString(in.Reason) > 200 {
		f.Add("reason", "must say why, in 1 to 200 characters")
	}
	if in.Amount != nil && (in.Amount.Amount <= 0 || in.Amount.Amount > MaxAmount) {
		f.Add("amount.amount", "must be more than zero; leave amount out to refund everything left")
	}
	if err := f.Err(); err != nil {
		return nil, nil, nil, false, err
	}
	p, err := s.payment(ctx, a, paymentID)
	if err != nil {
		return nil, nil, nil, false, err
	}
	if in.ID != "" {
		r, err := s.refunds.FindRefund(ctx, a.OrgID, in.ID)
		if err == nil {
			if r.PaymentID != paymentID {
				return nil, nil, nil, false, apperr.New(apperr.Conflict, "already_exists", "a refund with this ID was made from another payment")
			}
			r, p, o, err := s.resumeRefund(ctx, a, r)
			return r, p, o, false, err
		}
		if !apperr.Is(err, apperr.NotFound) {
			return nil, nil, nil, false, err
		}
	} else {
		in.ID = id.New(id.Refund)
	}
	if in.Amount != nil && in.Amount.Currency != p.Amount.Currency {
		return nil, nil, nil, false, apperr.Field("amount.currency", "must be the payment's currency, "+p.Amount.Currency)
	}
	if p.Status != StatusCaptured && p.Status != StatusPartiallyRefunded && p.Status != StatusSurplus {
		return nil, nil, nil, false, apperr.New(apperr.Conflict, "not_refundable", "a payment that is "+string(p.Status)+" has nothing to refund")
	}
	if p.Status == StatusSurplus && in.Amount != nil && in.Amount.Amount != p.Refundable() {
		return nil, nil, nil, false, apperr.Field("amount", "late money the check did not need goes back whole: leave amount out")
	}
	// Everything that can refuse the refund is checked before a manager's
	// approval is spent on it.
	if in.Amount != nil && in.Amount.Amount > p.Refundable() {
		e := apperr.Field("amount", "is more than is left to refund, "+money.Money{Amount: p.Refundable(), Currency: p.Amount.Currency}.Decimal())
		e.Code = "amount_above_refundable"
		return nil, nil, nil, false, e
	}
	sessionID := ""
	if p.Method == MethodCash {
		if sessionID, err = s.drawers.OpenSession(ctx, a.OrgID, p.LocationID, in.DrawerID); err != nil {
			return nil, nil, nil, false, err
		}
	}
	loc, err := s.locations.Location(ctx, a.OrgID, p.LocationID)
	if err != nil {
		return nil, nil, nil, false, err
	}
	approver, err := s.approver.Approver(ctx, a.Principal, auth.PermPaymentRefund, a.Approval)
	if err != nil {
		return nil, nil, nil, false, err
	}
	now := s.now().UTC()
	r := &Refund{ID: in.ID, OrgID: a.OrgID, LocationID: p.LocationID, PaymentID: p.ID, OrderID: p.OrderID, BusinessDate: loc.BusinessDate(now),
		Method: p.Method, Status: RefundPending, Reason: in.Reason, PlatformFee: money.Money{Currency: p.Amount.Currency}, By: a.UserID,
		ApprovedBy: approver, DrawerSessionID: sessionID, CreatedAt: now, UpdatedAt: now}
	var outP *Payment
	var outO *order.Order
	err = s.refunds.CreateRefund(ctx, r, func(r *Refund, p *Payment, o *order.Order) error {
		if p.Status != StatusCaptured && p.Status != StatusPartiallyRefunded && p.Status != StatusSurplus {
			return apperr.New(apperr.Conflict, "not_refundable", "a payment that is "+string(p.Status)+" has nothing to refund")
		}
		left := p.Refundable()
		amount := left
		if in.Amount != nil {
			amount = in.Amount.Amount
		}
		if amount > left || amount <= 0 {
			e := apperr.Field("amount", "is more than is left to refund, "+money.Money{Amount: left, Currency: p.Amount.Currency}.Decimal())
			e.Code = "amount_above_refundable"
			return e
		}
		r.Amount = money.Money{Amount: amount, Currency: p.Amount.Currency}
		p.RefundPending.Amount += amount
		if p.Method == MethodCash {
			r.Status = RefundSucceeded // counted out of the drawer, now
			settleRefund(r, p, o, a.UserID, now)
		}
		p.Version++
		p.UpdatedAt = now
		outP, outO = p, o
		return nil
	})
	if err != nil {
		return nil, nil, nil, false, err
	}
	if p.Method == MethodCash {
		return r, outP, outO, true, nil
	}
	r, outP, outO, err = s.refundVia(ctx, a.UserID, r, outP)
	return r, outP, outO, true, err
}

// settleRefund takes a succeeded refund off its payment and check, and
// gives back Fynlo's share of it: in proportion, the last refund whatever
// is left, so a fully refunded payment leaves nothing in the ledger.
func settleRefund(r *Refund, p *Payment, o *order.Order, by string, now time.Time) {
	surplus := p.Status == StatusSurplus // never counted toward the check
	p.RefundPending.Amount -= r.Amount.Amount
	p.Refunded.Amount += r.Amount.Amount
	// fee × refund ÷ base, toward zero (never more than was taken), in
	// big integers: the product of two amounts can pass int64.
	reversed := new(big.Int).Quo(new(big.Int).Mul(big.NewInt(p.PlatformFee.Amount), big.NewInt(r.Amount.Amount)),
		big.NewInt(max(p.feeBase(), 1))).Int64()
	if p.Refunded.Amount >= p.Amount.Amount+p.Tip.Amount {
		reversed = p.PlatformFee.Amount - p.PlatformFeeReversed.Amount
	}
	if reversed != 0 {
		p.PlatformFeeReversed.Amount += reversed
		r.PlatformFee = money.Money{Amount: -reversed, Currency: r.Amount.Currency}
		p.Ledger = append(p.Ledger, LedgerEntry{ID: r.ID, OrgID: p.OrgID, LocationID: p.LocationID, PaymentID: p.ID,
			BusinessDate: r.BusinessDate, Amount: r.PlatformFee, At: now})
	}
	to := StatusPartiallyRefunded
	if p.Refunded.Amount >= p.Amount.Amount+p.Tip.Amount {
		to = StatusRefunded
	}
	_ = p.move(to, by, "refund "+r.ID+" of "+r.Amount.Decimal()+": "+r.Reason, now)
	r.UpdatedAt = now
	if surplus {
		return
	}
	// The check loses the refund from what was paid toward it, the amount
	// first, then the tip.
	fromAmount := min(r.Amount.Amount, p.Amount.Amount-(p.Refunded.Amount-r.Amount.Amount))
	fromAmount = max(fromAmount, 0)
	o.Refund(money.Money{Amount: fromAmount, Currency: r.Amount.Currency}, money.Money{Amount: r.Amount.Amount - fromAmount, Currency: r.Amount.Currency})
	o.Version++
	o.UpdatedAt = now
}

// refundVia asks the payment's provider (card or bank) for a refund
// recorded as pending, and records the answer.
func (s *Service) refundVia(ctx context.Context, by string, r *Refund, p *Payment) (*Refund, *Payment, *order.Order, error) {
	var res RefundResult
	var err error
	if p.Method == MethodOpenBanking {
		bank, berr := s.bankFor(ctx, p.OrgID, p.Provider)
		if berr != nil {
			return nil, nil, nil, berr
		}
		res, err = bank.RefundBankPayment(ctx, p.ProviderRef, r.Amount, r.ID)
		s.health.record(p.OrgID, bank, err)
	} else {
		card, cerr := s.cardFor(ctx, p.OrgID, p.Provider)
		if cerr != nil {
			return nil, nil, nil, cerr
		}
		refunder, ok := card.(Refunder)
		if !ok {
			return nil, nil, nil, apperr.New(apperr.Conflict, "not_refundable", "the card provider "+card.Name()+" cannot refund")
		}
		res, err = refunder.Refund(ctx, p.ProviderRef, r.Amount, r.ID)
		s.health.record(p.OrgID, card, err)
	}
	switch {
	case apperr.Is(err, apperr.Unavailable):
		// Not sent: the refund failed, and its amount may be refunded again.
		res, err = RefundResult{Status: RefundFailed, Failure: &Failure{Code: "provider_unavailable",
			Message: "the provider could not be reached"}}, nil
	case err != nil:
		// Unknown outcome: the refund stays pending, holding its amount; a
		// retry with its ID asks the provider again, or its webhook says.
		return nil, nil, nil, &apperr.Error{Kind: apperr.Unavailable, Code: "outcome_unknown", Err: err,
			Detail: "the provider did not answer; the refund " + r.ID + " is held until its outcome is known: retry with \"id\": \"" + r.ID + "\""}
	}
	now := s.now().UTC()
	return s.refunds.UpdateRefund(ctx, r.OrgID, r.ID, func(r *Refund, p *Payment, o *order.Order) error {
		applyRefundResult(r, p, o, res, by, now)
		return nil
	})
}

// applyRefundResult records what the provider says of a pending refund:
// succeeded, it comes off the payment and the check; failed, its hold is
// released; still pending, its reference is kept for the webhook. A
// refund already settled changes no more. It reports whether it changed
// the refund's status.
func applyRefundResult(r *Refund, p *Payment, o *order.Order, res RefundResult, by string, now time.Time) bool {
	if r.Status != RefundPending {
		return false
	}
	if res.Ref != "" && r.ProviderRef != res.Ref {
		r.ProviderRef, r.UpdatedAt = res.Ref, now
	}
	switch res.Status {
	case RefundSucceeded:
		r.Status = RefundSucceeded
		settleRefund(r, p, o, by, now)
	case RefundFailed:
		r.Status, r.Failure, r.UpdatedAt = RefundFailed, res.Failure, now
		p.RefundPending.Amount -= r.Amount.Amount
	default:
		return false // still pending at the provider: its webhook will say
	}
	p.Version++
	p.UpdatedAt = now
	return true
}

// resumeRefund returns a refund found by its ID, asking the provider again
// if it was left pending.
func (s *Service) resumeRefund(ctx context.Context, a order.Actor, r *Refund) (*Refund, *Payment, *order.Order, error) {
	p, err := s.payment(ctx, a, r.PaymentID)
	if err != nil {
		return nil, nil, nil, err
	}
	if r.Status == RefundPending && p.Method != MethodCash {
		return s.refundVia(ctx, a.UserID, r, p)
	}
	o, err := s.orders.Order(ctx, a.OrgID, r.OrderID)
	return r, p, o, err
}

// Refunds lists refunds; a staff member sees their location's only.
func (s *Service) Refunds(ctx context.Context, a order.Actor, f RefundFilter) ([]*Refund, error) {
	if f.PaymentID != "" {
		if _, err := s.payment(ctx, a, f.PaymentID); err != nil {
			return nil, err
		}
	}
	if a.LocationID != "" {
		if f.LocationID != "" && f.LocationID != a.LocationID {
			return nil, apperr.NotFoundf("location")
		}
		f.LocationID = a.LocationID
	}
	if f.Limit <= 0 || f.Limit > 501 {
		f.Limit = 100
	}
	return s.refunds.FindRefunds(ctx, a.OrgID, f)
}
