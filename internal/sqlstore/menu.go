package sqlstore

import (
	"context"
	"database/sql"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/menu"
)

var _ menu.Store = (*DB)(nil)

const taxCategoryColumns = `id, org_id, name, rate_dine_in, rate_takeaway, rate_delivery, version, created_at, updated_at`

func scanTaxCategory(row rowScanner) (*menu.TaxCategory, error) {
	var t menu.TaxCategory
	if err := row.Scan(&t.ID, &t.OrgID, &t.Name, &t.Rates.DineIn, &t.Rates.Takeaway, &t.Rates.Delivery, &t.Version,
		&t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// CreateTaxCategory implements menu.Store.
func (db *DB) CreateTaxCategory(ctx context.Context, t *menu.TaxCategory) error {
	return db.inTx(ctx, func(tx *Tx) error { return putTaxCategory(ctx, tx, t, true) })
}

// FindTaxCategory implements menu.Store.
func (db *DB) FindTaxCategory(ctx context.Context, orgID, id string) (*menu.TaxCategory, error) {
	t, err := scanTaxCategory(db.queryRow(ctx, `SELECT `+taxCategoryColumns+` FROM tax_categories WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, notFound(err, "tax category")
	}
	return t, nil
}

// FindTaxCategories implements menu.Store.
func (db *DB) FindTaxCategories(ctx context.Context, orgID string) ([]*menu.TaxCategory, error) {
	return queryAll(ctx, db, scanTaxCategory, `SELECT `+taxCategoryColumns+` FROM tax_categories WHERE org_id = $1 ORDER BY name`, orgID)
}

// UpdateTaxCategory implements menu.Store.
func (db *DB) UpdateTaxCategory(ctx context.Context, orgID, id string, update func(*menu.TaxCategory) error) (*menu.TaxCategory, error) {
	var out *menu.TaxCategory
	err := db.inTx(ctx, func(tx *Tx) error {
		t, err := scanTaxCategory(tx.QueryRowContext(ctx, `SELECT `+taxCategoryColumns+` FROM tax_categories WHERE org_id = $1 AND id = $2`+db.forUpdate(), orgID, id))
		if err != nil {
			return notFound(err, "tax category")
		}
		if err := update(t); err != nil {
			return err
		}
		out = t
		return putTaxCategory(ctx, tx, t, true)
	})
	return out, err
}

// DeleteTaxCategory implements menu.Store.
func (db *DB) DeleteTaxCategory(ctx context.Context, orgID, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM items WHERE org_id = $1 AND tax_category_id = $2`, orgID, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return apperr.New(apperr.Conflict, "tax_category_in_use", "items (archived ones too) use this tax category; move them first")
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM tax_categories WHERE org_id = $1 AND id = $2`, orgID, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res, "tax category"); err != nil {
			return err
		}
		return tx.emit(ctx, orgID, menu.EventTaxCategoryDeleted, "", id, map[string]string{"id": id}, clockNow())
	})
}

const categoryColumns = `id, org_id, name, parent_id, position, color, version, created_at, updated_at`

func scanCategory(row rowScanner) (*menu.Category, error) {
	var c menu.Category
	var parent sql.NullString
	if err := row.Scan(&c.ID, &c.OrgID, &c.Name, &parent, &c.Position, &c.Color, &c.Version, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, err
	}
	c.ParentID, c.CreatedAt, c.UpdatedAt = parent.String, c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateCategory implements menu.Store.
func (db *DB) CreateCategory(ctx context.Context, c *menu.Category) error {
	return db.inTx(ctx, func(tx *Tx) error { return putCategory(ctx, tx, c, true) })
}

// FindCategory implements menu.Store.
func (db *DB) FindCategory(ctx context.Context, orgID, id string) (*menu.Category, error) {
	c, err := scanCategory(db.queryRow(ctx, `SELECT `+categoryColumns+` FROM categories WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, notFound(err, "category")
	}
	return c, nil
}

// FindCategories implements menu.Store.
func (db *DB) FindCategories(ctx context.Context, orgID string) ([]*menu.Category, error) {
	return queryAll(ctx, db, scanCategory, `SELECT `+categoryColumns+` FROM categories WHERE org_id = $1 ORDER BY position, name, id`, orgID)
}

// UpdateCategory implements menu.Store.
func (db *DB) UpdateCategory(ctx context.Context, orgID, id string, update func(*menu.Category) error) (*menu.Category, error) {
	var out *menu.Category
	err := db.inTx(ctx, func(tx *Tx) error {
		c, err := scanCategory(tx.QueryRowContext(ctx, `SELECT `+categoryColumns+` FROM categories WHERE org_id = $1 AND id = $2`+db.forUpdate(), orgID, id))
		if err != nil {
			return notFound(err, "category")
		}
		if err := update(c); err != nil {
			return err
		}
		out = c
		return putCategory(ctx, tx, c, true)
	})
	return out, err
}

// DeleteCategory implements menu.Store.
func (db *DB) DeleteCategory(ctx context.Context, orgID, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		// Scoped by organization, so another organization's category is
		// not found rather than "in use": its existence is not ours to tell.
		var children int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM categories WHERE org_id = $1 AND parent_id = $2)
			+ (SELECT COUNT(*) FROM items WHERE org_id = $1 AND category_id = $2)`, orgID, id).Scan(&children); err != nil {
			return err
		}
		if children > 0 {
			return apperr.New(apperr.Conflict, "category_in_use", "the category holds categories or items (archived ones too); move them first")
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM categories WHERE org_id = $1 AND id = $2`, orgID, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res, "category"); err != nil {
			return err
		}
		return tx.emit(ctx, orgID, menu.EventCategoryDeleted, "", id, map[string]string{"id": id}, clockNow())
	})
}
