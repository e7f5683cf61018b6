package applepay_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/payment/applepay"
	"github.com/fynlo/fynlo/internal/payment/applepay/aptest"
)

func identity(t *testing.T, m *aptest.Merchant) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(m.IdentityCertPEM, m.IdentityKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantKind(t *testing.T, err error, kind apperr.Kind, code string) {
	t.Helper()
	ae, ok := err.(*apperr.Error)
	if !ok || ae.Kind != kind || ae.Code != code {
		t.Fatalf("err = %v, want %s %s", err, kind, code)
	}
}

func TestSessionOverMutualTLS(t *testing.T) {
	m := aptest.NewMerchant(t, "merchant.com.fynlo.test", aptest.MerchantOpts{})
	g := aptest.StartGateway(t, m.CA)
	c := applepay.NewSessionClient(applepay.SessionConfig{Hosts: []string{g.Host()}, RootCAs: g.RootCAs(), Timeout: 5 * time.Second})
	req := applepay.SessionRequest{ValidationURL: g.SessionURL(), MerchantIdentifier: m.ID, DisplayName: "Dishoom",
		Domain: "shop.example.com", Identity: identity(t, m)}
	got, err := c.Session(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(g.Session) {
		t.Fatalf("session = %s, want Apple's as is: %s", got, g.Session)
	}
	rs := g.Requests()
	if len(rs) != 1 {
		t.Fatalf("%d requests", len(rs))
	}
	want := map[string]any{"merchantIdentifier": m.ID, "displayName": "Dishoom", "initiative": "web", "initiativeContext": "shop.example.com"}
	for k, v := range want {
		if rs[0].Body[k] != v {
			t.Errorf("body %s = %v, want %v", k, rs[0].Body[k], v)
		}
	}
	if !rs[0].ClientCert.Equal(m.IdentityCert) {
		t.Error("the gateway did not see the merchant identity certificate")
	}

	t.Run("wrong client certificate", func(t *testing.T) {
		other := aptest.NewMerchant(t, m.ID, aptest.MerchantOpts{}) // same ID, a CA the gateway does not trust
		r := req
		r.Identity = identity(t, other)
		_, err := c.Session(context.Background(), r)
		wantKind(t, err, apperr.Conflict, applepay.CodeCertificateRefused)
		if n := len(g.Requests()); n != 1 {
			t.Fatalf("the gateway answered a request without a trusted client certificate (%d)", n)
		}
	})
	t.Run("untrusted gateway", func(t *testing.T) {
		c := applepay.NewSessionClient(applepay.SessionConfig{Hosts: []string{g.Host()}, RootCAs: x509.NewCertPool()})
		_, err := c.Session(context.Background(), req)
		wantKind(t, err, apperr.Unavailable, applepay.CodeAppleUnavailable)
	})
	t.Run("Apple refuses", func(t *testing.T) {
		g.FailWith(http.StatusBadRequest)
		defer g.FailWith(http.StatusOK)
		_, err := c.Session(context.Background(), req)
		wantKind(t, err, apperr.Conflict, applepay.CodeValidationRefused)
		g.FailWith(http.StatusServiceUnavailable)
		_, err = c.Session(context.Background(), req)
		wantKind(t, err, apperr.Unavailable, applepay.CodeAppleUnavailable)
	})
	t.Run("unreachable", func(t *testing.T) {
		dead := aptest.StartGateway(t, m.CA)
		u, host := dead.SessionURL(), dead.Host()
		dead.Close()
		c := applepay.NewSessionClient(applepay.SessionConfig{Hosts: []string{host}, RootCAs: dead.RootCAs(), Timeout: 2 * time.Second})
		r := req
		r.ValidationURL = u
		_, err := c.Session(context.Background(), r)
		wantKind(t, err, apperr.Unavailable, applepay.CodeAppleUnavailable)
	})
}

func TestSessionRefusesURLsOutsideTheAllowList(t *testing.T) {
	m := aptest.NewMerchant(t, "merchant.com.fynlo.test", aptest.MerchantOpts{})
	g := aptest.StartGateway(t, m.CA)
	c := applepay.NewSessionClient(applepay.SessionConfig{Hosts: []string{g.Host()}, RootCAs: g.RootCAs()})
	for _, u := range []string{
		"", "not a url", "/paymentservices/paymentSession",
		"http://" + g.Host() + "/paymentservices/paymentSession", // not https
		"https://evil.example.com/paymentservices/paymentSession",
		"https://" + g.Host() + ".evil.example.com/paymentservices/paymentSession",
		"https://user:pw@" + g.Host() + "/paymentservices/paymentSession",
		"https://" + g.Host() + "/paymentservices/paymentSession?x=1",
		"https://" + g.Host() + "/paymentservices/paymentSession#f",
		"https://" + g.Host() + "/admin",
		"https://" + g.Host() + "/paymentservices/../admin",
		"https://169.254.169.254/paymentservices/paymentSession",
	} {
		_, err := c.Session(context.Background(), applepay.SessionRequest{ValidationURL: u, MerchantIdentifier: m.ID,
			DisplayName: "x", Domain: "shop.example.com", Identity: identity(t, m)})
		wantKind(t, err, apperr.Invalid, applepay.CodeURLNotAllowed)
		if ae := err.(*apperr.Error); len(ae.Fields) != 1 || ae.Fields[0].Field != "validation_url" {
			t.Errorf("%q: fields %v", u, ae.Fields)
		}
	}
	if n := len(g.Requests()); n != 0 {
		t.Fatalf("%d requests reached the gateway", n)
	}
	// The default list is Apple's own gateways only.
	d := applepay.NewSessionClient(applepay.SessionConfig{})
	for _, ok := range []string{applepay.DefaultSessionURL, "https://apple-pay-gateway-cert.apple.com/paymentservices/startSession",
		"https://cn-apple-pay-gateway.apple.com:443/paymentservices/paymentSession", "https://APPLE-PAY-GATEWAY-NC-POD3.apple.com/paymentservices/paymentSession"} {
		if _, err := d.CheckURL(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"https://apple.com/paymentservices/paymentSession", "https://apple-pay-gateway.apple.com.evil.com/paymentservices/x",
		"https://apple-pay-gateway.apple.com:8443/paymentservices/paymentSession", "https://" + g.Host() + "/paymentservices/paymentSession"} {
		if _, err := d.CheckURL(bad); err == nil {
			t.Errorf("%s allowed", bad)
		}
	}
}

func TestAppleRootG3(t *testing.T) {
	root, err := applepay.AppleRootG3()
	if err != nil {
		t.Fatal(err)
	}
	if root.Subject.CommonName != "Apple Root CA - G3" || !root.IsCA {
		t.Fatalf("root %v", root.Subject)
	}
}
