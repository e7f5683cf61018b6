package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/app"
	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/payment/applepay/aptest"
)

const applePayMerchant = "merchant.com.fynlo.test"

// events returns the organization's events of type typ.
func (s *server) eventsOf(t *testing.T, token, typ string) []map[string]any {
	t.Helper()
	r := s.call("GET", "/api/v1/events?after=0&limit=1000", token, nil)
	if r.Status != 200 {
		t.Fatalf("events: %d %s", r.Status, r.Body)
	}
	var out []map[string]any
	for _, e := range r.json(t)["events"].([]any) {
		if m := e.(map[string]any); m["type"] == typ {
			out = append(out, m)
		}
	}
	return out
}

// TestApplePayDirect: an organization that processes Apple Pay itself
// uploads its certificates (keys never shown again), hears once that one
// is about to expire, validates its merchant with Apple for the web over
// mutual TLS (Apple played by a local gateway), and opens payment tokens
// signed by a test root the server is configured to trust.
func TestApplePayDirect(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		apple := aptest.NewApple(t)
		// The identity certificate expires in 10 days: within the 30-day warning.
		m := aptest.NewMerchant(t, applePayMerchant, aptest.MerchantOpts{IdentityNotAfter: time.Now().Add(10 * 24 * time.Hour)})
		g := aptest.StartGateway(t, m.CA)
		roots := filepath.Join(t.TempDir(), "apple-roots.pem")
		if err := os.WriteFile(roots, apple.RootPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.ApplePayRoots, cfg.ApplePayGatewayHosts, cfg.ApplePayGatewayRoots = roots, []string{g.Host()}, g.RootCAs()
		tl := openTill(t, cfg)
		s, owner, tom := tl.s, tl.owner, tl.tom
		orgID := s.app.Demo.OrganizationID
		const path = "/api/v1/payments/providers/apple-pay"

		// Not set up yet.
		expectProblem(t, s.call("GET", path, owner, nil), 404, "not_found")
		expectProblem(t, s.call("POST", "/api/v1/apple-pay/session", tom, map[string]any{"validation_url": g.SessionURL(),
			"domain": "shop.example.com"}), 409, "apple_pay_not_configured")
		if _, err := s.app.Wallet.Open(context.Background(), orgID, apple.Seal(t, m, aptest.Payload{Amount: 1250}.JSON(), time.Now())); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("open without set-up: %v", err)
		}

		good := map[string]any{"version": 0, "merchant_identifier": applePayMerchant, "display_name": "Dishoom Covent Garden",
			"domains":                       []string{"shop.example.com", "Order.Example.com"},
			"merchant_identity_certificate": string(m.IdentityCertPEM), "merchant_identity_key": string(m.IdentityKeyPEM),
			"payment_processing_certificate": string(m.ProcessingCertPEM), "payment_processing_key": string(m.ProcessingKeyPEM)}
		// with is good with fields replaced (name, value, ...); a nil value removes the field.
		with := func(kv ...any) map[string]any {
			c := map[string]any{}
			for k, v := range good {
				c[k] = v
			}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == nil {
					delete(c, kv[i].(string))
				} else {
					c[kv[i].(string)] = kv[i+1]
				}
			}
			return c
		}
		other := aptest.NewMerchant(t, "merchant.com.someone.else", aptest.MerchantOpts{})
		expired := aptest.NewMerchant(t, applePayMerchant, aptest.MerchantOpts{ProcessingNotAfter: time.Now().Add(-time.Hour)})

		// Only settings.manage may set it up.
		expectProblem(t, s.call("PUT", path, tom, good), 403, "permission_denied")
		// Bad input: 422 naming the field, and nothing stored.
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{with("merchant_identifier", "com.example"), "merchant_identifier"},
			{with("display_name", ""), "display_name"},
			{with("domains", []string{"https://shop.example.com/"}), "domains"},
			{with("payment_processing_certificate", "not a certificate"), "payment_processing_certificate"},
			{with("payment_processing_key", nil), "payment_processing_key"},
			{with("payment_processing_key", string(other.ProcessingKeyPEM)), "payment_processing_key"},
			{with("merchant_identity_key", string(m.ProcessingKeyPEM)), "merchant_identity_key"},
			{with("payment_processing_certificate", string(other.ProcessingCertPEM)), "payment_processing_key"},
			{with("merchant_identity_certificate", string(other.IdentityCertPEM)), "merchant_identity_key"},
			{with("merchant_identifier", "merchant.com.someone.else"), "payment_processing_certificate"},
			{with("payment_processing_certificate", string(expired.ProcessingCertPEM)), "payment_processing_key"},
		} {
			expectProblem(t, s.call("PUT", path, owner, c.body), 422, "invalid_field", c.field)
		}
		// Another merchant's certificates with their own keys: issued for another identifier.
		expectProblem(t, s.call("PUT", path, owner, with("payment_processing_certificate", string(other.ProcessingCertPEM),
			"payment_processing_key", string(other.ProcessingKeyPEM))), 422, "invalid_field", "payment_processing_certificate")
		expectProblem(t, s.call("PUT", path, owner, with("merchant_identity_certificate", string(other.IdentityCertPEM),
			"merchant_identity_key", string(other.IdentityKeyPEM))), 422, "invalid_field", "merchant_identity_certificate")
		expectProblem(t, s.call("PUT", path, owner, with("payment_processing_certificate", string(expired.ProcessingCertPEM),
			"payment_processing_key", string(expired.ProcessingKeyPEM))), 422, "invalid_field", "payment_processing_certificate")
		expectProblem(t, s.call("GET", path, owner, nil), 404, "not_found")
		if n := len(s.eventsOf(t, owner, "applepay.updated")); n != 0 {
			t.Fatalf("%d applepay.updated events after refused input", n)
		}

		// Set up: certificates described, keys never shown.
		r := s.call("PUT", path, owner, good)
		if r.Status != 200 {
			t.Fatalf("put: %d %s", r.Status, r.Body)
		}
		if bytes.Contains(r.Body, []byte("PRIVATE KEY")) || bytes.Contains(r.Body, []byte("BEGIN CERTIFICATE")) {
			t.Fatalf("the answer shows a key or a PEM: %s", r.Body)
		}
		ap := r.json(t)
		idc := ap["merchant_identity_certificate"].(map[string]any)
		prc := ap["payment_processing_certificate"].(map[string]any)
		if ap["version"] != float64(1) || ap["merchant_identifier"] != applePayMerchant || idc["not_after"] != m.IdentityCert.NotAfter.UTC().Format(time.RFC3339) ||
			prc["not_after"] != m.ProcessingCert.NotAfter.UTC().Format(time.RFC3339) || !strings.Contains(prc["subject"].(string), "Merchant ID: "+applePayMerchant) {
			t.Fatalf("apple pay settings: %s", r.Body)
		}
		if d := ap["domains"].([]any); len(d) != 2 || d[1] != "order.example.com" {
			t.Fatalf("domains %v", d)
		}
		if got := s.call("GET", path, tom, nil); got.Status != 200 || !bytes.Equal(got.Body, r.Body) {
			t.Fatalf("get: %d %s", got.Status, got.Body)
		}
		for _, secret := range [][]byte{m.IdentityKeyPEM, m.ProcessingKeyPEM} {
			if strings.Contains(s.logs.String(), string(secret[40:80])) {
				t.Fatal("a key reached the log")
			}
		}
		// One warning, for the identity certificate; saving again (keeping
		// the certificates) or checking again raises no second one.
		warnings := s.eventsOf(t, owner, "applepay.certificate_expiring")
		if len(warnings) != 1 {
			t.Fatalf("%d expiry warnings, want 1", len(warnings))
		}
		w := warnings[0]["data"].(map[string]any)
		if w["certificate"] != "merchant_identity" || w["days_left"] != float64(9) && w["days_left"] != float64(10) || w["threshold"] != "30d" {
			t.Fatalf("warning %v", w)
		}
		r = s.call("PUT", path, owner, map[string]any{"version": 1, "merchant_identifier": applePayMerchant, "display_name": "Dishoom",
			"domains": []string{"shop.example.com"}})
		if r.Status != 200 || r.json(t)["merchant_identity_certificate"] == nil || r.json(t)["version"] != float64(2) {
			t.Fatalf("put keeping the certificates: %d %s", r.Status, r.Body)
		}
		expectProblem(t, s.call("PUT", path, owner, with("version", 1)), 409, "version_conflict")
		if n, err := s.app.Wallet.Check(context.Background(), time.Now()); err != nil || n != 0 {
			t.Fatalf("check again: %d %v", n, err)
		}
		if n, err := s.app.Wallet.Check(context.Background(), time.Now().Add(340*24*time.Hour)); err != nil || n != 1 {
			t.Fatalf("check when the processing certificate nears expiry: %d %v", n, err)
		}
		if n := len(s.eventsOf(t, owner, "applepay.certificate_expiring")); n != 2 {
			t.Fatalf("%d expiry warnings, want 2", n)
		}

		// Apple Pay on the web: merchant validation through the gateway.
		const sessionPath = "/api/v1/apple-pay/session"
		sr := s.call("POST", sessionPath, tom, map[string]any{"validation_url": g.SessionURL(), "domain": "shop.example.com"})
		if sr.Status != 200 {
			t.Fatalf("session: %d %s", sr.Status, sr.Body)
		}
		var got, want any
		json.Unmarshal(sr.Body, &got)
		json.Unmarshal(g.Session, &want)
		if gb, _ := json.Marshal(got); string(gb) != string(mustJSON(t, want)) {
			t.Fatalf("session %s, want Apple's %s", sr.Body, g.Session)
		}
		reqs := g.Requests()
		if len(reqs) != 1 || reqs[0].Body["merchantIdentifier"] != applePayMerchant || reqs[0].Body["displayName"] != "Dishoom" ||
			reqs[0].Body["initiative"] != "web" || reqs[0].Body["initiativeContext"] != "shop.example.com" || !reqs[0].ClientCert.Equal(m.IdentityCert) {
			t.Fatalf("Apple saw %+v", reqs)
		}
		expectProblem(t, s.call("POST", sessionPath, tom, map[string]any{"validation_url": "https://169.254.169.254/paymentservices/paymentSession",
			"domain": "shop.example.com"}), 422, "validation_url_not_allowed", "validation_url")
		expectProblem(t, s.call("POST", sessionPath, tom, map[string]any{"validation_url": g.SessionURL(), "domain": "order.example.com"}),
			422, "invalid_field", "domain") // no longer one of the domains
		expectProblem(t, s.call("POST", sessionPath, "", map[string]any{"validation_url": g.SessionURL(), "domain": "shop.example.com"}), 401, "unauthenticated")
		if n := len(g.Requests()); n != 1 {
			t.Fatalf("refused sessions reached Apple: %d requests", n)
		}

		// Tokens: opened with the processing identity, in the token's currency.
		ctx := context.Background()
		nt, err := s.app.Wallet.Open(ctx, orgID, apple.Seal(t, m, aptest.Payload{Amount: 1250}.JSON(), time.Now().Add(-10*time.Second)))
		if err != nil {
			t.Fatal(err)
		}
		if nt.Number != "4111111111111111" || nt.ExpMonth != 12 || nt.ExpYear != 2028 || nt.Amount.Amount != 1250 || nt.Amount.Currency != "GBP" ||
			nt.Cryptogram == "" || nt.ECI != "7" {
			t.Fatalf("network token %v", nt)
		}
		eur, err := s.app.Wallet.Open(ctx, orgID, apple.Seal(t, m, aptest.Payload{Amount: 990, Currency: "978"}.JSON(), time.Now()))
		if err != nil || eur.Amount.Currency != "EUR" || eur.Amount.Amount != 990 {
			t.Fatalf("EUR token: %v %v", eur, err)
		}
		for name, tok := range map[string][]byte{
			"replayed":         apple.Seal(t, m, aptest.Payload{Amount: 1}.JSON(), time.Now().Add(-time.Hour)),
			"not Apple's":      aptest.NewApple(t).Seal(t, m, aptest.Payload{Amount: 1}.JSON(), time.Now()),
			"another merchant": apple.Seal(t, other, aptest.Payload{Amount: 1}.JSON(), time.Now()),
			"unknown currency": apple.Seal(t, m, aptest.Payload{Amount: 1, Currency: "999"}.JSON(), time.Now()),
			"garbage":          []byte(`{"version":"EC_v1"}`),
		} {
			if _, err := s.app.Wallet.Open(ctx, orgID, tok); !apperr.Is(err, apperr.Invalid) {
				t.Errorf("%s token: %v, want invalid", name, err)
			}
		}

		// A card payment with a token the restaurant opens itself: charged
		// for what the guest approved on the device, nothing if the token
		// fails or is for another amount.
		o := tl.openCheck(t, tom, 2)
		oid := o["id"].(string)
		bal := amount(o["payments"].(map[string]any)["balance"])
		asObject := func(tok []byte) map[string]any {
			var m map[string]any
			if err := json.Unmarshal(tok, &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
		payWith := func(tok []byte) response {
			return s.call("POST", "/api/v1/orders/"+oid+"/payments", tom, map[string]any{"method": "card", "card": map[string]any{"apple_pay_token": asObject(tok)}})
		}
		before := s.call("GET", "/api/v1/orders/"+oid, tom, nil).json(t)["version"]
		expectProblem(t, payWith(apple.Seal(t, m, aptest.Payload{Amount: bal - 1}.JSON(), time.Now())), 422, "invalid_field", "card.apple_pay_token")
		if r := payWith(aptest.NewApple(t).Seal(t, m, aptest.Payload{Amount: bal}.JSON(), time.Now())); r.Status != 422 {
			t.Fatalf("a token not signed by Apple: %d %s", r.Status, r.Body)
		}
		if r := payWith(apple.Seal(t, m, aptest.Payload{Amount: bal}.JSON(), time.Now().Add(-time.Hour))); r.Status != 422 {
			t.Fatalf("a token signed an hour ago: %d %s", r.Status, r.Body)
		}
		after := s.call("GET", "/api/v1/orders/"+oid, tom, nil).json(t)
		if ps := s.call("GET", "/api/v1/payments?order_id="+oid, owner, nil).json(t)["payments"].([]any); after["version"] != before || len(ps) != 0 {
			t.Fatalf("refused tokens left %d payments, check version %v → %v", len(ps), before, after["version"])
		}
		r = payWith(apple.Seal(t, m, aptest.Payload{Amount: bal}.JSON(), time.Now()))
		if r.Status != 201 {
			t.Fatalf("direct Apple Pay: %d %s", r.Status, r.Body)
		}
		apr := r.json(t)
		if c := apr["payment"].(map[string]any)["card"].(map[string]any); c["wallet"] != "apple_pay" || c["last4"] != "1111" || c["brand"] != "visa" ||
			apr["order"].(map[string]any)["status"] != "closed" {
			t.Fatalf("direct Apple Pay payment: %v", apr)
		}
		if strings.Contains(string(r.Body), "4111111111111111") || strings.Contains(s.logs.String(), "4111111111111111") {
			t.Fatal("the device account number reached an answer or the log")
		}

		// Another tenant sees none of it.
		b := s.signup("other@applepay.test")
		expectProblem(t, s.call("GET", path, b.Token, nil), 404, "not_found")
		expectProblem(t, s.call("POST", sessionPath, b.Token, map[string]any{"validation_url": g.SessionURL(), "domain": "shop.example.com"}),
			409, "apple_pay_not_configured")
		if _, err := s.app.Wallet.Open(ctx, b.OrgID, apple.Seal(t, m, aptest.Payload{Amount: 1}.JSON(), time.Now())); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("another tenant opened a token: %v", err)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
