package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/payment"
	"github.com/fynlo/fynlo/internal/web"
)

type qrInput struct {
	ID   string `path:"id" maxLength:"64"`
	Size int    `query:"size" minimum:"64" maximum:"1024" default:"320" doc:"PNG: width and height in pixels"`
}

type qrOutput struct {
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

type paymentOptionsOutput struct {
	Body *payment.PaymentOptions
}

type providersOutput struct {
	Body struct {
		Providers []payment.ProviderHealth `json:"providers"`
	}
}

type trueLayerPutInput struct {
	Body struct {
		Version           int64  `json:"version" minimum:"0" doc:"the version read; 0 when connecting the first time"`
		ClientID          string `json:"client_id" maxLength:"255"`
		ClientSecret      string `json:"client_secret" maxLength:"255" doc:"stored sealed, never shown again"`
		SigningKeyID      string `json:"signing_key_id" maxLength:"255" doc:"the kid TrueLayer gave the public key you uploaded"`
		SigningKeyPEM     string `json:"signing_key_pem" maxLength:"8192" doc:"the EC P-521 private key (PEM) that signs requests; stored sealed, never shown again"`
		MerchantAccountID string `json:"merchant_account_id" maxLength:"255" doc:"the merchant account payments are paid into"`
		Environment       string `json:"environment" enum:"sandbox,live"`
	}
}

type sandboxWebhookInput struct {
	Account   string `query:"account" maxLength:"64" doc:"the organization ID"`
	Signature string `header:"Sandbox-Bank-Signature" maxLength:"256" doc:"t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.account.body\"> under the sandbox bank's key"`
	RawBody   []byte
}

type bankWebhookInput struct {
	Account   string `query:"account" maxLength:"64" doc:"the organization ID, as in the endpoint path given by the provider settings"`
	Signature string `header:"Tl-Signature" maxLength:"4096"`
	Timestamp string `header:"X-Tl-Webhook-Timestamp" maxLength:"64"`
	RawBody   []byte
}

func (s *Server) routeOpenBanking() {
	tags := []string{"Payments"}
	huma.Register(s.api, huma.Operation{
		OperationID: "payment-qr-svg", Method: http.MethodGet, Path: "/api/v1/payments/{id}/qr.svg", Tags: tags,
		Summary: "An open-banking payment's QR code, as SVG",
		Description: "The code holds the payment's `open_banking.link`: the guest scans it with their phone's camera and approves " +
			"in their bank's app (or on the sandbox bank's page).",
		Security: bearer, Errors: []int{401, 404, 409},
		Responses: map[string]*huma.Response{"200": {Description: "the QR code", Content: map[string]*huma.MediaType{"image/svg+xml": {}}}},
	}, s.handleQRSVG)
	huma.Register(s.api, huma.Operation{
		OperationID: "payment-qr-png", Method: http.MethodGet, Path: "/api/v1/payments/{id}/qr.png", Tags: tags,
		Summary:  "An open-banking payment's QR code, as PNG",
		Security: bearer, Errors: []int{401, 404, 409},
		Responses: map[string]*huma.Response{"200": {Description: "the QR code", Content: map[string]*huma.MediaType{"image/png": {}}}},
	}, s.handleQRPNG)
	huma.Register(s.api, huma.Operation{
		OperationID: "order-payment-options", Method: http.MethodGet, Path: "/api/v1/orders/{id}/payment-options", Tags: tags,
		Summary: "How a check can be paid now: methods ranked, the saving against card, what is in flight",
		Description: "The location's offered methods in its order (its fee schedule's `offered`; cheapest for the restaurant first " +
			"when it has set none), each with its cost and `saving_vs_card` for the balance. `waiting` is a payment in flight " +
			"(a QR code not yet approved); `fallback` says to take a card for the same amount after a bank payment ended unpaid.",
		Security: bearer, Errors: []int{401, 404},
	}, s.handlePaymentOptions)
	huma.Register(s.api, huma.Operation{
		OperationID: "providers-list", Method: http.MethodGet, Path: "/api/v1/payments/providers", Tags: tags,
		Summary: "The providers payments go through, with their mode and health",
		Description: "Card (Stripe, or the simulated provider), open banking (TrueLayer, or the sandbox bank) and Apple Pay when set " +
			"up: test or live, the last call that worked and the health this server has seen since it started.",
		Security: bearer, Errors: []int{401},
	}, s.handleProviders)
	huma.Register(s.api, huma.Operation{
		OperationID: "truelayer-get", Method: http.MethodGet, Path: "/api/v1/payments/providers/truelayer", Tags: tags,
		Summary: "The organization's TrueLayer account (without its secrets)", Security: bearer, Errors: []int{401, 404},
	}, s.handleTrueLayerGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "truelayer-put", Method: http.MethodPut, Path: "/api/v1/payments/providers/truelayer", Tags: tags,
		Summary: "Connect the organization's TrueLayer account for open banking",
		Description: "QR payments go through it from then on; without one they go to the built-in sandbox bank. The client secret " +
			"and signing key are stored encrypted, bound to the organization, and never shown or logged. Register the answer's " +
			"`webhook_path` with TrueLayer.",
		Security: bearer, Errors: []int{401, 403, 409, 422}, Metadata: needs(auth.PermSettingsManage),
	}, s.handleTrueLayerPut)
	huma.Register(s.api, huma.Operation{
		OperationID: "webhook-truelayer", Method: http.MethodPost, Path: "/api/v1/webhooks/truelayer", Tags: []string{"Webhooks"},
		Summary: "TrueLayer's events about payments and refunds",
		Description: "The Tl-Signature JWS is verified against TrueLayer's published keys (from an allow-listed jku only) over the " +
			"method, path, signed headers and body, and X-Tl-Webhook-Timestamp must be within 5 minutes, before anything is read. " +
			"Each event is applied once, and only as a move forward.",
		Errors: []int{422},
	}, s.handleTrueLayerWebhook)
	huma.Register(s.api, huma.Operation{
		OperationID: "webhook-sandbox-bank", Method: http.MethodPost, Path: "/api/v1/webhooks/sandbox-bank", Tags: []string{"Webhooks"},
		Summary: "The sandbox bank's events",
		Description: "The built-in sandbox bank delivers its webhooks to the server in-process; this endpoint takes the same signed " +
			"events over HTTP, verified the same way (an HMAC under the sandbox bank's key, 5 minutes' tolerance), for tools " +
			"that replay them.",
		Errors: []int{422},
	}, s.handleSandboxWebhook)
}

func (s *Server) handleSandboxWebhook(ctx context.Context, in *sandboxWebhookInput) (*webhookOutput, error) {
	if in.Account == "" || in.Signature == "" {
		return nil, problemFor(ctx, s.logger, apperr.New(apperr.Invalid, "bad_signature", "the webhook's signature does not verify"))
	}
	applied, err := s.pay.HandleBankWebhook(ctx, payment.SandboxBankName, in.Account, payment.WebhookRequest{Account: in.Account,
		Method: http.MethodPost, Path: "/api/v1/webhooks/sandbox-bank", Body: in.RawBody,
		Header: func(name string) string {
			if strings.EqualFold(name, payment.SandboxSignatureHeader) {
				return in.Signature
			}
			return ""
		}})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &webhookOutput{}
	out.Body.Received, out.Body.Applied = true, applied
	return out, nil
}

// routeSandboxBank serves the sandbox bank's page: no sign-in, the
// payment's unguessable reference is the capability, as a real bank's
// link would be.
func (s *Server) routeSandboxBank(mux *http.ServeMux) {
	mux.HandleFunc("GET /sandbox-bank/{ref}", s.handleSandboxPage)
	mux.HandleFunc("POST /sandbox-bank/{ref}", s.handleSandboxPage)
	mux.HandleFunc("GET /pay/done", func(w http.ResponseWriter, r *http.Request) {
		s.writeSandbox(w, http.StatusOK, web.SandboxBankView{Message: "You can go back to your table now.", OK: true})
	})
}

func (s *Server) handleSandboxPage(w http.ResponseWriter, r *http.Request) {
	if s.sandbox == nil {
		http.NotFound(w, r)
		return
	}
	ref := r.PathValue("ref")
	var p payment.SandboxPayment
	var err error
	view := web.SandboxBankView{}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 1024)
		decision := r.FormValue("decision")
		if decision != "approve" && decision != "decline" {
			http.Error(w, "decision must be approve or decline", http.StatusUnprocessableEntity)
			return
		}
		p, err = s.sandbox.Decide(r.Context(), ref, decision == "approve")
		switch {
		case err == nil && decision == "approve":
			view.Message, view.OK = "Payment approved. Thank you!", true
		case err == nil:
			view.Message = "Payment declined. Nothing was paid."
		case apperr.Is(err, apperr.Conflict):
			view.Message, err = "This payment is already "+string(p.Status)+".", nil
		}
	} else {
		p, err = s.sandbox.Payment(r.Context(), ref)
	}
	if err != nil {
		s.writeSandbox(w, http.StatusNotFound, web.SandboxBankView{Message: "No such payment at the sandbox bank."})
		return
	}
	view.Payee, view.Amount, view.Reference, view.Status = p.Payee, p.Amount.Decimal()+" "+p.Amount.Currency, p.Reference, string(p.Status)
	view.Open = p.Status == payment.BankAuthorizationRequired || p.Status == payment.BankAuthorizing
	s.writeSandbox(w, http.StatusOK, view)
}

func (s *Server) writeSandbox(w http.ResponseWriter, status int, v web.SandboxBankView) {
	var buf bytes.Buffer
	if err := web.SandboxBankPage(&buf, v); err != nil {
		http.Error(w, "page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", web.SandboxBankCSP())
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// qrFor returns the QR code of an open-banking payment the caller may see.
func (s *Server) qrFor(ctx context.Context, id string) (*qrcode.QRCode, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.pay.Payment(ctx, a, id)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	if p.OpenBanking == nil || p.OpenBanking.Link == "" {
		return nil, problemFor(ctx, s.logger, apperr.New(apperr.Conflict, "no_qr_code", "only an open-banking payment the provider has answered has a QR code"))
	}
	// Medium error correction: a screen's glare or a scratched
	// protector still scans.
	q, err := qrcode.New(p.OpenBanking.Link, qrcode.Medium)
	if err != nil {
		return nil, problemFor(ctx, s.logger, apperr.Wrap(err, "qr code"))
	}
	return q, nil
}

func (s *Server) handleQRPNG(ctx context.Context, in *qrInput) (*qrOutput, error) {
	q, err := s.qrFor(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	png, err := q.PNG(in.Size)
	if err != nil {
		return nil, problemFor(ctx, s.logger, apperr.Wrap(err, "qr png"))
	}
	return &qrOutput{ContentType: "image/png", CacheControl: "private, max-age=900", Body: png}, nil
}

func (s *Server) handleQRSVG(ctx context.Context, in *qrInput) (*qrOutput, error) {
	q, err := s.qrFor(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &qrOutput{ContentType: "image/svg+xml", CacheControl: "private, max-age=900", Body: qrSVG(q.Bitmap())}, nil
}

// qrSVG draws a QR bitmap (quiet zone included) as one path of unit
// squares, which scales crisply to any size.
func qrSVG(bits [][]bool) []byte {
	n := len(bits)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bits {
		for x := 0; x < len(row); x++ {
			if !row[x] {
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
			x += run - 1
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}

func (s *Server) handlePaymentOptions(ctx context.Context, in *pathID) (*paymentOptionsOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	po, err := s.pay.PaymentOptions(ctx, a, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &paymentOptionsOutput{Body: po}, nil
}

func (s *Server) handleProviders(ctx context.Context, _ *struct{}) (*providersOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.pay.Providers(ctx, p.OrgID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &providersOutput{}
	out.Body.Providers = list
	return out, nil
}

func (s *Server) handleTrueLayerGet(ctx context.Context, _ *struct{}) (*stripeSettingsOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := s.pay.TrueLayer(ctx, p.OrgID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &stripeSettingsOutput{Body: ps}, nil
}

func (s *Server) handleTrueLayerPut(ctx context.Context, in *trueLayerPutInput) (*stripeSettingsOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	ps, err := s.pay.SetTrueLayer(ctx, p.OrgID, payment.TrueLayerInput{Version: b.Version, TrueLayerCredentials: payment.TrueLayerCredentials{
		ClientID: b.ClientID, ClientSecret: b.ClientSecret, SigningKeyID: b.SigningKeyID, SigningKeyPEM: b.SigningKeyPEM,
		MerchantAccountID: b.MerchantAccountID, Environment: b.Environment}})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &stripeSettingsOutput{Body: ps}, nil
}

func (s *Server) handleTrueLayerWebhook(ctx context.Context, in *bankWebhookInput) (*webhookOutput, error) {
	if in.Account == "" || in.Signature == "" {
		return nil, problemFor(ctx, s.logger, apperr.New(apperr.Invalid, "bad_signature", "the webhook's signature does not verify"))
	}
	// The signature names the headers it covers: hand over all of them.
	applied, err := s.pay.HandleBankWebhook(ctx, payment.ProviderTrueLayer, in.Account, payment.WebhookRequest{Account: in.Account,
		Method: http.MethodPost, Path: "/api/v1/webhooks/truelayer", Body: in.RawBody, Header: info(ctx).header.Get})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &webhookOutput{}
	out.Body.Received, out.Body.Applied = true, applied
	return out, nil
}
