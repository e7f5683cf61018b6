package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/fynlo/fynlo/internal/auth"
)

var _ auth.DeviceStore = (*DB)(nil)

const deviceColumns = `id, org_id, location_id, name, paired_at, revoked_at, created_at`

func scanDevice(row rowScanner) (*auth.Device, error) {
	var d auth.Device
	var paired, revoked sql.NullTime
	if err := row.Scan(&d.ID, &d.OrgID, &d.LocationID, &d.Name, &paired, &revoked, &d.CreatedAt); err != nil {
		return nil, err
	}
	d.PairedAt, d.RevokedAt, d.CreatedAt = timePtr(paired), timePtr(revoked), d.CreatedAt.UTC()
	return &d, nil
}

// CreateDevice implements auth.DeviceStore.
func (db *DB) CreateDevice(ctx context.Context, d *auth.Device, codeHash string, codeExpires time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO devices (id, org_id, location_id, name, pairing_hash, pairing_expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, d.ID, d.OrgID, d.LocationID, d.Name, codeHash, ts(codeExpires), ts(d.CreatedAt)); err != nil {
			return fmt.Errorf("insert device: %w", err)
		}
		return tx.emit(ctx, d.OrgID, auth.EventDeviceCreated, d.LocationID, d.ID, d, d.CreatedAt)
	})
}

// PairDevice implements auth.DeviceStore.
func (db *DB) PairDevice(ctx context.Context, codeHash, tokenHash string, at time.Time) (*auth.Device, error) {
	var out *auth.Device
	err := db.inTx(ctx, func(tx *Tx) error {
		// One statement claims the code, so two devices typing it at once
		// cannot both pair.
		d, err := scanDevice(tx.QueryRowContext(ctx, `UPDATE devices SET token_hash = $1, paired_at = $2, pairing_hash = NULL, pairing_expires_at = NULL
			WHERE pairing_hash = $3 AND pairing_expires_at > $2 AND revoked_at IS NULL RETURNING `+deviceColumns, tokenHash, ts(at), codeHash))
		if err != nil {
			return notFound(err, "pairing code")
		}
		out = d
		return tx.emit(ctx, d.OrgID, auth.EventDevicePaired, d.LocationID, d.ID, d, at)
	})
	return out, err
}

// FindDeviceByToken implements auth.DeviceStore.
func (db *DB) FindDeviceByToken(ctx context.Context, tokenHash string) (*auth.Device, error) {
	d, err := scanDevice(db.queryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE token_hash = $1 AND revoked_at IS NULL`, tokenHash))
	if err != nil {
		return nil, notFound(err, "device")
	}
	return d, nil
}

// FindDevices implements auth.DeviceStore.
func (db *DB) FindDevices(ctx context.Context, orgID string) ([]*auth.Device, error) {
	rows, err := db.query(ctx, `SELECT `+deviceColumns+` FROM devices WHERE org_id = $1 ORDER BY id`, orgID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []*auth.Device{}
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, d)
	}
	return out, translate(rows.Err())
}

// RevokeDevice implements auth.DeviceStore.
func (db *DB) RevokeDevice(ctx context.Context, orgID, id string, t time.Time) (*auth.Device, error) {
	var out *auth.Device
	err := db.inTx(ctx, func(tx *Tx) error {
		d, err := scanDevice(tx.QueryRowContext(ctx, `UPDATE devices SET revoked_at = COALESCE(revoked_at, $1), token_hash = NULL, pairing_hash = NULL
			WHERE org_id = $2 AND id = $3 RETURNING `+deviceColumns, ts(t), orgID, id))
		if err != nil {
			return notFound(err, "device")
		}
		out = d
		return tx.emit(ctx, orgID, auth.EventDeviceRevoked, d.LocationID, d.ID, d, t)
	})
	return out, err
}

// FindDevice implements auth.DeviceStore.
func (db *DB) FindDevice(ctx context.Context, orgID, id string) (*auth.Device, error) {
	d, err := scanDevice(db.queryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, notFound(err, "device")
	}
	return d, nil
}
