// Package apperr defines the error kinds every layer of Fynlo agrees on.
//
// Domain services return *Error values (or wrap them); the store translates
// driver errors into them; the HTTP layer maps each Kind to one status code
// and renders the rest as RFC 9457 problem details. A stable Code lets
// clients branch on the reason without parsing prose.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

// The kinds, in the order the HTTP table maps them.
const (
	Internal        Kind = iota // a bug or an outage: logged, never explained to the client
	Invalid                     // the input is wrong; FieldErrors say where
	NotFound                    // no such object, or it belongs to another tenant
	Conflict                    // the object exists, or changed since the caller read it
	Unauthenticated             // no credentials, or bad ones
	Forbidden                   // authenticated but not allowed
	RateLimited                 // too many attempts; RetryAfter says when to come back
	TooLarge                    // the request body is over the limit
	Unprocessable               // well-formed but cannot be applied (e.g. idempotency key reused with another body)
	Unavailable                 // a service we depend on (a payment provider) is down; retry later or another way
)

var kindNames = [...]string{"internal", "invalid", "not_found", "conflict", "unauthenticated", "forbidden", "rate_limited", "too_large", "unprocessable", "unavailable"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// FieldError names one input field at fault and why.
type FieldError struct {
	Field  string `json:"field"`  // JSON path, e.g. "body.email" or "query.after"
	Reason string `json:"reason"` // human reason, e.g. "must be a valid email address"
}

// Error is the error every layer returns to describe a failure the client
// should hear about.
type Error struct {
	Kind   Kind
	Code   string // stable machine code, e.g. "email_taken", "version_conflict"
	Detail string // human sentence, safe to show to the client
	Fields []FieldError
	// Current carries the object as it is now, for a stale-version Conflict,
	// so the client can merge and retry without another round trip.
	Current any
	// RetryAfterSeconds is set on RateLimited errors.
	RetryAfterSeconds int
	// Err is the underlying cause, for logs; never shown to clients.
	Err error
}

func (e *Error) Error() string {
	msg := e.Kind.String() + ": " + e.Code
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of the given kind with a code and a human detail.
func New(kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail}
}

// Field returns an Invalid error for one field.
func Field(field, reason string) *Error {
	return &Error{Kind: Invalid, Code: "invalid_field", Detail: field + " " + reason,
		Fields: []FieldError{{Field: field, Reason: reason}}}
}

// Fields collects field errors; its Err method returns nil when none were added,
// so validation reads as a list of checks followed by one return.
type Fields []FieldError

// Add records a field error.
func (f *Fields) Add(field, reason string) { *f = append(*f, FieldError{Field: field, Reason: reason}) }

// Err returns an Invalid *Error holding the collected fields, or nil.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	detail := "the request has invalid fields"
	if len(f) == 1 {
		detail = f[0].Field + " " + f[0].Reason
	}
	return &Error{Kind: Invalid, Code: "invalid_field", Detail: detail, Fields: f}
}

// NotFoundf returns a NotFound error for an object type.
func NotFoundf(what string) *Error {
	return &Error{Kind: NotFound, Code: "not_found", Detail: what + " not found"}
}

// StaleVersion returns the Conflict a client gets when it updates with an
// old version; current is the object as stored now.
func StaleVersion(current any) *Error {
	return &Error{Kind: Conflict, Code: "version_conflict",
		Detail: "the object was changed by someone else; re-read it and try again", Current: current}
}

// Wrap returns an Internal error wrapping err with context, unless err is
// already an *Error, which is returned unchanged so its kind survives.
func Wrap(err error, context string) error {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		return err
	}
	return &Error{Kind: Internal, Code: "internal", Err: fmt.Errorf("%s: %w", context, err)}
}

// KindOf reports the kind of err: the kind of the first *Error in its chain,
// or Internal.
func KindOf(err error) Kind {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Kind
	}
	return Internal
}

// Is reports whether err has the given kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }
