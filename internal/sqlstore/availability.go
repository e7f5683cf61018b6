package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/fynlo/fynlo/internal/menu"
)

var _ menu.AvailabilityStore = (*DB)(nil)

func scanAvailability(row rowScanner) (*menu.Availability, error) {
	var a menu.Availability
	var body string
	var loc, item string
	var version int64
	if err := row.Scan(&loc, &item, &body, &version, &a.UpdatedAt); err != nil {
		return nil, err
	}
	updated := a.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		return nil, fmt.Errorf("availability %s/%s: %w", loc, item, err)
	}
	a.LocationID, a.ItemID, a.Version, a.UpdatedAt = loc, item, version, updated
	return &a, nil
}

// FindAvailability implements menu.AvailabilityStore.
func (db *DB) FindAvailability(ctx context.Context, orgID, locationID string) ([]*menu.Availability, error) {
	return queryAll(ctx, db, scanAvailability, `SELECT location_id, item_id, body, version, updated_at FROM item_availability
		WHERE org_id = $1 AND location_id = $2 ORDER BY item_id`, orgID, locationID)
}

// PutAvailability implements menu.AvailabilityStore.
func (db *DB) PutAvailability(ctx context.Context, orgID, locationID, itemID string, update func(*menu.Availability) error) (*menu.Availability, error) {
	var out *menu.Availability
	err := db.inTx(ctx, func(tx *Tx) error {
		a, err := scanAvailability(tx.QueryRowContext(ctx, `SELECT location_id, item_id, body, version, updated_at FROM item_availability
			WHERE org_id = $1 AND location_id = $2 AND item_id = $3`+db.forUpdate(), orgID, locationID, itemID))
		exists := err == nil
		if errors.Is(err, sql.ErrNoRows) {
			a, err = &menu.Availability{LocationID: locationID, ItemID: itemID}, nil
		}
		if err != nil {
			return err
		}
		if err := update(a); err != nil {
			return err
		}
		body, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if exists {
			_, err = tx.ExecContext(ctx, `UPDATE item_availability SET body = $1, version = $2, updated_at = $3
				WHERE org_id = $4 AND location_id = $5 AND item_id = $6`, string(body), a.Version, ts(a.UpdatedAt), orgID, locationID, itemID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO item_availability (org_id, location_id, item_id, body, version, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6)`, orgID, locationID, itemID, string(body), a.Version, ts(a.UpdatedAt))
		}
		if err != nil {
			return fmt.Errorf("save availability: %w", err)
		}
		out = a
		return tx.emit(ctx, orgID, menu.EventAvailabilityUpdated, locationID, itemID, a, a.UpdatedAt)
	})
	return out, err
}
