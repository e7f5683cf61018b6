package app_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fynlo/fynlo/internal/app"
)

// TestAttackerSweep reads the API's own OpenAPI document and attacks every
// operation it lists: every operation that takes an object ID is called
// with another organization's token, a staff token lacking its permission,
// a device token, no token, a tampered token and an expired one; every
// request body the sweep can build is sent with SQL metacharacters, NUL
// bytes and very long Unicode in each string field; then oversized bodies,
// slow clients and injected headers. Nothing may get through, nothing may
// crash, and no log line or error body may carry a secret.
func TestAttackerSweep(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		cfg.MaxBodyBytes = 64 << 10
		cfg.ReadHeaderTimeout, cfg.ReadTimeout = 300*time.Millisecond, time.Second
		started := time.Now()
		sw := newSweep(t, cfg)
		sw.seed()
		sw.loadSpec()
		sw.otherOrganization()
		sw.clientIDs()
		sw.staffWithoutPermission()
		sw.deviceToken()
		sw.badTokens()
		sw.metacharacters()
		sw.bodyOverLimit()
		sw.headerInjection()
		sw.slowClients()
		sw.scanForSecrets()
		t.Logf("sweep took %s", time.Since(started).Round(time.Millisecond))
	})
}

// publicOperations are the operations that take no token, each with why.
var publicOperations = map[string]string{
	"signup":                 "creates a new organization; nothing to belong to yet",
	"login":                  "exchanges a password for a token",
	"refresh":                "exchanges a refresh token (in the body) for an access token",
	"password-reset-request": "mails a reset link; answers the same whether the address exists or not",
	"password-reset-confirm": "the one-time reset token is in the body",
	"device-pair":            "the one-time pairing code is in the body",
	"webhook-stripe":         "Stripe's signature is verified before anything is parsed",
	"webhook-truelayer":      "TrueLayer's signature is verified before anything is parsed",
	"webhook-sandbox-bank":   "the sandbox bank's signature is verified before anything is parsed",
}

// internalPermissions are permissions an operation checks inside, beyond
// what its x-permission declares (the body decides which one applies).
var internalPermissions = map[string]string{
	"refund-create":          "payment.refund",
	"drawer-movement-create": "cash.paid_in_out",
}

// idKinds names which seeded object fills each path parameter, by the
// segment before it: a new endpoint with an ID of a kind the sweep does not
// know fails the test until it is added here.
var idKinds = map[string]string{
	"locations/{id}":         "loc",
	"availability/{item_id}": "itm",
	"categories/{id}":        "cat",
	"tax-categories/{id}":    "txc",
	"items/{id}":             "itm",
	"modifier-groups/{id}":   "mgp",
	"tables/{id}":            "tbl",
	"employees/{id}":         "emp",
	"roles/{id}":             "rol",
	"devices/{id}":           "dev",
	"sessions/{id}":          "ses", // /auth/sessions/{id}
	"orders/{id}":            "ord",
	"payments/{id}":          "pay",
	"tickets/{id}":           "tkt",
	"stations/{id}":          "kst",
	"cash-drawers/{id}":      "drw",
	"sessions/{session_id}":  "dss",
}

// sweepMarker is in the name of everything organization A owns, so a body
// that carries A's data to someone else is easy to spot.
const sweepMarker = "SweepA"

type sweep struct {
	t   *testing.T
	cfg app.Config
	tl  *till
	s   *server

	ids     map[string]string // kind → an object of organization A
	idsB    map[string]string // kind → an object of organization B (parents only)
	b       tenant            // organization B's owner
	bDevice string            // a device paired in organization B
	expired string            // A's owner token, genuinely signed, expired
	bodyIDs map[string]string // the objects generate names first
	spec    map[string]any
	ops     []operation

	passwords, pins []string
	errorBodies     []labelled // every error body the sweep received
	requests        int
}

type labelled struct{ label, body string }

type operation struct {
	Method, Path, ID, Permission string
	Params                       []string       // path parameters in order
	Security                     []string       // "bearer", "device"
	Body                         map[string]any // built with A's objects
	schema                       map[string]any // of the request body
}

func (o operation) String() string { return o.Method + " " + o.Path + " (" + o.ID + ")" }

func newSweep(t *testing.T, cfg app.Config) *sweep {
	tl := openTill(t, cfg)
	return &sweep{t: t, cfg: cfg, tl: tl, s: tl.s, ids: map[string]string{}, idsB: map[string]string{},
		passwords: []string{app.DemoPassword, "correct horse battery", "sweep-b-Passw0rd!"},
		pins:      []string{"1111", "2222", "3333", "4455", "9182"}}
}

// do sends a request and keeps its body when it is an error, for the scan.
func (sw *sweep) do(method, path, token string, body any, headers ...string) response {
	sw.t.Helper()
	r := sw.s.call(method, path, token, body, headers...)
	sw.requests++
	if r.Status >= 400 {
		sw.errorBodies = append(sw.errorBodies, labelled{method + " " + path, string(r.Body)})
	}
	return r
}

func (sw *sweep) created(r response, what string) map[string]any {
	sw.t.Helper()
	if r.Status != 201 && r.Status != 200 {
		sw.t.Fatalf("seed %s: %d %s", what, r.Status, r.Body)
	}
	return r.json(sw.t)
}

// seed makes at least one object of every kind in organization A, and the
// parents the sweep swaps in for organization B.
func (sw *sweep) seed() {
	t, f, tl, owner := sw.t, sw.tl.demoFloor, sw.tl, sw.tl.owner
	sw.ids["loc"] = f.loc
	sw.ids["drw"], sw.ids["dss"] = tl.drawer, tl.session
	sw.ids["txc"] = sw.created(sw.do("POST", "/api/v1/tax-categories", owner, map[string]any{"name": sweepMarker + " tax",
		"rates": map[string]int{"dine_in": 2000, "takeaway": 0, "delivery": 0}}), "tax category")["id"].(string)
	sw.ids["cat"] = sw.created(sw.do("POST", "/api/v1/categories", owner, map[string]any{"name": sweepMarker + " mains"}), "category")["id"].(string)
	sw.ids["mgp"] = sw.created(sw.do("POST", "/api/v1/modifier-groups", owner, map[string]any{"name": sweepMarker + " sides", "min_select": 0, "max_select": 1,
		"modifiers": []map[string]any{{"name": "Chips", "price": gbp(300)}}}), "modifier group")["id"].(string)
	sw.ids["itm"] = sw.created(sw.do("POST", "/api/v1/items", owner, map[string]any{"name": sweepMarker + " pie", "category_id": sw.ids["cat"], "tax_category_id": sw.ids["txc"],
		"modifier_group_ids": []string{sw.ids["mgp"]},
		"variants":           []map[string]any{{"name": "Regular", "price": gbp(1200)}}}), "item")["id"].(string)
	sw.ids["tbl"] = sw.created(sw.do("POST", "/api/v1/tables", owner, map[string]any{"location_id": f.loc, "name": sweepMarker + " T9",
		"seats": 4}), "table")["id"].(string)
	sw.ids["rol"] = sw.created(sw.do("POST", "/api/v1/roles", owner, map[string]any{"name": sweepMarker + " lead",
		"grants": []map[string]any{{"permission": "report.view"}}}), "role")["id"].(string)
	sw.ids["emp"] = sw.created(sw.do("POST", "/api/v1/employees", owner, map[string]any{"name": sweepMarker + " Sam", "pin": "9182",
		"roles": []map[string]any{{"location_id": f.loc, "role_id": "server"}}}), "employee")["id"].(string)
	sw.ids["dev"] = sw.created(sw.do("POST", "/api/v1/devices", owner, map[string]any{"location_id": f.loc, "name": sweepMarker + " iPad"}),
		"device")["device"].(map[string]any)["id"].(string)
	sessions := sw.created(sw.do("GET", "/api/v1/auth/sessions", owner, nil), "sessions")
	sw.ids["ses"] = firstID(t, sessions, "sessions")
	sw.ids["kst"] = firstID(t, sw.created(sw.do("GET", "/api/v1/kitchen/stations?location_id="+f.loc, owner, nil), "stations"), "stations")
	check := f.openCheck(t, f.tom, 2)
	sw.ids["ord"] = check["id"].(string)
	sw.ids["tkt"] = firstID(t, sw.created(sw.do("GET", "/api/v1/kitchen/tickets?location_id="+f.loc, owner, nil), "tickets"), "tickets")
	// A paid check: a payment to refund, capture, cancel.
	paidCheck := f.openCheck(t, f.tom, 1)
	p, _ := f.pay(t, f.tom, paidCheck["id"].(string), map[string]any{"method": "card", "amount": gbp(500)}, 201)
	sw.ids["pay"] = p["id"].(string)

	// Organization B: its owner, a device of its own, and the parents the
	// sweep puts in front of A's children (B's drawer with A's session).
	sw.b = sw.s.signup("sweep-b@example.com")
	sw.idsB["loc"] = sw.b.LocationID
	sw.idsB["tbl"] = sw.created(sw.do("POST", "/api/v1/tables", sw.b.Token, map[string]any{"location_id": sw.b.LocationID, "name": "B1",
		"seats": 2}), "B table")["id"].(string)
	sw.idsB["drw"] = sw.created(sw.do("POST", "/api/v1/cash-drawers", sw.b.Token, map[string]any{"location_id": sw.b.LocationID, "name": "B till"}),
		"B drawer")["id"].(string)
	sw.idsB["ord"] = sw.created(sw.do("POST", "/api/v1/orders", sw.b.Token, map[string]any{"type": "takeaway", "location_id": sw.b.LocationID}),
		"B check")["id"].(string)
	code := sw.created(sw.do("POST", "/api/v1/devices", sw.b.Token, map[string]any{"location_id": sw.b.LocationID, "name": "B iPad"}),
		"B device")["pairing_code"].(string)
	sw.bDevice = sw.created(sw.do("POST", "/api/v1/devices/pair", "", map[string]string{"code": code}), "B pairing")["device_token"].(string)

	a := tenant{Token: owner}
	sw.expired = expiredToken(t, sw.cfg, a)
}

func firstID(t *testing.T, m map[string]any, key string) string {
	t.Helper()
	for k, v := range m {
		list, ok := v.([]any)
		if !ok || (key != "" && k != key && k != "items") {
			continue
		}
		if len(list) > 0 {
			return list[0].(map[string]any)["id"].(string)
		}
	}
	t.Fatalf("no %s in %v", key, m)
	return ""
}

// loadSpec reads /openapi.json into the list of operations.
func (sw *sweep) loadSpec() {
	t := sw.t
	r := sw.do("GET", "/openapi.json", "", nil)
	if r.Status != 200 {
		t.Fatalf("/openapi.json: %d", r.Status)
	}
	if err := json.Unmarshal(r.Body, &sw.spec); err != nil {
		t.Fatal(err)
	}
	for path, item := range sw.spec["paths"].(map[string]any) {
		for method, v := range item.(map[string]any) {
			o, ok := v.(map[string]any)
			if !ok {
				continue
			}
			op := operation{Method: strings.ToUpper(method), Path: path}
			op.ID, _ = o["operationId"].(string)
			op.Permission, _ = o["x-permission"].(string)
			if sec, ok := o["security"].([]any); ok {
				for _, req := range sec {
					for name := range req.(map[string]any) {
						op.Security = append(op.Security, name)
					}
				}
			}
			for _, seg := range strings.Split(path, "/") {
				if strings.HasPrefix(seg, "{") {
					op.Params = append(op.Params, strings.Trim(seg, "{}"))
				}
			}
			if rb, ok := o["requestBody"].(map[string]any); ok {
				for ct, c := range rb["content"].(map[string]any) {
					if schema, ok := c.(map[string]any)["schema"].(map[string]any); ok && strings.Contains(ct, "json") {
						op.schema = schema
						op.Body = sw.bodyFor(op, sw.ids)
					}
				}
				if op.Body == nil {
					op.Body = map[string]any{}
				}
			}
			if len(op.Security) == 0 {
				if _, ok := publicOperations[op.ID]; !ok {
					t.Errorf("%s takes no token and is not listed as public with a reason", op)
				}
			}
			sw.ops = append(sw.ops, op)
		}
	}
	sort.Slice(sw.ops, func(i, j int) bool { return sw.ops[i].Path+sw.ops[i].Method < sw.ops[j].Path+sw.ops[j].Method })
}

// bodyFor builds op's request body naming the objects in ids (falling
// back on A's for kinds not in ids).
func (sw *sweep) bodyFor(op operation, ids map[string]string) map[string]any {
	if op.schema == nil {
		return nil
	}
	sw.bodyIDs = ids
	defer func() { sw.bodyIDs = nil }()
	b, _ := sw.generate(op.schema, "", 0).(map[string]any)
	if b == nil {
		b = map[string]any{}
	}
	return b
}

// resolve follows a schema's $ref.
func (sw *sweep) resolve(schema map[string]any) map[string]any {
	for {
		ref, ok := schema["$ref"].(string)
		if !ok {
			return schema
		}
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		schema = sw.spec["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
	}
}

// generate builds a schema-valid-ish value: required properties with
// their enum's first value, their example, or the least the schema takes;
// ID fields get A's objects, so validation passes and authorization answers.
func (sw *sweep) generate(schema map[string]any, name string, depth int) any {
	schema = sw.resolve(schema)
	if depth > 6 {
		return nil
	}
	if enum, ok := schema["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	if ex, ok := schema["examples"].([]any); ok && len(ex) > 0 {
		return ex[0]
	}
	typ, _ := schema["type"].(string)
	if types, ok := schema["type"].([]any); ok {
		for _, x := range types {
			if x != "null" {
				typ = x.(string)
			}
		}
	}
	switch typ {
	case "object":
		out := map[string]any{}
		props, _ := schema["properties"].(map[string]any)
		req, _ := schema["required"].([]any)
		for _, r := range req {
			p := r.(string)
			if ps, ok := props[p].(map[string]any); ok {
				out[p] = sw.generate(ps, p, depth+1)
			}
		}
		// A money amount wants its currency; a request that says which
		// object it is about wants that object.
		for p, ps := range props {
			if _, done := out[p]; done {
				continue
			}
			if p == "currency" || p == "amount" || (strings.HasSuffix(p, "_id") && sw.idFor(p) != "") {
				out[p] = sw.generate(ps.(map[string]any), p, depth+1)
			}
		}
		return out
	case "array":
		n := 1
		if m, ok := schema["minItems"].(float64); ok && int(m) > n {
			n = int(m)
		}
		items, _ := schema["items"].(map[string]any)
		out := []any{}
		for i := 0; i < n && items != nil; i++ {
			out = append(out, sw.generate(items, strings.TrimSuffix(name, "s"), depth+1))
		}
		return out
	case "integer", "number":
		n := 1.0
		if m, ok := schema["minimum"].(float64); ok && m > n {
			n = m
		}
		if name == "version" {
			return 1
		}
		if name == "amount" {
			return 100
		}
		return n
	case "boolean":
		return false
	case "string":
		if id := sw.idFor(name); id != "" {
			return id
		}
		switch {
		case name == "currency":
			return "GBP"
		case name == "country":
			return "GB"
		case name == "timezone":
			return "Europe/London"
		case strings.HasSuffix(name, "pin"):
			return "5739"
		case name == "email":
			return "sweep@example.com"
		case schema["format"] == "date-time":
			return time.Now().UTC().Format(time.RFC3339)
		case schema["format"] == "date":
			return time.Now().UTC().Format("2006-01-02")
		}
		s := "Sweep value"
		if m, ok := schema["minLength"].(float64); ok && int(m) > len(s) {
			s += strings.Repeat("x", int(m)-len(s))
		}
		if m, ok := schema["maxLength"].(float64); ok && int(m) < len(s) {
			s = s[:int(m)]
		}
		return s
	}
	return nil
}

// idFor is A's object for an ID field of a body, by its name.
func (sw *sweep) idFor(field string) string {
	if strings.Contains(field, "pin") {
		return "" // not an ID; see generate
	}
	kind := map[string]string{"location_id": "loc", "item_id": "itm", "category_id": "cat", "tax_category_id": "txc",
		"table_id": "tbl", "employee_id": "emp", "role_id": "rol", "order_id": "ord", "target_order_id": "ord", "payment_id": "pay",
		"drawer_id": "drw", "station_id": "kst", "modifier_group_id": "mgp"}[field]
	if id := sw.bodyIDs[kind]; id != "" {
		return id
	}
	return sw.ids[kind]
}

// fill puts objects in op's path: ids for every parameter, except that
// parents listed in swap come from swap (B's drawer in front of A's session).
func (sw *sweep) fill(op operation, ids, swap map[string]string) (string, []string, bool) {
	segs := strings.Split(op.Path, "/")
	var used []string
	swapped := false
	for i, seg := range segs {
		if !strings.HasPrefix(seg, "{") || i == 0 {
			continue
		}
		kind := idKinds[segs[i-1]+"/"+seg]
		if kind == "" {
			sw.t.Fatalf("%s: the sweep does not know which object fills %s; add it to idKinds", op, seg)
		}
		id := ids[kind]
		if b, ok := swap[kind]; ok && i < len(segs)-1 && strings.Contains(strings.Join(segs[i+1:], "/"), "{") {
			id, swapped = b, true
		}
		if id == "" {
			sw.t.Fatalf("%s: no %s object seeded", op, kind)
		}
		segs[i] = id
		used = append(used, id)
	}
	return strings.Join(segs, "/"), used, swapped
}

func (sw *sweep) withIDs() []operation {
	var out []operation
	for _, op := range sw.ops {
		if len(op.Params) > 0 && op.ID != "event-stream" {
			out = append(out, op)
		}
	}
	return out
}

// leaks reports A's data in a body answered to someone else: its marker
// names, its business, or an ID of A's the request did not name.
func (sw *sweep) leaks(body []byte, asked []string) string {
	b := string(body)
	if strings.Contains(b, sweepMarker) || strings.Contains(b, "Fynlo Arms") {
		return "a name of organization A"
	}
	for _, id := range sw.ids {
		named := false
		for _, a := range asked {
			named = named || a == id
		}
		if !named && strings.Contains(b, id) {
			return "organization A's " + id
		}
	}
	return ""
}

// otherOrganization calls every operation that takes an ID with
// organization B's owner (and, where it is allowed in, B's device): A's
// objects do not exist for them.
func (sw *sweep) otherOrganization() {
	t := sw.t
	ops := sw.withIDs()
	swept, combos := 0, 0
	for _, op := range ops {
		path, used, _ := sw.fill(op, sw.ids, nil)
		tries := []string{path}
		if len(op.Params) > 1 {
			// B's own parent in front of A's child: the child must be
			// looked up under the parent and the organization both.
			if p, _, swapped := sw.fill(op, sw.ids, sw.idsB); swapped {
				tries = append(tries, p)
				combos++
			}
		}
		body := sw.bodyFor(op, sw.idsB)
		tokens := []string{sw.b.Token}
		if contains(op.Security, "device") {
			tokens = append(tokens, sw.bDevice)
		}
		for _, p := range tries {
			for _, tok := range tokens {
				r := sw.do(op.Method, p, tok, body)
				if r.Status != 404 && r.Status != 403 {
					t.Errorf("HOLE: %s %s as organization B: %d, want 404 or 403: %.300s", op.Method, p, r.Status, r.Body)
				}
				if l := sw.leaks(r.Body, used); l != "" {
					t.Errorf("HOLE: %s %s as organization B answered with %s: %.300s", op.Method, p, l, r.Body)
				}
			}
		}
		// The control: the object is there for A (reads only: writes would
		// change what the rest of the sweep stands on).
		if op.Method == "GET" {
			if r := sw.do("GET", path, sw.tl.owner, nil); r.Status == 404 || r.Status >= 500 {
				t.Errorf("control: %s as A's owner: %d, want it found (the sweep's ID is not real): %.300s", op, r.Status, r.Body)
			}
		}
		swept++
	}
	t.Logf("other organization: %d/%d operations with object IDs swept (%d with B's parent in front of A's child), all 404/403",
		swept, len(ops), combos)
}

// clientIDs sends, as organization B, every create that lets the client
// choose the new object's ID with the ID of A's object of that kind: a
// create is an upsert for retries, and must not become a way to read,
// or write over, another organization's object.
func (sw *sweep) clientIDs() {
	t := sw.t
	prefixRE := regexp.MustCompile(`\b([a-z]{3})_ \+ ULID`)
	var probed, skipped []string
	for _, op := range sw.ops {
		if op.schema == nil || op.Method != "POST" {
			continue
		}
		props, _ := sw.resolve(op.schema)["properties"].(map[string]any)
		idProp, ok := props["id"].(map[string]any)
		if !ok {
			continue
		}
		desc, _ := idProp["description"].(string)
		m := prefixRE.FindStringSubmatch(desc)
		if m == nil || sw.ids[m[1]] == "" {
			skipped = append(skipped, op.ID)
			continue
		}
		victim := sw.ids[m[1]]
		path, _, _ := sw.fill(op, merged(sw.ids, sw.idsB), nil)
		body := sw.bodyFor(op, sw.idsB)
		body["id"] = victim
		r := sw.do(op.Method, path, sw.b.Token, body)
		// A quote stores nothing and prices what it is sent, ID and all.
		stores := op.ID != "order-quote"
		if (stores && r.Status < 300) || r.Status >= 500 {
			t.Errorf("HOLE: %s %s as organization B with A's %s as its ID: %d: %.300s", op.Method, path, victim, r.Status, r.Body)
		}
		if l := sw.leaks(r.Body, []string{victim}); l != "" {
			t.Errorf("HOLE: %s with A's %s as its ID answered B with %s: %.300s", op, victim, l, r.Body)
		}
		probed = append(probed, op.ID)
	}
	t.Logf("client-chosen IDs: %d creates given A's IDs by B, all refused (%s); not probed, no object of A's kind seeded: %s",
		len(probed), strings.Join(probed, ", "), strings.Join(skipped, ", "))
}

// merged is a with b's entries over it.
func merged(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// staffWithoutPermission calls every operation that needs a permission
// with a server of A (whose role grants none) signed in on A's iPad.
func (sw *sweep) staffWithoutPermission() {
	t, tom := sw.t, sw.tl.tom
	swept, open := 0, []string{}
	ops := sw.withIDs()
	for _, op := range sw.ops {
		perm := op.Permission
		if perm == "" {
			perm = internalPermissions[op.ID]
		}
		if perm == "" {
			if len(op.Params) > 0 && op.ID != "event-stream" {
				open = append(open, op.ID)
			}
			continue
		}
		path, _, _ := sw.fill(op, sw.ids, nil)
		body := op.Body
		if op.ID == "drawer-movement-create" {
			body = map[string]any{"kind": "paid_in", "amount": gbp(100), "reason": "float top-up"}
		}
		r := sw.do(op.Method, path, tom, body)
		if r.Status != 403 && r.Status != 404 {
			t.Errorf("HOLE: %s as a server without %s: %d, want 403: %.300s", op, perm, r.Status, r.Body)
		}
		swept++
	}
	t.Logf("staff without the permission: %d operations that need one refused; %d of %d operations with IDs need none beyond being A's staff: %s",
		swept, len(open), len(ops), strings.Join(open, ", "))
}

// deviceToken calls every operation a device may not use with A's iPad's
// own device token: a device is not a user.
func (sw *sweep) deviceToken() {
	t, n := sw.t, 0
	for _, op := range sw.ops {
		if len(op.Security) == 0 || contains(op.Security, "device") || op.ID == "event-stream" {
			continue
		}
		path, _, _ := sw.fill(op, sw.ids, nil)
		r := sw.do(op.Method, path, sw.tl.ipad1, op.Body)
		if r.Status != 401 && r.Status != 403 {
			t.Errorf("HOLE: %s with a device token: %d, want 401/403: %.300s", op, r.Status, r.Body)
		}
		n++
	}
	t.Logf("device token: %d user-only operations refused", n)
}

// badTokens calls every authenticated operation with no token, a
// malformed one, a tampered one (claims changed, signature kept), a
// forged one (another key), alg none, and an expired one.
func (sw *sweep) badTokens() {
	t := sw.t
	owner := sw.tl.owner
	parts := strings.Split(owner, ".")
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(owner, claims); err != nil {
		t.Fatal(err)
	}
	claims["org"], claims["role"] = sw.b.OrgID, "owner"
	cj, _ := json.Marshal(claims)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(cj) + "." + parts[2]
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	tokens := map[string]string{
		"tampered":   tampered,
		"forged":     forgedToken(t, tenant{Token: owner}),
		"alg none":   none,
		"expired":    sw.expired,
		"stripped":   parts[0] + "." + parts[1] + ".",
		"garbage":    "not.a.token",
		"dt_ forged": "dt_" + strings.Repeat("A", 43),
	}
	n := 0
	for _, op := range sw.ops {
		if len(op.Security) == 0 || op.ID == "event-stream" {
			continue
		}
		path, _, _ := sw.fill(op, sw.ids, nil)
		if r := sw.do(op.Method, path, "", op.Body); r.Status != 401 {
			t.Errorf("HOLE: %s with no token: %d, want 401: %.300s", op, r.Status, r.Body)
		}
		for what, tok := range tokens {
			if r := sw.do(op.Method, path, tok, op.Body); r.Status != 401 {
				t.Errorf("HOLE: %s with a %s token: %d, want 401: %.300s", op, what, r.Status, r.Body)
			}
		}
		n++
	}
	// The WebSocket too: it is upgraded only for a good token.
	for what, tok := range tokens {
		if r := sw.do("GET", "/api/v1/ws", tok, nil, "Connection", "Upgrade", "Upgrade", "websocket",
			"Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="); r.Status != 401 {
			t.Errorf("HOLE: the event stream with a %s token: %d", what, r.Status)
		}
	}
	t.Logf("bad tokens: %d authenticated operations × %d kinds of bad token (and none) refused with 401", n, len(tokens))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// nastyStrings go into every string field.
var nastyStrings = []string{
	`' OR 1=1 --`,
	`"; DROP TABLE orders; --`,
	"nul\x00byte",
	strings.Repeat("ü🍔", 5000),
	`%s%n${jndi:ldap://x}{{.}}<script>`,
	`Robert'); DELETE FROM items WHERE ('1'='1`,
}

// rateLimited operations get one nasty string per field: their buckets are
// small on purpose.
var rateLimited = map[string]bool{"signup": true, "login": true, "refresh": true, "password-reset-request": true,
	"password-reset-confirm": true, "device-pair": true, "pin-sign-in": true, "override": true}

// metacharacters sends every body the generator can build, as A's owner,
// with each nasty string in each string field in turn: a 4xx or the
// literal string stored, never a 5xx; and the database works afterwards.
func (sw *sweep) metacharacters() {
	t := sw.t
	ops, fields, sent, stored := 0, 0, 0, 0
	for _, op := range sw.ops {
		// A wrong current password counts towards locking the owner out.
		if op.Body == nil || op.ID == "password-change" {
			continue
		}
		path, _, _ := sw.fill(op, sw.ids, nil)
		token := sw.tl.owner
		if contains(op.Security, "device") && !contains(op.Security, "bearer") {
			token = sw.tl.ipad1
		}
		if len(op.Security) == 0 {
			token = ""
		}
		leaves := stringLeaves(op.Body, nil)
		if len(leaves) == 0 {
			continue
		}
		ops++
		for _, leaf := range leaves {
			fields++
			payloads := nastyStrings
			if rateLimited[op.ID] {
				payloads = []string{`' OR 1=1 --"; DROP TABLE orders; --` + "\x00"}
			}
			for _, nasty := range payloads {
				body := deepCopy(op.Body)
				setLeaf(body, leaf, nasty)
				r := sw.do(op.Method, path, token, body)
				sent++
				switch {
				case r.Status >= 500:
					t.Errorf("HOLE: %s with %s = %.40q: %d: %.300s", op, strings.Join(leaf, "."), nasty, r.Status, r.Body)
				case r.Status < 300:
					var out any
					if json.Unmarshal(r.Body, &out) == nil {
						if got, ok := getLeaf(out, leaf); ok && got != nasty {
							t.Errorf("%s stored %s = %.40q as %.40q", op, strings.Join(leaf, "."), nasty, got)
						} else if ok {
							stored++
						}
					}
				}
			}
		}
	}
	// The database still answers, reads and writes.
	if r := sw.do("GET", "/readyz", "", nil); r.Status != 200 {
		t.Errorf("after the metacharacters: /readyz %d %s", r.Status, r.Body)
	}
	for _, p := range []string{"/api/v1/orders?location_id=" + sw.ids["loc"], "/api/v1/items", "/api/v1/tables?location_id=" + sw.ids["loc"]} {
		if r := sw.do("GET", p, sw.tl.owner, nil); r.Status != 200 {
			t.Errorf("after the metacharacters: GET %s: %d %s", p, r.Status, r.Body)
		}
	}
	o := sw.tl.openCheck(t, sw.tl.tom, 1)
	if r := sw.do("GET", "/api/v1/orders/"+o["id"].(string), sw.tl.tom, nil); r.Status != 200 {
		t.Errorf("after the metacharacters: a new check cannot be read: %d", r.Status)
	}
	t.Logf("metacharacters: %d requests over %d string fields of %d operations; none 5xx, %d stored and read back literally",
		sent, fields, ops, stored)
}

func stringLeaves(v any, at []string) [][]string {
	var out [][]string
	switch x := v.(type) {
	case string:
		out = append(out, append([]string(nil), at...))
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, stringLeaves(x[k], append(at, k))...)
		}
	case []any:
		for i, e := range x {
			out = append(out, stringLeaves(e, append(at, fmt.Sprint(i)))...)
		}
	}
	return out
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func setLeaf(v any, at []string, s string) {
	for i, k := range at {
		last := i == len(at)-1
		switch x := v.(type) {
		case map[string]any:
			if last {
				x[k] = s
				return
			}
			v = x[k]
		case []any:
			var n int
			fmt.Sscan(k, &n)
			if last {
				x[n] = s
				return
			}
			v = x[n]
		}
	}
}

func getLeaf(v any, at []string) (string, bool) {
	for _, k := range at {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			var n int
			fmt.Sscan(k, &n)
			if n >= len(x) {
				return "", false
			}
			v = x[n]
		default:
			return "", false
		}
	}
	s, ok := v.(string)
	return s, ok
}

// bodyOverLimit sends bodies past FYNLO_MAX_BODY_BYTES, declared and
// chunked, authenticated and not.
func (sw *sweep) bodyOverLimit() {
	t := sw.t
	big := `{"name":"` + strings.Repeat("a", int(sw.cfg.MaxBodyBytes)) + `"}`
	for _, c := range []struct{ path, token string }{
		{"/api/v1/tables", sw.tl.owner},
		{"/api/v1/orders", sw.tl.tom},
		{"/api/v1/signup", ""},
		{"/api/v1/webhooks/stripe", ""},
		{"/api/v1/orders/" + sw.ids["ord"] + "/ops", sw.tl.tom},
	} {
		r := sw.do("POST", c.path, c.token, big)
		expectProblem(t, r, 413, "body_too_large")
		// Chunked: no Content-Length to refuse it by, so it is cut off
		// while it is read.
		req, _ := http.NewRequest("POST", sw.s.URL+c.path, io.MultiReader(strings.NewReader(big)))
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/json")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		sw.errorBodies = append(sw.errorBodies, labelled{"chunked POST " + c.path, string(b)})
		if res.StatusCode != 413 && !(c.token == "" && res.StatusCode == 401) {
			t.Errorf("HOLE: chunked body over the limit to %s: %d, want 413: %.200s", c.path, res.StatusCode, b)
		}
	}
}

// headerInjection sends control characters, CR/LF and giant values in
// headers, at the wire: nothing is reflected, nothing crashes.
func (sw *sweep) headerInjection() {
	t := sw.t
	addr := strings.TrimPrefix(sw.s.URL, "http://")
	for _, h := range []string{
		"X-Request-Id: abc\x01def",
		"X-Request-Id: abc\x7fdef",
		"X-Request-Id: " + strings.Repeat("r", 500),
		"X-Request-Id: abc\r\nSet-Cookie: evil=1",
		"X-Request-Id: abc\nSet-Cookie: evil=1",
		"X-Request-Id: abc\rSet-Cookie: evil=1",
		"Idempotency-Key: k\x00ey",
		"Fynlo-Approval: apv_\x01\x02",
		"Authorization: Bearer " + strings.Repeat("eyJ", 20000),
		"Authorization: Bearer \x00",
		"Content-Type: application/json\r\n X-Folded: yes",
		"X-Giant: " + strings.Repeat("g", 900<<10),
		"Host: evil.example\r\nX-Forwarded-Host: evil.example",
	} {
		raw := "GET /api/v1/me HTTP/1.1\r\nHost: " + addr + "\r\n" + h + "\r\nConnection: close\r\n\r\n"
		if strings.HasPrefix(h, "Host:") {
			raw = "GET /api/v1/me HTTP/1.1\r\n" + h + "\r\nConnection: close\r\n\r\n"
		}
		status, header, body := rawRequest(t, addr, raw)
		label := fmt.Sprintf("%.60q", h)
		if status == 0 || status >= 500 {
			t.Errorf("HOLE: header %s: status %d", label, status)
		}
		if header.Get("Set-Cookie") != "" || header.Get("X-Folded") != "" {
			t.Errorf("HOLE: header %s was reflected: %v", label, header)
		}
		// A line break ends a header on the wire: "abc" is then the whole of
		// the request's ID, and fine to keep; anything else is made afresh.
		if rid := header.Get("X-Request-Id"); rid != "" && rid != "abc" && !regexp.MustCompile(`^req_[0-9a-f]{24}$`).MatchString(rid) {
			t.Errorf("HOLE: header %s: X-Request-Id %q was taken from the request", label, rid)
		}
		if status >= 400 {
			sw.errorBodies = append(sw.errorBodies, labelled{"header " + label, body})
		}
	}
	// A well-formed request ID is kept (so a client can trace its calls),
	// and the server still answers.
	if r := sw.do("GET", "/api/v1/me", sw.tl.owner, nil, "X-Request-Id", "client-trace-42"); r.Status != 200 || r.Header.Get("X-Request-Id") != "client-trace-42" {
		t.Errorf("a good request ID: %d %q", r.Status, r.Header.Get("X-Request-Id"))
	}
	// Path tricks: encoded slashes, dots and NULs in IDs.
	for _, p := range []string{"/api/v1/orders/..%2f..%2fitems", "/api/v1/orders/%00", "/api/v1/orders/" + sw.ids["ord"] + "%00",
		"/api/v1/orders/' OR '1'='1", "/api/v1/items/%27%20OR%201%3D1%20--"} {
		r := sw.do("GET", strings.ReplaceAll(p, " ", "%20"), sw.tl.owner, nil)
		if r.Status != 404 && r.Status != 400 && r.Status != 422 {
			t.Errorf("HOLE: GET %s: %d %.200s", p, r.Status, r.Body)
		}
	}
}

// rawRequest writes raw to addr and reads the answer.
func rawRequest(t *testing.T, addr, raw string) (int, http.Header, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		return 0, nil, ""
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, nil, ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// slowClients runs the server as `fynlo serve` does and stalls on it: a
// client that stops half-way through its headers, or its body, is cut off
// by the server's timeouts instead of holding a connection forever.
func (sw *sweep) slowClients() {
	t := sw.t
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sw.s.app.Serve(ctx, l) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	addr := l.Addr().String()
	cutOff := func(what, raw string, limit time.Duration) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		_, _ = io.WriteString(c, raw)
		_ = c.SetReadDeadline(time.Now().Add(limit + 5*time.Second))
		first := make([]byte, 12)
		n, _ := io.ReadFull(c, first)
		answered := time.Since(start)
		b, err := io.ReadAll(c) // returns when the server closes the connection
		b = append(first[:n], b...)
		took := time.Since(start)
		_ = answered
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("HOLE: %s: the server still held the connection after %s", what, took.Round(time.Millisecond))
			return
		}
		if took > limit+2*time.Second {
			t.Errorf("%s: cut off after %s, want about %s", what, took.Round(time.Millisecond), limit)
		}
		if strings.Contains(string(b), " 500 ") || strings.Contains(string(b), " 200 ") {
			t.Errorf("%s: answered %q", what, firstLine(string(b)))
		}
		t.Logf("slow client: %s: cut off after %s (%q)", what, took.Round(time.Millisecond), firstLine(string(b)))
	}
	cutOff("headers never finished", "GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Slow: ", sw.cfg.ReadHeaderTimeout)
	body := `{"name":"slow"}`
	// huma gives each operation 5 s to read its body, from when it starts
	// reading: that deadline, not ReadTimeout, cuts a stalled body off.
	bodyLimit := max(sw.cfg.ReadTimeout, 5*time.Second)
	cutOff("body never finished", fmt.Sprintf("POST /api/v1/tables HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", sw.tl.owner, len(body)+100, body), bodyLimit)
	// Headers past the server's limit are refused outright.
	status, _, _ := rawRequest(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Giant: "+strings.Repeat("g", 200<<10)+"\r\n\r\n")
	if status != 431 {
		t.Errorf("giant headers: %d, want 431", status)
	}
	// And the server still serves.
	if st, _, _ := rawRequest(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); st != 200 {
		t.Errorf("after the slow clients: /healthz %d", st)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

// Secrets, by shape.
var (
	secretShapes = []struct {
		what string
		re   *regexp.Regexp
	}{
		{"a JWT", regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}`)},
		{"a refresh, device or approval token", regexp.MustCompile(`\b(rt|dt|apv)_[A-Za-z0-9_-]{20,}`)},
		{"a PEM private key", regexp.MustCompile(`PRIVATE KEY`)},
		{"a Stripe secret", regexp.MustCompile(`\b(sk|rk)_(test|live)_[A-Za-z0-9]{6,}|\bwhsec_[A-Za-z0-9]{6,}`)},
		{"a PIN field", regexp.MustCompile(`(?i)"(pin|new_pin|current_pin)"\s*:\s*"`)},
		{"a password field", regexp.MustCompile(`(?i)"(password|current_password|new_password)"\s*:\s*"`)},
	}
	digitRun = regexp.MustCompile(`[0-9](?:[0-9]|[ -][0-9]){12,22}`)
)

// luhn reports whether digits pass the Luhn check.
func luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// findSecret returns what in text looks like a secret, if anything.
func (sw *sweep) findSecret(text string) string {
	for _, s := range secretShapes {
		if m := s.re.FindString(text); m != "" {
			return s.what + ": " + m
		}
	}
	for _, p := range sw.passwords {
		if strings.Contains(text, p) {
			return "a password: " + p
		}
	}
	for _, p := range sw.pins {
		if strings.Contains(text, `"`+p+`"`) || regexp.MustCompile(`(?i)pin\W{0,12}`+p).MatchString(text) {
			return "a PIN: " + p
		}
	}
	for _, loc := range digitRun.FindAllStringIndex(text, -1) {
		if loc[0] > 0 && isWordByte(text[loc[0]-1]) || loc[1] < len(text) && isWordByte(text[loc[1]]) {
			continue // part of an ID, a hash or a decimal
		}
		d := strings.NewReplacer(" ", "", "-", "").Replace(text[loc[0]:loc[1]])
		if len(d) >= 13 && len(d) <= 19 && luhn(d) {
			return "a card number: " + d
		}
	}
	return ""
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// scanForSecrets sends secrets where they might be logged, then reads every
// log line and every error body the sweep produced.
func (sw *sweep) scanForSecrets() {
	t := sw.t
	// Secrets offered in the places that get logged or echoed.
	sw.do("POST", "/api/v1/auth/login", "", map[string]any{"email": app.DemoEmail, "password": "sweep-b-Passw0rd!"})
	sw.do("POST", "/api/v1/auth/pin", sw.tl.ipad1, map[string]any{"pin": "9182x"})
	sw.do("POST", "/api/v1/orders/"+sw.ids["ord"]+"/payments", sw.tl.tom, map[string]any{"method": "card", "amount": gbp(100),
		"card": map[string]any{"payment_method": "4000056655665556"}})
	sw.do("GET", "/api/v1/me?access_token="+sw.tl.owner, sw.tl.owner+"x", nil)
	sw.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": "rt_" + strings.Repeat("Z", 40)})

	for _, b := range sw.errorBodies {
		if s := sw.findSecret(b.body); s != "" {
			t.Errorf("HOLE: %s in the error body of %.80s: %.300s", s, b.label, b.body)
		}
	}
	lines := strings.Split(sw.s.logs.String(), "\n")
	for _, line := range lines {
		if s := sw.findSecret(line); s != "" {
			t.Errorf("HOLE: %s in a log line: %.300s", s, line)
		}
	}
	// The scanner itself finds what it is for.
	for _, planted := range []string{sw.tl.owner, sw.b.Refresh, sw.bDevice, "-----BEGIN PRIVATE KEY-----", "sk_test_51Abcdefg", "whsec_abcdefgh",
		`{"pin":"0000"}`, "4242 4242 4242 4242", "card 4000056655665556 declined", app.DemoPassword} {
		if sw.findSecret(planted) == "" {
			t.Errorf("the secret scan misses %.40q", planted)
		}
	}
	t.Logf("secret scan: %d error bodies and %d log lines clean; %d requests in the sweep", len(sw.errorBodies), len(lines), sw.requests)
}
