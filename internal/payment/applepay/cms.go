package applepay

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// This file verifies the detached CMS (PKCS #7) SignedData that Apple puts in
// a token's signature field (RFC 5652). Only what Apple Pay uses is
// supported: one signer, SHA-256, ECDSA, signed attributes present, content
// detached. Apple sends the structure BER-encoded with indefinite lengths,
// so it is first re-encoded with definite lengths (berToDER) and then read
// with encoding/asn1.

var (
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidECDSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
)

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"optional,explicit,tag:0"`
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

// signature is a parsed, cryptographically checked CMS signature: the
// signer's certificate signed the content, and the signed attributes say when.
type signature struct {
	signer      *x509.Certificate
	certs       []*x509.Certificate // every certificate the message carries, signer included
	signingTime time.Time
}

// verifyDetached parses a BER or DER ContentInfo holding a SignedData and
// checks that its single signer signed content (detached). It does not
// check the certificate chain; the caller does.
func verifyDetached(sig, content []byte) (*signature, error) {
	der, err := berToDER(sig)
	if err != nil {
		return nil, err
	}
	var ci contentInfo
	if rest, err := asn1.Unmarshal(der, &ci); err != nil {
		return nil, fmt.Errorf("content info: %w", err)
	} else if len(rest) != 0 {
		return nil, errors.New("trailing data after content info")
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, errors.New("not a SignedData")
	}
	var sd signedData
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("signed data: %w", err)
	} else if len(rest) != 0 {
		return nil, errors.New("trailing data after signed data")
	}
	if !sd.EncapContentInfo.EContentType.Equal(oidData) {
		return nil, errors.New("encapsulated content is not id-data")
	}
	if len(sd.EncapContentInfo.EContent.FullBytes) != 0 {
		return nil, errors.New("signature is not detached")
	}
	if len(sd.SignerInfos) != 1 {
		return nil, fmt.Errorf("want exactly one signer, have %d", len(sd.SignerInfos))
	}
	if len(sd.Certificates.Bytes) == 0 {
		return nil, errors.New("no certificates")
	}
	certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	si := sd.SignerInfos[0]
	if !si.DigestAlgorithm.Algorithm.Equal(oidSHA256) {
		return nil, errors.New("digest algorithm is not SHA-256")
	}
	if a := si.SignatureAlgorithm.Algorithm; !a.Equal(oidECDSASHA256) && !a.Equal(oidECPublicKey) {
		return nil, errors.New("signature algorithm is not ECDSA with SHA-256")
	}
	if !slices.ContainsFunc(sd.DigestAlgorithms, func(a pkix.AlgorithmIdentifier) bool { return a.Algorithm.Equal(oidSHA256) }) {
		return nil, errors.New("SHA-256 missing from the digest algorithms")
	}
	signer, err := findSigner(si.SID, certs)
	if err != nil {
		return nil, err
	}
	pub, ok := signer.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("signer key is not ECDSA")
	}

	// Signed attributes are required: they carry the content digest and the
	// signing time. The signature covers their DER encoding as a SET OF
	// (tag 0x31), not as the [0] IMPLICIT field they are sent in.
	if si.SignedAttrs.Class != asn1.ClassContextSpecific || !si.SignedAttrs.IsCompound || len(si.SignedAttrs.FullBytes) == 0 {
		return nil, errors.New("no signed attributes")
	}
	attrs, err := parseAttributes(si.SignedAttrs.Bytes)
	if err != nil {
		return nil, err
	}
	ct, err := attrs.single(oidContentType)
	if err != nil {
		return nil, err
	}
	var ctOID asn1.ObjectIdentifier
	if err := unmarshalAll(ct, &ctOID); err != nil || !ctOID.Equal(oidData) {
		return nil, errors.New("content-type attribute is not id-data")
	}
	md, err := attrs.single(oidMessageDigest)
	if err != nil {
		return nil, err
	}
	var digest []byte
	if err := unmarshalAll(md, &digest); err != nil {
		return nil, errors.New("malformed message-digest attribute")
	}
	want := sha256.Sum256(content)
	if !bytes.Equal(digest, want[:]) {
		return nil, errors.New("message digest does not match the signed data")
	}
	st, err := attrs.single(oidSigningTime)
	if err != nil {
		return nil, err
	}
	var signingTime time.Time
	if err := unmarshalAll(st, &signingTime); err != nil {
		return nil, errors.New("malformed signing-time attribute")
	}

	signedBytes := append([]byte(nil), si.SignedAttrs.FullBytes...)
	signedBytes[0] = 0x31 // universal, constructed, SET
	h := sha256.Sum256(signedBytes)
	if !ecdsa.VerifyASN1(pub, h[:], si.Signature) {
		return nil, errors.New("ECDSA signature does not verify")
	}
	return &signature{signer: signer, certs: certs, signingTime: signingTime}, nil
}

func findSigner(sid asn1.RawValue, certs []*x509.Certificate) (*x509.Certificate, error) {
	switch {
	case sid.Class == asn1.ClassUniversal && sid.Tag == asn1.TagSequence:
		var ias issuerAndSerial
		if err := unmarshalAll(sid.FullBytes, &ias); err != nil || ias.Serial == nil {
			return nil, errors.New("malformed signer identifier")
		}
		for _, c := range certs {
			if c.SerialNumber.Cmp(ias.Serial) == 0 && bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) {
				return c, nil
			}
		}
	case sid.Class == asn1.ClassContextSpecific && sid.Tag == 0 && !sid.IsCompound:
		for _, c := range certs {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, sid.Bytes) {
				return c, nil
			}
		}
	default:
		return nil, errors.New("malformed signer identifier")
	}
	return nil, errors.New("signer certificate not in the message")
}

type attributes map[string][][]byte // OID → values (DER), in order

func parseAttributes(b []byte) (attributes, error) {
	attrs := attributes{}
	for len(b) > 0 {
		var a attribute
		rest, err := asn1.Unmarshal(b, &a)
		if err != nil {
			return nil, fmt.Errorf("signed attribute: %w", err)
		}
		b = rest
		if a.Values.Class != asn1.ClassUniversal || a.Values.Tag != asn1.TagSet || !a.Values.IsCompound {
			return nil, errors.New("attribute values are not a SET")
		}
		key := a.Type.String()
		if _, dup := attrs[key]; dup {
			return nil, fmt.Errorf("attribute %s appears twice", key)
		}
		var vals [][]byte
		for v := a.Values.Bytes; len(v) > 0; {
			var raw asn1.RawValue
			r, err := asn1.Unmarshal(v, &raw)
			if err != nil {
				return nil, fmt.Errorf("attribute %s value: %w", key, err)
			}
			vals = append(vals, raw.FullBytes)
			v = r
		}
		attrs[key] = vals
	}
	return attrs, nil
}

// single returns the one value of a required single-valued attribute.
func (a attributes) single(oid asn1.ObjectIdentifier) ([]byte, error) {
	vals, ok := a[oid.String()]
	if !ok {
		return nil, fmt.Errorf("signed attribute %s is missing", oid)
	}
	if len(vals) != 1 {
		return nil, fmt.Errorf("signed attribute %s has %d values", oid, len(vals))
	}
	return vals[0], nil
}

func unmarshalAll(b []byte, v any) error {
	rest, err := asn1.Unmarshal(b, v)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return errors.New("trailing data")
	}
	return nil
}

// maxBERDepth bounds the nesting berToDER follows; Apple's structure is
// about ten levels deep.
const maxBERDepth = 40

// berToDER re-encodes BER that may use indefinite lengths (as Apple's CMS
// does) with definite, minimal lengths. It does not reorder SETs or merge
// constructed strings: DER parts inside (certificates, signed attributes)
// come out byte for byte as they went in.
func berToDER(b []byte) ([]byte, error) {
	out, rest, err := berElement(b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errors.New("ber: trailing data")
	}
	return out, nil
}

func berElement(b []byte, depth int) (elem, rest []byte, err error) {
	if depth > maxBERDepth {
		return nil, nil, errors.New("ber: nested too deep")
	}
	if len(b) < 2 {
		return nil, nil, errors.New("ber: truncated")
	}
	i := 1
	if b[0]&0x1f == 0x1f { // high tag number form
		for {
			if i >= len(b) || i > 5 {
				return nil, nil, errors.New("ber: bad tag")
			}
			c := b[i]
			i++
			if c&0x80 == 0 {
				break
			}
		}
	}
	tag := b[:i]
	constructed := b[0]&0x20 != 0
	if i >= len(b) {
		return nil, nil, errors.New("ber: truncated")
	}
	l := b[i]
	i++

	var content []byte
	switch {
	case l == 0x80: // indefinite: children until end-of-contents (00 00)
		if !constructed {
			return nil, nil, errors.New("ber: indefinite length on a primitive")
		}
		r := b[i:]
		for {
			if len(r) >= 2 && r[0] == 0 && r[1] == 0 {
				r = r[2:]
				break
			}
			child, cr, err := berElement(r, depth+1)
			if err != nil {
				return nil, nil, err
			}
			content = append(content, child...)
			r = cr
		}
		rest = r
	default:
		n := int(l)
		if l > 0x80 {
			k := int(l & 0x7f)
			if k > 4 || i+k > len(b) {
				return nil, nil, errors.New("ber: bad length")
			}
			n = 0
			for j := 0; j < k; j++ {
				n = n<<8 | int(b[i+j])
			}
			i += k
		}
		if n < 0 || n > len(b)-i {
			return nil, nil, errors.New("ber: length past end")
		}
		content = b[i : i+n]
		rest = b[i+n:]
		if constructed {
			var conv []byte
			for c := content; len(c) > 0; {
				child, cr, err := berElement(c, depth+1)
				if err != nil {
					return nil, nil, err
				}
				conv = append(conv, child...)
				c = cr
			}
			content = conv
		}
	}
	out := make([]byte, 0, len(tag)+6+len(content))
	out = append(out, tag...)
	out = appendLength(out, len(content))
	out = append(out, content...)
	return out, rest, nil
}

func appendLength(b []byte, n int) []byte {
	if n < 0x80 {
		return append(b, byte(n))
	}
	var tmp [8]byte
	k := 0
	for v := n; v > 0; v >>= 8 {
		k++
	}
	for j := k - 1; j >= 0; j-- {
		tmp[k-1-j] = byte(n >> (8 * j))
	}
	b = append(b, 0x80|byte(k))
	return append(b, tmp[:k]...)
}
