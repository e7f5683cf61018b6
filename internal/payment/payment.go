// Package payment takes money for checks: cash, and cards through a
// provider (Stripe, or a simulated one when no key is configured).
//
// A payment is recorded before any provider is called, with its ID as the
// provider's idempotency key, and moves the check's balance under the
// check's lock. So a retry after a crash at any step finds the payment and
// drives it on with the same key: one charge, one payment row, never a
// check paid twice.
package payment

import (
	"context"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/order"
)

// Method is how the guest pays.
type Method string

// The methods.
const (
	MethodCash Method = "cash"
	MethodCard Method = "card" // chip, tap, Apple Pay, Tap to Pay on iPhone: all arrive as a card provider's payment method
	// MethodOpenBanking is a bank payment the guest approves in their
	// bank's app after scanning a QR code (bank.go, openbanking.go).
	MethodOpenBanking Method = "open_banking"
)

// Status is where a payment stands.
type Status string

// The statuses.
const (
	StatusPending           Status = "pending"         // recorded; the provider has not answered yet
	StatusRequiresAction    Status = "requires_action" // the guest must authenticate (3-D Secure) on the device
	StatusAuthorized        Status = "authorized"      // the card is held; capture takes the money (bar tabs)
	StatusCaptured          Status = "captured"        // the money is taken
	StatusFailed            Status = "failed"          // declined or errored; nothing taken
	StatusCancelled         Status = "cancelled"       // given up before capture; nothing taken
	StatusPartiallyRefunded Status = "partially_refunded"
	StatusRefunded          Status = "refunded"
	// StatusExpired is an open-banking payment nobody approved in time.
	StatusExpired Status = "expired"
	// StatusSurplus is money a bank sent after its payment had let go of
	// the check (expired, cancelled, declined) and the check no longer
	// needed it: it never counts toward the check, and is refunded,
	// automatically or by a manager, as the location chooses.
	StatusSurplus Status = "surplus"
)

// moves is the payment state machine: for each status, where it may go.
// Anything else is refused with 409 illegal_transition.
var moves = map[Status][]Status{
	StatusPending:           {StatusRequiresAction, StatusAuthorized, StatusCaptured, StatusFailed, StatusCancelled, StatusExpired},
	StatusRequiresAction:    {StatusAuthorized, StatusCaptured, StatusFailed, StatusCancelled, StatusExpired},
	StatusAuthorized:        {StatusCaptured, StatusCancelled, StatusFailed},
	StatusCaptured:          {StatusPartiallyRefunded, StatusRefunded},
	StatusPartiallyRefunded: {StatusPartiallyRefunded, StatusRefunded},
	// A bank's approval may arrive after the POS gave up on the payment:
	// taken onto the check if it still needs the money, else surplus.
	StatusFailed:    {StatusCaptured, StatusSurplus},
	StatusCancelled: {StatusCaptured, StatusSurplus},
	StatusExpired:   {StatusCaptured, StatusSurplus},
	StatusSurplus:   {StatusRefunded},
}

// Holds reports whether a payment in this status holds part of its check's
// balance: it may still take the money.
func (s Status) Holds() bool {
	return s == StatusPending || s == StatusRequiresAction || s == StatusAuthorized
}

// Transition is one change of a payment's status: the payment's audit
// trail, kept with it.
type Transition struct {
	From Status    `json:"from,omitempty"`
	To   Status    `json:"to"`
	At   time.Time `json:"at"`
	By   string    `json:"by,omitempty" doc:"who did it; empty for the provider (a webhook)"`
	Note string    `json:"note,omitempty"`
}

// Card is what the provider tells us of the card; never the number.
type Card struct {
	Brand  string `json:"brand,omitempty" example:"visa"`
	Last4  string `json:"last4,omitempty" example:"4242"`
	Wallet string `json:"wallet,omitempty" example:"apple_pay" doc:"apple_pay, google_pay, tap_to_pay, or empty"`
}

// Failure says why a payment failed.
type Failure struct {
	Code    string `json:"code" example:"card_declined"`
	Message string `json:"message"`
}

// Payment is money taken (or being taken) toward a check.
type Payment struct {
	ID            string       `json:"id"`
	OrgID         string       `json:"organization_id"`
	LocationID    string       `json:"location_id"`
	OrderID       string       `json:"order_id"`
	BusinessDate  string       `json:"business_date"`
	Method        Method       `json:"method" enum:"cash,card,open_banking"`
	Provider      string       `json:"provider" doc:"cash; simulated (no card provider configured) or stripe; sandbox_bank (no bank provider configured) or truelayer"`
	Status        Status       `json:"status" enum:"pending,requires_action,authorized,captured,failed,cancelled,expired,surplus,partially_refunded,refunded"`
	Amount        money.Money  `json:"amount" doc:"toward the check's total"`
	Tip           money.Money  `json:"tip" doc:"on top of the amount; for the check's server"`
	Surcharge     money.Money  `json:"surcharge" doc:"card fees passed on to the guest, disclosed; 0 where the restaurant absorbs them or the law bans it"`
	Tendered      *money.Money `json:"tendered,omitempty" doc:"cash handed over"`
	Change        money.Money  `json:"change" doc:"cash handed back"`
	Refunded      money.Money  `json:"refunded"`
	RefundPending money.Money  `json:"refund_pending" doc:"refunds asked of the provider and not yet answered"`
	ProcessingFee money.Money  `json:"processing_fee" doc:"the processor's fee, from the location's fee schedule, once captured"`
	PlatformFee   money.Money  `json:"platform_fee" doc:"Fynlo's platform fee, once captured"`
	// PlatformFeeReversed is the part of the platform fee given back with
	// refunds.
	PlatformFeeReversed money.Money `json:"platform_fee_reversed"`
	ManualCapture       bool        `json:"manual_capture" doc:"authorised now, captured later (a bar tab, a tip to add)"`
	Card                *Card       `json:"card,omitempty"`
	PaymentMethod       string      `json:"payment_method,omitempty" doc:"the provider's payment method the card came as (pm_…)"`
	Terminal            bool        `json:"tap_to_pay,omitempty" doc:"collected on the device with Tap to Pay on iPhone (Stripe Terminal)"`
	ProviderRef         string      `json:"provider_ref,omitempty" doc:"the provider's ID (a Stripe PaymentIntent)"`
	// ClientSecret lets the app finish 3-D Secure or Tap to Pay with the
	// provider's SDK. It is given only in the answer to the request that
	// made (or retried) the payment: never stored, never in events.
	ClientSecret    string       `json:"-"`
	Failure         *Failure     `json:"failure,omitempty"`
	OpenBanking     *BankDetails `json:"open_banking,omitempty" doc:"an open-banking payment's link, QR code, bank status and expiry"`
	DrawerSessionID string       `json:"drawer_session_id,omitempty" doc:"the drawer session a cash payment went into"`
	EmployeeID      string       `json:"employee_id,omitempty" doc:"who took it"`
	ServerID        string       `json:"server_id,omitempty" doc:"the check's server, whom the tip is for"`
	History         []Transition `json:"history" doc:"every change of status, oldest first"`
	Version         int64        `json:"version"`
	CreatedAt       time.Time    `json:"created_at"`
	UpdatedAt       time.Time    `json:"updated_at"`

	// Ledger is the platform-fee entries this change adds; the store
	// writes them with the payment.
	Ledger []LedgerEntry `json:"-"`
}

// LedgerEntry is one line of Fynlo's platform-fee ledger: the fee taken
// with a payment, or its reversal with a refund (negative). Its ID is the
// payment's or the refund's, so it is written once.
type LedgerEntry struct {
	ID           string
	OrgID        string
	LocationID   string
	PaymentID    string
	BusinessDate string
	Amount       money.Money
	At           time.Time
}

// Taken is what the guest paid in all: the amount, the tip and any
// surcharge.
func (p *Payment) Taken() money.Money {
	return money.Money{Amount: p.Amount.Amount + p.Tip.Amount + p.Surcharge.Amount, Currency: p.Amount.Currency}
}

// feeBase is what fees are charged on: the amount and the tip.
func (p *Payment) feeBase() int64 { return p.Amount.Amount + p.Tip.Amount }

// captured records the fees of a payment whose money was just taken, and
// its platform fee in the ledger.
func (p *Payment) captured(fs *FeeSchedule, at time.Time) {
	p.ProcessingFee.Amount = fs.processing(p.Method, p.feeBase())
	p.PlatformFee.Amount = fs.platform(p.Method, p.feeBase())
	if p.PlatformFee.Amount != 0 {
		p.Ledger = append(p.Ledger, LedgerEntry{ID: p.ID, OrgID: p.OrgID, LocationID: p.LocationID, PaymentID: p.ID,
			BusinessDate: p.BusinessDate, Amount: p.PlatformFee, At: at})
	}
}

// move changes the payment's status, keeping the trail.
func (p *Payment) move(to Status, by, note string, at time.Time) error {
	if p.Status != "" {
		ok := false
		for _, s := range moves[p.Status] {
			ok = ok || s == to
		}
		// Only a bank can pay after the payment let go: a card cannot.
		late := p.Status == StatusFailed || p.Status == StatusCancelled || p.Status == StatusExpired
		if !ok || (late && p.Method != MethodOpenBanking) {
			return apperr.New(apperr.Conflict, "illegal_transition", "a payment that is "+string(p.Status)+" cannot become "+string(to))
		}
	}
	p.History = append(p.History, Transition{From: p.Status, To: to, At: at, By: by, Note: note})
	p.Status, p.UpdatedAt = to, at
	return nil
}

// Event types of payments.
const (
	EventPaymentCreated = "payment.created"
	EventPaymentUpdated = "payment.updated"
)

// Filter selects payments.
type Filter struct {
	LocationID   string
	OrderID      string
	BusinessDate string
	// DrawerSessionID selects the cash payments of a drawer session.
	DrawerSessionID string
	Method          Method
	Statuses        []Status
	After           string // the cursor: payments after this ID
	Limit           int
}

// Store persists payments. Every write locks the payment's check, lets the
// caller change both, and saves both with their events in one transaction.
type Store interface {
	// CreatePayment locks p's check, lets apply change the check and p,
	// and stores both. A cash payment's drawer session must still be open.
	// Errors: Conflict already_exists (the ID is taken), Conflict
	// drawer_closed, apply's.
	CreatePayment(ctx context.Context, p *Payment, apply func(p *Payment, o *order.Order) error) (*order.Order, error)
	// UpdatePayment locks a payment and its check, lets update change
	// them, and saves them if the payment's version moved. Errors:
	// NotFound, update's.
	UpdatePayment(ctx context.Context, orgID, id string, update func(p *Payment, o *order.Order) error) (*Payment, *order.Order, error)
	// FindPayment errors: NotFound.
	FindPayment(ctx context.Context, orgID, id string) (*Payment, error)
	// FindPaymentByRef finds a payment by its provider's ID. Errors: NotFound.
	FindPaymentByRef(ctx context.Context, orgID, ref string) (*Payment, error)
	// ApplyProviderEvent records a provider event as applied and, the
	// first time only, lets update change its payment (if paymentID is
	// one of org's) and the check, in one transaction.
	ApplyProviderEvent(ctx context.Context, orgID, provider, eventID, eventType, paymentID string,
		update func(p *Payment, o *order.Order) error) (applied bool, err error)
	// FindBankPaymentsInFlight returns open-banking payments of every
	// organization that still hold part of their check, or are surplus
	// not yet refunded: at most limit, by ID, after the ID given.
	FindBankPaymentsInFlight(ctx context.Context, after string, limit int) ([]*Payment, error)
	// FindPayments returns payments oldest first, by ID.
	FindPayments(ctx context.Context, orgID string, f Filter) ([]*Payment, error)
}

// Orders reads checks.
type Orders interface {
	Order(ctx context.Context, orgID, id string) (*order.Order, error)
}

// Drawers finds the open drawer session cash goes into.
type Drawers interface {
	// OpenSession returns the open session of drawerID, or of the only
	// drawer of the location with one open when drawerID is "". Errors:
	// Invalid drawer_id (field), Conflict no_open_drawer.
	OpenSession(ctx context.Context, orgID, locationID, drawerID string) (sessionID string, err error)
}
