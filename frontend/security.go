package frontend

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// FontOrigin is the city's CDN that serves Helsinki Grotesk; the vendored
// @font-face (assets/vendor/hds-core/fonts.min.css) points there.
const FontOrigin = "https://makasiini.hel.fi"

// SecurityHeaders returns middleware that sets the browser security headers
// on every response: a Content-Security-Policy that allows no inline script
// or style and no framing, nosniff, a same-origin referrer, a Permissions-Policy
// that turns off the powerful features, and HSTS when served over https.
// formActionOrigins (such as the OpenID provider logout redirects to) are
// added to form-action; entries that are not bare http(s) origins are left
// out (New rejects them).
func SecurityHeaders(secure bool, formActionOrigins []string) fiber.Handler {
	formAction := []string{"'self'"}
	for _, o := range formActionOrigins {
		if src, err := originSource(o); err == nil {
			formAction = append(formAction, src)
		}
	}
	csp := strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self' " + FontOrigin,
		"font-src 'self' " + FontOrigin,
		"img-src 'self' data:",
		"connect-src 'self'",
		"frame-ancestors 'none'",
		"form-action " + strings.Join(formAction, " "),
		"base-uri 'none'",
		"object-src 'none'",
	}, "; ")
	return func(c *fiber.Ctx) error {
		h := &c.Response().Header
		h.Set(fiber.HeaderContentSecurityPolicy, csp)
		h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		h.Set(fiber.HeaderReferrerPolicy, "same-origin")
		h.Set(fiber.HeaderXFrameOptions, "DENY")
		h.Set(fiber.HeaderPermissionsPolicy, "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), display-capture=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set(fiber.HeaderCrossOriginResourcePolicy, "same-origin")
		if secure {
			h.Set(fiber.HeaderStrictTransportSecurity, "max-age=63072000; includeSubDomains")
		}
		return c.Next()
	}
}

// Security returns SecurityHeaders for the Options New was given.
func (f *Frontend) Security() fiber.Handler {
	return SecurityHeaders(f.opts.Secure, f.opts.FormActionOrigins)
}

// checkOrigins rejects form-action origins that are not bare http(s) origins.
func checkOrigins(origins []string) error {
	for _, o := range origins {
		if _, err := originSource(o); err != nil {
			return err
		}
	}
	return nil
}

// originSource turns an origin into a CSP source, refusing anything that is
// not a bare http(s) origin: a stray ';' or quote would rewrite the policy.
func originSource(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(o, " ;,'\"") {
		return "", fmt.Errorf("frontend: form-action origin %q is not an http(s) origin", o)
	}
	return u.Scheme + "://" + u.Host, nil
}
