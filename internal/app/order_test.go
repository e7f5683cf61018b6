package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fynlo/fynlo/internal/app"
)

// demoFloor is a demo server with an owner, two paired iPads and staff
// signed in on them.
type demoFloor struct {
	s          *server
	owner, loc string
	tom, aisha string // servers, on two iPads
	maya       string // the manager, on the first iPad
	ipad1      string // the first iPad's device token
	menu       map[string]any
}

func startDemoFloor(t *testing.T, cfg app.Config) *demoFloor {
	t.Helper()
	cfg.Demo = true
	s := start(t, cfg)
	login := s.call("POST", "/api/v1/auth/login", "", map[string]any{"email": app.DemoEmail, "password": app.DemoPassword})
	if login.Status != 200 {
		t.Fatalf("demo sign-in: %d %s", login.Status, login.Body)
	}
	f := &demoFloor{s: s, owner: login.json(t)["access_token"].(string), loc: s.app.Demo.LocationID}
	token, err := os.ReadFile(filepath.Join(cfg.DataDir, "demo-device-token"))
	if err != nil {
		t.Fatal(err)
	}
	ipad1 := strings.TrimSpace(string(token))
	code := s.call("POST", "/api/v1/devices", f.owner, map[string]any{"location_id": f.loc, "name": "iPad 2"}).json(t)["pairing_code"].(string)
	ipad2 := s.call("POST", "/api/v1/devices/pair", "", map[string]string{"code": code}).json(t)["device_token"].(string)
	pin := func(device, p string) string {
		r := s.call("POST", "/api/v1/auth/pin", device, map[string]any{"pin": p})
		if r.Status != 200 {
			t.Fatalf("PIN %s: %d %s", p, r.Status, r.Body)
		}
		return r.json(t)["access_token"].(string)
	}
	f.maya, f.tom, f.aisha = pin(ipad1, "1111"), pin(ipad1, "2222"), pin(ipad2, "3333")
	f.ipad1 = ipad1
	f.menu = s.call("GET", "/api/v1/locations/"+f.loc+"/menu", f.owner, nil).json(t)
	return f
}

// pinOnFirstIPad signs a member of staff in on the first iPad.
func (f *demoFloor) pinOnFirstIPad(t *testing.T, pin string) string {
	t.Helper()
	r := f.s.call("POST", "/api/v1/auth/pin", f.ipad1, map[string]any{"pin": pin})
	if r.Status != 200 {
		t.Fatalf("PIN %s: %d %s", pin, r.Status, r.Body)
	}
	return r.json(t)["access_token"].(string)
}

// item finds a demo item for a station that needs no modifier choice.
func (f *demoFloor) item(t *testing.T, station string, skip int) (id, variant string) {
	t.Helper()
	for _, x := range f.menu["items"].([]any) {
		it := x.(map[string]any)
		if it["kitchen_station"] != station || len(it["modifier_group_ids"].([]any)) > 0 {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		return it["id"].(string), it["variants"].([]any)[0].(map[string]any)["id"].(string)
	}
	t.Fatalf("no %s item", station)
	return "", ""
}

// post sends a JSON request from any goroutine and decodes the answer.
func post(url, token string, body any, headers ...string) (int, map[string]any, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", url, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var out map[string]any
	err = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out, err
}

func amount(m any) int64 { return int64(m.(map[string]any)["amount"].(float64)) }

// reconcile checks a check's totals add up, to the penny, from its lines.
func reconcile(t *testing.T, o map[string]any) {
	t.Helper()
	tot := o["totals"].(map[string]any)
	sub, disc, sc, tax, total := amount(tot["subtotal"]), amount(tot["discounts"]), amount(tot["service_charge"]), amount(tot["tax"]), amount(tot["total"])
	want := sub - disc + sc
	if o["tax_mode"] == "exclusive" {
		want += tax
	}
	if want != total {
		t.Errorf("subtotal %d − discounts %d + service %d (+tax %d) ≠ total %d", sub, disc, sc, tax, total)
	}
	var lines, lineTax, gross int64
	for _, x := range o["lines"].([]any) {
		p := x.(map[string]any)["price"].(map[string]any)
		lines += amount(p["total"])
		lineTax += amount(p["tax"])
		gross += amount(p["gross"])
	}
	var rates int64
	for _, x := range tot["taxes"].([]any) {
		rates += amount(x.(map[string]any)["tax"])
	}
	if lines != total || lineTax != tax || rates != tax || gross != sub {
		t.Errorf("lines' totals %d, taxes %d/%d, gross %d do not reconcile with total %d, tax %d, subtotal %d", lines, lineTax, rates, gross, total, tax, sub)
	}
	if sp, ok := o["split"].(map[string]any); ok {
		var parts int64
		for _, x := range sp["parts"].([]any) {
			parts += amount(x.(map[string]any)["amount"])
		}
		if parts != total {
			t.Errorf("split parts add up to %d, the total is %d", parts, total)
		}
	}
}

// TestCheckWalkthrough is issue 5's "done when": table 12 for four, lines
// from two iPads at once, sent to the grill and the bar, bumped, a 10%
// discount refused to a server and allowed with a manager's approval, a
// line switched to takeaway changing its VAT, the bill split by seat, and
// every total reconciled.
func TestCheckWalkthrough(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		f := startDemoFloor(t, cfg)
		s := f.s

		var table12 string
		for _, x := range s.call("GET", "/api/v1/tables?location_id="+f.loc, f.tom, nil).json(t)["tables"].([]any) {
			if tb := x.(map[string]any); tb["name"] == "12" {
				table12 = tb["id"].(string)
				if tb["status"] != "free" || tb["seats"].(float64) != 4 {
					t.Fatalf("table 12 before: %v", tb)
				}
			}
		}
		r := s.call("POST", "/api/v1/orders", f.tom, map[string]any{"type": "dine_in", "table_id": table12, "covers": 4})
		if r.Status != 201 {
			t.Fatalf("open: %d %s", r.Status, r.Body)
		}
		check := r.json(t)
		id := check["id"].(string)
		if check["number"].(float64) < 1 || check["status"] != "open" || check["server_id"] == "" {
			t.Fatalf("opened: %v", check)
		}
		if st := s.call("GET", "/api/v1/tables/"+table12, f.tom, nil).json(t)["status"]; st != "seated" {
			t.Fatalf("table 12 after opening: %v", st)
		}

		// Two iPads add at once, each sending every request twice (a
		// retry after a lost answer): every line lands exactly once.
		grill, grillVar := f.item(t, "grill", 0)
		cold, coldVar := f.item(t, "cold", 0)
		bar, barVar := f.item(t, "bar", 0)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		add := func(token, device string, seat int, itemID, variant string) {
			defer wg.Done()
			ops := []map[string]any{{"op_id": fmt.Sprintf("%s-seat%d-%s", device, seat, itemID), "type": "add_line",
				"line": map[string]any{"item_id": itemID, "variant_id": variant, "quantity": 1, "seat": seat}}}
			for try := 0; try < 2; try++ {
				status, body, err := post(s.URL+"/api/v1/orders/"+id+"/ops", token, map[string]any{"ops": ops})
				if err != nil || status != 200 {
					errs <- fmt.Errorf("%s seat %d try %d: %d %v %v", device, seat, try, status, body, err)
					return
				}
				if replayed := body["results"].([]any)[0].(map[string]any)["replayed"].(bool); replayed != (try == 1) {
					errs <- fmt.Errorf("%s seat %d try %d: replayed = %v", device, seat, try, replayed)
				}
			}
		}
		for seat := 1; seat <= 4; seat++ {
			wg.Add(2)
			food, foodVar := grill, grillVar
			if seat == 4 {
				food, foodVar = cold, coldVar
			}
			go add(f.tom, "ipad1", seat, food, foodVar)
			go add(f.aisha, "ipad2", seat, bar, barVar)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		check = s.call("GET", "/api/v1/orders/"+id, f.tom, nil).json(t)
		if n := len(check["lines"].([]any)); n != 8 {
			t.Fatalf("%d lines after two iPads added 8 (each twice)", n)
		}
		reconcile(t, check)

		// Send: a ticket each for the grill, the cold section and the bar.
		version := check["version"].(float64)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/send", f.tom, map[string]any{"version": version - 1}), 409, "version_conflict")
		r = s.call("POST", "/api/v1/orders/"+id+"/send", f.tom, map[string]any{"version": version})
		if r.Status != 200 {
			t.Fatalf("send: %d %s", r.Status, r.Body)
		}
		sent := r.json(t)
		stations := map[string]map[string]any{}
		for _, x := range sent["tickets"].([]any) {
			tk := x.(map[string]any)
			stations[tk["station"].(string)] = tk
		}
		if len(stations) != 3 || len(stations["grill"]["lines"].([]any)) != 3 || len(stations["bar"]["lines"].([]any)) != 4 {
			t.Fatalf("tickets: %s", r.Body)
		}
		check = sent["order"].(map[string]any)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/send", f.tom, map[string]any{"version": check["version"]}), 409, "nothing_to_send")

		// The grill and the bar bump theirs.
		for _, st := range []string{"grill", "bar"} {
			list := s.call("GET", "/api/v1/kitchen/tickets?station="+st, f.maya, nil).json(t)["tickets"].([]any)
			if len(list) != 1 {
				t.Fatalf("%s has %d tickets", st, len(list))
			}
			tk := list[0].(map[string]any)
			path := "/api/v1/kitchen/tickets/" + tk["id"].(string)
			if tk["allergen_alert"] == true {
				expectProblem(t, s.call("POST", path+"/bump", f.maya, map[string]any{}), 409, "allergens_not_acknowledged")
				if r := s.call("POST", path+"/acknowledge", f.maya, map[string]any{}); r.Status != 200 {
					t.Fatalf("acknowledge: %d %s", r.Status, r.Body)
				}
			}
			if r := s.call("POST", path+"/bump", f.maya, map[string]any{}); r.Status != 200 || r.json(t)["status"] != "done" {
				t.Fatalf("bump %s: %d %s", st, r.Status, r.Body)
			}
		}
		check = s.call("GET", "/api/v1/orders/"+id, f.tom, nil).json(t)
		for _, x := range check["lines"].([]any) {
			l := x.(map[string]any)
			want := "ready"
			if l["station"] == "cold" {
				want = "sent"
			}
			if l["kitchen_state"] != want {
				t.Errorf("%s line is %v, want %s", l["station"], l["kitchen_state"], want)
			}
		}

		// A 10% discount: refused to a server, allowed with Maya's approval.
		discount := map[string]any{"ops": []map[string]any{{"op_id": "disc-1", "type": "discount_check",
			"discount": map[string]any{"kind": "percent", "percent_bp": 1000, "reason": "birthday"}}}}
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/ops", f.tom, discount), 403, "discount_over_limit")
		appr := s.call("POST", "/api/v1/auth/override", f.tom, map[string]string{"pin": "1111", "permission": "order.discount", "reason": "birthday"})
		if appr.Status != 200 {
			t.Fatalf("override: %d %s", appr.Status, appr.Body)
		}
		r = s.call("POST", "/api/v1/orders/"+id+"/ops", f.tom, discount, "Fynlo-Approval", appr.json(t)["approval"].(string))
		if r.Status != 200 {
			t.Fatalf("discount with approval: %d %s", r.Status, r.Body)
		}
		check = r.json(t)["order"].(map[string]any)
		tot := check["totals"].(map[string]any)
		if sub, disc := amount(tot["subtotal"]), amount(tot["discounts"]); disc != (sub*1000+5000)/10000 {
			t.Fatalf("10%% of %d is not %d", sub, disc)
		}
		reconcile(t, check)

		// The cold dish goes home with the guest: takeaway cold food is zero-rated.
		var coldLine string
		for _, x := range check["lines"].([]any) {
			if l := x.(map[string]any); l["station"] == "cold" {
				coldLine = l["id"].(string)
			}
		}
		taxBefore := amount(tot["tax"])
		r = s.call("POST", "/api/v1/orders/"+id+"/ops", f.tom, map[string]any{"ops": []map[string]any{{"op_id": "takeaway-1",
			"type": "change_line", "line_id": coldLine, "order_type": "takeaway"}}})
		if r.Status != 200 {
			t.Fatalf("to takeaway: %d %s", r.Status, r.Body)
		}
		check = r.json(t)["order"].(map[string]any)
		tot = check["totals"].(map[string]any)
		if amount(tot["tax"]) >= taxBefore || amount(tot["total"]) != amount(check["totals"].(map[string]any)["total"]) {
			t.Fatalf("tax %d after takeaway, %d before", amount(tot["tax"]), taxBefore)
		}
		zeroRated := false
		for _, x := range tot["taxes"].([]any) {
			zeroRated = zeroRated || x.(map[string]any)["rate_bp"].(float64) == 0
		}
		if !zeroRated {
			t.Fatalf("no zero rate in %v", tot["taxes"])
		}
		reconcile(t, check)

		// Split by seat: four parts that add up to the total.
		r = s.call("POST", "/api/v1/orders/"+id+"/split", f.tom, map[string]any{"version": check["version"], "by": "seat"})
		if r.Status != 200 {
			t.Fatalf("split: %d %s", r.Status, r.Body)
		}
		check = r.json(t)
		if parts := check["split"].(map[string]any)["parts"].([]any); len(parts) != 4 {
			t.Fatalf("%d parts", len(parts))
		}
		reconcile(t, check)
		if st := s.call("GET", "/api/v1/tables/"+table12, f.tom, nil).json(t)["status"]; st != "paying" {
			t.Fatalf("table 12 after the split: %v", st)
		}

		// The stored check recomputes to what was answered.
		stored := s.call("GET", "/api/v1/orders/"+id, f.tom, nil).json(t)
		if a, b := amount(stored["totals"].(map[string]any)["total"]), amount(check["totals"].(map[string]any)["total"]); a != b {
			t.Fatalf("stored total %d, answered %d", a, b)
		}
	})
}

// TestOpenAndSend opens a check and sends it in one request, as a counter
// or a bar works, and retries it: one check, one set of tickets.
func TestOpenAndSend(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		f := startDemoFloor(t, cfg)
		s := f.s
		grill, grillVar := f.item(t, "grill", 0)
		bar, barVar := f.item(t, "bar", 0)
		body := map[string]any{"id": "ord_01jdzq3m5d6yq1b4x0kq9w2v7e", "type": "takeaway", "send": true, "lines": []map[string]any{
			{"item_id": grill, "variant_id": grillVar, "quantity": 2}, {"item_id": bar, "variant_id": barVar, "quantity": 1}}}
		r := s.call("POST", "/api/v1/orders", f.aisha, body)
		if r.Status != 201 {
			t.Fatalf("open and send: %d %s", r.Status, r.Body)
		}
		o := r.json(t)
		if o["status"] != "sent" || o["version"].(float64) != 2 {
			t.Fatalf("opened and sent: %v %v", o["status"], o["version"])
		}
		for _, x := range o["lines"].([]any) {
			if st := x.(map[string]any)["kitchen_state"]; st != "sent" {
				t.Fatalf("line %v", st)
			}
		}
		reconcile(t, o)
		if r := s.call("POST", "/api/v1/orders", f.aisha, body); r.Status != 200 || r.json(t)["version"].(float64) != 2 {
			t.Fatalf("retry: %d %s", r.Status, r.Body)
		}
		tickets := s.call("GET", "/api/v1/kitchen/tickets", f.aisha, nil).json(t)["tickets"].([]any)
		if len(tickets) != 2 {
			t.Fatalf("%d tickets after a retried open-and-send, want 2 (grill, bar)", len(tickets))
		}
	})
}

// TestServerMustBeStaff: tips follow a check's server, so it must be an
// active employee of the organization.
func TestServerMustBeStaff(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		f := startDemoFloor(t, cfg)
		s := f.s
		expectProblem(t, s.call("POST", "/api/v1/orders", f.tom, map[string]any{"type": "bar_tab", "server_id": "emp_01jdzq3m5d6yq1b4x0kq9w2v7e"}),
			422, "invalid_field", "server_id")
		other := s.signup("other-server@example.com")
		emp := s.call("POST", "/api/v1/employees", other.Token, map[string]any{"name": "Elsewhere", "pin": "4455",
			"roles": []map[string]any{{"location_id": other.LocationID, "role_id": "server"}}})
		if emp.Status != 201 {
			t.Fatalf("employee: %d %s", emp.Status, emp.Body)
		}
		expectProblem(t, s.call("POST", "/api/v1/orders", f.tom, map[string]any{"type": "bar_tab", "server_id": emp.json(t)["id"]}),
			422, "invalid_field", "server_id")
		o := s.call("POST", "/api/v1/orders", f.tom, map[string]any{"type": "bar_tab"}).json(t)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+o["id"].(string)+"/transfer", f.tom,
			map[string]any{"version": o["version"], "server_id": emp.json(t)["id"]}), 422, "invalid_field", "server_id")
	})
}
