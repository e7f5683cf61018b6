package auth

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/audit"
	"github.com/fynlo/fynlo/internal/id"
)

// ApprovalTTL is how long a manager's approval may wait to be used.
const ApprovalTTL = time.Minute

// ApprovalHeader carries an approval on the privileged request it allows.
const ApprovalHeader = "Fynlo-Approval"

// Approval is a manager's consent, given with their PIN on the spot, for
// one privileged action by someone whose role does not allow it.
type Approval struct {
	ID          string     `json:"id"`
	OrgID       string     `json:"organization_id"`
	DeviceID    string     `json:"device_id"`
	LocationID  string     `json:"location_id"`
	RequesterID string     `json:"requester_id"`
	ApproverID  string     `json:"approver_id"`
	Permission  string     `json:"permission"`
	Reason      string     `json:"reason"`
	ExpiresAt   time.Time  `json:"expires_at"`
	UsedAt      *time.Time `json:"used_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

// EventApprovalGranted is written when a manager approves an action.
const EventApprovalGranted = "approval.granted"

// ApprovalStore persists approvals (by the hash of their token).
type ApprovalStore interface {
	// CreateApproval inserts a.
	CreateApproval(ctx context.Context, a *Approval, tokenHash string) error
	// UseApproval marks the approval with this token hash used at t, if it
	// is unused, unexpired and for this permission, device and requester,
	// and returns it. Errors: NotFound otherwise.
	UseApproval(ctx context.Context, tokenHash, permission, deviceID, requesterID string, t time.Time) (*Approval, error)
}

// GrantedApproval is what the override endpoint returns.
type GrantedApproval struct {
	Token     string    `json:"approval" doc:"send it in the Fynlo-Approval header of the one request it allows"`
	Approval  *Approval `json:"details"`
	ExpiresIn int       `json:"expires_in" doc:"seconds"`
}

// Override lets a manager approve, with their PIN on the requester's
// device, one action the requester's role does not allow. The manager's
// PIN is rationed like any PIN on that device.
func (s *Service) Override(ctx context.Context, requester Principal, managerPIN, permission, reason string) (*GrantedApproval, error) {
	var f apperr.Fields
	if !known(permission) {
		f.Add("permission", "is not a permission")
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 200 {
		f.Add("reason", "must say why, in 1 to 200 characters")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if requester.DeviceID == "" {
		return nil, apperr.New(apperr.Forbidden, "not_on_a_device", "approvals are given on a POS device: sign in there with your PIN")
	}
	d, err := s.store.FindDevice(ctx, requester.OrgID, requester.DeviceID)
	if err != nil || d.RevokedAt != nil {
		return nil, apperr.New(apperr.Unauthenticated, "invalid_device_token", "the device was revoked; pair it again")
	}
	// The manager identifies with their PIN on this device, rationed like a sign-in.
	manager, err := s.checkPIN(ctx, d, "", managerPIN)
	if err != nil {
		return nil, err
	}
	role, err := s.Role(ctx, manager.OrgID, manager.RoleAt(d.LocationID))
	if err != nil || !role.Allows(permission) || manager.ID == requester.UserID {
		detail, _ := json.Marshal(map[string]string{"permission": permission, "pin_of": manager.ID, "device_id": d.ID})
		if err := s.store.AppendAudit(ctx, d.OrgID, audit.Entry{Action: audit.ActionOverrideRefused, LocationID: d.LocationID,
			ActorID: requester.UserID, SubjectID: requester.UserID, Detail: detail, At: s.now().UTC()}); err != nil {
			return nil, err
		}
		return nil, apperr.New(apperr.Forbidden, "approver_not_allowed", "that PIN belongs to no one here who may approve this")
	}
	token, hash, err := newOpaqueToken("apv_")
	if err != nil {
		return nil, apperr.Wrap(err, "approval token")
	}
	now := s.now().UTC()
	a := &Approval{ID: id.New(id.Approval), OrgID: d.OrgID, DeviceID: d.ID, LocationID: d.LocationID, RequesterID: requester.UserID,
		ApproverID: manager.ID, Permission: permission, Reason: reason, ExpiresAt: now.Add(ApprovalTTL), CreatedAt: now}
	if err := s.store.CreateApproval(audit.WithActor(ctx, audit.Actor{ID: manager.ID, LocationID: d.LocationID}), a, hash); err != nil {
		return nil, err
	}
	return &GrantedApproval{Token: token, Approval: a, ExpiresIn: int(ApprovalTTL.Seconds())}, nil
}

// useApproval consumes an approval token for perm by p, recording it.
func (s *Service) useApproval(ctx context.Context, p Principal, perm, token string) (bool, error) {
	a, err := s.approval(ctx, p, perm, token)
	return a != nil, err
}

// approval spends an approval token for perm, returning it, or nil if the
// token is absent or not good for perm.
func (s *Service) approval(ctx context.Context, p Principal, perm, token string) (*Approval, error) {
	if token == "" || p.DeviceID == "" {
		return nil, nil
	}
	now := s.now().UTC()
	a, err := s.store.UseApproval(ctx, HashToken(token), perm, p.DeviceID, p.UserID, now)
	if apperr.Is(err, apperr.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	detail, _ := json.Marshal(map[string]string{"approval_id": a.ID, "approver_id": a.ApproverID, "permission": perm, "reason": a.Reason})
	return a, s.store.AppendAudit(ctx, p.OrgID, audit.Entry{Action: audit.ActionOverrideUsed, LocationID: a.LocationID,
		ActorID: p.UserID, SubjectID: a.ID, Detail: detail, At: now})
}

// Approver is Authorize for a decision that records who took it: the
// caller when their role allows perm, or the manager whose approval token
// they brought. Errors: Forbidden permission_denied.
func (s *Service) Approver(ctx context.Context, p Principal, perm, token string) (string, error) {
	r, err := s.Role(ctx, p.OrgID, p.Role)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return "", err
	}
	if err == nil && r.Allows(perm) {
		return p.UserID, nil
	}
	a, err := s.approval(ctx, p, perm, token)
	if err != nil {
		return "", err
	}
	if a != nil {
		return a.ApproverID, nil
	}
	_, err = s.Authorize(ctx, p, perm, "") // refuses, and audits the refusal
	return "", err
}
