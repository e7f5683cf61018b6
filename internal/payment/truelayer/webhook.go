package truelayer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/payment"
)

// Webhook verification. A webhook is trusted only when its Tl-Signature
// verifies with a key from an allowed JWKS URL over its method, path, the
// headers it names (X-Tl-Webhook-Timestamp among them) and its raw body,
// and its timestamp is within webhookTolerance of now: a signed webhook
// replayed later is refused.
//
// TrueLayer signs every client's webhooks with the same keys, so a good
// signature proves TrueLayer sent the event, not that it is about one of
// ours: BankEvent.PaymentID comes from the payment's metadata, which
// whoever created the payment chose. The caller must check that Ref is the
// provider reference it stored for that payment before applying anything.

const (
	// webhookTolerance is how far a webhook's timestamp may be from now.
	webhookTolerance = 5 * time.Minute
	// jwksRefetchAfter is how long after a fetch an unknown kid may cause
	// another: a rotated key is found within it, and forged kids cannot
	// make us hammer TrueLayer's key server.
	jwksRefetchAfter = time.Minute
	maxSignature     = 8 << 10
	maxJWKS          = 64 << 10
	timestampHeader  = "X-Tl-Webhook-Timestamp"
)

// badSignature is the error for every webhook that is not proven
// TrueLayer's; why is for the log only, so probing learns nothing.
func badSignature(why string) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "bad_signature",
		Detail: "the webhook's signature is missing, not valid or stale", Err: errors.New("truelayer: webhook: " + why)}
}

// jwsHeader is the JOSE header of a Tl-Signature.
type jwsHeader struct {
	Alg       string `json:"alg"`
	Kid       string `json:"kid"`
	Jku       string `json:"jku"`
	TlVersion string `json:"tl_version"`
	TlHeaders string `json:"tl_headers"`
}

// VerifyBankWebhook implements payment.BankProvider: it verifies the
// webhook's Tl-Signature and timestamp and decodes its event. Errors:
// Invalid bad_signature for anything not proven TrueLayer's and fresh;
// Invalid bad_event for a signed body that is not an event; Unavailable
// when TrueLayer's keys cannot be fetched (the webhook will be sent again).
func (p *Provider) VerifyBankWebhook(ctx context.Context, req payment.WebhookRequest) (payment.BankEvent, error) {
	if req.Header == nil {
		return payment.BankEvent{}, badSignature("no headers")
	}
	sig := strings.TrimSpace(req.Header("Tl-Signature"))
	if sig == "" {
		return payment.BankEvent{}, badSignature("no Tl-Signature")
	}
	if len(sig) > maxSignature {
		return payment.BankEvent{}, badSignature("Tl-Signature too long")
	}
	parts := strings.Split(sig, ".")
	if len(parts) != 3 || parts[1] != "" {
		return payment.BankEvent{}, badSignature("Tl-Signature is not a JWS with a detached payload")
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return payment.BankEvent{}, badSignature("JOSE header is not base64url")
	}
	var h jwsHeader
	if err := json.Unmarshal(rawHeader, &h); err != nil {
		return payment.BankEvent{}, badSignature("JOSE header is not JSON of the expected shape")
	}
	switch {
	case h.Alg != string(jose.ES512):
		return payment.BankEvent{}, badSignature("alg is not ES512")
	case h.TlVersion != "2":
		return payment.BankEvent{}, badSignature("tl_version is not 2")
	case h.Kid == "":
		return payment.BankEvent{}, badSignature("no kid")
	case !p.jkuAllowed[h.Jku]:
		// Refused before anything is fetched: a jku of the sender's choice
		// would let anyone sign with their own keys.
		return payment.BankEvent{}, badSignature("jku " + fmt.Sprintf("%q", h.Jku) + " is not allowed")
	}

	var signed [][2]string
	timestampSigned := false
	if h.TlHeaders != "" {
		for name := range strings.SplitSeq(h.TlHeaders, ",") {
			name = strings.TrimSpace(name)
			v := req.Header(name)
			if name == "" || v == "" {
				return payment.BankEvent{}, badSignature("signed header " + fmt.Sprintf("%q", name) + " is missing")
			}
			signed = append(signed, [2]string{name, v})
			timestampSigned = timestampSigned || strings.EqualFold(name, timestampHeader)
		}
	}
	if !timestampSigned {
		return payment.BankEvent{}, badSignature("the timestamp is not signed")
	}
	sent, err := time.Parse(time.RFC3339, strings.TrimSpace(req.Header(timestampHeader)))
	if err != nil {
		return payment.BankEvent{}, badSignature("the timestamp is not RFC 3339")
	}
	if d := p.now().Sub(sent); d > webhookTolerance || d < -webhookTolerance {
		return payment.BankEvent{}, badSignature("the timestamp is " + d.Round(time.Second).String() + " from now")
	}

	key, err := p.webhookKey(ctx, h.Jku, h.Kid)
	if err != nil {
		return payment.BankEvent{}, err
	}
	if !verifyDetached(sig, key, signingPayload(req.Method, req.Path, signed, req.Body)) {
		// TrueLayer's libraries accept the path with or without a trailing
		// slash, as proxies add or drop it.
		alt := strings.TrimSuffix(req.Path, "/")
		if alt == req.Path {
			alt += "/"
		}
		if !verifyDetached(sig, key, signingPayload(req.Method, alt, signed, req.Body)) {
			return payment.BankEvent{}, badSignature("the signature does not verify")
		}
	}
	return decodeEvent(req.Body, sent)
}

// verifyDetached reports whether sig is a good ES512 signature of payload
// by key.
func verifyDetached(sig string, key *ecdsa.PublicKey, payload []byte) bool {
	jws, err := jose.ParseDetached(sig, payload, []jose.SignatureAlgorithm{jose.ES512})
	if err != nil {
		return false
	}
	return jws.DetachedVerify(payload, key) == nil
}

// webhookEvent is a TrueLayer webhook body, as far as we read it.
type webhookEvent struct {
	Type          string          `json:"type"`
	EventID       string          `json:"event_id"`
	PaymentID     string          `json:"payment_id"`
	RefundID      string          `json:"refund_id"`
	Metadata      json.RawMessage `json:"metadata"`
	FailureReason string          `json:"failure_reason"`
	FailureStage  string          `json:"failure_stage"`
	AuthorizedAt  string          `json:"authorized_at"`
	ExecutedAt    string          `json:"executed_at"`
	SettledAt     string          `json:"settled_at"`
	CreditableAt  string          `json:"creditable_at"`
	FailedAt      string          `json:"failed_at"`
}

// decodeEvent maps a verified webhook body to a BankEvent. sent is the
// webhook's timestamp, the event's time when the body gives none.
func decodeEvent(body []byte, sent time.Time) (payment.BankEvent, error) {
	var w webhookEvent
	if err := json.Unmarshal(body, &w); err != nil {
		return payment.BankEvent{}, badEvent("the body is not an event: " + err.Error())
	}
	if w.EventID == "" || w.Type == "" {
		return payment.BankEvent{}, badEvent("the event has no event_id or type")
	}
	e := payment.BankEvent{ID: w.EventID, Type: w.Type, Ref: w.PaymentID, PaymentID: metadataString(w.Metadata, "fynlo_payment_id")}
	at := ""
	switch w.Type {
	case "payment_authorized":
		e.Status, at = payment.BankAuthorized, w.AuthorizedAt
	case "payment_executed":
		e.Status, at = payment.BankExecuted, w.ExecutedAt
	case "payment_settled":
		e.Status, at = payment.BankSettled, w.SettledAt
	case "payment_creditable":
		// The money is in the merchant account and may be paid out: for
		// us, settled.
		e.Status, at = payment.BankSettled, firstOf(w.CreditableAt, w.SettledAt)
	case "payment_failed":
		e.Status, at = payment.BankFailed, w.FailedAt
		e.Failure = failureOf(w.FailureReason, w.FailureStage)
	case "refund_executed":
		e.RefundRef, e.RefundStatus, at = w.RefundID, payment.RefundSucceeded, w.ExecutedAt
	case "refund_failed":
		e.RefundRef, e.RefundStatus, at = w.RefundID, payment.RefundFailed, w.FailedAt
		reason := firstOf(w.FailureReason, "unknown")
		e.Failure = &payment.Failure{Code: reason, Message: "TrueLayer could not refund the payment: " + reason}
	default:
		// Acknowledged, nothing applied: payment_settlement_stalled,
		// payment links, payouts, anything new.
	}
	switch {
	case e.Status != "" && e.Ref == "":
		return payment.BankEvent{}, badEvent(w.Type + " has no payment_id")
	case e.RefundStatus != "" && e.RefundRef == "":
		return payment.BankEvent{}, badEvent(w.Type + " has no refund_id")
	}
	e.At = sent.UTC()
	if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
		e.At = t.UTC()
	}
	return e, nil
}

func badEvent(why string) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "bad_event", Detail: "the webhook is signed but is not an event we can read",
		Err: errors.New("truelayer: webhook: " + why)}
}

// metadataString reads one string value of a metadata object; anything
// else (no metadata, another shape) is "".
func metadataString(raw json.RawMessage, key string) string {
	var m map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return ""
	}
	s, _ := m[key].(string)
	return s
}

// keySet is one JWKS as fetched.
type keySet struct {
	keys    map[string]*ecdsa.PublicKey
	fetched time.Time
}

// webhookKey returns the P-521 key kid of the JWKS at jku (an allowed
// URL): from the cache while it is fresh, fetched again when it is not, or
// once when kid is not in it (TrueLayer rotates keys), at most every
// jwksRefetchAfter.
func (p *Provider) webhookKey(ctx context.Context, jku, kid string) (*ecdsa.PublicKey, error) {
	// One fetch at a time: a burst of webhooks after a restart fetches the
	// keys once, not once each.
	p.jwksMu.Lock()
	defer p.jwksMu.Unlock()
	now := p.now()
	ks := p.jwks[jku]
	if ks == nil || now.Sub(ks.fetched) >= p.jwksTTL || now.Before(ks.fetched) {
		var err error
		if ks, err = p.fetchJWKS(ctx, jku, now); err != nil {
			return nil, err
		}
	}
	if k := ks.keys[kid]; k != nil {
		return k, nil
	}
	if now.Sub(ks.fetched) < jwksRefetchAfter {
		return nil, badSignature("no key " + fmt.Sprintf("%q", kid) + " in " + jku)
	}
	ks, err := p.fetchJWKS(ctx, jku, now)
	if err != nil {
		return nil, err
	}
	if k := ks.keys[kid]; k != nil {
		return k, nil
	}
	return nil, badSignature("no key " + fmt.Sprintf("%q", kid) + " in " + jku)
}

// fetchJWKS fetches and caches the JWKS at jku; p.jwksMu is held. A
// failure is Unavailable: the webhook was not judged, and TrueLayer sends
// it again.
func (p *Provider) fetchJWKS(ctx context.Context, jku string, now time.Time) (*keySet, error) {
	unavailable := func(why string) error {
		return &apperr.Error{Kind: apperr.Unavailable, Code: "provider_unavailable",
			Detail: "TrueLayer's webhook signing keys cannot be fetched; try again later", Err: errors.New("truelayer: jwks " + jku + ": " + why)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jku, nil)
	if err != nil {
		return nil, unavailable(err.Error())
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, unavailable(err.Error())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKS))
	if err != nil {
		return nil, unavailable(err.Error())
	}
	if resp.StatusCode != http.StatusOK {
		return nil, unavailable(resp.Status)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, unavailable("not a JWKS: " + err.Error())
	}
	ks := &keySet{keys: map[string]*ecdsa.PublicKey{}, fetched: now}
	for _, raw := range set.Keys {
		// A key we cannot read (another type, another curve) is skipped,
		// not fatal: the set may hold keys for other uses.
		if kid, k, ok := parseJWK(raw); ok {
			ks.keys[kid] = k
		}
	}
	p.jwks[jku] = ks
	return ks, nil
}

// parseJWK reads an EC P-521 public key from a JWK. TrueLayer's JWKS say
// "alg": "EC" rather than ES512, and a coordinate may come without its
// leading zero bytes, so both are accepted; the point must be on the curve.
func parseJWK(raw json.RawMessage) (string, *ecdsa.PublicKey, bool) {
	var k struct {
		Kty, Crv, Kid, X, Y, Use string
	}
	if json.Unmarshal(raw, &k) != nil || k.Kty != "EC" || k.Crv != "P-521" || k.Kid == "" || (k.Use != "" && k.Use != "sig") {
		return "", nil, false
	}
	const size = 66
	x, errX := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.X, "="))
	y, errY := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.Y, "="))
	if errX != nil || errY != nil || len(x) == 0 || len(y) == 0 || len(x) > size || len(y) > size {
		return "", nil, false
	}
	point := make([]byte, 1+2*size)
	point[0] = 4 // uncompressed
	copy(point[1+size-len(x):1+size], x)
	copy(point[1+2*size-len(y):], y)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P521(), point)
	if err != nil {
		return "", nil, false
	}
	return k.Kid, pub, true
}
