package truelayer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fynlo/fynlo/internal/apperr"
	"github.com/fynlo/fynlo/internal/netcall"
	"github.com/fynlo/fynlo/internal/payment"
)

// maxAnswer bounds what is read of an answer: TrueLayer's are small, and a
// broken proxy's need not fill memory.
const maxAnswer = 1 << 20

// call makes one API call: body (nil for none) as JSON, signed and under
// key when key is set, with a bearer token fetched as needed and fetched
// anew, once, if TrueLayer says it is no longer good. A 2xx answer is
// decoded into out (nil: not read); anything else becomes the error the
// package doc describes.
func (p *Provider) call(ctx context.Context, method, path string, body any, key string, out any) error {
	op := method + " " + path
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return fmt.Errorf("truelayer: %s: encode body: %w", op, err)
		}
	}
	for attempt := 0; ; attempt++ {
		tok, err := p.accessToken(ctx, attempt > 0)
		if err != nil {
			return err
		}
		status, answer, sent, err := p.send(ctx, method, path, raw, key, tok)
		if err != nil {
			return p.transportError(op, method, err, sent)
		}
		if status == http.StatusUnauthorized && attempt == 0 {
			// The token was revoked or expired early: nothing was done
			// with it, so the same request under a new one is safe.
			continue
		}
		return p.answer(op, method, status, answer, out)
	}
}

// send makes one HTTP attempt and reports whether any of the request was
// written to the connection (if not, TrueLayer cannot have acted on it).
func (p *Provider) send(ctx context.Context, method, path string, body []byte, key, token string) (status int, answer []byte, sent bool, err error) {
	u := p.apiBase + path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, false, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if method != http.MethodGet {
		sig, err := p.sign(method, req.URL.EscapedPath(), [][2]string{{"Idempotency-Key", key}}, body)
		if err != nil {
			return 0, nil, false, err
		}
		req.Header.Set("Tl-Signature", sig)
	}
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteHeaders:         func() { wrote.Store(true) },
		WroteRequest:         func(httptrace.WroteRequestInfo) { wrote.Store(true) },
		GotFirstResponseByte: func() { wrote.Store(true) },
	}
	resp, err := p.hc.Do(req.WithContext(httptrace.WithClientTrace(ctx, trace)))
	if err != nil {
		return 0, nil, wrote.Load(), err
	}
	defer resp.Body.Close()
	answer, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, true, err
	}
	return resp.StatusCode, answer, true, nil
}

// transportError classifies a failed attempt: never sent (or a read,
// which changes nothing) is ErrProviderDown; sent and then lost is an
// unknown outcome.
func (p *Provider) transportError(op, method string, err error, sent bool) error {
	msg := p.redact(err.Error())
	if !sent || netcall.BeforeSending(err) || method == http.MethodGet {
		return fmt.Errorf("%w: truelayer: %s: %s", payment.ErrProviderDown, op, msg)
	}
	return fmt.Errorf("truelayer: %s: outcome unknown: %s", op, msg)
}

// answer turns an HTTP answer into the result: a 2xx decoded into out, or
// the error its status means.
func (p *Provider) answer(op, method string, status int, body []byte, out any) error {
	if status >= 200 && status < 300 {
		if out == nil || len(bytes.TrimSpace(body)) == 0 {
			return nil
		}
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("truelayer: %s: undecodable %d answer: %w", op, status, err)
		}
		return nil
	}
	pe := &problemError{op: op}
	_ = json.Unmarshal(body, pe) // a body that is no problem document leaves the status only
	pe.Status = status
	pe.Detail, pe.Title = p.redact(pe.Detail), p.redact(pe.Title)
	switch {
	case turnedAway(status):
		return fmt.Errorf("%w: %w", payment.ErrProviderDown, pe)
	case status == http.StatusNotFound:
		return &apperr.Error{Kind: apperr.NotFound, Code: "not_found", Detail: "TrueLayer has no such payment", Err: pe}
	case status == http.StatusConflict:
		// The same key is still being processed, or the payment changed
		// under us: the outcome is not known yet.
		return pe
	case status >= 400 && status < 500:
		detail := "TrueLayer refused the request: " + firstOf(pe.Detail, pe.Title, http.StatusText(status))
		for _, f := range pe.fieldNames() {
			detail += " (" + f + ")"
		}
		return &apperr.Error{Kind: apperr.Invalid, Code: "provider_refused", Detail: detail, Err: pe}
	case method == http.MethodGet:
		return fmt.Errorf("%w: %w", payment.ErrProviderDown, pe)
	default:
		return pe // a 5xx after the request arrived: it may have been acted on
	}
}

// turnedAway reports whether an HTTP status means TrueLayer refused the
// request before acting on it: bad credentials or signature, too many
// requests, or the service unavailable.
func turnedAway(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden ||
		status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// problemError is an RFC 7807 problem TrueLayer answered, without anything
// secret: the trace ID is there for TrueLayer's support.
type problemError struct {
	op      string
	Type    string              `json:"type"`
	Title   string              `json:"title"`
	Status  int                 `json:"status"`
	Detail  string              `json:"detail"`
	TraceID string              `json:"trace_id"`
	Errors  map[string][]string `json:"errors"`
}

func (e *problemError) Error() string {
	var b strings.Builder
	b.WriteString("truelayer: " + e.op + ": " + strconv.Itoa(e.Status))
	for _, kv := range [][2]string{{"type", e.Type}, {"title", e.Title}, {"trace", e.TraceID}} {
		if kv[1] != "" {
			b.WriteString(" " + kv[0] + "=" + kv[1])
		}
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

func (e *problemError) fieldNames() []string {
	var names []string
	for k := range e.Errors {
		names = append(names, k)
	}
	slices.Sort(names) // stable for logs and tests
	return names
}

// code is the problem's short name: the anchor of its type URL
// (…/error-types#invalid-parameters), else its title.
func (e *problemError) code() string {
	if _, frag, ok := strings.Cut(e.Type, "#"); ok && frag != "" {
		return frag
	}
	return firstOf(strings.ToLower(strings.ReplaceAll(e.Title, " ", "_")), "refused")
}

// refusal reports whether the problem is TrueLayer declining the request
// on its merits (nothing was done, and a retry will not change that) rather
// than an idempotency clash, which says another request under the key was
// taken.
func (e *problemError) refusal() bool {
	if strings.Contains(strings.ToLower(e.Type+" "+e.Title), "idempotency") {
		return false
	}
	return e.Status == http.StatusBadRequest || e.Status == http.StatusNotFound || e.Status == http.StatusUnprocessableEntity
}

// tokenAnswer is the auth server's answer to a client credentials grant.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

// accessToken returns a bearer token for the payments scope: the cached
// one until shortly before it expires, or a new one when fresh is set (the
// API said the cached one is no longer good). Any failure is
// ErrProviderDown: no payment call was made.
func (p *Provider) accessToken(ctx context.Context, fresh bool) (string, error) {
	p.tokenMu.Lock()
	defer p.tokenMu.Unlock()
	now := p.now()
	if !fresh && p.token != "" && now.Before(p.tokenExpiry) {
		return p.token, nil
	}
	p.token = ""
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {p.clientID},
		"client_secret": {p.clientSecret}, "scope": {"payments"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.authBase+"/connect/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("%w: truelayer: token: %s", payment.ErrProviderDown, p.redact(err.Error()))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: truelayer: token: %s", payment.ErrProviderDown, p.redact(err.Error()))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return "", fmt.Errorf("%w: truelayer: token: %s", payment.ErrProviderDown, p.redact(err.Error()))
	}
	if resp.StatusCode != http.StatusOK {
		// The auth server's error names no secret, but redact anyway.
		return "", fmt.Errorf("%w: truelayer: token: %d: %s", payment.ErrProviderDown, resp.StatusCode,
			p.redact(string(body[:min(len(body), 300)])))
	}
	var ta tokenAnswer
	if err := json.Unmarshal(body, &ta); err != nil || ta.AccessToken == "" || ta.ExpiresIn <= 0 {
		return "", fmt.Errorf("%w: truelayer: token: an answer without an access token and its lifetime", payment.ErrProviderDown)
	}
	life := time.Duration(ta.ExpiresIn) * time.Second
	// Renew a minute early, so no request goes out with a token that
	// expires on the way; a short-lived token, at half its life.
	early := min(time.Minute, life/2)
	p.token, p.tokenExpiry = ta.AccessToken, now.Add(life-early)
	return p.token, nil
}

func (p *Provider) redact(s string) string { return p.redactor.Replace(s) }
