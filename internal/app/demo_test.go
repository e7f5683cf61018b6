package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/app"
)

// TestDemoWalkthrough is issue 4's "done when": a new user starts the demo,
// signs in, loads the menu in one request, 86es the fish, sees the event
// on a WebSocket and the next menu reflect it, and imports a 500-row CSV
// with three bad rows, getting exactly those three reported.
func TestDemoWalkthrough(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		cfg.Demo = true
		s := start(t, cfg)
		if s.app.Demo == nil || !s.app.Demo.Seeded || !strings.Contains(s.app.Demo.String(), app.DemoEmail) {
			t.Fatalf("demo info: %+v", s.app.Demo)
		}
		login := s.call("POST", "/api/v1/auth/login", "", map[string]any{"email": app.DemoEmail, "password": app.DemoPassword})
		if login.Status != 200 {
			t.Fatalf("demo sign-in: %d %s", login.Status, login.Body)
		}
		owner := login.json(t)["access_token"].(string)
		loc := s.app.Demo.LocationID

		// The menu in one request.
		r := s.call("GET", "/api/v1/locations/"+loc+"/menu", owner, nil)
		menu := r.json(t)
		items := menu["items"].([]any)
		if r.Status != 200 || len(items) < 100 || len(menu["categories"].([]any)) < 8 || len(menu["modifier_groups"].([]any)) < 4 {
			t.Fatalf("demo menu: %d, %d items", r.Status, len(items))
		}
		fish := ""
		for _, it := range items {
			if it := it.(map[string]any); it["name"] == "Fish and chips" {
				fish = it["id"].(string)
			}
		}
		if fish == "" {
			t.Fatal("no fish and chips on the demo menu")
		}
		etag := r.Header.Get("ETag")

		// The manager signs in with her PIN on the demo iPad and 86es the fish;
		// a server may not.
		token, err := os.ReadFile(filepath.Join(cfg.DataDir, "demo-device-token"))
		if err != nil {
			t.Fatal(err)
		}
		device := strings.TrimSpace(string(token))
		pin := func(p string) string {
			r := s.call("POST", "/api/v1/auth/pin", device, map[string]any{"pin": p})
			if r.Status != 200 {
				t.Fatalf("PIN %s: %d %s", p, r.Status, r.Body)
			}
			return r.json(t)["access_token"].(string)
		}
		manager, server := pin("1111"), pin("2222")
		ws := dial(t, s, owner, "?location_id="+loc)
		eightySix := map[string]any{"version": 0, "unavailable": true, "reason": "sold out"}
		expectProblem(t, s.call("PUT", "/api/v1/locations/"+loc+"/availability/"+fish, server, eightySix), 403, "permission_denied")
		sent := time.Now()
		if r := s.call("PUT", "/api/v1/locations/"+loc+"/availability/"+fish, manager, eightySix); r.Status != 200 {
			t.Fatalf("86: %d %s", r.Status, r.Body)
		}
		for {
			e := next(t, ws)
			if e.SubjectID == fish && strings.HasPrefix(e.Type, "availability.") {
				t.Logf("86 reached the WebSocket in %v", time.Since(sent))
				break
			}
		}
		r = s.call("GET", "/api/v1/locations/"+loc+"/menu", owner, nil, "If-None-Match", etag)
		if r.Status != 200 || r.Header.Get("ETag") == etag {
			t.Fatalf("menu after the 86: %d, etag %s", r.Status, r.Header.Get("ETag"))
		}
		if a := r.json(t)["availability"].(map[string]any)[fish].(map[string]any); a["unavailable"] != true || a["reason"] != "sold out" {
			t.Fatalf("the menu does not show the 86: %v", a)
		}

		// A 500-row import with three bad rows: exactly those reported, nothing written.
		csv, bad := importFile(500)
		dir := t.TempDir()
		file := filepath.Join(dir, "menu.csv")
		if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		rep := importMenu(t, cfg, file)
		var lines []int
		for _, r := range rep.Rejected {
			lines = append(lines, r.Line)
		}
		if fmt.Sprint(lines) != fmt.Sprint(bad) || rep.Rows != 500 || rep.Result != nil {
			t.Fatalf("rejected lines %v, want %v (rows %d): %v", lines, bad, rep.Rows, rep.Rejected)
		}
		before := len(s.call("GET", "/api/v1/locations/"+loc+"/menu", owner, nil).json(t)["items"].([]any))
		if before != len(items) {
			t.Fatalf("a rejected import wrote items: %d → %d", len(items), before)
		}

		// Without the bad rows it goes in whole, and the running server's
		// menu shows it within about a second, though another process wrote it.
		good := dropLines(csv, bad)
		if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
			t.Fatal(err)
		}
		rep = importMenu(t, cfg, file)
		if len(rep.Rejected) != 0 || rep.Result == nil || rep.Rows != 497 {
			t.Fatalf("clean import: %+v", rep)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := len(s.call("GET", "/api/v1/locations/"+loc+"/menu", owner, nil).json(t)["items"].([]any))
			if n > before {
				if n != before+rep.Result.Created-2 { // the file's two new categories
					t.Fatalf("menu has %d items after importing, want %d", n, before+rep.Result.Created-2)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the import never showed on the running server's menu")
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The same file again writes nothing: items match by name, and are as stored.
		rep = importMenu(t, cfg, file)
		if rep.Result == nil || rep.Result.Created != 0 || rep.Result.Updated != 0 || rep.Result.Unchanged != 250 {
			t.Fatalf("re-import wrote: created %d, updated %d, unchanged %d", rep.Result.Created, rep.Result.Updated, rep.Result.Unchanged)
		}

		// Starting the demo again seeds nothing twice.
		ws.CloseNow()
		s.stop()
		again := start(t, cfg)
		if again.app.Demo.Seeded {
			t.Fatal("the demo was seeded twice")
		}
		if r := again.call("POST", "/api/v1/auth/login", "", map[string]any{"email": app.DemoEmail, "password": app.DemoPassword}); r.Status != 200 {
			t.Fatalf("second start sign-in: %d", r.Status)
		}
	})
}

func importMenu(t *testing.T, cfg app.Config, file string) *app.ImportReport {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := app.ImportMenu(context.Background(), cfg, f, app.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// importFile is a 500-row menu for the demo's tax categories, with three
// bad rows (a negative price, an unknown allergen, a barcode used twice);
// it returns the file and the bad rows' line numbers.
func importFile(rows int) (string, []int) {
	var b strings.Builder
	b.WriteString("category,item,variant,price,tax_category,allergens,barcodes,kitchen_station,course\n")
	var bad []int
	for i := 0; i < rows; i++ {
		line := i + 2
		cat, name, variant, price, allergens, barcode := "Imported starters", fmt.Sprintf("Dish %03d", i/2), "Small", "6.50", "milk", ""
		if i%2 == 1 {
			variant, price = "Large", "9.00"
		}
		if i >= 250 {
			cat = "Imported mains"
		}
		barcode = fmt.Sprintf("77%011d", i)
		switch i {
		case 40:
			price, bad = "-1.00", append(bad, line)
		case 211:
			allergens, bad = "milk|nightshade", append(bad, line)
		case 377:
			barcode, bad = fmt.Sprintf("77%011d", 12), append(bad, line)
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,Hot food,%s,%s,grill,2\n", cat, name, variant, price, allergens, barcode)
	}
	return b.String(), bad
}

func dropLines(csv string, lines []int) string {
	all := strings.Split(csv, "\n")
	var out []string
	for i, l := range all {
		drop := false
		for _, n := range lines {
			drop = drop || i+1 == n
		}
		if !drop {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
