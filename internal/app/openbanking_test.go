package app_test

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/app"
	"github.com/fynlo/fynlo/internal/payment"
)

// phone is a guest's phone on the restaurant's Wi-Fi: it follows the QR
// code's link to the sandbox bank's page and answers it.
type phone struct {
	t    *testing.T
	link string
}

func (p phone) open() string {
	p.t.Helper()
	r, err := http.Get(p.link)
	if err != nil {
		p.t.Fatal(err)
	}
	defer r.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(r.Body)
	if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(r.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		p.t.Fatalf("bank page: %d %v %s", r.StatusCode, r.Header, b.String())
	}
	return b.String()
}

func (p phone) decide(decision string) string {
	p.t.Helper()
	r, err := http.PostForm(p.link, url.Values{"decision": {decision}})
	if err != nil {
		p.t.Fatal(err)
	}
	defer r.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(r.Body)
	if r.StatusCode != 200 {
		p.t.Fatalf("bank %s: %d %s", decision, r.StatusCode, b.String())
	}
	return b.String()
}

// qrPay starts an open-banking payment of a check's balance.
func (f *demoFloor) qrPay(t *testing.T, token, orderID string) (map[string]any, phone) {
	t.Helper()
	p, _ := f.pay(t, token, orderID, map[string]any{"method": "open_banking"}, 201)
	ob := p["open_banking"].(map[string]any)
	if p["status"] != "requires_action" || p["provider"] != "sandbox_bank" || ob["status"] != "authorization_required" || ob["mode"] != "test" {
		t.Fatalf("open-banking payment: %v", p)
	}
	link := ob["link"].(string)
	if !strings.HasPrefix(link, f.s.URL+"/sandbox-bank/sbx_") {
		t.Fatalf("link %q is not this server's sandbox bank", link)
	}
	return p, phone{t: t, link: link}
}

func (f *demoFloor) payment(t *testing.T, id string) map[string]any {
	t.Helper()
	r := f.s.call("GET", "/api/v1/payments/"+id, f.owner, nil)
	if r.Status != 200 {
		t.Fatalf("payment %s: %d %s", id, r.Status, r.Body)
	}
	return r.json(t)
}

func (f *demoFloor) check(t *testing.T, id string) map[string]any {
	t.Helper()
	return f.s.call("GET", "/api/v1/orders/"+id, f.owner, nil).json(t)
}

// setFees changes the demo location's fee schedule and payment settings.
func (f *demoFloor) setFees(t *testing.T, change map[string]any) map[string]any {
	t.Helper()
	cur := f.s.call("GET", "/api/v1/locations/"+f.loc+"/fees", f.owner, nil).json(t)
	body := map[string]any{}
	for _, k := range []string{"version", "card", "open_banking", "platform_bp", "policy", "offered", "late_bank_payments"} {
		body[k] = cur[k]
	}
	for k, v := range change {
		body[k] = v
	}
	r := f.s.call("PUT", "/api/v1/locations/"+f.loc+"/fees", f.owner, body)
	if r.Status != 200 {
		t.Fatalf("fees %v: %d %s", change, r.Status, r.Body)
	}
	return r.json(t)
}

// sweep runs the server's open-banking sweep once, as its ticker does.
func (s *server) sweep(t *testing.T) {
	t.Helper()
	if _, err := s.app.Payments.SweepBank(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestOpenBankingJourney is the done-when: a check paid by QR code
// on the sandbox bank closes live on the POS stream; a second check's QR
// code expires and is paid by card.
func TestOpenBankingJourney(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		cfg.BankExpiry = 2 * time.Second
		f := startDemoFloor(t, cfg)
		s := f.s
		o := f.openCheck(t, f.tom, 3)
		id, total := o["id"].(string), amount(o["totals"].(map[string]any)["total"])

		// Of the electronic methods, open banking costs the restaurant
		// least, so it is offered before card, with the saving shown.
		opts := s.call("GET", "/api/v1/orders/"+id+"/payment-options", f.tom, nil).json(t)
		var order []string
		for _, m := range opts["methods"].([]any) {
			q := m.(map[string]any)
			order = append(order, q["method"].(string))
			if q["method"] == "open_banking" && (q["available"] != true || amount(q["saving_vs_card"]) <= 0) {
				t.Fatalf("open banking: %v", q)
			}
		}
		if strings.Join(order, ",") != "cash,open_banking,card" || amount(opts["balance"]) != total {
			t.Fatalf("payment options: %v", opts)
		}

		ws := dial(t, s, f.tom, "")
		p, guest := f.qrPay(t, f.tom, id)
		pid := p["id"].(string)
		if _, pend, bal, _ := paid(f.check(t, id)); pend != total || bal != 0 {
			t.Fatalf("the QR payment holds %d, balance %d; want %d and 0", pend, bal, total)
		}
		opts = s.call("GET", "/api/v1/orders/"+id+"/payment-options", f.tom, nil).json(t)
		if opts["waiting"].(map[string]any)["id"] != pid {
			t.Fatalf("options do not show the QR payment waiting: %v", opts)
		}
		// The QR code, for the iPad's screen.
		svg := s.call("GET", "/api/v1/payments/"+pid+"/qr.svg", f.tom, nil)
		if svg.Status != 200 || svg.Header.Get("Content-Type") != "image/svg+xml" || !bytes.HasPrefix(svg.Body, []byte("<svg")) {
			t.Fatalf("qr.svg: %d %v %.80s", svg.Status, svg.Header, svg.Body)
		}
		pngR := s.call("GET", "/api/v1/payments/"+pid+"/qr.png?size=256", f.tom, nil)
		img, err := png.Decode(bytes.NewReader(pngR.Body))
		if pngR.Status != 200 || err != nil || img.Bounds().Dx() != 256 {
			t.Fatalf("qr.png: %d %v", pngR.Status, err)
		}

		// The guest scans it, sees the bill, approves.
		page := guest.open()
		if !strings.Contains(page, "SANDBOX BANK") || !strings.Contains(page, "id=\"approve\"") {
			t.Fatalf("bank page: %s", page)
		}
		if ob := f.payment(t, pid)["open_banking"].(map[string]any); ob["status"] != "authorizing" {
			t.Fatalf("after the guest opened the page: %v", ob)
		}
		if !strings.Contains(guest.decide("approve"), "Payment approved") {
			t.Fatal("the bank page did not confirm")
		}
		got := f.payment(t, pid)
		if got["status"] != "captured" || got["open_banking"].(map[string]any)["status"] != "settled" {
			t.Fatalf("after approval: %v", got)
		}
		if amount(got["processing_fee"]) != (total*20+5000)/10000 {
			t.Fatalf("processing fee %v on %d at 0.2%%", got["processing_fee"], total)
		}
		// The POS sees it live: the payment moving, then the check closing.
		deadline := time.Now().Add(5 * time.Second)
		for closed := false; !closed; {
			if time.Now().After(deadline) {
				t.Fatal("the check never closed on the stream")
			}
			e := next(t, ws)
			if e.Type == "order.updated" && e.SubjectID == id {
				closed = f.check(t, id)["status"] == "closed"
			}
		}
		if p, pend, bal, _ := paid(f.check(t, id)); p != total || pend != 0 || bal != 0 {
			t.Fatalf("paid %d pending %d balance %d", p, pend, bal)
		}

		// A refund goes back through the bank.
		r := s.call("POST", "/api/v1/payments/"+pid+"/refunds", f.maya, map[string]any{"reason": "cold chips", "amount": gbp(150)})
		if r.Status != 201 {
			t.Fatalf("refund: %d %s", r.Status, r.Body)
		}
		if rf := r.json(t)["refund"].(map[string]any); rf["status"] != "succeeded" || rf["method"] != "open_banking" || !strings.HasPrefix(rf["provider_ref"].(string), "sbx_rf_") {
			t.Fatalf("refund: %v", rf)
		}

		// A second check: the guest walks away; the code expires.
		o2 := f.openCheck(t, f.tom, 2)
		id2 := o2["id"].(string)
		total2 := amount(o2["totals"].(map[string]any)["total"])
		p2, _ := f.qrPay(t, f.tom, id2)
		time.Sleep(2100 * time.Millisecond)
		s.sweep(t)
		got2 := f.payment(t, p2["id"].(string))
		fb, _ := got2["open_banking"].(map[string]any)["fallback"].(map[string]any)
		if got2["status"] != "expired" || fb == nil || fb["method"] != "card" || amount(fb["amount"]) != total2 {
			t.Fatalf("after expiry: %v", got2)
		}
		opts = s.call("GET", "/api/v1/orders/"+id2+"/payment-options", f.tom, nil).json(t)
		if opts["waiting"] != nil || opts["fallback"].(map[string]any)["method"] != "card" || amount(opts["balance"]) != total2 {
			t.Fatalf("options after expiry: %v", opts)
		}
		card, o2 := f.pay(t, f.tom, id2, map[string]any{"method": "card"}, 201)
		if card["status"] != "captured" || o2["status"] != "closed" {
			t.Fatalf("card after expiry: %v / %v", card["status"], o2["status"])
		}

		// The providers, with their health.
		ph := s.call("GET", "/api/v1/payments/providers", f.owner, nil).json(t)["providers"].([]any)
		byName := map[string]map[string]any{}
		for _, x := range ph {
			byName[x.(map[string]any)["provider"].(string)] = x.(map[string]any)
		}
		if byName["sandbox_bank"]["health"] != "ok" || byName["sandbox_bank"]["mode"] != "test" || byName["simulated"]["health"] != "ok" {
			t.Fatalf("providers: %v", ph)
		}
	})
}

// TestOpenBankingRaces drives every late arrival: an approval after
// expiry, after the card payment, twice, and racing the card payment.
func TestOpenBankingRaces(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		cfg.BankExpiry = time.Second
		f := startDemoFloor(t, cfg)
		s := f.s
		expire := func() {
			time.Sleep(1100 * time.Millisecond)
			s.sweep(t)
		}

		// Approved after expiry, nothing else paid: the check takes it.
		o := f.openCheck(t, f.tom, 2)
		id, total := o["id"].(string), amount(o["totals"].(map[string]any)["total"])
		p, guest := f.qrPay(t, f.tom, id)
		guest.open() // the guest is in their bank's app: the provider cannot cancel it
		expire()
		if got := f.payment(t, p["id"].(string)); got["status"] != "expired" {
			t.Fatalf("not expired: %v", got)
		}
		guest.decide("approve")
		got := f.payment(t, p["id"].(string))
		if got["status"] != "captured" {
			t.Fatalf("late approval of a check still unpaid: %v", got)
		}
		if pd, pend, bal, _ := paid(f.check(t, id)); pd != total || pend != 0 || bal != 0 || f.check(t, id)["status"] != "closed" {
			t.Fatalf("paid %d pending %d balance %d", pd, pend, bal)
		}
		// The same webhooks again, and the guest trying again: nothing moves.
		for _, w := range s.app.Sandbox.Sent() {
			if applied, err := s.app.Payments.HandleBankWebhook(context.Background(), payment.SandboxBankName, w.OrgID, w.Req); err != nil || applied {
				t.Fatalf("replayed webhook: applied %v err %v", applied, err)
			}
		}
		if page := guest.decide("approve"); !strings.Contains(page, "already settled") {
			t.Fatalf("second approval: %s", page)
		}
		if pd, _, _, _ := paid(f.check(t, id)); pd != total {
			t.Fatalf("paid %d after replays, want %d", pd, total)
		}

		// Approved after expiry and after the card paid: surplus, refunded.
		o = f.openCheck(t, f.tom, 2)
		id, total = o["id"].(string), amount(o["totals"].(map[string]any)["total"])
		p, guest = f.qrPay(t, f.tom, id)
		guest.open()
		expire()
		f.pay(t, f.tom, id, map[string]any{"method": "card"}, 201)
		guest.decide("approve")
		got = f.payment(t, p["id"].(string))
		if got["status"] != "refunded" || amount(got["refunded"]) != total {
			t.Fatalf("late money after the card: %v", got)
		}
		h := got["history"].([]any)
		if h[len(h)-2].(map[string]any)["to"] != "surplus" {
			t.Fatalf("history does not show the surplus: %v", h)
		}
		rs := s.call("GET", "/api/v1/refunds?payment_id="+p["id"].(string), f.owner, nil).json(t)["refunds"].([]any)
		if len(rs) != 1 || rs[0].(map[string]any)["status"] != "succeeded" || rs[0].(map[string]any)["method"] != "open_banking" {
			t.Fatalf("refunds: %v", rs)
		}
		c := f.check(t, id)
		if pd, pend, bal, _ := paid(c); pd != total || pend != 0 || bal != 0 || amount(c["payments"].(map[string]any)["refunded"]) != 0 {
			t.Fatalf("the check after late money: %v", c["payments"])
		}

		// Cancelled by the waiter, then approved, when the location holds
		// late money for a manager: surplus until a manager refunds it whole.
		f.setFees(t, map[string]any{"late_bank_payments": "hold"})
		o = f.openCheck(t, f.tom, 2)
		id, total = o["id"].(string), amount(o["totals"].(map[string]any)["total"])
		p, guest = f.qrPay(t, f.tom, id)
		guest.open()
		if r := s.call("POST", "/api/v1/payments/"+p["id"].(string)+"/cancel", f.tom, nil); r.Status != 200 || r.json(t)["payment"].(map[string]any)["status"] != "cancelled" {
			t.Fatalf("cancel: %d %s", r.Status, r.Body)
		}
		f.pay(t, f.tom, id, map[string]any{"method": "card"}, 201)
		guest.decide("approve")
		if got = f.payment(t, p["id"].(string)); got["status"] != "surplus" {
			t.Fatalf("held late money: %v", got)
		}
		s.sweep(t) // holding means holding: the sweep leaves it
		expectProblem(t, s.call("POST", "/api/v1/payments/"+p["id"].(string)+"/refunds", f.maya,
			map[string]any{"reason": "late approval", "amount": gbp(1)}), 422, "invalid_field", "amount")
		r := s.call("POST", "/api/v1/payments/"+p["id"].(string)+"/refunds", f.maya, map[string]any{"reason": "late approval"})
		if r.Status != 201 || r.json(t)["payment"].(map[string]any)["status"] != "refunded" {
			t.Fatalf("manager's refund: %d %s", r.Status, r.Body)
		}
		if pd, _, bal, _ := paid(f.check(t, id)); pd != total || bal != 0 {
			t.Fatalf("paid %d balance %d after the held refund", pd, bal)
		}
		f.setFees(t, map[string]any{"late_bank_payments": "refund"})

		// The approval and the card at the same moment, many times: whoever
		// wins, the check is paid exactly once and the rest goes back.
		for range 4 {
			o = f.openCheck(t, f.tom, 1)
			id, total = o["id"].(string), amount(o["totals"].(map[string]any)["total"])
			p, guest = f.qrPay(t, f.tom, id)
			guest.open()
			expire()
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); guest.decide("approve") }()
			cardStatus := 0
			go func() {
				defer wg.Done()
				cardStatus = s.call("POST", "/api/v1/orders/"+id+"/payments", f.aisha, map[string]any{"method": "card"}).Status
			}()
			wg.Wait()
			got = f.payment(t, p["id"].(string))
			c := f.check(t, id)
			pd, pend, bal, _ := paid(c)
			if pd != total || pend != 0 || bal != 0 || c["status"] != "closed" {
				t.Fatalf("race: card %d, bank payment %v; check paid %d pending %d balance %d", cardStatus, got["status"], pd, pend, bal)
			}
			switch {
			case cardStatus == 201 && got["status"] == "refunded":
			case cardStatus == 409 && got["status"] == "captured":
			default:
				t.Fatalf("race: card %d and bank payment %v", cardStatus, got["status"])
			}
		}

		// The day's report still reconciles: late money shows as taken and
		// given back, and every identity holds.
		rep := s.call("GET", "/api/v1/reports/day?location_id="+f.loc, f.owner, nil)
		if rep.Status != 200 {
			t.Fatalf("report: %d %s", rep.Status, rep.Body)
		}
		for _, x := range rep.json(t)["reconciliation"].([]any) {
			if id := x.(map[string]any); id["holds"] != true {
				t.Errorf("identity %v does not hold: %v", id["name"], id)
			}
		}

		// Declined: failed, and card is offered for the same amount.
		o = f.openCheck(t, f.tom, 1)
		id, total = o["id"].(string), amount(o["totals"].(map[string]any)["total"])
		p, guest = f.qrPay(t, f.tom, id)
		guest.open()
		if !strings.Contains(guest.decide("decline"), "declined") {
			t.Fatal("the bank page did not say declined")
		}
		got = f.payment(t, p["id"].(string))
		fb := got["open_banking"].(map[string]any)["fallback"].(map[string]any)
		if got["status"] != "failed" || got["failure"].(map[string]any)["code"] != "authorization_failed" || fb["reason"] != "declined" || amount(fb["amount"]) != total {
			t.Fatalf("declined: %v", got)
		}
		if _, pend, bal, _ := paid(f.check(t, id)); pend != 0 || bal != total {
			t.Fatalf("after a decline: pending %d balance %d", pend, bal)
		}
	})
}

// TestOpenBankingBadInput: wrong fields, methods a location does not
// offer, forged, tampered, stale and replayed webhooks: each refused with
// its reason, and nothing changes.
func TestOpenBankingBadInput(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		f := startDemoFloor(t, cfg)
		s := f.s
		org := s.app.Demo.OrganizationID
		o := f.openCheck(t, f.tom, 2)
		id := o["id"].(string)
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"method": "open_banking", "tendered": gbp(5000)}, "tendered"},
			{map[string]any{"method": "open_banking", "drawer_id": "drw_01m8dfe8c3c6mg0mjt4tjvr3zy"}, "drawer_id"},
			{map[string]any{"method": "open_banking", "card": map[string]any{"payment_method": "pm_card_visa"}}, "card"},
			{map[string]any{"method": "cash", "card": map[string]any{"apple_pay_token": map[string]any{"version": "EC_v1"}}}, "card"},
		} {
			expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/payments", f.tom, c.body), 422, "invalid_field", c.field)
		}

		// A location that does not take open banking says so, and ranks it last.
		expectProblem(t, s.call("PUT", "/api/v1/locations/"+f.loc+"/fees", f.owner, map[string]any{"version": 0, "card": map[string]any{"rate_bp": 290, "fixed": gbp(30)},
			"open_banking": map[string]any{"rate_bp": 20, "fixed": gbp(0)}, "platform_bp": 100, "policy": "absorb", "offered": []string{"card", "card"}}),
			422, "invalid_field", "offered[1]")
		expectProblem(t, s.call("PUT", "/api/v1/locations/"+f.loc+"/fees", f.owner, map[string]any{"version": 0, "card": map[string]any{"rate_bp": 290, "fixed": gbp(30)},
			"open_banking": map[string]any{"rate_bp": 20, "fixed": gbp(0)}, "platform_bp": 100, "policy": "absorb", "late_bank_payments": "keep"}),
			422, "invalid_field", "late_bank_payments")
		f.setFees(t, map[string]any{"offered": []string{"card", "cash"}})
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/payments", f.tom, map[string]any{"method": "open_banking"}), 422, "invalid_field", "method")
		ms := s.call("GET", "/api/v1/orders/"+id+"/payment-options", f.tom, nil).json(t)["methods"].([]any)
		if last := ms[len(ms)-1].(map[string]any); last["method"] != "open_banking" || last["available"] != false || ms[0].(map[string]any)["method"] != "card" {
			t.Fatalf("options with open banking off: %v", ms)
		}
		f.setFees(t, map[string]any{"offered": []string{}})

		// A card payment has no QR code.
		card, _ := f.pay(t, f.tom, id, map[string]any{"method": "card", "amount": gbp(100)}, 201)
		expectProblem(t, s.call("GET", "/api/v1/payments/"+card["id"].(string)+"/qr.svg", f.tom, nil), 409, "no_qr_code")

		// Webhooks: forged, tampered, stale, for no such account, replayed.
		p, guest := f.qrPay(t, f.tom, id)
		guest.open()
		sent := s.app.Sandbox.Sent()
		last := sent[len(sent)-1]
		if last.OrgID != org {
			t.Fatalf("webhook for %s, want %s", last.OrgID, org)
		}
		body := last.Req.Body
		good := last.Req.Header(payment.SandboxSignatureHeader)
		before := f.payment(t, p["id"].(string))
		hook := func(account string, b []byte, sig string) response {
			return s.call("POST", "/api/v1/webhooks/sandbox-bank?account="+account, "", string(b), "Sandbox-Bank-Signature", sig)
		}
		tampered := bytes.Replace(body, []byte(`"authorizing"`), []byte(`"executed"`), 1)
		for name, r := range map[string]response{
			"forged":    hook(org, tampered, "t=1,v1="+strings.Repeat("ab", 32)),
			"tampered":  hook(org, tampered, good),
			"stale":     hook(org, body, s.app.Sandbox.Sign(org, body, time.Now().Add(-10*time.Minute))),
			"unsigned":  hook(org, body, ""),
			"truelayer": s.call("POST", "/api/v1/webhooks/truelayer?account="+org, "", string(body), "Tl-Signature", "e30..sig"),
		} {
			if r.Status != 422 || !strings.Contains(string(r.Body), "bad_signature") {
				t.Errorf("%s webhook: %d %s", name, r.Status, r.Body)
			}
		}
		if r := hook("org_nosuchorganization0000000", body, good); r.Status != 422 {
			t.Errorf("webhook for another account: %d %s", r.Status, r.Body)
		}
		if r := hook(org, body, good); r.Status != 200 || r.json(t)["applied"] != false {
			t.Errorf("replayed webhook: %d %s", r.Status, r.Body)
		}
		if after := f.payment(t, p["id"].(string)); after["version"] != before["version"] || after["status"] != "requires_action" {
			t.Fatalf("bad webhooks moved the payment: %v → %v", before["status"], after["status"])
		}

		// The sandbox bank's page: no such payment; a decision it does not know.
		if r, err := http.Get(s.URL + "/sandbox-bank/sbx_nosuchpayment"); err != nil || r.StatusCode != 404 {
			t.Fatalf("unknown payment page: %v %v", r, err)
		}
		if r, err := http.PostForm(guest.link, url.Values{"decision": {"maybe"}}); err != nil || r.StatusCode != 422 {
			t.Fatalf("decision maybe: %v %v", r, err)
		}
		guest.decide("approve")
		expectProblem(t, s.call("POST", "/api/v1/payments/"+p["id"].(string)+"/cancel", f.tom, nil), 409, "illegal_transition")
	})
}
