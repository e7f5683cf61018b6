package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/payment"
)

type stripeSettingsOutput struct {
	Body *payment.ProviderSettings
}

type stripePutInput struct {
	Body struct {
		Version       int64  `json:"version" minimum:"0" doc:"the version read; 0 when setting the first keys"`
		SecretKey     string `json:"secret_key" maxLength:"255" doc:"sk_test_…, sk_live_… or a restricted key; stored sealed, never shown again"`
		WebhookSecret string `json:"webhook_secret,omitempty" required:"false" maxLength:"255" doc:"the signing secret (whsec_…) of the webhook endpoint registered at Stripe"`
	}
}

type connectionTokenOutput struct {
	Body struct {
		Secret string `json:"secret" doc:"for the Stripe Terminal iOS SDK's connection token provider"`
	}
}

type webhookInput struct {
	Account   string `query:"account" maxLength:"64" doc:"the organization ID, as in the endpoint's path given by the provider settings"`
	Signature string `header:"Stripe-Signature" maxLength:"2048"`
	RawBody   []byte
}

type webhookOutput struct {
	Body struct {
		Received bool `json:"received"`
		Applied  bool `json:"applied" doc:"false for an event seen before or one we do not act on"`
	}
}

func (s *Server) routeProviders() {
	tags := []string{"Payments"}
	huma.Register(s.api, huma.Operation{
		OperationID: "stripe-get", Method: http.MethodGet, Path: "/api/v1/payments/providers/stripe", Tags: tags,
		Summary: "The organization's Stripe account, as configured (never its keys)", Security: bearer, Errors: []int{401, 403, 404},
		Metadata: needs(auth.PermSettingsManage),
	}, s.handleStripeGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "stripe-put", Method: http.MethodPut, Path: "/api/v1/payments/providers/stripe", Tags: tags,
		Summary: "Connect the organization's Stripe account",
		Description: "Cards go through it from then on (test or live, as the key says); without one they go through the simulated " +
			"provider. Keys are stored encrypted, bound to the organization, and never shown or logged. Register the endpoint " +
			"`webhook_path` of the answer at Stripe and give its signing secret here.",
		Security: bearer, Errors: []int{401, 403, 409, 422}, Metadata: needs(auth.PermSettingsManage),
	}, s.handleStripePut)
	huma.Register(s.api, huma.Operation{
		OperationID: "stripe-connection-token", Method: http.MethodPost, Path: "/api/v1/payments/providers/stripe/connection-token", Tags: tags,
		Summary: "A Stripe Terminal connection token, for Tap to Pay on iPhone", Security: bearer, Errors: []int{401, 409, 503},
	}, s.handleConnectionToken)
	huma.Register(s.api, huma.Operation{
		OperationID: "webhook-stripe", Method: http.MethodPost, Path: "/api/v1/webhooks/stripe", Tags: []string{"Webhooks"},
		Summary: "Stripe's events about payments",
		Description: "The Stripe-Signature header is verified against the organization's signing secret (5 minutes' tolerance) before " +
			"the body is read. Each event is applied once, and only as a move forward; unknown types are acknowledged.",
		Errors: []int{422},
	}, s.handleStripeWebhook)
}

func (s *Server) handleStripeGet(ctx context.Context, _ *struct{}) (*stripeSettingsOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := s.pay.Provider(ctx, p.OrgID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &stripeSettingsOutput{Body: ps}, nil
}

func (s *Server) handleStripePut(ctx context.Context, in *stripePutInput) (*stripeSettingsOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := s.pay.SetStripe(ctx, p.OrgID, payment.StripeInput{Version: in.Body.Version, SecretKey: in.Body.SecretKey,
		WebhookSecret: in.Body.WebhookSecret})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &stripeSettingsOutput{Body: ps}, nil
}

func (s *Server) handleConnectionToken(ctx context.Context, _ *struct{}) (*connectionTokenOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	secret, err := s.pay.ConnectionToken(ctx, p.OrgID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &connectionTokenOutput{}
	out.Body.Secret = secret
	return out, nil
}

func (s *Server) handleStripeWebhook(ctx context.Context, in *webhookInput) (*webhookOutput, error) {
	if in.Account == "" || in.Signature == "" {
		return nil, problemFor(ctx, s.logger, apperr.New(apperr.Invalid, "bad_signature", "the webhook's signature does not verify"))
	}
	applied, err := s.pay.HandleWebhook(ctx, in.Account, in.RawBody, in.Signature)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &webhookOutput{}
	out.Body.Received, out.Body.Applied = true, applied
	return out, nil
}
