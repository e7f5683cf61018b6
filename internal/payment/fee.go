package payment

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/order"
)

// Fees. Every electronic payment costs the restaurant its processor's fee
// (card: 2.9% + 30p; open banking: 0.2%) and Fynlo's platform fee (1%);
// all four are configurable per location. Fynlo's share is written to a
// ledger when the money is taken and reversed, in proportion, when it is
// refunded, so Fynlo's revenue per organization and period is a sum.

// Fee is a processor's price: a rate and a fixed part per payment.
type Fee struct {
	RateBP int         `json:"rate_bp" minimum:"0" maximum:"10000" doc:"in basis points: 290 = 2.9%"`
	Fixed  money.Money `json:"fixed" doc:"per payment, e.g. 30p"`
}

// Fee policies.
const (
	PolicyAbsorb = "absorb"  // the restaurant pays the fees
	PolicyPassOn = "pass_on" // the guest pays a disclosed surcharge where the law allows it
)

// FeeSchedule is what taking money costs a restaurant at one location.
type FeeSchedule struct {
	LocationID  string `json:"location_id"`
	Card        Fee    `json:"card"`
	OpenBanking Fee    `json:"open_banking"`
	PlatformBP  int    `json:"platform_bp" minimum:"0" maximum:"10000" doc:"Fynlo's platform fee on card and open-banking payments, in basis points"`
	Policy      string `json:"policy" enum:"absorb,pass_on" doc:"pass_on adds the card fees to what a card guest pays, disclosed on the payment; refused where the location's country bans payment surcharges"`
	// Offered is what the POS offers, in the order it shows it.
	Offered []Method `json:"offered" doc:"the methods this location takes, in the order the POS shows them; empty: all, cheapest for the restaurant first"`
	// LateBankPayments is what becomes of a bank's money that arrives
	// after the check was paid otherwise.
	LateBankPayments string    `json:"late_bank_payments" enum:"refund,hold" doc:"a guest's bank approval that arrives after the check was paid another way: refund (at once, automatically) or hold (for a manager to refund)"`
	Version          int64     `json:"version" doc:"0 until first saved: the defaults"`
	UpdatedAt        time.Time `json:"updated_at,omitzero"`
}

// DefaultFees is the schedule of a location that has not set its own.
func DefaultFees(locationID, currency string) *FeeSchedule {
	return &FeeSchedule{LocationID: locationID, Card: Fee{RateBP: 290, Fixed: money.Money{Amount: 30, Currency: currency}},
		OpenBanking: Fee{RateBP: 20, Fixed: money.Money{Currency: currency}}, PlatformBP: 100, Policy: PolicyAbsorb,
		Offered: []Method{}, LateBankPayments: LateRefund}
}

// What becomes of late bank money.
const (
	LateRefund = "refund" // refunded at once, automatically
	LateHold   = "hold"   // held for a manager to refund
)

// AllMethods are the methods there are, in no order.
var AllMethods = []Method{MethodOpenBanking, MethodCard, MethodCash}

// offers reports whether the location takes method.
func (fs *FeeSchedule) offers(m Method) bool {
	return len(fs.Offered) == 0 || slices.Contains(fs.Offered, m)
}

// lateBank is the late-payments policy, refund when unset.
func (fs *FeeSchedule) lateBank() string {
	if fs.LateBankPayments == "" {
		return LateRefund
	}
	return fs.LateBankPayments
}

// surchargeBanned lists the countries that ban charging consumers more for
// their choice of payment method: the UK (Consumer Rights (Payment
// Surcharges) Regulations, since 13 January 2018) and the EEA (PSD2,
// Directive (EU) 2015/2366 art. 62(4), for consumer cards and transfers).
var surchargeBanned = map[string]bool{"GB": true, "AT": true, "BE": true, "BG": true, "HR": true, "CY": true, "CZ": true, "DK": true,
	"EE": true, "FI": true, "FR": true, "DE": true, "GR": true, "HU": true, "IE": true, "IT": true, "LV": true, "LT": true, "LU": true,
	"MT": true, "NL": true, "PL": true, "PT": true, "RO": true, "SK": true, "SI": true, "ES": true, "SE": true, "IS": true, "LI": true, "NO": true}

// SurchargeBanned reports whether a country bans payment-method surcharges.
func SurchargeBanned(country string) bool { return surchargeBanned[country] }

// processing is the processor's fee for method on amount; 0 for cash.
func (fs *FeeSchedule) processing(m Method, amount int64) int64 {
	var f Fee
	switch m {
	case MethodCard:
		f = fs.Card
	case MethodOpenBanking:
		f = fs.OpenBanking
	default:
		return 0
	}
	return order.TipOn(amount, f.RateBP) + f.Fixed.Amount
}

// platform is Fynlo's fee for method on amount: card and open banking.
func (fs *FeeSchedule) platform(m Method, amount int64) int64 {
	if m != MethodCard && m != MethodOpenBanking {
		return 0
	}
	return order.TipOn(amount, fs.PlatformBP)
}

// FeeStore keeps fee schedules.
type FeeStore interface {
	// FindFeeSchedule errors: NotFound when the location has none of its own.
	FindFeeSchedule(ctx context.Context, orgID, locationID string) (*FeeSchedule, error)
	// SaveFeeSchedule writes a schedule whose version was version−1.
	// Errors: Conflict with the current one when that is stale.
	SaveFeeSchedule(ctx context.Context, orgID string, fs *FeeSchedule) error
}

// Fees returns a location's fee schedule (the defaults if it has none).
func (s *Service) Fees(ctx context.Context, a order.Actor, locationID string) (*FeeSchedule, error) {
	if err := atLocation(a, locationID); err != nil {
		return nil, apperr.NotFoundf("location")
	}
	loc, err := s.locations.Location(ctx, a.OrgID, locationID)
	if err != nil {
		return nil, err
	}
	fs, err := s.fees.FindFeeSchedule(ctx, a.OrgID, locationID)
	if apperr.Is(err, apperr.NotFound) {
		return DefaultFees(locationID, loc.Currency), nil
	}
	return fs, err
}

// SetFees replaces a location's fee schedule. The API asks for
// settings.manage first.
func (s *Service) SetFees(ctx context.Context, a order.Actor, in FeeSchedule) (*FeeSchedule, error) {
	cur, err := s.Fees(ctx, a, in.LocationID)
	if err != nil {
		return nil, err
	}
	loc, err := s.locations.Location(ctx, a.OrgID, in.LocationID)
	if err != nil {
		return nil, err
	}
	var f apperr.Fields
	for name, fee := range map[string]Fee{"card": in.Card, "open_banking": in.OpenBanking} {
		if fee.RateBP < 0 || fee.RateBP > 10000 {
			f.Add(name+".rate_bp", "must be 0 to 10000")
		}
		if fee.Fixed.Currency != loc.Currency {
			f.Add(name+".fixed.currency", "must be the location's currency, "+loc.Currency)
		}
		if fee.Fixed.Amount < 0 || fee.Fixed.Amount > MaxAmount {
			f.Add(name+".fixed.amount", "must be 0 to 10^11")
		}
	}
	if in.PlatformBP != cur.PlatformBP {
		f.Add("platform_bp", "is Fynlo's platform fee: only Fynlo changes it")
	}
	switch in.Policy {
	case PolicyAbsorb:
	case PolicyPassOn:
		if SurchargeBanned(loc.Country) {
			f.Add("policy", "cannot be pass_on: "+loc.Country+" bans surcharging consumers for how they pay (UK since 13 January 2018; the EEA under PSD2)")
		}
	default:
		f.Add("policy", "must be absorb or pass_on")
	}
	seen := map[Method]bool{}
	for i, m := range in.Offered {
		if !slices.Contains(AllMethods, m) || seen[m] {
			f.Add("offered["+strconv.Itoa(i)+"]", "must be open_banking, card or cash, each at most once")
		}
		seen[m] = true
	}
	if in.Offered == nil {
		in.Offered = []Method{}
	}
	switch in.LateBankPayments {
	case "":
		in.LateBankPayments = LateRefund
	case LateRefund, LateHold:
	default:
		f.Add("late_bank_payments", "must be refund or hold")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if in.Version != cur.Version {
		return nil, apperr.StaleVersion(cur)
	}
	in.Version++
	in.UpdatedAt = s.now().UTC()
	if err := s.fees.SaveFeeSchedule(ctx, a.OrgID, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// MethodQuote is what one way of paying an amount costs the restaurant.
type MethodQuote struct {
	Method       Method      `json:"method" enum:"open_banking,card,cash"`
	Available    bool        `json:"available" doc:"whether the location offers it (its fee schedule's offered list)"`
	Processing   money.Money `json:"processing_fee"`
	Platform     money.Money `json:"platform_fee"`
	Cost         money.Money `json:"cost" doc:"processing + platform"`
	Net          money.Money `json:"net" doc:"what the restaurant keeps of the amount"`
	SavingVsCard money.Money `json:"saving_vs_card" doc:"card's cost − this cost"`
	Surcharge    money.Money `json:"surcharge" doc:"what the guest would pay on top under a pass_on policy; 0 when absorbed"`
}

// Quote compares the ways of paying amount at a location: the methods it
// offers in its order (cheapest for the restaurant first when it has set
// none), then those it does not offer, marked unavailable.
func (s *Service) Quote(ctx context.Context, a order.Actor, locationID string, amount money.Money) ([]MethodQuote, *FeeSchedule, error) {
	fs, err := s.Fees(ctx, a, locationID)
	if err != nil {
		return nil, nil, err
	}
	if amount.Currency != fs.Card.Fixed.Currency {
		return nil, nil, apperr.Field("amount.currency", "must be the location's currency, "+fs.Card.Fixed.Currency)
	}
	if amount.Amount <= 0 || amount.Amount > MaxAmount {
		return nil, nil, apperr.Field("amount.amount", "must be more than zero and at most 10^11")
	}
	m := func(v int64) money.Money { return money.Money{Amount: v, Currency: amount.Currency} }
	cardCost := fs.processing(MethodCard, amount.Amount) + fs.platform(MethodCard, amount.Amount)
	var out []MethodQuote
	for _, method := range []Method{MethodOpenBanking, MethodCard, MethodCash} {
		proc, plat := fs.processing(method, amount.Amount), fs.platform(method, amount.Amount)
		q := MethodQuote{Method: method, Available: fs.offers(method), Processing: m(proc), Platform: m(plat),
			Cost: m(proc + plat), Net: m(amount.Amount - proc - plat), SavingVsCard: m(cardCost - proc - plat), Surcharge: m(0)}
		if fs.Policy == PolicyPassOn {
			q.Surcharge = m(proc + plat)
		}
		out = append(out, q)
	}
	rank := func(q MethodQuote) int {
		if i := slices.Index(fs.Offered, q.Method); i >= 0 {
			return i
		}
		if q.Available {
			return len(fs.Offered)
		}
		return len(fs.Offered) + 1
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Cost.Amount < out[j].Cost.Amount })
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out, fs, nil
}

// EventFeesUpdated is written when a location's fee schedule changes.
const EventFeesUpdated = "fees.updated"

// Revenue is Fynlo's platform fees from one organization over a period.
type Revenue struct {
	OrgID    string `json:"organization_id"`
	OrgName  string `json:"organization_name"`
	Currency string `json:"currency"`
	Entries  int    `json:"entries" doc:"ledger lines: payments captured and refunds given"`
	Fees     int64  `json:"fees" doc:"taken with payments, in minor units"`
	Reversed int64  `json:"reversed" doc:"given back with refunds, in minor units"`
	Net      int64  `json:"net" doc:"fees − reversed"`
}

// LedgerStore sums the platform-fee ledger.
type LedgerStore interface {
	// PlatformRevenue sums the ledger per organization (all when orgID is
	// "") and currency over business dates from..to, inclusive.
	PlatformRevenue(ctx context.Context, orgID, from, to string) ([]Revenue, error)
}

// PlatformRevenue is Fynlo's revenue per organization over a period. Only
// platform administrators may ask (the API checks).
func (s *Service) PlatformRevenue(ctx context.Context, orgID, from, to string) ([]Revenue, error) {
	var f apperr.Fields
	for name, d := range map[string]string{"from": from, "to": to} {
		if _, err := time.Parse("2006-01-02", d); err != nil {
			f.Add(name, "must be a date, YYYY-MM-DD")
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if to < from {
		return nil, apperr.Field("to", "must not be before from")
	}
	rs, err := s.ledger.PlatformRevenue(ctx, orgID, from, to)
	for i := range rs {
		rs[i].Net = rs[i].Fees - rs[i].Reversed
	}
	if rs == nil {
		rs = []Revenue{}
	}
	return rs, err
}
