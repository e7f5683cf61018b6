package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/fynlo/fynlo/internal/app"
)

// TestNewUserJourney walks the "done when" path as a client would.
func TestNewUserJourney(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("owner@dishoom.example")

		// Log in with the password, as on a second device.
		r := s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "Owner@Dishoom.example", "password": "correct horse battery"})
		if r.Status != http.StatusOK {
			t.Fatalf("login: %d %s", r.Status, r.Body)
		}
		token := r.json(t)["access_token"].(string)

		me := s.call("GET", "/api/v1/me", token, nil)
		if me.Status != 200 || me.json(t)["organization"].(map[string]any)["id"] != a.OrgID {
			t.Fatalf("me: %d %s", me.Status, me.Body)
		}

		// Create a second location, then retry the same POST with the same key.
		body := map[string]any{"name": "Dishoom Carnaby", "vat_number": "GB123456789",
			"address": map[string]string{"line1": "22 Kingly St", "city": "London", "postcode": "W1B 5QP"}}
		first := s.call("POST", "/api/v1/locations", token, body, "Idempotency-Key", "create-carnaby")
		if first.Status != http.StatusCreated {
			t.Fatalf("create location: %d %s", first.Status, first.Body)
		}
		retry := s.call("POST", "/api/v1/locations", token, body, "Idempotency-Key", "create-carnaby")
		if retry.Status != http.StatusCreated || !bytes.Equal(retry.Body, first.Body) || retry.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry: %d replayed=%q\n%s\nvs\n%s", retry.Status, retry.Header.Get("Idempotent-Replayed"), retry.Body, first.Body)
		}
		// Same key, different body: refused, nothing written.
		body["name"] = "Dishoom Covent Garden"
		expectProblem(t, s.call("POST", "/api/v1/locations", token, body, "Idempotency-Key", "create-carnaby"), 422, "idempotency_key_reused")
		list := s.call("GET", "/api/v1/locations", token, nil).json(t)
		if n := len(list["items"].([]any)); n != 2 {
			t.Fatalf("locations = %d, want 2 (first + one created): %v", n, list)
		}
		loc := first.json(t)
		locID := loc["id"].(string)

		// Another tenant sees none of it.
		b := s.signup("owner@other.example")
		expectProblem(t, s.call("GET", "/api/v1/locations/"+locID, b.Token, nil), 404, "not_found")
		expectProblem(t, s.call("PATCH", "/api/v1/locations/"+locID, b.Token, map[string]any{"version": 1, "name": "Mine now"}), 404, "not_found")
		if n := len(s.call("GET", "/api/v1/locations", b.Token, nil).json(t)["items"].([]any)); n != 1 {
			t.Fatalf("tenant B sees %d locations, want its own 1", n)
		}
		// The same idempotency key in another tenant is another request.
		other := s.call("POST", "/api/v1/locations", b.Token, map[string]any{"name": "B's second"}, "Idempotency-Key", "create-carnaby")
		if other.Status != http.StatusCreated {
			t.Fatalf("tenant B with the same key: %d %s", other.Status, other.Body)
		}

		// Versioned update, then a stale one that gets the current object.
		if l := s.call("GET", "/api/v1/locations/"+locID, token, nil).json(t); l["tax_mode"] != "inclusive" {
			t.Fatalf("a UK location's tax mode = %v, want inclusive", l["tax_mode"])
		}
		expectProblem(t, s.call("PATCH", "/api/v1/locations/"+locID, token, map[string]any{"version": 1, "tax_mode": "sometimes"}), 422, "invalid_field", "tax_mode")
		upd := s.call("PATCH", "/api/v1/locations/"+locID, token, map[string]any{"version": 1, "business_day_cutoff": "05:00", "tax_mode": "exclusive"})
		if upd.Status != 200 || upd.json(t)["version"] != float64(2) || upd.json(t)["business_day_cutoff"] != "05:00" || upd.json(t)["tax_mode"] != "exclusive" {
			t.Fatalf("update: %d %s", upd.Status, upd.Body)
		}
		if us := s.call("POST", "/api/v1/locations", token, map[string]any{"name": "Dishoom Manhattan", "country": "US", "timezone": "America/New_York",
			"currency": "USD"}).json(t); us["tax_mode"] != "exclusive" {
			t.Fatalf("a US location's tax mode = %v, want exclusive (sales tax)", us["tax_mode"])
		}
		stale := expectProblem(t, s.call("PATCH", "/api/v1/locations/"+locID, token, map[string]any{"version": 1, "name": "Old view"}), 409, "version_conflict")
		if cur, _ := stale["current"].(map[string]any); cur["version"] != float64(2) || cur["name"] != "Dishoom Carnaby" {
			t.Fatalf("409 does not carry the current location: %v", stale)
		}
		got := s.call("GET", "/api/v1/locations/"+locID, token, nil)
		if !bytes.Equal(got.Body, upd.Body) {
			t.Fatalf("GET after PATCH differs from the PATCH answer:\n%s\n%s", got.Body, upd.Body)
		}

		// The event log has every change of tenant A, in order, and none of B's.
		evs := s.call("GET", "/api/v1/events?after=0", token, nil).json(t)["events"].([]any)
		var types []string
		for i, e := range evs {
			m := e.(map[string]any)
			if m["seq"] != float64(i+1) || m["organization_id"] != a.OrgID {
				t.Fatalf("event %d: %v", i, m)
			}
			types = append(types, m["type"].(string))
		}
		want := "organization.created location.created user.created location.created location.updated location.created"
		if strings.Join(types, " ") != want {
			t.Fatalf("events = %v, want %s", types, want)
		}
		page := s.call("GET", "/api/v1/events?after=3&limit=1", token, nil).json(t)
		if page["next_after"] != float64(4) || page["has_more"] != true {
			t.Fatalf("events page: %v", page)
		}

		// Restart the server on the same data: everything is there, and
		// tokens signed before the restart still work.
		s.stop()
		s2 := start(t, cfg)
		if r := s2.call("GET", "/api/v1/locations/"+locID, token, nil); r.Status != 200 || !bytes.Equal(r.Body, upd.Body) {
			t.Fatalf("after restart: %d %s", r.Status, r.Body)
		}
		replay := s2.call("POST", "/api/v1/locations", token, map[string]any{"name": "Dishoom Carnaby", "vat_number": "GB123456789",
			"address": map[string]string{"line1": "22 Kingly St", "city": "London", "postcode": "W1B 5QP"}}, "Idempotency-Key", "create-carnaby")
		if !bytes.Equal(replay.Body, first.Body) {
			t.Fatalf("retry after restart did not get the original answer: %s", replay.Body)
		}
	})
}

func TestBadInputChangesNothing(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("owner@bad.example")
		tok := a.Token
		cases := []struct {
			name, method, path, body string
			status                   int
			code, field              string
		}{
			{"malformed JSON", "POST", "/api/v1/locations", `{"name":`, 400, "malformed_request", ""},
			{"wrong type", "POST", "/api/v1/locations", `{"name": 42}`, 422, "invalid_field", "name"},
			{"unknown field", "POST", "/api/v1/locations", `{"name": "X", "colour": "red"}`, 422, "invalid_field", "colour"},
			{"missing required", "POST", "/api/v1/locations", `{}`, 422, "invalid_field", "name"},
			{"bad timezone", "POST", "/api/v1/locations", `{"name": "X", "timezone": "Mars/Olympus"}`, 422, "invalid_field", "timezone"},
			{"bad currency", "POST", "/api/v1/locations", `{"name": "X", "currency": "XXX"}`, 422, "invalid_field", "currency"},
			{"bad cutoff", "POST", "/api/v1/locations", `{"name": "X", "business_day_cutoff": "25:00"}`, 422, "invalid_field", "business_day_cutoff"},
			{"bad client id", "POST", "/api/v1/locations", `{"id": "ord_1", "name": "X"}`, 422, "invalid_field", "id"},
			{"patch without version", "PATCH", "/api/v1/locations/" + a.LocationID, `{"name": "X"}`, 422, "invalid_field", "version"},
			{"list limit too big", "GET", "/api/v1/locations?limit=100000", ``, 422, "invalid_field", "query.limit"},
			{"events after negative", "GET", "/api/v1/events?after=-5", ``, 422, "invalid_field", "query.after"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var body any
				if c.body != "" {
					body = c.body
				}
				fields := []string{}
				if c.field != "" {
					fields = append(fields, c.field)
				}
				expectProblem(t, s.call(c.method, c.path, tok, body), c.status, c.code, fields...)
			})
		}
		big := `{"name": "` + strings.Repeat("x", 2<<20) + `"}`
		expectProblem(t, s.call("POST", "/api/v1/locations", tok, big), 413, "body_too_large")
		expectProblem(t, s.call("POST", "/api/v1/locations", tok, big, "Idempotency-Key", "big"), 413, "body_too_large")

		// Nothing above was written.
		if n := len(s.call("GET", "/api/v1/locations", tok, nil).json(t)["items"].([]any)); n != 1 {
			t.Fatalf("locations = %d after bad input, want 1", n)
		}
		if n := len(s.call("GET", "/api/v1/events?after=0", tok, nil).json(t)["events"].([]any)); n != 3 {
			t.Fatalf("events = %d after bad input, want the 3 of sign-up", n)
		}

		// Sign-up errors.
		good := map[string]string{"business_name": "X", "owner_name": "Y", "email": "owner@bad.example", "password": "long enough",
			"country": "GB", "currency": "GBP", "timezone": "Europe/London"}
		expectProblem(t, s.call("POST", "/api/v1/signup", "", good), 409, "email_taken", "email")
		for field, value := range map[string]string{"email": "not-an-email", "password": "short", "country": "gb", "currency": "EURO", "timezone": "Nowhere"} {
			in := map[string]string{}
			for k, v := range good {
				in[k] = v
			}
			in["email"] = "fresh@bad.example"
			in[field] = value
			expectProblem(t, s.call("POST", "/api/v1/signup", "", in), 422, "invalid_field", field)
		}
		expectProblem(t, s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "fresh@bad.example", "password": "long enough"}), 401, "invalid_credentials")

		// Authentication errors.
		expectProblem(t, s.call("GET", "/api/v1/me", "", nil), 401, "unauthenticated")
		expectProblem(t, s.call("GET", "/api/v1/me", "not.a.jwt", nil), 401, "invalid_token")
		expectProblem(t, s.call("GET", "/api/v1/me", expiredToken(t, cfg, a), nil), 401, "token_expired")
		expectProblem(t, s.call("GET", "/api/v1/me", forgedToken(t, a), nil), 401, "invalid_token")
		expectProblem(t, s.call("POST", "/api/v1/locations", "", `{"name":`), 401, "unauthenticated")
		expectProblem(t, s.call("GET", "/api/v1/nowhere", tok, nil), 404, "no_such_endpoint")
	})
}

func TestRefreshTokenRotationAndLogout(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("rotate@example.com")
		r := s.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": a.Refresh})
		if r.Status != 200 {
			t.Fatalf("refresh: %d %s", r.Status, r.Body)
		}
		next := r.json(t)
		if next["refresh_token"] == a.Refresh {
			t.Fatal("refresh token was not rotated")
		}
		if s.call("GET", "/api/v1/me", next["access_token"].(string), nil).Status != 200 {
			t.Fatal("new access token refused")
		}
		// Replaying the used token ends the whole session, the new token too.
		expectProblem(t, s.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": a.Refresh}), 401, "refresh_token_reused")
		expectProblem(t, s.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": next["refresh_token"].(string)}), 401, "invalid_refresh_token")
		expectProblem(t, s.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": "rt_nonsense"}), 401, "invalid_refresh_token")

		// Logout ends a session.
		login := s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "correct horse battery"}).json(t)
		if r := s.call("POST", "/api/v1/auth/logout", login["access_token"].(string), nil); r.Status != http.StatusNoContent {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		expectProblem(t, s.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": login["refresh_token"].(string)}), 401, "invalid_refresh_token")
	})
}

func TestLoginThrottle(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("throttle@example.com")
		wrongPassword := s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "wrong password"})
		wrongEmail := s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "wrong password"})
		p1 := expectProblem(t, wrongPassword, 401, "invalid_credentials")
		p2 := expectProblem(t, wrongEmail, 401, "invalid_credentials")
		if p1["detail"] != p2["detail"] {
			t.Fatalf("wrong email and wrong password are told apart: %v / %v", p1, p2)
		}
		for i := 0; i < 9; i++ {
			s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "wrong password"})
		}
		r := s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "correct horse battery"})
		expectProblem(t, r, 429, "too_many_attempts")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	})
}

// TestRateLimits: a burst of sign-ins from one address is slowed with 429,
// Retry-After and RateLimit headers, before any password is checked.
func TestRateLimits(t *testing.T) {
	s := start(t, testConfig(t, ""))
	var limited response
	for i := 0; i < 40 && limited.Status == 0; i++ {
		// A different email each time, so the per-account failure limit stays out of it.
		r := s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": fmt.Sprintf("nobody%d@example.com", i), "password": "wrong password"})
		if r.Header.Get("RateLimit") == "" || r.Header.Get("RateLimit-Policy") == "" {
			t.Fatalf("no RateLimit headers: %v", r.Header)
		}
		if r.Status == 429 {
			limited = r
		}
	}
	p := expectProblem(t, limited, 429, "rate_limited")
	if limited.Header.Get("Retry-After") == "" || !strings.Contains(limited.Header.Get("RateLimit"), "r=0") {
		t.Fatalf("429 headers: %v %v", limited.Header, p)
	}
}

// TestConcurrentRetriesCreateOnce fires the same keyed request from many
// goroutines at once: one location is created; every answer is that
// location or "still in progress".
func TestConcurrentRetriesCreateOnce(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("race@example.com")
		const n = 12
		var wg sync.WaitGroup
		start := make(chan struct{})
		results := make([]response, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i] = s.call("POST", "/api/v1/locations", a.Token, map[string]any{"name": "Rush"}, "Idempotency-Key", "same-key")
			}()
		}
		close(start)
		wg.Wait()
		var created []byte
		for _, r := range results {
			switch r.Status {
			case http.StatusCreated:
				if created != nil && !bytes.Equal(created, r.Body) {
					t.Fatalf("two different answers:\n%s\n%s", created, r.Body)
				}
				created = r.Body
			case http.StatusConflict:
				expectProblem(t, r, 409, "idempotency_key_in_use")
			default:
				t.Fatalf("unexpected answer %d %s", r.Status, r.Body)
			}
		}
		if n := len(s.call("GET", "/api/v1/locations", a.Token, nil).json(t)["items"].([]any)); n != 2 {
			t.Fatalf("locations = %d, want 2", n)
		}
	})
}

func TestOperationalEndpoints(t *testing.T) {
	s := start(t, testConfig(t, ""))
	s.call("GET", "/healthz", "", nil) // so the request counter has a sample
	for path, want := range map[string]string{
		"/healthz": `"ok"`, "/readyz": `"ready"`, "/metrics": "fynlo_http_requests_total",
		"/openapi.json": `"openapi":"3.1.0"`, "/docs": "<title>",
	} {
		r := s.call("GET", path, "", nil)
		if r.Status != 200 || !strings.Contains(string(r.Body), want) {
			t.Errorf("GET %s: %d, want body containing %s", path, r.Status, want)
		}
	}
	spec := s.call("GET", "/openapi.json", "", nil).json(t)
	paths := spec["paths"].(map[string]any)
	for _, p := range []string{"/api/v1/signup", "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout", "/api/v1/me",
		"/api/v1/locations", "/api/v1/locations/{id}", "/api/v1/events"} {
		if paths[p] == nil {
			t.Errorf("OpenAPI lacks %s", p)
		}
	}
	if r := s.call("GET", "/api/v1/me", "", nil, "X-Request-Id", "trace-123"); r.Header.Get("X-Request-Id") != "trace-123" || !strings.Contains(string(r.Body), "trace-123") {
		t.Errorf("request ID not echoed: %v %s", r.Header, r.Body)
	}
	// CORS is off unless configured.
	if r := s.call("OPTIONS", "/api/v1/me", "", nil, "Origin", "https://pos.example", "Access-Control-Request-Method", "GET"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS allowed by default")
	}
	cfg := testConfig(t, "")
	cfg.CORSOrigins = []string{"https://pos.example"}
	c := start(t, cfg)
	if r := c.call("OPTIONS", "/api/v1/me", "", nil, "Origin", "https://pos.example", "Access-Control-Request-Method", "GET"); r.Status != 204 || r.Header.Get("Access-Control-Allow-Origin") != "https://pos.example" {
		t.Errorf("CORS preflight: %d %v", r.Status, r.Header)
	}
	// The log scan at every server's stop has something to read, and
	// would catch what it looks for.
	if !strings.Contains(s.logs.String(), `"msg":"request"`) {
		t.Error("the server logged no requests")
	}
	for _, leak := range []string{`{"password":"correct horse battery"}`, `{"pin":"4821"}`, "rt_" + strings.Repeat("A", 43),
		"Bearer dt_" + strings.Repeat("x", 40), "eyJhbGciOiJFZERTQSJ9.e30.x"} {
		if !secretRE.MatchString(leak) {
			t.Errorf("the secret scan misses %q", leak)
		}
	}
	_ = fmt.Sprint()
}

// TestMetricsAreNotPublic: without FYNLO_METRICS_TOKEN, /metrics answers
// this machine and private networks, never a request through a proxy or
// from a public address; with it, only a scraper presenting the token.
func TestMetricsAreNotPublic(t *testing.T) {
	get := func(s *server, remote, token string, header ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = remote
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		s.app.API.ServeHTTP(rec, req)
		return rec
	}
	open := start(t, testConfig(t, ""))
	for _, c := range []struct {
		remote string
		header []string
		want   int
	}{
		{"127.0.0.1:5000", nil, 200},
		{"[::1]:5000", nil, 200},
		{"10.1.2.3:5000", nil, 200},
		{"192.168.0.9:5000", nil, 200},
		{"203.0.113.7:5000", nil, 403},
		{"[2001:db8::1]:5000", nil, 403},
		{"10.1.2.3:5000", []string{"X-Forwarded-For", "203.0.113.7"}, 403}, // a load balancer passing on a stranger
		{"127.0.0.1:5000", []string{"Forwarded", "for=203.0.113.7"}, 403},
	} {
		rec := get(open, c.remote, "", c.header...)
		if rec.Code != c.want || (c.want == 200) != strings.Contains(rec.Body.String(), "fynlo_dispatch_events_carried_total") {
			t.Errorf("/metrics from %s %v: %d, want %d", c.remote, c.header, rec.Code, c.want)
		}
		if c.want == 403 && !strings.Contains(rec.Body.String(), `"metrics_private"`) {
			t.Errorf("/metrics refusal is not a problem: %s", rec.Body)
		}
	}

	cfg := testConfig(t, "")
	cfg.MetricsToken = "scrape-me-7d1f"
	guarded := start(t, cfg)
	for _, c := range []struct {
		remote, token string
		want          int
	}{
		{"127.0.0.1:5000", "", 401},
		{"127.0.0.1:5000", "scrape-me", 401},
		{"203.0.113.7:5000", "scrape-me-7d1f", 200},
	} {
		if rec := get(guarded, c.remote, c.token); rec.Code != c.want {
			t.Errorf("/metrics with token %q from %s: %d, want %d", c.token, c.remote, rec.Code, c.want)
		}
	}
}
