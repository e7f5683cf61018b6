package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/order"
	"github.com/fynlo/fynlo/internal/payment"
)

type paymentCard struct {
	PaymentMethod string         `json:"payment_method,omitempty" required:"false" maxLength:"255" example:"pm_card_visa" doc:"the provider's payment method from the app: a card, Apple Pay or Tap to Pay on iPhone all arrive as one"`
	Capture       string         `json:"capture,omitempty" required:"false" enum:"automatic,manual" doc:"manual: authorise now, capture later with the tip (bar tabs)"`
	TapToPay      bool           `json:"tap_to_pay,omitempty" required:"false" doc:"the iPhone takes the card itself (Stripe Terminal): the answer is requires_action with the client_secret for the Terminal SDK, and Stripe's webhook finishes the payment"`
	ApplePayToken map[string]any `json:"apple_pay_token,omitempty" required:"false" doc:"direct Apple Pay: the PKPaymentToken's paymentData (EC_v1), opened and verified here with the organization's payment-processing certificate; a token that fails is a 422 and nothing is charged"`
}

type paymentCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	OrderID        string `path:"id" maxLength:"64"`
	Body           struct {
		ID           string       `json:"id,omitempty" required:"false" maxLength:"64" doc:"optional client-chosen ID (pay_ + ULID): a retry with it finds the payment made the first time, and finishes it if it was left in flight"`
		Method       string       `json:"method" enum:"cash,card,open_banking" doc:"open_banking: the answer's payment.open_banking has the link and QR code (qr_svg, qr_png) for the guest to scan; it waits as requires_action until the bank says, and expires after 15 minutes"`
		Amount       *money.Money `json:"amount,omitempty" required:"false" doc:"toward the check; the whole balance if left out. Cash may be more than the balance: the rest is change"`
		Tip          *money.Money `json:"tip,omitempty" required:"false" doc:"on top of the amount, for the check's server"`
		TipPercentBP *int         `json:"tip_percent_bp,omitempty" required:"false" doc:"or a tip as a share of the amount, in basis points (1000 = 10%)"`
		Tendered     *money.Money `json:"tendered,omitempty" required:"false" doc:"cash: what the guest handed over; change is worked out"`
		DrawerID     string       `json:"drawer_id,omitempty" required:"false" maxLength:"64" doc:"cash: the drawer; the location's only open one if left out"`
		Card         *paymentCard `json:"card,omitempty" required:"false"`
	}
}

type paymentResult struct {
	Payment      *payment.Payment `json:"payment"`
	ClientSecret string           `json:"client_secret,omitempty" doc:"when the payment is requires_action: for the app's Stripe SDK to finish 3-D Secure or Tap to Pay; given only here, never stored (retry the payment with its id to get it again)"`
	Order        *order.Order     `json:"order" doc:"the check as the payment left it: its payments.balance, its status (closed once fully paid)"`
}

type paymentResultOutput struct {
	Status   int
	Location string `header:"Location" doc:"on 201: the payment's URL"`
	Body     paymentResult
}

type paymentOutput struct {
	Body *payment.Payment
}

type paymentListInput struct {
	LocationID      string `query:"location_id" maxLength:"64"`
	OrderID         string `query:"order_id" maxLength:"64"`
	BusinessDate    string `query:"business_date" maxLength:"10" doc:"YYYY-MM-DD"`
	DrawerSessionID string `query:"drawer_session_id" maxLength:"64"`
	Method          string `query:"method" enum:"cash,card,open_banking" required:"false"`
	Status          string `query:"status" maxLength:"200" doc:"comma-separated statuses"`
	Cursor          string `query:"cursor" maxLength:"64"`
	Limit           int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type paymentListOutput struct {
	Body struct {
		Payments   []*payment.Payment `json:"payments" doc:"oldest first"`
		NextCursor string             `json:"next_cursor,omitempty"`
	}
}

type paymentCaptureInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	ID             string `path:"id" maxLength:"64"`
	Body           *struct {
		Tip *money.Money `json:"tip,omitempty" required:"false" doc:"the tip written on the slip, replacing the one authorised"`
	} `required:"false"`
}

func (s *Server) routePayments() {
	tags := []string{"Payments"}
	huma.Register(s.api, huma.Operation{
		OperationID: "payment-create", Method: http.MethodPost, Path: "/api/v1/orders/{id}/payments", Tags: tags,
		Summary: "Take a payment toward a check",
		Description: "Cash needs an open drawer session at the check's location; a card goes through the organization's card provider (" +
			"`simulated` when none is configured: it charges nothing and says so). Several payments may be made until the balance is zero; " +
			"the payment that leaves nothing to pay closes the check. A card is never charged more than the balance; cash over it is change. " +
			"The payment is recorded before the provider is called, with its ID as the provider's idempotency key: give it an `id` and a retry " +
			"after any failure finishes it without a second charge.",
		DefaultStatus: http.StatusCreated, Security: bearer, Errors: []int{401, 404, 409, 422, 503},
	}, s.handlePaymentCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "payment-list", Method: http.MethodGet, Path: "/api/v1/payments", Tags: tags,
		Summary: "List payments", Security: bearer, Errors: []int{401, 404, 422},
	}, s.handlePaymentList)
	huma.Register(s.api, huma.Operation{
		OperationID: "payment-get", Method: http.MethodGet, Path: "/api/v1/payments/{id}", Tags: tags,
		Summary: "Get a payment, with the history of its status", Security: bearer, Errors: []int{401, 404},
	}, s.handlePaymentGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "payment-capture", Method: http.MethodPost, Path: "/api/v1/payments/{id}/capture", Tags: tags,
		Summary:  "Capture an authorised card payment, with the tip adjusted",
		Security: bearer, Errors: []int{401, 404, 409, 422, 503},
	}, s.handlePaymentCapture)
	huma.Register(s.api, huma.Operation{
		OperationID: "payment-cancel", Method: http.MethodPost, Path: "/api/v1/payments/{id}/cancel", Tags: tags,
		Summary:  "Cancel a payment that has not taken the money, releasing the card hold",
		Security: bearer, Errors: []int{401, 404, 409, 503},
	}, s.handlePaymentCancel)
}

func (s *Server) handlePaymentCreate(ctx context.Context, in *paymentCreateInput) (*paymentResultOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	pin := payment.PayInput{ID: b.ID, Method: payment.Method(b.Method), Amount: b.Amount, Tip: b.Tip, TipPercentBP: b.TipPercentBP,
		Tendered: b.Tendered, DrawerID: b.DrawerID, ServerURL: info(ctx).base}
	if b.Card != nil {
		pin.PaymentMethod, pin.ManualCapture, pin.Terminal = b.Card.PaymentMethod, b.Card.Capture == "manual", b.Card.TapToPay
		if b.Card.ApplePayToken != nil {
			if pin.ApplePayToken, err = json.Marshal(b.Card.ApplePayToken); err != nil {
				return nil, problemFor(ctx, s.logger, apperr.Field("card.apple_pay_token", "is not JSON"))
			}
		}
	}
	p, o, created, err := s.pay.Pay(ctx, a, in.OrderID, pin)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	s.countPayment(p)
	out := &paymentResultOutput{Status: http.StatusOK, Body: paymentResult{Payment: p, Order: o, ClientSecret: p.ClientSecret}}
	if created {
		out.Status, out.Location = http.StatusCreated, "/api/v1/payments/"+p.ID
	}
	return out, nil
}

func (s *Server) handlePaymentList(ctx context.Context, in *paymentListInput) (*paymentListOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	if in.DrawerSessionID != "" {
		if err := s.cash.Blind(ctx, a, in.DrawerSessionID); err != nil {
			return nil, problemFor(ctx, s.logger, err)
		}
	}
	f := payment.Filter{LocationID: in.LocationID, OrderID: in.OrderID, BusinessDate: in.BusinessDate, DrawerSessionID: in.DrawerSessionID,
		Method: payment.Method(in.Method), After: in.Cursor, Limit: in.Limit + 1}
	if in.Status != "" {
		for _, st := range strings.Split(in.Status, ",") {
			f.Statuses = append(f.Statuses, payment.Status(strings.TrimSpace(st)))
		}
	}
	ps, err := s.pay.Payments(ctx, a, f)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &paymentListOutput{}
	out.Body.Payments, out.Body.NextCursor = page(ps, in.Limit, func(p *payment.Payment) string { return p.ID })
	return out, nil
}

func (s *Server) handlePaymentGet(ctx context.Context, in *pathID) (*paymentOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	p, err := s.pay.Payment(ctx, a, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &paymentOutput{Body: p}, nil
}

func (s *Server) handlePaymentCapture(ctx context.Context, in *paymentCaptureInput) (*paymentResultOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	var ci payment.CaptureInput
	if in.Body != nil {
		ci.Tip = in.Body.Tip
	}
	p, o, err := s.pay.Capture(ctx, a, in.ID, ci)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	s.countPayment(p)
	return &paymentResultOutput{Status: http.StatusOK, Body: paymentResult{Payment: p, Order: o}}, nil
}

func (s *Server) handlePaymentCancel(ctx context.Context, in *pathIDKey) (*paymentResultOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	p, o, err := s.pay.Cancel(ctx, a, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	s.countPayment(p)
	return &paymentResultOutput{Status: http.StatusOK, Body: paymentResult{Payment: p, Order: o}}, nil
}

// pathIDKey is an action on one object, safe to retry with a key.
type pathIDKey struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	ID             string `path:"id" maxLength:"64"`
}

type refundCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	PaymentID      string `path:"id" maxLength:"64"`
	Body           struct {
		ID       string       `json:"id,omitempty" required:"false" maxLength:"64" doc:"optional client-chosen ID (rfd_ + ULID): a retry with it finds the refund made the first time"`
		Amount   *money.Money `json:"amount,omitempty" required:"false" doc:"everything not yet refunded if left out"`
		Reason   string       `json:"reason" maxLength:"200" example:"dish sent back"`
		DrawerID string       `json:"drawer_id,omitempty" required:"false" maxLength:"64" doc:"cash: the drawer paid out of; the location's only open one if left out"`
	}
}

type refundResult struct {
	Refund  *payment.Refund  `json:"refund"`
	Payment *payment.Payment `json:"payment"`
	Order   *order.Order     `json:"order"`
}

type refundResultOutput struct {
	Status int
	Body   refundResult
}

type refundListInput struct {
	PaymentID       string `query:"payment_id" maxLength:"64"`
	LocationID      string `query:"location_id" maxLength:"64"`
	BusinessDate    string `query:"business_date" maxLength:"10" doc:"the day refunded, YYYY-MM-DD"`
	DrawerSessionID string `query:"drawer_session_id" maxLength:"64"`
	Status          string `query:"status" enum:"pending,succeeded,failed" required:"false"`
	Cursor          string `query:"cursor" maxLength:"64"`
	Limit           int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type refundListOutput struct {
	Body struct {
		Refunds    []*payment.Refund `json:"refunds" doc:"oldest first"`
		NextCursor string            `json:"next_cursor,omitempty"`
	}
}

func (s *Server) routeRefunds() {
	tags := []string{"Payments"}
	huma.Register(s.api, huma.Operation{
		OperationID: "refund-create", Method: http.MethodPost, Path: "/api/v1/payments/{id}/refunds", Tags: tags,
		Summary: "Refund a payment, in full or in part",
		Description: "Never more than was captured less what was refunded; a reason is required. Needs payment.refund, or a manager's " +
			"approval in the Fynlo-Approval header (the approver is recorded). A card is refunded through its provider, with the refund's ID " +
			"as the idempotency key; cash is paid out of an open drawer and counted against it.",
		DefaultStatus: http.StatusCreated, Security: bearer, Errors: []int{401, 403, 404, 409, 422, 503},
	}, s.handleRefundCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "refund-list", Method: http.MethodGet, Path: "/api/v1/refunds", Tags: tags,
		Summary: "List refunds", Security: bearer, Errors: []int{401, 404, 422},
	}, s.handleRefundList)
}

func (s *Server) handleRefundCreate(ctx context.Context, in *refundCreateInput) (*refundResultOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	r, p, o, created, err := s.pay.Refund(ctx, a, in.PaymentID, payment.RefundInput{ID: b.ID, Amount: b.Amount, Reason: b.Reason, DrawerID: b.DrawerID})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &refundResultOutput{Status: http.StatusOK, Body: refundResult{Refund: r, Payment: p, Order: o}}
	if created {
		out.Status = http.StatusCreated
	}
	return out, nil
}

func (s *Server) handleRefundList(ctx context.Context, in *refundListInput) (*refundListOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	if in.DrawerSessionID != "" {
		if err := s.cash.Blind(ctx, a, in.DrawerSessionID); err != nil {
			return nil, problemFor(ctx, s.logger, err)
		}
	}
	rs, err := s.pay.Refunds(ctx, a, payment.RefundFilter{PaymentID: in.PaymentID, LocationID: in.LocationID, BusinessDate: in.BusinessDate,
		DrawerSessionID: in.DrawerSessionID, Status: in.Status, After: in.Cursor, Limit: in.Limit + 1})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &refundListOutput{}
	out.Body.Refunds, out.Body.NextCursor = page(rs, in.Limit, func(r *payment.Refund) string { return r.ID })
	return out, nil
}

// countPayment counts a payment in the status a request left it in.
func (s *Server) countPayment(p *payment.Payment) {
	s.metrics.payments.WithLabelValues(string(p.Method), p.Provider, string(p.Status)).Inc()
}
