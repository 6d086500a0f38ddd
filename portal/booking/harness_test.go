package booking

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/clocktest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// testClock is a settable test clock.

// harness is the booking mounted in a Fiber app with the real session,
// CSRF and language middleware, the real frontend and a settable clock.
type harness struct {
	*fixture
	t      testing.TB
	clock  *clocktest.Clock
	fe     *frontend.Frontend
	svc    *Service
	outbox *mail.Outbox
	app    *fiber.App
}

// start is the harness's "now": Monday 23 March 2026, 8:00 in Helsinki,
// the week before summer time begins.
var start = time.Date(2026, 3, 23, 6, 0, 0, 0, time.UTC)

func newHarness(t testing.TB, db *database.DB) *harness {
	t.Helper()
	f := newFixture(t, db)
	clk := clocktest.New(start)
	pub := &url.URL{Scheme: "http", Host: "portal.test"}
	a, err := auth.New(auth.Config{
		PublicURL:   pub,
		Providers:   []auth.ProviderConfig{{Name: "resident", Issuer: "http://idp.invalid", ClientID: "c", ClientSecret: "s", Roles: []auth.Role{auth.RoleResident}}},
		IdleTimeout: 10000 * time.Hour, MaxAge: 10000 * time.Hour,
		SecretKey: []byte(strings.Repeat("k", 32)), Now: clk.Now,
	}, db.Gorm, auth.NewDBSessions(db.Gorm))
	if err != nil {
		t.Fatal(err)
	}
	fe, err := frontend.New(frontend.Options{
		Location: helsinki(),
		Viewer: func(c *fiber.Ctx) *frontend.Viewer {
			if u := auth.CurrentUser(c); u != nil {
				return &frontend.Viewer{Name: u.Name, Role: u.Role}
			}
			return nil
		},
		CSRFToken: a.CSRFToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	outbox := mail.NewOutbox(db.Gorm, clk.Now)
	svc := New(Options{
		DB: db, Users: auth.NewUsers(db.Gorm), Regions: regions.NewStore(db.Gorm), Frontend: fe, Audit: audit.New(db.Gorm, clk.Now),
		Outbox: outbox, Config: Config{PublicURL: pub, Organizer: "noreply@portal.test"}, Location: helsinki(), Now: clk.Now,
	})
	// The portal's own error handler, so kinds map to statuses as in
	// production; a server error fails the test.
	edge := fe.ErrorHandler(slog.New(slog.DiscardHandler))
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		if status, _ := frontend.Problem(err); status >= 500 && !isFiberError(err) {
			t.Errorf("%s %s: %v", c.Method(), c.Path(), err)
		}
		return edge(c, err)
	}})
	app.Use(fe.Languages())
	app.Use(a.Session())
	app.Use(a.CSRF())
	svc.Register(app, nil)
	outbox.RegisterDevMailbox(app, fe)
	sectionRoutes(app, fe, map[string]frontend.SectionFunc{"/test/my-section": svc.MySection, "/test/desk-section": svc.DeskSection})
	h := &harness{fixture: f, t: t, clock: clk, fe: fe, svc: svc, outbox: outbox, app: app}
	// The first east advisor receives Monday to Friday 9–16 at the first
	// east service point, every meeting type, in 60-minute slots.
	f.weekdays(t, "east", f.advisors["east"][0])
	return h
}

// user is a logged-in browser.
type user struct {
	id     int64
	cookie string
	csrf   string
}

// login opens a session for user id, as the OpenID callback would.
func (h *harness) login(id int64) *user {
	h.t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		h.t.Fatal(err)
	}
	cookie := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(cookie))
	now := h.clock.Now().UTC()
	s := auth.Session{ID: hex.EncodeToString(sum[:]), UserID: id, CSRFToken: "csrf-" + cookie,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(10000 * time.Hour)}
	if err := h.db.Gorm.Create(&s).Error; err != nil {
		h.t.Fatal(err)
	}
	return &user{id: id, cookie: cookie, csrf: s.CSRFToken}
}

func (u *user) request(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	r.Header.Set("Cookie", "asn_session="+u.cookie+"; lang=fi")
	if method != http.MethodGet {
		r.Header.Set("X-CSRF-Token", u.csrf)
	}
	return r
}

// do sends r through the app and returns the status and body.
func (h *harness) do(r *http.Request) (int, string, http.Header) {
	h.t.Helper()
	resp, err := h.app.Test(r, -1)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func (h *harness) get(u *user, target string) (int, string) {
	h.t.Helper()
	st, body, _ := h.do(u.request(http.MethodGet, target, nil))
	return st, body
}

func (h *harness) post(u *user, target string, form url.Values) (int, string, string) {
	h.t.Helper()
	r := u.request(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	st, body, hdr := h.do(r)
	return st, body, hdr.Get("Location")
}

// translated returns the Finnish text of key, as the pages show it
// (HTML-escaped).
func (h *harness) translated(key string) string {
	return templateEscape(h.fe.T("fi", key))
}

func templateEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
	return r.Replace(s)
}

func (h *harness) bookingCount() int64 {
	h.t.Helper()
	var n int64
	if err := h.db.Gorm.Model(&Booking{}).Count(&n).Error; err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) mails() []mail.Stored {
	h.t.Helper()
	var out []mail.Stored
	if err := h.db.Gorm.Preload("Attachments").Order("id").Find(&out).Error; err != nil {
		h.t.Fatal(err)
	}
	return out
}

func isFiberError(err error) bool {
	var fe *fiber.Error
	return errors.As(err, &fe)
}
