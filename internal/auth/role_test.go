package auth

import (
	"context"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
)

// TestBuiltInRoleMatrix pins what each built-in role may do on its own.
func TestBuiltInRoleMatrix(t *testing.T) {
	all := Permissions
	want := map[string][]string{
		RoleOwner: all,
		RoleManager: {PermMenuEdit, PermMenu86, PermOrderDiscount, PermOrderVoid, PermOrderComp, PermOrderReopen, PermPaymentRefund,
			PermCashOpenDrawer, PermCashPaidInOut, PermCashNoSale, PermCashApproveVariance, PermReportView, PermAuditView, PermStaffManage},
		RoleSupervisor: {PermMenu86, PermOrderDiscount, PermOrderVoid, PermOrderComp, PermOrderReopen, PermCashOpenDrawer, PermCashPaidInOut,
			PermCashNoSale, PermReportView},
		RoleServer:    {},
		RoleBartender: {PermMenu86, PermCashOpenDrawer},
		RoleCashier:   {PermCashOpenDrawer, PermCashPaidInOut, PermCashNoSale},
		RoleKitchen:   {PermMenu86},
	}
	discount := map[string]int{RoleOwner: 10000, RoleManager: 10000, RoleSupervisor: 2000}
	for _, r := range BuiltInRoles() {
		allowed := map[string]bool{}
		for _, p := range want[r.ID] {
			allowed[p] = true
		}
		for _, p := range all {
			if r.Allows(p) != allowed[p] {
				t.Errorf("%s allows %s = %v, want %v", r.ID, p, r.Allows(p), allowed[p])
			}
		}
		if r.MaxDiscountBP() != discount[r.ID] {
			t.Errorf("%s max discount = %d, want %d", r.ID, r.MaxDiscountBP(), discount[r.ID])
		}
		if !r.BuiltIn {
			t.Errorf("%s not marked built-in", r.ID)
		}
	}
	if len(BuiltInRoles()) != len(want) {
		t.Fatalf("%d built-in roles, want %d", len(BuiltInRoles()), len(want))
	}
}

func TestCustomRoleValidation(t *testing.T) {
	cases := []struct {
		role  Role
		field string
	}{
		{Role{Name: ""}, "name"},
		{Role{Name: "manager"}, "name"},
		{Role{Name: "X", Grants: []Grant{{Permission: "order.everything"}}}, "grants[0].permission"},
		{Role{Name: "X", Grants: []Grant{{Permission: PermOrderVoid}, {Permission: PermOrderVoid}}}, "grants[1].permission"},
		{Role{Name: "X", Grants: []Grant{{Permission: PermOrderDiscount}}}, "grants[0].max_discount_bp"},
		{Role{Name: "X", Grants: []Grant{{Permission: PermOrderDiscount, MaxDiscountBP: 10001}}}, "grants[0].max_discount_bp"},
		{Role{Name: "X", Grants: []Grant{{Permission: PermOrderVoid, MaxDiscountBP: 500}}}, "grants[0].max_discount_bp"},
	}
	for _, c := range cases {
		err := c.role.validate()
		ae, ok := err.(*apperr.Error)
		if !ok || len(ae.Fields) == 0 || ae.Fields[0].Field != c.field {
			t.Errorf("%+v: err = %v, want a problem with %s", c.role, err, c.field)
		}
	}
	ok := Role{Name: "Head bartender", Grants: []Grant{{Permission: PermOrderVoid}, {Permission: PermOrderDiscount, MaxDiscountBP: 1500}}}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	if ok.Grants[0].Permission != PermOrderDiscount || !ok.Allows(PermOrderVoid) || ok.MaxDiscountBP() != 1500 {
		t.Fatalf("valid role: %+v", ok)
	}
}

// BenchmarkAuthorizeBuiltIn is the permission check of a request by a
// built-in role: no database, a lookup and a scan of the grants.
func BenchmarkAuthorizeBuiltIn(b *testing.B) {
	ks, _ := NewKeySet(newKey(b))
	svc, err := NewService(&pinFake{}, ks, make([]byte, 32), DefaultConfig, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	p := Principal{UserID: "usr_1", OrgID: "org_1", Role: RoleManager}
	ctx := context.Background()
	for b.Loop() {
		if _, err := svc.Authorize(ctx, p, PermStaffManage, ""); err != nil {
			b.Fatal(err)
		}
	}
}

type roleFake struct {
	pinFake
	role *Role
}

func (f *roleFake) FindRole(context.Context, string, string) (*Role, error) { return f.role, nil }

// BenchmarkAuthorizeCustomCached is the permission check of a custom role
// once cached: what every request but the first in 30 s pays.
func BenchmarkAuthorizeCustomCached(b *testing.B) {
	ks, _ := NewKeySet(newKey(b))
	r := &Role{ID: "rol_1", OrgID: "org_1", Name: "Lead", Grants: []Grant{{Permission: PermStaffManage}}}
	svc, err := NewService(&roleFake{role: r}, ks, make([]byte, 32), DefaultConfig, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	p := Principal{UserID: "usr_1", OrgID: "org_1", Role: "rol_1"}
	ctx := context.Background()
	for b.Loop() {
		if _, err := svc.Authorize(ctx, p, PermStaffManage, ""); err != nil {
			b.Fatal(err)
		}
	}
}
