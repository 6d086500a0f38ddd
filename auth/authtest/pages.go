package authtest

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
)

// App returns the real frontend, wired to a's sessions as cmd/portal wires
// it, and an app behind the portal's error handler, language, session and
// CSRF middleware, for a page's handler test to register its routes on.
func App(t testing.TB, a *auth.Auth) (*fiber.App, *frontend.Frontend) {
	t.Helper()
	fe, err := frontend.New(frontend.Options{
		Location: time.UTC, Logger: slog.New(slog.DiscardHandler), CSRFToken: a.CSRFToken,
		Viewer: func(c *fiber.Ctx) *frontend.Viewer {
			if u := auth.CurrentUser(c); u != nil {
				return &frontend.Viewer{Name: u.Name, Role: u.Role}
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Bodies as the portal reads them: streamed, multipart forms not
	// parsed before the handler (files.ReadMultipart reads them).
	app := fiber.New(fiber.Config{
		ErrorHandler:      fe.ErrorHandler(slog.New(slog.DiscardHandler)),
		StreamRequestBody: true, DisablePreParseMultipartForm: true,
	})
	app.Use(fe.Languages(), a.Session(), a.CSRF())
	return app, fe
}

// Do sends a request to app as u (nil: anonymous), with form posted when
// it is not nil, and returns the status and the body.
func Do(t testing.TB, app *fiber.App, method, path string, u *User, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if u != nil {
		req.Header.Set("Cookie", u.Cookie)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
