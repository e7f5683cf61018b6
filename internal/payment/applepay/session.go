package applepay

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
)

// Apple Pay on the web: merchant validation. When Safari shows the Apple
// Pay sheet it hands the page a validation URL; the page sends it to us,
// and we POST the merchant's details to it over mutual TLS, presenting the
// merchant identity certificate. Apple answers with an opaque session
// object the page passes to completeMerchantValidation.
//
// The URL comes from a browser, so it is checked against Apple's published
// gateway hosts before anything is sent (Apple: "ensure that your server
// accesses only the validation URLs provided by Apple"); otherwise the
// endpoint would let anyone make this server call any address (SSRF) while
// presenting the merchant's certificate.

// DefaultGatewayHosts are the hosts Apple lists for merchant validation
// ("Setting up your server", Apple Pay on the web): the global and China
// gateways, their regional pods, and the sandbox gateways.
var DefaultGatewayHosts = []string{
	"apple-pay-gateway.apple.com",
	"apple-pay-gateway-nc-pod1.apple.com", "apple-pay-gateway-nc-pod2.apple.com", "apple-pay-gateway-nc-pod3.apple.com",
	"apple-pay-gateway-nc-pod4.apple.com", "apple-pay-gateway-nc-pod5.apple.com",
	"apple-pay-gateway-pr-pod1.apple.com", "apple-pay-gateway-pr-pod2.apple.com", "apple-pay-gateway-pr-pod3.apple.com",
	"apple-pay-gateway-pr-pod4.apple.com", "apple-pay-gateway-pr-pod5.apple.com",
	"cn-apple-pay-gateway.apple.com",
	"cn-apple-pay-gateway-sh-pod1.apple.com", "cn-apple-pay-gateway-sh-pod2.apple.com", "cn-apple-pay-gateway-sh-pod3.apple.com",
	"cn-apple-pay-gateway-tj-pod1.apple.com", "cn-apple-pay-gateway-tj-pod2.apple.com", "cn-apple-pay-gateway-tj-pod3.apple.com",
	"apple-pay-gateway-cert.apple.com", "cn-apple-pay-gateway-cert.apple.com",
}

// DefaultSessionURL is Apple's global payment-session endpoint.
const DefaultSessionURL = "https://apple-pay-gateway.apple.com/paymentservices/paymentSession"

// DefaultSessionTimeout bounds one merchant validation: the Apple Pay
// sheet waits for it, so it is short.
const DefaultSessionTimeout = 15 * time.Second

// Error codes of session errors.
const (
	CodeURLNotAllowed       = "validation_url_not_allowed" // Invalid: not one of Apple's gateways
	CodeAppleUnavailable    = "apple_pay_unavailable"      // Unavailable: Apple unreachable, timed out or failing
	CodeCertificateRefused  = "merchant_certificate_refused"
	CodeValidationRefused   = "merchant_validation_refused" // Conflict: Apple refused the merchant's details
	maxSessionResponseBytes = 64 << 10
)

// SessionConfig configures a SessionClient.
type SessionConfig struct {
	// Hosts are the hosts a validation URL may name, as "host" (port 443)
	// or "host:port". Empty means DefaultGatewayHosts. Tests put their
	// local server here.
	Hosts []string
	// RootCAs verify the gateway's server certificate; nil means the
	// system's roots. Tests put their own CA here.
	RootCAs *x509.CertPool
	// Timeout bounds a whole request; zero means DefaultSessionTimeout.
	Timeout time.Duration
}

// SessionClient asks Apple for merchant sessions.
type SessionClient struct {
	hosts   []string
	roots   *x509.CertPool
	timeout time.Duration
}

// NewSessionClient returns a client for cfg.
func NewSessionClient(cfg SessionConfig) *SessionClient {
	c := &SessionClient{hosts: cfg.Hosts, roots: cfg.RootCAs, timeout: cfg.Timeout}
	if len(c.hosts) == 0 {
		c.hosts = DefaultGatewayHosts
	}
	c.hosts = slices.Clone(c.hosts)
	for i, h := range c.hosts {
		c.hosts[i] = strings.ToLower(strings.TrimSuffix(h, ":443"))
	}
	if c.timeout <= 0 {
		c.timeout = DefaultSessionTimeout
	}
	return c
}

// SessionRequest is one merchant validation.
type SessionRequest struct {
	ValidationURL      string // from the page's onvalidatemerchant event
	MerchantIdentifier string // merchant.com.example
	DisplayName        string // at most 64 characters, shown on the sheet
	Domain             string // the fully qualified domain of the checkout page, registered with Apple
	// Identity is the merchant identity certificate and its key, presented
	// to Apple.
	Identity tls.Certificate
}

// sessionBody is what Apple's paymentSession endpoint takes.
type sessionBody struct {
	MerchantIdentifier string `json:"merchantIdentifier"`
	DisplayName        string `json:"displayName"`
	Initiative         string `json:"initiative"`
	InitiativeContext  string `json:"initiativeContext"`
}

// CheckURL parses a validation URL and checks it names one of the allowed
// gateways over https, with no credentials, query or fragment and a path
// under /paymentservices/. Errors: apperr.Invalid validation_url_not_allowed
// naming the field validation_url.
func (c *SessionClient) CheckURL(raw string) (*url.URL, error) {
	bad := func(why string) error {
		return &apperr.Error{Kind: apperr.Invalid, Code: CodeURLNotAllowed, Detail: "validation_url " + why,
			Fields: []apperr.FieldError{{Field: "validation_url", Reason: why}}}
	}
	if len(raw) > 2048 {
		return nil, bad("is too long")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return nil, bad("must be the absolute URL Apple Pay gave the page")
	}
	if u.Scheme != "https" {
		return nil, bad("must be an https URL")
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		return nil, bad("must not carry credentials, a query or a fragment")
	}
	host := strings.ToLower(u.Host)
	host = strings.TrimSuffix(host, ":443")
	if !slices.Contains(c.hosts, host) {
		return nil, bad("is not one of Apple Pay's merchant validation gateways")
	}
	if !strings.HasPrefix(u.EscapedPath(), "/paymentservices/") || strings.Contains(u.Path, "..") {
		return nil, bad("must be an Apple Pay payment services path (/paymentservices/…)")
	}
	return u, nil
}

// Session validates the merchant with Apple and returns Apple's session
// object exactly as Apple sent it. The URL is checked first: a URL not
// allowed is refused without any request. Errors: apperr.Invalid
// validation_url_not_allowed; apperr.Conflict merchant_certificate_refused
// when Apple's gateway refuses the identity certificate, or
// merchant_validation_refused when it refuses the merchant's details (an
// unregistered domain, a wrong merchant identifier); apperr.Unavailable
// apple_pay_unavailable when Apple cannot be reached, times out or fails.
func (c *SessionClient) Session(ctx context.Context, req SessionRequest) (json.RawMessage, error) {
	u, err := c.CheckURL(req.ValidationURL)
	if err != nil {
		return nil, err
	}
	if len(req.Identity.Certificate) == 0 || req.Identity.PrivateKey == nil {
		return nil, &apperr.Error{Kind: apperr.Internal, Code: "internal", Err: errors.New("applepay: session without a merchant identity")}
	}
	body, err := json.Marshal(sessionBody{MerchantIdentifier: req.MerchantIdentifier, DisplayName: req.DisplayName,
		Initiative: "web", InitiativeContext: req.Domain})
	if err != nil {
		return nil, apperr.Wrap(err, "applepay: session body")
	}
	identity := req.Identity
	tr := &http.Transport{
		Proxy:       http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{Timeout: c.timeout}).DialContext,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			RootCAs:    c.roots,
			// Present the identity whatever the server asks for: Apple's
			// gateway names no acceptable CAs that would match.
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &identity, nil },
		},
		TLSHandshakeTimeout:   c.timeout,
		ResponseHeaderTimeout: c.timeout,
		DisableKeepAlives:     true, // one request per identity; nothing to reuse
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: c.timeout,
		// A redirect would leave the allow-list: never follow one.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, apperr.Wrap(err, "applepay: session request")
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	res, err := client.Do(hr)
	if err != nil {
		if refusedCertificate(err) {
			return nil, &apperr.Error{Kind: apperr.Conflict, Code: CodeCertificateRefused,
				Detail: "Apple's gateway refused the merchant identity certificate; upload a current one", Err: err}
		}
		return nil, &apperr.Error{Kind: apperr.Unavailable, Code: CodeAppleUnavailable,
			Detail: "Apple Pay's merchant validation could not be reached; try again", Err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxSessionResponseBytes+1))
	if err != nil {
		return nil, &apperr.Error{Kind: apperr.Unavailable, Code: CodeAppleUnavailable,
			Detail: "Apple Pay's merchant validation answer was cut off; try again", Err: err}
	}
	switch {
	case res.StatusCode == http.StatusOK:
	case res.StatusCode >= 400 && res.StatusCode < 500 && res.StatusCode != http.StatusTooManyRequests:
		return nil, &apperr.Error{Kind: apperr.Conflict, Code: CodeValidationRefused,
			Detail: "Apple refused the merchant validation" + appleMessage(b) + "; check the merchant identifier and that the domain is registered with Apple",
			Err:    fmt.Errorf("apple answered %d", res.StatusCode)}
	default:
		return nil, &apperr.Error{Kind: apperr.Unavailable, Code: CodeAppleUnavailable,
			Detail: "Apple Pay's merchant validation is failing; try again", Err: fmt.Errorf("apple answered %d", res.StatusCode)}
	}
	if len(b) > maxSessionResponseBytes || !json.Valid(b) || !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return nil, &apperr.Error{Kind: apperr.Unavailable, Code: CodeAppleUnavailable,
			Detail: "Apple Pay's merchant validation answered with something other than a session", Err: errors.New("not a JSON object")}
	}
	return json.RawMessage(bytes.TrimSpace(b)), nil
}

// refusedCertificate reports whether the TLS handshake failed because the
// server refused our client certificate (a TLS alert from the server),
// rather than the network or the server's own certificate.
func refusedCertificate(err error) bool {
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return false // the server's certificate is the problem, not ours
	}
	s := err.Error()
	for _, alert := range []string{"remote error: tls: bad certificate", "remote error: tls: certificate required",
		"remote error: tls: unknown certificate authority", "remote error: tls: certificate expired",
		"remote error: tls: unsupported certificate", "remote error: tls: certificate revoked"} {
		if strings.Contains(s, alert) {
			return true
		}
	}
	return false
}

// appleMessage quotes Apple's statusMessage, if it gave one, cleaned for
// showing to the client.
func appleMessage(b []byte) string {
	var m struct {
		StatusMessage string `json:"statusMessage"`
	}
	if json.Unmarshal(b, &m) != nil || m.StatusMessage == "" {
		return ""
	}
	msg := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, m.StatusMessage)
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return ` ("` + msg + `")`
}
