package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fynlo/fynlo/internal/app"
)

// till is a demo floor with a cash drawer open, for taking payments.
type till struct {
	*demoFloor
	drawer, session string
	cashier         string // a cashier's token: may open and count a drawer, not approve a variance
}

func openTill(t *testing.T, cfg app.Config) *till {
	t.Helper()
	f := startDemoFloor(t, cfg)
	s := f.s
	// The demo has a Front till; a second drawer stays closed.
	ds := s.call("GET", "/api/v1/cash-drawers?location_id="+f.loc, f.owner, nil).json(t)["drawers"].([]any)
	if len(ds) != 1 || ds[0].(map[string]any)["name"] != "Front till" {
		t.Fatalf("demo drawers %v", ds)
	}
	if d := s.call("POST", "/api/v1/cash-drawers", f.owner, map[string]any{"location_id": f.loc, "name": "Bar till"}); d.Status != 201 {
		t.Fatalf("drawer: %d %s", d.Status, d.Body)
	}
	expectProblem(t, s.call("POST", "/api/v1/cash-drawers", f.owner, map[string]any{"location_id": f.loc, "name": "Front till"}),
		409, "drawer_name_taken", "name")
	tl := &till{demoFloor: f, drawer: ds[0].(map[string]any)["id"].(string)}
	sess := s.call("POST", "/api/v1/cash-drawers/"+tl.drawer+"/sessions", f.maya, map[string]any{"float": gbp(10000)})
	if sess.Status != 201 {
		t.Fatalf("open drawer: %d %s", sess.Status, sess.Body)
	}
	tl.session = sess.json(t)["id"].(string)
	emp := s.call("POST", "/api/v1/employees", f.owner, map[string]any{"name": "Cara Cashier", "pin": "4455",
		"roles": []map[string]any{{"location_id": f.loc, "role_id": "cashier"}}})
	if emp.Status != 201 {
		t.Fatalf("cashier: %d %s", emp.Status, emp.Body)
	}
	tl.cashier = f.pinOnFirstIPad(t, "4455")
	return tl
}

func gbp(minor int64) map[string]any { return map[string]any{"amount": minor, "currency": "GBP"} }

// openCheck opens a check at the demo location with the first n items of
// the grill and the bar, and returns it.
func (f *demoFloor) openCheck(t *testing.T, token string, n int) map[string]any {
	t.Helper()
	var lines []map[string]any
	for i := 0; i < n; i++ {
		station := "grill"
		if i%2 == 1 {
			station = "bar"
		}
		it, v := f.item(t, station, i/2)
		lines = append(lines, map[string]any{"item_id": it, "variant_id": v, "quantity": 1})
	}
	r := f.s.call("POST", "/api/v1/orders", token, map[string]any{"type": "dine_in", "covers": 2, "lines": lines, "send": true})
	if r.Status != 201 {
		t.Fatalf("open check: %d %s", r.Status, r.Body)
	}
	return r.json(t)
}

func (f *demoFloor) pay(t *testing.T, token, orderID string, body map[string]any, want int) (payment, check map[string]any) {
	t.Helper()
	r := f.s.call("POST", "/api/v1/orders/"+orderID+"/payments", token, body)
	if r.Status != want {
		t.Fatalf("pay %v: %d %s, want %d", body, r.Status, r.Body, want)
	}
	out := r.json(t)
	return out["payment"].(map[string]any), out["order"].(map[string]any)
}

func paid(o map[string]any) (paid, pending, balance, tips int64) {
	p := o["payments"].(map[string]any)
	return amount(p["paid"]), amount(p["pending"]), amount(p["balance"]), amount(p["tips"])
}

// TestPayCardAndCashClosesTheCheck: part by card, the rest in cash with a
// tip and change; the check closes itself, the drawer expects the cash,
// and every figure adds up.
func TestPayCardAndCashClosesTheCheck(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		tl := openTill(t, cfg)
		s := tl.s
		o := tl.openCheck(t, tl.tom, 3)
		id, total := o["id"].(string), amount(o["totals"].(map[string]any)["total"])
		if _, _, bal, _ := paid(o); bal != total {
			t.Fatalf("balance %d of a new check, want its total %d", bal, total)
		}

		// £20 by card (the simulated provider: no Stripe key in the demo).
		card, o := tl.pay(t, tl.tom, id, map[string]any{"method": "card", "amount": gbp(2000), "card": map[string]any{"payment_method": "pm_card_visa"}}, 201)
		if card["status"] != "captured" || card["provider"] != "simulated" || card["card"].(map[string]any)["last4"] != "4242" {
			t.Fatalf("card payment: %v", card)
		}
		if p, pend, bal, _ := paid(o); p != 2000 || pend != 0 || bal != total-2000 || o["status"] != "sent" {
			t.Fatalf("after £20: paid %d pending %d balance %d status %v", p, pend, bal, o["status"])
		}
		if h := card["history"].([]any); len(h) != 2 || h[0].(map[string]any)["to"] != "pending" || h[1].(map[string]any)["to"] != "captured" {
			t.Fatalf("history %v", h)
		}

		// A card for more than the balance is refused, and nothing is written.
		before := s.call("GET", "/api/v1/orders/"+id, tl.tom, nil).json(t)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/payments", tl.tom, map[string]any{"method": "card", "amount": gbp(total)}),
			422, "amount_above_balance", "amount")
		if after := s.call("GET", "/api/v1/orders/"+id, tl.tom, nil).json(t); after["version"] != before["version"] {
			t.Fatalf("a refused payment moved the check from version %v to %v", before["version"], after["version"])
		}
		// Bad input, each refused with its field.
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"method": "cash", "tip": map[string]any{"amount": -100, "currency": "GBP"}}, "tip"},
			{map[string]any{"method": "cash", "amount": map[string]any{"amount": 100, "currency": "EUR"}}, "amount.currency"},
			{map[string]any{"method": "card", "tendered": gbp(5000)}, "tendered"},
			{map[string]any{"method": "cash", "tendered": gbp(1)}, "tendered"},
			{map[string]any{"method": "cash", "tip": gbp(100), "tip_percent_bp": 1000}, "tip"},
			{map[string]any{"method": "card", "card": map[string]any{"payment_method": "tok_visa"}}, "card.payment_method"},
		} {
			r := s.call("POST", "/api/v1/orders/"+id+"/payments", tl.tom, c.body)
			if r.Status != 422 {
				t.Fatalf("%v: %d %s", c.body, r.Status, r.Body)
			}
			expectProblem(t, r, 422, r.json(t)["code"].(string), c.field)
		}
		if n := len(s.call("GET", "/api/v1/payments?order_id="+id, tl.tom, nil).json(t)["payments"].([]any)); n != 1 {
			t.Fatalf("%d payments after refused requests, want 1", n)
		}

		// The rest in cash, with a 10% tip, from a £50 note.
		rest := total - 2000
		tip := (rest*1000 + 5000) / 10000
		cash, o := tl.pay(t, tl.tom, id, map[string]any{"method": "cash", "tip_percent_bp": 1000, "tendered": gbp(rest + tip + 5000)}, 201)
		if cash["status"] != "captured" || amount(cash["amount"]) != rest || amount(cash["tip"]) != tip || amount(cash["change"]) != 5000 ||
			cash["drawer_session_id"] != tl.session {
			t.Fatalf("cash payment: %v", cash)
		}
		if o["status"] != "closed" || o["closed_at"] == nil {
			t.Fatalf("a fully paid check is %v, want closed", o["status"])
		}
		p, pend, bal, tips := paid(o)
		if p != total || pend != 0 || bal != 0 || tips != tip {
			t.Fatalf("closed check: paid %d pending %d balance %d tips %d; total %d tip %d", p, pend, bal, tips, total, tip)
		}
		// total = what was handed over − change − tips.
		handed := amount(card["amount"]) + amount(card["tip"]) + amount(cash["tendered"])
		if handed-amount(cash["change"])-tips != total {
			t.Fatalf("handed %d − change %d − tips %d ≠ total %d", handed, amount(cash["change"]), tips, total)
		}
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/payments", tl.tom, map[string]any{"method": "cash"}), 409, "not_payable")

		// The drawer: blind to a cashier while open, visible to the manager.
		sessPath := "/api/v1/cash-drawers/" + tl.drawer + "/sessions/" + tl.session
		if sess := s.call("GET", sessPath, tl.cashier, nil).json(t); sess["summary"] != nil {
			t.Fatalf("a cashier sees what the open drawer should hold: %v", sess["summary"])
		}
		// Nor the rows that would add up to it.
		expectProblem(t, s.call("GET", "/api/v1/payments?drawer_session_id="+tl.session, tl.cashier, nil), 403, "blind_count")
		expectProblem(t, s.call("GET", "/api/v1/refunds?drawer_session_id="+tl.session, tl.cashier, nil), 403, "blind_count")
		expectProblem(t, s.call("GET", sessPath+"/movements", tl.cashier, nil), 403, "blind_count")
		sum := s.call("GET", sessPath, tl.maya, nil).json(t)["summary"].(map[string]any)
		if amount(sum["cash_sales"]) != rest+tip || amount(sum["expected"]) != 10000+rest+tip || sum["payments"].(float64) != 1 {
			t.Fatalf("drawer summary %v; cash in %d", sum, rest+tip)
		}
		// The payments the summary counts are the ones listed for it.
		listed := s.call("GET", "/api/v1/payments?drawer_session_id="+tl.session+"&method=cash&status=captured", tl.maya, nil).json(t)["payments"].([]any)
		if len(listed) != 1 || listed[0].(map[string]any)["id"] != cash["id"] {
			t.Fatalf("listed %v", listed)
		}

		// Events for the payments and the check.
		evs := s.call("GET", "/api/v1/events?after=0&limit=1000", tl.owner, nil).json(t)["events"].([]any)
		var created, updated int
		for _, x := range evs {
			switch x.(map[string]any)["type"] {
			case "payment.created":
				created++
			case "payment.updated":
				updated++
			}
		}
		if created != 2 {
			t.Fatalf("%d payment.created events, want 2", created)
		}
		if updated != 1 {
			t.Fatalf("%d payment.updated events, want 1 (the card's answer)", updated)
		}
		metrics := string(s.call("GET", "/metrics", "", nil).Body)
		for _, line := range []string{`fynlo_payments_total{method="card",provider="simulated",status="captured"} 1`,
			`fynlo_payments_total{method="cash",provider="cash",status="captured"} 1`} {
			if !strings.Contains(metrics, line) {
				t.Errorf("/metrics lacks %s", line)
			}
		}
	})
}

// TestCardPaymentRetriesAndHolds: a retried payment is one payment; a card
// authorised for a bar tab holds its amount until captured with the tip or
// cancelled; a declined card leaves the check payable.
func TestCardPaymentRetriesAndHolds(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		tl := openTill(t, cfg)
		s := tl.s
		o := tl.openCheck(t, tl.aisha, 2)
		id, total := o["id"].(string), amount(o["totals"].(map[string]any)["total"])

		// Declined: recorded as failed, the balance untouched.
		declined, o := tl.pay(t, tl.aisha, id, map[string]any{"method": "card", "card": map[string]any{"payment_method": "pm_card_chargeDeclined"}}, 201)
		if declined["status"] != "failed" || declined["failure"].(map[string]any)["code"] != "card_declined" {
			t.Fatalf("declined: %v", declined)
		}
		if _, pend, bal, _ := paid(o); pend != 0 || bal != total {
			t.Fatalf("after a decline: pending %d balance %d, want 0 and %d", pend, bal, total)
		}

		// Authorised for the whole balance: held, so nobody can take it twice.
		body := map[string]any{"id": "pay_01jdzq3m5d6yq1b4x0kq9w2v7e", "method": "card", "card": map[string]any{"capture": "manual"}}
		auth, o := tl.pay(t, tl.aisha, id, body, 201)
		if auth["status"] != "authorized" {
			t.Fatalf("manual capture: %v", auth)
		}
		if _, pend, bal, _ := paid(o); pend != total || bal != 0 {
			t.Fatalf("held: pending %d balance %d", pend, bal)
		}
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/payments", tl.tom, map[string]any{"method": "cash"}), 409, "nothing_to_pay")
		// The same payment again: the same payment, no second one.
		again, _ := tl.pay(t, tl.aisha, id, body, 200)
		if again["id"] != auth["id"] || again["version"] != auth["version"] {
			t.Fatalf("retry gave %v", again)
		}
		// The same ID for another check is refused.
		other := tl.openCheck(t, tl.aisha, 1)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+other["id"].(string)+"/payments", tl.aisha, body), 409, "already_exists")

		// Voiding the check or a line it was paid for is refused while money is held.
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/void", tl.maya, map[string]any{"version": o["version"], "reason": "walked out"}),
			409, "has_payments")
		lineID := o["lines"].([]any)[0].(map[string]any)["id"].(string)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/ops", tl.maya, map[string]any{"ops": []map[string]any{
			{"op_id": "void-1", "type": "void_line", "line_id": lineID, "reason": "cold"}}}), 409, "total_below_paid")

		// Cancel the hold: the balance is free again, and cash takes it.
		r := s.call("POST", "/api/v1/payments/"+auth["id"].(string)+"/cancel", tl.aisha, nil)
		if r.Status != 200 || r.json(t)["payment"].(map[string]any)["status"] != "cancelled" {
			t.Fatalf("cancel: %d %s", r.Status, r.Body)
		}
		if _, pend, bal, _ := paid(r.json(t)["order"].(map[string]any)); pend != 0 || bal != total {
			t.Fatalf("after cancel: pending %d balance %d", pend, bal)
		}
		expectProblem(t, s.call("POST", "/api/v1/payments/"+auth["id"].(string)+"/capture", tl.aisha, nil), 409, "illegal_transition")

		// A bar tab: authorised, then captured with the tip on the slip.
		tab := tl.openCheck(t, tl.aisha, 1)
		tabTotal := amount(tab["totals"].(map[string]any)["total"])
		held, _ := tl.pay(t, tl.aisha, tab["id"].(string), map[string]any{"method": "card", "card": map[string]any{"capture": "manual"}}, 201)
		r = s.call("POST", "/api/v1/payments/"+held["id"].(string)+"/capture", tl.aisha, map[string]any{"tip": gbp(150)})
		if r.Status != 200 {
			t.Fatalf("capture: %d %s", r.Status, r.Body)
		}
		captured, closed := r.json(t)["payment"].(map[string]any), r.json(t)["order"].(map[string]any)
		if captured["status"] != "captured" || amount(captured["tip"]) != 150 || closed["status"] != "closed" {
			t.Fatalf("captured %v; check %v", captured["status"], closed["status"])
		}
		if p, _, _, tips := paid(closed); p != tabTotal || tips != 150 {
			t.Fatalf("tab paid %d tips %d", p, tips)
		}
		last := captured["history"].([]any)[len(captured["history"].([]any))-1].(map[string]any)
		if last["note"] == nil || last["note"] == "" {
			t.Fatalf("tip adjust not in the history: %v", last)
		}

		// Another organization sees none of it.
		stranger := s.signup("stranger@example.com")
		if r := s.call("GET", "/api/v1/payments/"+held["id"].(string), stranger.Token, nil); r.Status != 404 {
			t.Fatalf("another tenant read a payment: %d", r.Status)
		}
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/payments", stranger.Token, map[string]any{"method": "card"}), 404, "not_found")
	})
}

// TestDrawerCountAndVariance: paid in and out by permission, a blind
// count, a small variance closed by whoever counts, a large one only with
// a manager's approval, and no cash into a closed drawer.
func TestDrawerCountAndVariance(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		tl := openTill(t, cfg)
		s := tl.s
		base := "/api/v1/cash-drawers/" + tl.drawer + "/sessions/" + tl.session
		expectProblem(t, s.call("POST", "/api/v1/cash-drawers/"+tl.drawer+"/sessions", tl.maya, map[string]any{"float": gbp(5000)}),
			409, "session_open")
		expectProblem(t, s.call("POST", base+"/movements", tl.tom, map[string]any{"kind": "paid_out", "amount": gbp(500), "reason": "milk"}),
			403, "permission_denied")
		if r := s.call("POST", base+"/movements", tl.cashier, map[string]any{"kind": "paid_out", "amount": gbp(500), "reason": "milk"}); r.Status != 201 {
			t.Fatalf("paid out: %d %s", r.Status, r.Body)
		}
		if r := s.call("POST", base+"/movements", tl.cashier, map[string]any{"kind": "paid_in", "amount": gbp(2000), "reason": "change from the bank"}); r.Status != 201 {
			t.Fatalf("paid in: %d %s", r.Status, r.Body)
		}
		if r := s.call("POST", base+"/movements", tl.cashier, map[string]any{"kind": "no_sale", "reason": "change for the bar"}); r.Status != 201 {
			t.Fatalf("no sale: %d %s", r.Status, r.Body)
		}
		expectProblem(t, s.call("POST", base+"/movements", tl.cashier, map[string]any{"kind": "paid_in", "reason": "no amount"}), 422, "invalid_field", "amount.amount")
		o := tl.openCheck(t, tl.tom, 1)
		total := amount(o["totals"].(map[string]any)["total"])
		tl.pay(t, tl.tom, o["id"].(string), map[string]any{"method": "cash"}, 201)
		expected := int64(10000) - 500 + 2000 + total

		sum := s.call("GET", base, tl.maya, nil).json(t)
		if x := sum["summary"].(map[string]any); amount(x["expected"]) != expected || x["no_sales"].(float64) != 1 {
			t.Fatalf("summary %v, want expected %d", x, expected)
		}
		// £10 short: the cashier may not close it alone.
		closeBody := map[string]any{"version": sum["version"], "counted": gbp(expected - 1000)}
		expectProblem(t, s.call("POST", base+"/close", tl.cashier, closeBody), 403, "variance_needs_approval")
		appr := s.call("POST", "/api/v1/auth/override", tl.cashier, map[string]string{"pin": "1111", "permission": "cash.approve_variance", "reason": "recount done"})
		if appr.Status != 200 {
			t.Fatalf("override: %d %s", appr.Status, appr.Body)
		}
		r := s.call("POST", base+"/close", tl.cashier, closeBody, "Fynlo-Approval", appr.json(t)["approval"].(string))
		if r.Status != 200 {
			t.Fatalf("close with approval: %d %s", r.Status, r.Body)
		}
		closed := r.json(t)
		if closed["status"] != "closed" || amount(closed["variance"]) != -1000 || amount(closed["expected"]) != expected || closed["variance_approved_by"] == "" {
			t.Fatalf("closed: %v", closed)
		}
		expectProblem(t, s.call("POST", base+"/close", tl.maya, closeBody), 409, "session_closed")
		// No cash into a closed drawer; card still works.
		o = tl.openCheck(t, tl.tom, 1)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+o["id"].(string)+"/payments", tl.tom, map[string]any{"method": "cash"}), 409, "no_open_drawer")
		tl.pay(t, tl.tom, o["id"].(string), map[string]any{"method": "card"}, 201)

		// A new session, £2 short: within the threshold, closed by the cashier.
		sess := s.call("POST", "/api/v1/cash-drawers/"+tl.drawer+"/sessions", tl.cashier, map[string]any{"float": gbp(10000)}).json(t)
		r = s.call("POST", "/api/v1/cash-drawers/"+tl.drawer+"/sessions/"+sess["id"].(string)+"/close", tl.cashier,
			map[string]any{"version": sess["version"], "counted": gbp(9800)})
		if r.Status != 200 || amount(r.json(t)["variance"]) != -200 {
			t.Fatalf("close £2 short: %d %s", r.Status, r.Body)
		}
	})
}

// TestRefunds: partial and full, by card and cash, refused beyond what was
// captured or without permission, allowed with a manager's approval,
// retried without a second refund; the check and the drawer account for it.
func TestRefunds(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		tl := openTill(t, cfg)
		s := tl.s
		o := tl.openCheck(t, tl.tom, 2)
		id, total := o["id"].(string), amount(o["totals"].(map[string]any)["total"])
		card, _ := tl.pay(t, tl.tom, id, map[string]any{"method": "card", "amount": gbp(1000), "tip": gbp(100)}, 201)
		cash, o := tl.pay(t, tl.tom, id, map[string]any{"method": "cash"}, 201)
		if o["status"] != "closed" {
			t.Fatalf("check %v after paying in full", o["status"])
		}
		refundPath := "/api/v1/payments/" + card["id"].(string) + "/refunds"

		// A server may not refund on their own; nothing is written.
		expectProblem(t, s.call("POST", refundPath, tl.tom, map[string]any{"amount": gbp(500), "reason": "soup was cold"}), 403, "permission_denied")
		expectProblem(t, s.call("POST", refundPath, tl.maya, map[string]any{"amount": gbp(500)}), 422, "invalid_field", "reason")
		if n := len(s.call("GET", "/api/v1/refunds?payment_id="+card["id"].(string), tl.maya, nil).json(t)["refunds"].([]any)); n != 0 {
			t.Fatalf("%d refunds after refused ones", n)
		}
		// With the manager's approval: a partial refund through the provider.
		appr := s.call("POST", "/api/v1/auth/override", tl.tom, map[string]string{"pin": "1111", "permission": "payment.refund", "reason": "soup was cold"})
		if appr.Status != 200 {
			t.Fatalf("override: %d %s", appr.Status, appr.Body)
		}
		body := map[string]any{"id": "rfd_01jdzq3m5d6yq1b4x0kq9w2v7e", "amount": gbp(500), "reason": "soup was cold"}
		r := s.call("POST", refundPath, tl.tom, body, "Fynlo-Approval", appr.json(t)["approval"].(string))
		if r.Status != 201 {
			t.Fatalf("refund with approval: %d %s", r.Status, r.Body)
		}
		res := r.json(t)
		refund, pay, check := res["refund"].(map[string]any), res["payment"].(map[string]any), res["order"].(map[string]any)
		if refund["status"] != "succeeded" || refund["approved_by"] == refund["by"] || refund["approved_by"] == "" {
			t.Fatalf("refund %v", refund)
		}
		if pay["status"] != "partially_refunded" || amount(pay["refunded"]) != 500 {
			t.Fatalf("payment after refund: %v %v", pay["status"], pay["refunded"])
		}
		if p, _, _, _ := paid(check); p != total-500 || check["status"] != "closed" {
			t.Fatalf("check paid %d (status %v) after a £5 refund of %d", p, check["status"], total)
		}
		// Retried: the same refund, nothing more given back.
		r = s.call("POST", refundPath, tl.tom, body)
		if r.Status != 200 || amount(r.json(t)["payment"].(map[string]any)["refunded"]) != 500 {
			t.Fatalf("retried refund: %d %s", r.Status, r.Body)
		}
		// Never more than is left: £10 + £1 tip captured, £5 refunded.
		expectProblem(t, s.call("POST", refundPath, tl.maya, map[string]any{"amount": gbp(601), "reason": "too much"}), 422, "amount_above_refundable", "amount")
		// The rest, by a manager: the whole payment refunded, tip included.
		r = s.call("POST", refundPath, tl.maya, map[string]any{"reason": "guest complained"})
		if r.Status != 201 {
			t.Fatalf("refund the rest: %d %s", r.Status, r.Body)
		}
		pay = r.json(t)["payment"].(map[string]any)
		if pay["status"] != "refunded" || amount(pay["refunded"]) != 1100 {
			t.Fatalf("fully refunded: %v %v", pay["status"], pay["refunded"])
		}
		expectProblem(t, s.call("POST", refundPath, tl.maya, map[string]any{"reason": "again"}), 409, "not_refundable")

		// Cash comes out of the drawer and is counted against it.
		sessPath := "/api/v1/cash-drawers/" + tl.drawer + "/sessions/" + tl.session
		before := amount(s.call("GET", sessPath, tl.maya, nil).json(t)["summary"].(map[string]any)["expected"])
		r = s.call("POST", "/api/v1/payments/"+cash["id"].(string)+"/refunds", tl.maya, map[string]any{"amount": gbp(200), "reason": "overcharged"})
		if r.Status != 201 || r.json(t)["refund"].(map[string]any)["drawer_session_id"] != tl.session {
			t.Fatalf("cash refund: %d %s", r.Status, r.Body)
		}
		sum := s.call("GET", sessPath, tl.maya, nil).json(t)["summary"].(map[string]any)
		if amount(sum["cash_refunds"]) != 200 || amount(sum["expected"]) != before-200 {
			t.Fatalf("drawer after a £2 cash refund: %v (expected before %d)", sum, before)
		}
		check = r.json(t)["order"].(map[string]any)

		// The invariants: for the check, captured − refunded = paid toward
		// it (tips apart); for every payment, refunds ≤ captured.
		var captured, refunded, tips, refundedTips int64
		for _, x := range s.call("GET", "/api/v1/payments?order_id="+id, tl.maya, nil).json(t)["payments"].([]any) {
			p := x.(map[string]any)
			if amount(p["refunded"]) > amount(p["amount"])+amount(p["tip"]) {
				t.Fatalf("payment %v refunded %d of %d + %d", p["id"], amount(p["refunded"]), amount(p["amount"]), amount(p["tip"]))
			}
			captured += amount(p["amount"])
			tips += amount(p["tip"])
			fromAmount := min(amount(p["refunded"]), amount(p["amount"]))
			refunded += fromAmount
			refundedTips += amount(p["refunded"]) - fromAmount
		}
		if p, _, _, t2 := paid(check); p != captured-refunded || t2 != tips-refundedTips {
			t.Fatalf("check paid %d tips %d; payments captured %d − refunded %d, tips %d − %d", p, t2, captured, refunded, tips, refundedTips)
		}
		if n := len(s.call("GET", "/api/v1/refunds?drawer_session_id="+tl.session+"&status=succeeded", tl.maya, nil).json(t)["refunds"].([]any)); n != 1 {
			t.Fatalf("%d refunds listed for the drawer session, want 1", n)
		}
	})
}

// TestFeesAndPlatformRevenue: a location's fee schedule, the quote that
// ranks methods by what they cost the restaurant, the UK ban on
// surcharges, and Fynlo's platform fee taken with payments, given back
// with refunds and summed for platform administrators.
func TestFeesAndPlatformRevenue(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		tl := openTill(t, cfg)
		s := tl.s
		feesPath := "/api/v1/locations/" + tl.loc + "/fees"
		fs := s.call("GET", feesPath, tl.tom, nil).json(t)
		card := fs["card"].(map[string]any)
		if card["rate_bp"].(float64) != 290 || amount(card["fixed"]) != 30 || fs["platform_bp"].(float64) != 100 || fs["policy"] != "absorb" {
			t.Fatalf("default fees %v", fs)
		}

		// £47.60: open banking 0.2% (10p) + 1% (48p) against card 2.9% + 30p (£1.68) + 48p.
		q := s.call("POST", "/api/v1/fees/quote", tl.tom, map[string]any{"amount": gbp(4760)})
		if q.Status != 200 {
			t.Fatalf("quote: %d %s", q.Status, q.Body)
		}
		methods := q.json(t)["methods"].([]any)
		want := []struct {
			method       string
			cost, saving int64
		}{{"cash", 0, 216}, {"open_banking", 58, 158}, {"card", 216, 0}}
		for i, w := range want {
			m := methods[i].(map[string]any)
			if m["method"] != w.method || amount(m["cost"]) != w.cost || amount(m["saving_vs_card"]) != w.saving || amount(m["net"]) != 4760-w.cost {
				t.Fatalf("quote[%d] = %v, want %s costing %d saving %d", i, m, w.method, w.cost, w.saving)
			}
		}
		expectProblem(t, s.call("POST", "/api/v1/fees/quote", tl.tom, map[string]any{"amount": gbp(0)}), 422, "invalid_field", "amount.amount")

		// Passing card fees on to guests is refused in the UK; absorbing a new rate is fine.
		put := map[string]any{"version": 0, "card": map[string]any{"rate_bp": 175, "fixed": gbp(20)},
			"open_banking": map[string]any{"rate_bp": 20, "fixed": gbp(0)}, "platform_bp": 100, "policy": "pass_on"}
		expectProblem(t, s.call("PUT", feesPath, tl.owner, put), 422, "invalid_field", "policy")
		expectProblem(t, s.call("PUT", feesPath, tl.tom, put), 403, "permission_denied")
		put["policy"] = "absorb"
		put["platform_bp"] = 0
		expectProblem(t, s.call("PUT", feesPath, tl.owner, put), 422, "invalid_field", "platform_bp")
		put["platform_bp"] = 100
		if r := s.call("PUT", feesPath, tl.owner, put); r.Status != 200 || r.json(t)["version"].(float64) != 1 {
			t.Fatalf("set fees: %d %s", r.Status, r.Body)
		}
		expectProblem(t, s.call("PUT", feesPath, tl.owner, put), 409, "version_conflict")

		// A card payment carries its fees; cash carries none.
		o := tl.openCheck(t, tl.tom, 2)
		id := o["id"].(string)
		pc, _ := tl.pay(t, tl.tom, id, map[string]any{"method": "card", "amount": gbp(1000), "tip": gbp(200)}, 201)
		if amount(pc["processing_fee"]) != 1200*175/10000+20 || amount(pc["platform_fee"]) != 12 || amount(pc["surcharge"]) != 0 {
			t.Fatalf("card fees: processing %v platform %v surcharge %v", pc["processing_fee"], pc["platform_fee"], pc["surcharge"])
		}
		cash, _ := tl.pay(t, tl.tom, id, map[string]any{"method": "cash"}, 201)
		if amount(cash["platform_fee"]) != 0 || amount(cash["processing_fee"]) != 0 {
			t.Fatalf("cash fees: %v %v", cash["processing_fee"], cash["platform_fee"])
		}
		// Refunds give Fynlo's share back: in proportion, then the rest.
		refund := func(minor int64) map[string]any {
			r := s.call("POST", "/api/v1/payments/"+pc["id"].(string)+"/refunds", tl.maya, map[string]any{"amount": gbp(minor), "reason": "comped later"})
			if r.Status != 201 {
				t.Fatalf("refund: %d %s", r.Status, r.Body)
			}
			return r.json(t)["refund"].(map[string]any)
		}
		if r := refund(500); amount(r["platform_fee"]) != -5 {
			t.Fatalf("£5 of £12 refunded gives back %v of the 12p fee, want -5", r["platform_fee"])
		}
		if r := refund(700); amount(r["platform_fee"]) != -7 {
			t.Fatalf("the rest refunded gives back %v, want -7", r["platform_fee"])
		}

		// Platform revenue: for Fynlo's administrators only.
		date := pc["business_date"].(string)
		path := "/api/v1/platform/revenue?from=" + date + "&to=" + date
		expectProblem(t, s.call("GET", path, tl.owner, nil), 403, "not_platform_admin")
		// Named by user ID: an account with a Fynlo-looking email is nobody.
		ops := s.signup("ops@fynlo.example")
		expectProblem(t, s.call("GET", path, ops.Token, nil), 403, "not_platform_admin")
		opsID := s.call("GET", "/api/v1/me", ops.Token, nil).json(t)["user"].(map[string]any)["id"].(string)
		s.stop()
		cfg.PlatformAdmins = []string{opsID}
		s = start(t, cfg)
		rev := s.call("GET", path, ops.Token, nil)
		if rev.Status != 200 {
			t.Fatalf("revenue: %d %s", rev.Status, rev.Body)
		}
		orgs := rev.json(t)["organizations"].([]any)
		if len(orgs) != 1 {
			t.Fatalf("revenue for %d organizations, want 1: %s", len(orgs), rev.Body)
		}
		r := orgs[0].(map[string]any)
		if r["fees"].(float64) != 12 || r["reversed"].(float64) != 12 || r["net"].(float64) != 0 || r["entries"].(float64) != 3 {
			t.Fatalf("revenue %v, want fees 12, reversed 12, net 0 over 3 entries", r)
		}
		expectProblem(t, s.call("GET", "/api/v1/platform/revenue?from=2026-13-01&to="+date, ops.Token, nil), 422, "invalid_field", "from")
	})
}

var fuzzDrawerOpen bool

// FuzzPaymentCreate sends any body to a check's payments: never a 500,
// always a problem when refused, and whatever is taken, the check's
// balance still adds up.
func FuzzPaymentCreate(f *testing.F) {
	for _, seed := range []string{
		`{"method":"cash"}`, `{"method":"card"}`, `{"method":"card","card":{"capture":"manual"}}`,
		`{"method":"cash","amount":{"amount":1,"currency":"GBP"},"tendered":{"amount":9223372036854775807,"currency":"GBP"}}`,
		`{"method":"cash","tip":{"amount":-1,"currency":"GBP"}}`, `{"method":"cash","tip_percent_bp":10001}`,
		`{"method":"card","amount":{"amount":99999999,"currency":"GBP"}}`, `{"method":"card","amount":{"amount":1,"currency":"XXX"}}`,
		`{"method":"card","card":{"payment_method":"pm_card_chargeDeclined"}}`, `{"method":"card","card":{"tap_to_pay":true}}`,
		`{"method":"cash","tip":{"amount":9223372036854775807,"currency":"GBP"}}`, `{"method":"open_banking"}`,
		`{"id":"pay_01jdzq3m5d6yq1b4x0kq9w2v7e","method":"cash"}`, `{"id":"nope","method":"cash"}`, `{}`, `null`, `[]`,
		`{"method":"cash","drawer_id":"drw_01jdzq3m5d6yq1b4x0kq9w2v7e"}`, `{"method":"cash","amount":{"amount":1e99,"currency":"GBP"}}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		s := fuzzServer(t)
		tok := fuzzTenant.Token
		if fuzzOrderItem == "" {
			tax := kdsCreated(t, s.call("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Fuzz food",
				"rates": map[string]int{"dine_in": 2000, "takeaway": 0, "delivery": 0}}), "tax category")["id"]
			cat := kdsCreated(t, s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "Fuzz"}), "category")["id"]
			fuzzOrderItem = kdsCreated(t, s.call("POST", "/api/v1/items", tok, map[string]any{"category_id": cat, "name": "Fuzz dish",
				"tax_category_id": tax, "variants": []map[string]any{{"name": "R", "price": rulesGBP(1234)}}}), "item")["id"].(string)
		}
		if !fuzzDrawerOpen {
			d := kdsCreated(t, s.call("POST", "/api/v1/cash-drawers", tok, map[string]any{"location_id": fuzzTenant.LocationID, "name": "Fuzz till"}), "drawer")
			kdsCreated(t, s.call("POST", "/api/v1/cash-drawers/"+d["id"].(string)+"/sessions", tok, map[string]any{"float": gbp(0)}), "session")
			fuzzDrawerOpen = true
		}
		o := kdsCreated(t, s.call("POST", "/api/v1/orders", tok, map[string]any{"location_id": fuzzTenant.LocationID, "type": "takeaway",
			"lines": []map[string]any{rulesLine(fuzzOrderItem, 2)}}), "check")
		path := "/api/v1/orders/" + o["id"].(string) + "/payments"
		r := s.call("POST", path, tok, body)
		if r.Status >= 500 {
			t.Fatalf("POST %s %q: %d %s", path, body, r.Status, r.Body)
		}
		if r.Status >= 300 {
			var p struct {
				Code   string `json:"code"`
				Status int    `json:"status"`
			}
			if err := json.Unmarshal(r.Body, &p); err != nil || p.Code == "" || p.Status != r.Status {
				t.Fatalf("POST %s %q: %d with a body that is not a problem: %s", path, body, r.Status, r.Body)
			}
			return
		}
		var out struct {
			Payment map[string]any `json:"payment"`
			Order   map[string]any `json:"order"`
		}
		if err := json.Unmarshal(r.Body, &out); err != nil || out.Order == nil || out.Payment == nil {
			t.Fatalf("POST %s %q: %d with %s", path, body, r.Status, r.Body)
		}
		total := amount(out.Order["totals"].(map[string]any)["total"])
		p, pend, bal, _ := paid(out.Order)
		if p+pend+bal != total || p < 0 || pend < 0 || bal < 0 || amount(out.Payment["change"]) < 0 || amount(out.Payment["tip"]) < 0 {
			t.Fatalf("POST %q: paid %d + pending %d + balance %d vs total %d; payment %v", body, p, pend, bal, total, out.Payment)
		}
	})
}

// TestSurchargePassedOn: where the law allows it (here, a US location), a
// restaurant may pass card fees on; the guest's card pays a disclosed
// surcharge on top, which is not part of the check.
func TestSurchargePassedOn(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		r := s.call("POST", "/api/v1/signup", "", map[string]string{"business_name": "Joe's Diner", "owner_name": "Joe",
			"email": "joe@example.com", "password": "correct horse battery", "country": "US", "currency": "USD", "timezone": "America/New_York"})
		if r.Status != 201 {
			t.Fatalf("signup: %d %s", r.Status, r.Body)
		}
		m := r.json(t)
		tok, loc := m["access_token"].(string), m["location"].(map[string]any)["id"].(string)
		usd := func(a int64) map[string]any { return map[string]any{"amount": a, "currency": "USD"} }
		tax := kdsCreated(t, s.call("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Food",
			"rates": map[string]int{"dine_in": 0, "takeaway": 0, "delivery": 0}}), "tax category")["id"]
		cat := kdsCreated(t, s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "Mains"}), "category")["id"]
		item := kdsCreated(t, s.call("POST", "/api/v1/items", tok, map[string]any{"category_id": cat, "name": "Burger",
			"tax_category_id": tax, "variants": []map[string]any{{"name": "R", "price": usd(1000)}}}), "item")["id"].(string)
		put := map[string]any{"version": 0, "card": map[string]any{"rate_bp": 290, "fixed": usd(30)},
			"open_banking": map[string]any{"rate_bp": 20, "fixed": usd(0)}, "platform_bp": 100, "policy": "pass_on"}
		if r := s.call("PUT", "/api/v1/locations/"+loc+"/fees", tok, put); r.Status != 200 {
			t.Fatalf("pass_on in the US: %d %s", r.Status, r.Body)
		}
		q := s.call("POST", "/api/v1/fees/quote", tok, map[string]any{"location_id": loc, "amount": usd(1000)}).json(t)["methods"].([]any)
		for _, x := range q {
			if mq := x.(map[string]any); mq["method"] == "card" && amount(mq["surcharge"]) != 29+30+10 {
				t.Fatalf("card surcharge quoted %v", mq["surcharge"])
			}
		}
		o := kdsCreated(t, s.call("POST", "/api/v1/orders", tok, map[string]any{"location_id": loc, "type": "takeaway",
			"lines": []map[string]any{{"item_id": item, "quantity": 1}}}), "check")
		r = s.call("POST", "/api/v1/orders/"+o["id"].(string)+"/payments", tok, map[string]any{"method": "card"})
		if r.Status != 201 {
			t.Fatalf("pay: %d %s", r.Status, r.Body)
		}
		p, check := r.json(t)["payment"].(map[string]any), r.json(t)["order"].(map[string]any)
		if amount(p["amount"]) != 1000 || amount(p["surcharge"]) != 69 || check["status"] != "closed" || amount(check["payments"].(map[string]any)["paid"]) != 1000 {
			t.Fatalf("surcharged payment %v; check %v %v", p, check["status"], check["payments"])
		}
	})
}
