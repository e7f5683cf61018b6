package app_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/app"
	"github.com/fynlo/fynlo/internal/payment/stripe"
	"github.com/fynlo/fynlo/internal/testenv"
)

const (
	fakeStripeKey  = "sk_test_fynlo00000000fake"
	fakeWebhookKey = "whsec_fynlo_test_secret"
)

// connectStripe gives the demo organization its own (fake) Stripe account.
func connectStripe(t *testing.T, s *server, owner string) {
	t.Helper()
	r := s.call("PUT", "/api/v1/payments/providers/stripe", owner, map[string]any{"version": 0, "secret_key": fakeStripeKey,
		"webhook_secret": fakeWebhookKey})
	if r.Status != 200 {
		t.Fatalf("connect Stripe: %d %s", r.Status, r.Body)
	}
	ps := r.json(t)
	if ps["mode"] != "test" || ps["key_hint"] != "sk_test_…fake" || ps["webhook_configured"] != true {
		t.Fatalf("provider settings %v", ps)
	}
	if containsAny(string(r.Body), fakeStripeKey, fakeWebhookKey) {
		t.Fatalf("the answer shows a key: %s", r.Body)
	}
}

func containsAny(s string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(x string) bool { return strings.Contains(s, x) })
}

// stripeEvent is a webhook body as Stripe sends it for a PaymentIntent.
func stripeEvent(id, typ, intent, status, paymentID string) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"created":1764158400,"data":{"object":{"id":%q,"object":"payment_intent",`+
		`"status":%q,"metadata":{"fynlo_payment_id":%q}}}}`, id, typ, intent, status, paymentID))
}

func (s *server) webhook(t *testing.T, account string, body []byte, signature string) response {
	t.Helper()
	return s.call("POST", "/api/v1/webhooks/stripe?account="+account, "", string(body), "Stripe-Signature", signature)
}

// TestStripePayments: an organization's own Stripe account takes its cards
// (a stateful fake of Stripe's API: charges, holds, captures, refunds), its
// webhooks are verified and applied once, and with Stripe unreachable the
// check stays payable in cash.
func TestStripePayments(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		fake := testenv.StartFakeStripe(t)
		cfg.StripeAPIBase = fake.URL
		tl := openTill(t, cfg)
		s := tl.s
		// Before connecting: the simulated provider, and no Terminal.
		expectProblem(t, s.call("POST", "/api/v1/payments/providers/stripe/connection-token", tl.tom, nil), 409, "terminal_unavailable")
		early := tl.openCheck(t, tl.tom, 1)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+early["id"].(string)+"/payments", tl.tom, map[string]any{"method": "card",
			"card": map[string]any{"tap_to_pay": true}}), 409, "terminal_unavailable")
		expectProblem(t, s.call("PUT", "/api/v1/payments/providers/stripe", tl.owner, map[string]any{"version": 0, "secret_key": "pk_test_123456789012"}),
			422, "invalid_field", "secret_key")
		expectProblem(t, s.call("PUT", "/api/v1/payments/providers/stripe", tl.tom, map[string]any{"version": 0, "secret_key": fakeStripeKey}),
			403, "permission_denied")
		connectStripe(t, s, tl.owner)
		for _, line := range []string{fakeStripeKey, fakeWebhookKey} {
			if containsAny(s.logs.String(), line) {
				t.Fatalf("a key was logged")
			}
		}
		if r := s.call("POST", "/api/v1/payments/providers/stripe/connection-token", tl.tom, nil); r.Status != 200 || r.json(t)["secret"] != "pst_test_fake" {
			t.Fatalf("connection token: %d %s", r.Status, r.Body)
		}

		o := tl.openCheck(t, tl.tom, 2)
		id := o["id"].(string)
		pay, o := tl.pay(t, tl.tom, id, map[string]any{"method": "card", "amount": gbp(1000), "tip": gbp(100),
			"card": map[string]any{"payment_method": "pm_card_visa"}}, 201)
		if pay["provider"] != "stripe" || pay["status"] != "captured" || pay["card"].(map[string]any)["last4"] != "4242" {
			t.Fatalf("stripe payment: %v", pay)
		}
		pi := fake.Intent(pay["provider_ref"].(string))
		if pi == nil || pi["amount"].(int64) != 1100 || pi["metadata"].(map[string]any)["fynlo_payment_id"] != pay["id"] {
			t.Fatalf("at Stripe: %v", pi)
		}
		// A declined card: failed, nothing held.
		declined, o := tl.pay(t, tl.tom, id, map[string]any{"method": "card", "card": map[string]any{"payment_method": "pm_card_chargeDeclined"}}, 201)
		if declined["status"] != "failed" || declined["failure"].(map[string]any)["code"] == "" {
			t.Fatalf("declined: %v", declined)
		}
		// 3-D Secure: the app gets the client secret to finish with Stripe's
		// SDK; Stripe's webhook says it succeeded.
		r := s.call("POST", "/api/v1/orders/"+id+"/payments", tl.tom, map[string]any{"method": "card", "amount": gbp(100),
			"card": map[string]any{"payment_method": "pm_card_threeDSecure2Required"}})
		sca := r.json(t)["payment"].(map[string]any)
		if r.Status != 201 || sca["status"] != "requires_action" || r.json(t)["client_secret"] == nil || sca["client_secret"] != nil {
			t.Fatalf("3-D Secure: %d %s", r.Status, r.Body)
		}
		if ev := s.call("GET", "/api/v1/events?after=0&limit=1000", tl.owner, nil); strings.Contains(string(ev.Body), "_secret_") {
			t.Fatal("a client secret went into the event log")
		}
		// The app lost it: the same payment again gives it back, and charges nothing more.
		charges := fake.Charges()
		again := s.call("POST", "/api/v1/orders/"+id+"/payments", tl.tom, map[string]any{"id": sca["id"], "method": "card", "amount": gbp(100),
			"card": map[string]any{"payment_method": "pm_card_threeDSecure2Required"}})
		if again.Status != 200 || again.json(t)["client_secret"] != r.json(t)["client_secret"] || fake.Charges() != charges {
			t.Fatalf("3-D Secure retried: %d %s (charges %d → %d)", again.Status, again.Body, charges, fake.Charges())
		}
		ev := stripeEvent("evt_sca", "payment_intent.succeeded", sca["provider_ref"].(string), "succeeded", sca["id"].(string))
		if w := s.webhook(t, tl.s.app.Demo.OrganizationID, ev, stripe.SignWebhook(ev, fakeWebhookKey, time.Now())); w.Status != 200 || w.json(t)["applied"] != true {
			t.Fatalf("3-D Secure webhook: %d %s", w.Status, w.Body)
		}
		if got := s.call("GET", "/api/v1/payments/"+sca["id"].(string), tl.tom, nil).json(t)["status"]; got != "captured" {
			t.Fatalf("after 3-D Secure: %v", got)
		}
		// Tap to Pay: the iPhone collects the card with Stripe Terminal.
		r = s.call("POST", "/api/v1/orders/"+id+"/payments", tl.tom, map[string]any{"method": "card", "amount": gbp(100), "card": map[string]any{"tap_to_pay": true}})
		tap := r.json(t)["payment"].(map[string]any)
		if r.Status != 201 || tap["status"] != "requires_action" || r.json(t)["client_secret"] == nil || tap["tap_to_pay"] != true {
			t.Fatalf("tap to pay: %d %s", r.Status, r.Body)
		}
		if types := fake.Intent(tap["provider_ref"].(string))["payment_method_types"]; fmt.Sprint(types) != "[card_present]" {
			t.Fatalf("a Tap to Pay PaymentIntent for %v", types)
		}
		ev = stripeEvent("evt_tap", "payment_intent.succeeded", tap["provider_ref"].(string), "succeeded", tap["id"].(string))
		if w := s.webhook(t, tl.s.app.Demo.OrganizationID, ev, stripe.SignWebhook(ev, fakeWebhookKey, time.Now())); w.Status != 200 || w.json(t)["applied"] != true {
			t.Fatalf("tap to pay webhook: %d %s", w.Status, w.Body)
		}
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/payments", tl.tom, map[string]any{"method": "card",
			"card": map[string]any{"tap_to_pay": true, "payment_method": "pm_card_visa"}}), 422, "invalid_field", "card.payment_method")
		// Refund through Stripe.
		r = s.call("POST", "/api/v1/payments/"+pay["id"].(string)+"/refunds", tl.maya, map[string]any{"amount": gbp(300), "reason": "cold"})
		if r.Status != 201 || r.json(t)["refund"].(map[string]any)["provider_ref"] == "" {
			t.Fatalf("refund: %d %s", r.Status, r.Body)
		}

		// A refund Stripe answers "pending", finished by its webhook.
		fake.SetRefundStatus("pending")
		r = s.call("POST", "/api/v1/payments/"+pay["id"].(string)+"/refunds", tl.maya, map[string]any{"amount": gbp(200), "reason": "late"})
		fake.SetRefundStatus("")
		if r.Status != 201 {
			t.Fatalf("pending refund: %d %s", r.Status, r.Body)
		}
		pending, pp := r.json(t)["refund"].(map[string]any), r.json(t)["payment"].(map[string]any)
		if pending["status"] != "pending" || pending["provider_ref"] == "" || amount(pp["refund_pending"]) != 200 || amount(pp["refunded"]) != 300 {
			t.Fatalf("pending refund %v; payment refunded %v pending %v", pending, pp["refunded"], pp["refund_pending"])
		}
		refundEv := []byte(fmt.Sprintf(`{"id":"evt_re","object":"event","type":"refund.updated","created":1764158400,"data":{"object":`+
			`{"id":%q,"object":"refund","status":"succeeded","payment_intent":%q,"metadata":{"fynlo_refund_id":%q}}}}`,
			pending["provider_ref"], pay["provider_ref"], pending["id"]))
		for i, want := range []bool{true, false} {
			w := s.webhook(t, tl.s.app.Demo.OrganizationID, refundEv, stripe.SignWebhook(refundEv, fakeWebhookKey, time.Now()))
			if w.Status != 200 || w.json(t)["applied"] != want {
				t.Fatalf("refund webhook %d: %d %s, want applied %v", i, w.Status, w.Body, want)
			}
		}
		if got := s.call("GET", "/api/v1/payments/"+pay["id"].(string), tl.tom, nil).json(t); amount(got["refunded"]) != 500 || amount(got["refund_pending"]) != 0 {
			t.Fatalf("after the refund webhook: refunded %v pending %v", got["refunded"], got["refund_pending"])
		}

		// A held card settled by Stripe's webhook rather than by us.
		held, _ := tl.pay(t, tl.tom, id, map[string]any{"method": "card", "card": map[string]any{"capture": "manual"}}, 201)
		if held["status"] != "authorized" {
			t.Fatalf("held: %v", held)
		}
		body := stripeEvent("evt_1", "payment_intent.succeeded", held["provider_ref"].(string), "succeeded", held["id"].(string))
		now := time.Now()
		// Refused: no signature, a wrong one, a stale one, a body changed by one byte, another account.
		expectProblem(t, s.webhook(t, tl.s.app.Demo.OrganizationID, body, ""), 422, "bad_signature")
		expectProblem(t, s.webhook(t, tl.s.app.Demo.OrganizationID, body, stripe.SignWebhook(body, "whsec_wrong", now)), 422, "bad_signature")
		expectProblem(t, s.webhook(t, tl.s.app.Demo.OrganizationID, body, stripe.SignWebhook(body, fakeWebhookKey, now.Add(-6*time.Minute))), 422, "bad_signature")
		changed := append([]byte{}, body...)
		changed[len(changed)-3] ^= 1
		expectProblem(t, s.webhook(t, tl.s.app.Demo.OrganizationID, changed, stripe.SignWebhook(body, fakeWebhookKey, now)), 422, "bad_signature")
		stranger := s.signup("webhook-stranger@example.com")
		expectProblem(t, s.webhook(t, stranger.OrgID, body, stripe.SignWebhook(body, fakeWebhookKey, now)), 422, "bad_signature")
		if got := s.call("GET", "/api/v1/payments/"+held["id"].(string), tl.tom, nil).json(t)["status"]; got != "authorized" {
			t.Fatalf("a refused webhook changed the payment to %v", got)
		}
		// Good: applied once, however often it comes.
		for i, want := range []bool{true, false} {
			w := s.webhook(t, tl.s.app.Demo.OrganizationID, body, stripe.SignWebhook(body, fakeWebhookKey, now))
			if w.Status != 200 || w.json(t)["applied"] != want {
				t.Fatalf("webhook %d: %d %s, want applied %v", i, w.Status, w.Body, want)
			}
		}
		got := s.call("GET", "/api/v1/payments/"+held["id"].(string), tl.tom, nil).json(t)
		if got["status"] != "captured" {
			t.Fatalf("after the webhook: %v", got["status"])
		}
		check := s.call("GET", "/api/v1/orders/"+id, tl.tom, nil).json(t)
		if check["status"] != "closed" {
			t.Fatalf("check %v after the last card was captured by webhook", check["status"])
		}
		// Out of order: a late "requires_capture" changes nothing now. Unknown types are acknowledged.
		late := stripeEvent("evt_2", "payment_intent.amount_capturable_updated", held["provider_ref"].(string), "requires_capture", held["id"].(string))
		if w := s.webhook(t, tl.s.app.Demo.OrganizationID, late, stripe.SignWebhook(late, fakeWebhookKey, now)); w.Status != 200 || w.json(t)["applied"] != false {
			t.Fatalf("late event: %d %s", w.Status, w.Body)
		}
		other := []byte(`{"id":"evt_3","object":"event","type":"customer.created","created":1764158400,"data":{"object":{"id":"cus_1","object":"customer"}}}`)
		if w := s.webhook(t, tl.s.app.Demo.OrganizationID, other, stripe.SignWebhook(other, fakeWebhookKey, now)); w.Status != 200 {
			t.Fatalf("unknown type: %d %s", w.Status, w.Body)
		}
		if fake.Charges() != 5 {
			t.Fatalf("%d charges at Stripe, want 5 (a sale, a decline, a 3-D Secure sale, a Tap to Pay sale, a hold)", fake.Charges())
		}
	})
}

// TestStripeDown: with Stripe unreachable a card payment fails at once
// with 503, holds nothing, and the check is paid in cash.
func TestStripeDown(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		cfg.StripeAPIBase = "http://127.0.0.1:1" // nothing listens: refused before anything is sent
		tl := openTill(t, cfg)
		s := tl.s
		connectStripe(t, s, tl.owner)
		o := tl.openCheck(t, tl.tom, 1)
		id := o["id"].(string)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/payments", tl.tom, map[string]any{"method": "card"}), 503, "provider_unavailable")
		ps := s.call("GET", "/api/v1/payments?order_id="+id, tl.tom, nil).json(t)["payments"].([]any)
		if len(ps) != 1 || ps[0].(map[string]any)["status"] != "failed" {
			t.Fatalf("payments after Stripe was down: %v", ps)
		}
		if _, o := tl.pay(t, tl.tom, id, map[string]any{"method": "cash"}, 201); o["status"] != "closed" {
			t.Fatalf("paid in cash: %v", o["status"])
		}
	})
}
