package auth

import (
	"context"
	"encoding/json"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/audit"
)

// PIN attempt limits: a PIN has as few as 10,000 values, so guesses are
// rationed per device and employee. Other employees on the same device
// keep their own count.
const (
	PINBackoffAfter = 5                // failures before each try must wait
	PINBackoff      = 30 * time.Second // the wait
	PINLockAfter    = 10               // failures that lock until the window ends or a manager unlocks
	PINWindow       = 15 * time.Minute
)

// PINAttempts is the failure count of one device and employee.
type PINAttempts struct {
	Failures     int
	FirstFailure time.Time
	LastFailure  time.Time
}

// PINStore persists PIN lookups and attempt counts.
type PINStore interface {
	// FindEmployeeByPIN returns the active employee with this PIN hash at
	// a location. Errors: NotFound.
	FindEmployeeByPIN(ctx context.Context, locationID, hash string) (*Employee, error)
	// UpdatePINAttempts locks the counter of a device and employee (""
	// when unknown), creating it at zero, for the length of a write
	// transaction; lets update change it; and saves it. Concurrent attempts
	// on one counter thus run one after another.
	UpdatePINAttempts(ctx context.Context, deviceID, employeeID string, update func(*PINAttempts) error) error
	// ClearPINAttempts removes every counter of an employee (a manager's unlock).
	ClearPINAttempts(ctx context.Context, employeeID string) error
}

// StaffToken is what a PIN sign-in returns.
type StaffToken struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type" example:"Bearer"`
	ExpiresIn   int       `json:"expires_in" doc:"seconds; sign in with the PIN again after"`
	Employee    *Employee `json:"employee"`
	LocationID  string    `json:"location_id"`
	Role        string    `json:"role" doc:"the employee's role at this location"`
}

var errBadPIN = apperr.New(apperr.Unauthenticated, "invalid_pin", "that PIN is not right")

// PINSignIn signs an employee in on a paired device with their PIN. With
// employeeID (the person tapped on the staff screen) failures count
// against that person on this device; without it, against the device.
// The answer never says whether the person or the PIN was wrong.
func (s *Service) PINSignIn(ctx context.Context, d *Device, employeeID, pin string) (*StaffToken, error) {
	emp, err := s.checkPIN(ctx, d, employeeID, pin)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	role := emp.RoleAt(d.LocationID)
	exp := now.Add(s.cfg.AccessTTL)
	tok, err := s.keys.sign(Principal{UserID: emp.ID, OrgID: emp.OrgID, Role: role, LocationID: d.LocationID, DeviceID: d.ID, ExpiresAt: exp}, now)
	if err != nil {
		return nil, apperr.Wrap(err, "sign staff token")
	}
	detail, _ := json.Marshal(map[string]string{"device_id": d.ID, "location_id": d.LocationID})
	if err := s.store.AppendAudit(ctx, emp.OrgID, audit.Entry{Action: audit.ActionPINSignIn, LocationID: d.LocationID, ActorID: emp.ID,
		SubjectID: emp.ID, Detail: detail, At: now}); err != nil {
		return nil, err
	}
	return &StaffToken{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTTL.Seconds()), Employee: emp,
		LocationID: d.LocationID, Role: role}, nil
}

// checkPIN finds the active employee whose PIN this is at the device's
// location (and who is employeeID, if given), counting a failure against
// the device and employeeID, all under the counter's lock.
func (s *Service) checkPIN(ctx context.Context, d *Device, employeeID, pin string) (*Employee, error) {
	var emp *Employee
	if pinRE.MatchString(pin) {
		e, err := s.store.FindEmployeeByPIN(ctx, d.LocationID, s.pinHash(d.LocationID, pin))
		if err != nil && !apperr.Is(err, apperr.NotFound) {
			return nil, err
		}
		if e != nil && (employeeID == "" || e.ID == employeeID) {
			emp = e
		}
	}
	refused, err := s.countPINAttempt(ctx, d, employeeID, emp != nil)
	if err == nil && refused == nil && employeeID == "" {
		// Signed in without saying who: the person the PIN names must not
		// be locked out either, or leaving out employee_id would be a way
		// around their lock.
		refused, err = s.countPINAttempt(ctx, d, emp.ID, true)
	}
	if err != nil {
		return nil, err
	}
	if refused != nil {
		if err := s.recordPINFailure(ctx, d, employeeID, refused); err != nil {
			return nil, err
		}
		return nil, refused
	}
	return emp, nil
}

// countPINAttempt applies the rationing rules to one counter under its
// lock: it refuses while locked or backing off, and otherwise counts a
// failure or, on success, clears the count.
func (s *Service) countPINAttempt(ctx context.Context, d *Device, employeeID string, ok bool) (refused error, err error) {
	now := s.now().UTC()
	err = s.store.UpdatePINAttempts(ctx, d.ID, employeeID, func(a *PINAttempts) error {
		if a.Failures > 0 && now.Sub(a.FirstFailure) >= PINWindow {
			*a = PINAttempts{} // the window passed: start again
		}
		switch {
		case a.Failures >= PINLockAfter:
			refused = pinRefusal("pin_locked", "too many wrong PINs: locked until a manager unlocks it or the wait is over",
				a.FirstFailure.Add(PINWindow).Sub(now))
		case a.Failures >= PINBackoffAfter && now.Sub(a.LastFailure) < PINBackoff:
			refused = pinRefusal("pin_backoff", "too many wrong PINs: wait before trying again", a.LastFailure.Add(PINBackoff).Sub(now))
		case !ok:
			if a.Failures == 0 {
				a.FirstFailure = now
			}
			a.Failures++
			a.LastFailure = now
			refused = errBadPIN
		default:
			*a = PINAttempts{}
		}
		return nil
	})
	return refused, err
}

func pinRefusal(code, detail string, wait time.Duration) error {
	secs := int(wait.Round(time.Second).Seconds())
	if secs < 1 {
		secs = 1
	}
	return &apperr.Error{Kind: apperr.RateLimited, Code: code, Detail: detail, RetryAfterSeconds: secs}
}

func (s *Service) recordPINFailure(ctx context.Context, d *Device, employeeID string, why error) error {
	code := "invalid_pin"
	if ae, ok := why.(*apperr.Error); ok {
		code = ae.Code
	}
	detail, _ := json.Marshal(map[string]string{"device_id": d.ID, "outcome": code})
	return s.store.AppendAudit(ctx, d.OrgID, audit.Entry{Action: audit.ActionPINFailed, LocationID: d.LocationID,
		SubjectID: employeeID, Detail: detail, At: s.now().UTC()})
}

// UnlockPIN clears an employee's failed PIN attempts on every device.
func (s *Service) UnlockPIN(ctx context.Context, p Principal, employeeID string) error {
	if _, err := s.EmployeeFor(ctx, p, employeeID); err != nil {
		return err
	}
	return s.store.ClearPINAttempts(ctx, employeeID)
}

// ChangeOwnPIN lets an employee signed in on a device change their PIN by
// typing the old one, which is rationed like any PIN on that device.
func (s *Service) ChangeOwnPIN(ctx context.Context, p Principal, oldPIN, newPIN string) (*Employee, error) {
	if p.DeviceID == "" {
		return nil, apperr.New(apperr.Forbidden, "not_on_a_device", "sign in with your PIN on a device to change it")
	}
	d, err := s.store.FindDevice(ctx, p.OrgID, p.DeviceID)
	if err != nil {
		return nil, err
	}
	if _, err := s.checkPIN(ctx, d, p.UserID, oldPIN); err != nil {
		return nil, err
	}
	return s.setPIN(ctx, p.OrgID, p.UserID, newPIN, func(*Employee) error { return nil })
}
