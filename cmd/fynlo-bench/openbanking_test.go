package main

import (
	"strings"
	"testing"
)

func TestOBEvent(t *testing.T) {
	// As the server frames an event: the envelope's subject before its data,
	// whose nested objects have statuses of their own.
	ev := `{"seq":41,"organization_id":"org_1","location_id":"loc_1","type":"payment.updated","subject_id":"pay_9",` +
		`"data":{"id":"pay_9","order_id":"ord_3","status":"captured","amount":{"amount":1250,"currency":"GBP"},` +
		`"open_banking":{"status":"settled","link":"http://x/sandbox-bank/sbx_1","mode":"test"},"history":[{"from":"pending","to":"requires_action"}]},` +
		`"at":"2026-11-27T10:00:00Z"}`
	if s := subjectOf([]byte(ev)); s != "pay_9" {
		t.Fatalf("subject %q", s)
	}
	e, err := parseOBEvent([]byte(ev))
	if err != nil || e.Type != "payment.updated" || e.Data.Status != "captured" || e.Data.OpenBanking == nil || e.Data.OpenBanking.Status != "settled" {
		t.Fatalf("%+v, %v", e, err)
	}
	if s := subjectOf([]byte(`{"type":"order.updated"}`)); s != "" {
		t.Fatalf("no subject: %q", s)
	}
}

func TestCheckQRAnswer(t *testing.T) {
	ok := `{"payment":{"id":"pay_1","method":"open_banking","status":"requires_action","provider":"sandbox_bank","amount":{"amount":1250},` +
		`"open_banking":{"status":"authorization_required","link":"http://127.0.0.1:1/sandbox-bank/sbx_1","mode":"test"}},"order":{"id":"ord_1"}}`
	c := openCheck{id: "ord_1", total: 1250}
	p, _, err := checkQRAnswer(201, []byte(ok), c)
	if err != nil || p.id != "pay_1" || p.orderID != "ord_1" || !strings.HasSuffix(p.link, "/sandbox-bank/sbx_1") {
		t.Fatalf("%+v, %v", p, err)
	}
	for _, bad := range []struct {
		status int
		body   string
	}{
		{409, `{"code":"conflict"}`},
		{201, strings.Replace(ok, `"requires_action"`, `"failed"`, 1)},
		{201, strings.Replace(ok, `"link":"http://127.0.0.1:1/sandbox-bank/sbx_1",`, ``, 1)},
		{201, strings.Replace(ok, `"method":"open_banking"`, `"method":"card"`, 1)},
		{201, strings.Replace(ok, `"ord_1"`, `"ord_2"`, 1)},
		{201, strings.Replace(ok, `"amount":1250`, `"amount":1000`, 1)},
	} {
		if _, _, err := checkQRAnswer(bad.status, []byte(bad.body), c); err == nil {
			t.Errorf("%d %s: accepted", bad.status, bad.body)
		}
	}
}

func TestMedianStats(t *testing.T) {
	got := medianStats([]durationStats{{N: 10, P50MS: 1, P99MS: 9}, {}, {N: 12, P50MS: 3, P99MS: 5}, {N: 11, P50MS: 2, P99MS: 30}})
	if got.N != 11 || got.P50MS != 2 || got.P99MS != 9 {
		t.Fatalf("%+v", got)
	}
	if got := medianStats([]durationStats{{}, {}}); got.N != 0 {
		t.Fatalf("no samples: %+v", got)
	}
}
