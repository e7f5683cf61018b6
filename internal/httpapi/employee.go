package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/money"
)

type employeeOutput struct {
	Status   int
	Location string `header:"Location" doc:"on 201: the new employee's URL"`
	Body     *auth.Employee
}

type employeeBody struct {
	Name       string              `json:"name" minLength:"1" maxLength:"120" example:"Priya Shah"`
	JobTitle   string              `json:"job_title,omitempty" required:"false" maxLength:"80" example:"Head server"`
	Email      string              `json:"email,omitempty" required:"false" maxLength:"254"`
	Phone      string              `json:"phone,omitempty" required:"false" maxLength:"32"`
	HourlyWage *money.Money        `json:"hourly_wage,omitempty" required:"false"`
	Roles      []auth.LocationRole `json:"roles" minItems:"1" maxItems:"100"`
	PIN        string              `json:"pin,omitempty" required:"false" doc:"4 to 6 digits, unique at each of the employee's locations; never returned"`
}

type employeeCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	Body           employeeBody
}

type employeeListInput struct {
	Search     string `query:"search" maxLength:"100" doc:"part of the name, job title or email"`
	Role       string `query:"role" maxLength:"64" doc:"only employees with this role at some location"`
	LocationID string `query:"location_id" maxLength:"64" doc:"only employees who work at this location"`
	Cursor     string `query:"cursor" maxLength:"64"`
	Limit      int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

type employeeListOutput struct {
	Body struct {
		Items      []*auth.Employee `json:"items"`
		NextCursor string           `json:"next_cursor,omitempty"`
	}
}

type pathID struct {
	ID string `path:"id" maxLength:"64"`
}

type employeePatchInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Version    int64                `json:"version" minimum:"1"`
		Name       *string              `json:"name,omitempty" required:"false" minLength:"1" maxLength:"120"`
		JobTitle   *string              `json:"job_title,omitempty" required:"false" maxLength:"80"`
		Email      *string              `json:"email,omitempty" required:"false" maxLength:"254"`
		Phone      *string              `json:"phone,omitempty" required:"false" maxLength:"32"`
		HourlyWage *money.Money         `json:"hourly_wage,omitempty" required:"false"`
		Roles      *[]auth.LocationRole `json:"roles,omitempty" required:"false" minItems:"1" maxItems:"100" doc:"changing roles clears the PIN: set it again"`
		Active     *bool                `json:"active,omitempty" required:"false"`
	}
}

type employeePINInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		PIN string `json:"pin" doc:"4 to 6 digits"`
	}
}

type ownPINInput struct {
	Body struct {
		OldPIN string `json:"old_pin" maxLength:"16"`
		NewPIN string `json:"new_pin" maxLength:"16" doc:"4 to 6 digits"`
	}
}

func (s *Server) handleOwnPIN(ctx context.Context, in *ownPINInput) (*employeeOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.auth.ChangeOwnPIN(ctx, p, in.Body.OldPIN, in.Body.NewPIN)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &employeeOutput{Status: http.StatusOK, Body: e}, nil
}

func (s *Server) routeEmployees() {
	tags := []string{"Staff"}
	huma.Register(s.api, huma.Operation{
		OperationID: "own-pin-change", Method: http.MethodPost, Path: "/api/v1/me/pin", Tags: tags,
		Summary:     "Change my PIN",
		Description: "For an employee signed in by PIN on a device: the old PIN (rationed like a sign-in), then the new one.",
		Security:    bearer, Errors: []int{401, 403, 409, 422, 429},
	}, s.handleOwnPIN)
	huma.Register(s.api, huma.Operation{
		OperationID: "employee-create", Method: http.MethodPost, Path: "/api/v1/employees", Tags: tags,
		Summary: "Add an employee", DefaultStatus: http.StatusCreated, Security: bearer, Errors: []int{401, 403, 409, 422},
		Metadata: needs(auth.PermStaffManage),
	}, s.handleEmployeeCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "employee-list", Method: http.MethodGet, Path: "/api/v1/employees", Tags: tags,
		Summary: "List employees", Security: bearer, Errors: []int{401, 403},
		Metadata: needs(auth.PermStaffManage),
	}, s.handleEmployeeList)
	huma.Register(s.api, huma.Operation{
		OperationID: "employee-get", Method: http.MethodGet, Path: "/api/v1/employees/{id}", Tags: tags,
		Summary: "Get an employee", Security: bearer, Errors: []int{401, 403, 404},
		Metadata: needs(auth.PermStaffManage),
	}, s.handleEmployeeGet)
	huma.Register(s.api, huma.Operation{
		OperationID: "employee-update", Method: http.MethodPatch, Path: "/api/v1/employees/{id}", Tags: tags,
		Summary: "Change an employee", Security: bearer, Errors: []int{401, 403, 404, 409, 422},
		Metadata: needs(auth.PermStaffManage),
	}, s.handleEmployeeUpdate)
	huma.Register(s.api, huma.Operation{
		OperationID: "employee-deactivate", Method: http.MethodDelete, Path: "/api/v1/employees/{id}", Tags: tags,
		Summary:     "Deactivate an employee",
		Description: "The employee can no longer sign in and their PIN is cleared; their history is kept. Repeating it is harmless.",
		Security:    bearer, Errors: []int{401, 403, 404},
		Metadata: needs(auth.PermStaffManage),
	}, s.handleEmployeeDeactivate)
	huma.Register(s.api, huma.Operation{
		OperationID: "employee-set-pin", Method: http.MethodPost, Path: "/api/v1/employees/{id}/pin", Tags: tags,
		Summary: "Set or reset an employee's PIN", Description: "Stored only as a keyed hash; no endpoint ever returns it.",
		Security: bearer, Errors: []int{401, 403, 404, 409, 422},
		Metadata: needs(auth.PermStaffManage),
	}, s.handleEmployeeSetPIN)
}

// locationOf returns a check that a location ID belongs to org.
func (s *Server) locationOf(ctx context.Context, orgID string) func(string) bool {
	return func(id string) bool {
		_, err := s.tenants.Location(ctx, orgID, id)
		return err == nil
	}
}

func (s *Server) handleEmployeeCreate(ctx context.Context, in *employeeCreateInput) (*employeeOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	e, err := s.auth.CreateEmployee(ctx, p, auth.EmployeeInput{Name: b.Name, JobTitle: b.JobTitle, Email: b.Email, Phone: b.Phone,
		HourlyWage: b.HourlyWage, Roles: b.Roles, PIN: b.PIN}, s.locationOf(ctx, p.OrgID))
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &employeeOutput{Status: http.StatusCreated, Location: "/api/v1/employees/" + e.ID, Body: e}, nil
}

func (s *Server) handleEmployeeList(ctx context.Context, in *employeeListInput) (*employeeListOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	es, err := s.auth.Employees(ctx, p, auth.EmployeeFilter{Search: in.Search, RoleID: in.Role, LocationID: in.LocationID,
		After: in.Cursor, Limit: in.Limit + 1})
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &employeeListOutput{}
	out.Body.Items, out.Body.NextCursor = page(es, in.Limit, func(x *auth.Employee) string { return x.ID })
	return out, nil
}

func (s *Server) handleEmployeeGet(ctx context.Context, in *pathID) (*employeeOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.auth.EmployeeFor(ctx, p, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &employeeOutput{Status: http.StatusOK, Body: e}, nil
}

func (s *Server) handleEmployeeUpdate(ctx context.Context, in *employeePatchInput) (*employeeOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	e, err := s.auth.UpdateEmployee(ctx, p, in.ID, auth.EmployeePatch{Version: b.Version, Name: b.Name, JobTitle: b.JobTitle,
		Email: b.Email, Phone: b.Phone, HourlyWage: b.HourlyWage, Roles: b.Roles, Active: b.Active}, s.locationOf(ctx, p.OrgID))
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &employeeOutput{Status: http.StatusOK, Body: e}, nil
}

func (s *Server) handleEmployeeDeactivate(ctx context.Context, in *pathID) (*employeeOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.auth.DeactivateEmployee(ctx, p, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &employeeOutput{Status: http.StatusOK, Body: e}, nil
}

func (s *Server) handleEmployeeSetPIN(ctx context.Context, in *employeePINInput) (*employeeOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.auth.SetPIN(ctx, p, in.ID, in.Body.PIN)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &employeeOutput{Status: http.StatusOK, Body: e}, nil
}
