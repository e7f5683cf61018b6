package payment

import (
	"context"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/order"
)

// Provider webhooks. The signature is verified against the organization's
// signing secret before anything in the body is read; each event is then
// applied once (its ID is recorded in the same transaction as its effect)
// and only as a move forward, so events arriving twice, late or out of
// order change nothing they should not.

// WebhookEvent is a provider's event, verified, in our terms.
type WebhookEvent struct {
	ID        string
	Type      string
	PaymentID string // ours (pay_…), from the provider object's metadata; "" if not ours
	Ref       string // the provider's payment ID
	Status    Status // what the event says of the payment; "" if nothing
	Failure   *Failure
	Card      *Card
	// RefundID is our refund (rfd_…) the event is about, from the
	// provider refund's metadata; RefundStatus what it says of it.
	RefundID     string
	RefundStatus string
}

// WebhookVerifier checks a webhook's signature and, only if it is good,
// decodes it. Errors: Invalid bad_signature.
type WebhookVerifier func(payload []byte, signature, secret string, now time.Time) (WebhookEvent, error)

// HandleWebhook verifies and applies a provider's webhook for orgID. It
// reports whether the event changed anything (false for one seen before,
// or of a type we do not act on: both are acknowledged).
func (s *Service) HandleWebhook(ctx context.Context, orgID string, payload []byte, signature string) (applied bool, err error) {
	if s.verify == nil {
		return false, apperr.NotFoundf("webhook endpoint")
	}
	secret, err := s.WebhookSecret(ctx, orgID)
	if apperr.Is(err, apperr.NotFound) {
		// Unknown account or no secret: indistinguishable from a bad
		// signature, so probing learns nothing.
		return false, errBadSignature
	}
	if err != nil {
		return false, err
	}
	e, err := s.verify(payload, signature, secret, s.now())
	if err != nil {
		return false, err
	}
	if e.RefundID != "" && e.RefundStatus != "" {
		return s.applyRefundEvent(ctx, orgID, "stripe", e)
	}
	paymentID := e.PaymentID
	if paymentID == "" && e.Ref != "" {
		if p, err := s.store.FindPaymentByRef(ctx, orgID, e.Ref); err == nil {
			paymentID = p.ID
		}
	}
	now := s.now().UTC()
	var fs *FeeSchedule
	if paymentID != "" && e.Status != "" {
		p, err := s.store.FindPayment(ctx, orgID, paymentID)
		if err == nil {
			if fs, err = s.schedule(ctx, orgID, p.LocationID, p.Amount.Currency); err != nil {
				return false, err
			}
		} else if !apperr.Is(err, apperr.NotFound) {
			return false, err
		}
	}
	if fs == nil {
		paymentID = "" // not a payment of ours, or nothing to apply: acknowledge only
	}
	changed := false
	_, err = s.store.ApplyProviderEvent(ctx, orgID, "stripe", e.ID, e.Type, paymentID, func(p *Payment, o *order.Order) error {
		if e.Status == StatusFailed && p.Status == StatusRequiresAction {
			// A failed attempt at 3-D Secure or on the device: the guest may
			// try again on the same payment; a cancel, not this, ends it.
			return nil
		}
		changed = applyResult(p, o, ChargeResult{Ref: e.Ref, Status: e.Status, Failure: e.Failure, Card: e.Card}, fs, now)
		if changed {
			last := &p.History[len(p.History)-1]
			last.Note = "webhook " + e.Type + " " + e.ID
		}
		return nil
	})
	return changed, err
}

var errBadSignature = apperr.New(apperr.Invalid, "bad_signature", "the webhook's signature does not verify")

// applyRefundEvent finishes a refund the provider answered "pending".
func (s *Service) applyRefundEvent(ctx context.Context, orgID, provider string, e WebhookEvent) (bool, error) {
	now := s.now().UTC()
	changed := false
	_, err := s.refunds.ApplyRefundEvent(ctx, orgID, provider, e.ID, e.Type, e.RefundID, func(r *Refund, p *Payment, o *order.Order) error {
		changed = applyRefundResult(r, p, o, RefundResult{Status: e.RefundStatus, Failure: e.Failure}, "", now)
		return nil
	})
	return changed, err
}
