package auth

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/audit"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/notify"
)

// ResetTTL is how long a password-reset link works.
const ResetTTL = time.Hour

// AccountStore persists what account care needs.
type AccountStore interface {
	// CreatePasswordReset stores a reset token's hash for a user and puts
	// the email carrying it in the outbox, in one transaction.
	CreatePasswordReset(ctx context.Context, u *User, tokenHash string, expires time.Time, mail notify.Mail) error
	// UsePasswordReset marks the unexpired, unused reset with this hash
	// used, sets the user's password hash and revokes every session of the
	// user, in one transaction; it returns the user. Errors: NotFound.
	UsePasswordReset(ctx context.Context, tokenHash, passwordHash string, at time.Time) (*User, error)
	// ChangePassword sets a user's password hash and revokes their other
	// sessions (all but keepSession).
	ChangePassword(ctx context.Context, orgID, userID, passwordHash, keepSession string, at time.Time) error
	// FindSessions returns a user's sessions, newest first.
	FindSessions(ctx context.Context, orgID, userID string) ([]*Session, error)
	// RevokeUserSession revokes one of a user's sessions. Errors: NotFound.
	RevokeUserSession(ctx context.Context, orgID, userID, sessionID string, at time.Time) error
}

// ResetLinkBase is where the emailed reset token is meant to be used; the
// back office (a later issue) serves it. Clients may also post the token.
var ResetLinkBase = "/reset-password?token="

// RequestPasswordReset emails a single-use reset token to the address if
// it belongs to a user. The answer is the same either way, so the endpoint
// says nothing about which emails have accounts.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	u, _, err := s.store.FindCredentials(ctx, email)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	token, hash, err := newOpaqueToken("pr_")
	if err != nil {
		return apperr.Wrap(err, "reset token")
	}
	now := s.now().UTC()
	mail := notify.Mail{ID: id.New(id.Mail), OrgID: u.OrgID, To: u.Email, Subject: "Reset your Fynlo password",
		Body: "Hello " + u.Name + ",\n\nSomeone (we hope you) asked to reset the password of your Fynlo account.\n" +
			"Use this link within an hour; it works once:\n\n" + ResetLinkBase + token + "\n\n" +
			"If it was not you, ignore this message: your password stays as it is.\n"}
	if err := s.store.CreatePasswordReset(ctx, u, hash, now.Add(ResetTTL), mail); err != nil {
		return err
	}
	return s.store.AppendAudit(ctx, u.OrgID, audit.Entry{Action: audit.ActionResetRequested, SubjectID: u.ID, At: now})
}

// ResetPassword sets a new password with a reset token and signs the
// user out everywhere.
func (s *Service) ResetPassword(ctx context.Context, token, newPassword string) error {
	if err := checkPassword(newPassword); err != nil {
		return err
	}
	hash, err := HashPassword(newPassword, s.cfg.Password)
	if err != nil {
		return apperr.Wrap(err, "hash password")
	}
	now := s.now().UTC()
	u, err := s.store.UsePasswordReset(ctx, HashToken(token), hash, now)
	if apperr.Is(err, apperr.NotFound) {
		return apperr.New(apperr.Unauthenticated, "invalid_reset_token", "the reset link is wrong, used or expired; ask for a new one")
	}
	if err != nil {
		return err
	}
	return s.store.AppendAudit(ctx, u.OrgID, audit.Entry{Action: audit.ActionPasswordReset, ActorID: u.ID, SubjectID: u.ID, At: now})
}

// ChangePassword changes the signed-in user's password after checking the
// current one, and ends their other sessions.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, newPassword string) error {
	if p.SessionID == "" {
		return apperr.New(apperr.Forbidden, "not_a_user", "staff signed in by PIN have no password")
	}
	u, err := s.store.FindUserByID(ctx, p.OrgID, p.UserID)
	if err != nil {
		return err
	}
	_, hash, err := s.store.FindCredentials(ctx, u.Email)
	if err != nil {
		return err
	}
	if ok, _, err := VerifyPassword(current, hash, s.cfg.Password); err != nil || !ok {
		return &apperr.Error{Kind: apperr.Unauthenticated, Code: "invalid_credentials", Detail: "the current password is not right",
			Fields: []apperr.FieldError{{Field: "current_password", Reason: "is not right"}}}
	}
	if err := checkPassword(newPassword); err != nil {
		return err
	}
	newHash, err := HashPassword(newPassword, s.cfg.Password)
	if err != nil {
		return apperr.Wrap(err, "hash password")
	}
	now := s.now().UTC()
	if err := s.store.ChangePassword(ctx, p.OrgID, p.UserID, newHash, p.SessionID, now); err != nil {
		return err
	}
	return s.store.AppendAudit(ctx, p.OrgID, audit.Entry{Action: audit.ActionPasswordChanged, ActorID: p.UserID, SubjectID: p.UserID, At: now})
}

func checkPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLength || len(pw) > 256 {
		return apperr.Field("new_password", "must be at least 8 characters and at most 256 bytes")
	}
	return nil
}

// SessionView is a session as its owner sees it.
type SessionView struct {
	ID        string     `json:"id"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Current   bool       `json:"current" doc:"the session this request comes from"`
}

// Sessions lists the signed-in user's sessions.
func (s *Service) Sessions(ctx context.Context, p Principal) ([]SessionView, error) {
	ss, err := s.store.FindSessions(ctx, p.OrgID, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]SessionView, len(ss))
	for i, x := range ss {
		out[i] = SessionView{ID: x.ID, CreatedAt: x.CreatedAt, ExpiresAt: x.ExpiresAt, RevokedAt: x.RevokedAt, Current: x.ID == p.SessionID}
	}
	return out, nil
}

// RevokeSession ends one of the signed-in user's sessions (a lost phone).
func (s *Service) RevokeSession(ctx context.Context, p Principal, sessionID string) error {
	now := s.now().UTC()
	if err := s.store.RevokeUserSession(ctx, p.OrgID, p.UserID, sessionID, now); err != nil {
		return err
	}
	detail, _ := json.Marshal(map[string]string{"session_id": sessionID})
	return s.store.AppendAudit(ctx, p.OrgID, audit.Entry{Action: audit.ActionLogout, ActorID: p.UserID, SubjectID: p.UserID, Detail: detail, At: now})
}
