package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fynlo/fynlo/internal/app"
)

// rulesKit is the demo floor with a small menu of its own whose rules the
// tests lean on — a required single choice, a capped optional one, food
// zero-rated when taken away — and a second business with an item of its own.
type rulesKit struct {
	*demoFloor
	category   string   // "Rules": the salad and the steak
	salad      string   // £10.00, cold food (20% eaten in, 0% taken away), course 1, names no station
	steak      string   // £25.00, hot food (20%), course 2, the grill; asks how it is cooked, and up to 2 sauces
	bread      string   // £4.00, hot food, course 0, another category, names no station
	cook       []string // the steak's cooking choices: min 1, max 1
	sauces     []string // the steak's sauces: min 0, max 2, £2.50/£3.00/£2.00
	supervisor string   // a supervisor's token: discounts up to 20% on their own
	other      tenant   // another business
	otherItem  string   // an item of the other business
}

func rulesGBP(p int) map[string]any { return map[string]any{"amount": p, "currency": "GBP"} }

func startRulesKit(t *testing.T, cfg app.Config) *rulesKit {
	t.Helper()
	f := startDemoFloor(t, cfg)
	k := &rulesKit{demoFloor: f}
	s, tok := f.s, f.owner
	idOf := func(r response, what string) string { return kdsCreated(t, r, what)["id"].(string) }
	cold := idOf(s.call("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Rules cold food",
		"rates": map[string]int{"dine_in": 2000, "takeaway": 0, "delivery": 0}}), "tax category")
	hot := idOf(s.call("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Rules hot food",
		"rates": map[string]int{"dine_in": 2000, "takeaway": 2000, "delivery": 2000}}), "tax category")
	k.category = idOf(s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "Rules"}), "category")
	bakery := idOf(s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "Rules bakery"}), "category")
	group := func(name string, min, max int, mods ...map[string]any) (string, []string) {
		g := kdsCreated(t, s.call("POST", "/api/v1/modifier-groups", tok, map[string]any{"name": name, "min_select": min,
			"max_select": max, "modifiers": mods}), "modifier group")
		var ids []string
		for _, m := range g["modifiers"].([]any) {
			ids = append(ids, m.(map[string]any)["id"].(string))
		}
		return g["id"].(string), ids
	}
	var cookGroup, sauceGroup string
	cookGroup, k.cook = group("Rules cooking", 1, 1, map[string]any{"name": "Rare", "price": rulesGBP(0)},
		map[string]any{"name": "Medium", "price": rulesGBP(0)}, map[string]any{"name": "Well done", "price": rulesGBP(0)})
	sauceGroup, k.sauces = group("Rules sauces", 0, 2, map[string]any{"name": "Peppercorn", "price": rulesGBP(250)},
		map[string]any{"name": "Béarnaise", "price": rulesGBP(300)}, map[string]any{"name": "Chimichurri", "price": rulesGBP(200)})
	item := func(body map[string]any) string { return idOf(s.call("POST", "/api/v1/items", tok, body), "item") }
	k.salad = item(map[string]any{"category_id": k.category, "name": "Rules salad", "tax_category_id": cold, "course": 1,
		"variants": []map[string]any{{"name": "Regular", "price": rulesGBP(1000)}}})
	k.steak = item(map[string]any{"category_id": k.category, "name": "Rules steak", "tax_category_id": hot, "course": 2,
		"kitchen_station": "grill", "modifier_group_ids": []string{cookGroup, sauceGroup},
		"variants": []map[string]any{{"name": "8oz", "price": rulesGBP(2500)}}})
	k.bread = item(map[string]any{"category_id": bakery, "name": "Rules bread", "tax_category_id": hot,
		"variants": []map[string]any{{"name": "Basket", "price": rulesGBP(400)}}})
	k.supervisor = tokenWithRole(t, cfg, tenant{Token: f.owner}, "supervisor")

	k.other = s.signup("rules-other@example.com")
	otherTax := idOf(s.call("POST", "/api/v1/tax-categories", k.other.Token, map[string]any{"name": "Food",
		"rates": map[string]int{"dine_in": 2000, "takeaway": 2000, "delivery": 2000}}), "tax category")
	otherCat := idOf(s.call("POST", "/api/v1/categories", k.other.Token, map[string]any{"name": "Mains"}), "category")
	k.otherItem = idOf(s.call("POST", "/api/v1/items", k.other.Token, map[string]any{"category_id": otherCat, "name": "Theirs",
		"tax_category_id": otherTax, "variants": []map[string]any{{"name": "R", "price": rulesGBP(900)}}}), "item")
	return k
}

// rulesLine is a line to order: an item, a quantity and modifier choices.
func rulesLine(item string, qty int, mods ...string) map[string]any {
	l := map[string]any{"item_id": item, "quantity": qty}
	if len(mods) > 0 {
		ms := []map[string]any{}
		for _, m := range mods {
			ms = append(ms, map[string]any{"modifier_id": m})
		}
		l["modifiers"] = ms
	}
	return l
}

// rulesAdd is an add_line operation.
func rulesAdd(opID string, line map[string]any) map[string]any {
	return map[string]any{"op_id": opID, "type": "add_line", "line": line}
}

// open opens a check, which must succeed.
func (k *rulesKit) open(t *testing.T, token string, body map[string]any) map[string]any {
	t.Helper()
	return kdsCreated(t, k.s.call("POST", "/api/v1/orders", token, body), "check")
}

// ops posts operations to a check; headers alternate name, value.
func (k *rulesKit) ops(token, id string, ops []map[string]any, headers ...string) response {
	k.s.t.Helper()
	return k.s.call("POST", "/api/v1/orders/"+id+"/ops", token, map[string]any{"ops": ops}, headers...)
}

// applied posts operations that must succeed and returns the check after.
func (k *rulesKit) applied(t *testing.T, token, id string, ops ...map[string]any) map[string]any {
	t.Helper()
	r := k.ops(token, id, ops)
	if r.Status != http.StatusOK {
		t.Fatalf("ops %v: %d %s", ops, r.Status, r.Body)
	}
	return r.json(t)["order"].(map[string]any)
}

// act posts a whole-check action that must succeed and returns the check.
func (k *rulesKit) act(t *testing.T, token, id, action string, body map[string]any) map[string]any {
	t.Helper()
	r := k.s.call("POST", "/api/v1/orders/"+id+"/"+action, token, body)
	if r.Status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", action, id, r.Status, r.Body)
	}
	return r.json(t)
}

// check reads a check as stored.
func (k *rulesKit) check(t *testing.T, id string) map[string]any {
	t.Helper()
	r := k.s.call("GET", "/api/v1/orders/"+id, k.owner, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get %s: %d %s", id, r.Status, r.Body)
	}
	return r.json(t)
}

// unchanged checks that a check reads as it did before a refused request.
func (k *rulesKit) unchanged(t *testing.T, before map[string]any) {
	t.Helper()
	after := k.check(t, before["id"].(string))
	for _, f := range []string{"version", "status", "table_id", "server_id", "type", "lines", "totals", "discount", "split", "reason"} {
		a, _ := json.Marshal(after[f])
		b, _ := json.Marshal(before[f])
		if string(a) != string(b) {
			t.Fatalf("a refused request changed the check's %s:\nbefore %s\nafter  %s", f, b, a)
		}
	}
}

// orderCount is how many checks the owner can list.
func (k *rulesKit) orderCount(t *testing.T) int {
	t.Helper()
	r := k.s.call("GET", "/api/v1/orders?limit=200", k.owner, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list orders: %d %s", r.Status, r.Body)
	}
	return len(r.json(t)["orders"].([]any))
}

// events pages through the organization's events after seq.
func (k *rulesKit) events(t *testing.T, token string, after int64) (evs []map[string]any, last int64) {
	t.Helper()
	last = after
	for {
		r := k.s.call("GET", fmt.Sprintf("/api/v1/events?after=%d&limit=1000", last), token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("events: %d %s", r.Status, r.Body)
		}
		m := r.json(t)
		for _, e := range m["events"].([]any) {
			evs = append(evs, e.(map[string]any))
		}
		last = int64(m["next_after"].(float64))
		if m["has_more"] != true {
			return evs, last
		}
	}
}

// lineIDs lists a check's line IDs in order.
func rulesLineIDs(o map[string]any) []string {
	var ids []string
	for _, x := range o["lines"].([]any) {
		ids = append(ids, x.(map[string]any)["id"].(string))
	}
	return ids
}

// rulesLineOf returns the check's line with the ID.
func rulesLineOf(t *testing.T, o map[string]any, id string) map[string]any {
	t.Helper()
	for _, x := range o["lines"].([]any) {
		if l := x.(map[string]any); l["id"] == id {
			return l
		}
	}
	t.Fatalf("no line %s on check %v", id, o["id"])
	return nil
}

func rulesTotal(o map[string]any) int64 { return amount(o["totals"].(map[string]any)["total"]) }

// TestOrderBadInputWritesNothing sends what a new user gets wrong: another
// business's item, a modifier the item does not ask for, too few or too
// many choices, a quantity of 0 or -1, an op_id twice, a line ID of another
// check. Each is refused naming the field (a taken line ID: 409), and the
// checks are as they were.
func TestOrderBadInputWritesNothing(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		s := k.s
		o := k.open(t, k.tom, map[string]any{"type": "dine_in", "covers": 2, "lines": []map[string]any{rulesLine(k.salad, 1)}})
		id := o["id"].(string)
		before := k.check(t, id)
		count := k.orderCount(t)

		// Another business's item, with the check and on it.
		expectProblem(t, s.call("POST", "/api/v1/orders", k.tom, map[string]any{"type": "dine_in",
			"lines": []map[string]any{rulesLine(k.salad, 1), rulesLine(k.otherItem, 1)}}), 422, "invalid_field", "lines[1].item_id")
		expectProblem(t, k.ops(k.tom, id, []map[string]any{rulesAdd("theirs", rulesLine(k.otherItem, 1))}), 422, "invalid_field", "ops[0].line.item_id")
		k.unchanged(t, before)

		// Modifiers: one the item does not ask for, the required choice
		// left out, two where one is allowed, three sauces where two are.
		bad := []struct {
			name  string
			line  map[string]any
			field string
		}{
			{"a modifier of no group of the item", rulesLine(k.salad, 1, k.cook[0]), "ops[0].line.modifiers[0].modifier_id"},
			{"a modifier of another item's group", rulesLine(k.steak, 1, k.cook[0], "mod_01jdq3x2v8s9k7m4n5p6q7r8s9"), "ops[0].line.modifiers[1].modifier_id"},
			{"the required choice missing", rulesLine(k.steak, 1), "ops[0].line.modifiers"},
			{"the required choice missing, a sauce given", rulesLine(k.steak, 1, k.sauces[0]), "ops[0].line.modifiers"},
			{"two cooking choices of one", rulesLine(k.steak, 1, k.cook[0], k.cook[1]), "ops[0].line.modifiers"},
			{"three sauces of two", rulesLine(k.steak, 1, k.cook[0], k.sauces[0], k.sauces[1], k.sauces[2]), "ops[0].line.modifiers"},
			{"quantity 0", rulesLine(k.salad, 0), "ops[0].line.quantity"},
			{"quantity -1", rulesLine(k.salad, -1), "ops[0].line.quantity"},
			{"quantity 1000", rulesLine(k.salad, 1000), "ops[0].line.quantity"},
		}
		for _, b := range bad {
			t.Run(strings.ReplaceAll(b.name, " ", "_"), func(t *testing.T) {
				expectProblem(t, k.ops(k.tom, id, []map[string]any{rulesAdd("bad", b.line)}), 422, "invalid_field", b.field)
				k.unchanged(t, before)
			})
		}
		for _, q := range []int{0, -1} {
			expectProblem(t, s.call("POST", "/api/v1/orders", k.tom, map[string]any{"type": "dine_in",
				"lines": []map[string]any{rulesLine(k.salad, q)}}), 422, "invalid_field", "lines[0].quantity")
			expectProblem(t, k.ops(k.tom, id, []map[string]any{{"op_id": "q", "type": "change_line", "line_id": before["lines"].([]any)[0].(map[string]any)["id"],
				"quantity": q}}), 422, "invalid_field", "ops[0].quantity")
		}
		// A good operation beside a bad one: all or none.
		expectProblem(t, k.ops(k.tom, id, []map[string]any{rulesAdd("good", rulesLine(k.salad, 1)), rulesAdd("bad", rulesLine(k.steak, 1))}),
			422, "invalid_field", "ops[1].line.modifiers")
		k.unchanged(t, before)
		// The same op_id twice in one request.
		expectProblem(t, k.ops(k.tom, id, []map[string]any{rulesAdd("twice", rulesLine(k.salad, 1)), rulesAdd("twice", rulesLine(k.bread, 1))}),
			422, "invalid_field", "ops[1].op_id")
		k.unchanged(t, before)
		// The same op_id twice among the lines of a new check: refused, not
		// the second line quietly taken for a retry of the first.
		expectProblem(t, s.call("POST", "/api/v1/orders", k.tom, map[string]any{"type": "dine_in", "lines": []map[string]any{
			{"op_id": "twice", "item_id": k.salad, "quantity": 1}, {"op_id": "twice", "item_id": k.bread, "quantity": 1}}}),
			422, "invalid_field", "lines[1].op_id")
		// Nothing was opened by the refused POSTs, and the good op was not kept.
		if n := k.orderCount(t); n != count {
			t.Fatalf("%d checks after refused opens, %d before", n, count)
		}

		// A client-chosen line ID that is a line of another check does not
		// take that line over.
		other := k.open(t, k.aisha, map[string]any{"type": "dine_in", "lines": []map[string]any{rulesLine(k.bread, 2)}})
		otherBefore := k.check(t, other["id"].(string))
		stolen := rulesLineIDs(other)[0]
		line := rulesLine(k.salad, 1)
		line["id"] = stolen
		expectProblem(t, k.ops(k.tom, id, []map[string]any{rulesAdd("steal", line)}), 409, "already_exists")
		k.unchanged(t, before)
		k.unchanged(t, otherBefore)
		// Nor with a new check, nor from another business.
		expectProblem(t, s.call("POST", "/api/v1/orders", k.tom, map[string]any{"type": "dine_in", "lines": []map[string]any{line}}), 409, "already_exists")
		theirs := map[string]any{"item_id": k.otherItem, "quantity": 1, "id": stolen}
		expectProblem(t, s.call("POST", "/api/v1/orders", k.other.Token, map[string]any{"location_id": k.other.LocationID, "type": "dine_in",
			"lines": []map[string]any{theirs}}), 409, "already_exists")
		k.unchanged(t, otherBefore)
		if n := k.orderCount(t); n != count+1 { // the other check, no more
			t.Fatalf("%d checks, want %d", n, count+1)
		}
		// The same line ID twice in one request.
		fresh := map[string]any{"item_id": k.salad, "quantity": 1, "id": "oln_01jdq3x2v8s9k7m4n5p6q7r8s9"}
		expectProblem(t, k.ops(k.tom, id, []map[string]any{rulesAdd("a", fresh), rulesAdd("b", fresh)}), 422, "invalid_field", "ops[1].line.id")
		k.unchanged(t, before)
	})
}

// TestOrderPermissions: who may discount how much, void what the kitchen
// has, and comp. A refusal changes nothing.
func TestOrderPermissions(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		s := k.s
		o := k.open(t, k.tom, map[string]any{"type": "dine_in", "covers": 2, "lines": []map[string]any{
			rulesLine(k.salad, 2), rulesLine(k.steak, 1, k.cook[1], k.sauces[0])}})
		id := o["id"].(string)
		salad, steak := rulesLineIDs(o)[0], rulesLineIDs(o)[1]
		discount := func(opID string, bp int) []map[string]any {
			return []map[string]any{{"op_id": opID, "type": "discount_check", "discount": map[string]any{"kind": "percent", "percent_bp": bp, "reason": "regular"}}}
		}

		// A server gives no discount on their own; a supervisor up to 20%.
		before := k.check(t, id)
		expectProblem(t, k.ops(k.tom, id, discount("d-tom", 1000)), 403, "discount_over_limit")
		k.unchanged(t, before)
		expectProblem(t, k.ops(k.supervisor, id, discount("d-sup-30", 3000)), 403, "discount_over_limit")
		k.unchanged(t, before)
		// The same in pounds: £10 off a £47.50 check is over 20%.
		expectProblem(t, k.ops(k.supervisor, id, []map[string]any{{"op_id": "d-sup-amt", "type": "discount_check",
			"discount": map[string]any{"kind": "amount", "amount": 1000, "reason": "regular"}}}), 403, "discount_over_limit")
		k.unchanged(t, before)
		o = k.applied(t, k.supervisor, id, discount("d-sup-20", 2000)...)
		tot := o["totals"].(map[string]any)
		if sub, disc := amount(tot["subtotal"]), amount(tot["discounts"]); disc != (sub*2000+5000)/10000 {
			t.Fatalf("20%% of %d is not %d", sub, disc)
		}
		reconcile(t, o)

		// Comping needs order.comp.
		before = k.check(t, id)
		comp := func(opID, line string) []map[string]any {
			return []map[string]any{{"op_id": opID, "type": "comp_line", "line_id": line, "reason": "hair in it"}}
		}
		expectProblem(t, k.ops(k.tom, id, comp("c-tom", salad)), 403, "permission_denied")
		k.unchanged(t, before)
		expectProblem(t, k.ops(k.maya, id, []map[string]any{{"op_id": "c-noreason", "type": "comp_line", "line_id": salad}}), 422, "invalid_field", "ops[0].reason")
		k.unchanged(t, before)
		o = k.applied(t, k.maya, id, comp("c-maya", salad)...)
		if l := rulesLineOf(t, o, salad); l["comp"] == nil || amount(l["price"].(map[string]any)["total"]) != 0 {
			t.Fatalf("comped line: %v", l)
		}
		reconcile(t, o)

		// Before the kitchen has it a server voids their own mistake;
		// after, voiding wastes food and needs order.void.
		o = k.applied(t, k.tom, id, rulesAdd("oops", rulesLine(k.bread, 1)))
		bread := rulesLineIDs(o)[2]
		voidOp := func(opID, line string) []map[string]any {
			return []map[string]any{{"op_id": opID, "type": "void_line", "line_id": line, "reason": "wrong table"}}
		}
		o = k.applied(t, k.tom, id, voidOp("v-bread", bread)...)
		if l := rulesLineOf(t, o, bread); l["kitchen_state"] != "voided" {
			t.Fatalf("voided unsent line: %v", l)
		}
		sent := k.act(t, k.tom, id, "send", map[string]any{"version": o["version"]})
		before = k.check(t, id)
		expectProblem(t, k.ops(k.tom, id, voidOp("v-tom", steak)), 403, "permission_denied")
		k.unchanged(t, before)
		o = k.applied(t, k.maya, id, voidOp("v-maya", steak)...)
		l := rulesLineOf(t, o, steak)
		if l["kitchen_state"] != "voided" || l["void"].(map[string]any)["reason"] != "wrong table" || amount(l["price"].(map[string]any)["total"]) != 0 {
			t.Fatalf("voided sent line: %v", l)
		}
		if rulesTotal(o) >= rulesTotal(sent["order"].(map[string]any)) {
			t.Fatalf("total %d after the void, %d before", rulesTotal(o), rulesTotal(sent["order"].(map[string]any)))
		}
		reconcile(t, o)
		// A voided line cannot be voided again, comped or discounted.
		before = k.check(t, id)
		expectProblem(t, k.ops(k.maya, id, voidOp("v-again", steak)), 409, "illegal_line_transition")
		expectProblem(t, k.ops(k.maya, id, comp("c-voided", steak)), 409, "line_voided")
		k.unchanged(t, before)

		// A server with a manager's approval: allowed once, and a retry of
		// the very same request (its answer lost) is the first answer again,
		// not a second use of the approval.
		o = k.applied(t, k.tom, id, rulesAdd("more", rulesLine(k.salad, 1)))
		extra := rulesLineIDs(o)[3]
		appr := s.call("POST", "/api/v1/auth/override", k.tom, map[string]string{"pin": "1111", "permission": "order.comp", "reason": "birthday"})
		if appr.Status != 200 {
			t.Fatalf("override: %d %s", appr.Status, appr.Body)
		}
		approval := appr.json(t)["approval"].(string)
		r := k.ops(k.tom, id, comp("c-approved", extra), "Fynlo-Approval", approval)
		if r.Status != 200 {
			t.Fatalf("comp with approval: %d %s", r.Status, r.Body)
		}
		first := r.json(t)
		r = k.ops(k.tom, id, comp("c-approved", extra), "Fynlo-Approval", approval)
		if r.Status != 200 {
			t.Fatalf("the retried comp: %d %s", r.Status, r.Body)
		}
		again := r.json(t)
		if res := again["results"].([]any)[0].(map[string]any); res["replayed"] != true || res["line_id"] != extra {
			t.Fatalf("retried comp: %v", res)
		}
		if v1, v2 := first["order"].(map[string]any)["version"], again["order"].(map[string]any)["version"]; v1 != v2 {
			t.Fatalf("version %v after the retry, %v after the first", v2, v1)
		}
		// Without the approval, the retry is the same answer too.
		r = k.ops(k.tom, id, comp("c-approved", extra))
		if r.Status != 200 || r.json(t)["results"].([]any)[0].(map[string]any)["replayed"] != true {
			t.Fatalf("the retried comp without the header: %d %s", r.Status, r.Body)
		}
		// But a new comp needs a new approval: the first is spent.
		expectProblem(t, k.ops(k.tom, id, comp("c-second", salad), "Fynlo-Approval", approval), 403, "permission_denied")
	})
}

// TestOrderVersionsAndTransitions: whole-check actions carry the version
// last read; a stale one gets the check as it is. Moves the state machine
// does not allow are refused, and so is changing what the kitchen cooks.
func TestOrderVersionsAndTransitions(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		s := k.s
		o := k.open(t, k.tom, map[string]any{"type": "dine_in", "covers": 3, "lines": []map[string]any{
			rulesLine(k.salad, 1), rulesLine(k.steak, 1, k.cook[0])}})
		id := o["id"].(string)
		o = k.applied(t, k.aisha, id, rulesAdd("aisha-1", rulesLine(k.bread, 1)))
		version := o["version"].(float64)
		before := k.check(t, id)

		var tables []string
		for _, x := range s.call("GET", "/api/v1/tables?location_id="+k.loc, k.tom, nil).json(t)["tables"].([]any) {
			tables = append(tables, x.(map[string]any)["id"].(string))
		}
		stale := []struct {
			action string
			body   map[string]any
		}{
			{"send", map[string]any{"version": version - 1}},
			{"transfer", map[string]any{"version": version - 1, "table_id": tables[0]}},
			{"split", map[string]any{"version": version - 1, "by": "equal", "parts": 2}},
			{"close", map[string]any{"version": version - 1}},
			{"cancel", map[string]any{"version": version - 1, "reason": "left"}},
			{"void", map[string]any{"version": version - 1, "reason": "left"}},
		}
		for _, x := range stale {
			tok := k.tom
			if x.action == "void" {
				tok = k.maya
			}
			p := expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/"+x.action, tok, x.body), 409, "version_conflict")
			cur, _ := p["current"].(map[string]any)
			if cur == nil || cur["id"] != id || cur["version"] != version || len(cur["lines"].([]any)) != 3 {
				t.Fatalf("%s with a stale version: the problem does not carry the check as it is: %v", x.action, p["current"])
			}
			k.unchanged(t, before)
		}

		// Illegal moves.
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/reopen", k.maya, map[string]any{"version": version, "reason": "why not"}), 409, "illegal_transition")
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/close", k.tom, map[string]any{"version": version}), 409, "balance_due")
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/cancel", k.tom, map[string]any{"version": version, "reason": " "}), 422, "invalid_field", "reason")
		k.unchanged(t, before)

		sent := k.act(t, k.tom, id, "send", map[string]any{"version": version})["order"].(map[string]any)
		if sent["status"] != "sent" || sent["version"] != version+1 {
			t.Fatalf("sent: %v %v", sent["status"], sent["version"])
		}
		before = k.check(t, id)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/cancel", k.tom, map[string]any{"version": sent["version"], "reason": "left"}), 409, "illegal_transition")
		k.unchanged(t, before)

		// What the kitchen has cannot change; its seat and how it is served can.
		steak := rulesLineIDs(sent)[1]
		for _, change := range []map[string]any{{"quantity": 2}, {"notes": "no salt"}, {"course": 1},
			{"modifiers": []map[string]any{{"modifier_id": k.cook[2]}}}} {
			op := map[string]any{"op_id": "change", "type": "change_line", "line_id": steak}
			for f, v := range change {
				op[f] = v
			}
			expectProblem(t, k.ops(k.tom, id, []map[string]any{op}), 409, "line_sent")
			k.unchanged(t, before)
		}
		o = k.applied(t, k.tom, id, map[string]any{"op_id": "seat", "type": "change_line", "line_id": steak, "seat": 2})
		if l := rulesLineOf(t, o, steak); l["seat"] != float64(2) || l["kitchen_state"] != "sent" {
			t.Fatalf("seat change: %v", l)
		}
		// A line not yet sent changes freely, and an unknown line is named.
		o = k.applied(t, k.tom, id, rulesAdd("late", rulesLine(k.salad, 1)))
		late := rulesLineIDs(o)[3]
		o = k.applied(t, k.tom, id, map[string]any{"op_id": "late-2", "type": "change_line", "line_id": late, "quantity": 2, "notes": "dressing aside"})
		if l := rulesLineOf(t, o, late); l["quantity"] != float64(2) || l["notes"] != "dressing aside" {
			t.Fatalf("changed line: %v", l)
		}
		reconcile(t, o)
		before = k.check(t, id)
		expectProblem(t, k.ops(k.tom, id, []map[string]any{{"op_id": "ghost", "type": "change_line", "line_id": "oln_01jdq3x2v8s9k7m4n5p6q7r8s9", "quantity": 2}}),
			422, "invalid_field", "ops[0].line_id")
		k.unchanged(t, before)

		// Split amounts that do not add up.
		total := rulesTotal(before)
		v := before["version"]
		for _, amounts := range [][]int64{{total - 1}, {total / 2, total / 2, 1 + total%2}, {total, 1}} {
			expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/split", k.tom, map[string]any{"version": v, "by": "amounts", "amounts": amounts}),
				422, "split_does_not_cover", "amounts")
			k.unchanged(t, before)
		}
		// Into three, for a total not divisible by three: the parts differ
		// by a penny at most and add up to the total.
		for n := 0; rulesTotal(before)%3 == 0; n++ {
			k.applied(t, k.tom, id, rulesAdd(fmt.Sprintf("odd-%d", n), rulesLine(k.bread, 1)))
			before = k.check(t, id)
		}
		total = rulesTotal(before)
		split := k.act(t, k.tom, id, "split", map[string]any{"version": before["version"], "by": "equal", "parts": 3})
		parts := split["split"].(map[string]any)["parts"].([]any)
		var sum, lo, hi int64 = 0, total, 0
		for _, p := range parts {
			a := amount(p.(map[string]any)["amount"])
			sum += a
			lo, hi = min(lo, a), max(hi, a)
		}
		if len(parts) != 3 || sum != total || hi-lo > 1 || total%3 == 0 {
			t.Fatalf("%d into 3: %v", total, parts)
		}
		reconcile(t, split)
		// Exact amounts are accepted, and any change to the lines drops the split.
		split = k.act(t, k.tom, id, "split", map[string]any{"version": split["version"], "by": "amounts", "amounts": []int64{total - 100, 100}})
		reconcile(t, split)
		o = k.applied(t, k.tom, id, rulesAdd("after-split", rulesLine(k.bread, 1)))
		if o["split"] != nil {
			t.Fatalf("the split outlived a new line: %v", o["split"])
		}
	})
}

// TestOrderRetriedOps: an iPad that lost an answer sends the operation
// again; it gets the first result, marked replayed, and nothing changes.
func TestOrderRetriedOps(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		o := k.open(t, k.tom, map[string]any{"type": "dine_in", "lines": []map[string]any{
			{"op_id": "ipad1-open-1", "item_id": k.salad, "quantity": 1}}})
		id := o["id"].(string)

		add := []map[string]any{rulesAdd("ipad1-2", rulesLine(k.steak, 1, k.cook[1]))}
		r := k.ops(k.tom, id, add)
		if r.Status != 200 {
			t.Fatalf("add: %d %s", r.Status, r.Body)
		}
		first := r.json(t)
		res := first["results"].([]any)[0].(map[string]any)
		lineID, version := res["line_id"].(string), first["order"].(map[string]any)["version"]
		if res["replayed"] != false || lineID == "" {
			t.Fatalf("first result: %v", res)
		}
		before := k.check(t, id)
		for _, retry := range []struct {
			token string
			ops   []map[string]any
		}{
			{k.tom, add},
			// The same op_id with another body is still that operation.
			{k.tom, []map[string]any{rulesAdd("ipad1-2", rulesLine(k.bread, 5))}},
			// Sent on by the other iPad, too.
			{k.aisha, add},
		} {
			r := k.ops(retry.token, id, retry.ops)
			if r.Status != 200 {
				t.Fatalf("retry: %d %s", r.Status, r.Body)
			}
			again := r.json(t)
			res := again["results"].([]any)[0].(map[string]any)
			if res["replayed"] != true || res["line_id"] != lineID || again["order"].(map[string]any)["version"] != version {
				t.Fatalf("retry result: %v, version %v (was %v)", res, again["order"].(map[string]any)["version"], version)
			}
			k.unchanged(t, before)
		}
		// A line added with the check is an operation too.
		r = k.ops(k.tom, id, []map[string]any{rulesAdd("ipad1-open-1", rulesLine(k.salad, 1))})
		if r.Status != 200 || r.json(t)["results"].([]any)[0].(map[string]any)["replayed"] != true {
			t.Fatalf("retry of a line added with the check: %d %s", r.Status, r.Body)
		}
		k.unchanged(t, before)
		// A retry beside a new operation: the new one applies, once.
		r = k.ops(k.tom, id, []map[string]any{add[0], rulesAdd("ipad1-3", rulesLine(k.bread, 1))})
		if r.Status != 200 {
			t.Fatalf("retry and new: %d %s", r.Status, r.Body)
		}
		both := r.json(t)
		results := both["results"].([]any)
		if results[0].(map[string]any)["replayed"] != true || results[1].(map[string]any)["replayed"] != false {
			t.Fatalf("results: %v", results)
		}
		if n := len(both["order"].(map[string]any)["lines"].([]any)); n != 3 {
			t.Fatalf("%d lines, want 3", n)
		}
		if both["order"].(map[string]any)["version"] != version.(float64)+1 {
			t.Fatalf("version %v, want %v", both["order"].(map[string]any)["version"], version.(float64)+1)
		}
		// Other operations replay the same way: a void sent twice.
		void := []map[string]any{{"op_id": "ipad1-void", "type": "void_line", "line_id": lineID, "reason": "changed mind"}}
		o = k.applied(t, k.tom, id, void...)
		r = k.ops(k.tom, id, void)
		if r.Status != 200 || r.json(t)["results"].([]any)[0].(map[string]any)["replayed"] != true {
			t.Fatalf("retried void: %d %s", r.Status, r.Body)
		}
		if k.check(t, id)["version"] != o["version"] {
			t.Fatal("a retried void changed the version")
		}
	})
}

// TestOrderOtherTenantSeesNothing: another business's token finds none of
// this one's checks, tables or tickets, and changes nothing.
func TestOrderOtherTenantSeesNothing(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		s := k.s
		var table string
		for _, x := range s.call("GET", "/api/v1/tables?location_id="+k.loc, k.tom, nil).json(t)["tables"].([]any) {
			table = x.(map[string]any)["id"].(string)
		}
		o := k.open(t, k.tom, map[string]any{"type": "dine_in", "table_id": table, "lines": []map[string]any{rulesLine(k.salad, 1)}})
		id := o["id"].(string)
		sent := k.act(t, k.tom, id, "send", map[string]any{"version": o["version"]})
		ticket := sent["tickets"].([]any)[0].(map[string]any)["id"].(string)
		before := k.check(t, id)
		v := before["version"]
		b := k.other.Token
		theirs := k.open(t, b, map[string]any{"location_id": k.other.LocationID, "type": "dine_in", "lines": []map[string]any{rulesLine(k.otherItem, 1)}})

		expectProblem(t, s.call("GET", "/api/v1/orders/"+id, b, nil), 404, "not_found")
		expectProblem(t, k.ops(b, id, []map[string]any{rulesAdd("x", rulesLine(k.otherItem, 1))}), 404, "not_found")
		expectProblem(t, k.ops(b, id, []map[string]any{{"op_id": "y", "type": "void_line", "line_id": rulesLineIDs(o)[0], "reason": "x"}}), 404, "not_found")
		for _, x := range []struct {
			action string
			body   map[string]any
		}{
			{"send", map[string]any{"version": v}},
			{"split", map[string]any{"version": v, "by": "equal", "parts": 2}},
			{"transfer", map[string]any{"version": v, "covers": 9}},
			{"close", map[string]any{"version": v}},
			{"void", map[string]any{"version": v, "reason": "x"}},
			{"merge", map[string]any{"version": theirs["version"], "from_order_id": theirs["id"], "from_version": theirs["version"]}},
		} {
			expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/"+x.action, b, x.body), 404, "not_found")
		}
		// Their check cannot take ours in, nor give us lines.
		expectProblem(t, s.call("POST", "/api/v1/orders/"+theirs["id"].(string)+"/merge", b, map[string]any{"version": theirs["version"],
			"from_order_id": id, "from_version": v}), 404, "not_found")
		expectProblem(t, s.call("POST", "/api/v1/orders/"+theirs["id"].(string)+"/move-lines", b, map[string]any{"version": theirs["version"],
			"line_ids": rulesLineIDs(theirs), "to_order_id": id, "to_version": v}), 404, "not_found")
		// Nor see our checks in a list, our tables, our tickets.
		for _, x := range s.call("GET", "/api/v1/orders?location_id="+k.loc, b, nil).json(t)["orders"].([]any) {
			if x.(map[string]any)["id"] == id {
				t.Fatal("another business lists our check")
			}
		}
		expectProblem(t, s.call("GET", "/api/v1/tables/"+table, b, nil), 404, "not_found")
		expectProblem(t, s.call("GET", "/api/v1/tables?location_id="+k.loc, b, nil), 404, "not_found")
		expectProblem(t, s.call("GET", "/api/v1/kitchen/tickets?location_id="+k.loc, b, nil), 404, "not_found")
		expectProblem(t, s.call("GET", "/api/v1/kitchen/stations?location_id="+k.loc, b, nil), 404, "not_found")
		expectProblem(t, s.call("GET", "/api/v1/kitchen/tickets/"+ticket, b, nil), 404, "not_found")
		for _, act := range []string{"acknowledge", "bump", "recall"} {
			expectProblem(t, s.call("POST", "/api/v1/kitchen/tickets/"+ticket+"/"+act, b, map[string]any{}), 404, "not_found")
		}
		// Our table on their check.
		expectProblem(t, s.call("POST", "/api/v1/orders", b, map[string]any{"location_id": k.other.LocationID, "type": "dine_in", "table_id": table}),
			422, "invalid_field", "table_id")
		expectProblem(t, s.call("POST", "/api/v1/orders/"+theirs["id"].(string)+"/transfer", b, map[string]any{"version": theirs["version"],
			"table_id": table}), 422, "invalid_field", "table_id")
		k.unchanged(t, before)
		if tk := s.call("GET", "/api/v1/kitchen/tickets/"+ticket, k.owner, nil).json(t); tk["version"] != float64(1) || tk["status"] != "open" {
			t.Fatalf("our ticket after their attempts: %v", tk)
		}
	})
}

// TestCheckLifecycle: a check cancelled before anything was sent, one
// voided after, one comped to nothing and closed, and reopened.
func TestCheckLifecycle(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		s := k.s

		// Cancel: a reason is required; every line is voided.
		o := k.open(t, k.tom, map[string]any{"type": "dine_in", "lines": []map[string]any{rulesLine(k.salad, 1), rulesLine(k.bread, 2)}})
		id := o["id"].(string)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/cancel", k.tom, map[string]any{"version": o["version"]}), 422, "invalid_field", "reason")
		o = k.act(t, k.tom, id, "cancel", map[string]any{"version": o["version"], "reason": "walked out"})
		if o["status"] != "cancelled" || o["reason"] != "walked out" || rulesTotal(o) != 0 {
			t.Fatalf("cancelled: %v %v %d", o["status"], o["reason"], rulesTotal(o))
		}
		for _, x := range o["lines"].([]any) {
			if l := x.(map[string]any); l["kitchen_state"] != "voided" || l["void"].(map[string]any)["reason"] != "walked out" {
				t.Fatalf("line of a cancelled check: %v", l)
			}
		}
		reconcile(t, o)
		expectProblem(t, k.ops(k.tom, id, []map[string]any{rulesAdd("late", rulesLine(k.salad, 1))}), 409, "order_not_open")
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/send", k.tom, map[string]any{"version": o["version"]}), 409, "illegal_transition")

		// Void after sending: order.void; a server is refused.
		o = k.open(t, k.tom, map[string]any{"type": "dine_in", "lines": []map[string]any{rulesLine(k.salad, 1), rulesLine(k.steak, 1, k.cook[0])}})
		id = o["id"].(string)
		o = k.act(t, k.tom, id, "send", map[string]any{"version": o["version"]})["order"].(map[string]any)
		before := k.check(t, id)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/void", k.tom, map[string]any{"version": o["version"], "reason": "fire alarm"}), 403, "permission_denied")
		k.unchanged(t, before)
		o = k.act(t, k.maya, id, "void", map[string]any{"version": o["version"], "reason": "fire alarm"})
		if o["status"] != "voided" || rulesTotal(o) != 0 {
			t.Fatalf("voided: %v %d", o["status"], rulesTotal(o))
		}
		for _, x := range o["lines"].([]any) {
			if l := x.(map[string]any); l["kitchen_state"] != "voided" {
				t.Fatalf("line of a voided check: %v", l)
			}
		}
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/void", k.maya, map[string]any{"version": o["version"], "reason": "again"}), 409, "illegal_transition")

		// Everything comped by the manager: nothing to pay, so it closes.
		o = k.open(t, k.tom, map[string]any{"type": "dine_in", "covers": 2, "lines": []map[string]any{rulesLine(k.salad, 1), rulesLine(k.bread, 1)}})
		id = o["id"].(string)
		o = k.act(t, k.tom, id, "send", map[string]any{"version": o["version"]})["order"].(map[string]any)
		var comps []map[string]any
		for i, l := range rulesLineIDs(o) {
			comps = append(comps, map[string]any{"op_id": fmt.Sprintf("comp-%d", i), "type": "comp_line", "line_id": l, "reason": "long wait"})
		}
		o = k.applied(t, k.maya, id, comps...)
		if rulesTotal(o) != 0 {
			t.Fatalf("fully comped check totals %d", rulesTotal(o))
		}
		reconcile(t, o)
		o = k.act(t, k.tom, id, "close", map[string]any{"version": o["version"]})
		if o["status"] != "closed" || o["closed_at"] == nil {
			t.Fatalf("closed: %v %v", o["status"], o["closed_at"])
		}
		expectProblem(t, k.ops(k.tom, id, []map[string]any{rulesAdd("after", rulesLine(k.salad, 1))}), 409, "order_not_open")
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/close", k.tom, map[string]any{"version": o["version"]}), 409, "illegal_transition")

		// Reopen: order.reopen and a reason; it goes back to sent, since
		// the kitchen had it.
		before = k.check(t, id)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/reopen", k.tom, map[string]any{"version": o["version"], "reason": "forgot the wine"}), 403, "permission_denied")
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/reopen", k.maya, map[string]any{"version": o["version"]}), 422, "invalid_field", "reason")
		k.unchanged(t, before)
		o = k.act(t, k.maya, id, "reopen", map[string]any{"version": o["version"], "reason": "forgot the wine"})
		if o["status"] != "sent" || o["reason"] != "forgot the wine" || o["closed_at"] != nil {
			t.Fatalf("reopened: %v %v %v", o["status"], o["reason"], o["closed_at"])
		}
		o = k.applied(t, k.tom, id, rulesAdd("wine", rulesLine(k.bread, 1)))
		expectProblem(t, s.call("POST", "/api/v1/orders/"+id+"/close", k.tom, map[string]any{"version": o["version"]}), 409, "balance_due")
	})
}

// TestCheckTransferMergeMove: a check moves table and server, goes from
// eating in to taking away (and its VAT with it), takes in another check
// at the table, and gives two lines to a third.
func TestCheckTransferMergeMove(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		s := k.s
		tables := map[string]string{}
		for _, x := range s.call("GET", "/api/v1/tables?location_id="+k.loc, k.tom, nil).json(t)["tables"].([]any) {
			tb := x.(map[string]any)
			tables[tb["name"].(string)] = tb["id"].(string)
		}
		t1, t2 := tables["1"], tables["2"]
		if t1 == "" || t2 == "" {
			t.Fatalf("demo tables: %v", tables)
		}
		status := func(table string) string {
			return s.call("GET", "/api/v1/tables/"+table, k.tom, nil).json(t)["status"].(string)
		}

		a := k.open(t, k.tom, map[string]any{"type": "dine_in", "table_id": t1, "covers": 2, "lines": []map[string]any{
			rulesLine(k.salad, 2), rulesLine(k.steak, 1, k.cook[1])}})
		aID := a["id"].(string)
		b := k.open(t, k.aisha, map[string]any{"type": "dine_in", "table_id": t2, "covers": 2, "lines": []map[string]any{rulesLine(k.bread, 1)}})
		bID := b["id"].(string)
		aisha := b["server_id"].(string)
		if aisha == "" || aisha == a["server_id"] {
			t.Fatalf("servers: %v, %v", a["server_id"], aisha)
		}

		// Transfer to table 2 and to Aisha.
		expectProblem(t, s.call("POST", "/api/v1/orders/"+aID+"/transfer", k.tom, map[string]any{"version": a["version"], "table_id": "tbl_01jdq3x2v8s9k7m4n5p6q7r8s9"}),
			422, "invalid_field", "table_id")
		a = k.act(t, k.tom, aID, "transfer", map[string]any{"version": a["version"], "table_id": t2, "server_id": aisha})
		if a["table_id"] != t2 || a["server_id"] != aisha {
			t.Fatalf("transferred: %v %v", a["table_id"], a["server_id"])
		}
		if st := status(t1); st != "free" {
			t.Fatalf("table 1 after the transfer: %s", st)
		}
		if ids := s.call("GET", "/api/v1/tables/"+t2, k.tom, nil).json(t)["order_ids"].([]any); len(ids) != 2 {
			t.Fatalf("table 2 has checks %v", ids)
		}

		// Takeaway: the salad (cold food) becomes zero-rated; the steak
		// (hot food) stays at 20%; a line kept as eaten in stays too.
		a = k.applied(t, k.tom, aID, rulesAdd("eat-in-salad", map[string]any{"item_id": k.salad, "quantity": 1, "order_type": "dine_in"}))
		kept := rulesLineIDs(a)[2]
		taxBefore := amount(a["totals"].(map[string]any)["tax"])
		a = k.act(t, k.tom, aID, "transfer", map[string]any{"version": a["version"], "type": "takeaway"})
		if a["type"] != "takeaway" {
			t.Fatalf("type %v", a["type"])
		}
		for _, x := range a["lines"].([]any) {
			l := x.(map[string]any)
			want := float64(2000)
			if l["item_id"] == k.salad && l["id"] != kept {
				want = 0
			}
			if l["tax_rate_bp"] != want {
				t.Errorf("%s (%v) at %v after takeaway, want %v", l["name"], l["order_type"], l["tax_rate_bp"], want)
			}
		}
		if tax := amount(a["totals"].(map[string]any)["tax"]); tax >= taxBefore {
			t.Fatalf("tax %d taken away, %d eaten in", tax, taxBefore)
		}
		reconcile(t, a)
		// And back: the VAT follows again.
		back := k.act(t, k.tom, aID, "transfer", map[string]any{"version": a["version"], "type": "dine_in"})
		if tax := amount(back["totals"].(map[string]any)["tax"]); tax != taxBefore {
			t.Fatalf("tax %d back eaten in, %d before", tax, taxBefore)
		}
		a = k.act(t, k.tom, aID, "transfer", map[string]any{"version": back["version"], "type": "takeaway"})

		// Merge B into A: both versions are checked.
		beforeA := k.check(t, aID)
		expectProblem(t, s.call("POST", "/api/v1/orders/"+aID+"/merge", k.tom, map[string]any{"version": a["version"],
			"from_order_id": bID, "from_version": b["version"].(float64) + 1}), 409, "version_conflict")
		expectProblem(t, s.call("POST", "/api/v1/orders/"+aID+"/merge", k.tom, map[string]any{"version": a["version"].(float64) - 1,
			"from_order_id": bID, "from_version": b["version"]}), 409, "version_conflict")
		expectProblem(t, s.call("POST", "/api/v1/orders/"+aID+"/merge", k.tom, map[string]any{"version": a["version"],
			"from_order_id": aID, "from_version": a["version"]}), 422, "invalid_field", "order_id")
		k.unchanged(t, beforeA)
		aLines, bLines := rulesLineIDs(a), rulesLineIDs(b)
		m := k.act(t, k.tom, aID, "merge", map[string]any{"version": a["version"], "from_order_id": bID, "from_version": b["version"]})
		into, from := m["order"].(map[string]any), m["other"].(map[string]any)
		if into["id"] != aID || from["id"] != bID {
			t.Fatalf("merge answered order %v, other %v", into["id"], from["id"])
		}
		if got, want := strings.Join(rulesLineIDs(into), ","), strings.Join(append(aLines, bLines...), ","); got != want {
			t.Fatalf("merged lines %s, want %s", got, want)
		}
		if from["status"] != "cancelled" || !strings.Contains(fmt.Sprint(from["reason"]), "merged") || len(from["lines"].([]any)) != 0 || rulesTotal(from) != 0 {
			t.Fatalf("merged-away check: %v %v %v %d", from["status"], from["reason"], from["lines"], rulesTotal(from))
		}
		if into["version"] != a["version"].(float64)+1 || from["version"] != b["version"].(float64)+1 {
			t.Fatalf("versions after the merge: %v, %v", into["version"], from["version"])
		}
		reconcile(t, into)
		reconcile(t, from)
		// As stored, too; B's lines are A's now.
		storedA, storedB := k.check(t, aID), k.check(t, bID)
		if rulesTotal(storedA) != rulesTotal(into) || len(storedA["lines"].([]any)) != len(aLines)+len(bLines) ||
			storedB["status"] != "cancelled" || len(storedB["lines"].([]any)) != 0 {
			t.Fatalf("stored after the merge: A %d lines total %d, B %v with %d lines", len(storedA["lines"].([]any)), rulesTotal(storedA),
				storedB["status"], len(storedB["lines"].([]any)))
		}
		expectProblem(t, s.call("POST", "/api/v1/orders/"+aID+"/merge", k.tom, map[string]any{"version": storedA["version"],
			"from_order_id": bID, "from_version": storedB["version"]}), 409, "order_not_open")

		// Move two of A's lines to a new check C.
		c := k.open(t, k.tom, map[string]any{"type": "dine_in", "table_id": t1, "lines": []map[string]any{rulesLine(k.bread, 1)}})
		cID := c["id"].(string)
		moved := rulesLineIDs(storedA)[:2]
		expectProblem(t, s.call("POST", "/api/v1/orders/"+aID+"/move-lines", k.tom, map[string]any{"version": storedA["version"],
			"line_ids": moved, "to_order_id": cID, "to_version": c["version"].(float64) + 1}), 409, "version_conflict")
		expectProblem(t, s.call("POST", "/api/v1/orders/"+aID+"/move-lines", k.tom, map[string]any{"version": storedA["version"],
			"line_ids": []string{moved[0], "oln_01jdq3x2v8s9k7m4n5p6q7r8s9"}, "to_order_id": cID, "to_version": c["version"]}), 422, "invalid_field", "line_ids[1]")
		k.unchanged(t, storedA)
		mv := k.act(t, k.tom, aID, "move-lines", map[string]any{"version": storedA["version"], "line_ids": moved, "to_order_id": cID, "to_version": c["version"]})
		fromA, toC := mv["order"].(map[string]any), mv["other"].(map[string]any)
		if fromA["id"] != aID || toC["id"] != cID {
			t.Fatalf("move answered %v, %v", fromA["id"], toC["id"])
		}
		if len(fromA["lines"].([]any)) != len(rulesLineIDs(storedA))-2 || len(toC["lines"].([]any)) != 3 {
			t.Fatalf("after the move: A %d lines, C %d", len(fromA["lines"].([]any)), len(toC["lines"].([]any)))
		}
		for _, l := range moved {
			rulesLineOf(t, toC, l)
		}
		if rulesTotal(fromA) >= rulesTotal(storedA) || rulesTotal(toC) <= rulesTotal(c) {
			t.Fatalf("totals: A %d → %d, C %d → %d", rulesTotal(storedA), rulesTotal(fromA), rulesTotal(c), rulesTotal(toC))
		}
		reconcile(t, fromA)
		reconcile(t, toC)
		for _, x := range []map[string]any{fromA, toC} {
			stored := k.check(t, x["id"].(string))
			if rulesTotal(stored) != rulesTotal(x) || len(stored["lines"].([]any)) != len(x["lines"].([]any)) {
				t.Fatalf("%v stored with %d lines, total %d; answered %d, %d", x["id"], len(stored["lines"].([]any)), rulesTotal(stored),
					len(x["lines"].([]any)), rulesTotal(x))
			}
			reconcile(t, stored)
		}
		// A check's lines follow its own type: the salads moved from the
		// takeaway check are eaten in on C.
		for _, l := range moved {
			if line := rulesLineOf(t, toC, l); line["item_id"] == k.salad && line["tax_rate_bp"] != float64(2000) {
				t.Fatalf("moved salad on an eat-in check at %v", line["tax_rate_bp"])
			}
		}
	})
}

// TestTableRules: tables are settings (a server cannot add one), named
// once per location, show where their checks are, and are archived.
func TestTableRules(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		s := k.s
		create := func(token string, body map[string]any) response { return s.call("POST", "/api/v1/tables", token, body) }
		expectProblem(t, create(k.tom, map[string]any{"location_id": k.loc, "name": "R1", "seats": 2}), 403, "permission_denied")
		r1 := kdsCreated(t, create(k.owner, map[string]any{"location_id": k.loc, "area": "Rules", "name": "R1", "seats": 2}), "table")
		if r1["status"] != "free" || r1["version"] != float64(1) {
			t.Fatalf("new table: %v", r1)
		}
		expectProblem(t, create(k.owner, map[string]any{"location_id": k.loc, "name": "R1", "seats": 4}), 409, "table_name_taken", "name")
		expectProblem(t, create(k.owner, map[string]any{"location_id": k.loc, "name": " ", "seats": 4}), 422, "invalid_field", "name")
		expectProblem(t, create(k.owner, map[string]any{"location_id": k.other.LocationID, "name": "R9", "seats": 4}), 422, "invalid_field", "location_id")
		r2 := kdsCreated(t, create(k.owner, map[string]any{"location_id": k.loc, "area": "Rules", "name": "R2", "seats": 2}), "table")
		// Renaming onto a taken name is refused the same way.
		expectProblem(t, s.call("PATCH", "/api/v1/tables/"+r2["id"].(string), k.owner, map[string]any{"version": 1, "name": "R1"}), 409, "table_name_taken", "name")
		expectProblem(t, s.call("PATCH", "/api/v1/tables/"+r2["id"].(string), k.tom, map[string]any{"version": 1, "seats": 6}), 403, "permission_denied")

		statusOf := func(id string) string {
			for _, x := range s.call("GET", "/api/v1/tables?location_id="+k.loc, k.tom, nil).json(t)["tables"].([]any) {
				if tb := x.(map[string]any); tb["id"] == id {
					return tb["status"].(string)
				}
			}
			t.Fatalf("table %s not listed", id)
			return ""
		}
		r1ID := r1["id"].(string)
		if st := statusOf(r1ID); st != "free" {
			t.Fatalf("R1 %s, want free", st)
		}
		o := k.open(t, k.tom, map[string]any{"type": "dine_in", "table_id": r1ID, "covers": 2})
		if st := statusOf(r1ID); st != "seated" {
			t.Fatalf("R1 %s, want seated", st)
		}
		o = k.applied(t, k.tom, o["id"].(string), rulesAdd("r1-1", rulesLine(k.salad, 2)))
		if st := statusOf(r1ID); st != "ordered" {
			t.Fatalf("R1 %s, want ordered", st)
		}
		o = k.act(t, k.tom, o["id"].(string), "split", map[string]any{"version": o["version"], "by": "equal", "parts": 2})
		if st := statusOf(r1ID); st != "paying" {
			t.Fatalf("R1 %s, want paying", st)
		}
		// A cancelled check frees its table.
		o2 := k.open(t, k.tom, map[string]any{"type": "dine_in", "table_id": r2["id"], "covers": 2})
		if st := statusOf(r2["id"].(string)); st != "seated" {
			t.Fatalf("R2 %s, want seated", st)
		}
		k.act(t, k.tom, o2["id"].(string), "cancel", map[string]any{"version": o2["version"], "reason": "no show"})
		if st := statusOf(r2["id"].(string)); st != "free" {
			t.Fatalf("R2 %s after the cancel, want free", st)
		}

		// Archive R2: it leaves the floor, takes no checks, and its name is free.
		r2 = s.call("PATCH", "/api/v1/tables/"+r2["id"].(string), k.owner, map[string]any{"version": 1, "archived": true}).json(t)
		if r2["archived"] != true {
			t.Fatalf("archive: %v", r2)
		}
		for _, x := range s.call("GET", "/api/v1/tables?location_id="+k.loc, k.tom, nil).json(t)["tables"].([]any) {
			if x.(map[string]any)["id"] == r2["id"] {
				t.Fatal("an archived table is on the floor")
			}
		}
		found := false
		for _, x := range s.call("GET", "/api/v1/tables?archived=true&location_id="+k.loc, k.tom, nil).json(t)["tables"].([]any) {
			found = found || x.(map[string]any)["id"] == r2["id"]
		}
		if !found {
			t.Fatal("the archived table is not listed with archived=true")
		}
		expectProblem(t, s.call("POST", "/api/v1/orders", k.tom, map[string]any{"type": "dine_in", "table_id": r2["id"]}), 422, "invalid_field", "table_id")
		expectProblem(t, s.call("POST", "/api/v1/orders/"+o["id"].(string)+"/transfer", k.tom, map[string]any{"version": o["version"], "table_id": r2["id"]}),
			422, "invalid_field", "table_id")
		kdsCreated(t, create(k.owner, map[string]any{"location_id": k.loc, "name": "R2", "seats": 2}), "table")

		// Another location's tables: the same name is fine there, and they
		// are not accepted on a check here.
		loc2 := kdsCreated(t, s.call("POST", "/api/v1/locations", k.owner, map[string]any{"name": "Rules Two"}), "location")["id"].(string)
		far := kdsCreated(t, create(k.owner, map[string]any{"location_id": loc2, "name": "R1", "seats": 2}), "table")
		expectProblem(t, s.call("POST", "/api/v1/orders", k.tom, map[string]any{"type": "dine_in", "table_id": far["id"]}), 422, "invalid_field", "table_id")
		expectProblem(t, s.call("POST", "/api/v1/orders", k.owner, map[string]any{"location_id": k.loc, "type": "dine_in", "table_id": far["id"]}),
			422, "invalid_field", "table_id")
		before := k.check(t, o["id"].(string))
		expectProblem(t, s.call("POST", "/api/v1/orders/"+o["id"].(string)+"/transfer", k.tom, map[string]any{"version": o["version"], "table_id": far["id"]}),
			422, "invalid_field", "table_id")
		k.unchanged(t, before)
		// A staff token sees its own location's tables only.
		expectProblem(t, s.call("GET", "/api/v1/tables?location_id="+loc2, k.tom, nil), 404, "not_found")
		expectProblem(t, s.call("GET", "/api/v1/tables/"+far["id"].(string), k.tom, nil), 404, "not_found")
		// Even one whose role manages settings, signed in at the first location.
		lead := mintToken(t, cfg, tenant{Token: k.owner}, func(c jwt.MapClaims) { c["loc"] = k.loc })
		expectProblem(t, create(lead, map[string]any{"location_id": loc2, "name": "R7", "seats": 2}), 404, "not_found")
		expectProblem(t, s.call("PATCH", "/api/v1/tables/"+far["id"].(string), lead, map[string]any{"version": 1, "seats": 6}), 404, "not_found")
		kdsCreated(t, create(lead, map[string]any{"location_id": k.loc, "name": "R7", "seats": 2}), "table")
	})
}

// TestStockCountedBySales: an item with a stock count sells down to zero,
// is refused beyond it, shows so on the menu and the event stream, and
// gets its count back when a line is voided.
func TestStockCountedBySales(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		s := k.s
		menuStock := func() (stock any, av map[string]any) {
			m := s.call("GET", "/api/v1/locations/"+k.loc+"/menu", k.tom, nil).json(t)
			av, _ = m["availability"].(map[string]any)[k.salad].(map[string]any)
			return av["stock"], av
		}
		_, seq := k.events(t, k.owner, 0)
		put := s.call("PUT", "/api/v1/locations/"+k.loc+"/availability/"+k.salad, k.owner, map[string]any{"version": 0, "unavailable": false, "stock": 3})
		if put.Status != 200 {
			t.Fatalf("set stock: %d %s", put.Status, put.Body)
		}
		if st, _ := menuStock(); st != float64(3) {
			t.Fatalf("menu stock %v, want 3", st)
		}

		o := k.open(t, k.tom, map[string]any{"type": "dine_in", "covers": 2})
		id := o["id"].(string)
		o = k.applied(t, k.tom, id, rulesAdd("two", rulesLine(k.salad, 2)))
		first := rulesLineIDs(o)[0]
		if l := rulesLineOf(t, o, first); l["stock_counted"] != true {
			t.Fatalf("line: %v", l)
		}
		if st, _ := menuStock(); st != float64(1) {
			t.Fatalf("menu stock %v after selling 2 of 3, want 1", st)
		}
		before := k.check(t, id)
		expectProblem(t, k.ops(k.tom, id, []map[string]any{rulesAdd("two-more", rulesLine(k.salad, 2))}), 409, "out_of_stock")
		k.unchanged(t, before)
		if st, _ := menuStock(); st != float64(1) {
			t.Fatalf("menu stock %v after a refused sale, want 1", st)
		}
		// Nor with a new check.
		count := k.orderCount(t)
		expectProblem(t, s.call("POST", "/api/v1/orders", k.tom, map[string]any{"type": "dine_in", "lines": []map[string]any{rulesLine(k.salad, 2)}}),
			409, "out_of_stock")
		if n := k.orderCount(t); n != count {
			t.Fatalf("%d checks after a refused open, %d before", n, count)
		}

		o = k.applied(t, k.tom, id, rulesAdd("last", rulesLine(k.salad, 1)))
		last := rulesLineIDs(o)[1]
		if st, av := menuStock(); st != float64(0) || av["unavailable"] != true || av["reason"] != "sold out" {
			t.Fatalf("menu availability %v after selling the last, want stock 0, unavailable, sold out", av)
		}
		evs, _ := k.events(t, k.owner, seq)
		var stocks []any
		for _, e := range evs {
			if e["type"] == "availability.updated" && e["subject_id"] == k.salad {
				stocks = append(stocks, e["data"].(map[string]any)["stock"])
			}
		}
		if fmt.Sprint(stocks) != "[3 1 0]" {
			t.Fatalf("availability.updated events carry stock %v, want [3 1 0]", stocks)
		}
		// 86'd now: refused before anything is counted, naming the item.
		before = k.check(t, id)
		expectProblem(t, k.ops(k.tom, id, []map[string]any{rulesAdd("none-left", rulesLine(k.salad, 1))}), 422, "invalid_field", "ops[0].line.item_id")
		k.unchanged(t, before)
		// Raising the quantity of a line counts too.
		expectProblem(t, k.ops(k.tom, id, []map[string]any{{"op_id": "more", "type": "change_line", "line_id": last, "quantity": 2}}), 409, "out_of_stock")
		k.unchanged(t, before)

		// A void puts the count back; a lower quantity too.
		o = k.applied(t, k.tom, id, map[string]any{"op_id": "void-two", "type": "void_line", "line_id": first, "reason": "changed order"})
		if st, av := menuStock(); st != float64(2) || av["unavailable"] != false {
			t.Fatalf("menu availability %v after voiding 2, want stock 2 and available", av)
		}
		o = k.applied(t, k.tom, id, map[string]any{"op_id": "last-3", "type": "change_line", "line_id": last, "quantity": 3})
		if st, _ := menuStock(); st != float64(0) {
			t.Fatalf("menu stock %v after raising 1 to 3, want 0", st)
		}
		o = k.applied(t, k.tom, id, map[string]any{"op_id": "last-2", "type": "change_line", "line_id": last, "quantity": 2})
		if st, _ := menuStock(); st != float64(1) {
			t.Fatalf("menu stock %v after lowering 3 to 2, want 1", st)
		}
		// A retried void does not put it back twice.
		void := []map[string]any{{"op_id": "void-two", "type": "void_line", "line_id": first, "reason": "changed order"}}
		if r := k.ops(k.tom, id, void); r.Status != 200 {
			t.Fatalf("retried void: %d %s", r.Status, r.Body)
		}
		if st, _ := menuStock(); st != float64(1) {
			t.Fatalf("menu stock %v after a retried void, want 1", st)
		}
		// Cancelling the check puts back what is left on it.
		k.act(t, k.tom, id, "cancel", map[string]any{"version": o["version"], "reason": "left"})
		if st, _ := menuStock(); st != float64(3) {
			t.Fatalf("menu stock %v after the cancel, want 3", st)
		}
		// Opened and sent at once, at the counter: counted the same.
		expectProblem(t, s.call("POST", "/api/v1/orders", k.tom, map[string]any{"type": "takeaway", "send": true,
			"lines": []map[string]any{rulesLine(k.salad, 4)}}), 409, "out_of_stock")
		counter := kdsCreated(t, s.call("POST", "/api/v1/orders", k.tom, map[string]any{"type": "takeaway", "send": true,
			"lines": []map[string]any{rulesLine(k.salad, 3)}}), "check")
		if counter["status"] != "sent" {
			t.Fatalf("opened and sent: %v", counter["status"])
		}
		if st, _ := menuStock(); st != float64(0) {
			t.Fatalf("menu stock %v after selling the last three at the counter, want 0", st)
		}
		expectProblem(t, s.call("POST", "/api/v1/orders", k.tom, map[string]any{"type": "takeaway", "send": true,
			"lines": []map[string]any{rulesLine(k.salad, 1)}}), 422, "invalid_field", "lines[0].item_id")
	})
}

// TestOrderQuote: the quote of a check is what opening it would give, to
// the penny, and it writes nothing.
func TestOrderQuote(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		s := k.s
		body := map[string]any{"type": "dine_in", "covers": 6, "lines": []map[string]any{
			rulesLine(k.salad, 3), rulesLine(k.steak, 2, k.cook[0], k.sauces[0], k.sauces[1]), rulesLine(k.bread, 1),
			{"item_id": k.salad, "quantity": 1, "order_type": "takeaway"}}}
		count := k.orderCount(t)
		_, seq := k.events(t, k.owner, 0)
		r := s.call("POST", "/api/v1/orders/quote", k.tom, body)
		if r.Status != 200 {
			t.Fatalf("quote: %d %s", r.Status, r.Body)
		}
		quote := r.json(t)
		reconcile(t, quote)
		if n := k.orderCount(t); n != count {
			t.Fatalf("%d checks after a quote, %d before", n, count)
		}
		if evs, _ := k.events(t, k.owner, seq); len(evs) != 0 {
			t.Fatalf("a quote wrote events: %v", evs)
		}
		expectProblem(t, s.call("GET", "/api/v1/orders/"+quote["id"].(string), k.owner, nil), 404, "not_found")
		// A bad quote is refused as opening would be.
		expectProblem(t, s.call("POST", "/api/v1/orders/quote", k.tom, map[string]any{"type": "dine_in",
			"lines": []map[string]any{rulesLine(k.steak, 1)}}), 422, "invalid_field", "lines[0].modifiers")

		real := k.open(t, k.tom, body)
		q, _ := json.Marshal(quote["totals"])
		o, _ := json.Marshal(real["totals"])
		if string(q) != string(o) {
			t.Fatalf("quoted totals %s\nopened totals %s", q, o)
		}
		for i, x := range real["lines"].([]any) {
			q, _ := json.Marshal(quote["lines"].([]any)[i].(map[string]any)["price"])
			o, _ := json.Marshal(x.(map[string]any)["price"])
			if string(q) != string(o) {
				t.Fatalf("line %d quoted %s, opened %s", i, q, o)
			}
		}
		// The steak's sauces are priced per unit.
		steak := real["lines"].([]any)[1].(map[string]any)
		if g := amount(steak["price"].(map[string]any)["gross"]); g != 2*(2500+250+300) {
			t.Fatalf("steak gross %d", g)
		}
		if quote["service_charge"].(map[string]any)["rate_bp"] != real["service_charge"].(map[string]any)["rate_bp"] {
			t.Fatalf("service charge: quoted %v, opened %v", quote["service_charge"], real["service_charge"])
		}
	})
}

// fuzzOrderItem is an item of the fuzz tenant's menu, made once per process.
var fuzzOrderItem string

// FuzzOrderOps posts arbitrary bodies to a check's operations: whatever
// comes in, the answer is a success or a problem naming why, never a 5xx.
// ITEM and LINE in an input stand for a real item and a line of the check.
func FuzzOrderOps(f *testing.F) {
	for _, seed := range []string{
		`{"ops":[{"op_id":"a","type":"add_line","line":{"item_id":"ITEM","quantity":1}}]}`,
		`{"ops":[{"op_id":"a","type":"add_line","line":{"item_id":"ITEM","quantity":0,"seat":-1,"course":12}}]}`,
		`{"ops":[{"op_id":"a","type":"add_line","line":{"item_id":"ITEM","quantity":2,"id":"oln_01jdq3x2v8s9k7m4n5p6q7r8s9","order_type":"takeaway"}}]}`,
		`{"ops":[{"op_id":"a","type":"add_line","line":{"item_id":"ITEM","quantity":1,"id":"LINE"}}]}`,
		`{"ops":[{"op_id":"a","type":"add_line","line":{"item_id":"ITEM","quantity":1,"modifiers":[{"modifier_id":"mod_x","pre":"no"}]}}]}`,
		`{"ops":[{"op_id":"a","type":"add_line"}]}`,
		`{"ops":[{"op_id":"b","type":"change_line","line_id":"LINE","quantity":999,"seat":3,"order_type":""}]}`,
		`{"ops":[{"op_id":"b","type":"change_line","line_id":"LINE","modifiers":[]}]}`,
		`{"ops":[{"op_id":"c","type":"void_line","line_id":"LINE","reason":"x"},{"op_id":"d","type":"comp_line","line_id":"LINE","reason":"x"}]}`,
		`{"ops":[{"op_id":"e","type":"discount_check","discount":{"kind":"amount","amount":9223372036854775807,"reason":"x"}}]}`,
		`{"ops":[{"op_id":"e","type":"discount_check","discount":{"kind":"percent","percent_bp":10000,"reason":"x"}}]}`,
		`{"ops":[{"op_id":"e","type":"discount_line","line_id":"LINE","discount":{"kind":"amount","amount":1000000000000000,"reason":"x"}}]}`,
		`{"ops":[{"op_id":"e","type":"discount_line","line_id":"LINE","discount":null}]}`,
		`{"ops":[{"op_id":"f","type":"service_charge","waived":true}]}`,
		`{"ops":[{"op_id":"g","type":"serve_line","line_id":"LINE"}]}`,
		`{"ops":[{"op_id":"h","type":"explode"}]}`,
		`{"ops":[{"op_id":"","type":"add_line"}]}`,
		`{"ops":[]}`, `{"ops":null}`, `{}`, `[]`, `null`, `{"ops":[null]}`, `{"ops":[{"op_id":"a","type":"add_line","line":{"item_id":"ITEM","quantity":1e99}}]}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		s := fuzzServer(t)
		tok := fuzzTenant.Token
		if fuzzOrderItem == "" {
			tax := kdsCreated(t, s.call("POST", "/api/v1/tax-categories", tok, map[string]any{"name": "Fuzz food",
				"rates": map[string]int{"dine_in": 2000, "takeaway": 0, "delivery": 0}}), "tax category")["id"]
			cat := kdsCreated(t, s.call("POST", "/api/v1/categories", tok, map[string]any{"name": "Fuzz"}), "category")["id"]
			fuzzOrderItem = kdsCreated(t, s.call("POST", "/api/v1/items", tok, map[string]any{"category_id": cat, "name": "Fuzz dish",
				"tax_category_id": tax, "variants": []map[string]any{{"name": "R", "price": rulesGBP(1234)}}}), "item")["id"].(string)
		}
		// A fresh check per input, so no input finds one another filled up.
		o := kdsCreated(t, s.call("POST", "/api/v1/orders", tok, map[string]any{"location_id": fuzzTenant.LocationID, "type": "dine_in",
			"covers": 2, "lines": []map[string]any{rulesLine(fuzzOrderItem, 2)}}), "check")
		body = strings.NewReplacer("ITEM", fuzzOrderItem, "LINE", rulesLineIDs(o)[0]).Replace(body)
		path := "/api/v1/orders/" + o["id"].(string) + "/ops"
		r := s.call("POST", path, tok, body)
		if r.Status >= 500 {
			t.Fatalf("POST %s %q: %d %s", path, body, r.Status, r.Body)
		}
		if r.Status >= 300 {
			var p struct {
				Code   string `json:"code"`
				Status int    `json:"status"`
			}
			if err := json.Unmarshal(r.Body, &p); err != nil || p.Code == "" || p.Status != r.Status {
				t.Fatalf("POST %s %q: %d with a body that is not a problem: %s", path, body, r.Status, r.Body)
			}
			return
		}
		// Whatever was applied, the check still adds up.
		var out struct {
			Order map[string]any `json:"order"`
		}
		if err := json.Unmarshal(r.Body, &out); err != nil || out.Order == nil {
			t.Fatalf("POST %s %q: 200 with %s", path, body, r.Body)
		}
		reconcile(t, out.Order)
	})
}

// TestCheckSplitFollowsTheTotal: a split bill whose total then moves (more
// covers bring the service charge in, a void takes everything off) no
// longer adds up, so it is dropped rather than kept wrong.
func TestCheckSplitFollowsTheTotal(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		s := k.s
		loc := s.call("GET", "/api/v1/locations/"+k.loc, k.owner, nil).json(t)
		if r := s.call("PATCH", "/api/v1/locations/"+k.loc, k.owner, map[string]any{"version": loc["version"],
			"service_charge_bp": 1250, "service_charge_min_covers": 6}); r.Status != 200 {
			t.Fatalf("service charge: %d %s", r.Status, r.Body)
		}
		var table string
		for _, x := range s.call("GET", "/api/v1/tables?location_id="+k.loc, k.tom, nil).json(t)["tables"].([]any) {
			if tb := x.(map[string]any); tb["name"] == "16" {
				table = tb["id"].(string)
			}
		}
		o := k.open(t, k.tom, map[string]any{"type": "dine_in", "table_id": table, "covers": 2, "lines": []map[string]any{
			rulesLine(k.salad, 3), rulesLine(k.steak, 2, k.cook[1])}})
		id := o["id"].(string)
		o = k.act(t, k.tom, id, "split", map[string]any{"version": o["version"], "by": "equal", "parts": 3})
		reconcile(t, o)
		if st := s.call("GET", "/api/v1/tables/"+table, k.tom, nil).json(t)["status"]; st != "paying" {
			t.Fatalf("table after the split: %v", st)
		}
		before := rulesTotal(o)
		o = k.act(t, k.tom, id, "transfer", map[string]any{"version": o["version"], "covers": 8})
		if o["service_charge"].(map[string]any)["rate_bp"] != float64(1250) || rulesTotal(o) <= before {
			t.Fatalf("8 covers: service charge %v, total %d (was %d)", o["service_charge"], rulesTotal(o), before)
		}
		reconcile(t, o)
		reconcile(t, k.check(t, id))
		if o["split"] != nil {
			t.Fatalf("a split of %d kept on a total of %d: %v", before, rulesTotal(o), o["split"])
		}
		if st := s.call("GET", "/api/v1/tables/"+table, k.tom, nil).json(t)["status"]; st != "ordered" {
			t.Fatalf("table after the split was dropped: %v", st)
		}
		// Split again, then the manager voids the check.
		ids := rulesLineIDs(o)
		o = k.act(t, k.tom, id, "split", map[string]any{"version": o["version"], "by": "item", "groups": [][]string{{ids[0]}, {ids[1]}}})
		reconcile(t, o)
		o = k.act(t, k.maya, id, "void", map[string]any{"version": o["version"], "reason": "fire alarm"})
		reconcile(t, o)
		reconcile(t, k.check(t, id))
	})
}

// TestStockConcurrentSales: twelve iPads sell the last five at once: five
// sales go through, the rest are refused, and the count ends at zero,
// never below.
func TestStockConcurrentSales(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		k := startRulesKit(t, cfg)
		s := k.s
		if r := s.call("PUT", "/api/v1/locations/"+k.loc+"/availability/"+k.salad, k.owner, map[string]any{"version": 0, "unavailable": false, "stock": 5}); r.Status != 200 {
			t.Fatalf("set stock: %d %s", r.Status, r.Body)
		}
		// Half open a check with the salad, half add it to a check of their own.
		var open []map[string]any
		for i := 0; i < 6; i++ {
			open = append(open, k.open(t, k.aisha, map[string]any{"type": "dine_in", "lines": []map[string]any{rulesLine(k.bread, 1)}}))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for i := 0; i < 12; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var status int
				var body map[string]any
				var err error
				if i%2 == 0 {
					status, body, err = post(s.URL+"/api/v1/orders", k.tom, map[string]any{"type": "dine_in", "lines": []map[string]any{rulesLine(k.salad, 1)}})
				} else {
					status, body, err = post(s.URL+"/api/v1/orders/"+open[i/2]["id"].(string)+"/ops", k.tom,
						map[string]any{"ops": []map[string]any{rulesAdd("salad", rulesLine(k.salad, 1))}})
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					codes[err.Error()]++
				case status < 300:
					codes["sold"]++
				default:
					codes[fmt.Sprintf("%d %v", status, body["code"])]++
				}
			}()
		}
		wg.Wait()
		if codes["sold"] != 5 || codes["409 out_of_stock"]+codes["422 invalid_field"] != 7 {
			t.Fatalf("12 sales of the last 5: %v", codes)
		}
		m := s.call("GET", "/api/v1/locations/"+k.loc+"/menu", k.tom, nil).json(t)
		if st := m["availability"].(map[string]any)[k.salad].(map[string]any)["stock"]; st != float64(0) {
			t.Fatalf("stock %v after selling out", st)
		}
		sold := 0
		for _, x := range s.call("GET", "/api/v1/orders?limit=200", k.owner, nil).json(t)["orders"].([]any) {
			for _, l := range x.(map[string]any)["lines"].([]any) {
				if l := l.(map[string]any); l["item_id"] == k.salad && l["kitchen_state"] != "voided" {
					sold += int(l["quantity"].(float64))
				}
			}
		}
		if sold != 5 {
			t.Fatalf("%d salads on checks, 5 were in stock", sold)
		}
	})
}
