package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
)

// notFound turns sql.ErrNoRows into a NotFound naming what was missing and
// translates anything else.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.NotFoundf(what)
	}
	return translate(err)
}

// mustAffect returns NotFound when an UPDATE or DELETE matched no row.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return apperr.NotFoundf(what)
	}
	return nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// queryAll runs a read query and scans every row with scan.
func queryAll[T any](ctx context.Context, db *DB, scan func(rowScanner) (*T, error), query string, args ...any) ([]*T, error) {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, v)
	}
	return out, translate(rows.Err())
}

// clockNow stamps events of deletions, which carry no object with a time.
func clockNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// scanBody reads a row of one JSON column, the body of a T.
func scanBody[T any](what string) func(rowScanner) (*T, error) {
	return func(row rowScanner) (*T, error) {
		var body string
		if err := row.Scan(&body); err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			return nil, fmt.Errorf("%s body: %w", what, err)
		}
		return &v, nil
	}
}

// mustJSON encodes plain data, which cannot fail.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
