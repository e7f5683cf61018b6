package app_test

import (
	"net/http"
	"testing"

	"github.com/fynlo/fynlo/internal/app"
	"github.com/fynlo/fynlo/internal/auth"
)

// TestPermissionMatrix asks every protected endpoint as every built-in
// role: allowed exactly when the role grants the endpoint's permission.
func TestPermissionMatrix(t *testing.T) {
	cfg := testConfig(t, "")
	s := start(t, cfg)
	a := s.signup("matrix@example.com")
	emp := s.call("POST", "/api/v1/employees", a.Token, map[string]any{"name": "Target",
		"roles": []map[string]string{{"location_id": a.LocationID, "role_id": "server"}}}).json(t)["id"].(string)
	endpoints := []struct {
		method, path string
		body         any
		perm         string
	}{
		{"POST", "/api/v1/locations", map[string]any{"name": "New site"}, auth.PermSettingsManage},
		{"PATCH", "/api/v1/locations/" + a.LocationID, map[string]any{"version": 999, "name": "X"}, auth.PermSettingsManage},
		{"GET", "/api/v1/audit-events", nil, auth.PermAuditView},
		{"GET", "/api/v1/audit-events/verify", nil, auth.PermAuditView},
		{"GET", "/api/v1/roles", nil, auth.PermStaffManage},
		{"POST", "/api/v1/roles", map[string]any{"name": "", "grants": []any{}}, auth.PermStaffManage},
		{"GET", "/api/v1/roles/server", nil, auth.PermStaffManage},
		{"GET", "/api/v1/employees", nil, auth.PermStaffManage},
		{"POST", "/api/v1/employees", map[string]any{"name": "", "roles": []any{}}, auth.PermStaffManage},
		{"GET", "/api/v1/employees/" + emp, nil, auth.PermStaffManage},
		{"PATCH", "/api/v1/employees/" + emp, map[string]any{"version": 999}, auth.PermStaffManage},
		{"POST", "/api/v1/employees/" + emp + "/pin", map[string]any{"pin": "x"}, auth.PermStaffManage},
		{"POST", "/api/v1/employees/" + emp + "/unlock", nil, auth.PermStaffManage},
		{"GET", "/api/v1/devices", nil, auth.PermStaffManage},
		{"POST", "/api/v1/devices", map[string]any{"location_id": "", "name": ""}, auth.PermStaffManage},
		{"DELETE", "/api/v1/devices/dev_none", nil, auth.PermStaffManage},
		{"POST", "/api/v1/tax-categories", map[string]any{"name": "", "rates": map[string]int{}}, auth.PermMenuEdit},
		{"PATCH", "/api/v1/tax-categories/txc_none", map[string]any{"version": 1}, auth.PermMenuEdit},
		{"DELETE", "/api/v1/tax-categories/txc_none", nil, auth.PermMenuEdit},
		{"POST", "/api/v1/categories", map[string]any{"name": ""}, auth.PermMenuEdit},
		{"PATCH", "/api/v1/categories/cat_none", map[string]any{"version": 1}, auth.PermMenuEdit},
		{"DELETE", "/api/v1/categories/cat_none", nil, auth.PermMenuEdit},
		{"POST", "/api/v1/items", map[string]any{"name": ""}, auth.PermMenuEdit},
		{"PATCH", "/api/v1/items/itm_none", map[string]any{"version": 1}, auth.PermMenuEdit},
		{"DELETE", "/api/v1/items/itm_none", nil, auth.PermMenuEdit},
		{"POST", "/api/v1/modifier-groups", map[string]any{"name": ""}, auth.PermMenuEdit},
		{"PATCH", "/api/v1/modifier-groups/mgp_none", map[string]any{"version": 1}, auth.PermMenuEdit},
		{"DELETE", "/api/v1/modifier-groups/mgp_none", nil, auth.PermMenuEdit},
		{"POST", "/api/v1/menu/batch", map[string]any{}, auth.PermMenuEdit},
		{"PUT", "/api/v1/locations/" + a.LocationID + "/availability/itm_none", map[string]any{"version": 0, "unavailable": true}, auth.PermMenu86},
	}
	for _, role := range auth.BuiltInRoles() {
		tok := tokenWithRole(t, cfg, a, role.ID)
		for _, e := range endpoints {
			r := s.call(e.method, e.path, tok, e.body)
			if role.Allows(e.perm) {
				// Allowed: whatever the answer, it is not a refusal. (Bodies
				// here are deliberately invalid, so nothing changes.)
				if r.Status == http.StatusForbidden || r.Status == http.StatusUnauthorized {
					t.Errorf("%s %s as %s: %d, want it allowed: %s", e.method, e.path, role.ID, r.Status, r.Body)
				}
			} else if r.Status != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d, want 403: %s", e.method, e.path, role.ID, r.Status, r.Body)
			}
		}
	}
	_ = app.Version
}
