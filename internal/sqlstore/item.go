package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/menu"
)

var _ menu.ItemStore = (*DB)(nil)

// Items keep their searchable keys in columns and the rest in body.
const itemColumns = `id, org_id, category_id, tax_category_id, name, body, archived, version, created_at, updated_at`

func scanItem(row rowScanner) (*menu.Item, error) {
	var it menu.Item
	var body string
	var id, org, cat, tax, name string
	var archived bool
	var version int64
	if err := row.Scan(&id, &org, &cat, &tax, &name, &body, &archived, &version, &it.CreatedAt, &it.UpdatedAt); err != nil {
		return nil, err
	}
	created, updated := it.CreatedAt.UTC(), it.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(body), &it); err != nil {
		return nil, fmt.Errorf("item %s: %w", id, err)
	}
	it.ID, it.OrgID, it.CategoryID, it.TaxCategoryID, it.Name, it.Archived, it.Version = id, org, cat, tax, name, archived, version
	it.CreatedAt, it.UpdatedAt = created, updated
	return &it, nil
}

// writeItemLinks replaces the item's rows in the side tables: its
// barcodes (unique per organization) and the modifier groups it asks.
func writeItemLinks(ctx context.Context, tx *Tx, it *menu.Item) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM item_modifier_groups WHERE item_id = $1`, it.ID); err != nil {
		return err
	}
	for i, g := range it.ModifierGroups {
		if _, err := tx.ExecContext(ctx, `INSERT INTO item_modifier_groups (item_id, group_id, position) VALUES ($1, $2, $3)`, it.ID, g, i); err != nil {
			return fmt.Errorf("link modifier group: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM item_barcodes WHERE item_id = $1`, it.ID); err != nil {
		return err
	}
	if it.Archived {
		return nil // an archived item's barcodes are free for another
	}
	for _, v := range it.Variants {
		for _, b := range v.Barcodes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO item_barcodes (org_id, barcode, item_id, variant_id) VALUES ($1, $2, $3, $4)`,
				it.OrgID, b, it.ID, v.ID); err != nil {
				if apperr.Is(translate(err), apperr.Conflict) {
					return &apperr.Error{Kind: apperr.Invalid, Code: "barcode_taken", Detail: "barcode " + b + " is already on another item",
						Fields: []apperr.FieldError{{Field: "variants.barcodes", Reason: b + " is already on another item"}}, Err: err}
				}
				return err
			}
		}
	}
	return nil
}

// CreateItem implements menu.ItemStore.
func (db *DB) CreateItem(ctx context.Context, it *menu.Item) error {
	return db.inTx(ctx, func(tx *Tx) error { return putItem(ctx, tx, it, true) })
}

// FindItem implements menu.ItemStore.
func (db *DB) FindItem(ctx context.Context, orgID, id string) (*menu.Item, error) {
	it, err := scanItem(db.queryRow(ctx, `SELECT `+itemColumns+` FROM items WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, notFound(err, "item")
	}
	return it, nil
}

// FindItems implements menu.ItemStore.
func (db *DB) FindItems(ctx context.Context, orgID string, f menu.ItemFilter) ([]*menu.Item, error) {
	return queryAll(ctx, db, scanItem, `SELECT `+itemColumns+` FROM items i WHERE org_id = $1 AND id > $2
			AND ($3 = '' OR category_id = $3)
			AND ($4 = '' OR EXISTS (SELECT 1 FROM item_barcodes b WHERE b.item_id = i.id AND b.org_id = $1 AND b.barcode = $4))
			AND ($5 OR NOT archived)
		ORDER BY id LIMIT $6`, orgID, f.After, f.CategoryID, f.Barcode, f.Archived, f.Limit)
}

// UpdateItem implements menu.ItemStore.
func (db *DB) UpdateItem(ctx context.Context, orgID, id string, update func(*menu.Item) error) (*menu.Item, error) {
	var out *menu.Item
	err := db.inTx(ctx, func(tx *Tx) error {
		it, err := scanItem(tx.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM items WHERE org_id = $1 AND id = $2`+db.forUpdate(), orgID, id))
		if err != nil {
			return notFound(err, "item")
		}
		wasArchived, prev := it.Archived, it.Version
		if err := update(it); err != nil {
			return err
		}
		if it.Version == prev {
			out = it
			return nil // nothing changed (archiving twice)
		}
		if err := putItem(ctx, tx, it, false); err != nil {
			return err
		}
		out = it
		typ := menu.EventItemUpdated
		if it.Archived && !wasArchived {
			typ = menu.EventItemArchived
		}
		return tx.emit(ctx, orgID, typ, "", it.ID, it, it.UpdatedAt)
	})
	return out, err
}
