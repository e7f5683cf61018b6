package payment

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/order"
)

// An open-banking payment, on our side:
//
//   - Pay records it pending, holding its amount against the check, then
//     asks the bank provider for a payment and its link (the QR code); the
//     payment waits as requires_action while the guest decides.
//   - The provider's webhooks (or polling, when they are late) move it
//     along: authorizing, authorized, then executed — the money is sent,
//     the payment captured and the check settled — or failed.
//   - Nobody approves within the expiry (15 minutes): it expires, and the
//     POS offers card for the same amount. The POS may cancel it too.
//   - A bank's approval that arrives after the payment let go of the check
//     is taken onto the check if the check still needs it, and otherwise
//     is surplus: never counted toward the check, refunded at once or held
//     for a manager as the location chooses. So a check is never paid
//     twice, whatever arrives in whatever order.

// BankDetails is what an open-banking payment adds to a payment.
type BankDetails struct {
	Status    BankStatus `json:"status" enum:"authorization_required,authorizing,authorized,executed,settled,failed,expired,cancelled" doc:"at the bank; empty until the provider has answered"`
	Link      string     `json:"link,omitempty" doc:"the page the guest opens to approve: the QR code's content"`
	QRSVG     string     `json:"qr_svg" doc:"the QR code as SVG, for the POS screen"`
	QRPNG     string     `json:"qr_png" doc:"the QR code as PNG"`
	Mode      string     `json:"mode" enum:"test,live" doc:"test: a sandbox, no real money"`
	ExpiresAt time.Time  `json:"expires_at" doc:"when the QR code stops working if nobody has approved"`
	// ServerURL is this server's address as the POS reached it: the
	// sandbox bank's page is served there.
	ServerURL string `json:"server_url,omitempty"`
	// Fallback is set when the payment ended unpaid.
	Fallback *Fallback `json:"fallback,omitempty" doc:"when the payment ended unpaid: what the POS offers instead, for the same amount"`
}

// Fallback is what the POS offers when a bank payment ends unpaid.
type Fallback struct {
	Method Method      `json:"method" enum:"card"`
	Amount money.Money `json:"amount"`
	Reason string      `json:"reason" enum:"declined,expired,cancelled,failed"`
}

// bankRank orders the bank statuses a payment waits through.
var bankRank = map[BankStatus]int{"": 0, BankAuthorizationRequired: 1, BankAuthorizing: 2, BankAuthorized: 3, BankExecuted: 4, BankSettled: 5}

// DefaultBankExpiry is how long a QR code waits for the guest.
const DefaultBankExpiry = 15 * time.Minute

// banks finds each organization's bank provider.
type banks struct {
	sandbox *SandboxBank
	// factory builds a real provider from an organization's sealed
	// settings (bankprovider.go); nil: only the sandbox bank is here.
	factory BankFactory
	mu      sync.Mutex
	cache   map[string]cachedBank
	polled  map[string]time.Time // payment ID → last asked, on this node
}

type cachedBank struct {
	version int64
	p       BankProvider
}

// startBank asks the bank provider for the payment of p, recorded as
// pending, and records its answer: the link the guest opens.
func (s *Service) startBank(ctx context.Context, p *Payment, o *order.Order) (*Payment, *order.Order, error) {
	bank, err := s.bankFor(ctx, p.OrgID, p.Provider)
	if err != nil {
		return nil, nil, err
	}
	// On the guest's statement; UK Faster Payments carry 18 characters.
	reference := "FYNLO " + p.ID[len(p.ID)-8:]
	payee := ""
	if o != nil {
		reference = "CHECK " + strconv.Itoa(o.Number) + " " + p.ID[len(p.ID)-6:]
	}
	reference = reference[:min(len(reference), 18)]
	if loc, err := s.locations.Location(ctx, p.OrgID, p.LocationID); err == nil {
		payee = loc.Name
	}
	res, err := bank.CreateBankPayment(ctx, BankPaymentRequest{Key: p.ID, Amount: p.Taken(), Reference: reference, Payee: payee,
		ReturnURL: p.OpenBanking.ServerURL + "/pay/done", ExpiresAt: p.OpenBanking.ExpiresAt, ServerURL: p.OpenBanking.ServerURL,
		Metadata: map[string]string{"fynlo_payment_id": p.ID, "fynlo_order_id": p.OrderID, "fynlo_organization_id": p.OrgID}})
	s.health.record(p.OrgID, bank, err)
	switch {
	case err == nil:
		return s.recordBank(ctx, p.OrgID, p.ID, res, "")
	case apperr.Is(err, apperr.Unavailable), apperr.Is(err, apperr.Invalid):
		// Nothing was created: the payment failed, and the check is
		// payable again by any method.
		failure := &Failure{Code: "provider_unavailable", Message: "the bank provider could not be reached"}
		var ae *apperr.Error
		if errors.As(err, &ae) && apperr.Is(err, apperr.Invalid) {
			failure = &Failure{Code: "invalid_request", Message: ae.Detail}
		}
		if _, _, rerr := s.recordBank(ctx, p.OrgID, p.ID, BankPayment{Status: BankFailed, Failure: failure}, ""); rerr != nil {
			return nil, nil, rerr
		}
		if apperr.Is(err, apperr.Unavailable) {
			return nil, nil, errBankDown
		}
		return nil, nil, err
	default:
		return nil, nil, &apperr.Error{Kind: apperr.Unavailable, Code: "outcome_unknown", Err: err,
			Detail: "the bank provider did not answer; the payment " + p.ID + " is held until its outcome is known: retry with \"id\": \"" + p.ID + "\""}
	}
}

// recordBank applies a provider's word on a payment, and returns money
// that arrived too late for its check.
func (s *Service) recordBank(ctx context.Context, orgID, paymentID string, res BankPayment, note string) (*Payment, *order.Order, error) {
	cur, err := s.store.FindPayment(ctx, orgID, paymentID)
	if err != nil {
		return nil, nil, err
	}
	fs, err := s.schedule(ctx, orgID, cur.LocationID, cur.Amount.Currency)
	if err != nil {
		return nil, nil, err
	}
	now := s.now().UTC()
	surplus := false
	p, o, err := s.store.UpdatePayment(ctx, orgID, paymentID, func(p *Payment, o *order.Order) error {
		_, surplus = applyBank(p, o, res, fs, now, note)
		return nil
	})
	if err == nil && surplus {
		s.returnSurplus(ctx, p, fs)
	}
	return p, o, err
}

// applyBank moves a payment (and its check) to what the bank provider
// says of it, if that is a move forward; a word heard before, late or out
// of order changes nothing. It reports whether it changed anything, and
// whether the payment became surplus: money the check does not need.
func applyBank(p *Payment, o *order.Order, res BankPayment, fs *FeeSchedule, now time.Time, note string) (changed, surplus bool) {
	ob := p.OpenBanking
	orderBefore := o.Version
	if res.Ref != "" && p.ProviderRef == "" {
		p.ProviderRef, changed = res.Ref, true
	}
	if res.Link != "" && ob.Link == "" {
		ob.Link, changed = res.Link, true
	}
	switch {
	case res.Status.Paid():
		if bankRank[res.Status] > bankRank[ob.Status] || !ob.Status.Paid() {
			ob.Status, changed = res.Status, true
		}
		switch {
		case p.Status.Holds():
			_ = p.move(StatusCaptured, "", note, now)
			p.captured(fs, now)
			o.Settle(p.Amount, p.Tip, now)
			o.Version++
		case p.Status == StatusFailed || p.Status == StatusCancelled || p.Status == StatusExpired:
			// The guest approved after we let go. Still needed, the money
			// pays the check; otherwise it goes back.
			was := string(p.Status)
			if o.Payable() == nil && o.Payments.Balance.Amount >= p.Amount.Amount && o.Reserve(p.Amount) == nil {
				_ = p.move(StatusCaptured, "", join(note, "approved after the payment was "+was+"; the check still needed it"), now)
				p.captured(fs, now)
				o.Settle(p.Amount, p.Tip, now)
				o.Version++
			} else {
				_ = p.move(StatusSurplus, "", join(note, "approved after the payment was "+was+" and the check no longer needed it: to be refunded"), now)
				surplus = true
			}
			ob.Fallback = nil
			changed = true
		}
	case res.Status == BankFailed:
		if p.Status.Holds() {
			ob.Status, p.Failure = BankFailed, res.Failure
			_ = p.move(StatusFailed, "", note, now)
			o.Release(p.Amount)
			o.Version++
			ob.Fallback = &Fallback{Method: MethodCard, Amount: p.Amount, Reason: "declined"}
			if res.Failure != nil && res.Failure.Code == "provider_unavailable" {
				ob.Fallback.Reason = "failed"
			}
			changed = true
		}
	case bankRank[res.Status] > 0:
		if p.Status.Holds() && bankRank[res.Status] > bankRank[ob.Status] {
			ob.Status, changed = res.Status, true
			if p.Status == StatusPending {
				_ = p.move(StatusRequiresAction, "", note, now)
			}
		}
	}
	if changed {
		p.Version++
		p.UpdatedAt = now
	}
	if o.Version != orderBefore {
		o.UpdatedAt = now
	}
	return changed, surplus
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// endBank lets go of an open-banking payment nobody has paid: expired or
// cancelled. The check's hold is released first, so the POS can take a
// card at once; then the provider is asked to cancel. Whether or not it
// can (the guest may be in their bank's app, or the provider down), an
// approval that still arrives is late money: taken if the check still
// needs it, refunded otherwise. If the provider answers that the money
// was already sent, it is recorded so at once.
func (s *Service) endBank(ctx context.Context, p *Payment, to Status, by string) (*Payment, *order.Order, error) {
	now := s.now().UTC()
	p, o, err := s.store.UpdatePayment(ctx, p.OrgID, p.ID, func(p *Payment, o *order.Order) error {
		if !p.Status.Holds() {
			return nil // a webhook got there first
		}
		p.OpenBanking.Status = BankCancelled
		reason := "cancelled"
		if to == StatusExpired {
			p.OpenBanking.Status, reason = BankExpired, "expired"
		}
		if err := p.move(to, by, "", now); err != nil {
			return err
		}
		p.OpenBanking.Fallback = &Fallback{Method: MethodCard, Amount: p.Amount, Reason: reason}
		o.Release(p.Amount)
		p.Version++
		o.Version++
		o.UpdatedAt = now
		return nil
	})
	if err != nil || p.ProviderRef == "" || p.Status != to {
		return p, o, err
	}
	// A provider no longer configured cannot be asked; the check is free
	// all the same, and its webhooks, if any still come, are refused.
	bank, err := s.bankFor(ctx, p.OrgID, p.Provider)
	if err != nil {
		return p, o, nil
	}
	res, cerr := bank.CancelBankPayment(ctx, p.ProviderRef, p.ID+":cancel")
	s.health.record(p.OrgID, bank, cerr)
	if cerr == nil && res.Status.Paid() {
		return s.recordBank(ctx, p.OrgID, p.ID, res, "the bank had sent the money before it could be "+string(to))
	}
	return p, o, nil
}

// returnSurplus refunds late money when the location says so; otherwise
// it waits, as surplus, for a manager. Failing here is not final: the
// sweep tries again.
func (s *Service) returnSurplus(ctx context.Context, p *Payment, fs *FeeSchedule) {
	if fs.lateBank() != LateRefund {
		return
	}
	_, _ = s.refundSurplus(ctx, p.OrgID, p.ID)
}

// refundSurplus gives a surplus payment's money back, whole, once.
func (s *Service) refundSurplus(ctx context.Context, orgID, paymentID string) (*Refund, error) {
	p, err := s.store.FindPayment(ctx, orgID, paymentID)
	if err != nil {
		return nil, err
	}
	loc, err := s.locations.Location(ctx, orgID, p.LocationID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	r := &Refund{ID: id.New(id.Refund), OrgID: orgID, LocationID: p.LocationID, PaymentID: p.ID, OrderID: p.OrderID,
		BusinessDate: loc.BusinessDate(now), Method: p.Method, Status: RefundPending,
		Reason:      "the guest's bank approval arrived after the check was paid another way: returned automatically",
		PlatformFee: money.Money{Currency: p.Amount.Currency}, CreatedAt: now, UpdatedAt: now}
	var outP *Payment
	err = s.refunds.CreateRefund(ctx, r, func(r *Refund, p *Payment, _ *order.Order) error {
		if p.Status != StatusSurplus || p.RefundPending.Amount != 0 {
			return errNothingToDo
		}
		r.Amount = money.Money{Amount: p.Refundable(), Currency: p.Amount.Currency}
		p.RefundPending.Amount += r.Amount.Amount
		p.Version++
		p.UpdatedAt = now
		outP = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	r, _, _, err = s.refundVia(ctx, "", r, outP)
	return r, err
}

var errBankDown = apperr.New(apperr.Unavailable, "provider_unavailable",
	"the bank provider cannot be reached; nothing was started; offer card instead, or try again")

var errNothingToDo = apperr.New(apperr.Conflict, "nothing_to_do", "nothing to do")

// HandleBankWebhook verifies and applies a bank provider's webhook for
// orgID. It reports whether the event changed anything.
func (s *Service) HandleBankWebhook(ctx context.Context, provider, orgID string, req WebhookRequest) (applied bool, err error) {
	bank, err := s.bankFor(ctx, orgID, provider)
	if err != nil {
		// Unknown organization or provider: indistinguishable from a bad
		// signature, so probing learns nothing.
		return false, errBadSignature
	}
	e, err := bank.VerifyBankWebhook(ctx, req)
	if err != nil {
		return false, err
	}
	s.health.record(orgID, bank, nil)
	if e.RefundRef != "" {
		r, err := s.refunds.FindRefundByRef(ctx, orgID, e.RefundRef)
		if apperr.Is(err, apperr.NotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return s.applyRefundEvent(ctx, orgID, provider, WebhookEvent{ID: e.ID, Type: e.Type, RefundID: r.ID, RefundStatus: e.RefundStatus, Failure: e.Failure})
	}
	paymentID := ""
	var fs *FeeSchedule
	if e.Ref != "" && e.Status != "" {
		p, err := s.store.FindPaymentByRef(ctx, orgID, e.Ref)
		if apperr.Is(err, apperr.NotFound) && e.PaymentID != "" {
			if q, qerr := s.store.FindPayment(ctx, orgID, e.PaymentID); qerr == nil && q.ProviderRef == "" && q.Status.Holds() {
				// The webhook beat the provider's answer to our request. Its
				// metadata is whatever the payment's creator wrote, and
				// the provider signs every client's webhooks alike: it
				// proves nothing until our own request has told us the
				// payment's reference. Refused for now; the provider sends
				// it again, and by then we know.
				return false, apperr.New(apperr.Unavailable, "payment_not_ready", "the payment is still being created; send the webhook again")
			}
		}
		if err == nil && p.Method == MethodOpenBanking && p.Provider == bank.Name() && p.ProviderRef == e.Ref {
			paymentID = p.ID
			if fs, err = s.schedule(ctx, orgID, p.LocationID, p.Amount.Currency); err != nil {
				return false, err
			}
		} else if err != nil && !apperr.Is(err, apperr.NotFound) {
			return false, err
		}
	}
	now := s.now().UTC()
	changed, surplus := false, false
	var paid *Payment
	_, err = s.store.ApplyProviderEvent(ctx, orgID, bank.Name(), e.ID, e.Type, paymentID, func(p *Payment, o *order.Order) error {
		changed, surplus = applyBank(p, o, BankPayment{Ref: e.Ref, Status: e.Status, Failure: e.Failure}, fs, now, "webhook "+e.Type+" "+e.ID)
		paid = p
		return nil
	})
	if err == nil && surplus {
		s.returnSurplus(ctx, paid, fs)
	}
	return changed, err
}

// SweepBank drives the open-banking payments still in flight: it expires
// those nobody approved in time, asks the provider about those whose
// webhooks are slow (a lost webhook is found within a minute), finishes
// creating those whose provider never answered, and refunds late money
// whose refund did not go through. The server runs it every few seconds;
// it reports how many payments it changed.
func (s *Service) SweepBank(ctx context.Context) (int, error) {
	changed, after := 0, ""
	for {
		ps, err := s.store.FindBankPaymentsInFlight(ctx, after, 200)
		if err != nil {
			return changed, err
		}
		for _, p := range ps {
			if ctx.Err() != nil {
				return changed, ctx.Err()
			}
			before := p.Version
			if got, err := s.sweepOne(ctx, p); err == nil && got != nil && got.Version != before {
				changed++
			}
			after = p.ID
		}
		if len(ps) < 200 {
			return changed, nil
		}
	}
}

// DefaultBankPoll is how often a payment waiting on its bank is asked
// about when its webhooks are slow.
const DefaultBankPoll = 20 * time.Second

func (s *Service) sweepOne(ctx context.Context, p *Payment) (*Payment, error) {
	now := s.now().UTC()
	switch {
	case p.Status == StatusSurplus:
		fs, err := s.schedule(ctx, p.OrgID, p.LocationID, p.Amount.Currency)
		if err != nil || fs.lateBank() != LateRefund || p.RefundPending.Amount != 0 {
			return nil, err
		}
		_, err = s.refundSurplus(ctx, p.OrgID, p.ID)
		return nil, err
	case p.Status == StatusPending && p.ProviderRef == "":
		// The provider's answer to our request was lost: ask again with
		// the same key (the same payment at the provider).
		if now.Before(p.OpenBanking.ExpiresAt) {
			o, err := s.orders.Order(ctx, p.OrgID, p.OrderID)
			if err != nil {
				return nil, err
			}
			p, _, err = s.startBank(ctx, p, o)
			return p, err
		}
	}
	if !p.Status.Holds() {
		return nil, nil
	}
	if !now.Before(p.OpenBanking.ExpiresAt) {
		p, _, err := s.endBank(ctx, p, StatusExpired, "")
		return p, err
	}
	b := &s.banks
	b.mu.Lock()
	last := b.polled[p.ID]
	due := now.Sub(last) >= s.poll && now.Sub(p.UpdatedAt) >= s.poll
	if due {
		b.polled[p.ID] = now
	}
	b.mu.Unlock()
	if !due || p.ProviderRef == "" {
		return nil, nil
	}
	bank, err := s.bankFor(ctx, p.OrgID, p.Provider)
	if err != nil {
		return nil, err
	}
	res, err := bank.BankPayment(ctx, p.ProviderRef)
	s.health.record(p.OrgID, bank, err)
	if err != nil {
		return nil, err
	}
	p, _, err = s.recordBank(ctx, p.OrgID, p.ID, res, "asked the provider")
	return p, err
}

// bankFor returns the bank provider a payment of orgID goes through: the
// one named (a payment keeps its provider), or for a new payment ("") the
// organization's own provider, else the sandbox bank.
func (s *Service) bankFor(ctx context.Context, orgID, name string) (BankProvider, error) {
	b := &s.banks
	if name == SandboxBankName && b.sandbox != nil {
		return b.sandbox, nil
	}
	if b.factory != nil && s.providers.store != nil && name != SandboxBankName {
		ps, err := s.providers.store.FindProviderSettings(ctx, orgID, ProviderTrueLayer)
		switch {
		case err == nil:
			b.mu.Lock()
			c, ok := b.cache[orgID]
			b.mu.Unlock()
			if ok && c.version == ps.Version {
				return c.p, nil
			}
			raw, err := s.providers.box.Open(ps.SealedKey, orgID+"/truelayer/config")
			if err != nil {
				return nil, apperr.Wrap(err, "truelayer settings of "+orgID)
			}
			creds, err := openCredentials(raw)
			if err != nil {
				return nil, apperr.Wrap(err, "truelayer settings of "+orgID)
			}
			p, err := b.factory(creds)
			if err != nil {
				return nil, apperr.Wrap(err, "truelayer provider of "+orgID)
			}
			b.mu.Lock()
			b.cache[orgID] = cachedBank{version: ps.Version, p: p}
			b.mu.Unlock()
			return p, nil
		case !apperr.Is(err, apperr.NotFound):
			return nil, err
		}
	}
	if name == "" && b.sandbox != nil {
		return b.sandbox, nil
	}
	if name == "" {
		return nil, apperr.New(apperr.Conflict, "open_banking_unavailable", "open banking is not set up on this server")
	}
	return nil, apperr.New(apperr.Unavailable, "provider_unavailable", "the payment's bank provider "+name+" is not configured here")
}

// PaymentOptions is how a check can be paid now.
type PaymentOptions struct {
	OrderID string        `json:"order_id"`
	Balance money.Money   `json:"balance" doc:"what is left to pay"`
	Methods []MethodQuote `json:"methods" doc:"for the balance: the location's offered methods in its order (cheapest for the restaurant first if it set none), then those it does not offer"`
	// Waiting is an open-banking payment the guest has yet to approve:
	// the POS shows its QR code rather than starting another.
	Waiting *Payment `json:"waiting,omitempty" doc:"a payment in flight (a QR code the guest has not approved yet), holding part of the check"`
	// Fallback is what the POS offers after a bank payment ended unpaid.
	Fallback *Fallback `json:"fallback,omitempty" doc:"after the check's latest open-banking payment ended unpaid: pay this by card"`
}

// PaymentOptions ranks the ways to pay what is left of a check, and says
// what is in flight.
func (s *Service) PaymentOptions(ctx context.Context, a order.Actor, orderID string) (*PaymentOptions, error) {
	o, err := s.orders.Order(ctx, a.OrgID, orderID)
	if err != nil {
		return nil, err
	}
	if err := atLocation(a, o.LocationID); err != nil {
		return nil, apperr.NotFoundf("order")
	}
	out := &PaymentOptions{OrderID: o.ID, Balance: o.Payments.Balance, Methods: []MethodQuote{}}
	if o.Payments.Balance.Amount > 0 {
		if out.Methods, _, err = s.Quote(ctx, a, o.LocationID, o.Payments.Balance); err != nil {
			return nil, err
		}
	}
	ps, err := s.store.FindPayments(ctx, a.OrgID, Filter{OrderID: o.ID, Limit: 501})
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.Status.Holds() {
			out.Waiting = p
		}
		if p.Method == MethodOpenBanking {
			out.Fallback = nil
			if p.OpenBanking != nil && p.OpenBanking.Fallback != nil && o.Payments.Balance.Amount > 0 {
				fb := *p.OpenBanking.Fallback
				fb.Amount.Amount = min(fb.Amount.Amount, o.Payments.Balance.Amount)
				out.Fallback = &fb
			}
		}
	}
	return out, nil
}
