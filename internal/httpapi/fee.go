package httpapi

import (
	"context"
	"net/http"
	"slices"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/money"
	"github.com/fynlo/fynlo/internal/payment"
)

type feesOutput struct {
	Body *payment.FeeSchedule
}

type feesPutInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version     int64       `json:"version" minimum:"0" doc:"the version read: 0 for the defaults"`
		Card        payment.Fee `json:"card"`
		OpenBanking payment.Fee `json:"open_banking"`
		PlatformBP  int         `json:"platform_bp" minimum:"0" maximum:"10000"`
		Policy      string      `json:"policy" enum:"absorb,pass_on"`
		Offered     []string    `json:"offered,omitempty" required:"false" maxItems:"3" doc:"the methods this location takes, in the order the POS shows them (open_banking, card, cash); left out or empty: all, cheapest first"`
		LateBank    string      `json:"late_bank_payments,omitempty" required:"false" enum:"refund,hold" doc:"money a bank sends after the check was paid another way: refund it at once (the default) or hold it for a manager"`
	}
}

type feeQuoteInput struct {
	Body struct {
		LocationID string      `json:"location_id,omitempty" required:"false" maxLength:"64" doc:"a staff token's own location if left out"`
		Amount     money.Money `json:"amount"`
	}
}

type feeQuoteOutput struct {
	Body struct {
		Methods  []payment.MethodQuote `json:"methods" doc:"the location's offered methods in its order (cheapest for the restaurant first if it set none), then those it does not offer"`
		Schedule *payment.FeeSchedule  `json:"schedule"`
	}
}

type revenueInput struct {
	From           string `query:"from" maxLength:"10" doc:"first business date, YYYY-MM-DD" required:"true"`
	To             string `query:"to" maxLength:"10" doc:"last business date, YYYY-MM-DD" required:"true"`
	OrganizationID string `query:"organization_id" maxLength:"64" doc:"one organization; all when left out"`
}

type revenueOutput struct {
	Body struct {
		From          string            `json:"from"`
		To            string            `json:"to"`
		Organizations []payment.Revenue `json:"organizations"`
		How           string            `json:"how"`
	}
}

func (s *Server) routeFees() {
	tags := []string{"Fees"}
	huma.Register(s.api, huma.Operation{
		OperationID: "fees-get", Method: http.MethodGet, Path: "/api/v1/locations/{id}/fees", Tags: tags,
		Summary: "Get a location's fee schedule", Description: "Card 2.9% + 30p, open banking 0.2%, Fynlo's platform fee 1% until changed.",
		Security: bearer, Errors: []int{401, 404},
	}, s.handleFeesGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "fees-put", Method: http.MethodPut, Path: "/api/v1/locations/{id}/fees", Tags: tags,
		Summary: "Set a location's fee schedule and surcharge policy",
		Description: "`pass_on` adds the card fees to what a card guest pays, shown on the payment as `surcharge`. It is refused where " +
			"the location's country bans surcharging consumers for their payment method: the UK since 13 January 2018, and the EEA.",
		Security: bearer, Errors: []int{401, 403, 404, 409, 422}, Metadata: needs(auth.PermSettingsManage),
	}, s.handleFeesPut)
	huma.Register(s.api, huma.Operation{
		OperationID: "fees-quote", Method: http.MethodPost, Path: "/api/v1/fees/quote", Tags: tags,
		Summary:  "Compare what each way of paying an amount costs the restaurant",
		Security: bearer, Errors: []int{401, 404, 422},
	}, s.handleFeesQuote)
	huma.Register(s.api, huma.Operation{
		OperationID: "platform-revenue", Method: http.MethodGet, Path: "/api/v1/platform/revenue", Tags: tags,
		Summary: "Fynlo's platform-fee revenue per organization over a period",
		Description: "For platform administrators only: the user accounts whose IDs are listed in FYNLO_PLATFORM_ADMINS. Summed from the platform-fee " +
			"ledger: + the fee of each captured payment, − its share of each refund.",
		Security: bearer, Errors: []int{401, 403, 422},
	}, s.handlePlatformRevenue)
}

func (s *Server) handleFeesGet(ctx context.Context, in *pathID) (*feesOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	fs, err := s.pay.Fees(ctx, a, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &feesOutput{Body: fs}, nil
}

func (s *Server) handleFeesPut(ctx context.Context, in *feesPutInput) (*feesOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	fs, err := s.pay.SetFees(ctx, a, payment.FeeSchedule{LocationID: in.ID, Card: b.Card, OpenBanking: b.OpenBanking, PlatformBP: b.PlatformBP,
		Policy: b.Policy, Version: b.Version, LateBankPayments: b.LateBank, Offered: methods(b.Offered)})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &feesOutput{Body: fs}, nil
}

func (s *Server) handleFeesQuote(ctx context.Context, in *feeQuoteInput) (*feeQuoteOutput, error) {
	a, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	loc, err := s.locationFor(ctx, a, in.Body.LocationID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	qs, fs, err := s.pay.Quote(ctx, a, loc, in.Body.Amount)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &feeQuoteOutput{}
	out.Body.Methods, out.Body.Schedule = qs, fs
	return out, nil
}

func (s *Server) handlePlatformRevenue(ctx context.Context, in *revenueInput) (*revenueOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	// Named by user ID, not email: anyone may sign up with an address.
	if p.LocationID != "" || !slices.Contains(s.cfg.PlatformAdmins, p.UserID) {
		return nil, problemFor(ctx, s.logger, errNotPlatformAdmin)
	}
	rs, err := s.pay.PlatformRevenue(ctx, in.OrganizationID, in.From, in.To)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &revenueOutput{}
	out.Body.From, out.Body.To, out.Body.Organizations = in.From, in.To, rs
	out.Body.How = "Σ of the platform-fee ledger by business date: each captured payment's platform_fee (+), each refund's platform_fee (−); " +
		"per payment GET /api/v1/payments/{id} shows platform_fee and platform_fee_reversed"
	return out, nil
}

var errNotPlatformAdmin = apperr.New(apperr.Forbidden, "not_platform_admin", "only Fynlo's platform administrators may read platform revenue")

func methods(ss []string) []payment.Method {
	out := make([]payment.Method, len(ss))
	for i, m := range ss {
		out[i] = payment.Method(m)
	}
	return out
}
