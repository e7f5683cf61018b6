package app_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/app"
	"github.com/fynlo/fynlo/internal/auth"
)

// TestLocationIsolation closes the gap TestAttackerSweep leaves: staff
// signed in at one location of an organization acting on another
// location's objects. Organization A gets a second location with objects
// of every location-scoped kind (a table, a paired iPad, a manager with a
// PIN there only, a check sent to the kitchen and its ticket, a station, a
// cash drawer with an open session, card and cash payments, a refund);
// then, from /openapi.json, every operation that takes an object ID is
// called with location 2's objects by location 1's manager and by a member
// of staff of location 1 whose custom role grants every permission (so a
// permission is not what refuses): 404 or 403, never 2xx, and no location-2
// data in the body. Every list is asked for location 2 and for nothing in
// particular: it refuses or answers nothing of location 2. Every write that
// names location 2's objects in its body is refused. Location 2's objects
// are unchanged afterwards.
func TestLocationIsolation(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		started := time.Now()
		sw := newSweep(t, cfg)
		sw.seed()
		sw.loadSpec()
		x := newLocationSweep(sw)
		before := x.snapshot()
		x.objects()
		x.bodies()
		x.lists()
		x.unchanged(before)
		t.Logf("location sweep took %s, %d requests", time.Since(started).Round(time.Millisecond), sw.requests)
	})
}

// locationMarker is in the name of everything location 2 owns.
const locationMarker = "SweepL2"

// orgWideKinds are the kinds of object an organization shares between its
// locations: a location's staff use them all (the menu, the roles).
var orgWideKinds = map[string]string{
	"itm": "the menu is the organization's; availability is per location and is swept by its location ID",
	"cat": "the menu is the organization's",
	"txc": "tax categories are the organization's",
	"mgp": "modifier groups are the organization's",
	"rol": "roles are the organization's",
	"ses": "a sign-in session is the user's, not a location's (swept as another user's by TestAttackerSweep)",
}

type locationSweep struct {
	*sweep
	ids2    map[string]string // kind → location 2's object (org-wide kinds: A's)
	own2    map[string]bool   // every ID location 2 owns
	lee     string            // a manager of location 2, on location 2's iPad
	maya    string            // a manager of location 1, on location 1's iPad
	chief   string            // staff of location 1 only, with every permission there
	dev2tok string
}

// staff1 are location 1's staff tokens the sweep acts with.
func (x *locationSweep) staff1() []string { return []string{x.chief, x.maya} }

func newLocationSweep(sw *sweep) *locationSweep {
	t, owner, f := sw.t, sw.tl.owner, sw.tl.demoFloor
	x := &locationSweep{sweep: sw, ids2: map[string]string{}, own2: map[string]bool{}, maya: f.maya}
	keep := func(kind, id string) string {
		if kind != "" {
			x.ids2[kind] = id
		}
		x.own2[id] = true
		return id
	}
	loc2 := keep("loc", sw.created(sw.do("POST", "/api/v1/locations", owner, map[string]any{"name": locationMarker + " Soho"}), "location 2")["id"].(string))
	keep("tbl", sw.created(sw.do("POST", "/api/v1/tables", owner, map[string]any{"location_id": loc2, "name": locationMarker + " T1", "seats": 4}),
		"location 2 table")["id"].(string))
	dev := sw.created(sw.do("POST", "/api/v1/devices", owner, map[string]any{"location_id": loc2, "name": locationMarker + " iPad"}), "location 2 device")
	keep("dev", dev["device"].(map[string]any)["id"].(string))
	x.dev2tok = sw.created(sw.do("POST", "/api/v1/devices/pair", "", map[string]string{"code": dev["pairing_code"].(string)}),
		"location 2 pairing")["device_token"].(string)
	keep("emp", sw.created(sw.do("POST", "/api/v1/employees", owner, map[string]any{"name": locationMarker + " Lee", "pin": "6071",
		"roles": []map[string]any{{"location_id": loc2, "role_id": "manager"}}}), "location 2 manager")["id"].(string))
	sw.pins = append(sw.pins, "6071", "6072")
	// Location 1's chief: a custom role with every permission, at location 1 only.
	var grants []map[string]any
	for _, perm := range auth.Permissions {
		g := map[string]any{"permission": perm}
		if perm == auth.PermOrderDiscount {
			g["max_discount_bp"] = 10000
		}
		grants = append(grants, g)
	}
	all := sw.created(sw.do("POST", "/api/v1/roles", owner, map[string]any{"name": "Chief", "grants": grants}), "all-permissions role")["id"].(string)
	sw.created(sw.do("POST", "/api/v1/employees", owner, map[string]any{"name": "Chief One", "pin": "6072",
		"roles": []map[string]any{{"location_id": f.loc, "role_id": all}}}), "location 1 chief")
	x.chief = f.pinOnFirstIPad(t, "6072")
	x.lee = sw.created(sw.do("POST", "/api/v1/auth/pin", x.dev2tok, map[string]any{"pin": "6071"}), "location 2 PIN sign-in")["access_token"].(string)

	// The kitchen: location 2's own station (made if the location came without one).
	stations := sw.created(sw.do("GET", "/api/v1/kitchen/stations?location_id="+loc2, owner, nil), "location 2 stations")
	if l, _ := stations["stations"].([]any); len(l) == 0 {
		sw.created(sw.do("POST", "/api/v1/kitchen/stations", owner, map[string]any{"location_id": loc2, "key": "grill",
			"name": locationMarker + " grill", "default": true}), "location 2 station")
		stations = sw.created(sw.do("GET", "/api/v1/kitchen/stations?location_id="+loc2, owner, nil), "location 2 stations")
	}
	for _, s := range stations["stations"].([]any) {
		keep("kst", s.(map[string]any)["id"].(string))
	}

	// A check sent to the kitchen, at a table, with lines.
	check := func(n int, table string) map[string]any {
		var lines []map[string]any
		for i := 0; i < n; i++ {
			it, v := f.item(t, []string{"grill", "bar"}[i%2], i/2)
			lines = append(lines, map[string]any{"item_id": it, "variant_id": v, "quantity": 1})
		}
		body := map[string]any{"type": "dine_in", "covers": 2, "lines": lines, "send": true, "location_id": loc2}
		if table != "" {
			body["table_id"] = table
		}
		o := sw.created(sw.do("POST", "/api/v1/orders", x.lee, body), "location 2 check")
		keep("", o["id"].(string))
		for _, l := range o["lines"].([]any) {
			keep("", l.(map[string]any)["id"].(string))
		}
		return o
	}
	keep("ord", check(3, x.ids2["tbl"])["id"].(string))
	tickets := sw.created(sw.do("GET", "/api/v1/kitchen/tickets?location_id="+loc2, owner, nil), "location 2 tickets")
	keep("tkt", firstID(t, tickets, "tickets"))
	for _, tk := range tickets["tickets"].([]any) {
		keep("", tk.(map[string]any)["id"].(string))
	}

	// The till: a drawer, a session opened by location 2's manager.
	keep("drw", sw.created(sw.do("POST", "/api/v1/cash-drawers", owner, map[string]any{"location_id": loc2, "name": locationMarker + " till"}),
		"location 2 drawer")["id"].(string))
	keep("dss", sw.created(sw.do("POST", "/api/v1/cash-drawers/"+x.ids2["drw"]+"/sessions", x.lee, map[string]any{"float": gbp(5000)}),
		"location 2 drawer session")["id"].(string))

	// Payments: card on one check (refunded in part), cash on another.
	paid := check(2, "")
	p, _ := f.pay(t, x.lee, paid["id"].(string), map[string]any{"method": "card", "amount": gbp(600)}, 201)
	keep("pay", p["id"].(string))
	cash, _ := f.pay(t, x.lee, paid["id"].(string), map[string]any{"method": "cash", "amount": gbp(100)}, 201)
	keep("", cash["id"].(string))
	rf := sw.created(sw.do("POST", "/api/v1/payments/"+x.ids2["pay"]+"/refunds", x.lee, map[string]any{"amount": gbp(100),
		"reason": locationMarker + " cold pie"}), "location 2 refund")
	if r, ok := rf["refund"].(map[string]any); ok {
		keep("", r["id"].(string))
	} else if id, ok := rf["id"].(string); ok {
		keep("", id)
	}
	for kind, id := range sw.ids {
		if _, ok := x.ids2[kind]; !ok {
			x.ids2[kind] = id
		}
	}
	return x
}

// leaks2 reports location 2's data in a body answered to location 1: its
// marker names, or an ID of location 2's the request did not name.
func (x *locationSweep) leaks2(body []byte, asked []string) string {
	b := string(body)
	if strings.Contains(b, locationMarker) {
		return "a name of location 2"
	}
	for id := range x.own2 {
		if !contains(asked, id) && strings.Contains(b, id) {
			return "location 2's " + id
		}
	}
	return ""
}

// objects calls every operation that takes an object ID with location 2's
// objects, as location 1's manager (and, where a device may call it,
// location 1's iPad).
func (x *locationSweep) objects() {
	t := x.t
	ops := x.withIDs()
	swept, skipped := 0, []string{}
	for _, op := range ops {
		path, used, _ := x.fill(op, x.ids2, nil)
		atLoc2 := false
		for _, id := range used {
			atLoc2 = atLoc2 || x.own2[id]
		}
		if !atLoc2 {
			// Only organization-wide objects: each kind must say why.
			segs := strings.Split(op.Path, "/")
			for i, seg := range segs {
				if kind := idKinds[segs[max(i-1, 0)]+"/"+seg]; strings.HasPrefix(seg, "{") && orgWideKinds[kind] == "" {
					t.Errorf("%s: no location-2 object of kind %q is seeded, and it is not listed in orgWideKinds", op, kind)
				}
			}
			skipped = append(skipped, op.ID)
			continue
		}
		body := x.bodyFor(op, x.ids2)
		if op.ID == "drawer-movement-create" {
			body = map[string]any{"kind": "paid_in", "amount": gbp(100), "reason": "float top-up"}
		}
		tokens := x.staff1()
		if contains(op.Security, "device") {
			tokens = append(tokens, x.tl.ipad1)
		}
		for _, tok := range tokens {
			r := x.do(op.Method, path, tok, body)
			if r.Status != 404 && r.Status != 403 {
				t.Errorf("HOLE: %s %s as location 1's staff: %d, want 404 or 403: %.300s", op.Method, path, r.Status, r.Body)
			}
			if l := x.leaks2(r.Body, used); l != "" {
				t.Errorf("HOLE: %s %s as location 1's staff answered with %s: %.300s", op.Method, path, l, r.Body)
			}
		}
		// The control: location 2's own manager finds it (reads only).
		if op.Method == "GET" {
			if r := x.do("GET", path, x.lee, nil); r.Status == 404 || r.Status == 403 || r.Status >= 500 {
				t.Errorf("control: %s as location 2's manager: %d, want it found: %.300s", op, r.Status, r.Body)
			}
		}
		swept++
	}
	sort.Strings(skipped)
	t.Logf("other location: %d/%d operations with object IDs swept with location 2's objects, all 404/403; "+
		"%d take only organization-wide objects: %s", swept, len(ops), len(skipped), strings.Join(skipped, ", "))
}

// bodies sends every write without an ID in its path whose body names an
// object, naming location 2's objects, as location 1's manager.
func (x *locationSweep) bodies() {
	t := x.t
	n := 0
	for _, op := range x.ops {
		if len(op.Params) > 0 || op.schema == nil || len(op.Security) == 0 || rateLimited[op.ID] {
			continue
		}
		body := x.bodyFor(op, x.ids2)
		if x.leaks2(mustJSON(t, body), nil) == "" {
			continue // names nothing of location 2
		}
		for _, tok := range x.staff1() {
			r := x.do(op.Method, op.Path, tok, body)
			if r.Status < 300 || r.Status >= 500 {
				t.Errorf("HOLE: %s naming location 2's objects, as location 1's staff: %d: %.300s", op, r.Status, r.Body)
			}
			if l := x.leaks2(r.Body, nil); l != "" && r.Status < 300 {
				t.Errorf("HOLE: %s naming location 2's objects answered location 1's staff with %s: %.300s", op, l, r.Body)
			}
		}
		n++
	}
	t.Logf("bodies: %d writes naming location 2's objects in their body refused", n)
}

// listFilters name, for a query parameter, the kind of location 2's object
// it is given ("" for filters by organization-wide objects).
var listFilters = map[string]string{"location_id": "loc", "order_id": "ord", "payment_id": "pay", "table_id": "tbl",
	"drawer_id": "drw", "station_id": "kst", "employee_id": "emp", "device_id": "dev", "session_id": "dss", "ticket_id": "tkt",
	"drawer_session_id": "dss", "actor_id": "emp", "subject_id": "ord", "category_id": "", "organization_id": ""}

// lists asks every list (a GET without an ID in its path) as location 1's
// staff: with no filter, and with each of its filters that takes an object
// ID given location 2's object.
func (x *locationSweep) lists() {
	t := x.t
	n, refused, filters := 0, 0, 0
	for _, op := range x.ops {
		if op.Method != "GET" || len(op.Params) > 0 || len(op.Security) == 0 || op.ID == "event-stream" {
			continue
		}
		o := x.spec["paths"].(map[string]any)[op.Path].(map[string]any)["get"].(map[string]any)
		params, _ := o["parameters"].([]any)
		// The largest page, so location 2's objects are not on a later one.
		page := ""
		for _, p := range params {
			pm := x.resolve(p.(map[string]any))
			if schema, _ := pm["schema"].(map[string]any); pm["name"] == "limit" && schema != nil {
				if max, ok := schema["maximum"].(float64); ok {
					page = fmt.Sprintf("limit=%d", int(max))
				}
			}
		}
		queries := []string{"?" + page}
		for _, p := range params {
			pm := x.resolve(p.(map[string]any))
			name, _ := pm["name"].(string)
			kind, known := listFilters[name]
			if kind != "" && pm["in"] == "query" {
				queries = append(queries, "?"+name+"="+x.ids2[kind]+"&"+page)
				filters++
			} else if !known && strings.HasSuffix(name, "_id") && pm["in"] == "query" {
				t.Errorf("%s filters by %s: the sweep does not know which object fills it; add it to listFilters", op, name)
			}
		}
		for _, q := range queries {
			for _, tok := range x.staff1() {
				r := x.do("GET", op.Path+q, tok, nil)
				if r.Status >= 500 {
					t.Errorf("HOLE: GET %s%s as location 1's staff: %d: %.300s", op.Path, q, r.Status, r.Body)
				}
				if r.Status < 300 {
					if l := x.leaks2(r.Body, nil); l != "" {
						t.Errorf("HOLE: GET %s%s as location 1's staff answered with %s: %.300s", op.Path, q, l, r.Body)
					}
				} else if strings.Contains(q, "_id=") {
					refused++
				}
				n++
			}
		}
	}
	t.Logf("lists: %d asked as location 1's staff, %d filters given location 2's objects (%d answers refused), none with location 2's data",
		n, filters, refused)
}

// snapshot is what location 2's manager reads of its objects.
func (x *locationSweep) snapshot() map[string]string {
	out := map[string]string{}
	for _, p := range []string{"/api/v1/orders/" + x.ids2["ord"], "/api/v1/payments/" + x.ids2["pay"],
		"/api/v1/cash-drawers/" + x.ids2["drw"] + "/sessions/" + x.ids2["dss"], "/api/v1/tables/" + x.ids2["tbl"],
		"/api/v1/kitchen/tickets/" + x.ids2["tkt"], "/api/v1/locations/" + x.ids2["loc"]} {
		r := x.do("GET", p, x.lee, nil)
		if r.Status != 200 {
			x.t.Fatalf("snapshot GET %s as location 2's manager: %d %s", p, r.Status, r.Body)
		}
		out[p] = string(r.Body)
	}
	return out
}

// unchanged checks the sweep's writes changed nothing of location 2.
func (x *locationSweep) unchanged(before map[string]string) {
	for p, b := range x.snapshot() {
		if b != before[p] {
			x.t.Errorf("HOLE: location 1's staff changed %s:\nbefore %.400s\nafter  %.400s", p, before[p], b)
		}
	}
}
