package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/fynlo/fynlo/internal/app"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// engines runs fn against a fresh server on SQLite and on PostgreSQL.
func engines(t *testing.T, fn func(t *testing.T, cfg app.Config)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, testConfig(t, "")) })
	t.Run("postgres", func(t *testing.T) { fn(t, testConfig(t, testenv.Postgres(t))) })
}

// testConfig is the zero-configuration default with a temporary data
// directory and cheap password hashing (the race detector makes argon2id
// at production cost take half a second).
func testConfig(t *testing.T, databaseURL string) app.Config {
	t.Helper()
	cfg, err := app.ParseConfig("test", nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.KeysDir = t.TempDir(), ""
	cfg.KeysDir = cfg.DataDir + "/keys"
	cfg.DatabaseURL = databaseURL
	cfg.PasswordCost = &auth.PasswordParams{Memory: 1024, Time: 1, Threads: 1}
	return cfg
}

// server is a running Fynlo over real HTTP.
type server struct {
	t    *testing.T
	app  *app.App
	ts   *httptest.Server
	URL  string
	logs *syncBuffer // everything the server logged, at debug level
	// dbFile is the SQLite database of a shared (fuzzing) server.
	dbFile string
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// secretRE matches what must never reach a log line or an error body:
// the tests' passwords, PINs sent as fields, credentials by their prefixes,
// private keys and Stripe secrets. (TestAttackerSweep scans further: card
// numbers, every PIN and password it used.)
var secretRE = regexp.MustCompile(`correct horse|wrong password|"pin":|\b(rt|dt|apv)_[A-Za-z0-9_-]{20,}|eyJhbGci|` +
	`PRIVATE KEY|\b(sk|rk)_(test|live)_[A-Za-z0-9]{6,}|\bwhsec_[A-Za-z0-9]{6,}`)

func start(t *testing.T, cfg app.Config) *server {
	t.Helper()
	s := startUnmanaged(t, cfg)
	t.Cleanup(s.stop)
	return s
}

// startShared starts a SQLite server that outlives t (for fuzzing), in a
// temporary directory of its own.
func startShared(t *testing.T) *server {
	// Fuzz workers are killed, not cleaned up after: each keeps its data
	// under a directory named for its process, and the next one removes
	// those whose process is gone.
	parent := filepath.Join(os.TempDir(), "fynlo-fuzz")
	if err := os.MkdirAll(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	if old, err := os.ReadDir(parent); err == nil {
		for _, e := range old {
			pid, err := strconv.Atoi(strings.SplitN(e.Name(), "-", 2)[0])
			if err == nil && pid != os.Getpid() && syscall.Kill(pid, 0) != nil {
				os.RemoveAll(filepath.Join(parent, e.Name()))
			}
		}
	}
	dir, err := os.MkdirTemp(parent, strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := app.ParseConfig("fuzz", nil, func(string) string { return "" })
	cfg.DataDir, cfg.KeysDir = dir, dir+"/keys"
	cfg.PasswordCost = &auth.PasswordParams{Memory: 1024, Time: 1, Threads: 1}
	// Fixtures come from addresses of their own (X-Forwarded-For), so the
	// sign-in rate limits the fuzzed requests run into do not stop them.
	cfg.TrustProxy = true
	s := startUnmanaged(t, cfg)
	s.dbFile = cfg.DatabaseDSN()
	return s
}

func startUnmanaged(t *testing.T, cfg app.Config) *server {
	t.Helper()
	logs := &syncBuffer{}
	var out io.Writer = logs
	if testing.Verbose() {
		out = io.MultiWriter(logs, os.Stderr)
	}
	a, err := app.New(context.Background(), cfg, app.NewLogger(out, slog.LevelDebug))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(a.API)
	return &server{t: t, app: a, ts: ts, URL: ts.URL, logs: logs}
}

func (s *server) stop() {
	if s.ts == nil {
		return
	}
	s.ts.CloseClientConnections()
	s.app.API.Shutdown(context.Background())
	s.ts.Close()
	s.app.Close()
	s.ts = nil
	if m := secretRE.FindString(s.logs.String()); m != "" {
		s.t.Errorf("a secret reached the server's log: %q", m)
	}
}

// response is what a call got back.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, r.Body)
	}
	return m
}

// call sends a request; body may be a string (sent as is) or a value
// (sent as JSON). headers alternate name, value.
func (s *server) call(method, path, token string, body any, headers ...string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	if res.StatusCode >= 400 {
		if m := secretRE.FindString(string(b)); m != "" {
			s.t.Errorf("%s %s: a secret reached the error body: %q", method, path, m)
		}
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// tenant is a signed-up business.
type tenant struct {
	Token, Refresh, OrgID, LocationID, Email string
}

func (s *server) signup(email string) tenant {
	s.t.Helper()
	r := s.call("POST", "/api/v1/signup", "", map[string]string{
		"business_name": "Dishoom " + email, "owner_name": "Owner", "email": email, "password": "correct horse battery",
		"country": "GB", "currency": "GBP", "timezone": "Europe/London"})
	if r.Status != http.StatusCreated {
		s.t.Fatalf("signup %s: %d %s", email, r.Status, r.Body)
	}
	m := r.json(s.t)
	return tenant{Token: m["access_token"].(string), Refresh: m["refresh_token"].(string),
		OrgID: m["organization"].(map[string]any)["id"].(string), LocationID: m["location"].(map[string]any)["id"].(string), Email: email}
}

// expectProblem checks r is a problem with the status and code, naming
// field (if given) among its errors.
func expectProblem(t *testing.T, r response, status int, code string, field ...string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json: %s", ct, r.Body)
	}
	m := r.json(t)
	if m["code"] != code {
		t.Fatalf("code = %v, want %s: %s", m["code"], code, r.Body)
	}
	if m["request_id"] == "" || m["request_id"] == nil || m["status"] != float64(status) {
		t.Fatalf("problem lacks request_id or status: %s", r.Body)
	}
	for _, f := range field {
		found := false
		errs, _ := m["errors"].([]any)
		for _, e := range errs {
			if e.(map[string]any)["field"] == f {
				found = true
			}
		}
		if !found {
			t.Fatalf("problem does not name field %q: %s", f, r.Body)
		}
	}
	return m
}
