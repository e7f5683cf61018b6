package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fynlo/fynlo/internal/apperr"
)

// Principal is who is calling, as proven by an access token.
type Principal struct {
	UserID    string // the user, or for staff signed in by PIN the employee
	OrgID     string
	Role      string
	SessionID string // empty for staff tokens, which are not refreshed
	// LocationID and DeviceID are set on staff tokens: the employee's role
	// and rights hold at that location, on that device.
	LocationID string
	DeviceID   string
	ExpiresAt  time.Time
}

// Reaches reports whether p may act at locationID: any location of its
// organization for a user's token, its own location only for staff.
func (p Principal) Reaches(locationID string) bool {
	return p.LocationID == "" || p.LocationID == locationID
}

// Token audience and issuer; a token minted for anything else is refused.
const (
	tokenIssuer   = "fynlo"
	tokenAudience = "fynlo-api"
	// tokenLeeway allows for clocks of different nodes disagreeing a little.
	tokenLeeway = 5 * time.Second
)

// KeySet signs access tokens with its first key and verifies with any, so a
// new key can be put first while tokens signed with the old one expire.
type KeySet struct {
	keys []signingKey
}

type signingKey struct {
	id   string
	priv ed25519.PrivateKey
}

// NewKeySet returns a key set; keys[0] signs. Key IDs derive from the public keys.
func NewKeySet(keys ...ed25519.PrivateKey) (*KeySet, error) {
	if len(keys) == 0 {
		return nil, errors.New("auth: no signing keys")
	}
	ks := &KeySet{}
	for _, k := range keys {
		if len(k) != ed25519.PrivateKeySize {
			return nil, errors.New("auth: bad Ed25519 private key")
		}
		sum := sha256.Sum256(k.Public().(ed25519.PublicKey))
		ks.keys = append(ks.keys, signingKey{id: hex.EncodeToString(sum[:8]), priv: k})
	}
	return ks, nil
}

type claims struct {
	jwt.RegisteredClaims
	OrgID      string `json:"org"`
	Role       string `json:"role"`
	SessionID  string `json:"sid,omitempty"`
	LocationID string `json:"loc,omitempty"`
	DeviceID   string `json:"did,omitempty"`
}

// sign mints an access token for p.
func (ks *KeySet) sign(p Principal, issuedAt time.Time) (string, error) {
	k := ks.keys[0]
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: tokenIssuer, Audience: jwt.ClaimStrings{tokenAudience}, Subject: p.UserID,
			IssuedAt: jwt.NewNumericDate(issuedAt), ExpiresAt: jwt.NewNumericDate(p.ExpiresAt),
		},
		OrgID: p.OrgID, Role: p.Role, SessionID: p.SessionID, LocationID: p.LocationID, DeviceID: p.DeviceID,
	})
	t.Header["kid"] = k.id
	return t.SignedString(k.priv)
}

// verify parses an access token. The algorithm is pinned to EdDSA, exp is
// required and the key is chosen by kid from this set only.
func (ks *KeySet) verify(token string, now time.Time) (Principal, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		for _, k := range ks.keys {
			if k.id == kid {
				return k.priv.Public(), nil
			}
		}
		return nil, fmt.Errorf("unknown key id %q", kid)
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(), jwt.WithIssuer(tokenIssuer), jwt.WithAudience(tokenAudience),
		jwt.WithLeeway(tokenLeeway), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Principal{}, apperr.New(apperr.Unauthenticated, "token_expired", "the access token has expired; refresh it")
		}
		return Principal{}, apperr.New(apperr.Unauthenticated, "invalid_token", "the access token is not valid")
	}
	if c.Subject == "" || c.OrgID == "" {
		return Principal{}, apperr.New(apperr.Unauthenticated, "invalid_token", "the access token is not valid")
	}
	return Principal{UserID: c.Subject, OrgID: c.OrgID, Role: c.Role, SessionID: c.SessionID, LocationID: c.LocationID,
		DeviceID: c.DeviceID, ExpiresAt: c.ExpiresAt.Time}, nil
}

// newOpaqueToken returns a random token with the given prefix and the hash
// it is stored under.
func newOpaqueToken(prefix string) (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken returns the SHA-256 under which an opaque token is stored: the
// database never holds a usable token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
