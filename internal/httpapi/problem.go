package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fynlo/fynlo/internal/apperr"
)

// Problem is an RFC 9457 problem details body. Every error the API returns
// has this shape, with a stable Code a client can branch on.
type Problem struct {
	Type      string              `json:"type" doc:"URI naming the problem type; urn:fynlo:problem:<code>"`
	Title     string              `json:"title" doc:"short summary of the status"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail,omitempty" doc:"what went wrong, for humans"`
	Instance  string              `json:"instance,omitempty" doc:"the request path"`
	Code      string              `json:"code" doc:"stable machine-readable reason, e.g. invalid_field, email_taken, version_conflict, token_expired"`
	RequestID string              `json:"request_id,omitempty" doc:"quote it when reporting a problem"`
	Errors    []apperr.FieldError `json:"errors,omitempty" doc:"the fields at fault"`
	Current   any                 `json:"current,omitempty" doc:"on version_conflict: the object as it is now"`

	header http.Header
}

// Error implements error.
func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// GetStatus implements huma.StatusError.
func (p *Problem) GetStatus() int { return p.Status }

// GetHeaders implements huma.HeadersError.
func (p *Problem) GetHeaders() http.Header { return p.header }

// ContentType implements huma.ContentTypeFilter.
func (p *Problem) ContentType(string) string { return "application/problem+json" }

// statusOf is the one table from error kinds to HTTP statuses.
var statusOf = map[apperr.Kind]int{
	apperr.Internal:        http.StatusInternalServerError,
	apperr.Invalid:         http.StatusUnprocessableEntity,
	apperr.NotFound:        http.StatusNotFound,
	apperr.Conflict:        http.StatusConflict,
	apperr.Unauthenticated: http.StatusUnauthorized,
	apperr.Forbidden:       http.StatusForbidden,
	apperr.RateLimited:     http.StatusTooManyRequests,
	apperr.TooLarge:        http.StatusRequestEntityTooLarge,
	apperr.Unprocessable:   http.StatusUnprocessableEntity,
	apperr.Unavailable:     http.StatusServiceUnavailable,
}

// problemFor renders err for the client. Internal errors are logged here,
// once, with the request ID, and their detail never leaves the server.
func problemFor(ctx context.Context, logger *slog.Logger, err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		ae = &apperr.Error{Kind: apperr.Internal, Code: "internal", Err: err}
	}
	status := statusOf[ae.Kind]
	p = &Problem{Status: status, Code: ae.Code, Detail: ae.Detail, Errors: ae.Fields, Current: ae.Current}
	if ae.Kind == apperr.Internal {
		logger.ErrorContext(ctx, "internal error", "request_id", requestID(ctx), "err", err)
		p.Code, p.Detail = "internal", "something went wrong on our side; it has been logged"
	}
	if ae.RetryAfterSeconds > 0 {
		p.header = http.Header{"Retry-After": {strconv.Itoa(ae.RetryAfterSeconds)}}
	}
	return finish(ctx, p)
}

// finish fills the fields every problem shares.
func finish(ctx context.Context, p *Problem) *Problem {
	if p.Code == "" {
		p.Code = strings.ReplaceAll(strings.ToLower(http.StatusText(p.Status)), " ", "_")
	}
	p.Type = "urn:fynlo:problem:" + p.Code
	p.Title = http.StatusText(p.Status)
	p.RequestID = requestID(ctx)
	p.Instance = info(ctx).path
	return p
}

var missingRE = regexp.MustCompile(`^expected required property (\S+) to be present$`)

// newHumaError renders huma's own errors (decoding and validation) as
// problems: validation failures are 422 with each field named.
func newHumaError(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
	ctx := context.Background()
	if hctx != nil {
		ctx = hctx.Context()
	}
	if status == http.StatusInternalServerError && msg == "cannot read request body" {
		// Not our failure but the client's body: past the cap when sent
		// chunked (no Content-Length for limitBody to refuse it by), or
		// cut short by the client.
		p := &Problem{Status: http.StatusBadRequest, Code: "unreadable_body", Detail: "the request body could not be read to its end"}
		for _, e := range errs {
			if m, ok := errors.AsType[*http.MaxBytesError](e); ok {
				p = &Problem{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
					Detail: fmt.Sprintf("the request body is over the limit of %d bytes", m.Limit)}
			}
		}
		return finish(ctx, p)
	}
	p := &Problem{Status: status, Detail: msg}
	switch {
	case status == http.StatusRequestEntityTooLarge:
		p.Code = "body_too_large"
	case status == http.StatusBadRequest:
		p.Code, p.Detail = "malformed_request", "the request body is not valid JSON"
	case status == http.StatusUnprocessableEntity:
		p.Code = "invalid_field"
	}
	for _, e := range errs {
		if e == nil {
			continue
		}
		var d *huma.ErrorDetail
		if errors.As(e, &d) {
			field, reason := d.Location, d.Message
			// huma reports a missing property at its parent; name the property.
			if m := missingRE.FindStringSubmatch(reason); m != nil {
				field, reason = field+"."+m[1], "is required"
			}
			if f := strings.TrimPrefix(field, "body."); f != "" {
				field = f
			}
			p.Errors = append(p.Errors, apperr.FieldError{Field: field, Reason: reason})
			continue
		}
		p.Errors = append(p.Errors, apperr.FieldError{Field: "body", Reason: e.Error()})
	}
	if len(p.Errors) == 1 && p.Status == http.StatusUnprocessableEntity {
		p.Detail = p.Errors[0].Field + ": " + p.Errors[0].Reason
	}
	if status >= 500 {
		p.Code = "internal"
	}
	return finish(ctx, p)
}

// writeProblem writes p outside huma (middleware, raw handlers).
func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	finish(r.Context(), p)
	for k, v := range p.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(p)
}

func fieldErr(field, reason string) []apperr.FieldError {
	return []apperr.FieldError{{Field: field, Reason: reason}}
}
