package applepay_test

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/payment/applepay"
	"github.com/fynlo/fynlo/internal/payment/applepay/aptest"
	"github.com/fynlo/fynlo/internal/wallet"
)

func TestCurrencyAlpha(t *testing.T) {
	for num, alpha := range map[string]string{"826": "GBP", "978": "EUR", "840": "USD", "392": "JPY"} {
		if got, ok := applepay.CurrencyAlpha(num); !ok || got != alpha {
			t.Errorf("%s = %s %v, want %s", num, got, ok, alpha)
		}
	}
	for _, bad := range []string{"", "999", "82", "GBP"} {
		if _, ok := applepay.CurrencyAlpha(bad); ok {
			t.Errorf("%q mapped", bad)
		}
	}
}

func TestWalletAdapter(t *testing.T) {
	apple := aptest.NewApple(t)
	m := aptest.NewMerchant(t, "merchant.com.fynlo.test", aptest.MerchantOpts{})
	other := aptest.NewMerchant(t, "merchant.com.other", aptest.MerchantOpts{})
	w := &applepay.Wallet{Sessions: applepay.NewSessionClient(applepay.SessionConfig{}),
		Verifier: applepay.Verifier{Roots: []*x509.Certificate{apple.Root}}}

	if err := w.CheckProcessing(m.ProcessingCertPEM, m.ProcessingKeyPEM, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.CheckProcessing(m.ProcessingCertPEM, m.ProcessingKeyPEM, other.ID); err == nil {
		t.Error("a processing certificate passed for another merchant identifier")
	}
	if err := w.CheckProcessing(m.IdentityCertPEM, m.IdentityKeyPEM, m.ID); err != nil {
		t.Logf("identity certificate as processing: %v", err) // it carries the field too: allowed
	}
	if err := w.CheckIdentity(m.IdentityCertPEM, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.CheckIdentity(m.IdentityCertPEM, other.ID); err == nil {
		t.Error("an identity certificate passed for another merchant identifier")
	}

	p := wallet.Processing{MerchantIdentifier: m.ID, CertPEM: m.ProcessingCertPEM, KeyPEM: m.ProcessingKeyPEM}
	now := time.Now()
	nt, err := w.OpenToken(context.Background(), apple.Seal(t, m, aptest.Payload{Amount: 4200, Currency: "840", Expiry: "300731"}.JSON(), now), p, now)
	if err != nil {
		t.Fatal(err)
	}
	if nt.Amount.Amount != 4200 || nt.Amount.Currency != "USD" || nt.ExpMonth != 7 || nt.ExpYear != 2030 || nt.ECI != "7" {
		t.Fatalf("token %v", nt)
	}
	for name, tok := range map[string][]byte{
		"stale":       apple.Seal(t, m, aptest.Payload{Amount: 1}.JSON(), now.Add(-10*time.Minute)),
		"future":      apple.Seal(t, m, aptest.Payload{Amount: 1}.JSON(), now.Add(10*time.Minute)),
		"other root":  aptest.NewApple(t).Seal(t, m, aptest.Payload{Amount: 1}.JSON(), now),
		"other payee": apple.Seal(t, other, aptest.Payload{Amount: 1}.JSON(), now),
		"currency":    apple.Seal(t, m, aptest.Payload{Amount: 1, Currency: "999"}.JSON(), now),
		"not json":    []byte("nope"),
	} {
		if _, err := w.OpenToken(context.Background(), tok, p, now); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}
