package applepay

import (
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/hex"
	"fmt"
)

// appleRootG3PEM is Apple Root CA - G3, from
// https://www.apple.com/certificateauthority/AppleRootCA-G3.cer, the root
// Apple Pay token signatures chain to. It is public; its SHA-256
// fingerprint is pinned below and checked when it is loaded.
//
//go:embed AppleRootCA-G3.pem
var appleRootG3PEM []byte

// AppleRootG3Fingerprint is the SHA-256 of Apple Root CA - G3 (DER), as
// Apple publishes it.
const AppleRootG3Fingerprint = "63343abfb89a6a03ebb57e9b3f5fa7be7c4f5c756f3017b3a8c488c3653e9179"

// AppleRootG3 returns Apple Root CA - G3, the root a production Verifier
// trusts.
func AppleRootG3() (*x509.Certificate, error) {
	certs, err := ParseCertificatesPEM(appleRootG3PEM)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(certs[0].Raw)
	if hex.EncodeToString(sum[:]) != AppleRootG3Fingerprint {
		return nil, fmt.Errorf("applepay: embedded Apple Root CA - G3 has fingerprint %x, want %s", sum, AppleRootG3Fingerprint)
	}
	return certs[0], nil
}
