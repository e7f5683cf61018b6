package app_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fynlo/fynlo/internal/app"
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

// problemOrFail checks a refusal is a problem with a code, never a 5xx.
func problemOrFail(t *testing.T, what string, status int, header http.Header, body []byte) {
	t.Helper()
	if status >= 500 {
		t.Fatalf("%s: %d %s", what, status, body)
	}
	if status >= 400 {
		var p struct {
			Code   string `json:"code"`
			Status int    `json:"status"`
		}
		if ct := header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s: %d with Content-Type %q: %s", what, status, ct, body)
		}
		if err := json.Unmarshal(body, &p); err != nil || p.Code == "" || p.Status != status {
			t.Fatalf("%s: %d with a body that is not a problem: %s", what, status, body)
		}
	}
}

// FuzzWebSocket opens the event stream with any query (after=, location_id=,
// access_token=; $token and $loc stand for the fuzz tenant's) and with or
// without the Authorization header: it streams, or it refuses with a
// problem; never a 5xx.
func FuzzWebSocket(f *testing.F) {
	for _, q := range []string{"after=0", "after=0&location_id=$loc", "access_token=$token&after=3", "after=-1", "after=99999999999999999999",
		"after=1e3", "location_id=%00", "access_token=dt_nope", "access_token=eyJhbGciOiJub25lIn0.e30.", "after=0&after=1", ""} {
		f.Add(q, true)
		f.Add(q, false)
	}
	f.Fuzz(func(t *testing.T, query string, header bool) {
		s := fuzzServer(t)
		query = strings.NewReplacer("$token", fuzzTenant.Token, "$loc", fuzzTenant.LocationID).Replace(query)
		u := "ws" + strings.TrimPrefix(s.URL, "http") + "/api/v1/ws?" + query
		if _, err := url.Parse(u); err != nil || !requestLineSafe(query) {
			return // not a URL a client can send
		}
		h := http.Header{}
		if header {
			h.Set("Authorization", "Bearer "+fuzzTenant.Token)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: h})
		if err == nil {
			c.CloseNow()
			return
		}
		if res == nil {
			if strings.Contains(err.Error(), "invalid") || strings.Contains(err.Error(), "parse") {
				return
			}
			t.Fatalf("dial ?%s: %v", query, err)
		}
		var body []byte
		if res.Body != nil {
			body, _ = io.ReadAll(res.Body)
		}
		problemOrFail(t, "ws ?"+query, res.StatusCode, res.Header, body)
	})
}

// requestLineSafe says whether s can travel in an HTTP/1.1 request line:
// with a space or a control byte in it net/http's server refuses the
// request itself (a plain-text 400) before any of our code runs.
func requestLineSafe(s string) bool {
	return !strings.ContainsFunc(s, func(c rune) bool { return c <= ' ' || c >= 0x7f })
}

// FuzzHeaders sends a valid request with any Authorization, Fynlo-Approval,
// X-Request-Id and Idempotency-Key ($token stands for a valid access
// token): never a 5xx, a refusal is a problem, and the request ID echoed
// is the one sent when it is safe to echo, else a fresh one.
func FuzzHeaders(f *testing.F) {
	f.Add("Bearer $token", "", "", "")
	f.Add("Bearer $token", "apv_nope", "req-1", "quote-1")
	f.Add("bearer  $token ", "", "a b", "")
	f.Add("Basic dXNlcjpwYXNz", "", "", "")
	f.Add("Bearer", "", strings.Repeat("r", 65), "")
	f.Add("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "", "", "")
	f.Add("Bearer dt_nope", "", "", "k")
	f.Add("Bearer $token$token", "apv_"+strings.Repeat("x", 40), "", strings.Repeat("k", 300))
	f.Fuzz(func(t *testing.T, authz, approval, requestID, idemKey string) {
		s := fuzzServer(t)
		authz = strings.ReplaceAll(authz, "$token", fuzzTenant.Token)
		req, err := http.NewRequest("POST", s.URL+"/api/v1/orders/quote", strings.NewReader(
			`{"location_id":"`+fuzzTenant.LocationID+`","type":"takeaway","lines":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for _, h := range [][2]string{{"Authorization", authz}, {"Fynlo-Approval", approval}, {"X-Request-Id", requestID}, {"Idempotency-Key", idemKey}} {
			if h[1] != "" {
				req.Header.Set(h[0], h[1])
			}
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			if strings.Contains(err.Error(), "invalid header") {
				return // the client refused to send it
			}
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		problemOrFail(t, fmt.Sprintf("headers %q %q %q %q", authz, approval, requestID, idemKey), res.StatusCode, res.Header, body)
		rid := res.Header.Get("X-Request-Id")
		if rid == "" || len(rid) > 64 || strings.ContainsFunc(rid, func(c rune) bool { return c < '!' || c > '~' }) {
			t.Fatalf("X-Request-Id %q sent back for %q", rid, requestID)
		}
		if requestID != "" && rid != requestID && len(requestID) <= 64 && !strings.ContainsFunc(requestID, func(c rune) bool { return c < '!' || c > '~' }) {
			t.Fatalf("X-Request-Id %q sent back for %q", rid, requestID)
		}
	})
}

// FuzzParseConfig feeds any flags and environment to the configuration:
// it is accepted or refused with an error, never a panic.
func FuzzParseConfig(f *testing.F) {
	f.Add("-addr\n:9090\n-db-max-conns\n4", "FYNLO_ACCESS_TOKEN_TTL=15m\nFYNLO_CORS_ORIGINS=*")
	f.Add("-trust-proxy", "FYNLO_DATABASE_URL=postgres://x@localhost/db?sslmode=disable\nFYNLO_MAX_BODY_BYTES=-1")
	f.Add("-nope", "FYNLO_PLATFORM_ADMINS=usr_1,usr_2\nFYNLO_ACCESS_TOKEN_TTL=-5s")
	f.Add("", "FYNLO_PUBLIC_URL=http://[::1\nFYNLO_DB_MAX_CONNS=99999999999999999999")
	f.Fuzz(func(t *testing.T, args, env string) {
		vars := map[string]string{}
		for _, l := range strings.Split(env, "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				vars[k] = v
			}
		}
		var argv []string
		if args != "" {
			argv = strings.Split(args, "\n")
		}
		fs := flag.NewFlagSet("fuzz", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		_, _ = app.ParseConfigFlags(fs, argv, func(k string) string { return vars[k] })
	})
}
