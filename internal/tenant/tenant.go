// Package tenant holds organizations (the businesses that use Fynlo) and
// their locations (the restaurants), with the settings every other domain
// reads: timezone, currency, country, VAT registration and the time the
// business day rolls over.
package tenant

import (
	"context"
	"fmt"
	"regexp"
	"strings"
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
	ID             string    `json:"id"`
	OrgID          string    `json:"organization_id"`
	Name           string    `json:"name"`
	Address        Address   `json:"address"`
	Country        string    `json:"country"`
	Timezone       string    `json:"timezone"`
	Currency       string    `json:"currency"`
	VATNumber      string    `json:"vat_number" doc:"VAT registration number; empty when not registered"`
	BusinessDayEnd string    `json:"business_day_cutoff" doc:"local time HH:MM at which the business day rolls over, e.g. 04:00"`
	TaxMode        string    `json:"tax_mode" enum:"inclusive,exclusive" doc:"inclusive: menu prices include VAT (UK, EU); exclusive: tax is added at the till (US sales tax)"`
	Version        int64     `json:"version" doc:"increments on every change; send it back on PATCH"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
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
		Version: 1, CreatedAt: now, UpdatedAt: now,
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

// Locations returns a page of org's locations.
func (s *Service) Locations(ctx context.Context, orgID string, f LocationFilter) ([]*Location, error) {
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
}

// UpdateLocation applies p to a location of org. A stale version yields a
// Conflict carrying the current location.
func (s *Service) UpdateLocation(ctx context.Context, orgID, id string, p LocationPatch) (*Location, error) {
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
	return f.Err()
}

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
// falls at this location: the local calendar date, less one day before the cutoff.
func (l *Location) BusinessDate(t time.Time) (string, error) {
	tz, err := time.LoadLocation(l.Timezone)
	if err != nil {
		return "", apperr.Wrap(err, "location timezone")
	}
	local := t.In(tz)
	var hh, mm int
	if _, err := fmt.Sscanf(l.BusinessDayEnd, "%d:%d", &hh, &mm); err != nil {
		return "", apperr.Wrap(err, "location cutoff")
	}
	if local.Hour()*60+local.Minute() < hh*60+mm {
		local = local.AddDate(0, 0, -1)
	}
	return local.Format(time.DateOnly), nil
}

// Organization returns an organization.
func (s *Service) Organization(ctx context.Context, id string) (*Organization, error) {
	return s.store.FindOrganizationByID(ctx, id)
}
