// Package applepay verifies and decrypts Apple Pay payment tokens (EC_v1)
// for a merchant that processes Apple Pay itself, following Apple's
// "Payment token format reference" and "Restoring the symmetric key".
//
// The flow is: ParseToken the paymentData JSON the app sends, then
// Merchant.Decrypt it with a Verifier that trusts Apple Root CA - G3. The
// signature is checked before anything is decrypted. The result holds the
// device account number and cryptogram; it redacts them when printed.
package applepay

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
)

// Error codes of the apperr.Invalid errors this package returns.
const (
	CodeBadToken           = "bad_token"           // malformed, forged, replayed or undecryptable
	CodeWrongMerchant      = "wrong_merchant"      // encrypted for another merchant's key
	CodeUnsupportedVersion = "unsupported_version" // not EC_v1 (e.g. RSA_v1)
)

// Version is the only token version this package accepts.
const Version = "EC_v1"

// DefaultWindow is how far the CMS signing time may be from now when a
// Verifier sets no Window. Apple: a difference of more than a few minutes
// may mean the token is being replayed.
const DefaultWindow = 5 * time.Minute

// Apple's marker extensions (the value does not matter, only presence) and
// the merchant identifier field of the payment processing certificate.
var (
	OIDLeafMarker         = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 29}
	OIDIntermediateMarker = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 2, 14}
	OIDMerchantIdentifier = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 32}
)

// Size limits on outside input; real tokens are a few kilobytes.
const (
	maxTokenJSON = 128 << 10
	maxField     = 64 << 10
)

// Token is the paymentData of a PKPaymentToken: the JSON the Apple Pay
// sheet hands the app, which the app forwards unchanged.
type Token struct {
	Version   string `json:"version"`   // "EC_v1"
	Data      string `json:"data"`      // base64 AES-256-GCM ciphertext and tag
	Signature string `json:"signature"` // base64 detached CMS SignedData
	Header    Header `json:"header"`
}

// Header is the token's header dictionary.
type Header struct {
	EphemeralPublicKey string `json:"ephemeralPublicKey"`        // base64 X.509 SubjectPublicKeyInfo (P-256)
	PublicKeyHash      string `json:"publicKeyHash"`             // base64 SHA-256 of the merchant certificate's SubjectPublicKeyInfo
	TransactionID      string `json:"transactionId"`             // hex
	ApplicationData    string `json:"applicationData,omitempty"` // hex SHA-256 of the request's applicationData, if any
	WrappedKey         string `json:"wrappedKey,omitempty"`      // RSA_v1 only; never accepted here
}

// ParseToken decodes a token from JSON. It accepts the paymentData object
// itself or a whole PKPaymentToken ({"paymentData": {...}, ...}). Errors are
// apperr.Invalid with code bad_token.
func ParseToken(b []byte) (Token, error) {
	if len(b) > maxTokenJSON {
		return Token{}, badToken("the token is too large", nil)
	}
	var probe struct {
		PaymentData json.RawMessage `json:"paymentData"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return Token{}, badToken("the token is not valid JSON", err)
	}
	if len(probe.PaymentData) > 0 && !bytes.Equal(probe.PaymentData, []byte("null")) {
		b = probe.PaymentData
	}
	var t Token
	if err := json.Unmarshal(b, &t); err != nil {
		return Token{}, badToken("the token is not valid JSON", err)
	}
	return t, nil
}

// Merchant is a merchant's Apple Pay payment processing identity: the
// certificate Apple issued and its P-256 private key.
type Merchant struct {
	cert    *x509.Certificate
	key     *ecdh.PrivateKey
	keyHash [32]byte // SHA-256 of the certificate's SubjectPublicKeyInfo
	idHash  [32]byte // the merchant identifier field: SHA-256 of the merchant ID
}

// NewMerchant checks that key (an *ecdsa.PrivateKey or *ecdh.PrivateKey on
// P-256) belongs to cert and that cert carries the merchant identifier field.
func NewMerchant(cert *x509.Certificate, key crypto.PrivateKey) (*Merchant, error) {
	if cert == nil {
		return nil, errors.New("applepay: no merchant certificate")
	}
	var priv *ecdh.PrivateKey
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("applepay: merchant key is not P-256")
		}
		var err error
		if priv, err = k.ECDH(); err != nil {
			return nil, fmt.Errorf("applepay: merchant key: %w", err)
		}
	case *ecdh.PrivateKey:
		if k.Curve() != ecdh.P256() {
			return nil, errors.New("applepay: merchant key is not P-256")
		}
		priv = k
	default:
		return nil, fmt.Errorf("applepay: merchant key is %T, want an EC P-256 key", key)
	}
	certPub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("applepay: merchant certificate key is not EC")
	}
	certECDH, err := certPub.ECDH()
	if err != nil || !certECDH.Equal(priv.PublicKey()) {
		return nil, errors.New("applepay: merchant key does not match the certificate")
	}
	idHash, err := merchantIdentifierField(cert)
	if err != nil {
		return nil, err
	}
	return &Merchant{cert: cert, key: priv, keyHash: sha256.Sum256(cert.RawSubjectPublicKeyInfo), idHash: idHash}, nil
}

// ParseMerchantPEM builds a Merchant from a PEM certificate and a PEM
// private key (PKCS #8 or SEC 1 "EC PRIVATE KEY").
func ParseMerchantPEM(certPEM, keyPEM []byte) (*Merchant, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New("applepay: no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("applepay: merchant certificate: %w", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("applepay: no PEM private key")
	}
	var key crypto.PrivateKey
	switch kb.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kb.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	default:
		return nil, fmt.Errorf("applepay: unexpected PEM block %q for the private key", kb.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("applepay: merchant key: %w", err)
	}
	return NewMerchant(cert, key)
}

// Certificate returns the merchant's payment processing certificate.
func (m *Merchant) Certificate() *x509.Certificate { return m.cert }

// HasIdentifier reports whether the certificate was issued for the merchant
// identifier id (e.g. "merchant.com.example"), to check configuration.
func (m *Merchant) HasIdentifier(id string) bool {
	h := sha256.Sum256([]byte(id))
	return h == m.idHash
}

// merchantIdentifierField reads OID 1.2.840.113635.100.6.32 from the
// certificate. Apple stores the hex SHA-256 of the merchant ID there, as a
// 64-character ASN.1 string; the KDF uses the 32 bytes it spells.
func merchantIdentifierField(cert *x509.Certificate) ([32]byte, error) {
	var out [32]byte
	var val []byte
	for _, e := range cert.Extensions {
		if e.Id.Equal(OIDMerchantIdentifier) {
			val = e.Value
		}
	}
	if val == nil {
		return out, errors.New("applepay: merchant certificate has no merchant identifier field (1.2.840.113635.100.6.32)")
	}
	var raw asn1.RawValue
	if rest, err := asn1.Unmarshal(val, &raw); err == nil && len(rest) == 0 && raw.Class == asn1.ClassUniversal &&
		slices.Contains([]int{asn1.TagUTF8String, asn1.TagIA5String, asn1.TagPrintableString, asn1.TagOctetString}, raw.Tag) {
		val = raw.Bytes
	}
	if len(val) != 64 {
		return out, errors.New("applepay: merchant identifier field is not 64 hex characters")
	}
	if _, err := hex.Decode(out[:], val); err != nil {
		return out, errors.New("applepay: merchant identifier field is not hex")
	}
	return out, nil
}

// Verifier holds what a token signature must chain to.
type Verifier struct {
	// Roots are the trusted roots: in production Apple Root CA - G3 only.
	Roots []*x509.Certificate
	// Window is the largest difference allowed between the CMS signing time
	// and now, either way; zero means DefaultWindow.
	Window time.Duration
}

// ParseCertificatesPEM parses every CERTIFICATE block in b, for loading
// Verifier.Roots from a file.
func ParseCertificatesPEM(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("applepay: certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("applepay: no PEM certificates")
	}
	return certs, nil
}

// Decrypt verifies tok and returns its payment data. In order: the version
// must be EC_v1 (else unsupported_version); the fields must decode and the
// CMS signature over ephemeralPublicKey || data || transactionId ||
// applicationData must come from a leaf certificate chaining through an
// intermediate to v's roots, with Apple's marker extensions, signed within
// v's window of now (else bad_token); the publicKeyHash must be this
// merchant's (else wrong_merchant); then the data is decrypted. All errors
// are apperr.Invalid except a Verifier with no roots (apperr.Internal).
func (m *Merchant) Decrypt(tok Token, v Verifier, now time.Time) (*PaymentData, error) {
	if m == nil || m.key == nil {
		return nil, &apperr.Error{Kind: apperr.Internal, Code: "internal", Err: errors.New("applepay: no merchant configured")}
	}
	if len(v.Roots) == 0 {
		return nil, &apperr.Error{Kind: apperr.Internal, Code: "internal", Err: errors.New("applepay: verifier has no trusted roots")}
	}
	switch tok.Version {
	case Version:
	case "RSA_v1":
		return nil, apperr.New(apperr.Invalid, CodeUnsupportedVersion, "RSA_v1 Apple Pay tokens are not supported; only EC_v1")
	default:
		return nil, apperr.New(apperr.Invalid, CodeUnsupportedVersion, "unsupported Apple Pay token version; only EC_v1")
	}
	f, err := decodeFields(tok)
	if err != nil {
		return nil, err
	}

	// 1. Signature, before anything else is trusted.
	sig, err := verifyDetached(f.signature, f.signedContent())
	if err != nil {
		return nil, badToken("the token signature is not valid", err)
	}
	if err := v.checkChain(sig, now); err != nil {
		return nil, badToken("the token signature is not from Apple", err)
	}
	window := v.Window
	if window <= 0 {
		window = DefaultWindow
	}
	if d := now.Sub(sig.signingTime); d > window || d < -window {
		return nil, badToken("the token was signed too long ago or in the future", fmt.Errorf("signing time %s is %s from now", sig.signingTime.UTC().Format(time.RFC3339), d))
	}

	// 2. Addressed to us?
	if subtle.ConstantTimeCompare(f.publicKeyHash, m.keyHash[:]) != 1 {
		return nil, apperr.New(apperr.Invalid, CodeWrongMerchant, "the token was encrypted for another merchant certificate")
	}

	// 3. Restore the symmetric key and decrypt.
	ephAny, err := x509.ParsePKIXPublicKey(f.ephemeralPublicKey)
	if err != nil {
		return nil, badToken("the ephemeral public key is malformed", err)
	}
	ephECDSA, ok := ephAny.(*ecdsa.PublicKey)
	if !ok || ephECDSA.Curve != elliptic.P256() {
		return nil, badToken("the ephemeral public key is not P-256", nil)
	}
	eph, err := ephECDSA.ECDH()
	if err != nil {
		return nil, badToken("the ephemeral public key is malformed", err)
	}
	z, err := m.key.ECDH(eph)
	if err != nil {
		return nil, badToken("key agreement failed", err)
	}
	key := deriveKey(z, m.idHash)
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, apperr.Wrap(err, "applepay: aes")
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, 16)
	if err != nil {
		return nil, apperr.Wrap(err, "applepay: gcm")
	}
	plain, err := gcm.Open(nil, make([]byte, 16), f.data, nil)
	if err != nil {
		return nil, badToken("the payment data could not be decrypted", nil)
	}
	return parsePaymentData(plain)
}

// deriveKey is the single-round NIST SP 800-56A §5.8.1 concatenation KDF
// with SHA-256 and Apple's inputs:
//
//	SHA-256( 00000001 || Z || 0x0D "id-aes256-GCM" || "Apple" || merchantIDHash )
//
// where Z is the 32-byte ECDH x-coordinate and merchantIDHash is the
// merchant identifier field, SHA-256 of the merchant ID.
func deriveKey(z []byte, merchantIDHash [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0, 0, 0, 1})
	h.Write(z)
	h.Write([]byte("\x0did-aes256-GCM"))
	h.Write([]byte("Apple"))
	h.Write(merchantIDHash[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// fields are a token's decoded byte strings.
type fields struct {
	data, signature, ephemeralPublicKey, publicKeyHash, transactionID, applicationData []byte
}

// signedContent is what Apple signs for EC_v1: the decoded ephemeral public
// key, ciphertext, transaction ID and (if present) application data hash.
func (f fields) signedContent() []byte {
	b := make([]byte, 0, len(f.ephemeralPublicKey)+len(f.data)+len(f.transactionID)+len(f.applicationData))
	b = append(b, f.ephemeralPublicKey...)
	b = append(b, f.data...)
	b = append(b, f.transactionID...)
	return append(b, f.applicationData...)
}

func decodeFields(t Token) (fields, error) {
	var f fields
	var errs apperr.Fields
	b64 := func(name, s string) []byte {
		if s == "" {
			errs.Add(name, "is required")
			return nil
		}
		if len(s) > maxField {
			errs.Add(name, "is too long")
			return nil
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) == 0 {
			errs.Add(name, "must be base64")
			return nil
		}
		return b
	}
	hx := func(name, s string, required bool) []byte {
		if s == "" {
			if required {
				errs.Add(name, "is required")
			}
			return nil
		}
		if len(s) > maxField {
			errs.Add(name, "is too long")
			return nil
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			errs.Add(name, "must be hex")
			return nil
		}
		return b
	}
	f.data = b64("data", t.Data)
	f.signature = b64("signature", t.Signature)
	f.ephemeralPublicKey = b64("header.ephemeralPublicKey", t.Header.EphemeralPublicKey)
	f.publicKeyHash = b64("header.publicKeyHash", t.Header.PublicKeyHash)
	f.transactionID = hx("header.transactionId", t.Header.TransactionID, true)
	f.applicationData = hx("header.applicationData", t.Header.ApplicationData, false)
	if f.publicKeyHash != nil && len(f.publicKeyHash) != sha256.Size {
		errs.Add("header.publicKeyHash", "must be a SHA-256 hash")
	}
	if t.Header.WrappedKey != "" {
		errs.Add("header.wrappedKey", "is not used by EC_v1")
	}
	if len(errs) > 0 {
		e := errs.Err().(*apperr.Error)
		e.Code = CodeBadToken
		return f, e
	}
	return f, nil
}

// checkChain verifies that the signer chains leaf → intermediate → a
// trusted root at now, with Apple's marker extensions on leaf and
// intermediate.
func (v Verifier) checkChain(sig *signature, now time.Time) error {
	roots := x509.NewCertPool()
	for _, r := range v.Roots {
		roots.AddCert(r)
	}
	inter := x509.NewCertPool()
	for _, c := range sig.certs {
		if c != sig.signer {
			allowAppleCritical(c)
			inter.AddCert(c)
		}
	}
	allowAppleCritical(sig.signer)
	chains, err := sig.signer.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return err
	}
	for _, ch := range chains {
		if len(ch) == 3 && hasExtension(ch[0], OIDLeafMarker) && hasExtension(ch[1], OIDIntermediateMarker) {
			return nil
		}
	}
	if !hasExtension(sig.signer, OIDLeafMarker) {
		return errors.New("signer certificate lacks the Apple leaf marker 1.2.840.113635.100.6.29")
	}
	return errors.New("no chain leaf → intermediate with marker 1.2.840.113635.100.6.2.14 → trusted root")
}

// allowAppleCritical drops Apple's marker extensions from the list of
// unhandled critical extensions, since this package handles them. The
// certificates are this call's own parse, so changing them is safe.
func allowAppleCritical(c *x509.Certificate) {
	c.UnhandledCriticalExtensions = slices.DeleteFunc(c.UnhandledCriticalExtensions, func(o asn1.ObjectIdentifier) bool {
		return o.Equal(OIDLeafMarker) || o.Equal(OIDIntermediateMarker)
	})
}

func hasExtension(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return true
		}
	}
	return false
}

func badToken(detail string, err error) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: CodeBadToken, Detail: detail, Err: err}
}
