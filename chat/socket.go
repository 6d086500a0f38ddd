package chat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

const principalLocal = "chat.principal"

// checkUpgrade refuses, before any upgrade, a request from another origin
// (403) or from nobody the chat knows (401).
func (s *Service) checkUpgrade(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return fiber.ErrUpgradeRequired
	}
	if o := c.Get(fiber.HeaderOrigin); !strings.EqualFold(o, s.origin) {
		return fiber.NewError(fiber.StatusForbidden, auth.MsgForbidden)
	}
	p := s.principal(c)
	if p == nil {
		return fiber.NewError(fiber.StatusUnauthorized, auth.MsgLoginRequired)
	}
	c.Locals(principalLocal, p)
	trimRequest(c)
	return c.Next()
}

// handshakeHeaders are the request headers the upgrade still reads.
var handshakeHeaders = []string{
	fiber.HeaderConnection, fiber.HeaderUpgrade, fiber.HeaderOrigin, "Sec-Websocket-Key",
	"Sec-Websocket-Version", "Sec-Websocket-Extensions", "Sec-Websocket-Protocol",
}

// trimRequest drops what a socket no longer needs once the checks have
// passed. The request lives as long as the socket, and contrib/websocket
// copies every header, cookie and local into the connection: with
// thousands of open sockets, the copies of cookies and user agents are
// a good part of what each costs.
func trimRequest(c *fiber.Ctx) {
	auth.Forget(c)
	h := &c.Request().Header
	var drop []string
	h.VisitAll(func(k, _ []byte) {
		if !slices.ContainsFunc(handshakeHeaders, func(keep string) bool { return strings.EqualFold(keep, string(k)) }) {
			drop = append(drop, string(k))
		}
	})
	for _, k := range drop {
		h.Del(k)
	}
	h.DelAllCookies()
}

// principal is the logged-in user of the request, or the guest of a valid
// guest token, or nil.
func (s *Service) principal(c *fiber.Ctx) *Principal {
	if u := auth.CurrentUser(c); u != nil {
		p := &Principal{UserID: u.ID, Role: string(u.Role), Name: u.GivenName, RegionID: u.RegionID}
		if p.Name == "" {
			p.Name = u.Name
		}
		if sess := auth.CurrentSession(c); sess != nil {
			p.SessionID = sess.ID
		}
		return p
	}
	if g, ok := s.guestID(c); ok {
		return &Principal{GuestID: g, Role: "guest"}
	}
	return nil
}

// serveSocket runs one socket: the reader in this goroutine, the writer
// whenever there is something to write.
func (s *Service) serveSocket(conn *websocket.Conn) {
	p, ok := conn.Locals(principalLocal).(*Principal)
	if !ok {
		return
	}
	lim := &s.cfg.Limits
	cl := &client{
		hub: s.hub, conn: conn.Conn, p: p, svc: s, lim: lim,
		out: outQueue{max: lim.SendBuffer}, done: make(chan struct{}),
	}
	if s.hub.register(cl) {
		defer s.hub.unregister(cl)
		if p.Staff() {
			s.hub.queueChangedLocal() // the desk gets the queue at once
		}
	} else {
		cl.close(closePolicy, reasonTooManySockets)
	}
	cl.readLoop(*lim)
	cl.close(0, "")
	cl.out.writer.Wait()
}

// guestCookieName is the guest token's cookie: Secure and __Host- prefixed
// (so Path=/, no Domain: a sibling subdomain cannot plant one) exactly when
// the public URL is https, the portal's one cookie rule.
func (s *Service) guestCookieName() string {
	if s.cfg.Secure {
		return "__Host-asn_chat_guest"
	}
	return "asn_chat_guest"
}

// guestKey derives the guest-token key from the portal's secret, so that
// the secret itself signs nothing but what it was made for.
func guestKey(secret []byte) ([]byte, error) {
	if len(secret) == 0 {
		// Development without a configured secret: tokens last until restart.
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("asumisneuvonta chat guest token v1"))
	return m.Sum(nil), nil
}

func (s *Service) signGuest(id string, exp int64) string {
	m := hmac.New(sha256.New, s.guestKey)
	m.Write([]byte(id + "." + strconv.FormatInt(exp, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// GuestToken returns a signed token for a new anonymous visitor: a random
// id, its expiry and a MAC. It carries no personal data.
func (s *Service) GuestToken() (token, id string, err error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	id = base64.RawURLEncoding.EncodeToString(b)
	exp := s.now().Add(s.cfg.GuestTTL).Unix()
	return id + "." + strconv.FormatInt(exp, 10) + "." + s.signGuest(id, exp), id, nil
}

var errBadGuest = errors.New("chat: bad guest token")

func (s *Service) verifyGuest(tok string) (string, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(parts[0]) != 22 {
		return "", errBadGuest
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || s.now().Unix() > exp {
		return "", errBadGuest
	}
	if subtle.ConstantTimeCompare([]byte(parts[2]), []byte(s.signGuest(parts[0], exp))) != 1 {
		return "", errBadGuest
	}
	return parts[0], nil
}

// guestID reads and checks the guest cookie.
func (s *Service) guestID(c *fiber.Ctx) (string, bool) {
	// Two tokens under the name (one planted with a narrower path, say)
	// identify nobody: which one a browser sends first is not ours to pick.
	name := s.guestCookieName()
	if s.guestCookies(c) != 1 {
		return "", false
	}
	tok := c.Cookies(name)
	if tok == "" {
		return "", false
	}
	id, err := s.verifyGuest(tok)
	if err != nil {
		return "", false
	}
	return strings.Clone(id), true
}

// newGuest issues a fresh guest token cookie and returns its id. A chat is
// bound to the token it was started with: every new chat gets a new token,
// so a token planted in someone's browser beforehand (a cookie set from a
// sibling subdomain) never opens the chat they start next.
func (s *Service) newGuest(c *fiber.Ctx) (string, error) {
	tok, id, err := s.GuestToken()
	if err != nil {
		return "", err
	}
	c.Cookie(&fiber.Cookie{
		Name: s.guestCookieName(), Value: tok, Path: "/", Expires: s.now().Add(s.cfg.GuestTTL),
		HTTPOnly: true, Secure: s.cfg.Secure, SameSite: fiber.CookieSameSiteLaxMode,
	})
	return id, nil
}

// guestCookies counts the guest token cookies the request carries.
func (s *Service) guestCookies(c *fiber.Ctx) int {
	name, n := s.guestCookieName(), 0
	c.Request().Header.VisitAllCookie(func(k, _ []byte) {
		if string(k) == name {
			n++
		}
	})
	return n
}

// dropShadowingGuest answers a request that carries a second guest token
// at Path=/chat (left from before tokens moved to Path=/, or planted there)
// by deleting that one and loading the page again; it reports whether it
// answered. The response can carry one cookie of a name, so the deletion
// gets a response of its own.
func (s *Service) dropShadowingGuest(c *fiber.Ctx) (bool, error) {
	// Once only: a token planted for a parent domain cannot be deleted from
	// here, and the page then answers as for nobody.
	if s.guestCookies(c) < 2 || c.Query("dropped") != "" {
		return false, nil
	}
	c.Cookie(&fiber.Cookie{Name: s.guestCookieName(), Path: "/chat", Expires: time.Unix(1, 0),
		HTTPOnly: true, Secure: s.cfg.Secure, SameSite: fiber.CookieSameSiteLaxMode})
	return true, c.Redirect(strings.Clone(c.Path())+"?dropped=1", fiber.StatusSeeOther)
}
