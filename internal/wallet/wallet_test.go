package wallet_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/payment"
	"github.com/fynlo/fynlo/internal/payment/applepay/aptest"
	"github.com/fynlo/fynlo/internal/secret"
	"github.com/fynlo/fynlo/internal/wallet"
)

// memStore is wallet.Store in memory.
type memStore struct {
	mu       sync.Mutex
	aps      map[string]wallet.ApplePay
	warnings map[string]wallet.Warning
}

func newMemStore() *memStore {
	return &memStore{aps: map[string]wallet.ApplePay{}, warnings: map[string]wallet.Warning{}}
}

func (m *memStore) FindApplePay(_ context.Context, orgID string) (*wallet.ApplePay, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ap, ok := m.aps[orgID]
	if !ok {
		return nil, apperr.NotFoundf("apple pay")
	}
	return &ap, nil
}

func (m *memStore) SaveApplePay(_ context.Context, ap *wallet.ApplePay) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.aps[ap.OrgID].Version != ap.Version-1 {
		return apperr.New(apperr.Conflict, "version_conflict", "")
	}
	m.aps[ap.OrgID] = *ap
	return nil
}

func (m *memStore) FindApplePayExpiring(_ context.Context, before time.Time) ([]*wallet.ApplePay, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*wallet.ApplePay
	for _, ap := range m.aps {
		if ap.IdentityCertificate != nil && ap.IdentityCertificate.NotAfter.Before(before) ||
			ap.ProcessingCertificate != nil && ap.ProcessingCertificate.NotAfter.Before(before) {
			out = append(out, &ap)
		}
	}
	return out, nil
}

func (m *memStore) RecordCertificateWarning(_ context.Context, w wallet.Warning) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := w.OrgID + "/" + w.Fingerprint + "/" + w.Threshold
	if _, ok := m.warnings[k]; ok {
		return false, nil
	}
	m.warnings[k] = w
	return true, nil
}

// fakeApple accepts everything and records what it was given.
type fakeApple struct {
	checkErr error
	session  wallet.SessionRequest
	opened   wallet.Processing
}

func (f *fakeApple) CheckProcessing(_, _ []byte, _ string) error { return f.checkErr }
func (f *fakeApple) CheckIdentity(_ []byte, _ string) error      { return f.checkErr }
func (f *fakeApple) Session(_ context.Context, r wallet.SessionRequest) ([]byte, error) {
	f.session = r
	return []byte(`{"ok":true}`), nil
}
func (f *fakeApple) OpenToken(_ context.Context, _ []byte, p wallet.Processing, _ time.Time) (*payment.NetworkToken, error) {
	f.opened = p
	return &payment.NetworkToken{Number: "4111111111111111"}, nil
}

func newService(t *testing.T, now time.Time) (*wallet.Service, *memStore, *fakeApple) {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	st, fa := newMemStore(), &fakeApple{}
	return wallet.NewService(wallet.Deps{Store: st, Box: box, Checker: fa, Sessions: fa, Tokens: fa, Now: func() time.Time { return now }}), st, fa
}

func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.Invalid || len(ae.Fields) == 0 {
		t.Fatalf("err = %v, want invalid with fields", err)
	}
	return ae.Fields[0].Field
}

func TestSetApplePayAndWarnings(t *testing.T) {
	now := time.Now().UTC()
	svc, st, fa := newService(t, now)
	ctx := context.Background()
	m := aptest.NewMerchant(t, "merchant.com.example", aptest.MerchantOpts{ProcessingNotAfter: now.Add(20 * 24 * time.Hour)})
	in := wallet.Input{MerchantIdentifier: "merchant.com.example", DisplayName: "Example", Domains: []string{"Shop.Example.com"},
		ProcessingCertPEM: string(m.ProcessingCertPEM), ProcessingKeyPEM: string(m.ProcessingKeyPEM)}

	bad := in
	bad.ProcessingKeyPEM = string(m.IdentityKeyPEM)
	if f := fieldOf(t, mustErr(svc.SetApplePay(ctx, "org_1", bad))); f != "payment_processing_key" {
		t.Errorf("wrong key: field %s", f)
	}
	fa.checkErr = errors.New("it was issued for another merchant identifier")
	if f := fieldOf(t, mustErr(svc.SetApplePay(ctx, "org_1", in))); f != "payment_processing_certificate" {
		t.Errorf("checker refusal: field %s", f)
	}
	fa.checkErr = nil
	none := in
	none.ProcessingCertPEM, none.ProcessingKeyPEM = "", ""
	if f := fieldOf(t, mustErr(svc.SetApplePay(ctx, "org_1", none))); f != "payment_processing_certificate" {
		t.Errorf("no certificate: field %s", f)
	}
	if len(st.aps) != 0 || len(st.warnings) != 0 {
		t.Fatal("refused input was stored")
	}

	ap, err := svc.SetApplePay(ctx, "org_1", in)
	if err != nil {
		t.Fatal(err)
	}
	if ap.Domains[0] != "shop.example.com" || ap.ProcessingCertificate == nil || ap.IdentityCertificate != nil || ap.SealedProcessingKey == "" {
		t.Fatalf("saved %+v", ap)
	}
	if len(st.warnings) != 1 {
		t.Fatalf("%d warnings on upload of a certificate expiring in 20 days", len(st.warnings))
	}
	for i := 0; i < 3; i++ {
		if n, err := svc.Check(ctx, now.Add(time.Duration(i)*time.Hour)); err != nil || n != 0 {
			t.Fatalf("check %d: %d %v", i, n, err)
		}
	}
	// The key is sealed to the organization: another cannot open it.
	st.aps["org_2"] = func() wallet.ApplePay { c := st.aps["org_1"]; c.OrgID, c.Version = "org_2", 1; return c }()
	if _, err := svc.Open(ctx, "org_2", []byte(`{}`)); err == nil {
		t.Fatal("org_2 opened org_1's sealed key")
	}
	if _, err := svc.Open(ctx, "org_1", []byte(`{}`)); err != nil || string(fa.opened.KeyPEM) != strings.TrimSpace(string(m.ProcessingKeyPEM)) {
		t.Fatalf("open: %v", err)
	}
	// No identity certificate: no web sessions.
	if _, err := svc.Session(ctx, "org_1", wallet.SessionInput{ValidationURL: "https://x", Domain: "shop.example.com"}); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("session without identity: %v", err)
	}
	if _, err := svc.Open(ctx, "org_3", nil); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("open unconfigured: %v", err)
	}
	// A stale version is refused after the fields are checked.
	if _, err := svc.SetApplePay(ctx, "org_1", in); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("stale version: %v", err)
	}
}

func mustErr(_ any, err error) error { return err }
