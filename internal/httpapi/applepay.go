package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/wallet"
)

type applePayOutput struct {
	Body *wallet.ApplePay
}

type applePayPutInput struct {
	Body struct {
		Version            int64    `json:"version" minimum:"0" doc:"the version read; 0 when setting Apple Pay up"`
		MerchantIdentifier string   `json:"merchant_identifier" maxLength:"255" example:"merchant.com.example.restaurant"`
		DisplayName        string   `json:"display_name" maxLength:"64" doc:"shown on the Apple Pay sheet on the web (at most 64 characters)"`
		Domains            []string `json:"domains,omitempty" required:"false" maxItems:"20" doc:"the checkout pages' domains, registered with Apple for this merchant identifier"`
		IdentityCert       string   `json:"merchant_identity_certificate,omitempty" required:"false" maxLength:"16384" doc:"PEM; for merchant validation on the web. Omit with its key to keep the current one"`
		IdentityKey        string   `json:"merchant_identity_key,omitempty" required:"false" maxLength:"16384" doc:"PEM private key of the merchant identity certificate (unencrypted); stored sealed, never shown again"`
		ProcessingCert     string   `json:"payment_processing_certificate,omitempty" required:"false" maxLength:"16384" doc:"PEM; decrypts payment tokens. Omit with its key to keep the current one"`
		ProcessingKey      string   `json:"payment_processing_key,omitempty" required:"false" maxLength:"16384" doc:"PEM P-256 private key of the payment processing certificate; stored sealed, never shown again"`
	}
}

type applePaySessionInput struct {
	Body struct {
		ValidationURL string `json:"validation_url" maxLength:"2048" doc:"the validationURL of the Apple Pay session's onvalidatemerchant event"`
		Domain        string `json:"domain" maxLength:"253" doc:"the checkout page's domain: one of the organization's Apple Pay domains"`
	}
}

type applePaySessionOutput struct {
	Body json.RawMessage `doc:"Apple's merchant session, as Apple sent it: pass it to completeMerchantValidation"`
}

func (s *Server) routeApplePay() {
	tags := []string{"Payments"}
	huma.Register(s.api, huma.Operation{
		OperationID: "apple-pay-get", Method: http.MethodGet, Path: "/api/v1/payments/providers/apple-pay", Tags: tags,
		Summary: "The organization's Apple Pay merchant identity (never its keys)", Security: bearer, Errors: []int{401, 404},
	}, s.handleApplePayGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "apple-pay-put", Method: http.MethodPut, Path: "/api/v1/payments/providers/apple-pay", Tags: tags,
		Summary: "Set up Apple Pay with the organization's own merchant identity",
		Description: "For restaurants that process Apple Pay themselves. Upload, as PEM, the merchant identity certificate and key " +
			"(Apple Pay on the web's merchant validation) and/or the payment processing certificate and key (decrypting tokens). " +
			"Each certificate must match its key and the merchant identifier. Keys are stored encrypted, bound to the organization, " +
			"and never shown or logged; the answer gives each certificate's subject and expiry. An `applepay.certificate_expiring` " +
			"event is raised once per certificate when it is within 30 days of expiry.",
		Security: bearer, Errors: []int{401, 403, 409, 422}, Metadata: needs(auth.PermSettingsManage),
	}, s.handleApplePayPut)
	huma.Register(s.api, huma.Operation{
		OperationID: "apple-pay-session", Method: http.MethodPost, Path: "/api/v1/apple-pay/session", Tags: tags,
		Summary: "Validate the merchant with Apple, for Apple Pay on the web",
		Description: "The checkout page sends the validationURL of its onvalidatemerchant event; the server checks it is one of " +
			"Apple's merchant validation gateways (anything else is refused, 422, without a request), posts the merchant's details " +
			"to it over mutual TLS with the merchant identity certificate, and answers with Apple's session object as is. " +
			"409 when Apple Pay is not set up or Apple refuses the merchant; 503 when Apple cannot be reached.",
		Security: bearer, Errors: []int{401, 409, 422, 503},
	}, s.handleApplePaySession)
}

func (s *Server) requireWallet(ctx context.Context) error {
	if s.wallet == nil {
		return problemFor(ctx, s.logger, apperr.New(apperr.Conflict, "wallet_unavailable", "Apple Pay is not available on this server"))
	}
	return nil
}

func (s *Server) handleApplePayGet(ctx context.Context, _ *struct{}) (*applePayOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.requireWallet(ctx); err != nil {
		return nil, err
	}
	ap, err := s.wallet.ApplePay(ctx, p.OrgID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &applePayOutput{Body: ap}, nil
}

func (s *Server) handleApplePayPut(ctx context.Context, in *applePayPutInput) (*applePayOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.requireWallet(ctx); err != nil {
		return nil, err
	}
	b := in.Body
	ap, err := s.wallet.SetApplePay(ctx, p.OrgID, wallet.Input{Version: b.Version, MerchantIdentifier: b.MerchantIdentifier,
		DisplayName: b.DisplayName, Domains: b.Domains, IdentityCertPEM: b.IdentityCert, IdentityKeyPEM: b.IdentityKey,
		ProcessingCertPEM: b.ProcessingCert, ProcessingKeyPEM: b.ProcessingKey})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &applePayOutput{Body: ap}, nil
}

func (s *Server) handleApplePaySession(ctx context.Context, in *applePaySessionInput) (*applePaySessionOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.requireWallet(ctx); err != nil {
		return nil, err
	}
	sess, err := s.wallet.Session(ctx, p.OrgID, wallet.SessionInput{ValidationURL: in.Body.ValidationURL, Domain: in.Body.Domain})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &applePaySessionOutput{Body: sess}, nil
}
