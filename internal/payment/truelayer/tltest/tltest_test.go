package tltest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/fynlo/fynlo/internal/payment/truelayer/tltest"
)

// TestTokensChecked checks that the fake issues tokens only for its
// credentials and refuses API calls without one, creating nothing. (Its
// signature and idempotency checks are exercised by the truelayer
// package's tests, which fail on any request it rejects.)
func TestTokensChecked(t *testing.T) {
	tl := tltest.New(t)
	resp, err := http.PostForm(tl.URL+"/connect/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {tl.ClientID}, "client_secret": {tl.ClientSecret}, "scope": {"payments"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || tl.TokenRequests() != 1 {
		t.Fatalf("token: %s", resp.Status)
	}
	bad, err := http.PostForm(tl.URL+"/connect/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {tl.ClientID}, "client_secret": {"wrong"}, "scope": {"payments"}})
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest {
		t.Fatalf("a wrong secret got %s", bad.Status)
	}

	req, _ := http.NewRequest(http.MethodPost, tl.URL+"/v3/payments", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer nope")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %s", resp.Status)
	}
	if len(tl.Requests()) != 1 || len(tl.Payments()) != 0 {
		t.Fatalf("requests %d payments %d", len(tl.Requests()), len(tl.Payments()))
	}
}

// TestBadSignatureRefused checks that a POST whose Tl-Signature is not the
// client key's is refused and recorded.
func TestBadSignatureRefused(t *testing.T) {
	tl := tltest.New(t)
	resp, err := http.PostForm(tl.URL+"/connect/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {tl.ClientID}, "client_secret": {tl.ClientSecret}, "scope": {"payments"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	// A webhook signature: a good ES512 JWS, but by another key and
	// without Idempotency-Key among its signed headers.
	forged := tl.SignWebhook("/v3/payments", []byte(`{}`), tltest.SignOptions{KeyID: tl.ClientKeyID}).Header.Get("Tl-Signature")
	for _, sig := range []string{"", "garbage", forged} {
		req, _ := http.NewRequest(http.MethodPost, tl.URL+"/v3/payments", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Idempotency-Key", "k1")
		req.Header.Set("Tl-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("signature %.20q: %s", sig, resp.Status)
		}
	}
	if n := len(tl.Rejected()); n != 3 || len(tl.Payments()) != 0 {
		t.Errorf("rejected %q, payments %d", tl.Rejected(), len(tl.Payments()))
	}
}
