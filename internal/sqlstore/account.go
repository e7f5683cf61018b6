package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/notify"
)

var (
	_ auth.AccountStore = (*DB)(nil)
	_ notify.Store      = (*DB)(nil)
)

// CreatePasswordReset implements auth.AccountStore.
func (db *DB) CreatePasswordReset(ctx context.Context, u *auth.User, tokenHash string, expires time.Time, m notify.Mail) error {
	now := time.Now()
	return db.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO password_resets (token_hash, org_id, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
			tokenHash, u.OrgID, u.ID, ts(expires), ts(now)); err != nil {
			return fmt.Errorf("insert password reset: %w", err)
		}
		return enqueueMail(ctx, tx, m, now)
	})
}

func enqueueMail(ctx context.Context, tx *Tx, m notify.Mail, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO mail_outbox (id, org_id, to_addr, subject, body, next_try_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, m.ID, m.OrgID, m.To, m.Subject, m.Body, ts(now), ts(now))
	if err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	return nil
}

// UsePasswordReset implements auth.AccountStore.
func (db *DB) UsePasswordReset(ctx context.Context, tokenHash, passwordHash string, at time.Time) (*auth.User, error) {
	var out *auth.User
	err := db.inTx(ctx, func(tx *Tx) error {
		var orgID, userID string
		err := tx.QueryRowContext(ctx, `UPDATE password_resets SET used_at = $1
			WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING org_id, user_id`, ts(at), tokenHash).Scan(&orgID, &userID)
		if err != nil {
			return notFound(err, "password reset")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, passwordHash, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, ts(at), userID); err != nil {
			return err
		}
		// Other reset links for the same user die with this one.
		if _, err := tx.ExecContext(ctx, `UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL`, ts(at), userID); err != nil {
			return err
		}
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, userID))
		out = u
		return err
	})
	return out, err
}

// ChangePassword implements auth.AccountStore.
func (db *DB) ChangePassword(ctx context.Context, orgID, userID, passwordHash, keepSession string, at time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE org_id = $2 AND id = $3`, passwordHash, orgID, userID)
		if err != nil {
			return err
		}
		if err := mustAffect(res, "user"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL`,
			ts(at), userID, keepSession)
		return err
	})
}

// FindSessions implements auth.AccountStore.
func (db *DB) FindSessions(ctx context.Context, orgID, userID string) ([]*auth.Session, error) {
	rows, err := db.query(ctx, `SELECT id, org_id, user_id, created_at, expires_at, revoked_at FROM sessions
		WHERE org_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT 200`, orgID, userID)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []*auth.Session{}
	for rows.Next() {
		var s auth.Session
		var revoked sql.NullTime
		if err := rows.Scan(&s.ID, &s.OrgID, &s.UserID, &s.CreatedAt, &s.ExpiresAt, &revoked); err != nil {
			return nil, translate(err)
		}
		s.CreatedAt, s.ExpiresAt, s.RevokedAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC(), timePtr(revoked)
		out = append(out, &s)
	}
	return out, translate(rows.Err())
}

// RevokeUserSession implements auth.AccountStore.
func (db *DB) RevokeUserSession(ctx context.Context, orgID, userID, sessionID string, at time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1) WHERE org_id = $2 AND user_id = $3 AND id = $4`,
			ts(at), orgID, userID, sessionID)
		if err != nil {
			return err
		}
		return mustAffect(res, "session")
	})
}

// PendingMail implements notify.Store.
func (db *DB) PendingMail(ctx context.Context, now time.Time, limit int) ([]notify.Mail, error) {
	rows, err := db.query(ctx, `SELECT id, org_id, to_addr, subject, body, attempts FROM mail_outbox
		WHERE sent_at IS NULL AND next_try_at <= $1 ORDER BY next_try_at LIMIT $2`, ts(now), limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []notify.Mail{}
	for rows.Next() {
		var m notify.Mail
		if err := rows.Scan(&m.ID, &m.OrgID, &m.To, &m.Subject, &m.Body, &m.Attempts); err != nil {
			return nil, translate(err)
		}
		out = append(out, m)
	}
	return out, translate(rows.Err())
}

// MarkMailSent implements notify.Store.
func (db *DB) MarkMailSent(ctx context.Context, id string, at time.Time) error {
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET sent_at = $1, attempts = attempts + 1 WHERE id = $2`, ts(at), id)
		return err
	})
}

// MarkMailFailed implements notify.Store.
func (db *DB) MarkMailFailed(ctx context.Context, id, reason string, retryAt time.Time) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	return db.inTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1, next_try_at = $2 WHERE id = $3`,
			reason, ts(retryAt), id)
		return err
	})
}
