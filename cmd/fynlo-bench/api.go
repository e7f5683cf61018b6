package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// target is the server a scenario talks to: one it spawned, or -url.
type target struct {
	URL  string
	proc *serverProc // nil for -url
	pid  int         // -server-pid for -url
}

// PID is the server's process ID: the spawned one's, or -server-pid (0 if
// not given) for a server given by -url.
func (t *target) PID() int {
	if t.proc == nil {
		return t.pid
	}
	return t.proc.PID()
}

// Close stops a spawned server; a server given by -url is left alone.
func (t *target) Close() {
	if t.proc != nil {
		t.proc.Stop()
	}
}

// describe says what is being measured, for the report.
func (t *target) describe() string {
	if t.proc == nil {
		return t.URL + " (given by -url)"
	}
	return fmt.Sprintf("%s (spawned %s, pid %d, log %s)", t.URL, t.proc.cmd.Path, t.PID(), t.proc.LogPath)
}

// openTarget returns -url, or spawns a server with env added to its
// environment. A spawned server gets long-lived access tokens, so a long
// run does not see them expire (it changes nothing else).
func openTarget(ctx context.Context, c *common, env ...string) (*target, error) {
	if c.url != "" {
		return &target{URL: strings.TrimRight(c.url, "/"), pid: c.serverPID}, nil
	}
	bin, err := findServerBin(c.serverBin)
	if err != nil {
		return nil, err
	}
	env = append([]string{"FYNLO_ACCESS_TOKEN_TTL=2h"}, env...)
	if c.logLevel != "" {
		env = append(env, "FYNLO_LOG_LEVEL="+c.logLevel)
	}
	if c.databaseURL != "" {
		env = append(env, "FYNLO_DATABASE_URL="+c.databaseURL)
	}
	p, err := spawnServer(ctx, bin, env, c.keep)
	if err != nil {
		return nil, err
	}
	return &target{URL: p.URL, proc: p}, nil
}

// apiClient makes the few API calls scenarios need to set up.
type apiClient struct {
	base  string
	hc    *http.Client
	token string
}

func newAPIClient(base string) *apiClient {
	return &apiClient{base: base, hc: &http.Client{Timeout: 30 * time.Second}}
}

// call sends body as JSON and decodes a want-status answer into out.
func (a *apiClient) call(ctx context.Context, method, path string, body, out any, want int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, truncate(string(b), 300))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// account is a business signed up for a run.
type account struct {
	Email, Password string
	OrgID           string
	Token           string
}

// signup creates a fresh business with a unique email and keeps its token.
func (a *apiClient) signup(ctx context.Context) (account, error) {
	rnd := make([]byte, 4)
	_, _ = rand.Read(rnd)
	acc := account{Email: fmt.Sprintf("bench-%d-%s@example.com", time.Now().UnixNano(), hex.EncodeToString(rnd)),
		Password: "bench-password-" + hex.EncodeToString(rnd)}
	var out struct {
		AccessToken  string `json:"access_token"`
		Organization struct {
			ID string `json:"id"`
		} `json:"organization"`
	}
	err := a.call(ctx, http.MethodPost, "/api/v1/signup", map[string]string{
		"business_name": "Bench Bistro", "owner_name": "Bench Owner", "email": acc.Email, "password": acc.Password,
		"country": "GB", "currency": "GBP", "timezone": "Europe/London",
	}, &out, http.StatusCreated)
	if err != nil {
		return acc, err
	}
	acc.OrgID, acc.Token = out.Organization.ID, out.AccessToken
	a.token = acc.Token
	return acc, nil
}

// login signs in and returns how long it took.
func (a *apiClient) login(ctx context.Context, acc account) (time.Duration, error) {
	start := time.Now()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	err := a.call(ctx, http.MethodPost, "/api/v1/auth/login",
		map[string]string{"email": acc.Email, "password": acc.Password}, &out, http.StatusOK)
	took := time.Since(start)
	if err == nil && out.AccessToken == "" {
		err = fmt.Errorf("login answered without an access_token")
	}
	return took, err
}

// createLocation opens a location and returns its ID.
func (a *apiClient) createLocation(ctx context.Context, name string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := a.call(ctx, http.MethodPost, "/api/v1/locations", map[string]string{"name": name}, &out, http.StatusCreated); err != nil {
		return "", err
	}
	return out.ID, nil
}

// get returns the body of a 200 answer to GET path.
func (a *apiClient) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return nil, err
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d: %s", path, resp.StatusCode, truncate(string(raw), 300))
	}
	return raw, nil
}

// metric reads one unlabelled sample from the server's /metrics.
func (a *apiClient) metric(ctx context.Context, name string) (float64, bool) {
	b, err := a.get(ctx, "/metrics")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f, true
			}
		}
	}
	return 0, false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
