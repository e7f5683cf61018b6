package app_test

import (
	"strings"
	"testing"

	"github.com/fynlo/fynlo/internal/app"
)

// TestManagerOverrideStory is issue 3's "done when": a server is refused,
// a manager approves with their PIN on the spot, and the whole story is in
// a verified audit log. (Refunds arrive with payments; the refused action
// here is reading the staff list, which needs staff.manage.)
func TestManagerOverrideStory(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("override@example.com")
		add := func(name, role, pin string) string {
			r := s.call("POST", "/api/v1/employees", a.Token, map[string]any{"name": name, "pin": pin,
				"roles": []map[string]string{{"location_id": a.LocationID, "role_id": role}}})
			if r.Status != 201 {
				t.Fatalf("add %s: %d %s", name, r.Status, r.Body)
			}
			return r.json(t)["id"].(string)
		}
		manager := add("Maya", "manager", "4821")
		server := add("Sam", "server", "5930")
		add("Sol", "server", "6041")
		code := s.call("POST", "/api/v1/devices", a.Token, map[string]any{"location_id": a.LocationID, "name": "Till 1"}).json(t)["pairing_code"].(string)
		device := s.call("POST", "/api/v1/devices/pair", "", map[string]string{"code": code}).json(t)["device_token"].(string)
		sam := s.call("POST", "/api/v1/auth/pin", device, map[string]string{"pin": "5930"}).json(t)["access_token"].(string)

		expectProblem(t, s.call("GET", "/api/v1/employees", sam, nil), 403, "permission_denied")
		override := func(pin, perm string) response {
			return s.call("POST", "/api/v1/auth/override", sam, map[string]string{"pin": pin, "permission": perm, "reason": "checking the rota"})
		}
		expectProblem(t, override("0000", "staff.manage"), 401, "invalid_pin")
		expectProblem(t, override("6041", "staff.manage"), 403, "approver_not_allowed") // another server
		expectProblem(t, override("5930", "staff.manage"), 403, "approver_not_allowed") // herself
		expectProblem(t, override("4821", "menu.everything"), 422, "invalid_field", "permission")
		expectProblem(t, s.call("POST", "/api/v1/auth/override", a.Token, map[string]string{"pin": "4821", "permission": "staff.manage", "reason": "x"}),
			403, "not_on_a_device")

		g := override("4821", "staff.manage")
		if g.Status != 200 {
			t.Fatalf("override: %d %s", g.Status, g.Body)
		}
		approval := g.json(t)["approval"].(string)
		if d := g.json(t)["details"].(map[string]any); d["approver_id"] != manager || d["requester_id"] != server {
			t.Fatalf("approval details: %v", d)
		}
		// For another permission it does nothing; for this one it works once.
		expectProblem(t, s.call("GET", "/api/v1/audit-events", sam, nil, "Fynlo-Approval", approval), 403, "permission_denied")
		if r := s.call("GET", "/api/v1/employees", sam, nil, "Fynlo-Approval", approval); r.Status != 200 {
			t.Fatalf("approved request: %d %s", r.Status, r.Body)
		}
		expectProblem(t, s.call("GET", "/api/v1/employees", sam, nil, "Fynlo-Approval", approval), 403, "permission_denied")

		// The owner reads the whole story, and the chain is intact.
		log := s.call("GET", "/api/v1/audit-events?limit=1000", a.Token, nil)
		var story []string
		for _, it := range log.json(t)["items"].([]any) {
			e := it.(map[string]any)
			switch e["action"] {
			case "auth.pin_sign_in", "auth.permission_denied", "auth.override_refused", "approval.granted", "auth.override_used":
				actor, _ := e["actor_id"].(string)
				story = append(story, e["action"].(string)+" by "+map[string]string{manager: "Maya", server: "Sam"}[actor])
			}
		}
		want := "auth.pin_sign_in by Sam, auth.permission_denied by Sam, auth.override_refused by Sam, auth.override_refused by Sam, " +
			"approval.granted by Maya, auth.permission_denied by Sam, auth.override_used by Sam, auth.permission_denied by Sam"
		if strings.Join(story, ", ") != want {
			t.Fatalf("story:\n got %s\nwant %s", strings.Join(story, ", "), want)
		}
		if v := s.call("GET", "/api/v1/audit-events/verify", a.Token, nil).json(t); v["intact"] != true {
			t.Fatalf("verify: %v", v)
		}
		if strings.Contains(string(log.Body), approval) || strings.Contains(string(log.Body), `"pin"`) {
			t.Fatal("a secret reached the audit log")
		}
	})
}
