package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"github.com/fynlo/fynlo/internal/app"
)

// TestLocationCheckSettings covers what a location tells the order engine
// about its checks: the service charge, tip presets and tax rounding.
func TestLocationCheckSettings(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("owner@checks.example")
		tok := a.Token
		path := "/api/v1/locations/"

		// A location made without them has the defaults.
		def := s.call("GET", path+a.LocationID, tok, nil).json(t)
		expectCheckSettings(t, "signup location", def, 0, 0, true, "[500 1000 2000]", "per_check")
		plain := s.call("POST", "/api/v1/locations", tok, map[string]any{"name": "Plain"})
		if plain.Status != http.StatusCreated {
			t.Fatalf("create plain: %d %s", plain.Status, plain.Body)
		}
		expectCheckSettings(t, "plain location", plain.json(t), 0, 0, true, "[500 1000 2000]", "per_check")

		// Made with them.
		body := map[string]any{"name": "Dishoom Kensington", "service_charge_bp": 1250, "service_charge_min_covers": 6,
			"gratuity_enabled": false, "gratuity_presets_bp": []int{1000, 1250, 1500}, "tax_rounding": "per_line"}
		created := s.call("POST", "/api/v1/locations", tok, body)
		if created.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", created.Status, created.Body)
		}
		loc := created.json(t)
		locID := loc["id"].(string)
		expectCheckSettings(t, "created", loc, 1250, 6, false, "[1000 1250 1500]", "per_line")
		if got := s.call("GET", path+locID, tok, nil); !bytes.Equal(got.Body, created.Body) {
			t.Fatalf("GET after POST differs:\n%s\n%s", got.Body, created.Body)
		}

		// Changed with PATCH and the version.
		upd := s.call("PATCH", path+locID, tok, map[string]any{"version": 1, "service_charge_bp": 1000, "service_charge_min_covers": 0,
			"gratuity_enabled": true, "gratuity_presets_bp": []int{500, 1000, 1500, 2000, 2500}, "tax_rounding": "per_check"})
		if upd.Status != http.StatusOK || upd.json(t)["version"] != float64(2) {
			t.Fatalf("patch: %d %s", upd.Status, upd.Body)
		}
		expectCheckSettings(t, "patched", upd.json(t), 1000, 0, true, "[500 1000 1500 2000 2500]", "per_check")
		// A patch of one setting leaves the others.
		upd = s.call("PATCH", path+locID, tok, map[string]any{"version": 2, "service_charge_bp": 0})
		if upd.Status != http.StatusOK {
			t.Fatalf("patch one: %d %s", upd.Status, upd.Body)
		}
		expectCheckSettings(t, "patched one", upd.json(t), 0, 0, true, "[500 1000 1500 2000 2500]", "per_check")
		// A stale version gets the current settings back.
		stale := expectProblem(t, s.call("PATCH", path+locID, tok, map[string]any{"version": 1, "tax_rounding": "per_line"}), 409, "version_conflict")
		cur, _ := stale["current"].(map[string]any)
		expectCheckSettings(t, "409 current", cur, 0, 0, true, "[500 1000 1500 2000 2500]", "per_check")

		// Bad values are refused naming the field, on create and on patch.
		bad := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"presets not ascending", map[string]any{"gratuity_presets_bp": []int{1000, 500}}, "gratuity_presets_bp"},
			{"presets repeated", map[string]any{"gratuity_presets_bp": []int{1000, 1000}}, "gratuity_presets_bp"},
			{"preset zero", map[string]any{"gratuity_presets_bp": []int{0, 1000}}, "gratuity_presets_bp"},
			{"preset above 100%", map[string]any{"gratuity_presets_bp": []int{500, 10001}}, "gratuity_presets_bp"},
			{"no presets", map[string]any{"gratuity_presets_bp": []int{}}, "gratuity_presets_bp"},
			{"six presets", map[string]any{"gratuity_presets_bp": []int{100, 200, 300, 400, 500, 600}}, "gratuity_presets_bp"},
			{"rate above 100%", map[string]any{"service_charge_bp": 10001}, "service_charge_bp"},
			{"negative rate", map[string]any{"service_charge_bp": -5}, "service_charge_bp"},
			{"covers above 100", map[string]any{"service_charge_min_covers": 101}, "service_charge_min_covers"},
			{"bad rounding", map[string]any{"tax_rounding": "per_item"}, "tax_rounding"},
			{"gratuity not a bool", map[string]any{"gratuity_enabled": "yes"}, "gratuity_enabled"},
		}
		for _, c := range bad {
			t.Run(c.name, func(t *testing.T) {
				create := map[string]any{"name": "Bad " + c.name}
				patch := map[string]any{"version": 3}
				for k, v := range c.body {
					create[k], patch[k] = v, v
				}
				expectProblem(t, s.call("POST", "/api/v1/locations", tok, create), 422, "invalid_field", c.field)
				expectProblem(t, s.call("PATCH", path+locID, tok, patch), 422, "invalid_field", c.field)
			})
		}
		if got := s.call("GET", path+locID, tok, nil); !bytes.Equal(got.Body, upd.Body) {
			t.Fatalf("refused patches changed the location:\n%s\n%s", got.Body, upd.Body)
		}
		if n := len(s.call("GET", "/api/v1/locations", tok, nil).json(t)["items"].([]any)); n != 3 {
			t.Fatalf("locations = %d, want 3: a refused create made one", n)
		}

		// The API reference documents the settings and their limits.
		spec := s.call("GET", "/openapi.json", "", nil).json(t)
		props := spec["components"].(map[string]any)["schemas"].(map[string]any)["Location"].(map[string]any)["properties"].(map[string]any)
		for field, max := range map[string]float64{"service_charge_bp": 10000, "service_charge_min_covers": 100} {
			if p, _ := props[field].(map[string]any); p == nil || p["maximum"] != max || p["description"] == nil {
				t.Errorf("openapi Location.%s = %v", field, props[field])
			}
		}
		for _, field := range []string{"gratuity_enabled", "gratuity_presets_bp", "tax_rounding"} {
			if p, _ := props[field].(map[string]any); p == nil || p["description"] == nil {
				t.Errorf("openapi Location.%s = %v", field, props[field])
			}
		}
	})
}

func expectCheckSettings(t *testing.T, what string, l map[string]any, charge, minCovers int, gratuity bool, presets, rounding string) {
	t.Helper()
	if l["service_charge_bp"] != float64(charge) || l["service_charge_min_covers"] != float64(minCovers) ||
		l["gratuity_enabled"] != gratuity || fmt.Sprint(l["gratuity_presets_bp"]) != presets || l["tax_rounding"] != rounding {
		t.Fatalf("%s: check settings = service_charge_bp %v, service_charge_min_covers %v, gratuity_enabled %v, gratuity_presets_bp %v, tax_rounding %v;"+
			" want %d, %d, %v, %s, %s", what, l["service_charge_bp"], l["service_charge_min_covers"], l["gratuity_enabled"],
			l["gratuity_presets_bp"], l["tax_rounding"], charge, minCovers, gratuity, presets, rounding)
	}
}
