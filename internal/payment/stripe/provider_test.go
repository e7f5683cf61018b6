package stripe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/payment"
)

// canned starts a local server answering every request with status and
// body, and returns a provider pointed at it and the count of requests.
func canned(t *testing.T, status int, body string) (*Provider, *recorder, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_test")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	p, rec := newTestProvider(t, srv.URL, testKey, nil)
	return p, rec, &n
}

func gbp(amount int64) money.Money { return money.Money{Amount: amount, Currency: "GBP"} }

func chargeReq() payment.ChargeRequest {
	return payment.ChargeRequest{Key: "pay_01J0000000000000000000TEST", Amount: gbp(1250), PaymentMethod: "pm_card_visa",
		Description: "Check 1042", Metadata: map[string]string{"fynlo_payment_id": "pay_01J0000000000000000000TEST", "fynlo_order_id": "ord_1"}}
}

func TestChargeRequestShape(t *testing.T) {
	for _, manual := range []bool{false, true} {
		t.Run(fmt.Sprintf("manual=%v", manual), func(t *testing.T) {
			p, rec, _ := canned(t, 200, `{"id":"pi_1","object":"payment_intent","status":"succeeded"}`)
			req := chargeReq()
			req.ManualCapture = manual
			if _, err := p.Charge(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			ex := rec.last(t)
			if ex.Method != http.MethodPost || ex.Path != "/v1/payment_intents" {
				t.Fatalf("request %s %s", ex.Method, ex.Path)
			}
			if got := ex.Header.Get("Idempotency-Key"); got != req.Key {
				t.Errorf("Idempotency-Key %q, want %q", got, req.Key)
			}
			if got := ex.Header.Get("Authorization"); got != "Bearer "+testKey {
				t.Errorf("Authorization %q", got)
			}
			capture := "automatic"
			if manual {
				capture = "manual"
			}
			want := map[string]string{
				"amount": "1250", "currency": "gbp", "payment_method": "pm_card_visa", "confirm": "true",
				"capture_method": capture, "payment_method_types[0]": "card", "payment_method_types[1]": "card_present",
				"description": "Check 1042", "metadata[fynlo_payment_id]": req.Key, "metadata[fynlo_order_id]": "ord_1",
				"expand[0]": "latest_charge", "expand[1]": "payment_method",
			}
			for k, v := range want {
				if got := ex.Form.Get(k); got != v {
					t.Errorf("form %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestChargeStatusMapping(t *testing.T) {
	tests := []struct {
		name, body   string
		status       payment.Status
		clientSecret string
		card         *payment.Card
		failure      *payment.Failure
	}{
		{name: "succeeded", status: payment.StatusCaptured,
			body: `{"id":"pi_1","status":"succeeded","client_secret":"pi_1_secret_x","latest_charge":{"id":"ch_1","payment_method_details":{"type":"card","card":{"brand":"visa","last4":"4242","wallet":{"type":"apple_pay"}}}}}`,
			card: &payment.Card{Brand: "visa", Last4: "4242", Wallet: "apple_pay"}},
		{name: "requires_capture", status: payment.StatusAuthorized,
			body: `{"id":"pi_1","status":"requires_capture","latest_charge":{"id":"ch_1","payment_method_details":{"type":"card_present","card_present":{"brand":"mastercard","last4":"4444"}}}}`,
			card: &payment.Card{Brand: "mastercard", Last4: "4444"}},
		{name: "card from payment method", status: payment.StatusCaptured,
			body: `{"id":"pi_1","status":"succeeded","latest_charge":"ch_1","payment_method":{"id":"pm_1","type":"card","card":{"brand":"amex","last4":"8431","wallet":null}}}`,
			card: &payment.Card{Brand: "amex", Last4: "8431"}},
		{name: "tap to pay card present wallet", status: payment.StatusCaptured,
			body: `{"id":"pi_1","status":"succeeded","payment_method":{"id":"pm_1","type":"card_present","card_present":{"brand":"visa","last4":"0000","wallet":{"type":"apple_pay"}}}}`,
			card: &payment.Card{Brand: "visa", Last4: "0000", Wallet: "apple_pay"}},
		{name: "no card details", status: payment.StatusCaptured, body: `{"id":"pi_1","status":"succeeded","latest_charge":null,"payment_method":"pm_1"}`},
		{name: "requires_action", status: payment.StatusRequiresAction, clientSecret: "pi_1_secret_abc",
			body: `{"id":"pi_1","status":"requires_action","client_secret":"pi_1_secret_abc","next_action":{"type":"use_stripe_sdk"}}`},
		{name: "canceled", status: payment.StatusCancelled, body: `{"id":"pi_1","status":"canceled","client_secret":"pi_1_secret_abc"}`},
		{name: "failed confirm", status: payment.StatusFailed,
			body:    `{"id":"pi_1","status":"requires_payment_method","last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}`,
			failure: &payment.Failure{Code: "insufficient_funds", Message: "Your card has insufficient funds."}},
		{name: "failed without decline code", status: payment.StatusFailed,
			body:    `{"id":"pi_1","status":"requires_payment_method","last_payment_error":{"type":"card_error","code":"expired_card","message":"Your card has expired."}}`,
			failure: &payment.Failure{Code: "expired_card", Message: "Your card has expired."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _, _ := canned(t, 200, tt.body)
			res, err := p.Charge(context.Background(), chargeReq())
			if err != nil {
				t.Fatal(err)
			}
			if res.Ref != "pi_1" || res.Status != tt.status || res.ClientSecret != tt.clientSecret {
				t.Errorf("got ref %q status %q secret %q, want pi_1 %q %q", res.Ref, res.Status, res.ClientSecret, tt.status, tt.clientSecret)
			}
			if fmt.Sprint(res.Card) != fmt.Sprint(tt.card) {
				t.Errorf("card %+v, want %+v", res.Card, tt.card)
			}
			if fmt.Sprint(res.Failure) != fmt.Sprint(tt.failure) {
				t.Errorf("failure %+v, want %+v", res.Failure, tt.failure)
			}
		})
	}
}

// A PaymentIntent still processing is no answer yet: an error that is
// neither Unavailable nor Invalid, so the payment stays pending.
func TestChargeProcessingIsUnknown(t *testing.T) {
	p, _, _ := canned(t, 200, `{"id":"pi_1","status":"processing"}`)
	res, err := p.Charge(context.Background(), chargeReq())
	if err == nil || apperr.Is(err, apperr.Unavailable) || apperr.Is(err, apperr.Invalid) {
		t.Fatalf("err = %v, want a plain error", err)
	}
	if res.Ref != "pi_1" {
		t.Errorf("ref %q", res.Ref)
	}
}

func TestChargeDeclined(t *testing.T) {
	body := `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds",
		"message":"Your card has insufficient funds.","charge":"ch_1",
		"payment_intent":{"id":"pi_declined","object":"payment_intent","status":"requires_payment_method","client_secret":"pi_declined_secret"}}}`
	p, _, n := canned(t, http.StatusPaymentRequired, body)
	res, err := p.Charge(context.Background(), chargeReq())
	if err != nil {
		t.Fatalf("a decline is an answer, not an error: %v", err)
	}
	want := payment.ChargeResult{Ref: "pi_declined", Status: payment.StatusFailed,
		Failure: &payment.Failure{Code: "insufficient_funds", Message: "Your card has insufficient funds."}}
	if res.Ref != want.Ref || res.Status != want.Status || res.Failure == nil || *res.Failure != *want.Failure {
		t.Errorf("got %+v %+v, want %+v %+v", res, res.Failure, want, want.Failure)
	}
	if n.Load() != 1 {
		t.Errorf("%d requests: a decline must not be retried", n.Load())
	}
}

func TestChargeInvalidRequest(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusNotFound} {
		body := `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"payment_method",
			"message":"No such PaymentMethod: 'pm_nope'"}}`
		p, _, _ := canned(t, status, body)
		_, err := p.Charge(context.Background(), chargeReq())
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Kind != apperr.Invalid || ae.Code != "invalid_request" {
			t.Fatalf("%d: err = %v, want Invalid invalid_request", status, err)
		}
		if !strings.Contains(ae.Detail, "No such PaymentMethod: 'pm_nope'") || !strings.Contains(ae.Detail, "payment_method") {
			t.Errorf("detail %q", ae.Detail)
		}
		if errors.Is(err, payment.ErrProviderDown) {
			t.Error("an invalid request is not a provider outage")
		}
	}
}

// A 500 is indeterminate (Stripe may have charged): a plain error, so the
// payment stays pending and a retry with the same key finds out.
func TestChargeServerErrorIsUnknown(t *testing.T) {
	t.Run("stripe api_error", func(t *testing.T) {
		p, _, _ := canned(t, 500, `{"error":{"type":"api_error","message":"An unknown error occurred"}}`)
		_, err := p.Charge(context.Background(), chargeReq())
		assertUnknown(t, err)
	})
	t.Run("success not readable", func(t *testing.T) {
		p, _, _ := canned(t, 200, `{"id":"pi_1","status":`)
		_, err := p.Charge(context.Background(), chargeReq())
		assertUnknown(t, err)
	})
	t.Run("not json, retried", func(t *testing.T) {
		p, rec, n := canned(t, 502, `<html>bad gateway</html>`)
		req := chargeReq()
		_, err := p.Charge(context.Background(), req)
		assertUnknown(t, err)
		if n.Load() != 3 {
			t.Errorf("%d attempts, want 3 (the SDK's two retries)", n.Load())
		}
		for i, ex := range rec.all() {
			if got := ex.Header.Get("Idempotency-Key"); got != req.Key {
				t.Errorf("attempt %d: Idempotency-Key %q, want %q on every retry", i, got, req.Key)
			}
		}
	})
}

func assertUnknown(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if errors.Is(err, payment.ErrProviderDown) || apperr.Is(err, apperr.Unavailable) || apperr.Is(err, apperr.Invalid) {
		t.Fatalf("err = %v: an outcome that may have charged must be a plain error", err)
	}
}

func assertDown(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, payment.ErrProviderDown) || !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("err = %v, want payment.ErrProviderDown", err)
	}
}

func TestChargeRateLimitedIsDown(t *testing.T) {
	p, _, n := canned(t, http.StatusTooManyRequests, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`)
	_, err := p.Charge(context.Background(), chargeReq())
	assertDown(t, err)
	if n.Load() != 1 {
		t.Errorf("%d attempts", n.Load())
	}
}

// refusedAddr returns a loopback URL nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestUnreachableIsDown(t *testing.T) {
	p, rec := newTestProvider(t, refusedAddr(t), testKey, nil)
	ctx := context.Background()
	_, err := p.Charge(ctx, chargeReq())
	assertDown(t, err)
	if n := len(rec.all()); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	_, err = p.Capture(ctx, "pi_1", gbp(100), "k1")
	assertDown(t, err)
	_, err = p.Cancel(ctx, "pi_1", "k2")
	assertDown(t, err)
	_, err = p.Refund(ctx, "pi_1", gbp(100), "k3")
	assertDown(t, err)
	_, err = p.ConnectionToken(ctx)
	assertDown(t, err)
}

func TestUnresolvableHostIsDown(t *testing.T) {
	// .invalid never resolves (RFC 2606); the lookup fails without a network.
	p, _ := newTestProvider(t, "http://api.stripe.invalid", testKey, nil)
	_, err := p.Charge(context.Background(), chargeReq())
	assertDown(t, err)
}

func TestTLSHandshakeFailureIsDown(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // "TLS handshake error" is the point
	srv.StartTLS()                                   // with a certificate the default transport does not trust
	t.Cleanup(srv.Close)
	p, _ := newTestProvider(t, srv.URL, testKey, nil)
	_, err := p.Charge(context.Background(), chargeReq())
	assertDown(t, err)
}

// hang starts a server that reads the request and never answers.
func hang(t *testing.T) string {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv.URL
}

func TestTimeoutAfterSendingIsUnknown(t *testing.T) {
	t.Run("context deadline", func(t *testing.T) {
		p, _ := newTestProvider(t, hang(t), testKey, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := p.Charge(ctx, chargeReq())
		assertUnknown(t, err)
	})
	t.Run("client timeout, retried", func(t *testing.T) {
		rec := &recorder{}
		p, err := New(Config{SecretKey: testKey, APIBase: hang(t), fastRetries: true,
			HTTPClient: &http.Client{Transport: rec, Timeout: 150 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Charge(context.Background(), chargeReq())
		assertUnknown(t, err)
		if n := len(rec.all()); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})
}

// scripted is a transport answering each attempt with the next of its
// answers, a response status or an error.
type scripted struct {
	n       atomic.Int64
	answers []any
}

func (s *scripted) RoundTrip(req *http.Request) (*http.Response, error) {
	i := int(s.n.Add(1)) - 1
	if i >= len(s.answers) {
		i = len(s.answers) - 1
	}
	switch a := s.answers[i].(type) {
	case error:
		return nil, a
	case int:
		return &http.Response{StatusCode: a, Header: http.Header{"Content-Type": {"text/plain"}},
			Body: io.NopCloser(strings.NewReader("upstream trouble")), Request: req}, nil
	}
	panic("bad script")
}

// If any attempt may have reached Stripe, a later "connection refused" does
// not make the outcome certain.
func TestRefusedAfterAnsweredAttemptIsUnknown(t *testing.T) {
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	t.Run("503 then refused", func(t *testing.T) {
		tr := &scripted{answers: []any{503, dialErr}}
		p, _ := newTestProvider(t, "http://stripe.test", testKey, tr)
		_, err := p.Charge(context.Background(), chargeReq())
		assertUnknown(t, err)
		if tr.n.Load() != 3 {
			t.Errorf("%d attempts", tr.n.Load())
		}
	})
	t.Run("refused every time", func(t *testing.T) {
		tr := &scripted{answers: []any{dialErr}}
		p, _ := newTestProvider(t, "http://stripe.test", testKey, tr)
		_, err := p.Charge(context.Background(), chargeReq())
		assertDown(t, err)
	})
	t.Run("reset after sending", func(t *testing.T) {
		tr := &scripted{answers: []any{&net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}}}
		p, _ := newTestProvider(t, "http://stripe.test", testKey, tr)
		_, err := p.Charge(context.Background(), chargeReq())
		assertUnknown(t, err)
	})
}

func TestSecretKeyNeverInErrors(t *testing.T) {
	const key = "sk_live_51TopSecretKeyValue0123456789"
	body := `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: ` + key + `"}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	p, _ := newTestProvider(t, srv.URL, key, nil)
	_, err := p.Charge(context.Background(), chargeReq())
	assertDown(t, err) // a rejected key: nothing was charged
	if strings.Contains(err.Error(), "TopSecretKeyValue") {
		t.Fatalf("the error shows the key: %v", err)
	}
	_, err = p.Refund(context.Background(), "pi_1", gbp(1), "k")
	if err == nil || strings.Contains(err.Error(), "TopSecretKeyValue") {
		t.Fatalf("refund error %v", err)
	}
}

func TestCapture(t *testing.T) {
	p, rec, _ := canned(t, 200, `{"id":"pi_1","status":"succeeded","latest_charge":{"id":"ch_1","payment_method_details":{"type":"card","card":{"brand":"visa","last4":"4242"}}}}`)
	res, err := p.Capture(context.Background(), "pi_1", gbp(1500), "pay_1:capture")
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref != "pi_1" || res.Status != payment.StatusCaptured || res.Card == nil || res.Card.Last4 != "4242" {
		t.Errorf("got %+v", res)
	}
	ex := rec.last(t)
	if ex.Path != "/v1/payment_intents/pi_1/capture" || ex.Form.Get("amount_to_capture") != "1500" ||
		ex.Header.Get("Idempotency-Key") != "pay_1:capture" {
		t.Errorf("request %s %v key %q", ex.Path, ex.Form, ex.Header.Get("Idempotency-Key"))
	}
}

func TestCaptureDeclinedAndRefused(t *testing.T) {
	p, _, _ := canned(t, 402, `{"error":{"type":"card_error","code":"card_declined","message":"Your card was declined."}}`)
	res, err := p.Capture(context.Background(), "pi_1", gbp(1500), "k")
	if err != nil || res.Status != payment.StatusFailed || res.Failure.Code != "card_declined" {
		t.Errorf("got %+v, %v", res, err)
	}
	p, _, _ = canned(t, 400, `{"error":{"type":"invalid_request_error","code":"payment_intent_unexpected_state","message":"This PaymentIntent could not be captured because it has a status of canceled."}}`)
	_, err = p.Capture(context.Background(), "pi_1", gbp(1500), "k")
	if !apperr.Is(err, apperr.Invalid) {
		t.Errorf("err = %v, want Invalid", err)
	}
}

func TestCancel(t *testing.T) {
	p, rec, _ := canned(t, 200, `{"id":"pi_1","status":"canceled","cancellation_reason":"requested_by_customer"}`)
	res, err := p.Cancel(context.Background(), "pi_1", "pay_1:cancel")
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref != "pi_1" || res.Status != payment.StatusCancelled {
		t.Errorf("got %+v", res)
	}
	ex := rec.last(t)
	if ex.Method != http.MethodPost || ex.Path != "/v1/payment_intents/pi_1/cancel" || ex.Header.Get("Idempotency-Key") != "pay_1:cancel" {
		t.Errorf("request %s %s key %q", ex.Method, ex.Path, ex.Header.Get("Idempotency-Key"))
	}
}

func TestRefund(t *testing.T) {
	tests := []struct {
		body   string
		status string
		fail   *payment.Failure
	}{
		{`{"id":"re_1","object":"refund","status":"succeeded"}`, payment.RefundSucceeded, nil},
		{`{"id":"re_1","object":"refund","status":"pending"}`, payment.RefundPending, nil},
		{`{"id":"re_1","object":"refund","status":"requires_action"}`, payment.RefundPending, nil},
		{`{"id":"re_1","object":"refund","status":"failed","failure_reason":"expired_or_canceled_card"}`, payment.RefundFailed,
			&payment.Failure{Code: "expired_or_canceled_card", Message: "Stripe could not refund the payment: expired_or_canceled_card"}},
		{`{"id":"re_1","object":"refund","status":"canceled"}`, payment.RefundFailed,
			&payment.Failure{Code: "refund_canceled", Message: "Stripe could not refund the payment: canceled"}},
	}
	for _, tt := range tests {
		p, rec, _ := canned(t, 200, tt.body)
		res, err := p.Refund(context.Background(), "pi_1", gbp(500), "ref_1")
		if err != nil {
			t.Fatal(err)
		}
		if res.Ref != "re_1" || res.Status != tt.status || fmt.Sprint(res.Failure) != fmt.Sprint(tt.fail) {
			t.Errorf("%s: got %+v %+v", tt.body, res, res.Failure)
		}
		ex := rec.last(t)
		if ex.Path != "/v1/refunds" || ex.Form.Get("payment_intent") != "pi_1" || ex.Form.Get("amount") != "500" ||
			ex.Header.Get("Idempotency-Key") != "ref_1" {
			t.Errorf("request %s %v key %q", ex.Path, ex.Form, ex.Header.Get("Idempotency-Key"))
		}
	}
}

// A refund Stripe refuses outright went nowhere: a failed refund, not an
// error that would leave it pending for ever. A 500 may have refunded.
func TestRefundRefusedAndUnknown(t *testing.T) {
	p, _, _ := canned(t, 400, `{"error":{"type":"invalid_request_error","code":"charge_already_refunded","message":"Charge ch_1 has already been refunded."}}`)
	res, err := p.Refund(context.Background(), "pi_1", gbp(500), "ref_1")
	if err != nil || res.Status != payment.RefundFailed || res.Failure == nil || res.Failure.Code != "charge_already_refunded" {
		t.Errorf("got %+v %+v, %v", res, res.Failure, err)
	}
	p, _, _ = canned(t, 500, `{"error":{"type":"api_error","message":"boom"}}`)
	_, err = p.Refund(context.Background(), "pi_1", gbp(500), "ref_1")
	assertUnknown(t, err)
}

func TestConnectionToken(t *testing.T) {
	p, rec, _ := canned(t, 200, `{"object":"terminal.connection_token","secret":"pst_test_abc"}`)
	tok, err := p.ConnectionToken(context.Background())
	if err != nil || tok != "pst_test_abc" {
		t.Fatalf("got %q, %v", tok, err)
	}
	if ex := rec.last(t); ex.Method != http.MethodPost || ex.Path != "/v1/terminal/connection_tokens" {
		t.Errorf("request %s %s", ex.Method, ex.Path)
	}
}

func TestMissingKeyOrRef(t *testing.T) {
	p, rec, _ := canned(t, 200, `{}`)
	ctx := context.Background()
	req := chargeReq()
	req.Key = ""
	if _, err := p.Charge(ctx, req); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("charge without key: %v", err)
	}
	if _, err := p.Capture(ctx, "pi_1", gbp(1), " "); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("capture without key: %v", err)
	}
	if _, err := p.Cancel(ctx, "", "k"); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("cancel without ref: %v", err)
	}
	if _, err := p.Refund(ctx, "pi_1", gbp(1), ""); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("refund without key: %v", err)
	}
	if n := len(rec.all()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestNew(t *testing.T) {
	if p, err := New(Config{SecretKey: testKey}); err != nil || p.Name() != "stripe" {
		t.Fatalf("New: %v", err)
	}
	for _, cfg := range []Config{
		{},
		{SecretKey: "pk_test_publishable_secretish"},
		{SecretKey: testKey, APIBase: "ftp://example.com"},
		{SecretKey: testKey, APIBase: "http://"},
		{SecretKey: testKey, APIBase: "https://user:pw@example.com"},
	} {
		_, err := New(cfg)
		if err == nil {
			t.Errorf("New(%+v) accepted", cfg.APIBase)
			continue
		}
		if strings.Contains(err.Error(), "secretish") || strings.Contains(err.Error(), testKey) {
			t.Errorf("error shows the key: %v", err)
		}
	}
}

// APIBase may be given with a trailing slash or /v1.
func TestAPIBaseForms(t *testing.T) {
	var path atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path.Store(r.URL.Path)
		_, _ = io.WriteString(w, `{"secret":"pst_1"}`)
	}))
	t.Cleanup(srv.Close)
	for _, base := range []string{srv.URL, srv.URL + "/", srv.URL + "/v1", srv.URL + "/v1/"} {
		p, err := New(Config{SecretKey: testKey, APIBase: base})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.ConnectionToken(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := path.Load(); got != "/v1/terminal/connection_tokens" {
			t.Errorf("%s: path %v", base, got)
		}
	}
}
