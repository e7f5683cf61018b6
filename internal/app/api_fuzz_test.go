package app_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// FuzzAPI drives every operation of the OpenAPI document with fuzzed
// input: which operation (by operationId, or any other string hashed onto
// one), whose token, the path parameters, the query, extra headers and the
// body. Whatever comes in:
//   - the answer is never a 5xx;
//   - a 4xx is a problem (application/problem+json) with a code and the
//     same status;
//   - a 4xx wrote nothing: no table gained or lost a row and no versioned
//     row moved (refusalMayWrite lists the refusals that rightly do write,
//     such as a failed sign-in counted towards a lockout).
//
// Words starting with $ in the path values, query, headers and body stand
// for real objects of the fuzz tenant ($item, $order, $ver...; see
// apiFuzzInput.expand), so the seeds, one valid request per operation,
// start the fuzzer past validation. An empty path value means the
// operation's natural object ($order for /orders/{id}, ...).
func FuzzAPI(f *testing.F) {
	for _, s := range apiFuzzSeeds {
		f.Add(s.op, s.who, s.id1, s.id2, s.query, s.header, s.body)
	}
	f.Fuzz(func(t *testing.T, op string, who uint8, id1, id2, query, header, body string) {
		s := fuzzServer(t)
		k := apiFuzzKitFor(t, s)
		in := &apiFuzzInput{k: k, s: s, t: t, op: k.pick(op), who: who % 4, ids: [2]string{id1, id2}, query: query, header: header, body: body}
		in.run()
	})
}

// apiOp is one operation of the OpenAPI document.
type apiOp struct {
	ID, Method, Path string
	Params           []string // path parameters, in order
}

// apiFuzzKit is the fuzz tenant's fixtures, made once per process (and
// again after an input deleted or changed one of them).
type apiFuzzKit struct {
	ops    []apiOp
	byID   map[string]int
	db     *sql.DB
	snapSQ string
	fx     map[string]string // placeholder → value
	victim map[string]string // an account whose sessions and password the auth operations may spend
}

var (
	apiKit    *apiFuzzKit
	apiTenant tenant // FuzzAPI's own business: what it configures stays out of the other targets' way
)

// apiFuzzTrace logs every request's outcome (FYNLO_FUZZ_TRACE=1), to see
// how far the seeds get.
var apiFuzzTrace = os.Getenv("FYNLO_FUZZ_TRACE") != ""

func apiFuzzKitFor(t *testing.T, s *server) *apiFuzzKit {
	if apiKit == nil {
		k := &apiFuzzKit{byID: map[string]int{}}
		r := s.call("GET", "/openapi.json", "", nil)
		var doc struct {
			Paths map[string]map[string]struct {
				OperationID string `json:"operationId"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(r.Body, &doc); err != nil {
			t.Fatal(err)
		}
		for p, m := range doc.Paths {
			for method, o := range m {
				if o.OperationID == "event-stream" { // a WebSocket: FuzzWebSocket
					continue
				}
				op := apiOp{ID: o.OperationID, Method: strings.ToUpper(method), Path: p}
				for _, m := range regexp.MustCompile(`\{([a-z_]+)\}`).FindAllStringSubmatch(p, -1) {
					op.Params = append(op.Params, m[1])
				}
				k.ops = append(k.ops, op)
			}
		}
		sort.Slice(k.ops, func(i, j int) bool { return k.ops[i].ID < k.ops[j].ID })
		for i, o := range k.ops {
			k.byID[o.ID] = i
		}
		apiTenant = s.signup("api-fuzz@example.com")
		db, err := sql.Open("sqlite", "file:"+s.dbFile+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		k.db = db
		apiKit = k
	}
	if apiKit.fx == nil {
		apiKit.fixtures(t, s)
	}
	return apiKit
}

// pick maps any string onto an operation: its own if it names one.
func (k *apiFuzzKit) pick(op string) apiOp {
	if i, ok := k.byID[op]; ok {
		return k.ops[i]
	}
	h := fnv.New32a()
	io.WriteString(h, op)
	return k.ops[int(h.Sum32()%uint32(len(k.ops)))]
}

func (k *apiFuzzKit) fixtures(t *testing.T, s *server) {
	tok, loc := apiTenant.Token, apiTenant.LocationID
	ip := fixtureIP()
	created := func(method, path, token string, body any) map[string]any {
		t.Helper()
		r := s.call(method, path, token, body, "X-Forwarded-For", ip)
		if r.Status/100 != 2 {
			t.Fatalf("fixture %s %s: %d %s", method, path, r.Status, r.Body)
		}
		return r.json(t)
	}
	id := func(m map[string]any) string { return m["id"].(string) }
	fx := map[string]string{"$loc": loc, "$org": apiTenant.OrgID}
	fx["$tax"] = id(created("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "API food " + newSuffix(),
		"rates": map[string]int{"dine_in": 2000, "takeaway": 0, "delivery": 0}}))
	fx["$cat"] = id(created("POST", "/api/v1/categories", tok, map[string]any{"name": "API " + newSuffix()}))
	mg := created("POST", "/api/v1/modifier-groups", tok, map[string]any{"name": "Sauce " + newSuffix(), "min_select": 0, "max_select": 2,
		"pre_modifiers": []string{"no", "extra"}, "modifiers": []map[string]any{{"name": "Pepper", "price": gbp(150)}}})
	fx["$modgrp"], fx["$mod"] = id(mg), id(mg["modifiers"].([]any)[0].(map[string]any))
	it := created("POST", "/api/v1/items", tok, map[string]any{"category_id": fx["$cat"], "name": "API dish " + newSuffix(),
		"tax_category_id": fx["$tax"], "modifier_group_ids": []string{fx["$modgrp"]}, "variants": []map[string]any{{"name": "R", "price": gbp(1234)}}})
	fx["$item"], fx["$variant"] = id(it), id(it["variants"].([]any)[0].(map[string]any))
	fx["$table"] = id(created("POST", "/api/v1/tables", tok, map[string]any{"location_id": loc, "name": "T" + newSuffix(), "seats": 4}))
	fx["$role"] = id(created("POST", "/api/v1/roles", tok, map[string]any{"name": "Lead " + newSuffix(),
		"grants": []map[string]any{{"permission": "order.discount", "max_discount_bp": 1000}}}))
	emp := func(name, role, pin string) string {
		return id(created("POST", "/api/v1/employees", tok, map[string]any{"name": name, "pin": pin,
			"roles": []map[string]string{{"location_id": loc, "role_id": role}}}))
	}
	// PINs unique per fixture set: a location's PINs may not repeat.
	sfx := newSuffix()
	fx["$pin"], fx["$mgrpin"] = "5"+sfx[len(sfx)-3:], "4"+sfx[len(sfx)-3:]
	fx["$emp"] = emp("Sam "+sfx, "server", fx["$pin"])
	fx["$mgr"] = emp("Maya "+sfx, "manager", fx["$mgrpin"])
	fx["$station"] = id(created("POST", "/api/v1/kitchen/stations", tok, map[string]any{"location_id": loc, "key": "k" + sfx, "name": "Pass " + sfx, "default": true}))
	if fx["$drawer"] == "" {
		d := created("GET", "/api/v1/cash-drawers?location_id="+loc, tok, nil)
		for _, x := range d["drawers"].([]any) {
			dm := x.(map[string]any)
			if ss := created("GET", "/api/v1/cash-drawers/"+id(dm)+"/sessions", tok, nil)["sessions"].([]any); len(ss) > 0 && ss[0].(map[string]any)["status"] == "open" {
				fx["$drawer"], fx["$session"] = id(dm), id(ss[0].(map[string]any))
				break
			}
		}
	}
	if fx["$drawer"] == "" {
		fx["$drawer"] = id(created("POST", "/api/v1/cash-drawers", tok, map[string]any{"location_id": loc, "name": "API till " + sfx}))
		fx["$session"] = id(created("POST", "/api/v1/cash-drawers/"+fx["$drawer"]+"/sessions", tok, map[string]any{"float": gbp(0)}))
	}
	// Open banking offered too (the sandbox bank), for the QR codes.
	fees := created("GET", "/api/v1/locations/"+loc+"/fees", tok, nil)
	created("PUT", "/api/v1/locations/"+loc+"/fees", tok, map[string]any{"version": fees["version"], "card": fees["card"],
		"open_banking": fees["open_banking"], "platform_bp": fees["platform_bp"], "policy": "absorb",
		"offered": []string{"cash", "card", "open_banking"}})
	// Objects nothing uses, for the deletes, and a drawer with no session.
	fx["$emptycat"] = id(created("POST", "/api/v1/categories", tok, map[string]any{"name": "Empty " + sfx}))
	fx["$emptytax"] = id(created("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Empty " + sfx,
		"rates": map[string]int{"dine_in": 0, "takeaway": 0, "delivery": 0}}))
	fx["$emptymodgrp"] = id(created("POST", "/api/v1/modifier-groups", tok, map[string]any{"name": "Empty " + sfx, "min_select": 0, "max_select": 1,
		"modifiers": []map[string]any{{"name": "X", "price": gbp(0)}}}))
	fx["$drawer2"] = id(created("POST", "/api/v1/cash-drawers", tok, map[string]any{"location_id": loc, "name": "Spare till " + sfx}))
	dev := created("POST", "/api/v1/devices", tok, map[string]any{"location_id": loc, "name": "API iPad " + sfx})
	fx["$device"] = id(dev["device"].(map[string]any))
	fx["$devtoken"] = created("POST", "/api/v1/devices/pair", "", map[string]string{"code": dev["pairing_code"].(string)})["device_token"].(string)
	fx["$stafftoken"] = created("POST", "/api/v1/auth/pin", fx["$devtoken"], map[string]string{"employee_id": fx["$emp"], "pin": fx["$pin"]})["access_token"].(string)
	// A second pairing code, for device-pair to spend.
	fx["$paircode"] = created("POST", "/api/v1/devices", tok, map[string]any{"location_id": loc, "name": "Spare " + sfx})["pairing_code"].(string)
	k.fx = fx

	if k.snapSQ == "" {
		k.snapSQ = snapshotQuery(t, k.db)
	}
}

var suffixN, ipN int

// fixtureIP is a client address no fuzzed request uses.
func fixtureIP() string {
	ipN++
	return fmt.Sprintf("10.%d.%d.%d", ipN>>16&255, ipN>>8&255, ipN&255)
}

// newSuffix makes fixture names unique across rebuilds.
func newSuffix() string {
	suffixN++
	return fmt.Sprintf("%04d", suffixN)
}

// snapshotQuery builds one query that sums up the whole database: each
// table's row count and, where it has one, the total of its version column.
func snapshotQuery(t *testing.T, db *sql.DB) string {
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var parts []string
	for _, tb := range tables {
		expr := `'` + tb + `=' || count(*)`
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('` + tb + `') WHERE name = 'version'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			expr += ` || '/' || total(version)`
		}
		parts = append(parts, `(SELECT `+expr+` FROM "`+tb+`")`)
	}
	return "SELECT " + strings.Join(parts, " || ' ' || ")
}

func (k *apiFuzzKit) snapshot(t *testing.T) map[string]string {
	var s string
	if err := k.db.QueryRow(k.snapSQ).Scan(&s); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	m := map[string]string{}
	for _, f := range strings.Fields(s) {
		name, v, _ := strings.Cut(f, "=")
		m[name] = v
	}
	return m
}

// refusalMayWrite says whether a refusal may rightly write to table.
func refusalMayWrite(op string, status int, code, table string) bool {
	switch {
	case table == "audit_events" && (status == 401 || status == 403):
		return true // a denial is itself audited (audit.ActionPermissionDenied)
	}
	return false
}

// apiFuzzInput is one fuzzed request.
type apiFuzzInput struct {
	k                   *apiFuzzKit
	s                   *server
	t                   *testing.T
	op                  apiOp
	who                 uint8
	ids                 [2]string
	query, header, body string
	vars                map[string]string
	_                   struct{}
}

// victimOps spend the caller's own session or password: they run as a
// throwaway account, never as the fuzz tenant's owner.
var victimOps = map[string]bool{"login": true, "logout": true, "refresh": true, "password-change": true,
	"session-list": true, "session-revoke": true, "password-reset-request": true, "password-reset-confirm": true}

// resetOps change or remove fixtures when they succeed: the next input
// gets fresh ones.
var resetOps = map[string]bool{"own-pin-change": true, "employee-set-pin": true, "employee-update": true, "role-update": true,
	"device-revoke": true, "device-pair": true, "location-update": true, "drawer-session-close": true, "item-update": true,
	"item-availability": true, "modifier-group-update": true, "station-update": true, "tax-category-update": true, "category-update": true, "menu-batch": true}

func (in *apiFuzzInput) uses(ph ...string) bool {
	all := in.ids[0] + in.ids[1] + in.query + in.header + in.body
	for _, p := range ph {
		if strings.Contains(all, p) {
			return true
		}
	}
	return false
}

// natural is a path parameter's default object.
func (in *apiFuzzInput) natural(param string) string {
	if param == "session_id" {
		return "$session"
	}
	if param == "item_id" {
		return "$item"
	}
	seg := strings.Split(strings.TrimPrefix(in.op.Path, "/api/v1/"), "/")
	switch seg[0] {
	case "cash-drawers":
		return "$drawer"
	case "categories":
		return "$cat"
	case "devices":
		return "$device"
	case "employees":
		return "$emp"
	case "items":
		return "$item"
	case "kitchen":
		if seg[1] == "tickets" {
			return "$ticket"
		}
		return "$station"
	case "locations":
		return "$loc"
	case "modifier-groups":
		return "$modgrp"
	case "orders":
		return "$order"
	case "payments":
		return "$payment"
	case "roles":
		return "$role"
	case "tables":
		return "$table"
	case "tax-categories":
		return "$tax"
	case "auth":
		return "$sessionid"
	}
	return "x"
}

func (in *apiFuzzInput) run() {
	t, s, k := in.t, in.s, in.k
	// Fill the defaults in first, so the fresh objects they need are known.
	for i, p := range in.op.Params {
		if in.ids[i] == "" {
			in.ids[i] = in.natural(p)
		}
	}
	in.vars = map[string]string{}
	for name, v := range k.fx {
		in.vars[name] = v
	}
	tok := apiTenant.Token
	switch in.who {
	case 1:
		tok = k.fx["$devtoken"]
	case 2:
		tok = k.fx["$stafftoken"]
	case 3:
		tok = ""
	}
	if victimOps[in.op.ID] || in.uses("$email", "$password", "$refresh", "$sessionid") {
		v := in.victim()
		if v == nil {
			return // rate limited: try another input
		}
		for name, val := range v {
			in.vars[name] = val
		}
		if in.who == 0 {
			tok = v["$token"]
		}
	}
	if in.uses("$order", "$line", "$payment", "$ticket") {
		o := in.check()
		in.vars["$order"], in.vars["$line"] = o["id"].(string), rulesLineIDs(o)[0]
		if in.uses("$order2") {
			in.vars["$order2"] = in.check()["id"].(string)
		}
		if in.uses("$payment") {
			in.vars["$payment"] = in.takePayment(in.vars["$order"], map[string]any{"method": "cash", "amount": gbp(500)})
		}
		if in.uses("$ticket") {
			ver := s.call("GET", "/api/v1/orders/"+in.vars["$order"], apiTenant.Token, nil).json(t)["version"]
			r := s.call("POST", "/api/v1/orders/"+in.vars["$order"]+"/send", apiTenant.Token, map[string]any{"version": ver})
			if r.Status != 200 {
				t.Fatalf("fixture send: %d %s", r.Status, r.Body)
			}
			in.vars["$ticket"] = r.json(t)["tickets"].([]any)[0].(map[string]any)["id"].(string)
		}
	}
	// Checks and payments in the states the operations move them from.
	if in.uses("$closedorder") {
		// Paid in full, a check closes itself.
		o := in.check()
		_, _, balance, _ := paid(o)
		in.takePayment(o["id"].(string), map[string]any{"method": "cash", "amount": gbp(balance)})
		in.vars["$closedorder"] = o["id"].(string)
	}
	if in.uses("$authpayment") {
		in.vars["$authpayment"] = in.takePayment(in.check()["id"].(string), map[string]any{"method": "card", "card": map[string]any{"capture": "manual"}})
	}
	if in.uses("$bankpayment") {
		in.vars["$bankpayment"] = in.takePayment(in.check()["id"].(string), map[string]any{"method": "open_banking"})
	}
	rep := in.replacer()
	path := in.op.Path
	for i, p := range in.op.Params {
		path = strings.Replace(path, "{"+p+"}", url.PathEscape(rep.Replace(in.ids[i])), 1)
	}
	if in.uses("$ver") {
		// The version of the object the operation changes, as read now.
		in.vars["$ver"] = in.version(path)
		if in.vars["$order2"] != "" {
			in.vars["$ver2"] = in.version("/api/v1/orders/" + in.vars["$order2"])
		}
		rep = in.replacer()
	}
	target := path
	if q := rep.Replace(in.query); q != "" {
		if !requestLineSafe(q) {
			return // net/http refuses it before our code runs
		}
		target += "?" + q
	}
	var rd io.Reader
	body := rep.Replace(in.body)
	if in.body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(in.op.Method, s.URL+target, rd)
	if err != nil {
		return // not a request a client can send
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for _, line := range strings.Split(rep.Replace(in.header), "\n") {
		if name, v, ok := strings.Cut(line, ":"); ok {
			req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(v))
		}
	}
	before := k.snapshot(t)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		if strings.Contains(err.Error(), "invalid header") || strings.Contains(err.Error(), "invalid method") {
			return // the client refused to send it
		}
		t.Fatalf("%s %s: %v", in.op.Method, target, err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if apiFuzzTrace {
		t.Logf("%s → %d %.700s", in.op.ID, res.StatusCode, b)
	}
	desc := func() string {
		return in.op.ID + " " + in.op.Method + " " + target + " header " + strconvQuote(in.header) + " body " + strconvQuote(body)
	}
	if res.StatusCode >= 500 {
		t.Fatalf("%s: %d %s", desc(), res.StatusCode, b)
	}
	if res.StatusCode >= 400 {
		var p struct {
			Code   string `json:"code"`
			Status int    `json:"status"`
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s: %d with Content-Type %q: %s", desc(), res.StatusCode, ct, b)
		}
		if err := json.Unmarshal(b, &p); err != nil || p.Code == "" || p.Status != res.StatusCode {
			t.Fatalf("%s: %d with a body that is not a problem: %s", desc(), res.StatusCode, b)
		}
		after := k.snapshot(t)
		for table, v := range after {
			if before[table] != v && !refusalMayWrite(in.op.ID, res.StatusCode, p.Code, table) {
				t.Fatalf("%s: refused with %d %s, yet %s changed from %s to %s", desc(), res.StatusCode, p.Code, table, before[table], v)
			}
		}
		return
	}
	if res.StatusCode/100 == 2 {
		if victimOps[in.op.ID] && in.op.ID != "session-list" {
			k.victim = nil
		}
		if resetOps[in.op.ID] || in.op.Method == "DELETE" {
			k.fx = nil
		}
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (in *apiFuzzInput) replacer() *strings.Replacer {
	names := make([]string, 0, len(in.vars))
	for n := range in.vars {
		names = append(names, n)
	}
	// Longest first, so $order2 is not read as $order followed by 2.
	sort.Slice(names, func(i, j int) bool {
		if len(names[i]) != len(names[j]) {
			return len(names[i]) > len(names[j])
		}
		return names[i] < names[j]
	})
	var pairs []string
	for _, n := range names {
		pairs = append(pairs, n, in.vars[n])
	}
	return strings.NewReplacer(pairs...)
}

// check opens a fresh check, so no input finds one another has spent.
func (in *apiFuzzInput) check() map[string]any {
	r := in.s.call("POST", "/api/v1/orders", apiTenant.Token, map[string]any{"location_id": apiTenant.LocationID, "type": "dine_in",
		"covers": 2, "lines": []map[string]any{rulesLine(in.k.fx["$item"], 2)}})
	if r.Status != 201 {
		in.t.Fatalf("fixture check: %d %s", r.Status, r.Body)
	}
	return r.json(in.t)
}

// takePayment takes a payment on a check and returns its ID.
func (in *apiFuzzInput) takePayment(orderID string, body map[string]any) string {
	if body["method"] == "cash" {
		body["drawer_id"] = in.k.fx["$drawer"]
	}
	r := in.s.call("POST", "/api/v1/orders/"+orderID+"/payments", apiTenant.Token, body)
	if r.Status != 201 && r.Status != 202 {
		in.t.Fatalf("fixture payment %v: %d %s", body, r.Status, r.Body)
	}
	return r.json(in.t)["payment"].(map[string]any)["id"].(string)
}

// version reads the version of the object at path (or, where path is an
// action, of the object it acts on).
func (in *apiFuzzInput) version(path string) string {
	for p := path; strings.Count(p, "/") > 3; p = p[:strings.LastIndex(p, "/")] {
		r := in.s.call("GET", p, apiTenant.Token, nil)
		if r.Status != 200 {
			continue
		}
		var v struct {
			Version json.Number `json:"version"`
		}
		if json.Unmarshal(r.Body, &v) == nil && v.Version != "" {
			return v.Version.String()
		}
	}
	return "0"
}

// victim is an account of its own whose sessions and password the auth
// operations may spend; made again once spent.
func (in *apiFuzzInput) victim() map[string]string {
	k, s := in.k, in.s
	if k.victim == nil {
		suffixN++
		email := fmt.Sprintf("victim%d@example.com", suffixN)
		r := s.call("POST", "/api/v1/signup", "", map[string]string{"business_name": "Victim", "owner_name": "V", "email": email,
			"password": "correct horse battery", "country": "GB", "currency": "GBP", "timezone": "Europe/London"}, "X-Forwarded-For", fixtureIP())
		if r.Status != 201 {
			in.t.Fatalf("victim signup: %d %s", r.Status, r.Body)
		}
		m := r.json(in.t)
		k.victim = map[string]string{"$email": email, "$password": "correct horse battery",
			"$token": m["access_token"].(string), "$refresh": m["refresh_token"].(string)}
		sessions := s.call("GET", "/api/v1/auth/sessions", k.victim["$token"], nil)
		var ss struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		_ = json.Unmarshal(sessions.Body, &ss)
		if len(ss.Items) > 0 {
			k.victim["$sessionid"] = ss.Items[0].ID
		}
	}
	return k.victim
}
