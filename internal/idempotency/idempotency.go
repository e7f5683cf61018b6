// Package idempotency makes retried writes safe: a request carrying an
// Idempotency-Key is executed once, and every retry of it gets the first
// answer back, byte for byte.
//
// The rules follow the IETF httpapi draft and Stripe: the same key with the
// same request replays the stored response; the same key with a different
// request is refused (422); the same key while the first request still runs
// is refused (409). Only successful responses are stored: a failed request
// changed nothing, so running it again is as good as replaying it, and a
// client that fixes a transient problem can retry with the same key.
package idempotency

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
)

// Record is one key's state.
type Record struct {
	Scope       string // who owns the key: an organization and user, or "anon"
	Key         string
	Fingerprint string // SHA-256 of method, path and body
	Done        bool
	// Committed is set in the same transaction as the request's state
	// change, so after a crash we know whether it took effect.
	Committed   bool
	LockedUntil time.Time // while running: when the claim lapses (its node may have died)
	Response    *Response
	CreatedAt   time.Time
}

// Response is a stored answer.
type Response struct {
	Status int                 `json:"status"`
	Header map[string][]string `json:"header"` // the headers worth replaying (Content-Type, Location)
	Body   []byte              `json:"-"`
}

// Store persists records.
type Store interface {
	// InsertIdempotencyKey stores a new running record.
	// Errors: Conflict if the scope and key exist.
	InsertIdempotencyKey(ctx context.Context, r *Record) error
	// FindIdempotencyKey errors: NotFound.
	FindIdempotencyKey(ctx context.Context, scope, key string) (*Record, error)
	// RelockIdempotencyKey moves a running record's lock from old to until,
	// only if it still holds old. It reports whether it did.
	RelockIdempotencyKey(ctx context.Context, scope, key string, old, until time.Time) (bool, error)
	// CompleteIdempotencyKey stores the response and marks the record done.
	CompleteIdempotencyKey(ctx context.Context, scope, key string, resp *Response) error
	// DeleteIdempotencyKey removes a record.
	DeleteIdempotencyKey(ctx context.Context, scope, key string) error
	// DeleteIdempotencyKeysBefore removes records created before t.
	DeleteIdempotencyKeysBefore(ctx context.Context, t time.Time) (int64, error)
}

// Service applies the rules.
type Service struct {
	store Store
	now   func() time.Time
	// Lease is how long a running request holds its key before a retry may
	// assume its node died and run it again.
	Lease time.Duration
	// TTL is how long keys are kept; at least 72 hours, longer than an iPad
	// may stay offline over a weekend.
	TTL time.Duration
}

// DefaultLease is how long a claim lasts unless renewed (see [Service.Keep]).
const DefaultLease = 30 * time.Second

// NewService returns a Service with a 72-hour TTL and the default lease.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: now, Lease: DefaultLease, TTL: 72 * time.Hour}
}

// MaxKeyLength bounds a key, as Stripe does.
const MaxKeyLength = 255

// ErrInFlight and ErrMismatch are the two refusals.
var (
	ErrInFlight = apperr.New(apperr.Conflict, "idempotency_key_in_use",
		"a request with this Idempotency-Key is still being processed; retry shortly")
	ErrMismatch = apperr.New(apperr.Unprocessable, "idempotency_key_reused",
		"this Idempotency-Key was used with a different request; use a new key for a new request")
	ErrResponseLost = apperr.New(apperr.Conflict, "idempotency_response_lost",
		"the request with this Idempotency-Key was applied, but the server stopped before it could record the answer; "+
			"read the object back instead of retrying")
)

type claimKey struct{}

// Claim names the key a request holds, so the store can mark it committed
// in the same transaction as the request's change.
type Claim struct {
	Scope, Key string
	// Repeatable: the request's writes are keyed by the client's own IDs
	// (a check's id, an op_id, a payment's id), so running it again finds
	// them instead of repeating them. Its claim is never marked committed,
	// and a retry after a crash runs it again and gets the real answer
	// (and finishes what it left half done, such as a card payment
	// recorded but not yet charged) instead of idempotency_response_lost.
	Repeatable bool
}

// Repeatable returns ctx with its claim, if any, marked repeatable: see
// [Claim]. A domain calls it when the request names its objects by IDs the
// client chose.
func Repeatable(ctx context.Context) context.Context {
	c, ok := ClaimFrom(ctx)
	if !ok || c.Repeatable {
		return ctx
	}
	c.Repeatable = true
	return context.WithValue(ctx, claimKey{}, c)
}

// WithClaim returns ctx carrying the claim.
func WithClaim(ctx context.Context, scope, key string) context.Context {
	return context.WithValue(ctx, claimKey{}, Claim{Scope: scope, Key: key})
}

// ClaimFrom returns the claim ctx carries, if any.
func ClaimFrom(ctx context.Context) (Claim, bool) {
	c, ok := ctx.Value(claimKey{}).(Claim)
	return c, ok
}

// Begin claims key for a request with the given fingerprint. It returns the
// stored response to replay, or nil when the caller should run the request
// and then call Complete or Release.
func (s *Service) Begin(ctx context.Context, scope, key, fingerprint string) (*Response, error) {
	if key == "" || len(key) > MaxKeyLength {
		return nil, apperr.Field("header.Idempotency-Key", "must be 1 to 255 characters")
	}
	now := s.now().UTC()
	rec := &Record{Scope: scope, Key: key, Fingerprint: fingerprint, LockedUntil: now.Add(s.Lease), CreatedAt: now}
	err := s.store.InsertIdempotencyKey(ctx, rec)
	if err == nil {
		return nil, nil
	}
	if !apperr.Is(err, apperr.Conflict) {
		return nil, err
	}
	old, err := s.store.FindIdempotencyKey(ctx, scope, key)
	if apperr.Is(err, apperr.NotFound) {
		// Released between our insert and read: the first attempt failed.
		return s.Begin(ctx, scope, key, fingerprint)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case old.Fingerprint != fingerprint:
		return nil, ErrMismatch
	case old.Done:
		return old.Response, nil
	case now.Before(old.LockedUntil):
		return nil, ErrInFlight
	case old.Committed:
		// The first attempt's change committed but its node died before
		// storing the answer: running it again would do it twice.
		return nil, ErrResponseLost
	}
	// The first attempt's node stopped before its change committed: take
	// the key over and run the request again.
	ok, err := s.store.RelockIdempotencyKey(ctx, scope, key, old.LockedUntil, now.Add(s.Lease))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrInFlight
	}
	return nil, nil
}

// Keep renews a running request's claim every third of the lease until
// the returned stop is called, so a short lease lapses soon after its node
// dies (and a retry may take the key over) yet never under a request that
// is still running.
func (s *Service) Keep(ctx context.Context, scope, key string) (stop func()) {
	ctx = context.WithoutCancel(ctx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(s.Lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			rec, err := s.store.FindIdempotencyKey(ctx, scope, key)
			if err != nil || rec.Done {
				continue
			}
			// Compare-and-set on the lock we read: a renewal never takes
			// a key back from a retry that took it over.
			_, _ = s.store.RelockIdempotencyKey(ctx, scope, key, rec.LockedUntil, s.now().UTC().Add(s.Lease))
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// Complete stores resp as the answer for key.
func (s *Service) Complete(ctx context.Context, scope, key string, resp *Response) error {
	return s.store.CompleteIdempotencyKey(ctx, scope, key, resp)
}

// Release forgets a claimed key whose request failed, so it can be retried.
func (s *Service) Release(ctx context.Context, scope, key string) error {
	return s.store.DeleteIdempotencyKey(ctx, scope, key)
}

// Reap deletes keys older than the TTL.
func (s *Service) Reap(ctx context.Context) (int64, error) {
	n, err := s.store.DeleteIdempotencyKeysBefore(ctx, s.now().UTC().Add(-s.TTL))
	if err != nil {
		return 0, errors.Join(errors.New("reap idempotency keys"), err)
	}
	return n, nil
}
