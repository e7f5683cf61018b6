// Package truelayer is the open banking provider backed by TrueLayer's
// Payments API v3: single payments into the restaurant's TrueLayer merchant
// account through TrueLayer's hosted payment page, their cancellation and
// refunds, and verification of TrueLayer's signed webhooks.
//
// It answers in the payment domain's terms (payment.BankPayment,
// payment.RefundResult, apperr kinds) and keeps to the contract the payment
// service relies on:
//
//   - every call that creates or moves something carries the caller's
//     idempotency key and a Tl-Signature over it, so a retry is the same
//     payment, the same refund;
//   - payment.ErrProviderDown (Unavailable) is returned only when it is
//     certain TrueLayer did not act on the request (it was never sent, or it
//     was turned away before anything was done: 401, 403, 429, 503);
//     apperr Invalid when TrueLayer refused it with a problem document;
//     anything else (a timeout after the request went out, another 5xx) is
//     a plain error: the outcome is unknown, and a retry with the same key
//     will tell.
//
// TrueLayer has no expiry on a payment in this flow: the caller enforces
// BankPaymentRequest.ExpiresAt itself, by cancelling the payment when its QR
// code runs out.
package truelayer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/payment"
)

// Environments.
const (
	Sandbox = "sandbox"
	Live    = "live"
)

// The allowed JWKS URLs of TrueLayer's webhook signing keys.
const (
	LiveWebhookJWKS    = "https://webhooks.truelayer.com/.well-known/jwks"
	SandboxWebhookJWKS = "https://webhooks.truelayer-sandbox.com/.well-known/jwks"
)

// Config configures the TrueLayer provider.
type Config struct {
	// ClientID and ClientSecret are the client credentials from TrueLayer's
	// console. The secret is sent to the auth server and nowhere else.
	ClientID     string
	ClientSecret string
	// SigningKeyID is the kid TrueLayer's console shows next to the public
	// key uploaded for request signing.
	SigningKeyID string
	// SigningKeyPEM is the EC P-521 private key that signs requests, PEM
	// ("EC PRIVATE KEY" or PKCS #8 "PRIVATE KEY").
	SigningKeyPEM []byte
	// MerchantAccountID is the TrueLayer merchant account payments go into
	// and refunds come out of.
	MerchantAccountID string
	// Environment is "sandbox" (Mode "test") or "live" (Mode "live").
	Environment string

	// AuthBase, APIBase and HPPBase override the environment's auth server
	// (https://auth.truelayer[-sandbox].com), API
	// (https://api.truelayer[-sandbox].com) and hosted payment page
	// (https://payment.truelayer[-sandbox].com). Tests point them at a fake.
	AuthBase string
	APIBase  string
	HPPBase  string
	// HTTPClient makes the requests, webhook key fetches included; nil is a
	// client with a 30 s timeout.
	HTTPClient *http.Client

	// WebhookJWKS lists the JWKS URLs a webhook's signature may name (its
	// jku); nil is the environment's own URL only (LiveWebhookJWKS or
	// SandboxWebhookJWKS), because TrueLayer signs every client's webhooks
	// with the same keys: a sandbox webhook any TrueLayer client can cause
	// must not be accepted by a live server.
	WebhookJWKS []string
	// JWKSCacheTTL is how long fetched webhook keys are used before they are
	// fetched again; 0 is 15 minutes.
	JWKSCacheTTL time.Duration
	// Now is the clock webhook timestamps are checked against; nil is
	// time.Now.
	Now func() time.Time
}

// Provider is the TrueLayer open banking provider. It implements
// payment.BankProvider. It is safe for concurrent use.
type Provider struct {
	clientID, clientSecret string
	kid                    string
	key                    *ecdsa.PrivateKey
	merchantAccountID      string
	mode                   string
	authBase, apiBase      string
	hppBase                string
	hc                     *http.Client
	now                    func() time.Time
	redactor               *strings.Replacer

	jkuAllowed map[string]bool
	jwksTTL    time.Duration

	tokenMu     sync.Mutex
	token       string
	tokenExpiry time.Time

	jwksMu sync.Mutex
	jwks   map[string]*keySet
}

var _ payment.BankProvider = (*Provider)(nil)

const (
	httpTimeout = 30 * time.Second
	defaultTTL  = 15 * time.Minute
)

// New returns a provider for cfg, or an error naming what is missing or
// wrong in it (never its secrets).
func New(cfg Config) (*Provider, error) {
	p := &Provider{
		clientID:          strings.TrimSpace(cfg.ClientID),
		clientSecret:      strings.TrimSpace(cfg.ClientSecret),
		kid:               strings.TrimSpace(cfg.SigningKeyID),
		merchantAccountID: strings.TrimSpace(cfg.MerchantAccountID),
		hc:                cfg.HTTPClient,
		now:               cfg.Now,
		jwksTTL:           cfg.JWKSCacheTTL,
		jwks:              map[string]*keySet{},
		jkuAllowed:        map[string]bool{},
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"ClientID", p.clientID}, {"ClientSecret", p.clientSecret},
		{"SigningKeyID", p.kid}, {"MerchantAccountID", p.merchantAccountID}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("truelayer: no %s configured", strings.Join(missing, ", "))
	}
	key, err := parseSigningKey(cfg.SigningKeyPEM)
	if err != nil {
		return nil, err
	}
	p.key = key

	var defAuth, defAPI, defHPP, defJWKS string
	switch cfg.Environment {
	case Sandbox:
		p.mode = "test"
		defAuth, defAPI, defHPP, defJWKS = "https://auth.truelayer-sandbox.com", "https://api.truelayer-sandbox.com",
			"https://payment.truelayer-sandbox.com", SandboxWebhookJWKS
	case Live:
		p.mode = "live"
		defAuth, defAPI, defHPP, defJWKS = "https://auth.truelayer.com", "https://api.truelayer.com",
			"https://payment.truelayer.com", LiveWebhookJWKS
	default:
		return nil, fmt.Errorf("truelayer: Environment %q is neither %q nor %q", cfg.Environment, Sandbox, Live)
	}
	for _, b := range []struct {
		name string
		dst  *string
		v    string
	}{{"AuthBase", &p.authBase, firstOf(cfg.AuthBase, defAuth)}, {"APIBase", &p.apiBase, firstOf(cfg.APIBase, defAPI)},
		{"HPPBase", &p.hppBase, firstOf(cfg.HPPBase, defHPP)}} {
		u, err := url.Parse(b.v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			return nil, fmt.Errorf("truelayer: %s %q is not an http(s) URL", b.name, b.v)
		}
		*b.dst = strings.TrimSuffix(u.String(), "/")
	}
	jkus := cfg.WebhookJWKS
	if jkus == nil {
		jkus = []string{defJWKS}
	}
	for _, j := range jkus {
		u, err := url.Parse(j)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("truelayer: webhook JWKS URL %q is not an http(s) URL", j)
		}
		p.jkuAllowed[j] = true
	}
	if p.hc == nil {
		p.hc = &http.Client{Timeout: httpTimeout}
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.jwksTTL <= 0 {
		p.jwksTTL = defaultTTL
	}
	p.redactor = strings.NewReplacer(p.clientSecret, "[redacted]")
	return p, nil
}

// parseSigningKey reads an EC P-521 private key from PEM.
func parseSigningKey(pemBytes []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("truelayer: SigningKeyPEM holds no PEM block")
	}
	var key *ecdsa.PrivateKey
	switch block.Type {
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("truelayer: SigningKeyPEM is not a valid EC private key")
		}
		key = k
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("truelayer: SigningKeyPEM is not a valid PKCS #8 private key")
		}
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, errors.New("truelayer: SigningKeyPEM is not an EC private key")
		}
		key = ek
	default:
		return nil, fmt.Errorf("truelayer: SigningKeyPEM is a %q, not an EC private key", block.Type)
	}
	if key.Curve != elliptic.P521() {
		return nil, errors.New("truelayer: SigningKeyPEM must be a P-521 key (ES512)")
	}
	return key, nil
}

// Name implements payment.BankProvider.
func (p *Provider) Name() string { return "truelayer" }

// Mode implements payment.BankProvider: "test" in the sandbox, else "live".
func (p *Provider) Mode() string { return p.mode }

// The request and answer bodies of the payments API, as far as we use them.
type (
	createPaymentBody struct {
		AmountInMinor int64             `json:"amount_in_minor"`
		Currency      string            `json:"currency"`
		PaymentMethod paymentMethod     `json:"payment_method"`
		User          user              `json:"user"`
		Metadata      map[string]string `json:"metadata,omitempty"`
	}
	paymentMethod struct {
		Type              string            `json:"type"`
		ProviderSelection providerSelection `json:"provider_selection"`
		Beneficiary       beneficiary       `json:"beneficiary"`
	}
	providerSelection struct {
		Type string `json:"type"`
	}
	beneficiary struct {
		Type              string `json:"type"`
		MerchantAccountID string `json:"merchant_account_id"`
		Reference         string `json:"reference"`
	}
	user struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	createdPayment struct {
		ID            string `json:"id"`
		ResourceToken string `json:"resource_token"`
		Status        string `json:"status"`
	}
	paymentResource struct {
		ID            string `json:"id"`
		Status        string `json:"status"`
		FailureReason string `json:"failure_reason"`
		FailureStage  string `json:"failure_stage"`
	}
	refundBody struct {
		AmountInMinor int64  `json:"amount_in_minor"`
		Reference     string `json:"reference"`
	}
	createdRefund struct {
		ID string `json:"id"`
	}
)

// guestName is the name sent as the paying user's: the POS does not know
// the guest, and TrueLayer's hosted page asks the bank, not us, who pays.
const guestName = "Restaurant guest"

// CreateBankPayment implements payment.BankProvider: it creates a payment
// of req.Amount into the merchant account, the guest choosing their bank on
// the hosted payment page, and returns the page's link.
//
// The user sent is a placeholder: name "Restaurant guest" and an ID derived
// from req.Key (a UUID-shaped SHA-256 of it), so a retry sends the same
// body and TrueLayer links no two guests. req.ExpiresAt is not sent:
// TrueLayer has no expiry for such a payment, and the caller cancels it.
func (p *Provider) CreateBankPayment(ctx context.Context, req payment.BankPaymentRequest) (payment.BankPayment, error) {
	var f apperr.Fields
	if strings.TrimSpace(req.Key) == "" {
		f.Add("key", "is required: the idempotency key")
	}
	if req.Amount.Amount <= 0 {
		f.Add("amount.amount", "must be more than zero")
	}
	if !validCurrency(req.Amount.Currency) {
		f.Add("amount.currency", "must be an ISO 4217 code")
	}
	if ref := req.Reference; strings.TrimSpace(ref) == "" || utf8.RuneCountInString(ref) > 18 {
		f.Add("reference", "must be 1 to 18 characters")
	}
	if u, err := url.Parse(req.ReturnURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		f.Add("return_url", "must be an http(s) URL")
	}
	if err := f.Err(); err != nil {
		return payment.BankPayment{}, err
	}
	body := createPaymentBody{
		AmountInMinor: req.Amount.Amount,
		Currency:      req.Amount.Currency,
		PaymentMethod: paymentMethod{
			Type:              "bank_transfer",
			ProviderSelection: providerSelection{Type: "user_selected"},
			Beneficiary: beneficiary{Type: "merchant_account", MerchantAccountID: p.merchantAccountID,
				Reference: req.Reference},
		},
		User:     user{ID: userID(req.Key), Name: guestName},
		Metadata: req.Metadata,
	}
	var out createdPayment
	if err := p.call(ctx, http.MethodPost, "/v3/payments", body, req.Key, &out); err != nil {
		return payment.BankPayment{}, err
	}
	if out.ID == "" || out.ResourceToken == "" {
		return payment.BankPayment{}, errors.New("truelayer: create payment: the answer has no id or resource_token")
	}
	status, err := statusOf(out.Status)
	if err != nil {
		return payment.BankPayment{}, fmt.Errorf("truelayer: create payment %s: %w", out.ID, err)
	}
	q := url.Values{"payment_id": {out.ID}, "resource_token": {out.ResourceToken}, "return_uri": {req.ReturnURL}}
	return payment.BankPayment{Ref: out.ID, Status: status, Link: p.hppBase + "/checkout?" + q.Encode()}, nil
}

// BankPayment implements payment.BankProvider: where the payment ref stands
// at TrueLayer. The answer has no Link: only a create gives one. Errors:
// NotFound when TrueLayer knows no such payment of this client.
func (p *Provider) BankPayment(ctx context.Context, ref string) (payment.BankPayment, error) {
	if err := needRef(ref); err != nil {
		return payment.BankPayment{}, err
	}
	var out paymentResource
	if err := p.call(ctx, http.MethodGet, "/v3/payments/"+url.PathEscape(ref), nil, "", &out); err != nil {
		return payment.BankPayment{}, err
	}
	return bankPaymentOf(out)
}

// CancelBankPayment implements payment.BankProvider: it asks TrueLayer to
// cancel the payment ref, then answers with the payment as it stands. A
// cancelled payment is BankFailed with Failure.Code "canceled", in
// TrueLayer's words; one the guest approved before the cancel landed is
// answered as it is (authorized, executed...), without an error.
func (p *Provider) CancelBankPayment(ctx context.Context, ref, key string) (payment.BankPayment, error) {
	if err := needRefAndKey(ref, key); err != nil {
		return payment.BankPayment{}, err
	}
	err := p.call(ctx, http.MethodPost, "/v3/payments/"+url.PathEscape(ref)+"/actions/cancel", struct{}{}, key, nil)
	// TrueLayer refuses (4xx) to cancel a payment that has gone past the
	// point of no return: the payment itself says where it went.
	if err != nil && !apperr.Is(err, apperr.Invalid) {
		return payment.BankPayment{}, err
	}
	return p.BankPayment(ctx, ref)
}

// RefundBankPayment implements payment.BankProvider: it refunds amount of
// the payment ref to the account that paid. TrueLayer answers with the
// refund's ID only and says later (refund_executed, refund_failed) how it
// ended, so a refund taken is RefundPending. A refund TrueLayer refuses
// outright (more than is left, a payment not settled) is RefundFailed, not
// an error: nothing went back. The reference on the guest's statement is
// "REFUND " and the end of key, so support can find it.
func (p *Provider) RefundBankPayment(ctx context.Context, ref string, amount money.Money, key string) (payment.RefundResult, error) {
	if err := needRefAndKey(ref, key); err != nil {
		return payment.RefundResult{}, err
	}
	if amount.Amount <= 0 {
		return payment.RefundResult{}, apperr.Field("amount.amount", "must be more than zero: TrueLayer refunds a stated amount")
	}
	var out createdRefund
	err := p.call(ctx, http.MethodPost, "/v3/payments/"+url.PathEscape(ref)+"/refunds",
		refundBody{AmountInMinor: amount.Amount, Reference: refundReference(key)}, key, &out)
	var pe *problemError
	if apperr.Is(err, apperr.Invalid) && errors.As(err, &pe) && pe.refusal() {
		return payment.RefundResult{Status: payment.RefundFailed,
			Failure: &payment.Failure{Code: pe.code(), Message: firstOf(pe.Detail, pe.Title, "TrueLayer refused the refund")}}, nil
	}
	if err != nil {
		return payment.RefundResult{}, err
	}
	if out.ID == "" {
		return payment.RefundResult{}, errors.New("truelayer: create refund: the answer has no id")
	}
	return payment.RefundResult{Ref: out.ID, Status: payment.RefundPending}, nil
}

// bankPaymentOf maps a payment resource to the domain's view of it.
func bankPaymentOf(r paymentResource) (payment.BankPayment, error) {
	status, err := statusOf(r.Status)
	if err != nil {
		return payment.BankPayment{}, fmt.Errorf("truelayer: payment %s: %w", r.ID, err)
	}
	bp := payment.BankPayment{Ref: r.ID, Status: status}
	if status == payment.BankFailed {
		bp.Failure = failureOf(r.FailureReason, r.FailureStage)
	}
	return bp, nil
}

// statusOf maps TrueLayer's payment status to ours. An unknown status is
// an error: guessing could mark an unpaid check paid.
func statusOf(s string) (payment.BankStatus, error) {
	switch payment.BankStatus(s) {
	case payment.BankAuthorizationRequired, payment.BankAuthorizing, payment.BankAuthorized,
		payment.BankExecuted, payment.BankSettled, payment.BankFailed:
		return payment.BankStatus(s), nil
	}
	return "", fmt.Errorf("unknown payment status %q", s)
}

// failureOf says why a payment failed, in TrueLayer's failure_reason
// (canceled, expired, authorization_failed, provider_rejected, ...): the
// caller decides what a cancel or an expiry means to it.
func failureOf(reason, stage string) *payment.Failure {
	reason = firstOf(reason, "unknown")
	msg := "the payment failed: " + reason
	if stage != "" {
		msg += " (while " + stage + ")"
	}
	return &payment.Failure{Code: reason, Message: msg}
}

// userID derives the placeholder user's ID from the idempotency key, in a
// UUID's shape (version 4, variant bits set), so every retry sends it again.
func userID(key string) string {
	sum := sha256.Sum256([]byte("fynlo-truelayer-user:" + key))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// refundReference is the refund's reference on the guest's statement: at
// most 18 characters of the Faster Payments set.
func refundReference(key string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(key) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	s := b.String()
	if len(s) > 11 {
		s = s[len(s)-11:]
	}
	return "REFUND " + s
}

func validCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

func needRef(ref string) error {
	if strings.TrimSpace(ref) == "" {
		return apperr.Field("provider_ref", "is required")
	}
	return nil
}

func needRefAndKey(ref, key string) error {
	if err := needRef(ref); err != nil {
		return err
	}
	if strings.TrimSpace(key) == "" {
		return apperr.New(apperr.Invalid, "missing_idempotency_key", "a bank provider call needs an idempotency key")
	}
	return nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
