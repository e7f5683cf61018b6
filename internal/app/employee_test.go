package app_test

import (
	"strings"
	"testing"

	"github.com/fynlo/fynlo/internal/app"
)

func TestEmployees(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("staff@example.com")
		loc := a.LocationID
		add := func(name, role, pin string) response {
			body := map[string]any{"name": name, "job_title": role, "roles": []map[string]string{{"location_id": loc, "role_id": role}},
				"hourly_wage": map[string]any{"amount": 1250, "currency": "GBP"}}
			if pin != "" {
				body["pin"] = pin
			}
			return s.call("POST", "/api/v1/employees", a.Token, body)
		}
		mgr := add("Maya Manager", "manager", "4821")
		if mgr.Status != 201 {
			t.Fatalf("add manager: %d %s", mgr.Status, mgr.Body)
		}
		m := mgr.json(t)
		if m["has_pin"] != true || m["active"] != true || m["hourly_wage"].(map[string]any)["amount"] != float64(1250) {
			t.Fatalf("manager = %v", m)
		}
		for _, k := range []string{"pin", "pin_hash", "hash"} {
			if _, ok := m[k]; ok {
				t.Fatalf("the employee carries %q: %s", k, mgr.Body)
			}
		}
		if r := add("Sam Server", "server", "5930"); r.Status != 201 {
			t.Fatalf("add server: %d %s", r.Status, r.Body)
		}
		if r := add("Sol Server", "server", ""); r.Status != 201 || r.json(t)["has_pin"] != false {
			t.Fatalf("add server without PIN: %d %s", r.Status, r.Body)
		}
		sol := s.call("GET", "/api/v1/employees?search=sol", a.Token, nil).json(t)["items"].([]any)[0].(map[string]any)

		// PINs are unique per location, 4 to 6 digits.
		expectProblem(t, add("Copy Cat", "server", "4821"), 409, "pin_taken", "pin")
		expectProblem(t, add("Bad Pin", "server", "12a4"), 422, "invalid_field", "pin")
		expectProblem(t, add("Long Pin", "server", "1234567"), 422, "invalid_field", "pin")
		expectProblem(t, add("Boss", "owner", ""), 422, "invalid_field", "roles[0].role_id")
		expectProblem(t, add("Who", "sommelier", ""), 422, "invalid_field", "roles[0].role_id")
		b := s.signup("staff-b@example.com")
		expectProblem(t, s.call("POST", "/api/v1/employees", a.Token, map[string]any{"name": "Elsewhere",
			"roles": []map[string]string{{"location_id": b.LocationID, "role_id": "server"}}}), 422, "invalid_field", "roles[0].location_id")
		expectProblem(t, s.call("POST", "/api/v1/employees/"+sol["id"].(string)+"/pin", a.Token, map[string]string{"pin": "5930"}), 409, "pin_taken", "pin")
		if r := s.call("POST", "/api/v1/employees/"+sol["id"].(string)+"/pin", a.Token, map[string]string{"pin": "7777"}); r.Status != 200 || r.json(t)["has_pin"] != true {
			t.Fatalf("set PIN: %d %s", r.Status, r.Body)
		}

		// Filters.
		count := func(q string) int {
			return len(s.call("GET", "/api/v1/employees"+q, a.Token, nil).json(t)["items"].([]any))
		}
		if count("") != 3 || count("?role=server") != 2 || count("?role=manager") != 1 || count("?search=SERVER") != 2 ||
			count("?location_id="+loc) != 3 || count("?location_id="+b.LocationID) != 0 || count("?limit=2") != 2 {
			t.Fatal("employee filters are wrong")
		}

		// Versioned change, then deactivation frees the PIN and keeps the record.
		id := m["id"].(string)
		if r := s.call("PATCH", "/api/v1/employees/"+id, a.Token, map[string]any{"version": 1, "job_title": "General manager"}); r.Status != 200 {
			t.Fatalf("patch: %d %s", r.Status, r.Body)
		}
		expectProblem(t, s.call("PATCH", "/api/v1/employees/"+id, a.Token, map[string]any{"version": 1, "name": "Old"}), 409, "version_conflict")
		d := s.call("DELETE", "/api/v1/employees/"+id, a.Token, nil)
		if d.Status != 200 || d.json(t)["active"] != false || d.json(t)["has_pin"] != false {
			t.Fatalf("deactivate: %d %s", d.Status, d.Body)
		}
		again := s.call("DELETE", "/api/v1/employees/"+id, a.Token, nil)
		if again.Status != 200 || again.json(t)["version"] != d.json(t)["version"] {
			t.Fatalf("second deactivate changed something: %s", again.Body)
		}
		if r := add("New Hire", "server", "4821"); r.Status != 201 {
			t.Fatalf("the deactivated manager's PIN is still taken: %d %s", r.Status, r.Body)
		}

		// Tenancy and permissions.
		expectProblem(t, s.call("GET", "/api/v1/employees/"+id, b.Token, nil), 404, "not_found")
		expectProblem(t, s.call("DELETE", "/api/v1/employees/"+id, b.Token, nil), 404, "not_found")
		expectProblem(t, s.call("GET", "/api/v1/employees", tokenWithRole(t, cfg, a, "server"), nil), 403, "permission_denied")

		// The whole story is in the audit log, and no PIN in any form.
		log := s.call("GET", "/api/v1/audit-events?limit=1000", a.Token, nil)
		if !strings.Contains(string(log.Body), "employee.pin_set") || strings.Contains(string(log.Body), `"pin"`) {
			t.Fatalf("audit log: %s", log.Body)
		}
	})
}
