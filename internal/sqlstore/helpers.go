package sqlstore

import (
	"database/sql"
	"errors"
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
