package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/id"
	"github.com/fynlo/fynlo/internal/money"
)

// Employee is a person who works at one or more locations and signs in on
// the shared iPads with a PIN. What they may do depends on their role at
// the location they are signed in to.
type Employee struct {
	ID         string         `json:"id"`
	OrgID      string         `json:"organization_id"`
	Name       string         `json:"name"`
	JobTitle   string         `json:"job_title"`
	Email      string         `json:"email,omitempty"`
	Phone      string         `json:"phone,omitempty"`
	HourlyWage *money.Money   `json:"hourly_wage,omitempty" doc:"for labour reports; minor units"`
	Roles      []LocationRole `json:"roles" doc:"the employee's role at each location they work at"`
	HasPIN     bool           `json:"has_pin" doc:"whether a PIN is set; the PIN itself is never returned"`
	Active     bool           `json:"active" doc:"false once deactivated: history is kept, sign-in is refused"`
	Version    int64          `json:"version"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

// LocationRole is an employee's role at one location.
type LocationRole struct {
	LocationID string `json:"location_id"`
	RoleID     string `json:"role_id" doc:"a built-in role (manager, server, ...) or a custom role's ID"`
}

// RoleAt returns the employee's role ID at a location, or "".
func (e *Employee) RoleAt(locationID string) string {
	for _, r := range e.Roles {
		if r.LocationID == locationID {
			return r.RoleID
		}
	}
	return ""
}

// Event types of employees.
const (
	EventEmployeeCreated = "employee.created"
	EventEmployeeUpdated = "employee.updated"
	EventEmployeePINSet  = "employee.pin_set"
)

// EmployeeFilter selects employees.
type EmployeeFilter struct {
	Search     string // part of the name, job title or email
	RoleID     string
	LocationID string
	After      string
	Limit      int
}

// PINKey is one location's keyed hash of a PIN.
type PINKey struct {
	LocationID string
	Hash       string
}

// EmployeeStore persists employees.
type EmployeeStore interface {
	// CreateEmployee inserts e and, if given, its PIN hashes.
	// Errors: Conflict (code pin_taken) when a PIN is in use at a location.
	CreateEmployee(ctx context.Context, e *Employee, pins []PINKey) error
	// FindEmployee returns an employee of org. Errors: NotFound.
	FindEmployee(ctx context.Context, orgID, id string) (*Employee, error)
	// FindEmployees returns a page of org's employees by ID.
	FindEmployees(ctx context.Context, orgID string, f EmployeeFilter) ([]*Employee, error)
	// UpdateEmployee loads an employee in a write transaction and lets
	// update change it; a non-nil pins replaces the employee's PIN hashes.
	// Errors: NotFound, Conflict (pin_taken), whatever update returns.
	UpdateEmployee(ctx context.Context, orgID, id string, update func(*Employee) (pins []PINKey, err error)) (*Employee, error)
}

var pinRE = regexp.MustCompile(`^[0-9]{4,6}$`)

// pinKeys hashes pin for each location of e with the server's secret
// pepper. HMAC, not a slow hash: with a million possible PINs a slow hash
// protects nothing once the database leaks; a key kept outside it does.
// The per-location input makes PINs unique per location, as staff expect.
func (s *Service) pinKeys(e *Employee, pin string) []PINKey {
	keys := make([]PINKey, 0, len(e.Roles))
	for _, r := range e.Roles {
		keys = append(keys, PINKey{LocationID: r.LocationID, Hash: s.pinHash(r.LocationID, pin)})
	}
	return keys
}

func (s *Service) pinHash(locationID, pin string) string {
	m := hmac.New(sha256.New, s.pepper)
	m.Write([]byte(locationID + ":" + pin))
	return hex.EncodeToString(m.Sum(nil))
}

// EmployeeInput is what a manager sets on an employee.
type EmployeeInput struct {
	Name       string
	JobTitle   string
	Email      string
	Phone      string
	HourlyWage *money.Money
	Roles      []LocationRole
	PIN        string // optional on create
}

// validate checks e against org's locations (exists) and roles (roleOK).
func (s *Service) validateEmployee(ctx context.Context, e *Employee, locationOK func(string) bool) error {
	var f apperr.Fields
	e.Name, e.JobTitle = strings.TrimSpace(e.Name), strings.TrimSpace(e.JobTitle)
	if e.Name == "" || utf8.RuneCountInString(e.Name) > 120 {
		f.Add("name", "must be 1 to 120 characters")
	}
	if utf8.RuneCountInString(e.JobTitle) > 80 {
		f.Add("job_title", "must be at most 80 characters")
	}
	if e.Email != "" {
		if em, ok := normalizeEmail(e.Email); ok {
			e.Email = em
		} else {
			f.Add("email", "must be a valid email address")
		}
	}
	if len(e.Phone) > 32 {
		f.Add("phone", "must be at most 32 characters")
	}
	if w := e.HourlyWage; w != nil {
		if _, ok := money.LookupCurrency(w.Currency); !ok || w.Amount < 0 {
			f.Add("hourly_wage", "must be a non-negative amount in a supported currency")
		}
	}
	if len(e.Roles) == 0 {
		f.Add("roles", "must give the employee a role at one location at least")
	}
	seen := map[string]bool{}
	for i, r := range e.Roles {
		field := "roles[" + strconv.Itoa(i) + "]"
		if seen[r.LocationID] {
			f.Add(field+".location_id", "appears twice: one role per location")
		}
		seen[r.LocationID] = true
		if !locationOK(r.LocationID) {
			f.Add(field+".location_id", "is not a location of this organization")
		}
		if r.RoleID == RoleOwner {
			f.Add(field+".role_id", "owner is not a staff role")
		} else if _, err := s.Role(ctx, e.OrgID, r.RoleID); err != nil {
			f.Add(field+".role_id", "is not a role of this organization")
		}
	}
	return f.Err()
}

// EventLocation is the location e's events belong to: the one location
// e works at, so other locations' staff feeds do not carry them; "" (the
// whole organization) for an employee of several locations.
func (e *Employee) EventLocation() string {
	loc := ""
	for i, r := range e.Roles {
		if i > 0 && r.LocationID != loc {
			return ""
		}
		loc = r.LocationID
	}
	return loc
}

// worksAt reports whether e has a role at locationID ("" for any).
func (e *Employee) worksAt(locationID string) bool {
	if locationID == "" {
		return true
	}
	for _, r := range e.Roles {
		if r.LocationID == locationID {
			return true
		}
	}
	return false
}

// Sees reports whether p may see e: staff see the employees who work at
// their location (the event feed asks, for employees of several
// locations, whose events belong to no one location).
func (p Principal) Sees(e *Employee) bool { return visible(p, e) == nil }

// visible refuses, as not found, an employee p may not see: staff see the
// employees who work at their location.
func visible(p Principal, e *Employee) error {
	if !e.worksAt(p.LocationID) {
		return apperr.NotFoundf("employee")
	}
	return nil
}

// manageable refuses an employee p may not change: staff change the
// employees who work at their location and nowhere else (one who also
// works elsewhere is the owner's to change).
func manageable(p Principal, e *Employee) error {
	if err := visible(p, e); err != nil {
		return err
	}
	for _, r := range e.Roles {
		if !p.Reaches(r.LocationID) {
			return apperr.New(apperr.Forbidden, "employee_works_elsewhere",
				"the employee also works at other locations: only the owner may change them")
		}
	}
	return nil
}

// scoped narrows locationOK to the locations p reaches.
func scoped(p Principal, locationOK func(string) bool) func(string) bool {
	return func(id string) bool { return p.Reaches(id) && locationOK(id) }
}

// CreateEmployee adds an employee to p's organization; locationOK says
// whether a location ID belongs to it. Staff give roles at their own
// location only.
func (s *Service) CreateEmployee(ctx context.Context, p Principal, in EmployeeInput, locationOK func(string) bool) (*Employee, error) {
	orgID, locationOK := p.OrgID, scoped(p, locationOK)
	now := s.now().UTC()
	e := &Employee{ID: id.New(id.Employee), OrgID: orgID, Name: in.Name, JobTitle: in.JobTitle, Email: in.Email, Phone: in.Phone,
		HourlyWage: in.HourlyWage, Roles: in.Roles, Active: true, Version: 1, CreatedAt: now, UpdatedAt: now}
	if e.Roles == nil {
		e.Roles = []LocationRole{}
	}
	err := s.validateEmployee(ctx, e, locationOK)
	var pins []PINKey
	if in.PIN != "" {
		if !pinRE.MatchString(in.PIN) {
			err = joinFields(err, "pin", "must be 4 to 6 digits")
		} else {
			pins, e.HasPIN = s.pinKeys(e, in.PIN), true
		}
	}
	if err != nil {
		return nil, err
	}
	return e, s.store.CreateEmployee(ctx, e, pins)
}

// joinFields adds a field error to err (an Invalid error or nil).
func joinFields(err error, field, reason string) error {
	var f apperr.Fields
	if ae, ok := err.(*apperr.Error); ok {
		f = ae.Fields
	}
	f.Add(field, reason)
	return f.Err()
}

// Employee returns one employee of org.
func (s *Service) Employee(ctx context.Context, orgID, id string) (*Employee, error) {
	return s.store.FindEmployee(ctx, orgID, id)
}

// EmployeeFor returns one employee of p's organization, if p may see them.
func (s *Service) EmployeeFor(ctx context.Context, p Principal, id string) (*Employee, error) {
	e, err := s.store.FindEmployee(ctx, p.OrgID, id)
	if err != nil {
		return nil, err
	}
	if err := visible(p, e); err != nil {
		return nil, err
	}
	return e, nil
}

// Employees returns a page of the employees of p's organization, or of
// those who work at p's location for staff.
func (s *Service) Employees(ctx context.Context, p Principal, f EmployeeFilter) ([]*Employee, error) {
	if p.LocationID != "" {
		if f.LocationID != "" && f.LocationID != p.LocationID {
			return []*Employee{}, nil
		}
		f.LocationID = p.LocationID
	}
	orgID := p.OrgID
	// Callers ask for one more than a page to learn whether another follows.
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 200+1)
	return s.store.FindEmployees(ctx, orgID, f)
}

// EmployeePatch changes some of an employee's fields; Version must be the
// one last read. A PIN change needs the staff.manage permission or the
// employee's old PIN (checked by the caller).
type EmployeePatch struct {
	Version    int64
	Name       *string
	JobTitle   *string
	Email      *string
	Phone      *string
	HourlyWage *money.Money
	Roles      *[]LocationRole
	Active     *bool
}

// UpdateEmployee applies p. Changing roles keeps a set PIN working at the
// employee's locations only: the PIN is re-keyed only when it is set again,
// so an employee moved to a new location needs a new PIN there.
// Staff change only employees of their own location (see manageable).
func (s *Service) UpdateEmployee(ctx context.Context, by Principal, id string, p EmployeePatch, locationOK func(string) bool) (*Employee, error) {
	locationOK = scoped(by, locationOK)
	return s.store.UpdateEmployee(ctx, by.OrgID, id, func(e *Employee) ([]PINKey, error) {
		if err := manageable(by, e); err != nil {
			return nil, err
		}
		if p.Version != e.Version {
			return nil, apperr.StaleVersion(e)
		}
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&e.Name, p.Name)
		set(&e.JobTitle, p.JobTitle)
		set(&e.Email, p.Email)
		set(&e.Phone, p.Phone)
		if p.HourlyWage != nil {
			e.HourlyWage = p.HourlyWage
		}
		var pins []PINKey
		if p.Roles != nil {
			e.Roles = *p.Roles
			// The PIN cannot be re-keyed for new locations without knowing
			// it: clear it so a manager sets it again.
			if e.HasPIN {
				e.HasPIN, pins = false, []PINKey{}
			}
		}
		if p.Active != nil {
			e.Active = *p.Active
			// A deactivated employee's PIN goes, so it can neither sign in
			// nor keep the PIN from a colleague.
			if !e.Active && e.HasPIN {
				e.HasPIN, pins = false, []PINKey{}
			}
		}
		if err := s.validateEmployee(ctx, e, locationOK); err != nil {
			return nil, err
		}
		e.Version++
		e.UpdatedAt = s.now().UTC()
		return pins, nil
	})
}

// SetPIN sets an employee's PIN at all their locations; staff set the PINs
// of their own location's employees only (see manageable).
func (s *Service) SetPIN(ctx context.Context, p Principal, id, pin string) (*Employee, error) {
	return s.setPIN(ctx, p.OrgID, id, pin, func(e *Employee) error { return manageable(p, e) })
}

func (s *Service) setPIN(ctx context.Context, orgID, id, pin string, may func(*Employee) error) (*Employee, error) {
	if !pinRE.MatchString(pin) {
		return nil, apperr.Field("pin", "must be 4 to 6 digits")
	}
	return s.store.UpdateEmployee(ctx, orgID, id, func(e *Employee) ([]PINKey, error) {
		if err := may(e); err != nil {
			return nil, err
		}
		if !e.Active {
			return nil, apperr.New(apperr.Conflict, "employee_inactive", "the employee is deactivated")
		}
		e.HasPIN = true
		e.Version++
		e.UpdatedAt = s.now().UTC()
		return s.pinKeys(e, pin), nil
	})
}

// errUnchanged rolls back an update that has nothing to do.
var errUnchanged = errors.New("unchanged")

// DeactivateEmployee stops an employee signing in; their history stays.
// Deactivating twice changes nothing the second time.
// Staff deactivate only their own location's employees (see manageable).
func (s *Service) DeactivateEmployee(ctx context.Context, p Principal, id string) (*Employee, error) {
	var already *Employee
	e, err := s.store.UpdateEmployee(ctx, p.OrgID, id, func(e *Employee) ([]PINKey, error) {
		if err := manageable(p, e); err != nil {
			return nil, err
		}
		if !e.Active {
			already = e
			return nil, errUnchanged
		}
		e.Active, e.HasPIN = false, false
		e.Version++
		e.UpdatedAt = s.now().UTC()
		return []PINKey{}, nil
	})
	if errors.Is(err, errUnchanged) {
		return already, nil
	}
	return e, err
}
