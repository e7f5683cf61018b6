package app_test

import (
	"strings"
	"testing"

	"github.com/fynlo/fynlo/internal/app"
)

// TestAuditLogTellsTheStory: sign-up, sign-ins good and bad, a change and a
// sign-out are all in the owner's verified log, with who did them.
func TestAuditLogTellsTheStory(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("story@example.com")
		me := s.call("GET", "/api/v1/me", a.Token, nil).json(t)["user"].(map[string]any)["id"].(string)
		s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "wrong password"})
		login := s.call("POST", "/api/v1/auth/login", "", map[string]string{"email": a.Email, "password": "correct horse battery"}).json(t)
		tok := login["access_token"].(string)
		s.call("PATCH", "/api/v1/locations/"+a.LocationID, tok, map[string]any{"version": 1, "name": "Renamed"})
		s.call("POST", "/api/v1/auth/logout", tok, nil)

		r := s.call("GET", "/api/v1/audit-events", a.Token, nil)
		if r.Status != 200 {
			t.Fatalf("audit: %d %s", r.Status, r.Body)
		}
		var got []string
		for _, it := range r.json(t)["items"].([]any) {
			e := it.(map[string]any)
			actor, _ := e["actor_id"].(string) // absent for a failed sign-in: nobody was proven
			got = append(got, e["action"].(string)+" by "+strings.Replace(actor, me, "owner", 1))
		}
		want := "organization.created by owner, location.created by owner, user.created by owner, " +
			"auth.login_failed by , auth.login by owner, location.updated by owner, auth.logout by owner"
		if strings.Join(got, ", ") != want {
			t.Fatalf("audit log:\n got %s\nwant %s", strings.Join(got, ", "), want)
		}
		if strings.Contains(string(r.Body), "correct horse") || strings.Contains(string(r.Body), "wrong password") {
			t.Fatal("a password reached the audit log")
		}
		page := s.call("GET", "/api/v1/audit-events?action=auth.login_failed", a.Token, nil).json(t)["items"].([]any)
		if len(page) != 1 || page[0].(map[string]any)["subject_id"] != me {
			t.Fatalf("filtered: %v", page)
		}
		first := s.call("GET", "/api/v1/audit-events?limit=3", a.Token, nil).json(t)
		if first["next_cursor"] != float64(3) {
			t.Fatalf("page: %v", first)
		}
		v := s.call("GET", "/api/v1/audit-events/verify", a.Token, nil).json(t)
		if v["intact"] != true || v["entries"] != float64(7) {
			t.Fatalf("verify: %v", v)
		}
		// Another organization sees only its own log.
		b := s.signup("story-b@example.com")
		if n := len(s.call("GET", "/api/v1/audit-events", b.Token, nil).json(t)["items"].([]any)); n != 3 {
			t.Fatalf("tenant B sees %d entries, want its own 3", n)
		}
		expectProblem(t, s.call("GET", "/api/v1/audit-events", "", nil), 401, "unauthenticated")
	})
}
