package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/order"
	"github.com/fynlo/fynlo/internal/payment"
)

var _ payment.ProviderStore = (*DB)(nil)

// FindProviderSettings implements payment.ProviderStore.
func (db *DB) FindProviderSettings(ctx context.Context, orgID, provider string) (*payment.ProviderSettings, error) {
	var body string
	var ps payment.ProviderSettings
	if err := db.queryRow(ctx, `SELECT body, sealed_key, sealed_webhook_secret FROM provider_settings WHERE org_id = $1 AND provider = $2`,
		orgID, provider).Scan(&body, &ps.SealedKey, &ps.SealedWebhookSecret); err != nil {
		return nil, notFound(err, "payment provider")
	}
	if err := json.Unmarshal([]byte(body), &ps); err != nil {
		return nil, fmt.Errorf("provider settings body: %w", err)
	}
	return &ps, nil
}

// SaveProviderSettings implements payment.ProviderStore.
func (db *DB) SaveProviderSettings(ctx context.Context, ps *payment.ProviderSettings) error {
	body, err := json.Marshal(ps) // the sealed fields are json:"-"
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO provider_settings (org_id, provider, body, sealed_key, sealed_webhook_secret, version, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (org_id, provider) DO UPDATE SET body = excluded.body, sealed_key = excluded.sealed_key,
				sealed_webhook_secret = excluded.sealed_webhook_secret, version = excluded.version, updated_at = excluded.updated_at
			WHERE provider_settings.version = $8`,
			ps.OrgID, ps.Provider, string(body), ps.SealedKey, ps.SealedWebhookSecret, ps.Version, ts(ps.UpdatedAt), ps.Version-1)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return apperr.New(apperr.Conflict, "version_conflict", "the provider settings changed since you read them; read them again")
		}
		// The event says what changed, never the keys.
		return tx.emit(ctx, ps.OrgID, payment.EventProviderUpdated, "", ps.Provider, ps, ps.UpdatedAt)
	})
}

// ApplyProviderEvent implements payment.Store: it records the provider's
// event as applied and, if it was not already, lets update change the
// payment and its check, all in one transaction.
func (db *DB) ApplyProviderEvent(ctx context.Context, orgID, provider, eventID, eventType, paymentID string,
	update func(p *payment.Payment, o *order.Order) error) (applied bool, err error) {
	err = db.inTx(ctx, func(tx *Tx) error {
		first, err := tx.firstProviderEvent(ctx, orgID, provider, eventID, eventType)
		if err != nil || !first {
			return err // seen before: applied once already
		}
		applied = true
		if paymentID == "" {
			return nil // acknowledged, nothing of ours to change
		}
		p, lo, err := tx.lockPayment(ctx, db, orgID, paymentID)
		if apperr.Is(err, apperr.NotFound) {
			return nil // not ours (another system on the same Stripe account)
		}
		if err != nil {
			return err
		}
		before, orderBefore := p.Version, lo.Version
		if err := update(p, lo.Order); err != nil {
			return err
		}
		if p.Version != before {
			if err := tx.savePayment(ctx, p); err != nil {
				return err
			}
		}
		if lo.Version != orderBefore {
			return tx.savePaidOrder(ctx, lo)
		}
		return nil
	})
	return applied, err
}

// firstProviderEvent records a provider's event as applied, reporting
// whether this is the first time it was seen.
func (tx *Tx) firstProviderEvent(ctx context.Context, orgID, provider, eventID, eventType string) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO provider_events (provider, event_id, org_id, type, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (provider, event_id) DO NOTHING`, provider, eventID, orgID, eventType, ts(clockNow()))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
