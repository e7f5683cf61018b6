package order

import (
	"cmp"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/fynlo/fynlo/internal/apperr"
)

// The rounding rule
//
// Every amount is a non-negative int64 in minor units (pennies); rates are
// integer basis points (2000 = 20%). Wherever a fraction of a penny appears
// it is rounded half-up to the minor unit (0.5p becomes 1p; as nothing is
// negative this is also half-away-from-zero). A check is priced in this
// order:
//
//  1. Line gross = unit price × quantity.
//  2. Line discount: a percent discount is round(gross × bp / 10000); an
//     amount discount may not exceed the gross; a comp discounts the whole
//     gross (and wins over any discount on the same line).
//  3. Check discount, on base = Σ (gross − line discount): a percent is
//     round(base × bp / 10000); an amount may not exceed base. It is shared
//     among the lines in proportion to their (gross − line discount) by the
//     largest-remainder method (below), so the shares add up to it exactly.
//     Line net = gross − all its discounts.
//  4. Service charge = round(Σ net × bp / 10000), on the net as the menu
//     shows it (VAT included when prices include it), shared by largest
//     remainder in proportion to net. It is not taxed: a discretionary UK
//     service charge is outside the scope of VAT.
//  5. Tax, for each rate r with N = Σ net of the lines at r. Inclusive
//     (UK VAT, prices include it): exact = N × r / (10000 + r), the VAT
//     fraction of the price (1/6 at 20%). Exclusive (sales tax added on
//     top): exact = N × r / 10000. Per check (the default): the rate's tax
//     is round(exact), shared among its lines by largest remainder in
//     proportion to net. Per line: each line's tax is round(its own exact)
//     and the rate's tax is their sum, so it may differ from per-check by
//     up to half a penny per line. HMRC accepts either, consistently used.
//  6. Total = Σ gross − Σ discounts + service charge (+ tax when exclusive;
//     when inclusive the tax is already inside the net).
//
// Largest remainder: each share starts as floor(amount × weight / Σ
// weights); the pennies still missing go one each to the shares whose
// division left the largest remainder, ties to the earlier line. Every
// product is taken exactly in 128 bits, so no amount the engine accepts
// can overflow, and no float is ever involved.
//
// Limits: at most 1000 lines, unit prices up to 1e9, quantities up to
// 10000, and no check whose subtotal or total exceeds 1e15 minor units.

// Discount kinds.
const (
	DiscountAmount  = "amount"
	DiscountPercent = "percent"
)

// Discount is a reduction on a line or on the whole check.
type Discount struct {
	Kind      string `json:"kind" enum:"amount,percent"`
	Amount    int64  `json:"amount,omitempty" doc:"minor units, for kind amount"`
	PercentBP int    `json:"percent_bp,omitempty" doc:"basis points (1000 = 10%), for kind percent"`
	Reason    string `json:"reason"`
	By        string `json:"by,omitempty" doc:"who gave it"`
}

// Tax modes and rounding rules (the location chooses).
const (
	TaxInclusive  = "inclusive" // prices include VAT; VAT is the part of the price r/(1+r)
	TaxExclusive  = "exclusive" // tax is added on top: r × price
	RoundPerCheck = "per_check" // tax is rounded once per rate per check (HMRC allows either)
	RoundPerLine  = "per_line"  // each line's tax is rounded, then summed
)

// PriceRules are a location's pricing settings.
type PriceRules struct {
	TaxMode         string // TaxInclusive or TaxExclusive
	Rounding        string // RoundPerCheck or RoundPerLine ("" means per_check)
	ServiceChargeBP int    // 0 for none; applied to the check's net (after discounts)
}

// PriceLine is one line of a check as the engine sees it.
type PriceLine struct {
	UnitPrice int64     // one unit, modifiers included, minor units, 0..1e9
	Quantity  int       // 1..10000
	TaxRateBP int       // 0..10000
	Discount  *Discount // nil for none
	Comp      bool      // given free: its whole gross is discounted
}

// LinePrice is one line's part of a priced check.
type LinePrice struct {
	Gross         int64 `json:"gross"`          // UnitPrice × Quantity
	Discount      int64 `json:"discount"`       // line discount + comp + its share of the check discount; 0..Gross
	Net           int64 `json:"net"`            // Gross − Discount (tax included or not, per the mode)
	Tax           int64 `json:"tax"`            // its share of the check's tax
	ServiceCharge int64 `json:"service_charge"` // its share of the service charge
	Total         int64 `json:"total"`          // its share of the check total: Net + ServiceCharge (+ Tax when exclusive)
}

// TaxLine is the tax of one rate on a check, as a receipt and a VAT return show it.
type TaxLine struct {
	RateBP int   `json:"rate_bp"`
	Net    int64 `json:"net"`   // excluding tax
	Tax    int64 `json:"tax"`   // by the location's rounding
	Gross  int64 `json:"gross"` // including tax
}

// CheckPrice is a priced check: the engine's totals, in minor units (Totals is their form on the wire).
type CheckPrice struct {
	Subtotal      int64       // Σ Gross
	Discounts     int64       // Σ line Discount
	ServiceCharge int64       // Σ line ServiceCharge; never taxed
	Tax           int64       // Σ Taxes[].Tax
	Total         int64       // Subtotal − Discounts + ServiceCharge (+ Tax when exclusive)
	Taxes         []TaxLine   // one per rate whose lines' net is not 0, rates ascending
	Lines         []LinePrice // in input order
}

// Limits of what the engine prices. They keep every sum far inside int64;
// a real check is nowhere near them.
const (
	maxLines     = 1000
	maxUnitPrice = 1_000_000_000
	maxQuantity  = 10_000
	maxBP        = 10_000
	maxCheck     = 1_000_000_000_000_000 // 1e15 minor units, for any total of a check
	bpScale      = 10_000                // basis points in a whole
)

// smallCheck is the number of lines whose scratch space lives on the stack,
// so a typical check allocates nothing but its result.
const smallCheck = 32

// Price prices a check by the rounding rule above. Errors: apperr.Invalid
// with fields like "lines[3].quantity", "lines[0].discount.percent_bp",
// "discount.amount", "lines" when the check is too large, or the rules'
// "tax_mode", "rounding" and "service_charge_bp".
func Price(rules PriceRules, lines []PriceLine, checkDiscount *Discount) (CheckPrice, error) {
	if err := validatePrice(rules, lines, checkDiscount); err != nil {
		return CheckPrice{}, err
	}
	n := len(lines)
	var small [3 * smallCheck]int64
	var smallIdx [2 * smallCheck]int
	buf, idx := small[:], smallIdx[:]
	if n > smallCheck {
		buf, idx = make([]int64, 3*n), make([]int, 2*n)
	}
	p := pricer{rules: rules, in: lines,
		w: buf[:n], q: buf[n : 2*n], rem: buf[2*n : 3*n], order: idx[:n], perm: idx[n : 2*n]}

	t := CheckPrice{Lines: make([]LinePrice, n)}
	base := p.grossAndLineDiscounts(&t)
	net := p.checkDiscount(&t, discountOf(checkDiscount, base))
	p.serviceCharge(&t, net)
	p.tax(&t)
	exclusive := rules.TaxMode == TaxExclusive
	for i := range t.Lines {
		lp := &t.Lines[i]
		lp.Total = lp.Net + lp.ServiceCharge
		if exclusive {
			lp.Total += lp.Tax
		}
	}
	t.Total = t.Subtotal - t.Discounts + t.ServiceCharge
	if exclusive {
		t.Total += t.Tax
	}
	if t.Total > maxCheck {
		return CheckPrice{}, apperr.Field("lines", "the check is too large")
	}
	return t, nil
}

// pricer holds one pricing's input and scratch space; its methods write
// the result into a *CheckPrice. Each scratch slice has one slot per line;
// w holds the weights of the allocation in hand, q its shares. The result
// is kept out of the struct so that escape analysis, which does not tell
// fields apart, leaves the scratch space on the stack.
type pricer struct {
	rules       PriceRules
	in          []PriceLine
	w, q, rem   []int64
	order, perm []int
}

// grossAndLineDiscounts fills each line's gross and own discount and
// returns the base the check discount applies to.
func (p *pricer) grossAndLineDiscounts(t *CheckPrice) (base int64) {
	for i, l := range p.in {
		g := l.UnitPrice * int64(l.Quantity)
		d := lineDiscount(l, g)
		t.Lines[i] = LinePrice{Gross: g, Discount: d}
		p.w[i] = g - d
		t.Subtotal += g
		base += g - d
	}
	return base
}

// checkDiscount shares the check discount d among the lines, fills their
// net and returns the check's net.
func (p *pricer) checkDiscount(t *CheckPrice, d int64) (net int64) {
	allocateInto(p.q, p.w, p.rem, p.order, d)
	for i := range t.Lines {
		lp := &t.Lines[i]
		lp.Discount += p.q[i]
		lp.Net = lp.Gross - lp.Discount
		p.w[i] = lp.Net
		t.Discounts += lp.Discount
		net += lp.Net
	}
	return net
}

// serviceCharge charges the check and shares the charge by net; p.w must
// hold the nets.
func (p *pricer) serviceCharge(t *CheckPrice, net int64) {
	t.ServiceCharge = roundHalfUp(net, int64(p.rules.ServiceChargeBP), bpScale)
	allocateInto(p.q, p.w, p.rem, p.order, t.ServiceCharge)
	for i := range t.Lines {
		t.Lines[i].ServiceCharge = p.q[i]
	}
}

// tax taxes the check rate by rate and fills t.Taxes. The lines are visited
// in p.perm order, sorted by rate and then by position, so each rate's
// lines form one run and keep their order (ties to the earlier line).
func (p *pricer) tax(t *CheckPrice) {
	for i := range p.perm {
		p.perm[i] = i
	}
	slices.SortFunc(p.perm, func(a, b int) int {
		if c := cmp.Compare(p.in[a].TaxRateBP, p.in[b].TaxRateBP); c != 0 {
			return c
		}
		return a - b
	})
	t.Taxes = make([]TaxLine, 0, p.taxedRates(t))
	for start := 0; start < len(p.perm); {
		end := p.runEnd(start)
		tl := p.taxRate(t, p.perm[start:end])
		t.Tax += tl.Tax
		if tl.Gross != 0 { // a rate whose lines net 0 has nothing to declare
			t.Taxes = append(t.Taxes, tl)
		}
		start = end
	}
}

// runEnd returns the end of the run of lines at the rate of p.perm[start].
func (p *pricer) runEnd(start int) int {
	rate := p.in[p.perm[start]].TaxRateBP
	end := start + 1
	for end < len(p.perm) && p.in[p.perm[end]].TaxRateBP == rate {
		end++
	}
	return end
}

// taxedRates counts the rates with a net other than 0, so t.Taxes is
// allocated once at its final size.
func (p *pricer) taxedRates(t *CheckPrice) (k int) {
	for start := 0; start < len(p.perm); {
		end := p.runEnd(start)
		for _, i := range p.perm[start:end] {
			if t.Lines[i].Net != 0 {
				k++
				break
			}
		}
		start = end
	}
	return k
}

// taxRate taxes the lines in run (all at one rate) and returns the rate's line.
func (p *pricer) taxRate(t *CheckPrice, run []int) TaxLine {
	rate := int64(p.in[run[0]].TaxRateBP)
	den := int64(bpScale)
	if p.rules.TaxMode == TaxInclusive {
		den += rate
	}
	var n, tax int64
	for j, i := range run {
		n += t.Lines[i].Net
		p.w[j] = t.Lines[i].Net
	}
	if p.rules.Rounding == RoundPerLine {
		for _, i := range run {
			t.Lines[i].Tax = roundHalfUp(t.Lines[i].Net, rate, den)
			tax += t.Lines[i].Tax
		}
	} else {
		tax = roundHalfUp(n, rate, den)
		m := len(run)
		allocateInto(p.q[:m], p.w[:m], p.rem[:m], p.order[:m], tax)
		for j, i := range run {
			t.Lines[i].Tax = p.q[j]
		}
	}
	if p.rules.TaxMode == TaxInclusive {
		return TaxLine{RateBP: int(rate), Net: n - tax, Tax: tax, Gross: n}
	}
	return TaxLine{RateBP: int(rate), Net: n, Tax: tax, Gross: n + tax}
}

// lineDiscount is a valid line's own discount: the whole gross for a comp.
func lineDiscount(l PriceLine, gross int64) int64 {
	if l.Comp {
		return gross
	}
	return discountOf(l.Discount, gross)
}

// discountOf is what a valid discount takes off price (nil takes nothing).
func discountOf(d *Discount, price int64) int64 {
	switch {
	case d == nil:
		return 0
	case d.Kind == DiscountPercent:
		return roundHalfUp(price, int64(d.PercentBP), bpScale)
	default:
		return d.Amount
	}
}

// mulDiv returns a × b / c and its remainder, exactly: the product is taken
// in 128 bits. It needs a, b ≥ 0, c > 0 and a quotient that fits in int64,
// which holds wherever it is called, since there b ≤ c or a × b / c is
// bounded by a check's limits.
func mulDiv(a, b, c int64) (q, rem int64) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	uq, ur := bits.Div64(hi, lo, uint64(c))
	return int64(uq), int64(ur)
}

// roundHalfUp returns a × b / c rounded half-up, under mulDiv's conditions.
func roundHalfUp(a, b, c int64) int64 {
	q, rem := mulDiv(a, b, c)
	if rem >= c-rem { // rem ≥ c/2 without overflowing 2 × rem
		q++
	}
	return q
}

// validatePrice checks everything Price is given, reporting every bad field
// at once. The field names follow the JSON of a quote request.
func validatePrice(rules PriceRules, lines []PriceLine, d *Discount) error {
	var f apperr.Fields
	validateRules(&f, rules)
	if len(lines) > maxLines {
		f.Add("lines", "must have at most "+strconv.Itoa(maxLines)+" lines")
		return f.Err()
	}
	var subtotal, base int64
	known := true // every gross and line discount is known, so base is
	for i, l := range lines {
		gross, ok := validateLine(&f, i, l)
		known = known && ok
		if ok {
			subtotal += gross
			base += gross - lineDiscount(l, gross)
		}
	}
	if subtotal > maxCheck {
		f.Add("lines", "the check is too large")
		known = false
	}
	if d != nil {
		validateDiscount(&f, -1, d, base, known)
	}
	return f.Err()
}

// validateRules checks a location's settings.
func validateRules(f *apperr.Fields, r PriceRules) {
	if r.TaxMode != TaxInclusive && r.TaxMode != TaxExclusive {
		f.Add("tax_mode", "must be inclusive or exclusive")
	}
	if r.Rounding != "" && r.Rounding != RoundPerCheck && r.Rounding != RoundPerLine {
		f.Add("rounding", "must be per_check or per_line")
	}
	if r.ServiceChargeBP < 0 || r.ServiceChargeBP > maxBP {
		f.Add("service_charge_bp", "must be between 0 and 10000")
	}
}

// validateLine checks line i and returns its gross, and whether the gross
// and its discount are known to be valid.
func validateLine(f *apperr.Fields, i int, l PriceLine) (gross int64, ok bool) {
	ok = true
	if l.UnitPrice < 0 || l.UnitPrice > maxUnitPrice {
		f.Add(lineField(i, "unit_price"), "must be between 0 and 1000000000")
		ok = false
	}
	if l.Quantity < 1 || l.Quantity > maxQuantity {
		f.Add(lineField(i, "quantity"), "must be between 1 and 10000")
		ok = false
	}
	if l.TaxRateBP < 0 || l.TaxRateBP > maxBP {
		f.Add(lineField(i, "tax_rate_bp"), "must be between 0 and 10000")
	}
	if ok {
		gross = l.UnitPrice * int64(l.Quantity)
	}
	if l.Discount != nil {
		ok = validateDiscount(f, i, l.Discount, gross, ok) && ok
	}
	return gross, ok
}

// validateDiscount checks the discount of line i (or of the check when i is
// -1) on a price; when the price is not known it cannot check that an
// amount fits. It reports whether the discount is valid.
func validateDiscount(f *apperr.Fields, i int, d *Discount, price int64, priceKnown bool) bool {
	before := len(*f)
	switch d.Kind {
	case DiscountAmount:
		if d.Amount < 1 {
			f.Add(discountField(i, "amount"), "must be at least 1")
		} else if priceKnown && d.Amount > price {
			f.Add(discountField(i, "amount"), exceedsReason(i))
		}
		if d.PercentBP != 0 {
			f.Add(discountField(i, "percent_bp"), "must be empty for an amount discount")
		}
	case DiscountPercent:
		if d.PercentBP < 1 || d.PercentBP > maxBP {
			f.Add(discountField(i, "percent_bp"), "must be between 1 and 10000")
		}
		if d.Amount != 0 {
			f.Add(discountField(i, "amount"), "must be empty for a percent discount")
		}
	default:
		f.Add(discountField(i, "kind"), "must be amount or percent")
	}
	if strings.TrimSpace(d.Reason) == "" {
		f.Add(discountField(i, "reason"), "is required")
	}
	return len(*f) == before
}

// exceedsReason says that an amount discount is more than what it discounts.
func exceedsReason(i int) string {
	if i < 0 {
		return "exceeds the check's price"
	}
	return "exceeds the line's price"
}

// lineField names a field of line i; it is built only for an error, so a
// valid check allocates no names.
func lineField(i int, name string) string {
	return "lines[" + strconv.Itoa(i) + "]." + name
}

// discountField names a field of line i's discount, or of the check's when
// i is -1.
func discountField(i int, name string) string {
	if i < 0 {
		return "discount." + name
	}
	return lineField(i, "discount."+name)
}
