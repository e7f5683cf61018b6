package app_test

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fynlo/fynlo/internal/app"
)

// tokenWithRole is a genuine token of a's user that says role: as the
// server will issue to staff signing in with a PIN.
func tokenWithRole(t *testing.T, cfg app.Config, a tenant, role string) string {
	return mintToken(t, cfg, a, func(c jwt.MapClaims) { c["role"] = role })
}

func TestRolesAndPermissions(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("roles@example.com")

		list := s.call("GET", "/api/v1/roles", a.Token, nil).json(t)
		if n := len(list["items"].([]any)); n != 7 {
			t.Fatalf("built-in roles = %d, want 7", n)
		}
		if n := len(list["permissions"].([]any)); n < 12 {
			t.Fatalf("permissions = %d", n)
		}

		// A custom role that may change settings but not read the audit log.
		r := s.call("POST", "/api/v1/roles", a.Token, map[string]any{"name": "Site lead", "grants": []map[string]any{
			{"permission": "settings.manage"}, {"permission": "order.discount", "max_discount_bp": 1500}}})
		if r.Status != 201 {
			t.Fatalf("create role: %d %s", r.Status, r.Body)
		}
		role := r.json(t)
		roleID := role["id"].(string)
		expectProblem(t, s.call("POST", "/api/v1/roles", a.Token, map[string]any{"name": "Site lead", "grants": []any{}}), 409, "role_name_taken", "name")
		expectProblem(t, s.call("POST", "/api/v1/roles", a.Token, map[string]any{"name": "Bad", "grants": []map[string]any{{"permission": "order.everything"}}}),
			422, "invalid_field", "grants[0].permission")
		expectProblem(t, s.call("PATCH", "/api/v1/roles/manager", a.Token, map[string]any{"version": 1, "name": "Boss"}), 403, "built_in_role")

		lead := tokenWithRole(t, cfg, a, roleID)
		server := tokenWithRole(t, cfg, a, "server")
		patch := func(tok string, version int) response {
			return s.call("PATCH", "/api/v1/locations/"+a.LocationID, tok, map[string]any{"version": version, "name": "Changed"})
		}
		if r := patch(lead, 1); r.Status != 200 {
			t.Fatalf("site lead changing a location: %d %s", r.Status, r.Body)
		}
		expectProblem(t, s.call("GET", "/api/v1/audit-events", lead, nil), 403, "permission_denied")
		expectProblem(t, patch(server, 2), 403, "permission_denied")
		expectProblem(t, s.call("GET", "/api/v1/roles", server, nil), 403, "permission_denied")

		// Taking the permission away works on the very next request.
		upd := s.call("PATCH", "/api/v1/roles/"+roleID, a.Token, map[string]any{"version": 1, "grants": []any{}})
		if upd.Status != 200 || upd.json(t)["version"] != float64(2) {
			t.Fatalf("update role: %d %s", upd.Status, upd.Body)
		}
		expectProblem(t, patch(lead, 2), 403, "permission_denied")
		expectProblem(t, s.call("PATCH", "/api/v1/roles/"+roleID, a.Token, map[string]any{"version": 1, "name": "Stale"}), 409, "version_conflict")

		// Denials are in the audit log.
		denied := s.call("GET", "/api/v1/audit-events?action=auth.permission_denied", a.Token, nil).json(t)["items"].([]any)
		if len(denied) != 4 {
			t.Fatalf("denials in the audit log = %d, want 4", len(denied))
		}
		// Another organization cannot see or change the role.
		b := s.signup("roles-b@example.com")
		expectProblem(t, s.call("GET", "/api/v1/roles/"+roleID, b.Token, nil), 404, "not_found")
		expectProblem(t, s.call("PATCH", "/api/v1/roles/"+roleID, b.Token, map[string]any{"version": 2, "name": "Mine"}), 404, "not_found")
		// A token naming another organization's role grants nothing here.
		expectProblem(t, s.call("GET", "/api/v1/roles", tokenWithRole(t, cfg, b, roleID), nil), 403, "unknown_role")
	})
}
