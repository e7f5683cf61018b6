package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/auth"
)

type deviceCreateInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"false" maxLength:"255"`
	Body           struct {
		LocationID string `json:"location_id" maxLength:"64"`
		Name       string `json:"name" minLength:"1" maxLength:"60" example:"Bar iPad 2"`
	}
}

type pairingOutput struct {
	Status int
	Body   *auth.Pairing
}

type devicePairInput struct {
	Body struct {
		Code string `json:"code" maxLength:"16" example:"K7Q2-9XWM"`
	}
}

type deviceTokenOutput struct {
	Body *auth.DeviceToken
}

type deviceListOutput struct {
	Body struct {
		Items []*auth.Device `json:"items"`
	}
}

type deviceOutput struct {
	Body *auth.Device
}

type pinInput struct {
	Body struct {
		PIN        string `json:"pin" maxLength:"16"`
		EmployeeID string `json:"employee_id,omitempty" required:"false" maxLength:"64" doc:"the person tapped on the staff screen; wrong PINs then count against them only"`
	}
}

type staffTokenOutput struct {
	Body *auth.StaffToken
}

func (s *Server) routeDevices() {
	tags := []string{"Devices"}
	huma.Register(s.api, huma.Operation{
		OperationID: "device-create", Method: http.MethodPost, Path: "/api/v1/devices", Tags: tags,
		Summary:     "Register a POS device",
		Description: "Returns a one-time pairing code, valid for 10 minutes, to type on the device.",
		Security:    bearer, DefaultStatus: http.StatusCreated, Errors: []int{401, 403, 422},
		Metadata: needs(auth.PermStaffManage),
	}, s.handleDeviceCreate)
	huma.Register(s.api, huma.Operation{
		OperationID: "device-pair", Method: http.MethodPost, Path: "/api/v1/devices/pair", Tags: tags,
		Summary: "Pair a device with its code",
		Description: "Unauthenticated: exchanges the pairing code, once, for the device's long-lived token. " +
			"Wrong codes are throttled per client address.",
		Errors: []int{401, 429},
	}, s.handleDevicePair)
	huma.Register(s.api, huma.Operation{
		OperationID: "device-list", Method: http.MethodGet, Path: "/api/v1/devices", Tags: tags,
		Summary: "List devices", Security: bearer, Errors: []int{401, 403},
		Metadata: needs(auth.PermStaffManage),
	}, s.handleDeviceList)
	huma.Register(s.api, huma.Operation{
		OperationID: "device-revoke", Method: http.MethodDelete, Path: "/api/v1/devices/{id}", Tags: tags,
		Summary: "Revoke a device", Description: "Its token stops working on its next request.",
		Security: bearer, Errors: []int{401, 403, 404},
		Metadata: needs(auth.PermStaffManage),
	}, s.handleDeviceRevoke)
	huma.Register(s.api, huma.Operation{
		OperationID: "pin-sign-in", Method: http.MethodPost, Path: "/api/v1/auth/pin", Tags: []string{"Sign-in"},
		Summary: "Sign in on a device with a PIN",
		Description: "With the device token as the bearer credential. Returns a short-lived staff token for this location " +
			"and employee. Wrong PINs are counted per device and employee: after 5 each try waits 30 s (429 pin_backoff), " +
			"after 10 the PIN is locked for 15 minutes or until a manager unlocks it (429 pin_locked).",
		Security: deviceBearer, Errors: []int{401, 429},
	}, s.handlePINSignIn)
	huma.Register(s.api, huma.Operation{
		OperationID: "override", Method: http.MethodPost, Path: "/api/v1/auth/override", Tags: []string{"Sign-in"},
		Summary: "A manager approves one action on the spot",
		Description: "Called with the staff token of the employee who was refused (403 permission_denied), on their device. " +
			"A manager whose role allows the permission types their PIN; the answer is an approval token valid for one request " +
			"of that employee, for that permission, on that device, within a minute: repeat the refused request with the header " +
			"Fynlo-Approval: <token>. Who asked, who approved, what and why go into the audit log.",
		Security: bearer, Errors: []int{401, 403, 422, 429},
	}, s.handleOverride)
	huma.Register(s.api, huma.Operation{
		OperationID: "employee-unlock-pin", Method: http.MethodPost, Path: "/api/v1/employees/{id}/unlock", Tags: []string{"Staff"},
		Summary: "Unlock an employee's PIN", Description: "Clears their failed PIN attempts on every device.",
		Security: bearer, DefaultStatus: http.StatusNoContent, Errors: []int{401, 403, 404},
		Metadata: needs(auth.PermStaffManage),
	}, s.handleEmployeeUnlock)
}

type overrideInput struct {
	Body struct {
		PIN        string `json:"pin" maxLength:"16" doc:"the approving manager's PIN, typed on this device"`
		Permission string `json:"permission" maxLength:"64" example:"payment.refund"`
		Reason     string `json:"reason" maxLength:"200" example:"wrong card charged"`
	}
}

type overrideOutput struct {
	Body *auth.GrantedApproval
}

func (s *Server) handleOverride(ctx context.Context, in *overrideInput) (*overrideOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	g, err := s.auth.Override(ctx, p, in.Body.PIN, in.Body.Permission, in.Body.Reason)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &overrideOutput{Body: g}, nil
}

func (s *Server) handleDeviceCreate(ctx context.Context, in *deviceCreateInput) (*pairingOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := s.auth.RegisterDevice(ctx, p, in.Body.LocationID, in.Body.Name, s.locationOf(ctx, p.OrgID))
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &pairingOutput{Status: http.StatusCreated, Body: pr}, nil
}

func (s *Server) handleDevicePair(ctx context.Context, in *devicePairInput) (*deviceTokenOutput, error) {
	dt, err := s.auth.PairDevice(ctx, in.Body.Code, clientIP(ctx))
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &deviceTokenOutput{Body: dt}, nil
}

func (s *Server) handleDeviceList(ctx context.Context, _ *struct{}) (*deviceListOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := s.auth.Devices(ctx, p)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	out := &deviceListOutput{}
	out.Body.Items = ds
	return out, nil
}

func (s *Server) handleDeviceRevoke(ctx context.Context, in *pathID) (*deviceOutput, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.auth.RevokeDevice(ctx, p, in.ID)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &deviceOutput{Body: d}, nil
}

func (s *Server) handlePINSignIn(ctx context.Context, in *pinInput) (*staffTokenOutput, error) {
	d, err := s.requireDevice(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.auth.PINSignIn(ctx, d, in.Body.EmployeeID, in.Body.PIN)
	if err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return &staffTokenOutput{Body: st}, nil
}

func (s *Server) handleEmployeeUnlock(ctx context.Context, in *pathID) (*struct{}, error) {
	p, err := s.requirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.auth.UnlockPIN(ctx, p, in.ID); err != nil {
		return nil, problemFor(ctx, s.logger, err)
	}
	return nil, nil
}
