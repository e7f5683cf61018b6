package auth

import (
	"sync"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
)

// tokenCache remembers access tokens already verified, so the Ed25519
// check (about a quarter of the CPU of a simple authenticated request)
// runs once per token rather than once per request. Only tokens that
// verified are kept, keyed by their full text, and each hit checks expiry
// again; the cache is bounded, dropping an arbitrary entry when full.
type tokenCache struct {
	mu  sync.Mutex
	m   map[string]Principal
	max int
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{m: make(map[string]Principal), max: max}
}

func (c *tokenCache) get(token string, now time.Time) (Principal, bool, error) {
	c.mu.Lock()
	p, ok := c.m[token]
	if ok && !now.Before(p.ExpiresAt.Add(tokenLeeway)) {
		delete(c.m, token)
		c.mu.Unlock()
		return Principal{}, true, apperr.New(apperr.Unauthenticated, "token_expired", "the access token has expired; refresh it")
	}
	c.mu.Unlock()
	return p, ok, nil
}

func (c *tokenCache) put(token string, p Principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k := range c.m { // map order is random: a cheap random eviction
			delete(c.m, k)
			break
		}
	}
	c.m[token] = p
}
