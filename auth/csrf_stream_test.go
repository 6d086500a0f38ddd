package auth_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// TestStreamedUploadsDeferTheCSRFCheck: a multipart POST to a registered
// upload route passes the CSRF middleware without its body being read
// (the handler still gets all of it as a stream) and the handler checks
// the token with CSRFValid; another origin is still refused, and every
// other request is checked by the middleware as before.
func TestStreamedUploadsDeferTheCSRFCheck(t *testing.T) {
	db := dbtest.SQLite(t)
	a := authtest.New(t, db.Gorm)
	a.StreamedUploads("/exchange/:id/attachments", "/messages/*")
	user := authtest.Login(t, db.Gorm, auth.RoleResident, "Maija")

	// Bodies stay under fasthttp's 8 KB first read, so that a refusal
	// leaves nothing unread on the connection; the stream still yields them.
	app := fiber.New(fiber.Config{StreamRequestBody: true, DisablePreParseMultipartForm: true})
	app.Use(a.Session(), a.CSRF())
	handler := func(c *fiber.Ctx) error {
		if !a.StreamedUpload(c) {
			// Not a streamed upload: the middleware has read the form.
			return c.SendString("handler ran; form read by the middleware")
		}
		body, err := io.ReadAll(c.Request().BodyStream())
		if err != nil {
			return err
		}
		_, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
		if err != nil {
			return err
		}
		form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(1 << 20)
		if err != nil {
			return err
		}
		token := ""
		if v := form.Value["_csrf"]; len(v) > 0 {
			token = v[0]
		}
		valid := "valid"
		if !a.CSRFValid(c, token) {
			valid = "invalid"
		}
		return c.SendString("handler ran; " + valid + "; " + strconv.Itoa(len(body)))
	}
	app.Post("/exchange/:id/attachments", handler)
	app.Post("/exchange/:id", handler)
	app.Post("/messages/*", handler)

	pad := strings.Repeat("x", 6000)
	multi := func(token string) (string, string) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		if token != "" {
			if err := w.WriteField("_csrf", token); err != nil {
				t.Fatal(err)
			}
		}
		fw, err := w.CreateFormFile("file", "a.pdf")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(fw, pad); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return b.String(), w.FormDataContentType()
	}
	cases := []struct {
		name, path, token, origin string
		multipart                 bool
		header                    string // X-CSRF-Token
		status                    int
		want                      string // the start of the body when the handler ran
	}{
		{"streamed, token in the body", "/exchange/12/attachments", user.CSRF, "", true, "", 200, "handler ran; valid"},
		{"streamed, forged token: the handler refuses", "/exchange/12/attachments", "forged", "", true, "", 200, "handler ran; invalid"},
		{"streamed, no token: the handler refuses", "/exchange/12/attachments", "", "", true, "", 200, "handler ran; invalid"},
		{"streamed, wildcard pattern", "/messages/4/files", user.CSRF, "", true, "", 200, "handler ran; valid"},
		{"streamed, another origin", "/exchange/12/attachments", user.CSRF, "https://evil.example", true, "", 403, ""},
		{"streamed, forged header token", "/exchange/12/attachments", user.CSRF, "", true, "forged", 403, ""},
		{"not registered, token", "/exchange/12", user.CSRF, "", true, "", 200, "handler ran; form read by the middleware"},
		{"not registered, no token", "/exchange/12", "", "", true, "", 403, ""},
		{"not registered, forged token", "/exchange/12", "forged", "", true, "", 403, ""},
		{"registered path, longer", "/exchange/12/attachments/3", "", "", true, "", 403, ""},
		{"urlencoded to the upload path, no token", "/exchange/12/attachments", "", "", false, "", 403, ""},
		{"urlencoded to the upload path, token", "/exchange/12/attachments", user.CSRF, "", false, "", 200, "handler ran; form read by the middleware"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body, ct string
			if tc.multipart {
				body, ct = multi(tc.token)
			} else {
				body, ct = url.Values{"_csrf": {tc.token}}.Encode(), "application/x-www-form-urlencoded"
			}
			req := httptest.NewRequest(http.MethodPost, "http://portal.test"+tc.path, strings.NewReader(body))
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Cookie", user.Cookie)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.header != "" {
				req.Header.Set("X-CSRF-Token", tc.header)
			}
			resp, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || !strings.HasPrefix(string(got), tc.want) {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, got, tc.status, tc.want)
			}
			if strings.Contains(tc.want, "valid") && !strings.HasSuffix(string(got), "; "+strconv.Itoa(len(body))) {
				t.Errorf("the handler did not get the whole body (%d bytes): %q", len(body), got)
			}
		})
	}
}
