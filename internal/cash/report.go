package cash

// X and Z reports. A day's report is worked out in Go, each time it is
// asked for, from the rows of the location's business day: its checks (by
// orders.business_date), its payments and refunds (by their own
// business_date) and its drawer sessions (by theirs). Nothing is kept as a
// running total, so every figure can be reproduced from the API, and the
// report says how (Sources) and checks itself (Reconciliation).
//
// The figures, defined once:
//
//   - Sales are over the day's closed checks. gross = Σ totals.subtotal
//     (the live lines' unit price with modifiers × quantity). comps = Σ the
//     discount of live comped lines (a comp discounts the line's whole
//     gross, so this is their gross). discounts = Σ totals.discounts −
//     comps (line and check discounts). net_sales = gross − discounts −
//     comps: what was sold after every reduction, before the service
//     charge, with VAT inside it where prices include VAT. tax_added = Σ
//     totals.tax of checks whose tax is added on top (tax_mode exclusive),
//     tax_included the tax of the others. total = Σ totals.total =
//     net_sales + service_charge + tax_added, asserted.
//   - Voids: a voided line keeps its quantity and prices; its value is what
//     it would have cost, (unit price + modifiers) × quantity. Lines voided
//     on checks that carry on count as voided lines; the lines of voided
//     checks count as the voided checks' value. Cancelled checks were never
//     sent: counted, not valued.
//   - Tenders are the payments of the business date that took money
//     (captured, partially or fully refunded since), by method: amount
//     (toward checks; cash change is handed back and never in it), tips and
//     surcharges; refunds are the refunds of the business date that
//     succeeded, by method; net = amount + tips + surcharges − refunds.
//   - A refund takes its payment's amount first, then its tip (as the
//     check's paid and tips are reduced); tips refunded are the part of the
//     day's refunds that came off tips.
//   - Cash: each drawer session of the business date with the summary its
//     own endpoint shows (the same Sums and formula), and what was counted
//     at close.

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/order"
	"github.com/fynlo/fynlo/internal/payment"
	"github.com/fynlo/fynlo/internal/tenant"
)

// Report kinds.
const (
	ReportX = "X" // the day (or the drawer session) is still going: figures may change
	ReportZ = "Z" // every check of the day is finished and every drawer counted
)

// ReportStore loads the rows reports are worked out from, each set read in
// one snapshot so its figures agree with each other. The store a Service
// is built with serves reports when it implements ReportStore too (the
// SQL store does).
type ReportStore interface {
	// FindDayRows loads a location's business day.
	FindDayRows(ctx context.Context, orgID, locationID, businessDate string) (*DayRows, error)
	// FindSessionRows loads a drawer session with its sums and the rows
	// they add up. Errors: NotFound.
	FindSessionRows(ctx context.Context, orgID, sessionID string) (*SessionRows, error)
}

// DayRows are the rows of a location's business day.
type DayRows struct {
	// Orders are the checks whose business_date is the day, with their lines.
	Orders []*order.Order
	// Payments are the payments of the day, and also every payment of the
	// day's checks, into the day's drawer sessions or refunded on the day,
	// whatever its own date: reconciling needs them.
	Payments []*payment.Payment
	// Refunds are every refund of those payments.
	Refunds []*payment.Refund
	// Sessions are the drawer sessions whose business_date is the day,
	// oldest first.
	Sessions []SessionSums
	// Names maps the staff the rows name (servers, who voided, who opened
	// and closed drawers) to their names.
	Names map[string]string
}

// SessionSums is a drawer session with its drawer's name and its sums.
type SessionSums struct {
	Session    *Session
	DrawerName string
	Sums       Sums
}

// SessionRows are a drawer session with the rows its sums add up.
type SessionRows struct {
	SessionSums
	Payments  []*payment.Payment // its cash payments that took money
	Refunds   []*payment.Refund  // its cash refunds that succeeded
	Movements []*Movement
	Names     map[string]string
}

// DayReport is the X or Z report of a location's business day. Every
// amount is in the location's currency.
type DayReport struct {
	Kind           string            `json:"kind" enum:"X,Z" doc:"X while any check of the day is open, sent or paid but not closed, or any drawer session of the day is open; Z once none is"`
	StillOpen      []string          `json:"still_open" doc:"what keeps the day from a Z; empty on a Z"`
	LocationID     string            `json:"location_id"`
	LocationName   string            `json:"location_name"`
	VATNumber      string            `json:"vat_number,omitempty"`
	BusinessDate   string            `json:"business_date"`
	Currency       string            `json:"currency"`
	GeneratedAt    time.Time         `json:"generated_at"`
	Checks         CheckFigures      `json:"checks"`
	Sales          SalesFigures      `json:"sales"`
	VAT            []order.TaxTotal  `json:"vat" doc:"the closed checks' totals.taxes added up by rate, rates ascending"`
	Voids          VoidFigures       `json:"voids"`
	Tenders        TenderFigures     `json:"tenders"`
	Tips           TipFigures        `json:"tips"`
	Refunds        RefundFigures     `json:"refunds"`
	Cash           CashFigures       `json:"cash"`
	Reconciliation []Identity        `json:"reconciliation" doc:"identities the figures must satisfy, each worked out and checked"`
	Sources        DaySources        `json:"sources" doc:"for each group of figures, how to reproduce it from the API"`
	Definitions    map[string]string `json:"definitions" doc:"what each figure means"`
}

// CheckFigures count the day's checks.
type CheckFigures struct {
	Closed       int         `json:"closed"`
	Covers       int         `json:"covers" doc:"Σ covers of the closed checks"`
	AverageCheck money.Money `json:"average_check" doc:"net sales ÷ closed checks, rounded half-up; 0 with none"`
	Open         int         `json:"open" doc:"checks open, sent, or paid and not yet closed"`
	OpenTotal    money.Money `json:"open_total" doc:"Σ totals.total of the open checks: not in sales"`
	OpenPaid     money.Money `json:"open_paid" doc:"Σ payments.paid of the open checks: in tenders already"`
	OpenList     []OpenCheck `json:"open_list"`
	Cancelled    int         `json:"cancelled"`
	Voided       int         `json:"voided"`
}

// OpenCheck is a check of the day not yet closed.
type OpenCheck struct {
	ID         string       `json:"id"`
	Number     int          `json:"number"`
	Status     order.Status `json:"status"`
	TableID    string       `json:"table_id,omitempty"`
	ServerID   string       `json:"server_id,omitempty"`
	ServerName string       `json:"server_name,omitempty"`
	Total      money.Money  `json:"total"`
	Paid       money.Money  `json:"paid"`
	Balance    money.Money  `json:"balance"`
}

// SalesFigures are the closed checks' sales.
type SalesFigures struct {
	Gross         money.Money `json:"gross" doc:"Σ totals.subtotal"`
	Discounts     money.Money `json:"discounts" doc:"Σ totals.discounts − comps: line and check discounts"`
	DiscountCount int         `json:"discount_count" doc:"discounted live lines plus checks with a check discount"`
	Comps         money.Money `json:"comps" doc:"Σ the discount of live comped lines, which is their gross"`
	CompCount     int         `json:"comp_count" doc:"comped live lines"`
	NetSales      money.Money `json:"net_sales" doc:"gross − discounts − comps (VAT inside it where prices include it)"`
	ServiceCharge money.Money `json:"service_charge" doc:"Σ totals.service_charge"`
	Tax           money.Money `json:"tax" doc:"Σ totals.tax = tax_included + tax_added"`
	TaxIncluded   money.Money `json:"tax_included" doc:"tax inside the prices (checks with tax_mode inclusive)"`
	TaxAdded      money.Money `json:"tax_added" doc:"tax added on top (checks with tax_mode exclusive)"`
	NetSalesExTax money.Money `json:"net_sales_ex_tax" doc:"net_sales − tax_included"`
	Total         money.Money `json:"total" doc:"Σ totals.total = net_sales + service_charge + tax_added"`
}

// VoidFigures are what was voided on the day's checks.
type VoidFigures struct {
	Lines       int          `json:"lines" doc:"voided lines of checks that were not voided or cancelled"`
	Quantity    int          `json:"quantity" doc:"Σ their quantity"`
	LinesValue  money.Money  `json:"lines_value" doc:"Σ (unit price + modifiers) × quantity: what they would have cost"`
	Checks      int          `json:"checks" doc:"voided checks"`
	ChecksValue money.Money  `json:"checks_value" doc:"what the voided checks' lines would have cost"`
	Items       []VoidedLine `json:"items" doc:"every voided line, voided checks' included"`
}

// VoidedLine is one voided line.
type VoidedLine struct {
	OrderID     string      `json:"order_id"`
	OrderNumber int         `json:"order_number"`
	CheckVoided bool        `json:"check_voided" doc:"the whole check was voided"`
	LineID      string      `json:"line_id"`
	Name        string      `json:"name"`
	Quantity    int         `json:"quantity"`
	Value       money.Money `json:"value"`
	Reason      string      `json:"reason"`
	By          string      `json:"by"`
	ByName      string      `json:"by_name,omitempty"`
}

// Tender is one payment method's takings.
type Tender struct {
	Method      string      `json:"method"`
	Count       int         `json:"count" doc:"payments that took money"`
	Amount      money.Money `json:"amount" doc:"toward checks; change excluded"`
	Tips        money.Money `json:"tips"`
	Surcharges  money.Money `json:"surcharges"`
	RefundCount int         `json:"refund_count"`
	Refunds     money.Money `json:"refunds" doc:"refunds of the business date by this method"`
	Net         money.Money `json:"net" doc:"amount + tips + surcharges − refunds"`
	ChangeGiven money.Money `json:"change_given" doc:"cash handed back: not income, not in amount"`
}

// TenderFigures are the day's takings by method.
type TenderFigures struct {
	Methods        []Tender    `json:"methods" doc:"cash and card always, then any other method used"`
	Total          Tender      `json:"total"`
	InFlightCount  int         `json:"in_flight_count" doc:"payments of the day still pending or authorised: not in the figures"`
	InFlightAmount money.Money `json:"in_flight_amount"`
}

// ServerTips are one server's tips.
type ServerTips struct {
	ServerID string      `json:"server_id" doc:"empty for checks without a server"`
	Name     string      `json:"name,omitempty"`
	Payments int         `json:"payments" doc:"payments with a tip"`
	Tips     money.Money `json:"tips"`
	Refunded money.Money `json:"refunded"`
	Net      money.Money `json:"net"`
}

// TipFigures are the day's tips.
type TipFigures struct {
	Total    money.Money  `json:"total" doc:"Σ tip of the day's payments"`
	Refunded money.Money  `json:"refunded" doc:"the part of the day's refunds that came off tips"`
	Net      money.Money  `json:"net"`
	ByServer []ServerTips `json:"by_server" doc:"by the payment's server_id"`
}

// MethodRefunds are the refunds of one method.
type MethodRefunds struct {
	Method string      `json:"method"`
	Count  int         `json:"count"`
	Amount money.Money `json:"amount"`
}

// RefundFigures are the day's refunds.
type RefundFigures struct {
	Count         int             `json:"count" doc:"refunds of the business date that succeeded"`
	Total         money.Money     `json:"total"`
	FromAmount    money.Money     `json:"from_amount" doc:"the part taken off payments' amounts (and so off checks' paid)"`
	FromTips      money.Money     `json:"from_tips"`
	ByMethod      []MethodRefunds `json:"by_method"`
	PendingCount  int             `json:"pending_count" doc:"refunds asked of the provider and not yet answered: not in the figures"`
	PendingAmount money.Money     `json:"pending_amount"`
}

// DrawerFigures are one drawer session of the day.
type DrawerFigures struct {
	SessionID      string       `json:"session_id"`
	DrawerID       string       `json:"drawer_id"`
	DrawerName     string       `json:"drawer_name"`
	Status         string       `json:"status" enum:"open,closed"`
	OpenedBy       string       `json:"opened_by"`
	OpenedByName   string       `json:"opened_by_name,omitempty"`
	OpenedAt       time.Time    `json:"opened_at"`
	ClosedAt       *time.Time   `json:"closed_at,omitempty"`
	Summary        *Summary     `json:"summary" doc:"as GET /cash-drawers/{id}/sessions/{session_id} shows it"`
	Counted        *money.Money `json:"counted,omitempty" doc:"when closed"`
	Variance       *money.Money `json:"variance,omitempty" doc:"counted − expected, when closed"`
	ApprovedBy     string       `json:"variance_approved_by,omitempty"`
	ApprovedByName string       `json:"variance_approved_by_name,omitempty"`
}

// CashFigures are the day's drawer sessions and their totals.
type CashFigures struct {
	Sessions     []DrawerFigures `json:"sessions"`
	OpenSessions int             `json:"open_sessions"`
	Float        money.Money     `json:"float"`
	CashSales    money.Money     `json:"cash_sales"`
	CashRefunds  money.Money     `json:"cash_refunds"`
	PaidIn       money.Money     `json:"paid_in"`
	PaidOut      money.Money     `json:"paid_out"`
	Expected     money.Money     `json:"expected" doc:"Σ expected of every session"`
	Counted      money.Money     `json:"counted" doc:"Σ counted of the closed sessions"`
	Variance     money.Money     `json:"variance" doc:"Σ variance of the closed sessions"`
}

// Identity is a rule the figures satisfy: left + Σ adjustments = right.
type Identity struct {
	Name        string      `json:"name"`
	Rule        string      `json:"rule"`
	Left        money.Money `json:"left"`
	Adjustments []Term      `json:"adjustments" doc:"signed amounts that explain why left and right may differ; empty when they never do"`
	Right       money.Money `json:"right"`
	Holds       bool        `json:"holds"`
}

// Term is one signed adjustment of an identity.
type Term struct {
	Name   string      `json:"name"`
	Amount money.Money `json:"amount"`
}

// DaySources say how to reproduce each group of a day's figures.
type DaySources struct {
	Checks         string `json:"checks"`
	Sales          string `json:"sales"`
	VAT            string `json:"vat"`
	Voids          string `json:"voids"`
	Tenders        string `json:"tenders"`
	Tips           string `json:"tips"`
	Refunds        string `json:"refunds"`
	Cash           string `json:"cash"`
	Reconciliation string `json:"reconciliation"`
}

// DayReport returns the report of a location's business day: the
// location's current one when businessDate is "". A staff member may ask
// for their own location only. Errors: Invalid (location_id,
// business_date), NotFound.
func (s *Service) DayReport(ctx context.Context, a order.Actor, locationID, businessDate string) (*DayReport, error) {
	if businessDate != "" {
		if _, err := time.Parse(time.DateOnly, businessDate); err != nil {
			return nil, apperr.Field("business_date", "must be a date, YYYY-MM-DD")
		}
	}
	if locationID == "" {
		if a.LocationID == "" {
			return nil, apperr.Field("location_id", "is required")
		}
		locationID = a.LocationID
	}
	if err := atLocation(a, locationID, "location"); err != nil {
		return nil, err
	}
	loc, err := s.locations.Location(ctx, a.OrgID, locationID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if businessDate == "" {
		businessDate = loc.BusinessDate(now)
	}
	rs, err := s.reportStore()
	if err != nil {
		return nil, err
	}
	rows, err := rs.FindDayRows(ctx, a.OrgID, loc.ID, businessDate)
	if err != nil {
		return nil, err
	}
	return BuildDayReport(loc, businessDate, rows, now), nil
}

func (s *Service) reportStore() (ReportStore, error) {
	rs, ok := s.store.(ReportStore)
	if !ok {
		return nil, &apperr.Error{Kind: apperr.Internal, Code: "internal", Detail: "the cash store does not serve reports"}
	}
	return rs, nil
}

// taken reports whether a payment in status st took money.
func taken(st payment.Status) bool {
	return st == payment.StatusCaptured || st == payment.StatusPartiallyRefunded || st == payment.StatusRefunded
}

// lineValue is what a line costs before any discount: (unit price +
// modifiers) × quantity. A voided line keeps these, so it is what it would
// have cost.
func lineValue(l *order.Line) int64 {
	unit := l.UnitPrice.Amount
	for _, m := range l.Modifiers {
		unit += m.Price.Amount
	}
	return unit * int64(l.Quantity)
}

// divHalfUp is n ÷ d rounded half away from zero; 0 when d is 0.
func divHalfUp(n, d int64) int64 {
	if d == 0 {
		return 0
	}
	if d < 0 {
		n, d = -n, -d
	}
	q, r := n/d, n%d
	if r < 0 {
		r = -r
	}
	if 2*r >= d {
		if n < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}

// refundPart is how a succeeded refund was taken off its payment.
type refundPart struct{ amount, tip int64 }

// refundParts splits each succeeded refund into what it took off its
// payment's amount and off its tip, as the refund did when it succeeded:
// the amount first, refunds in the order they succeeded (their
// updated_at, which is set when they succeed and never after).
func refundParts(payments map[string]*payment.Payment, refunds []*payment.Refund) map[string]refundPart {
	byPayment := map[string][]*payment.Refund{}
	for _, r := range refunds {
		if r.Status == payment.RefundSucceeded {
			byPayment[r.PaymentID] = append(byPayment[r.PaymentID], r)
		}
	}
	out := make(map[string]refundPart, len(refunds))
	for pid, rs := range byPayment {
		slices.SortFunc(rs, func(a, b *payment.Refund) int {
			if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		amountLeft := int64(1) << 62 // a payment not loaded: all off the amount
		if p := payments[pid]; p != nil {
			amountLeft = p.Amount.Amount
		}
		for _, r := range rs {
			from := max(min(r.Amount.Amount, amountLeft), 0)
			amountLeft -= from
			out[r.ID] = refundPart{amount: from, tip: r.Amount.Amount - from}
		}
	}
	return out
}

// BuildDayReport works out a day's report from its rows; now stamps it.
func BuildDayReport(loc *tenant.Location, date string, rows *DayRows, now time.Time) *DayReport {
	cur := loc.Currency
	m := func(a int64) money.Money { return money.Money{Amount: a, Currency: cur} }
	name := func(id string) string { return rows.Names[id] }
	rep := &DayReport{LocationID: loc.ID, LocationName: loc.Name, VATNumber: loc.VATNumber, BusinessDate: date, Currency: cur,
		GeneratedAt: now, StillOpen: []string{}, Definitions: definitions}

	// Checks, sales, VAT and voids.
	dayChecks := map[string]bool{}
	var paidOnChecks, tipsOnChecks int64
	var gross, discountsAll, comps, serviceCharge, tax, taxAdded, taxIncluded, total, openTotal, openPaid int64
	var voidLinesValue, voidChecksValue int64
	vat := map[int]*[3]int64{}
	rep.Checks.OpenList = []OpenCheck{}
	rep.Voids.Items = []VoidedLine{}
	for _, o := range rows.Orders {
		dayChecks[o.ID] = true
		paidOnChecks += o.Payments.Paid.Amount
		tipsOnChecks += o.Payments.Tips.Amount
		switch o.Status {
		case order.StatusClosed:
			rep.Checks.Closed++
			rep.Checks.Covers += o.Covers
			t := o.Totals
			gross += t.Subtotal.Amount
			discountsAll += t.Discounts.Amount
			serviceCharge += t.ServiceCharge.Amount
			tax += t.Tax.Amount
			total += t.Total.Amount
			if o.TaxMode == order.TaxExclusive {
				taxAdded += t.Tax.Amount
			} else {
				taxIncluded += t.Tax.Amount
			}
			if o.Discount != nil {
				rep.Sales.DiscountCount++
			}
			for _, l := range o.Lines {
				if l.KitchenState == order.LineVoided {
					continue
				}
				if l.Comp != nil {
					comps += l.Price.Discount.Amount
					rep.Sales.CompCount++
				} else if l.Discount != nil {
					rep.Sales.DiscountCount++
				}
			}
			for _, x := range t.Taxes {
				v := vat[x.RateBP]
				if v == nil {
					v = &[3]int64{}
					vat[x.RateBP] = v
				}
				v[0] += x.Net.Amount
				v[1] += x.Tax.Amount
				v[2] += x.Gross.Amount
			}
		case order.StatusOpen, order.StatusSent, order.StatusPaid:
			rep.Checks.Open++
			openTotal += o.Totals.Total.Amount
			openPaid += o.Payments.Paid.Amount
			rep.Checks.OpenList = append(rep.Checks.OpenList, OpenCheck{ID: o.ID, Number: o.Number, Status: o.Status, TableID: o.TableID,
				ServerID: o.ServerID, ServerName: name(o.ServerID), Total: m(o.Totals.Total.Amount), Paid: m(o.Payments.Paid.Amount),
				Balance: m(o.Payments.Balance.Amount)})
			rep.StillOpen = append(rep.StillOpen, "check #"+strconv.Itoa(o.Number)+" is "+string(o.Status))
		case order.StatusCancelled:
			rep.Checks.Cancelled++
		case order.StatusVoided:
			rep.Checks.Voided++
		}
		if o.Status == order.StatusCancelled {
			continue // never sent: nothing was wasted
		}
		for _, l := range o.Lines {
			if l.KitchenState != order.LineVoided {
				continue
			}
			v := lineValue(l)
			item := VoidedLine{OrderID: o.ID, OrderNumber: o.Number, CheckVoided: o.Status == order.StatusVoided, LineID: l.ID,
				Name: lineName(l), Quantity: l.Quantity, Value: m(v)}
			if l.Void != nil {
				item.Reason, item.By, item.ByName = l.Void.Reason, l.Void.By, name(l.Void.By)
			}
			rep.Voids.Items = append(rep.Voids.Items, item)
			if o.Status == order.StatusVoided {
				voidChecksValue += v
				continue
			}
			rep.Voids.Lines++
			rep.Voids.Quantity += l.Quantity
			voidLinesValue += v
		}
	}
	rep.Voids.Checks = rep.Checks.Voided
	rep.Voids.LinesValue, rep.Voids.ChecksValue = m(voidLinesValue), m(voidChecksValue)
	netSales := gross - discountsAll
	rep.Checks.OpenTotal, rep.Checks.OpenPaid = m(openTotal), m(openPaid)
	rep.Checks.AverageCheck = m(divHalfUp(netSales, int64(rep.Checks.Closed)))
	rep.Sales.Gross, rep.Sales.Discounts, rep.Sales.Comps = m(gross), m(discountsAll-comps), m(comps)
	rep.Sales.NetSales, rep.Sales.ServiceCharge, rep.Sales.Tax = m(netSales), m(serviceCharge), m(tax)
	rep.Sales.TaxIncluded, rep.Sales.TaxAdded, rep.Sales.NetSalesExTax, rep.Sales.Total = m(taxIncluded), m(taxAdded), m(netSales-taxIncluded), m(total)
	rates := make([]int, 0, len(vat))
	for r := range vat {
		rates = append(rates, r)
	}
	slices.Sort(rates)
	rep.VAT = make([]order.TaxTotal, 0, len(rates))
	var vatNet, vatTax, vatGross int64
	for _, r := range rates {
		v := vat[r]
		rep.VAT = append(rep.VAT, order.TaxTotal{RateBP: r, Net: m(v[0]), Tax: m(v[1]), Gross: m(v[2])})
		vatNet, vatTax, vatGross = vatNet+v[0], vatTax+v[1], vatGross+v[2]
	}

	// Payments and refunds.
	payments := make(map[string]*payment.Payment, len(rows.Payments))
	for _, p := range rows.Payments {
		payments[p.ID] = p
	}
	parts := refundParts(payments, rows.Refunds)
	sessions := map[string]bool{}
	for _, x := range rows.Sessions {
		sessions[x.Session.ID] = true
	}
	tenders := map[string]*Tender{}
	tender := func(method string) *Tender {
		t := tenders[method]
		if t == nil {
			t = &Tender{Method: method}
			tenders[method] = t
		}
		return t
	}
	tender(string(payment.MethodCash))
	tender(string(payment.MethodCard))
	type tipSums struct {
		payments      int
		tips, refunds int64
	}
	tipsBy := map[string]*tipSums{}
	tipsOf := func(server string) *tipSums {
		t := tipsBy[server]
		if t == nil {
			t = &tipSums{}
			tipsBy[server] = t
		}
		return t
	}
	var tipsTotal, tipsRefunded, inFlight int64
	// Adjustments between the day's payments and the day's checks and
	// drawer sessions, which need not share a business date.
	var takenOtherChecks, takenOtherDays, tipsOtherChecks, tipsOtherDays int64
	var cashOtherSessions, cashOtherDays int64
	for _, p := range rows.Payments {
		today := p.BusinessDate == date
		if today && p.Status.Holds() {
			rep.Tenders.InFlightCount++
			inFlight += p.Amount.Amount
		}
		if !taken(p.Status) {
			continue
		}
		isCash := p.Method == payment.MethodCash
		if today {
			t := tender(string(p.Method))
			t.Count++
			t.Amount.Amount += p.Amount.Amount
			t.Tips.Amount += p.Tip.Amount
			t.Surcharges.Amount += p.Surcharge.Amount
			t.ChangeGiven.Amount += p.Change.Amount
			tipsTotal += p.Tip.Amount
			if p.Tip.Amount != 0 {
				ts := tipsOf(p.ServerID)
				ts.payments++
				ts.tips += p.Tip.Amount
			}
			if !dayChecks[p.OrderID] {
				takenOtherChecks += p.Amount.Amount
				tipsOtherChecks += p.Tip.Amount
			}
			if isCash && !sessions[p.DrawerSessionID] {
				cashOtherSessions += p.Amount.Amount + p.Tip.Amount
			}
		} else {
			if dayChecks[p.OrderID] {
				takenOtherDays += p.Amount.Amount
				tipsOtherDays += p.Tip.Amount
			}
			if isCash && sessions[p.DrawerSessionID] {
				cashOtherDays += p.Amount.Amount + p.Tip.Amount
			}
		}
	}
	rep.Tenders.InFlightAmount = m(inFlight)
	var refundCount int
	var refundTotal, fromAmount, fromTips, pendingRefunds int64
	var refundedOtherChecks, refundedOtherDays, tipsRefundedOtherChecks, tipsRefundedOtherDays int64
	var cashRefundsOtherSessions, cashRefundsOtherDays, cashRefundsToday int64
	refundsBy := map[string]*MethodRefunds{}
	for _, r := range rows.Refunds {
		today := r.BusinessDate == date
		if today && r.Status == payment.RefundPending {
			rep.Refunds.PendingCount++
			pendingRefunds += r.Amount.Amount
		}
		if r.Status != payment.RefundSucceeded {
			continue
		}
		part := parts[r.ID]
		isCash := r.Method == payment.MethodCash
		if today {
			refundCount++
			refundTotal += r.Amount.Amount
			fromAmount += part.amount
			fromTips += part.tip
			t := tender(string(r.Method))
			t.RefundCount++
			t.Refunds.Amount += r.Amount.Amount
			mr := refundsBy[string(r.Method)]
			if mr == nil {
				mr = &MethodRefunds{Method: string(r.Method), Amount: m(0)}
				refundsBy[string(r.Method)] = mr
			}
			mr.Count++
			mr.Amount.Amount += r.Amount.Amount
			if part.tip != 0 {
				server := ""
				if p := payments[r.PaymentID]; p != nil {
					server = p.ServerID
				}
				tipsOf(server).refunds += part.tip
				tipsRefunded += part.tip
			}
			if !dayChecks[r.OrderID] {
				refundedOtherChecks += part.amount
				tipsRefundedOtherChecks += part.tip
			}
			if isCash {
				cashRefundsToday += r.Amount.Amount
				if !sessions[r.DrawerSessionID] {
					cashRefundsOtherSessions += r.Amount.Amount
				}
			}
		} else {
			if dayChecks[r.OrderID] {
				refundedOtherDays += part.amount
				tipsRefundedOtherDays += part.tip
			}
			if isCash && sessions[r.DrawerSessionID] {
				cashRefundsOtherDays += r.Amount.Amount
			}
		}
	}

	// Tenders, in a stable order: cash, card, then any other by name.
	methods := make([]string, 0, len(tenders))
	for k := range tenders {
		methods = append(methods, k)
	}
	slices.SortFunc(methods, func(a, b string) int {
		rank := func(s string) int {
			switch s {
			case string(payment.MethodCash):
				return 0
			case string(payment.MethodCard):
				return 1
			}
			return 2
		}
		if c := rank(a) - rank(b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	tot := Tender{Method: "total"}
	for _, k := range methods {
		t := tenders[k]
		t.Net.Amount = t.Amount.Amount + t.Tips.Amount + t.Surcharges.Amount - t.Refunds.Amount
		for _, x := range []*money.Money{&t.Amount, &t.Tips, &t.Surcharges, &t.Refunds, &t.Net, &t.ChangeGiven} {
			x.Currency = cur
		}
		tot.Count += t.Count
		tot.RefundCount += t.RefundCount
		tot.Amount.Amount += t.Amount.Amount
		tot.Tips.Amount += t.Tips.Amount
		tot.Surcharges.Amount += t.Surcharges.Amount
		tot.Refunds.Amount += t.Refunds.Amount
		tot.Net.Amount += t.Net.Amount
		tot.ChangeGiven.Amount += t.ChangeGiven.Amount
		rep.Tenders.Methods = append(rep.Tenders.Methods, *t)
	}
	for _, x := range []*money.Money{&tot.Amount, &tot.Tips, &tot.Surcharges, &tot.Refunds, &tot.Net, &tot.ChangeGiven} {
		x.Currency = cur
	}
	rep.Tenders.Total = tot

	// Tips by server, by name.
	rep.Tips.Total, rep.Tips.Refunded, rep.Tips.Net = m(tipsTotal), m(tipsRefunded), m(tipsTotal-tipsRefunded)
	rep.Tips.ByServer = make([]ServerTips, 0, len(tipsBy))
	for server, ts := range tipsBy {
		rep.Tips.ByServer = append(rep.Tips.ByServer, ServerTips{ServerID: server, Name: name(server), Payments: ts.payments,
			Tips: m(ts.tips), Refunded: m(ts.refunds), Net: m(ts.tips - ts.refunds)})
	}
	slices.SortFunc(rep.Tips.ByServer, func(a, b ServerTips) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ServerID, b.ServerID)
	})

	// Refunds.
	rep.Refunds.Count, rep.Refunds.Total = refundCount, m(refundTotal)
	rep.Refunds.FromAmount, rep.Refunds.FromTips, rep.Refunds.PendingAmount = m(fromAmount), m(fromTips), m(pendingRefunds)
	rep.Refunds.ByMethod = []MethodRefunds{}
	for _, k := range methods {
		if mr := refundsBy[k]; mr != nil {
			rep.Refunds.ByMethod = append(rep.Refunds.ByMethod, *mr)
		}
	}

	// Cash drawers.
	cashRows := map[string]*[2]int64{} // session → Σ cash taken, Σ cash refunded, from the rows
	for _, p := range rows.Payments {
		if p.Method == payment.MethodCash && taken(p.Status) && sessions[p.DrawerSessionID] {
			cashRowsOf(cashRows, p.DrawerSessionID)[0] += p.Amount.Amount + p.Tip.Amount
		}
	}
	for _, r := range rows.Refunds {
		if r.Method == payment.MethodCash && r.Status == payment.RefundSucceeded && sessions[r.DrawerSessionID] {
			cashRowsOf(cashRows, r.DrawerSessionID)[1] += r.Amount.Amount
		}
	}
	c := &rep.Cash
	c.Sessions = make([]DrawerFigures, 0, len(rows.Sessions))
	var float, cashSales, cashRefunds, paidIn, paidOut, expected, counted, variance int64
	var drawerIdentities []Identity
	for _, x := range rows.Sessions {
		s := x.Session
		sum := s.summary(x.Sums)
		d := DrawerFigures{SessionID: s.ID, DrawerID: s.DrawerID, DrawerName: x.DrawerName, Status: s.Status, OpenedBy: s.OpenedBy,
			OpenedByName: name(s.OpenedBy), OpenedAt: s.OpenedAt, ClosedAt: s.ClosedAt, Summary: sum}
		float += sum.Float.Amount
		cashSales += sum.CashSales.Amount
		cashRefunds += sum.CashRefunds.Amount
		paidIn += sum.PaidIn.Amount
		paidOut += sum.PaidOut.Amount
		expected += sum.Expected.Amount
		rowSums := cashRowsOf(cashRows, s.ID)
		formula := Identity{Name: "drawer " + x.DrawerName + ": expected",
			Rule: "float + cash sales − cash refunds + paid in − paid out = expected, cash sales and refunds added up from the session's payment and refund rows" +
				"; for a closed session, the expected recorded at its close",
			Left:  m(sum.Float.Amount + rowSums[0] - rowSums[1] + sum.PaidIn.Amount - sum.PaidOut.Amount),
			Right: sum.Expected, Adjustments: []Term{}}
		if s.Status == SessionClosed {
			var cnt int64
			if s.Counted != nil {
				cnt = s.Counted.Amount
			}
			d.Counted, d.Variance, d.ApprovedBy, d.ApprovedByName = s.Counted, s.Variance, s.ApprovedBy, name(s.ApprovedBy)
			counted += cnt
			var exp, vr int64
			if s.Expected != nil {
				exp = s.Expected.Amount
				formula.Right = *s.Expected
			}
			if s.Variance != nil {
				vr = s.Variance.Amount
			}
			variance += vr
			drawerIdentities = append(drawerIdentities, formula, Identity{Name: "drawer " + x.DrawerName + ": variance",
				Rule: "counted − expected = variance", Left: m(cnt - exp), Right: m(vr), Adjustments: []Term{}})
		} else {
			c.OpenSessions++
			rep.StillOpen = append(rep.StillOpen, "drawer "+x.DrawerName+" is open")
			drawerIdentities = append(drawerIdentities, formula)
		}
		c.Sessions = append(c.Sessions, d)
	}
	c.Float, c.CashSales, c.CashRefunds, c.PaidIn, c.PaidOut = m(float), m(cashSales), m(cashRefunds), m(paidIn), m(paidOut)
	c.Expected, c.Counted, c.Variance = m(expected), m(counted), m(variance)

	// The identities.
	var cashTender *Tender
	for i := range rep.Tenders.Methods {
		if rep.Tenders.Methods[i].Method == string(payment.MethodCash) {
			cashTender = &rep.Tenders.Methods[i]
		}
	}
	rep.Reconciliation = []Identity{
		{Name: "sales", Rule: "net sales + service charge + tax added = Σ totals.total of the closed checks",
			Left: m(netSales + serviceCharge + taxAdded), Right: m(total), Adjustments: []Term{}},
		{Name: "vat tax", Rule: "Σ tax of the VAT rates = tax", Left: m(vatTax), Right: m(tax), Adjustments: []Term{}},
		{Name: "vat gross", Rule: "Σ gross of the VAT rates = net sales + tax added", Left: m(vatGross), Right: m(netSales + taxAdded),
			Adjustments: []Term{}},
		{Name: "vat net", Rule: "Σ net of the VAT rates = net sales − tax included", Left: m(vatNet), Right: m(netSales - taxIncluded),
			Adjustments: []Term{}},
		{Name: "payments to checks",
			Rule: "Σ amount of the day's payments − the part of the day's refunds taken off amounts, adjusted for payments and refunds whose " +
				"check is of another business date (a check paid after the cutoff, a refund on a later day) = Σ payments.paid of the day's checks",
			Left: m(tot.Amount.Amount - fromAmount),
			Adjustments: []Term{
				{Name: "taken today for checks of other business dates", Amount: m(-takenOtherChecks)},
				{Name: "taken on other business dates for today's checks", Amount: m(takenOtherDays)},
				{Name: "refunded today from checks of other business dates", Amount: m(refundedOtherChecks)},
				{Name: "refunded on other business dates from today's checks", Amount: m(-refundedOtherDays)},
			},
			Right: m(paidOnChecks)},
		{Name: "tips to checks",
			Rule: "Σ tips of the day's payments − tips refunded, adjusted the same way = Σ payments.tips of the day's checks",
			Left: m(tipsTotal - tipsRefunded),
			Adjustments: []Term{
				{Name: "tips taken today on checks of other business dates", Amount: m(-tipsOtherChecks)},
				{Name: "tips taken on other business dates on today's checks", Amount: m(tipsOtherDays)},
				{Name: "tips refunded today from checks of other business dates", Amount: m(tipsRefundedOtherChecks)},
				{Name: "tips refunded on other business dates from today's checks", Amount: m(-tipsRefundedOtherDays)},
			},
			Right: m(tipsOnChecks)},
	}
	cashLeft := int64(0)
	if cashTender != nil {
		cashLeft = cashTender.Amount.Amount + cashTender.Tips.Amount - cashRefundsToday
	}
	rep.Reconciliation = append(rep.Reconciliation, Identity{Name: "cash to drawers",
		Rule: "cash taken today (amount + tips) − cash refunded today, adjusted for cash in drawer sessions of other business dates " +
			"= Σ (cash sales − cash refunds) of the day's drawer sessions",
		Left: m(cashLeft),
		Adjustments: []Term{
			{Name: "cash taken today into drawer sessions of other business dates", Amount: m(-cashOtherSessions)},
			{Name: "cash taken on other business dates into today's drawer sessions", Amount: m(cashOtherDays)},
			{Name: "cash refunded today out of drawer sessions of other business dates", Amount: m(cashRefundsOtherSessions)},
			{Name: "cash refunded on other business dates out of today's drawer sessions", Amount: m(-cashRefundsOtherDays)},
		},
		Right: m(cashSales - cashRefunds)})
	rep.Reconciliation = append(rep.Reconciliation, drawerIdentities...)
	for i := range rep.Reconciliation {
		rep.Reconciliation[i].check()
	}

	rep.Kind = ReportZ
	if len(rep.StillOpen) > 0 {
		rep.Kind = ReportX
	}
	rep.Sources = daySources(loc.ID, date)
	return rep
}

func cashRowsOf(rows map[string]*[2]int64, session string) *[2]int64 {
	v := rows[session]
	if v == nil {
		v = &[2]int64{}
		rows[session] = v
	}
	return v
}

// check works out whether the identity holds.
func (x *Identity) check() {
	sum := x.Left.Amount
	for _, t := range x.Adjustments {
		sum += t.Amount.Amount
	}
	x.Holds = sum == x.Right.Amount
}

func lineName(l *order.Line) string {
	if l.VariantName != "" && l.VariantName != l.Name {
		return l.Name + " (" + l.VariantName + ")"
	}
	return l.Name
}

// definitions explain the report's figures, once.
var definitions = map[string]string{
	"kind":            "X while any check of the business date is open, sent or paid but not closed, or any drawer session of the date is open; Z once none is (reopening a check makes it an X again)",
	"checks.closed":   "checks of the business date (orders.business_date) with status closed; sales are over these only",
	"checks.open":     "checks of the business date with status open, sent or paid: their totals are not in sales, what was paid toward them is in tenders",
	"checks.average":  "net sales ÷ closed checks, rounded half-up; 0 when none closed",
	"sales.gross":     "Σ totals.subtotal of the closed checks: the live lines' (unit price + modifiers) × quantity, tax included where prices include it",
	"sales.comps":     "Σ price.discount of the closed checks' live comped lines: a comp discounts the line's whole gross",
	"sales.discounts": "Σ totals.discounts − comps: line and check discounts",
	"sales.net_sales": "gross − discounts − comps: what was sold after every reduction, before the service charge (VAT inside it where prices include VAT)",
	"sales.tax":       "Σ totals.tax; tax_added is the tax of checks priced tax-exclusive, tax_included of the others",
	"sales.total":     "Σ totals.total = net sales + service charge + tax added",
	"vat":             "each closed check's totals.taxes added up by rate_bp: net excluding tax, tax, gross including tax",
	"voids":           "lines with kitchen_state voided: value = (unit price + modifiers) × quantity, what they would have cost; lines voided on checks that carried on are voided lines, the lines of voided checks the voided checks' value; cancelled checks (never sent) are not valued",
	"tenders":         "payments of the business date (payments.business_date) that took money (captured, partially_refunded, refunded), by method: amount toward checks (change excluded), tips, surcharges; refunds = succeeded refunds of the business date (refunds.business_date) by method; net = amount + tips + surcharges − refunds",
	"tips":            "Σ tip of the tenders' payments, by the payment's server_id; refunded = the part of the day's refunds taken off tips (a refund takes its payment's amount first, then its tip)",
	"refunds":         "refunds of the business date that succeeded; pending ones are listed apart and not counted",
	"cash":            "drawer sessions of the business date (drawer_sessions.business_date), each with its summary: expected = float + cash sales − cash refunds + paid in − paid out; counted and variance once closed; counted and variance totals are over closed sessions",
	"reconciliation":  "identities left + Σ adjustments = right, each checked; an adjustment names rows of another business date that explain a difference",
}

// daySources says how to reproduce a day's figures from the API.
func daySources(loc, date string) DaySources {
	orders := "GET /api/v1/orders?location_id=" + loc + "&status="
	keep := ", following next_cursor; the list does not filter by business date, so keep the checks whose business_date is " + date
	payments := "GET /api/v1/payments?location_id=" + loc + "&business_date=" + date
	refunds := "GET /api/v1/refunds?location_id=" + loc + "&business_date=" + date
	return DaySources{
		Checks: orders + "closed (and status=open,sent,paid; cancelled; voided)" + keep +
			": closed = their count, covers = Σ covers, open_total = Σ totals.total and open_paid = Σ payments.paid of the open, sent and paid ones",
		Sales: orders + "closed" + keep + ": gross = Σ totals.subtotal; comps = Σ lines[].price.discount of lines with a comp and kitchen_state not voided; " +
			"discounts = Σ totals.discounts − comps; service_charge = Σ totals.service_charge; tax = Σ totals.tax (tax_added: checks with tax_mode exclusive); total = Σ totals.total",
		VAT: orders + "closed" + keep + ": Σ totals.taxes[].net, .tax and .gross by rate_bp",
		Voids: "GET /api/v1/orders?location_id=" + loc + keep + ": lines[] with kitchen_state voided (checks not cancelled), " +
			"value = (unit_price.amount + Σ modifiers[].price.amount) × quantity; those of checks with status voided make checks_value",
		Tenders: payments + "&status=captured,partially_refunded,refunded: by method, count, Σ amount, Σ tip, Σ surcharge, Σ change; refunds = " +
			refunds + "&status=succeeded by method; net = amount + tips + surcharges − refunds. In flight: " + payments + "&status=pending,requires_action,authorized",
		Tips: payments + "&status=captured,partially_refunded,refunded: Σ tip by server_id; refunded: for each of " + refunds +
			"&status=succeeded, the part beyond what was left of its payment's amount (GET /api/v1/refunds?payment_id=… in order of updated_at)",
		Refunds: refunds + "&status=succeeded: count, Σ amount, by method; pending: &status=pending",
		Cash: "GET /api/v1/cash-drawers?location_id=" + loc + ", then GET /api/v1/cash-drawers/{id}/sessions: the sessions with business_date " + date +
			"; each one's summary, counted and variance from GET /api/v1/cash-drawers/{id}/sessions/{session_id}/report, which lists its rows",
		Reconciliation: "Σ payments.paid and payments.tips of the day's checks (above); the adjustments come from GET /api/v1/payments?order_id=… of each check " +
			"and GET /api/v1/refunds?payment_id=… of each payment, and GET /api/v1/payments?drawer_session_id=… of each drawer session, " +
			"keeping those whose business_date is not " + date,
	}
}

// SessionReport is the X (open) or Z (closed) report of a drawer session.
type SessionReport struct {
	Kind           string             `json:"kind" enum:"X,Z" doc:"X while the session is open, Z once closed"`
	Session        *Session           `json:"session" doc:"with its summary, counted, expected, variance and approver"`
	DrawerName     string             `json:"drawer_name"`
	OpenedByName   string             `json:"opened_by_name,omitempty"`
	ClosedByName   string             `json:"closed_by_name,omitempty"`
	ApprovedByName string             `json:"variance_approved_by_name,omitempty"`
	Payments       []*payment.Payment `json:"payments" doc:"the cash payments into the session that took money: cash_sales is Σ amount + tip"`
	Refunds        []*payment.Refund  `json:"refunds" doc:"the cash refunds paid out of the session: cash_refunds is Σ amount"`
	Movements      []*Movement        `json:"movements" doc:"paid in, paid out and no-sale opens"`
	Reconciliation []Identity         `json:"reconciliation"`
	GeneratedAt    time.Time          `json:"generated_at"`
}

// SessionReport returns a drawer session's report. Errors: NotFound.
func (s *Service) SessionReport(ctx context.Context, a order.Actor, drawerID, sessionID string) (*SessionReport, error) {
	rs, err := s.reportStore()
	if err != nil {
		return nil, err
	}
	rows, err := rs.FindSessionRows(ctx, a.OrgID, sessionID)
	if err != nil {
		return nil, err
	}
	if rows.Session.DrawerID != drawerID || atLocation(a, rows.Session.LocationID, "") != nil {
		return nil, apperr.NotFoundf("drawer session")
	}
	return BuildSessionReport(rows, s.now().UTC()), nil
}

// BuildSessionReport works out a drawer session's report from its rows.
func BuildSessionReport(rows *SessionRows, now time.Time) *SessionReport {
	sess := *rows.Session
	sum := sess.summary(rows.Sums)
	sess.Summary = sum
	cur := sess.Float.Currency
	m := func(a int64) money.Money { return money.Money{Amount: a, Currency: cur} }
	rep := &SessionReport{Kind: ReportX, Session: &sess, DrawerName: rows.DrawerName, OpenedByName: rows.Names[sess.OpenedBy],
		ClosedByName: rows.Names[sess.ClosedBy], ApprovedByName: rows.Names[sess.ApprovedBy], Payments: rows.Payments,
		Refunds: rows.Refunds, Movements: rows.Movements, GeneratedAt: now}
	if rep.Payments == nil {
		rep.Payments = []*payment.Payment{}
	}
	if rep.Refunds == nil {
		rep.Refunds = []*payment.Refund{}
	}
	if rep.Movements == nil {
		rep.Movements = []*Movement{}
	}
	var in, out, paidIn, paidOut int64
	for _, p := range rep.Payments {
		in += p.Amount.Amount + p.Tip.Amount
	}
	for _, r := range rep.Refunds {
		out += r.Amount.Amount
	}
	for _, mv := range rep.Movements {
		switch mv.Kind {
		case MovePaidIn:
			paidIn += mv.Amount.Amount
		case MovePaidOut:
			paidOut += mv.Amount.Amount
		}
	}
	none := []Term{}
	rep.Reconciliation = []Identity{
		{Name: "cash sales", Rule: "Σ (amount + tip) of the listed payments = cash_sales", Left: m(in), Right: sum.CashSales, Adjustments: none},
		{Name: "cash refunds", Rule: "Σ amount of the listed refunds = cash_refunds", Left: m(out), Right: sum.CashRefunds, Adjustments: none},
		{Name: "paid in", Rule: "Σ amount of the listed paid_in movements = paid_in", Left: m(paidIn), Right: sum.PaidIn, Adjustments: none},
		{Name: "paid out", Rule: "Σ amount of the listed paid_out movements = paid_out", Left: m(paidOut), Right: sum.PaidOut, Adjustments: none},
		{Name: "expected", Rule: "float + cash sales − cash refunds + paid in − paid out = expected",
			Left: m(sum.Float.Amount + in - out + paidIn - paidOut), Right: sum.Expected, Adjustments: none},
	}
	if sess.Status == SessionClosed {
		rep.Kind = ReportZ
		var counted, expected, variance int64
		if sess.Counted != nil {
			counted = sess.Counted.Amount
		}
		if sess.Expected != nil {
			expected = sess.Expected.Amount
		}
		if sess.Variance != nil {
			variance = sess.Variance.Amount
		}
		rep.Reconciliation = append(rep.Reconciliation,
			Identity{Name: "expected at close", Rule: "the expected recorded at close = the expected summed now (nothing moves in a closed drawer)",
				Left: m(expected), Right: sum.Expected, Adjustments: none},
			Identity{Name: "variance", Rule: "counted − expected = variance", Left: m(counted - expected), Right: m(variance), Adjustments: none})
	}
	for i := range rep.Reconciliation {
		rep.Reconciliation[i].check()
	}
	return rep
}
