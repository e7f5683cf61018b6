package app_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/app"
)

// TestDevicePairingAndPINSignIn: a manager registers an iPad, it pairs with
// its code, staff sign in on it by PIN, wrong PINs are rationed without a
// race, and revoking the iPad stops it at once.
func TestDevicePairingAndPINSignIn(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		s := start(t, cfg)
		a := s.signup("ipad@example.com")
		addEmployee := func(name, role, pin string) string {
			r := s.call("POST", "/api/v1/employees", a.Token, map[string]any{"name": name, "pin": pin,
				"roles": []map[string]string{{"location_id": a.LocationID, "role_id": role}}})
			if r.Status != 201 {
				t.Fatalf("add %s: %d %s", name, r.Status, r.Body)
			}
			return r.json(t)["id"].(string)
		}
		manager := addEmployee("Maya", "manager", "4821")
		server := addEmployee("Sam", "server", "5930")

		reg := s.call("POST", "/api/v1/devices", a.Token, map[string]any{"location_id": a.LocationID, "name": "Bar iPad"})
		if reg.Status != 201 {
			t.Fatalf("register: %d %s", reg.Status, reg.Body)
		}
		code := reg.json(t)["pairing_code"].(string)
		expectProblem(t, s.call("POST", "/api/v1/devices", a.Token, map[string]any{"location_id": "loc_nope", "name": "X"}), 422, "invalid_field", "location_id")

		// Typed in lower case without the dash, the code still works, once.
		pair := s.call("POST", "/api/v1/devices/pair", "", map[string]string{"code": strings.ToLower(strings.ReplaceAll(code, "-", ""))})
		if pair.Status != 200 {
			t.Fatalf("pair: %d %s", pair.Status, pair.Body)
		}
		device := pair.json(t)["device_token"].(string)
		expectProblem(t, s.call("POST", "/api/v1/devices/pair", "", map[string]string{"code": code}), 401, "invalid_pairing_code")

		signIn := func(employeeID, pin string) response {
			return s.call("POST", "/api/v1/auth/pin", device, map[string]string{"employee_id": employeeID, "pin": pin})
		}
		r := signIn("", "5930")
		if r.Status != 200 || r.json(t)["role"] != "server" || r.json(t)["location_id"] != a.LocationID {
			t.Fatalf("PIN sign-in: %d %s", r.Status, r.Body)
		}
		serverToken := r.json(t)["access_token"].(string)
		expectProblem(t, s.call("GET", "/api/v1/employees", serverToken, nil), 403, "permission_denied")
		mgr := signIn(manager, "4821")
		if mgr.Status != 200 {
			t.Fatalf("manager PIN sign-in: %d %s", mgr.Status, mgr.Body)
		}
		if r := s.call("GET", "/api/v1/employees", mgr.json(t)["access_token"].(string), nil); r.Status != 200 {
			t.Fatalf("manager staff token: %d %s", r.Status, r.Body)
		}
		// The device token is no user token, and a user token signs no PIN in.
		expectProblem(t, s.call("GET", "/api/v1/employees", device, nil), 401, "unauthenticated")
		expectProblem(t, s.call("POST", "/api/v1/auth/pin", a.Token, map[string]string{"pin": "5930"}), 401, "unauthenticated")
		// The right PIN for the wrong person is just a wrong PIN.
		expectProblem(t, signIn(manager, "5930"), 401, "invalid_pin")

		// A hundred wrong PINs for Sam at once: exactly five are judged;
		// the rest are told to wait (PIN backoff) or slowed by the device's
		// request rate limit; nobody gets through by racing.
		var wg sync.WaitGroup
		codes := make([]string, 100)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := signIn(server, "0000")
				var p map[string]any
				if r.Status >= 400 {
					p = r.json(t)
				}
				codes[i], _ = p["code"].(string)
			}()
		}
		wg.Wait()
		count := map[string]int{}
		for _, c := range codes {
			count[c]++
		}
		if count["invalid_pin"] != 5 || count["pin_backoff"]+count["rate_limited"] != 95 || count["pin_backoff"] == 0 {
			t.Fatalf("outcomes = %v, want 5 invalid_pin and 95 pin_backoff or rate_limited", count)
		}
		// The flood emptied the iPad's request bucket: a token a second.
		pause := func() { time.Sleep(1100 * time.Millisecond) }
		pause()
		// Sam must now wait even with the right PIN; Maya on the same iPad need not.
		expectProblem(t, signIn(server, "5930"), 429, "pin_backoff")
		pause()
		if r := signIn(manager, "4821"); r.Status != 200 {
			t.Fatalf("Maya affected by Sam's lock: %d %s", r.Status, r.Body)
		}
		pause()
		// A manager unlocks Sam.
		if r := s.call("POST", "/api/v1/employees/"+server+"/unlock", a.Token, nil); r.Status != 204 {
			t.Fatalf("unlock: %d %s", r.Status, r.Body)
		}
		if r := signIn(server, "5930"); r.Status != 200 {
			t.Fatalf("Sam after unlock: %d %s", r.Status, r.Body)
		}

		// Sam changes his own PIN with the old one.
		pause()
		samTok := signIn(server, "5930").json(t)["access_token"].(string)
		expectProblem(t, s.call("POST", "/api/v1/me/pin", samTok, map[string]string{"old_pin": "1111", "new_pin": "6060"}), 401, "invalid_pin")
		if r := s.call("POST", "/api/v1/me/pin", samTok, map[string]string{"old_pin": "5930", "new_pin": "6060"}); r.Status != 200 {
			t.Fatalf("own PIN change: %d %s", r.Status, r.Body)
		}
		expectProblem(t, s.call("POST", "/api/v1/me/pin", a.Token, map[string]string{"old_pin": "5930", "new_pin": "6060"}), 403, "not_on_a_device")
		pause()
		if r := signIn(server, "6060"); r.Status != 200 {
			t.Fatalf("sign-in with the new PIN: %d %s", r.Status, r.Body)
		}

		// Revoking the iPad stops it on its next request.
		id := reg.json(t)["device"].(map[string]any)["id"].(string)
		if r := s.call("DELETE", "/api/v1/devices/"+id, a.Token, nil); r.Status != 200 || r.json(t)["revoked_at"] == nil {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		pause()
		expectProblem(t, signIn(server, "6060"), 401, "invalid_device_token")
		// Sessions signed in on it end too.
		expectProblem(t, s.call("GET", "/api/v1/employees", mgr.json(t)["access_token"].(string), nil), 401, "device_revoked")
		b := s.signup("ipad-b@example.com")
		expectProblem(t, s.call("DELETE", "/api/v1/devices/"+id, b.Token, nil), 404, "not_found")

		// The audit log has the sign-ins and failures, and never a PIN.
		log := string(s.call("GET", "/api/v1/audit-events?limit=1000", a.Token, nil).Body)
		for _, want := range []string{"auth.pin_sign_in", "auth.pin_failed", "device.paired", "device.revoked"} {
			if !strings.Contains(log, want) {
				t.Errorf("audit log lacks %s", want)
			}
		}
		for _, secret := range []string{`"pin"`, device, code} {
			if strings.Contains(log, secret) {
				t.Errorf("audit log contains a secret %q", secret)
			}
		}
	})
}
