package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/menu"
)

var _ menu.BatchStore = (*DB)(nil)

// WriteBatch implements menu.BatchStore. Objects go in the order that
// satisfies the foreign keys: tax categories, categories (parents first,
// as the batch lists them), modifier groups, items.
func (db *DB) WriteBatch(ctx context.Context, orgID string, b *menu.Batch, progress func(done int)) error {
	return db.inTx(ctx, func(tx *Tx) error {
		done := 0
		step := func(err error) error {
			if err == nil {
				done++
				if progress != nil {
					progress(done)
				}
			}
			return err
		}
		for _, t := range b.TaxCategories {
			if err := step(putTaxCategory(ctx, tx, t, true)); err != nil {
				return err
			}
		}
		for _, c := range b.Categories {
			if err := step(putCategory(ctx, tx, c, true)); err != nil {
				return err
			}
		}
		for _, g := range b.ModifierGroups {
			if err := step(putModifierGroup(ctx, tx, g, true)); err != nil {
				return err
			}
		}
		// Free the barcodes of the items being rewritten first, so one item
		// may take over a barcode another drops in the same batch.
		for _, it := range b.Items {
			if _, err := tx.ExecContext(ctx, `DELETE FROM item_barcodes WHERE org_id = $1 AND item_id = $2`, orgID, it.ID); err != nil {
				return err
			}
		}
		for _, it := range b.Items {
			if err := step(putItem(ctx, tx, it, true)); err != nil {
				return err
			}
		}
		return nil
	})
}

// put inserts a row when version is 1 and otherwise replaces the row at
// version-1, so a write racing another gets version_conflict, not a lost
// update.
func put(ctx context.Context, tx *Tx, what string, version int64, insert string, insertArgs []any, update string, updateArgs []any) error {
	if version == 1 {
		if _, err := tx.ExecContext(ctx, insert, insertArgs...); err != nil {
			return fmt.Errorf("insert %s: %w", what, err)
		}
		return nil
	}
	res, err := tx.ExecContext(ctx, update, append(updateArgs, version-1)...)
	if err != nil {
		return fmt.Errorf("update %s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return &apperr.Error{Kind: apperr.Conflict, Code: "version_conflict",
			Detail: "a " + what + " was changed by someone else meanwhile; re-read it and try again", Err: err}
	}
	return nil
}

// eventFor picks the created or updated event type.
func eventFor(version int64, created, updated string) string {
	if version == 1 {
		return created
	}
	return updated
}

func putTaxCategory(ctx context.Context, tx *Tx, t *menu.TaxCategory, emit bool) error {
	err := put(ctx, tx, "tax category", t.Version,
		`INSERT INTO tax_categories (`+taxCategoryColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		[]any{t.ID, t.OrgID, t.Name, t.Rates.DineIn, t.Rates.Takeaway, t.Rates.Delivery, t.Version, ts(t.CreatedAt), ts(t.UpdatedAt)},
		`UPDATE tax_categories SET name = $1, rate_dine_in = $2, rate_takeaway = $3, rate_delivery = $4, version = $5, updated_at = $6
			WHERE org_id = $7 AND id = $8 AND version = $9`,
		[]any{t.Name, t.Rates.DineIn, t.Rates.Takeaway, t.Rates.Delivery, t.Version, ts(t.UpdatedAt), t.OrgID, t.ID})
	if err != nil || !emit {
		return err
	}
	return tx.emit(ctx, t.OrgID, eventFor(t.Version, menu.EventTaxCategoryCreated, menu.EventTaxCategoryUpdated), "", t.ID, t, t.UpdatedAt)
}

func putCategory(ctx context.Context, tx *Tx, c *menu.Category, emit bool) error {
	err := put(ctx, tx, "category", c.Version,
		`INSERT INTO categories (`+categoryColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		[]any{c.ID, c.OrgID, c.Name, nullString(c.ParentID), c.Position, c.Color, c.Version, ts(c.CreatedAt), ts(c.UpdatedAt)},
		`UPDATE categories SET name = $1, parent_id = $2, position = $3, color = $4, version = $5, updated_at = $6
			WHERE org_id = $7 AND id = $8 AND version = $9`,
		[]any{c.Name, nullString(c.ParentID), c.Position, c.Color, c.Version, ts(c.UpdatedAt), c.OrgID, c.ID})
	if err != nil || !emit {
		return err
	}
	return tx.emit(ctx, c.OrgID, eventFor(c.Version, menu.EventCategoryCreated, menu.EventCategoryUpdated), "", c.ID, c, c.UpdatedAt)
}

func putModifierGroup(ctx context.Context, tx *Tx, g *menu.ModifierGroup, emit bool) error {
	body, err := json.Marshal(g)
	if err != nil {
		return err
	}
	err = put(ctx, tx, "modifier group", g.Version,
		`INSERT INTO modifier_groups (`+modifierGroupColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		[]any{g.ID, g.OrgID, g.Name, string(body), g.Version, ts(g.CreatedAt), ts(g.UpdatedAt)},
		`UPDATE modifier_groups SET name = $1, body = $2, version = $3, updated_at = $4 WHERE org_id = $5 AND id = $6 AND version = $7`,
		[]any{g.Name, string(body), g.Version, ts(g.UpdatedAt), g.OrgID, g.ID})
	if err != nil || !emit {
		return err
	}
	return tx.emit(ctx, g.OrgID, eventFor(g.Version, menu.EventModifierGroupCreated, menu.EventModifierGroupUpdated), "", g.ID, g, g.UpdatedAt)
}

// The put functions write one object's rows; with emit they also append its
// created or updated event (callers with a more telling event pass false).

// putItem writes the item's row and its side tables.
func putItem(ctx context.Context, tx *Tx, it *menu.Item, emit bool) error {
	body, err := json.Marshal(it)
	if err != nil {
		return err
	}
	err = put(ctx, tx, "item", it.Version,
		`INSERT INTO items (`+itemColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		[]any{it.ID, it.OrgID, it.CategoryID, it.TaxCategoryID, it.Name, string(body), it.Archived, it.Version, ts(it.CreatedAt), ts(it.UpdatedAt)},
		`UPDATE items SET category_id = $1, tax_category_id = $2, name = $3, body = $4, archived = $5, version = $6, updated_at = $7
			WHERE org_id = $8 AND id = $9 AND version = $10`,
		[]any{it.CategoryID, it.TaxCategoryID, it.Name, string(body), it.Archived, it.Version, ts(it.UpdatedAt), it.OrgID, it.ID})
	if err != nil {
		return err
	}
	if err := writeItemLinks(ctx, tx, it); err != nil {
		return err
	}
	if !emit {
		return nil
	}
	return tx.emit(ctx, it.OrgID, eventFor(it.Version, menu.EventItemCreated, menu.EventItemUpdated), "", it.ID, it, it.UpdatedAt)
}
