package order

import (
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/money"
)

// Paying a check. The payment domain calls these under the check's lock
// (payment.Store), so two iPads taking money for one table at once can
// never take more than the balance between them: a payment in flight (a
// card being authorised) holds its amount until it succeeds or fails.

// Payments is what has been paid toward a check.
type Payments struct {
	Paid     money.Money `json:"paid" doc:"captured toward the total, less refunds; tips and cash change not included"`
	Pending  money.Money `json:"pending" doc:"payments in flight (a card being authorised), held against the balance"`
	Refunded money.Money `json:"refunded" doc:"refunded so far: its amount part already taken off paid, its tip part off tips"`
	Tips     money.Money `json:"tips" doc:"tips taken with the payments, for the check's server"`
	Balance  money.Money `json:"balance" doc:"total − paid − pending: what is left to pay"`
	Count    int         `json:"count" doc:"payments that succeeded"`
}

// any reports whether money has been taken, or is being taken, for the check.
func (p Payments) any() bool { return p.Paid.Amount != 0 || p.Pending.Amount != 0 || p.Count > 0 }

// settleBalance works out the balance after the total changed, refusing a
// total below what is already paid or held: refund first.
func (o *Order) settleBalance() error {
	p := &o.Payments
	p.Paid.Currency, p.Pending.Currency, p.Refunded.Currency, p.Tips.Currency = o.Currency, o.Currency, o.Currency, o.Currency
	p.Balance = o.money(o.Totals.Total.Amount - p.Paid.Amount - p.Pending.Amount)
	if p.Balance.Amount < 0 {
		return apperr.New(apperr.Conflict, "total_below_paid",
			"the check's total would fall below what has been paid ("+p.Paid.Decimal()+"); refund a payment first")
	}
	return nil
}

// Payable refuses a check that takes no more money.
func (o *Order) Payable() error {
	if !o.Status.editable() {
		return apperr.New(apperr.Conflict, "not_payable", "a check that is "+string(o.Status)+" takes no payments")
	}
	return nil
}

// Reserve holds amount of the balance for a payment being made. Errors:
// Conflict not_payable, Invalid amount (field) beyond the balance.
func (o *Order) Reserve(amount money.Money) error {
	if err := o.Payable(); err != nil {
		return err
	}
	if amount.Currency != o.Currency {
		return apperr.Field("amount.currency", "must be the check's currency, "+o.Currency)
	}
	if amount.Amount <= 0 {
		return apperr.Field("amount", "must be more than zero")
	}
	if amount.Amount > o.Payments.Balance.Amount {
		e := apperr.Field("amount", "is more than the balance of "+o.Payments.Balance.Decimal())
		e.Code = "amount_above_balance"
		return e
	}
	o.Payments.Pending.Amount += amount.Amount
	return o.settleBalance()
}

// Release gives back what a payment that failed or was cancelled held.
func (o *Order) Release(amount money.Money) {
	o.Payments.Pending.Amount -= amount.Amount
	_ = o.settleBalance() // less held: the balance only grows
}

// Settle turns what a payment held into money paid, with its tip. The
// payment that leaves nothing to pay and nothing in flight closes the
// check: it moves to paid and on to closed, as a waiter would close it.
// It reports whether it closed the check.
func (o *Order) Settle(amount, tip money.Money, now time.Time) (closed bool) {
	o.Payments.Pending.Amount -= amount.Amount
	o.Payments.Paid.Amount += amount.Amount
	o.Payments.Tips.Amount += tip.Amount
	o.Payments.Count++
	_ = o.settleBalance() // paid + pending unchanged
	if o.Payments.Balance.Amount != 0 || o.Payments.Pending.Amount != 0 || !o.Status.editable() {
		return false
	}
	paid, err := o.Status.Move(ActPay)
	if err != nil {
		return false
	}
	if o.Status, err = paid.Move(ActClose); err != nil {
		o.Status = paid
		return false
	}
	o.ClosedAt = &now
	return true
}

// Refund takes a refund off what was paid toward the check. A closed check
// stays closed: the refund is money back on a finished sale, and shows on
// the balance.
func (o *Order) Refund(amount, tip money.Money) {
	o.Payments.Paid.Amount -= amount.Amount
	o.Payments.Tips.Amount -= tip.Amount
	o.Payments.Refunded.Amount += amount.Amount + tip.Amount
	_ = o.settleBalance()
}
