package sqlstore

import (
	"context"
	"fmt"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/order"
)

var _ order.TableStore = (*DB)(nil)

const tableCols = `id, org_id, location_id, area, name, seats, position, archived, version, created_at, updated_at`

func scanTable(row rowScanner) (*order.Table, error) {
	var t order.Table
	if err := row.Scan(&t.ID, &t.OrgID, &t.LocationID, &t.Area, &t.Name, &t.Seats, &t.Position, &t.Archived, &t.Version,
		&t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt, t.OrderIDs, t.Status = t.CreatedAt.UTC(), t.UpdatedAt.UTC(), []string{}, order.TableFree
	return &t, nil
}

// tableConflict tells a taken ID from a taken name.
func (db *DB) tableConflict(ctx context.Context, err error, t *order.Table) error {
	if !apperr.Is(err, apperr.Conflict) {
		return err
	}
	if _, ferr := db.FindTable(ctx, t.OrgID, t.ID); ferr == nil {
		return apperr.New(apperr.Conflict, "already_exists", "a table with this ID exists")
	}
	return tableNameTaken(t)
}

func tableNameTaken(t *order.Table) error {
	return &apperr.Error{Kind: apperr.Conflict, Code: "table_name_taken", Detail: "the location has a table called " + t.Name,
		Fields: []apperr.FieldError{{Field: "name", Reason: "is taken at this location"}}}
}

// CreateTable implements order.TableStore.
func (db *DB) CreateTable(ctx context.Context, t *order.Table) error {
	err := db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dining_tables (`+tableCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			t.ID, t.OrgID, t.LocationID, t.Area, t.Name, t.Seats, t.Position, t.Archived, t.Version, ts(t.CreatedAt), ts(t.UpdatedAt)); err != nil {
			return err
		}
		return tx.emit(ctx, t.OrgID, order.EventTableCreated, t.LocationID, t.ID, t, t.CreatedAt)
	})
	return db.tableConflict(ctx, err, t)
}

// FindTable implements order.TableStore.
func (db *DB) FindTable(ctx context.Context, orgID, id string) (*order.Table, error) {
	t, err := scanTable(db.queryRow(ctx, `SELECT `+tableCols+` FROM dining_tables WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, notFound(err, "table")
	}
	return t, nil
}

// FindTables implements order.TableStore.
func (db *DB) FindTables(ctx context.Context, orgID, locationID string, archived bool) ([]*order.Table, error) {
	return queryAll(ctx, db, scanTable, `SELECT `+tableCols+` FROM dining_tables WHERE org_id = $1 AND location_id = $2
		AND ($3 OR NOT archived) ORDER BY area, position, name`, orgID, locationID, archived)
}

// UpdateTable implements order.TableStore.
func (db *DB) UpdateTable(ctx context.Context, orgID, id string, update func(*order.Table) error) (*order.Table, error) {
	var out *order.Table
	saving := false
	err := db.inTx(ctx, func(tx *Tx) error {
		t, err := scanTable(tx.QueryRowContext(ctx, `SELECT `+tableCols+` FROM dining_tables WHERE org_id = $1 AND id = $2`+db.forUpdate(), orgID, id))
		if err != nil {
			return notFound(err, "table")
		}
		if err := update(t); err != nil {
			return err
		}
		out, saving = t, true
		if _, err := tx.ExecContext(ctx, `UPDATE dining_tables SET area = $1, name = $2, seats = $3, position = $4, archived = $5,
			version = $6, updated_at = $7 WHERE id = $8`, t.Area, t.Name, t.Seats, t.Position, t.Archived, t.Version, ts(t.UpdatedAt), t.ID); err != nil {
			return fmt.Errorf("update table: %w", err)
		}
		saving = false
		return tx.emit(ctx, orgID, order.EventTableUpdated, t.LocationID, t.ID, t, t.UpdatedAt)
	})
	if saving && apperr.Is(err, apperr.Conflict) {
		// The row being updated exists, so the only key it can break is
		// the name (unique per location among tables in use).
		return nil, tableNameTaken(out)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}
