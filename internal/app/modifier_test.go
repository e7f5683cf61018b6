package app_test

import (
	"testing"

	"github.com/fynlo/fynlo/internal/app"
)

func TestModifierGroups(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("modifiers@example.com")
		tok := a.Token
		gbp := func(p int) map[string]any { return map[string]any{"amount": p, "currency": "GBP"} }
		cooking := s.call("POST", "/api/v1/modifier-groups", tok, map[string]any{"name": "How would you like it cooked?",
			"min_select": 1, "max_select": 1, "modifiers": []map[string]any{
				{"name": "Rare", "price": gbp(0)}, {"name": "Medium", "price": gbp(0)}, {"name": "Well done", "price": gbp(0)}}})
		if cooking.Status != 201 {
			t.Fatalf("create group: %d %s", cooking.Status, cooking.Body)
		}
		extras := s.call("POST", "/api/v1/modifier-groups", tok, map[string]any{"name": "Extras", "min_select": 0, "max_select": 3,
			"free_allowance": 1, "pre_modifiers": []string{"no", "extra"}, "modifiers": []map[string]any{
				{"name": "Bacon", "price": gbp(150)}, {"name": "Fried egg", "price": gbp(120), "allergens": []string{"eggs"}}}}).json(t)
		cookingID := cooking.json(t)["id"].(string)

		// Bad groups name the field.
		expectProblem(t, s.call("POST", "/api/v1/modifier-groups", tok, map[string]any{"name": "Impossible", "min_select": 3, "max_select": 2,
			"modifiers": []map[string]any{{"name": "A", "price": gbp(0)}, {"name": "B", "price": gbp(0)}, {"name": "C", "price": gbp(0)}}}),
			422, "invalid_field", "min_select")
		expectProblem(t, s.call("POST", "/api/v1/modifier-groups", tok, map[string]any{"name": "Negative", "min_select": 0, "max_select": 1,
			"modifiers": []map[string]any{{"name": "A", "price": gbp(-5)}}}), 422, "invalid_field", "modifiers[0].price.amount")
		expectProblem(t, s.call("POST", "/api/v1/modifier-groups", tok, map[string]any{"name": "Words", "min_select": 0, "max_select": 1,
			"pre_modifiers": []string{"smothered"}, "modifiers": []map[string]any{{"name": "A", "price": gbp(0)}}}), 422, "invalid_field", "pre_modifiers[0]")

		// An item asks the groups, in order; a group in use cannot be deleted.
		tax := s.call("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Hot food",
			"rates": map[string]int{"dine_in": 2000, "takeaway": 2000, "delivery": 2000}}).json(t)["id"].(string)
		cat := s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "Grill"}).json(t)["id"].(string)
		steak := s.call("POST", "/api/v1/items", tok, map[string]any{"name": "Rib-eye", "category_id": cat, "tax_category_id": tax,
			"variants": []map[string]any{{"name": "300g", "price": gbp(2800)}}, "modifier_group_ids": []string{cookingID, extras["id"].(string)}})
		if steak.Status != 201 || len(steak.json(t)["modifier_group_ids"].([]any)) != 2 {
			t.Fatalf("item with groups: %d %s", steak.Status, steak.Body)
		}
		expectProblem(t, s.call("POST", "/api/v1/items", tok, map[string]any{"name": "Lost", "category_id": cat, "tax_category_id": tax,
			"variants": []map[string]any{{"name": "R", "price": gbp(100)}}, "modifier_group_ids": []string{"mgp_01jdq3x2v8s9k7m4n5p6q7r8s9"}}),
			422, "invalid_field", "modifier_group_ids[0]")
		expectProblem(t, s.call("DELETE", "/api/v1/modifier-groups/"+cookingID, tok, nil), 409, "modifier_group_in_use")
		if r := s.call("PATCH", "/api/v1/modifier-groups/"+cookingID, tok, map[string]any{"version": 1, "max_select": 2}); r.Status != 200 {
			t.Fatalf("update group: %d %s", r.Status, r.Body)
		}
		b := s.signup("modifiers-b@example.com")
		expectProblem(t, s.call("GET", "/api/v1/modifier-groups/"+cookingID, b.Token, nil), 404, "not_found")
		if n := len(s.call("GET", "/api/v1/modifier-groups", tok, nil).json(t)["items"].([]any)); n != 2 {
			t.Fatalf("groups = %d", n)
		}
	})
}
