package tenant

import (
	"strings"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
)

func TestBusinessDate(t *testing.T) {
	l := &Location{Timezone: "Europe/London", BusinessDayEnd: "04:00"}
	cases := []struct {
		utc  string
		want string
	}{
		{"2026-11-26T12:00:00Z", "2026-11-26"},
		{"2026-11-27T01:30:00Z", "2026-11-26"}, // a late bar tab counts for the night before
		{"2026-11-27T03:59:59Z", "2026-11-26"},
		{"2026-11-27T04:00:00Z", "2026-11-27"},
		{"2026-07-01T02:59:00Z", "2026-06-30"}, // BST: 03:59 local
		{"2026-07-01T03:00:00Z", "2026-07-01"}, // BST: 04:00 local
		{"2026-03-29T02:30:00Z", "2026-03-28"}, // the night clocks go forward: 03:30 BST
	}
	for _, c := range cases {
		at, _ := time.Parse(time.RFC3339, c.utc)
		got, err := l.BusinessDate(at)
		if err != nil || got != c.want {
			t.Errorf("BusinessDate(%s) = %s, %v; want %s", c.utc, got, err, c.want)
		}
	}
	midnight := &Location{Timezone: "America/New_York", BusinessDayEnd: "00:00"}
	if got, _ := midnight.BusinessDate(time.Date(2026, 11, 27, 4, 59, 0, 0, time.UTC)); got != "2026-11-26" {
		t.Errorf("New York 23:59 = %s", got)
	}
}

func TestNewLocationDefaultsAndValidation(t *testing.T) {
	org := &Organization{ID: "org_1", Country: "GB", Currency: "GBP", Timezone: "Europe/London"}
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	l, err := NewLocation(org, LocationInput{Name: "  Soho  "}, now)
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "Soho" || l.Currency != "GBP" || l.Timezone != "Europe/London" || l.BusinessDayEnd != "04:00" ||
		l.Address.Country != "GB" || l.Version != 1 || !strings.HasPrefix(l.ID, "loc_") {
		t.Fatalf("defaults: %+v", l)
	}
	_, err = NewLocation(org, LocationInput{Name: "", Currency: "ZZZ", Timezone: "Local", BusinessDayEnd: "4am", VATNumber: "gb-123!"}, now)
	ae, ok := err.(*apperr.Error)
	if !ok || ae.Kind != apperr.Invalid {
		t.Fatalf("err = %v", err)
	}
	got := map[string]bool{}
	for _, f := range ae.Fields {
		got[f.Field] = true
	}
	for _, f := range []string{"name", "currency", "timezone", "business_day_cutoff", "vat_number"} {
		if !got[f] {
			t.Errorf("no error for %s: %+v", f, ae.Fields)
		}
	}
}
