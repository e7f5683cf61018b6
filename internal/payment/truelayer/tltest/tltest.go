// Package tltest is a fake TrueLayer for tests: an httptest server that
// speaks the parts of the Payments API v3 the truelayer package uses, as
// TrueLayer documents them, and sends webhooks signed as TrueLayer signs
// them.
//
// It issues client-credentials tokens (POST /connect/token), checks every
// API request's bearer token and, on every POST, its Tl-Signature against
// the client key it generated (ClientKeyID, ClientKeyPEM) and its
// Idempotency-Key (the same key and body get the first answer again; the
// same key with another body gets 422). It keeps payments in memory: tests
// move them on (Authorize, Execute, Settle, Fail), build their webhooks
// (Event, RefundEvent) signed with the fake's own P-521 key, whose JWKS it
// serves at /.well-known/jwks, and deliver them or hand them to the code
// under test. SetFault makes the API answer 503 or hang.
//
// It does not import the truelayer package (adapters import no other
// adapter); a test configures the provider from its fields:
//
//	tl := tltest.New(t)
//	p, _ := truelayer.New(truelayer.Config{
//		ClientID: tl.ClientID, ClientSecret: tl.ClientSecret,
//		SigningKeyID: tl.ClientKeyID, SigningKeyPEM: tl.ClientKeyPEM,
//		MerchantAccountID: tl.MerchantAccountID, Environment: "sandbox",
//		AuthBase: tl.URL, APIBase: tl.URL, HPPBase: tl.URL,
//		WebhookJWKS: []string{tl.JWKSURL()},
//	})
//	bp, _ := p.CreateBankPayment(ctx, req)
//	tl.Execute(bp.Ref)
//	wh, _ := tl.Event("payment_executed", bp.Ref)
//	ev, _ := p.VerifyBankWebhook(ctx, wh.Request())
package tltest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/fynlo/fynlo/internal/payment"
)

// Fault is how the fake's auth server and API misbehave.
type Fault int

// The faults.
const (
	Up          Fault = iota // answer normally
	Unavailable              // answer 503 to everything, doing nothing
	Hang                     // read the request, then answer nothing until the client gives up
)

// Server is a running fake TrueLayer. Its methods are safe for concurrent
// use; its exported fields are read-only, except WebhookPath, which may
// be set before the first webhook is built.
type Server struct {
	// URL is the base of the auth server, the API and the hosted payment
	// page alike.
	URL string
	// ClientID and ClientSecret are the credentials it accepts.
	ClientID     string
	ClientSecret string
	// ClientKeyID and ClientKeyPEM are the request signing key it trusts,
	// made for this server (P-521, "EC PRIVATE KEY" PEM).
	ClientKeyID  string
	ClientKeyPEM []byte
	// MerchantAccountID is the only merchant account payments may go to.
	MerchantAccountID string
	// WebhookPath is the path webhooks built by Event and RefundEvent are
	// signed for; "/webhooks/truelayer" unless set.
	WebhookPath string

	srv       *httptest.Server
	clientPub *ecdsa.PublicKey
	release   chan struct{} // closed when the server shuts down: hung requests return

	mu            sync.Mutex
	now           func() time.Time
	fault         Fault
	tokenTTL      time.Duration
	tokens        map[string]time.Time // access token → expiry
	tokenRequests int
	payments      map[string]*fakePayment
	order         []string
	idem          map[string]idemAnswer
	requests      []Request
	rejected      []string
	hookKeys      []hookKey // the last signs
	hookURL       string
}

type hookKey struct {
	kid string
	key *ecdsa.PrivateKey
}

type idemAnswer struct {
	fingerprint [32]byte
	status      int
	body        []byte
}

// Request is an API request as the fake received it.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Payment is a payment as the fake holds it.
type Payment struct {
	ID            string
	AmountInMinor int64
	Currency      string
	Reference     string
	UserID        string
	UserName      string
	ResourceToken string
	Metadata      map[string]string
	Status        string // authorization_required, authorizing, authorized, executed, settled, failed
	FailureReason string
	FailureStage  string
	CreatedAt     time.Time
	Refunds       []Refund
}

// Refund is a refund of a payment as the fake holds it.
type Refund struct {
	ID            string
	AmountInMinor int64
	Reference     string
	Status        string // pending, executed, failed
	FailureReason string
}

type fakePayment struct {
	Payment
	times map[string]time.Time // status → when it was reached
}

// New starts a fake TrueLayer, stopped when tb's test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	clientKey, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(clientKey)
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{
		ClientID:          "fynlo-test-" + newID()[:8],
		ClientSecret:      "secret-" + newID(),
		ClientKeyID:       newID(),
		ClientKeyPEM:      pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}),
		MerchantAccountID: newID(),
		WebhookPath:       "/webhooks/truelayer",
		clientPub:         &clientKey.PublicKey,
		release:           make(chan struct{}),
		now:               time.Now,
		tokenTTL:          time.Hour,
		tokens:            map[string]time.Time{},
		payments:          map[string]*fakePayment{},
		idem:              map[string]idemAnswer{},
	}
	s.RotateWebhookKey()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /connect/token", s.faulty(s.handleToken))
	mux.HandleFunc("POST /v3/payments", s.faulty(s.api(s.handleCreatePayment)))
	mux.HandleFunc("GET /v3/payments/{id}", s.faulty(s.api(s.handleGetPayment)))
	mux.HandleFunc("POST /v3/payments/{id}/actions/cancel", s.faulty(s.api(s.handleCancel)))
	mux.HandleFunc("POST /v3/payments/{id}/refunds", s.faulty(s.api(s.handleRefund)))
	mux.HandleFunc("GET /.well-known/jwks", s.handleJWKS)
	mux.HandleFunc("GET /checkout", s.handleCheckout)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	tb.Cleanup(func() {
		close(s.release)
		s.srv.Close()
	})
	return s
}

// JWKSURL is where the fake serves the keys its webhooks are signed with.
func (s *Server) JWKSURL() string { return s.URL + "/.well-known/jwks" }

// SetClock sets the fake's clock: token lifetimes, payment times and
// webhook timestamps follow it. The default is time.Now.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetFault makes the auth server and the API misbehave, or behave again
// (Up). The JWKS and the hosted page are never affected.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// SetTokenTTL sets the lifetime of tokens issued from now on (default an
// hour).
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenTTL = d
}

// ExpireTokens revokes every token issued so far: the next API request
// with one gets 401.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// TokenRequests counts the tokens issued.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// Requests returns the API requests received, oldest first (token requests
// not included).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Rejected returns why requests were refused for their signature or
// idempotency key, oldest first: a correct client causes none.
func (s *Server) Rejected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejected...)
}

// Payment returns the payment id as it stands.
func (s *Server) Payment(id string) (Payment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[id]
	if !ok {
		return Payment{}, false
	}
	return p.snapshot(), true
}

// Payments returns every payment, oldest first.
func (s *Server) Payments() []Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Payment, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.payments[id].snapshot())
	}
	return out
}

func (p *fakePayment) snapshot() Payment {
	c := p.Payment
	c.Metadata = make(map[string]string, len(p.Metadata))
	for k, v := range p.Metadata {
		c.Metadata[k] = v
	}
	c.Refunds = append([]Refund(nil), p.Refunds...)
	return c
}

// Payment statuses, in TrueLayer's words.
const (
	statusAuthorizationRequired = "authorization_required"
	statusAuthorizing           = "authorizing"
	statusAuthorized            = "authorized"
	statusExecuted              = "executed"
	statusSettled               = "settled"
	statusFailed                = "failed"
)

var statusRank = map[string]int{statusAuthorizationRequired: 0, statusAuthorizing: 1, statusAuthorized: 2,
	statusExecuted: 3, statusSettled: 4}

// Authorize moves the payment to authorized, as if the guest approved it
// in their bank. With SetWebhookURL, payment_authorized is delivered.
func (s *Server) Authorize(id string) error {
	return s.advance(id, statusAuthorized, "payment_authorized")
}

// Execute moves the payment to executed (through authorized), as if the
// bank sent the money. With SetWebhookURL, payment_executed is delivered.
func (s *Server) Execute(id string) error { return s.advance(id, statusExecuted, "payment_executed") }

// Settle moves the payment to settled (through executed), the money in the
// merchant account. With SetWebhookURL, payment_settled is delivered.
func (s *Server) Settle(id string) error { return s.advance(id, statusSettled, "payment_settled") }

// Fail fails a payment not yet executed, for reason (TrueLayer's
// failure_reason: authorization_failed, provider_rejected, expired,
// canceled, ...). With SetWebhookURL, payment_failed is delivered.
func (s *Server) Fail(id, reason string) error {
	s.mu.Lock()
	p, ok := s.payments[id]
	switch {
	case !ok:
		s.mu.Unlock()
		return fmt.Errorf("tltest: no payment %s", id)
	case p.Status == statusFailed || statusRank[p.Status] >= statusRank[statusExecuted]:
		s.mu.Unlock()
		return fmt.Errorf("tltest: payment %s is %s and cannot fail", id, p.Status)
	}
	p.fail(reason, s.now())
	s.mu.Unlock()
	return s.autoDeliver("payment_failed", id, "")
}

func (p *fakePayment) fail(reason string, now time.Time) {
	p.FailureStage, p.FailureReason, p.Status = p.Status, reason, statusFailed
	p.times[statusFailed] = now
}

func (s *Server) advance(id, to, event string) error {
	s.mu.Lock()
	p, ok := s.payments[id]
	switch {
	case !ok:
		s.mu.Unlock()
		return fmt.Errorf("tltest: no payment %s", id)
	case p.Status == statusFailed || statusRank[p.Status] >= statusRank[to]:
		s.mu.Unlock()
		return fmt.Errorf("tltest: payment %s is %s and cannot become %s", id, p.Status, to)
	}
	now := s.now()
	for st, r := range statusRank {
		if r > statusRank[p.Status] && r <= statusRank[to] && st != statusAuthorizing {
			p.times[st] = now
		}
	}
	p.Status = to
	s.mu.Unlock()
	return s.autoDeliver(event, id, "")
}

// ExecuteRefund completes a pending refund. With SetWebhookURL,
// refund_executed is delivered.
func (s *Server) ExecuteRefund(paymentID, refundID string) error {
	return s.finishRefund(paymentID, refundID, "executed", "", "refund_executed")
}

// FailRefund fails a pending refund for reason. With SetWebhookURL,
// refund_failed is delivered.
func (s *Server) FailRefund(paymentID, refundID, reason string) error {
	return s.finishRefund(paymentID, refundID, "failed", reason, "refund_failed")
}

func (s *Server) finishRefund(paymentID, refundID, to, reason, event string) error {
	s.mu.Lock()
	p, ok := s.payments[paymentID]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("tltest: no payment %s", paymentID)
	}
	found := false
	for i := range p.Refunds {
		if r := &p.Refunds[i]; r.ID == refundID {
			if r.Status != "pending" {
				s.mu.Unlock()
				return fmt.Errorf("tltest: refund %s is %s", refundID, r.Status)
			}
			r.Status, r.FailureReason, found = to, reason, true
		}
	}
	s.mu.Unlock()
	if !found {
		return fmt.Errorf("tltest: payment %s has no refund %s", paymentID, refundID)
	}
	return s.autoDeliver(event, paymentID, refundID)
}

// handler plumbing

// faulty wraps a handler of the auth server or API with the current fault.
func (s *Server) faulty(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		f := s.fault
		s.mu.Unlock()
		switch f {
		case Unavailable:
			problem(w, http.StatusServiceUnavailable, "service-unavailable", "Service Unavailable", "the fake is down", nil)
			return
		case Hang:
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-s.release:
			}
			return
		}
		h(w, r)
	}
}

// apiHandler handles an authenticated API request: body read, locked.
type apiHandler func(w http.ResponseWriter, r *http.Request, body []byte)

// api checks the bearer token, records the request and, for a POST, checks
// its signature and answers a repeated idempotency key from memory.
func (s *Server) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			problem(w, http.StatusBadRequest, "invalid-request", "Invalid Request", "unreadable body", nil)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if exp, known := s.tokens[tok]; !ok || !known || !s.now().Before(exp) {
			problem(w, http.StatusUnauthorized, "unauthenticated", "Unauthenticated", "the access token is missing, invalid or expired", nil)
			return
		}
		if r.Method != http.MethodPost {
			h(w, r, body)
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			s.rejected = append(s.rejected, r.URL.Path+": no Idempotency-Key")
			problem(w, http.StatusBadRequest, "missing-idempotency-key", "Missing Idempotency-Key", "the Idempotency-Key header is required", nil)
			return
		}
		if why := s.checkSignature(r, body); why != "" {
			s.rejected = append(s.rejected, r.URL.Path+": "+why)
			problem(w, http.StatusUnauthorized, "invalid-signature", "Invalid Signature", why, nil)
			return
		}
		scope := r.Method + " " + r.URL.Path + " " + key
		fp := sha256.Sum256(body)
		if prev, ok := s.idem[scope]; ok {
			if prev.fingerprint != fp {
				s.rejected = append(s.rejected, r.URL.Path+": Idempotency-Key reused with another body")
				problem(w, http.StatusUnprocessableEntity, "idempotency-key-reuse", "Idempotency-Key Reuse",
					"the Idempotency-Key was used with another request", nil)
				return
			}
			writeRaw(w, prev.status, prev.body)
			return
		}
		rec := httptest.NewRecorder()
		h(rec, r, body)
		res := rec.Result()
		answer, _ := io.ReadAll(res.Body)
		if res.StatusCode < 500 {
			s.idem[scope] = idemAnswer{fingerprint: fp, status: res.StatusCode, body: answer}
		}
		writeRaw(w, res.StatusCode, answer)
	}
}

// checkSignature verifies a request's Tl-Signature as TrueLayer does, and
// says what is wrong with it ("" if nothing).
func (s *Server) checkSignature(r *http.Request, body []byte) string {
	sig := r.Header.Get("Tl-Signature")
	if sig == "" {
		return "no Tl-Signature"
	}
	head, _, ok := strings.Cut(sig, "..")
	if !ok {
		return "Tl-Signature is not a detached JWS"
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "JOSE header is not base64url"
	}
	var h struct {
		Alg       string `json:"alg"`
		Kid       string `json:"kid"`
		TlVersion string `json:"tl_version"`
		TlHeaders string `json:"tl_headers"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "JOSE header is not JSON"
	}
	if h.Alg != "ES512" || h.Kid != s.ClientKeyID || h.TlVersion != "2" {
		return fmt.Sprintf("JOSE header alg=%q kid=%q tl_version=%q", h.Alg, h.Kid, h.TlVersion)
	}
	var headers [][2]string
	idem := false
	for name := range strings.SplitSeq(h.TlHeaders, ",") {
		if name == "" {
			continue
		}
		headers = append(headers, [2]string{name, r.Header.Get(name)})
		idem = idem || strings.EqualFold(name, "Idempotency-Key")
	}
	if !idem {
		return "Idempotency-Key is not signed"
	}
	payload := buildPayload(r.Method, r.URL.EscapedPath(), headers, body)
	jws, err := jose.ParseDetached(sig, payload, []jose.SignatureAlgorithm{jose.ES512})
	if err != nil {
		return "Tl-Signature: " + err.Error()
	}
	if err := jws.DetachedVerify(payload, s.clientPub); err != nil {
		return "the signature does not verify"
	}
	return ""
}

// buildPayload is the request signing v2 payload, written apart from the
// client's so each checks the other.
func buildPayload(method, path string, headers [][2]string, body []byte) []byte {
	lines := []string{strings.ToUpper(method) + " " + path}
	for _, h := range headers {
		lines = append(lines, h[0]+": "+h[1])
	}
	return append([]byte(strings.Join(lines, "\n")+"\n"), body...)
}

// handlers

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	if f.Get("client_id") != s.ClientID || f.Get("client_secret") != s.ClientSecret {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client"})
		return
	}
	if !strings.Contains(" "+f.Get("scope")+" ", " payments ") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_scope"})
		return
	}
	s.mu.Lock()
	tok := "tok-" + newID()
	s.tokens[tok] = s.now().Add(s.tokenTTL)
	s.tokenRequests++
	ttl := int64(s.tokenTTL / time.Second)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": ttl, "token_type": "Bearer", "scope": "payments"})
}

type createRequest struct {
	AmountInMinor int64  `json:"amount_in_minor"`
	Currency      string `json:"currency"`
	PaymentMethod struct {
		Type              string `json:"type"`
		ProviderSelection struct {
			Type string `json:"type"`
		} `json:"provider_selection"`
		Beneficiary struct {
			Type              string `json:"type"`
			MerchantAccountID string `json:"merchant_account_id"`
			Reference         string `json:"reference"`
		} `json:"beneficiary"`
	} `json:"payment_method"`
	User struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"user"`
	Metadata map[string]string `json:"metadata"`
}

func (s *Server) handleCreatePayment(w http.ResponseWriter, _ *http.Request, body []byte) {
	var req createRequest
	if err := json.Unmarshal(body, &req); err != nil {
		problem(w, http.StatusBadRequest, "invalid-parameters", "Invalid Parameters", "the body is not a payment request: "+err.Error(), nil)
		return
	}
	errs := map[string][]string{}
	pm := req.PaymentMethod
	if req.AmountInMinor <= 0 {
		errs["amount_in_minor"] = []string{"must be greater than 0"}
	}
	if len(req.Currency) != 3 {
		errs["currency"] = []string{"must be an ISO 4217 code"}
	}
	if pm.Type != "bank_transfer" {
		errs["payment_method.type"] = []string{"must be bank_transfer"}
	}
	if pm.ProviderSelection.Type != "user_selected" {
		errs["payment_method.provider_selection.type"] = []string{"this fake supports user_selected only"}
	}
	if pm.Beneficiary.Type != "merchant_account" || pm.Beneficiary.MerchantAccountID != s.MerchantAccountID {
		errs["payment_method.beneficiary.merchant_account_id"] = []string{"unknown merchant account"}
	}
	if ref := pm.Beneficiary.Reference; ref == "" || len([]rune(ref)) > 18 {
		errs["payment_method.beneficiary.reference"] = []string{"must be 1 to 18 characters"}
	}
	if req.User.ID == "" && req.User.Name == "" {
		errs["user"] = []string{"must have an id or a name"}
	}
	if len(errs) > 0 {
		problem(w, http.StatusBadRequest, "invalid-parameters", "Invalid Parameters", "Some parameters are invalid.", errs)
		return
	}
	p := &fakePayment{Payment: Payment{ID: newID(), AmountInMinor: req.AmountInMinor, Currency: req.Currency,
		Reference: pm.Beneficiary.Reference, UserID: firstOf(req.User.ID, newID()), UserName: req.User.Name,
		ResourceToken: "rt-" + newID(), Metadata: req.Metadata, Status: statusAuthorizationRequired, CreatedAt: s.now()},
		times: map[string]time.Time{}}
	s.payments[p.ID] = p
	s.order = append(s.order, p.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"id": p.ID, "user": map[string]string{"id": p.UserID},
		"resource_token": p.ResourceToken, "status": p.Status})
}

func (s *Server) handleGetPayment(w http.ResponseWriter, r *http.Request, _ []byte) {
	p, ok := s.payments[r.PathValue("id")]
	if !ok {
		problem(w, http.StatusNotFound, "not-found", "Not Found", "no such payment", nil)
		return
	}
	out := map[string]any{
		"id": p.ID, "amount_in_minor": p.AmountInMinor, "currency": p.Currency,
		"user": map[string]string{"id": p.UserID},
		"payment_method": map[string]any{"type": "bank_transfer", "provider_selection": map[string]string{"type": "user_selected"},
			"beneficiary": map[string]string{"type": "merchant_account", "merchant_account_id": s.MerchantAccountID, "reference": p.Reference}},
		"created_at": stamp(p.CreatedAt), "status": p.Status,
	}
	if p.Metadata != nil {
		out["metadata"] = p.Metadata
	}
	for st, field := range map[string]string{statusAuthorized: "authorized_at", statusExecuted: "executed_at",
		statusSettled: "settled_at", statusFailed: "failed_at"} {
		if t, ok := p.times[st]; ok {
			out[field] = stamp(t)
		}
	}
	if p.Status == statusFailed {
		out["failure_stage"], out["failure_reason"] = p.FailureStage, p.FailureReason
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request, _ []byte) {
	p, ok := s.payments[r.PathValue("id")]
	if !ok {
		problem(w, http.StatusNotFound, "not-found", "Not Found", "no such payment", nil)
		return
	}
	if p.Status == statusFailed || statusRank[p.Status] >= statusRank[statusExecuted] {
		problem(w, http.StatusBadRequest, "payment-not-cancellable", "Payment Not Cancellable",
			"a payment that is "+p.Status+" cannot be cancelled", nil)
		return
	}
	p.fail("canceled", s.now())
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) handleRefund(w http.ResponseWriter, r *http.Request, body []byte) {
	p, ok := s.payments[r.PathValue("id")]
	if !ok {
		problem(w, http.StatusNotFound, "not-found", "Not Found", "no such payment", nil)
		return
	}
	var req struct {
		AmountInMinor int64  `json:"amount_in_minor"`
		Reference     string `json:"reference"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		problem(w, http.StatusBadRequest, "invalid-parameters", "Invalid Parameters", "the body is not a refund request", nil)
		return
	}
	if p.Status != statusSettled {
		problem(w, http.StatusBadRequest, "payment-not-settled", "Payment Not Settled",
			"only a settled payment can be refunded; this one is "+p.Status, nil)
		return
	}
	left := p.AmountInMinor
	for _, rf := range p.Refunds {
		if rf.Status != "failed" {
			left -= rf.AmountInMinor
		}
	}
	if req.AmountInMinor <= 0 || req.AmountInMinor > left || req.Reference == "" || len([]rune(req.Reference)) > 18 {
		problem(w, http.StatusBadRequest, "invalid-parameters", "Invalid Parameters",
			fmt.Sprintf("amount_in_minor must be 1 to %d and reference 1 to 18 characters", left), nil)
		return
	}
	rf := Refund{ID: newID(), AmountInMinor: req.AmountInMinor, Reference: req.Reference, Status: "pending"}
	p.Refunds = append(p.Refunds, rf)
	writeJSON(w, http.StatusCreated, map[string]string{"id": rf.ID})
}

func (s *Server) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	keys := make([]map[string]string, 0, len(s.hookKeys))
	for _, k := range s.hookKeys {
		b, _ := k.key.PublicKey.Bytes() // 0x04 || X || Y, 66 bytes each
		keys = append(keys, map[string]string{"kty": "EC", "alg": "EC", "use": "sig", "crv": "P-521", "kid": k.kid,
			"x": base64.RawURLEncoding.EncodeToString(b[1:67]), "y": base64.RawURLEncoding.EncodeToString(b[67:])})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// handleCheckout is a stand-in for the hosted payment page: it shows the
// payment the link is for, if the link is good.
func (s *Server) handleCheckout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	p, ok := s.payments[q.Get("payment_id")]
	good := ok && p.ResourceToken == q.Get("resource_token") && q.Get("return_uri") != ""
	var amount int64
	var currency, status string
	if good {
		amount, currency, status = p.AmountInMinor, p.Currency, p.Status
	}
	s.mu.Unlock()
	if !good {
		http.Error(w, "no such payment", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>TrueLayer (fake)</title><p>Pay %d %s (minor units): %s</p>",
		amount, html.EscapeString(currency), html.EscapeString(status))
}

// webhooks

// Webhook is a webhook as the fake sends it: deliver it over HTTP
// (Deliver), or hand Request() to the code under test.
type Webhook struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Request returns the webhook as payment.WebhookRequest.
func (w Webhook) Request() payment.WebhookRequest {
	h := w.Header.Clone()
	return payment.WebhookRequest{Method: w.Method, Path: w.Path, Header: h.Get, Body: append([]byte(nil), w.Body...)}
}

// SignOptions changes how SignWebhook signs, to make bad webhooks.
type SignOptions struct {
	Key       *ecdsa.PrivateKey // nil: the fake's current webhook key
	KeyID     string            // "": the current key's kid
	JKU       string            // "": JWKSURL()
	Timestamp time.Time         // zero: now by the fake's clock
}

// RotateWebhookKey makes a new webhook signing key, published beside the
// old ones, and signs with it from now on. It returns its kid.
func (s *Server) RotateWebhookKey() string {
	k, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	kid := newID()
	s.mu.Lock()
	s.hookKeys = append(s.hookKeys, hookKey{kid: kid, key: k})
	s.mu.Unlock()
	return kid
}

// SignWebhook signs body as a webhook POSTed to path, as TrueLayer does:
// a detached ES512 JWS with jku, over the method, path,
// X-Tl-Webhook-Timestamp, Content-Type and body.
func (s *Server) SignWebhook(path string, body []byte, opt SignOptions) Webhook {
	s.mu.Lock()
	cur := s.hookKeys[len(s.hookKeys)-1]
	now := s.now()
	s.mu.Unlock()
	key, kid := cur.key, cur.kid
	if opt.Key != nil {
		key = opt.Key
	}
	if opt.KeyID != "" {
		kid = opt.KeyID
	}
	jku := firstOf(opt.JKU, s.JWKSURL())
	ts := opt.Timestamp
	if ts.IsZero() {
		ts = now
	}
	h := http.Header{}
	h.Set("X-Tl-Webhook-Timestamp", ts.UTC().Format(time.RFC3339))
	h.Set("Content-Type", "application/json")
	signed := [][2]string{{"X-Tl-Webhook-Timestamp", h.Get("X-Tl-Webhook-Timestamp")}, {"Content-Type", h.Get("Content-Type")}}
	opts := (&jose.SignerOptions{}).WithHeader("jku", jku).WithHeader("tl_version", "2").
		WithHeader("tl_headers", "X-Tl-Webhook-Timestamp,Content-Type")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES512, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		panic(err) // only a key of the wrong type fails, and the type is fixed
	}
	jws, err := signer.Sign(buildPayload(http.MethodPost, path, signed, body))
	if err != nil {
		panic(err)
	}
	sig, err := jws.DetachedCompactSerialize()
	if err != nil {
		panic(err)
	}
	h.Set("Tl-Signature", sig)
	return Webhook{Method: http.MethodPost, Path: path, Header: h, Body: body}
}

// Event builds the webhook of a payment event (payment_authorized,
// payment_executed, payment_settled, payment_creditable, payment_failed,
// or any other type, with the common fields only) from the payment as it
// stands, signed for WebhookPath.
func (s *Server) Event(typ, paymentID string) (Webhook, error) {
	return s.event(typ, paymentID, "", s.WebhookPath)
}

// RefundEvent builds the webhook of a refund event (refund_executed,
// refund_failed) from the refund as it stands, signed for WebhookPath.
func (s *Server) RefundEvent(typ, paymentID, refundID string) (Webhook, error) {
	return s.event(typ, paymentID, refundID, s.WebhookPath)
}

func (s *Server) event(typ, paymentID, refundID, path string) (Webhook, error) {
	s.mu.Lock()
	p, ok := s.payments[paymentID]
	if !ok {
		s.mu.Unlock()
		return Webhook{}, fmt.Errorf("tltest: no payment %s", paymentID)
	}
	now := s.now()
	at := func(status string) string {
		if t, ok := p.times[status]; ok {
			return stamp(t)
		}
		return stamp(now)
	}
	e := map[string]any{"type": typ, "event_version": 1, "event_id": newID(), "payment_id": p.ID}
	if len(p.Metadata) > 0 {
		e["metadata"] = p.Metadata
	}
	method := map[string]string{"type": "bank_transfer", "provider_id": "mock-payments-gb-redirect", "scheme_id": "faster_payments_service"}
	switch typ {
	case "payment_authorized":
		e["authorized_at"], e["payment_method"] = at(statusAuthorized), method
	case "payment_executed":
		e["executed_at"], e["payment_method"] = at(statusExecuted), method
	case "payment_settled":
		e["settled_at"], e["payment_method"] = at(statusSettled), method
		e["payment_source"] = map[string]any{"account_holder_name": "JOHN SANDBRIDGE",
			"account_identifiers": []map[string]string{{"type": "sort_code_account_number", "sort_code": "040668", "account_number": "00000871"}}}
	case "payment_creditable":
		e["creditable_at"] = at(statusSettled)
	case "payment_failed":
		e["failed_at"], e["failure_stage"], e["failure_reason"] = at(statusFailed), p.FailureStage, p.FailureReason
	case "refund_executed", "refund_failed":
		var rf *Refund
		for i := range p.Refunds {
			if p.Refunds[i].ID == refundID {
				rf = &p.Refunds[i]
			}
		}
		if rf == nil {
			s.mu.Unlock()
			return Webhook{}, fmt.Errorf("tltest: payment %s has no refund %s", paymentID, refundID)
		}
		e["refund_id"] = rf.ID
		if typ == "refund_executed" {
			e["executed_at"] = stamp(now)
		} else {
			e["failed_at"], e["failure_reason"] = stamp(now), rf.FailureReason
		}
	}
	s.mu.Unlock()
	body, err := json.Marshal(e)
	if err != nil {
		return Webhook{}, err
	}
	return s.SignWebhook(path, body, SignOptions{}), nil
}

// SetWebhookURL makes every later state change (Authorize, Execute,
// Settle, Fail, ExecuteRefund, FailRefund) deliver its webhook to u,
// signed for u's path; the change's error then includes a failed
// delivery. "" stops it.
func (s *Server) SetWebhookURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL = u
}

func (s *Server) autoDeliver(typ, paymentID, refundID string) error {
	s.mu.Lock()
	target := s.hookURL
	s.mu.Unlock()
	if target == "" {
		return nil
	}
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("tltest: webhook URL: %w", err)
	}
	wh, err := s.event(typ, paymentID, refundID, u.EscapedPath())
	if err != nil {
		return err
	}
	base := *u
	base.Path, base.RawPath, base.RawQuery = "", "", ""
	if u.RawQuery != "" {
		// Signed over the path alone, as TrueLayer signs; sent with the
		// query (?account=…) the receiver routes by.
		wh.Path += "?" + u.RawQuery
	}
	resp, err := Deliver(context.Background(), base.String(), wh)
	if err != nil {
		return fmt.Errorf("tltest: deliver %s: %w", typ, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("tltest: deliver %s: the receiver answered %s", typ, resp.Status)
	}
	return nil
}

// Deliver POSTs the webhook to baseURL + its path. The caller closes the
// response's body.
func Deliver(ctx context.Context, baseURL string, w Webhook) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, w.Method, strings.TrimSuffix(baseURL, "/")+w.Path, bytes.NewReader(w.Body))
	if err != nil {
		return nil, err
	}
	for k, v := range w.Header {
		req.Header[k] = append([]string(nil), v...)
	}
	return http.DefaultClient.Do(req)
}

// helpers

func problem(w http.ResponseWriter, status int, typ, title, detail string, errs map[string][]string) {
	body := map[string]any{"type": "https://docs.truelayer.com/docs/error-types#" + typ, "title": title,
		"status": status, "detail": detail, "trace_id": newID()}
	if errs != nil {
		body["errors"] = errs
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	if len(body) > 0 {
		ct := "application/json"
		if bytes.Contains(body, []byte(`"trace_id"`)) && status >= 400 {
			ct = "application/problem+json"
		}
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// newID returns a random UUID (version 4), TrueLayer's ID format.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
