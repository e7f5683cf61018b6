package tenant

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
)

func TestBusinessDate(t *testing.T) {
	cases := []struct {
		name, tz, cutoff, utc, want string
	}{
		{"midday", "Europe/London", "04:00", "2026-11-26T12:00:00Z", "2026-11-26"},
		{"01:30 local is last night", "Europe/London", "04:00", "2026-11-27T01:30:00Z", "2026-11-26"},
		{"a second before the cutoff", "Europe/London", "04:00", "2026-11-27T03:59:59Z", "2026-11-26"},
		{"at the cutoff", "Europe/London", "04:00", "2026-11-27T04:00:00Z", "2026-11-27"},
		{"BST 03:59", "Europe/London", "04:00", "2026-07-01T02:59:00Z", "2026-06-30"},
		{"BST 04:00", "Europe/London", "04:00", "2026-07-01T03:00:00Z", "2026-07-01"},
		{"BST 01:30 is last night", "Europe/London", "04:00", "2026-07-01T00:30:00Z", "2026-06-30"},
		{"clocks go forward: 03:30 BST", "Europe/London", "04:00", "2026-03-29T02:30:00Z", "2026-03-28"},
		{"clocks go forward: 04:00 BST", "Europe/London", "04:00", "2026-03-29T03:00:00Z", "2026-03-29"},
		{"clocks go back: first 01:30 (BST)", "Europe/London", "04:00", "2026-10-25T00:30:00Z", "2026-10-24"},
		{"clocks go back: second 01:30 (GMT)", "Europe/London", "04:00", "2026-10-25T01:30:00Z", "2026-10-24"},
		{"clocks go back: 04:00 GMT", "Europe/London", "04:00", "2026-10-25T04:00:00Z", "2026-10-25"},
		{"New York spring forward 01:30 EST", "America/New_York", "04:00", "2026-03-08T06:30:00Z", "2026-03-07"},
		{"New York spring forward 03:30 EDT", "America/New_York", "04:00", "2026-03-08T07:30:00Z", "2026-03-07"},
		{"New York spring forward 04:00 EDT", "America/New_York", "04:00", "2026-03-08T08:00:00Z", "2026-03-08"},
		{"New York midnight cutoff 23:59", "America/New_York", "00:00", "2026-11-27T04:59:00Z", "2026-11-26"},
		// Santiago skips 00:00-01:00 on 2026-09-06: the night after, 00:30
		// belongs to the 6th, not (by a local day back into the gap) the 5th.
		{"Santiago after a midnight DST gap", "America/Santiago", "04:00", "2026-09-07T03:30:00Z", "2026-09-06"},
		{"Santiago in the gap's night", "America/Santiago", "04:00", "2026-09-06T04:30:00Z", "2026-09-05"},
		{"new year's night", "Europe/London", "04:00", "2027-01-01T01:30:00Z", "2026-12-31"},
		{"Tokyo, ahead of UTC", "Asia/Tokyo", "05:30", "2026-11-26T20:00:00Z", "2026-11-26"}, // 05:00 on the 27th
		{"Tokyo at its cutoff", "Asia/Tokyo", "05:30", "2026-11-26T20:30:00Z", "2026-11-27"},
		{"invalid location: UTC, midnight", "Mars/Olympus", "4am", "2026-11-27T01:30:00Z", "2026-11-27"},
	}
	for _, c := range cases {
		at, err := time.Parse(time.RFC3339, c.utc)
		if err != nil {
			t.Fatal(err)
		}
		l := &Location{Timezone: c.tz, BusinessDayEnd: c.cutoff}
		if got := l.BusinessDate(at); got != c.want {
			t.Errorf("%s: BusinessDate(%s) in %s, cutoff %s = %s; want %s", c.name, c.utc, c.tz, c.cutoff, got, c.want)
		}
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

func TestCheckSettingsDefaultsAndValidation(t *testing.T) {
	org := &Organization{ID: "org_1", Country: "GB", Currency: "GBP", Timezone: "Europe/London"}
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	l, err := NewLocation(org, LocationInput{Name: "Soho"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if l.ServiceChargeBP != 0 || l.ServiceChargeMinCovers != 0 || !l.GratuityEnabled ||
		!slices.Equal(l.GratuityPresetsBP, []int{500, 1000, 2000}) || l.TaxRounding != TaxRoundPerCheck {
		t.Fatalf("check defaults: %+v", l)
	}
	l.GratuityPresetsBP[0] = 1 // a location's presets are its own
	if DefaultGratuityPresetsBP[0] != 500 {
		t.Fatal("NewLocation shares DefaultGratuityPresetsBP")
	}

	off := false
	l, err = NewLocation(org, LocationInput{Name: "Soho", ServiceChargeBP: 1250, ServiceChargeMinCovers: 6,
		GratuityEnabled: &off, GratuityPresetsBP: []int{1000, 1250}, TaxRounding: TaxRoundPerLine}, now)
	if err != nil {
		t.Fatal(err)
	}
	if l.ServiceChargeBP != 1250 || l.ServiceChargeMinCovers != 6 || l.GratuityEnabled ||
		!slices.Equal(l.GratuityPresetsBP, []int{1000, 1250}) || !l.TaxPerLine() {
		t.Fatalf("check settings: %+v", l)
	}

	bad := []struct {
		name  string
		in    LocationInput
		field string
	}{
		{"charge above 100%", LocationInput{ServiceChargeBP: 10001}, "service_charge_bp"},
		{"negative charge", LocationInput{ServiceChargeBP: -1}, "service_charge_bp"},
		{"covers above 100", LocationInput{ServiceChargeMinCovers: 101}, "service_charge_min_covers"},
		{"negative covers", LocationInput{ServiceChargeMinCovers: -1}, "service_charge_min_covers"},
		{"no presets", LocationInput{GratuityPresetsBP: []int{}}, "gratuity_presets_bp"},
		{"six presets", LocationInput{GratuityPresetsBP: []int{1, 2, 3, 4, 5, 6}}, "gratuity_presets_bp"},
		{"zero preset", LocationInput{GratuityPresetsBP: []int{0, 500}}, "gratuity_presets_bp"},
		{"preset above 100%", LocationInput{GratuityPresetsBP: []int{500, 10001}}, "gratuity_presets_bp"},
		{"descending presets", LocationInput{GratuityPresetsBP: []int{2000, 1000}}, "gratuity_presets_bp"},
		{"repeated preset", LocationInput{GratuityPresetsBP: []int{1000, 1000}}, "gratuity_presets_bp"},
		{"unknown rounding", LocationInput{TaxRounding: "per_item"}, "tax_rounding"},
	}
	for _, c := range bad {
		c.in.Name = "X"
		_, err := NewLocation(org, c.in, now)
		ae, ok := err.(*apperr.Error)
		if !ok || ae.Kind != apperr.Invalid || len(ae.Fields) != 1 || ae.Fields[0].Field != c.field {
			t.Errorf("%s: err = %v, want one field error on %s", c.name, err, c.field)
		}
	}
	for _, ok := range [][]int{{1}, {10000}, {100, 200, 300, 400, 10000}} {
		if _, err := NewLocation(org, LocationInput{Name: "X", GratuityPresetsBP: ok}, now); err != nil {
			t.Errorf("presets %v: %v", ok, err)
		}
	}
}

func TestServiceChargeFor(t *testing.T) {
	cases := []struct {
		rate, minCovers int
		orderType       string
		covers, want    int
	}{
		{1250, 0, "dine_in", 0, 1250}, // min 0: every dine-in check, even without covers
		{1250, 0, "dine_in", 2, 1250},
		{1250, 0, "takeaway", 2, 0},
		{1250, 0, "delivery", 2, 0},
		{1250, 0, "bar_tab", 2, 0},
		{1250, 6, "dine_in", 5, 0},
		{1250, 6, "dine_in", 6, 1250},
		{1250, 6, "dine_in", 12, 1250},
		{1250, 6, "takeaway", 12, 0},
		{0, 0, "dine_in", 4, 0}, // no service charge at this location
		{0, 6, "dine_in", 8, 0},
	}
	for _, c := range cases {
		l := &Location{ServiceChargeBP: c.rate, ServiceChargeMinCovers: c.minCovers}
		if got := l.ServiceChargeFor(c.orderType, c.covers); got != c.want {
			t.Errorf("rate %d min %d: ServiceChargeFor(%s, %d) = %d, want %d", c.rate, c.minCovers, c.orderType, c.covers, got, c.want)
		}
	}
}

func TestTipPresets(t *testing.T) {
	l := &Location{GratuityEnabled: true, GratuityPresetsBP: []int{500, 1000}}
	got := l.TipPresets()
	if !slices.Equal(got, []int{500, 1000}) {
		t.Fatalf("TipPresets = %v", got)
	}
	got[0] = 1
	if l.GratuityPresetsBP[0] != 500 {
		t.Fatal("TipPresets returned the location's own slice")
	}
	l.GratuityEnabled = false
	if got := l.TipPresets(); got != nil {
		t.Fatalf("gratuity off: TipPresets = %v, want nil", got)
	}
}

// memStore is a Store of one organization's locations in memory.
type memStore struct {
	org  *Organization
	locs map[string]*Location
}

func (m *memStore) FindOrganizationByID(_ context.Context, id string) (*Organization, error) {
	if id != m.org.ID {
		return nil, apperr.New(apperr.NotFound, "not_found", "organization not found")
	}
	return m.org, nil
}

func (m *memStore) CreateLocation(_ context.Context, l *Location) error {
	c := *l
	m.locs[l.ID] = &c
	return nil
}

func (m *memStore) FindLocationByID(_ context.Context, orgID, id string) (*Location, error) {
	l, ok := m.locs[id]
	if !ok || l.OrgID != orgID {
		return nil, apperr.New(apperr.NotFound, "not_found", "location not found")
	}
	c := *l
	return &c, nil
}

func (m *memStore) FindLocations(context.Context, string, LocationFilter) ([]*Location, error) {
	return nil, nil
}

func (m *memStore) UpdateLocation(ctx context.Context, orgID, id string, update func(*Location) error) (*Location, error) {
	l, err := m.FindLocationByID(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	l.GratuityPresetsBP = slices.Clone(l.GratuityPresetsBP)
	if err := update(l); err != nil {
		return nil, err
	}
	m.locs[id] = l
	return l, nil
}

func TestUpdateLocationCheckSettings(t *testing.T) {
	ctx := context.Background()
	st := &memStore{org: &Organization{ID: "org_1", Country: "GB", Currency: "GBP", Timezone: "Europe/London"}, locs: map[string]*Location{}}
	svc := NewService(st, func() time.Time { return time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) })
	l, err := svc.CreateLocation(ctx, "org_1", LocationInput{Name: "Soho"})
	if err != nil {
		t.Fatal(err)
	}
	charge, covers, off, rounding := 1250, 8, false, TaxRoundPerLine
	l, err = svc.UpdateLocation(ctx, "org_1", l.ID, LocationPatch{Version: 1, ServiceChargeBP: &charge, ServiceChargeMinCovers: &covers,
		GratuityEnabled: &off, GratuityPresetsBP: []int{1000, 1500, 2000}, TaxRounding: &rounding})
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 2 || l.ServiceChargeBP != 1250 || l.ServiceChargeMinCovers != 8 || l.GratuityEnabled ||
		!slices.Equal(l.GratuityPresetsBP, []int{1000, 1500, 2000}) || l.TaxRounding != TaxRoundPerLine {
		t.Fatalf("patched: %+v", l)
	}
	// A patch without the settings leaves them be.
	name := "Soho Yard"
	if l, err = svc.UpdateLocation(ctx, "org_1", l.ID, LocationPatch{Version: 2, Name: &name}); err != nil ||
		l.ServiceChargeBP != 1250 || !slices.Equal(l.GratuityPresetsBP, []int{1000, 1500, 2000}) {
		t.Fatalf("unrelated patch: %+v, %v", l, err)
	}
	// A bad value is refused naming the field, and changes nothing.
	tooMuch := 10001
	_, err = svc.UpdateLocation(ctx, "org_1", l.ID, LocationPatch{Version: 3, ServiceChargeBP: &tooMuch, GratuityPresetsBP: []int{500, 200}})
	ae, ok := err.(*apperr.Error)
	if !ok || ae.Kind != apperr.Invalid || len(ae.Fields) != 2 || ae.Fields[0].Field != "service_charge_bp" || ae.Fields[1].Field != "gratuity_presets_bp" {
		t.Fatalf("bad patch: %v", err)
	}
	if cur, _ := svc.Location(ctx, "org_1", l.ID); cur.Version != 3 || cur.ServiceChargeBP != 1250 {
		t.Fatalf("a refused patch changed the location: %+v", cur)
	}
}
