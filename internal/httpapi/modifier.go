package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/menu"
)

type modifierGroupOutput struct {
	Status   int
	Location string `header:"Location" doc:"on 201: the new group's URL"`
	Body     *menu.ModifierGroup
}

type modifierGroupListOutput struct {
	Body struct {
		Items []*menu.ModifierGroup `json:"items"`
	}
}

type modifierGroupCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	Body           struct {
		Name          string          `json:"name" minLength:"1" maxLength:"80" example:"How would you like it cooked?"`
		MinSelect     int             `json:"min_select" minimum:"0" maximum:"100"`
		MaxSelect     int             `json:"max_select" minimum:"1" maximum:"100"`
		FreeAllowance int             `json:"free_allowance,omitempty" required:"false" minimum:"0" maximum:"100"`
		PreModifiers  []string        `json:"pre_modifiers,omitempty" required:"false" maxItems:"4"`
		Modifiers     []menu.Modifier `json:"modifiers" minItems:"1" maxItems:"100"`
	}
}

type modifierGroupPatchInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version       int64            `json:"version" minimum:"1"`
		Name          *string          `json:"name,omitempty" required:"false" minLength:"1" maxLength:"80"`
		MinSelect     *int             `json:"min_select,omitempty" required:"false" minimum:"0" maximum:"100"`
		MaxSelect     *int             `json:"max_select,omitempty" required:"false" minimum:"1" maximum:"100"`
		FreeAllowance *int             `json:"free_allowance,omitempty" required:"false" minimum:"0" maximum:"100"`
		PreModifiers  *[]string        `json:"pre_modifiers,omitempty" required:"false" maxItems:"4"`
		Modifiers     *[]menu.Modifier `json:"modifiers,omitempty" required:"false" minItems:"1" maxItems:"100"`
	}
}

func (s *Server) routeModifiers() {
	tags := []string{"Menu"}
	huma.Register(s.api, huma.Operation{
		OperationID: "modifier-group-list", Method: http.MethodGet, Path: "/api/v1/modifier-groups", Tags: tags,
		Summary: "List modifier groups", Security: bearer, Errors: []int{401},
	}, s.handleModifierGroupList)
	huma.Register(s.api, huma.Operation{
		OperationID: "modifier-group-create", Method: http.MethodPost, Path: "/api/v1/modifier-groups", Tags: tags,
		Summary: "Add a modifier group",
		Description: "A question asked when an item is ordered. min_select 1 and max_select 1 is a required single choice; " +
			"min_select 0 makes it optional. free_allowance choices cost nothing.",
		DefaultStatus: http.StatusCreated, Security: bearer, Errors: []int{401, 403, 422},
		Metadata: needs(auth.PermMenuEdit),
	}, s.handleModifierGroupCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "modifier-group-get", Method: http.MethodGet, Path: "/api/v1/modifier-groups/{id}", Tags: tags,
		Summary: "Get a modifier group", Security: bearer, Errors: []int{401, 404},
	}, s.handleModifierGroupGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "modifier-group-update", Method: http.MethodPatch, Path: "/api/v1/modifier-groups/{id}", Tags: tags,
		Summary: "Change a modifier group", Security: bearer, Errors: []int{401, 403, 404, 409, 422},
		Metadata: needs(auth.PermMenuEdit),
	}, s.handleModifierGroupUpdate)
	huma.Register(s.api, huma.Operation{
		OperationID: "modifier-group-delete", Method: http.MethodDelete, Path: "/api/v1/modifier-groups/{id}", Tags: tags,
		Summary: "Delete a modifier group no item asks", DefaultStatus: http.StatusNoContent, Security: bearer, Errors: []int{401, 403, 404, 409},
		Metadata: needs(auth.PermMenuEdit),
	}, s.handleModifierGroupDelete)
}

func (s *Server) handleModifierGroupList(ctx context.Context, _ *struct{}) (*modifierGroupListOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	gs, err := s.menu.ModifierGroups(ctx, p.OrgID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &modifierGroupListOutput{}
	out.Body.Items = gs
	return out, nil
}

func (s *Server) handleModifierGroupCreate(ctx context.Context, in *modifierGroupCreateInput) (*modifierGroupOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	g, err := s.menu.CreateModifierGroup(ctx, p.OrgID, menu.ModifierGroupInput{Name: b.Name, MinSelect: b.MinSelect, MaxSelect: b.MaxSelect,
		FreeAllowance: b.FreeAllowance, PreModifiers: b.PreModifiers, Modifiers: b.Modifiers})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &modifierGroupOutput{Status: http.StatusCreated, Location: "/api/v1/modifier-groups/" + g.ID, Body: g}, nil
}

func (s *Server) handleModifierGroupGet(ctx context.Context, in *pathID) (*modifierGroupOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	g, err := s.menu.ModifierGroup(ctx, p.OrgID, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &modifierGroupOutput{Status: http.StatusOK, Body: g}, nil
}

func (s *Server) handleModifierGroupUpdate(ctx context.Context, in *modifierGroupPatchInput) (*modifierGroupOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	g, err := s.menu.UpdateModifierGroup(ctx, p.OrgID, in.ID, menu.ModifierGroupPatch{Version: b.Version, Name: b.Name, MinSelect: b.MinSelect,
		MaxSelect: b.MaxSelect, FreeAllowance: b.FreeAllowance, PreModifiers: b.PreModifiers, Modifiers: b.Modifiers})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &modifierGroupOutput{Status: http.StatusOK, Body: g}, nil
}

func (s *Server) handleModifierGroupDelete(ctx context.Context, in *pathID) (*noContentOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.menu.DeleteModifierGroup(ctx, p.OrgID, in.ID); err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return nil, nil
}
