package truelayer_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/payment"
	"github.com/fynlo/fynlo/internal/payment/truelayer"
	"github.com/fynlo/fynlo/internal/payment/truelayer/tltest"
)

const jwksPath = "/.well-known/jwks"

// created makes a payment at the fake and returns its ref and our ID.
func created(t *testing.T, p *truelayer.Provider) (string, string) {
	t.Helper()
	req := bankReq()
	bp, err := p.CreateBankPayment(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return bp.Ref, req.Key
}

func TestVerifyWebhookEvents(t *testing.T) {
	ctx := context.Background()
	p, tl, clk, _ := setup(t)
	at := clk.Now().UTC()
	tests := []struct {
		typ    string
		drive  func(ref string) error
		status payment.BankStatus
		fail   *payment.Failure
	}{
		{"payment_authorized", tl.Authorize, payment.BankAuthorized, nil},
		{"payment_executed", tl.Execute, payment.BankExecuted, nil},
		{"payment_settled", tl.Settle, payment.BankSettled, nil},
		{"payment_creditable", tl.Settle, payment.BankSettled, nil},
		{"payment_failed", func(ref string) error { return tl.Fail(ref, "provider_rejected") }, payment.BankFailed,
			&payment.Failure{Code: "provider_rejected", Message: "the payment failed: provider_rejected (while authorization_required)"}},
		{"payment_settlement_stalled", tl.Execute, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			ref, ours := created(t, p)
			if err := tt.drive(ref); err != nil {
				t.Fatal(err)
			}
			wh, err := tl.Event(tt.typ, ref)
			if err != nil {
				t.Fatal(err)
			}
			e, err := p.VerifyBankWebhook(ctx, wh.Request())
			if err != nil {
				t.Fatal(err)
			}
			if e.ID == "" || e.Type != tt.typ || e.Ref != ref || e.PaymentID != ours || e.Status != tt.status ||
				!jsonEqual(e.Failure, tt.fail) || !e.At.Equal(at) || e.RefundRef != "" {
				t.Errorf("event %+v (failure %+v)", e, e.Failure)
			}
		})
	}
	t.Run("refunds", func(t *testing.T) {
		ref, ours := created(t, p)
		if err := tl.Settle(ref); err != nil {
			t.Fatal(err)
		}
		var refs []string
		for _, key := range []string{"rfd_A", "rfd_B"} {
			res, err := p.RefundBankPayment(ctx, ref, gbp(100), key)
			if err != nil {
				t.Fatal(err)
			}
			refs = append(refs, res.Ref)
		}
		if err := tl.ExecuteRefund(ref, refs[0]); err != nil {
			t.Fatal(err)
		}
		if err := tl.FailRefund(ref, refs[1], "insufficient_funds"); err != nil {
			t.Fatal(err)
		}
		for i, want := range []payment.BankEvent{
			{Type: "refund_executed", Ref: ref, PaymentID: ours, RefundRef: refs[0], RefundStatus: payment.RefundSucceeded},
			{Type: "refund_failed", Ref: ref, PaymentID: ours, RefundRef: refs[1], RefundStatus: payment.RefundFailed,
				Failure: &payment.Failure{Code: "insufficient_funds", Message: "TrueLayer could not refund the payment: insufficient_funds"}},
		} {
			wh, err := tl.RefundEvent(want.Type, ref, refs[i])
			if err != nil {
				t.Fatal(err)
			}
			e, err := p.VerifyBankWebhook(ctx, wh.Request())
			if err != nil {
				t.Fatal(err)
			}
			want.ID, want.At = e.ID, at
			if e.ID == "" || !jsonEqual(e, want) {
				t.Errorf("event %+v, want %+v", e, want)
			}
		}
	})
}

// TestVerifyWebhookRejects checks that nothing short of a fresh webhook
// signed by TrueLayer's published key, over exactly what arrived, passes.
func TestVerifyWebhookRejects(t *testing.T) {
	ctx := context.Background()
	p, tl, clk, cnt := setup(t)
	ref, _ := created(t, p)
	if err := tl.Execute(ref); err != nil {
		t.Fatal(err)
	}
	good, err := tl.Event("payment_executed", ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.VerifyBankWebhook(ctx, good.Request()); err != nil {
		t.Fatalf("the good one: %v", err)
	}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	kid := func() string {
		// The kid the fake signs with, from its JWKS, so the forgery
		// names a key we know.
		wh := tl.SignWebhook("/x", []byte("{}"), tltest.SignOptions{})
		return jwsHeaderField(t, wh.Header.Get("Tl-Signature"), "kid")
	}()
	with := func(mod func(w *tltest.Webhook)) tltest.Webhook {
		w := tltest.Webhook{Method: good.Method, Path: good.Path, Header: good.Header.Clone(), Body: bytes.Clone(good.Body)}
		mod(&w)
		return w
	}
	tests := map[string]tltest.Webhook{
		"forged with another key": tl.SignWebhook(good.Path, good.Body, tltest.SignOptions{Key: otherKey, KeyID: kid}),
		"unknown kid":             tl.SignWebhook(good.Path, good.Body, tltest.SignOptions{Key: otherKey, KeyID: "not-a-kid"}),
		"unknown jku":             tl.SignWebhook(good.Path, good.Body, tltest.SignOptions{Key: otherKey, JKU: "https://evil.example/.well-known/jwks"}),
		"sandbox jku not allowed": tl.SignWebhook(good.Path, good.Body, tltest.SignOptions{JKU: truelayer.SandboxWebhookJWKS}),
		"stale":                   tl.SignWebhook(good.Path, good.Body, tltest.SignOptions{Timestamp: clk.Now().Add(-6 * time.Minute)}),
		"from the future":         tl.SignWebhook(good.Path, good.Body, tltest.SignOptions{Timestamp: clk.Now().Add(6 * time.Minute)}),
		"tampered body": with(func(w *tltest.Webhook) {
			w.Body = bytes.Replace(w.Body, []byte("payment_executed"), []byte("payment_settled"), 1)
		}),
		"tampered timestamp": with(func(w *tltest.Webhook) {
			w.Header.Set("X-Tl-Webhook-Timestamp", clk.Now().Add(time.Second).Format(time.RFC3339))
		}),
		"another path":      with(func(w *tltest.Webhook) { w.Path = "/webhooks/other" }),
		"another method":    with(func(w *tltest.Webhook) { w.Method = http.MethodPut }),
		"missing signature": with(func(w *tltest.Webhook) { w.Header.Del("Tl-Signature") }),
		"missing timestamp": with(func(w *tltest.Webhook) { w.Header.Del("X-Tl-Webhook-Timestamp") }),
		"attached payload": with(func(w *tltest.Webhook) {
			w.Header.Set("Tl-Signature", strings.Replace(w.Header.Get("Tl-Signature"), "..", ".e30.", 1))
		}),
		"signature truncated": with(func(w *tltest.Webhook) { s := w.Header.Get("Tl-Signature"); w.Header.Set("Tl-Signature", s[:len(s)-4]) }),
		"garbage signature":   with(func(w *tltest.Webhook) { w.Header.Set("Tl-Signature", "not a jws") }),
	}
	fetchesBefore := cnt.count(jwksPath)
	for name, wh := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := p.VerifyBankWebhook(ctx, wh.Request())
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Kind != apperr.Invalid || ae.Code != "bad_signature" {
				t.Fatalf("err %v", err)
			}
		})
	}
	// The unknown jku was refused before fetching it; an unknown kid within
	// a minute of the last fetch fetched nothing either.
	if n := cnt.count(jwksPath) - fetchesBefore; n != 0 {
		t.Errorf("%d JWKS fetches for bad webhooks", n)
	}
	if n := cnt.count(jwksPath); n != 1 {
		t.Errorf("%d JWKS fetches in all", n)
	}
	if _, err := p.VerifyBankWebhook(ctx, payment.WebhookRequest{Method: "POST", Path: "/"}); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("no headers: %v", err)
	}
}

func jwsHeaderField(t *testing.T, sig, field string) string {
	t.Helper()
	head, _, _ := strings.Cut(sig, "..")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m[field].(string)
	return s
}

func TestVerifyWebhookTrailingSlash(t *testing.T) {
	p, tl, _, _ := setup(t)
	ref, _ := created(t, p)
	wh, err := tl.Event("payment_authorized", ref)
	if err != nil {
		t.Fatal(err)
	}
	r := wh.Request()
	r.Path += "/"
	if _, err := p.VerifyBankWebhook(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyWebhookKeyRotationAndCache(t *testing.T) {
	ctx := context.Background()
	p, tl, clk, cnt := setup(t, func(c *truelayer.Config) { c.JWKSCacheTTL = time.Hour })
	ref, _ := created(t, p)
	verify := func() error {
		wh, err := tl.Event("payment_authorized", ref)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.VerifyBankWebhook(ctx, wh.Request())
		return err
	}
	for range 3 {
		if err := verify(); err != nil {
			t.Fatal(err)
		}
	}
	if n := cnt.count(jwksPath); n != 1 {
		t.Fatalf("%d fetches for three webhooks", n)
	}
	tl.RotateWebhookKey()
	// A new kid right after a fetch: refused without fetching again, so
	// made-up kids cannot make us hammer TrueLayer.
	if err := verify(); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("new kid within a minute: %v", err)
	}
	if n := cnt.count(jwksPath); n != 1 {
		t.Fatalf("%d fetches", n)
	}
	clk.Advance(2 * time.Minute)
	if err := verify(); err != nil {
		t.Fatalf("new kid later: %v", err)
	}
	if n := cnt.count(jwksPath); n != 2 {
		t.Fatalf("%d fetches", n)
	}
	// After the TTL the set is fetched again.
	clk.Advance(2 * time.Hour)
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	if n := cnt.count(jwksPath); n != 3 {
		t.Fatalf("%d fetches", n)
	}
}

func TestVerifyWebhookJWKSDown(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	p, tl, _, _ := setup(t, func(c *truelayer.Config) { c.WebhookJWKS = []string{down.URL + "/jwks"} })
	ref, _ := created(t, p)
	wh, err := tl.Event("payment_executed", ref)
	if err != nil {
		t.Fatal(err)
	}
	wh = tl.SignWebhook(wh.Path, wh.Body, tltest.SignOptions{JKU: down.URL + "/jwks"})
	if _, err := p.VerifyBankWebhook(context.Background(), wh.Request()); !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("err %v", err)
	}
}

func TestVerifyWebhookBodies(t *testing.T) {
	p, tl, _, _ := setup(t)
	for name, tt := range map[string]struct {
		body string
		code string
		want payment.BankEvent
	}{
		"unknown type":       {body: `{"type":"payout_executed","event_id":"e1","event_version":1,"payout_id":"po1"}`, want: payment.BankEvent{ID: "e1", Type: "payout_executed"}},
		"not json":           {body: `{"type":`, code: "bad_event"},
		"no event id":        {body: `{"type":"payment_executed","payment_id":"p1"}`, code: "bad_event"},
		"no payment id":      {body: `{"type":"payment_executed","event_id":"e1"}`, code: "bad_event"},
		"no refund id":       {body: `{"type":"refund_executed","event_id":"e1","payment_id":"p1"}`, code: "bad_event"},
		"odd metadata":       {body: `{"type":"payment_executed","event_id":"e1","payment_id":"p1","metadata":{"fynlo_payment_id":7}}`, want: payment.BankEvent{ID: "e1", Type: "payment_executed", Ref: "p1", Status: payment.BankExecuted}},
		"event version text": {body: `{"type":"payment_settled","event_id":"e1","event_version":"1","payment_id":"p1","settled_at":"2026-05-04T11:59:00.5Z"}`, want: payment.BankEvent{ID: "e1", Type: "payment_settled", Ref: "p1", Status: payment.BankSettled, At: time.Date(2026, 5, 4, 11, 59, 0, 5e8, time.UTC)}},
	} {
		t.Run(name, func(t *testing.T) {
			wh := tl.SignWebhook("/webhooks/truelayer", []byte(tt.body), tltest.SignOptions{})
			e, err := p.VerifyBankWebhook(context.Background(), wh.Request())
			if tt.code != "" {
				var ae *apperr.Error
				if !errors.As(err, &ae) || ae.Code != tt.code {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.At.IsZero() {
				tt.want.At = e.At // the webhook's timestamp
			}
			if !jsonEqual(e, tt.want) {
				t.Errorf("event %+v, want %+v", e, tt.want)
			}
		})
	}
}

// TestWebhookOverHTTP delivers the fake's webhooks to a receiver, as the
// app's end-to-end tests will.
func TestWebhookOverHTTP(t *testing.T) {
	p, tl, _, _ := setup(t)
	got := make(chan payment.BankEvent, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := new(bytes.Buffer)
		_, _ = body.ReadFrom(r.Body)
		e, err := p.VerifyBankWebhook(r.Context(), payment.WebhookRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Get, Body: body.Bytes()})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- e
	}))
	defer recv.Close()
	tl.SetWebhookURL(recv.URL + "/api/v1/webhooks/truelayer")
	ref, _ := created(t, p)
	if err := tl.Execute(ref); err != nil {
		t.Fatal(err)
	}
	if err := tl.Settle(ref); err != nil {
		t.Fatal(err)
	}
	for _, want := range []payment.BankStatus{payment.BankExecuted, payment.BankSettled} {
		if e := <-got; e.Status != want || e.Ref != ref {
			t.Errorf("event %+v, want %s", e, want)
		}
	}
}

// FuzzVerifyWebhook feeds the verifier any signature, timestamp, path and
// body: it must never panic, and anything it accepts is a whole event.
func FuzzVerifyWebhook(f *testing.F) {
	tl := tltest.New(f)
	clk := newClock()
	tl.SetClock(clk.Now)
	cfg := configFor(tl)
	cfg.Now = clk.Now
	p, err := truelayer.New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	for _, body := range []string{
		`{"type":"payment_executed","event_id":"e1","payment_id":"p1","executed_at":"2026-05-04T12:00:00Z","metadata":{"fynlo_payment_id":"pay_1"}}`,
		`{"type":"payment_failed","event_id":"e2","payment_id":"p1","failure_reason":"expired","failure_stage":"authorizing"}`,
		`{"type":"refund_failed","event_id":"e3","payment_id":"p1","refund_id":"r1","failure_reason":"x"}`,
		`{"type":"x","event_id":"e4"}`,
		`[]`, `null`, ``,
	} {
		wh := tl.SignWebhook("/webhooks/truelayer", []byte(body), tltest.SignOptions{})
		f.Add(wh.Header.Get("Tl-Signature"), wh.Header.Get("X-Tl-Webhook-Timestamp"), wh.Path, []byte(body))
	}
	f.Add("e30..AAAA", "2026-05-04T12:00:00Z", "/", []byte("{}"))
	f.Add(`eyJhbGciOiJFUzUxMiIsImtpZCI6ImsiLCJ0bF92ZXJzaW9uIjoiMiIsInRsX2hlYWRlcnMiOiIsLCwiLCJqa3UiOiJ4In0..`, "", "/", []byte(nil))
	f.Fuzz(func(t *testing.T, sig, ts, path string, body []byte) {
		h := http.Header{}
		h.Set("Tl-Signature", sig)
		h.Set("X-Tl-Webhook-Timestamp", ts)
		h.Set("Content-Type", "application/json")
		e, err := p.VerifyBankWebhook(context.Background(), payment.WebhookRequest{Method: "POST", Path: path, Header: h.Get, Body: body})
		if err != nil {
			if k := apperr.KindOf(err); k != apperr.Invalid && k != apperr.Unavailable {
				t.Fatalf("error of kind %s: %v", k, err)
			}
			return
		}
		if e.ID == "" || e.Type == "" || (e.Status != "" && e.Ref == "") || (e.RefundStatus != "" && e.RefundRef == "") {
			t.Fatalf("accepted a partial event %+v", e)
		}
	})
}
