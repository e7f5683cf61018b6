package payment

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/secret"
)

// Card provider settings: each organization brings its own Stripe account.
// Its keys are kept sealed (secret.Box) and bound to the organization,
// shown back only as a hint, and never logged.

// ProviderSettings is an organization's card provider account.
type ProviderSettings struct {
	OrgID    string `json:"organization_id"`
	Provider string `json:"provider" enum:"stripe"`
	Mode     string `json:"mode" enum:"test,live" doc:"from the key: sk_test_/rk_test_ or sk_live_/rk_live_"`
	KeyHint  string `json:"key_hint" example:"sk_test_…4242" doc:"the key's kind and last four characters; the key itself is never shown again"`
	// WebhookConfigured says whether a webhook signing secret is set; the
	// endpoint to give Stripe is /api/v1/webhooks/stripe?account=<organization_id>.
	WebhookConfigured bool      `json:"webhook_configured"`
	WebhookURL        string    `json:"webhook_path" doc:"the path to register in Stripe's dashboard, after this server's address"`
	Version           int64     `json:"version"`
	UpdatedAt         time.Time `json:"updated_at"`

	SealedKey           string `json:"-"`
	SealedWebhookSecret string `json:"-"`
}

// EventProviderUpdated is written when an organization's provider changes.
const EventProviderUpdated = "payment_provider.updated"

// ProviderStore keeps provider settings.
type ProviderStore interface {
	// FindProviderSettings errors: NotFound.
	FindProviderSettings(ctx context.Context, orgID, provider string) (*ProviderSettings, error)
	// SaveProviderSettings writes settings whose version was version−1
	// (0: none yet). Errors: Conflict version_conflict.
	SaveProviderSettings(ctx context.Context, ps *ProviderSettings) error
}

// ProviderFactory builds a card provider for a secret key.
type ProviderFactory func(secretKey string) (CardProvider, error)

// providers finds each organization's card provider.
type providers struct {
	store   ProviderStore
	box     *secret.Box
	factory ProviderFactory // nil: no real provider can be built here
	mu      sync.Mutex
	cache   map[string]cachedProvider // org ID → built provider
}

type cachedProvider struct {
	version int64
	p       CardProvider
}

func keyContext(orgID, what string) string { return orgID + "/stripe/" + what }

// StripeInput sets an organization's Stripe keys.
type StripeInput struct {
	Version       int64
	SecretKey     string
	WebhookSecret string
}

// SetStripe stores an organization's Stripe keys, sealed. The API asks for
// settings.manage first.
func (s *Service) SetStripe(ctx context.Context, orgID string, in StripeInput) (*ProviderSettings, error) {
	now := s.now().UTC()
	if s.providers.box == nil || s.providers.factory == nil {
		return nil, apperr.New(apperr.Conflict, "providers_unavailable", "this server cannot keep provider keys (no secrets key)")
	}
	in.SecretKey, in.WebhookSecret = strings.TrimSpace(in.SecretKey), strings.TrimSpace(in.WebhookSecret)
	mode := ""
	for _, p := range []struct{ prefix, mode string }{{"sk_test_", "test"}, {"rk_test_", "test"}, {"sk_live_", "live"}, {"rk_live_", "live"}} {
		if strings.HasPrefix(in.SecretKey, p.prefix) {
			mode = p.mode
		}
	}
	var f apperr.Fields
	if mode == "" || len(in.SecretKey) < 16 || len(in.SecretKey) > 255 {
		f.Add("secret_key", "must be a Stripe secret or restricted key (sk_test_…, sk_live_…, rk_…)")
	}
	if in.WebhookSecret != "" && (!strings.HasPrefix(in.WebhookSecret, "whsec_") || len(in.WebhookSecret) > 255) {
		f.Add("webhook_secret", "must be the endpoint's signing secret (whsec_…)")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if _, err := s.providers.factory(in.SecretKey); err != nil {
		return nil, apperr.Field("secret_key", "is not usable: "+err.Error())
	}
	cur, err := s.providers.store.FindProviderSettings(ctx, orgID, "stripe")
	switch {
	case apperr.Is(err, apperr.NotFound):
		cur = &ProviderSettings{}
	case err != nil:
		return nil, err
	}
	if in.Version != cur.Version {
		return nil, apperr.StaleVersion(cur)
	}
	ps := &ProviderSettings{OrgID: orgID, Provider: "stripe", Mode: mode,
		KeyHint:           in.SecretKey[:8] + "…" + in.SecretKey[len(in.SecretKey)-4:],
		WebhookConfigured: in.WebhookSecret != "", WebhookURL: "/api/v1/webhooks/stripe?account=" + orgID,
		Version: cur.Version + 1, UpdatedAt: now,
		SealedKey: s.providers.box.Seal([]byte(in.SecretKey), keyContext(orgID, "secret_key"))}
	if in.WebhookSecret != "" {
		ps.SealedWebhookSecret = s.providers.box.Seal([]byte(in.WebhookSecret), keyContext(orgID, "webhook_secret"))
	} else {
		// A new key without a new signing secret keeps the old secret:
		// rotating the key must not silently stop the webhooks.
		ps.SealedWebhookSecret, ps.WebhookConfigured = cur.SealedWebhookSecret, cur.SealedWebhookSecret != ""
	}
	if err := s.providers.store.SaveProviderSettings(ctx, ps); err != nil {
		return nil, err
	}
	return ps, nil
}

// Provider returns an organization's card provider settings.
func (s *Service) Provider(ctx context.Context, orgID string) (*ProviderSettings, error) {
	return s.providers.store.FindProviderSettings(ctx, orgID, "stripe")
}

// cardFor returns the provider a payment of orgID goes through: the one
// named (a payment already made keeps its provider), or for a new payment
// ("") the organization's Stripe account, else the simulated provider.
func (s *Service) cardFor(ctx context.Context, orgID, name string) (CardProvider, error) {
	if name == s.card.Name() {
		return s.card, nil
	}
	if s.providers.store == nil {
		if name == "" {
			return s.card, nil
		}
		return nil, apperr.New(apperr.Unavailable, "provider_unavailable", "the payment's provider "+name+" is not configured here")
	}
	ps, err := s.providers.store.FindProviderSettings(ctx, orgID, "stripe")
	if apperr.Is(err, apperr.NotFound) {
		if name == "" {
			return s.card, nil
		}
		return nil, apperr.New(apperr.Unavailable, "provider_unavailable", "the payment's provider "+name+" is no longer configured")
	}
	if err != nil {
		return nil, err
	}
	pr := &s.providers
	pr.mu.Lock()
	c, ok := pr.cache[orgID]
	pr.mu.Unlock()
	if ok && c.version == ps.Version {
		return c.p, nil
	}
	key, err := pr.box.Open(ps.SealedKey, keyContext(orgID, "secret_key"))
	if err != nil {
		return nil, apperr.Wrap(err, "stripe key of "+orgID)
	}
	p, err := pr.factory(string(key))
	if err != nil {
		return nil, apperr.Wrap(err, "stripe provider of "+orgID)
	}
	pr.mu.Lock()
	pr.cache[orgID] = cachedProvider{version: ps.Version, p: p}
	pr.mu.Unlock()
	return p, nil
}

// WebhookSecret returns an organization's Stripe webhook signing secret.
// Errors: NotFound when it has none.
func (s *Service) WebhookSecret(ctx context.Context, orgID string) (string, error) {
	if s.providers.store == nil || s.providers.box == nil {
		return "", apperr.NotFoundf("webhook secret")
	}
	ps, err := s.providers.store.FindProviderSettings(ctx, orgID, "stripe")
	if err != nil {
		return "", err
	}
	if ps.SealedWebhookSecret == "" {
		return "", apperr.NotFoundf("webhook secret")
	}
	b, err := s.providers.box.Open(ps.SealedWebhookSecret, keyContext(orgID, "webhook_secret"))
	if err != nil {
		return "", apperr.Wrap(err, "webhook secret of "+orgID)
	}
	return string(b), nil
}

// TerminalProvider is a card provider with card readers: Tap to Pay on
// iPhone needs a connection token from the server to find its reader.
type TerminalProvider interface {
	ConnectionToken(ctx context.Context) (string, error)
}

// ConnectionToken returns a Terminal connection token for the iOS SDK,
// from the organization's own provider.
func (s *Service) ConnectionToken(ctx context.Context, orgID string) (string, error) {
	card, err := s.cardFor(ctx, orgID, "")
	if err != nil {
		return "", err
	}
	tp, ok := card.(TerminalProvider)
	if !ok {
		return "", apperr.New(apperr.Conflict, "terminal_unavailable",
			"Tap to Pay needs the organization's own Stripe account; the "+card.Name()+" provider has no card readers")
	}
	return tp.ConnectionToken(ctx)
}
