// Package money holds amounts as integer minor units of an ISO 4217 currency.
//
// Floats never appear: 12.50 GBP is Money{Amount: 1250, Currency: "GBP"}.
// Later issues add the pricing and tax arithmetic here; the foundation needs
// the type and the table of currencies a location may trade in.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Money is an amount in minor units of a currency.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// Currency describes one ISO 4217 currency.
type Currency struct {
	Code   string
	Digits int // minor-unit digits: 2 for GBP, 0 for JPY, 3 for KWD
}

// currencies are the ones a location may choose; extend as markets open.
var currencies = map[string]Currency{}

func init() {
	for _, c := range []Currency{
		{"GBP", 2}, {"EUR", 2}, {"USD", 2}, {"CAD", 2}, {"AUD", 2}, {"NZD", 2}, {"CHF", 2},
		{"SEK", 2}, {"NOK", 2}, {"DKK", 2}, {"PLN", 2}, {"CZK", 2}, {"HUF", 2}, {"RON", 2},
		{"MXN", 2}, {"BRL", 2}, {"ZAR", 2}, {"SGD", 2}, {"HKD", 2}, {"INR", 2}, {"AED", 2},
		{"TRY", 2}, {"ILS", 2}, {"THB", 2}, {"MYR", 2}, {"PHP", 2}, {"CNY", 2},
		{"JPY", 0}, {"KRW", 0}, {"ISK", 0}, {"CLP", 0}, {"VND", 0},
		{"KWD", 3}, {"BHD", 3}, {"JOD", 3}, {"OMR", 3}, {"TND", 3},
	} {
		currencies[c.Code] = c
	}
}

// LookupCurrency returns the currency with the given ISO 4217 code.
func LookupCurrency(code string) (Currency, bool) {
	c, ok := currencies[code]
	return c, ok
}

// ErrCurrencyMismatch is returned when amounts of two currencies meet.
var ErrCurrencyMismatch = errors.New("money: currency mismatch")

// Add returns m+o; both must be in the same currency.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, m.Currency, o.Currency)
	}
	return Money{Amount: m.Amount + o.Amount, Currency: m.Currency}, nil
}

// Parse reads a decimal amount in major units, e.g. "12.50" or "-3" for
// GBP, as typed in a spreadsheet. It takes at most the currency's minor
// digits, never rounds, and never goes through a float.
func Parse(s, currency string) (Money, error) {
	c, ok := currencies[currency]
	if !ok {
		return Money{}, fmt.Errorf("unknown currency %q", currency)
	}
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || len(whole) > 15 || (hasFrac && (frac == "" || len(frac) > c.Digits)) || !digits(whole) || !digits(frac) {
		return Money{}, fmt.Errorf("%q is not an amount like %s", s, example(c))
	}
	var amount int64
	for _, d := range whole + frac + strings.Repeat("0", c.Digits-len(frac)) {
		amount = amount*10 + int64(d-'0')
	}
	if neg {
		amount = -amount
	}
	return Money{Amount: amount, Currency: currency}, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func example(c Currency) string {
	if c.Digits == 0 {
		return "1200"
	}
	return "12." + strings.Repeat("5", c.Digits)
}

// Decimal writes m in major units, as Parse reads it: 1250 GBP is "12.50".
func (m Money) Decimal() string {
	c, ok := currencies[m.Currency]
	if !ok || c.Digits == 0 {
		return strconv.FormatInt(m.Amount, 10)
	}
	a, sign := m.Amount, ""
	if a < 0 {
		sign = "-"
	}
	abs := strconv.FormatUint(absU(a), 10)
	if len(abs) <= c.Digits {
		abs = strings.Repeat("0", c.Digits-len(abs)+1) + abs
	}
	return sign + abs[:len(abs)-c.Digits] + "." + abs[len(abs)-c.Digits:]
}

func absU(a int64) uint64 {
	if a < 0 {
		return uint64(-(a + 1)) + 1
	}
	return uint64(a)
}
