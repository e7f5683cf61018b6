package app

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// loadSigningKeys reads the Ed25519 keys in dir, newest file name first, and
// makes one if there are none. A key is rotated by adding a newer file: it
// signs from then on while the older ones still verify tokens they signed;
// remove an old file once its tokens have expired.
func loadSigningKeys(dir string) ([]ed25519.PrivateKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keys directory: %w", err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		name, err := generateKey(dir)
		if err != nil {
			return nil, err
		}
		names = []string{name}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	var keys []ed25519.PrivateKey
	for _, n := range names {
		k, err := readKey(n)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", n, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func generateKey(dir string) (string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	name := filepath.Join(dir, "ed25519-"+time.Now().UTC().Format("20060102T150405Z")+".pem")
	// O_EXCL: two nodes starting at once on a shared directory must not
	// overwrite each other's key.
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("write signing key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	return name, f.Close()
}

func readKey(name string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || !strings.Contains(block.Type, "PRIVATE KEY") {
		return nil, errors.New("not a PEM private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	ed, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("not an Ed25519 key")
	}
	return ed, nil
}

// loadPepper reads the secret key PINs are hashed with from dir, making it
// on first start. Like the signing keys it must be the same on every node;
// unlike them it cannot be rotated without every PIN being set again.
func loadPepper(dir string) ([]byte, error) { return loadRandomKey(dir, "pin-pepper.key") }

// loadSecretsKey returns the key that seals stored secrets (payment
// providers' API keys), made on first start. Share it between nodes, like
// the signing keys; lose it and the stored keys must be entered again.
func loadSecretsKey(dir string) ([]byte, error) { return loadRandomKey(dir, "secrets.key") }

// loadRandomKey reads a 32-byte random key from dir, making it the first
// time (a node starting at the same moment reads the one made first).
func loadRandomKey(dir, file string) ([]byte, error) {
	name := filepath.Join(dir, file)
	b, err := os.ReadFile(name)
	if err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("%s: shorter than 32 bytes", name)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // another node made it first
		return loadRandomKey(dir, file)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return b, f.Close()
}
