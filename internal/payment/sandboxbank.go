package payment

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/money"
)

// SandboxBankName is how payments record the built-in sandbox bank.
const SandboxBankName = "sandbox_bank"

// SandboxBank is the bank of a server with no bank provider connected: the
// demo, a laptop on a café's Wi-Fi. Its QR code opens a page this server
// serves (/sandbox-bank/{ref}) where one approves or declines, and its
// status changes come back as signed webhooks through the same path a
// real provider's take. No money moves; payments say provider
// "sandbox_bank" and mode "test".
//
// It keeps its payments in memory, as a test bank would: a payment still
// waiting when the server restarts is forgotten by the bank, and the sweep
// finds it failed when it asks.
type SandboxBank struct {
	secret  []byte
	now     func() time.Time
	deliver func(ctx context.Context, orgID string, req WebhookRequest) error

	mu       sync.Mutex
	payments map[string]*SandboxPayment // by ref
	byKey    map[string]string          // idempotency key → ref
	refunds  map[string]RefundResult    // idempotency key → refund
	events   int
	sent     []SentWebhook // the latest, for tests and the curious
}

// SentWebhook is a webhook the sandbox bank delivered.
type SentWebhook struct {
	OrgID string
	Req   WebhookRequest
}

// SandboxPayment is a payment at the sandbox bank, as its page shows it.
type SandboxPayment struct {
	Ref       string
	OrgID     string
	PaymentID string
	Payee     string
	Reference string
	Amount    money.Money
	Status    BankStatus
	ReturnURL string
	ExpiresAt time.Time
}

// NewSandboxBank returns a sandbox bank with a fresh signing key.
func NewSandboxBank(now func() time.Time) *SandboxBank {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &SandboxBank{secret: key, now: now, payments: map[string]*SandboxPayment{}, byKey: map[string]string{}, refunds: map[string]RefundResult{}}
}

// Name implements BankProvider.
func (*SandboxBank) Name() string { return SandboxBankName }

// Mode implements BankProvider.
func (*SandboxBank) Mode() string { return "test" }

// CreateBankPayment implements BankProvider.
func (b *SandboxBank) CreateBankPayment(_ context.Context, req BankPaymentRequest) (BankPayment, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ref, ok := b.byKey[req.Key]; ok {
		return b.view(b.payments[ref], req.ServerURL), nil
	}
	if req.Amount.Amount <= 0 {
		return BankPayment{}, apperr.Field("amount", "must be more than zero")
	}
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	p := &SandboxPayment{Ref: "sbx_" + hex.EncodeToString(raw), OrgID: req.Metadata["fynlo_organization_id"], PaymentID: req.Metadata["fynlo_payment_id"],
		Payee: req.Payee, Reference: req.Reference, Amount: req.Amount, Status: BankAuthorizationRequired, ReturnURL: req.ReturnURL, ExpiresAt: req.ExpiresAt}
	b.payments[p.Ref], b.byKey[req.Key] = p, p.Ref
	return b.view(p, req.ServerURL), nil
}

func (b *SandboxBank) view(p *SandboxPayment, serverURL string) BankPayment {
	out := BankPayment{Ref: p.Ref, Status: p.Status}
	if serverURL != "" {
		out.Link = strings.TrimRight(serverURL, "/") + "/sandbox-bank/" + p.Ref
	}
	if p.Status == BankFailed {
		out.Failure = &Failure{Code: "authorization_failed", Message: "the guest declined at the sandbox bank"}
	}
	return out
}

// BankPayment implements BankProvider.
func (b *SandboxBank) BankPayment(_ context.Context, ref string) (BankPayment, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.payments[ref]
	if !ok {
		// Forgotten in a restart: as far as this bank knows, it failed.
		return BankPayment{Ref: ref, Status: BankFailed, Failure: &Failure{Code: "unknown_payment", Message: "the sandbox bank has no such payment (it forgets them when the server restarts)"}}, nil
	}
	return b.view(p, ""), nil
}

// CancelBankPayment implements BankProvider: like a real provider it can
// cancel only a payment the guest has not started to approve.
func (b *SandboxBank) CancelBankPayment(ctx context.Context, ref, _ string) (BankPayment, error) {
	b.mu.Lock()
	p, ok := b.payments[ref]
	if !ok {
		b.mu.Unlock()
		return BankPayment{}, apperr.NotFoundf("sandbox bank payment")
	}
	changed := p.Status == BankAuthorizationRequired
	if changed {
		p.Status = BankFailed
	}
	out := b.view(p, "")
	b.mu.Unlock()
	if changed {
		out.Failure = &Failure{Code: "canceled", Message: "cancelled by the merchant"}
		b.send(ctx, p, "payment_failed", BankFailed, out.Failure)
	}
	return out, nil
}

// RefundBankPayment implements BankProvider: the sandbox bank refunds at
// once.
func (b *SandboxBank) RefundBankPayment(_ context.Context, ref string, amount money.Money, key string) (RefundResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.refunds[key]; ok {
		return r, nil
	}
	p, ok := b.payments[ref]
	if !ok || !p.Status.Paid() {
		return RefundResult{Status: RefundFailed, Failure: &Failure{Code: "not_refundable", Message: "the sandbox bank has no executed payment " + ref}}, nil
	}
	if amount.Amount <= 0 || amount.Amount > p.Amount.Amount {
		return RefundResult{}, apperr.Field("amount", "is more than the payment")
	}
	sum := sha256.Sum256([]byte(key))
	r := RefundResult{Ref: "sbx_rf_" + hex.EncodeToString(sum[:12]), Status: RefundSucceeded}
	b.refunds[key] = r
	return r, nil
}

// Payment returns a payment as its page shows it. Opening the page means
// the guest is deciding: authorization_required becomes authorizing.
func (b *SandboxBank) Payment(ctx context.Context, ref string) (SandboxPayment, error) {
	b.mu.Lock()
	p, ok := b.payments[ref]
	if !ok {
		b.mu.Unlock()
		return SandboxPayment{}, apperr.NotFoundf("payment")
	}
	opened := p.Status == BankAuthorizationRequired
	if opened {
		p.Status = BankAuthorizing
	}
	out := *p
	b.mu.Unlock()
	if opened {
		b.send(ctx, p, "payment_authorizing", BankAuthorizing, nil)
	}
	return out, nil
}

// Decide approves or declines a payment, as the guest would in their
// bank's app. An approval sends authorized, executed and settled; a
// decline sends failed. Errors: NotFound; Conflict already_decided.
func (b *SandboxBank) Decide(ctx context.Context, ref string, approve bool) (SandboxPayment, error) {
	b.mu.Lock()
	p, ok := b.payments[ref]
	if !ok {
		b.mu.Unlock()
		return SandboxPayment{}, apperr.NotFoundf("payment")
	}
	if p.Status != BankAuthorizationRequired && p.Status != BankAuthorizing {
		out := *p
		b.mu.Unlock()
		return out, apperr.New(apperr.Conflict, "already_decided", "this payment is already "+string(p.Status))
	}
	steps := []BankStatus{BankFailed}
	if approve {
		steps = []BankStatus{BankAuthorized, BankExecuted, BankSettled}
	}
	p.Status = steps[len(steps)-1]
	out := *p
	b.mu.Unlock()
	for _, st := range steps {
		var f *Failure
		if st == BankFailed {
			f = &Failure{Code: "authorization_failed", Message: "the guest declined at the sandbox bank"}
		}
		b.send(ctx, p, "payment_"+string(st), st, f)
	}
	return out, nil
}

// sandboxEvent is the sandbox bank's webhook body.
type sandboxEvent struct {
	EventID       string            `json:"event_id"`
	Type          string            `json:"type"`
	PaymentID     string            `json:"payment_id"`
	Status        BankStatus        `json:"status"`
	FailureReason string            `json:"failure_reason,omitempty"`
	FailureText   string            `json:"failure_message,omitempty"`
	Metadata      map[string]string `json:"metadata"`
	Timestamp     time.Time         `json:"timestamp"`
}

// SandboxSignatureHeader carries a sandbox webhook's signature:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.account.body">.
const SandboxSignatureHeader = "Sandbox-Bank-Signature"

// send delivers one status change as a signed webhook. A delivery that
// fails is not retried here: the sweep asks the bank instead.
func (b *SandboxBank) send(ctx context.Context, p *SandboxPayment, typ string, st BankStatus, f *Failure) {
	if b.deliver == nil {
		return
	}
	b.mu.Lock()
	b.events++
	n := b.events
	b.mu.Unlock()
	e := sandboxEvent{EventID: "sbx_evt_" + p.Ref[4:] + "_" + strconv.Itoa(n), Type: typ, PaymentID: p.Ref, Status: st,
		Metadata: map[string]string{"fynlo_payment_id": p.PaymentID}, Timestamp: b.now().UTC()}
	if f != nil {
		e.FailureReason, e.FailureText = f.Code, f.Message
	}
	body, _ := json.Marshal(e)
	sig := b.Sign(p.OrgID, body, b.now())
	req := WebhookRequest{Account: p.OrgID, Method: "POST", Path: "/api/v1/webhooks/sandbox-bank", Body: body,
		Header: func(name string) string {
			if strings.EqualFold(name, SandboxSignatureHeader) {
				return sig
			}
			return ""
		}}
	b.mu.Lock()
	b.sent = append(b.sent[max(len(b.sent)-99, 0):], SentWebhook{OrgID: p.OrgID, Req: req})
	b.mu.Unlock()
	_ = b.deliver(context.WithoutCancel(ctx), p.OrgID, req)
}

// Sent returns the latest webhooks the bank delivered, oldest first.
func (b *SandboxBank) Sent() []SentWebhook {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]SentWebhook(nil), b.sent...)
}

// Sign signs a webhook to an organization as the sandbox bank does: the
// time, the account and the body, so a webhook cannot be replayed later
// or to another organization.
func (b *SandboxBank) Sign(account string, body []byte, at time.Time) string {
	t := strconv.FormatInt(at.Unix(), 10)
	return "t=" + t + ",v1=" + hex.EncodeToString(b.mac(t, account, body))
}

func (b *SandboxBank) mac(t, account string, body []byte) []byte {
	mac := hmac.New(sha256.New, b.secret)
	mac.Write([]byte(t + "." + account + "." + string(body)))
	return mac.Sum(nil)
}

// sandboxTolerance is how old a sandbox webhook may be.
const sandboxTolerance = 5 * time.Minute

// VerifyBankWebhook implements BankProvider.
func (b *SandboxBank) VerifyBankWebhook(_ context.Context, req WebhookRequest) (BankEvent, error) {
	sig := ""
	if req.Header != nil {
		sig = req.Header(SandboxSignatureHeader)
	}
	var t, v1 string
	for part := range strings.SplitSeq(sig, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			t = v
		case "v1":
			v1 = v
		}
	}
	unix, err := strconv.ParseInt(t, 10, 64)
	got, herr := hex.DecodeString(v1)
	if err != nil || herr != nil || len(got) != sha256.Size {
		return BankEvent{}, errBadSignature
	}
	if !hmac.Equal(got, b.mac(t, req.Account, req.Body)) {
		return BankEvent{}, errBadSignature
	}
	if d := b.now().Sub(time.Unix(unix, 0)); d > sandboxTolerance || d < -sandboxTolerance {
		return BankEvent{}, errBadSignature
	}
	var e sandboxEvent
	if err := json.Unmarshal(req.Body, &e); err != nil {
		return BankEvent{}, apperr.Field("body", "is not a sandbox bank event")
	}
	out := BankEvent{ID: e.EventID, Type: e.Type, Ref: e.PaymentID, PaymentID: e.Metadata["fynlo_payment_id"], Status: e.Status, At: e.Timestamp}
	if e.FailureReason != "" {
		out.Failure = &Failure{Code: e.FailureReason, Message: e.FailureText}
	}
	return out, nil
}
