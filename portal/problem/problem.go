// Package problem gives errors a kind that the web edge turns into a status
// and a translated page, once, for every feature. Services return these
// errors; handlers return them unchanged; the app's error handler (in
// cmd/portal) maps the kind to a status and renders an HDS error page or,
// for JSON callers, an RFC 9457 problem document. Nothing of the wrapped
// error's text reaches the person: they see the translation of Key.
package problem

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Kind says what went wrong in terms a caller can act on.
type Kind uint8

// The kinds. Internal is the zero value: an error without a kind is a fault
// of the server.
const (
	Internal    Kind = iota // a fault of ours: 500
	NotFound                // no such thing, or not yours to see: 404
	Forbidden               // you may not do this: 403
	Conflict                // the state changed under you (slot taken, already cancelled): 409
	Invalid                 // the input is wrong; Fields say where: 422
	Unavailable             // a dependency is away, try again: 503
	TooLarge                // the upload or request is over its limit: 413
)

var kindNames = map[Kind]string{
	Internal: "internal", NotFound: "not_found", Forbidden: "forbidden", Conflict: "conflict",
	Invalid: "invalid", Unavailable: "unavailable", TooLarge: "too_large",
}

// String names the kind as it appears in problem documents and logs.
func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error is an error with a kind, the translation key of what the person is
// told, and for Invalid the translation key of each field's message.
type Error struct {
	Kind Kind
	// Key is the translation key of the message shown (for example
	// "booking.error.slot_taken"); empty means the kind's generic text.
	Key string
	// Fields maps a form field's name to the translation key of its
	// message; set for Invalid.
	Fields map[string]string
	// Err is the underlying cause, logged but never shown.
	Err error
}

// Error describes the problem for logs.
func (e *Error) Error() string {
	s := e.Kind.String()
	if e.Key != "" {
		s += " " + e.Key
	}
	if len(e.Fields) > 0 {
		s += fmt.Sprintf(" %v", slices.Sorted(maps.Keys(e.Fields)))
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// E returns an error of kind k whose message is the translation of key.
func E(k Kind, key string) *Error { return &Error{Kind: k, Key: key} }

// Wrap returns an error of kind k with the message key, caused by err.
func Wrap(k Kind, key string, err error) *Error { return &Error{Kind: k, Key: key, Err: err} }

// Fields returns an Invalid error with a message key per field.
func Fields(fields map[string]string) *Error {
	return &Error{Kind: Invalid, Fields: fields}
}

// Field returns an Invalid error for one field.
func Field(field, key string) *Error { return Fields(map[string]string{field: key}) }

// KindOf returns the kind of the first *Error in err's chain, Internal if
// there is none.
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return Internal
}

// Is reports whether err has kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
