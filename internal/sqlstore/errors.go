package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/fynlo/fynlo/internal/apperr"
)

// translate turns a driver error into an apperr kind; it is the one place
// that knows what the drivers' errors look like. Errors that are already
// *apperr.Error (from a domain callback) pass through.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &apperr.Error{Kind: apperr.NotFound, Code: "not_found", Detail: "not found", Err: err}
	}
	if unreachable(err) {
		return &apperr.Error{Kind: apperr.Unavailable, Code: "database_unavailable", RetryAfterSeconds: 2,
			Detail: "the database cannot be reached just now; retry in a moment (with the same Idempotency-Key and IDs a retry is safe)", Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &apperr.Error{Kind: apperr.Internal, Code: "canceled", Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return conflict(pgErr.ConstraintName, err)
		case "23503": // foreign_key_violation
			return &apperr.Error{Kind: apperr.Invalid, Code: "missing_reference", Detail: "a referenced object does not exist", Err: err}
		case "23514", "23502", "22001": // check, not null, string too long
			return &apperr.Error{Kind: apperr.Invalid, Code: "invalid", Detail: "the value is not allowed", Err: err}
		case "22021", "22P05": // a NUL (or untranslatable) character: PostgreSQL text cannot hold it
			return refuseNUL(err)
		case "40001", "40P01": // serialization failure, deadlock
			return &apperr.Error{Kind: apperr.Conflict, Code: "retry", Detail: "the request clashed with another; retry it", Err: err}
		}
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return conflict(sqErr.Error(), err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &apperr.Error{Kind: apperr.Invalid, Code: "missing_reference", Detail: "a referenced object does not exist", Err: err}
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return &apperr.Error{Kind: apperr.Invalid, Code: "invalid", Detail: "the value is not allowed", Err: err}
		}
	}
	return &apperr.Error{Kind: apperr.Internal, Code: "internal", Err: err}
}

// conflict names the usual unique constraints in terms a client understands.
func conflict(constraint string, err error) error {
	if strings.Contains(constraint, "users_email") || strings.Contains(constraint, "users.email") {
		return &apperr.Error{Kind: apperr.Conflict, Code: "email_taken", Detail: "an account with this email already exists",
			Fields: []apperr.FieldError{{Field: "email", Reason: "is already registered"}}, Err: err}
	}
	if strings.Contains(constraint, "employee_pins_location_hash") || strings.Contains(constraint, "employee_pins.location_id, employee_pins.hash") {
		return &apperr.Error{Kind: apperr.Conflict, Code: "pin_taken", Detail: "another employee at this location has this PIN; choose another",
			Fields: []apperr.FieldError{{Field: "pin", Reason: "is in use at this location"}}, Err: err}
	}
	if strings.Contains(constraint, "tax_categories_org_name") || strings.Contains(constraint, "tax_categories.org_id, tax_categories.name") {
		return &apperr.Error{Kind: apperr.Conflict, Code: "name_taken", Detail: "a tax category with this name already exists",
			Fields: []apperr.FieldError{{Field: "name", Reason: "is already taken"}}, Err: err}
	}
	if strings.Contains(constraint, "roles_org_name") || strings.Contains(constraint, "roles.org_id, roles.name") {
		return &apperr.Error{Kind: apperr.Conflict, Code: "role_name_taken", Detail: "a role with this name already exists",
			Fields: []apperr.FieldError{{Field: "name", Reason: "is already the name of a role"}}, Err: err}
	}
	return &apperr.Error{Kind: apperr.Conflict, Code: "already_exists", Detail: "an object with this ID already exists", Err: err}
}

// unreachable reports whether err says the database could not be reached
// (down, restarting, refusing connections), as opposed to refusing the
// statement: a moment's outage is a 503 to retry, not a 500.
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: the server is
		// shutting down, crashed, or not yet accepting connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var connErr *pgconn.ConnectError
	var netErr *net.OpError
	return errors.As(err, &connErr) || errors.As(err, &netErr) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}

// refuseNUL refuses a value with a NUL character, which PostgreSQL's text
// cannot hold; SQLite is held to the same.
func refuseNUL(err error) *apperr.Error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "invalid_character", Detail: "a value holds a character that cannot be stored (NUL)", Err: err}
}
