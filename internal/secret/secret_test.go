package secret

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	b, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed := b.Seal([]byte("sk_test_51abc"), "org_1/stripe/secret_key")
	if strings.Contains(sealed, "sk_test") {
		t.Fatal("the sealed value shows the secret")
	}
	got, err := b.Open(sealed, "org_1/stripe/secret_key")
	if err != nil || !bytes.Equal(got, []byte("sk_test_51abc")) {
		t.Fatalf("open: %q %v", got, err)
	}
	if b.Seal([]byte("x"), "c") == b.Seal([]byte("x"), "c") {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	// Another organization's row, another key, a flipped byte: all refused.
	if _, err := b.Open(sealed, "org_2/stripe/secret_key"); err != ErrOpen {
		t.Errorf("opened under another context: %v", err)
	}
	other := make([]byte, 32)
	rand.Read(other)
	b2, _ := NewBox(other)
	if _, err := b2.Open(sealed, "org_1/stripe/secret_key"); err != ErrOpen {
		t.Errorf("opened with another key: %v", err)
	}
	damaged := []byte(sealed)
	damaged[len(damaged)-3] ^= 1
	if _, err := b.Open(string(damaged), "org_1/stripe/secret_key"); err != ErrOpen {
		t.Errorf("opened a damaged value: %v", err)
	}
	for _, bad := range []string{"", "v1:", "v2:abc", "v1:!!!"} {
		if _, err := b.Open(bad, "c"); err != ErrOpen {
			t.Errorf("Open(%q): %v", bad, err)
		}
	}
	if _, err := NewBox(key[:16]); err == nil {
		t.Error("a short key was accepted")
	}
}
