package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/cash"
	"github.com/fynlo/fynlo/internal/money"
)

type drawerCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	Body           struct {
		ID         string `json:"id,omitempty" required:"false" maxLength:"64" doc:"optional client-chosen ID (drw_ + ULID)"`
		LocationID string `json:"location_id" maxLength:"64"`
		Name       string `json:"name" maxLength:"60" example:"Bar till"`
	}
}

type drawerOutput struct {
	Status int
	Body   *cash.Drawer
}

type drawerListInput struct {
	LocationID string `query:"location_id" maxLength:"64" doc:"required with an owner's token; a staff token's own location otherwise"`
}

type drawerListOutput struct {
	Body struct {
		Drawers []*cash.Drawer `json:"drawers" doc:"by name"`
	}
}

type drawerSessionPath struct {
	ID        string `path:"id" maxLength:"64"`
	SessionID string `path:"session_id" maxLength:"64"`
}

type drawerSessionOpenInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	ID             string `path:"id" maxLength:"64"`
	Body           struct {
		ID    string      `json:"id,omitempty" required:"false" maxLength:"64" doc:"optional client-chosen ID (dss_ + ULID)"`
		Float money.Money `json:"float" doc:"the cash put in the drawer to start with"`
	}
}

type drawerSessionOutput struct {
	Status int
	Body   *cash.Session
}

type drawerSessionListOutput struct {
	Body struct {
		Sessions []*cash.Session `json:"sessions" doc:"newest first, without their summaries"`
	}
}

type movementInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	ID             string `path:"id" maxLength:"64"`
	SessionID      string `path:"session_id" maxLength:"64"`
	Body           struct {
		ID     string       `json:"id,omitempty" required:"false" maxLength:"64" doc:"optional client-chosen ID (dmv_ + ULID)"`
		Kind   string       `json:"kind" enum:"paid_in,paid_out,no_sale"`
		Amount *money.Money `json:"amount,omitempty" required:"false" doc:"for paid_in and paid_out"`
		Reason string       `json:"reason" maxLength:"200"`
	}
}

type movementOutput struct {
	Status int
	Body   *cash.Movement
}

type movementListOutput struct {
	Body struct {
		Movements []*cash.Movement `json:"movements" doc:"oldest first"`
	}
}

type drawerSessionCloseInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	ID             string `path:"id" maxLength:"64"`
	SessionID      string `path:"session_id" maxLength:"64"`
	Body           struct {
		Version int64       `json:"version" minimum:"1"`
		Counted money.Money `json:"counted" doc:"what is in the drawer, counted"`
		Note    string      `json:"note,omitempty" required:"false" maxLength:"500"`
	}
}

func (s *Server) routeCash() {
	tags := []string{"Cash drawers"}
	huma.Register(s.api, huma.Operation{
		OperationID: "drawer-create", Method: http.MethodPost, Path: "/api/v1/cash-drawers", Tags: tags,
		Summary: "Add a cash drawer to a location", DefaultStatus: http.StatusCreated, Security: bearer,
		Errors: []int{401, 403, 409, 422}, Metadata: needs(auth.PermSettingsManage),
	}, s.handleDrawerCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "drawer-list", Method: http.MethodGet, Path: "/api/v1/cash-drawers", Tags: tags,
		Summary: "List a location's cash drawers, with their open sessions", Security: bearer, Errors: []int{401, 404, 422},
	}, s.handleDrawerList)
	huma.Register(s.api, huma.Operation{
		OperationID: "drawer-get", Method: http.MethodGet, Path: "/api/v1/cash-drawers/{id}", Tags: tags,
		Summary: "Get a cash drawer", Security: bearer, Errors: []int{401, 404},
	}, s.handleDrawerGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "drawer-session-open", Method: http.MethodPost, Path: "/api/v1/cash-drawers/{id}/sessions", Tags: tags,
		Summary: "Open a drawer session with a float", Description: "One session at a time per drawer: a second gets 409 session_open.",
		DefaultStatus: http.StatusCreated, Security: bearer, Errors: []int{401, 403, 404, 409, 422}, Metadata: needs(auth.PermCashOpenDrawer),
	}, s.handleDrawerSessionOpen)
	huma.Register(s.api, huma.Operation{
		OperationID: "drawer-session-list", Method: http.MethodGet, Path: "/api/v1/cash-drawers/{id}/sessions", Tags: tags,
		Summary: "List a drawer's sessions", Security: bearer, Errors: []int{401, 404},
	}, s.handleDrawerSessionList)
	huma.Register(s.api, huma.Operation{
		OperationID: "drawer-session-get", Method: http.MethodGet, Path: "/api/v1/cash-drawers/{id}/sessions/{session_id}", Tags: tags,
		Summary: "Get a drawer session",
		Description: "Its `summary` (float, cash sales, refunds, paid in and out, expected) is summed from the rows each time. " +
			"While the session is open it is shown only to roles with report.view: whoever counts the drawer counts it blind.",
		Security: bearer, Errors: []int{401, 404},
	}, s.handleDrawerSessionGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "drawer-movement-create", Method: http.MethodPost, Path: "/api/v1/cash-drawers/{id}/sessions/{session_id}/movements", Tags: tags,
		Summary:       "Pay cash in or out of a drawer, or open it with no sale",
		Description:   "paid_in and paid_out need cash.paid_in_out; no_sale needs cash.no_sale. Each has a reason and is audited.",
		DefaultStatus: http.StatusCreated, Security: bearer, Errors: []int{401, 403, 404, 409, 422},
	}, s.handleMovementCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "drawer-movement-list", Method: http.MethodGet, Path: "/api/v1/cash-drawers/{id}/sessions/{session_id}/movements", Tags: tags,
		Summary: "List a drawer session's movements", Security: bearer, Errors: []int{401, 404},
	}, s.handleMovementList)
	huma.Register(s.api, huma.Operation{
		OperationID: "drawer-session-close", Method: http.MethodPost, Path: "/api/v1/cash-drawers/{id}/sessions/{session_id}/close", Tags: tags,
		Summary: "Close a drawer session with a blind count",
		Description: "The answer shows what was expected and the variance (counted − expected). A variance beyond £5 either way needs " +
			"cash.approve_variance, or a manager's approval in the Fynlo-Approval header; the approver is recorded.",
		Security: bearer, Errors: []int{401, 403, 404, 409, 422}, Metadata: needs(auth.PermCashOpenDrawer),
	}, s.handleDrawerSessionClose)
}

func (s *Server) handleDrawerCreate(ctx context.Context, in *drawerCreateInput) (*drawerOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.cash.CreateDrawer(ctx, a, cash.Drawer{ID: in.Body.ID, LocationID: in.Body.LocationID, Name: in.Body.Name})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &drawerOutput{Status: http.StatusCreated, Body: d}, nil
}

func (s *Server) handleDrawerList(ctx context.Context, in *drawerListInput) (*drawerListOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	loc, err := s.locationFor(ctx, a, in.LocationID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	ds, err := s.cash.Drawers(ctx, a, loc)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &drawerListOutput{}
	out.Body.Drawers = ds
	return out, nil
}

func (s *Server) handleDrawerGet(ctx context.Context, in *pathID) (*drawerOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.cash.Drawer(ctx, a, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &drawerOutput{Status: http.StatusOK, Body: d}, nil
}

func (s *Server) handleDrawerSessionOpen(ctx context.Context, in *drawerSessionOpenInput) (*drawerSessionOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	sess, err := s.cash.Open(ctx, a, in.ID, cash.OpenInput{ID: in.Body.ID, Float: in.Body.Float})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &drawerSessionOutput{Status: http.StatusCreated, Body: sess}, nil
}

func (s *Server) handleDrawerSessionList(ctx context.Context, in *pathID) (*drawerSessionListOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	ss, err := s.cash.Sessions(ctx, a, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &drawerSessionListOutput{}
	out.Body.Sessions = ss
	return out, nil
}

func (s *Server) handleDrawerSessionGet(ctx context.Context, in *drawerSessionPath) (*drawerSessionOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	sess, err := s.cash.Session(ctx, a, in.ID, in.SessionID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &drawerSessionOutput{Status: http.StatusOK, Body: sess}, nil
}

func (s *Server) handleMovementCreate(ctx context.Context, in *movementInput) (*movementOutput, error) {
	perm := auth.PermCashPaidInOut
	if in.Body.Kind == cash.MoveNoSale {
		perm = auth.PermCashNoSale
	}
	if _, err := s.authorize(ctx, perm); err != nil {
		return nil, err
	}
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	mi := cash.MoveInput{ID: in.Body.ID, Kind: in.Body.Kind, Reason: in.Body.Reason}
	if in.Body.Amount != nil {
		mi.Amount = *in.Body.Amount
	}
	m, err := s.cash.Move(ctx, a, in.ID, in.SessionID, mi)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &movementOutput{Status: http.StatusCreated, Body: m}, nil
}

func (s *Server) handleMovementList(ctx context.Context, in *drawerSessionPath) (*movementListOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	ms, err := s.cash.Movements(ctx, a, in.ID, in.SessionID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &movementListOutput{}
	out.Body.Movements = ms
	return out, nil
}

func (s *Server) handleDrawerSessionClose(ctx context.Context, in *drawerSessionCloseInput) (*drawerSessionOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	sess, err := s.cash.Close(ctx, a, in.ID, in.SessionID, cash.CloseInput{Version: in.Body.Version, Counted: in.Body.Counted, Note: in.Body.Note})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &drawerSessionOutput{Status: http.StatusOK, Body: sess}, nil
}
