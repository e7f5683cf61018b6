package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/audit"
	"github.com/fynlo/fynlo/internal/auth"
)

type auditListInput struct {
	Cursor    int64  `query:"cursor" minimum:"0" doc:"next_cursor from the previous page; 0 for the beginning"`
	Action    string `query:"action" maxLength:"64" doc:"only this action, e.g. auth.login_failed"`
	ActorID   string `query:"actor_id" maxLength:"64"`
	SubjectID string `query:"subject_id" maxLength:"64"`
	Limit     int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

type auditListOutput struct {
	Body struct {
		Items      []audit.Entry `json:"items"`
		NextCursor int64         `json:"next_cursor,omitempty" doc:"pass as cursor for the next page; absent on the last page"`
	}
}

type auditVerifyOutput struct {
	Body audit.Report
}

func (s *Server) routeAudit() {
	tags := []string{"Audit"}
	huma.Register(s.api, huma.Operation{
		OperationID: "audit-list", Method: http.MethodGet, Path: "/api/v1/audit-events", Tags: tags,
		Summary: "Read the audit log",
		Description: "Who did what, in order: every change with its actor, and sign-ins, failed sign-ins and sign-outs. " +
			"Entries are chained by hash; see /api/v1/audit-events/verify.",
		Security: bearer, Errors: []int{401, 403},
		Metadata: needs(auth.PermAuditView),
	}, s.handleAuditList)
	huma.Register(s.api, huma.Operation{
		OperationID: "audit-verify", Method: http.MethodGet, Path: "/api/v1/audit-events/verify", Tags: tags,
		Summary:     "Check the audit log is intact",
		Description: "Recomputes the hash chain of the whole log and reports the first entry altered, removed or inserted, if any.",
		Security:    bearer, Errors: []int{401, 403},
		Metadata: needs(auth.PermAuditView),
	}, s.handleAuditVerify)
}

func (s *Server) handleAuditList(ctx context.Context, in *auditListInput) (*auditListOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	es, err := s.audit.Entries(ctx, p.OrgID, audit.Filter{After: in.Cursor, Action: in.Action, ActorID: in.ActorID,
		SubjectID: in.SubjectID, LocationID: p.LocationID, Limit: in.Limit + 1})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &auditListOutput{}
	out.Body.Items, out.Body.NextCursor = page(es, in.Limit, func(x audit.Entry) int64 { return x.Seq })
	return out, nil
}

func (s *Server) handleAuditVerify(ctx context.Context, _ *struct{}) (*auditVerifyOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.audit.Verify(ctx, p.OrgID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &auditVerifyOutput{Body: r}, nil
}
