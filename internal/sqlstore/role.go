package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fynlo/fynlo/internal/auth"
)

var _ auth.RoleStore = (*DB)(nil)

const roleColumns = `id, org_id, name, grants, version, created_at, updated_at`

func scanRole(row rowScanner) (*auth.Role, error) {
	var r auth.Role
	var grants string
	if err := row.Scan(&r.ID, &r.OrgID, &r.Name, &grants, &r.Version, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(grants), &r.Grants); err != nil {
		return nil, fmt.Errorf("role %s grants: %w", r.ID, err)
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// CreateRole implements auth.RoleStore.
func (db *DB) CreateRole(ctx context.Context, r *auth.Role) error {
	grants, err := json.Marshal(r.Grants)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO roles (`+roleColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			r.ID, r.OrgID, r.Name, string(grants), r.Version, ts(r.CreatedAt), ts(r.UpdatedAt)); err != nil {
			return fmt.Errorf("insert role: %w", err)
		}
		return tx.emit(ctx, r.OrgID, auth.EventRoleCreated, "", r.ID, r, r.CreatedAt)
	})
}

// FindRole implements auth.RoleStore.
func (db *DB) FindRole(ctx context.Context, orgID, id string) (*auth.Role, error) {
	r, err := scanRole(db.queryRow(ctx, `SELECT `+roleColumns+` FROM roles WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, notFound(err, "role")
	}
	return r, nil
}

// FindRoles implements auth.RoleStore.
func (db *DB) FindRoles(ctx context.Context, orgID string) ([]*auth.Role, error) {
	rows, err := db.query(ctx, `SELECT `+roleColumns+` FROM roles WHERE org_id = $1 ORDER BY name`, orgID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []*auth.Role{}
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, r)
	}
	return out, translate(rows.Err())
}

// UpdateRole implements auth.RoleStore.
func (db *DB) UpdateRole(ctx context.Context, orgID, id string, update func(*auth.Role) error) (*auth.Role, error) {
	var out *auth.Role
	err := db.inTx(ctx, func(tx *Tx) error {
		r, err := scanRole(tx.QueryRowContext(ctx, `SELECT `+roleColumns+` FROM roles WHERE org_id = $1 AND id = $2`+db.forUpdate(), orgID, id))
		if err != nil {
			return notFound(err, "role")
		}
		prev := r.Version
		if err := update(r); err != nil {
			return err
		}
		grants, err := json.Marshal(r.Grants)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE roles SET name = $1, grants = $2, version = $3, updated_at = $4
			WHERE org_id = $5 AND id = $6 AND version = $7`, r.Name, string(grants), r.Version, ts(r.UpdatedAt), orgID, id, prev); err != nil {
			return fmt.Errorf("update role: %w", err)
		}
		out = r
		return tx.emit(ctx, orgID, auth.EventRoleUpdated, "", r.ID, r, r.UpdatedAt)
	})
	return out, err
}
