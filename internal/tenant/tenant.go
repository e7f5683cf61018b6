// Package tenant holds organizations (the businesses that use Fynlo) and
// their locations (the restaurants), with the settings every other domain
// reads: timezone, currency, country, VAT registration and the time the
// business day rolls over.
package tenant

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/money"
)

// Organization is one business: a single restaurant or a group.
type Organization struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Country   string    `json:"country"`  // ISO 3166-1 alpha-2
	Currency  string    `json:"currency"` // ISO 4217, the default for new locations
	Timezone  string    `json:"timezone"` // IANA, the default for new locations
	CreatedAt time.Time `json:"created_at"`
}

// Address is a postal address.
type Address struct {
	Line1    string `json:"line1,omitempty" maxLength:"200"`
	Line2    string `json:"line2,omitempty" maxLength:"200"`
	City     string `json:"city,omitempty" maxLength:"100"`
	Region   string `json:"region,omitempty" maxLength:"100"`
	Postcode string `json:"postcode,omitempty" maxLength:"20"`
	Country  string `json:"country,omitempty" maxLength:"2" doc:"ISO 3166-1 alpha-2; defaults to the location's country"`
}

// Location is one restaurant of an organization.
type Location struct {
	ID             string  `json:"id"`
	OrgID          string  `json:"organization_id"`
	Name           string  `json:"name"`
	Address        Address `json:"address"`
	Country        string  `json:"country"`
	Timezone       string  `json:"timezone"`
	Currency       string  `json:"currency"`
	VATNumber      string  `json:"vat_number" doc:"VAT registration number; empty when not registered"`
	BusinessDayEnd string  `json:"business_day_cutoff" doc:"local time HH:MM at which the business day rolls over, e.g. 04:00"`
	TaxMode        string  `json:"tax_mode" enum:"inclusive,exclusive" doc:"inclusive: menu prices include VAT (UK, EU); exclusive: tax is added at the till (US sales tax)"`

	// Check settings: what the order engine adds to a check here.
	ServiceChargeBP        int    `json:"service_charge_bp" minimum:"0" maximum:"10000" doc:"discretionary service charge in basis points, e.g. 1250 = 12.5%; 0 for none"`
	ServiceChargeMinCovers int    `json:"service_charge_min_covers" minimum:"0" maximum:"100" doc:"the service charge is added automatically to dine-in checks with at least this many covers; 0: every dine-in check"`
	GratuityEnabled        bool   `json:"gratuity_enabled" doc:"whether the POS offers the guest tip presets"`
	GratuityPresetsBP      []int  `json:"gratuity_presets_bp" minItems:"1" maxItems:"5" doc:"the tip presets the POS offers, in basis points, strictly ascending: 1 to 5 values of 1 to 10000, default [500, 1000, 2000]"`
	TaxRounding            string `json:"tax_rounding" enum:"per_check,per_line" doc:"per_check: tax is rounded once per rate per check; per_line: each line's tax is rounded (HMRC allows either)"`

	Version   int64     `json:"version" doc:"increments on every change; send it back on PATCH"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Event types written by this domain.
const (
	EventOrganizationCreated = "organization.created"
	EventLocationCreated     = "location.created"
	EventLocationUpdated     = "location.updated"
)

// LocationFilter selects a page of locations.
type LocationFilter struct {
	After string // return locations with an ID after this one
	Limit int
	At    string // a staff token's location: only it is listed ("" for all)
}

// Reaches refuses, as not found, a location other than at, the one a staff
// token is confined to ("" for a user's token, which reaches them all). A
// location of the organization the caller may not act at does not exist
// for it, like one of another organization.
func Reaches(at, locationID string) error {
	if at != "" && at != locationID {
		return apperr.NotFoundf("location")
	}
	return nil
}

// Store persists organizations and locations. Every method that changes
// state writes its event in the same transaction.
type Store interface {
	// FindOrganizationByID errors: NotFound.
	FindOrganizationByID(ctx context.Context, id string) (*Organization, error)
	// CreateLocation inserts l. Errors: Conflict if the ID is taken.
	CreateLocation(ctx context.Context, l *Location) error
	// FindLocationByID returns a location of org. Errors: NotFound.
	FindLocationByID(ctx context.Context, orgID, id string) (*Location, error)
	// FindLocations returns a page of org's locations in ID order.
	FindLocations(ctx context.Context, orgID string, f LocationFilter) ([]*Location, error)
	// UpdateLocation loads the location in a write transaction, lets update
	// change it, and saves the result with its version incremented.
	// Errors: NotFound, whatever update returns.
	UpdateLocation(ctx context.Context, orgID, id string, update func(*Location) error) (*Location, error)
}

// Service applies the rules for organizations and locations.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service over store; now is the clock.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: now}
}

// LocationInput is what a caller may set on a new location. Empty fields
// default to the organization's settings.
type LocationInput struct {
	ID             string // optional client-supplied ID
	Name           string
	Address        Address
	Country        string
	Timezone       string
	Currency       string
	VATNumber      string
	BusinessDayEnd string
	TaxMode        string // "" for the country's custom

	ServiceChargeBP        int    // 0: none
	ServiceChargeMinCovers int    // 0: every dine-in check
	GratuityEnabled        *bool  // nil: true
	GratuityPresetsBP      []int  // nil: DefaultGratuityPresetsBP
	TaxRounding            string // "": TaxRoundPerCheck
}

// Tax modes: whether menu prices include tax.
const (
	TaxInclusive = "inclusive" // the price is what the guest pays; VAT is inside it (UK, EU, Australia)
	TaxExclusive = "exclusive" // tax is added to the price at the till (US and Canadian sales tax)
)

// DefaultTaxMode is the custom of a country: sales-tax countries add tax
// at the till, VAT countries show it inside the price.
func DefaultTaxMode(country string) string {
	if country == "US" || country == "CA" {
		return TaxExclusive
	}
	return TaxInclusive
}

// Tax rounding: where the pricing engine rounds tax to the minor unit
// (half-up). HMRC accepts either, consistently applied.
const (
	TaxRoundPerCheck = "per_check" // once per tax rate per check, on the sum of its lines
	TaxRoundPerLine  = "per_line"  // on each line, then summed
)

// DefaultGratuityPresetsBP are the tip presets a new location offers:
// 5%, 10% and 20%. Callers must not change it.
var DefaultGratuityPresetsBP = []int{500, 1000, 2000}

// orderTypeDineIn is the one order type a service charge applies to.
const orderTypeDineIn = "dine_in"

// Limits of the check settings.
const (
	maxRateBP           = 10000 // 100%
	maxServiceMinCovers = 100
	maxGratuityPresets  = 5
)

// DefaultBusinessDayEnd is when a business day rolls over unless a location
// says otherwise: late enough that a bar's 1 a.m. sales count for the night before.
const DefaultBusinessDayEnd = "04:00"

// NewLocation builds and validates a location of org from in, filling
// defaults from the organization and a new ID unless the client chose one.
// It does not store it.
func NewLocation(org *Organization, in LocationInput, now time.Time) (*Location, error) {
	l := &Location{
		ID: in.ID, OrgID: org.ID, Name: strings.TrimSpace(in.Name), Address: in.Address,
		Country: in.Country, Timezone: in.Timezone, Currency: in.Currency,
		VATNumber: strings.TrimSpace(in.VATNumber), BusinessDayEnd: in.BusinessDayEnd, TaxMode: in.TaxMode,
		ServiceChargeBP: in.ServiceChargeBP, ServiceChargeMinCovers: in.ServiceChargeMinCovers, GratuityEnabled: true,
		GratuityPresetsBP: slices.Clone(in.GratuityPresetsBP), TaxRounding: in.TaxRounding,
		Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if in.GratuityEnabled != nil {
		l.GratuityEnabled = *in.GratuityEnabled
	}
	if in.GratuityPresetsBP == nil {
		l.GratuityPresetsBP = slices.Clone(DefaultGratuityPresetsBP)
	}
	if l.TaxRounding == "" {
		l.TaxRounding = TaxRoundPerCheck
	}
	if l.ID == "" {
		l.ID = id.New(id.Location)
	}
	if l.Country == "" {
		l.Country = org.Country
	}
	if l.Timezone == "" {
		l.Timezone = org.Timezone
	}
	if l.Currency == "" {
		l.Currency = org.Currency
	}
	if l.BusinessDayEnd == "" {
		l.BusinessDayEnd = DefaultBusinessDayEnd
	}
	if l.TaxMode == "" {
		l.TaxMode = DefaultTaxMode(l.Country)
	}
	if l.Address.Country == "" {
		l.Address.Country = l.Country
	}
	if !id.Valid(id.Location, l.ID) {
		return nil, apperr.Field("id", "must be loc_ followed by a ULID")
	}
	return l, l.Validate()
}

// CreateLocation adds a location to org.
func (s *Service) CreateLocation(ctx context.Context, orgID string, in LocationInput) (*Location, error) {
	org, err := s.store.FindOrganizationByID(ctx, orgID)
	if err != nil {
		return nil, err
	}
	l, err := NewLocation(org, in, s.now().UTC())
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateLocation(ctx, l); err != nil {
		return nil, err
	}
	return l, nil
}

// Location returns one location of org.
func (s *Service) Location(ctx context.Context, orgID, id string) (*Location, error) {
	return s.store.FindLocationByID(ctx, orgID, id)
}

// LocationAt returns one location of org for a caller confined to at ("" for
// the whole organization): another location is not found.
func (s *Service) LocationAt(ctx context.Context, orgID, at, id string) (*Location, error) {
	if err := Reaches(at, id); err != nil {
		return nil, err
	}
	return s.store.FindLocationByID(ctx, orgID, id)
}

// Locations returns a page of org's locations (just f.At's, if set).
func (s *Service) Locations(ctx context.Context, orgID string, f LocationFilter) ([]*Location, error) {
	if f.At != "" {
		if f.After >= f.At {
			return []*Location{}, nil
		}
		l, err := s.store.FindLocationByID(ctx, orgID, f.At)
		if err != nil {
			return nil, err
		}
		return []*Location{l}, nil
	}
	// Callers ask for one more than a page to learn whether another follows.
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 200+1)
	return s.store.FindLocations(ctx, orgID, f)
}

// LocationPatch changes some fields of a location. Version must be the
// version the caller last read.
type LocationPatch struct {
	Version        int64
	Name           *string
	Address        *Address
	Timezone       *string
	Currency       *string
	VATNumber      *string
	TaxMode        *string
	BusinessDayEnd *string

	ServiceChargeBP        *int
	ServiceChargeMinCovers *int
	GratuityEnabled        *bool
	GratuityPresetsBP      []int // nil leaves the presets as they are
	TaxRounding            *string
	At                     string // a staff token's location: no other may be changed ("" for any)
}

// UpdateLocation applies p to a location of org. A stale version yields a
// Conflict carrying the current location.
func (s *Service) UpdateLocation(ctx context.Context, orgID, id string, p LocationPatch) (*Location, error) {
	if err := Reaches(p.At, id); err != nil {
		return nil, err
	}
	return s.store.UpdateLocation(ctx, orgID, id, func(l *Location) error {
		if p.Version != l.Version {
			return apperr.StaleVersion(l)
		}
		if p.Name != nil {
			l.Name = strings.TrimSpace(*p.Name)
		}
		if p.Address != nil {
			l.Address = *p.Address
			if l.Address.Country == "" {
				l.Address.Country = l.Country
			}
		}
		if p.Timezone != nil {
			l.Timezone = *p.Timezone
		}
		if p.Currency != nil {
			l.Currency = *p.Currency
		}
		if p.TaxMode != nil {
			l.TaxMode = *p.TaxMode
		}
		if p.VATNumber != nil {
			l.VATNumber = strings.TrimSpace(*p.VATNumber)
		}
		if p.BusinessDayEnd != nil {
			l.BusinessDayEnd = *p.BusinessDayEnd
		}
		if p.ServiceChargeBP != nil {
			l.ServiceChargeBP = *p.ServiceChargeBP
		}
		if p.ServiceChargeMinCovers != nil {
			l.ServiceChargeMinCovers = *p.ServiceChargeMinCovers
		}
		if p.GratuityEnabled != nil {
			l.GratuityEnabled = *p.GratuityEnabled
		}
		if p.GratuityPresetsBP != nil {
			l.GratuityPresetsBP = slices.Clone(p.GratuityPresetsBP)
		}
		if p.TaxRounding != nil {
			l.TaxRounding = *p.TaxRounding
		}
		if err := l.Validate(); err != nil {
			return err
		}
		l.Version++
		l.UpdatedAt = s.now().UTC()
		return nil
	})
}

var (
	countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
	cutoffRE  = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	vatRE     = regexp.MustCompile(`^[A-Z0-9 ]{2,20}$`)
)

// Validate checks a location's fields.
func (l *Location) Validate() error {
	var f apperr.Fields
	if l.Name == "" || utf8.RuneCountInString(l.Name) > 120 {
		f.Add("name", "must be 1 to 120 characters")
	}
	ValidateCountry(&f, "country", l.Country)
	ValidateCountry(&f, "address.country", l.Address.Country)
	ValidateTimezone(&f, "timezone", l.Timezone)
	ValidateCurrency(&f, "currency", l.Currency)
	if l.TaxMode != TaxInclusive && l.TaxMode != TaxExclusive {
		f.Add("tax_mode", "must be inclusive or exclusive")
	}
	if l.VATNumber != "" && !vatRE.MatchString(l.VATNumber) {
		f.Add("vat_number", "must be 2 to 20 letters and digits, e.g. GB123456789")
	}
	if !cutoffRE.MatchString(l.BusinessDayEnd) {
		f.Add("business_day_cutoff", "must be a local time HH:MM between 00:00 and 23:59")
	}
	if l.ServiceChargeBP < 0 || l.ServiceChargeBP > maxRateBP {
		f.Add("service_charge_bp", "must be 0 to 10000 basis points (0% to 100%)")
	}
	if l.ServiceChargeMinCovers < 0 || l.ServiceChargeMinCovers > maxServiceMinCovers {
		f.Add("service_charge_min_covers", "must be 0 (every dine-in check) to 100")
	}
	validateGratuityPresets(&f, "gratuity_presets_bp", l.GratuityPresetsBP)
	if l.TaxRounding != TaxRoundPerCheck && l.TaxRounding != TaxRoundPerLine {
		f.Add("tax_rounding", "must be per_check or per_line")
	}
	return f.Err()
}

// validateGratuityPresets adds a field error unless presets holds 1 to 5
// rates of 1 to 10000 basis points in strictly ascending order.
func validateGratuityPresets(f *apperr.Fields, field string, presets []int) {
	if len(presets) < 1 || len(presets) > maxGratuityPresets {
		f.Add(field, "must hold 1 to 5 tip presets")
		return
	}
	for i, bp := range presets {
		if bp < 1 || bp > maxRateBP {
			f.Add(field, "each tip preset must be 1 to 10000 basis points (0.01% to 100%)")
			return
		}
		if i > 0 && bp <= presets[i-1] {
			f.Add(field, "tip presets must be strictly ascending, e.g. [500, 1000, 2000]")
			return
		}
	}
}

// ServiceChargeFor returns the service charge in basis points that the
// order engine adds automatically to a check of orderType ("dine_in",
// "takeaway", "delivery", ...) with covers guests: the location's rate for
// a dine-in check with at least ServiceChargeMinCovers covers (any dine-in
// check when that is 0), and 0 for every other check or when the location
// charges none.
func (l *Location) ServiceChargeFor(orderType string, covers int) int {
	if orderType != orderTypeDineIn || l.ServiceChargeBP <= 0 || covers < l.ServiceChargeMinCovers {
		return 0
	}
	return l.ServiceChargeBP
}

// TipPresets returns the tip presets in basis points the POS offers on a
// check here, smallest first, or nil when the location offers no gratuity.
// The slice is the caller's own.
func (l *Location) TipPresets() []int {
	if !l.GratuityEnabled {
		return nil
	}
	return slices.Clone(l.GratuityPresetsBP)
}

// TaxPerLine reports whether the pricing engine rounds tax on each line
// (TaxRoundPerLine) rather than once per rate on the check's total.
func (l *Location) TaxPerLine() bool { return l.TaxRounding == TaxRoundPerLine }

// ValidateCountry adds a field error unless code is an ISO 3166-1 alpha-2 code.
func ValidateCountry(f *apperr.Fields, field, code string) {
	if !countryRE.MatchString(code) {
		f.Add(field, "must be an ISO 3166-1 alpha-2 country code such as GB")
	}
}

// ValidateTimezone adds a field error unless name is an IANA timezone.
func ValidateTimezone(f *apperr.Fields, field, name string) {
	if name == "" || name == "Local" {
		f.Add(field, "must be an IANA timezone such as Europe/London")
		return
	}
	if _, err := time.LoadLocation(name); err != nil {
		f.Add(field, "must be an IANA timezone such as Europe/London")
	}
}

// ValidateCurrency adds a field error unless code is a supported ISO 4217 currency.
func ValidateCurrency(f *apperr.Fields, field, code string) {
	if _, ok := money.LookupCurrency(code); !ok {
		f.Add(field, "must be a supported ISO 4217 currency code such as GBP")
	}
}

// BusinessDate returns the business date (YYYY-MM-DD) on which instant t
// falls at this location: the local calendar date, less one day when the
// local wall-clock time is before the cutoff (with a 04:00 cutoff, a sale at
// 01:30 belongs to the night before). Only the wall clock counts, so the
// nights the clocks change need no special case.
//
// A location that passed Validate always has a known timezone and a
// well-formed cutoff. For one that did not, BusinessDate still answers
// rather than stop a sale: an unknown timezone counts as UTC and a
// malformed cutoff as midnight.
func (l *Location) BusinessDate(t time.Time) string {
	tz, err := loadZone(l.Timezone)
	if err != nil {
		tz = time.UTC
	}
	local := t.In(tz)
	cutoff := 0 // minutes after local midnight
	if c := l.BusinessDayEnd; cutoffRE.MatchString(c) {
		cutoff = int(c[0]-'0')*600 + int(c[1]-'0')*60 + int(c[3]-'0')*10 + int(c[4]-'0')
	}
	y, m, d := local.Date()
	if local.Hour()*60+local.Minute() < cutoff {
		// Step back on the calendar, not the local clock: a local day back
		// can land in a DST gap at midnight (Santiago, Havana) and be
		// normalised into the day before that.
		d--
	}
	return time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

// zones caches loaded timezones: time.LoadLocation reads and parses the
// zone file on every call, and BusinessDate runs for every order.
var zones sync.Map // name → *time.Location

func loadZone(name string) (*time.Location, error) {
	if z, ok := zones.Load(name); ok {
		return z.(*time.Location), nil
	}
	z, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, z)
	return z, nil
}

// Organization returns an organization.
func (s *Service) Organization(ctx context.Context, id string) (*Organization, error) {
	return s.store.FindOrganizationByID(ctx, id)
}
