package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/payment"
)

var _ payment.FeeStore = (*DB)(nil)

// FindFeeSchedule implements payment.FeeStore.
func (db *DB) FindFeeSchedule(ctx context.Context, orgID, locationID string) (*payment.FeeSchedule, error) {
	var body string
	if err := db.queryRow(ctx, `SELECT body FROM fee_schedules WHERE org_id = $1 AND location_id = $2`, orgID, locationID).Scan(&body); err != nil {
		return nil, notFound(err, "fee schedule")
	}
	var fs payment.FeeSchedule
	if err := json.Unmarshal([]byte(body), &fs); err != nil {
		return nil, fmt.Errorf("fee schedule body: %w", err)
	}
	return &fs, nil
}

// SaveFeeSchedule implements payment.FeeStore.
func (db *DB) SaveFeeSchedule(ctx context.Context, orgID string, fs *payment.FeeSchedule) error {
	body, err := json.Marshal(fs)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *Tx) error {
		// Version 1 inserts; later ones update the version before. Either
		// way a concurrent save of the same version finds no row to take.
		res, err := tx.ExecContext(ctx, `INSERT INTO fee_schedules (location_id, org_id, body, version, updated_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (location_id) DO UPDATE SET body = excluded.body, version = excluded.version, updated_at = excluded.updated_at
			WHERE fee_schedules.version = $6 AND fee_schedules.org_id = $2`,
			fs.LocationID, orgID, string(body), fs.Version, ts(fs.UpdatedAt), fs.Version-1)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return apperr.New(apperr.Conflict, "version_conflict", "the fee schedule changed since you read it; read it again")
		}
		return tx.emit(ctx, orgID, payment.EventFeesUpdated, fs.LocationID, fs.LocationID, fs, fs.UpdatedAt)
	})
}

// writeLedger appends a payment's new platform-fee entries.
func (tx *Tx) writeLedger(ctx context.Context, p *payment.Payment) error {
	for _, e := range p.Ledger {
		if _, err := tx.ExecContext(ctx, `INSERT INTO platform_fees (id, org_id, location_id, payment_id, business_date, amount, currency, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`, e.ID, e.OrgID, e.LocationID, e.PaymentID, e.BusinessDate,
			e.Amount.Amount, e.Amount.Currency, ts(e.At)); err != nil {
			return fmt.Errorf("platform fee ledger: %w", err)
		}
	}
	p.Ledger = nil
	return nil
}

// PlatformRevenue implements payment.LedgerStore: the ledger summed per
// organization and currency over business dates from..to (inclusive).
func (db *DB) PlatformRevenue(ctx context.Context, orgID, from, to string) ([]payment.Revenue, error) {
	rows, err := db.query(ctx, `SELECT f.org_id, o.name, f.currency, COUNT(*),
		COALESCE(SUM(CASE WHEN f.amount > 0 THEN f.amount ELSE 0 END), 0), COALESCE(SUM(CASE WHEN f.amount < 0 THEN -f.amount ELSE 0 END), 0)
		FROM platform_fees f JOIN organizations o ON o.id = f.org_id
		WHERE f.business_date >= $1 AND f.business_date <= $2 AND ($3 = '' OR f.org_id = $3)
		GROUP BY f.org_id, o.name, f.currency ORDER BY f.org_id, f.currency`, from, to, orgID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []payment.Revenue
	for rows.Next() {
		var r payment.Revenue
		if err := rows.Scan(&r.OrgID, &r.OrgName, &r.Currency, &r.Entries, &r.Fees, &r.Reversed); err != nil {
			return nil, translate(err)
		}
		out = append(out, r)
	}
	return out, translate(rows.Err())
}
