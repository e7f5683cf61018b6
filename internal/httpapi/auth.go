package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/tenant"
)

type signupInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255" doc:"makes a retry safe: the same key and body get the first answer back"`
	Body           struct {
		BusinessName string `json:"business_name" minLength:"1" maxLength:"120" example:"Dishoom Shoreditch"`
		OwnerName    string `json:"owner_name" minLength:"1" maxLength:"120" example:"Shamil Thakrar"`
		Email        string `json:"email" format:"email" maxLength:"254" example:"owner@example.com"`
		Password     string `json:"password" minLength:"8" maxLength:"256" doc:"at least 8 characters"`
		Country      string `json:"country" pattern:"^[A-Z]{2}$" example:"GB" doc:"ISO 3166-1 alpha-2"`
		Currency     string `json:"currency" pattern:"^[A-Z]{3}$" example:"GBP" doc:"ISO 4217"`
		Timezone     string `json:"timezone" example:"Europe/London" doc:"IANA timezone"`
	}
}

type signupOutput struct {
	Status int
	Body   struct {
		Organization *tenant.Organization `json:"organization"`
		Location     *tenant.Location     `json:"location"`
		User         *auth.User           `json:"user"`
		auth.Tokens
	}
}

type loginInput struct {
	Body struct {
		Email    string `json:"email" maxLength:"254" example:"owner@example.com"`
		Password string `json:"password" maxLength:"256"`
	}
}

type tokensOutput struct {
	Body auth.Tokens
}

type refreshInput struct {
	Body struct {
		RefreshToken string `json:"refresh_token" maxLength:"200"`
	}
}

type meOutput struct {
	Body struct {
		User         *auth.User           `json:"user"`
		Organization *tenant.Organization `json:"organization"`
	}
}

func (s *Server) routeAuth() {
	huma.Register(s.api, huma.Operation{
		OperationID: "signup", Method: http.MethodPost, Path: "/api/v1/signup", Tags: []string{"Sign-in"},
		Summary:       "Sign up a new business",
		Description:   "Creates an organization, its first location and its owner, and signs the owner in.",
		DefaultStatus: http.StatusCreated,
		Errors:        []int{409, 422},
	}, s.handleSignup)
	huma.Register(s.api, huma.Operation{
		OperationID: "login", Method: http.MethodPost, Path: "/api/v1/auth/login", Tags: []string{"Sign-in"},
		Summary: "Sign in with email and password",
		Description: "Returns a short-lived access token and a single-use refresh token. Failed attempts are " +
			"throttled per account and per client address (429 with Retry-After). The error never says whether the email or the password was wrong.",
		Errors: []int{401, 429},
	}, s.handleLogin)
	huma.Register(s.api, huma.Operation{
		OperationID: "refresh", Method: http.MethodPost, Path: "/api/v1/auth/refresh", Tags: []string{"Sign-in"},
		Summary: "Exchange a refresh token for new tokens",
		Description: "Each refresh token works once and is replaced by the one returned. Presenting a used token again " +
			"ends the whole session (code refresh_token_reused): it means the token was copied.",
		Errors: []int{401},
	}, s.handleRefresh)
	huma.Register(s.api, huma.Operation{
		OperationID: "logout", Method: http.MethodPost, Path: "/api/v1/auth/logout", Tags: []string{"Sign-in"},
		Summary: "Sign out", Description: "Ends the caller's session: its refresh token stops working at once.",
		DefaultStatus: http.StatusNoContent, Security: bearer, Errors: []int{401},
	}, s.handleLogout)
	huma.Register(s.api, huma.Operation{
		OperationID: "me", Method: http.MethodGet, Path: "/api/v1/me", Tags: []string{"Sign-in"},
		Summary: "Who am I", Security: bearer, Errors: []int{401},
	}, s.handleMe)
}

func (s *Server) handleSignup(ctx context.Context, in *signupInput) (*signupOutput, error) {
	b := in.Body
	res, err := s.auth.Signup(ctx, auth.SignupInput{BusinessName: b.BusinessName, OwnerName: b.OwnerName, Email: b.Email,
		Password: b.Password, Country: b.Country, Currency: b.Currency, Timezone: b.Timezone})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &signupOutput{Status: http.StatusCreated}
	out.Body.Organization, out.Body.Location, out.Body.User, out.Body.Tokens = res.Organization, res.Location, res.User, res.Tokens
	return out, nil
}

func (s *Server) handleLogin(ctx context.Context, in *loginInput) (*tokensOutput, error) {
	t, err := s.auth.Login(ctx, in.Body.Email, in.Body.Password, clientIP(ctx))
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &tokensOutput{Body: t}, nil
}

func (s *Server) handleRefresh(ctx context.Context, in *refreshInput) (*tokensOutput, error) {
	t, err := s.auth.Refresh(ctx, in.Body.RefreshToken)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &tokensOutput{Body: t}, nil
}

func (s *Server) handleLogout(ctx context.Context, _ *struct{}) (*struct{}, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.auth.Logout(ctx, p); err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return nil, nil
}

func (s *Server) handleMe(ctx context.Context, _ *struct{}) (*meOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	u, org, err := s.auth.Me(ctx, p)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &meOutput{}
	out.Body.User, out.Body.Organization = u, org
	return out, nil
}
