package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/tenant"
)

type taxCategoryOutput struct {
	Status   int
	Location string `header:"Location" doc:"on 201: the new object's URL"`
	Body     *menu.TaxCategory
}

type taxCategoryListOutput struct {
	Body struct {
		Items []*menu.TaxCategory `json:"items"`
	}
}

type taxCategoryCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	Body           struct {
		Name  string     `json:"name" minLength:"1" maxLength:"80" example:"Cold food"`
		Rates menu.Rates `json:"rates"`
	}
}

type taxCategoryPatchInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version int64       `json:"version" minimum:"1"`
		Name    *string     `json:"name,omitempty" required:"false" minLength:"1" maxLength:"80"`
		Rates   *menu.Rates `json:"rates,omitempty" required:"false"`
	}
}

type categoryOutput struct {
	Status   int
	Location string `header:"Location" doc:"on 201: the new object's URL"`
	Body     *menu.Category
}

type categoryListOutput struct {
	Body struct {
		Items []*menu.Category `json:"items"`
	}
}

type categoryCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	Body           struct {
		ID       string `json:"id,omitempty" required:"false" maxLength:"64" doc:"optional client-chosen ID (cat_ + ULID)"`
		Name     string `json:"name" minLength:"1" maxLength:"80" example:"Small plates"`
		ParentID string `json:"parent_id,omitempty" required:"false" maxLength:"64"`
		Position int    `json:"position,omitempty" required:"false" minimum:"0" maximum:"100000"`
		Color    string `json:"color,omitempty" required:"false" example:"#E4572E"`
	}
}

type categoryPatchInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version  int64   `json:"version" minimum:"1"`
		Name     *string `json:"name,omitempty" required:"false" minLength:"1" maxLength:"80"`
		ParentID *string `json:"parent_id,omitempty" required:"false" maxLength:"64" doc:"empty string: move to the top level"`
		Position *int    `json:"position,omitempty" required:"false" minimum:"0" maximum:"100000"`
		Color    *string `json:"color,omitempty" required:"false"`
	}
}

type noContentOutput struct{}

type availabilityInput struct {
	LocationID string `path:"id" maxLength:"64"`
	ItemID     string `path:"item_id" maxLength:"64"`
	Body       struct {
		Version        int64                  `json:"version" minimum:"0" doc:"the version you last read; 0 when the item had none here"`
		Unavailable    bool                   `json:"unavailable" doc:"true to 86 the item here"`
		Reason         string                 `json:"reason,omitempty" required:"false" maxLength:"120" example:"sold out"`
		Until          *time.Time             `json:"until,omitempty" required:"false" doc:"when it comes back by itself"`
		Stock          *int                   `json:"stock,omitempty" required:"false" minimum:"0"`
		PriceOverrides map[string]money.Money `json:"price_overrides,omitempty" required:"false" doc:"variant ID → price at this location"`
	}
}

type availabilityOutput struct {
	Body *menu.Availability
}

func (s *Server) handleAvailability(ctx context.Context, in *availabilityInput) (*availabilityOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.tenants.LocationAt(ctx, p.OrgID, p.LocationID, in.LocationID); err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	b := in.Body
	a, err := s.menu.SetAvailability(ctx, p.OrgID, in.LocationID, in.ItemID, menu.AvailabilityInput{Version: b.Version,
		Unavailable: b.Unavailable, Reason: b.Reason, Until: b.Until, Stock: b.Stock, PriceOverrides: b.PriceOverrides})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &availabilityOutput{Body: a}, nil
}

type menuInput struct {
	ID          string `path:"id" maxLength:"64" doc:"location ID"`
	IfNoneMatch string `header:"If-None-Match" required:"false" maxLength:"200" doc:"the ETag of the menu you hold"`
}

type menuOutput struct {
	Status       int
	ETag         string `header:"ETag"`
	CacheControl string `header:"Cache-Control"`
	ContentType  string `header:"Content-Type"`
	Body         []byte
}

func (s *Server) handleMenu(ctx context.Context, in *menuInput) (*menuOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	// Staff read their own location's menu only.
	if err := tenant.Reaches(p.LocationID, in.ID); err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	// The hot path: a cached menu was built for this organization's own
	// location, so it is served without reading the location again.
	snap, err := s.menu.CachedMenu(ctx, p.OrgID, in.ID)
	if snap == nil && err == nil {
		if _, err := s.tenants.Location(ctx, p.OrgID, in.ID); err != nil {
			return nil, problemFor(ctx, s.logger, err)
		}
		snap, err = s.menu.Menu(ctx, p.OrgID, in.ID)
	}
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &menuOutput{Status: http.StatusOK, ETag: snap.ETag, CacheControl: "private, no-cache", ContentType: "application/json"}
	if etagMatches(in.IfNoneMatch, snap.ETag) {
		out.Status = http.StatusNotModified
		return out, nil
	}
	out.Body = snap.JSON
	return out, nil
}

// etagMatches implements If-None-Match's weak comparison (RFC 9110 §13.1.2).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func (s *Server) routeMenu() {
	tags := []string{"Menu"}
	huma.Register(s.api, huma.Operation{
		OperationID: "location-menu", Method: http.MethodGet, Path: "/api/v1/locations/{id}/menu", Tags: tags,
		Summary: "The whole menu of a location, in one request",
		Description: "Everything a POS needs: tax categories, categories, items with variants, modifier groups. Served from " +
			"a snapshot rebuilt when the menu changes, with an ETag: send it back as If-None-Match and an unchanged menu " +
			"answers 304 with no body. Watch the event stream for menu changes.",
		Security: bearer, Errors: []int{401, 404},
	}, s.handleMenu)
	huma.Register(s.api, huma.Operation{
		OperationID: "item-availability", Method: http.MethodPut, Path: "/api/v1/locations/{id}/availability/{item_id}", Tags: tags,
		Summary: "86 an item, set its stock or its price at a location",
		Description: "Replaces the item's availability at the location. An 86 with until comes back by itself then. " +
			"The change is on the event stream (availability.updated) and in the next menu request.",
		Security: bearer, Errors: []int{401, 403, 404, 409, 422},
		Metadata: needs(auth.PermMenu86),
	}, s.handleAvailability)
	huma.Register(s.api, huma.Operation{
		OperationID: "tax-category-list", Method: http.MethodGet, Path: "/api/v1/tax-categories", Tags: tags,
		Summary: "List tax categories", Security: bearer, Errors: []int{401},
	}, s.handleTaxCategoryList)
	huma.Register(s.api, huma.Operation{
		OperationID: "tax-category-create", Method: http.MethodPost, Path: "/api/v1/tax-categories", Tags: tags,
		Summary: "Add a tax category",
		Description: "Rates in basis points per order type, e.g. UK cold food: dine_in 2000, takeaway 0, delivery 0; " +
			"hot food: 2000 everywhere.",
		DefaultStatus: http.StatusCreated, Security: bearer, Errors: []int{401, 403, 409, 422},
		Metadata: needs(auth.PermMenuEdit),
	}, s.handleTaxCategoryCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "tax-category-get", Method: http.MethodGet, Path: "/api/v1/tax-categories/{id}", Tags: tags,
		Summary: "Get a tax category", Security: bearer, Errors: []int{401, 404},
	}, s.handleTaxCategoryGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "tax-category-update", Method: http.MethodPatch, Path: "/api/v1/tax-categories/{id}", Tags: tags,
		Summary: "Change a tax category", Security: bearer, Errors: []int{401, 403, 404, 409, 422},
		Metadata: needs(auth.PermMenuEdit),
	}, s.handleTaxCategoryUpdate)
	huma.Register(s.api, huma.Operation{
		OperationID: "tax-category-delete", Method: http.MethodDelete, Path: "/api/v1/tax-categories/{id}", Tags: tags,
		Summary: "Delete a tax category", DefaultStatus: http.StatusNoContent, Security: bearer, Errors: []int{401, 403, 404, 409},
		Metadata: needs(auth.PermMenuEdit),
	}, s.handleTaxCategoryDelete)

	huma.Register(s.api, huma.Operation{
		OperationID: "category-list", Method: http.MethodGet, Path: "/api/v1/categories", Tags: tags,
		Summary: "List categories", Description: "By position, then name; nested ones name their parent_id.",
		Security: bearer, Errors: []int{401},
	}, s.handleCategoryList)
	huma.Register(s.api, huma.Operation{
		OperationID: "category-create", Method: http.MethodPost, Path: "/api/v1/categories", Tags: tags,
		Summary: "Add a category", DefaultStatus: http.StatusCreated, Security: bearer, Errors: []int{401, 403, 409, 422},
		Metadata: needs(auth.PermMenuEdit),
	}, s.handleCategoryCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "category-get", Method: http.MethodGet, Path: "/api/v1/categories/{id}", Tags: tags,
		Summary: "Get a category", Security: bearer, Errors: []int{401, 404},
	}, s.handleCategoryGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "category-update", Method: http.MethodPatch, Path: "/api/v1/categories/{id}", Tags: tags,
		Summary: "Change a category", Security: bearer, Errors: []int{401, 403, 404, 409, 422},
		Metadata: needs(auth.PermMenuEdit),
	}, s.handleCategoryUpdate)
	huma.Register(s.api, huma.Operation{
		OperationID: "category-delete", Method: http.MethodDelete, Path: "/api/v1/categories/{id}", Tags: tags,
		Summary: "Delete an empty category", DefaultStatus: http.StatusNoContent, Security: bearer, Errors: []int{401, 403, 404, 409},
		Metadata: needs(auth.PermMenuEdit),
	}, s.handleCategoryDelete)
}

func (s *Server) handleTaxCategoryList(ctx context.Context, _ *struct{}) (*taxCategoryListOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	ts, err := s.menu.TaxCategories(ctx, p.OrgID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &taxCategoryListOutput{}
	out.Body.Items = ts
	return out, nil
}

func (s *Server) handleTaxCategoryCreate(ctx context.Context, in *taxCategoryCreateInput) (*taxCategoryOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.menu.CreateTaxCategory(ctx, p.OrgID, in.Body.Name, in.Body.Rates)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &taxCategoryOutput{Status: http.StatusCreated, Location: "/api/v1/tax-categories/" + t.ID, Body: t}, nil
}

func (s *Server) handleTaxCategoryGet(ctx context.Context, in *pathID) (*taxCategoryOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.menu.TaxCategory(ctx, p.OrgID, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &taxCategoryOutput{Status: http.StatusOK, Body: t}, nil
}

func (s *Server) handleTaxCategoryUpdate(ctx context.Context, in *taxCategoryPatchInput) (*taxCategoryOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.menu.UpdateTaxCategory(ctx, p.OrgID, in.ID, menu.TaxCategoryPatch{Version: in.Body.Version, Name: in.Body.Name, Rates: in.Body.Rates})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &taxCategoryOutput{Status: http.StatusOK, Body: t}, nil
}

func (s *Server) handleTaxCategoryDelete(ctx context.Context, in *pathID) (*noContentOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.menu.DeleteTaxCategory(ctx, p.OrgID, in.ID); err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return nil, nil
}

func (s *Server) handleCategoryList(ctx context.Context, _ *struct{}) (*categoryListOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := s.menu.Categories(ctx, p.OrgID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &categoryListOutput{}
	out.Body.Items = cs
	return out, nil
}

func (s *Server) handleCategoryCreate(ctx context.Context, in *categoryCreateInput) (*categoryOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	c, err := s.menu.CreateCategory(ctx, p.OrgID, menu.CategoryInput{ID: b.ID, Name: b.Name, ParentID: b.ParentID, Position: b.Position, Color: b.Color})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &categoryOutput{Status: http.StatusCreated, Location: "/api/v1/categories/" + c.ID, Body: c}, nil
}

func (s *Server) handleCategoryGet(ctx context.Context, in *pathID) (*categoryOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.menu.Category(ctx, p.OrgID, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &categoryOutput{Status: http.StatusOK, Body: c}, nil
}

func (s *Server) handleCategoryUpdate(ctx context.Context, in *categoryPatchInput) (*categoryOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	c, err := s.menu.UpdateCategory(ctx, p.OrgID, in.ID, menu.CategoryPatch{Version: b.Version, Name: b.Name, ParentID: b.ParentID,
		Position: b.Position, Color: b.Color})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &categoryOutput{Status: http.StatusOK, Body: c}, nil
}

func (s *Server) handleCategoryDelete(ctx context.Context, in *pathID) (*noContentOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.menu.DeleteCategory(ctx, p.OrgID, in.ID); err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return nil, nil
}
