package auth

import (
	"context"
	"crypto/rand"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/id"
)

// Device is a POS terminal (an iPad) registered to one location. It holds
// a long-lived device token; staff sign in on it with their PIN.
type Device struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"organization_id"`
	LocationID string     `json:"location_id"`
	Name       string     `json:"name"`
	PairedAt   *time.Time `json:"paired_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Event types of devices.
const (
	EventDeviceCreated = "device.created"
	EventDevicePaired  = "device.paired"
	EventDeviceRevoked = "device.revoked"
)

// PairingTTL is how long a pairing code works.
const PairingTTL = 10 * time.Minute

// DeviceStore persists devices.
type DeviceStore interface {
	// CreateDevice inserts d with the hash of its pairing code.
	CreateDevice(ctx context.Context, d *Device, codeHash string, codeExpires time.Time) error
	// PairDevice exchanges a pairing code (by hash) once: it stores the
	// device token's hash, clears the code and returns the device.
	// Errors: NotFound if no unexpired, unused code has this hash.
	PairDevice(ctx context.Context, codeHash, tokenHash string, at time.Time) (*Device, error)
	// FindDeviceByToken returns the unrevoked device with this token hash.
	// Errors: NotFound.
	FindDeviceByToken(ctx context.Context, tokenHash string) (*Device, error)
	// FindDevice returns a device of org, revoked or not. Errors: NotFound.
	FindDevice(ctx context.Context, orgID, id string) (*Device, error)
	// FindDevices returns org's devices.
	FindDevices(ctx context.Context, orgID string) ([]*Device, error)
	// RevokeDevice marks a device of org revoked at t. Errors: NotFound.
	RevokeDevice(ctx context.Context, orgID, id string, t time.Time) (*Device, error)
}

// pairingAlphabet leaves out letters and digits people confuse (0/O, 1/I/L).
const pairingAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

func newPairingCode() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	var sb strings.Builder
	for i, c := range b {
		if i == 4 {
			sb.WriteByte('-')
		}
		sb.WriteByte(pairingAlphabet[int(c)%len(pairingAlphabet)])
	}
	return sb.String(), nil
}

// normalizeCode accepts a code typed in lower case or without its dash.
func normalizeCode(code string) string {
	code = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	if len(code) == 8 {
		code = code[:4] + "-" + code[4:]
	}
	return code
}

// Pairing is a registered device and the one-time code that pairs it.
type Pairing struct {
	Device    *Device   `json:"device"`
	Code      string    `json:"pairing_code" doc:"type it on the device within the expiry; works once"`
	ExpiresAt time.Time `json:"pairing_expires_at"`
}

// RegisterDevice registers a device at a location of p's organization
// (locationOK says whether it is one) and returns its pairing code. Staff
// register devices at their own location only.
func (s *Service) RegisterDevice(ctx context.Context, p Principal, locationID, name string, locationOK func(string) bool) (*Pairing, error) {
	orgID := p.OrgID
	var f apperr.Fields
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 60 {
		f.Add("name", "must be 1 to 60 characters")
	}
	if !p.Reaches(locationID) {
		f.Add("location_id", "must be the location you are signed in at")
	} else if !locationOK(locationID) {
		f.Add("location_id", "is not a location of this organization")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	code, err := newPairingCode()
	if err != nil {
		return nil, apperr.Wrap(err, "pairing code")
	}
	now := s.now().UTC()
	d := &Device{ID: id.New(id.Device), OrgID: orgID, LocationID: locationID, Name: name, CreatedAt: now}
	exp := now.Add(PairingTTL)
	if err := s.store.CreateDevice(ctx, d, HashToken(code), exp); err != nil {
		return nil, err
	}
	return &Pairing{Device: d, Code: code, ExpiresAt: exp}, nil
}

// DeviceToken is what a paired device keeps.
type DeviceToken struct {
	Device *Device `json:"device"`
	Token  string  `json:"device_token" doc:"the device's credential: keep it in the Keychain; revoked with the device"`
}

var errBadCode = apperr.New(apperr.Unauthenticated, "invalid_pairing_code", "the pairing code is wrong, used or expired")

// PairDevice exchanges a pairing code, once, for a device token. Failures
// count against the client address like failed sign-ins.
func (s *Service) PairDevice(ctx context.Context, code, ip string) (*DeviceToken, error) {
	now := s.now().UTC()
	ipKey := "pair-ip:" + ip
	n, err := s.store.CountLoginFailures(ctx, ipKey, now.Add(-s.cfg.ThrottleWindow))
	if err != nil {
		return nil, err
	}
	if n >= s.cfg.AccountFailures {
		return nil, &apperr.Error{Kind: apperr.RateLimited, Code: "too_many_attempts",
			Detail: "too many wrong pairing codes; wait and try again", RetryAfterSeconds: int(s.cfg.ThrottleWindow.Seconds())}
	}
	token, tokenHash, err := newOpaqueToken(DeviceTokenPrefix)
	if err != nil {
		return nil, apperr.Wrap(err, "device token")
	}
	d, err := s.store.PairDevice(ctx, HashToken(normalizeCode(code)), tokenHash, now)
	if apperr.Is(err, apperr.NotFound) {
		if err := s.store.AddLoginFailures(ctx, now, ipKey); err != nil {
			return nil, err
		}
		return nil, errBadCode
	}
	if err != nil {
		return nil, err
	}
	return &DeviceToken{Device: d, Token: token}, nil
}

// DeviceTokenPrefix marks device tokens, so a bearer credential can be told
// from an access token without parsing it.
const DeviceTokenPrefix = "dt_"

// AuthenticateDevice returns the device a device token belongs to.
// Errors: Unauthenticated (revoked or unknown).
func (s *Service) AuthenticateDevice(ctx context.Context, token string) (*Device, error) {
	d, err := s.store.FindDeviceByToken(ctx, HashToken(token))
	if apperr.Is(err, apperr.NotFound) {
		return nil, apperr.New(apperr.Unauthenticated, "invalid_device_token", "the device is not paired or was revoked; pair it again")
	}
	return d, err
}

// Devices returns the devices of p's organization, or of p's location for
// staff.
func (s *Service) Devices(ctx context.Context, p Principal) ([]*Device, error) {
	ds, err := s.store.FindDevices(ctx, p.OrgID)
	if err != nil || p.LocationID == "" {
		return ds, err
	}
	out := make([]*Device, 0, len(ds))
	for _, d := range ds {
		if d.LocationID == p.LocationID {
			out = append(out, d)
		}
	}
	return out, nil
}

// RevokeDevice stops a device's token working, at once. Staff revoke their
// own location's devices only: another location's are not found.
func (s *Service) RevokeDevice(ctx context.Context, p Principal, id string) (*Device, error) {
	if p.LocationID != "" {
		d, err := s.store.FindDevice(ctx, p.OrgID, id)
		if err != nil {
			return nil, err
		}
		if !p.Reaches(d.LocationID) {
			return nil, apperr.NotFoundf("device")
		}
	}
	return s.store.RevokeDevice(ctx, p.OrgID, id, s.now().UTC())
}

// CheckStaffDevice refuses a staff token whose device has been revoked
// since it was issued: revoking an iPad ends the sessions on it at once.
func (s *Service) CheckStaffDevice(ctx context.Context, p Principal) error {
	if p.DeviceID == "" {
		return nil
	}
	d, err := s.store.FindDevice(ctx, p.OrgID, p.DeviceID)
	if apperr.Is(err, apperr.NotFound) || (err == nil && d.RevokedAt != nil) {
		return apperr.New(apperr.Unauthenticated, "device_revoked", "the device this sign-in was made on has been revoked")
	}
	return err
}
