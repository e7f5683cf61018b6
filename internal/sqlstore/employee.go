package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/money"
)

var _ auth.EmployeeStore = (*DB)(nil)

const employeeColumns = `id, org_id, name, job_title, email, phone, wage_amount, wage_currency, roles, has_pin, active, version, created_at, updated_at`

// employeeColumnsQualified is employeeColumns after "e." in a join.
var employeeColumnsQualified = strings.ReplaceAll(employeeColumns, ", ", ", e.")

func scanEmployee(row rowScanner) (*auth.Employee, error) {
	var e auth.Employee
	var wage sql.NullInt64
	var currency sql.NullString
	var roles string
	if err := row.Scan(&e.ID, &e.OrgID, &e.Name, &e.JobTitle, &e.Email, &e.Phone, &wage, &currency, &roles,
		&e.HasPIN, &e.Active, &e.Version, &e.CreatedAt, &e.UpdatedAt); err != nil {
		return nil, err
	}
	if wage.Valid {
		e.HourlyWage = &money.Money{Amount: wage.Int64, Currency: currency.String}
	}
	if err := json.Unmarshal([]byte(roles), &e.Roles); err != nil {
		return nil, fmt.Errorf("employee %s roles: %w", e.ID, err)
	}
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return &e, nil
}

func employeeArgs(e *auth.Employee) ([]any, error) {
	roles, err := json.Marshal(e.Roles)
	if err != nil {
		return nil, err
	}
	var wage, currency any
	if e.HourlyWage != nil {
		wage, currency = e.HourlyWage.Amount, e.HourlyWage.Currency
	}
	return []any{e.ID, e.OrgID, e.Name, e.JobTitle, e.Email, e.Phone, wage, currency, string(roles), e.HasPIN, e.Active,
		e.Version, ts(e.CreatedAt), ts(e.UpdatedAt)}, nil
}

// writeEmployeeLinks replaces the employee's locations and, when pins is
// not nil, its PIN hashes.
func writeEmployeeLinks(ctx context.Context, tx *Tx, e *auth.Employee, pins []auth.PINKey) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM employee_locations WHERE employee_id = $1`, e.ID); err != nil {
		return err
	}
	for _, r := range e.Roles {
		if _, err := tx.ExecContext(ctx, `INSERT INTO employee_locations (employee_id, location_id, role_id) VALUES ($1, $2, $3)`,
			e.ID, r.LocationID, r.RoleID); err != nil {
			return fmt.Errorf("insert employee location: %w", err)
		}
	}
	if pins == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM employee_pins WHERE employee_id = $1`, e.ID); err != nil {
		return err
	}
	for _, p := range pins {
		if _, err := tx.ExecContext(ctx, `INSERT INTO employee_pins (employee_id, location_id, hash) VALUES ($1, $2, $3)`,
			e.ID, p.LocationID, p.Hash); err != nil {
			return fmt.Errorf("insert employee pin: %w", err)
		}
	}
	return nil
}

// CreateEmployee implements auth.EmployeeStore.
func (db *DB) CreateEmployee(ctx context.Context, e *auth.Employee, pins []auth.PINKey) error {
	args, err := employeeArgs(e)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO employees (`+employeeColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, args...); err != nil {
			return fmt.Errorf("insert employee: %w", err)
		}
		if err := writeEmployeeLinks(ctx, tx, e, pins); err != nil {
			return err
		}
		return tx.emit(ctx, e.OrgID, auth.EventEmployeeCreated, e.EventLocation(), e.ID, e, e.CreatedAt)
	})
}

// FindEmployee implements auth.EmployeeStore.
func (db *DB) FindEmployee(ctx context.Context, orgID, id string) (*auth.Employee, error) {
	e, err := scanEmployee(db.queryRow(ctx, `SELECT `+employeeColumns+` FROM employees WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return nil, notFound(err, "employee")
	}
	return e, nil
}

// FindEmployees implements auth.EmployeeStore.
func (db *DB) FindEmployees(ctx context.Context, orgID string, f auth.EmployeeFilter) ([]*auth.Employee, error) {
	search := ""
	if f.Search != "" {
		search = "%" + strings.ToLower(f.Search) + "%"
	}
	rows, err := db.query(ctx, `SELECT `+employeeColumns+` FROM employees e WHERE org_id = $1 AND id > $2
			AND ($3 = '' OR lower(name) LIKE $3 OR lower(job_title) LIKE $3 OR email LIKE $3)
			AND ($4 = '' OR EXISTS (SELECT 1 FROM employee_locations l WHERE l.employee_id = e.id AND l.role_id = $4))
			AND ($5 = '' OR EXISTS (SELECT 1 FROM employee_locations l WHERE l.employee_id = e.id AND l.location_id = $5))
		ORDER BY id LIMIT $6`, orgID, f.After, search, f.RoleID, f.LocationID, f.Limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []*auth.Employee{}
	for rows.Next() {
		e, err := scanEmployee(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, e)
	}
	return out, translate(rows.Err())
}

// UpdateEmployee implements auth.EmployeeStore.
func (db *DB) UpdateEmployee(ctx context.Context, orgID, id string, update func(*auth.Employee) ([]auth.PINKey, error)) (*auth.Employee, error) {
	var out *auth.Employee
	err := db.inTx(ctx, func(tx *Tx) error {
		e, err := scanEmployee(tx.QueryRowContext(ctx, `SELECT `+employeeColumns+` FROM employees WHERE org_id = $1 AND id = $2`+db.forUpdate(), orgID, id))
		if err != nil {
			return notFound(err, "employee")
		}
		pins, err := update(e)
		if err != nil {
			return err
		}
		args, err := employeeArgs(e)
		if err != nil {
			return err
		}
		// args is in employeeColumns order; created_at (args[12]) never changes.
		if _, err := tx.ExecContext(ctx, `UPDATE employees SET name = $3, job_title = $4, email = $5, phone = $6, wage_amount = $7,
			wage_currency = $8, roles = $9, has_pin = $10, active = $11, version = $12, updated_at = $13
			WHERE id = $1 AND org_id = $2`, append(args[:12:12], args[13])...); err != nil {
			return fmt.Errorf("update employee: %w", err)
		}
		if err := writeEmployeeLinks(ctx, tx, e, pins); err != nil {
			return err
		}
		out = e
		typ := auth.EventEmployeeUpdated
		if len(pins) > 0 {
			typ = auth.EventEmployeePINSet
		}
		return tx.emit(ctx, orgID, typ, e.EventLocation(), e.ID, e, e.UpdatedAt)
	})
	return out, err
}
