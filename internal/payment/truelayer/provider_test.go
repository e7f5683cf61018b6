package truelayer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/payment"
	"github.com/fynlo/fynlo/internal/payment/truelayer"
	"github.com/fynlo/fynlo/internal/payment/truelayer/tltest"
)

func TestNewConfig(t *testing.T) {
	tl := tltest.New(t)
	good := configFor(tl)
	if p, err := truelayer.New(good); err != nil || p.Name() != "truelayer" || p.Mode() != "test" {
		t.Fatalf("sandbox: %v, %v", p, err)
	}
	live := good
	live.Environment = truelayer.Live
	if p, err := truelayer.New(live); err != nil || p.Mode() != "live" {
		t.Fatalf("live: %v", err)
	}
	p256 := func() []byte {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalECPrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}()
	for name, mod := range map[string]func(*truelayer.Config){
		"no client id": func(c *truelayer.Config) { c.ClientID = "" },
		"no secret":    func(c *truelayer.Config) { c.ClientSecret = " " },
		"no kid":       func(c *truelayer.Config) { c.SigningKeyID = "" },
		"no merchant":  func(c *truelayer.Config) { c.MerchantAccountID = "" },
		"no key":       func(c *truelayer.Config) { c.SigningKeyPEM = nil },
		"P-256 key":    func(c *truelayer.Config) { c.SigningKeyPEM = p256 },
		"environment":  func(c *truelayer.Config) { c.Environment = "production" },
		"api base":     func(c *truelayer.Config) { c.APIBase = "ftp://x" },
		"webhook jwks": func(c *truelayer.Config) { c.WebhookJWKS = []string{"not a url"} },
		"garbage in pem": func(c *truelayer.Config) {
			c.SigningKeyPEM = []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := configFor(tl)
			mod(&cfg)
			_, err := truelayer.New(cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), tl.ClientSecret) {
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}
}

func TestCreateBankPayment(t *testing.T) {
	p, tl, _, _ := setup(t)
	req := bankReq()
	bp, err := p.CreateBankPayment(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	fp, ok := tl.Payment(bp.Ref)
	if !ok {
		t.Fatalf("the fake has no payment %q", bp.Ref)
	}
	if bp.Status != payment.BankAuthorizationRequired || bp.Failure != nil {
		t.Errorf("status %q failure %v", bp.Status, bp.Failure)
	}
	// The link: the hosted payment page with the payment, its resource
	// token and where to come back to, escaped.
	u, err := url.Parse(bp.Link)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != tl.URL+"/checkout" {
		t.Errorf("link base %q", got)
	}
	q := u.Query()
	if q.Get("payment_id") != bp.Ref || q.Get("resource_token") != fp.ResourceToken || q.Get("return_uri") != req.ReturnURL {
		t.Errorf("link query %v", q)
	}
	if strings.Contains(u.RawQuery, " ") || strings.Count(u.RawQuery, "&") != 2 {
		t.Errorf("link query not escaped: %q", u.RawQuery)
	}
	resp, err := http.Get(bp.Link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the hosted page answered %d", resp.StatusCode)
	}

	// What went over the wire.
	reqs := tl.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v3/payments" || r.Header.Get("Idempotency-Key") != req.Key {
		t.Errorf("%s %s key %q", r.Method, r.Path, r.Header.Get("Idempotency-Key"))
	}
	head, _, _ := strings.Cut(r.Header.Get("Tl-Signature"), "..")
	raw, _ := base64.RawURLEncoding.DecodeString(head)
	var jh map[string]any
	if err := json.Unmarshal(raw, &jh); err != nil {
		t.Fatal(err)
	}
	if jh["alg"] != "ES512" || jh["kid"] != tl.ClientKeyID || jh["tl_version"] != "2" || jh["tl_headers"] != "Idempotency-Key" {
		t.Errorf("JOSE header %v", jh)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"amount_in_minor": float64(1250), "currency": "GBP",
		"payment_method": map[string]any{"type": "bank_transfer", "provider_selection": map[string]any{"type": "user_selected"},
			"beneficiary": map[string]any{"type": "merchant_account", "merchant_account_id": tl.MerchantAccountID, "reference": "TRATTORIA 1042"}},
		"metadata": map[string]any{"fynlo_payment_id": req.Key, "fynlo_order_id": "ord_1"},
	}
	for k, v := range want {
		if !jsonEqual(body[k], v) {
			t.Errorf("body %s = %v, want %v", k, body[k], v)
		}
	}
	u2, _ := body["user"].(map[string]any)
	if u2["name"] != "Restaurant guest" || len(u2["id"].(string)) != 36 {
		t.Errorf("user %v", u2)
	}
	if _, ok := body["expires_at"]; ok {
		t.Error("an expiry was sent")
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestCreateIdempotentRetry(t *testing.T) {
	p, tl, _, _ := setup(t)
	req := bankReq()
	first, err := p.CreateBankPayment(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.CreateBankPayment(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Errorf("retry %+v, first %+v", again, first)
	}
	if n := len(tl.Payments()); n != 1 {
		t.Errorf("%d payments at TrueLayer", n)
	}
	// Another amount under the same key is refused, and creates nothing.
	req.Amount = gbp(999)
	_, err = p.CreateBankPayment(context.Background(), req)
	if !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("another body under the key: %v", err)
	}
	if n := len(tl.Payments()); n != 1 {
		t.Errorf("%d payments at TrueLayer", n)
	}
}

func TestCreateValidation(t *testing.T) {
	p, tl, _, _ := setup(t)
	for name, mod := range map[string]func(*payment.BankPaymentRequest){
		"no key":          func(r *payment.BankPaymentRequest) { r.Key = "" },
		"zero amount":     func(r *payment.BankPaymentRequest) { r.Amount.Amount = 0 },
		"bad currency":    func(r *payment.BankPaymentRequest) { r.Amount.Currency = "gbp" },
		"long reference":  func(r *payment.BankPaymentRequest) { r.Reference = "THIS IS NINETEEN CH" },
		"no reference":    func(r *payment.BankPaymentRequest) { r.Reference = "" },
		"no return url":   func(r *payment.BankPaymentRequest) { r.ReturnURL = "" },
		"bad return url ": func(r *payment.BankPaymentRequest) { r.ReturnURL = "javascript:alert(1)" },
	} {
		t.Run(name, func(t *testing.T) {
			req := bankReq()
			mod(&req)
			if _, err := p.CreateBankPayment(context.Background(), req); !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("err %v", err)
			}
		})
	}
	if n := len(tl.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestProviderRefusal(t *testing.T) {
	p, _, _, _ := setup(t, func(c *truelayer.Config) { c.MerchantAccountID = "not-ours" })
	_, err := p.CreateBankPayment(context.Background(), bankReq())
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.Invalid || !strings.Contains(ae.Detail, "Some parameters are invalid") ||
		!strings.Contains(ae.Detail, "merchant_account_id") {
		t.Fatalf("err %v", err)
	}
}

func TestBankPaymentStatus(t *testing.T) {
	tests := []struct {
		name    string
		drive   func(tl *tltest.Server, id string) error
		status  payment.BankStatus
		failure *payment.Failure
	}{
		{"created", func(*tltest.Server, string) error { return nil }, payment.BankAuthorizationRequired, nil},
		{"authorized", (*tltest.Server).Authorize, payment.BankAuthorized, nil},
		{"executed", (*tltest.Server).Execute, payment.BankExecuted, nil},
		{"settled", (*tltest.Server).Settle, payment.BankSettled, nil},
		{"failed", func(tl *tltest.Server, id string) error { return tl.Fail(id, "authorization_failed") }, payment.BankFailed,
			&payment.Failure{Code: "authorization_failed", Message: "the payment failed: authorization_failed (while authorization_required)"}},
		{"expired", func(tl *tltest.Server, id string) error {
			if err := tl.Authorize(id); err != nil {
				return err
			}
			return tl.Fail(id, "expired")
		}, payment.BankFailed, &payment.Failure{Code: "expired", Message: "the payment failed: expired (while authorized)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, tl, _, _ := setup(t)
			bp, err := p.CreateBankPayment(context.Background(), bankReq())
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.drive(tl, bp.Ref); err != nil {
				t.Fatal(err)
			}
			got, err := p.BankPayment(context.Background(), bp.Ref)
			if err != nil {
				t.Fatal(err)
			}
			if got.Ref != bp.Ref || got.Status != tt.status || got.Link != "" || !jsonEqual(got.Failure, tt.failure) {
				t.Errorf("got %+v (failure %+v), want %s %+v", got, got.Failure, tt.status, tt.failure)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		p, _, _, _ := setup(t)
		if _, err := p.BankPayment(context.Background(), "5a7b5e0c-0000-4000-8000-000000000000"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("err %v", err)
		}
		if _, err := p.BankPayment(context.Background(), ""); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("err %v", err)
		}
	})
}

func TestCancelBankPayment(t *testing.T) {
	ctx := context.Background()
	t.Run("before the guest approves", func(t *testing.T) {
		p, tl, _, _ := setup(t)
		bp, err := p.CreateBankPayment(ctx, bankReq())
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.CancelBankPayment(ctx, bp.Ref, "cancel-"+bp.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != payment.BankFailed || got.Failure == nil || got.Failure.Code != "canceled" {
			t.Errorf("got %+v", got)
		}
		// A retry under the same key is the same cancel.
		if again, err := p.CancelBankPayment(ctx, bp.Ref, "cancel-"+bp.Ref); err != nil || again.Status != payment.BankFailed {
			t.Errorf("retry %+v %v", again, err)
		}
		var cancels int
		for _, r := range tl.Requests() {
			if r.Path == "/v3/payments/"+bp.Ref+"/actions/cancel" {
				cancels++
				if r.Header.Get("Idempotency-Key") != "cancel-"+bp.Ref || r.Header.Get("Tl-Signature") == "" {
					t.Errorf("cancel headers %v", r.Header)
				}
			}
		}
		if cancels != 2 {
			t.Errorf("%d cancels", cancels)
		}
	})
	t.Run("after the bank paid", func(t *testing.T) {
		p, tl, _, _ := setup(t)
		bp, err := p.CreateBankPayment(ctx, bankReq())
		if err != nil {
			t.Fatal(err)
		}
		if err := tl.Execute(bp.Ref); err != nil {
			t.Fatal(err)
		}
		got, err := p.CancelBankPayment(ctx, bp.Ref, "cancel-"+bp.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != payment.BankExecuted || got.Failure != nil {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("no key", func(t *testing.T) {
		p, _, _, _ := setup(t)
		if _, err := p.CancelBankPayment(ctx, "x", ""); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("err %v", err)
		}
	})
}

func TestRefundBankPayment(t *testing.T) {
	ctx := context.Background()
	p, tl, _, _ := setup(t)
	bp, err := p.CreateBankPayment(ctx, bankReq())
	if err != nil {
		t.Fatal(err)
	}

	// Not settled yet: TrueLayer refuses, and nothing went back.
	res, err := p.RefundBankPayment(ctx, bp.Ref, gbp(500), "rfd_01J0000000000000000000000A")
	if err != nil || res.Status != payment.RefundFailed || res.Failure == nil || res.Failure.Code != "payment-not-settled" {
		t.Fatalf("unsettled: %+v %v", res, err)
	}

	if err := tl.Settle(bp.Ref); err != nil {
		t.Fatal(err)
	}
	key := "rfd_01J0000000000000000000000B"
	res, err = p.RefundBankPayment(ctx, bp.Ref, gbp(500), key)
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := tl.Payment(bp.Ref)
	if len(fp.Refunds) != 1 || res.Ref != fp.Refunds[0].ID || res.Status != payment.RefundPending || res.Failure != nil {
		t.Fatalf("refund %+v, fake %+v", res, fp.Refunds)
	}
	if r := fp.Refunds[0]; r.AmountInMinor != 500 || r.Reference != "REFUND 0000000000B" {
		t.Errorf("fake refund %+v", r)
	}
	again, err := p.RefundBankPayment(ctx, bp.Ref, gbp(500), key)
	if err != nil || again != res {
		t.Errorf("retry %+v %v", again, err)
	}
	if fp, _ := tl.Payment(bp.Ref); len(fp.Refunds) != 1 {
		t.Errorf("%d refunds after a retry", len(fp.Refunds))
	}

	// More than is left: refused.
	res, err = p.RefundBankPayment(ctx, bp.Ref, gbp(800), "rfd_01J0000000000000000000000C")
	if err != nil || res.Status != payment.RefundFailed {
		t.Errorf("too much: %+v %v", res, err)
	}
	if _, err := p.RefundBankPayment(ctx, bp.Ref, gbp(0), "rfd_01J0000000000000000000000D"); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("zero: %v", err)
	}
}

func TestTokenCachedAndRefreshed(t *testing.T) {
	ctx := context.Background()
	p, tl, clk, _ := setup(t)
	tl.SetTokenTTL(10 * time.Minute)
	bp, err := p.CreateBankPayment(ctx, bankReq())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := p.BankPayment(ctx, bp.Ref); err != nil {
			t.Fatal(err)
		}
	}
	if n := tl.TokenRequests(); n != 1 {
		t.Fatalf("%d tokens for four calls", n)
	}

	// Revoked: the API says 401, a new token is fetched and the call made
	// again, once.
	tl.ExpireTokens()
	if _, err := p.BankPayment(ctx, bp.Ref); err != nil {
		t.Fatal(err)
	}
	if n := tl.TokenRequests(); n != 2 {
		t.Fatalf("%d tokens after a revocation", n)
	}

	// Shortly before it expires, a new one is fetched first.
	clk.Advance(9*time.Minute + 30*time.Second)
	before := len(tl.Requests())
	if _, err := p.BankPayment(ctx, bp.Ref); err != nil {
		t.Fatal(err)
	}
	if n := tl.TokenRequests(); n != 3 {
		t.Fatalf("%d tokens after nearly expiring", n)
	}
	if n := len(tl.Requests()) - before; n != 1 {
		t.Errorf("%d API requests, want 1 (no 401 first)", n)
	}
}

func TestTokenRefused(t *testing.T) {
	p, _, _, _ := setup(t, func(c *truelayer.Config) { c.ClientSecret = "wrong-secret" })
	_, err := p.CreateBankPayment(context.Background(), bankReq())
	if !errors.Is(err, payment.ErrProviderDown) || !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("the error shows the secret: %v", err)
	}
}

func TestProviderDown(t *testing.T) {
	ctx := context.Background()
	t.Run("503", func(t *testing.T) {
		p, tl, _, _ := setup(t)
		bp, err := p.CreateBankPayment(ctx, bankReq())
		if err != nil {
			t.Fatal(err)
		}
		tl.SetFault(tltest.Unavailable)
		if _, err := p.CreateBankPayment(ctx, bankReq()); !errors.Is(err, payment.ErrProviderDown) || !apperr.Is(err, apperr.Unavailable) {
			t.Errorf("create: %v", err)
		}
		if _, err := p.RefundBankPayment(ctx, bp.Ref, gbp(1), "rfd_1"); !apperr.Is(err, apperr.Unavailable) {
			t.Errorf("refund: %v", err)
		}
		tl.SetFault(tltest.Up)
		if n := len(tl.Payments()); n != 1 {
			t.Errorf("%d payments", n)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := "http://" + ln.Addr().String()
		ln.Close()
		p, _, _, _ := setup(t, func(c *truelayer.Config) { c.AuthBase, c.APIBase = dead, dead })
		if _, err := p.CreateBankPayment(ctx, bankReq()); !errors.Is(err, payment.ErrProviderDown) {
			t.Errorf("create: %v", err)
		}
	})
	t.Run("hang after sending", func(t *testing.T) {
		p, tl, _, _ := setup(t)
		bp, err := p.CreateBankPayment(ctx, bankReq())
		if err != nil {
			t.Fatal(err)
		}
		tl.SetFault(tltest.Hang)
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err = p.CreateBankPayment(short, bankReq())
		if err == nil || apperr.KindOf(err) != apperr.Internal || errors.Is(err, payment.ErrProviderDown) {
			t.Errorf("create: want an unknown outcome, got %v", err)
		}
		// A read that hangs is only unavailable: it changed nothing.
		short2, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel2()
		if _, err := p.BankPayment(short2, bp.Ref); !apperr.Is(err, apperr.Unavailable) {
			t.Errorf("get: %v", err)
		}
	})
	t.Run("500 after sending", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			if r.URL.Path == "/connect/token" {
				_, _ = io.WriteString(w, `{"access_token":"t","expires_in":3600,"token_type":"Bearer"}`)
				return
			}
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"type":"https://docs.truelayer.com/docs/error-types#internal-server-error","title":"Internal Server Error","status":500,"trace_id":"abc"}`)
		}))
		defer srv.Close()
		p, _, _, _ := setup(t, func(c *truelayer.Config) { c.AuthBase, c.APIBase = srv.URL, srv.URL })
		_, err := p.CreateBankPayment(ctx, bankReq())
		if err == nil || apperr.KindOf(err) != apperr.Internal || !strings.Contains(err.Error(), "trace=abc") {
			t.Errorf("create: want an unknown outcome, got %v", err)
		}
		if _, err := p.BankPayment(ctx, "x"); !apperr.Is(err, apperr.Unavailable) {
			t.Errorf("get: %v", err)
		}
	})
}
