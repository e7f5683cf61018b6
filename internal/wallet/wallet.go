// Package wallet keeps organizations' Apple Pay merchant identities, for
// restaurants that process Apple Pay themselves rather than through
// Stripe: the merchant identifier, display name and web domains, the
// merchant identity certificate (to validate the merchant with Apple for
// Apple Pay on the web) and the payment processing certificate (to decrypt
// payment tokens), each with its private key.
//
// Keys are sealed (secret.Box) bound to the organization and their
// purpose, and never shown again; certificates are public and shown by
// subject and expiry. A certificate within 30 days of expiry raises one
// applepay.certificate_expiring event. What speaks to Apple (TLS, CMS,
// ECDH) lives in the payment/applepay adapter behind the interfaces here.
package wallet

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/payment"
	"github.com/fynlo/fynlo/internal/secret"
)

// Events the package writes.
const (
	EventApplePayUpdated     = "applepay.updated"
	EventCertificateExpiring = "applepay.certificate_expiring"
)

// WarnBefore is how long before a certificate expires its warning is raised.
const WarnBefore = 30 * 24 * time.Hour

// The two certificates, as events and warnings name them.
const (
	KindIdentity   = "merchant_identity"
	KindProcessing = "payment_processing"
)

// ApplePay is an organization's Apple Pay merchant identity, as shown.
type ApplePay struct {
	OrgID              string   `json:"organization_id"`
	MerchantIdentifier string   `json:"merchant_identifier" example:"merchant.com.example.restaurant"`
	DisplayName        string   `json:"display_name" doc:"shown on the Apple Pay sheet on the web"`
	Domains            []string `json:"domains" doc:"the checkout pages' domains, registered with Apple"`
	// IdentityCertificate validates the merchant with Apple (Apple Pay on
	// the web); ProcessingCertificate decrypts payment tokens.
	IdentityCertificate   *Certificate `json:"merchant_identity_certificate,omitempty"`
	ProcessingCertificate *Certificate `json:"payment_processing_certificate,omitempty"`
	Version               int64        `json:"version"`
	UpdatedAt             time.Time    `json:"updated_at"`

	IdentityCertPEM     string `json:"-"`
	SealedIdentityKey   string `json:"-"`
	ProcessingCertPEM   string `json:"-"`
	SealedProcessingKey string `json:"-"`
}

// Certificate describes an uploaded certificate.
type Certificate struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	Serial      string    `json:"serial_number"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after" doc:"the certificate expires then; a warning event is raised 30 days before"`
	Fingerprint string    `json:"sha256_fingerprint"`
}

// Warning is a certificate's expiry warning.
type Warning struct {
	OrgID       string    `json:"-"`
	Certificate string    `json:"certificate" enum:"merchant_identity,payment_processing"`
	Subject     string    `json:"subject"`
	Fingerprint string    `json:"sha256_fingerprint"`
	NotAfter    time.Time `json:"not_after"`
	DaysLeft    int       `json:"days_left" doc:"negative when already expired"`
	Threshold   string    `json:"threshold" doc:"which warning this is: 30d"`
	At          time.Time `json:"-"`
}

// Store keeps Apple Pay identities.
type Store interface {
	// FindApplePay errors: NotFound.
	FindApplePay(ctx context.Context, orgID string) (*ApplePay, error)
	// SaveApplePay writes an identity whose version was Version−1 (0: none
	// yet) and an applepay.updated event. Errors: Conflict version_conflict.
	SaveApplePay(ctx context.Context, ap *ApplePay) error
	// FindApplePayExpiring returns the identities with a certificate
	// expiring before before, of every organization.
	FindApplePayExpiring(ctx context.Context, before time.Time) ([]*ApplePay, error)
	// RecordCertificateWarning writes w and its applepay.certificate_expiring
	// event unless a warning for the same certificate and threshold was
	// written before, reporting whether it wrote one.
	RecordCertificateWarning(ctx context.Context, w Warning) (bool, error)
}

// Checker checks what only Apple's formats can tell. Its errors are
// reasons, shown to the merchant against the certificate's field.
type Checker interface {
	// CheckProcessing checks a payment processing certificate and key:
	// usable to decrypt tokens, issued for merchantID.
	CheckProcessing(certPEM, keyPEM []byte, merchantID string) error
	// CheckIdentity checks that a merchant identity certificate, where it
	// names a merchant identifier, names merchantID.
	CheckIdentity(certPEM []byte, merchantID string) error
}

// SessionRequest is a merchant validation for Apple Pay on the web.
type SessionRequest struct {
	ValidationURL, MerchantIdentifier, DisplayName, Domain string
	IdentityCertPEM, IdentityKeyPEM                        []byte
}

// SessionValidator asks Apple for a merchant session.
type SessionValidator interface {
	// Session returns Apple's session object as Apple sent it. Errors:
	// Invalid validation_url_not_allowed (nothing sent), Conflict when
	// Apple refuses, Unavailable when Apple cannot be reached.
	Session(ctx context.Context, req SessionRequest) ([]byte, error)
}

// Processing is the identity a token is opened with.
type Processing struct {
	MerchantIdentifier string
	CertPEM, KeyPEM    []byte
}

// TokenOpener verifies and decrypts payment tokens.
type TokenOpener interface {
	// OpenToken errors: Invalid (422) for a token whose signature, chain,
	// signing time or encryption fails, or whose contents are unusable.
	OpenToken(ctx context.Context, token []byte, p Processing, now time.Time) (*payment.NetworkToken, error)
}

// Deps are what a Service needs.
type Deps struct {
	Store    Store
	Box      *secret.Box
	Checker  Checker
	Sessions SessionValidator
	Tokens   TokenOpener
	Now      func() time.Time
}

// Service manages Apple Pay identities and uses them.
type Service struct{ d Deps }

var _ payment.ApplePayTokens = (*Service)(nil)

// NewService returns a Service.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d}
}

func keyContext(orgID, kind string) string { return orgID + "/applepay/" + kind + "_key" }

// Input sets an organization's Apple Pay identity. A certificate given
// needs its key; one not given keeps the stored one.
type Input struct {
	Version                             int64
	MerchantIdentifier, DisplayName     string
	Domains                             []string
	IdentityCertPEM, IdentityKeyPEM     string
	ProcessingCertPEM, ProcessingKeyPEM string
}

// Field names, as the API calls them.
const (
	fieldIdentityCert   = "merchant_identity_certificate"
	fieldIdentityKey    = "merchant_identity_key"
	fieldProcessingCert = "payment_processing_certificate"
	fieldProcessingKey  = "payment_processing_key"
)

const maxPEM = 16 << 10

// ApplePay returns an organization's identity. Errors: NotFound.
func (s *Service) ApplePay(ctx context.Context, orgID string) (*ApplePay, error) {
	return s.d.Store.FindApplePay(ctx, orgID)
}

// SetApplePay checks and stores an organization's identity, its keys
// sealed, and raises the expiry warnings now due. The API asks for
// settings.manage first. Errors: Invalid naming the fields; Conflict
// version_conflict.
func (s *Service) SetApplePay(ctx context.Context, orgID string, in Input) (*ApplePay, error) {
	if s.d.Box == nil {
		return nil, apperr.New(apperr.Conflict, "wallet_unavailable", "this server cannot keep Apple Pay keys (no secrets key)")
	}
	now := s.d.Now().UTC().Truncate(time.Microsecond)
	var f apperr.Fields
	in.MerchantIdentifier, in.DisplayName = strings.TrimSpace(in.MerchantIdentifier), strings.TrimSpace(in.DisplayName)
	if !validMerchantID(in.MerchantIdentifier) {
		f.Add("merchant_identifier", "must be an Apple merchant identifier such as merchant.com.example (letters, digits, '.', '-')")
	}
	if n := len([]rune(in.DisplayName)); n == 0 || n > 64 || strings.ContainsFunc(in.DisplayName, isControl) {
		f.Add("display_name", "must be 1 to 64 characters")
	}
	domains, reason := cleanDomains(in.Domains)
	if reason != "" {
		f.Add("domains", reason)
	}
	cur, err := s.d.Store.FindApplePay(ctx, orgID)
	switch {
	case apperr.Is(err, apperr.NotFound):
		cur = &ApplePay{}
	case err != nil:
		return nil, err
	}
	ap := &ApplePay{OrgID: orgID, MerchantIdentifier: in.MerchantIdentifier, DisplayName: in.DisplayName, Domains: domains,
		Version: cur.Version + 1, UpdatedAt: now}
	// Each certificate: the new one with its key, or the stored one, which
	// is checked again (the merchant identifier may have changed).
	idCert, idKey := s.pair(&f, orgID, KindIdentity, in.IdentityCertPEM, in.IdentityKeyPEM, cur.IdentityCertPEM, cur.SealedIdentityKey, fieldIdentityCert, fieldIdentityKey)
	prCert, prKey := s.pair(&f, orgID, KindProcessing, in.ProcessingCertPEM, in.ProcessingKeyPEM, cur.ProcessingCertPEM, cur.SealedProcessingKey, fieldProcessingCert, fieldProcessingKey)
	if idCert == nil && prCert == nil && len(f) == 0 {
		f.Add(fieldProcessingCert, "is required, or "+fieldIdentityCert+": give at least one certificate and its key")
	}
	if len(f) == 0 && validMerchantID(in.MerchantIdentifier) {
		if idCert != nil {
			if err := s.d.Checker.CheckIdentity(idCert.pem, in.MerchantIdentifier); err != nil {
				f.Add(fieldIdentityCert, "is not usable: "+err.Error())
			}
		}
		if prCert != nil {
			if err := s.d.Checker.CheckProcessing(prCert.pem, prKey, in.MerchantIdentifier); err != nil {
				f.Add(fieldProcessingCert, "is not usable: "+err.Error())
			}
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if in.Version != cur.Version {
		return nil, apperr.StaleVersion(cur)
	}
	if idCert != nil {
		ap.IdentityCertificate, ap.IdentityCertPEM = &idCert.info, string(idCert.pem)
		ap.SealedIdentityKey = s.d.Box.Seal(idKey, keyContext(orgID, KindIdentity))
	}
	if prCert != nil {
		ap.ProcessingCertificate, ap.ProcessingCertPEM = &prCert.info, string(prCert.pem)
		ap.SealedProcessingKey = s.d.Box.Seal(prKey, keyContext(orgID, KindProcessing))
	}
	if err := s.d.Store.SaveApplePay(ctx, ap); err != nil {
		return nil, err
	}
	if _, err := s.warn(ctx, ap, now); err != nil {
		return nil, err
	}
	return ap, nil
}

// parsed is a certificate checked and described.
type parsed struct {
	pem  []byte
	info Certificate
}

// pair resolves one certificate and its key: given anew, or kept.
func (s *Service) pair(f *apperr.Fields, orgID, kind, certPEM, keyPEM, curCert, curSealed, certField, keyField string) (*parsed, []byte) {
	certPEM, keyPEM = strings.TrimSpace(certPEM), strings.TrimSpace(keyPEM)
	switch {
	case certPEM == "" && keyPEM == "":
		if curCert == "" {
			return nil, nil
		}
		key, err := s.d.Box.Open(curSealed, keyContext(orgID, kind))
		if err != nil {
			f.Add(keyField, "the stored key cannot be opened (the server's secrets key changed?); upload it again")
			return nil, nil
		}
		p, _, err := parseCert([]byte(curCert))
		if err != nil {
			f.Add(certField, "the stored certificate is unreadable; upload it again")
			return nil, nil
		}
		return p, key
	case certPEM == "":
		f.Add(certField, "is required with "+keyField)
		return nil, nil
	case keyPEM == "":
		f.Add(keyField, "is required with "+certField)
		return nil, nil
	case len(certPEM) > maxPEM:
		f.Add(certField, "is too large")
		return nil, nil
	case len(keyPEM) > maxPEM:
		f.Add(keyField, "is too large")
		return nil, nil
	}
	p, cert, err := parseCert([]byte(certPEM))
	if err != nil {
		f.Add(certField, err.Error())
		return nil, nil
	}
	key, err := parseKey([]byte(keyPEM))
	if err != nil {
		f.Add(keyField, err.Error())
		return nil, nil
	}
	pub, ok := key.(interface{ Public() crypto.PublicKey })
	if !ok {
		f.Add(keyField, "is not a usable private key")
		return nil, nil
	}
	if eq, ok := pub.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(cert.PublicKey) {
		f.Add(keyField, "does not belong to "+certField)
		return nil, nil
	}
	if s.d.Now().After(cert.NotAfter) {
		f.Add(certField, "expired on "+cert.NotAfter.UTC().Format(time.DateOnly))
		return nil, nil
	}
	return p, []byte(keyPEM)
}

// parseCert reads the first certificate of a PEM.
func parseCert(b []byte) (*parsed, *x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, nil, errors.New("must be a PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, nil, errors.New("is not a readable X.509 certificate")
	}
	sum := sha256.Sum256(c.Raw)
	return &parsed{pem: bytes.TrimSpace(pem.EncodeToMemory(blk)), info: Certificate{Subject: c.Subject.String(), Issuer: c.Issuer.String(),
		Serial: c.SerialNumber.Text(16), NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), Fingerprint: hex.EncodeToString(sum[:])}}, c, nil
}

// parseKey reads a PEM private key: PKCS #8, SEC 1 or PKCS #1.
func parseKey(b []byte) (any, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("must be a PEM private key (-----BEGIN PRIVATE KEY-----)")
	}
	var k any
	var err error
	switch blk.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("is encrypted; export it without a passphrase")
	default:
		return nil, fmt.Errorf("is a PEM %q, not a private key", blk.Type)
	}
	if err != nil {
		return nil, errors.New("is not a readable private key")
	}
	return k, nil
}

func validMerchantID(s string) bool {
	if !strings.HasPrefix(s, "merchant.") || len(s) < len("merchant.")+1 || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// cleanDomains lower-cases and checks the web domains: bare host names,
// at most 20, no duplicates.
func cleanDomains(in []string) ([]string, string) {
	out := []string{}
	if len(in) > 20 {
		return nil, "may name at most 20 domains"
	}
	for _, d := range in {
		d = strings.ToLower(strings.TrimSpace(d))
		if !validDomain(d) {
			return nil, "must be bare domain names such as shop.example.com (no scheme, port or path)"
		}
		for _, o := range out {
			if o == d {
				return nil, "names " + d + " twice"
			}
		}
		out = append(out, d)
	}
	return out, ""
}

func validDomain(d string) bool {
	if len(d) == 0 || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// Check raises the expiry warnings due at now, for every organization:
// one applepay.certificate_expiring event per certificate per threshold,
// however often it runs and on however many nodes. It returns how many it
// raised. The app runs it hourly.
func (s *Service) Check(ctx context.Context, now time.Time) (int, error) {
	list, err := s.d.Store.FindApplePayExpiring(ctx, now.Add(WarnBefore))
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, ap := range list {
		k, err := s.warn(ctx, ap, now)
		n += k
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// warn raises ap's warnings due at now.
func (s *Service) warn(ctx context.Context, ap *ApplePay, now time.Time) (int, error) {
	n := 0
	for _, c := range []struct {
		kind string
		cert *Certificate
	}{{KindIdentity, ap.IdentityCertificate}, {KindProcessing, ap.ProcessingCertificate}} {
		if c.cert == nil || c.cert.NotAfter.Sub(now) > WarnBefore {
			continue
		}
		left := c.cert.NotAfter.Sub(now)
		days := int(left / (24 * time.Hour))
		w := Warning{OrgID: ap.OrgID, Certificate: c.kind, Subject: c.cert.Subject, Fingerprint: c.cert.Fingerprint,
			NotAfter: c.cert.NotAfter, DaysLeft: days, Threshold: "30d", At: now.UTC().Truncate(time.Microsecond)}
		wrote, err := s.d.Store.RecordCertificateWarning(ctx, w)
		if err != nil {
			return n, err
		}
		if wrote {
			n++
		}
	}
	return n, nil
}

// SessionInput asks for a merchant session for Apple Pay on the web.
type SessionInput struct {
	ValidationURL string // from the page's onvalidatemerchant event
	Domain        string // the checkout page's domain
}

// Session validates the organization's merchant with Apple and returns
// Apple's session object as is. Errors: Invalid naming validation_url or
// domain; Conflict apple_pay_not_configured; and the SessionValidator's.
func (s *Service) Session(ctx context.Context, orgID string, in SessionInput) ([]byte, error) {
	var f apperr.Fields
	in.Domain = strings.ToLower(strings.TrimSpace(in.Domain))
	if strings.TrimSpace(in.ValidationURL) == "" {
		f.Add("validation_url", "is required: the URL of the onvalidatemerchant event")
	}
	if !validDomain(in.Domain) {
		f.Add("domain", "must be the checkout page's domain, such as shop.example.com")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	ap, err := s.d.Store.FindApplePay(ctx, orgID)
	if apperr.Is(err, apperr.NotFound) || err == nil && ap.IdentityCertPEM == "" {
		return nil, apperr.New(apperr.Conflict, "apple_pay_not_configured", "the organization has no Apple Pay merchant identity certificate")
	}
	if err != nil {
		return nil, err
	}
	found := false
	for _, d := range ap.Domains {
		found = found || d == in.Domain
	}
	if !found {
		return nil, apperr.Field("domain", "is not one of the organization's Apple Pay domains")
	}
	key, err := s.d.Box.Open(ap.SealedIdentityKey, keyContext(orgID, KindIdentity))
	if err != nil {
		return nil, apperr.Wrap(err, "apple pay identity key of "+orgID)
	}
	return s.d.Sessions.Session(ctx, SessionRequest{ValidationURL: in.ValidationURL, MerchantIdentifier: ap.MerchantIdentifier,
		DisplayName: ap.DisplayName, Domain: in.Domain, IdentityCertPEM: []byte(ap.IdentityCertPEM), IdentityKeyPEM: key})
}

// Open implements payment.ApplePayTokens: it opens token with orgID's
// payment processing identity. Errors: Invalid (422) when the token's
// signature, chain, signing time or encryption fails; Conflict
// apple_pay_not_configured.
func (s *Service) Open(ctx context.Context, orgID string, token []byte) (*payment.NetworkToken, error) {
	ap, err := s.d.Store.FindApplePay(ctx, orgID)
	if apperr.Is(err, apperr.NotFound) || err == nil && ap.ProcessingCertPEM == "" {
		return nil, apperr.New(apperr.Conflict, "apple_pay_not_configured", "the organization has no Apple Pay payment processing certificate")
	}
	if err != nil {
		return nil, err
	}
	if s.d.Box == nil {
		return nil, apperr.New(apperr.Conflict, "wallet_unavailable", "this server cannot open Apple Pay keys (no secrets key)")
	}
	key, err := s.d.Box.Open(ap.SealedProcessingKey, keyContext(orgID, KindProcessing))
	if err != nil {
		return nil, apperr.Wrap(err, "apple pay processing key of "+orgID)
	}
	return s.d.Tokens.OpenToken(ctx, token, Processing{MerchantIdentifier: ap.MerchantIdentifier,
		CertPEM: []byte(ap.ProcessingCertPEM), KeyPEM: key}, s.d.Now())
}

var _ payment.WalletHealth = (*Service)(nil)

// WalletHealth implements payment.WalletHealth: an organization's Apple
// Pay set-up as a provider, its health from its certificates — ok, down
// when one has expired, degraded within 30 days of it. Nil when the
// organization has none.
func (s *Service) WalletHealth(ctx context.Context, orgID string) (*payment.ProviderHealth, error) {
	ap, err := s.d.Store.FindApplePay(ctx, orgID)
	if apperr.Is(err, apperr.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := s.d.Now()
	h := &payment.ProviderHealth{Provider: "apple_pay", Kind: "apple_pay", Mode: "live", Configured: true, Health: "ok"}
	for _, c := range []struct {
		name string
		cert *Certificate
	}{{"merchant identity", ap.IdentityCertificate}, {"payment processing", ap.ProcessingCertificate}} {
		switch {
		case c.cert == nil:
		case now.After(c.cert.NotAfter):
			h.Health, h.Detail = "down", "the "+c.name+" certificate expired on "+c.cert.NotAfter.Format(time.DateOnly)
		case c.cert.NotAfter.Sub(now) < 30*24*time.Hour && h.Health == "ok":
			h.Health, h.Detail = "degraded", "the "+c.name+" certificate expires on "+c.cert.NotAfter.Format(time.DateOnly)
		}
	}
	return h, nil
}
