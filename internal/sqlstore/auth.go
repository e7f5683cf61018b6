package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/tenant"
)

var _ auth.Store = (*DB)(nil)

// CreateSignup implements auth.Store.
func (db *DB) CreateSignup(ctx context.Context, org *tenant.Organization, loc *tenant.Location, owner *auth.User, passwordHash string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if err := insertOrganization(ctx, tx, org); err != nil {
			return err
		}
		if err := insertLocation(ctx, tx, loc); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, org_id, name, email, role, password_hash, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			owner.ID, owner.OrgID, owner.Name, owner.Email, owner.Role, passwordHash, ts(owner.CreatedAt)); err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		return tx.emit(ctx, org.ID, auth.EventUserCreated, "", owner.ID, owner, owner.CreatedAt)
	})
}

const userColumns = `id, org_id, name, email, role, created_at`

func scanUser(row rowScanner, extra ...any) (*auth.User, error) {
	var u auth.User
	if err := row.Scan(append([]any{&u.ID, &u.OrgID, &u.Name, &u.Email, &u.Role, &u.CreatedAt}, extra...)...); err != nil {
		return nil, err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

// FindCredentials implements auth.Store.
func (db *DB) FindCredentials(ctx context.Context, email string) (*auth.User, string, error) {
	var hash string
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE email = $1`, email), &hash)
	if err != nil {
		return nil, "", notFound(err, "user")
	}
	return u, hash, nil
}

// SetPasswordHash implements auth.Store.
func (db *DB) SetPasswordHash(ctx context.Context, userID, hash string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
		if err != nil {
			return err
		}
		return mustAffect(res, "user")
	})
}

// FindUserByID implements auth.Store.
func (db *DB) FindUserByID(ctx context.Context, orgID, userID string) (*auth.User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE org_id = $1 AND id = $2`, orgID, userID))
	if err != nil {
		return nil, notFound(err, "user")
	}
	return u, nil
}

// FindUserWithOrganization implements auth.Store.
func (db *DB) FindUserWithOrganization(ctx context.Context, orgID, userID string) (*auth.User, *tenant.Organization, error) {
	var o tenant.Organization
	u, err := scanUser(db.queryRow(ctx, `SELECT u.id, u.org_id, u.name, u.email, u.role, u.created_at,
			o.id, o.name, o.country, o.currency, o.timezone, o.created_at
		FROM users u JOIN organizations o ON o.id = u.org_id WHERE u.org_id = $1 AND u.id = $2`, orgID, userID),
		&o.ID, &o.Name, &o.Country, &o.Currency, &o.Timezone, &o.CreatedAt)
	if err != nil {
		return nil, nil, notFound(err, "user")
	}
	o.CreatedAt = o.CreatedAt.UTC()
	return u, &o, nil
}

// CreateSession implements auth.Store.
func (db *DB) CreateSession(ctx context.Context, s *auth.Session, first *auth.RefreshToken) error {
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, org_id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			s.ID, s.OrgID, s.UserID, ts(s.CreatedAt), ts(s.ExpiresAt)); err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		return insertRefreshToken(ctx, tx, first)
	})
}

func insertRefreshToken(ctx context.Context, tx *Tx, t *auth.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES ($1, $2, $3)`,
		t.Hash, t.SessionID, ts(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

// FindRefreshToken implements auth.Store.
func (db *DB) FindRefreshToken(ctx context.Context, hash string) (*auth.RefreshToken, *auth.Session, error) {
	var t auth.RefreshToken
	var s auth.Session
	var used, revoked sql.NullTime
	err := db.queryRow(ctx, `SELECT t.hash, t.session_id, t.created_at, t.used_at,
			s.id, s.org_id, s.user_id, s.created_at, s.expires_at, s.revoked_at
		FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.hash = $1`, hash).
		Scan(&t.Hash, &t.SessionID, &t.CreatedAt, &used, &s.ID, &s.OrgID, &s.UserID, &s.CreatedAt, &s.ExpiresAt, &revoked)
	if err != nil {
		return nil, nil, notFound(err, "refresh token")
	}
	t.UsedAt, s.RevokedAt = timePtr(used), timePtr(revoked)
	return &t, &s, nil
}

// RotateRefreshToken implements auth.Store.
func (db *DB) RotateRefreshToken(ctx context.Context, usedHash string, t time.Time, next *auth.RefreshToken) error {
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL`, ts(t), usedHash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return apperr.New(apperr.Conflict, "refresh_token_used", "the refresh token was already used")
		}
		return insertRefreshToken(ctx, tx, next)
	})
}

// RevokeSession implements auth.Store.
func (db *DB) RevokeSession(ctx context.Context, sessionID string, t time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, ts(t), sessionID)
		return err
	})
}

// CountLoginFailures implements auth.Store.
func (db *DB) CountLoginFailures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM login_failures WHERE key = $1 AND at >= $2`, key, ts(since)).Scan(&n)
	return n, translate(err)
}

// AddLoginFailures implements auth.Store.
func (db *DB) AddLoginFailures(ctx context.Context, t time.Time, keys ...string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (key, at) VALUES ($1, $2)`, k, ts(t)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ClearLoginFailures implements auth.Store.
func (db *DB) ClearLoginFailures(ctx context.Context, key string) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1`, key)
		return err
	})
}

// DeleteLoginFailuresBefore forgets failures older than t; the throttle
// only looks back one window.
func (db *DB) DeleteLoginFailuresBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE at < $1`, ts(t))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
