package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/tenant"
)

type locationOutput struct {
	Status   int
	Location string `header:"Location" doc:"on 201: the new location's URL"`
	Body     *tenant.Location
}

type locationCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255" doc:"makes a retry safe: the same key and body get the first answer back"`
	Body           struct {
		ID             string          `json:"id,omitempty" required:"false" doc:"optional client-chosen ID (loc_ + ULID); creating the same ID twice is a conflict"`
		Name           string          `json:"name" minLength:"1" maxLength:"120" example:"Dishoom Carnaby"`
		Address        *tenant.Address `json:"address,omitempty" required:"false"`
		Country        string          `json:"country,omitempty" required:"false" doc:"defaults to the organization's"`
		Timezone       string          `json:"timezone,omitempty" required:"false" doc:"defaults to the organization's"`
		Currency       string          `json:"currency,omitempty" required:"false" doc:"defaults to the organization's"`
		VATNumber      string          `json:"vat_number,omitempty" required:"false"`
		BusinessDayEnd string          `json:"business_day_cutoff,omitempty" required:"false" doc:"HH:MM, default 04:00"`
		TaxMode        string          `json:"tax_mode,omitempty" required:"false" maxLength:"16" doc:"inclusive (prices include VAT) or exclusive (tax added at the till); default: exclusive in the US and Canada, inclusive elsewhere"`

		ServiceChargeBP        int    `json:"service_charge_bp,omitempty" required:"false" minimum:"0" maximum:"10000" doc:"discretionary service charge in basis points (1250 = 12.5%); default 0, none"`
		ServiceChargeMinCovers int    `json:"service_charge_min_covers,omitempty" required:"false" minimum:"0" maximum:"100" doc:"add the service charge to dine-in checks with at least this many covers; default 0, every dine-in check"`
		GratuityEnabled        *bool  `json:"gratuity_enabled,omitempty" required:"false" doc:"whether the POS offers tip presets; default true"`
		GratuityPresetsBP      []int  `json:"gratuity_presets_bp,omitempty" required:"false" minItems:"1" maxItems:"5" doc:"tip presets in basis points, 1 to 5 values of 1 to 10000, strictly ascending; default [500, 1000, 2000]"`
		TaxRounding            string `json:"tax_rounding,omitempty" required:"false" maxLength:"16" doc:"per_check (tax rounded once per rate per check) or per_line; default per_check"`
	}
}

type locationGetInput struct {
	ID string `path:"id" maxLength:"64" doc:"location ID"`
}

type locationListInput struct {
	Cursor string `query:"cursor" maxLength:"64" doc:"next_cursor from the previous page"`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

type locationListOutput struct {
	Body struct {
		Items      []*tenant.Location `json:"items"`
		NextCursor string             `json:"next_cursor,omitempty" doc:"pass as cursor to get the next page; absent on the last page"`
	}
}

type locationPatchInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version        int64           `json:"version" minimum:"1" doc:"the version you last read; a stale one gets 409 with the current location"`
		Name           *string         `json:"name,omitempty" required:"false" minLength:"1" maxLength:"120"`
		Address        *tenant.Address `json:"address,omitempty" required:"false"`
		Timezone       *string         `json:"timezone,omitempty" required:"false"`
		Currency       *string         `json:"currency,omitempty" required:"false"`
		VATNumber      *string         `json:"vat_number,omitempty" required:"false"`
		BusinessDayEnd *string         `json:"business_day_cutoff,omitempty" required:"false"`
		TaxMode        *string         `json:"tax_mode,omitempty" required:"false" maxLength:"16" doc:"inclusive or exclusive"`

		ServiceChargeBP        *int    `json:"service_charge_bp,omitempty" required:"false" minimum:"0" maximum:"10000" doc:"basis points; 0 for none"`
		ServiceChargeMinCovers *int    `json:"service_charge_min_covers,omitempty" required:"false" minimum:"0" maximum:"100" doc:"0: every dine-in check"`
		GratuityEnabled        *bool   `json:"gratuity_enabled,omitempty" required:"false"`
		GratuityPresetsBP      []int   `json:"gratuity_presets_bp,omitempty" required:"false" minItems:"1" maxItems:"5" doc:"replaces the presets: 1 to 5 values of 1 to 10000 basis points, strictly ascending"`
		TaxRounding            *string `json:"tax_rounding,omitempty" required:"false" maxLength:"16" doc:"per_check or per_line"`
	}
}

func (s *Server) routeLocations() {
	tags := []string{"Locations"}
	huma.Register(s.api, huma.Operation{
		OperationID: "location-create", Method: http.MethodPost, Path: "/api/v1/locations", Tags: tags,
		Summary: "Open a location", Description: "Adds a restaurant to the organization. Unset settings default to the organization's.",
		DefaultStatus: http.StatusCreated, Security: bearer, Errors: []int{401, 403, 409, 422},
		Metadata: needs(auth.PermSettingsManage),
	}, s.handleLocationCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "location-list", Method: http.MethodGet, Path: "/api/v1/locations", Tags: tags,
		Summary: "List locations", Security: bearer, Errors: []int{401},
	}, s.handleLocationList)
	huma.Register(s.api, huma.Operation{
		OperationID: "location-get", Method: http.MethodGet, Path: "/api/v1/locations/{id}", Tags: tags,
		Summary: "Get a location", Security: bearer, Errors: []int{401, 404},
	}, s.handleLocationGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "location-update", Method: http.MethodPatch, Path: "/api/v1/locations/{id}", Tags: tags,
		Summary: "Change a location", Description: "Send only the fields to change, with the version you read.",
		Security: bearer, Errors: []int{401, 403, 404, 409, 422},
		Metadata: needs(auth.PermSettingsManage),
	}, s.handleLocationUpdate)
}

func (s *Server) handleLocationCreate(ctx context.Context, in *locationCreateInput) (*locationOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	li := tenant.LocationInput{ID: b.ID, Name: b.Name, Country: b.Country, Timezone: b.Timezone, Currency: b.Currency,
		VATNumber: b.VATNumber, BusinessDayEnd: b.BusinessDayEnd, TaxMode: b.TaxMode,
		ServiceChargeBP: b.ServiceChargeBP, ServiceChargeMinCovers: b.ServiceChargeMinCovers, GratuityEnabled: b.GratuityEnabled,
		GratuityPresetsBP: b.GratuityPresetsBP, TaxRounding: b.TaxRounding}
	if b.Address != nil {
		li.Address = *b.Address
	}
	l, err := s.tenants.CreateLocation(ctx, p.OrgID, li)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &locationOutput{Status: http.StatusCreated, Location: "/api/v1/locations/" + l.ID, Body: l}, nil
}

func (s *Server) handleLocationList(ctx context.Context, in *locationListInput) (*locationListOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	ls, err := s.tenants.Locations(ctx, p.OrgID, tenant.LocationFilter{After: in.Cursor, Limit: in.Limit + 1, At: p.LocationID})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &locationListOutput{}
	out.Body.Items, out.Body.NextCursor = page(ls, in.Limit, func(x *tenant.Location) string { return x.ID })
	return out, nil
}

func (s *Server) handleLocationGet(ctx context.Context, in *locationGetInput) (*locationOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	l, err := s.tenants.LocationAt(ctx, p.OrgID, p.LocationID, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &locationOutput{Status: http.StatusOK, Body: l}, nil
}

func (s *Server) handleLocationUpdate(ctx context.Context, in *locationPatchInput) (*locationOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	l, err := s.tenants.UpdateLocation(ctx, p.OrgID, in.ID, tenant.LocationPatch{Version: b.Version, Name: b.Name,
		Address: b.Address, Timezone: b.Timezone, Currency: b.Currency, VATNumber: b.VATNumber, BusinessDayEnd: b.BusinessDayEnd,
		TaxMode: b.TaxMode, ServiceChargeBP: b.ServiceChargeBP, ServiceChargeMinCovers: b.ServiceChargeMinCovers,
		GratuityEnabled: b.GratuityEnabled, GratuityPresetsBP: b.GratuityPresetsBP, TaxRounding: b.TaxRounding, At: p.LocationID})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &locationOutput{Status: http.StatusOK, Body: l}, nil
}
