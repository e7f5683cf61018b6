package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/fynlo/fynlo/internal/auth"
	"github.com/fynlo/fynlo/internal/idempotency"
)

// idempotencyHeader is the IETF draft's request header.
const idempotencyHeader = "Idempotency-Key"

// noIdempotency lists POSTs whose answers must never be replayed: they hand
// out credentials, and a replay would give out a token already rotated.
var noIdempotency = map[string]bool{
	"/api/v1/auth/login":    true,
	"/api/v1/auth/refresh":  true,
	"/api/v1/auth/logout":   true,
	"/api/v1/auth/pin":      true,
	"/api/v1/auth/override": true,
	"/api/v1/devices/pair":  true,
}

// idempotent makes POSTs that carry an Idempotency-Key safe to retry. Keys
// are scoped to the caller (organization and user, or "anon" before sign-up),
// so two tenants' keys never meet.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(idempotencyHeader)
		if r.Method != http.MethodPost || key == "" || noIdempotency[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		scope := "anon"
		if p, ok := ctx.Value(keyPrincipal).(auth.Principal); ok {
			scope = p.OrgID + ":" + p.UserID
		} else if d, ok := ctx.Value(keyDevice).(*auth.Device); ok {
			scope = d.OrgID + ":" + d.ID // a kitchen screen
		} else if _, bad := ctx.Value(keyAuthErr).(error); bad {
			next.ServeHTTP(w, r) // the handler answers 401; nothing to remember
			return
		}

		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeProblem(w, r, &Problem{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
					Detail: "the request body is over the limit"})
				return
			}
			writeProblem(w, r, &Problem{Status: http.StatusBadRequest, Code: "malformed_request", Detail: "the request body could not be read"})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))

		resp, err := s.idem.Begin(ctx, scope, key, fingerprint(r, body))
		if err != nil {
			writeProblem(w, r, problemFor(ctx, s.logger, err))
			return
		}
		if resp != nil {
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(resp.Status)
			_, _ = w.Write(resp.Body)
			return
		}

		r = r.WithContext(idempotency.WithClaim(ctx, scope, key))
		stop := s.idem.Keep(ctx, scope, key)
		rec := &statusWriter{ResponseWriter: w, capture: &bytes.Buffer{}}
		finished := false
		defer func() {
			stop()
			// Only a success is remembered: a failure changed nothing, so
			// the client may retry it with the same key. A panic releases too.
			if finished && rec.status >= 200 && rec.status < 300 {
				header := map[string][]string{}
				for _, h := range []string{"Content-Type", "Location"} {
					if v := rec.Header().Values(h); len(v) > 0 {
						header[h] = v
					}
				}
				err = s.idem.Complete(ctx, scope, key, &idempotency.Response{Status: rec.status, Header: header, Body: rec.capture.Bytes()})
			} else {
				err = s.idem.Release(ctx, scope, key)
			}
			if err != nil {
				s.logger.ErrorContext(ctx, "idempotency: store outcome", "request_id", requestID(ctx), "err", err)
			}
		}()
		next.ServeHTTP(rec, r)
		finished = true
	})
}

// fingerprint identifies a request: method, path and body. Two requests
// with the same key must match on all three to be the same request.
func fingerprint(r *http.Request, body []byte) string {
	h := sha256.New()
	io.WriteString(h, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+"\n")
	io.WriteString(h, strings.ToLower(r.Header.Get("Content-Type"))+"\n")
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
