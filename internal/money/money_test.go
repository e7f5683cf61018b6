package money

import (
	"errors"
	"testing"
)

func TestCurrencies(t *testing.T) {
	for code, digits := range map[string]int{"GBP": 2, "JPY": 0, "KWD": 3} {
		c, ok := LookupCurrency(code)
		if !ok || c.Digits != digits {
			t.Errorf("LookupCurrency(%s) = %+v, %v", code, c, ok)
		}
	}
	if _, ok := LookupCurrency("gbp"); ok {
		t.Error("lower-case code accepted")
	}
}

func TestAdd(t *testing.T) {
	sum, err := Money{1250, "GBP"}.Add(Money{-250, "GBP"})
	if err != nil || sum != (Money{1000, "GBP"}) {
		t.Fatalf("Add = %+v, %v", sum, err)
	}
	if _, err := (Money{1, "GBP"}).Add(Money{1, "EUR"}); !errors.Is(err, ErrCurrencyMismatch) {
		t.Fatalf("mixed currencies: %v", err)
	}
}
