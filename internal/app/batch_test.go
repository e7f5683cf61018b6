package app_test

import (
	"fmt"
	"testing"

	"github.com/fynlo/fynlo/internal/app"
)

func TestMenuBatch(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("batch@example.com")
		tok := a.Token
		gbp := func(p int) map[string]any { return map[string]any{"amount": p, "currency": "GBP"} }
		batch := map[string]any{
			"tax_categories": []any{map[string]any{"id": "#hot", "name": "Hot food", "rates": map[string]int{"dine_in": 2000, "takeaway": 2000, "delivery": 2000}}},
			// The child comes first: the server writes parents first.
			"categories": []any{
				map[string]any{"id": "#fish", "name": "Fish", "parent_id": "#mains"},
				map[string]any{"id": "#mains", "name": "Mains", "position": 2},
			},
			"modifier_groups": []any{map[string]any{"id": "#sauce", "name": "Sauce", "min_select": 0, "max_select": 2,
				"modifiers": []any{map[string]any{"name": "Tartare", "price": gbp(50), "allergens": []string{"eggs"}}}}},
			"items": []any{
				map[string]any{"id": "#cod", "name": "Cod and chips", "category_id": "#fish", "tax_category_id": "#hot",
					"modifier_group_ids": []string{"#sauce"}, "variants": []any{map[string]any{"name": "Regular", "price": gbp(1450), "barcodes": []string{"5000000000001"}}}},
				map[string]any{"name": "Pie", "category_id": "#mains", "tax_category_id": "#hot", "variants": []any{map[string]any{"name": "Regular", "price": gbp(1300), "barcodes": []string{"5000000000002"}}}},
			},
		}

		// A dry run checks and answers, writing nothing.
		if r := s.call("POST", "/api/v1/menu/batch?dry_run=true", tok, batch); r.Status != 200 || r.json(t)["created"] != float64(6) {
			t.Fatalf("dry run: %d %s", r.Status, r.Body)
		}
		if n := len(s.call("GET", "/api/v1/items", tok, nil).json(t)["items"].([]any)); n != 0 {
			t.Fatalf("dry run wrote %d items", n)
		}

		r := s.call("POST", "/api/v1/menu/batch", tok, batch)
		if r.Status != 200 {
			t.Fatalf("batch: %d %s", r.Status, r.Body)
		}
		res := r.json(t)
		ids := map[string]string{}
		for _, m := range res["id_mappings"].([]any) {
			m := m.(map[string]any)
			ids[m["client_id"].(string)] = m["id"].(string)
		}
		if len(ids) != 5 || res["created"] != float64(6) || res["updated"] != float64(0) {
			t.Fatalf("result: %s", r.Body)
		}
		cod := s.call("GET", "/api/v1/items/"+ids["#cod"], tok, nil).json(t)
		if cod["category_id"] != ids["#fish"] || cod["tax_category_id"] != ids["#hot"] || cod["modifier_group_ids"].([]any)[0] != ids["#sauce"] {
			t.Fatalf("references not resolved: %v", cod)
		}
		if c := s.call("GET", "/api/v1/categories/"+ids["#fish"], tok, nil).json(t); c["parent_id"] != ids["#mains"] {
			t.Fatalf("parent not resolved: %v", c)
		}

		// Replacing by real ID bumps the version; a stale version refuses the whole batch.
		upd := map[string]any{"items": []any{map[string]any{"id": ids["#cod"], "version": 1, "name": "Cod & chips", "category_id": ids["#fish"],
			"tax_category_id": ids["#hot"], "variants": []any{map[string]any{"name": "Regular", "price": gbp(1500)}}}},
			"categories": []any{map[string]any{"name": "Sides"}}}
		if r := s.call("POST", "/api/v1/menu/batch", tok, upd); r.Status != 200 || r.json(t)["updated"] != float64(1) {
			t.Fatalf("replace: %d %s", r.Status, r.Body)
		}
		if it := s.call("GET", "/api/v1/items/"+ids["#cod"], tok, nil).json(t); it["version"] != float64(2) || it["name"] != "Cod & chips" {
			t.Fatalf("after replace: %v", it)
		}
		expectProblem(t, s.call("POST", "/api/v1/menu/batch", tok, upd), 409, "version_conflict", "items[0].version")
		if n := len(s.call("GET", "/api/v1/categories", tok, nil).json(t)["items"].([]any)); n != 3 {
			t.Fatalf("categories after the refused batch = %d, want 3 (Sides once)", n)
		}

		// Every problem at once, named by place; nothing written.
		bad := map[string]any{
			"categories": []any{map[string]any{"id": "#new", "name": "New"}},
			"modifier_groups": []any{map[string]any{"name": "Sides", "min_select": 3, "max_select": 1,
				"modifiers": []any{map[string]any{"name": "Chips", "price": gbp(300)}}}},
			"items": []any{
				map[string]any{"name": "Ghost", "category_id": "#nowhere", "tax_category_id": ids["#hot"], "variants": []any{map[string]any{"name": "R", "price": gbp(100)}}},
				map[string]any{"name": "Cheap", "category_id": "#new", "tax_category_id": ids["#hot"], "variants": []any{map[string]any{"name": "R", "price": gbp(-5)}}},
				map[string]any{"name": "Twin", "category_id": "#new", "tax_category_id": ids["#hot"], "variants": []any{map[string]any{"name": "R", "price": gbp(100), "barcodes": []string{"5000000000002"}}}},
			},
		}
		expectProblem(t, s.call("POST", "/api/v1/menu/batch", tok, bad), 422, "invalid_field", "items[0].category_id")
		bad["items"] = append(bad["items"].([]any)[1:], map[string]any{"name": "Double", "category_id": "#new", "tax_category_id": ids["#hot"],
			"variants": []any{map[string]any{"name": "Regular", "price": gbp(100)}, map[string]any{"name": "regular", "price": gbp(200)}}})
		expectProblem(t, s.call("POST", "/api/v1/menu/batch", tok, bad), 422, "invalid_field",
			"modifier_groups[0].min_select", "items[0].variants[0].price.amount", "items[1].variants[0].barcodes[0]", "items[2].variants[1].name")
		if n := len(s.call("GET", "/api/v1/categories", tok, nil).json(t)["items"].([]any)); n != 3 {
			t.Fatalf("a refused batch wrote categories: %d", n)
		}
		expectProblem(t, s.call("POST", "/api/v1/menu/batch", tok, map[string]any{}), 422, "invalid_field", "batch")
		many := make([]any, 1000)
		for i := range many {
			many[i] = map[string]any{"name": fmt.Sprint("C", i)}
		}
		expectProblem(t, s.call("POST", "/api/v1/menu/batch", tok, map[string]any{"categories": many,
			"tax_categories": batch["tax_categories"]}), 422, "invalid_field", "batch")

		// Another tenant cannot reach these objects through a batch.
		b := s.signup("batch-b@example.com")
		steal := map[string]any{"categories": []any{map[string]any{"id": ids["#fish"], "name": "Mine now"}}}
		if r := s.call("POST", "/api/v1/menu/batch", b.Token, steal); r.Status != 409 {
			t.Fatalf("another tenant replaced a category: %s", r.Body)
		}
		if c := s.call("GET", "/api/v1/categories/"+ids["#fish"], tok, nil).json(t); c["name"] != "Fish" {
			t.Fatalf("category changed by another tenant: %v", c)
		}
	})
}
