package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/fynlo/fynlo/internal/auth"
)

var _ auth.PINStore = (*DB)(nil)

// FindEmployeeByPIN implements auth.PINStore.
func (db *DB) FindEmployeeByPIN(ctx context.Context, locationID, hash string) (*auth.Employee, error) {
	e, err := scanEmployee(db.queryRow(ctx, `SELECT e.`+employeeColumnsQualified+` FROM employee_pins p JOIN employees e ON e.id = p.employee_id
		WHERE p.location_id = $1 AND p.hash = $2 AND e.active`, locationID, hash))
	if err != nil {
		return nil, notFound(err, "employee")
	}
	return e, nil
}

// UpdatePINAttempts implements auth.PINStore.
func (db *DB) UpdatePINAttempts(ctx context.Context, deviceID, employeeID string, update func(*auth.PINAttempts) error) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO pin_attempts (device_id, employee_id, failures) VALUES ($1, $2, 0)
			ON CONFLICT (device_id, employee_id) DO NOTHING`, deviceID, employeeID); err != nil {
			return fmt.Errorf("pin attempts: %w", err)
		}
		var a auth.PINAttempts
		var first, last sql.NullTime
		if err := tx.QueryRowContext(ctx, `SELECT failures, first_failure, last_failure FROM pin_attempts
			WHERE device_id = $1 AND employee_id = $2`+db.forUpdate(), deviceID, employeeID).Scan(&a.Failures, &first, &last); err != nil {
			return fmt.Errorf("pin attempts: %w", err)
		}
		if first.Valid {
			a.FirstFailure = first.Time.UTC()
		}
		if last.Valid {
			a.LastFailure = last.Time.UTC()
		}
		if err := update(&a); err != nil {
			return err
		}
		var firstArg, lastArg any
		if !a.FirstFailure.IsZero() {
			firstArg = ts(a.FirstFailure)
		}
		if !a.LastFailure.IsZero() {
			lastArg = ts(a.LastFailure)
		}
		_, err := tx.ExecContext(ctx, `UPDATE pin_attempts SET failures = $1, first_failure = $2, last_failure = $3
			WHERE device_id = $4 AND employee_id = $5`, a.Failures, firstArg, lastArg, deviceID, employeeID)
		return err
	})
}

// ClearPINAttempts implements auth.PINStore.
func (db *DB) ClearPINAttempts(ctx context.Context, employeeID string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM pin_attempts WHERE employee_id = $1`, employeeID)
		return err
	})
}
