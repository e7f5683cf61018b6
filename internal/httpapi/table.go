package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/order"
)

type tableCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	Body           struct {
		ID         string `json:"id,omitempty" required:"false" maxLength:"64" doc:"optional client-chosen ID (tbl_ + ULID)"`
		LocationID string `json:"location_id" maxLength:"64"`
		Area       string `json:"area,omitempty" required:"false" maxLength:"60" example:"Terrace"`
		Name       string `json:"name" maxLength:"30" example:"12"`
		Seats      int    `json:"seats" minimum:"1" maximum:"100"`
		Position   int    `json:"position,omitempty" required:"false"`
	}
}

type tableOutput struct {
	Status int
	Body   *order.Table
}

type tableListInput struct {
	LocationID string `query:"location_id" maxLength:"64" doc:"required with an owner's token; a staff token's own location otherwise"`
	Archived   bool   `query:"archived" doc:"include tables no longer in use"`
}

type tableListOutput struct {
	Body struct {
		Tables []*order.Table `json:"tables" doc:"by area, position and name, each with its status"`
	}
}

type tablePatchInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version  int64   `json:"version" minimum:"1"`
		Area     *string `json:"area,omitempty" required:"false" maxLength:"60"`
		Name     *string `json:"name,omitempty" required:"false" maxLength:"30"`
		Seats    *int    `json:"seats,omitempty" required:"false" minimum:"1" maximum:"100"`
		Position *int    `json:"position,omitempty" required:"false"`
		Archived *bool   `json:"archived,omitempty" required:"false"`
	}
}

func (s *Server) routeTables() {
	tags := []string{"Tables"}
	huma.Register(s.api, huma.Operation{
		OperationID: "table-create", Method: http.MethodPost, Path: "/api/v1/tables", Tags: tags,
		Summary: "Add a table to a location's floor", DefaultStatus: http.StatusCreated, Security: bearer,
		Errors: []int{401, 403, 409, 422}, Metadata: needs(auth.PermSettingsManage),
	}, s.handleTableCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "table-list", Method: http.MethodGet, Path: "/api/v1/tables", Tags: tags,
		Summary:     "List a location's tables with their status",
		Description: "A table is free, seated (a check is open, nothing ordered), ordered, or paying (split or paid, not closed).",
		Security:    bearer, Errors: []int{401, 404, 422},
	}, s.handleTableList)
	huma.Register(s.api, huma.Operation{
		OperationID: "table-get", Method: http.MethodGet, Path: "/api/v1/tables/{id}", Tags: tags,
		Summary: "Get a table with its status", Security: bearer, Errors: []int{401, 404},
	}, s.handleTableGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "table-update", Method: http.MethodPatch, Path: "/api/v1/tables/{id}", Tags: tags,
		Summary: "Change or archive a table", Security: bearer, Errors: []int{401, 403, 404, 409, 422},
		Metadata: needs(auth.PermSettingsManage),
	}, s.handleTableUpdate)
}

func (s *Server) handleTableCreate(ctx context.Context, in *tableCreateInput) (*tableOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	if a.LocationID != "" && b.LocationID != a.LocationID {
		// A staff token adds tables at its own location only.
		return nil, problemFor(ctx, s.logger, apperr.NotFoundf("location"))
	}
	t, err := s.orders.CreateTable(ctx, a.OrgID, order.TableInput{ID: b.ID, LocationID: b.LocationID, Area: b.Area, Name: b.Name,
		Seats: b.Seats, Position: b.Position})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &tableOutput{Status: http.StatusCreated, Body: t}, nil
}

func (s *Server) handleTableList(ctx context.Context, in *tableListInput) (*tableListOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	loc, err := s.locationFor(ctx, a, in.LocationID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	ts, err := s.orders.Tables(ctx, a.OrgID, loc, in.Archived)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &tableListOutput{}
	out.Body.Tables = ts
	return out, nil
}

func (s *Server) handleTableGet(ctx context.Context, in *pathID) (*tableOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.orders.Table(ctx, a.OrgID, in.ID)
	if err == nil && a.LocationID != "" && t.LocationID != a.LocationID {
		t, err = nil, apperr.NotFoundf("table") // a staff token sees its own location's floor, as with checks
	}
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &tableOutput{Status: http.StatusOK, Body: t}, nil
}

func (s *Server) handleTableUpdate(ctx context.Context, in *tablePatchInput) (*tableOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	if a.LocationID != "" { // a staff token changes its own location's tables only
		t, err := s.orders.Table(ctx, a.OrgID, in.ID)
		if err == nil && t.LocationID != a.LocationID {
			err = apperr.NotFoundf("table")
		}
		if err != nil {
			return nil, problemFor(ctx, s.logger, err)
		}
	}
	b := in.Body
	t, err := s.orders.UpdateTable(ctx, a.OrgID, in.ID, order.TablePatch{Version: b.Version, Area: b.Area, Name: b.Name, Seats: b.Seats,
		Position: b.Position, Archived: b.Archived})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &tableOutput{Status: http.StatusOK, Body: t}, nil
}
