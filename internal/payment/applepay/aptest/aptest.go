// Package aptest plays Apple in tests: it makes an Apple-like signing
// hierarchy, merchants' payment processing and merchant identity
// certificates, seals EC_v1 payment tokens the way Apple documents, and
// runs a local merchant-validation gateway over mutual TLS. Every key and
// certificate is made on the spot; nothing here is Apple's. Not for
// production code.
package aptest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/payment/applepay"
)

var (
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidECDSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

var (
	serialMu sync.Mutex
	serial   int64 = 5000
)

func nextSerial() *big.Int {
	serialMu.Lock()
	defer serialMu.Unlock()
	serial++
	return big.NewInt(serial)
}

// Key returns a new P-256 key.
func Key(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// CertSpec describes a certificate to issue.
type CertSpec struct {
	Subject     pkix.Name
	CA          bool
	NotBefore   time.Time // zero: a year ago
	NotAfter    time.Time // zero: a year from now
	Extensions  []pkix.Extension
	ExtKeyUsage []x509.ExtKeyUsage
	IPs         []net.IP
	DNSNames    []string
}

// Issue makes a certificate for key, signed by parent and parentKey
// (self-signed when parent is nil).
func Issue(t testing.TB, spec CertSpec, key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: nextSerial(), Subject: spec.Subject, NotBefore: spec.NotBefore, NotAfter: spec.NotAfter,
		ExtraExtensions: spec.Extensions, BasicConstraintsValid: true, ExtKeyUsage: spec.ExtKeyUsage, IPAddresses: spec.IPs, DNSNames: spec.DNSNames}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = now.Add(-365 * 24 * time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = now.Add(365 * 24 * time.Hour)
	}
	if spec.CA {
		tmpl.IsCA, tmpl.KeyUsage = true, x509.KeyUsageCertSign|x509.KeyUsageCRLSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// CertPEM encodes certificates as PEM.
func CertPEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// KeyPEM encodes a key as PKCS #8 PEM.
func KeyPEM(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// Apple is a stand-in for Apple's token-signing hierarchy: a root (which
// tests trust in place of Apple Root CA - G3), an intermediate and a
// signing leaf with Apple's marker extensions.
type Apple struct {
	Root, Intermediate, Leaf *x509.Certificate
	LeafKey                  *ecdsa.PrivateKey
}

// NewApple makes a signing hierarchy valid from a year ago to a year on.
func NewApple(t testing.TB) *Apple {
	t.Helper()
	rootKey, interKey, leafKey := Key(t), Key(t), Key(t)
	a := &Apple{LeafKey: leafKey}
	a.Root = Issue(t, CertSpec{Subject: pkix.Name{CommonName: "Test Root CA - G3", Organization: []string{"Test Apple"}}, CA: true}, rootKey, nil, nil)
	a.Intermediate = Issue(t, CertSpec{Subject: pkix.Name{CommonName: "Test Application Integration CA - G3"}, CA: true,
		Extensions: []pkix.Extension{marker(applepay.OIDIntermediateMarker)}}, interKey, a.Root, rootKey)
	a.Leaf = Issue(t, CertSpec{Subject: pkix.Name{CommonName: "test-ecc-smp-broker-sign"},
		Extensions: []pkix.Extension{marker(applepay.OIDLeafMarker)}}, leafKey, a.Intermediate, interKey)
	return a
}

// RootPEM is the root to trust, as PEM.
func (a *Apple) RootPEM() []byte { return CertPEM(a.Root) }

func marker(oid asn1.ObjectIdentifier) pkix.Extension {
	return pkix.Extension{Id: oid, Value: []byte{0x05, 0x00}}
}

// Merchant is a merchant's Apple Pay credentials as Apple's developer
// portal would issue them: the payment processing certificate (P-256, with
// the merchant identifier field) and the merchant identity certificate
// (for merchant validation, naming the merchant in its subject UID).
type Merchant struct {
	ID                                  string
	CA                                  *x509.Certificate // issued both; trust it for client certificates
	ProcessingCert, IdentityCert        *x509.Certificate
	ProcessingKey, IdentityKey          *ecdsa.PrivateKey
	ProcessingCertPEM, ProcessingKeyPEM []byte
	IdentityCertPEM, IdentityKeyPEM     []byte
}

// MerchantOpts vary a merchant's certificates.
type MerchantOpts struct {
	ProcessingNotAfter, IdentityNotAfter time.Time // zero: a year from now
}

// NewMerchant issues a merchant's certificates for merchant identifier id.
func NewMerchant(t testing.TB, id string, o MerchantOpts) *Merchant {
	t.Helper()
	caKey := Key(t)
	ca := Issue(t, CertSpec{Subject: pkix.Name{CommonName: "Test Apple Worldwide Developer Relations CA"}, CA: true}, caKey, nil, nil)
	m := &Merchant{ID: id, CA: ca, ProcessingKey: Key(t), IdentityKey: Key(t)}
	m.ProcessingCert = Issue(t, CertSpec{Subject: pkix.Name{CommonName: "Merchant ID: " + id},
		NotAfter: o.ProcessingNotAfter, Extensions: []pkix.Extension{MerchantIDExtension(t, id)}}, m.ProcessingKey, ca, caKey)
	m.IdentityCert = Issue(t, CertSpec{Subject: pkix.Name{CommonName: "Merchant ID: " + id,
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: applepay.OIDUserID, Value: id}}},
		NotAfter: o.IdentityNotAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		Extensions: []pkix.Extension{MerchantIDExtension(t, id)}}, m.IdentityKey, ca, caKey)
	m.ProcessingCertPEM, m.ProcessingKeyPEM = CertPEM(m.ProcessingCert), KeyPEM(t, m.ProcessingKey)
	m.IdentityCertPEM, m.IdentityKeyPEM = CertPEM(m.IdentityCert), KeyPEM(t, m.IdentityKey)
	return m
}

// MerchantIDExtension is the merchant identifier field Apple puts in a
// merchant's certificates: the hex SHA-256 of the identifier.
func MerchantIDExtension(t testing.TB, id string) pkix.Extension {
	t.Helper()
	h := sha256.Sum256([]byte(id))
	v, err := asn1.MarshalWithParams(hex.EncodeToString(h[:]), "utf8")
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: applepay.OIDMerchantIdentifier, Value: v}
}

// Payload is decrypted payment data as Apple sends it.
type Payload struct {
	PAN        string // default 4111111111111111
	Expiry     string // YYMMDD, default 281231
	Currency   string // ISO 4217 numeric, default 826
	Amount     int64
	Cryptogram string // default a fixed base64 value
	ECI        string // default 7
}

// JSON encodes the payload.
func (p Payload) JSON() []byte {
	if p.PAN == "" {
		p.PAN = "4111111111111111"
	}
	if p.Expiry == "" {
		p.Expiry = "281231"
	}
	if p.Currency == "" {
		p.Currency = "826"
	}
	if p.Cryptogram == "" {
		p.Cryptogram = "AgAAAAAABk4DWZ4C28yUQAAAAAA="
	}
	if p.ECI == "" {
		p.ECI = "7"
	}
	b, _ := json.Marshal(map[string]any{"applicationPrimaryAccountNumber": p.PAN, "applicationExpirationDate": p.Expiry,
		"currencyCode": p.Currency, "transactionAmount": p.Amount, "deviceManufacturerIdentifier": "040010030273",
		"paymentDataType": "3DSecure", "paymentData": map[string]any{"onlinePaymentCryptogram": p.Cryptogram, "eciIndicator": p.ECI}})
	return b
}

// Seal makes a token of payload for merchant m, signed by a at signedAt:
// ECDH with an ephemeral key, Apple's KDF, AES-256-GCM with a zero 16-byte
// IV, then a detached CMS signature over ephemeralPublicKey || data ||
// transactionId. It returns the paymentData JSON.
func (a *Apple) Seal(t testing.TB, m *Merchant, payload []byte, signedAt time.Time) []byte {
	t.Helper()
	eph, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := m.ProcessingKey.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	z, err := eph.ECDH(pub)
	if err != nil {
		t.Fatal(err)
	}
	idHash := sha256.Sum256([]byte(m.ID))
	key := sha256.Sum256(slices.Concat([]byte{0, 0, 0, 1}, z, []byte("\x0did-aes256-GCM"), []byte("Apple"), idHash[:]))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, 16)
	if err != nil {
		t.Fatal(err)
	}
	data := gcm.Seal(nil, make([]byte, 16), payload, nil)
	ephDER, err := x509.MarshalPKIXPublicKey(eph.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	txID := sha256.Sum256(append([]byte("tx"), ephDER...))
	sig := buildCMS(t, a.Leaf, a.LeafKey, []*x509.Certificate{a.Leaf, a.Intermediate}, slices.Concat(ephDER, data, txID[:]), signedAt)
	pkh := sha256.Sum256(m.ProcessingCert.RawSubjectPublicKeyInfo)
	tok, err := json.Marshal(applepay.Token{Version: applepay.Version,
		Data:      base64.StdEncoding.EncodeToString(data),
		Signature: base64.StdEncoding.EncodeToString(sig),
		Header: applepay.Header{EphemeralPublicKey: base64.StdEncoding.EncodeToString(ephDER),
			PublicKeyHash: base64.StdEncoding.EncodeToString(pkh[:]), TransactionID: hex.EncodeToString(txID[:])}})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wrap(t testing.TB, class, tag int, parts ...[]byte) []byte {
	return mustMarshal(t, asn1.RawValue{Class: class, Tag: tag, IsCompound: true, Bytes: slices.Concat(parts...)})
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

// buildCMS makes a detached CMS SignedData (RFC 5652) with the signed
// attributes content-type, signing-time and message-digest.
func buildCMS(t testing.TB, leaf *x509.Certificate, key *ecdsa.PrivateKey, certs []*x509.Certificate, content []byte, signedAt time.Time) []byte {
	t.Helper()
	attr := func(oid asn1.ObjectIdentifier, v any) []byte {
		return wrap(t, asn1.ClassUniversal, asn1.TagSequence, mustMarshal(t, oid), wrap(t, asn1.ClassUniversal, asn1.TagSet, mustMarshal(t, v)))
	}
	digest := sha256.Sum256(content)
	attrs := [][]byte{attr(oidContentType, oidData), attr(oidSigningTime, signedAt.UTC()), attr(oidMessageDigest, digest[:])}
	slices.SortFunc(attrs, bytes.Compare) // DER order of a SET OF
	attrBytes := slices.Concat(attrs...)
	h := sha256.Sum256(wrap(t, asn1.ClassUniversal, asn1.TagSet, attrBytes))
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sha256Alg := mustMarshal(t, pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue})
	sid := mustMarshal(t, issuerAndSerial{Issuer: asn1.RawValue{FullBytes: leaf.RawIssuer}, Serial: leaf.SerialNumber})
	si := wrap(t, asn1.ClassUniversal, asn1.TagSequence, mustMarshal(t, 1), sid, sha256Alg,
		wrap(t, asn1.ClassContextSpecific, 0, attrBytes),
		mustMarshal(t, pkix.AlgorithmIdentifier{Algorithm: oidECDSASHA256}), mustMarshal(t, sig))
	var raw [][]byte
	for _, c := range certs {
		raw = append(raw, c.Raw)
	}
	sd := wrap(t, asn1.ClassUniversal, asn1.TagSequence, mustMarshal(t, 1), wrap(t, asn1.ClassUniversal, asn1.TagSet, sha256Alg),
		wrap(t, asn1.ClassUniversal, asn1.TagSequence, mustMarshal(t, oidData)), wrap(t, asn1.ClassContextSpecific, 0, raw...),
		wrap(t, asn1.ClassUniversal, asn1.TagSet, si))
	return wrap(t, asn1.ClassUniversal, asn1.TagSequence, mustMarshal(t, oidSignedData), wrap(t, asn1.ClassContextSpecific, 0, sd))
}

// Gateway is a local stand-in for Apple's merchant validation gateway:
// HTTPS with a server certificate from its own CA, requiring a client
// certificate that chains to the CAs it is given.
type Gateway struct {
	*httptest.Server
	// CA issued the server's certificate: clients trust it (RootCAs, or
	// CAPEM for configuration).
	CA    *x509.Certificate
	CAPEM []byte
	// Session is what a good request gets back.
	Session []byte

	mu       sync.Mutex
	requests []GatewayRequest
	status   int
}

// GatewayRequest is a request the gateway answered.
type GatewayRequest struct {
	Path       string
	Body       map[string]any
	ClientCert *x509.Certificate
}

// StartGateway starts a gateway that accepts client certificates issued
// by clientCAs. It stops when t ends.
func StartGateway(t testing.TB, clientCAs ...*x509.Certificate) *Gateway {
	t.Helper()
	caKey := Key(t)
	ca := Issue(t, CertSpec{Subject: pkix.Name{CommonName: "Test Gateway CA"}, CA: true}, caKey, nil, nil)
	srvKey := Key(t)
	srv := Issue(t, CertSpec{Subject: pkix.Name{CommonName: "127.0.0.1"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames: []string{"localhost"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, srvKey, ca, caKey)
	pool := x509.NewCertPool()
	for _, c := range clientCAs {
		pool.AddCert(c)
	}
	g := &Gateway{CA: ca, CAPEM: CertPEM(ca), status: http.StatusOK,
		Session: []byte(`{"epochTimestamp":1764158400000,"expiresAt":1764162000000,"merchantSessionIdentifier":"SSH-test","nonce":"0a1b2c3d","merchantIdentifier":"ABCDEF","domainName":"shop.example.com","displayName":"Test","signature":"c2lnbmF0dXJl"}`)}
	g.Server = httptest.NewUnstartedServer(http.HandlerFunc(g.serve))
	g.Server.TLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{srv.Raw}, PrivateKey: srvKey, Leaf: srv}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}
	g.Server.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point of some tests
	g.StartTLS()
	t.Cleanup(g.Close)
	return g
}

// SessionURL is the gateway's payment-session endpoint.
func (g *Gateway) SessionURL() string { return g.URL + "/paymentservices/paymentSession" }

// Host is the gateway's host:port, for an allow-list.
func (g *Gateway) Host() string { return g.Listener.Addr().String() }

// RootCAs is a pool trusting the gateway's server certificate.
func (g *Gateway) RootCAs() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(g.CA)
	return p
}

// FailWith makes the gateway answer every request with status.
func (g *Gateway) FailWith(status int) {
	g.mu.Lock()
	g.status = status
	g.mu.Unlock()
}

// Requests returns the requests answered so far.
func (g *Gateway) Requests() []GatewayRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.requests)
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	req := GatewayRequest{Path: r.URL.Path}
	json.Unmarshal(b, &req.Body)
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		req.ClientCert = r.TLS.PeerCertificates[0]
	}
	g.mu.Lock()
	g.requests = append(g.requests, req)
	status := g.status
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/paymentservices/paymentSession" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
		w.Write([]byte(`{"statusMessage":"Payment Services Exception merchantId=ABCDEF unknown or not enrolled"}`))
		return
	}
	if req.Body["initiative"] != "web" || req.Body["merchantIdentifier"] == nil || req.Body["initiativeContext"] == nil {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"statusMessage":"bad request"}`))
		return
	}
	w.Write(g.Session)
}
