package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/wallet"
)

var _ wallet.Store = (*DB)(nil)

const applePayColumns = `org_id, body, identity_cert, sealed_identity_key, processing_cert, sealed_processing_key`

func scanApplePay(sc rowScanner) (*wallet.ApplePay, error) {
	var orgID, body string
	var ap wallet.ApplePay
	if err := sc.Scan(&orgID, &body, &ap.IdentityCertPEM, &ap.SealedIdentityKey, &ap.ProcessingCertPEM, &ap.SealedProcessingKey); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(body), &ap); err != nil {
		return nil, fmt.Errorf("apple pay body: %w", err)
	}
	ap.OrgID = orgID
	return &ap, nil
}

// FindApplePay implements wallet.Store.
func (db *DB) FindApplePay(ctx context.Context, orgID string) (*wallet.ApplePay, error) {
	ap, err := scanApplePay(db.queryRow(ctx, `SELECT `+applePayColumns+` FROM applepay_merchants WHERE org_id = $1`, orgID))
	if err != nil {
		return nil, notFound(err, "Apple Pay merchant identity")
	}
	return ap, nil
}

// SaveApplePay implements wallet.Store.
func (db *DB) SaveApplePay(ctx context.Context, ap *wallet.ApplePay) error {
	body, err := json.Marshal(ap) // PEMs and sealed keys are json:"-"
	if err != nil {
		return err
	}
	notAfter := func(c *wallet.Certificate) any {
		if c == nil {
			return nil
		}
		return ts(c.NotAfter)
	}
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO applepay_merchants (org_id, body, identity_cert, sealed_identity_key, identity_not_after,
				processing_cert, sealed_processing_key, processing_not_after, version, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (org_id) DO UPDATE SET body = excluded.body, identity_cert = excluded.identity_cert,
				sealed_identity_key = excluded.sealed_identity_key, identity_not_after = excluded.identity_not_after,
				processing_cert = excluded.processing_cert, sealed_processing_key = excluded.sealed_processing_key,
				processing_not_after = excluded.processing_not_after, version = excluded.version, updated_at = excluded.updated_at
			WHERE applepay_merchants.version = $11`,
			ap.OrgID, string(body), ap.IdentityCertPEM, ap.SealedIdentityKey, notAfter(ap.IdentityCertificate),
			ap.ProcessingCertPEM, ap.SealedProcessingKey, notAfter(ap.ProcessingCertificate), ap.Version, ts(ap.UpdatedAt), ap.Version-1)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return apperr.New(apperr.Conflict, "version_conflict", "the Apple Pay settings changed since you read them; read them again")
		}
		// The event says what changed: certificates by subject and expiry, never keys.
		return tx.emit(ctx, ap.OrgID, wallet.EventApplePayUpdated, "", ap.MerchantIdentifier, ap, ap.UpdatedAt)
	})
}

// FindApplePayExpiring implements wallet.Store.
func (db *DB) FindApplePayExpiring(ctx context.Context, before time.Time) ([]*wallet.ApplePay, error) {
	rows, err := db.query(ctx, `SELECT `+applePayColumns+` FROM applepay_merchants
		WHERE identity_not_after < $1 OR processing_not_after < $1 ORDER BY org_id`, ts(before))
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []*wallet.ApplePay
	for rows.Next() {
		ap, err := scanApplePay(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, ap)
	}
	return out, translate(rows.Err())
}

// RecordCertificateWarning implements wallet.Store.
func (db *DB) RecordCertificateWarning(ctx context.Context, w wallet.Warning) (bool, error) {
	wrote := false
	err := db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO applepay_certificate_warnings (org_id, fingerprint, threshold, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, fingerprint, threshold) DO NOTHING`, w.OrgID, w.Fingerprint, w.Threshold, ts(w.At))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err // raised before
		}
		wrote = true
		return tx.emit(ctx, w.OrgID, wallet.EventCertificateExpiring, "", w.Fingerprint, w, w.At)
	})
	return wrote, err
}
