package frontend

import (
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// ErrorHandler turns every error into a status and a translated page, or
// an RFC 9457 problem document for JSON callers. It is the one place where
// an error becomes a status: a problem.Error by its kind, a *fiber.Error by
// its code (Fiber's own, and the auth middleware's), a dependency away
// (Options.Unavailable) 503, anything else 500. Only translation keys reach the person, never an error's text; server
// errors are logged in full with the request id.
func (f *Frontend) ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		status, key, fields := classify(err)
		if status == fiber.StatusInternalServerError && f.opts.Unavailable != nil && f.opts.Unavailable(err) {
			status = fiber.StatusServiceUnavailable
		}
		if m := c.Method(); m != fiber.MethodGet && m != fiber.MethodHead {
			// The body may not have been read (a streamed upload refused
			// before its handler ran); what is left of it must not be
			// taken for the next request on this connection.
			c.Context().SetConnectionClose()
		}
		rid, _ := c.Locals("requestid").(string) // set by the requestid middleware
		if status >= 500 {
			log.Error("request failed", "request_id", rid, "method", c.Method(), "route", c.Route().Path, "status", status, "err", err)
		}
		if wantsJSON(c) {
			return c.Status(status).JSON(f.problemDoc(Lang(c), status, key, fields, rid),
				"application/problem+json")
		}
		return f.ErrorPage(c, status, key, slices.Sorted(maps.Values(fields))...)
	}
}

// Problem returns the status and message key of a problem error, for a
// handler that shows the message inside its own page (a form shown again)
// instead of returning the error: the status is the one the error handler
// would give. key is "" for an error that is not a problem of the person's
// making (a server fault): return that one.
func Problem(err error) (status int, key string) {
	p, ok := problem.As(err)
	if !ok || p.Kind == problem.Internal {
		return fiber.StatusInternalServerError, ""
	}
	return kindStatus[p.Kind], p.Key
}

// kindStatus is the status of each problem kind.
var kindStatus = map[problem.Kind]int{
	problem.Internal:    fiber.StatusInternalServerError,
	problem.NotFound:    fiber.StatusNotFound,
	problem.Forbidden:   fiber.StatusForbidden,
	problem.Conflict:    fiber.StatusConflict,
	problem.Invalid:     fiber.StatusUnprocessableEntity,
	problem.Unavailable: fiber.StatusServiceUnavailable,
	problem.TooLarge:    fiber.StatusRequestEntityTooLarge,
}

// classify returns the status of err, the translation key of its message
// ("" for the status's generic text) and, for invalid input, the message
// key of each field.
func classify(err error) (status int, key string, fields map[string]string) {
	if p, ok := problem.As(err); ok {
		status, known := kindStatus[p.Kind]
		if !known || p.Kind == problem.Internal {
			return fiber.StatusInternalServerError, "", nil
		}
		return status, p.Key, p.Fields
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if strings.HasPrefix(fe.Message, "error.") { // the auth middleware's keys
			key = fe.Message
		}
		return fe.Code, key, nil
	}
	return fiber.StatusInternalServerError, "", nil
}

// ProblemJSON is an RFC 9457 problem document. Code (the message's
// translation key), Errors (per field) and RequestID are extension members.
type ProblemJSON struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail"`
	Code      string            `json:"code"`
	Errors    map[string]string `json:"errors,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

func (f *Frontend) problemDoc(lang string, status int, key string, fields map[string]string, rid string) ProblemJSON {
	generic := "error." + strconv.Itoa(status)
	if f.T(lang, generic+".title") == generic+".title" { // a status without texts of its own
		generic = "error.400"
		if status >= 500 {
			generic = "error.500"
		}
	}
	if key == "" {
		key = generic
	}
	detail := f.T(lang, key)
	if detail == key { // a prefix of a title and body pair, such as error.csrf
		if detail = f.T(lang, key+".body"); detail == key+".body" {
			detail = f.T(lang, generic+".body")
		}
	}
	doc := ProblemJSON{
		Type: "about:blank", Title: f.T(lang, generic+".title"), Status: status,
		Detail: detail, Code: key, RequestID: rid,
	}
	if len(fields) > 0 {
		doc.Errors = make(map[string]string, len(fields))
		for field, k := range fields {
			doc.Errors[field] = f.T(lang, k)
		}
	}
	return doc
}

func wantsJSON(c *fiber.Ctx) bool {
	return strings.HasPrefix(c.Path(), "/api/") ||
		strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON) ||
		strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON)
}
