package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/kitchen"
	"github.com/fynlo/fynlo/internal/order"
)

type orderBody struct {
	ID           string            `json:"id,omitempty" required:"false" maxLength:"64" doc:"optional client-chosen ID (ord_ + ULID): a retry with it returns the check made the first time"`
	LocationID   string            `json:"location_id,omitempty" required:"false" maxLength:"64" doc:"the staff token's location if empty"`
	Type         string            `json:"type" enum:"dine_in,takeaway,delivery,bar_tab"`
	TableID      string            `json:"table_id,omitempty" required:"false" maxLength:"64"`
	Covers       int               `json:"covers,omitempty" required:"false" minimum:"0" maximum:"500"`
	ServerID     string            `json:"server_id,omitempty" required:"false" maxLength:"64" doc:"the caller if an employee, unless given"`
	CustomerName string            `json:"customer_name,omitempty" required:"false" maxLength:"120"`
	Notes        string            `json:"notes,omitempty" required:"false" maxLength:"1000"`
	Lines        []order.LineInput `json:"lines,omitempty" required:"false" maxItems:"200" doc:"lines to add at once; each may carry an op_id"`
	Send         bool              `json:"send,omitempty" required:"false" doc:"send the lines to the kitchen at once, in the same transaction (not for quotes)"`
	Hold         []int             `json:"hold,omitempty" required:"false" maxItems:"9" doc:"with send: courses to keep back until fired"`
}

func (b orderBody) input() order.OpenInput {
	return order.OpenInput{ID: b.ID, LocationID: b.LocationID, Type: b.Type, TableID: b.TableID, Covers: b.Covers, ServerID: b.ServerID,
		CustomerName: b.CustomerName, Notes: b.Notes, Lines: b.Lines}
}

type orderCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	Body           orderBody
}

type orderOutput struct {
	Status   int
	Location string `header:"Location" doc:"on 201: the new check's URL"`
	Body     *order.Order
}

type orderListInput struct {
	LocationID string `query:"location_id" maxLength:"64"`
	TableID    string `query:"table_id" maxLength:"64"`
	Status     string `query:"status" maxLength:"100" doc:"comma-separated statuses, e.g. open,sent"`
	Cursor     string `query:"cursor" maxLength:"64"`
	Limit      int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

type orderListOutput struct {
	Body struct {
		Orders     []*order.Order `json:"orders" doc:"newest first"`
		NextCursor string         `json:"next_cursor,omitempty"`
	}
}

type orderOpsInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Ops []order.Op `json:"ops" minItems:"1" maxItems:"100"`
	}
}

type orderOpsOutput struct {
	Body struct {
		Order   *order.Order     `json:"order"`
		Results []order.OpResult `json:"results" doc:"one per operation, in order"`
	}
}

type versionBody struct {
	Version int64 `json:"version" minimum:"1" doc:"the check's version as last read"`
}

type orderSendInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version int64 `json:"version" minimum:"1" doc:"the check's version as last read"`
		Hold    []int `json:"hold,omitempty" required:"false" maxItems:"9" doc:"courses to keep back until fired, e.g. [2, 3]"`
		Fire    int   `json:"fire,omitempty" required:"false" minimum:"0" maximum:"9" doc:"send this held course now (and nothing else)"`
	}
}

type orderSendOutput struct {
	Body struct {
		Order   *order.Order      `json:"order"`
		Tickets []*kitchen.Ticket `json:"tickets" doc:"one per station that got lines"`
	}
}

type orderReasonInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version int64  `json:"version" minimum:"1" doc:"the check's version as last read"`
		Reason  string `json:"reason" maxLength:"200"`
	}
}

type orderVersionInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body versionBody
}

type orderTransferInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version  int64   `json:"version" minimum:"1" doc:"the check's version as last read"`
		TableID  *string `json:"table_id,omitempty" required:"false" maxLength:"64" doc:"empty string: off any table"`
		ServerID *string `json:"server_id,omitempty" required:"false" maxLength:"64"`
		Covers   *int    `json:"covers,omitempty" required:"false" minimum:"0" maximum:"500"`
		Type     *string `json:"type,omitempty" required:"false" enum:"dine_in,takeaway,delivery,bar_tab"`
	}
}

type orderSplitInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version int64      `json:"version" minimum:"1" doc:"the check's version as last read"`
		By      string     `json:"by" enum:"seat,item,equal,amounts"`
		Parts   int        `json:"parts,omitempty" required:"false" minimum:"0" maximum:"100" doc:"for equal"`
		Amounts []int64    `json:"amounts,omitempty" required:"false" maxItems:"100" doc:"for amounts: minor units adding up to the total"`
		Groups  [][]string `json:"groups,omitempty" required:"false" maxItems:"100" doc:"for item: line IDs per part; lines in no group are shared"`
	}
}

type orderMoveInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version   int64    `json:"version" minimum:"1" doc:"the check's version as last read"`
		LineIDs   []string `json:"line_ids" minItems:"1" maxItems:"200"`
		ToOrderID string   `json:"to_order_id" maxLength:"64"`
		ToVersion int64    `json:"to_version" minimum:"1"`
	}
}

type orderMergeInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version     int64  `json:"version" minimum:"1" doc:"the check's version as last read"`
		FromOrderID string `json:"from_order_id" maxLength:"64" doc:"the check whose lines come over; it is closed as merged"`
		FromVersion int64  `json:"from_version" minimum:"1"`
	}
}

type orderPairOutput struct {
	Body struct {
		Order *order.Order `json:"order" doc:"the check acted on"`
		Other *order.Order `json:"other" doc:"the other check"`
	}
}

func (s *Server) routeOrders() {
	tags := []string{"Orders"}
	reg := func(op huma.Operation, h any) {
		op.Tags, op.Security = tags, bearer
		switch h := h.(type) {
		case func(context.Context, *orderVersionInput) (*orderOutput, error):
			huma.Register(s.api, op, h)
		case func(context.Context, *orderReasonInput) (*orderOutput, error):
			huma.Register(s.api, op, h)
		}
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "order-create", Method: http.MethodPost, Path: "/api/v1/orders", Tags: tags,
		Summary: "Open a check",
		Description: "Opens a check, with lines if given (each an add_line operation). The receipt `number` counts per location " +
			"and business day and is never an identifier. A client-chosen `id` makes a retry return the same check (200).",
		DefaultStatus: http.StatusCreated, Security: bearer, Errors: []int{401, 404, 409, 422},
	}, s.handleOrderCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "order-quote", Method: http.MethodPost, Path: "/api/v1/orders/quote", Tags: tags,
		Summary:     "Price a check without saving it",
		Description: "Takes the body of POST /orders and answers the check as it would be, totals and VAT included. Nothing is written.",
		Security:    bearer, Errors: []int{401, 404, 422},
	}, s.handleOrderQuote)
	huma.Register(s.api, huma.Operation{
		OperationID: "order-list", Method: http.MethodGet, Path: "/api/v1/orders", Tags: tags,
		Summary: "List checks", Security: bearer, Errors: []int{401, 422},
	}, s.handleOrderList)
	huma.Register(s.api, huma.Operation{
		OperationID: "order-get", Method: http.MethodGet, Path: "/api/v1/orders/{id}", Tags: tags,
		Summary: "Get a check", Security: bearer, Errors: []int{401, 404},
	}, s.handleOrderGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "order-ops", Method: http.MethodPost, Path: "/api/v1/orders/{id}/ops", Tags: tags,
		Summary: "Add, change, void, comp or discount lines",
		Description: "Applies operations, all or none. Each carries the client's `op_id` and is applied once: a retry answers " +
			"`replayed: true` and changes nothing, so two iPads adding to one check never lose or double a line. Operations " +
			"need no version. Voiding a line the kitchen has needs `order.void`, comping `order.comp`, a discount " +
			"`order.discount` up to the role's limit — beyond it, a manager's approval in the Fynlo-Approval header.",
		Security: bearer, Errors: []int{401, 403, 404, 409, 422},
	}, s.handleOrderOps)
	huma.Register(s.api, huma.Operation{
		OperationID: "order-send", Method: http.MethodPost, Path: "/api/v1/orders/{id}/send", Tags: tags,
		Summary: "Send a check to the kitchen",
		Description: "Makes one ticket per station with the lines not sent before; a line never reaches a station twice. " +
			"`hold` keeps courses back; `fire` sends a held course.",
		Security: bearer, Errors: []int{401, 404, 409, 422},
	}, s.handleOrderSend)
	reg(huma.Operation{OperationID: "order-cancel", Method: http.MethodPost, Path: "/api/v1/orders/{id}/cancel",
		Summary: "Cancel a check nothing of which was sent or paid", Errors: []int{401, 404, 409, 422}}, s.handleOrderCancel)
	reg(huma.Operation{OperationID: "order-void", Method: http.MethodPost, Path: "/api/v1/orders/{id}/void",
		Summary: "Void a check after sending", Description: "Every line is voided and counted stock goes back. A paid check cannot be voided: refund it.",
		Errors: []int{401, 403, 404, 409, 422}, Metadata: needs(auth.PermOrderVoid)}, s.handleOrderVoid)
	reg(huma.Operation{OperationID: "order-close", Method: http.MethodPost, Path: "/api/v1/orders/{id}/close",
		Summary: "Close a paid check, or one with nothing to pay", Errors: []int{401, 404, 409, 422}}, s.handleOrderClose)
	reg(huma.Operation{OperationID: "order-reopen", Method: http.MethodPost, Path: "/api/v1/orders/{id}/reopen",
		Summary: "Reopen a closed check", Errors: []int{401, 403, 404, 409, 422}, Metadata: needs(auth.PermOrderReopen)}, s.handleOrderReopen)
	huma.Register(s.api, huma.Operation{
		OperationID: "order-transfer", Method: http.MethodPost, Path: "/api/v1/orders/{id}/transfer", Tags: tags,
		Summary:     "Move a check to another table or server, or change its covers or type",
		Description: "Changing the type (e.g. dine_in → takeaway) changes the VAT of every line that follows the check.",
		Security:    bearer, Errors: []int{401, 404, 409, 422},
	}, s.handleOrderTransfer)
	huma.Register(s.api, huma.Operation{
		OperationID: "order-split", Method: http.MethodPost, Path: "/api/v1/orders/{id}/split", Tags: tags,
		Summary: "Split the bill",
		Description: "By seat, by item, into N equal parts or into chosen amounts. The parts always add up to the total to the " +
			"penny: odd pennies go to the first parts, and shared lines are divided equally. Amounts that do not add up get 422 " +
			"`split_does_not_cover`.",
		Security: bearer, Errors: []int{401, 404, 409, 422},
	}, s.handleOrderSplit)
	huma.Register(s.api, huma.Operation{
		OperationID: "order-move-lines", Method: http.MethodPost, Path: "/api/v1/orders/{id}/move-lines", Tags: tags,
		Summary: "Move lines to another check", Security: bearer, Errors: []int{401, 404, 409, 422},
	}, s.handleOrderMoveLines)
	huma.Register(s.api, huma.Operation{
		OperationID: "order-merge", Method: http.MethodPost, Path: "/api/v1/orders/{id}/merge", Tags: tags,
		Summary: "Merge another check into this one", Security: bearer, Errors: []int{401, 404, 409, 422},
	}, s.handleOrderMerge)
}

// actor is the caller of an order operation, with any manager's approval.
func (s *Server) actor(ctx context.Context) (order.Actor, error) {
	p, err := s.requirePrincipal(ctx)
	return order.Actor{Principal: p, Approval: info(ctx).approval}, err
}

func (s *Server) handleOrderCreate(ctx context.Context, in *orderCreateInput) (*orderOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	var o *order.Order
	var created bool
	if in.Body.Send && len(in.Body.Lines) > 0 {
		o, _, created, err = s.kitchen.OpenAndSend(ctx, a, in.Body.input(), in.Body.Hold)
	} else {
		o, created, err = s.orders.Open(ctx, a, in.Body.input())
	}
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return &orderOutput{Status: status, Location: "/api/v1/orders/" + o.ID, Body: o}, nil
}

func (s *Server) handleOrderQuote(ctx context.Context, in *orderCreateInput) (*orderOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.orders.Quote(ctx, a, in.Body.input())
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &orderOutput{Status: http.StatusOK, Body: o}, nil
}

func (s *Server) handleOrderList(ctx context.Context, in *orderListInput) (*orderListOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	f := order.OrderFilter{LocationID: in.LocationID, TableID: in.TableID, After: in.Cursor, Limit: in.Limit + 1}
	if a.LocationID != "" {
		f.LocationID = a.LocationID // staff see their location's checks
	}
	if in.Status != "" {
		for _, st := range strings.Split(in.Status, ",") {
			f.Statuses = append(f.Statuses, order.Status(strings.TrimSpace(st)))
		}
	}
	os, err := s.orders.Orders(ctx, a.OrgID, f)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &orderListOutput{}
	out.Body.Orders, out.Body.NextCursor = page(os, in.Limit, func(o *order.Order) string { return o.ID })
	return out, nil
}

func (s *Server) handleOrderGet(ctx context.Context, in *pathID) (*orderOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.orders.Order(ctx, a.OrgID, in.ID)
	if err == nil && a.LocationID != "" && o.LocationID != a.LocationID {
		o, err = nil, apperr.NotFoundf("order")
	}
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &orderOutput{Status: http.StatusOK, Body: o}, nil
}

func (s *Server) handleOrderOps(ctx context.Context, in *orderOpsInput) (*orderOpsOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	o, results, err := s.orders.Apply(ctx, a, in.ID, in.Body.Ops)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &orderOpsOutput{}
	out.Body.Order, out.Body.Results = o, results
	return out, nil
}

func (s *Server) handleOrderSend(ctx context.Context, in *orderSendInput) (*orderSendOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	o, tickets, err := s.kitchen.Send(ctx, a, in.ID, kitchen.SendInput{Version: in.Body.Version, Hold: in.Body.Hold, Fire: in.Body.Fire})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &orderSendOutput{}
	out.Body.Order, out.Body.Tickets = o, tickets
	if out.Body.Tickets == nil {
		out.Body.Tickets = []*kitchen.Ticket{}
	}
	return out, nil
}

// orderAnswer turns a service's answer into a response.
func (s *Server) orderAnswer(ctx context.Context, o *order.Order, err error) (*orderOutput, error) {
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &orderOutput{Status: http.StatusOK, Body: o}, nil
}

func (s *Server) handleOrderCancel(ctx context.Context, in *orderReasonInput) (*orderOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.orders.Cancel(ctx, a, in.ID, in.Body.Version, in.Body.Reason)
	return s.orderAnswer(ctx, o, err)
}

func (s *Server) handleOrderVoid(ctx context.Context, in *orderReasonInput) (*orderOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.orders.Void(ctx, a, in.ID, in.Body.Version, in.Body.Reason)
	return s.orderAnswer(ctx, o, err)
}

func (s *Server) handleOrderClose(ctx context.Context, in *orderVersionInput) (*orderOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.orders.Close(ctx, a, in.ID, in.Body.Version)
	return s.orderAnswer(ctx, o, err)
}

func (s *Server) handleOrderReopen(ctx context.Context, in *orderReasonInput) (*orderOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.orders.Reopen(ctx, a, in.ID, in.Body.Version, in.Body.Reason)
	return s.orderAnswer(ctx, o, err)
}

func (s *Server) handleOrderTransfer(ctx context.Context, in *orderTransferInput) (*orderOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	o, err := s.orders.Transfer(ctx, a, in.ID, b.Version, order.TransferInput{TableID: b.TableID, ServerID: b.ServerID, Covers: b.Covers, Type: b.Type})
	return s.orderAnswer(ctx, o, err)
}

func (s *Server) handleOrderSplit(ctx context.Context, in *orderSplitInput) (*orderOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	o, err := s.orders.SplitCheck(ctx, a, in.ID, b.Version, order.SplitInput{By: b.By, Parts: b.Parts, Amounts: b.Amounts, Groups: b.Groups})
	return s.orderAnswer(ctx, o, err)
}

func (s *Server) handleOrderMoveLines(ctx context.Context, in *orderMoveInput) (*orderPairOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	from, to, err := s.orders.MoveLines(ctx, a, in.ID, b.Version, b.LineIDs, b.ToOrderID, b.ToVersion)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &orderPairOutput{}
	out.Body.Order, out.Body.Other = from, to
	return out, nil
}

func (s *Server) handleOrderMerge(ctx context.Context, in *orderMergeInput) (*orderPairOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	into, from, err := s.orders.Merge(ctx, a, in.ID, b.Version, b.FromOrderID, b.FromVersion)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &orderPairOutput{}
	out.Body.Order, out.Body.Other = into, from
	return out, nil
}
