package app_test

import (
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/app"
)

func TestItems(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("items@example.com")
		tok := a.Token
		hot := s.call("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Hot food",
			"rates": map[string]int{"dine_in": 2000, "takeaway": 2000, "delivery": 2000}}).json(t)["id"].(string)
		mains := s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "Mains"}).json(t)["id"].(string)
		gbp := func(p int) map[string]any { return map[string]any{"amount": p, "currency": "GBP"} }
		item := func(name string, variants ...map[string]any) map[string]any {
			return map[string]any{"name": name, "category_id": mains, "tax_category_id": hot, "kitchen_station": "fryer", "course": 2,
				"variants": variants, "allergens": []string{"fish", "cereals_gluten", "fish"}, "cost_price": gbp(420)}
		}
		r := s.call("POST", "/api/v1/items", tok, item("Fish and chips",
			map[string]any{"name": "Regular", "price": gbp(1450), "barcodes": []string{"5012345678900"}},
			map[string]any{"name": "Large", "price": gbp(1750)}))
		if r.Status != 201 {
			t.Fatalf("create item: %d %s", r.Status, r.Body)
		}
		fish := r.json(t)
		fishID := fish["id"].(string)
		if al := fish["allergens"].([]any); len(al) != 2 || al[0] != "cereals_gluten" {
			t.Fatalf("allergens not cleaned: %v", al)
		}
		if v := fish["variants"].([]any); len(v) != 2 || v[0].(map[string]any)["id"] == "" {
			t.Fatalf("variants: %v", v)
		}

		// Bad input names the field and writes nothing.
		expectProblem(t, s.call("POST", "/api/v1/items", tok, item("Cheap", map[string]any{"name": "R", "price": gbp(-1)})),
			422, "invalid_field", "variants[0].price.amount")
		expectProblem(t, s.call("POST", "/api/v1/items", tok, item("Free", map[string]any{"name": "R"})), 422, "invalid_field", "variants[0].price")
		expectProblem(t, s.call("POST", "/api/v1/items", tok, item("Twin", map[string]any{"name": "R", "price": gbp(100), "barcodes": []string{"5012345678900"}})),
			422, "barcode_taken", "variants.barcodes")
		bad := item("Lost", map[string]any{"name": "R", "price": gbp(100)})
		bad["category_id"] = "cat_01jdq3x2v8s9k7m4n5p6q7r8s9"
		bad["allergens"] = []string{"nightshade"}
		expectProblem(t, s.call("POST", "/api/v1/items", tok, bad), 422, "invalid_field", "category_id", "allergens[0]")
		if n := len(s.call("GET", "/api/v1/items", tok, nil).json(t)["items"].([]any)); n != 1 {
			t.Fatalf("items after bad input = %d, want 1", n)
		}

		// The scanner finds it; a versioned change; a stale one is refused.
		found := s.call("GET", "/api/v1/items?barcode=5012345678900", tok, nil).json(t)["items"].([]any)
		if len(found) != 1 || found[0].(map[string]any)["id"] != fishID {
			t.Fatalf("barcode lookup: %v", found)
		}
		upd := s.call("PATCH", "/api/v1/items/"+fishID, tok, map[string]any{"version": 1, "name": "Fish & chips", "dietary": []string{"dairy_free"}})
		if upd.Status != 200 || upd.json(t)["version"] != float64(2) {
			t.Fatalf("update: %d %s", upd.Status, upd.Body)
		}
		expectProblem(t, s.call("PATCH", "/api/v1/items/"+fishID, tok, map[string]any{"version": 1, "name": "Old"}), 409, "version_conflict")

		// Archiving takes it off the menu, keeps it, and frees its barcode.
		if r := s.call("DELETE", "/api/v1/items/"+fishID, tok, nil); r.Status != 200 || r.json(t)["archived"] != true {
			t.Fatalf("archive: %d %s", r.Status, r.Body)
		}
		if n := len(s.call("GET", "/api/v1/items", tok, nil).json(t)["items"].([]any)); n != 0 {
			t.Fatalf("archived item still listed")
		}
		if n := len(s.call("GET", "/api/v1/items?archived=true", tok, nil).json(t)["items"].([]any)); n != 1 {
			t.Fatalf("archived item lost")
		}
		if r := s.call("POST", "/api/v1/items", tok, item("Haddock", map[string]any{"name": "R", "price": gbp(1500), "barcodes": []string{"5012345678900"}})); r.Status != 201 {
			t.Fatalf("barcode not freed: %d %s", r.Status, r.Body)
		}
		expectProblem(t, s.call("DELETE", "/api/v1/tax-categories/"+hot, tok, nil), 409, "tax_category_in_use")
		expectProblem(t, s.call("DELETE", "/api/v1/categories/"+mains, tok, nil), 409, "category_in_use")

		// Tenancy and permissions.
		b := s.signup("items-b@example.com")
		expectProblem(t, s.call("GET", "/api/v1/items/"+fishID, b.Token, nil), 404, "not_found")
		expectProblem(t, s.call("PATCH", "/api/v1/items/"+fishID, b.Token, map[string]any{"version": 3, "name": "Mine"}), 404, "not_found")
		expectProblem(t, s.call("POST", "/api/v1/items", tokenWithRole(t, cfg, a, "server"), item("X", map[string]any{"name": "R", "price": gbp(1)})),
			403, "permission_denied")
	})
}

// TestMenuSnapshot: the whole menu in one request, an ETag that turns a
// repeat into 304, and a change that shows on the very next request.
func TestMenuSnapshot(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("snapshot@example.com")
		tok := a.Token
		gbp := func(p int) map[string]any { return map[string]any{"amount": p, "currency": "GBP"} }
		tax := s.call("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Hot food",
			"rates": map[string]int{"dine_in": 2000, "takeaway": 2000, "delivery": 2000}}).json(t)["id"].(string)
		cat := s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "Mains"}).json(t)["id"].(string)
		fish := s.call("POST", "/api/v1/items", tok, map[string]any{"name": "Fish", "category_id": cat, "tax_category_id": tax,
			"variants": []map[string]any{{"name": "R", "price": gbp(1450)}}}).json(t)

		path := "/api/v1/locations/" + a.LocationID + "/menu"
		first := s.call("GET", path, tok, nil)
		etag := first.Header.Get("ETag")
		m := first.json(t)
		if first.Status != 200 || etag == "" || len(m["items"].([]any)) != 1 || len(m["categories"].([]any)) != 1 || len(m["tax_categories"].([]any)) != 1 {
			t.Fatalf("menu: %d %s", first.Status, first.Body)
		}
		if r := s.call("GET", path, tok, nil, "If-None-Match", etag); r.Status != 304 || len(r.Body) != 0 {
			t.Fatalf("unchanged menu: %d %q", r.Status, r.Body)
		}
		// A server's iPad reads the same menu.
		if r := s.call("GET", path, tokenWithRole(t, cfg, a, "server"), nil, "If-None-Match", etag); r.Status != 304 {
			t.Fatalf("server's menu: %d", r.Status)
		}

		// A change shows on the very next request, with a new ETag.
		s.call("PATCH", "/api/v1/items/"+fish["id"].(string), tok, map[string]any{"version": 1, "name": "Battered haddock"})
		next := s.call("GET", path, tok, nil, "If-None-Match", etag)
		if next.Status != 200 || next.Header.Get("ETag") == etag ||
			next.json(t)["items"].([]any)[0].(map[string]any)["name"] != "Battered haddock" {
			t.Fatalf("menu after a change: %d %s", next.Status, next.Body)
		}
		b := s.signup("snapshot-b@example.com")
		expectProblem(t, s.call("GET", path, b.Token, nil), 404, "not_found")
	})
}

// TestEightySix: the kitchen 86es the fish; the menu says so at once, the
// iPads hear it on the stream, and it comes back by itself when asked to.
func TestEightySix(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("86@example.com")
		tok := a.Token
		gbp := func(p int) map[string]any { return map[string]any{"amount": p, "currency": "GBP"} }
		tax := s.call("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Hot food",
			"rates": map[string]int{"dine_in": 2000, "takeaway": 2000, "delivery": 2000}}).json(t)["id"].(string)
		cat := s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "Mains"}).json(t)["id"].(string)
		fish := s.call("POST", "/api/v1/items", tok, map[string]any{"name": "Fish", "category_id": cat, "tax_category_id": tax,
			"variants": []map[string]any{{"name": "R", "price": gbp(1450)}}}).json(t)
		fishID := fish["id"].(string)
		variant := fish["variants"].([]any)[0].(map[string]any)["id"].(string)
		menuPath := "/api/v1/locations/" + a.LocationID + "/menu"
		etag := s.call("GET", menuPath, tok, nil).Header.Get("ETag")
		ws := dial(t, s, tok, "")

		kitchen := tokenWithRole(t, cfg, a, "kitchen")
		path := "/api/v1/locations/" + a.LocationID + "/availability/" + fishID
		r := s.call("PUT", path, kitchen, map[string]any{"version": 0, "unavailable": true, "reason": "sold out",
			"price_overrides": map[string]any{variant: gbp(1500)}})
		if r.Status != 200 || r.json(t)["version"] != float64(1) {
			t.Fatalf("86: %d %s", r.Status, r.Body)
		}
		for e := next(t, ws); ; e = next(t, ws) {
			if e.Type == "availability.updated" {
				if e.SubjectID != fishID || e.LocationID != a.LocationID {
					t.Fatalf("event: %+v", e)
				}
				break
			}
		}
		m := s.call("GET", menuPath, tok, nil, "If-None-Match", etag)
		av := m.json(t)["availability"].(map[string]any)[fishID].(map[string]any)
		if m.Status != 200 || av["unavailable"] != true || av["reason"] != "sold out" {
			t.Fatalf("menu after 86: %d %s", m.Status, m.Body)
		}
		expectProblem(t, s.call("PUT", path, kitchen, map[string]any{"version": 0, "unavailable": false}), 409, "version_conflict")
		expectProblem(t, s.call("PUT", path, kitchen, map[string]any{"version": 1, "unavailable": true,
			"price_overrides": map[string]any{"var_01jdq3x2v8s9k7m4n5p6q7r8s9": gbp(1)}}), 422, "invalid_field", "price_overrides.var_01jdq3x2v8s9k7m4n5p6q7r8s9")
		expectProblem(t, s.call("PUT", path, tokenWithRole(t, cfg, a, "server"), map[string]any{"version": 1, "unavailable": false}), 403, "permission_denied")

		// Back by itself: 86'd until a moment from now.
		until := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339Nano)
		if r := s.call("PUT", path, kitchen, map[string]any{"version": 1, "unavailable": true, "reason": "fryer down", "until": until}); r.Status != 200 {
			t.Fatalf("86 until: %d %s", r.Status, r.Body)
		}
		if av := s.call("GET", menuPath, tok, nil).json(t)["availability"].(map[string]any)[fishID].(map[string]any); av["unavailable"] != true {
			t.Fatalf("not 86'd: %v", av)
		}
		time.Sleep(3100 * time.Millisecond)
		if av := s.call("GET", menuPath, tok, nil).json(t)["availability"].(map[string]any)[fishID].(map[string]any); av["unavailable"] != false {
			t.Fatalf("did not come back: %v", av)
		}
		b := s.signup("86-b@example.com")
		expectProblem(t, s.call("PUT", "/api/v1/locations/"+b.LocationID+"/availability/"+fishID, b.Token, map[string]any{"version": 0, "unavailable": true}),
			404, "not_found")
	})
}
