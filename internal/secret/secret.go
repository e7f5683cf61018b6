// Package secret seals small secrets (a payment provider's API key) for
// storage: AES-256-GCM under the server's secrets key, bound to what they
// belong to, so a database copy alone reveals nothing and a sealed value
// cannot be moved to another organization's row.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// Box seals and opens secrets with one key.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("secrets key: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key[:32])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// prefix marks the format, so a later one can be told apart.
const prefix = "v1:"

// Seal encrypts plaintext bound to context (e.g. "org_…/stripe/secret_key"):
// opening it under another context fails.
func (b *Box) Seal(plaintext []byte, context string) string {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return prefix + base64.RawStdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, plaintext, []byte(context)))
}

// ErrOpen is returned for a sealed value that is damaged, sealed under
// another key, or bound to another context.
var ErrOpen = errors.New("secret: cannot open the sealed value (wrong key or context, or damaged)")

// Open decrypts a sealed value bound to context.
func (b *Box) Open(sealed, context string) ([]byte, error) {
	if len(sealed) < len(prefix) || sealed[:len(prefix)] != prefix {
		return nil, ErrOpen
	}
	raw, err := base64.RawStdEncoding.DecodeString(sealed[len(prefix):])
	if err != nil || len(raw) < b.aead.NonceSize() {
		return nil, ErrOpen
	}
	n := b.aead.NonceSize()
	out, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
