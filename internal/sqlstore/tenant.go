package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/fynlo/fynlo/internal/tenant"
)

var _ tenant.Store = (*DB)(nil)

const organizationColumns = `id, name, country, currency, timezone, created_at`

// FindOrganizationByID implements tenant.Store.
func (db *DB) FindOrganizationByID(ctx context.Context, id string) (*tenant.Organization, error) {
	var o tenant.Organization
	err := db.queryRow(ctx, `SELECT `+organizationColumns+` FROM organizations WHERE id = $1`, id).
		Scan(&o.ID, &o.Name, &o.Country, &o.Currency, &o.Timezone, &o.CreatedAt)
	if err != nil {
		return nil, notFound(err, "organization")
	}
	o.CreatedAt = o.CreatedAt.UTC()
	return &o, nil
}

// FindOrganizations returns up to limit organizations, oldest first: the
// command line's way to the one a self-hosted server runs.
func (db *DB) FindOrganizations(ctx context.Context, limit int) ([]*tenant.Organization, error) {
	return queryAll(ctx, db, func(row rowScanner) (*tenant.Organization, error) {
		var o tenant.Organization
		err := row.Scan(&o.ID, &o.Name, &o.Country, &o.Currency, &o.Timezone, &o.CreatedAt)
		o.CreatedAt = o.CreatedAt.UTC()
		return &o, err
	}, `SELECT `+organizationColumns+` FROM organizations ORDER BY created_at, id LIMIT $1`, limit)
}

func insertOrganization(ctx context.Context, tx *Tx, o *tenant.Organization) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO organizations (`+organizationColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		o.ID, o.Name, o.Country, o.Currency, o.Timezone, ts(o.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert organization: %w", err)
	}
	return tx.emit(ctx, o.ID, tenant.EventOrganizationCreated, "", o.ID, o, o.CreatedAt)
}

const locationColumns = `id, org_id, name, address, country, timezone, currency, vat_number, business_day_cutoff, tax_mode,
	service_charge_bp, service_charge_min_covers, gratuity_enabled, gratuity_presets_bp, tax_rounding, version, created_at, updated_at`

func scanLocation(row rowScanner) (*tenant.Location, error) {
	var l tenant.Location
	var addr, presets string
	if err := row.Scan(&l.ID, &l.OrgID, &l.Name, &addr, &l.Country, &l.Timezone, &l.Currency, &l.VATNumber,
		&l.BusinessDayEnd, &l.TaxMode, &l.ServiceChargeBP, &l.ServiceChargeMinCovers, &l.GratuityEnabled, &presets,
		&l.TaxRounding, &l.Version, &l.CreatedAt, &l.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(addr), &l.Address); err != nil {
		return nil, fmt.Errorf("location %s address: %w", l.ID, err)
	}
	var err error
	if l.GratuityPresetsBP, err = parseBPList(presets); err != nil {
		return nil, fmt.Errorf("location %s gratuity presets: %w", l.ID, err)
	}
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return &l, nil
}

// formatBPList stores a list of basis points as one text column on both
// engines: "500,1000,2000".
func formatBPList(bps []int) string {
	parts := make([]string, len(bps))
	for i, bp := range bps {
		parts[i] = strconv.Itoa(bp)
	}
	return strings.Join(parts, ",")
}

// parseBPList reads what formatBPList wrote; "" is an empty list.
func parseBPList(s string) ([]int, error) {
	out := []int{}
	if s == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		bp, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		out = append(out, bp)
	}
	return out, nil
}

func insertLocation(ctx context.Context, tx *Tx, l *tenant.Location) error {
	addr, err := json.Marshal(l.Address)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO locations (`+locationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		l.ID, l.OrgID, l.Name, string(addr), l.Country, l.Timezone, l.Currency, l.VATNumber, l.BusinessDayEnd, l.TaxMode,
		l.ServiceChargeBP, l.ServiceChargeMinCovers, l.GratuityEnabled, formatBPList(l.GratuityPresetsBP), l.TaxRounding,
		l.Version, ts(l.CreatedAt), ts(l.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert location: %w", err)
	}
	return tx.emit(ctx, l.OrgID, tenant.EventLocationCreated, l.ID, l.ID, l, l.CreatedAt)
}

// CreateLocation implements tenant.Store.
func (db *DB) CreateLocation(ctx context.Context, l *tenant.Location) error {
	return db.inTx(ctx, func(tx *Tx) error { return insertLocation(ctx, tx, l) })
}

// FindLocationByID implements tenant.Store.
func (db *DB) FindLocationByID(ctx context.Context, orgID, id string) (*tenant.Location, error) {
	l, err := scanLocation(db.queryRow(ctx,
		`SELECT `+locationColumns+` FROM locations WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, notFound(err, "location")
	}
	return l, nil
}

// FindLocations implements tenant.Store.
func (db *DB) FindLocations(ctx context.Context, orgID string, f tenant.LocationFilter) ([]*tenant.Location, error) {
	rows, err := db.query(ctx,
		`SELECT `+locationColumns+` FROM locations WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`, orgID, f.After, f.Limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []*tenant.Location{}
	for rows.Next() {
		l, err := scanLocation(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, l)
	}
	return out, translate(rows.Err())
}

// UpdateLocation implements tenant.Store.
func (db *DB) UpdateLocation(ctx context.Context, orgID, id string, update func(*tenant.Location) error) (*tenant.Location, error) {
	var out *tenant.Location
	err := db.inTx(ctx, func(tx *Tx) error {
		l, err := scanLocation(tx.QueryRowContext(ctx,
			`SELECT `+locationColumns+` FROM locations WHERE org_id = $1 AND id = $2`+db.forUpdate(), orgID, id))
		if err != nil {
			return notFound(err, "location")
		}
		prev := l.Version
		if err := update(l); err != nil {
			return err
		}
		addr, err := json.Marshal(l.Address)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE locations SET name = $1, address = $2, timezone = $3, currency = $4,
			vat_number = $5, business_day_cutoff = $6, tax_mode = $7, service_charge_bp = $8, service_charge_min_covers = $9,
			gratuity_enabled = $10, gratuity_presets_bp = $11, tax_rounding = $12, version = $13, updated_at = $14
			WHERE org_id = $15 AND id = $16 AND version = $17`,
			l.Name, string(addr), l.Timezone, l.Currency, l.VATNumber, l.BusinessDayEnd, l.TaxMode,
			l.ServiceChargeBP, l.ServiceChargeMinCovers, l.GratuityEnabled, formatBPList(l.GratuityPresetsBP), l.TaxRounding,
			l.Version, ts(l.UpdatedAt), orgID, id, prev); err != nil {
			return fmt.Errorf("update location: %w", err)
		}
		out = l
		return tx.emit(ctx, orgID, tenant.EventLocationUpdated, l.ID, l.ID, l, l.UpdatedAt)
	})
	return out, err
}

// forUpdate locks the rows a write transaction reads on PostgreSQL; SQLite's
// immediate transactions already hold the only write lock.
func (db *DB) forUpdate() string {
	if db.engine == Postgres {
		return ` FOR UPDATE`
	}
	return ""
}

// forShare locks rows against change (but not against other readers that
// share them) until the transaction ends, on PostgreSQL.
func (db *DB) forShare() string {
	if db.engine == Postgres {
		return ` FOR SHARE`
	}
	return ""
}
