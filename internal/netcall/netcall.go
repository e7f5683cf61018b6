// Package netcall says what a failed outgoing HTTP call tells about the
// other side: whether the request can have reached it. Payment adapters
// use it to tell "nothing was sent, safe to fail the payment" from "it may
// have been received, the outcome is unknown".
package netcall

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
)

// BeforeSending reports whether err is one that happens before a request
// can be sent: resolving the name, connecting, the TLS handshake, a proxy's
// CONNECT. Anything else (a timeout or reset while waiting for the answer)
// may have happened after the other side received the request.
func BeforeSending(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && (opErr.Op == "dial" || opErr.Op == "proxyconnect") {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var (
		recordErr tls.RecordHeaderError
		alertErr  tls.AlertError
		verifyErr *tls.CertificateVerificationError
		authErr   x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   x509.CertificateInvalidError
	)
	if errors.As(err, &recordErr) || errors.As(err, &alertErr) || errors.As(err, &verifyErr) ||
		errors.As(err, &authErr) || errors.As(err, &hostErr) || errors.As(err, &certErr) {
		return true
	}
	// net/http's handshake timeout has no exported type.
	return strings.Contains(err.Error(), "TLS handshake timeout")
}
