package app_test

import (
	"testing"

	"github.com/fynlo/fynlo/internal/app"
)

func TestTaxCategoriesAndCategories(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("menu@example.com")
		tok := a.Token

		// UK VAT: cold food is zero-rated taken away, standard-rated eaten in.
		cold := s.call("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Cold food",
			"rates": map[string]int{"dine_in": 2000, "takeaway": 0, "delivery": 0}})
		if cold.Status != 201 || cold.Header.Get("Location") == "" {
			t.Fatalf("create tax category: %d %s", cold.Status, cold.Body)
		}
		coldID := cold.json(t)["id"].(string)
		expectProblem(t, s.call("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Cold food",
			"rates": map[string]int{"dine_in": 2000, "takeaway": 0, "delivery": 0}}), 409, "name_taken", "name")
		expectProblem(t, s.call("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Too much",
			"rates": map[string]int{"dine_in": 10001, "takeaway": 0, "delivery": 0}}), 422, "invalid_field", "rates.dine_in")
		expectProblem(t, s.call("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Negative",
			"rates": map[string]int{"dine_in": -1, "takeaway": 0, "delivery": 0}}), 422, "invalid_field", "rates.dine_in")
		upd := s.call("PATCH", "/api/v1/tax-categories/"+coldID, tok, map[string]any{"version": 1, "rates": map[string]int{"dine_in": 2000, "takeaway": 0, "delivery": 2000}})
		if upd.Status != 200 || upd.json(t)["rates"].(map[string]any)["delivery"] != float64(2000) {
			t.Fatalf("update tax category: %d %s", upd.Status, upd.Body)
		}
		expectProblem(t, s.call("PATCH", "/api/v1/tax-categories/"+coldID, tok, map[string]any{"version": 1, "name": "Stale"}), 409, "version_conflict")

		// Categories nest, but never inside themselves.
		mains := s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "Mains", "position": 2, "color": "#E4572E"}).json(t)
		grill := s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "From the grill", "parent_id": mains["id"]})
		if grill.Status != 201 {
			t.Fatalf("nested category: %d %s", grill.Status, grill.Body)
		}
		grillID := grill.json(t)["id"].(string)
		s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "Breakfast", "position": 1})
		expectProblem(t, s.call("PATCH", "/api/v1/categories/"+mains["id"].(string), tok, map[string]any{"version": 1, "parent_id": grillID}),
			422, "invalid_field", "parent_id")
		expectProblem(t, s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "Orphan", "parent_id": "cat_01jdq3x2v8s9k7m4n5p6q7r8s9"}),
			422, "invalid_field", "parent_id")
		expectProblem(t, s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "Beige", "color": "beige"}), 422, "invalid_field", "color")
		list := s.call("GET", "/api/v1/categories", tok, nil).json(t)["items"].([]any)
		if len(list) != 3 || list[0].(map[string]any)["name"] != "From the grill" || list[1].(map[string]any)["name"] != "Breakfast" {
			t.Fatalf("categories in order: %v", list)
		}
		expectProblem(t, s.call("DELETE", "/api/v1/categories/"+mains["id"].(string), tok, nil), 409, "category_in_use")
		if r := s.call("DELETE", "/api/v1/categories/"+grillID, tok, nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := s.call("DELETE", "/api/v1/categories/"+mains["id"].(string), tok, nil); r.Status != 204 {
			t.Fatalf("delete emptied: %d %s", r.Status, r.Body)
		}

		// Another organization sees none of it; a server may read but not edit.
		b := s.signup("menu-b@example.com")
		expectProblem(t, s.call("GET", "/api/v1/tax-categories/"+coldID, b.Token, nil), 404, "not_found")
		expectProblem(t, s.call("PATCH", "/api/v1/tax-categories/"+coldID, b.Token, map[string]any{"version": 2, "name": "Mine"}), 404, "not_found")
		if n := len(s.call("GET", "/api/v1/tax-categories", b.Token, nil).json(t)["items"].([]any)); n != 0 {
			t.Fatalf("tenant B sees %d tax categories", n)
		}
		server := tokenWithRole(t, cfg, a, "server")
		if r := s.call("GET", "/api/v1/tax-categories", server, nil); r.Status != 200 {
			t.Fatalf("server reading the menu: %d", r.Status)
		}
		expectProblem(t, s.call("POST", "/api/v1/categories", server, map[string]any{"name": "Mine"}), 403, "permission_denied")

		// Every change is on the event stream.
		evs := s.call("GET", "/api/v1/events?after=3", tok, nil).json(t)["events"].([]any)
		want := []string{"tax_category.created", "tax_category.updated", "category.created", "category.created", "category.created",
			"category.deleted", "category.deleted"}
		if len(evs) != len(want) {
			t.Fatalf("events = %d, want %d", len(evs), len(want))
		}
		for i, w := range want {
			if evs[i].(map[string]any)["type"] != w {
				t.Fatalf("event %d = %v, want %s", i, evs[i].(map[string]any)["type"], w)
			}
		}
	})
}
