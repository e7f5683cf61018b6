package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/money"
)

// The batch's objects are the create bodies plus the version last read.
// IDs and references may be client IDs starting with #.

type batchTaxCategory struct {
	ID      string     `json:"id,omitempty" required:"false" maxLength:"64" doc:"txc_ + ULID, a #client-id, or empty"`
	Version int64      `json:"version,omitempty" required:"false" minimum:"0" doc:"the version last read; 0 or absent: replace whatever is stored"`
	Name    string     `json:"name" minLength:"1" maxLength:"80"`
	Rates   menu.Rates `json:"rates"`
}

type batchCategory struct {
	ID       string `json:"id,omitempty" required:"false" maxLength:"64" doc:"cat_ + ULID, a #client-id, or empty"`
	Version  int64  `json:"version,omitempty" required:"false" minimum:"0"`
	Name     string `json:"name" minLength:"1" maxLength:"80"`
	ParentID string `json:"parent_id,omitempty" required:"false" maxLength:"64"`
	Position int    `json:"position,omitempty" required:"false" minimum:"0" maximum:"100000"`
	Color    string `json:"color,omitempty" required:"false"`
}

type batchModifierGroup struct {
	ID            string          `json:"id,omitempty" required:"false" maxLength:"64" doc:"mgp_ + ULID, a #client-id, or empty"`
	Version       int64           `json:"version,omitempty" required:"false" minimum:"0"`
	Name          string          `json:"name" minLength:"1" maxLength:"80"`
	MinSelect     int             `json:"min_select" minimum:"0" maximum:"100"`
	MaxSelect     int             `json:"max_select" minimum:"1" maximum:"100"`
	FreeAllowance int             `json:"free_allowance,omitempty" required:"false" minimum:"0" maximum:"100"`
	PreModifiers  []string        `json:"pre_modifiers,omitempty" required:"false" maxItems:"4"`
	Modifiers     []menu.Modifier `json:"modifiers" minItems:"1" maxItems:"100"`
}

type batchItem struct {
	ID             string         `json:"id,omitempty" required:"false" maxLength:"64" doc:"itm_ + ULID, a #client-id, or empty"`
	Version        int64          `json:"version,omitempty" required:"false" minimum:"0"`
	CategoryID     string         `json:"category_id" maxLength:"64"`
	Name           string         `json:"name" minLength:"1" maxLength:"120"`
	Description    string         `json:"description,omitempty" required:"false" maxLength:"1000"`
	ImageURL       string         `json:"image_url,omitempty" required:"false" maxLength:"500"`
	TaxCategoryID  string         `json:"tax_category_id" maxLength:"64"`
	KitchenStation string         `json:"kitchen_station,omitempty" required:"false" maxLength:"32"`
	Course         int            `json:"course,omitempty" required:"false" minimum:"0" maximum:"9"`
	CostPrice      *money.Money   `json:"cost_price,omitempty" required:"false"`
	Variants       []menu.Variant `json:"variants" minItems:"1" maxItems:"20"`
	ModifierGroups []string       `json:"modifier_group_ids,omitempty" required:"false" maxItems:"20"`
	Allergens      []string       `json:"allergens,omitempty" required:"false" maxItems:"14"`
	Dietary        []string       `json:"dietary,omitempty" required:"false" maxItems:"10"`
	Archived       bool           `json:"archived,omitempty" required:"false" doc:"true keeps (or takes) it off the menu"`
}

type batchInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	DryRun         bool   `query:"dry_run" doc:"check the whole batch and answer as if written, writing nothing"`
	Body           struct {
		TaxCategories  []batchTaxCategory   `json:"tax_categories,omitempty" required:"false" maxItems:"1000"`
		Categories     []batchCategory      `json:"categories,omitempty" required:"false" maxItems:"1000"`
		ModifierGroups []batchModifierGroup `json:"modifier_groups,omitempty" required:"false" maxItems:"1000"`
		Items          []batchItem          `json:"items,omitempty" required:"false" maxItems:"1000"`
	}
}

type batchOutput struct {
	Body *menu.BatchResult
}

func (s *Server) routeBatch() {
	huma.Register(s.api, huma.Operation{
		OperationID: "menu-batch", Method: http.MethodPost, Path: "/api/v1/menu/batch", Tags: []string{"Menu"},
		Summary: "Create or replace up to 1,000 menu objects at once, all or none",
		Description: "Each object is created, or replaced if its `id` exists. An `id` starting with `#` is a client ID: the object " +
			"gets a new ID, and other objects of the batch may use the client ID in `parent_id`, `category_id`, `tax_category_id` " +
			"and `modifier_group_ids`; `id_mappings` in the answer says which ID each got. Every problem is reported at once, " +
			"each field named by its place in the batch (e.g. `items[3].variants[0].price.amount`), and nothing is written. " +
			"A `version` that is not the stored one gets 409 for the whole batch.",
		Security: bearer, Errors: []int{401, 403, 409, 413, 422},
		Metadata: needs(auth.PermMenuEdit),
	}, s.handleBatch)
}

func (s *Server) handleBatch(ctx context.Context, in *batchInput) (*batchOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	b := &menu.Batch{}
	for _, t := range in.Body.TaxCategories {
		b.TaxCategories = append(b.TaxCategories, &menu.TaxCategory{ID: t.ID, Version: t.Version, Name: t.Name, Rates: t.Rates})
	}
	for _, c := range in.Body.Categories {
		b.Categories = append(b.Categories, &menu.Category{ID: c.ID, Version: c.Version, Name: c.Name, ParentID: c.ParentID,
			Position: c.Position, Color: c.Color})
	}
	for _, g := range in.Body.ModifierGroups {
		b.ModifierGroups = append(b.ModifierGroups, &menu.ModifierGroup{ID: g.ID, Version: g.Version, Name: g.Name, MinSelect: g.MinSelect,
			MaxSelect: g.MaxSelect, FreeAllowance: g.FreeAllowance, PreModifiers: nonNil(g.PreModifiers), Modifiers: g.Modifiers})
	}
	for _, it := range in.Body.Items {
		b.Items = append(b.Items, &menu.Item{ID: it.ID, Version: it.Version, CategoryID: it.CategoryID, Name: it.Name,
			Description: it.Description, ImageURL: it.ImageURL, TaxCategoryID: it.TaxCategoryID, KitchenStation: it.KitchenStation,
			Course: it.Course, CostPrice: it.CostPrice, Variants: it.Variants, ModifierGroups: nonNil(it.ModifierGroups),
			Allergens: nonNil(it.Allergens), Dietary: nonNil(it.Dietary), Archived: it.Archived})
	}
	res, err := s.menu.ApplyBatch(ctx, p.OrgID, b, menu.BatchOptions{DryRun: in.DryRun})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &batchOutput{Body: res}, nil
}

// nonNil makes an absent list an empty one, as the menu stores it.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
