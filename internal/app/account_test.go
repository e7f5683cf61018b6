package app_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/app"
	"github.com/fynlo/fynlo/internal/testenv"
)

var resetTokenRE = regexp.MustCompile(`pr_[A-Za-z0-9_-]{43}`)

// mailedToken waits for the courier to "send" (in development: log) a
// reset email and returns the token in it, the way a developer reads it.
func (s *server) mailedToken(n int) string {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if found := resetTokenRE.FindAllString(s.logs.String(), -1); len(found) >= n {
			return found[n-1]
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("no reset email number %d in the log", n)
	return ""
}

func TestPasswordResetAndSessions(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("reset@example.com")
		other := s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "correct horse battery"}).json(t)

		// The same answer for an unknown email, and no mail.
		if r := s.call("POST", "/api/v1/auth/password-reset", "", map[string]string{"email": "nobody@example.com"}); r.Status != 202 {
			t.Fatalf("reset unknown: %d %s", r.Status, r.Body)
		}
		if r := s.call("POST", "/api/v1/auth/password-reset", "", map[string]string{"email": "Reset@Example.com"}); r.Status != 202 {
			t.Fatalf("reset: %d %s", r.Status, r.Body)
		}
		token := s.mailedToken(1)
		expectProblem(t, s.call("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": token, "new_password": "short"}),
			422, "invalid_field", "new_password")
		if r := s.call("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": token, "new_password": "a new long password"}); r.Status != 204 {
			t.Fatalf("confirm: %d %s", r.Status, r.Body)
		}
		expectProblem(t, s.call("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": token, "new_password": "another password"}),
			401, "invalid_reset_token")
		// Every session ended; the old password is gone, the new one works.
		expectProblem(t, s.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": a.Refresh}), 401, "invalid_refresh_token")
		expectProblem(t, s.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": other["refresh_token"].(string)}), 401, "invalid_refresh_token")
		expectProblem(t, s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "correct horse battery"}), 401, "invalid_credentials")
		phone := s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "a new long password"}).json(t)
		laptop := s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "a new long password"}).json(t)

		// My sessions: the laptop sees both, marks itself, and ends the phone's.
		list := s.call("GET", "/api/v1/auth/sessions", laptop["access_token"].(string), nil).json(t)["items"].([]any)
		var current, phoneID string
		for _, it := range list {
			ss := it.(map[string]any)
			if ss["current"] == true {
				current = ss["id"].(string)
			} else if ss["revoked_at"] == nil {
				phoneID = ss["id"].(string)
			}
		}
		if current == "" || phoneID == "" || len(list) != 4 {
			t.Fatalf("sessions: %v", list)
		}
		if r := s.call("DELETE", "/api/v1/auth/sessions/"+phoneID, laptop["access_token"].(string), nil); r.Status != 204 {
			t.Fatalf("revoke session: %d %s", r.Status, r.Body)
		}
		expectProblem(t, s.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": phone["refresh_token"].(string)}), 401, "invalid_refresh_token")
		b := s.signup("reset-b@example.com")
		expectProblem(t, s.call("DELETE", "/api/v1/auth/sessions/"+current, b.Token, nil), 404, "not_found")

		// Change password: the current one is checked; other sessions end, this one goes on.
		tok := laptop["access_token"].(string)
		second := s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "a new long password"}).json(t)
		expectProblem(t, s.call("POST", "/api/v1/auth/password", tok, map[string]string{"current_password": "wrong password", "new_password": "third password"}),
			401, "invalid_credentials", "current_password")
		if r := s.call("POST", "/api/v1/auth/password", tok, map[string]string{"current_password": "a new long password", "new_password": "third password"}); r.Status != 204 {
			t.Fatalf("change password: %d %s", r.Status, r.Body)
		}
		expectProblem(t, s.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": second["refresh_token"].(string)}), 401, "invalid_refresh_token")
		if r := s.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": laptop["refresh_token"].(string)}); r.Status != 200 {
			t.Fatalf("this session after the change: %d %s", r.Status, r.Body)
		}
		// The audit log tells it.
		log := string(s.call("GET", "/api/v1/audit-events?limit=1000", tok, nil).Body)
		for _, want := range []string{"auth.password_reset_requested", "auth.password_reset", "auth.password_changed"} {
			if !regexp.MustCompile(`"action":"` + regexp.QuoteMeta(want) + `"`).MatchString(log) {
				t.Errorf("audit log lacks %s", want)
			}
		}
	})
}

// TestPasswordResetMailGoesOut sends the reset email through a real SMTP
// server (Mailpit) and uses the link it carries.
func TestPasswordResetMailGoesOut(t *testing.T) {
	smtpAddr, mailAPI := testenv.Mailpit(t)
	cfg := testConfig(t, "")
	cfg.SMTPURL = "smtp://fynlo:secret@" + smtpAddr + "?from=no-reply@fynlo.test"
	s := start(t, cfg)
	a := s.signup("mailed@example.com")
	if r := s.call("POST", "/api/v1/auth/password-reset", "", map[string]string{"email": a.Email}); r.Status != 202 {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	var list struct {
		Messages []struct {
			ID      string `json:"ID"`
			Subject string `json:"Subject"`
			To      []struct {
				Address string `json:"Address"`
			} `json:"To"`
		} `json:"messages"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(list.Messages) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no mail reached Mailpit")
		}
		time.Sleep(100 * time.Millisecond)
		getJSON(t, mailAPI+"/api/v1/messages", &list)
	}
	m := list.Messages[0]
	if m.Subject != "Reset your Fynlo password" || len(m.To) != 1 || m.To[0].Address != a.Email {
		t.Fatalf("mail: %+v", m)
	}
	var msg struct {
		Text string `json:"Text"`
	}
	getJSON(t, mailAPI+"/api/v1/message/"+m.ID, &msg)
	token := resetTokenRE.FindString(msg.Text)
	if token == "" {
		t.Fatalf("no token in the mail: %s", msg.Text)
	}
	if r := s.call("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": token, "new_password": "mailed new password"}); r.Status != 204 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	if strings.Contains(s.logs.String(), token) {
		t.Fatal("with SMTP configured, the reset token was still logged")
	}
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}
