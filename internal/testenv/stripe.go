package testenv

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

// FakeStripe is a stateful stand-in for the parts of Stripe's API that
// payments use, for the flows stripe-mock (stateless, fixtures only)
// cannot show: a PaymentIntent is created once per idempotency key and a
// retry with the key gets the first answer, as Stripe does; it can be
// captured, cancelled and refunded. Hooks let a test lose a request before
// it is applied, or its answer after, at exactly the step it wants.
type FakeStripe struct {
	URL string

	mu       sync.Mutex
	answers  map[string]fakeAnswer // idempotency key → the first answer
	intents  map[string]map[string]any
	created  int // PaymentIntents created: each one a charge or a hold
	refunded int64
	next     int

	// RefundStatus is the status new refunds get: "succeeded" when empty;
	// "pending" leaves them for a refund.updated webhook.
	RefundStatus string

	// Before is called with a request's path and idempotency key before
	// it is applied; false drops the connection and the request is not
	// applied (it never reached Stripe). After is called once it has
	// been applied; false drops the connection (the answer is lost).
	Before, After func(path, key string) bool
}

type fakeAnswer struct {
	status int
	body   []byte
}

// StartFakeStripe starts a FakeStripe until the test ends.
func StartFakeStripe(t interface {
	Cleanup(func())
}) *FakeStripe {
	f := &FakeStripe{answers: map[string]fakeAnswer{}, intents: map[string]map[string]any{}}
	ts := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(ts.Close)
	f.URL = ts.URL
	return f
}

// Charges is how many PaymentIntents were created.
func (f *FakeStripe) Charges() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.created
}

// IntentFor returns the PaymentIntent whose metadata names our payment,
// or nil.
func (f *FakeStripe) IntentFor(paymentID string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, pi := range f.intents {
		if pi["metadata"].(map[string]any)["fynlo_payment_id"] == paymentID {
			return pi
		}
	}
	return nil
}

// SetRefundStatus sets RefundStatus.
func (f *FakeStripe) SetRefundStatus(status string) {
	f.mu.Lock()
	f.RefundStatus = status
	f.mu.Unlock()
}

// SetHooks sets Before and After.
func (f *FakeStripe) SetHooks(before, after func(path, key string) bool) {
	f.mu.Lock()
	f.Before, f.After = before, after
	f.mu.Unlock()
}

// Intent returns a PaymentIntent as Stripe holds it, or nil.
func (f *FakeStripe) Intent(id string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.intents[id]
}

func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (f *FakeStripe) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	hook := func(h func(string, string) bool) bool {
		f.mu.Lock()
		fn := h
		f.mu.Unlock()
		return fn == nil || fn(r.URL.Path, key)
	}
	if r.Method == http.MethodPost && !hook(f.Before) {
		drop(w)
		return
	}
	f.mu.Lock()
	ans, seen := f.answers[key]
	if !seen || key == "" {
		ans = f.apply(r)
		if key != "" && r.Method == http.MethodPost {
			f.answers[key] = ans
		}
	}
	f.mu.Unlock()
	if r.Method == http.MethodPost && !hook(f.After) {
		drop(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if seen {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.WriteHeader(ans.status)
	_, _ = w.Write(ans.body)
}

// apply carries out a request; f.mu is held.
func (f *FakeStripe) apply(r *http.Request) fakeAnswer {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	parts := strings.Split(path, "/")
	switch {
	case r.Method == http.MethodPost && path == "payment_intents":
		f.next++
		f.created++
		id := fmt.Sprintf("pi_fake%06d", f.next)
		amount, _ := strconv.ParseInt(r.Form.Get("amount"), 10, 64)
		status := "succeeded"
		if r.Form.Get("capture_method") == "manual" {
			status = "requires_capture"
		}
		meta := map[string]any{}
		for k, v := range r.Form {
			if strings.HasPrefix(k, "metadata[") {
				meta[strings.TrimSuffix(strings.TrimPrefix(k, "metadata["), "]")] = v[0]
			}
		}
		if r.Form.Get("confirm") != "true" {
			status = "requires_payment_method" // a Terminal payment: the device collects and confirms
		}
		switch r.Form.Get("payment_method") {
		case "pm_card_chargeDeclined":
			status = "requires_payment_method"
		case "pm_card_threeDSecure2Required":
			status = "requires_action" // the guest authenticates on the device; a webhook says how it ended
		}
		pi := map[string]any{"id": id, "object": "payment_intent", "amount": amount, "amount_received": 0,
			"currency": r.Form.Get("currency"), "status": status, "capture_method": r.Form.Get("capture_method"),
			"client_secret": id + "_secret_fake", "metadata": meta, "payment_method_types": formList(r, "payment_method_types"), "livemode": false, "created": 1764158400,
			"latest_charge": map[string]any{"id": "ch_" + id[3:], "object": "charge",
				"payment_method_details": map[string]any{"type": "card", "card": map[string]any{"brand": "visa", "last4": "4242"}}}}
		if status == "requires_action" {
			pi["next_action"] = map[string]any{"type": "use_stripe_sdk"}
		}
		if r.Form.Get("payment_method") == "pm_card_chargeDeclined" {
			pi["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
				"message": "Your card was declined."}
		}
		if status == "succeeded" {
			pi["amount_received"] = amount
		}
		f.intents[id] = pi
		return f.json(200, pi)
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "payment_intents" && (parts[2] == "capture" || parts[2] == "cancel"):
		pi := f.intents[parts[1]]
		if pi == nil {
			return f.json(404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing",
				"message": "No such payment_intent: '" + parts[1] + "'"}})
		}
		if pi["status"] != "requires_capture" {
			return f.json(400, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "payment_intent_unexpected_state",
				"message": "This PaymentIntent's status is " + pi["status"].(string)}})
		}
		if parts[2] == "capture" {
			pi["status"] = "succeeded"
			amount := pi["amount"].(int64)
			if a, err := strconv.ParseInt(r.Form.Get("amount_to_capture"), 10, 64); err == nil && a > 0 {
				amount = a
			}
			pi["amount_received"] = amount
		} else {
			pi["status"] = "canceled"
		}
		return f.json(200, pi)
	case r.Method == http.MethodPost && path == "refunds":
		pi := f.intents[r.Form.Get("payment_intent")]
		amount, _ := strconv.ParseInt(r.Form.Get("amount"), 10, 64)
		if pi == nil || pi["status"] != "succeeded" {
			return f.json(400, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "charge_not_refundable",
				"message": "This payment cannot be refunded"}})
		}
		f.refunded += amount
		f.next++
		status := f.RefundStatus
		if status == "" {
			status = "succeeded"
		}
		meta := map[string]any{}
		for k, v := range r.Form {
			if strings.HasPrefix(k, "metadata[") {
				meta[strings.TrimSuffix(strings.TrimPrefix(k, "metadata["), "]")] = v[0]
			}
		}
		return f.json(200, map[string]any{"id": fmt.Sprintf("re_fake%06d", f.next), "object": "refund", "amount": amount,
			"status": status, "payment_intent": pi["id"], "currency": pi["currency"], "metadata": meta})
	case r.Method == http.MethodPost && path == "terminal/connection_tokens":
		return f.json(200, map[string]any{"object": "terminal.connection_token", "secret": "pst_test_fake"})
	}
	return f.json(404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "message": "Unrecognized request URL " + r.URL.Path}})
}

func (f *FakeStripe) json(status int, v any) fakeAnswer {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return fakeAnswer{status: status, body: b}
}

// formList reads a list parameter however the client encodes it: name[],
// name[0], name[1]...
func formList(r *http.Request, name string) []string {
	out := append([]string{}, r.Form[name+"[]"]...)
	for i := 0; ; i++ {
		v, ok := r.Form[name+"["+strconv.Itoa(i)+"]"]
		if !ok {
			return out
		}
		out = append(out, v...)
	}
}
