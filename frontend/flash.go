package frontend

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

const flashCookie = "portal_flash"

// Flash keeps the translation key of a notice for the next page the browser
// loads, after a post/redirect/get. Notices come only from here, set by a
// handler, never from query text: a link cannot make the portal say
// anything it does not already say. key must be a translation key.
func (f *Frontend) Flash(c *fiber.Ctx, key string) {
	c.Cookie(&fiber.Cookie{
		Name: flashCookie, Value: key, Path: "/", MaxAge: 60,
		Secure: f.opts.Secure, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// TakeFlash returns the notice's translation key set by Flash and clears
// it; "" when there is none. A cookie planted with anything but a known
// translation key gives "".
func (f *Frontend) TakeFlash(c *fiber.Ctx) string {
	key := c.Cookies(flashCookie)
	if key == "" {
		return ""
	}
	c.Cookie(&fiber.Cookie{
		Name: flashCookie, Value: "", Path: "/", Expires: time.Unix(1, 0), // in the past: delete
		Secure: f.opts.Secure, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
	})
	if !f.Has(key) {
		return ""
	}
	return strings.Clone(key)
}
