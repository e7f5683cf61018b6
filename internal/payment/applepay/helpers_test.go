package applepay

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"
)

// The tests play Apple: they make their own root, intermediate and signing
// leaf, a merchant's payment processing certificate, and seal tokens the
// way Apple documents (ephemeral ECDH, the KDF, AES-256-GCM, a detached CMS
// signature with a signing time).

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const testPAN = "4111111111111111"

// testPayload is decrypted payment data as Apple sends it.
var testPayload = []byte(`{"applicationPrimaryAccountNumber":"` + testPAN + `","applicationExpirationDate":"281231",` +
	`"currencyCode":"826","transactionAmount":1250,"cardholderName":"Ada Lovelace","deviceManufacturerIdentifier":"040010030273",` +
	`"paymentDataType":"3DSecure","paymentData":{"onlinePaymentCryptogram":"AgAAAAAABk4DWZ4C28yUQAAAAAA=","eciIndicator":"7"}}`)

// testKey returns a P-256 key derived from name, so that every process
// (fuzz workers included) makes the same keys.
func testKey(t testing.TB, name string) *ecdsa.PrivateKey {
	t.Helper()
	d := sha256.Sum256([]byte("fynlo applepay test key: " + name))
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randomKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var serial int64 = 1000

// issue makes a certificate for key, signed by parent (self-signed when
// parent is nil).
func issue(t testing.TB, cn string, key *ecdsa.PrivateKey, ca bool, exts []pkix.Extension, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(serial),
		Subject:         pkix.Name{CommonName: cn, Organization: []string{"Test Apple"}},
		NotBefore:       testNow.Add(-365 * 24 * time.Hour),
		NotAfter:        testNow.Add(365 * 24 * time.Hour),
		ExtraExtensions: exts,
	}
	if ca {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.BasicConstraintsValid = true
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

// marker is an Apple marker extension as Apple writes it: non-critical,
// value ASN.1 NULL.
func marker(oid asn1.ObjectIdentifier) pkix.Extension {
	return pkix.Extension{Id: oid, Value: []byte{0x05, 0x00}}
}

// applePKI is a stand-in for Apple's signing hierarchy.
type applePKI struct {
	root, inter, leaf *x509.Certificate
	leafKey           *ecdsa.PrivateKey
}

type pkiOpts struct {
	name                  string // keys derive from it; "" means random keys
	noLeafOID, noInterOID bool
	leafNotAfter          time.Time
	leafDirectlyUnderRoot bool
}

func newApplePKI(t testing.TB, o pkiOpts) *applePKI {
	t.Helper()
	key := func(role string) *ecdsa.PrivateKey {
		if o.name == "" {
			return randomKey(t)
		}
		return testKey(t, o.name+"/"+role)
	}
	rootKey, interKey, leafKey := key("root"), key("inter"), key("leaf")
	p := &applePKI{leafKey: leafKey}
	p.root = issue(t, "Test Root CA - G3", rootKey, true, nil, nil, nil)
	var interExt, leafExt []pkix.Extension
	if !o.noInterOID {
		interExt = append(interExt, marker(OIDIntermediateMarker))
	}
	if !o.noLeafOID {
		leafExt = append(leafExt, marker(OIDLeafMarker))
	}
	p.inter = issue(t, "Test Application Integration CA - G3", interKey, true, interExt, p.root, rootKey)
	if o.leafDirectlyUnderRoot {
		p.leaf = issue(t, "test-ecc-smp-broker-sign", leafKey, false, leafExt, p.root, rootKey)
	} else {
		p.leaf = issue(t, "test-ecc-smp-broker-sign", leafKey, false, leafExt, p.inter, interKey)
	}
	if !o.leafNotAfter.IsZero() {
		serial++
		tmpl := *p.leaf
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotAfter = o.leafNotAfter
		tmpl.ExtraExtensions = leafExt
		tmpl.Extensions = nil
		der, err := x509.CreateCertificate(rand.Reader, &tmpl, p.inter, &leafKey.PublicKey, interKey)
		if err != nil {
			t.Fatal(err)
		}
		if p.leaf, err = x509.ParseCertificate(der); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func (p *applePKI) verifier() Verifier { return Verifier{Roots: []*x509.Certificate{p.root}} }

// testMerchant is a merchant with its payment processing certificate.
type testMerchant struct {
	*Merchant
	id     string
	idHash [32]byte
	key    *ecdsa.PrivateKey
}

func newTestMerchant(t testing.TB, id string) *testMerchant {
	t.Helper()
	caKey := testKey(t, "merchant ca")
	ca := issue(t, "Test Apple Worldwide Developer Relations CA", caKey, true, nil, nil, nil)
	key := testKey(t, "merchant/"+id)
	h := sha256.Sum256([]byte(id))
	field, err := asn1.MarshalWithParams(hex.EncodeToString(h[:]), "utf8")
	if err != nil {
		t.Fatal(err)
	}
	cert := issue(t, "Merchant ID: "+id, key, false, []pkix.Extension{{Id: OIDMerchantIdentifier, Value: field}}, ca, caKey)
	m, err := NewMerchant(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return &testMerchant{Merchant: m, id: id, idHash: h, key: key}
}

// seal describes one token to make.
type seal struct {
	payload     []byte
	signer      *applePKI
	extraCerts  []*x509.Certificate // sent in the CMS besides leaf and intermediate
	signKey     *ecdsa.PrivateKey   // signs instead of the leaf's key when set
	to          *testMerchant
	signingTime time.Time
	appData     []byte
	ber         bool   // Apple's indefinite-length encoding
	ephSeed     string // deterministic ephemeral key when set
}

var (
	signedMu  sync.Mutex
	signedSet = map[[32]byte]bool{} // SHA-256 of every content a test leaf signed
)

// make builds the token: ECDH with an ephemeral key, Apple's KDF, AES-256-GCM
// with a zero 16-byte IV, then the CMS signature over
// ephemeralPublicKey || data || transactionId || applicationData.
func (s seal) make(t testing.TB) Token {
	t.Helper()
	if s.payload == nil {
		s.payload = testPayload
	}
	if s.signingTime.IsZero() {
		s.signingTime = testNow.Add(-30 * time.Second)
	}
	var eph *ecdh.PrivateKey
	var err error
	if s.ephSeed != "" {
		d := sha256.Sum256([]byte("eph " + s.ephSeed))
		eph, err = ecdh.P256().NewPrivateKey(d[:])
	} else {
		eph, err = ecdh.P256().GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	merchantPub, err := s.to.key.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	z, err := eph.ECDH(merchantPub)
	if err != nil {
		t.Fatal(err)
	}
	// The KDF written out byte by byte, separately from deriveKey.
	kdfIn := slices.Concat([]byte{0x00, 0x00, 0x00, 0x01}, z, []byte{0x0d}, []byte("id-aes256-GCM"), []byte("Apple"), s.to.idHash[:])
	key := sha256.Sum256(kdfIn)
	block, err := aes.NewCipher(key[:])
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, 16)
	if err != nil {
		t.Fatal(err)
	}
	data := gcm.Seal(nil, make([]byte, 16), s.payload, nil)
	ephDER, err := x509.MarshalPKIXPublicKey(eph.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	txID := sha256.Sum256(append([]byte("tx"), ephDER...))
	content := slices.Concat(ephDER, data, txID[:], s.appData)

	signKey := s.signer.leafKey
	if s.signKey != nil {
		signKey = s.signKey
	} else {
		signedMu.Lock()
		signedSet[sha256.Sum256(content)] = true
		signedMu.Unlock()
	}
	certs := append([]*x509.Certificate{s.signer.leaf, s.signer.inter}, s.extraCerts...)
	sig := buildCMS(t, s.signer.leaf, signKey, certs, content, s.signingTime, s.ber)

	pkh := sha256.Sum256(s.to.Certificate().RawSubjectPublicKeyInfo)
	tok := Token{
		Version:   "EC_v1",
		Data:      base64.StdEncoding.EncodeToString(data),
		Signature: base64.StdEncoding.EncodeToString(sig),
		Header: Header{
			EphemeralPublicKey: base64.StdEncoding.EncodeToString(ephDER),
			PublicKeyHash:      base64.StdEncoding.EncodeToString(pkh[:]),
			TransactionID:      hex.EncodeToString(txID[:]),
		},
	}
	if s.appData != nil {
		tok.Header.ApplicationData = hex.EncodeToString(s.appData)
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

func asn1Set(t testing.TB, parts ...[]byte) []byte {
	return mustMarshal(t, asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: slices.Concat(parts...)})
}

func asn1Seq(t testing.TB, parts ...[]byte) []byte {
	return mustMarshal(t, asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: slices.Concat(parts...)})
}

func ctx0(t testing.TB, parts ...[]byte) []byte {
	return mustMarshal(t, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: slices.Concat(parts...)})
}

// indefinite wraps parts in a constructed element with an indefinite
// length, the BER form Apple's signatures use.
func indefinite(tag byte, parts ...[]byte) []byte {
	return slices.Concat([]byte{tag, 0x80}, slices.Concat(parts...), []byte{0, 0})
}

// buildCMS makes a detached CMS SignedData (RFC 5652) with signed
// attributes content-type, signing-time and message-digest.
func buildCMS(t testing.TB, leaf *x509.Certificate, key *ecdsa.PrivateKey, certs []*x509.Certificate, content []byte, signingTime time.Time, ber bool) []byte {
	t.Helper()
	attr := func(oid asn1.ObjectIdentifier, v any) []byte {
		return asn1Seq(t, mustMarshal(t, oid), asn1Set(t, mustMarshal(t, v)))
	}
	digest := sha256.Sum256(content)
	attrs := [][]byte{
		attr(oidContentType, oidData),
		attr(oidSigningTime, signingTime.UTC()),
		attr(oidMessageDigest, digest[:]),
	}
	slices.SortFunc(attrs, bytes.Compare) // DER order of a SET OF
	attrBytes := slices.Concat(attrs...)
	h := sha256.Sum256(asn1Set(t, attrBytes))
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sha256Alg := mustMarshal(t, pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue})
	sid := mustMarshal(t, issuerAndSerial{Issuer: asn1.RawValue{FullBytes: leaf.RawIssuer}, Serial: leaf.SerialNumber})
	si := asn1Seq(t,
		mustMarshal(t, 1), sid, sha256Alg,
		mustMarshal(t, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: attrBytes}),
		mustMarshal(t, pkix.AlgorithmIdentifier{Algorithm: oidECDSASHA256}),
		mustMarshal(t, sig),
	)
	var raw [][]byte
	for _, c := range certs {
		raw = append(raw, c.Raw)
	}
	version, digestAlgs, signerInfos := mustMarshal(t, 1), asn1Set(t, sha256Alg), asn1Set(t, si)
	if ber {
		sd := indefinite(0x30, version, digestAlgs, indefinite(0x30, mustMarshal(t, oidData)), indefinite(0xa0, raw...), signerInfos)
		return indefinite(0x30, mustMarshal(t, oidSignedData), indefinite(0xa0, sd))
	}
	sd := asn1Seq(t, version, digestAlgs, asn1Seq(t, mustMarshal(t, oidData)), ctx0(t, raw...), signerInfos)
	return asn1Seq(t, mustMarshal(t, oidSignedData), ctx0(t, sd))
}

// world is the shared, deterministic set-up: Apple's PKI and two merchants.
type world struct {
	apple *applePKI
	m, m2 *testMerchant
}

var (
	worldOnce sync.Once
	theWorld  *world
)

func getWorld(t testing.TB) *world {
	t.Helper()
	worldOnce.Do(func() {
		theWorld = &world{
			apple: newApplePKI(t, pkiOpts{name: "apple"}),
			m:     newTestMerchant(t, "merchant.com.fynlo.test"),
			m2:    newTestMerchant(t, "merchant.com.other.test"),
		}
	})
	if theWorld == nil {
		t.Fatal("world set-up failed")
	}
	return theWorld
}
