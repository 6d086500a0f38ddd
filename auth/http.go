package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

type localsKey int

const (
	userKey localsKey = iota
	sessionKey
)

// Translation keys of the errors auth returns as *fiber.Error messages;
// the portal's error handler translates them.
const (
	MsgLoginFailed    = "error.login_failed"
	MsgLoginCancelled = "error.login_cancelled"
	// MsgLoginUnavailable: the identification service did not answer or
	// refused the portal; try again later.
	MsgLoginUnavailable = "error.login_unavailable"
	// MsgLoginWeak: the resident's login did not reach the required
	// assurance level (strong identification).
	MsgLoginWeak     = "error.login_weak"
	MsgCSRF          = "error.csrf"
	MsgForbidden     = "error.403"
	MsgLoginRequired = "error.401"
)

func (a *Auth) sessionCookie() string {
	if a.cfg.Secure {
		return "__Host-asn_session"
	}
	return "asn_session"
}

func (a *Auth) csrfCookie() string {
	if a.cfg.Secure {
		return "__Host-asn_csrf"
	}
	return "asn_csrf"
}

const stateCookie = "asn_login_state"

// Register mounts the login routes. limit guards them against floods.
func (a *Auth) Register(r fiber.Router, limit fiber.Handler) {
	// Login: /login for residents, /login/staff for staff; both end at the callback.
	r.Get("/login", limit, a.handleLogin(""))
	r.Get("/login/staff", limit, a.handleLogin("staff"))
	r.Get("/auth/callback", limit, a.handleCallback)
	// Logout ends the session here and at the provider.
	r.Post("/logout", a.handleLogout)
	// The provider ends sessions (logged out there, or elsewhere).
	r.Post(BackchannelPath, limit, a.handleBackchannelLogout)
}

func (a *Auth) handleLogin(name string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if name == "" || !a.hasProvider(name) {
			name = a.cfg.Providers[0].Name
		}
		to, state, err := a.beginLogin(c.UserContext(), name, c.Query("return"))
		if errors.Is(err, ErrUnavailable) {
			a.log.Error("login: provider not answering", "request_id", ActorFrom(c.UserContext()).RequestID, "provider", name, "err", err)
			return fiber.NewError(fiber.StatusServiceUnavailable, MsgLoginUnavailable)
		}
		if err != nil {
			return err
		}
		c.Cookie(&fiber.Cookie{
			Name: stateCookie, Value: state, Path: "/auth/callback",
			MaxAge: 600, HTTPOnly: true, Secure: a.cfg.Secure, SameSite: fiber.CookieSameSiteLaxMode,
		})
		return c.Redirect(to, fiber.StatusSeeOther)
	}
}

func (a *Auth) hasProvider(name string) bool {
	_, ok := a.providerConfig(name)
	return ok
}

func (a *Auth) handleCallback(c *fiber.Ctx) error {
	ctx := c.UserContext()
	state := c.Query("state")
	// The state must come back to the browser that started the login.
	bound := strings.Clone(c.Cookies(stateCookie))
	// Cleared at the path it was set with, or the browser keeps it.
	c.Cookie(&fiber.Cookie{
		Name: stateCookie, Path: "/auth/callback", Expires: time.Unix(1, 0),
		HTTPOnly: true, Secure: a.cfg.Secure, SameSite: fiber.CookieSameSiteLaxMode,
	})
	if state == "" || bound == "" || subtle.ConstantTimeCompare([]byte(state), []byte(bound)) != 1 {
		return fiber.NewError(fiber.StatusBadRequest, MsgLoginFailed)
	}
	att, err := a.takeAttempt(ctx, state)
	if errors.Is(err, ErrBadState) {
		return fiber.NewError(fiber.StatusBadRequest, MsgLoginFailed)
	}
	if err != nil {
		return err
	}
	rid := ActorFrom(ctx).RequestID
	switch e := c.Query("error"); e {
	case "":
	case "access_denied":
		// The person cancelled at the provider (or declined consent).
		return fiber.NewError(fiber.StatusBadRequest, MsgLoginCancelled)
	case "temporarily_unavailable", "server_error":
		a.log.Error("login: provider failed the authorization", "request_id", rid, "provider", att.Provider, "error", e)
		return fiber.NewError(fiber.StatusServiceUnavailable, MsgLoginUnavailable)
	default:
		// invalid_scope, unauthorized_client and the like: the provider
		// does not accept the request as the portal is configured.
		a.log.Error("login: provider refused the authorization request; check the client and scope settings",
			"request_id", rid, "provider", att.Provider, "error", e, "settings", a.settings(att.Provider))
		return fiber.NewError(fiber.StatusServiceUnavailable, MsgLoginUnavailable)
	}
	code := c.Query("code")
	if code == "" {
		return fiber.NewError(fiber.StatusBadRequest, MsgLoginFailed)
	}
	cookie, sess, err := a.finishLogin(ctx, att, code)
	switch {
	case errors.Is(err, ErrBadToken) || errors.Is(err, ErrBadRole):
		a.log.Warn("login rejected", "request_id", rid, "provider", att.Provider, "err", err)
		return fiber.NewError(fiber.StatusBadRequest, MsgLoginFailed)
	case errors.Is(err, ErrWeakLogin):
		a.log.Warn("login below the required assurance level", "request_id", rid, "provider", att.Provider, "err", err)
		return fiber.NewError(fiber.StatusForbidden, MsgLoginWeak)
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrMisconfigured):
		// Never the secret: the error names the settings, not their values.
		a.log.Error("login: provider call failed", "request_id", rid, "provider", att.Provider, "err", err)
		return fiber.NewError(fiber.StatusServiceUnavailable, MsgLoginUnavailable)
	case err != nil:
		return err
	}
	// A browser that was already logged in gets a new session; the old
	// one ends so that it cannot be used alongside.
	if old := CurrentSession(c); old != nil {
		if err := a.sessions.Delete(ctx, old.ID); err != nil {
			return err
		}
	}
	a.setSessionCookie(c, cookie, sess.ExpiresAt)
	return c.Redirect(att.ReturnTo, fiber.StatusSeeOther)
}

func (a *Auth) setSessionCookie(c *fiber.Ctx, value string, expires time.Time) {
	c.Cookie(&fiber.Cookie{
		Name: a.sessionCookie(), Value: value, Path: "/", Expires: expires,
		HTTPOnly: true, Secure: a.cfg.Secure, SameSite: fiber.CookieSameSiteLaxMode,
	})
}

func (a *Auth) handleLogout(c *fiber.Ctx) error {
	sess := CurrentSession(c)
	c.Cookie(&fiber.Cookie{
		Name: a.sessionCookie(), Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(1, 0),
		HTTPOnly: true, Secure: a.cfg.Secure, SameSite: fiber.CookieSameSiteLaxMode,
	})
	if sess == nil {
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	to, err := a.logout(c.UserContext(), sess)
	if err != nil {
		return err
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

// Session loads the session named by the cookie, if it is alive, and its
// user into the request, and puts the Actor into the request's context. It
// runs on every request.
func (a *Auth) Session() fiber.Handler {
	return func(c *fiber.Ctx) error {
		u, err := a.loadSession(c)
		if err != nil {
			return err
		}
		rid, _ := c.Locals("requestid").(string) // set by the requestid middleware
		act := Actor{RequestID: strings.Clone(rid)}
		if u != nil {
			act.UserID, act.Role = u.ID, u.Role
		}
		c.SetUserContext(WithActor(c.UserContext(), act))
		return c.Next()
	}
}

// loadSession puts the session named by the cookie and its user into the
// request's locals when the session is alive, and returns the user (nil
// when there is none).
func (a *Auth) loadSession(c *fiber.Ctx) (*User, error) {
	raw := c.Cookies(a.sessionCookie())
	if raw == "" {
		return nil, nil
	}
	ctx := c.UserContext()
	sess, err := a.sessions.Get(ctx, hashToken(raw))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !a.alive(sess) {
		return nil, a.sessions.Delete(ctx, sess.ID)
	}
	u, err := a.users.ByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// Writing on every request would be wasteful: a minute's precision
	// is plenty for an idle timeout counted in tens of minutes.
	if now := a.now().UTC(); now.Sub(sess.LastSeenAt) > time.Minute {
		if err := a.sessions.Touch(ctx, sess.ID, now); err != nil {
			return nil, err
		}
		sess.LastSeenAt = now
	}
	c.Locals(sessionKey, sess)
	c.Locals(userKey, u)
	return u, nil
}

// CurrentUser returns the logged-in user, or nil.
func CurrentUser(c *fiber.Ctx) *User {
	u, _ := c.Locals(userKey).(*User) // nil when anonymous
	return u
}

// Forget drops the request's user and session from its locals. A handler
// that outlives its request (a WebSocket) calls it once it has taken what
// it needs, so that they are not kept for the connection's whole life.
func Forget(c *fiber.Ctx) {
	c.Context().RemoveUserValue(userKey)
	c.Context().RemoveUserValue(sessionKey)
}

// CurrentSession returns the request's session, or nil.
func CurrentSession(c *fiber.Ctx) *Session {
	s, _ := c.Locals(sessionKey).(*Session) // nil when anonymous
	return s
}

// RequireLogin sends anonymous page views to the login, and refuses other
// anonymous requests with 401.
func RequireLogin() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if CurrentUser(c) != nil {
			return c.Next()
		}
		if c.Method() == fiber.MethodGet {
			return c.Redirect("/login?return="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
		}
		return fiber.NewError(fiber.StatusUnauthorized, MsgLoginRequired)
	}
}

// RequireRole lets through only users with one of roles; others get 403,
// anonymous visitors go to the login first.
func RequireRole(roles ...Role) fiber.Handler {
	login := RequireLogin()
	return func(c *fiber.Ctx) error {
		u := CurrentUser(c)
		if u == nil {
			return login(c)
		}
		if !roleIn(u.Role, roles) {
			return fiber.NewError(fiber.StatusForbidden, MsgForbidden)
		}
		return c.Next()
	}
}

// CSRFToken returns the token forms must echo in the _csrf field (or the
// X-CSRF-Token header). Logged-in users get their session's token;
// anonymous visitors get one signed over a random cookie.
func (a *Auth) CSRFToken(c *fiber.Ctx) string {
	if s := CurrentSession(c); s != nil {
		return s.CSRFToken
	}
	seed := c.Cookies(a.csrfCookie())
	if seed == "" {
		if v, ok := c.Locals(csrfSeedKey{}).(string); ok {
			seed = v
		} else {
			var err error
			if seed, err = randomToken(32); err != nil {
				return ""
			}
			c.Locals(csrfSeedKey{}, seed)
			c.Cookie(&fiber.Cookie{
				Name: a.csrfCookie(), Value: seed, Path: "/",
				HTTPOnly: true, Secure: a.cfg.Secure, SameSite: fiber.CookieSameSiteLaxMode,
			})
		}
	}
	return a.signSeed(seed)
}

type csrfSeedKey struct{}

func (a *Auth) signSeed(seed string) string {
	m := hmac.New(sha256.New, a.cfg.SecretKey)
	m.Write([]byte("csrf:" + seed))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CSRF refuses a state-changing request whose token does not match, or
// that comes from another origin, with 403 before any handler runs. A
// streamed upload (StreamedUploads) is checked for its origin here and for
// its token by its handler.
func (a *Auth) CSRF() fiber.Handler {
	origin := a.cfg.PublicURL.Scheme + "://" + a.cfg.PublicURL.Host
	return func(c *fiber.Ctx) error {
		switch c.Method() {
		case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
			return c.Next()
		}
		if c.Path() == BackchannelPath {
			return c.Next() // server to server, signed; no cookie to ride on
		}
		if o := c.Get(fiber.HeaderOrigin); o != "" && o != "null" && !strings.EqualFold(o, origin) {
			return fiber.NewError(fiber.StatusForbidden, MsgCSRF)
		}
		got := c.Get("X-CSRF-Token")
		if got == "" && a.StreamedUpload(c) {
			// The token is the streamed body's first part; the handler
			// checks it with CSRFValid before reading any further.
			return c.Next()
		}
		if got == "" {
			got = c.FormValue("_csrf")
		}
		if !a.CSRFValid(c, got) {
			return fiber.NewError(fiber.StatusForbidden, MsgCSRF)
		}
		return c.Next()
	}
}
