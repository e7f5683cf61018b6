// Package smtp sends Fynlo's mail through an SMTP server; it is the one
// place that speaks SMTP.
package smtp

import (
	"context"
	"fmt"
	"net/smtp"
	"net/url"
	"strings"

	"github.com/fynlo/fynlo/internal/notify"
)

var _ notify.Sender = (*SMTPSender)(nil)

// SMTPSender sends through an SMTP server named by a URL:
// smtp://user:password@host:port?from=pos@example.com (STARTTLS is used
// when the server offers it; authentication needs it or a loopback host).
type SMTPSender struct {
	addr, from string
	auth       smtp.Auth
}

// NewSMTPSender parses an smtp:// URL.
func NewSMTPSender(raw string) (*SMTPSender, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "smtp" || u.Host == "" {
		return nil, fmt.Errorf("SMTP URL must look like smtp://user:password@host:port?from=address")
	}
	from := u.Query().Get("from")
	if !strings.Contains(from, "@") {
		return nil, fmt.Errorf("SMTP URL needs ?from=<sender address>")
	}
	s := &SMTPSender{addr: u.Host, from: from}
	if !strings.Contains(u.Host, ":") {
		s.addr += ":587"
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		s.auth = smtp.PlainAuth("", u.User.Username(), pw, u.Hostname())
	}
	return s, nil
}

// Send implements notify.Sender.
func (s *SMTPSender) Send(_ context.Context, m notify.Mail) error {
	msg := "From: " + s.from + "\r\nTo: " + m.To + "\r\nSubject: " + m.Subject +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + strings.ReplaceAll(m.Body, "\n", "\r\n")
	return smtp.SendMail(s.addr, s.auth, s.from, []string{m.To}, []byte(msg))
}
