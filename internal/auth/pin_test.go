package auth

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/audit"
)

// pinFake is just enough of a Store for PIN sign-in, in memory; the real
// stores are tested against both databases in internal/app.
type pinFake struct {
	Store
	mu       sync.Mutex
	pins     map[string]*Employee // PIN hash → employee
	attempts map[string]PINAttempts
}

func (f *pinFake) FindEmployeeByPIN(_ context.Context, _, hash string) (*Employee, error) {
	if e := f.pins[hash]; e != nil {
		return e, nil
	}
	return nil, apperr.NotFoundf("employee")
}

func (f *pinFake) UpdatePINAttempts(_ context.Context, deviceID, employeeID string, update func(*PINAttempts) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.attempts[deviceID+"|"+employeeID]
	if err := update(&a); err != nil {
		return err
	}
	f.attempts[deviceID+"|"+employeeID] = a
	return nil
}

func (f *pinFake) AppendAudit(context.Context, string, audit.Entry) error { return nil }

func TestPINLockoutRules(t *testing.T) {
	clock := time.Date(2026, 11, 26, 18, 0, 0, 0, time.UTC)
	ks, _ := NewKeySet(newKey(t))
	fake := &pinFake{attempts: map[string]PINAttempts{}}
	cfg := DefaultConfig
	cfg.Password = cheap
	svc, err := NewService(fake, ks, make([]byte, 32), cfg, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	d := &Device{ID: "dev_1", OrgID: "org_1", LocationID: "loc_1"}
	emp := func(id string) *Employee {
		return &Employee{ID: id, OrgID: "org_1", Active: true, Roles: []LocationRole{{LocationID: "loc_1", RoleID: RoleServer}}}
	}
	fake.pins = map[string]*Employee{svc.pinHash("loc_1", "2468"): emp("emp_1"), svc.pinHash("loc_1", "1357"): emp("emp_2")}

	codeOf := func(err error) string {
		if ae, ok := err.(*apperr.Error); ok {
			return ae.Code
		}
		return ""
	}
	try := func(pin string) string {
		_, err := svc.PINSignIn(context.Background(), d, "emp_1", pin)
		return codeOf(err)
	}
	// Five wrong PINs in a row are judged at once.
	for i := 0; i < PINBackoffAfter; i++ {
		if c := try("0000"); c != "invalid_pin" {
			t.Fatalf("try %d: %s", i+1, c)
		}
	}
	// Then each try waits 30 s, even with the right PIN.
	if c := try("2468"); c != "pin_backoff" {
		t.Fatalf("during backoff: %q", c)
	}
	for i := PINBackoffAfter; i < PINLockAfter; i++ {
		clock = clock.Add(PINBackoff)
		if c := try("0000"); c != "invalid_pin" {
			t.Fatalf("try %d: %q", i+1, c)
		}
	}
	// Ten: locked, however long between tries, until the window passes.
	clock = clock.Add(PINBackoff)
	if c := try("2468"); c != "pin_locked" {
		t.Fatalf("after ten: %q", c)
	}
	// Leaving out who is signing in does not get round the lock.
	if _, err := svc.PINSignIn(context.Background(), d, "", "2468"); codeOf(err) != "pin_locked" {
		t.Fatalf("locked employee without employee_id: %v", err)
	}
	// Another employee on the same device is not affected, either way.
	if _, err := svc.PINSignIn(context.Background(), d, "emp_2", "1357"); err != nil {
		t.Fatalf("another employee on the device: %v", err)
	}
	if _, err := svc.PINSignIn(context.Background(), d, "", "1357"); err != nil {
		t.Fatalf("another employee on the device, without employee_id: %v", err)
	}
	clock = clock.Add(PINWindow)
	if c := try("2468"); c != "" {
		t.Fatalf("after the window: %q", c)
	}
	// Success reset the count: five more wrong tries are judged again.
	for i := 0; i < PINBackoffAfter; i++ {
		if c := try("0000"); c != "invalid_pin" {
			t.Fatalf("after reset, try %d: %q", i+1, c)
		}
	}
	// A deactivated employee's PIN signs nobody in (the store finds only
	// active employees; here the fake says so by finding none).
	fake.pins = nil
	clock = clock.Add(PINWindow)
	if c := try("2468"); c != "invalid_pin" {
		t.Fatalf("deactivated: %q", c)
	}
}
