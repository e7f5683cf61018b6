package app_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/app"
	"github.com/fynlo/fynlo/internal/payment/truelayer/tltest"
)

// TestTrueLayerPayments runs QR payments through an organization's own
// TrueLayer account, against a fake TrueLayer that checks every request's
// signature and signs its webhooks as TrueLayer does.
func TestTrueLayerPayments(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		tl := tltest.New(t)
		cfg.TrueLayerBase, cfg.TrueLayerJWKS, cfg.BankPoll = tl.URL, []string{tl.JWKSURL()}, time.Millisecond
		f := startDemoFloor(t, cfg)
		s := f.s
		org := s.app.Demo.OrganizationID
		const path = "/api/v1/payments/providers/truelayer"

		// Connecting: bad credentials are refused with their field.
		good := map[string]any{"version": 0, "client_id": tl.ClientID, "client_secret": tl.ClientSecret, "signing_key_id": tl.ClientKeyID,
			"signing_key_pem": string(tl.ClientKeyPEM), "merchant_account_id": tl.MerchantAccountID, "environment": "sandbox"}
		with := func(k string, v any) map[string]any {
			c := map[string]any{}
			for kk, vv := range good {
				c[kk] = vv
			}
			c[k] = v
			return c
		}
		expectProblem(t, s.call("PUT", path, f.owner, with("client_secret", "")), 422, "invalid_field", "client_secret")
		expectProblem(t, s.call("PUT", path, f.owner, with("signing_key_pem", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")),
			422, "invalid_field", "signing_key_pem")
		expectProblem(t, s.call("PUT", path, f.tom, good), 403, "permission_denied")
		r := s.call("PUT", path, f.owner, good)
		if r.Status != 200 || r.json(t)["mode"] != "test" || strings.Contains(string(r.Body), tl.ClientSecret) || strings.Contains(string(r.Body), "PRIVATE") {
			t.Fatalf("connect TrueLayer: %d %s", r.Status, r.Body)
		}
		tl.SetWebhookURL(s.URL + "/api/v1/webhooks/truelayer?account=" + org)

		// A QR payment through TrueLayer: its hosted payment page is the link.
		o := f.openCheck(t, f.tom, 2)
		id, total := o["id"].(string), amount(o["totals"].(map[string]any)["total"])
		p, _ := f.pay(t, f.tom, id, map[string]any{"method": "open_banking"}, 201)
		ob := p["open_banking"].(map[string]any)
		ref, _ := p["provider_ref"].(string)
		if p["provider"] != "truelayer" || p["status"] != "requires_action" || ob["status"] != "authorization_required" ||
			!strings.HasPrefix(ob["link"].(string), tl.URL+"/checkout?payment_id="+ref) {
			t.Fatalf("TrueLayer payment: %v", p)
		}
		if fp, ok := tl.Payment(ref); !ok || fp.AmountInMinor != total {
			t.Fatalf("TrueLayer holds %+v, want %d", fp, total)
		}
		if rej := tl.Rejected(); len(rej) != 0 {
			t.Fatalf("the fake refused our requests: %v", rej)
		}
		// The guest approves; TrueLayer's signed webhooks close the check.
		if err := tl.Authorize(ref); err != nil {
			t.Fatal(err)
		}
		if got := f.payment(t, p["id"].(string)); got["open_banking"].(map[string]any)["status"] != "authorized" || got["status"] != "requires_action" {
			t.Fatalf("after authorization: %v", got)
		}
		if err := tl.Execute(ref); err != nil {
			t.Fatal(err)
		}
		if c := f.check(t, id); c["status"] != "closed" || f.payment(t, p["id"].(string))["status"] != "captured" {
			t.Fatalf("after execution: check %v", c["status"])
		}
		if err := tl.Settle(ref); err != nil {
			t.Fatal(err)
		}
		if got := f.payment(t, p["id"].(string)); got["open_banking"].(map[string]any)["status"] != "settled" {
			t.Fatalf("after settlement: %v", got["open_banking"])
		}

		// A refund: pending at TrueLayer until its webhook says.
		rr := s.call("POST", "/api/v1/payments/"+p["id"].(string)+"/refunds", f.maya, map[string]any{"reason": "overcharged", "amount": gbp(100)})
		if rr.Status != 201 {
			t.Fatalf("refund: %d %s", rr.Status, rr.Body)
		}
		rf := rr.json(t)["refund"].(map[string]any)
		if rf["status"] != "pending" || rf["provider_ref"] == nil {
			t.Fatalf("refund: %v", rf)
		}
		if err := tl.ExecuteRefund(ref, rf["provider_ref"].(string)); err != nil {
			t.Fatal(err)
		}
		if got := s.call("GET", "/api/v1/refunds?payment_id="+p["id"].(string), f.owner, nil).json(t)["refunds"].([]any)[0].(map[string]any); got["status"] != "succeeded" {
			t.Fatalf("refund after TrueLayer's webhook: %v", got)
		}

		// Webhooks that do not verify change nothing.
		o2 := f.openCheck(t, f.tom, 1)
		p2, _ := f.pay(t, f.tom, o2["id"].(string), map[string]any{"method": "open_banking"}, 201)
		ref2 := p2["provider_ref"].(string)
		tl.SetWebhookURL("") // and from here, lost webhooks
		wh, err := tl.Event("payment_executed", ref2)
		if err != nil {
			t.Fatal(err)
		}
		other, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		hook := func(w tltest.Webhook) response {
			return s.call("POST", "/api/v1/webhooks/truelayer?account="+org, "", string(w.Body),
				"Tl-Signature", w.Header.Get("Tl-Signature"), "X-Tl-Webhook-Timestamp", w.Header.Get("X-Tl-Webhook-Timestamp"))
		}
		for name, w := range map[string]tltest.Webhook{
			"forged":     tl.SignWebhook("/api/v1/webhooks/truelayer", wh.Body, tltest.SignOptions{Key: other}),
			"stale":      tl.SignWebhook("/api/v1/webhooks/truelayer", wh.Body, tltest.SignOptions{Timestamp: time.Now().Add(-10 * time.Minute)}),
			"other path": tl.SignWebhook("/somewhere/else", wh.Body, tltest.SignOptions{}),
		} {
			if r := hook(w); r.Status != 422 {
				t.Errorf("%s webhook: %d %s", name, r.Status, r.Body)
			}
		}
		if got := f.payment(t, p2["id"].(string)); got["status"] != "requires_action" {
			t.Fatalf("bad webhooks moved the payment: %v", got["status"])
		}
		// TrueLayer executes it and the webhook is lost: the sweep asks.
		if err := tl.Execute(ref2); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		s.sweep(t)
		if got := f.payment(t, p2["id"].(string)); got["status"] != "captured" || f.check(t, o2["id"].(string))["status"] != "closed" {
			t.Fatalf("after polling: %v", got["status"])
		}

		// TrueLayer down: nothing is created, the check is free for a card.
		o3 := f.openCheck(t, f.tom, 1)
		tl.SetFault(tltest.Unavailable)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+o3["id"].(string)+"/payments", f.tom, map[string]any{"method": "open_banking"}),
			503, "provider_unavailable")
		if _, pend, bal, _ := paid(f.check(t, o3["id"].(string))); pend != 0 || bal == 0 {
			t.Fatalf("after TrueLayer was down: pending %d balance %d", pend, bal)
		}
		tl.SetFault(tltest.Up)

		// The providers list shows TrueLayer, in test mode, healthy.
		for _, x := range s.call("GET", "/api/v1/payments/providers", f.owner, nil).json(t)["providers"].([]any) {
			if ph := x.(map[string]any); ph["kind"] == "open_banking" && (ph["provider"] != "truelayer" || ph["mode"] != "test" || ph["configured"] != true) {
				t.Fatalf("open-banking provider: %v", ph)
			}
		}
	})
}
