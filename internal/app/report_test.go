package app_test

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/fynlo/fynlo/internal/app"
)

// reportDrawerName is a drawer name a browser must never run.
const reportDrawerName = `Bar <script>alert("drawer")</script>`

// reportVoidReason is a void reason a browser must never run.
const reportVoidReason = `<script>alert("void")</script> dropped`

// dayFigures are a day's figures worked out by the test from the API's own
// objects, independently of the report.
type dayFigures struct {
	closed, covers, open, cancelled, voided                      int
	gross, discounts, comps, serviceCharge, tax, total           int64
	taxIncluded, taxAdded                                        int64
	openTotal, openPaid, paidOnChecks, tipsOnChecks              int64
	vat                                                          map[int][3]int64
	voidLines, voidQty                                           int
	voidLinesValue, voidChecksValue                              int64
	tenders                                                      map[string][5]int64 // count, amount, tips, refunds, refund count
	tipsByServer                                                 map[string]int64
	tips, tipsRefunded, refundCount, refundTotal, refundFromAmnt int64
}

// listAll reads every page of a list endpoint.
func listAll(t *testing.T, s *server, token, path, key string) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for {
		p := path
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		r := s.call("GET", p, token, nil)
		if r.Status != 200 {
			t.Fatalf("GET %s: %d %s", p, r.Status, r.Body)
		}
		m := r.json(t)
		for _, x := range m[key].([]any) {
			out = append(out, x.(map[string]any))
		}
		next, _ := m["next_cursor"].(string)
		if next == "" {
			return out
		}
		cursor = next
	}
}

// figures works the day's figures out from the orders, payments and refunds
// the API lists, as the report's sources say.
func figures(t *testing.T, s *server, token, loc, date string) dayFigures {
	t.Helper()
	f := dayFigures{vat: map[int][3]int64{}, tenders: map[string][5]int64{}, tipsByServer: map[string]int64{}}
	for _, o := range listAll(t, s, token, "/api/v1/orders?location_id="+loc+"&limit=200", "orders") {
		if o["business_date"] != date {
			continue
		}
		tot := o["totals"].(map[string]any)
		pay := o["payments"].(map[string]any)
		f.paidOnChecks += amount(pay["paid"])
		f.tipsOnChecks += amount(pay["tips"])
		switch o["status"] {
		case "closed":
			f.closed++
			f.covers += int(o["covers"].(float64))
			f.gross += amount(tot["subtotal"])
			f.discounts += amount(tot["discounts"])
			f.serviceCharge += amount(tot["service_charge"])
			f.tax += amount(tot["tax"])
			f.total += amount(tot["total"])
			if o["tax_mode"] == "exclusive" {
				f.taxAdded += amount(tot["tax"])
			} else {
				f.taxIncluded += amount(tot["tax"])
			}
			for _, x := range tot["taxes"].([]any) {
				r := x.(map[string]any)
				v := f.vat[int(r["rate_bp"].(float64))]
				v[0], v[1], v[2] = v[0]+amount(r["net"]), v[1]+amount(r["tax"]), v[2]+amount(r["gross"])
				f.vat[int(r["rate_bp"].(float64))] = v
			}
			for _, x := range o["lines"].([]any) {
				l := x.(map[string]any)
				if l["comp"] != nil && l["kitchen_state"] != "voided" {
					f.comps += amount(l["price"].(map[string]any)["discount"])
				}
			}
		case "open", "sent", "paid":
			f.open++
			f.openTotal += amount(tot["total"])
			f.openPaid += amount(pay["paid"])
		case "cancelled":
			f.cancelled++
		case "voided":
			f.voided++
		}
		if o["status"] == "cancelled" {
			continue
		}
		for _, x := range o["lines"].([]any) {
			l := x.(map[string]any)
			if l["kitchen_state"] != "voided" {
				continue
			}
			unit := amount(l["unit_price"])
			for _, mx := range l["modifiers"].([]any) {
				unit += amount(mx.(map[string]any)["price"])
			}
			v := unit * int64(l["quantity"].(float64))
			if o["status"] == "voided" {
				f.voidChecksValue += v
			} else {
				f.voidLines++
				f.voidQty += int(l["quantity"].(float64))
				f.voidLinesValue += v
			}
		}
	}
	f.discounts -= f.comps
	pays := listAll(t, s, token, "/api/v1/payments?location_id="+loc+"&business_date="+date+"&status=captured,partially_refunded,refunded&limit=500", "payments")
	for _, p := range pays {
		m := p["method"].(string)
		x := f.tenders[m]
		x[0]++
		x[1] += amount(p["amount"])
		x[2] += amount(p["tip"])
		f.tenders[m] = x
		f.tips += amount(p["tip"])
		if amount(p["tip"]) != 0 {
			f.tipsByServer[p["server_id"].(string)] += amount(p["tip"])
		}
		// Every refund here is of the same day: a refund takes the amount
		// first, so the refunds of a payment took min(refunded, amount)
		// off its amount and the rest off its tip.
		fromAmount := min(amount(p["refunded"]), amount(p["amount"]))
		f.refundFromAmnt += fromAmount
		f.tipsRefunded += amount(p["refunded"]) - fromAmount
	}
	for _, r := range listAll(t, s, token, "/api/v1/refunds?location_id="+loc+"&business_date="+date+"&status=succeeded&limit=500", "refunds") {
		m := r["method"].(string)
		x := f.tenders[m]
		x[3] += amount(r["amount"])
		x[4]++
		f.tenders[m] = x
		f.refundCount++
		f.refundTotal += amount(r["amount"])
	}
	return f
}

func halfUp(n, d int64) int64 {
	if d == 0 {
		return 0
	}
	return (2*n + d) / (2 * d)
}

// assertDay checks every figure of a day's report against the test's own.
func assertDay(t *testing.T, rep map[string]any, f dayFigures) {
	t.Helper()
	eq := func(what string, got any, want int64) {
		t.Helper()
		var g int64
		switch v := got.(type) {
		case float64:
			g = int64(v)
		case map[string]any:
			if v["currency"] != "GBP" {
				t.Fatalf("%s in %v, want GBP", what, v["currency"])
			}
			g = amount(v)
		default:
			t.Fatalf("%s: %T %v", what, got, got)
		}
		if g != want {
			t.Errorf("%s = %d, want %d", what, g, want)
		}
	}
	c := rep["checks"].(map[string]any)
	eq("checks.closed", c["closed"], int64(f.closed))
	eq("checks.covers", c["covers"], int64(f.covers))
	eq("checks.open", c["open"], int64(f.open))
	eq("checks.open_total", c["open_total"], f.openTotal)
	eq("checks.open_paid", c["open_paid"], f.openPaid)
	eq("checks.cancelled", c["cancelled"], int64(f.cancelled))
	eq("checks.voided", c["voided"], int64(f.voided))
	net := f.gross - f.discounts - f.comps
	eq("checks.average_check", c["average_check"], halfUp(net, int64(f.closed)))
	if len(c["open_list"].([]any)) != f.open {
		t.Errorf("open_list has %d checks, want %d", len(c["open_list"].([]any)), f.open)
	}

	sl := rep["sales"].(map[string]any)
	eq("sales.gross", sl["gross"], f.gross)
	eq("sales.discounts", sl["discounts"], f.discounts)
	eq("sales.comps", sl["comps"], f.comps)
	eq("sales.net_sales", sl["net_sales"], net)
	eq("sales.service_charge", sl["service_charge"], f.serviceCharge)
	eq("sales.tax", sl["tax"], f.tax)
	eq("sales.tax_included", sl["tax_included"], f.taxIncluded)
	eq("sales.tax_added", sl["tax_added"], f.taxAdded)
	eq("sales.net_sales_ex_tax", sl["net_sales_ex_tax"], net-f.taxIncluded)
	eq("sales.total", sl["total"], f.total)
	// The identity the report asserts, asserted here from the checks.
	if f.gross-f.discounts-f.comps+f.serviceCharge+f.taxAdded != f.total {
		t.Errorf("gross %d − discounts %d − comps %d + service %d + tax added %d ≠ total %d", f.gross, f.discounts, f.comps, f.serviceCharge, f.taxAdded, f.total)
	}

	vat := rep["vat"].([]any)
	if len(vat) != len(f.vat) {
		t.Errorf("vat has %d rates, want %d: %v", len(vat), len(f.vat), vat)
	}
	var vatTax int64
	for _, x := range vat {
		r := x.(map[string]any)
		w := f.vat[int(r["rate_bp"].(float64))]
		eq(fmt.Sprintf("vat[%v].net", r["rate_bp"]), r["net"], w[0])
		eq(fmt.Sprintf("vat[%v].tax", r["rate_bp"]), r["tax"], w[1])
		eq(fmt.Sprintf("vat[%v].gross", r["rate_bp"]), r["gross"], w[2])
		vatTax += w[1]
	}
	if vatTax != f.tax {
		t.Errorf("Σ VAT %d ≠ tax %d", vatTax, f.tax)
	}

	v := rep["voids"].(map[string]any)
	eq("voids.lines", v["lines"], int64(f.voidLines))
	eq("voids.quantity", v["quantity"], int64(f.voidQty))
	eq("voids.lines_value", v["lines_value"], f.voidLinesValue)
	eq("voids.checks", v["checks"], int64(f.voided))
	eq("voids.checks_value", v["checks_value"], f.voidChecksValue)

	tn := rep["tenders"].(map[string]any)
	var tc, ta, tt, tr int64
	for i, x := range tn["methods"].([]any) {
		m := x.(map[string]any)
		if i == 0 && m["method"] != "cash" || i == 1 && m["method"] != "card" {
			t.Errorf("tenders[%d] is %v: cash, then card", i, m["method"])
		}
		w := f.tenders[m["method"].(string)]
		eq("tenders."+m["method"].(string)+".count", m["count"], w[0])
		eq("tenders."+m["method"].(string)+".amount", m["amount"], w[1])
		eq("tenders."+m["method"].(string)+".tips", m["tips"], w[2])
		eq("tenders."+m["method"].(string)+".refunds", m["refunds"], w[3])
		eq("tenders."+m["method"].(string)+".refund_count", m["refund_count"], w[4])
		eq("tenders."+m["method"].(string)+".net", m["net"], w[1]+w[2]-w[3]+amount(m["surcharges"]))
		tc, ta, tt, tr = tc+w[0], ta+w[1], tt+w[2], tr+w[3]
	}
	tot := tn["total"].(map[string]any)
	eq("tenders.total.count", tot["count"], tc)
	eq("tenders.total.amount", tot["amount"], ta)
	eq("tenders.total.tips", tot["tips"], tt)
	eq("tenders.total.refunds", tot["refunds"], tr)
	eq("tenders.total.net", tot["net"], ta+tt-tr)

	tp := rep["tips"].(map[string]any)
	eq("tips.total", tp["total"], f.tips)
	eq("tips.refunded", tp["refunded"], f.tipsRefunded)
	eq("tips.net", tp["net"], f.tips-f.tipsRefunded)
	got := map[string]int64{}
	for _, x := range tp["by_server"].([]any) {
		st := x.(map[string]any)
		got[st["server_id"].(string)] = amount(st["tips"])
		if st["name"] == "" || st["name"] == nil {
			t.Errorf("tips of %v without the server's name", st["server_id"])
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(f.tipsByServer) {
		t.Errorf("tips by server %v, want %v", got, f.tipsByServer)
	}

	rf := rep["refunds"].(map[string]any)
	eq("refunds.count", rf["count"], f.refundCount)
	eq("refunds.total", rf["total"], f.refundTotal)
	eq("refunds.from_amount", rf["from_amount"], f.refundFromAmnt)
	eq("refunds.from_tips", rf["from_tips"], f.refundTotal-f.refundFromAmnt)

	// Payments reconcile to the checks: every payment and refund of this
	// test is of the day, so no adjustment is needed.
	if ta-f.refundFromAmnt != f.paidOnChecks {
		t.Errorf("tendered %d − refunded from amounts %d ≠ Σ paid of the checks %d", ta, f.refundFromAmnt, f.paidOnChecks)
	}
	if f.tips-f.tipsRefunded != f.tipsOnChecks {
		t.Errorf("tips %d − refunded %d ≠ Σ tips of the checks %d", f.tips, f.tipsRefunded, f.tipsOnChecks)
	}
	for _, x := range rep["reconciliation"].([]any) {
		id := x.(map[string]any)
		if id["holds"] != true {
			t.Errorf("identity %v does not hold: %v", id["name"], id)
		}
		for _, a := range id["adjustments"].([]any) {
			if amount(a.(map[string]any)["amount"]) != 0 {
				t.Errorf("identity %v adjusted by %v on a day whose rows all share its date", id["name"], a)
			}
		}
		switch id["name"] {
		case "payments to checks":
			eq("payments to checks: left", id["left"], ta-f.refundFromAmnt)
			eq("payments to checks: right", id["right"], f.paidOnChecks)
		case "sales":
			eq("sales: right", id["right"], f.total)
		}
	}
	src := rep["sources"].(map[string]any)
	for _, k := range []string{"checks", "sales", "vat", "voids", "tenders", "tips", "refunds", "cash", "reconciliation"} {
		if s, _ := src[k].(string); !strings.Contains(s, "GET /api/v1/") {
			t.Errorf("sources.%s = %q: says no endpoint", k, s)
		}
	}
}

// TestReportDay: a day of checks (card, cash with a tip and change, a
// discount, a comp, a voided line, a voided and a cancelled check, a full
// and a partial refund, a paid out, an open check left), its X report
// while a check or the drawer is open and its Z report after, every
// figure checked against the API's own objects; the printable page; the
// drawer session's report; who may ask.
func TestReportDay(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		f := startDemoFloor(t, cfg)
		s := f.s
		day := "/api/v1/reports/day?location_id=" + f.loc

		// A day with nothing yet: a Z of zeros.
		empty := s.call("GET", day, f.maya, nil)
		if empty.Status != 200 {
			t.Fatalf("empty day: %d %s", empty.Status, empty.Body)
		}
		rep := empty.json(t)
		date := rep["business_date"].(string)
		if rep["kind"] != "Z" || rep["checks"].(map[string]any)["closed"].(float64) != 0 || amount(rep["sales"].(map[string]any)["total"]) != 0 {
			t.Fatalf("empty day: %s", empty.Body)
		}

		// Who may ask.
		expectProblem(t, s.call("GET", day, f.tom, nil), 403, "permission_denied")
		expectProblem(t, s.call("GET", "/api/v1/reports/day.html?location_id="+f.loc, f.tom, nil), 403, "permission_denied")
		expectProblem(t, s.call("GET", day+"&business_date=2026-13-01", f.maya, nil), 422, "invalid_field", "business_date")
		expectProblem(t, s.call("GET", day+"&business_date=yesterday", f.maya, nil), 422, "invalid_field", "business_date")
		expectProblem(t, s.call("GET", "/api/v1/reports/day", f.owner, nil), 422, "invalid_field", "location_id")
		stranger := s.signup("stranger@example.com")
		expectProblem(t, s.call("GET", day, stranger.Token, nil), 404, "not_found")
		expectProblem(t, s.call("GET", "/api/v1/reports/day.html?location_id="+f.loc, stranger.Token, nil), 404, "not_found")
		expectProblem(t, s.call("GET", "/api/v1/reports/day?location_id="+stranger.LocationID, f.maya, nil), 404, "not_found")
		expectProblem(t, s.call("GET", "/api/v1/reports/day?location_id="+stranger.LocationID, f.owner, nil), 404, "not_found")
		// Another location of the same organization: its owner may read it, its staff at the demo pub may not.
		second := s.call("POST", "/api/v1/locations", f.owner, map[string]any{"name": "The Fynlo Tap",
			"address": map[string]string{"line1": "1 High St", "city": "London", "postcode": "N1 1AA"}})
		if second.Status != 201 {
			t.Fatalf("second location: %d %s", second.Status, second.Body)
		}
		loc2 := second.json(t)["id"].(string)
		expectProblem(t, s.call("GET", "/api/v1/reports/day?location_id="+loc2, f.maya, nil), 404, "not_found")
		expectProblem(t, s.call("GET", "/api/v1/reports/day.html?location_id="+loc2, f.maya, nil), 404, "not_found")
		if r := s.call("GET", "/api/v1/reports/day?location_id="+loc2, f.owner, nil); r.Status != 200 || r.json(t)["location_id"] != loc2 {
			t.Fatalf("the owner's second location: %d %s", r.Status, r.Body)
		}
		if r := s.call("GET", "/api/v1/reports/day?location_id="+stranger.LocationID, stranger.Token, nil); r.Status != 200 || r.json(t)["kind"] != "Z" {
			t.Fatalf("a new organization's own empty day: %d %s", r.Status, r.Body)
		}

		// The drawer, with a name no page may run.
		d := s.call("POST", "/api/v1/cash-drawers", f.owner, map[string]any{"location_id": f.loc, "name": reportDrawerName})
		if d.Status != 201 {
			t.Fatalf("drawer: %d %s", d.Status, d.Body)
		}
		drawer := d.json(t)["id"].(string)
		sess := s.call("POST", "/api/v1/cash-drawers/"+drawer+"/sessions", f.maya, map[string]any{"float": gbp(10000)})
		if sess.Status != 201 {
			t.Fatalf("open drawer: %d %s", sess.Status, sess.Body)
		}
		session := sess.json(t)["id"].(string)
		sessPath := "/api/v1/cash-drawers/" + drawer + "/sessions/" + session
		cashBody := func(b map[string]any) map[string]any { b["method"], b["drawer_id"] = "cash", drawer; return b }

		// A: £20 by card, the rest in cash with a 10% tip, from a note £50 too big.
		a := f.openCheck(t, f.tom, 3)
		aID, aTotal := a["id"].(string), amount(a["totals"].(map[string]any)["total"])
		f.pay(t, f.tom, aID, map[string]any{"method": "card", "amount": gbp(2000)}, 201)
		rest := aTotal - 2000
		tip := (rest*1000 + 5000) / 10000
		aCash, a := f.pay(t, f.tom, aID, cashBody(map[string]any{"tip_percent_bp": 1000, "tendered": gbp(rest + tip + 5000)}), 201)
		if a["status"] != "closed" || amount(aCash["change"]) != 5000 {
			t.Fatalf("check A: %v, change %v", a["status"], aCash["change"])
		}

		// B: 10% off one line, another comped; card with a £2 tip; then
		// refunded in full, tip included.
		b := f.openCheck(t, f.aisha, 2)
		bID := b["id"].(string)
		bLines := b["lines"].([]any)
		ops := s.call("POST", "/api/v1/orders/"+bID+"/ops", f.maya, map[string]any{"ops": []map[string]any{
			{"op_id": "disc-1", "type": "discount_line", "line_id": bLines[0].(map[string]any)["id"],
				"discount": map[string]any{"kind": "percent", "percent_bp": 1000, "reason": "regular"}},
			{"op_id": "comp-1", "type": "comp_line", "line_id": bLines[1].(map[string]any)["id"], "reason": "birthday"}}})
		if ops.Status != 200 {
			t.Fatalf("discount and comp: %d %s", ops.Status, ops.Body)
		}
		bCard, b := f.pay(t, f.aisha, bID, map[string]any{"method": "card", "tip": gbp(200)}, 201)
		if b["status"] != "closed" {
			t.Fatalf("check B: %v", b["status"])
		}
		if r := s.call("POST", "/api/v1/payments/"+bCard["id"].(string)+"/refunds", f.maya, map[string]any{"reason": "guest complained"}); r.Status != 201 {
			t.Fatalf("refund B: %d %s", r.Status, r.Body)
		}

		// C: a line voided after sending (with a reason no page may run), the rest by card.
		c := f.openCheck(t, f.tom, 2)
		cID := c["id"].(string)
		voidLine := c["lines"].([]any)[1].(map[string]any)["id"]
		if r := s.call("POST", "/api/v1/orders/"+cID+"/ops", f.maya, map[string]any{"ops": []map[string]any{
			{"op_id": "void-1", "type": "void_line", "line_id": voidLine, "reason": reportVoidReason}}}); r.Status != 200 {
			t.Fatalf("void line: %d %s", r.Status, r.Body)
		}
		if _, c = f.pay(t, f.tom, cID, map[string]any{"method": "card"}, 201); c["status"] != "closed" {
			t.Fatalf("check C: %v", c["status"])
		}
		// £1 of A's cash back out of the drawer.
		if r := s.call("POST", "/api/v1/payments/"+aCash["id"].(string)+"/refunds", f.maya, map[string]any{"amount": gbp(100), "reason": "overcharged"}); r.Status != 201 {
			t.Fatalf("cash refund: %d %s", r.Status, r.Body)
		}

		// E: sent, then voided; F: never sent, cancelled.
		e := f.openCheck(t, f.tom, 1)
		if r := s.call("POST", "/api/v1/orders/"+e["id"].(string)+"/void", f.maya, map[string]any{"version": e["version"], "reason": "walked out"}); r.Status != 200 {
			t.Fatalf("void check: %d %s", r.Status, r.Body)
		}
		it, v := f.item(t, "grill", 0)
		fc := s.call("POST", "/api/v1/orders", f.tom, map[string]any{"type": "dine_in", "covers": 1, "notes": "<script>alert('note')</script>",
			"lines": []map[string]any{{"item_id": it, "variant_id": v, "quantity": 1}}})
		if fc.Status != 201 {
			t.Fatalf("check F: %d %s", fc.Status, fc.Body)
		}
		if r := s.call("POST", "/api/v1/orders/"+fc.json(t)["id"].(string)+"/cancel", f.tom, map[string]any{"version": fc.json(t)["version"], "reason": "wrong table"}); r.Status != 200 {
			t.Fatalf("cancel: %d %s", r.Status, r.Body)
		}

		// £5 paid out for milk.
		if r := s.call("POST", sessPath+"/movements", f.maya, map[string]any{"kind": "paid_out", "amount": gbp(500), "reason": "milk"}); r.Status != 201 {
			t.Fatalf("paid out: %d %s", r.Status, r.Body)
		}

		// D: left open, with £5 paid toward it.
		dchk := f.openCheck(t, f.aisha, 2)
		dID := dchk["id"].(string)
		f.pay(t, f.aisha, dID, cashBody(map[string]any{"amount": gbp(500)}), 201)

		// X: a check is open, and the drawer.
		rep = s.call("GET", day+"&business_date="+date, f.maya, nil).json(t)
		if rep["kind"] != "X" || len(rep["still_open"].([]any)) != 2 {
			t.Fatalf("with a check and the drawer open: kind %v, still open %v", rep["kind"], rep["still_open"])
		}
		assertDay(t, rep, figures(t, s, f.maya, f.loc, date))
		if ch := rep["checks"].(map[string]any); ch["open"].(float64) != 1 || amount(ch["open_paid"]) != 500 ||
			ch["closed"].(float64) != 3 || ch["voided"].(float64) != 1 || ch["cancelled"].(float64) != 1 {
			t.Fatalf("checks while D is open: %v", ch)
		}
		sl := rep["sales"].(map[string]any)
		if amount(sl["comps"]) == 0 || amount(sl["discounts"]) == 0 || rep["voids"].(map[string]any)["lines"].(float64) != 1 {
			t.Fatalf("a comp, a discount and a voided line were made: %v %v", sl, rep["voids"])
		}
		// The same report by default (the current business day), for a staff token at its location.
		if def := s.call("GET", "/api/v1/reports/day", f.maya, nil).json(t); def["business_date"] != date ||
			fmt.Sprint(def["sales"]) != fmt.Sprint(rep["sales"]) {
			t.Fatalf("default day %v, want %s with the same sales", def["business_date"], date)
		}

		// D paid: still an X, for the drawer.
		if _, dchk = f.pay(t, f.aisha, dID, cashBody(map[string]any{}), 201); dchk["status"] != "closed" {
			t.Fatalf("check D: %v", dchk["status"])
		}
		rep = s.call("GET", day+"&business_date="+date, f.maya, nil).json(t)
		if still := rep["still_open"].([]any); rep["kind"] != "X" || len(still) != 1 || !strings.Contains(still[0].(string), "drawer") {
			t.Fatalf("with only the drawer open: kind %v, still open %v", rep["kind"], still)
		}
		assertDay(t, rep, figures(t, s, f.maya, f.loc, date))

		// The drawer session's X report: its rows add up to its summary.
		sr := s.call("GET", sessPath+"/report", f.maya, nil)
		if sr.Status != 200 {
			t.Fatalf("session report: %d %s", sr.Status, sr.Body)
		}
		srep := sr.json(t)
		sum := srep["session"].(map[string]any)["summary"].(map[string]any)
		cashIn := rest + tip + 500 + (amount(dchk["totals"].(map[string]any)["total"]) - 500)
		wantExpected := int64(10000) + cashIn - 100 - 500
		if srep["kind"] != "X" || amount(sum["cash_sales"]) != cashIn || amount(sum["cash_refunds"]) != 100 || amount(sum["paid_out"]) != 500 ||
			amount(sum["expected"]) != wantExpected || len(srep["payments"].([]any)) != 3 || len(srep["refunds"].([]any)) != 1 ||
			len(srep["movements"].([]any)) != 1 {
			t.Fatalf("open session report (cash in %d, expected %d): %s", cashIn, wantExpected, sr.Body)
		}
		var listed int64
		for _, x := range srep["payments"].([]any) {
			p := x.(map[string]any)
			listed += amount(p["amount"]) + amount(p["tip"])
		}
		if listed != cashIn {
			t.Fatalf("listed cash payments add up to %d, summary %d", listed, cashIn)
		}
		for _, x := range srep["reconciliation"].([]any) {
			if x.(map[string]any)["holds"] != true {
				t.Fatalf("session identity fails: %v", x)
			}
		}
		expectProblem(t, s.call("GET", sessPath+"/report", f.tom, nil), 403, "permission_denied")
		expectProblem(t, s.call("GET", sessPath+"/report", stranger.Token, nil), 404, "not_found")
		expectProblem(t, s.call("GET", "/api/v1/cash-drawers/drw_01jdzq3m5d6yq1b4x0kq9w2v7e/sessions/"+session+"/report", f.maya, nil), 404, "not_found")

		// Close the drawer £10 short (the manager approves her own count).
		version := s.call("GET", sessPath, f.maya, nil).json(t)["version"]
		cl := s.call("POST", sessPath+"/close", f.maya, map[string]any{"version": version, "counted": gbp(wantExpected - 1000)})
		if cl.Status != 200 {
			t.Fatalf("close drawer: %d %s", cl.Status, cl.Body)
		}

		// Z: every figure again, and the drawer as counted.
		r := s.call("GET", day+"&business_date="+date, f.maya, nil)
		rep = r.json(t)
		if rep["kind"] != "Z" || len(rep["still_open"].([]any)) != 0 {
			t.Fatalf("a finished day: kind %v, still open %v", rep["kind"], rep["still_open"])
		}
		fig := figures(t, s, f.maya, f.loc, date)
		assertDay(t, rep, fig)
		cash := rep["cash"].(map[string]any)
		sessions := cash["sessions"].([]any)
		if len(sessions) != 1 {
			t.Fatalf("%d drawer sessions, want 1", len(sessions))
		}
		ds := sessions[0].(map[string]any)
		dsum := ds["summary"].(map[string]any)
		if ds["drawer_name"] != reportDrawerName || ds["status"] != "closed" || amount(ds["counted"]) != wantExpected-1000 ||
			amount(ds["variance"]) != -1000 || ds["variance_approved_by"] == "" || amount(dsum["expected"]) != wantExpected ||
			amount(dsum["float"]) != 10000 || amount(dsum["cash_sales"]) != cashIn || amount(dsum["paid_out"]) != 500 {
			t.Fatalf("drawer in the Z report: %v", ds)
		}
		if amount(cash["expected"]) != wantExpected || amount(cash["counted"]) != wantExpected-1000 || amount(cash["variance"]) != -1000 ||
			cash["open_sessions"].(float64) != 0 {
			t.Fatalf("cash totals: %v", cash)
		}
		// The drawer's expected cash = float + cash sales − cash refunds + paid in − paid out, from the tenders.
		cashTender := fig.tenders["cash"]
		if 10000+cashTender[1]+cashTender[2]-cashTender[3]-500 != wantExpected {
			t.Fatalf("float + cash %d + tips %d − refunds %d − paid out ≠ expected %d", cashTender[1], cashTender[2], cashTender[3], wantExpected)
		}
		var drawerIdentities int
		for _, x := range rep["reconciliation"].([]any) {
			if strings.HasPrefix(x.(map[string]any)["name"].(string), "drawer ") {
				drawerIdentities++
			}
		}
		if drawerIdentities != 2 {
			t.Fatalf("%d drawer identities, want expected and variance", drawerIdentities)
		}

		// The session's Z report.
		srep = s.call("GET", sessPath+"/report", f.maya, nil).json(t)
		ss := srep["session"].(map[string]any)
		if srep["kind"] != "Z" || amount(ss["variance"]) != -1000 || srep["variance_approved_by_name"] != "Maya Patel" ||
			srep["drawer_name"] != reportDrawerName {
			t.Fatalf("closed session report: %v", srep)
		}
		for _, x := range srep["reconciliation"].([]any) {
			if x.(map[string]any)["holds"] != true {
				t.Fatalf("session identity fails: %v", x)
			}
		}

		// The printable page: the figures, every string escaped.
		page := s.call("GET", "/api/v1/reports/day.html?location_id="+f.loc+"&business_date="+date, f.maya, nil)
		if page.Status != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("page: %d %s %s", page.Status, page.Header.Get("Content-Type"), page.Body)
		}
		if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Fatalf("page CSP %q", csp)
		}
		html := string(page.Body)
		if strings.Contains(html, "<script") || strings.Contains(html, "src=") || strings.Contains(html, "href=") {
			t.Fatalf("the page runs or loads something: %s", html)
		}
		if !strings.Contains(html, "Bar &lt;script&gt;alert(&#34;drawer&#34;)&lt;/script&gt;") ||
			!strings.Contains(html, "&lt;script&gt;alert(&#34;void&#34;)&lt;/script&gt; dropped") {
			t.Fatalf("the drawer name or the void reason is not on the page, escaped: %s", html)
		}
		money := func(minor int64) string { return fmt.Sprintf("%d.%02d GBP", minor/100, minor%100) }
		sl = rep["sales"].(map[string]any)
		for what, m := range map[string]int64{"gross": amount(sl["gross"]), "net sales": amount(sl["net_sales"]), "total": amount(sl["total"]),
			"comps": amount(sl["comps"]), "tax": amount(sl["tax"]), "tips": fig.tips, "expected cash": wantExpected,
			"cash tendered": cashTender[1], "refunds": fig.refundTotal} {
			if !strings.Contains(html, money(m)) {
				t.Errorf("the page lacks %s, %s", what, money(m))
			}
		}
		if !strings.Contains(html, "-10.00 GBP") || !strings.Contains(html, `<span class="kind">Z</span>`) {
			t.Errorf("the page lacks the variance or the kind")
		}
		var rates []string
		for rate := range fig.vat {
			rates = append(rates, fmt.Sprintf("%d.%02d%%", rate/100, rate%100))
		}
		sort.Strings(rates)
		for _, rate := range rates {
			if !strings.Contains(html, rate) {
				t.Errorf("the page lacks the VAT rate %s", rate)
			}
		}
	})
}
