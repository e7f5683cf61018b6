package web

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"io"
	"regexp"
)

// The sandbox bank's page: what a guest's phone opens from an open-banking
// QR code when the organization has no real bank provider. One approves or
// declines with a plain form POST (no script), so it works on any phone.

//go:embed sandboxbank.html
var sandboxBankHTML string

var sandboxBankTmpl = template.Must(template.New("sandboxbank").Parse(sandboxBankHTML))

// SandboxBankView is what the page shows.
type SandboxBankView struct {
	Payee     string
	Amount    string // formatted, with its currency
	Reference string
	Status    string
	Open      bool   // the guest may still approve or decline
	Message   string // the outcome of a decision, if one was just made
	OK        bool   // the message is good news
}

// SandboxBankPage writes the page.
func SandboxBankPage(w io.Writer, v SandboxBankView) error { return sandboxBankTmpl.Execute(w, v) }

// sandboxBankCSP allows the page's one inline style block, by hash, and
// posting its form to itself; nothing else. Worked out once.
var sandboxBankCSP = func() string {
	sum := sha256.Sum256([]byte(regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(sandboxBankHTML)[1]))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}()

// SandboxBankCSP is the page's Content-Security-Policy.
func SandboxBankCSP() string { return sandboxBankCSP }
