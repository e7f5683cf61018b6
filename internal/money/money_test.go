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

func TestParseAndDecimal(t *testing.T) {
	for _, c := range []struct {
		in, cur string
		want    int64
		out     string
	}{
		{"12.50", "GBP", 1250, "12.50"}, {"12.5", "GBP", 1250, "12.50"}, {"0.05", "GBP", 5, "0.05"}, {"7", "GBP", 700, "7.00"},
		{"-3.10", "GBP", -310, "-3.10"}, {"1200", "JPY", 1200, "1200"}, {"1.250", "KWD", 1250, "1.250"}, {"0", "GBP", 0, "0.00"},
	} {
		m, err := Parse(c.in, c.cur)
		if err != nil || m.Amount != c.want || m.Currency != c.cur {
			t.Errorf("Parse(%q, %s) = %v, %v; want %d", c.in, c.cur, m, err, c.want)
			continue
		}
		if got := m.Decimal(); got != c.out {
			t.Errorf("%v.Decimal() = %q, want %q", m, got, c.out)
		}
	}
	for _, bad := range []string{"", "-", "12.", ".5", "12.505", "1,200", "£12", "1e3", "12.5.0", " 12", "9999999999999999"} {
		if m, err := Parse(bad, "GBP"); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", bad, m)
		}
	}
	if _, err := Parse("1.5", "JPY"); err == nil {
		t.Error("yen with decimals accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"12.50", "-0.01", "7", "1.250", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s, "GBP")
		if err != nil {
			return
		}
		back, err := Parse(m.Decimal(), "GBP")
		if err != nil || back != m {
			t.Fatalf("%q → %v → %q → %v, %v", s, m, m.Decimal(), back, err)
		}
	})
}
