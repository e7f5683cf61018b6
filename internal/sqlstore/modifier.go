package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/menu"
)

var _ menu.ModifierStore = (*DB)(nil)

const modifierGroupColumns = `id, org_id, name, body, version, created_at, updated_at`

func scanModifierGroup(row rowScanner) (*menu.ModifierGroup, error) {
	var g menu.ModifierGroup
	var id, org, name, body string
	var version int64
	if err := row.Scan(&id, &org, &name, &body, &version, &g.CreatedAt, &g.UpdatedAt); err != nil {
		return nil, err
	}
	created, updated := g.CreatedAt.UTC(), g.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(body), &g); err != nil {
		return nil, fmt.Errorf("modifier group %s: %w", id, err)
	}
	g.ID, g.OrgID, g.Name, g.Version, g.CreatedAt, g.UpdatedAt = id, org, name, version, created, updated
	return &g, nil
}

// CreateModifierGroup implements menu.ModifierStore.
func (db *DB) CreateModifierGroup(ctx context.Context, g *menu.ModifierGroup) error {
	return db.inTx(ctx, func(tx *Tx) error { return putModifierGroup(ctx, tx, g, true) })
}

// FindModifierGroup implements menu.ModifierStore.
func (db *DB) FindModifierGroup(ctx context.Context, orgID, id string) (*menu.ModifierGroup, error) {
	g, err := scanModifierGroup(db.queryRow(ctx, `SELECT `+modifierGroupColumns+` FROM modifier_groups WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, notFound(err, "modifier group")
	}
	return g, nil
}

// FindModifierGroups implements menu.ModifierStore.
func (db *DB) FindModifierGroups(ctx context.Context, orgID string) ([]*menu.ModifierGroup, error) {
	return queryAll(ctx, db, scanModifierGroup, `SELECT `+modifierGroupColumns+` FROM modifier_groups WHERE org_id = $1 ORDER BY name, id`, orgID)
}

// UpdateModifierGroup implements menu.ModifierStore.
func (db *DB) UpdateModifierGroup(ctx context.Context, orgID, id string, update func(*menu.ModifierGroup) error) (*menu.ModifierGroup, error) {
	var out *menu.ModifierGroup
	err := db.inTx(ctx, func(tx *Tx) error {
		g, err := scanModifierGroup(tx.QueryRowContext(ctx, `SELECT `+modifierGroupColumns+` FROM modifier_groups WHERE org_id = $1 AND id = $2`+db.forUpdate(), orgID, id))
		if err != nil {
			return notFound(err, "modifier group")
		}
		if err := update(g); err != nil {
			return err
		}
		out = g
		return putModifierGroup(ctx, tx, g, true)
	})
	return out, err
}

// DeleteModifierGroup implements menu.ModifierStore.
func (db *DB) DeleteModifierGroup(ctx context.Context, orgID, id string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		// Only a group of this organization is counted: another's is not
		// found rather than "in use", its existence not ours to tell.
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM item_modifier_groups WHERE group_id = $2
			AND EXISTS (SELECT 1 FROM modifier_groups WHERE org_id = $1 AND id = $2)`, orgID, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return apperr.New(apperr.Conflict, "modifier_group_in_use", "items ask this modifier group; remove it from them first")
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM modifier_groups WHERE org_id = $1 AND id = $2`, orgID, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res, "modifier group"); err != nil {
			return err
		}
		return tx.emit(ctx, orgID, menu.EventModifierGroupDeleted, "", id, map[string]string{"id": id}, clockNow())
	})
}
