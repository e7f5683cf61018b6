package truelayer_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/payment"
	"github.com/fynlo/fynlo/internal/payment/truelayer"
	"github.com/fynlo/fynlo/internal/payment/truelayer/tltest"
)

// clock is a test clock the provider and the fake share.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// counter is a RoundTripper that counts requests by path.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[r.URL.Path]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *counter) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

// setup starts a fake TrueLayer and a provider for it, both on clk.
func setup(t *testing.T, mod ...func(*truelayer.Config)) (*truelayer.Provider, *tltest.Server, *clock, *counter) {
	t.Helper()
	tl := tltest.New(t)
	clk := newClock()
	tl.SetClock(clk.Now)
	cnt := &counter{}
	cfg := configFor(tl)
	cfg.Now = clk.Now
	cfg.HTTPClient = &http.Client{Transport: cnt, Timeout: 10 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	p, err := truelayer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A reused key is some tests' point; a bad signature never is.
		for _, r := range tl.Rejected() {
			if !strings.Contains(r, "reused with another body") {
				t.Errorf("the fake rejected a request: %s", r)
			}
		}
	})
	return p, tl, clk, cnt
}

var keySeq atomic.Int64

func gbp(amount int64) money.Money { return money.Money{Amount: amount, Currency: "GBP"} }

// bankReq is a payment request with a fresh key.
func bankReq() payment.BankPaymentRequest {
	key := "pay_01J00000000000000000" + time.Now().Format("150405") + string(rune('A'+keySeq.Add(1)%26))
	return payment.BankPaymentRequest{Key: key, Amount: gbp(1250), Reference: "TRATTORIA 1042", Payee: "Trattoria",
		ReturnURL: "https://pos.example.com/bank/return?payment=" + key + "&x=a b", ExpiresAt: time.Now().Add(15 * time.Minute),
		Metadata: map[string]string{"fynlo_payment_id": key, "fynlo_order_id": "ord_1"}}
}

// configFor configures a provider for the fake tl.
func configFor(tl *tltest.Server) truelayer.Config {
	return truelayer.Config{
		ClientID: tl.ClientID, ClientSecret: tl.ClientSecret,
		SigningKeyID: tl.ClientKeyID, SigningKeyPEM: tl.ClientKeyPEM,
		MerchantAccountID: tl.MerchantAccountID, Environment: truelayer.Sandbox,
		AuthBase: tl.URL, APIBase: tl.URL, HPPBase: tl.URL,
		WebhookJWKS: []string{tl.JWKSURL()},
	}
}
