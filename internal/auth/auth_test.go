package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
)

var cheap = PasswordParams{Memory: 1024, Time: 1, Threads: 1}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash = %s", h)
	}
	if ok, stale, err := VerifyPassword("correct horse", h, cheap); !ok || stale || err != nil {
		t.Fatalf("verify = %v %v %v", ok, stale, err)
	}
	if ok, _, _ := VerifyPassword("correct horsE", h, cheap); ok {
		t.Fatal("wrong password accepted")
	}
	if _, stale, _ := VerifyPassword("correct horse", h, DefaultPasswordParams); !stale {
		t.Fatal("hash with old parameters not reported stale")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=x$AA$AA", "$argon2id$v=19$m=1024,t=1,p=1$!!$AA"} {
		if _, _, err := VerifyPassword("x", bad, cheap); err == nil {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
	if DefaultPasswordParams.Memory < 19456 || DefaultPasswordParams.Time < 2 {
		t.Fatal("default argon2id cost below OWASP's minimum (19 MiB, t=2)")
	}
}

func newKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTokensAndRotation(t *testing.T) {
	old, cur := newKey(t), newKey(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	p := Principal{UserID: "usr_1", OrgID: "org_1", Role: RoleOwner, SessionID: "ses_1", ExpiresAt: now.Add(15 * time.Minute)}

	oldSet, _ := NewKeySet(old)
	signedOld, err := oldSet.sign(p, now)
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := NewKeySet(cur, old)
	signedNew, _ := rotated.sign(p, now)
	for _, tok := range []string{signedOld, signedNew} {
		got, err := rotated.verify(tok, now.Add(time.Minute))
		if err != nil || got.UserID != "usr_1" || got.OrgID != "org_1" || got.SessionID != "ses_1" {
			t.Fatalf("verify = %+v, %v", got, err)
		}
	}
	// A key that was removed no longer verifies.
	only, _ := NewKeySet(cur)
	if _, err := only.verify(signedOld, now); err == nil {
		t.Fatal("token of a retired key accepted")
	}
	_, err = rotated.verify(signedNew, now.Add(16*time.Minute))
	if ae, ok := err.(*apperr.Error); !ok || ae.Code != "token_expired" {
		t.Fatalf("expired: %v", err)
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		" Owner@Example.COM ": "owner@example.com",
		"a.b+pos@shop.co.uk":  "a.b+pos@shop.co.uk",
	} {
		if got, ok := normalizeEmail(in); !ok || got != want {
			t.Errorf("normalizeEmail(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "owner", "owner@", "@example.com", "Owner <o@example.com>", "o@localhost", "a@b@c.com"} {
		if got, ok := normalizeEmail(bad); ok {
			t.Errorf("normalizeEmail(%q) accepted as %q", bad, got)
		}
	}
}

// FuzzVerify feeds arbitrary tokens to the verifier: it must never panic
// and never accept anything it did not sign.
func FuzzVerify(f *testing.F) {
	ks, _ := NewKeySet(newKey(f))
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	good, _ := ks.sign(Principal{UserID: "u", OrgID: "o", ExpiresAt: now.Add(time.Hour)}, now)
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := ks.verify(tok, now)
		if err == nil && tok != good {
			t.Fatalf("accepted a token it did not issue: %q → %+v", tok, p)
		}
		if err != nil && apperr.KindOf(err) != apperr.Unauthenticated {
			t.Fatalf("error of kind %v", apperr.KindOf(err))
		}
	})
}
