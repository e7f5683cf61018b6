package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ratePolicy is a token bucket: Burst requests at once, refilled at Per.
type ratePolicy struct {
	name  string
	per   time.Duration // one token every per
	burst int
}

// Sign-in, pairing and PIN endpoints are where guessing happens; each has
// a bucket per client address and one per credential presented. The
// numbers allow a busy restaurant behind one address (twenty iPads, staff
// signing in all evening) and stop a script. The database-backed failure
// counts (login, PIN) still apply underneath; these limit raw request rate.
var ratePolicies = map[string]struct{ ip, credential ratePolicy }{
	"/api/v1/signup":                      {ip: ratePolicy{"signup-ip", 6 * time.Second, 10}},
	"/api/v1/auth/login":                  {ip: ratePolicy{"login-ip", time.Second, 20}},
	"/api/v1/auth/refresh":                {ip: ratePolicy{"refresh-ip", 200 * time.Millisecond, 50}},
	"/api/v1/auth/password-reset":         {ip: ratePolicy{"reset-ip", 10 * time.Second, 10}},
	"/api/v1/auth/password-reset/confirm": {ip: ratePolicy{"reset-confirm-ip", 2 * time.Second, 10}},
	"/api/v1/devices/pair":                {ip: ratePolicy{"pair-ip", 10 * time.Second, 10}},
	"/api/v1/auth/pin":                    {ip: ratePolicy{"pin-ip", 200 * time.Millisecond, 60}, credential: ratePolicy{"pin-device", time.Second, 10}},
	"/api/v1/auth/override":               {ip: ratePolicy{"override-ip", time.Second, 30}, credential: ratePolicy{"override-staff", 2 * time.Second, 5}},
}

// SharedRates keeps buckets every node shares (Redis), so a limit holds
// however many nodes a client's requests are spread over.
type SharedRates interface {
	Take(ctx context.Context, name string, per time.Duration, burst int, key string) (remaining int, wait time.Duration, err error)
}

// take spends a token from the shared buckets when there are some, else
// (or while they cannot be reached) from this node's own.
func (s *Server) take(ctx context.Context, p ratePolicy, key string, now time.Time) (int, time.Duration) {
	if s.rates != nil {
		remaining, wait, err := s.rates.Take(ctx, p.name, p.per, p.burst, key)
		if err == nil {
			return remaining, wait
		}
		s.logger.Warn("shared rate limits unavailable; limiting on this node", "error", err)
	}
	return s.limits.take(p, key, now)
}

// limiter holds the buckets of one node: the limits of a single node, and
// of each node on its own while the shared ones cannot be reached.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	inserts int
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter() *limiter { return &limiter{buckets: make(map[string]*bucket)} }

// take spends a token from key's bucket under p. It returns how many are
// left and, when none was left, how long until one is.
func (l *limiter) take(p ratePolicy, key string, now time.Time) (remaining int, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[p.name+"|"+key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Every(p.per), p.burst)}
		l.buckets[p.name+"|"+key] = b
		if l.inserts++; l.inserts%1024 == 0 {
			l.sweep(now)
		}
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return 0, d
	}
	return int(math.Floor(b.lim.TokensAt(now))), 0
}

// sweep forgets buckets idle long enough to have refilled.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.seen) > 30*time.Minute {
			delete(l.buckets, k)
		}
	}
}

// rateLimit applies the policies of ratePolicies.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pol, ok := ratePolicies[r.URL.Path]
		if !ok || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		now := time.Now()
		checks := []struct {
			p   ratePolicy
			key string
		}{{pol.ip, clientIP(r.Context())}}
		if h := r.Header.Get("Authorization"); h != "" && pol.credential.name != "" {
			sum := sha256.Sum256([]byte(h)) // never keep the credential itself
			checks = append(checks, struct {
				p   ratePolicy
				key string
			}{pol.credential, hex.EncodeToString(sum[:12])})
		}
		for _, c := range checks {
			remaining, wait := s.take(r.Context(), c.p, c.key, now)
			full := time.Duration(c.p.burst-remaining) * c.p.per
			w.Header().Add("RateLimit-Policy", fmt.Sprintf("%q;q=%d;w=%d", c.p.name, c.p.burst, int(math.Ceil((time.Duration(c.p.burst)*c.p.per).Seconds()))))
			w.Header().Add("RateLimit", fmt.Sprintf("%q;r=%d;t=%d", c.p.name, remaining, int(math.Ceil(full.Seconds()))))
			if wait > 0 {
				secs := int(math.Ceil(wait.Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				writeProblem(w, r, &Problem{Status: http.StatusTooManyRequests, Code: "rate_limited",
					Detail: "too many requests; wait " + strconv.Itoa(secs) + " s and try again"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
