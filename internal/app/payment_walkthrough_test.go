package app_test

import (
	"testing"

	"github.com/fynlo/fynlo/internal/app"
)

// dishesFor finds demo dishes (no modifiers to choose) whose prices add up
// to want: the first such set in menu order, of up to four dishes.
func (f *demoFloor) dishesFor(t *testing.T, want int64) []map[string]any {
	t.Helper()
	type dish struct {
		item, variant string
		price         int64
	}
	var dishes []dish
	for _, x := range f.menu["items"].([]any) {
		it := x.(map[string]any)
		if len(it["modifier_group_ids"].([]any)) > 0 {
			continue
		}
		v := it["variants"].([]any)[0].(map[string]any)
		dishes = append(dishes, dish{it["id"].(string), v["id"].(string), amount(v["price"])})
	}
	var pick func(from int, left int64, chosen []dish) []dish
	pick = func(from int, left int64, chosen []dish) []dish {
		if left == 0 {
			return chosen
		}
		if len(chosen) == 4 {
			return nil
		}
		for i := from; i < len(dishes); i++ {
			if dishes[i].price <= left {
				if got := pick(i+1, left-dishes[i].price, append(chosen, dishes[i])); got != nil {
					return got
				}
			}
		}
		return nil
	}
	chosen := pick(0, want, nil)
	if chosen == nil {
		t.Fatalf("no demo dishes add up to %d", want)
	}
	var lines []map[string]any
	for _, d := range chosen {
		lines = append(lines, map[string]any{"item_id": d.item, "variant_id": d.variant, "quantity": 1})
	}
	return lines
}

// TestPaymentWalkthrough is issue 6's "done when", as a new user would do
// it in the demo: a £47.60 check paid £20 by card and the rest in cash with
// a 10% tip, one dish refunded by a server with a manager's override, the
// drawer closed £2 short, and a Z-report whose every figure reconciles.
func TestPaymentWalkthrough(t *testing.T) {
	engines(t, func(t *testing.T, cfg app.Config) {
		f := startDemoFloor(t, cfg)
		s := f.s
		drawer := s.call("GET", "/api/v1/cash-drawers?location_id="+f.loc, f.maya, nil).json(t)["drawers"].([]any)[0].(map[string]any)
		sess := s.call("POST", "/api/v1/cash-drawers/"+drawer["id"].(string)+"/sessions", f.maya, map[string]any{"float": gbp(10000)})
		if sess.Status != 201 {
			t.Fatalf("open the drawer: %d %s", sess.Status, sess.Body)
		}
		sessionPath := "/api/v1/cash-drawers/" + drawer["id"].(string) + "/sessions/" + sess.json(t)["id"].(string)

		// A bar tab of £47.60 (no service charge on a bar tab), sent to the kitchen.
		lines := f.dishesFor(t, 4760)
		r := s.call("POST", "/api/v1/orders", f.tom, map[string]any{"type": "bar_tab", "lines": lines, "send": true})
		if r.Status != 201 {
			t.Fatalf("open: %d %s", r.Status, r.Body)
		}
		check := r.json(t)
		id := check["id"].(string)
		if total := amount(check["totals"].(map[string]any)["total"]); total != 4760 {
			t.Fatalf("the check is %d, want 4760", total)
		}
		// 10% of the check, as the iPad offers it.
		var tip int64
		for _, x := range check["totals"].(map[string]any)["tip_suggestions"].([]any) {
			if x.(map[string]any)["percent_bp"].(float64) == 1000 {
				tip = amount(x.(map[string]any)["amount"])
			}
		}
		if tip != 476 {
			t.Fatalf("10%% of £47.60 offered as %d", tip)
		}

		card, _ := f.pay(t, f.tom, id, map[string]any{"method": "card", "amount": gbp(2000), "card": map[string]any{"payment_method": "pm_card_visa"}}, 201)
		if card["status"] != "captured" {
			t.Fatalf("card: %v", card["status"])
		}
		cash, check := f.pay(t, f.tom, id, map[string]any{"method": "cash", "tip": gbp(tip), "tendered": gbp(5000)}, 201)
		if amount(cash["amount"]) != 2760 || amount(cash["change"]) != 5000-2760-tip || check["status"] != "closed" {
			t.Fatalf("cash %v change %v; check %v", cash["amount"], cash["change"], check["status"])
		}

		// One dish refunded by Tom, with Maya's override.
		dish := check["lines"].([]any)[0].(map[string]any)
		dishPrice := amount(dish["price"].(map[string]any)["total"])
		refundBody := map[string]any{"amount": gbp(dishPrice), "reason": "sent back: " + dish["name"].(string)}
		expectProblem(t, s.call("POST", "/api/v1/payments/"+cash["id"].(string)+"/refunds", f.tom, refundBody), 403, "permission_denied")
		appr := s.call("POST", "/api/v1/auth/override", f.tom, map[string]string{"pin": "1111", "permission": "payment.refund", "reason": "dish sent back"})
		r = s.call("POST", "/api/v1/payments/"+cash["id"].(string)+"/refunds", f.tom, refundBody, "Fynlo-Approval", appr.json(t)["approval"].(string))
		if r.Status != 201 {
			t.Fatalf("refund with override: %d %s", r.Status, r.Body)
		}

		// The drawer counted £2 short: within £5, so the manager closes it.
		sum := s.call("GET", sessionPath, f.maya, nil).json(t)
		expected := amount(sum["summary"].(map[string]any)["expected"])
		if expected != 10000+2760+tip-dishPrice {
			t.Fatalf("drawer expects %d, want %d", expected, 10000+2760+tip-dishPrice)
		}
		r = s.call("POST", sessionPath+"/close", f.maya, map[string]any{"version": sum["version"], "counted": gbp(expected - 200)})
		if r.Status != 200 || amount(r.json(t)["variance"]) != -200 {
			t.Fatalf("close: %d %s", r.Status, r.Body)
		}

		// The Z-report: every figure reconciles.
		rep := s.call("GET", "/api/v1/reports/day?location_id="+f.loc+"&business_date="+check["business_date"].(string), f.maya, nil)
		if rep.Status != 200 {
			t.Fatalf("report: %d %s", rep.Status, rep.Body)
		}
		z := rep.json(t)
		if z["kind"] != "Z" {
			t.Fatalf("report kind %v (still open: %v)", z["kind"], z["still_open"])
		}
		for _, x := range z["reconciliation"].([]any) {
			if id := x.(map[string]any); id["holds"] != true {
				t.Errorf("%v does not hold: %v", id["name"], id)
			}
		}
		sales := z["sales"].(map[string]any)
		if amount(sales["total"]) != 4760 || amount(sales["gross"]) != 4760 {
			t.Errorf("sales %v", sales)
		}
		var vatGross int64
		for _, v := range z["vat"].([]any) {
			vatGross += amount(v.(map[string]any)["gross"])
		}
		if vatGross != 4760 {
			t.Errorf("VAT by rate adds up to %d gross, want 4760", vatGross)
		}
		tenders := map[string]map[string]any{}
		for _, x := range z["tenders"].(map[string]any)["methods"].([]any) {
			tenders[x.(map[string]any)["method"].(string)] = x.(map[string]any)
		}
		if amount(tenders["card"]["amount"]) != 2000 || amount(tenders["cash"]["amount"]) != 2760 || amount(tenders["cash"]["tips"]) != tip ||
			amount(tenders["cash"]["refunds"]) != dishPrice || amount(tenders["cash"]["change_given"]) != 5000-2760-tip {
			t.Errorf("tenders %v", tenders)
		}
		if tips := z["tips"].(map[string]any); amount(tips["total"]) != tip {
			t.Errorf("tips %v", tips)
		}
		c := z["cash"].(map[string]any)
		if amount(c["expected"]) != expected || amount(c["counted"]) != expected-200 || amount(c["variance"]) != -200 {
			t.Errorf("cash %v", c)
		}
		if refunds := z["refunds"].(map[string]any); amount(refunds["total"]) != dishPrice || refunds["count"].(float64) != 1 {
			t.Errorf("refunds %v", refunds)
		}
		if checks := z["checks"].(map[string]any); checks["closed"].(float64) != 1 || amount(checks["average_check"]) != 4760 {
			t.Errorf("checks %v", checks)
		}
	})
}
