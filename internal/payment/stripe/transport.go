package stripe

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"

	"github.com/fynlo/fynlo/internal/netcall"
)

// attempts records, for one call to Stripe, whether any of the HTTP
// attempts the SDK made (it retries some failures with the same
// idempotency key) may have been acted on by Stripe. Only when none may
// have is it certain that nothing was charged.
type attempts struct {
	mu      sync.Mutex
	n       int
	actedOn bool // some attempt may have reached Stripe and been processed
}

type attemptsKey struct{}

// track returns ctx carrying a fresh record of attempts.
func track(ctx context.Context) (context.Context, *attempts) {
	a := &attempts{}
	return context.WithValue(ctx, attemptsKey{}, a), a
}

// noneActedOn reports whether at least one attempt was made and none of
// them may have been processed by Stripe.
func (a *attempts) noneActedOn() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n > 0 && !a.actedOn
}

func (a *attempts) record(actedOn bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n++
	a.actedOn = a.actedOn || actedOn
}

// trackingTransport watches each attempt: whether the request was written
// to the connection at all (httptrace), how it failed, and what Stripe
// answered.
type trackingTransport struct {
	base http.RoundTripper // nil: http.DefaultTransport
}

func (t *trackingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	a, _ := req.Context().Value(attemptsKey{}).(*attempts)
	if a == nil {
		return base.RoundTrip(req)
	}
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteHeaders:         func() { wrote.Store(true) },
		WroteRequest:         func(httptrace.WroteRequestInfo) { wrote.Store(true) },
		GotFirstResponseByte: func() { wrote.Store(true) },
	}
	resp, err := base.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	switch {
	case err != nil:
		a.record(wrote.Load() || !netcall.BeforeSending(err))
	default:
		// 401, 403 and 429 are refusals before anything was done; any other
		// answer may follow processing (a 500 is indeterminate, says Stripe).
		a.record(!turnedAway(resp.StatusCode))
	}
	return resp, err
}
