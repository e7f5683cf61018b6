package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestParseCheckTemplate(t *testing.T) {
	create := `{"id":"ord_1","organization_id":"org_1","location_id":"loc_1","server_id":"emp_1","type":"dine_in","currency":"GBP",` +
		`"status":"open","lines":[{"id":"oln_a","kitchen_state":"new"},{"id":"oln_b","kitchen_state":"new"}],"totals":{"total":{"amount":1250}}}`
	send := `{"order":{"id":"ord_1","organization_id":"org_1","location_id":"loc_1","server_id":"emp_1","type":"dine_in","currency":"GBP",` +
		`"status":"sent","lines":[{"id":"oln_a","kitchen_state":"sent"},{"id":"oln_b","kitchen_state":"sent"}],"totals":{"total":{"amount":1250}}},` +
		`"tickets":[{"id":"tkt_1","station":"bar","lines":[{"line_id":"oln_b"}]},{"id":"tkt_2","station":"grill","lines":[{"line_id":"oln_a"}]}]}`
	r, err := parseCheckTemplate(checkTemplate{Create: json.RawMessage(create), Send: json.RawMessage(send)})
	if err != nil {
		t.Fatal(err)
	}
	if r.orgID != "org_1" || r.locationID != "loc_1" || r.actorID != "emp_1" || r.total != 1250 || r.currency != "GBP" {
		t.Errorf("identifiers: %+v", r)
	}
	if len(r.linesSent) != 2 || len(r.tickets) != 2 || r.stations[0] != "bar" || r.lineStation[0] != 1 || r.lineStation[1] != 0 {
		t.Errorf("lines %d, tickets %d, stations %v, line → ticket %v", len(r.linesSent), len(r.tickets), r.stations, r.lineStation)
	}
	if bytes.Contains(r.orderSent, []byte(`"lines"`)) || !bytes.Contains(r.orderSent, []byte(`"sent"`)) || !bytes.Contains(r.orderOpen, []byte(`"open"`)) {
		t.Errorf("order bodies: %s / %s", r.orderOpen, r.orderSent)
	}
	if !json.Valid(r.bothAnswer) || len(r.bothAnswer) < len(create)+len(send) {
		t.Errorf("one-transaction answer: %d bytes, valid %v", len(r.bothAnswer), json.Valid(r.bothAnswer))
	}
}
