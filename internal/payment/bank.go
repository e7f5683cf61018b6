package payment

import (
	"context"
	"time"

	"github.com/fynlo/fynlo/internal/money"
)

// Open banking. The guest scans a QR code on the iPad, approves the
// payment in their bank's app, and the bank pays the restaurant: about
// 0.2% where a card costs about 3%. A payment-initiation provider
// (TrueLayer, or the built-in sandbox bank) stands between us and the
// banks; a BankProvider is our side of one.

// BankStatus is where a bank payment stands at the provider, in the
// words of the UK payment-initiation APIs.
type BankStatus string

// The bank statuses: authorization_required → authorizing → authorized →
// executed → settled, or failed; expired and cancelled are ours (the QR
// code ran out, or the POS gave up on it).
const (
	BankAuthorizationRequired BankStatus = "authorization_required" // the link is waiting for the guest
	BankAuthorizing           BankStatus = "authorizing"            // the guest is in their bank's app
	BankAuthorized            BankStatus = "authorized"             // the guest approved; the bank has not paid yet
	BankExecuted              BankStatus = "executed"               // the bank has sent the money
	BankSettled               BankStatus = "settled"                // the money is in the restaurant's account
	BankFailed                BankStatus = "failed"                 // declined by the guest or the bank
	BankExpired               BankStatus = "expired"                // nobody approved it in time
	BankCancelled             BankStatus = "cancelled"              // the POS cancelled it
)

// Paid reports whether the bank has sent the money: from here the payment
// cannot be called back, only refunded.
func (s BankStatus) Paid() bool { return s == BankExecuted || s == BankSettled }

// Ended reports whether nothing more will happen to the payment.
func (s BankStatus) Ended() bool {
	return s == BankSettled || s == BankFailed || s == BankExpired || s == BankCancelled
}

// BankProvider starts bank payments and hears what became of them. Every
// call that creates something carries an idempotency key: the same key
// however often retried is one payment, one refund at the provider.
type BankProvider interface {
	// Name is how payments record it: "truelayer", "sandbox_bank".
	Name() string
	// Mode is "test" (a sandbox: no real money) or "live".
	Mode() string
	// CreateBankPayment starts a payment into the restaurant's account and
	// returns the link the guest opens (the QR code's content). Errors:
	// ErrProviderDown (apperr.Unavailable) when nothing was created;
	// apperr.Invalid for a request the provider refuses; anything else is
	// an unknown outcome: retry with the same key.
	CreateBankPayment(ctx context.Context, req BankPaymentRequest) (BankPayment, error)
	// BankPayment asks the provider where a payment stands, for polling
	// when a webhook is late or lost.
	BankPayment(ctx context.Context, ref string) (BankPayment, error)
	// CancelBankPayment stops a payment the guest has not approved. It
	// answers with the payment as it then stands: if the guest approved in
	// the meantime it is not cancelled, and the answer says so.
	CancelBankPayment(ctx context.Context, ref, key string) (BankPayment, error)
	// RefundBankPayment sends money back to the account that paid.
	RefundBankPayment(ctx context.Context, ref string, amount money.Money, key string) (RefundResult, error)
	// VerifyBankWebhook checks a webhook's signature against the
	// provider's keys and, only if it is good, decodes it. A forged,
	// replayed outside the provider's window or stale webhook is an error
	// (apperr.Invalid bad_signature) and nothing in its body is trusted.
	VerifyBankWebhook(ctx context.Context, req WebhookRequest) (BankEvent, error)
}

// BankPaymentRequest asks a bank provider for a payment.
type BankPaymentRequest struct {
	Key       string      // idempotency key: the payment's ID
	Amount    money.Money // the amount and the tip
	Reference string      // on the guest's bank statement: the restaurant and check, at most 18 characters
	Payee     string      // the restaurant's name, shown to the guest
	ReturnURL string      // where the bank sends the guest when done
	ExpiresAt time.Time
	// ServerURL is this server's address as the POS reached it; the
	// built-in sandbox bank serves its page there. Real providers ignore it.
	ServerURL string
	Metadata  map[string]string
}

// BankPayment is a provider's view of a payment.
type BankPayment struct {
	Ref     string
	Status  BankStatus
	Link    string // the hosted payment page the guest opens (the QR code)
	Failure *Failure
}

// WebhookRequest is a webhook as it arrived: what a signature may cover.
type WebhookRequest struct {
	// Account is the organization the webhook was addressed to (the
	// endpoint's ?account=).
	Account string
	Method  string
	Path    string
	Header  func(name string) string // case-insensitive
	Body    []byte
}

// BankEvent is a provider's webhook, verified, in our terms.
type BankEvent struct {
	ID        string // the provider's event ID: applied once
	Type      string // the provider's event type
	Ref       string // the provider's payment ID
	PaymentID string // ours (pay_…), from the payment's metadata; "" if not given
	Status    BankStatus
	Failure   *Failure
	// RefundRef and RefundStatus are set for events about a refund:
	// RefundStatus is RefundSucceeded or RefundFailed.
	RefundRef    string
	RefundStatus string
	At           time.Time // when it happened at the provider
}

// NetworkToken is a card as an Apple Pay token carries it, decrypted: a
// device account number and a one-time cryptogram for the processor.
// Keep it in memory only as long as the charge needs it; it prints
// redacted.
type NetworkToken struct {
	Number     string // the device account number
	ExpMonth   int
	ExpYear    int
	Cryptogram string // the online payment cryptogram, base64
	ECI        string
	// Amount is what the guest approved on their device, in the token.
	Amount money.Money
}

// String describes the token without its number or cryptogram.
func (t NetworkToken) String() string {
	last4 := ""
	if len(t.Number) >= 4 {
		last4 = t.Number[len(t.Number)-4:]
	}
	return "NetworkToken{…" + last4 + " " + t.Amount.Decimal() + "}"
}

// GoString keeps %#v from printing the number.
func (t NetworkToken) GoString() string { return t.String() }

// ApplePayTokens opens Apple Pay tokens for merchants who process Apple
// Pay themselves (rather than through Stripe).
type ApplePayTokens interface {
	// Open verifies an Apple Pay token (the PKPaymentToken's paymentData
	// JSON) with orgID's payment-processing identity and returns the card
	// it carries. Errors: apperr.Invalid (422) when its signature,
	// certificate chain or signing time fails, or it cannot be decrypted;
	// Conflict when the organization has no identity.
	Open(ctx context.Context, orgID string, token []byte) (*NetworkToken, error)
}
