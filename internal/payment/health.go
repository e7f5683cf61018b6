package payment

import (
	"context"
	"sync"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
)

// Provider health: every call to a provider is counted here, per
// organization, so the POS and the owner can see whether card and bank
// payments will work before a guest is waiting. It is what this node has
// seen since it started.

// ProviderHealth is one provider an organization's payments go through.
type ProviderHealth struct {
	Provider    string     `json:"provider" enum:"stripe,simulated,truelayer,sandbox_bank,apple_pay" doc:"how payments record it"`
	Kind        string     `json:"kind" enum:"card,open_banking,apple_pay"`
	Mode        string     `json:"mode" enum:"test,live" doc:"test: no real money moves"`
	Configured  bool       `json:"configured" doc:"the organization's own account; false for the built-in simulated card provider and sandbox bank"`
	Health      string     `json:"health" enum:"ok,degraded,down,unknown" doc:"unknown: not called since this server started; ok: the last call worked; degraded: the last call failed; down: the last 3 failed"`
	LastSuccess *time.Time `json:"last_success,omitempty" doc:"the last call the provider answered"`
	LastFailure *time.Time `json:"last_failure,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	Detail      string     `json:"detail,omitempty"`
}

type healthKey struct{ org, provider string }

type healthState struct {
	lastSuccess, lastFailure time.Time
	lastError                string
	failures                 int // in a row
}

type healthBook struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[healthKey]*healthState
}

// record counts one call. A provider that answered, even with a refusal,
// is up; one that could not be reached, or did not answer, is not.
func (h *healthBook) record(orgID string, p interface{ Name() string }, err error) {
	if h == nil || p == nil {
		return
	}
	now := h.now().UTC()
	h.mu.Lock()
	defer h.mu.Unlock()
	k := healthKey{orgID, p.Name()}
	st := h.m[k]
	if st == nil {
		st = &healthState{}
		h.m[k] = st
	}
	if err == nil || apperr.Is(err, apperr.Invalid) || apperr.Is(err, apperr.Conflict) || apperr.Is(err, apperr.NotFound) {
		st.lastSuccess, st.failures = now, 0
		return
	}
	st.lastFailure, st.failures = now, st.failures+1
	st.lastError = err.Error()
	if ae, ok := err.(*apperr.Error); ok && ae.Code != "" {
		st.lastError = ae.Code
	}
}

func (h *healthBook) fill(orgID string, ph *ProviderHealth) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ph.Health = "unknown"
	st := h.m[healthKey{orgID, ph.Provider}]
	if st == nil {
		return
	}
	if !st.lastSuccess.IsZero() {
		t := st.lastSuccess
		ph.LastSuccess, ph.Health = &t, "ok"
	}
	if !st.lastFailure.IsZero() {
		t := st.lastFailure
		ph.LastFailure, ph.LastError = &t, st.lastError
	}
	switch {
	case st.failures >= 3:
		ph.Health = "down"
	case st.failures > 0:
		ph.Health = "degraded"
	}
}

// Providers lists the providers an organization's payments go through,
// with their health as this server has seen it.
func (s *Service) Providers(ctx context.Context, orgID string) ([]ProviderHealth, error) {
	var out []ProviderHealth
	card, err := s.cardFor(ctx, orgID, "")
	if err != nil {
		return nil, err
	}
	ch := ProviderHealth{Provider: card.Name(), Kind: "card", Mode: "test"}
	if card.Name() == s.card.Name() {
		ch.Detail = "no card provider connected: cards are simulated and nothing is charged"
	} else if ps, err := s.providers.store.FindProviderSettings(ctx, orgID, "stripe"); err == nil {
		ch.Configured, ch.Mode = true, ps.Mode
	}
	out = append(out, ch)
	if bank, err := s.bankFor(ctx, orgID, ""); err == nil {
		bh := ProviderHealth{Provider: bank.Name(), Kind: "open_banking", Mode: bank.Mode(), Configured: bank.Name() != SandboxBankName}
		if !bh.Configured {
			bh.Detail = "no bank provider connected: QR payments go to the built-in sandbox bank and no money moves"
		}
		out = append(out, bh)
	}
	if s.wallet != nil {
		if w, err := s.wallet.WalletHealth(ctx, orgID); err == nil && w != nil {
			out = append(out, *w)
		}
	}
	for i := range out {
		if out[i].Kind != "apple_pay" { // the wallet reports its own health, from its certificates
			s.health.fill(orgID, &out[i])
		}
	}
	return out, nil
}

// WalletHealth reports on an organization's Apple Pay set-up; nil when it
// has none.
type WalletHealth interface {
	WalletHealth(ctx context.Context, orgID string) (*ProviderHealth, error)
}
