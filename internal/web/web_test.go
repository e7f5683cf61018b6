package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

func page(t *testing.T) string {
	t.Helper()
	p := DocsPage()
	if len(p) == 0 {
		t.Fatal("DocsPage() is empty")
	}
	return string(p)
}

// markupOnly returns the page with the bodies of <script> and <style> blocks removed.
func markupOnly(s string) string {
	s = inlineScriptRE.ReplaceAllString(s, "<script></script>")
	return inlineStyleRE.ReplaceAllString(s, "<style></style>")
}

func TestDocsPageIsNonEmptyHTML(t *testing.T) {
	p := page(t)
	checkHTMLShell(t, p, 10_000, []string{"div", "script", "style", "main", "aside", "nav", "form", "button", "label", "head", "body"})
	// The spec is loaded from the site root, same origin.
	if !strings.Contains(p, `data-spec="/openapi.json"`) {
		t.Error(`page does not point at "/openapi.json"`)
	}
}

// checkHTMLShell checks p is a complete HTML document of at least minSize
// bytes, with roughly balanced markup for the elements in tags.
func checkHTMLShell(t *testing.T, p string, minSize int, tags []string) {
	t.Helper()
	if len(p) < minSize {
		t.Errorf("page suspiciously small: %d bytes", len(p))
	}
	lower := strings.ToLower(p)
	if !strings.HasPrefix(lower, "<!doctype html>") {
		t.Error("page does not start with <!doctype html>")
	}
	for _, want := range []string{
		`<html lang="en"`, `<meta charset="utf-8">`, `<meta name="viewport"`,
		"<title>", "</title>", "<style>", "</style>", "<script>", "</script>",
		"<body>", "</body>", "</html>",
	} {
		if !strings.Contains(lower, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	m := strings.ToLower(markupOnly(p))
	for _, tag := range tags {
		open := len(regexp.MustCompile(`<`+tag+`[\s>]`).FindAllString(m, -1))
		closing := strings.Count(m, "</"+tag+">")
		if open != closing {
			t.Errorf("<%s>: %d opening vs %d closing tags", tag, open, closing)
		}
	}
}

func TestDocsPageLoadsNothingExternal(t *testing.T) {
	checkNothingExternal(t, page(t), false, map[string]bool{
		"http://www.w3.org/2000/svg": true, // createElementNS namespace
		"https://example.com/":       true, // example value for format: uri
	})
}

// checkNothingExternal checks p loads nothing from another origin: no
// scripts, styles, fonts, frames or absolute URLs other than those in
// allowed. Only with socket may it open a WebSocket (checked by the caller).
func checkNothingExternal(t *testing.T, p string, socket bool, allowed map[string]bool) {
	t.Helper()
	forbidden := []struct {
		name string
		re   *regexp.Regexp
	}{
		{"absolute or protocol-relative URL in an attribute", regexp.MustCompile(`(?i)\b(src|href|action|formaction|poster|srcset|data|xlink:href|manifest)\s*=\s*["']?\s*(https?:)?//`)},
		{"absolute URL in CSS url()", regexp.MustCompile(`(?i)url\(\s*["']?\s*(https?:)?//`)},
		{"CSS @import", regexp.MustCompile(`(?i)@import`)},
		{"external script tag", regexp.MustCompile(`(?i)<script[^>]*\bsrc\s*=`)},
		{"external stylesheet", regexp.MustCompile(`(?i)<link[^>]*\brel\s*=\s*["']?stylesheet`)},
		{"preconnect / prefetch / preload link", regexp.MustCompile(`(?i)<link[^>]*\brel\s*=\s*["']?(preconnect|dns-prefetch|prefetch|preload|modulepreload)`)},
		{"JS module import", regexp.MustCompile(`(?i)\bimport\s*\(|\bimport\s+[\w{*][^;\n]*\bfrom\s*["']`)},
		{"fetch of an absolute URL", regexp.MustCompile(`(?i)fetch\(\s*["'](https?:)?//`)},
		{"web font", regexp.MustCompile(`(?i)@font-face`)},
		{"worker / event stream", regexp.MustCompile(`(?i)\b(importScripts|new\s+Worker|new\s+SharedWorker|new\s+EventSource)\s*\(`)},
		{"iframe / object / embed", regexp.MustCompile(`(?i)<(iframe|object|embed)\b`)},
	}
	if !socket {
		forbidden = append(forbidden, struct {
			name string
			re   *regexp.Regexp
		}{"socket", regexp.MustCompile(`(?i)\bnew\s+WebSocket\s*\(`)})
	}
	for _, f := range forbidden {
		if loc := f.re.FindStringIndex(p); loc != nil {
			t.Errorf("%s: %q", f.name, p[max(0, loc[0]-40):min(len(p), loc[1]+40)])
		}
	}

	// Belt and braces: every absolute URL in the file must be a known,
	// non-loading string (an XML namespace, a placeholder example value).
	for _, u := range regexp.MustCompile(`(?i)(https?|wss?)://[^\s"'<>)\x60]*`).FindAllString(p, -1) {
		if !allowed[u] {
			t.Errorf("unexpected absolute URL in page: %q", u)
		}
	}
}

func TestDocsPageEscapesSpecText(t *testing.T) {
	checkEscapes(t, page(t))
}

// checkEscapes checks text from the server can only reach the DOM as text,
// and that the page has no inline code the CSP would block.
func checkEscapes(t *testing.T, p string) {
	t.Helper()
	// Server text must only reach the DOM via textContent / text nodes.
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(p, bad) {
			t.Errorf("page uses %s", bad)
		}
	}
	m := markupOnly(p)
	// The CSP allows inline code only by hash: no inline handlers or style attributes.
	if loc := regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`).FindStringIndex(m); loc != nil {
		t.Errorf("inline event handler attribute: %q", m[loc[0]:loc[1]])
	}
	if loc := regexp.MustCompile(`(?i)<[^>]+\sstyle\s*=`).FindStringIndex(m); loc != nil {
		t.Errorf("inline style attribute: %q", m[loc[0]:loc[1]])
	}
	if strings.Contains(p, "javascript:") {
		t.Error("page contains a javascript: URL")
	}
}

func TestDocsCSP(t *testing.T) {
	checkCSP(t, page(t), DocsCSP())
	if DocsContentType != "text/html; charset=utf-8" {
		t.Errorf("DocsContentType = %q", DocsContentType)
	}
}

// checkCSP checks csp is strict and allows p's one inline script and one
// inline style block by their hashes.
func checkCSP(t *testing.T, p, csp string) {
	t.Helper()
	for _, want := range []string{"default-src 'none'", "connect-src 'self'", "base-uri 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP is not strict: %q", csp)
	}
	check := func(re *regexp.Regexp, directive string) {
		ms := re.FindAllStringSubmatch(p, -1)
		if len(ms) != 1 {
			t.Fatalf("expected exactly one inline block for %s, got %d", directive, len(ms))
		}
		sum := sha256.Sum256([]byte(ms[0][1]))
		want := directive + " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	check(inlineScriptRE, "script-src")
	check(inlineStyleRE, "style-src")
}

func TestDocsPageReturnsCopy(t *testing.T) {
	checkCopy(t, DocsPage)
}

func checkCopy(t *testing.T, get func() []byte) {
	t.Helper()
	a := get()
	orig := bytes.Clone(a)
	for i := range a {
		a[i] = 'x'
	}
	if b := get(); !bytes.Equal(b, orig) {
		t.Fatal("modifying the result changed later results")
	}
}

// ---- the kitchen display ----

func kdsPage(t *testing.T) string {
	t.Helper()
	p := KDSPage()
	if len(p) == 0 {
		t.Fatal("KDSPage() is empty")
	}
	return string(p)
}

func TestKDSPageIsNonEmptyHTML(t *testing.T) {
	p := kdsPage(t)
	checkHTMLShell(t, p, 10_000, []string{"div", "script", "style", "main", "section", "header", "form", "button", "label", "ul", "head", "body"})
	// The elements the flow and the browser test rely on.
	for _, id := range []string{"pair-code", "pair-submit", "pair-msg", "station-list", "station-btn", "forget",
		"conn", "tickets", "recall", "done-btn", "done-list", "toast"} {
		if !strings.Contains(p, `id="`+id+`"`) {
			t.Errorf("page lacks #%s", id)
		}
	}
	lower := strings.ToLower(p)
	if !strings.Contains(lower, `<meta name="color-scheme" content="dark">`) {
		t.Error("page is not declared dark")
	}
	if !strings.Contains(lower, `<link rel="icon" href="data:,">`) {
		t.Error("page lacks an inline icon: the browser would fetch /favicon.ico and log a 404")
	}
}

func TestKDSPageSpeaksTheKitchenAPI(t *testing.T) {
	p := kdsPage(t)
	// Relative to data-api="/api/v1" on <html>.
	if !strings.Contains(p, `data-api="/api/v1"`) {
		t.Error(`page does not point at "/api/v1"`)
	}
	for _, want := range []string{
		"'/devices/pair'", "'/kitchen/stations?location_id='", "'/kitchen/tickets?location_id='",
		"'/kitchen/tickets/' + encodeURIComponent(id) + '/' + action",
		"'acknowledge'", "'bump'", "'recall'", "'ticket.created'", "'ticket.updated'",
		"'&status=' + status", "ticketsPath('open')", "ticketsPath('done')", "event_seq", "device_token",
		"'Idempotency-Key'", "'Bearer '", "allergen_alert", "acknowledged_at",
		"localStorage", "crypto.getRandomValues", // randomUUID is missing over plain http
	} {
		if !strings.Contains(p, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Ages turn amber at 10 minutes and red at 20; the stream backs off
	// from 0.5 s to 10 s.
	for _, want := range []string{
		"const AGE_WARN_MS = 10 * 60 * 1000;", "const AGE_LATE_MS = 20 * 60 * 1000;",
		"const RETRY_MIN_MS = 500;", "const RETRY_MAX_MS = 10 * 1000;",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestKDSPageLoadsNothingExternal(t *testing.T) {
	p := kdsPage(t)
	checkNothingExternal(t, p, true, map[string]bool{"ws://": true, "wss://": true})
	// Its one socket goes to the host the page came from.
	if n := len(regexp.MustCompile(`\bnew\s+WebSocket\s*\(`).FindAllString(p, -1)); n != 1 {
		t.Errorf("page opens %d WebSockets, want 1", n)
	}
	if !strings.Contains(p, "scheme + location.host + API + '/ws?access_token='") {
		t.Error("the WebSocket URL is not built from location.host")
	}
	if !strings.Contains(p, "location.protocol === 'https:' ? 'wss://' : 'ws://'") {
		t.Error("the WebSocket does not follow the page's scheme")
	}
}

func TestKDSPageEscapesServerText(t *testing.T) {
	checkEscapes(t, kdsPage(t))
}

func TestKDSCSP(t *testing.T) {
	checkCSP(t, kdsPage(t), KDSCSP())
	if KDSContentType != "text/html; charset=utf-8" {
		t.Errorf("KDSContentType = %q", KDSContentType)
	}
	if KDSCSP() == DocsCSP() {
		t.Error("the two pages share a CSP: their hashes differ")
	}
}

func TestKDSPageReturnsCopy(t *testing.T) {
	checkCopy(t, KDSPage)
}
