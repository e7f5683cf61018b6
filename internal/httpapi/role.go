package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/auth"
)

type roleOutput struct {
	Status   int
	Location string `header:"Location" doc:"on 201: the new role's URL"`
	Body     *auth.Role
}

type roleListOutput struct {
	Body struct {
		Items       []*auth.Role `json:"items" doc:"the built-in roles, then the organization's own"`
		Permissions []string     `json:"permissions" doc:"every permission a role can grant"`
	}
}

type roleCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	Body           struct {
		Name   string       `json:"name" minLength:"1" maxLength:"60" example:"Head bartender"`
		Grants []auth.Grant `json:"grants" maxItems:"50"`
	}
}

type roleGetInput struct {
	ID string `path:"id" maxLength:"64"`
}

type rolePatchInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version int64         `json:"version" minimum:"1" doc:"the version you last read"`
		Name    *string       `json:"name,omitempty" required:"false" minLength:"1" maxLength:"60"`
		Grants  *[]auth.Grant `json:"grants,omitempty" required:"false" maxItems:"50"`
	}
}

func (s *Server) routeRoles() {
	tags := []string{"Staff"}
	huma.Register(s.api, huma.Operation{
		OperationID: "role-list", Method: http.MethodGet, Path: "/api/v1/roles", Tags: tags,
		Summary: "List roles and permissions", Security: bearer, Errors: []int{401, 403},
		Metadata: needs(auth.PermStaffManage),
	}, s.handleRoleList)
	huma.Register(s.api, huma.Operation{
		OperationID: "role-create", Method: http.MethodPost, Path: "/api/v1/roles", Tags: tags,
		Summary:     "Make a custom role",
		Description: "A named set of permissions. order.discount needs max_discount_bp (basis points: 1000 = 10%).",
		Security:    bearer, DefaultStatus: http.StatusCreated, Errors: []int{401, 403, 409, 422},
		Metadata: needs(auth.PermStaffManage),
	}, s.handleRoleCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "role-get", Method: http.MethodGet, Path: "/api/v1/roles/{id}", Tags: tags,
		Summary: "Get a role", Security: bearer, Errors: []int{401, 403, 404},
		Metadata: needs(auth.PermStaffManage),
	}, s.handleRoleGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "role-update", Method: http.MethodPatch, Path: "/api/v1/roles/{id}", Tags: tags,
		Summary:     "Change a custom role",
		Description: "Takes effect on the next request of everyone with the role. Built-in roles cannot change (403).",
		Security:    bearer, Errors: []int{401, 403, 404, 409, 422},
		Metadata: needs(auth.PermStaffManage),
	}, s.handleRoleUpdate)
}

func (s *Server) handleRoleList(ctx context.Context, _ *struct{}) (*roleListOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := s.auth.Roles(ctx, p.OrgID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &roleListOutput{}
	out.Body.Items, out.Body.Permissions = rs, auth.Permissions
	return out, nil
}

func (s *Server) handleRoleCreate(ctx context.Context, in *roleCreateInput) (*roleOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.auth.CreateRole(ctx, p.OrgID, in.Body.Name, in.Body.Grants)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &roleOutput{Status: http.StatusCreated, Location: "/api/v1/roles/" + r.ID, Body: r}, nil
}

func (s *Server) handleRoleGet(ctx context.Context, in *roleGetInput) (*roleOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.auth.Role(ctx, p.OrgID, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &roleOutput{Status: http.StatusOK, Body: r}, nil
}

func (s *Server) handleRoleUpdate(ctx context.Context, in *rolePatchInput) (*roleOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.auth.UpdateRole(ctx, p.OrgID, in.ID, auth.RolePatch{Version: in.Body.Version, Name: in.Body.Name, Grants: in.Body.Grants})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &roleOutput{Status: http.StatusOK, Body: r}, nil
}
