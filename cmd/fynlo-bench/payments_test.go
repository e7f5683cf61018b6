package main

import (
	"strings"
	"testing"
	"time"
)

func TestPhaseChecks(t *testing.T) {
	if n := phaseChecks(0, 2*time.Second, 10*time.Second, 2500); n != 30000 {
		t.Errorf("auto at 2,500/s over 12 s: %d, want 30000", n)
	}
	if n := phaseChecks(0, 0, 1500*time.Millisecond, 1000); n != 1500 {
		t.Errorf("auto at 1,000/s over 1.5 s: %d, want 1500", n)
	}
	if n := phaseChecks(700, 2*time.Second, 10*time.Second, 2500); n != 700 {
		t.Errorf("given 700: %d", n)
	}
}

func TestParseOpened(t *testing.T) {
	ok := `{"id":"ord_1","status":"sent","lines":[{"id":"oln_a","status":"open"}],"totals":{"subtotal":{"amount":1000},"total":{"amount":1250,"currency":"GBP"}},` +
		`"payments":{"balance":{"amount":1250}}}`
	c, err := parseOpened(201, []byte(ok))
	if err != nil || c.id != "ord_1" || c.total != 1250 {
		t.Fatalf("%+v, %v", c, err)
	}
	for _, bad := range []struct {
		status int
		body   string
	}{
		{422, `{"code":"invalid"}`},
		{201, strings.Replace(ok, `"status":"sent"`, `"status":"open"`, 1)}, // send: true not honoured
		{201, `{"id":"ord_1","status":"sent","totals":{"total":{"amount":0}}}`},
		{201, `not json`},
	} {
		if _, err := parseOpened(bad.status, []byte(bad.body)); err == nil {
			t.Errorf("%d %s: accepted", bad.status, bad.body)
		}
	}
}

func TestCheckPayAnswer(t *testing.T) {
	chk := openCheck{id: "ord_1", total: 1250}
	// Nested statuses (the lines', the history's) must not be taken for
	// the payment's or the check's.
	ok := `{"payment":{"id":"pay_1","method":"card","provider":"simulated","status":"captured","amount":{"amount":1250,"currency":"GBP"},` +
		`"history":[{"to":"pending"},{"from":"pending","to":"captured"}]},` +
		`"order":{"id":"ord_1","status":"closed","lines":[{"status":"sent"}],"payments":{"balance":{"amount":0}}}}`
	if err := checkPayAnswer(201, []byte(ok), chk, "card"); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		status int
		body   string
		method string
		want   string
	}{
		"status":        {409, `{"code":"nothing_to_pay"}`, "card", "status 409"},
		"method":        {201, ok, "cash", "answered to a cash"},
		"declined":      {201, strings.Replace(strings.Replace(ok, `"status":"captured"`, `"status":"failed","failure":{"code":"card_declined"}`, 1), `"status":"closed"`, `"status":"sent"`, 1), "card", "failed (card_declined)"},
		"not closed":    {201, strings.Replace(ok, `"status":"closed"`, `"status":"sent"`, 1), "card", "not closed"},
		"other check":   {201, strings.Replace(ok, `"id":"ord_1"`, `"id":"ord_2"`, 1), "card", "not the one paid"},
		"part of total": {201, strings.Replace(ok, `"amount":1250`, `"amount":1000`, 1), "card", "of 1000 for a check of 1250"},
		"bad json":      {201, `{"payment":`, "card", "answer"},
	} {
		err := checkPayAnswer(c.status, []byte(c.body), chk, c.method)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
}

func TestCardVerdict(t *testing.T) {
	for _, c := range []struct {
		one, many bool
		want      string
	}{
		{true, true, "MET"}, {false, false, "MISSED"},
		{true, false, "MET at 1 client, MISSED at 32 clients"}, {false, true, "MISSED at 1 client, MET at 32 clients"},
	} {
		if got := cardVerdict(c.one, c.many, 32); got != c.want {
			t.Errorf("%v/%v: %q, want %q", c.one, c.many, got, c.want)
		}
	}
}

func TestCheckPool(t *testing.T) {
	p := &checkPool{checks: []openCheck{{id: "a"}, {id: "b"}, {id: "c"}}}
	if c, ok := p.take(); !ok || c.id != "a" {
		t.Fatalf("first: %v %v", c, ok)
	}
	p.take()
	if r := p.rest(); len(r) != 1 || r[0].id != "c" || p.used() != 2 {
		t.Fatalf("rest %v, used %d", r, p.used())
	}
	p.take()
	if _, ok := p.take(); ok || p.used() != 3 || len(p.rest()) != 0 {
		t.Fatalf("empty pool: ok %v, used %d, rest %d", ok, p.used(), len(p.rest()))
	}
}

func TestMedianPay(t *testing.T) {
	rs := []payPhase{
		{loadResult: loadResult{RPS: 100, P99MS: 9}, Method: "cash", Clients: 32, WriteKB: 3},
		{loadResult: loadResult{RPS: 300, P99MS: 5}, Method: "cash", Clients: 32, WriteKB: 1, RanOut: true},
		{loadResult: loadResult{RPS: 200, P99MS: 7}, Method: "cash", Clients: 32, WriteKB: 2},
	}
	m := medianPay(rs)
	if m.RPS != 200 || m.P99MS != 7 || m.WriteKB != 2 || m.Method != "cash" || m.Clients != 32 || !m.RanOut {
		t.Fatalf("%+v", m)
	}
}
