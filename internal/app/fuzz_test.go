package app_test

import (
	"encoding/json"
	"testing"
)

// fuzzBody posts arbitrary bytes to a create endpoint of a real server:
// whatever comes in, the answer is a success or a problem naming why,
// never a 5xx.
func fuzzBody(f *testing.F, path string, needsToken bool, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		s := fuzzServer(t)
		tok := ""
		if needsToken {
			tok = fuzzTenant.Token
		}
		r := s.call("POST", path, tok, body)
		if r.Status >= 500 {
			t.Fatalf("POST %s %q: %d %s", path, body, r.Status, r.Body)
		}
		if r.Status >= 300 {
			var p struct {
				Code   string `json:"code"`
				Status int    `json:"status"`
			}
			if err := json.Unmarshal(r.Body, &p); err != nil || p.Code == "" || p.Status != r.Status {
				t.Fatalf("POST %s %q: %d with a body that is not a problem: %s", path, body, r.Status, r.Body)
			}
		}
	})
}

var (
	fuzzSrv    *server
	fuzzTenant tenant
)

// fuzzServer shares one server across a fuzz run: starting one per input
// would measure start-up, not decoding.
func fuzzServer(t *testing.T) *server {
	if fuzzSrv == nil {
		// Owned by no single test: it lives for the fuzz process.
		fuzzSrv = startShared(t)
		fuzzTenant = fuzzSrv.signup("fuzz@example.com")
	}
	fuzzSrv.t = t
	return fuzzSrv
}

func FuzzLocationCreate(f *testing.F) {
	fuzzBody(f, "/api/v1/locations", true,
		`{"name":"Soho"}`, `{"name":"Soho","address":{"line1":"1 Dean St","postcode":"W1"},"business_day_cutoff":"03:30"}`,
		`{"name":`, `[]`, `null`, `{"name":"x","id":"loc_01jdq3x2v8s9k7m4n5p6q7r8s9"}`, `{"name":"\u0000"}`, `{"name":1e999}`,
		`{"name":"x","currency":"JPY","timezone":"Asia/Tokyo","country":"JP"}`)
}

func FuzzSignup(f *testing.F) {
	fuzzBody(f, "/api/v1/signup", false,
		`{"business_name":"A","owner_name":"B","email":"a@b.co","password":"12345678","country":"GB","currency":"GBP","timezone":"Europe/London"}`,
		`{"email":"a@b.co"}`, `{}`, `{"business_name":"A","owner_name":"B","email":"not email","password":"x","country":"G","currency":"G","timezone":"G"}`)
}
