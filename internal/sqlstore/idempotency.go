package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fynlo/fynlo/internal/idempotency"
)

var _ idempotency.Store = (*DB)(nil)

// InsertIdempotencyKey implements idempotency.Store.
func (db *DB) InsertIdempotencyKey(ctx context.Context, r *idempotency.Record) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, fingerprint, done, locked_until, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.Scope, r.Key, r.Fingerprint, false, ts(r.LockedUntil), ts(r.CreatedAt))
		return err
	})
}

// FindIdempotencyKey implements idempotency.Store.
func (db *DB) FindIdempotencyKey(ctx context.Context, scope, key string) (*idempotency.Record, error) {
	r := idempotency.Record{Scope: scope, Key: key}
	var status sql.NullInt64
	var header sql.NullString
	var body []byte
	err := db.queryRow(ctx, `SELECT fingerprint, done, committed, locked_until, status, header, body, created_at
		FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key).
		Scan(&r.Fingerprint, &r.Done, &r.Committed, &r.LockedUntil, &status, &header, &body, &r.CreatedAt)
	if err != nil {
		return nil, notFound(err, "idempotency key")
	}
	r.LockedUntil, r.CreatedAt = r.LockedUntil.UTC(), r.CreatedAt.UTC()
	if r.Done {
		resp := &idempotency.Response{Status: int(status.Int64), Body: body}
		if header.Valid {
			if err := json.Unmarshal([]byte(header.String), &resp.Header); err != nil {
				return nil, fmt.Errorf("idempotency key header: %w", err)
			}
		}
		r.Response = resp
	}
	return &r, nil
}

// markCommitted records, inside tx, that the request holding ctx's claim
// changed state: if the process dies before the answer is stored, a retry
// learns the change happened instead of making it twice.
func markCommitted(ctx context.Context, tx *Tx) error {
	c, ok := idempotency.ClaimFrom(ctx)
	if !ok || c.Repeatable {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET committed = $1 WHERE scope = $2 AND key = $3`, true, c.Scope, c.Key)
	return err
}

// RelockIdempotencyKey implements idempotency.Store.
func (db *DB) RelockIdempotencyKey(ctx context.Context, scope, key string, old, until time.Time) (bool, error) {
	var ok bool
	err := db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET locked_until = $1
			WHERE scope = $2 AND key = $3 AND NOT done AND locked_until = $4`, ts(until), scope, key, ts(old))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n == 1
		return err
	})
	return ok, err
}

// CompleteIdempotencyKey implements idempotency.Store.
func (db *DB) CompleteIdempotencyKey(ctx context.Context, scope, key string, resp *idempotency.Response) error {
	header, err := json.Marshal(resp.Header)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET done = $1, status = $2, header = $3, body = $4
			WHERE scope = $5 AND key = $6`, true, resp.Status, string(header), resp.Body, scope, key)
		if err != nil {
			return err
		}
		return mustAffect(res, "idempotency key")
	})
}

// DeleteIdempotencyKey implements idempotency.Store.
func (db *DB) DeleteIdempotencyKey(ctx context.Context, scope, key string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key)
		return err
	})
}

// DeleteIdempotencyKeysBefore implements idempotency.Store.
func (db *DB) DeleteIdempotencyKeysBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, ts(t))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
