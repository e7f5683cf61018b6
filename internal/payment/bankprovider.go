package payment

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/fynlo/fynlo/internal/apperr"
)

// An organization connects its own open-banking provider (TrueLayer) with
// its client credentials, request-signing key and merchant account. They
// are kept sealed like Stripe's keys: bound to the organization, never
// shown again. Without them, QR payments go to the sandbox bank.

// ProviderTrueLayer is how payments record TrueLayer.
const ProviderTrueLayer = "truelayer"

// TrueLayerCredentials is what a TrueLayer provider is built from.
type TrueLayerCredentials struct {
	ClientID          string `json:"client_id"`
	ClientSecret      string `json:"client_secret"`
	SigningKeyID      string `json:"signing_key_id"`
	SigningKeyPEM     string `json:"signing_key_pem"`
	MerchantAccountID string `json:"merchant_account_id"`
	Environment       string `json:"environment"` // sandbox or live
}

// BankFactory builds an organization's bank provider from its
// credentials; errors say what is wrong with them.
type BankFactory func(c TrueLayerCredentials) (BankProvider, error)

// TrueLayerInput sets an organization's TrueLayer account.
type TrueLayerInput struct {
	Version int64
	TrueLayerCredentials
}

// SetTrueLayer stores an organization's TrueLayer credentials, sealed,
// after checking a provider can be built from them. The API asks for
// settings.manage first.
func (s *Service) SetTrueLayer(ctx context.Context, orgID string, in TrueLayerInput) (*ProviderSettings, error) {
	if s.providers.box == nil || s.banks.factory == nil || s.providers.store == nil {
		return nil, apperr.New(apperr.Conflict, "providers_unavailable", "this server cannot keep bank provider credentials")
	}
	c := &in.TrueLayerCredentials
	c.ClientID, c.ClientSecret, c.SigningKeyID = strings.TrimSpace(c.ClientID), strings.TrimSpace(c.ClientSecret), strings.TrimSpace(c.SigningKeyID)
	c.MerchantAccountID = strings.TrimSpace(c.MerchantAccountID)
	var f apperr.Fields
	for name, v := range map[string]string{"client_id": c.ClientID, "client_secret": c.ClientSecret, "signing_key_id": c.SigningKeyID,
		"merchant_account_id": c.MerchantAccountID} {
		if v == "" || len(v) > 255 {
			f.Add(name, "is required, at most 255 characters")
		}
	}
	if !strings.Contains(c.SigningKeyPEM, "PRIVATE KEY") || len(c.SigningKeyPEM) > 8192 {
		f.Add("signing_key_pem", "must be the EC P-521 private key, PEM, whose public key is registered with TrueLayer")
	}
	mode := map[string]string{"sandbox": "test", "live": "live"}[c.Environment]
	if mode == "" {
		f.Add("environment", "must be sandbox or live")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if _, err := s.banks.factory(*c); err != nil {
		return nil, apperr.Field("signing_key_pem", "is not usable: "+err.Error())
	}
	cur, err := s.providers.store.FindProviderSettings(ctx, orgID, ProviderTrueLayer)
	switch {
	case apperr.Is(err, apperr.NotFound):
		cur = &ProviderSettings{}
	case err != nil:
		return nil, err
	}
	if in.Version != cur.Version {
		return nil, apperr.StaleVersion(cur)
	}
	raw, _ := json.Marshal(c)
	ps := &ProviderSettings{OrgID: orgID, Provider: ProviderTrueLayer, Mode: mode, KeyHint: c.ClientID,
		WebhookConfigured: true, WebhookURL: "/api/v1/webhooks/truelayer?account=" + orgID,
		Version: cur.Version + 1, UpdatedAt: s.now().UTC(),
		SealedKey: s.providers.box.Seal(raw, orgID+"/truelayer/config")}
	if err := s.providers.store.SaveProviderSettings(ctx, ps); err != nil {
		return nil, err
	}
	return ps, nil
}

// TrueLayer returns an organization's TrueLayer settings. Errors: NotFound.
func (s *Service) TrueLayer(ctx context.Context, orgID string) (*ProviderSettings, error) {
	return s.providers.store.FindProviderSettings(ctx, orgID, ProviderTrueLayer)
}

func openCredentials(raw []byte) (TrueLayerCredentials, error) {
	var c TrueLayerCredentials
	err := json.Unmarshal(raw, &c)
	return c, err
}
