package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fynlo/fynlo/internal/apperr"
)

func bareServer(logs *bytes.Buffer) *Server {
	return &Server{logger: slog.New(slog.NewJSONHandler(logs, nil)), metrics: newMetrics(prometheus.NewRegistry()),
		cfg: Config{MaxBodyBytes: 1024}}
}

func TestPanicBecomesProblemAndIsLoggedOnce(t *testing.T) {
	var logs bytes.Buffer
	s := bareServer(&logs)
	h := s.observe(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kitchen on fire") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/me", nil))
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("panic answered %d %s", rec.Code, rec.Header())
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != "internal" || p.RequestID == "" {
		t.Fatalf("problem = %+v, %v", p, err)
	}
	if strings.Contains(rec.Body.String(), "kitchen on fire") {
		t.Fatal("panic detail leaked to the client")
	}
	if n := strings.Count(logs.String(), "kitchen on fire"); n != 1 {
		t.Fatalf("panic logged %d times:\n%s", n, logs.String())
	}
}

func TestProblemTable(t *testing.T) {
	var logs bytes.Buffer
	s := bareServer(&logs)
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{apperr.Field("name", "is required"), 422, "invalid_field"},
		{apperr.NotFoundf("location"), 404, "not_found"},
		{apperr.StaleVersion(map[string]int{"version": 2}), 409, "version_conflict"},
		{apperr.New(apperr.Unauthenticated, "token_expired", "x"), 401, "token_expired"},
		{apperr.New(apperr.Forbidden, "forbidden", "x"), 403, "forbidden"},
		{&apperr.Error{Kind: apperr.RateLimited, Code: "too_many_attempts", RetryAfterSeconds: 60}, 429, "too_many_attempts"},
		{errors.New("pq: connection refused to 10.0.0.5"), 500, "internal"},
	}
	for _, c := range cases {
		p := problemFor(t.Context(), s.logger, c.err)
		if p.Status != c.status || p.Code != c.code {
			t.Errorf("%v → %d %s, want %d %s", c.err, p.Status, p.Code, c.status, c.code)
		}
		if c.status == 500 && strings.Contains(p.Detail, "10.0.0.5") {
			t.Errorf("internal detail leaked: %s", p.Detail)
		}
		if c.status == 429 && p.GetHeaders().Get("Retry-After") != "60" {
			t.Errorf("429 without Retry-After")
		}
	}
	// Every kind has a status.
	for k := apperr.Internal; k <= apperr.Unavailable; k++ {
		if statusOf[k] == 0 {
			t.Errorf("kind %v has no HTTP status", k)
		}
	}
}

func TestRequestIDIsSanitised(t *testing.T) {
	s := bareServer(&bytes.Buffer{})
	var seen string
	h := s.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = requestID(r.Context()) }))
	for in, keep := range map[string]bool{"abc-123": true, "evil\nheader": false, strings.Repeat("x", 100): false} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Request-Id", in)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if (seen == in) != keep || seen == "" {
			t.Errorf("request id %q → %q", in, seen)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	s := bareServer(&bytes.Buffer{})
	h := s.observe(s.limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 2048))))
	if rec.Code != 413 {
		t.Fatalf("oversized body: %d", rec.Code)
	}
}
