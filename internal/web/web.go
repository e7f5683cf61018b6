// Package web holds Fynlo's human-readable API reference: a single,
// self-contained HTML page (inline CSS and JavaScript, no CDN, no external
// fonts or scripts) that works without internet access.
//
// The page is meant to be served at /docs. When loaded it fetches the
// server's OpenAPI 3.1 document from /openapi.json (same origin) and renders
// a reference of every operation grouped by tag, with parameter and schema
// tables, generated examples, a search box, deep links (#operationId) and a
// "Try it" panel that sends same-origin requests with an optional bearer
// token and Idempotency-Key.
//
// This package only embeds and describes the page; the HTTP wiring lives
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

//go:embed docs.html
var docsHTML []byte

var (
	inlineScriptRE = regexp.MustCompile(`(?is)<script(?:\s[^>]*)?>(.*?)</script>`)
	inlineStyleRE  = regexp.MustCompile(`(?is)<style(?:\s[^>]*)?>(.*?)</style>`)

	docsCSP = buildCSP(docsHTML)
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
