package payment

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/idempotency"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/order"
	"github.com/fynlo/fynlo/internal/secret"
)

// Service applies the rules of payments.
type Service struct {
	store     Store
	refunds   RefundStore
	fees      FeeStore
	ledger    LedgerStore
	approver  Approver
	orders    Orders
	locations order.Locations
	drawers   Drawers
	card      CardProvider // the simulated provider: cards of organizations with no provider of their own
	providers providers
	verify    WebhookVerifier
	banks     banks
	expiry    time.Duration  // how long a QR code waits for the guest
	poll      time.Duration  // how often a bank is asked when its webhooks are slow
	applePay  ApplePayTokens // direct Apple Pay; nil: tokens come through the card provider only
	wallet    WalletHealth
	health    *healthBook
	now       func() time.Time
}

// Deps are what a Service needs.
type Deps struct {
	Store     Store
	Refunds   RefundStore
	Fees      FeeStore
	Ledger    LedgerStore
	Orders    Orders
	Locations order.Locations
	Drawers   Drawers
	Approver  Approver
	Card      CardProvider // cards of organizations with no provider of their own go through it
	// Providers, Box and Factory let organizations bring their own Stripe
	// account; without them every card goes through Card.
	Providers ProviderStore
	Box       *secret.Box
	Factory   ProviderFactory
	Verify    WebhookVerifier
	// Sandbox is the bank of organizations with no bank provider of their
	// own; BankFactory builds theirs from their sealed settings.
	Sandbox     *SandboxBank
	BankFactory BankFactory
	BankExpiry  time.Duration // 15 minutes when 0
	BankPoll    time.Duration // 20 seconds when 0
	// ApplePay opens Apple Pay tokens for merchants who process them
	// themselves; Wallet reports on their certificates.
	ApplePay ApplePayTokens
	Wallet   WalletHealth
	Now      func() time.Time
}

// NewService returns a Service.
func NewService(d Deps) *Service {
	if d.Card == nil {
		d.Card = Simulated{}
	}
	if d.BankExpiry <= 0 {
		d.BankExpiry = DefaultBankExpiry
	}
	if d.BankPoll <= 0 {
		d.BankPoll = DefaultBankPoll
	}
	s := &Service{store: d.Store, refunds: d.Refunds, fees: d.Fees, ledger: d.Ledger, approver: d.Approver, orders: d.Orders, locations: d.Locations, drawers: d.Drawers,
		card: d.Card, now: d.Now, verify: d.Verify, providers: providers{store: d.Providers, box: d.Box, factory: d.Factory, cache: map[string]cachedProvider{}},
		banks:  banks{sandbox: d.Sandbox, factory: d.BankFactory, cache: map[string]cachedBank{}, polled: map[string]time.Time{}},
		expiry: d.BankExpiry, poll: d.BankPoll, applePay: d.ApplePay, wallet: d.Wallet, health: &healthBook{now: d.Now, m: map[healthKey]*healthState{}}}
	if d.Sandbox != nil {
		// The sandbox bank's webhooks take the same path as a real
		// provider's: verified, then applied once.
		d.Sandbox.deliver = func(ctx context.Context, orgID string, req WebhookRequest) error {
			_, err := s.HandleBankWebhook(ctx, SandboxBankName, orgID, req)
			return err
		}
	}
	return s
}

// PayInput is a payment asked for.
type PayInput struct {
	ID            string       // the client's ID for it (pay_…): a retry with it finds the payment
	Method        Method       //
	Amount        *money.Money // toward the check; nil for the whole balance
	Tip           *money.Money // or TipPercentBP of the amount
	TipPercentBP  *int         //
	Tendered      *money.Money // cash handed over; the amount and tip when nil
	DrawerID      string       // cash: the drawer; "" for the location's only open one
	PaymentMethod string       // card: the provider's payment method (pm_…)
	Terminal      bool         // card: collected on the device (Tap to Pay on iPhone)
	ManualCapture bool         // card: authorise now, capture later
	ApplePayToken []byte       // card: an Apple Pay token (paymentData) the merchant opens itself
	ServerURL     string       // open banking: this server's address as the POS reached it
}

// Pay takes a payment toward a check. created is false when the ID named
// a payment already made: it is returned as it is, or driven on if it was
// left in flight (a crash, a dropped connection).
func (s *Service) Pay(ctx context.Context, a order.Actor, orderID string, in PayInput) (p *Payment, o *order.Order, created bool, err error) {
	clientID := in.ID != ""
	if in.ID != "" {
		if !id.Valid(id.Payment, in.ID) {
			return nil, nil, false, apperr.Field("id", "must be pay_ followed by a ULID")
		}
		// A retry finds the payment by its ID and drives it on from where
		// it stopped (recorded but not charged, charged but not recorded).
		ctx = idempotency.Repeatable(ctx)
		p, err := s.store.FindPayment(ctx, a.OrgID, in.ID)
		if err == nil {
			if p.OrderID != orderID || p.Method != in.Method {
				return nil, nil, false, apperr.New(apperr.Conflict, "already_exists", "a payment with this ID was made for another check or by another method")
			}
			if err := atLocation(a, p.LocationID); err != nil {
				return nil, nil, false, err
			}
			p, o, err := s.resume(ctx, a, p)
			return p, o, false, err
		}
		if !apperr.Is(err, apperr.NotFound) {
			return nil, nil, false, err
		}
	} else {
		in.ID = id.New(id.Payment)
	}

	cur, err := s.orders.Order(ctx, a.OrgID, orderID)
	if err != nil {
		return nil, nil, false, err
	}
	if err := atLocation(a, cur.LocationID); err != nil {
		return nil, nil, false, apperr.NotFoundf("order")
	}
	if err := cur.Payable(); err != nil {
		return nil, nil, false, err
	}
	loc, err := s.locations.Location(ctx, a.OrgID, cur.LocationID)
	if err != nil {
		return nil, nil, false, err
	}
	if err := validate(in, cur.Currency, loc.GratuityEnabled); err != nil {
		return nil, nil, false, err
	}
	fs, err := s.schedule(ctx, a.OrgID, cur.LocationID, cur.Currency)
	if err != nil {
		return nil, nil, false, err
	}
	if !fs.offers(in.Method) {
		return nil, nil, false, apperr.Field("method", "is not offered at this location (its fee schedule's offered list)")
	}
	passOn := fs.Policy == PolicyPassOn && !SurchargeBanned(loc.Country)
	var tok *NetworkToken
	if in.ApplePayToken != nil {
		// Opened and verified before anything is recorded: a token that
		// fails is a 422 and nothing is charged.
		if s.applePay == nil {
			return nil, nil, false, apperr.New(apperr.Conflict, "apple_pay_unavailable", "this server does not open Apple Pay tokens itself; send the token to the card provider's SDK")
		}
		if tok, err = s.applePay.Open(ctx, a.OrgID, in.ApplePayToken); err != nil {
			return nil, nil, false, err
		}
	}

	now := s.now().UTC()
	p = &Payment{ID: in.ID, OrgID: a.OrgID, LocationID: cur.LocationID, OrderID: orderID, BusinessDate: loc.BusinessDate(now),
		Method: in.Method, Provider: string(MethodCash), Amount: zero(cur.Currency), Tip: zero(cur.Currency), Change: zero(cur.Currency),
		Surcharge: zero(cur.Currency), ProcessingFee: zero(cur.Currency), PlatformFee: zero(cur.Currency), PlatformFeeReversed: zero(cur.Currency),
		Refunded: zero(cur.Currency), RefundPending: zero(cur.Currency), ManualCapture: in.ManualCapture, PaymentMethod: in.PaymentMethod, EmployeeID: a.UserID,
		History: []Transition{}, Version: 1, CreatedAt: now, UpdatedAt: now}
	if in.Method == MethodCard {
		card, err := s.cardFor(ctx, a.OrgID, "")
		if err != nil {
			return nil, nil, false, err
		}
		if _, ok := card.(TerminalProvider); in.Terminal && !ok {
			return nil, nil, false, apperr.New(apperr.Conflict, "terminal_unavailable",
				"Tap to Pay needs the organization's own Stripe account; the "+card.Name()+" provider has no card readers")
		}
		if _, ok := card.(NetworkTokenCharger); tok != nil && !ok {
			return nil, nil, false, apperr.New(apperr.Conflict, "network_tokens_unsupported",
				"the "+card.Name()+" provider takes Apple Pay through its own SDK (a pm_… payment method), not tokens opened here")
		}
		p.Provider, p.Terminal = card.Name(), in.Terminal
	} else if in.Method == MethodOpenBanking {
		bank, err := s.bankFor(ctx, a.OrgID, "")
		if err != nil {
			return nil, nil, false, err
		}
		p.Provider = bank.Name()
		p.OpenBanking = &BankDetails{Mode: bank.Mode(), ExpiresAt: now.Add(s.expiry), ServerURL: strings.TrimRight(in.ServerURL, "/"),
			QRSVG: "/api/v1/payments/" + p.ID + "/qr.svg", QRPNG: "/api/v1/payments/" + p.ID + "/qr.png"}
	} else if p.DrawerSessionID, err = s.drawers.OpenSession(ctx, a.OrgID, cur.LocationID, in.DrawerID); err != nil {
		return nil, nil, false, err
	}

	o, err = s.store.CreatePayment(ctx, p, func(p *Payment, o *order.Order) error {
		if err := o.Payable(); err != nil {
			return err
		}
		if err := p.price(in, o); err != nil {
			return err
		}
		if tok != nil && tok.Amount != p.Taken() {
			return apperr.Field("card.apple_pay_token", "was approved on the device for "+tok.Amount.Decimal()+"; this payment is "+p.Taken().Decimal())
		}
		if err := o.Reserve(p.Amount); err != nil {
			return err
		}
		if passOn && p.Method == MethodCard {
			p.Surcharge.Amount = fs.processing(p.Method, p.feeBase()) + fs.platform(p.Method, p.feeBase())
		}
		p.ServerID = o.ServerID
		if err := p.move(StatusPending, a.UserID, "", now); err != nil {
			return err
		}
		if p.Method == MethodCash {
			if err := p.move(StatusCaptured, a.UserID, "", now); err != nil {
				return err
			}
			p.captured(fs, now)
			o.Settle(p.Amount, p.Tip, now)
		}
		o.Version++
		o.UpdatedAt = now
		return nil
	})
	var ae *apperr.Error
	if clientID && errors.As(err, &ae) && ae.Code == "already_exists" {
		// A retry that raced its first attempt: answer with that one.
		if first, ferr := s.store.FindPayment(ctx, a.OrgID, in.ID); ferr == nil && first.OrderID == orderID && first.Method == in.Method {
			p, o, err := s.resume(ctx, a, first)
			return p, o, false, err
		}
	}
	if err != nil {
		return nil, nil, false, err
	}
	switch p.Method {
	case MethodCash:
		return p, o, true, nil
	case MethodOpenBanking:
		p, o, err = s.startBank(ctx, p, o)
		return p, o, true, err
	}
	p, o, err = s.chargeWith(ctx, a, p, o, tok)
	return p, o, true, err
}

// schedule is a location's fee schedule, the defaults if it has none.
func (s *Service) schedule(ctx context.Context, orgID, locationID, currency string) (*FeeSchedule, error) {
	fs, err := s.fees.FindFeeSchedule(ctx, orgID, locationID)
	if apperr.Is(err, apperr.NotFound) {
		return DefaultFees(locationID, currency), nil
	}
	return fs, err
}

// MaxAmount bounds every amount a request may give (10^11 minor units: a
// billion pounds), so no sum of them can overflow.
const MaxAmount = 100_000_000_000

// validate checks a payment's input before anything is locked.
func validate(in PayInput, currency string, tipsOn bool) error {
	var f apperr.Fields
	sameCurrency := func(field string, m *money.Money) {
		if m != nil && m.Currency != currency {
			f.Add(field+".currency", "must be the check's currency, "+currency)
		}
	}
	switch in.Method {
	case MethodCash:
		if in.PaymentMethod != "" || in.ManualCapture || in.ApplePayToken != nil {
			f.Add("card", "is for card payments")
		}
	case MethodCard:
		if in.Tendered != nil {
			f.Add("tendered", "is for cash: a card is charged the amount and tip")
		}
		if in.DrawerID != "" {
			f.Add("drawer_id", "is for cash")
		}
		if in.Terminal && in.PaymentMethod != "" {
			f.Add("card.payment_method", "is collected by the device with Tap to Pay; leave it out")
		}
		if in.PaymentMethod != "" && (!strings.HasPrefix(in.PaymentMethod, "pm_") || len(in.PaymentMethod) > 255) {
			f.Add("card.payment_method", "must be a payment method ID from the provider's SDK (pm_…)")
		}
	case MethodOpenBanking:
		if in.Tendered != nil {
			f.Add("tendered", "is for cash")
		}
		if in.DrawerID != "" {
			f.Add("drawer_id", "is for cash")
		}
		if in.PaymentMethod != "" || in.ManualCapture || in.Terminal || in.ApplePayToken != nil {
			f.Add("card", "is for card payments")
		}
	default:
		f.Add("method", "must be cash, card or open_banking")
	}
	if in.Method == MethodCard && in.ApplePayToken != nil && (in.PaymentMethod != "" || in.Terminal) {
		f.Add("card.apple_pay_token", "give an Apple Pay token or a payment method, not both")
	}
	sameCurrency("amount", in.Amount)
	sameCurrency("tip", in.Tip)
	sameCurrency("tendered", in.Tendered)
	for name, m := range map[string]*money.Money{"amount": in.Amount, "tip": in.Tip, "tendered": in.Tendered} {
		if m != nil && m.Amount > MaxAmount {
			f.Add(name+".amount", "is beyond what one payment can be")
		}
	}
	if in.Amount != nil && in.Amount.Amount <= 0 {
		f.Add("amount", "must be more than zero; leave it out for the whole balance")
	}
	if in.Tip != nil && in.TipPercentBP != nil {
		f.Add("tip", "give tip or tip_percent_bp, not both")
	}
	if in.Tip != nil && in.Tip.Amount < 0 {
		f.Add("tip", "cannot be negative")
	}
	if in.TipPercentBP != nil && (*in.TipPercentBP < 0 || *in.TipPercentBP > 10000) {
		f.Add("tip_percent_bp", "must be 0 to 10000 (100%)")
	}
	if !tipsOn && ((in.Tip != nil && in.Tip.Amount > 0) || (in.TipPercentBP != nil && *in.TipPercentBP > 0)) {
		f.Add("tip", "this location does not take tips (gratuity is off in its settings)")
	}
	if in.Tendered != nil && in.Tendered.Amount <= 0 {
		f.Add("tendered", "must be more than zero")
	}
	return f.Err()
}

// price works out the payment's amount, tip and change against the check
// as locked. Cash may be more than the balance: the rest is change. A card
// is never charged more than the balance.
func (p *Payment) price(in PayInput, o *order.Order) error {
	balance := o.Payments.Balance.Amount
	amount := balance
	if in.Amount != nil {
		amount = in.Amount.Amount
	}
	if amount > balance && p.Method == MethodCash {
		// Handed more than is due, with no tendered amount saying so:
		// what is over the balance goes back as change.
		if in.Tendered == nil {
			in.Tendered = &money.Money{Amount: amount, Currency: o.Currency}
			if in.Tip != nil {
				in.Tendered.Amount += in.Tip.Amount
			}
		}
		amount = balance
	}
	if amount <= 0 {
		return apperr.New(apperr.Conflict, "nothing_to_pay", "the check has nothing left to pay")
	}
	p.Amount = money.Money{Amount: amount, Currency: o.Currency}
	switch {
	case in.Tip != nil:
		p.Tip.Amount = in.Tip.Amount
	case in.TipPercentBP != nil:
		p.Tip.Amount = order.TipOn(amount, *in.TipPercentBP)
	}
	if p.Method != MethodCash {
		return nil
	}
	tendered := money.Money{Amount: amount + p.Tip.Amount, Currency: o.Currency}
	if in.Tendered != nil {
		tendered = *in.Tendered
	}
	if tendered.Amount < amount+p.Tip.Amount {
		return apperr.Field("tendered", "is less than the amount and tip, "+money.Money{Amount: amount + p.Tip.Amount, Currency: o.Currency}.Decimal())
	}
	p.Tendered = &tendered
	p.Change.Amount = tendered.Amount - amount - p.Tip.Amount
	return nil
}

// charge asks the card provider for the money of a payment recorded as
// pending, and records the answer.
func (s *Service) charge(ctx context.Context, a order.Actor, p *Payment, o *order.Order) (*Payment, *order.Order, error) {
	return s.chargeWith(ctx, a, p, o, nil)
}

// chargeWith charges, with the card of an opened Apple Pay token if tok
// is not nil.
func (s *Service) chargeWith(ctx context.Context, a order.Actor, p *Payment, o *order.Order, tok *NetworkToken) (*Payment, *order.Order, error) {
	card, err := s.cardFor(ctx, p.OrgID, p.Provider)
	if err != nil {
		return nil, nil, err
	}
	description := "Fynlo payment " + p.ID
	if o != nil {
		description = "Check " + strconv.Itoa(o.Number)
	}
	res, err := card.Charge(ctx, ChargeRequest{Key: p.ID, Amount: p.Taken(), ManualCapture: p.ManualCapture,
		PaymentMethod: p.PaymentMethod, Terminal: p.Terminal, Description: description, NetworkToken: tok,
		Metadata: map[string]string{"fynlo_payment_id": p.ID, "fynlo_order_id": p.OrderID, "fynlo_organization_id": p.OrgID}})
	s.health.record(p.OrgID, card, err)
	switch {
	case err == nil:
		if res.Status == StatusFailed && res.Ref != "" {
			// A declined PaymentIntent stays open at the provider: close it
			// (best effort) so nothing can confirm it after we let go.
			_, _ = card.Cancel(ctx, res.Ref, p.ID+":cancel")
		}
		return s.record(ctx, a, p, res)
	case apperr.Is(err, apperr.Unavailable), apperr.Is(err, apperr.Invalid):
		// Nothing was charged: the payment failed, and the check is
		// payable again by any method.
		failure := &Failure{Code: "provider_unavailable", Message: "the card provider could not be reached"}
		var ae *apperr.Error
		if apperr.Is(err, apperr.Invalid) && errors.As(err, &ae) {
			failure = &Failure{Code: "invalid_request", Message: ae.Detail}
		}
		if _, _, rerr := s.record(ctx, a, p, ChargeResult{Status: StatusFailed, Failure: failure}); rerr != nil {
			return nil, nil, rerr
		}
		return nil, nil, err
	default:
		// We cannot tell whether the provider charged: the payment stays
		// pending, holding its amount, until a retry with its ID (or the
		// provider's webhook) finds out.
		return nil, nil, &apperr.Error{Kind: apperr.Unavailable, Code: "outcome_unknown", Err: err,
			Detail: "the card provider did not answer; the payment " + p.ID + " is held until its outcome is known: retry with \"id\": \"" + p.ID + "\""}
	}
}

// resume drives a payment found by its ID: a pending card payment is
// charged again with the same key, which the provider answers with the
// first charge. Anything else is returned as it is.
func (s *Service) resume(ctx context.Context, a order.Actor, p *Payment) (*Payment, *order.Order, error) {
	o, err := s.orders.Order(ctx, a.OrgID, p.OrderID)
	if err != nil {
		return nil, nil, err
	}
	if p.Method == MethodOpenBanking && p.Status == StatusPending {
		return s.startBank(ctx, p, o) // the same key: the same payment at the bank
	}
	if p.Method != MethodCard || (p.Status != StatusPending && p.Status != StatusRequiresAction) {
		return p, o, nil
	}
	// In flight, or waiting for the guest: the provider answers the same
	// key with the same payment (and the client secret, which we keep
	// nowhere).
	return s.charge(ctx, a, p, o)
}

// record applies a provider's answer to a payment still waiting for one.
// An answer that arrives after another (a retry's, a webhook's) changes
// nothing.
func (s *Service) record(ctx context.Context, a order.Actor, paid *Payment, res ChargeResult) (*Payment, *order.Order, error) {
	fs, err := s.schedule(ctx, a.OrgID, paid.LocationID, paid.Amount.Currency)
	if err != nil {
		return nil, nil, err
	}
	now := s.now().UTC()
	p, o, err := s.store.UpdatePayment(ctx, a.OrgID, paid.ID, func(p *Payment, o *order.Order) error {
		applyResult(p, o, res, fs, now)
		return nil
	})
	if err == nil && p.Status == StatusRequiresAction {
		p.ClientSecret = res.ClientSecret // never stored: each answer carries it
	}
	return p, o, err
}

// applyResult moves a payment (and its check) to what the provider says
// of it, if that is a move forward: answers arriving late or twice, from
// a retry or a webhook, in any order, change nothing more. It reports
// whether it changed anything.
func applyResult(p *Payment, o *order.Order, res ChargeResult, fs *FeeSchedule, now time.Time) bool {
	forward := false
	for _, to := range moves[p.Status] {
		forward = forward || (to == res.Status && p.Status.Holds())
	}
	if !forward {
		return false
	}
	if res.Ref != "" {
		p.ProviderRef = res.Ref
	}
	if res.Card != nil {
		p.Card = res.Card
	}
	if res.ClientSecret != "" {
		p.ClientSecret = res.ClientSecret
	}
	_ = p.move(res.Status, "", "", now)
	switch res.Status {
	case StatusCaptured:
		p.captured(fs, now)
		o.Settle(p.Amount, p.Tip, now)
	case StatusFailed, StatusCancelled:
		p.Failure = res.Failure
		o.Release(p.Amount)
	}
	p.Version++
	o.Version++
	o.UpdatedAt = now
	return true
}

// CaptureInput captures an authorised card payment, with the tip the
// guest added to the slip.
type CaptureInput struct {
	Tip *money.Money
}

// Capture takes the money of an authorised card payment (a bar tab), with
// the tip adjusted.
func (s *Service) Capture(ctx context.Context, a order.Actor, paymentID string, in CaptureInput) (*Payment, *order.Order, error) {
	p, err := s.payment(ctx, a, paymentID)
	if err != nil {
		return nil, nil, err
	}
	if p.Status != StatusAuthorized {
		if p.Status == StatusCaptured {
			o, err := s.orders.Order(ctx, a.OrgID, p.OrderID)
			return p, o, err // a retried capture
		}
		return nil, nil, apperr.New(apperr.Conflict, "illegal_transition", "only an authorized payment can be captured; this one is "+string(p.Status))
	}
	tip := p.Tip
	if in.Tip != nil {
		loc, err := s.locations.Location(ctx, a.OrgID, p.LocationID)
		if err != nil {
			return nil, nil, err
		}
		if err := validate(PayInput{Method: MethodCard, Tip: in.Tip}, p.Amount.Currency, loc.GratuityEnabled); err != nil {
			return nil, nil, err
		}
		tip = *in.Tip
	}
	fs, err := s.schedule(ctx, a.OrgID, p.LocationID, p.Amount.Currency)
	if err != nil {
		return nil, nil, err
	}
	// A surcharge passed on follows the new tip.
	surcharge := p.Surcharge
	if surcharge.Amount != 0 {
		base := p.Amount.Amount + tip.Amount
		surcharge.Amount = fs.processing(p.Method, base) + fs.platform(p.Method, base)
	}
	card, err := s.cardFor(ctx, p.OrgID, p.Provider)
	if err != nil {
		return nil, nil, err
	}
	origTip := p.Tip
	if tip != p.Tip || surcharge != p.Surcharge {
		// Written before the provider is asked, so that whichever hears of
		// the capture first (this request or the provider's webhook)
		// records the tip on the slip.
		if _, _, err := s.store.UpdatePayment(ctx, a.OrgID, paymentID, func(p *Payment, _ *order.Order) error {
			if p.Status == StatusAuthorized {
				p.Tip, p.Surcharge, p.UpdatedAt = tip, surcharge, s.now().UTC()
				p.Version++
			}
			return nil
		}); err != nil {
			return nil, nil, err
		}
	}
	res, err := card.Capture(ctx, p.ProviderRef, money.Money{Amount: p.Amount.Amount + tip.Amount + surcharge.Amount, Currency: p.Amount.Currency},
		p.ID+":capture")
	if err != nil {
		return nil, nil, err
	}
	now := s.now().UTC()
	return s.store.UpdatePayment(ctx, a.OrgID, paymentID, func(p *Payment, o *order.Order) error {
		if p.Status != StatusAuthorized || res.Status != StatusCaptured {
			return nil
		}
		note := ""
		if tip.Amount != origTip.Amount {
			note = "tip adjusted from " + origTip.Decimal() + " to " + tip.Decimal()
		}
		p.Tip, p.Surcharge = tip, surcharge
		if err := p.move(StatusCaptured, a.UserID, note, now); err != nil {
			return err
		}
		p.captured(fs, now)
		o.Settle(p.Amount, p.Tip, now)
		p.Version++
		o.Version++
		o.UpdatedAt = now
		return nil
	})
}

// Cancel gives up a payment that has not taken the money: the card hold is
// released and the check's balance is payable again.
func (s *Service) Cancel(ctx context.Context, a order.Actor, paymentID string) (*Payment, *order.Order, error) {
	p, err := s.payment(ctx, a, paymentID)
	if err != nil {
		return nil, nil, err
	}
	if p.Status == StatusCancelled {
		o, err := s.orders.Order(ctx, a.OrgID, p.OrderID)
		return p, o, err // a retried cancel
	}
	if p.Method == MethodOpenBanking {
		if !p.Status.Holds() {
			return nil, nil, apperr.New(apperr.Conflict, "illegal_transition", "a payment that is "+string(p.Status)+" cannot be cancelled; refund it")
		}
		p, o, err := s.endBank(ctx, p, StatusCancelled, a.UserID)
		if err == nil && p.Status == StatusCaptured {
			err = apperr.New(apperr.Conflict, "already_paid", "the guest's bank sent the money before the payment could be cancelled; refund it if need be")
		}
		return p, o, err
	}
	if p.Method == MethodCard && p.Status == StatusPending {
		// Its answer was lost: ask the provider again (same key) before
		// letting it go, or a charge Stripe made would be forgotten.
		if p, _, err = s.charge(ctx, a, p, nil); err != nil {
			return nil, nil, err
		}
	}
	if !p.Status.Holds() {
		return nil, nil, apperr.New(apperr.Conflict, "illegal_transition", "a payment that is "+string(p.Status)+" cannot be cancelled; refund it")
	}
	if p.ProviderRef != "" {
		card, err := s.cardFor(ctx, p.OrgID, p.Provider)
		if err != nil {
			return nil, nil, err
		}
		if _, err := card.Cancel(ctx, p.ProviderRef, p.ID+":cancel"); err != nil {
			return nil, nil, err
		}
	}
	now := s.now().UTC()
	return s.store.UpdatePayment(ctx, a.OrgID, paymentID, func(p *Payment, o *order.Order) error {
		if !p.Status.Holds() {
			return nil
		}
		if err := p.move(StatusCancelled, a.UserID, "", now); err != nil {
			return err
		}
		o.Release(p.Amount)
		p.Version++
		o.Version++
		o.UpdatedAt = now
		return nil
	})
}

// Payment returns one of org's payments.
func (s *Service) Payment(ctx context.Context, a order.Actor, id string) (*Payment, error) {
	return s.payment(ctx, a, id)
}

func (s *Service) payment(ctx context.Context, a order.Actor, id string) (*Payment, error) {
	p, err := s.store.FindPayment(ctx, a.OrgID, id)
	if err != nil {
		return nil, err
	}
	if err := atLocation(a, p.LocationID); err != nil {
		return nil, apperr.NotFoundf("payment")
	}
	return p, nil
}

// Payments lists payments; a staff member sees their location's only.
func (s *Service) Payments(ctx context.Context, a order.Actor, f Filter) ([]*Payment, error) {
	if a.LocationID != "" {
		if f.LocationID != "" && f.LocationID != a.LocationID {
			return nil, apperr.NotFoundf("location")
		}
		f.LocationID = a.LocationID
	}
	f.Limit = min(max(f.Limit, 1), 501) // the API asks for one more than it shows, to know if there is a next page
	return s.store.FindPayments(ctx, a.OrgID, f)
}

func atLocation(a order.Actor, locationID string) error {
	if a.LocationID != "" && a.LocationID != locationID {
		return apperr.NotFoundf("payment")
	}
	return nil
}

func zero(currency string) money.Money { return money.Money{Currency: currency} }
