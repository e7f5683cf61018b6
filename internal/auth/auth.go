// Package auth holds users and how they prove who they are: passwords,
// access tokens, refresh-token sessions and login throttling. Later issues
// add devices, PINs, roles and manager override here.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/audit"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/tenant"
)

// Roles known so far; issue 3 brings the full permission model.
const (
	RoleOwner = "owner"
)

// User is a person who signs in to an organization.
type User struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"organization_id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Session is one signed-in device: a family of refresh tokens, each used
// once. Presenting a used token again revokes the whole family.
type Session struct {
	ID        string
	OrgID     string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// RefreshToken is a stored (hashed) refresh token of a session.
type RefreshToken struct {
	Hash      string
	SessionID string
	CreatedAt time.Time
	UsedAt    *time.Time
}

// Event types written by this domain.
const (
	EventUserCreated = "user.created"
)

// Store persists users, credentials and sessions, and records sign-ins in
// the audit log.
type Store interface {
	audit.Store
	RoleStore
	EmployeeStore
	DeviceStore
	PINStore
	ApprovalStore
	AccountStore
	// CreateSignup inserts a new organization with its first location and
	// owner in one transaction. Errors: Conflict (code email_taken) if the
	// email is in use.
	CreateSignup(ctx context.Context, org *tenant.Organization, loc *tenant.Location, owner *User, passwordHash string) error
	// FindCredentials returns the user with this (lower-case) email and its
	// password hash. Errors: NotFound.
	FindCredentials(ctx context.Context, email string) (*User, string, error)
	// SetPasswordHash replaces a user's password hash. Errors: NotFound.
	SetPasswordHash(ctx context.Context, userID, hash string) error
	// FindUserByID returns a user of org. Errors: NotFound.
	FindUserByID(ctx context.Context, orgID, userID string) (*User, error)
	// FindUserWithOrganization returns a user of org and the organization,
	// in one query: every screen asks for it at start. Errors: NotFound.
	FindUserWithOrganization(ctx context.Context, orgID, userID string) (*User, *tenant.Organization, error)
	// CreateSession inserts a session and its first refresh token.
	CreateSession(ctx context.Context, s *Session, first *RefreshToken) error
	// FindRefreshToken returns a stored token and its session. Errors: NotFound.
	FindRefreshToken(ctx context.Context, hash string) (*RefreshToken, *Session, error)
	// RotateRefreshToken marks usedHash used at t and stores next, in one
	// transaction. Errors: Conflict if usedHash was already used.
	RotateRefreshToken(ctx context.Context, usedHash string, t time.Time, next *RefreshToken) error
	// RevokeSession marks a session revoked at t (idempotent).
	RevokeSession(ctx context.Context, sessionID string, t time.Time) error
	// CountLoginFailures counts failures recorded for key since t.
	CountLoginFailures(ctx context.Context, key string, since time.Time) (int, error)
	// AddLoginFailures records one failure at t for each key.
	AddLoginFailures(ctx context.Context, t time.Time, keys ...string) error
	// ClearLoginFailures forgets key's failures.
	ClearLoginFailures(ctx context.Context, key string) error
}

// Config tunes the service.
type Config struct {
	AccessTTL  time.Duration  // lifetime of an access token
	RefreshTTL time.Duration  // lifetime of a session without use
	Password   PasswordParams // argon2id cost
	// Login throttling: at most AccountFailures failed logins per account
	// and IPFailures per client address within ThrottleWindow.
	ThrottleWindow  time.Duration
	AccountFailures int
	IPFailures      int
}

// DefaultConfig is what a restaurant gets without configuration.
var DefaultConfig = Config{
	AccessTTL: 15 * time.Minute, RefreshTTL: 30 * 24 * time.Hour, Password: DefaultPasswordParams,
	ThrottleWindow: 15 * time.Minute, AccountFailures: 10, IPFailures: 100,
}

// Service signs users up and in.
type Service struct {
	store Store
	keys  *KeySet
	cfg   Config
	now   func() time.Time
	// dummyHash is verified against when the email is unknown, so a wrong
	// email costs as long as a wrong password and timing reveals nothing.
	// Made on first need: hashing costs ~50 ms a server need not spend to start.
	dummyHash func() (string, error)
	verified  *tokenCache
	pepper    []byte // the secret key of PIN hashes, kept outside the database
	roles     *roleCache
}

// NewService returns a Service; pepper is the secret key PINs are hashed with.
func NewService(store Store, keys *KeySet, pepper []byte, cfg Config, now func() time.Time) (*Service, error) {
	if len(pepper) < 32 {
		return nil, errors.New("auth: the PIN pepper must be at least 32 bytes")
	}
	dummy := sync.OnceValues(func() (string, error) { return HashPassword("not-a-real-password", cfg.Password) })
	return &Service{store: store, keys: keys, cfg: cfg, now: now, dummyHash: dummy, verified: newTokenCache(100_000), pepper: pepper, roles: newRoleCache()}, nil
}

// Tokens are what a successful sign-in returns.
type Tokens struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type" example:"Bearer"`
	ExpiresIn        int    `json:"expires_in" doc:"seconds until the access token expires"`
	RefreshToken     string `json:"refresh_token" doc:"single use: each refresh returns a new one"`
	RefreshExpiresIn int    `json:"refresh_expires_in" doc:"seconds until the session expires unless refreshed"`
}

// SignupInput is a new business's first details.
type SignupInput struct {
	BusinessName string
	OwnerName    string
	Email        string
	Password     string
	Country      string
	Currency     string
	Timezone     string
}

// SignupResult is the new organization with its first location and owner.
type SignupResult struct {
	Organization *tenant.Organization
	Location     *tenant.Location
	User         *User
	Tokens       Tokens
}

// MinPasswordLength follows NIST SP 800-63B for memorized secrets.
const MinPasswordLength = 8

// Signup creates an organization, its first location and its owner, and
// signs the owner in.
func (s *Service) Signup(ctx context.Context, in SignupInput) (*SignupResult, error) {
	var f apperr.Fields
	bizName := strings.TrimSpace(in.BusinessName)
	if bizName == "" || utf8.RuneCountInString(bizName) > 120 {
		f.Add("business_name", "must be 1 to 120 characters")
	}
	ownerName := strings.TrimSpace(in.OwnerName)
	if ownerName == "" || utf8.RuneCountInString(ownerName) > 120 {
		f.Add("owner_name", "must be 1 to 120 characters")
	}
	email, ok := normalizeEmail(in.Email)
	if !ok {
		f.Add("email", "must be a valid email address")
	}
	if n := utf8.RuneCountInString(in.Password); n < MinPasswordLength || len(in.Password) > 256 {
		f.Add("password", "must be at least 8 characters and at most 256 bytes")
	}
	tenant.ValidateCountry(&f, "country", in.Country)
	tenant.ValidateCurrency(&f, "currency", in.Currency)
	tenant.ValidateTimezone(&f, "timezone", in.Timezone)
	if err := f.Err(); err != nil {
		return nil, err
	}

	now := s.now().UTC()
	org := &tenant.Organization{ID: id.New(id.Organization), Name: bizName, Country: in.Country,
		Currency: in.Currency, Timezone: in.Timezone, CreatedAt: now}
	loc, err := tenant.NewLocation(org, tenant.LocationInput{Name: bizName}, now)
	if err != nil {
		return nil, err
	}
	owner := &User{ID: id.New(id.User), OrgID: org.ID, Name: ownerName, Email: email, Role: RoleOwner, CreatedAt: now}
	hash, err := HashPassword(in.Password, s.cfg.Password)
	if err != nil {
		return nil, apperr.Wrap(err, "hash password")
	}
	// The new owner is the actor of everything sign-up creates.
	ctx = audit.WithActor(ctx, audit.Actor{ID: owner.ID})
	if err := s.store.CreateSignup(ctx, org, loc, owner, hash); err != nil {
		return nil, err
	}
	tokens, err := s.startSession(ctx, owner)
	if err != nil {
		return nil, err
	}
	return &SignupResult{Organization: org, Location: loc, User: owner, Tokens: tokens}, nil
}

func normalizeEmail(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > 254 {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "", false
	}
	return s, true
}

var errBadLogin = apperr.New(apperr.Unauthenticated, "invalid_credentials", "the email or password is not right")

// Login checks an email and password from client address ip and starts a session.
// Whether the email or the password was wrong is never told.
func (s *Service) Login(ctx context.Context, email, password, ip string) (Tokens, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	accountKey, ipKey := "email:"+email, "ip:"+ip
	now := s.now().UTC()
	since := now.Add(-s.cfg.ThrottleWindow)
	for _, lim := range []struct {
		key string
		max int
	}{{accountKey, s.cfg.AccountFailures}, {ipKey, s.cfg.IPFailures}} {
		n, err := s.store.CountLoginFailures(ctx, lim.key, since)
		if err != nil {
			return Tokens{}, err
		}
		if n >= lim.max {
			return Tokens{}, &apperr.Error{Kind: apperr.RateLimited, Code: "too_many_attempts",
				Detail: "too many failed sign-in attempts; wait and try again", RetryAfterSeconds: int(s.cfg.ThrottleWindow.Seconds())}
		}
	}

	user, hash, err := s.store.FindCredentials(ctx, email)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return Tokens{}, err
	}
	if user == nil {
		if hash, err = s.dummyHash(); err != nil {
			return Tokens{}, apperr.Wrap(err, "hash password")
		}
	}
	ok, stale, err := VerifyPassword(password, hash, s.cfg.Password)
	if err != nil {
		return Tokens{}, apperr.Wrap(err, "verify password")
	}
	if user == nil || !ok {
		if err := s.store.AddLoginFailures(ctx, now, accountKey, ipKey); err != nil {
			return Tokens{}, err
		}
		if user != nil { // an unknown email belongs to no organization's log
			if err := s.record(ctx, user.OrgID, audit.Entry{Action: audit.ActionLoginFailed, SubjectID: user.ID}, ip); err != nil {
				return Tokens{}, err
			}
		}
		return Tokens{}, errBadLogin
	}
	if err := s.store.ClearLoginFailures(ctx, accountKey); err != nil {
		return Tokens{}, err
	}
	if stale {
		// The cost parameters were raised since this hash was made.
		if h, err := HashPassword(password, s.cfg.Password); err == nil {
			if err := s.store.SetPasswordHash(ctx, user.ID, h); err != nil {
				return Tokens{}, err
			}
		}
	}
	tokens, err := s.startSession(ctx, user)
	if err != nil {
		return Tokens{}, err
	}
	return tokens, s.record(ctx, user.OrgID, audit.Entry{Action: audit.ActionLoginSucceeded, ActorID: user.ID, SubjectID: user.ID}, ip)
}

// record appends an audit entry that goes with no state change, noting the
// client address.
func (s *Service) record(ctx context.Context, orgID string, e audit.Entry, ip string) error {
	detail, err := json.Marshal(map[string]string{"ip": ip})
	if err != nil {
		return err
	}
	e.Detail, e.At = detail, s.now().UTC()
	return s.store.AppendAudit(ctx, orgID, e)
}

func (s *Service) startSession(ctx context.Context, u *User) (Tokens, error) {
	now := s.now().UTC()
	sess := &Session{ID: id.New(id.Session), OrgID: u.OrgID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL)}
	refresh, hash, err := newOpaqueToken("rt_")
	if err != nil {
		return Tokens{}, apperr.Wrap(err, "refresh token")
	}
	if err := s.store.CreateSession(ctx, sess, &RefreshToken{Hash: hash, SessionID: sess.ID, CreatedAt: now}); err != nil {
		return Tokens{}, err
	}
	return s.tokens(u.ID, u.OrgID, u.Role, sess, refresh)
}

func (s *Service) tokens(userID, orgID, role string, sess *Session, refresh string) (Tokens, error) {
	now := s.now().UTC()
	exp := now.Add(s.cfg.AccessTTL)
	access, err := s.keys.sign(Principal{UserID: userID, OrgID: orgID, Role: role, SessionID: sess.ID, ExpiresAt: exp}, now)
	if err != nil {
		return Tokens{}, apperr.Wrap(err, "sign access token")
	}
	return Tokens{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTTL.Seconds()),
		RefreshToken: refresh, RefreshExpiresIn: int(sess.ExpiresAt.Sub(now).Seconds())}, nil
}

var errBadRefresh = apperr.New(apperr.Unauthenticated, "invalid_refresh_token", "the refresh token is not valid; sign in again")

// Refresh exchanges a refresh token for new tokens. Each refresh token works
// once; a second use means it was stolen or replayed, and the whole session
// is revoked so that neither holder can go on.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	now := s.now().UTC()
	hash := HashToken(refreshToken)
	tok, sess, err := s.store.FindRefreshToken(ctx, hash)
	if apperr.Is(err, apperr.NotFound) {
		return Tokens{}, errBadRefresh
	}
	if err != nil {
		return Tokens{}, err
	}
	if sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) {
		return Tokens{}, errBadRefresh
	}
	if tok.UsedAt != nil {
		return Tokens{}, s.revokeReused(ctx, sess, now)
	}
	user, err := s.store.FindUserByID(ctx, sess.OrgID, sess.UserID)
	if apperr.Is(err, apperr.NotFound) {
		return Tokens{}, errBadRefresh
	}
	if err != nil {
		return Tokens{}, err
	}
	next, nextHash, err := newOpaqueToken("rt_")
	if err != nil {
		return Tokens{}, apperr.Wrap(err, "refresh token")
	}
	err = s.store.RotateRefreshToken(ctx, hash, now, &RefreshToken{Hash: nextHash, SessionID: sess.ID, CreatedAt: now})
	if apperr.Is(err, apperr.Conflict) {
		// Another request used this token a moment ago: a race of two holders.
		return Tokens{}, s.revokeReused(ctx, sess, now)
	}
	if err != nil {
		return Tokens{}, err
	}
	// Sliding expiry would let a stolen device live forever; the session
	// keeps its original end and the user signs in again after RefreshTTL.
	return s.tokens(user.ID, user.OrgID, user.Role, sess, next)
}

func (s *Service) revokeReused(ctx context.Context, sess *Session, now time.Time) error {
	if err := s.store.RevokeSession(ctx, sess.ID, now); err != nil {
		return err
	}
	if err := s.store.AppendAudit(ctx, sess.OrgID, audit.Entry{Action: audit.ActionRefreshReused, SubjectID: sess.UserID,
		Detail: json.RawMessage(`{"session_id":"` + sess.ID + `"}`), At: now}); err != nil {
		return err
	}
	return apperr.New(apperr.Unauthenticated, "refresh_token_reused",
		"this refresh token was already used; the session has been ended for safety, sign in again")
}

// Logout ends the caller's session: its refresh tokens stop working at once
// and its access token at its expiry.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	now := s.now().UTC()
	if err := s.store.RevokeSession(ctx, p.SessionID, now); err != nil {
		return err
	}
	return s.store.AppendAudit(ctx, p.OrgID, audit.Entry{Action: audit.ActionLogout, ActorID: p.UserID, SubjectID: p.UserID,
		Detail: json.RawMessage(`{"session_id":"` + p.SessionID + `"}`), At: now})
}

// Authenticate verifies an access token without touching the database.
// Errors: Unauthenticated (code token_expired or invalid_token).
func (s *Service) Authenticate(token string) (Principal, error) {
	now := s.now()
	if p, ok, err := s.verified.get(token, now); ok {
		return p, err
	}
	p, err := s.keys.verify(token, now)
	if err == nil {
		s.verified.put(token, p)
	}
	return p, err
}

// Me returns the signed-in user and their organization.
func (s *Service) Me(ctx context.Context, p Principal) (*User, *tenant.Organization, error) {
	return s.store.FindUserWithOrganization(ctx, p.OrgID, p.UserID)
}
