// Package web holds Fynlo's browser pages: single, self-contained HTML
// files (inline CSS and JavaScript, no CDN, no external fonts or scripts)
// that work without internet access, each with a strict
// Content-Security-Policy that allows its inline code by hash.
//
// The API reference is meant to be served at /docs. When loaded it fetches
// the server's OpenAPI 3.1 document from /openapi.json (same origin) and
// renders a reference of every operation grouped by tag, with parameter and
// schema tables, generated examples, a search box, deep links (#operationId)
// and a "Try it" panel that sends same-origin requests with an optional
// bearer token and Idempotency-Key.
//
// The kitchen display is meant to be served at /kds, on a tablet in the
// kitchen. It pairs with a one-time code (POST /api/v1/devices/pair), keeps
// the device token in localStorage, lets the cook choose a station, loads
// the open tickets (GET /api/v1/kitchen/tickets) and then follows the event
// stream (/api/v1/ws, from the sequence number the tickets were read at),
// reconnecting with backoff from the last event seen. Cooks acknowledge
// allergen alerts, bump tickets and recall them; every POST carries an
// Idempotency-Key.
//
// This package only embeds and describes the pages; the HTTP wiring lives
// elsewhere. A typical handler:
//
//	w.Header().Set("Content-Type", web.DocsContentType)
//	w.Header().Set("Content-Security-Policy", web.DocsCSP())
//	w.Write(web.DocsPage())
package web

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"regexp"
	"strings"
)

// DocsContentType is the media type of the page returned by DocsPage.
const DocsContentType = "text/html; charset=utf-8"

// KDSContentType is the media type of the page returned by KDSPage.
const KDSContentType = "text/html; charset=utf-8"

//go:embed docs.html
var docsHTML []byte

//go:embed kds.html
var kdsHTML []byte

var (
	inlineScriptRE = regexp.MustCompile(`(?is)<script(?:\s[^>]*)?>(.*?)</script>`)
	inlineStyleRE  = regexp.MustCompile(`(?is)<style(?:\s[^>]*)?>(.*?)</style>`)

	docsCSP = buildCSP(docsHTML)
	kdsCSP  = buildCSP(kdsHTML)
)

// DocsPage returns the complete HTML of the API reference page. It needs no
// other assets: everything except /openapi.json is inline. The returned
// slice is a fresh copy and may be modified by the caller.
func DocsPage() []byte {
	return bytes.Clone(docsHTML)
}

// DocsCSP returns a strict Content-Security-Policy header value for the page
// returned by DocsPage. Inline script and style blocks are allowed by their
// SHA-256 hashes (no 'unsafe-inline'); network access is limited to the same
// origin (the OpenAPI document and "Try it" requests).
func DocsCSP() string {
	return docsCSP
}

// KDSPage returns the complete HTML of the kitchen display. It needs no
// other assets: everything except the API is inline. The returned slice is
// a fresh copy and may be modified by the caller.
func KDSPage() []byte {
	return bytes.Clone(kdsHTML)
}

// KDSCSP returns a strict Content-Security-Policy header value for the page
// returned by KDSPage, built like DocsCSP. Its connect-src 'self' also
// covers the page's WebSocket back to the host it came from: CSP Level 3
// matches ws: and wss: on the page's own host and port against 'self', so
// the policy needs no host name, which cannot be known in advance (the
// browser test in internal/app connects under this policy in Chromium).
func KDSCSP() string {
	return kdsCSP
}

func buildCSP(page []byte) string {
	hashes := func(re *regexp.Regexp) string {
		var out []string
		for _, m := range re.FindAllSubmatch(page, -1) {
			sum := sha256.Sum256(m[1])
			out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		if len(out) == 0 {
			return "'none'"
		}
		return strings.Join(out, " ")
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + hashes(inlineScriptRE),
		"style-src " + hashes(inlineStyleRE),
		"connect-src 'self'",
		"img-src 'self' data:",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}
