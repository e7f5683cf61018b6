package payment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/money"
)

// CardProvider takes card payments. Every call carries an idempotency key:
// the same key however often retried is one charge, one capture, one
// cancellation at the provider.
type CardProvider interface {
	// Name is how payments record it: "stripe", "simulated".
	Name() string
	// Charge creates and confirms a payment of req.Amount.
	Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error)
	// Capture takes an authorised payment, amount at most what was authorised.
	Capture(ctx context.Context, ref string, amount money.Money, key string) (ChargeResult, error)
	// Cancel lets an uncaptured payment go.
	Cancel(ctx context.Context, ref, key string) (ChargeResult, error)
}

// ChargeRequest asks a provider for money.
type ChargeRequest struct {
	Key           string      // idempotency key: the payment's ID
	Amount        money.Money // the amount and the tip
	ManualCapture bool
	PaymentMethod string // the provider's payment method from the app (pm_…); keyed cards and Apple Pay arrive this way
	// Terminal asks for a payment the device collects itself: Tap to Pay on
	// iPhone with Stripe Terminal. The provider answers requires_action with
	// a client secret for the device's SDK; its webhook says how it ended.
	Terminal    bool
	Description string
	Metadata    map[string]string
	// NetworkToken is the card of an Apple Pay token the merchant opened
	// itself (direct Apple Pay); only a NetworkTokenCharger takes it.
	NetworkToken *NetworkToken
}

// NetworkTokenCharger is a card provider that takes the card of an Apple
// Pay token opened here: a device account number and its cryptogram.
type NetworkTokenCharger interface {
	ChargesNetworkTokens()
}

// ChargeResult is the provider's answer.
type ChargeResult struct {
	Ref          string
	Status       Status // requires_action, authorized, captured, failed or cancelled
	ClientSecret string
	Card         *Card
	Failure      *Failure
}

// ErrProviderDown is returned by providers when the provider could not be
// reached and nothing was charged.
var ErrProviderDown = apperr.New(apperr.Unavailable, "provider_unavailable",
	"the card provider cannot be reached; nothing was charged; try again or take another method")

// Simulated is the card provider of a server with no card provider
// configured: the demo, a laptop with no internet. It charges nothing and
// says so (payments record provider "simulated"). It answers like Stripe's
// test mode, from the payment method named: pm_card_visa (the default),
// pm_card_mastercard and pm_card_amex succeed, pm_card_chargeDeclined and
// pm_card_insufficientFunds fail. It keeps no state: an answer depends only
// on the request, so a retry gets the same answer.
type Simulated struct{}

// Name implements CardProvider.
func (Simulated) Name() string { return "simulated" }

var simulatedCards = map[string]*Card{
	"":                   {Brand: "visa", Last4: "4242"},
	"pm_card_visa":       {Brand: "visa", Last4: "4242"},
	"pm_card_mastercard": {Brand: "mastercard", Last4: "4444"},
	"pm_card_amex":       {Brand: "amex", Last4: "8431"},
	"pm_card_applepay":   {Brand: "visa", Last4: "4242", Wallet: "apple_pay"},
}

var simulatedDeclines = map[string]*Failure{
	"pm_card_chargeDeclined":        {Code: "card_declined", Message: "Your card was declined."},
	"pm_card_insufficientFunds":     {Code: "card_declined", Message: "Your card has insufficient funds."},
	"pm_card_chargeDeclinedExpired": {Code: "expired_card", Message: "Your card has expired."},
}

// ref is the simulated payment's ID, the same for the same key.
func (Simulated) ref(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sim_" + hex.EncodeToString(sum[:12])
}

// ChargesNetworkTokens implements NetworkTokenCharger: the simulated
// provider "charges" direct Apple Pay tokens too.
func (Simulated) ChargesNetworkTokens() {}

// Charge implements CardProvider.
func (s Simulated) Charge(_ context.Context, req ChargeRequest) (ChargeResult, error) {
	res := ChargeResult{Ref: s.ref(req.Key)}
	if t := req.NetworkToken; t != nil {
		last4 := t.Number[max(len(t.Number)-4, 0):]
		res.Card, res.Status = &Card{Brand: brandOf(t.Number), Last4: last4, Wallet: "apple_pay"}, StatusCaptured
		if req.ManualCapture {
			res.Status = StatusAuthorized
		}
		return res, nil
	}
	if f, ok := simulatedDeclines[req.PaymentMethod]; ok {
		res.Status, res.Failure = StatusFailed, f
		return res, nil
	}
	card, ok := simulatedCards[req.PaymentMethod]
	if !ok {
		if !strings.HasPrefix(req.PaymentMethod, "pm_") {
			return res, apperr.Field("card.payment_method", "is not a payment method (pm_…)")
		}
		card = simulatedCards[""]
	}
	res.Card = card
	res.Status = StatusCaptured
	if req.ManualCapture {
		res.Status = StatusAuthorized
	}
	return res, nil
}

// Capture implements CardProvider.
func (s Simulated) Capture(_ context.Context, ref string, _ money.Money, _ string) (ChargeResult, error) {
	return ChargeResult{Ref: ref, Status: StatusCaptured}, nil
}

// Cancel implements CardProvider.
func (s Simulated) Cancel(_ context.Context, ref, _ string) (ChargeResult, error) {
	return ChargeResult{Ref: ref, Status: StatusCancelled}, nil
}

// Refund implements Refunder.
func (s Simulated) Refund(_ context.Context, _ string, _ money.Money, key string) (RefundResult, error) {
	return RefundResult{Ref: "sim_re_" + s.ref(key)[4:], Status: RefundSucceeded}, nil
}

// brandOf names a card's network from its number's first digits.
func brandOf(number string) string {
	switch {
	case strings.HasPrefix(number, "4"):
		return "visa"
	case strings.HasPrefix(number, "34"), strings.HasPrefix(number, "37"):
		return "amex"
	case len(number) > 0 && (number[0] == '5' || number[0] == '2'):
		return "mastercard"
	}
	return "unknown"
}
