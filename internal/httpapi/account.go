package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/auth"
)

type resetRequestInput struct {
	Body struct {
		Email string `json:"email" maxLength:"254"`
	}
}

type resetConfirmInput struct {
	Body struct {
		Token       string `json:"token" maxLength:"100" doc:"from the emailed link"`
		NewPassword string `json:"new_password" maxLength:"256"`
	}
}

type passwordChangeInput struct {
	Body struct {
		CurrentPassword string `json:"current_password" maxLength:"256"`
		NewPassword     string `json:"new_password" maxLength:"256"`
	}
}

type acceptedOutput struct {
	Status int
}

type sessionListOutput struct {
	Body struct {
		Items []auth.SessionView `json:"items"`
	}
}

func (s *Server) routeAccount() {
	tags := []string{"Sign-in"}
	huma.Register(s.api, huma.Operation{
		OperationID: "password-reset-request", Method: http.MethodPost, Path: "/api/v1/auth/password-reset", Tags: tags,
		Summary: "Email a password-reset link",
		Description: "Always answers 202, whether or not the email has an account, so it tells no one which do. " +
			"The link works once, for an hour.",
		DefaultStatus: http.StatusAccepted, Errors: []int{429},
	}, s.handleResetRequest)
	huma.Register(s.api, huma.Operation{
		OperationID: "password-reset-confirm", Method: http.MethodPost, Path: "/api/v1/auth/password-reset/confirm", Tags: tags,
		Summary: "Set a new password with a reset link", Description: "Ends every session of the account.",
		DefaultStatus: http.StatusNoContent, Errors: []int{401, 422, 429},
	}, s.handleResetConfirm)
	huma.Register(s.api, huma.Operation{
		OperationID: "password-change", Method: http.MethodPost, Path: "/api/v1/auth/password", Tags: tags,
		Summary: "Change my password", Description: "Needs the current password; ends every other session of the account.",
		DefaultStatus: http.StatusNoContent, Security: bearer, Errors: []int{401, 403, 422},
	}, s.handlePasswordChange)
	huma.Register(s.api, huma.Operation{
		OperationID: "session-list", Method: http.MethodGet, Path: "/api/v1/auth/sessions", Tags: tags,
		Summary: "List my sessions", Security: bearer, Errors: []int{401},
	}, s.handleSessionList)
	huma.Register(s.api, huma.Operation{
		OperationID: "session-revoke", Method: http.MethodDelete, Path: "/api/v1/auth/sessions/{id}", Tags: tags,
		Summary: "End one of my sessions", Description: "For a lost phone: its refresh token stops working at once.",
		DefaultStatus: http.StatusNoContent, Security: bearer, Errors: []int{401, 404},
	}, s.handleSessionRevoke)
}

func (s *Server) handleResetRequest(ctx context.Context, in *resetRequestInput) (*acceptedOutput, error) {
	if err := s.auth.RequestPasswordReset(ctx, in.Body.Email); err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &acceptedOutput{Status: http.StatusAccepted}, nil
}

func (s *Server) handleResetConfirm(ctx context.Context, in *resetConfirmInput) (*struct{}, error) {
	if err := s.auth.ResetPassword(ctx, in.Body.Token, in.Body.NewPassword); err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return nil, nil
}

func (s *Server) handlePasswordChange(ctx context.Context, in *passwordChangeInput) (*struct{}, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.auth.ChangePassword(ctx, p, in.Body.CurrentPassword, in.Body.NewPassword); err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return nil, nil
}

func (s *Server) handleSessionList(ctx context.Context, _ *struct{}) (*sessionListOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	ss, err := s.auth.Sessions(ctx, p)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &sessionListOutput{}
	out.Body.Items = ss
	return out, nil
}

func (s *Server) handleSessionRevoke(ctx context.Context, in *pathID) (*struct{}, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.auth.RevokeSession(ctx, p, in.ID); err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return nil, nil
}
