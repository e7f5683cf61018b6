package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

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
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tax_categories (`+taxCategoryColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			t.ID, t.OrgID, t.Name, t.Rates.DineIn, t.Rates.Takeaway, t.Rates.Delivery, t.Version, ts(t.CreatedAt), ts(t.UpdatedAt)); err != nil {
			return fmt.Errorf("insert tax category: %w", err)
		}
		return tx.emit(ctx, t.OrgID, menu.EventTaxCategoryCreated, "", t.ID, t, t.CreatedAt)
	})
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
		if _, err := tx.ExecContext(ctx, `UPDATE tax_categories SET name = $1, rate_dine_in = $2, rate_takeaway = $3, rate_delivery = $4,
			version = $5, updated_at = $6 WHERE org_id = $7 AND id = $8`, t.Name, t.Rates.DineIn, t.Rates.Takeaway, t.Rates.Delivery,
			t.Version, ts(t.UpdatedAt), orgID, id); err != nil {
			return fmt.Errorf("update tax category: %w", err)
		}
		out = t
		return tx.emit(ctx, orgID, menu.EventTaxCategoryUpdated, "", t.ID, t, t.UpdatedAt)
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
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO categories (`+categoryColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			c.ID, c.OrgID, c.Name, nullString(c.ParentID), c.Position, c.Color, c.Version, ts(c.CreatedAt), ts(c.UpdatedAt)); err != nil {
			return fmt.Errorf("insert category: %w", err)
		}
		return tx.emit(ctx, c.OrgID, menu.EventCategoryCreated, "", c.ID, c, c.CreatedAt)
	})
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
		if _, err := tx.ExecContext(ctx, `UPDATE categories SET name = $1, parent_id = $2, position = $3, color = $4, version = $5, updated_at = $6
			WHERE org_id = $7 AND id = $8`, c.Name, nullString(c.ParentID), c.Position, c.Color, c.Version, ts(c.UpdatedAt), orgID, id); err != nil {
			return fmt.Errorf("update category: %w", err)
		}
		out = c
		return tx.emit(ctx, orgID, menu.EventCategoryUpdated, "", c.ID, c, c.UpdatedAt)
	})
	return out, err
}

// DeleteCategory implements menu.Store.
func (db *DB) DeleteCategory(ctx context.Context, orgID, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		var children int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM categories WHERE parent_id = $1)
			+ (SELECT COUNT(*) FROM items WHERE category_id = $1)`, id).Scan(&children); err != nil {
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
