package auth

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/audit"
	"github.com/fynlo/fynlo/internal/id"
)

// Permissions: what a role may do. The token says who is calling; the
// server decides what they may do, from their role, on every request.
const (
	PermMenuEdit       = "menu.edit"
	PermMenu86         = "menu.86"        // take an item off (or back on) at a location, set stock
	PermOrderDiscount  = "order.discount" // up to the grant's MaxDiscountBP
	PermOrderVoid      = "order.void"
	PermOrderComp      = "order.comp"
	PermOrderReopen    = "order.reopen"
	PermPaymentRefund  = "payment.refund"
	PermCashOpenDrawer = "cash.open_drawer"
	PermCashPaidInOut  = "cash.paid_in_out"
	PermCashNoSale     = "cash.no_sale"
	// PermCashApproveVariance closes a drawer whose count is off by more
	// than the threshold.
	PermCashApproveVariance = "cash.approve_variance"
	PermReportView          = "report.view"
	PermAuditView           = "audit.view"
	PermStaffManage         = "staff.manage"
	PermSettingsManage      = "settings.manage"
)

// Permissions lists every permission, for validation and documentation.
var Permissions = []string{PermMenuEdit, PermMenu86, PermOrderDiscount, PermOrderVoid, PermOrderComp, PermOrderReopen,
	PermPaymentRefund, PermCashOpenDrawer, PermCashPaidInOut, PermCashNoSale, PermCashApproveVariance, PermReportView, PermAuditView,
	PermStaffManage, PermSettingsManage}

// Grant gives a role one permission.
type Grant struct {
	Permission string `json:"permission" example:"order.discount"`
	// MaxDiscountBP bounds order.discount, in basis points of the check
	// (1000 = 10%). Required for order.discount, unused otherwise.
	MaxDiscountBP int `json:"max_discount_bp,omitempty" minimum:"0" maximum:"10000"`
}

// Role is a named set of permissions: one of the built-in roles, or one an
// organization made.
type Role struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	BuiltIn   bool      `json:"built_in"`
	Grants    []Grant   `json:"grants"`
	Version   int64     `json:"version"`
	OrgID     string    `json:"organization_id,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Built-in role IDs; custom roles have rol_ IDs.
const (
	RoleManager    = "manager"
	RoleSupervisor = "supervisor"
	RoleServer     = "server"
	RoleBartender  = "bartender"
	RoleCashier    = "cashier"
	RoleKitchen    = "kitchen"
)

func grants(maxDiscount int, perms ...string) []Grant {
	out := make([]Grant, len(perms))
	for i, p := range perms {
		out[i] = Grant{Permission: p}
		if p == PermOrderDiscount {
			out[i].MaxDiscountBP = maxDiscount
		}
	}
	return out
}

// builtIn are the roles every organization has. Servers and bartenders
// cannot discount, void or refund on their own: that takes a manager's
// approval (issue 3's override), the failure Odoo users report most.
var builtIn = map[string]*Role{
	RoleOwner: {ID: RoleOwner, Name: "Owner", Grants: grants(10000, Permissions...)},
	RoleManager: {ID: RoleManager, Name: "Manager", Grants: grants(10000, PermMenuEdit, PermMenu86, PermOrderDiscount, PermOrderVoid, PermOrderComp,
		PermOrderReopen, PermPaymentRefund, PermCashOpenDrawer, PermCashPaidInOut, PermCashNoSale, PermCashApproveVariance, PermReportView,
		PermAuditView, PermStaffManage)},
	RoleSupervisor: {ID: RoleSupervisor, Name: "Supervisor", Grants: grants(2000, PermMenu86, PermOrderDiscount, PermOrderVoid, PermOrderComp,
		PermOrderReopen, PermCashOpenDrawer, PermCashPaidInOut, PermCashNoSale, PermReportView)},
	RoleServer:    {ID: RoleServer, Name: "Server", Grants: []Grant{}},
	RoleBartender: {ID: RoleBartender, Name: "Bartender", Grants: grants(0, PermMenu86, PermCashOpenDrawer)},
	RoleCashier:   {ID: RoleCashier, Name: "Cashier", Grants: grants(0, PermCashOpenDrawer, PermCashPaidInOut, PermCashNoSale)},
	RoleKitchen:   {ID: RoleKitchen, Name: "Kitchen", Grants: grants(0, PermMenu86)},
}

func init() {
	for _, r := range builtIn {
		r.BuiltIn, r.Version = true, 1
	}
}

// BuiltInRoles returns the built-in roles in a stable order.
func BuiltInRoles() []*Role {
	out := make([]*Role, 0, len(builtIn))
	for _, id := range []string{RoleOwner, RoleManager, RoleSupervisor, RoleServer, RoleBartender, RoleCashier, RoleKitchen} {
		out = append(out, builtIn[id])
	}
	return out
}

// Allows reports whether the role grants perm.
func (r *Role) Allows(perm string) bool {
	for _, g := range r.Grants {
		if g.Permission == perm {
			return true
		}
	}
	return false
}

// MaxDiscountBP is the largest discount the role may give on its own, in
// basis points; 0 if it may not discount.
func (r *Role) MaxDiscountBP() int {
	for _, g := range r.Grants {
		if g.Permission == PermOrderDiscount {
			return g.MaxDiscountBP
		}
	}
	return 0
}

// validate checks a custom role's name and grants, and sorts the grants.
func (r *Role) validate() error {
	var f apperr.Fields
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" || utf8.RuneCountInString(r.Name) > 60 {
		f.Add("name", "must be 1 to 60 characters")
	}
	for _, b := range builtIn {
		if strings.EqualFold(r.Name, b.Name) {
			f.Add("name", "is the name of a built-in role")
		}
	}
	seen := map[string]bool{}
	for i, g := range r.Grants {
		field := "grants[" + strconv.Itoa(i) + "]"
		switch {
		case !known(g.Permission):
			f.Add(field+".permission", "is not a permission; see GET /api/v1/roles for the list")
		case seen[g.Permission]:
			f.Add(field+".permission", "is granted twice")
		case g.Permission == PermOrderDiscount && (g.MaxDiscountBP < 1 || g.MaxDiscountBP > 10000):
			f.Add(field+".max_discount_bp", "must be 1 to 10000 (basis points of the check) for order.discount")
		case g.Permission != PermOrderDiscount && g.MaxDiscountBP != 0:
			f.Add(field+".max_discount_bp", "applies only to order.discount")
		}
		seen[g.Permission] = true
	}
	sort.Slice(r.Grants, func(i, j int) bool { return r.Grants[i].Permission < r.Grants[j].Permission })
	return f.Err()
}

func known(p string) bool {
	for _, k := range Permissions {
		if k == p {
			return true
		}
	}
	return false
}

// Event types of roles.
const (
	EventRoleCreated = "role.created"
	EventRoleUpdated = "role.updated"
)

// RoleStore persists custom roles.
type RoleStore interface {
	// CreateRole inserts r. Errors: Conflict (code role_name_taken).
	CreateRole(ctx context.Context, r *Role) error
	// FindRole returns a custom role of org. Errors: NotFound.
	FindRole(ctx context.Context, orgID, id string) (*Role, error)
	// FindRoles returns org's custom roles by name.
	FindRoles(ctx context.Context, orgID string) ([]*Role, error)
	// UpdateRole loads a role in a write transaction, lets update change
	// it and saves it. Errors: NotFound, Conflict, whatever update returns.
	UpdateRole(ctx context.Context, orgID, id string, update func(*Role) error) (*Role, error)
}

// Role returns the role with the given ID: built-in or one of org's.
// Errors: NotFound.
func (s *Service) Role(ctx context.Context, orgID, roleID string) (*Role, error) {
	if r, ok := builtIn[roleID]; ok {
		return r, nil
	}
	now := s.now()
	if r := s.roles.get(orgID, roleID, now); r != nil {
		return r, nil
	}
	r, err := s.store.FindRole(ctx, orgID, roleID)
	if err != nil {
		return nil, err
	}
	s.roles.put(r, now)
	return r, nil
}

// Roles returns the built-in roles followed by org's own.
func (s *Service) Roles(ctx context.Context, orgID string) ([]*Role, error) {
	custom, err := s.store.FindRoles(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return append(BuiltInRoles(), custom...), nil
}

// CreateRole adds a custom role to org.
func (s *Service) CreateRole(ctx context.Context, orgID, name string, gs []Grant) (*Role, error) {
	now := s.now().UTC()
	r := &Role{ID: id.New(id.Role), OrgID: orgID, Name: name, Grants: append([]Grant{}, gs...), Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return r, s.store.CreateRole(ctx, r)
}

// RolePatch changes a custom role; Version must be the one last read.
type RolePatch struct {
	Version int64
	Name    *string
	Grants  *[]Grant
}

// UpdateRole changes a custom role of org. Built-in roles cannot change.
func (s *Service) UpdateRole(ctx context.Context, orgID, roleID string, p RolePatch) (*Role, error) {
	if _, ok := builtIn[roleID]; ok {
		return nil, apperr.New(apperr.Forbidden, "built_in_role", "built-in roles cannot be changed; make a custom role instead")
	}
	defer s.roles.drop(orgID, roleID) // this node sees the change on its very next request
	return s.store.UpdateRole(ctx, orgID, roleID, func(r *Role) error {
		if p.Version != r.Version {
			return apperr.StaleVersion(r)
		}
		if p.Name != nil {
			r.Name = *p.Name
		}
		if p.Grants != nil {
			r.Grants = append([]Grant{}, (*p.Grants)...)
		}
		if err := r.validate(); err != nil {
			return err
		}
		r.Version++
		r.UpdatedAt = s.now().UTC()
		return nil
	})
}

// AuthorizeDiscount allows a discount of percentBP (of what it discounts)
// if the caller's role gives discounts that large, or with a manager's
// approval for order.discount, which lifts the limit for one request.
// Errors: Forbidden (code discount_over_limit).
func (s *Service) AuthorizeDiscount(ctx context.Context, p Principal, percentBP int, approval string) error {
	r, err := s.Role(ctx, p.OrgID, p.Role)
	if apperr.Is(err, apperr.NotFound) {
		return apperr.New(apperr.Forbidden, "unknown_role", "your role no longer exists; sign in again")
	}
	if err != nil {
		return err
	}
	if r.Allows(PermOrderDiscount) && percentBP <= r.MaxDiscountBP() {
		return nil
	}
	if ok, err := s.useApproval(ctx, p, PermOrderDiscount, approval); err != nil || ok {
		return err
	}
	detail, _ := json.Marshal(map[string]any{"permission": PermOrderDiscount, "role": r.ID, "percent_bp": percentBP})
	if err := s.store.AppendAudit(ctx, p.OrgID, audit.Entry{Action: audit.ActionPermissionDenied, ActorID: p.UserID,
		SubjectID: p.UserID, Detail: detail, At: s.now().UTC()}); err != nil {
		return err
	}
	limit := "may not give discounts"
	if r.MaxDiscountBP() > 0 {
		limit = "may give discounts up to " + strconv.Itoa(r.MaxDiscountBP()/100) + "%"
	}
	return apperr.New(apperr.Forbidden, "discount_over_limit", "your role ("+r.Name+") "+limit+"; ask a manager to approve this one")
}

// Authorize returns the caller's role if it grants perm. A refusal is
// recorded in the audit log. Errors: Forbidden (code permission_denied,
// or unknown_role when the token names a role this organization lacks).
// approval, when not empty, is a manager's approval token for perm: it
// allows the request once when the role alone does not.
func (s *Service) Authorize(ctx context.Context, p Principal, perm, approval string) (*Role, error) {
	r, err := s.Role(ctx, p.OrgID, p.Role)
	if apperr.Is(err, apperr.NotFound) {
		return nil, apperr.New(apperr.Forbidden, "unknown_role", "your role no longer exists; sign in again")
	}
	if err != nil {
		return nil, err
	}
	if r.Allows(perm) {
		return r, nil
	}
	if ok, err := s.useApproval(ctx, p, perm, approval); err != nil || ok {
		return r, err
	}
	detail, _ := json.Marshal(map[string]string{"permission": perm, "role": r.ID})
	if err := s.store.AppendAudit(ctx, p.OrgID, audit.Entry{Action: audit.ActionPermissionDenied, ActorID: p.UserID,
		SubjectID: p.UserID, Detail: detail, At: s.now().UTC()}); err != nil {
		return nil, err
	}
	return nil, apperr.New(apperr.Forbidden, "permission_denied", "your role ("+r.Name+") does not allow "+perm)
}
