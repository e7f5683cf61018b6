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
	if len(p) < 10_000 {
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
	// The spec is loaded from the site root, same origin.
	if !strings.Contains(p, `data-spec="/openapi.json"`) {
		t.Error(`page does not point at "/openapi.json"`)
	}
	// Roughly balanced markup for the elements the page uses.
	m := strings.ToLower(markupOnly(p))
	for _, tag := range []string{"div", "script", "style", "main", "aside", "nav", "form", "button", "label", "head", "body"} {
		open := len(regexp.MustCompile(`<`+tag+`[\s>]`).FindAllString(m, -1))
		closing := strings.Count(m, "</"+tag+">")
		if open != closing {
			t.Errorf("<%s>: %d opening vs %d closing tags", tag, open, closing)
		}
	}
}

func TestDocsPageLoadsNothingExternal(t *testing.T) {
	p := page(t)
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
		{"worker / socket / event stream", regexp.MustCompile(`(?i)\b(importScripts|new\s+Worker|new\s+SharedWorker|new\s+WebSocket|new\s+EventSource)\s*\(`)},
		{"iframe / object / embed", regexp.MustCompile(`(?i)<(iframe|object|embed)\b`)},
	}
	for _, f := range forbidden {
		if loc := f.re.FindStringIndex(p); loc != nil {
			t.Errorf("%s: %q", f.name, p[max(0, loc[0]-40):min(len(p), loc[1]+40)])
		}
	}

	// Belt and braces: every absolute URL in the file must be a known,
	// non-loading string (an XML namespace, a placeholder example value).
	allowed := map[string]bool{
		"http://www.w3.org/2000/svg": true, // createElementNS namespace
		"https://example.com/":       true, // example value for format: uri
	}
	for _, u := range regexp.MustCompile(`(?i)https?://[^\s"'<>)\x60]*`).FindAllString(p, -1) {
		if !allowed[u] {
			t.Errorf("unexpected absolute URL in page: %q", u)
		}
	}
}

func TestDocsPageEscapesSpecText(t *testing.T) {
	p := page(t)
	// Spec text must only reach the DOM via textContent / text nodes.
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
	csp := DocsCSP()
	p := page(t)
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
	if DocsContentType != "text/html; charset=utf-8" {
		t.Errorf("DocsContentType = %q", DocsContentType)
	}
}

func TestDocsPageReturnsCopy(t *testing.T) {
	a := DocsPage()
	orig := bytes.Clone(a)
	for i := range a {
		a[i] = 'x'
	}
	if b := DocsPage(); !bytes.Equal(b, orig) {
		t.Fatal("modifying the result of DocsPage changed later results")
	}
}
