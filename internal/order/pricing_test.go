package order

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
)

// propertyChecks is how many random checks TestPriceProperties prices (10k
// under -short). A million take 4–10 s on the 2-core dev machine and
// 20–45 s under -race (the range is how busy the machine was), inside the
// ~60 s budget, so race builds run them all too rather than fewer.
const propertyChecks = 1_000_000

var (
	seedFlag   = flag.Uint64("price.seed", 20251126, "seed of the random pricing and allocation tests")
	checksFlag = flag.Int("price.checks", 0, "random checks TestPriceProperties prices (0: the default for the build)")
)

func pct(bp int, reason string) *Discount {
	return &Discount{Kind: DiscountPercent, PercentBP: bp, Reason: reason}
}

func off(amount int64, reason string) *Discount {
	return &Discount{Kind: DiscountAmount, Amount: amount, Reason: reason}
}

var (
	vatPerCheck   = PriceRules{TaxMode: TaxInclusive}
	vatPerLine    = PriceRules{TaxMode: TaxInclusive, Rounding: RoundPerLine}
	salesPerCheck = PriceRules{TaxMode: TaxExclusive, Rounding: RoundPerCheck}
	salesPerLine  = PriceRules{TaxMode: TaxExclusive, Rounding: RoundPerLine}
)

// TestPrice prices hand-checked checks; each comment shows the arithmetic.
func TestPrice(t *testing.T) {
	for _, c := range []struct {
		name  string
		rules PriceRules
		lines []PriceLine
		disc  *Discount
		want  CheckPrice
	}{{
		name:  "empty check",
		rules: vatPerCheck,
		want:  CheckPrice{Taxes: []TaxLine{}, Lines: []LinePrice{}},
	}, {
		// VAT is 1/6 of a 20% inclusive price: 1250/6 = 208.33 → 208.
		name:  "£12.50 at 20% inclusive",
		rules: vatPerCheck,
		lines: []PriceLine{{UnitPrice: 1250, Quantity: 1, TaxRateBP: 2000}},
		want: CheckPrice{Subtotal: 1250, Tax: 208, Total: 1250,
			Taxes: []TaxLine{{RateBP: 2000, Net: 1042, Tax: 208, Gross: 1250}},
			Lines: []LinePrice{{Gross: 1250, Net: 1250, Tax: 208, Total: 1250}}},
	}, {
		// 3 × 333 = 999; 10% = 99.9 → 100; 899/6 = 149.83 → 150.
		name:  "£3.33 × 3 at 20% with 10% off the check",
		rules: vatPerCheck,
		lines: []PriceLine{{UnitPrice: 333, Quantity: 3, TaxRateBP: 2000}},
		disc:  pct(1000, "regular"),
		want: CheckPrice{Subtotal: 999, Discounts: 100, Tax: 150, Total: 899,
			Taxes: []TaxLine{{RateBP: 2000, Net: 749, Tax: 150, Gross: 899}},
			Lines: []LinePrice{{Gross: 999, Discount: 100, Net: 899, Tax: 150, Total: 899}}},
	}, {
		// Service 12.5% of 2450 = 306.25 → 306, shared 249.80 | 56.20 → 250 | 56.
		// VAT 2450/6 = 408.33 → 408, shared 333.06 | 74.94 → 333 | 75.
		name:  "12.5% service charge",
		rules: PriceRules{TaxMode: TaxInclusive, ServiceChargeBP: 1250},
		lines: []PriceLine{{UnitPrice: 1000, Quantity: 2, TaxRateBP: 2000}, {UnitPrice: 450, Quantity: 1, TaxRateBP: 2000}},
		want: CheckPrice{Subtotal: 2450, ServiceCharge: 306, Tax: 408, Total: 2756,
			Taxes: []TaxLine{{RateBP: 2000, Net: 2042, Tax: 408, Gross: 2450}},
			Lines: []LinePrice{
				{Gross: 2000, Net: 2000, Tax: 333, ServiceCharge: 250, Total: 2250},
				{Gross: 450, Net: 450, Tax: 75, ServiceCharge: 56, Total: 506}}},
	}, {
		// 8.88% of 4998 = 443.82 → 444; 8.75% of 1000 = 87.5 → 88 (half up).
		name:  "sales tax added on top",
		rules: salesPerCheck,
		lines: []PriceLine{{UnitPrice: 2499, Quantity: 2, TaxRateBP: 888}, {UnitPrice: 1000, Quantity: 1, TaxRateBP: 875}},
		want: CheckPrice{Subtotal: 5998, Tax: 532, Total: 6530,
			Taxes: []TaxLine{{RateBP: 875, Net: 1000, Tax: 88, Gross: 1088}, {RateBP: 888, Net: 4998, Tax: 444, Gross: 5442}},
			Lines: []LinePrice{
				{Gross: 4998, Net: 4998, Tax: 444, Total: 5442},
				{Gross: 1000, Net: 1000, Tax: 88, Total: 1088}}},
	}, {
		name:  "zero rate",
		rules: vatPerCheck,
		lines: []PriceLine{{UnitPrice: 200, Quantity: 1}},
		want: CheckPrice{Subtotal: 200, Total: 200,
			Taxes: []TaxLine{{RateBP: 0, Net: 200, Tax: 0, Gross: 200}},
			Lines: []LinePrice{{Gross: 200, Net: 200, Total: 200}}},
	}, {
		// Hot food 900/6 = 150; cold food zero-rated; 425 × 5/105 = 20.24 → 20.
		name:  "mixed rates, ascending in the VAT summary",
		rules: vatPerCheck,
		lines: []PriceLine{{UnitPrice: 900, Quantity: 1, TaxRateBP: 2000}, {UnitPrice: 300, Quantity: 1}, {UnitPrice: 425, Quantity: 1, TaxRateBP: 500}},
		want: CheckPrice{Subtotal: 1625, Tax: 170, Total: 1625,
			Taxes: []TaxLine{{RateBP: 0, Net: 300, Tax: 0, Gross: 300}, {RateBP: 500, Net: 405, Tax: 20, Gross: 425}, {RateBP: 2000, Net: 750, Tax: 150, Gross: 900}},
			Lines: []LinePrice{
				{Gross: 900, Net: 900, Tax: 150, Total: 900},
				{Gross: 300, Net: 300, Total: 300},
				{Gross: 425, Net: 425, Tax: 20, Total: 425}}},
	}, {
		// The comp wins over the line's 10%; its rate nets 0, so it has no VAT line.
		name:  "comp",
		rules: vatPerCheck,
		lines: []PriceLine{{UnitPrice: 500, Quantity: 1, TaxRateBP: 500, Comp: true, Discount: pct(1000, "regular")}, {UnitPrice: 720, Quantity: 1, TaxRateBP: 2000}},
		want: CheckPrice{Subtotal: 1220, Discounts: 500, Tax: 120, Total: 720,
			Taxes: []TaxLine{{RateBP: 2000, Net: 600, Tax: 120, Gross: 720}},
			Lines: []LinePrice{
				{Gross: 500, Discount: 500},
				{Gross: 720, Net: 720, Tax: 120, Total: 720}}},
	}, {
		// 150 off; 12.5% of 800 = 100; 15% of 333 = 49.95 → 50. VAT 1833/6 =
		// 305.5 → 306, shared 141.90 | 116.86 | 47.24 → 142 | 117 | 47.
		name:  "line discounts",
		rules: vatPerCheck,
		lines: []PriceLine{
			{UnitPrice: 1000, Quantity: 1, TaxRateBP: 2000, Discount: off(150, "damaged")},
			{UnitPrice: 800, Quantity: 1, TaxRateBP: 2000, Discount: pct(1250, "staff")},
			{UnitPrice: 333, Quantity: 1, TaxRateBP: 2000, Discount: pct(1500, "happy hour")}},
		want: CheckPrice{Subtotal: 2133, Discounts: 300, Tax: 306, Total: 1833,
			Taxes: []TaxLine{{RateBP: 2000, Net: 1527, Tax: 306, Gross: 1833}},
			Lines: []LinePrice{
				{Gross: 1000, Discount: 150, Net: 850, Tax: 142, Total: 850},
				{Gross: 800, Discount: 100, Net: 700, Tax: 117, Total: 700},
				{Gross: 333, Discount: 50, Net: 283, Tax: 47, Total: 283}}},
	}, {
		// £1 off shared 33.33 | 66.67 → 33 | 67. VAT 2900/6 = 483.33 → 483,
		// shared 161.06 | 321.94 → 161 | 322.
		name:  "a check discount shared by largest remainder",
		rules: vatPerCheck,
		lines: []PriceLine{{UnitPrice: 1000, Quantity: 1, TaxRateBP: 2000}, {UnitPrice: 2000, Quantity: 1, TaxRateBP: 2000}},
		disc:  off(100, "complaint"),
		want: CheckPrice{Subtotal: 3000, Discounts: 100, Tax: 483, Total: 2900,
			Taxes: []TaxLine{{RateBP: 2000, Net: 2417, Tax: 483, Gross: 2900}},
			Lines: []LinePrice{
				{Gross: 1000, Discount: 33, Net: 967, Tax: 161, Total: 967},
				{Gross: 2000, Discount: 67, Net: 1933, Tax: 322, Total: 1933}}},
	}, {
		// 10% of 490 = 49, shared 24.5 | 24.5 → 25 | 24 (a tie: the earlier line).
		name:  "sales tax per check",
		rules: salesPerCheck,
		lines: []PriceLine{{UnitPrice: 245, Quantity: 1, TaxRateBP: 1000}, {UnitPrice: 245, Quantity: 1, TaxRateBP: 1000}},
		want: CheckPrice{Subtotal: 490, Tax: 49, Total: 539,
			Taxes: []TaxLine{{RateBP: 1000, Net: 490, Tax: 49, Gross: 539}},
			Lines: []LinePrice{{Gross: 245, Net: 245, Tax: 25, Total: 270}, {Gross: 245, Net: 245, Tax: 24, Total: 269}}},
	}, {
		// 10% of 245 = 24.5 → 25 on each line: a penny more than per check.
		name:  "sales tax per line",
		rules: salesPerLine,
		lines: []PriceLine{{UnitPrice: 245, Quantity: 1, TaxRateBP: 1000}, {UnitPrice: 245, Quantity: 1, TaxRateBP: 1000}},
		want: CheckPrice{Subtotal: 490, Tax: 50, Total: 540,
			Taxes: []TaxLine{{RateBP: 1000, Net: 490, Tax: 50, Gross: 540}},
			Lines: []LinePrice{{Gross: 245, Net: 245, Tax: 25, Total: 270}, {Gross: 245, Net: 245, Tax: 25, Total: 270}}},
	}, {
		// VAT in 3p at 20% is 0.5p: per check 6/6 = 1, shared 0.5 | 0.5 → 1 | 0.
		name:  "VAT per check",
		rules: vatPerCheck,
		lines: []PriceLine{{UnitPrice: 3, Quantity: 1, TaxRateBP: 2000}, {UnitPrice: 3, Quantity: 1, TaxRateBP: 2000}},
		want: CheckPrice{Subtotal: 6, Tax: 1, Total: 6,
			Taxes: []TaxLine{{RateBP: 2000, Net: 5, Tax: 1, Gross: 6}},
			Lines: []LinePrice{{Gross: 3, Net: 3, Tax: 1, Total: 3}, {Gross: 3, Net: 3, Tax: 0, Total: 3}}},
	}, {
		// Per line each 0.5p rounds up: the VAT is a penny more, the total the same.
		name:  "VAT per line",
		rules: vatPerLine,
		lines: []PriceLine{{UnitPrice: 3, Quantity: 1, TaxRateBP: 2000}, {UnitPrice: 3, Quantity: 1, TaxRateBP: 2000}},
		want: CheckPrice{Subtotal: 6, Tax: 2, Total: 6,
			Taxes: []TaxLine{{RateBP: 2000, Net: 4, Tax: 2, Gross: 6}},
			Lines: []LinePrice{{Gross: 3, Net: 3, Tax: 1, Total: 3}, {Gross: 3, Net: 3, Tax: 1, Total: 3}}},
	}} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Price(c.rules, c.lines, c.disc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
			if err := checkPriced(c.rules, c.lines, c.disc, got); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestPriceLimits prices the largest checks the engine accepts, whose
// products overflow int64, and refuses larger ones.
func TestPriceLimits(t *testing.T) {
	huge := slices.Repeat([]PriceLine{{UnitPrice: maxUnitPrice, Quantity: maxQuantity, TaxRateBP: 2000, Discount: pct(3333, "x")}}, 100)
	many := slices.Repeat([]PriceLine{{UnitPrice: 100_000_000, Quantity: maxQuantity, TaxRateBP: 10000}}, maxLines)
	for _, c := range []struct {
		name  string
		rules PriceRules
		lines []PriceLine
		disc  *Discount
	}{
		{"100 lines of 1e13", PriceRules{TaxMode: TaxInclusive, ServiceChargeBP: 1}, huge, pct(9999, "x")},
		{"1000 lines of 1e12", PriceRules{TaxMode: TaxInclusive, Rounding: RoundPerLine}, many, off(maxCheck-1, "x")},
	} {
		got, err := Price(c.rules, c.lines, c.disc)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := checkPriced(c.rules, c.lines, c.disc, got); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// 1e15 plus 20% tax on top is over the limit.
	_, err := Price(salesPerCheck, slices.Repeat([]PriceLine{{UnitPrice: maxUnitPrice, Quantity: maxQuantity, TaxRateBP: 2000}}, 100), nil)
	wantField(t, "total over 1e15", err, "lines", "the check is too large")
}

// TestPriceInvalid gives each kind of bad input and expects its field.
func TestPriceInvalid(t *testing.T) {
	line := PriceLine{UnitPrice: 500, Quantity: 2, TaxRateBP: 2000}
	with := func(edit func(*PriceLine)) []PriceLine {
		l := line
		edit(&l)
		return []PriceLine{line, l}
	}
	for _, c := range []struct {
		rules  PriceRules
		lines  []PriceLine
		disc   *Discount
		field  string
		reason string
	}{
		{PriceRules{}, nil, nil, "tax_mode", ""},
		{PriceRules{TaxMode: "vat"}, nil, nil, "tax_mode", ""},
		{PriceRules{TaxMode: TaxInclusive, Rounding: "per_item"}, nil, nil, "rounding", ""},
		{PriceRules{TaxMode: TaxInclusive, ServiceChargeBP: -1}, nil, nil, "service_charge_bp", ""},
		{PriceRules{TaxMode: TaxInclusive, ServiceChargeBP: 10001}, nil, nil, "service_charge_bp", ""},
		{vatPerCheck, with(func(l *PriceLine) { l.Quantity = 0 }), nil, "lines[1].quantity", ""},
		{vatPerCheck, with(func(l *PriceLine) { l.Quantity = 10001 }), nil, "lines[1].quantity", ""},
		{vatPerCheck, with(func(l *PriceLine) { l.UnitPrice = -1 }), nil, "lines[1].unit_price", ""},
		{vatPerCheck, with(func(l *PriceLine) { l.UnitPrice = maxUnitPrice + 1 }), nil, "lines[1].unit_price", ""},
		{vatPerCheck, with(func(l *PriceLine) { l.TaxRateBP = -5 }), nil, "lines[1].tax_rate_bp", ""},
		{vatPerCheck, with(func(l *PriceLine) { l.TaxRateBP = 10001 }), nil, "lines[1].tax_rate_bp", ""},
		{vatPerCheck, with(func(l *PriceLine) { l.Discount = pct(0, "x") }), nil, "lines[1].discount.percent_bp", ""},
		{vatPerCheck, with(func(l *PriceLine) { l.Discount = pct(10001, "x") }), nil, "lines[1].discount.percent_bp", ""},
		{vatPerCheck, with(func(l *PriceLine) { l.Discount = off(0, "x") }), nil, "lines[1].discount.amount", ""},
		{vatPerCheck, with(func(l *PriceLine) { l.Discount = off(1001, "x") }), nil, "lines[1].discount.amount", "exceeds the line's price"},
		{vatPerCheck, with(func(l *PriceLine) { l.Discount = &Discount{Kind: "free", Reason: "x"} }), nil, "lines[1].discount.kind", ""},
		{vatPerCheck, with(func(l *PriceLine) { l.Discount = off(100, " ") }), nil, "lines[1].discount.reason", ""},
		{vatPerCheck, with(func(l *PriceLine) {
			l.Discount = &Discount{Kind: DiscountPercent, PercentBP: 10, Amount: 5, Reason: "x"}
		}), nil, "lines[1].discount.amount", ""},
		{vatPerCheck, with(func(l *PriceLine) {
			l.Discount = &Discount{Kind: DiscountAmount, PercentBP: 10, Amount: 5, Reason: "x"}
		}), nil, "lines[1].discount.percent_bp", ""},
		// The check discount may take no more than the lines' own discounts left.
		{vatPerCheck, with(func(l *PriceLine) { l.Discount = off(400, "x") }), off(1601, "x"), "discount.amount", "exceeds the check's price"},
		{vatPerCheck, []PriceLine{line}, off(0, "x"), "discount.amount", ""},
		{vatPerCheck, []PriceLine{line}, pct(10001, "x"), "discount.percent_bp", ""},
		{vatPerCheck, []PriceLine{line}, &Discount{Kind: "bogo", Reason: "x"}, "discount.kind", ""},
		{vatPerCheck, []PriceLine{line}, pct(1000, ""), "discount.reason", ""},
		{vatPerCheck, slices.Repeat([]PriceLine{line}, maxLines+1), nil, "lines", ""},
		{vatPerCheck, slices.Repeat([]PriceLine{{UnitPrice: maxUnitPrice, Quantity: maxQuantity}}, 101), nil, "lines", "the check is too large"},
	} {
		_, err := Price(c.rules, c.lines, c.disc)
		wantField(t, fmt.Sprintf("Price(%+v, %d lines, %+v)", c.rules, len(c.lines), c.disc), err, c.field, c.reason)
	}
}

// TestPriceReportsEveryField checks that one answer names every bad field,
// so a client fixes them all at once.
func TestPriceReportsEveryField(t *testing.T) {
	_, err := Price(PriceRules{TaxMode: "x"}, []PriceLine{{Quantity: 0}, {Quantity: 1, Discount: pct(0, "")}}, off(0, "x"))
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		t.Fatal(err)
	}
	var fields []string
	for _, f := range ae.Fields {
		fields = append(fields, f.Field)
	}
	want := []string{"tax_mode", "lines[0].quantity", "lines[1].discount.percent_bp", "lines[1].discount.reason", "discount.amount"}
	if !slices.Equal(fields, want) {
		t.Errorf("fields %v; want %v", fields, want)
	}
}

// TestPriceProperties prices a million random checks and checks that every
// one reconciles to the penny (see checkPriced), and that splitting its
// total conserves it. Each check draws from its own PCG stream (seed, index),
// so a failure is reproduced by -price.seed alone, however the checks were
// spread over the goroutines.
func TestPriceProperties(t *testing.T) {
	n := propertyChecks
	if testing.Short() {
		n = 10_000
	}
	if *checksFlag > 0 {
		n = *checksFlag
	}
	seed := *seedFlag
	start := time.Now()
	var next atomic.Int64 // the next block of checks to take
	var failed atomic.Bool
	var wg sync.WaitGroup
	const block = 1000
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			pcg := rand.NewPCG(0, 0)
			rng := rand.New(pcg)
			for !failed.Load() {
				from := int(next.Add(block)) - block
				for k := from; k < min(from+block, n); k++ {
					pcg.Seed(seed, uint64(k))
					if err := priceRandomCheck(rng); err != nil {
						if !failed.Swap(true) {
							t.Errorf("seed %d, check %d: %v", seed, k, err)
						}
						return
					}
				}
				if from+block >= n {
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d checks in %v (seed %d)", n, time.Since(start).Round(time.Millisecond), seed)
}

// priceRandomCheck prices one random check and checks it and its splits.
func priceRandomCheck(rng *rand.Rand) error {
	rules, lines, disc := randomCheck(rng)
	got, err := Price(rules, lines, disc)
	if err != nil {
		return fmt.Errorf("Price(%+v, %s, %s): %v", rules, showLines(lines), showDiscount(disc), err)
	}
	if err := checkPriced(rules, lines, disc, got); err != nil {
		return fmt.Errorf("Price(%+v, %s, %s) = %+v: %v", rules, showLines(lines), showDiscount(disc), got, err)
	}
	return checkSplits(rng, got)
}

var randomRates = []int{0, 500, 2000, 888, 1000}

// randomCheck draws a valid check: 1–30 lines, prices up to £500, some
// discounted or comped, maybe a check discount and a service charge.
func randomCheck(rng *rand.Rand) (PriceRules, []PriceLine, *Discount) {
	rules := PriceRules{TaxMode: TaxInclusive, Rounding: []string{"", RoundPerCheck, RoundPerLine}[rng.IntN(3)]}
	if rng.IntN(2) == 0 {
		rules.TaxMode = TaxExclusive
	}
	if rng.IntN(2) == 0 {
		rules.ServiceChargeBP = []int{1000, 1250, 1500, 1, 10000, rng.IntN(2001)}[rng.IntN(6)]
	}
	lines := make([]PriceLine, 1+rng.IntN(30))
	var base int64
	for i := range lines {
		l := PriceLine{UnitPrice: rng.Int64N(50_001), Quantity: 1 + rng.IntN(20), TaxRateBP: randomRates[rng.IntN(len(randomRates))]}
		l.Discount = randomDiscount(rng, l.UnitPrice*int64(l.Quantity), 5)
		l.Comp = rng.IntN(20) == 0
		lines[i] = l
		gross := l.UnitPrice * int64(l.Quantity)
		base += gross - refLineDiscount(l, gross)
	}
	return rules, lines, randomDiscount(rng, base, 3)
}

// randomDiscount returns a discount on price one time in oneIn, else nil:
// a percent (sometimes 100%) or an amount up to the whole price.
func randomDiscount(rng *rand.Rand, price int64, oneIn int) *Discount {
	if rng.IntN(oneIn) != 0 {
		return nil
	}
	if rng.IntN(2) == 0 || price == 0 {
		return pct([]int{1000, 1250, 3333, 5000, 10000, 1 + rng.IntN(10000)}[rng.IntN(6)], "random")
	}
	return off(1+rng.Int64N(price), "random")
}

// checkSplits splits a priced check's total equally and by random groups,
// and checks that every penny is kept.
func checkSplits(rng *rand.Rand, p CheckPrice) error {
	n := 1 + rng.IntN(maxParts)
	parts, err := SplitEqual(p.Total, n)
	if err != nil {
		return err
	}
	if s := sum(parts); s != p.Total || slices.Max(parts)-slices.Min(parts) > 1 {
		return fmt.Errorf("SplitEqual(%d, %d) = %v", p.Total, n, parts)
	}
	groups := 1 + rng.IntN(8)
	totals := make([]int64, len(p.Lines))
	groupOf := make([]int, len(p.Lines))
	for i, l := range p.Lines {
		totals[i], groupOf[i] = l.Total, rng.IntN(groups+1)-1
	}
	shares, err := SplitShares(totals, groupOf, groups)
	if err != nil {
		return err
	}
	if s := sum(shares); s != p.Total {
		return fmt.Errorf("SplitShares(%v, %v, %d) = %v, sum %d; want %d", totals, groupOf, groups, shares, s, p.Total)
	}
	return nil
}

// FuzzPrice prices checks built from arbitrary bytes, valid or not: Price
// must never panic, must refuse bad input with the fields at fault, and
// must price good input so that it reconciles.
func FuzzPrice(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0x10, 0xe2, 0x04, 0, 0, 1, 0, 0xd0, 0x07, 0})
	f.Add([]byte{5, 0xe2, 0x04, 1, 0xe8, 0x03, 0, 0, 1, 0, 0xd0, 0x07, 3, 0x10, 0x27, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0x78, 0x03, 0, 0})
	f.Add(slices.Repeat([]byte{0x00, 0xca, 0x9a, 0x3b, 0x10, 0x27, 0x10, 0x27, 0x02, 0x0f, 0x27, 0, 0}, 60))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, lines, disc := decodeCheck(data)
		got, err := Price(rules, lines, disc)
		if err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Kind != apperr.Invalid || len(ae.Fields) == 0 {
				t.Fatalf("error %v; want Invalid with fields", err)
			}
			return
		}
		if err := checkPriced(rules, lines, disc, got); err != nil {
			t.Fatalf("Price(%+v, %s, %s) = %+v: %v", rules, showLines(lines), showDiscount(disc), got, err)
		}
		if err := checkSplits(rand.New(rand.NewPCG(uint64(len(data)), 0)), got); err != nil {
			t.Fatal(err)
		}
	})
}

// decodeCheck reads a check from fuzz bytes, running out into zeros. The
// ranges go a little past the limits, so both sides of each are tried.
func decodeCheck(data []byte) (PriceRules, []PriceLine, *Discount) {
	r := byteReader(data)
	mode := r.u8()
	rules := PriceRules{TaxMode: []string{TaxInclusive, TaxExclusive}[mode&1],
		Rounding: []string{"", RoundPerCheck, RoundPerLine, "bad"}[mode>>1&3]}
	if mode&8 != 0 {
		rules.ServiceChargeBP = int(r.u16()) % 10100
	}
	disc := r.discount()
	var lines []PriceLine
	for len(r) > 0 && len(lines) <= maxLines {
		price := int64(r.u32())
		if price > 2*maxUnitPrice {
			price %= 100_000 // mostly valid, small prices
		}
		l := PriceLine{UnitPrice: price, Quantity: int(r.u16()) % 10100, TaxRateBP: int(r.u16()) % 10100}
		l.Comp = r.u8()&1 != 0
		l.Discount = r.discount()
		lines = append(lines, l)
	}
	return rules, lines, disc
}

// byteReader hands out little-endian numbers from fuzz bytes.
type byteReader []byte

func (r *byteReader) take(n int) []byte {
	var b [8]byte
	m := copy(b[:n], *r)
	*r = (*r)[m:]
	return b[:n]
}
func (r *byteReader) u8() byte    { return r.take(1)[0] }
func (r *byteReader) u16() uint16 { return binary.LittleEndian.Uint16(r.take(2)) }
func (r *byteReader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }

// discount reads a flag byte (1: percent, 2: amount, 4: no reason), then
// the percent or the amount.
func (r *byteReader) discount() *Discount {
	flags := r.u8()
	reason := "fuzz"
	if flags&4 != 0 {
		reason = " "
	}
	switch flags & 3 {
	case 1:
		return pct(int(r.u16())%10100, reason)
	case 2:
		return off(int64(r.u32())*int64(r.u16()), reason)
	case 3:
		return &Discount{Kind: "bad", Reason: reason}
	}
	return nil
}

// checkPriced checks a priced check against the rounding rule, computed
// apart from the engine: plain int64 where the products fit, math/big
// where they do not, and math/big.Rat for the exact tax of each rate.
func checkPriced(rules PriceRules, lines []PriceLine, disc *Discount, p CheckPrice) error {
	if len(p.Lines) != len(lines) || p.Lines == nil || p.Taxes == nil {
		return fmt.Errorf("%d lines priced of %d (nil lines %v, nil taxes %v)", len(p.Lines), len(lines), p.Lines == nil, p.Taxes == nil)
	}
	own := make([]int64, len(lines))
	var base, sumGross, sumDisc, sumNet, sumSC, sumTax, sumTotal int64
	for i, l := range lines {
		lp := p.Lines[i]
		gross := l.UnitPrice * int64(l.Quantity)
		own[i] = refLineDiscount(l, gross)
		base += gross - own[i]
		switch {
		case lp.Gross != gross:
			return fmt.Errorf("line %d: gross %d; want %d", i, lp.Gross, gross)
		case lp.Discount < own[i] || lp.Discount > lp.Gross:
			return fmt.Errorf("line %d: discount %d outside its own %d .. its gross %d", i, lp.Discount, own[i], lp.Gross)
		case lp.Net != lp.Gross-lp.Discount:
			return fmt.Errorf("line %d: net %d ≠ gross %d − discount %d", i, lp.Net, lp.Gross, lp.Discount)
		case lp.Tax < 0 || lp.ServiceCharge < 0:
			return fmt.Errorf("line %d: negative tax %d or service charge %d", i, lp.Tax, lp.ServiceCharge)
		case lp.Total != lp.Net+lp.ServiceCharge+exclusiveTax(rules, lp.Tax):
			return fmt.Errorf("line %d: total %d ≠ net %d + service %d (+ tax %d when exclusive)", i, lp.Total, lp.Net, lp.ServiceCharge, lp.Tax)
		}
		sumGross += lp.Gross
		sumDisc += lp.Discount
		sumNet += lp.Net
		sumSC += lp.ServiceCharge
		sumTax += lp.Tax
		sumTotal += lp.Total
	}
	switch {
	case p.Subtotal != sumGross:
		return fmt.Errorf("subtotal %d ≠ Σ gross %d", p.Subtotal, sumGross)
	case p.Discounts != sumDisc:
		return fmt.Errorf("discounts %d ≠ Σ line discounts %d", p.Discounts, sumDisc)
	case p.ServiceCharge != sumSC:
		return fmt.Errorf("service charge %d ≠ Σ line service charges %d", p.ServiceCharge, sumSC)
	case p.Tax != sumTax:
		return fmt.Errorf("tax %d ≠ Σ line tax %d", p.Tax, sumTax)
	case p.Total != sumTotal:
		return fmt.Errorf("total %d ≠ Σ line totals %d", p.Total, sumTotal)
	case p.Total != p.Subtotal-p.Discounts+p.ServiceCharge+exclusiveTax(rules, p.Tax):
		return fmt.Errorf("total %d ≠ subtotal %d − discounts %d + service %d (+ tax %d when exclusive)", p.Total, p.Subtotal, p.Discounts, p.ServiceCharge, p.Tax)
	}
	if err := checkCheckDiscount(lines, own, base, disc, p); err != nil {
		return err
	}
	if err := checkServiceCharge(rules, sumNet, p); err != nil {
		return err
	}
	return checkTaxes(rules, lines, p)
}

// checkCheckDiscount checks the check discount and its fair shares.
func checkCheckDiscount(lines []PriceLine, own []int64, base int64, disc *Discount, p CheckPrice) error {
	want := refDiscount(disc, base)
	var shared int64
	for i := range lines {
		share, weight := p.Lines[i].Discount-own[i], p.Lines[i].Gross-own[i]
		if !fairShare(share, want, weight, base) {
			return fmt.Errorf("line %d: check discount share %d of %d is unfair to its %d of %d", i, share, want, weight, base)
		}
		shared += share
	}
	if shared != want {
		return fmt.Errorf("check discount shared %d; want %d", shared, want)
	}
	return nil
}

// checkServiceCharge checks the service charge and its fair shares.
func checkServiceCharge(rules PriceRules, net int64, p CheckPrice) error {
	if want := refRound(net, int64(rules.ServiceChargeBP), 10_000); p.ServiceCharge != want {
		return fmt.Errorf("service charge %d on net %d; want %d", p.ServiceCharge, net, want)
	}
	for i, l := range p.Lines {
		if !fairShare(l.ServiceCharge, p.ServiceCharge, l.Net, net) {
			return fmt.Errorf("line %d: service share %d of %d is unfair to its net %d of %d", i, l.ServiceCharge, p.ServiceCharge, l.Net, net)
		}
	}
	return nil
}

// checkTaxes checks each rate's tax against its exact value and the VAT
// summary against the lines.
func checkTaxes(rules PriceRules, lines []PriceLine, p CheckPrice) error {
	byRate := map[int][]int{} // rate → its lines
	for i, l := range lines {
		byRate[l.TaxRateBP] = append(byRate[l.TaxRateBP], i)
	}
	rates := slices.Sorted(maps.Keys(byRate))
	want := []TaxLine{}
	for _, r := range rates {
		tl, err := checkRate(rules, r, byRate[r], p)
		if err != nil {
			return err
		}
		if tl.Gross != 0 {
			want = append(want, tl)
		}
	}
	if !slices.Equal(p.Taxes, want) {
		return fmt.Errorf("taxes %+v; want %+v", p.Taxes, want)
	}
	return nil
}

// checkRate checks the tax of the lines at one rate and returns the rate's
// expected VAT summary line.
func checkRate(rules PriceRules, rate int, at []int, p CheckPrice) (TaxLine, error) {
	den := int64(10_000)
	if rules.TaxMode == TaxInclusive {
		den += int64(rate)
	}
	var n, tax int64
	for _, i := range at {
		n += p.Lines[i].Net
		tax += p.Lines[i].Tax
	}
	exact := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(n), big.NewInt(int64(rate))), big.NewInt(den))
	if rules.Rounding == RoundPerLine {
		for _, i := range at {
			if want := refRound(p.Lines[i].Net, int64(rate), den); p.Lines[i].Tax != want {
				return TaxLine{}, fmt.Errorf("line %d: tax %d on %d at %d bp; want %d", i, p.Lines[i].Tax, p.Lines[i].Net, rate, want)
			}
		}
		off := new(big.Rat).Sub(new(big.Rat).SetInt64(tax), exact)
		if off.Abs(off).Cmp(big.NewRat(int64(len(at)), 2)) > 0 {
			return TaxLine{}, fmt.Errorf("rate %d: tax %d is more than half a penny a line from %s", rate, tax, exact.FloatString(3))
		}
	} else {
		if want := ratRoundHalfUp(exact); tax != want {
			return TaxLine{}, fmt.Errorf("rate %d: tax %d; want round(%s) = %d", rate, tax, exact.FloatString(3), want)
		}
		for _, i := range at {
			if !fairShare(p.Lines[i].Tax, tax, p.Lines[i].Net, n) {
				return TaxLine{}, fmt.Errorf("line %d: tax share %d of %d is unfair to its net %d of %d", i, p.Lines[i].Tax, tax, p.Lines[i].Net, n)
			}
		}
	}
	if rules.TaxMode == TaxInclusive {
		return TaxLine{RateBP: rate, Net: n - tax, Tax: tax, Gross: n}, nil
	}
	return TaxLine{RateBP: rate, Net: n, Tax: tax, Gross: n + tax}, nil
}

func exclusiveTax(rules PriceRules, tax int64) int64 {
	if rules.TaxMode == TaxExclusive {
		return tax
	}
	return 0
}

// refLineDiscount is a line's own discount, by the rule, apart from the engine.
func refLineDiscount(l PriceLine, gross int64) int64 {
	if l.Comp {
		return gross
	}
	return refDiscount(l.Discount, gross)
}

func refDiscount(d *Discount, price int64) int64 {
	switch {
	case d == nil:
		return 0
	case d.Kind == DiscountPercent:
		return refRound(price, int64(d.PercentBP), 10_000)
	}
	return d.Amount
}

// refRound is a × b / c rounded half up, for a, b ≥ 0 and c > 0.
func refRound(a, b, c int64) int64 {
	if b == 0 || a <= math.MaxInt64/b {
		return (a*b)/c + boolInt(2*((a*b)%c) >= c)
	}
	return ratRoundHalfUp(new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(a), big.NewInt(b)), big.NewInt(c)))
}

// ratRoundHalfUp is floor(x + 1/2) for x ≥ 0.
func ratRoundHalfUp(x *big.Rat) int64 {
	num := new(big.Int).Lsh(x.Num(), 1)
	num.Add(num, x.Denom())
	return num.Quo(num, new(big.Int).Lsh(x.Denom(), 1)).Int64()
}

// fairShare reports whether share is within a penny of total's exact
// proportional share weight/sum: |share × sum − total × weight| < sum. With
// sum 0 there is nothing to share.
func fairShare(share, total, weight, sum int64) bool {
	if sum == 0 {
		return share == 0 && total == 0
	}
	if share <= math.MaxInt64/sum && (weight == 0 || total <= math.MaxInt64/weight) {
		d := share*sum - total*weight
		return -sum < d && d < sum
	}
	d := new(big.Int).Mul(big.NewInt(share), big.NewInt(sum))
	d.Sub(d, new(big.Int).Mul(big.NewInt(total), big.NewInt(weight)))
	return d.CmpAbs(big.NewInt(sum)) < 0
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func sum(xs []int64) (s int64) {
	for _, x := range xs {
		s += x
	}
	return s
}

func showLines(lines []PriceLine) string {
	var b strings.Builder
	b.WriteString("[")
	for i, l := range lines {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "{%d×%d @%d %s comp=%v}", l.UnitPrice, l.Quantity, l.TaxRateBP, showDiscount(l.Discount), l.Comp)
	}
	b.WriteString("]")
	return b.String()
}

func showDiscount(d *Discount) string {
	if d == nil {
		return "-"
	}
	return fmt.Sprintf("%+v", *d)
}

// BenchmarkPrice prices a typical 10-line restaurant check: two VAT rates,
// a line discount, a comp, 10% off the check and a 12.5% service charge.
func BenchmarkPrice(b *testing.B) {
	rules := PriceRules{TaxMode: TaxInclusive, ServiceChargeBP: 1250}
	lines := []PriceLine{
		{UnitPrice: 650, Quantity: 2, TaxRateBP: 2000},
		{UnitPrice: 1450, Quantity: 1, TaxRateBP: 2000},
		{UnitPrice: 1695, Quantity: 1, TaxRateBP: 2000, Discount: pct(5000, "staff")},
		{UnitPrice: 1850, Quantity: 1, TaxRateBP: 2000},
		{UnitPrice: 2400, Quantity: 1, TaxRateBP: 2000},
		{UnitPrice: 450, Quantity: 3, TaxRateBP: 2000, Comp: true},
		{UnitPrice: 2800, Quantity: 1, TaxRateBP: 2000},
		{UnitPrice: 350, Quantity: 4, TaxRateBP: 0},
		{UnitPrice: 595, Quantity: 2, TaxRateBP: 2000},
		{UnitPrice: 295, Quantity: 1, TaxRateBP: 500},
	}
	disc := pct(1000, "loyalty")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Price(rules, lines, disc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPriceLargest prices the largest check accepted: 1000 lines.
func BenchmarkPriceLargest(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	lines := make([]PriceLine, maxLines)
	for i := range lines {
		lines[i] = PriceLine{UnitPrice: rng.Int64N(50_000), Quantity: 1 + rng.IntN(5), TaxRateBP: randomRates[rng.IntN(len(randomRates))]}
	}
	rules := PriceRules{TaxMode: TaxExclusive, ServiceChargeBP: 1250}
	disc := pct(1000, "loyalty")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Price(rules, lines, disc); err != nil {
			b.Fatal(err)
		}
	}
}
