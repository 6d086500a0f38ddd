package auth

import (
	"crypto/subtle"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// streamedUploads are the route patterns whose multipart POSTs are read as
// a stream by their handler, with the CSRF token as the body's first part
// (files.ReadMultipart). The CSRF middleware cannot look for the token in
// such a body without reading all of it into memory, so it leaves the
// check to the handler (CSRFValid). The zero value holds no patterns.
type streamedUploads struct {
	mu       sync.RWMutex
	patterns [][]string // each pattern split at "/"
}

// StreamedUploads registers route patterns ("/exchange/:id/attachments";
// ":name" matches one path segment, a final "*" the rest of the path)
// whose multipart/form-data POSTs carry their CSRF token inside the
// streamed body. For those requests the CSRF middleware still refuses
// another origin, but lets the request through without the token: the
// handler must read the body with files.ReadMultipart and pass CSRFValid
// as its check, which refuses the request before any file is read. Every
// other request (another method or content type, a token in the
// X-CSRF-Token header) is checked by the middleware as before. Call it
// while wiring, before serving.
func (a *Auth) StreamedUploads(patterns ...string) {
	a.uploads.mu.Lock()
	defer a.uploads.mu.Unlock()
	for _, p := range patterns {
		a.uploads.patterns = append(a.uploads.patterns, strings.Split(strings.Trim(p, "/"), "/"))
	}
}

// StreamedUpload reports whether c is a multipart POST to a pattern
// registered with StreamedUploads: a request whose body its handler
// streams, which the app's body guard lets past its small limit.
func (a *Auth) StreamedUpload(c *fiber.Ctx) bool {
	if c.Method() != fiber.MethodPost {
		return false
	}
	ct := strings.ToLower(strings.TrimSpace(c.Get(fiber.HeaderContentType)))
	if !strings.HasPrefix(ct, fiber.MIMEMultipartForm+";") {
		return false
	}
	path := strings.Split(strings.Trim(c.Path(), "/"), "/")
	a.uploads.mu.RLock()
	defer a.uploads.mu.RUnlock()
	for _, p := range a.uploads.patterns {
		if matchRoute(p, path) {
			return true
		}
	}
	return false
}

// matchRoute matches a path against a pattern, both split at "/".
func matchRoute(pattern, path []string) bool {
	for i, seg := range pattern {
		if seg == "*" && i == len(pattern)-1 {
			return true
		}
		if i >= len(path) {
			return false
		}
		if strings.HasPrefix(seg, ":") {
			if path[i] == "" {
				return false
			}
			continue
		}
		if seg != path[i] {
			return false
		}
	}
	return len(pattern) == len(path)
}

// CSRFValid reports whether token is the request's CSRF token: the
// session's, or for an anonymous visitor the one signed over its cookie.
// A handler of a streamed upload calls it (through files.ReadMultipart)
// with the token from the body's first part.
func (a *Auth) CSRFValid(c *fiber.Ctx, token string) bool {
	want := a.csrfWant(c)
	return token != "" && want != "" && subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
}

// csrfWant returns the token the request must carry, "" when it can carry
// none (an anonymous visitor without the cookie).
func (a *Auth) csrfWant(c *fiber.Ctx) string {
	if s := CurrentSession(c); s != nil {
		return s.CSRFToken
	}
	if seed := c.Cookies(a.csrfCookie()); seed != "" {
		return a.signSeed(seed)
	}
	return ""
}
