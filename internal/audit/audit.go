// Package audit keeps the organization's record of who did what: an
// append-only log whose entries are chained by hash, so that editing or
// deleting any entry afterwards is detected by Verify.
//
// Every state change is recorded in the same transaction as the change,
// with the actor taken from the request; actions that change nothing but
// matter (a failed sign-in, a refused permission) are appended on their own.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Entry is one recorded action.
type Entry struct {
	Seq        int64           `json:"seq" doc:"per-organization, gapless, from 1"`
	OrgID      string          `json:"organization_id"`
	LocationID string          `json:"location_id,omitempty"`
	ActorID    string          `json:"actor_id,omitempty" doc:"the user, employee or device that acted; empty for the system"`
	Action     string          `json:"action" doc:"e.g. location.updated, auth.login_failed"`
	SubjectID  string          `json:"subject_id,omitempty"`
	Detail     json.RawMessage `json:"detail" doc:"what happened; never a secret"`
	At         time.Time       `json:"at"`
	PrevHash   string          `json:"prev_hash" doc:"hash of the previous entry; empty for the first"`
	Hash       string          `json:"hash" doc:"SHA-256 over this entry's fields and prev_hash"`
}

// Actions recorded without a state change.
const (
	ActionLoginSucceeded  = "auth.login"
	ActionLoginFailed     = "auth.login_failed"
	ActionRefreshReused   = "auth.refresh_reused"
	ActionLogout          = "auth.logout"
	ActionPasswordReset   = "auth.password_reset"
	ActionPasswordChanged = "auth.password_changed"
	ActionResetRequested  = "auth.password_reset_requested"
	ActionPINSignIn       = "auth.pin_sign_in"
	ActionPINFailed       = "auth.pin_failed"
	// ActionOverrideUsed: a manager\'s approval let someone do what their
	// role does not allow; the approval itself is recorded when given.
	ActionOverrideUsed = "auth.override_used"
	// ActionOverrideRefused: an approval was asked of someone who may not give it.
	ActionOverrideRefused = "auth.override_refused"
	// ActionPermissionDenied: someone tried what their role does not allow.
	ActionPermissionDenied = "auth.permission_denied"
)

// ComputeHash returns the hash that chains e to its predecessor. Each field
// is length-prefixed so no two different entries encode alike.
func (e *Entry) ComputeHash() string {
	h := sha256.New()
	for _, f := range []string{
		strconv.FormatInt(e.Seq, 10), e.OrgID, e.LocationID, e.ActorID, e.Action, e.SubjectID,
		string(e.Detail), e.At.UTC().Format(time.RFC3339Nano), e.PrevHash,
	} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Actor is who a request acts for.
type Actor struct {
	ID         string
	LocationID string
}

type actorKey struct{}

// WithActor returns ctx carrying the actor, for the store to record with
// the changes made under ctx.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx carries (zero for the system).
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// Filter selects entries.
type Filter struct {
	After     int64 // entries with Seq > After
	Action    string
	ActorID   string
	SubjectID string
	// LocationID, when set, keeps only the entries made at that location:
	// a staff token, confined to its location, reads no other location's
	// entries, nor the organization-wide ones.
	LocationID string
	Limit      int
}

// Store persists the log.
type Store interface {
	// AppendAudit appends an entry for orgID in its own transaction; the
	// store fills Seq, At, PrevHash and Hash. Errors: NotFound (no such org).
	AppendAudit(ctx context.Context, orgID string, e Entry) error
	// FindAudit returns entries of org in Seq order.
	FindAudit(ctx context.Context, orgID string, f Filter) ([]Entry, error)
	// AuditHead returns the sequence number and hash of org's latest entry,
	// as kept beside the organization: the anchor that shows whether entries
	// were cut from the end.
	AuditHead(ctx context.Context, orgID string) (int64, string, error)
}

// Report is the outcome of Verify.
type Report struct {
	Intact  bool   `json:"intact"`
	Entries int64  `json:"entries" doc:"entries checked"`
	BadSeq  int64  `json:"first_bad_seq,omitempty" doc:"the first entry that was altered, removed or inserted"`
	Reason  string `json:"reason,omitempty"`
}

// Verify walks org's whole log and reports the first entry that does not
// match its hash or its predecessor.
func Verify(ctx context.Context, store Store, orgID string) (Report, error) {
	var r Report
	prev := ""
	after := int64(0)
	for {
		page, err := store.FindAudit(ctx, orgID, Filter{After: after, Limit: 1000})
		if err != nil {
			return Report{}, err
		}
		for i := range page {
			e := &page[i]
			switch {
			case e.Seq != after+1:
				return Report{Entries: r.Entries, BadSeq: after + 1, Reason: "entry missing"}, nil
			case e.PrevHash != prev:
				return Report{Entries: r.Entries, BadSeq: e.Seq, Reason: "does not follow the previous entry"}, nil
			case e.ComputeHash() != e.Hash:
				return Report{Entries: r.Entries, BadSeq: e.Seq, Reason: "altered after it was written"}, nil
			}
			prev, after = e.Hash, e.Seq
			r.Entries++
		}
		if len(page) < 1000 {
			break
		}
	}
	headSeq, headHash, err := store.AuditHead(ctx, orgID)
	if err != nil {
		return Report{}, err
	}
	if headSeq != after || headHash != prev {
		return Report{Entries: r.Entries, BadSeq: after + 1, Reason: "entries removed from the end"}, nil
	}
	r.Intact = true
	return r, nil
}

// Service reads the log.
type Service struct{ store Store }

// NewService returns a Service over store.
func NewService(store Store) *Service { return &Service{store: store} }

// Entries returns a page of org's log.
func (s *Service) Entries(ctx context.Context, orgID string, f Filter) ([]Entry, error) {
	// Callers ask for one more than a page to learn whether another follows.
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000+1)
	return s.store.FindAudit(ctx, orgID, f)
}

// Verify checks org's whole chain.
func (s *Service) Verify(ctx context.Context, orgID string) (Report, error) {
	return Verify(ctx, s.store, orgID)
}
