package stripe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/payment"
)

const whSecret = "whsec_test_5f1c0d1e2a3b4c5d6e7f"

var whNow = time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)

func eventJSON(id, typ, object string) []byte {
	return []byte(`{"id":"` + id + `","object":"event","api_version":"2026-03-25.dahlia","created":1777896000,` +
		`"livemode":false,"type":"` + typ + `","data":{"object":` + object + `}}`)
}

func TestVerifyWebhookEvents(t *testing.T) {
	created := time.Unix(1777896000, 0).UTC()
	tests := []struct {
		typ, object string
		want        Event
	}{
		{"payment_intent.succeeded", `{"id":"pi_1","object":"payment_intent","status":"succeeded","amount":1250}`,
			Event{PaymentIntentID: "pi_1", Status: payment.StatusCaptured}},
		{"payment_intent.amount_capturable_updated", `{"id":"pi_1","object":"payment_intent","status":"requires_capture"}`,
			Event{PaymentIntentID: "pi_1", Status: payment.StatusAuthorized}},
		{"payment_intent.requires_action", `{"id":"pi_1","object":"payment_intent","status":"requires_action"}`,
			Event{PaymentIntentID: "pi_1", Status: payment.StatusRequiresAction}},
		{"payment_intent.canceled", `{"id":"pi_1","object":"payment_intent","status":"canceled"}`,
			Event{PaymentIntentID: "pi_1", Status: payment.StatusCancelled}},
		{"payment_intent.payment_failed", `{"id":"pi_1","object":"payment_intent","status":"requires_payment_method",` +
			`"last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"stolen_card","message":"Your card was declined."}}`,
			Event{PaymentIntentID: "pi_1", Status: payment.StatusFailed,
				Failure: &payment.Failure{Code: "stolen_card", Message: "Your card was declined."}}},
		{"payment_intent.created", `{"id":"pi_1","object":"payment_intent","status":"requires_payment_method","last_payment_error":null}`,
			Event{PaymentIntentID: "pi_1", Status: payment.StatusPending}},
		{"payment_intent.processing", `{"id":"pi_1","object":"payment_intent","status":"processing"}`,
			Event{PaymentIntentID: "pi_1", Status: payment.StatusPending}},
		{"refund.created", `{"id":"re_1","object":"refund","status":"pending","payment_intent":"pi_1"}`,
			Event{PaymentIntentID: "pi_1", RefundID: "re_1", RefundStatus: payment.RefundPending}},
		{"refund.updated", `{"id":"re_1","object":"refund","status":"succeeded","payment_intent":{"id":"pi_1","object":"payment_intent"}}`,
			Event{PaymentIntentID: "pi_1", RefundID: "re_1", RefundStatus: payment.RefundSucceeded}},
		{"refund.failed", `{"id":"re_1","object":"refund","status":"failed","failure_reason":"lost_or_stolen_card","payment_intent":"pi_1"}`,
			Event{PaymentIntentID: "pi_1", RefundID: "re_1", RefundStatus: payment.RefundFailed,
				Failure: &payment.Failure{Code: "lost_or_stolen_card", Message: "Stripe could not refund the payment: lost_or_stolen_card"}}},
		{"charge.refund.updated", `{"id":"re_1","object":"refund","status":"requires_action","payment_intent":"pi_1"}`,
			Event{PaymentIntentID: "pi_1", RefundID: "re_1", RefundStatus: payment.RefundPending}},
		{"charge.refunded", `{"id":"ch_1","object":"charge","payment_intent":"pi_1","amount_refunded":500,` +
			`"refunds":{"object":"list","data":[{"id":"re_2","object":"refund","status":"succeeded","payment_intent":"pi_1"},{"id":"re_1","object":"refund","status":"succeeded"}]}}`,
			Event{PaymentIntentID: "pi_1", RefundID: "re_2", RefundStatus: payment.RefundSucceeded}},
		{"charge.refunded", `{"id":"ch_1","object":"charge","payment_intent":"pi_1","amount_refunded":500}`,
			Event{PaymentIntentID: "pi_1"}},
		{"customer.created", `{"id":"cus_1","object":"customer"}`, Event{}},
		{"payment_intent.canceled", `{"id":"pi_9","object":"payment_intent","status":"canceled","metadata":{"fynlo_payment_id":"pay_1"}}`,
			Event{PaymentIntentID: "pi_9", Status: payment.StatusCancelled, Metadata: map[string]string{"fynlo_payment_id": "pay_1"}}},
		{"payment_intent.succeeded", `{"id":"ch_1","object":"charge"}`, Event{}}, // not what the type says: nothing read
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			body := eventJSON("evt_1", tt.typ, tt.object)
			got, err := VerifyWebhook(body, SignWebhook(body, whSecret, whNow), whSecret, whNow)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.ID, want.Type, want.Created = "evt_1", tt.typ, created
			gotF, wantF := got.Failure, want.Failure
			got.Failure, want.Failure = nil, nil
			if !reflect.DeepEqual(got, want) || fmt.Sprint(gotF) != fmt.Sprint(wantF) {
				t.Errorf("got  %+v %+v\nwant %+v %+v", got, gotF, want, wantF)
			}
		})
	}
}

func assertBadSignature(t *testing.T, err error) {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.Invalid || ae.Code != "bad_signature" {
		t.Fatalf("err = %v, want Invalid bad_signature", err)
	}
}

func TestVerifyWebhookRejects(t *testing.T) {
	body := eventJSON("evt_1", "payment_intent.succeeded", `{"id":"pi_1","object":"payment_intent","status":"succeeded"}`)
	good := SignWebhook(body, whSecret, whNow)
	if _, err := VerifyWebhook(body, good, whSecret, whNow); err != nil {
		t.Fatalf("valid webhook refused: %v", err)
	}
	for name, at := range map[string]time.Time{
		"just stale":  whNow.Add(-WebhookTolerance - time.Second),
		"stale":       whNow.Add(-24 * time.Hour),
		"future":      whNow.Add(WebhookTolerance + time.Second),
		"far future":  whNow.AddDate(10, 0, 0),
		"epoch":       time.Unix(0, 0),
		"before 1970": time.Unix(-1<<40, 0),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := VerifyWebhook(body, SignWebhook(body, whSecret, at), whSecret, whNow)
			assertBadSignature(t, err)
		})
	}
	for name, at := range map[string]time.Time{
		"at the edge, old":    whNow.Add(-WebhookTolerance),
		"at the edge, future": whNow.Add(WebhookTolerance),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := VerifyWebhook(body, SignWebhook(body, whSecret, at), whSecret, whNow); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		_, err := VerifyWebhook(body, SignWebhook(body, "whsec_other", whNow), whSecret, whNow)
		assertBadSignature(t, err)
	})
	t.Run("body changed by one byte", func(t *testing.T) {
		for i := range body {
			changed := append([]byte(nil), body...)
			changed[i] ^= 0x01
			_, err := VerifyWebhook(changed, good, whSecret, whNow)
			assertBadSignature(t, err)
		}
		_, err := VerifyWebhook(append(append([]byte(nil), body...), ' '), good, whSecret, whNow)
		assertBadSignature(t, err)
		_, err = VerifyWebhook(body[:len(body)-1], good, whSecret, whNow)
		assertBadSignature(t, err)
	})
	t.Run("missing header", func(t *testing.T) {
		_, err := VerifyWebhook(body, "", whSecret, whNow)
		assertBadSignature(t, err)
	})
	sig := good[strings.Index(good, "v1="):]
	ts := strconv.FormatInt(whNow.Unix(), 10)
	for name, header := range map[string]string{
		"no timestamp":         sig,
		"no signature":         "t=" + ts,
		"v0 only":              "t=" + ts + ",v0=" + strings.TrimPrefix(sig, "v1="),
		"timestamp moved":      "t=" + strconv.FormatInt(whNow.Unix()+1, 10) + "," + sig,
		"two timestamps":       good + ",t=" + strconv.FormatInt(whNow.Unix()-1000, 10),
		"malformed pair":       good + ",v1",
		"malformed timestamp":  "t=12x," + sig,
		"signature truncated":  good[:len(good)-2],
		"signature not hex":    "t=" + ts + ",v1=zz" + sig[5:],
		"garbage":              "\x00\xff,,==",
		"header of other body": SignWebhook([]byte("{}"), whSecret, whNow),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := VerifyWebhook(body, header, whSecret, whNow)
			assertBadSignature(t, err)
		})
	}
	t.Run("rotated secret: one of two signatures valid", func(t *testing.T) {
		other := SignWebhook(body, "whsec_old", whNow)
		header := other + "," + sig
		if _, err := VerifyWebhook(body, header, whSecret, whNow); err != nil {
			t.Fatalf("refused: %v", err)
		}
	})
	t.Run("no secret configured", func(t *testing.T) {
		_, err := VerifyWebhook(body, SignWebhook(body, "", whNow), "", whNow)
		if err == nil || apperr.Is(err, apperr.Invalid) {
			t.Fatalf("err = %v, want a server-side error", err)
		}
	})
}

func TestVerifyWebhookBadPayload(t *testing.T) {
	for _, body := range []string{`not json`, `{"object":"customer","id":"cus_1"}`, `{"id":"evt_1","object":"event"}`,
		`{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"object":"payment_intent","last_payment_error":7}}}`} {
		_, err := VerifyWebhook([]byte(body), SignWebhook([]byte(body), whSecret, whNow), whSecret, whNow)
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Kind != apperr.Invalid || ae.Code != "bad_payload" {
			t.Errorf("%s: err = %v, want Invalid bad_payload", body, err)
		}
	}
}

// SignWebhook writes what Stripe writes: stripe-go's own verification (on
// the wall clock) accepts it.
func TestSignWebhookMatchesStripeGo(t *testing.T) {
	body := eventJSON("evt_1", "customer.created", `{"id":"cus_1","object":"customer"}`)
	now := time.Now()
	if err := webhook.ValidatePayload(body, SignWebhook(body, whSecret, now), whSecret); err != nil {
		t.Fatal(err)
	}
	want := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: whSecret, Timestamp: now}).Header
	if got := SignWebhook(body, whSecret, now); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// hasValidSignature checks a header the slow, obvious way: a t within
// tolerance of now and a v1 that is the HMAC of "t.payload".
func hasValidSignature(payload []byte, header, secret string, now time.Time) bool {
	var ts string
	var sigs []string
	for _, pair := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(pair, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(n, 0)); d > WebhookTolerance || d < -WebhookTolerance {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(payload)
	want := mac.Sum(nil)
	for _, s := range sigs {
		if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

func FuzzVerifyWebhook(f *testing.F) {
	valid := eventJSON("evt_1", "payment_intent.payment_failed", `{"id":"pi_1","object":"payment_intent","status":"requires_payment_method","last_payment_error":{"code":"card_declined","message":"no"}}`)
	f.Add(valid, SignWebhook(valid, whSecret, whNow), false, int64(0))
	f.Add(valid, "", true, int64(0))
	f.Add(valid, "", true, int64(301))
	f.Add(eventJSON("evt_2", "charge.refunded", `{"id":"ch_1","object":"charge","payment_intent":{"id":"pi_1"},"refunds":{"data":[{"id":"re_1","status":"failed","failure_reason":"unknown"}]}}`), "", true, int64(-30))
	f.Add(eventJSON("evt_3", "refund.updated", `{"id":"re_1","object":"refund","payment_intent":[1,2]}`), "", true, int64(0))
	f.Add([]byte(`{}`), "t=1,v1=00", false, int64(0))
	f.Add([]byte(`null`), "", true, int64(0))
	f.Fuzz(func(t *testing.T, payload []byte, header string, sign bool, skew int64) {
		if sign {
			// A correctly signed body: whatever is in it, no panic, and a
			// timestamp within tolerance is never a signature failure.
			skew %= 2 * int64(WebhookTolerance/time.Second)
			header = SignWebhook(payload, whSecret, whNow.Add(time.Duration(skew)*time.Second))
			ev, err := VerifyWebhook(payload, header, whSecret, whNow)
			var ae *apperr.Error
			if errors.As(err, &ae) && ae.Code == "bad_signature" && skew >= -300 && skew <= 300 {
				t.Fatalf("signed at skew %d s refused: %v", skew, err)
			}
			if err == nil && (ev.ID == "" || ev.Type == "") {
				t.Fatalf("accepted an event without ID or type: %+v", ev)
			}
			return
		}
		// An arbitrary header: anything accepted carries a valid signature.
		ev, err := VerifyWebhook(payload, header, whSecret, whNow)
		if err == nil {
			if !hasValidSignature(payload, header, whSecret, whNow) {
				t.Fatalf("accepted %q with header %q", payload, header)
			}
			if ev.ID == "" || ev.Type == "" {
				t.Fatalf("accepted an event without ID or type: %+v", ev)
			}
		} else if !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("err = %v, want Invalid", err)
		}
	})
}
