package truelayer

import (
	"bytes"
	"fmt"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// Request signing, version 2 of TrueLayer's scheme: a Tl-Signature header
// holding a JWS (ES512) with a detached payload. The JOSE header carries
// alg, kid, tl_version "2" and tl_headers, the names of the signed headers
// in order; the payload is
//
//	METHOD /path\n
//	Header-Name: value\n   (each header of tl_headers, as named there)
//	body
//
// Webhooks from TrueLayer are signed the same way, with a jku naming the
// JWKS that holds the key.

// signingPayload builds what a Tl-Signature signs.
func signingPayload(method, path string, headers [][2]string, body []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(method) + len(path) + len(body) + 64*len(headers) + 2)
	b.WriteString(strings.ToUpper(method))
	b.WriteByte(' ')
	b.WriteString(path)
	b.WriteByte('\n')
	for _, h := range headers {
		b.WriteString(h[0])
		b.WriteString(": ")
		b.WriteString(h[1])
		b.WriteByte('\n')
	}
	b.Write(body)
	return b.Bytes()
}

// sign returns the Tl-Signature of a request with the given headers (name,
// value), signed with the provider's key.
func (p *Provider) sign(method, path string, headers [][2]string, body []byte) (string, error) {
	names := make([]string, len(headers))
	for i, h := range headers {
		names[i] = h[0]
	}
	opts := (&jose.SignerOptions{}).
		WithHeader("tl_version", "2").
		WithHeader("tl_headers", strings.Join(names, ","))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES512,
		Key: jose.JSONWebKey{Key: p.key, KeyID: p.kid, Algorithm: string(jose.ES512)}}, opts)
	if err != nil {
		return "", fmt.Errorf("truelayer: request signer: %w", err)
	}
	jws, err := signer.Sign(signingPayload(method, path, headers, body))
	if err != nil {
		return "", fmt.Errorf("truelayer: sign request: %w", err)
	}
	return jws.DetachedCompactSerialize()
}
