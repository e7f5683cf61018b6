package app_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fynlo/fynlo/internal/app"
)

// serverKey reads the signing key the server generated, and the kid of the
// token it issued to a.
func serverKey(t *testing.T, cfg app.Config, a tenant) (ed25519.PrivateKey, string) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(cfg.KeysDir, "*.pem"))
	if len(names) != 1 {
		t.Fatalf("want one generated key in %s, found %v", cfg.KeysDir, names)
	}
	b, err := os.ReadFile(names[0])
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := jwt.NewParser().ParseUnverified(a.Token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return k.(ed25519.PrivateKey), tok.Header["kid"].(string)
}

func claimsOf(t *testing.T, a tenant) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(a.Token, c); err != nil {
		t.Fatal(err)
	}
	return c
}

// expiredToken is a genuine token of a's that expired a minute ago.
func expiredToken(t *testing.T, cfg app.Config, a tenant) string {
	return shortToken(t, cfg, a, -time.Minute)
}

// forgedToken tries the classic attacks: another key with the same kid,
// and alg "none".
func forgedToken(t *testing.T, a tenant) string {
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	c := claimsOf(t, a)
	c["org"] = "org_someone_else"
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	parsed, _, _ := jwt.NewParser().ParseUnverified(a.Token, jwt.MapClaims{})
	tok.Header["kid"] = parsed.Header["kid"]
	s, err := tok.SignedString(other)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAlgNoneRefused(t *testing.T) {
	cfg := testConfig(t, "")
	s := start(t, cfg)
	a := s.signup("none@example.com")
	c := claimsOf(t, a)
	tok := jwt.NewWithClaims(jwt.SigningMethodNone, c)
	unsigned, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	expectProblem(t, s.call("GET", "/api/v1/me", unsigned, nil), 401, "invalid_token")
	// A genuine signature over claims without an expiry.
	forever := mintToken(t, cfg, a, func(c jwt.MapClaims) { delete(c, "exp") })
	expectProblem(t, s.call("GET", "/api/v1/me", forever, nil), 401, "invalid_token")
	// A token with its signature stripped.
	parts := strings.Split(a.Token, ".")
	expectProblem(t, s.call("GET", "/api/v1/me", parts[0]+"."+parts[1]+".", nil), 401, "invalid_token")
}

// mintToken signs, with the server's own key, a's token claims as change
// leaves them: the genuine article, altered.
func mintToken(t *testing.T, cfg app.Config, a tenant, change func(jwt.MapClaims)) string {
	t.Helper()
	key, kid := serverKey(t, cfg, a)
	c := claimsOf(t, a)
	change(c)
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// shortToken is a genuine token of a's that expires in d.
func shortToken(t *testing.T, cfg app.Config, a tenant, d time.Duration) string {
	return mintToken(t, cfg, a, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(d).Unix() })
}
