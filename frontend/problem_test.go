package frontend_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// TestErrorKindsAtTheEdge: every kind of error a service returns becomes
// one status, a translated page for browsers and a problem document for
// JSON callers, in one place; no error text reaches either.
func TestErrorKindsAtTheEdge(t *testing.T) {
	const secret = "pq: relation users leaked"
	away := errors.New("dial unix /run/postgresql: connection refused " + secret)
	fe, err := frontend.New(frontend.Options{Logger: slog.New(slog.DiscardHandler), Location: time.UTC,
		Unavailable: func(err error) bool { return errors.Is(err, away) }})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		err    error
		status int
		page   string // Finnish text the HTML page shows
		code   string // the problem document's code
		fields map[string]string
	}{
		{"not found", problem.E(problem.NotFound, ""), 404, fe.T("fi", "error.404.body"), "error.404", nil},
		{"forbidden", problem.E(problem.Forbidden, ""), 403, fe.T("fi", "error.403.body"), "error.403", nil},
		{"conflict with a key", problem.Wrap(problem.Conflict, "error.csrf", errors.New(secret)), 409, fe.T("fi", "error.csrf.body"), "error.csrf", nil},
		{"invalid fields", fmt.Errorf("booking: %w", problem.Field("address", "error.field.control")), 422,
			fe.T("fi", "error.field.control"), "error.422", map[string]string{"address": fe.T("fi", "error.field.control")}},
		{"unavailable", problem.Wrap(problem.Unavailable, "", errors.New(secret)), 503, fe.T("fi", "error.503.body"), "error.503", nil},
		{"internal kind", problem.Wrap(problem.Internal, "error.csrf", errors.New(secret)), 500, fe.T("fi", "error.500.body"), "error.500", nil},
		{"plain error", errors.New(secret), 500, fe.T("fi", "error.500.body"), "error.500", nil},
		{"the database away", fmt.Errorf("booking: list: %w", away), 503, fe.T("fi", "error.503.body"), "error.503", nil},
		{"fiber error", fiber.ErrMethodNotAllowed, 405, fe.T("fi", "error.405.body"), "error.405", nil},
		{"fiber error with a key", fiber.NewError(401, "error.401"), 401, fe.T("fi", "error.401.body"), "error.401", nil},
	}
	app := fiber.New(fiber.Config{Views: fe.Views(), ErrorHandler: fe.ErrorHandler(slog.New(slog.DiscardHandler))})
	for i, tc := range cases {
		app.All(fmt.Sprintf("/e/%d", i), func(*fiber.Ctx) error { return tc.err })
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, asJSON := range []bool{false, true} {
				req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/e/%d", i), nil)
				if asJSON {
					req.Header.Set("Accept", "application/json")
				}
				resp, err := app.Test(req, -1)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.status {
					t.Fatalf("json=%v: status %d, want %d", asJSON, resp.StatusCode, tc.status)
				}
				if strings.Contains(string(body), secret) {
					t.Fatalf("json=%v: the error's text reached the response", asJSON)
				}
				if !asJSON {
					if !strings.Contains(string(body), html.EscapeString(tc.page)) {
						t.Errorf("page lacks %q", tc.page)
					}
					continue
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
					t.Errorf("content type %q", ct)
				}
				var doc frontend.ProblemJSON
				if err := json.Unmarshal(body, &doc); err != nil {
					t.Fatal(err)
				}
				if doc.Status != tc.status || doc.Code != tc.code || doc.Title == "" || doc.Detail == "" || doc.Type != "about:blank" {
					t.Errorf("problem document %+v", doc)
				}
				if len(tc.fields) != len(doc.Errors) {
					t.Errorf("errors %v, want %v", doc.Errors, tc.fields)
				}
				for f, msg := range tc.fields {
					if doc.Errors[f] != msg {
						t.Errorf("errors[%s] = %q, want %q", f, doc.Errors[f], msg)
					}
				}
			}
		})
	}
}

// TestErrorClosesAfterAPost: an error answer to a request with a body
// closes the connection, so that an unread rest of the body is never read
// as the next request.
func TestErrorClosesAfterAPost(t *testing.T) {
	fe, err := frontend.New(frontend.Options{Logger: slog.New(slog.DiscardHandler), Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{Views: fe.Views(), ErrorHandler: fe.ErrorHandler(slog.New(slog.DiscardHandler))})
	app.All("/fail", func(*fiber.Ctx) error { return errors.New("the database is away") })
	for method, closes := range map[string]bool{http.MethodGet: false, http.MethodPost: true} {
		resp, err := app.Test(httptest.NewRequest(method, "/fail", strings.NewReader("a=1")), -1)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Close != closes {
			t.Errorf("%s: the connection closes: %v, want %v", method, resp.Close, closes)
		}
	}
}
