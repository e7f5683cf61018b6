package stripe

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	sdk "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/payment"
)

// WebhookTolerance is how far a webhook's signed timestamp may be from now,
// either way: an older one may be a replay.
const WebhookTolerance = 300 * time.Second

// Event is a Stripe webhook event, told in the payment domain's terms.
// Fields that do not apply to the event's type are empty.
type Event struct {
	ID      string // evt_…
	Type    string // payment_intent.succeeded, charge.refunded, refund.updated, …
	Created time.Time

	// PaymentIntentID is the payment's provider ref (pi_…): set for
	// payment_intent.* events and for refund and charge.refunded events.
	PaymentIntentID string
	// Status is the payment's status by the PaymentIntent, for
	// payment_intent.* events only; "" for others. requires_payment_method
	// with a last payment error is failed, without one (and processing,
	// requires_confirmation) pending.
	Status payment.Status

	// RefundID and RefundStatus (payment.RefundSucceeded, RefundPending,
	// RefundFailed) are set for refund.* and charge.refund.updated events,
	// and for charge.refunded when the charge lists its refunds.
	RefundID     string
	RefundStatus string

	// Failure says why a payment or a refund failed.
	Failure *payment.Failure

	// Metadata is the PaymentIntent's or the refund's metadata: Charge puts
	// our payment's ID in it (fynlo_payment_id), Refund our refund's
	// (fynlo_refund_id), so an event finds what it is about even if the
	// server stopped before it recorded Stripe's answer.
	Metadata map[string]string
}

// errBadSignature is what every webhook failing verification gets: one
// answer whatever the reason, so a prober learns nothing.
func errBadSignature(cause error) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "bad_signature",
		Detail: "the Stripe-Signature header does not verify", Err: cause}
}

func errBadPayload(cause error) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "bad_payload",
		Detail: "the webhook body is not a Stripe event", Err: cause}
}

// VerifyWebhook checks a webhook's Stripe-Signature header against its raw
// body and the endpoint's signing secret, and only then decodes the event.
//
// The signature must be a v1 HMAC-SHA256 of "t.payload" with the secret
// (any one of several v1 values, as during a secret's rotation) and its
// timestamp t must be within WebhookTolerance of now, either way. Tolerance
// is checked here against now: stripe-go's own check uses the wall clock
// and only rejects old timestamps, so it is switched off and the library is
// used for the HMAC alone. A bad, stale, future or missing signature is an
// apperr Invalid error with code "bad_signature"; a verified body that is
// not an event is code "bad_payload". Events of types not listed on Event
// come back with ID, Type and Created only.
func VerifyWebhook(payload []byte, sigHeader, secret string, now time.Time) (Event, error) {
	if secret == "" {
		return Event{}, errors.New("stripe: no webhook signing secret configured")
	}
	ts, err := signedAt(sigHeader)
	if err != nil {
		return Event{}, errBadSignature(err)
	}
	if d := now.Sub(ts); d > WebhookTolerance || d < -WebhookTolerance {
		return Event{}, errBadSignature(errors.New("timestamp " + ts.UTC().Format(time.RFC3339) + " is not within tolerance"))
	}
	if err := webhook.ValidatePayloadIgnoringTolerance(payload, sigHeader, secret); err != nil {
		return Event{}, errBadSignature(err)
	}
	return decodeEvent(payload)
}

// signedAt returns the header's timestamp. It parses the header as
// stripe-go does (comma-separated key=value pairs, v1 signatures in hex),
// so the timestamp checked here is the one the HMAC covers, and it
// refuses a header with no timestamp or more than one.
func signedAt(header string) (time.Time, error) {
	if header == "" {
		return time.Time{}, errors.New("no Stripe-Signature header")
	}
	var (
		ts    int64
		found bool
	)
	for _, pair := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || strings.Contains(v, "=") {
			return time.Time{}, errors.New("malformed Stripe-Signature header")
		}
		if k != "t" {
			continue
		}
		if found {
			return time.Time{}, errors.New("more than one timestamp in Stripe-Signature header")
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, errors.New("malformed timestamp in Stripe-Signature header")
		}
		ts, found = n, true
	}
	if !found {
		return time.Time{}, errors.New("no timestamp in Stripe-Signature header")
	}
	return time.Unix(ts, 0), nil
}

// SignWebhook returns a Stripe-Signature header value for payload signed
// with secret at the given time, as Stripe would send it:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload">. It is for tests and
// for the project's own fake of Stripe.
func SignWebhook(payload []byte, secret string, at time.Time) string {
	return "t=" + strconv.FormatInt(at.Unix(), 10) + ",v1=" + hex.EncodeToString(webhook.ComputeSignature(at, payload, secret))
}

// The parts of Stripe's JSON the events need; decoded with encoding/json
// rather than stripe-go's types, so that an event of another API version
// than the SDK's still decodes.
type (
	rawEvent struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Type    string `json:"type"`
		Created int64  `json:"created"`
		Data    struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	rawObject struct {
		ID       string            `json:"id"`
		Object   string            `json:"object"`
		Status   string            `json:"status"`
		Metadata map[string]string `json:"metadata"`
	}
	rawPaymentIntent struct {
		rawObject
		LastPaymentError *struct {
			Type        string `json:"type"`
			Code        string `json:"code"`
			DeclineCode string `json:"decline_code"`
			Message     string `json:"message"`
		} `json:"last_payment_error"`
	}
	rawRefund struct {
		rawObject
		PaymentIntent expandable `json:"payment_intent"`
		FailureReason string     `json:"failure_reason"`
	}
	rawCharge struct {
		rawObject
		PaymentIntent expandable `json:"payment_intent"`
		Refunds       *struct {
			Data []rawRefund `json:"data"`
		} `json:"refunds"`
	}
)

// expandable is a field Stripe sends as an ID or, expanded, as the object.
type expandable string

func (e *expandable) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*e = ""
		return nil
	}
	var id string
	if err := json.Unmarshal(b, &id); err == nil {
		*e = expandable(id)
		return nil
	}
	var obj struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	*e = expandable(obj.ID)
	return nil
}

func decodeEvent(payload []byte) (Event, error) {
	var raw rawEvent
	if err := json.Unmarshal(payload, &raw); err != nil {
		return Event{}, errBadPayload(err)
	}
	if raw.Object != "event" || raw.ID == "" || raw.Type == "" {
		return Event{}, errBadPayload(errors.New("not an event object"))
	}
	ev := Event{ID: raw.ID, Type: raw.Type, Created: time.Unix(raw.Created, 0).UTC()}
	var obj rawObject
	if len(raw.Data.Object) > 0 {
		if err := json.Unmarshal(raw.Data.Object, &obj); err != nil {
			return Event{}, errBadPayload(err)
		}
	}

	switch {
	case strings.HasPrefix(raw.Type, "payment_intent.") && obj.Object == "payment_intent":
		var pi rawPaymentIntent
		if err := json.Unmarshal(raw.Data.Object, &pi); err != nil {
			return Event{}, errBadPayload(err)
		}
		var lastErr *sdk.Error
		if e := pi.LastPaymentError; e != nil {
			lastErr = &sdk.Error{Type: sdk.ErrorType(e.Type), Code: sdk.ErrorCode(e.Code),
				DeclineCode: sdk.DeclineCode(e.DeclineCode), Msg: e.Message}
		}
		ev.PaymentIntentID, ev.Metadata = pi.ID, pi.Metadata
		ev.Status, ev.Failure = statusOf(pi.Status, lastErr)
	case isRefundEvent(raw.Type) && obj.Object == "refund":
		var re rawRefund
		if err := json.Unmarshal(raw.Data.Object, &re); err != nil {
			return Event{}, errBadPayload(err)
		}
		ev.setRefund(re)
	case isRefundEvent(raw.Type) && obj.Object == "charge":
		var ch rawCharge
		if err := json.Unmarshal(raw.Data.Object, &ch); err != nil {
			return Event{}, errBadPayload(err)
		}
		ev.PaymentIntentID = string(ch.PaymentIntent)
		if ch.Refunds != nil && len(ch.Refunds.Data) > 0 {
			re := ch.Refunds.Data[0] // Stripe lists the newest first
			if re.PaymentIntent == "" {
				re.PaymentIntent = ch.PaymentIntent
			}
			ev.setRefund(re)
		}
	}
	return ev, nil
}

func isRefundEvent(typ string) bool {
	return typ == "charge.refunded" || strings.HasPrefix(typ, "charge.refund.") || strings.HasPrefix(typ, "refund.")
}

func (ev *Event) setRefund(re rawRefund) {
	res := refundResultOf(re.ID, re.Status, re.FailureReason)
	ev.RefundID, ev.RefundStatus, ev.Failure = res.Ref, res.Status, res.Failure
	ev.PaymentIntentID = string(re.PaymentIntent)
	ev.Metadata = re.Metadata
}
