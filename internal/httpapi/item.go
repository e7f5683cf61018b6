package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/menu"
	"github.com/fynlo/fynlo/internal/money"
)

type itemOutput struct {
	Status   int
	Location string `header:"Location" doc:"on 201: the new item's URL"`
	Body     *menu.Item
}

type itemBody struct {
	ID             string         `json:"id,omitempty" required:"false" maxLength:"64" doc:"optional client-chosen ID (itm_ + ULID)"`
	CategoryID     string         `json:"category_id" maxLength:"64"`
	Name           string         `json:"name" minLength:"1" maxLength:"120" example:"Fish and chips"`
	Description    string         `json:"description,omitempty" required:"false" maxLength:"1000"`
	ImageURL       string         `json:"image_url,omitempty" required:"false" maxLength:"500"`
	TaxCategoryID  string         `json:"tax_category_id" maxLength:"64"`
	KitchenStation string         `json:"kitchen_station,omitempty" required:"false" maxLength:"32" example:"fryer"`
	Course         int            `json:"course,omitempty" required:"false" minimum:"0" maximum:"9"`
	CostPrice      *money.Money   `json:"cost_price,omitempty" required:"false"`
	Variants       []menu.Variant `json:"variants" minItems:"1" maxItems:"20"`
	ModifierGroups []string       `json:"modifier_group_ids,omitempty" required:"false" maxItems:"20" doc:"asked in this order"`
	Allergens      []string       `json:"allergens,omitempty" required:"false" maxItems:"14"`
	Dietary        []string       `json:"dietary,omitempty" required:"false" maxItems:"10"`
}

type itemCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	Body           itemBody
}

type itemListInput struct {
	CategoryID string `query:"category_id" maxLength:"64"`
	Barcode    string `query:"barcode" maxLength:"32" doc:"find the item a scanned barcode is on"`
	Archived   bool   `query:"archived" doc:"include archived items"`
	Cursor     string `query:"cursor" maxLength:"64"`
	Limit      int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type itemListOutput struct {
	Body struct {
		Items      []*menu.Item `json:"items"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}
}

type itemPatchInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version        int64           `json:"version" minimum:"1"`
		CategoryID     *string         `json:"category_id,omitempty" required:"false" maxLength:"64"`
		Name           *string         `json:"name,omitempty" required:"false" minLength:"1" maxLength:"120"`
		Description    *string         `json:"description,omitempty" required:"false" maxLength:"1000"`
		ImageURL       *string         `json:"image_url,omitempty" required:"false" maxLength:"500"`
		TaxCategoryID  *string         `json:"tax_category_id,omitempty" required:"false" maxLength:"64"`
		KitchenStation *string         `json:"kitchen_station,omitempty" required:"false" maxLength:"32"`
		Course         *int            `json:"course,omitempty" required:"false" minimum:"0" maximum:"9"`
		CostPrice      *money.Money    `json:"cost_price,omitempty" required:"false"`
		Variants       *[]menu.Variant `json:"variants,omitempty" required:"false" minItems:"1" maxItems:"20"`
		ModifierGroups *[]string       `json:"modifier_group_ids,omitempty" required:"false" maxItems:"20"`
		Allergens      *[]string       `json:"allergens,omitempty" required:"false" maxItems:"14"`
		Dietary        *[]string       `json:"dietary,omitempty" required:"false" maxItems:"10"`
	}
}

func (s *Server) routeItems() {
	tags := []string{"Menu"}
	huma.Register(s.api, huma.Operation{
		OperationID: "item-create", Method: http.MethodPost, Path: "/api/v1/items", Tags: tags,
		Summary: "Add an item",
		Description: "Every item has one variant at least, each with its price in minor units; barcodes are unique in the " +
			"organization. Allergens: " + strings.Join(menu.Allergens, ", ") + ". Dietary: " + strings.Join(menu.DietaryFlags, ", ") + ".",
		DefaultStatus: http.StatusCreated, Security: bearer, Errors: []int{401, 403, 409, 422},
		Metadata: needs(auth.PermMenuEdit),
	}, s.handleItemCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "item-list", Method: http.MethodGet, Path: "/api/v1/items", Tags: tags,
		Summary: "List items, or find one by barcode", Security: bearer, Errors: []int{401},
	}, s.handleItemList)
	huma.Register(s.api, huma.Operation{
		OperationID: "item-get", Method: http.MethodGet, Path: "/api/v1/items/{id}", Tags: tags,
		Summary: "Get an item", Security: bearer, Errors: []int{401, 404},
	}, s.handleItemGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "item-update", Method: http.MethodPatch, Path: "/api/v1/items/{id}", Tags: tags,
		Summary: "Change an item", Description: "A list given (variants, allergens, dietary) replaces the item's whole list.",
		Security: bearer, Errors: []int{401, 403, 404, 409, 422},
		Metadata: needs(auth.PermMenuEdit),
	}, s.handleItemUpdate)
	huma.Register(s.api, huma.Operation{
		OperationID: "item-archive", Method: http.MethodDelete, Path: "/api/v1/items/{id}", Tags: tags,
		Summary: "Take an item off the menu", Description: "It is archived, not erased: orders that sold it keep it. Its barcodes are freed.",
		Security: bearer, Errors: []int{401, 403, 404},
		Metadata: needs(auth.PermMenuEdit),
	}, s.handleItemArchive)
}

func (s *Server) handleItemCreate(ctx context.Context, in *itemCreateInput) (*itemOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	it, err := s.menu.CreateItem(ctx, p.OrgID, menu.ItemInput{ID: b.ID, CategoryID: b.CategoryID, Name: b.Name, Description: b.Description,
		ImageURL: b.ImageURL, TaxCategoryID: b.TaxCategoryID, KitchenStation: b.KitchenStation, Course: b.Course, CostPrice: b.CostPrice,
		Variants: b.Variants, ModifierGroups: b.ModifierGroups, Allergens: b.Allergens, Dietary: b.Dietary})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &itemOutput{Status: http.StatusCreated, Location: "/api/v1/items/" + it.ID, Body: it}, nil
}

func (s *Server) handleItemList(ctx context.Context, in *itemListInput) (*itemListOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	its, err := s.menu.Items(ctx, p.OrgID, menu.ItemFilter{CategoryID: in.CategoryID, Barcode: in.Barcode, Archived: in.Archived,
		After: in.Cursor, Limit: in.Limit + 1})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &itemListOutput{}
	out.Body.Items, out.Body.NextCursor = page(its, in.Limit, func(x *menu.Item) string { return x.ID })
	return out, nil
}

func (s *Server) handleItemGet(ctx context.Context, in *pathID) (*itemOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	it, err := s.menu.Item(ctx, p.OrgID, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &itemOutput{Status: http.StatusOK, Body: it}, nil
}

func (s *Server) handleItemUpdate(ctx context.Context, in *itemPatchInput) (*itemOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	it, err := s.menu.UpdateItem(ctx, p.OrgID, in.ID, menu.ItemPatch{Version: b.Version, CategoryID: b.CategoryID, Name: b.Name,
		Description: b.Description, ImageURL: b.ImageURL, TaxCategoryID: b.TaxCategoryID, KitchenStation: b.KitchenStation, Course: b.Course,
		CostPrice: b.CostPrice, Variants: b.Variants, ModifierGroups: b.ModifierGroups, Allergens: b.Allergens, Dietary: b.Dietary})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &itemOutput{Status: http.StatusOK, Body: it}, nil
}

func (s *Server) handleItemArchive(ctx context.Context, in *pathID) (*itemOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	it, err := s.menu.ArchiveItem(ctx, p.OrgID, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &itemOutput{Status: http.StatusOK, Body: it}, nil
}
