// Package stripe is the card provider backed by Stripe: PaymentIntents for
// charges, captures and cancellations, Refunds, Terminal connection tokens
// for Tap to Pay on iPhone, and verification of Stripe's webhooks.
//
// It is the only package that imports stripe-go. It answers in the payment
// domain's terms (payment.ChargeResult, payment.RefundResult, apperr kinds),
// and keeps to the contract the payment service relies on:
//
//   - every call that moves money carries the caller's idempotency key, so
//     a retry (ours, or the SDK's own network retries) is the same charge;
//   - a card decline is an answer, not an error: StatusFailed with a Failure;
//   - payment.ErrProviderDown (Unavailable) and apperr Invalid are returned
//     only when it is certain Stripe did not act on the request (it was never
//     sent, or Stripe refused it before doing anything); every other failure
//     (a timeout after the request went out, a 5xx) is a plain error, because
//     the payment may have been taken and a retry with the same key will say.
package stripe

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	sdk "github.com/stripe/stripe-go/v85"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/payment"
)

// Config configures the Stripe provider.
type Config struct {
	// SecretKey is the account's secret (sk_…) or restricted (rk_…) key.
	// It is sent to Stripe and nowhere else; it never appears in errors.
	SecretKey string
	// APIBase is the API's base URL, without /v1; "" is Stripe's
	// (https://api.stripe.com). Tests point it at stripe-mock.
	APIBase string
	// HTTPClient makes the requests; nil is a client with an 80 s timeout
	// (the SDK's default). Its Transport should be (or wrap) net/http's.
	HTTPClient *http.Client

	// fastRetries turns off the SDK's back-off between network retries
	// (tests only).
	fastRetries bool
}

// Provider is the Stripe card provider. It implements payment.CardProvider
// and payment.Refunder. It is safe for concurrent use.
type Provider struct {
	sc       *sdk.Client
	redactor *strings.Replacer
}

var (
	_ payment.CardProvider = (*Provider)(nil)
	_ payment.Refunder     = (*Provider)(nil)
)

// httpTimeout is the default client's timeout, the SDK's own default.
const httpTimeout = 80 * time.Second

// New returns a provider for cfg.
func New(cfg Config) (*Provider, error) {
	key := strings.TrimSpace(cfg.SecretKey)
	if key == "" {
		return nil, errors.New("stripe: no secret key configured")
	}
	if !strings.HasPrefix(key, "sk_") && !strings.HasPrefix(key, "rk_") {
		return nil, errors.New("stripe: the secret key must be a secret (sk_…) or restricted (rk_…) key")
	}
	bc := &sdk.BackendConfig{
		// Errors are returned to the caller, who logs them once; the SDK's
		// own logger would print them a second time, on stderr.
		LeveledLogger:     &sdk.LeveledLogger{Level: sdk.LevelNull},
		MaxNetworkRetries: sdk.Int64(sdk.DefaultMaxNetworkRetries),
		EnableTelemetry:   sdk.Bool(false),
	}
	if cfg.APIBase != "" {
		u, err := url.Parse(cfg.APIBase)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, fmt.Errorf("stripe: APIBase %q is not an http(s) URL", cfg.APIBase)
		}
		bc.URL = sdk.String(strings.TrimSuffix(strings.TrimSuffix(u.String(), "/"), "/v1"))
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: httpTimeout}
	}
	tracked := *hc
	tracked.Transport = &trackingTransport{base: hc.Transport}
	bc.HTTPClient = &tracked

	backends := sdk.NewBackendsWithConfig(bc)
	if cfg.fastRetries {
		if b, ok := backends.API.(*sdk.BackendImplementation); ok {
			b.SetNetworkRetriesSleep(false)
		}
	}
	basic := base64.StdEncoding.EncodeToString([]byte(key + ":"))
	return &Provider{
		sc:       sdk.NewClient(key, sdk.WithBackends(backends)),
		redactor: strings.NewReplacer(key, "[redacted]", basic, "[redacted]"),
	}, nil
}

// Name implements payment.CardProvider.
func (p *Provider) Name() string { return "stripe" }

// Charge implements payment.CardProvider: it creates and confirms a
// PaymentIntent for req.Amount with req.PaymentMethod, with req.Key as the
// idempotency key.
//
// Keyed cards, Apple Pay and Google Pay all arrive as card PaymentMethods
// (pm_…, from the app's Stripe SDK; the wallet shows in Card.Wallet).
// Tap to Pay on iPhone is different: its card_present PaymentMethod is
// collected and the PaymentIntent confirmed by the Stripe Terminal SDK on
// the device (see ConnectionToken), which is not this call's flow.
func (p *Provider) Charge(ctx context.Context, req payment.ChargeRequest) (payment.ChargeResult, error) {
	if err := needKey(req.Key); err != nil {
		return payment.ChargeResult{}, err
	}
	captureMethod := sdk.PaymentIntentCaptureMethodAutomatic
	if req.ManualCapture {
		captureMethod = sdk.PaymentIntentCaptureMethodManual
	}
	params := &sdk.PaymentIntentCreateParams{
		Amount:        sdk.Int64(req.Amount.Amount),
		Currency:      sdk.String(strings.ToLower(req.Amount.Currency)),
		PaymentMethod: sdk.String(req.PaymentMethod),
		// "card" covers keyed cards, Apple Pay and Google Pay (a wallet
		// arrives as a card PaymentMethod); "card_present" Terminal and Tap
		// to Pay.
		PaymentMethodTypes: sdk.StringSlice([]string{"card", "card_present"}),
		Confirm:            sdk.Bool(true),
		CaptureMethod:      sdk.String(string(captureMethod)),
	}
	if req.Terminal {
		// Tap to Pay: the device's Terminal SDK collects the card and
		// confirms this PaymentIntent with its client secret.
		params.PaymentMethod, params.Confirm = nil, nil
		params.PaymentMethodTypes = sdk.StringSlice([]string{"card_present"})
	}
	if req.Description != "" {
		params.Description = sdk.String(req.Description)
	}
	for k, v := range req.Metadata {
		params.AddMetadata(k, v)
	}
	params.AddExpand("latest_charge")
	params.AddExpand("payment_method")
	params.SetIdempotencyKey(req.Key)

	ctx, tr := track(ctx)
	pi, err := p.sc.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		return p.chargeError("create payment intent", err, tr)
	}
	if req.Terminal && pi.Status == sdk.PaymentIntentStatusRequiresPaymentMethod && pi.LastPaymentError == nil {
		// Waiting for the device, as asked.
		return payment.ChargeResult{Ref: pi.ID, Status: payment.StatusRequiresAction, ClientSecret: pi.ClientSecret}, nil
	}
	return p.chargeResult(pi)
}

// Capture implements payment.CardProvider: it captures amount of the
// authorised PaymentIntent ref. A zero amount captures all that was
// authorised. amount's currency is the PaymentIntent's; it is not sent.
func (p *Provider) Capture(ctx context.Context, ref string, amount money.Money, key string) (payment.ChargeResult, error) {
	if err := needRefAndKey(ref, key); err != nil {
		return payment.ChargeResult{}, err
	}
	params := &sdk.PaymentIntentCaptureParams{}
	if amount.Amount > 0 {
		params.AmountToCapture = sdk.Int64(amount.Amount)
	}
	params.AddExpand("latest_charge")
	params.AddExpand("payment_method")
	params.SetIdempotencyKey(key)

	ctx, tr := track(ctx)
	pi, err := p.sc.V1PaymentIntents.Capture(ctx, ref, params)
	if err != nil {
		return p.chargeError("capture payment intent", err, tr)
	}
	return p.chargeResult(pi)
}

// Cancel implements payment.CardProvider: it cancels the uncaptured
// PaymentIntent ref, releasing any hold on the card.
func (p *Provider) Cancel(ctx context.Context, ref, key string) (payment.ChargeResult, error) {
	if err := needRefAndKey(ref, key); err != nil {
		return payment.ChargeResult{}, err
	}
	params := &sdk.PaymentIntentCancelParams{}
	params.SetIdempotencyKey(key)

	ctx, tr := track(ctx)
	pi, err := p.sc.V1PaymentIntents.Cancel(ctx, ref, params)
	if err != nil {
		return p.chargeError("cancel payment intent", err, tr)
	}
	return p.chargeResult(pi)
}

// Refund implements payment.Refunder: it refunds amount of the
// PaymentIntent ref. A request Stripe refuses outright (already refunded,
// more than was captured, no such payment) is a failed refund, not an
// error: nothing went back.
func (p *Provider) Refund(ctx context.Context, ref string, amount money.Money, key string) (payment.RefundResult, error) {
	if err := needRefAndKey(ref, key); err != nil {
		return payment.RefundResult{}, err
	}
	params := &sdk.RefundCreateParams{PaymentIntent: sdk.String(ref)}
	if amount.Amount > 0 {
		params.Amount = sdk.Int64(amount.Amount)
	}
	// Our refund's ID (its key), so the webhook that finishes a pending
	// refund finds it.
	params.AddMetadata("fynlo_refund_id", key)
	params.SetIdempotencyKey(key)

	ctx, tr := track(ctx)
	re, err := p.sc.V1Refunds.Create(ctx, params)
	if err != nil {
		err = p.classify("create refund", err, tr)
		var cause *stripeError
		if apperr.Is(err, apperr.Invalid) && errors.As(err, &cause) {
			return payment.RefundResult{Status: payment.RefundFailed,
				Failure: &payment.Failure{Code: firstOf(cause.code, cause.typ), Message: firstOf(cause.msg, "Stripe refused the refund")}}, nil
		}
		return payment.RefundResult{}, err
	}
	return refundResultOf(re.ID, string(re.Status), string(re.FailureReason)), nil
}

// refundResultOf maps a Stripe refund's status to the payment domain's.
func refundResultOf(id, status, failureReason string) payment.RefundResult {
	res := payment.RefundResult{Ref: id, Status: refundStatus(status)}
	if res.Status == payment.RefundFailed {
		res.Failure = &payment.Failure{Code: firstOf(failureReason, "refund_"+status),
			Message: "Stripe could not refund the payment: " + firstOf(failureReason, status)}
	}
	return res
}

func refundStatus(status string) string {
	switch sdk.RefundStatus(status) {
	case sdk.RefundStatusSucceeded:
		return payment.RefundSucceeded
	case sdk.RefundStatusFailed, sdk.RefundStatusCanceled:
		return payment.RefundFailed
	default: // pending, requires_action, anything new
		return payment.RefundPending
	}
}

// ConnectionToken creates a Stripe Terminal connection token, which the iOS
// app's Terminal SDK needs to take Tap to Pay on iPhone payments. The token
// is a secret for that one app: hand it over, don't log it.
func (p *Provider) ConnectionToken(ctx context.Context) (string, error) {
	ctx, tr := track(ctx)
	tok, err := p.sc.V1TerminalConnectionTokens.Create(ctx, &sdk.TerminalConnectionTokenCreateParams{})
	if err != nil {
		return "", p.classify("create terminal connection token", err, tr)
	}
	if tok.Secret == "" {
		return "", errors.New("stripe: create terminal connection token: empty secret in answer")
	}
	return tok.Secret, nil
}

// chargeResult maps a PaymentIntent to the payment domain's answer. A
// PaymentIntent still being processed is not an answer: it comes back with
// an error (so the payment stays pending) and its ref.
func (p *Provider) chargeResult(pi *sdk.PaymentIntent) (payment.ChargeResult, error) {
	res := payment.ChargeResult{Ref: pi.ID, Card: cardOf(pi)}
	res.Status, res.Failure = statusOf(string(pi.Status), pi.LastPaymentError)
	if res.Failure != nil {
		res.Failure.Message = p.redact(res.Failure.Message)
	}
	switch res.Status {
	case payment.StatusRequiresAction:
		res.ClientSecret = pi.ClientSecret
	case payment.StatusPending:
		return res, fmt.Errorf("stripe: payment intent %s is %s; its outcome is not known yet", pi.ID, pi.Status)
	case payment.StatusFailed:
		if res.Failure == nil {
			res.Failure = &payment.Failure{Code: string(pi.Status), Message: "the payment needs another payment method"}
		}
	}
	return res, nil
}

// statusOf maps a PaymentIntent's status, and its last payment error, to a
// payment status. requires_payment_method means a failed attempt when there
// is a last payment error, and a payment not yet attempted (pending)
// otherwise; requires_confirmation and processing are pending too.
func statusOf(status string, lastErr *sdk.Error) (payment.Status, *payment.Failure) {
	switch sdk.PaymentIntentStatus(status) {
	case sdk.PaymentIntentStatusSucceeded:
		return payment.StatusCaptured, nil
	case sdk.PaymentIntentStatusRequiresCapture:
		return payment.StatusAuthorized, nil
	case sdk.PaymentIntentStatusRequiresAction:
		return payment.StatusRequiresAction, nil
	case sdk.PaymentIntentStatusCanceled:
		return payment.StatusCancelled, nil
	case sdk.PaymentIntentStatusRequiresPaymentMethod:
		if lastErr != nil {
			return payment.StatusFailed, failureOf(lastErr)
		}
		return payment.StatusPending, nil
	default:
		return payment.StatusPending, nil
	}
}

// failureOf says why a Stripe error failed a payment: the decline code when
// the issuer gave one (insufficient_funds), else the error code
// (card_declined, expired_card), else the error type.
func failureOf(e *sdk.Error) *payment.Failure {
	return &payment.Failure{
		Code:    firstOf(string(e.DeclineCode), string(e.Code), string(e.Type), "payment_failed"),
		Message: firstOf(e.Msg, "the payment failed"),
	}
}

// cardOf reads the card from the latest charge, or else from the payment
// method, when Stripe sent them expanded.
func cardOf(pi *sdk.PaymentIntent) *payment.Card {
	if ch := pi.LatestCharge; ch != nil && ch.PaymentMethodDetails != nil {
		d := ch.PaymentMethodDetails
		if c := d.Card; c != nil && (c.Brand != "" || c.Last4 != "") {
			card := &payment.Card{Brand: string(c.Brand), Last4: c.Last4}
			if c.Wallet != nil {
				card.Wallet = string(c.Wallet.Type)
			}
			return card
		}
		if c := d.CardPresent; c != nil && (c.Brand != "" || c.Last4 != "") {
			card := &payment.Card{Brand: string(c.Brand), Last4: c.Last4}
			if c.Wallet != nil {
				card.Wallet = string(c.Wallet.Type)
			}
			return card
		}
	}
	if pm := pi.PaymentMethod; pm != nil {
		if c := pm.Card; c != nil && (c.Brand != "" || c.Last4 != "") {
			card := &payment.Card{Brand: string(c.Brand), Last4: c.Last4}
			if c.Wallet != nil {
				card.Wallet = string(c.Wallet.Type)
			}
			return card
		}
		if c := pm.CardPresent; c != nil && (c.Brand != "" || c.Last4 != "") {
			card := &payment.Card{Brand: c.Brand, Last4: c.Last4}
			if c.Wallet != nil {
				card.Wallet = string(c.Wallet.Type)
			}
			return card
		}
	}
	return nil
}

// chargeError turns a failed PaymentIntent call into the answer: a card
// error is a failed payment, anything else an error classified by classify.
func (p *Provider) chargeError(op string, err error, tr *attempts) (payment.ChargeResult, error) {
	var se *sdk.Error
	if errors.As(err, &se) && se.Type == sdk.ErrorTypeCard {
		res := payment.ChargeResult{Status: payment.StatusFailed, Failure: failureOf(se)}
		res.Failure.Message = p.redact(res.Failure.Message)
		if se.PaymentIntent != nil {
			res.Ref = se.PaymentIntent.ID
		}
		return res, nil
	}
	return payment.ChargeResult{}, p.classify(op, err, tr)
}

// classify turns an error of the SDK into the one the caller gets:
//
//   - Stripe refused the request as invalid (400, 404): apperr Invalid;
//   - every attempt either never reached Stripe (DNS, connection refused,
//     TLS handshake) or was turned away before Stripe did anything (401,
//     403, 429): payment.ErrProviderDown;
//   - anything else may have been acted on: a plain error.
//
// The secret key never appears in the result.
func (p *Provider) classify(op string, err error, tr *attempts) error {
	var se *sdk.Error
	if errors.As(err, &se) {
		cause := &stripeError{op: op, status: se.HTTPStatusCode, typ: string(se.Type), code: string(se.Code),
			msg: p.redact(se.Msg), param: se.Param, requestID: se.RequestID}
		switch {
		case turnedAway(se.HTTPStatusCode) && tr.noneActedOn():
			return fmt.Errorf("%w: %w", payment.ErrProviderDown, cause)
		case se.Type == sdk.ErrorTypeInvalidRequest && (se.HTTPStatusCode == http.StatusBadRequest || se.HTTPStatusCode == http.StatusNotFound):
			detail := "Stripe refused the request: " + firstOf(cause.msg, cause.code, "invalid request")
			if se.Param != "" {
				detail += " (" + se.Param + ")"
			}
			return &apperr.Error{Kind: apperr.Invalid, Code: "invalid_request", Detail: detail, Err: cause}
		default:
			return cause
		}
	}
	if tr.noneActedOn() {
		return fmt.Errorf("%w: stripe: %s: %s", payment.ErrProviderDown, op, p.redact(err.Error()))
	}
	return fmt.Errorf("stripe: %s: outcome unknown: %s", op, p.redact(err.Error()))
}

// turnedAway reports whether an HTTP status means Stripe refused the
// request before acting on it.
func turnedAway(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests
}

// stripeError is an error answered by Stripe, without the SDK's types and
// without anything secret: the request ID is there for support.
type stripeError struct {
	op        string
	status    int
	typ       string
	code      string
	msg       string
	param     string
	requestID string
}

func (e *stripeError) Error() string {
	var b strings.Builder
	b.WriteString("stripe: " + e.op + ": " + strconv.Itoa(e.status))
	for _, kv := range [][2]string{{"type", e.typ}, {"code", e.code}, {"param", e.param}, {"request", e.requestID}} {
		if kv[1] != "" {
			b.WriteString(" " + kv[0] + "=" + kv[1])
		}
	}
	if e.msg != "" {
		b.WriteString(": " + e.msg)
	}
	return b.String()
}

func (p *Provider) redact(s string) string { return p.redactor.Replace(s) }

func needKey(key string) error {
	if strings.TrimSpace(key) == "" {
		return apperr.New(apperr.Invalid, "missing_idempotency_key", "a card provider call needs an idempotency key")
	}
	return nil
}

func needRefAndKey(ref, key string) error {
	if strings.TrimSpace(ref) == "" {
		return apperr.Field("provider_ref", "is required")
	}
	return needKey(key)
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
