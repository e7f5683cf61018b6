package cash

import (
	"fmt"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/order"
	"github.com/fynlo/fynlo/internal/payment"
	"github.com/fynlo/fynlo/internal/tenant"
)

func gbp(a int64) money.Money { return money.Money{Amount: a, Currency: "GBP"} }

var t0 = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

func TestReportDivHalfUp(t *testing.T) {
	for _, c := range []struct{ n, d, want int64 }{
		{0, 0, 0}, {5, 0, 0}, {0, 3, 0}, {10, 2, 5}, {10, 3, 3}, {11, 3, 4}, {1, 3, 0}, {2, 3, 1},
		{5, 2, 3}, {7, 2, 4}, {3, 2, 2}, {1, 2, 1}, {-5, 2, -3}, {-4, 3, -1}, {-5, 3, -2}, {4680, 2, 2340}, {5065, 4, 1266},
	} {
		if got := divHalfUp(c.n, c.d); got != c.want {
			t.Errorf("divHalfUp(%d, %d) = %d, want %d", c.n, c.d, got, c.want)
		}
	}
}

func TestReportRefundParts(t *testing.T) {
	pay := func(id string, amount, tip int64) *payment.Payment {
		return &payment.Payment{ID: id, Amount: gbp(amount), Tip: gbp(tip)}
	}
	ref := func(id, pid, status string, amount int64, at int) *payment.Refund {
		return &payment.Refund{ID: id, PaymentID: pid, Status: status, Amount: gbp(amount), UpdatedAt: t0.Add(time.Duration(at) * time.Minute)}
	}
	for _, c := range []struct {
		name     string
		payments []*payment.Payment
		refunds  []*payment.Refund
		want     map[string]refundPart
	}{
		{"one partial refund: all off the amount", []*payment.Payment{pay("p", 1000, 100)},
			[]*payment.Refund{ref("r1", "p", payment.RefundSucceeded, 400, 1)}, map[string]refundPart{"r1": {400, 0}}},
		{"the whole payment: amount, then tip", []*payment.Payment{pay("p", 1000, 100)},
			[]*payment.Refund{ref("r1", "p", payment.RefundSucceeded, 1100, 1)}, map[string]refundPart{"r1": {1000, 100}}},
		{"the second crosses into the tip", []*payment.Payment{pay("p", 1000, 100)},
			[]*payment.Refund{ref("r1", "p", payment.RefundSucceeded, 500, 1), ref("r2", "p", payment.RefundSucceeded, 550, 2)},
			map[string]refundPart{"r1": {500, 0}, "r2": {500, 50}}},
		{"in the order they succeeded, not their IDs", []*payment.Payment{pay("p", 1000, 100)},
			[]*payment.Refund{ref("r1", "p", payment.RefundSucceeded, 100, 5), ref("r2", "p", payment.RefundSucceeded, 1000, 1)},
			map[string]refundPart{"r2": {1000, 0}, "r1": {0, 100}}},
		{"pending and failed refunds took nothing", []*payment.Payment{pay("p", 1000, 100)},
			[]*payment.Refund{ref("r1", "p", payment.RefundPending, 1000, 1), ref("r2", "p", payment.RefundFailed, 1000, 2),
				ref("r3", "p", payment.RefundSucceeded, 1050, 3)},
			map[string]refundPart{"r3": {1000, 50}}},
		{"payments apart", []*payment.Payment{pay("p", 300, 0), pay("q", 200, 20)},
			[]*payment.Refund{ref("r1", "p", payment.RefundSucceeded, 300, 1), ref("r2", "q", payment.RefundSucceeded, 220, 1)},
			map[string]refundPart{"r1": {300, 0}, "r2": {200, 20}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ps := map[string]*payment.Payment{}
			for _, p := range c.payments {
				ps[p.ID] = p
			}
			got := refundParts(ps, c.refunds)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("parts %v, want %v", got, c.want)
			}
		})
	}
}

// day builds the rows of a business day, worked through by hand below.
type day struct {
	loc  *tenant.Location
	rows *DayRows
}

const (
	dayD  = "2026-03-14"
	dayD0 = "2026-03-13" // the day before
	dayD1 = "2026-03-15" // the day after
)

func line(id string, unit int64, qty, rateBP int) *order.Line {
	return &order.Line{ID: id, Name: id, Quantity: qty, UnitPrice: gbp(unit), Modifiers: []order.ChosenModifier{},
		TaxRates: menu.Rates{DineIn: rateBP, Takeaway: rateBP, Delivery: rateBP}, KitchenState: order.LineServed}
}

func check(t *testing.T, id string, number int, status order.Status, taxMode string, scBP, covers int, server string, lines ...*order.Line) *order.Order {
	t.Helper()
	o := &order.Order{ID: id, Number: number, BusinessDate: dayD, Type: order.TypeDineIn, Covers: covers, ServerID: server, Status: status,
		Currency: "GBP", TaxMode: taxMode, TaxRounding: order.RoundPerCheck, Lines: lines, ServiceCharge: order.ServiceCharge{RateBP: scBP}}
	if err := o.Reprice(nil); err != nil {
		t.Fatal(err)
	}
	return o
}

func paid(o *order.Order, paid, tips int64) *order.Order {
	o.Payments.Paid, o.Payments.Tips = gbp(paid), gbp(tips)
	return o
}

func newDay(t *testing.T, finished bool) day {
	loc := &tenant.Location{ID: "loc_1", Name: "The Test Arms", Currency: "GBP", TaxMode: order.TaxInclusive}
	void := func(l *order.Line, why string) *order.Line {
		l.KitchenState, l.Void = order.LineVoided, &order.Mark{Reason: why, By: "emp_maya", At: t0}
		return l
	}
	// C1, closed, VAT inside: 12.00 with 10% off, a comped 8.00, two
	// chips voided (8.00 they would have cost), two sodas at 2.50 + 0.50.
	l1 := line("burger", 1200, 1, 2000)
	l1.Discount = &order.Discount{Kind: order.DiscountPercent, PercentBP: 1000, Reason: "regular"}
	l2 := line("wine", 800, 1, 2000)
	l2.Comp = &order.Mark{Reason: "birthday", By: "emp_maya", At: t0}
	l4 := line("soda", 250, 2, 2000)
	l4.Modifiers = []order.ChosenModifier{{Name: "ice", Price: gbp(50)}}
	c1 := paid(check(t, "ord_1", 1, order.StatusClosed, order.TaxInclusive, 0, 2, "emp_tom", l1, l2, void(line("chips", 400, 2, 2000), "dropped"), l4), 1680, 100)
	// C2, closed, tax added: 3 × 10.00 at 8% with 10% service: 30.00 + 3.00 + 2.40.
	c2 := paid(check(t, "ord_2", 2, order.StatusClosed, order.TaxExclusive, 1000, 3, "emp_aisha", line("steak", 1000, 3, 800)), 0, 40)
	// C3, still sent (or closed, for a finished day): 5.00, 3.00 paid.
	st3 := order.StatusSent
	if finished {
		st3 = order.StatusClosed
	}
	c3 := paid(check(t, "ord_3", 3, st3, order.TaxInclusive, 0, 2, "emp_aisha", line("pie", 500, 1, 2000)), 300, 0)
	// C4 voided (9.00 of food), C5 cancelled (never sent).
	c4 := check(t, "ord_4", 4, order.StatusVoided, order.TaxInclusive, 0, 1, "emp_tom", void(line("soup", 900, 1, 2000), "walked out"))
	c5 := check(t, "ord_5", 5, order.StatusCancelled, order.TaxInclusive, 0, 1, "emp_tom", void(line("tart", 300, 1, 2000), "wrong table"))

	p := func(id, orderID, date string, method payment.Method, st payment.Status, amount, tip, change int64, session, server string) *payment.Payment {
		return &payment.Payment{ID: id, OrderID: orderID, BusinessDate: date, Method: method, Status: st, Amount: gbp(amount), Tip: gbp(tip),
			Change: gbp(change), Surcharge: gbp(0), DrawerSessionID: session, ServerID: server}
	}
	r := func(id, paymentID, orderID, date string, method payment.Method, st string, amount int64, session string, at int) *payment.Refund {
		return &payment.Refund{ID: id, PaymentID: paymentID, OrderID: orderID, BusinessDate: date, Method: method, Status: st, Amount: gbp(amount),
			DrawerSessionID: session, UpdatedAt: t0.Add(time.Duration(at) * time.Minute)}
	}
	payments := []*payment.Payment{
		p("pay_1", "ord_1", dayD, payment.MethodCash, payment.StatusCaptured, 1680, 100, 220, "dss_1", "emp_tom"),
		p("pay_2", "ord_2", dayD, payment.MethodCard, payment.StatusRefunded, 3540, 500, 0, "", "emp_aisha"),
		p("pay_3", "ord_3", dayD, payment.MethodCash, payment.StatusCaptured, 200, 0, 0, "dss_1", "emp_aisha"),
		// Into last night's drawer, still open.
		p("pay_z", "ord_3", dayD, payment.MethodCash, payment.StatusCaptured, 100, 0, 0, "dss_0", "emp_aisha"),
		// For yesterday's check, paid today by card.
		p("pay_x", "ord_x", dayD, payment.MethodCard, payment.StatusCaptured, 700, 0, 0, "", "emp_tom"),
		// Yesterday's cash payment, refunded today out of today's drawer.
		p("pay_x2", "ord_x", dayD0, payment.MethodCash, payment.StatusPartiallyRefunded, 400, 0, 0, "dss_0", "emp_tom"),
		// A card being authorised: in flight, not taken.
		p("pay_f", "ord_3", dayD, payment.MethodCard, payment.StatusAuthorized, 200, 0, 0, "", "emp_aisha"),
	}
	if finished {
		payments = payments[:len(payments)-1]
	}
	refunds := []*payment.Refund{
		r("rfd_1", "pay_2", "ord_2", dayD, payment.MethodCard, payment.RefundSucceeded, 1000, "", 1),
		r("rfd_2", "pay_2", "ord_2", dayD1, payment.MethodCard, payment.RefundSucceeded, 3000, "", 2), // tomorrow: 25.40 off the amount, 4.60 off the tip
		r("rfd_x", "pay_x2", "ord_x", dayD, payment.MethodCash, payment.RefundSucceeded, 150, "dss_1", 1),
		r("rfd_p", "pay_2", "ord_2", dayD, payment.MethodCard, payment.RefundPending, 50, "", 3),
	}
	closedAt := t0.Add(10 * time.Hour)
	s1 := &Session{ID: "dss_1", DrawerID: "drw_1", BusinessDate: dayD, Status: SessionClosed, Float: gbp(5000), OpenedBy: "emp_maya", OpenedAt: t0,
		ClosedBy: "emp_maya", ClosedAt: &closedAt, Counted: ptr(gbp(6500)), Expected: ptr(gbp(6530)), Variance: ptr(gbp(-30)), ApprovedBy: "emp_maya"}
	rows := &DayRows{
		Orders:   []*order.Order{c1, c2, c3, c4, c5},
		Payments: payments,
		Refunds:  refunds,
		Sessions: []SessionSums{{Session: s1, DrawerName: "Front <till>",
			Sums: Sums{CashSales: 1780 + 200, CashRefunds: 150, Payments: 2, PaidOut: 300, NoSales: 1}}},
		Names: map[string]string{"emp_tom": "Tom", "emp_aisha": "Aisha", "emp_maya": "Maya"},
	}
	return day{loc: loc, rows: rows}
}

func ptr(m money.Money) *money.Money { return &m }

// TestBuildDayReport works a day out by hand and checks every figure.
func TestBuildDayReport(t *testing.T) {
	d := newDay(t, false)
	rep := BuildDayReport(d.loc, dayD, d.rows, t0)
	eq := func(what string, got money.Money, want int64) {
		t.Helper()
		if got.Currency != "GBP" || got.Amount != want {
			t.Errorf("%s = %d %s, want %d GBP", what, got.Amount, got.Currency, want)
		}
	}
	n := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", what, got, want)
		}
	}
	if rep.Kind != ReportX || fmt.Sprint(rep.StillOpen) != "[check #3 is sent]" {
		t.Errorf("kind %s, still open %v", rep.Kind, rep.StillOpen)
	}
	c := rep.Checks
	n("closed", c.Closed, 2)
	n("covers", c.Covers, 5)
	n("open", c.Open, 1)
	n("cancelled", c.Cancelled, 1)
	n("voided", c.Voided, 1)
	eq("open total", c.OpenTotal, 500)
	eq("open paid", c.OpenPaid, 300)
	eq("average check", c.AverageCheck, 2340) // 46.80 net ÷ 2

	s := rep.Sales
	eq("gross", s.Gross, 2600+3000)
	eq("discounts", s.Discounts, 120)
	eq("comps", s.Comps, 800)
	eq("net sales", s.NetSales, 4680)
	eq("service charge", s.ServiceCharge, 300)
	eq("tax", s.Tax, 280+240)
	eq("tax included", s.TaxIncluded, 280)
	eq("tax added", s.TaxAdded, 240)
	eq("net sales ex tax", s.NetSalesExTax, 4400)
	eq("total", s.Total, 1680+3540)
	n("discount count", s.DiscountCount, 1)
	n("comp count", s.CompCount, 1)
	if len(rep.VAT) != 2 || rep.VAT[0].RateBP != 800 || rep.VAT[1].RateBP != 2000 {
		t.Fatalf("vat %v", rep.VAT)
	}
	eq("vat 8% net", rep.VAT[0].Net, 3000)
	eq("vat 8% tax", rep.VAT[0].Tax, 240)
	eq("vat 8% gross", rep.VAT[0].Gross, 3240)
	eq("vat 20% net", rep.VAT[1].Net, 1400)
	eq("vat 20% tax", rep.VAT[1].Tax, 280)
	eq("vat 20% gross", rep.VAT[1].Gross, 1680)

	v := rep.Voids
	n("void lines", v.Lines, 1)
	n("void quantity", v.Quantity, 2)
	eq("void lines value", v.LinesValue, 800)
	n("void checks", v.Checks, 1)
	eq("void checks value", v.ChecksValue, 900)
	if len(v.Items) != 2 || v.Items[0].Reason != "dropped" || v.Items[0].ByName != "Maya" || !v.Items[1].CheckVoided {
		t.Errorf("void items %+v", v.Items)
	}

	if len(rep.Tenders.Methods) != 2 || rep.Tenders.Methods[0].Method != "cash" || rep.Tenders.Methods[1].Method != "card" {
		t.Fatalf("tenders %+v", rep.Tenders.Methods)
	}
	cash, card, tot := rep.Tenders.Methods[0], rep.Tenders.Methods[1], rep.Tenders.Total
	n("cash count", cash.Count, 3)
	eq("cash amount", cash.Amount, 1680+200+100)
	eq("cash tips", cash.Tips, 100)
	eq("cash change", cash.ChangeGiven, 220)
	eq("cash refunds", cash.Refunds, 150)
	eq("cash net", cash.Net, 1980+100-150)
	n("card count", card.Count, 2)
	eq("card amount", card.Amount, 3540+700)
	eq("card tips", card.Tips, 500)
	eq("card refunds", card.Refunds, 1000) // tomorrow's is tomorrow's; the pending one is not counted
	eq("card net", card.Net, 4240+500-1000)
	n("total count", tot.Count, 5)
	eq("total amount", tot.Amount, 6220)
	eq("total net", tot.Net, 5670)
	n("in flight", rep.Tenders.InFlightCount, 1)
	eq("in flight amount", rep.Tenders.InFlightAmount, 200)

	eq("tips", rep.Tips.Total, 600)
	eq("tips refunded", rep.Tips.Refunded, 0)
	if got := fmt.Sprintf("%+v", rep.Tips.ByServer); got != fmt.Sprintf("%+v", []ServerTips{
		{ServerID: "emp_aisha", Name: "Aisha", Payments: 1, Tips: gbp(500), Refunded: gbp(0), Net: gbp(500)},
		{ServerID: "emp_tom", Name: "Tom", Payments: 1, Tips: gbp(100), Refunded: gbp(0), Net: gbp(100)}}) {
		t.Errorf("tips by server %s", got)
	}

	n("refunds", rep.Refunds.Count, 2)
	eq("refunds total", rep.Refunds.Total, 1150)
	eq("refunds from amount", rep.Refunds.FromAmount, 1150)
	eq("refunds from tips", rep.Refunds.FromTips, 0)
	n("pending refunds", rep.Refunds.PendingCount, 1)
	eq("pending refunds amount", rep.Refunds.PendingAmount, 50)

	if len(rep.Cash.Sessions) != 1 {
		t.Fatalf("sessions %+v", rep.Cash.Sessions)
	}
	ds := rep.Cash.Sessions[0]
	eq("expected", ds.Summary.Expected, 5000+1980-150-300)
	eq("counted", *ds.Counted, 6500)
	eq("variance", *ds.Variance, -30)
	if ds.DrawerName != "Front <till>" || ds.ApprovedByName != "Maya" || ds.OpenedByName != "Maya" {
		t.Errorf("session %+v", ds)
	}
	eq("cash expected", rep.Cash.Expected, 6530)
	eq("cash counted", rep.Cash.Counted, 6500)
	eq("cash variance", rep.Cash.Variance, -30)

	// Every identity holds, with the adjustments worked out by hand.
	want := map[string][]int64{
		"sales":                         {5220, 5220},
		"vat tax":                       {520, 520},
		"vat gross":                     {4920, 4920},
		"vat net":                       {4400, 4400},
		"payments to checks":            {6220 - 1150, -700, 0, 150, -2540, 1980},
		"tips to checks":                {600, 0, 0, 0, -460, 140},
		"cash to drawers":               {1980 + 100 - 150, -100, 0, 0, 0, 1830},
		"drawer Front <till>: expected": {6530, 6530},
		"drawer Front <till>: variance": {-30, -30},
	}
	if len(rep.Reconciliation) != len(want) {
		t.Errorf("%d identities, want %d", len(rep.Reconciliation), len(want))
	}
	for _, x := range rep.Reconciliation {
		got := []int64{x.Left.Amount}
		for _, a := range x.Adjustments {
			got = append(got, a.Amount.Amount)
		}
		got = append(got, x.Right.Amount)
		if fmt.Sprint(got) != fmt.Sprint(want[x.Name]) || !x.Holds {
			t.Errorf("identity %q: %v (holds %v), want %v", x.Name, got, x.Holds, want[x.Name])
		}
	}
}

// TestDayReportKind: Z only once every check is closed and every drawer
// counted; a drawer still open keeps it an X.
func TestDayReportKind(t *testing.T) {
	for _, c := range []struct {
		name       string
		finished   bool
		openDrawer bool
		kind       string
		stillOpen  string
	}{
		{"a check open", false, false, ReportX, "[check #3 is sent]"},
		{"a check and the drawer open", false, true, ReportX, "[check #3 is sent drawer Front <till> is open]"},
		{"the drawer open", true, true, ReportX, "[drawer Front <till> is open]"},
		{"finished", true, false, ReportZ, "[]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newDay(t, c.finished)
			if c.openDrawer {
				s := d.rows.Sessions[0].Session
				s.Status, s.ClosedAt, s.Counted, s.Expected, s.Variance, s.ApprovedBy = SessionOpen, nil, nil, nil, nil, ""
			}
			rep := BuildDayReport(d.loc, dayD, d.rows, t0)
			if rep.Kind != c.kind || fmt.Sprint(rep.StillOpen) != c.stillOpen {
				t.Fatalf("kind %s, still open %v; want %s, %s", rep.Kind, rep.StillOpen, c.kind, c.stillOpen)
			}
			for _, x := range rep.Reconciliation {
				if !x.Holds {
					t.Errorf("identity %q fails: %+v", x.Name, x)
				}
			}
			if c.openDrawer && (rep.Cash.OpenSessions != 1 || rep.Cash.Counted.Amount != 0 || rep.Cash.Sessions[0].Counted != nil) {
				t.Errorf("an open drawer: %+v", rep.Cash)
			}
		})
	}
}

// TestDayReportCatchesDrift: a sum that disagrees with its rows, or a
// check's paid that disagrees with its payments, makes its identity fail.
func TestDayReportCatchesDrift(t *testing.T) {
	d := newDay(t, true)
	s := d.rows.Sessions[0].Session
	s.Status, s.ClosedAt, s.Counted, s.Expected, s.Variance = SessionOpen, nil, nil, nil, nil
	d.rows.Sessions[0].Sums.CashSales += 1 // a penny the rows do not show
	d.rows.Orders[0].Payments.Paid.Amount++
	rep := BuildDayReport(d.loc, dayD, d.rows, t0)
	failed := map[string]bool{}
	for _, x := range rep.Reconciliation {
		if !x.Holds {
			failed[x.Name] = true
		}
	}
	if fmt.Sprint(failed) != fmt.Sprint(map[string]bool{"payments to checks": true, "cash to drawers": true, "drawer Front <till>: expected": true}) {
		t.Fatalf("failed identities %v", failed)
	}
}

// TestReportEmptyDay: nothing happened: a Z of zeros, cash and card listed.
func TestReportEmptyDay(t *testing.T) {
	loc := &tenant.Location{ID: "loc_1", Currency: "EUR"}
	rep := BuildDayReport(loc, dayD, &DayRows{}, t0)
	if rep.Kind != ReportZ || len(rep.Tenders.Methods) != 2 || rep.Checks.AverageCheck != (money.Money{Currency: "EUR"}) ||
		rep.Sales.Total != (money.Money{Currency: "EUR"}) || rep.Tenders.Total.Net != (money.Money{Currency: "EUR"}) {
		t.Fatalf("empty day %+v", rep)
	}
	for _, x := range rep.Reconciliation {
		if !x.Holds {
			t.Errorf("identity %q fails on an empty day", x.Name)
		}
	}
}

// TestBuildSessionReport: the rows add up to the summary; X while open,
// Z once closed; a row the sums miss fails its identity.
func TestBuildSessionReport(t *testing.T) {
	closedAt := t0.Add(time.Hour)
	mk := func(closed bool, extra int64) *SessionRows {
		s := &Session{ID: "dss_1", DrawerID: "drw_1", Status: SessionOpen, Float: gbp(10000), OpenedBy: "emp_maya"}
		if closed {
			s.Status, s.ClosedBy, s.ClosedAt = SessionClosed, "emp_cara", &closedAt
			s.Counted, s.Expected, s.Variance, s.ApprovedBy = ptr(gbp(11000)), ptr(gbp(11200)), ptr(gbp(-200)), ""
		}
		return &SessionRows{
			SessionSums: SessionSums{Session: s, DrawerName: "Front", Sums: Sums{CashSales: 1800 + extra, CashRefunds: 100, Payments: 2, PaidIn: 0, PaidOut: 500, NoSales: 1}},
			Payments:    []*payment.Payment{{ID: "p1", Amount: gbp(1000), Tip: gbp(100)}, {ID: "p2", Amount: gbp(700), Tip: gbp(0)}},
			Refunds:     []*payment.Refund{{ID: "r1", Amount: gbp(100)}},
			Movements:   []*Movement{{ID: "m1", Kind: MovePaidOut, Amount: gbp(500)}, {ID: "m2", Kind: MoveNoSale, Amount: gbp(0)}},
			Names:       map[string]string{"emp_maya": "Maya", "emp_cara": "Cara"},
		}
	}
	for _, c := range []struct {
		name   string
		closed bool
		extra  int64
		kind   string
		failed string
	}{
		{"open", false, 0, ReportX, "[]"},
		{"closed", true, 0, ReportZ, "[]"},
		{"a payment the rows miss", false, 1, ReportX, "[cash sales expected]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := BuildSessionReport(mk(c.closed, c.extra), t0)
			var failed []string
			for _, x := range rep.Reconciliation {
				if !x.Holds {
					failed = append(failed, x.Name)
				}
			}
			if rep.Kind != c.kind || fmt.Sprint(failed) != c.failed && !(c.failed == "[]" && failed == nil) {
				t.Fatalf("kind %s, failed %v; want %s, %s", rep.Kind, failed, c.kind, c.failed)
			}
			if rep.Session.Summary == nil || rep.Session.Summary.Expected.Amount != 10000+1800+c.extra-100-500 || rep.OpenedByName != "Maya" {
				t.Fatalf("summary %+v", rep.Session.Summary)
			}
			if c.closed && (rep.ClosedByName != "Cara" || len(rep.Reconciliation) != 7) {
				t.Fatalf("closed: %+v", rep)
			}
		})
	}
}
